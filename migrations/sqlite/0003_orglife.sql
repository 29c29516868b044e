-- Organizational life (三会一课 and the rest): the rules, the records, their attendance
-- and the review trail.

-- How often a kind of meeting is due and its quorum, from a year on (versioned data).
create table meeting_rule (
    meeting_rule_id integer primary key,
    kind text not null,
    from_year bigint not null,
    period text not null,
    times bigint not null,
    quorum text not null,
    created_by bigint,
    created_at bigint not null,
    unique (kind, from_year)
);
insert into meeting_rule (kind, from_year, period, times, quorum, created_at) values
    ('general_assembly', 2018, 'quarter', 1, 'half_of_full_members', 0),
    ('committee_meeting', 2018, 'month', 1, 'half_of_committee', 0),
    ('group_meeting', 2018, 'month', 1, 'none', 0),
    ('party_lecture', 2018, 'quarter', 1, 'none', 0),
    ('theme_day', 2018, 'month', 1, 'none', 0),
    ('life_meeting', 2018, 'year', 1, 'none', 0),
    ('democratic_review', 2018, 'year', 1, 'none', 0);

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
    client_token text unique,
    created_by bigint,
    created_at bigint not null,
    updated_at bigint not null
);
create index meeting_branch on meeting(branch_id, held_on, kind, status);
create index meeting_unit on meeting(unit_id, status, held_on);
create index meeting_held on meeting(held_on, status, branch_id, kind, group_id, present_count, eligible_count);

-- state: present | absent | leave
create table meeting_attendance (
    meeting_id bigint not null references meeting(meeting_id),
    member_id bigint not null references member(member_id),
    state text not null,
    reason text not null default '',
    primary key (meeting_id, member_id)
);
create index meeting_attendance_member on meeting_attendance(member_id);

-- Each step of a record's review: submit | accept | return | reopen.
create table meeting_review (
    meeting_review_id integer primary key,
    meeting_id bigint not null references meeting(meeting_id),
    action text not null,
    comment text not null default '',
    actor_user_id bigint,
    actor_name text not null default '',
    at bigint not null
);
create index meeting_review_meeting on meeting_review(meeting_id);
