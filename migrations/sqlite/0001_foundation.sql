-- Foundation schema: accounts, registry, audit.
-- Dates are TEXT 'YYYY-MM-DD' and instants BIGINT unix seconds on both backends,
-- so one set of queries reads them the same way (see docs/ARCHITECTURE.md).

create table app_user (
    user_id integer primary key,
    username text not null unique,
    display_name text not null,
    password_hash text not null,
    must_change_password bigint not null default 0,
    disabled bigint not null default 0,
    password_changed_at bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

create table community (
    community_id integer primary key,
    name text not null unique,
    address text not null default '',
    contact text not null default '',
    created_at bigint not null,
    updated_at bigint not null
);

create table category (
    category_id integer primary key,
    code text not null unique,
    name text not null unique,
    requirement_title text not null default '',
    sort_order bigint not null default 0,
    retired bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null
);

create table category_requirement (
    category_requirement_id integer primary key,
    category_id bigint not null references category(category_id),
    sort_order bigint not null,
    body text not null
);
create index category_requirement_category on category_requirement(category_id, sort_order);

create table common_goal (
    common_goal_id integer primary key,
    sort_order bigint not null,
    body text not null
);

create table unit (
    unit_id integer primary key,
    name text not null unique,
    short_name text not null default '',
    category_id bigint not null references category(category_id),
    sort_order bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null
);
create index unit_category on unit(category_id);

create table unit_category_history (
    unit_category_history_id integer primary key,
    unit_id bigint not null references unit(unit_id),
    category_id bigint not null references category(category_id),
    effective_on text not null,
    reason text not null default '',
    created_by bigint,
    created_at bigint not null
);
create index unit_category_history_unit on unit_category_history(unit_id, effective_on);

-- The tree under a unit: committee_org (党委) / general_branch (党总支) / branch (党支部) / group (党小组).
create table org (
    org_id integer primary key,
    unit_id bigint not null references unit(unit_id),
    parent_id bigint references org(org_id),
    kind text not null,
    name text not null,
    founded_on text,
    term_start text,
    term_end text,
    sort_order bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    unique (unit_id, name)
);
create index org_parent on org(parent_id);
create index org_unit_kind on org(unit_id, kind);

create table member (
    member_id integer primary key,
    unit_id bigint not null references unit(unit_id),
    branch_id bigint not null references org(org_id),
    group_id bigint references org(org_id),
    name text not null,
    name_initials text not null default '',
    gender text not null,
    ethnicity text not null default '汉族',
    birth_date text,
    id_number text not null unique,
    id_suffix text not null,
    phone text not null default '',
    education text not null default '',
    joined_on text,
    kind text not null,
    converted_on text,
    position text not null default '',
    is_division_head bigint not null default 0,
    status text not null default 'active',
    created_at bigint not null,
    updated_at bigint not null
);
create index member_branch on member(branch_id, status);
create index member_unit on member(unit_id, status, name);
create index member_initials on member(name_initials);
create index member_id_suffix on member(id_suffix);

-- Posts on an org's committee for its current term (书记, 副书记, 组织委员 …).
create table org_officer (
    org_officer_id integer primary key,
    org_id bigint not null references org(org_id),
    member_id bigint not null references member(member_id),
    post text not null,
    created_at bigint not null,
    unique (org_id, member_id)
);

create table member_transfer (
    member_transfer_id integer primary key,
    member_id bigint not null references member(member_id),
    from_branch_id bigint not null references org(org_id),
    to_branch_id bigint not null references org(org_id),
    transferred_on text not null,
    reason text not null default '',
    created_by bigint,
    created_at bigint not null
);
create index member_transfer_member on member_transfer(member_id);

-- role: committee | unit | branch | member | community; the scope column that matters is set.
create table role_grant (
    role_grant_id integer primary key,
    user_id bigint not null references app_user(user_id),
    role text not null,
    unit_id bigint references unit(unit_id),
    org_id bigint references org(org_id),
    member_id bigint references member(member_id),
    community_id bigint references community(community_id),
    created_at bigint not null
);
create index role_grant_user on role_grant(user_id);

create table session (
    session_hash text primary key,
    user_id bigint not null references app_user(user_id),
    created_at bigint not null,
    last_seen_at bigint not null,
    ip text not null default ''
);
create index session_by_user on session(user_id);

create table login_failure (
    login_failure_id integer primary key,
    username text not null,
    ip text not null default '',
    at bigint not null
);
create index login_failure_username on login_failure(username, at);

create table api_token (
    api_token_id integer primary key,
    user_id bigint not null references app_user(user_id),
    name text not null,
    token_hash text not null unique,
    prefix text not null,
    created_at bigint not null,
    last_used_at bigint,
    revoked_at bigint
);
create index api_token_user on api_token(user_id);

-- Append-only; each row's hash covers its content and the previous row's hash.
create table audit_log (
    audit_id integer primary key,
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
    result text not null default 'ok',
    prev_hash text not null,
    hash text not null
);
create index audit_log_at on audit_log(at);
create index audit_log_object on audit_log(object_type, object_id);

-- Audit rows cannot be changed or removed, even by the application itself.
create trigger audit_log_no_update before update on audit_log
begin select raise(abort, 'audit_log is append-only'); end;
create trigger audit_log_no_delete before delete on audit_log
begin select raise(abort, 'audit_log is append-only'); end;
