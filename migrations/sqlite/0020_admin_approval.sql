-- 三权分立 dual control: granting the security-admin or audit-admin role, and resetting the
-- password of an account that holds one, wait for a second person of another admin role.
-- The one-time password is split: the requester sees the first half, the confirmer the
-- second (sealed here until then); only the account's owner receives both.
create table admin_approval (
    approval_id integer primary key autoincrement,
    action text not null,
    target_user_id bigint references app_user(user_id),
    username text not null,
    display_name text not null default '',
    role text not null,
    password_hash text,
    second_half text,
    requested_by bigint not null references app_user(user_id),
    requested_by_name text not null,
    requested_at bigint not null,
    status text not null default 'pending',
    decided_by bigint references app_user(user_id),
    decided_by_name text not null default '',
    decided_at bigint,
    note text not null default ''
);
create index admin_approval_by_status on admin_approval(status, requested_at);
