-- 一句话承诺 (pledges): each year a member (every 处室负责人, and any member who wishes) makes
-- one sentence of pledge with up to three milestones; the unit admin accepts or returns it;
-- accepted pledges are shown on the public board (公开亮诺) under a key nobody can guess;
-- the public leaves feedback held for moderation (督导践诺); the pledger reports progress
-- and at year end the unit and the committee rate fulfilment (践诺). Instants unix seconds.

-- status: draft | submitted | accepted | returned. One pledge per member and year.
create table pledge (
    pledge_id integer primary key,
    -- The public board's address of the pledge: random, so unpublished ones cannot be found.
    public_key text not null unique,
    member_id bigint not null references member(member_id),
    unit_id bigint not null references unit(unit_id),
    year bigint not null,
    body text not null,
    -- Shown publicly beside the name: the post (职务) and the division (处室).
    post text not null default '',
    division text not null default '',
    status text not null default 'draft',
    review_comment text not null default '',
    row_version bigint not null default 1,
    created_by bigint,
    created_at bigint not null,
    updated_at bigint not null,
    submitted_at bigint,
    reviewed_by bigint,
    reviewed_at bigint,
    unique (member_id, year)
);
create index pledge_unit_year on pledge(unit_id, year, status);
create index pledge_year_status on pledge(year, status);

create table pledge_milestone (
    pledge_milestone_id integer primary key,
    pledge_id bigint not null references pledge(pledge_id),
    position bigint not null,
    title text not null,
    -- Percent done as last reported, 0..100.
    progress bigint not null default 0 check (progress between 0 and 100),
    unique (pledge_id, position)
);

-- Progress reports, append-only: on a milestone, or on the pledge as a whole (no milestone).
create table pledge_progress (
    pledge_progress_id integer primary key,
    pledge_id bigint not null references pledge(pledge_id),
    pledge_milestone_id bigint references pledge_milestone(pledge_milestone_id),
    progress bigint not null check (progress between 0 and 100),
    body text not null,
    evidence text not null default '',
    created_by bigint,
    created_at bigint not null
);
create index pledge_progress_pledge on pledge_progress(pledge_id, created_at);

-- The public's feedback. status: held | published | hidden. contact is never shown publicly.
-- client_hash: a keyed hash of the client's address (not the address itself); token_hash:
-- the challenge answered, so one challenge gives one feedback.
create table pledge_feedback (
    pledge_feedback_id integer primary key,
    pledge_id bigint not null references pledge(pledge_id),
    rating bigint not null check (rating between 1 and 5),
    body text not null,
    contact text not null default '',
    status text not null default 'held',
    hide_reason text not null default '',
    moderated_by bigint,
    moderated_at bigint,
    reply text not null default '',
    replied_at bigint,
    client_hash text not null,
    token_hash text not null unique,
    created_at bigint not null
);
create index pledge_feedback_pledge on pledge_feedback(pledge_id, status, created_at);

-- Year-end fulfilment ratings: one by the unit, one by the committee.
-- level: unit | committee; result: fulfilled | partly | not.
create table pledge_review (
    pledge_review_id integer primary key,
    pledge_id bigint not null references pledge(pledge_id),
    level text not null,
    result text not null,
    reason text not null,
    reviewed_by bigint,
    reviewed_at bigint not null,
    unique (pledge_id, level)
);

-- The public board is cached against this counter.
insert into data_version (name, version) values ('pledge', 0);
create trigger pledge_version_i after insert on pledge begin update data_version set version = version + 1 where name = 'pledge'; end;
create trigger pledge_version_u after update on pledge begin update data_version set version = version + 1 where name = 'pledge'; end;
create trigger pledge_version_d after delete on pledge begin update data_version set version = version + 1 where name = 'pledge'; end;
create trigger pledge_milestone_version_i after insert on pledge_milestone begin update data_version set version = version + 1 where name = 'pledge'; end;
create trigger pledge_milestone_version_u after update on pledge_milestone begin update data_version set version = version + 1 where name = 'pledge'; end;
create trigger pledge_milestone_version_d after delete on pledge_milestone begin update data_version set version = version + 1 where name = 'pledge'; end;
create trigger pledge_progress_version_i after insert on pledge_progress begin update data_version set version = version + 1 where name = 'pledge'; end;
-- Held feedback is not on the board: only a change of what is published moves the counter.
create trigger pledge_feedback_version_u after update on pledge_feedback
    when old.status = 'published' or new.status = 'published'
    begin update data_version set version = version + 1 where name = 'pledge'; end;
create trigger pledge_feedback_version_d after delete on pledge_feedback
    when old.status = 'published'
    begin update data_version set version = version + 1 where name = 'pledge'; end;
create trigger pledge_review_version_i after insert on pledge_review begin update data_version set version = version + 1 where name = 'pledge'; end;
create trigger pledge_review_version_u after update on pledge_review begin update data_version set version = version + 1 where name = 'pledge'; end;
