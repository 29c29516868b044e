-- 等保 application controls: settings, password history, TOTP, login challenges.

-- Settings edited in the app (the security policy as JSON under one key); config gives defaults.
create table setting (
    key text primary key,
    value text not null,
    updated_at bigint not null,
    updated_by text not null default ''
);

-- Hashes of a user's earlier passwords, so the last N cannot be reused.
create table password_history (
    password_history_id integer primary key,
    user_id bigint not null references app_user(user_id),
    password_hash text not null,
    created_at bigint not null
);
create index password_history_by_user on password_history(user_id, created_at);

-- TOTP (RFC 6238): the confirmed secret, a secret awaiting confirmation, the last step used.
alter table app_user add column totp_secret text;
alter table app_user add column totp_pending text;
alter table app_user add column totp_enabled_at bigint;
alter table app_user add column totp_last_step bigint not null default 0;

-- One-time recovery codes, stored as SM3 hashes.
create table recovery_code (
    recovery_code_id integer primary key,
    user_id bigint not null references app_user(user_id),
    code_hash text not null,
    used_at bigint
);
create index recovery_code_by_user on recovery_code(user_id);

-- A password checked, the second factor still to come (pages' two-step login).
create table login_challenge (
    challenge_hash text primary key,
    user_id bigint not null references app_user(user_id),
    created_at bigint not null,
    ip text not null default ''
);
