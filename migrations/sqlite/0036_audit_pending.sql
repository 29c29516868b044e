-- The same table as on PostgreSQL, where audited writes wait here to be chained after their
-- commit (see migrations/postgres/0036_audit_pending.sql). SQLite's writers are serialised
-- already and chain inside their own transaction, so on SQLite it stays empty.
create table audit_pending (
    pending_id integer primary key,
    at bigint not null,
    actor_user_id bigint,
    actor_name text not null default '',
    ip text not null default '',
    action text not null,
    object_type text not null,
    object_id text not null default '',
    summary text not null default '',
    before_json text not null default '',
    after_json text not null default '',
    result text not null default 'ok'
);
