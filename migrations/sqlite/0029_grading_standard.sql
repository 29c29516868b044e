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

-- A published version is frozen in the database too, whatever writes: its items can be neither
-- added, changed nor removed, and its own content, year, version and status stay as they were
-- published (the store refuses first, with a message; these catch any other path).
create trigger grading_dimension_frozen_i before insert on grading_dimension
    when (select status from grading_standard where grading_standard_id = new.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_dimension_frozen_u before update on grading_dimension
    when (select status from grading_standard where grading_standard_id = old.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_dimension_frozen_d before delete on grading_dimension
    when (select status from grading_standard where grading_standard_id = old.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_criterion_frozen_i before insert on grading_criterion
    when (select status from grading_standard where grading_standard_id = new.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_criterion_frozen_u before update on grading_criterion
    when (select status from grading_standard where grading_standard_id = old.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_criterion_frozen_d before delete on grading_criterion
    when (select status from grading_standard where grading_standard_id = old.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_threshold_frozen_i before insert on grading_threshold
    when (select status from grading_standard where grading_standard_id = new.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_threshold_frozen_u before update on grading_threshold
    when (select status from grading_standard where grading_standard_id = old.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_threshold_frozen_d before delete on grading_threshold
    when (select status from grading_standard where grading_standard_id = old.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_veto_frozen_i before insert on grading_veto
    when (select status from grading_standard where grading_standard_id = new.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_veto_frozen_u before update on grading_veto
    when (select status from grading_standard where grading_standard_id = old.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_veto_frozen_d before delete on grading_veto
    when (select status from grading_standard where grading_standard_id = old.grading_standard_id) = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_standard_frozen_u before update on grading_standard
    when old.status = 'published' and (new.status is not old.status or new.year is not old.year
        or new.version is not old.version or new.title is not old.title
        or new.extra_cap is not old.extra_cap)
    begin select raise(abort, 'grading standard is published and frozen'); end;
create trigger grading_standard_frozen_d before delete on grading_standard
    when old.status = 'published'
    begin select raise(abort, 'grading standard is published and frozen'); end;
