-- 志愿者银行 (volunteer bank): in-service members report (报到) to a community each half-year,
-- claim (认领) its service needs, and the community confirms the hours into an append-only
-- double-entry ledger. Amounts are integer minutes; instants unix seconds.

-- The community's place and contact person (社区: 街道, 区, 联系人, 联系电话).
alter table community add column street text not null default '';
alter table community add column district text not null default '';
alter table community add column contact_phone text not null default '';

-- One report per member and period (`2026H1`): a declined report frees the period.
-- status: pending | confirmed | declined. unit_id/branch_id: the member's at the time.
create table volunteer_report (
    volunteer_report_id integer primary key,
    member_id bigint not null references member(member_id),
    community_id bigint not null references community(community_id),
    period text not null,
    unit_id bigint not null references unit(unit_id),
    branch_id bigint not null,
    status text not null default 'pending',
    note text not null default '',
    created_at bigint not null,
    decided_by bigint,
    decided_at bigint
);
create unique index volunteer_report_one on volunteer_report(member_id, period) where status <> 'declined';
create index volunteer_report_member on volunteer_report(member_id, period, status);
create index volunteer_report_community on volunteer_report(community_id, period, status);
create index volunteer_report_unit on volunteer_report(unit_id, period, status);

-- A community's service need (需求清单). status: open | cancelled.
create table volunteer_need (
    volunteer_need_id integer primary key,
    community_id bigint not null references community(community_id),
    title text not null,
    skills text not null default '',
    place text not null default '',
    starts_at bigint not null,
    ends_at bigint not null,
    slots bigint not null,
    minutes bigint not null,
    status text not null default 'open',
    created_by bigint,
    created_at bigint not null,
    updated_at bigint not null
);
create index volunteer_need_time on volunteer_need(status, starts_at);
create index volunteer_need_community on volunteer_need(community_id, starts_at);

-- A member's claim (认领) of a need. status: claimed | cancelled | confirmed | absent | expired.
-- starts_at/ends_at copy the need's, so overlaps are found from the member's own rows.
-- signed_in_at/signed_out_at: filled by the sign-in mechanism (扫码签到) when there is one.
create table volunteer_claim (
    volunteer_claim_id integer primary key,
    volunteer_need_id bigint not null references volunteer_need(volunteer_need_id),
    member_id bigint not null references member(member_id),
    starts_at bigint not null,
    ends_at bigint not null,
    status text not null default 'claimed',
    signed_in_at bigint,
    signed_out_at bigint,
    minutes bigint,
    adjust_reason text not null default '',
    ledger_transfer_id bigint,
    confirmed_by bigint,
    confirmed_at bigint,
    created_at bigint not null,
    updated_at bigint not null,
    unique (volunteer_need_id, member_id)
);
create index volunteer_claim_member on volunteer_claim(member_id, starts_at);
create index volunteer_claim_open on volunteer_claim(status, ends_at);

-- One confirmation form as submitted, under its idempotency key: a second submit is answered
-- with the first's result and posts nothing.
create table volunteer_confirmation (
    idempotency_key text not null primary key,
    volunteer_need_id bigint not null references volunteer_need(volunteer_need_id),
    confirmed bigint not null,
    created_by bigint,
    created_at bigint not null
);

-- A service a member offers tied to their job (结合自身职责).
create table volunteer_offer (
    volunteer_offer_id integer primary key,
    member_id bigint not null references member(member_id),
    title text not null,
    description text not null default '',
    active bigint not null default 1,
    created_at bigint not null,
    updated_at bigint not null
);
create index volunteer_offer_member on volunteer_offer(member_id);

-- Rewards the committee defines, bought with hours.
create table volunteer_reward (
    volunteer_reward_id integer primary key,
    name text not null unique,
    cost_minutes bigint not null,
    active bigint not null default 1,
    created_at bigint not null,
    updated_at bigint not null
);

-- The ledger. kind: member | community | pool (the committee's reward pool, one row).
create table ledger_account (
    ledger_account_id integer primary key,
    kind text not null,
    member_id bigint references member(member_id),
    community_id bigint references community(community_id),
    balance bigint not null default 0,
    created_at bigint not null,
    unique (member_id),
    unique (community_id)
);
create unique index ledger_account_pool on ledger_account(kind) where kind = 'pool';

-- A transfer: kind confirmation | reversal | redemption. Immutable. `reverses_id` is unique,
-- so a transfer is reversed once; unit_id/branch_id are the member's at the time.
create table ledger_transfer (
    ledger_transfer_id integer primary key,
    kind text not null,
    idempotency_key text not null unique,
    reverses_id bigint unique references ledger_transfer(ledger_transfer_id),
    member_id bigint not null references member(member_id),
    community_id bigint references community(community_id),
    unit_id bigint not null,
    branch_id bigint not null,
    volunteer_claim_id bigint,
    volunteer_reward_id bigint,
    minutes bigint not null,
    -- What the transfer adds to served hours: a confirmation its minutes, the reversal of one
    -- their negative, anything else 0.
    served bigint not null default 0,
    month text not null,
    reason text not null default '',
    created_by bigint,
    created_at bigint not null
);
create index ledger_transfer_member on ledger_transfer(member_id, ledger_transfer_id);
create index ledger_transfer_claim on ledger_transfer(volunteer_claim_id);

create table ledger_movement (
    ledger_movement_id integer primary key,
    ledger_transfer_id bigint not null references ledger_transfer(ledger_transfer_id),
    ledger_account_id bigint not null references ledger_account(ledger_account_id),
    amount bigint not null
);
create index ledger_movement_account on ledger_movement(ledger_account_id, ledger_movement_id);
create index ledger_movement_transfer on ledger_movement(ledger_transfer_id);

-- Served minutes per branch (and its unit) and month, and per community and month, kept on
-- write in the transfer's transaction: confirmations add, their reversals subtract.
create table volunteer_hours_branch (
    branch_id bigint not null,
    unit_id bigint not null,
    month text not null,
    minutes bigint not null default 0,
    primary key (branch_id, month)
);
create index volunteer_hours_branch_unit on volunteer_hours_branch(unit_id, month);
create table volunteer_hours_community (
    community_id bigint not null,
    month text not null,
    minutes bigint not null default 0,
    primary key (community_id, month)
);

insert into data_version (name, version) values ('volunteer', 0);
-- Figures (report rates, hours per member) are cached against this counter.
create trigger volunteer_report_version_i after insert on volunteer_report begin update data_version set version = version + 1 where name = 'volunteer'; end;
create trigger volunteer_report_version_u after update on volunteer_report begin update data_version set version = version + 1 where name = 'volunteer'; end;
create trigger volunteer_report_version_d after delete on volunteer_report begin update data_version set version = version + 1 where name = 'volunteer'; end;
create trigger ledger_transfer_version_i after insert on ledger_transfer begin update data_version set version = version + 1 where name = 'volunteer'; end;
-- The ledger is append-only.
create trigger ledger_transfer_no_update before update on ledger_transfer begin select raise(abort, 'ledger transfers are immutable'); end;
create trigger ledger_transfer_no_delete before delete on ledger_transfer begin select raise(abort, 'ledger transfers are immutable'); end;
create trigger ledger_movement_no_update before update on ledger_movement begin select raise(abort, 'ledger movements are immutable'); end;
create trigger ledger_movement_no_delete before delete on ledger_movement begin select raise(abort, 'ledger movements are immutable'); end;
