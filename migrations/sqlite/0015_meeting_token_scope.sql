-- A record form's idempotency token is unique per sender, not across the city: another
-- unit's token neither collides with one's own nor tells whose record it named.
--
-- SQLite cannot drop the column's own `unique`, so the table is rebuilt. Migrations run in
-- a transaction, where foreign keys cannot be switched off: checks are deferred to the
-- commit instead, by when every record is back under its id for its attendance, review
-- trail and attachments.
pragma defer_foreign_keys = on;

create table meeting_before_0015 as select * from meeting;
drop table meeting;

-- status: draft | submitted | accepted | returned
create table meeting (
    meeting_id integer primary key,
    unit_id bigint not null references unit(unit_id),
    branch_id bigint not null references org(org_id),
    group_id bigint references org(org_id),
    kind text not null,
    held_on text not null,
    start_time text not null default '',
    duration_minutes bigint not null default 0,
    place text not null default '',
    topic text not null,
    presenter text not null default '',
    recorder text not null default '',
    minutes text not null default '',
    status text not null default 'draft',
    eligible_count bigint not null default 0,
    present_count bigint not null default 0,
    quorum_met bigint not null default 1,
    review_comment text not null default '',
    submitted_at bigint,
    reviewed_at bigint,
    reviewed_by bigint,
    client_token text,
    created_by bigint,
    created_at bigint not null,
    updated_at bigint not null
);
insert into meeting (meeting_id, unit_id, branch_id, group_id, kind, held_on, start_time,
    duration_minutes, place, topic, presenter, recorder, minutes, status, eligible_count,
    present_count, quorum_met, review_comment, submitted_at, reviewed_at, reviewed_by,
    client_token, created_by, created_at, updated_at)
select meeting_id, unit_id, branch_id, group_id, kind, held_on, start_time,
    duration_minutes, place, topic, presenter, recorder, minutes, status, eligible_count,
    present_count, quorum_met, review_comment, submitted_at, reviewed_at, reviewed_by,
    client_token, created_by, created_at, updated_at
from meeting_before_0015;
drop table meeting_before_0015;

create unique index meeting_client_token on meeting(created_by, client_token);
create index meeting_branch on meeting(branch_id, held_on, kind, status);
create index meeting_unit on meeting(unit_id, status, held_on);
create index meeting_held on meeting(held_on, status, branch_id, kind, group_id, present_count, eligible_count);
create index meeting_status on meeting(status, held_on, branch_id, kind, group_id, present_count, eligible_count);
create trigger meeting_version_i after insert on meeting begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger meeting_version_u after update on meeting begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger meeting_version_d after delete on meeting begin update data_version set version = version + 1 where name = 'orglife'; end;
-- The figures' cache starts over: the table was written.
update data_version set version = version + 1 where name = 'orglife';
