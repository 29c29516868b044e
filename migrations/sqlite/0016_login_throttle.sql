-- Login throttling per account and address, per address, and per account across addresses
-- (docs/SECURITY.md, 身份鉴别 b), and failed logins aggregated for the audit log.
create index login_failure_by_ip on login_failure(ip, at);
create index login_failure_by_pair on login_failure(username, ip, at);

-- Addresses an account signed in from (both factors passed): while the account is guarded
-- against guessing from many addresses, these still take the password alone.
create table login_address (
    user_id bigint not null references app_user(user_id),
    ip text not null,
    last_at bigint not null,
    primary key (user_id, ip)
);

-- A burst of failed or refused attempts, of one account from one address (kind 'account')
-- or, while an address is locked for every account, of that address (kind 'address',
-- username ''), for one window at most. The audit log holds its first attempt and, once it
-- closes, one summary with these counts; the counts themselves live here, so no audit row
-- is ever changed.
create table login_burst (
    login_burst_id integer primary key,
    kind text not null,
    username text not null,
    ip text not null,
    started_at bigint not null,
    last_at bigint not null,
    failures bigint not null default 0,
    refused bigint not null default 0,
    closed_at bigint
);
create unique index login_burst_open on login_burst(kind, username, ip) where closed_at is null;
create index login_burst_started on login_burst(started_at) where closed_at is null;
create index login_burst_last on login_burst(last_at);
