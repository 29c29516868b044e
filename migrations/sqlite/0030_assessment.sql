-- 支部动态分级定档's assessments: a cycle per year (every branch gets an assessment scored
-- under the standard in force), the branch's self-check and the unit's adjustments per
-- criterion, vetoes, the tier and its timeline, rectification plans and applications to
-- move up. Points are whole tenths, as in 0029.

-- status: open | closed.
create table grading_cycle (
    grading_cycle_id integer primary key,
    year integer not null unique,
    grading_standard_id integer not null references grading_standard(grading_standard_id),
    status text not null default 'open',
    due_on text,
    opened_by integer,
    opened_at integer not null
);

-- stage: self_check (对标自查) | unit_review (单位审核) | committee_review (考核验收) |
-- accepted (已定档). tier is the branch's tier for the year once accepted; it moves with
-- upgrades and vetoes, each move kept in assessment_event. row_version moves on every
-- write: a write carries the one it was made from (optimistic locking).
create table assessment (
    assessment_id integer primary key,
    grading_cycle_id integer not null references grading_cycle(grading_cycle_id),
    branch_id integer not null references org(org_id),
    unit_id integer not null references unit(unit_id),
    stage text not null default 'self_check',
    returned_comment text not null default '',
    extra integer not null default 0,
    extra_note text not null default '',
    score integer,
    tier text,
    tier_reason text not null default '',
    submitted_at integer,
    accepted_at integer,
    row_version integer not null default 1,
    unique (grading_cycle_id, branch_id)
);
create index assessment_unit on assessment(unit_id, grading_cycle_id);

-- Per criterion: the branch's self score with its note and evidence (a line a link or a
-- file), the unit's adjusted score with its reason, and an automatic criterion's figure as
-- it stood when the branch submitted (live until then).
create table assessment_score (
    assessment_id integer not null references assessment(assessment_id),
    number integer not null,
    self_score integer,
    self_note text not null default '',
    evidence text not null default '',
    unit_score integer,
    unit_reason text not null default '',
    auto_score integer,
    auto_text text not null default '',
    primary key (assessment_id, number)
);

-- A veto of the standard found to apply, by whom and why.
create table assessment_veto (
    assessment_id integer not null references assessment(assessment_id),
    code text not null,
    note text not null,
    marked_by integer,
    marked_at integer not null,
    primary key (assessment_id, code)
);

-- The year's story: every step and every tier move (who, when, from what to what, why).
create table assessment_event (
    assessment_event_id integer primary key,
    assessment_id integer not null references assessment(assessment_id),
    at integer not null,
    user_id integer,
    action text not null,
    from_tier text,
    to_tier text,
    score integer,
    comment text not null default ''
);
create index assessment_event_of on assessment_event(assessment_id, assessment_event_id);

-- A 三档/四档 branch's rectification plan (整改), item by item.
create table rectification_item (
    rectification_item_id integer primary key,
    assessment_id integer not null references assessment(assessment_id),
    body text not null,
    owner text not null,
    due_on text not null,
    done_on text,
    done_note text not null default '',
    created_by integer,
    created_at integer not null
);
create index rectification_item_of on rectification_item(assessment_id);

-- status: pending | accepted | refused.
create table upgrade_application (
    upgrade_application_id integer primary key,
    assessment_id integer not null references assessment(assessment_id),
    from_tier text not null,
    to_tier text not null,
    statement text not null,
    evidence text not null default '',
    status text not null default 'pending',
    applied_by integer,
    applied_at integer not null,
    decided_by integer,
    decided_at integer,
    decision_note text not null default ''
);
create index upgrade_application_of on upgrade_application(assessment_id);

-- Summaries of the assessments (the tier list, the counts by tier) and each assessment as
-- stored are cached against this.
insert into data_version (name, version) values ('grading', 0);
create trigger grading_cycle_version_i after insert on grading_cycle begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger grading_cycle_version_u after update on grading_cycle begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger grading_cycle_version_d after delete on grading_cycle begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_version_i after insert on assessment begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_version_u after update on assessment begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_version_d after delete on assessment begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_score_version_i after insert on assessment_score begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_score_version_u after update on assessment_score begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_score_version_d after delete on assessment_score begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_veto_version_i after insert on assessment_veto begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_veto_version_u after update on assessment_veto begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_veto_version_d after delete on assessment_veto begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_event_version_i after insert on assessment_event begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_event_version_u after update on assessment_event begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger assessment_event_version_d after delete on assessment_event begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger rectification_item_version_i after insert on rectification_item begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger rectification_item_version_u after update on rectification_item begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger rectification_item_version_d after delete on rectification_item begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger upgrade_application_version_i after insert on upgrade_application begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger upgrade_application_version_u after update on upgrade_application begin update data_version set version = version + 1 where name = 'grading'; end;
create trigger upgrade_application_version_d after delete on upgrade_application begin update data_version set version = version + 1 where name = 'grading'; end;
