-- The branch grading standard (分级定档标准) as versioned data: the committee edits a draft
-- and publishes it for a year; a published version is frozen (the store refuses changes),
-- and an assessment keeps the version it was scored under. Points are whole tenths of a
-- point (5 points = 50), so totals and thresholds compare exactly on both backends.

-- status: draft | published. row_version moves on every write (optimistic locking).
create table grading_standard (
    grading_standard_id integer primary key,
    year bigint not null,
    version bigint not null,
    status text not null default 'draft',
    title text not null,
    extra_cap bigint not null,
    copied_from bigint references grading_standard(grading_standard_id),
    row_version bigint not null default 1,
    created_by bigint,
    created_at bigint not null,
    updated_by bigint,
    updated_at bigint not null,
    published_by bigint,
    published_at bigint,
    unique (year, version)
);

-- The six dimensions (六化), by position.
create table grading_dimension (
    grading_standard_id bigint not null references grading_standard(grading_standard_id),
    position bigint not null,
    name text not null,
    primary key (grading_standard_id, position)
);

-- method: manual | auto; an automatic criterion names the indicator it reads.
create table grading_criterion (
    grading_standard_id bigint not null references grading_standard(grading_standard_id),
    number bigint not null,
    dimension bigint not null,
    body text not null,
    points bigint not null,
    method text not null,
    indicator_key text,
    evidence_required bigint not null default 0,
    primary key (grading_standard_id, number),
    foreign key (grading_standard_id, dimension)
        references grading_dimension(grading_standard_id, position)
);

-- tier: first | second | third | fourth, each from its minimum score up to the next one's.
create table grading_threshold (
    grading_standard_id bigint not null references grading_standard(grading_standard_id),
    tier text not null,
    name text not null,
    min_score bigint not null,
    primary key (grading_standard_id, tier)
);

-- kind: hard (四档 whatever the score) | soft (at best 二档).
create table grading_veto (
    grading_standard_id bigint not null references grading_standard(grading_standard_id),
    code text not null,
    position bigint not null,
    body text not null,
    kind text not null,
    primary key (grading_standard_id, code)
);
