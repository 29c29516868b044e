-- 分类指导: each year's common goal (共性目标) and category requirements (个性要求) as items,
-- drafted and published by the committee (a published year is frozen); each unit's annual
-- party-building plan (年度党建工作计划) of tasks linked to those items; quarterly progress
-- per task; the committee's comments. Dates are TEXT 'YYYY-MM-DD', instants unix seconds.

-- status: draft | published. row_version moves on every write (optimistic locking).
create table guidance_year (
    guidance_year_id integer primary key,
    year bigint not null unique,
    status text not null default 'draft',
    -- The year it was copied from (none: made from the categories' current requirements).
    copied_from bigint,
    row_version bigint not null default 1,
    created_by bigint,
    created_at bigint not null,
    updated_by bigint,
    updated_at bigint not null,
    published_by bigint,
    published_at bigint
);

-- An item: a line of the common goal (category_id null) or of a category's requirements.
create table guidance_item (
    guidance_item_id integer primary key,
    guidance_year_id bigint not null references guidance_year(guidance_year_id),
    category_id bigint references category(category_id),
    position bigint not null,
    body text not null
);
create index guidance_item_year on guidance_item(guidance_year_id, category_id, position);

-- status: draft | submitted. One plan per unit and year.
create table guidance_plan (
    guidance_plan_id integer primary key,
    unit_id bigint not null references unit(unit_id),
    year bigint not null,
    status text not null default 'draft',
    row_version bigint not null default 1,
    created_by bigint,
    created_at bigint not null,
    updated_at bigint not null,
    submitted_by bigint,
    submitted_at bigint,
    unique (unit_id, year)
);
create index guidance_plan_year on guidance_plan(year, status);

create table guidance_task (
    guidance_task_id integer primary key,
    guidance_plan_id bigint not null references guidance_plan(guidance_plan_id),
    position bigint not null,
    title text not null,
    owner text not null,
    deadline text not null,
    measure text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index guidance_task_plan on guidance_task(guidance_plan_id, position);

-- The goal and requirement items a task serves.
create table guidance_task_item (
    guidance_task_id bigint not null references guidance_task(guidance_task_id),
    guidance_item_id bigint not null references guidance_item(guidance_item_id),
    primary key (guidance_task_id, guidance_item_id)
);
create index guidance_task_item_item on guidance_task_item(guidance_item_id);

-- quarter 1..4 of the plan's year; status: not_started | in_progress | done. Evidence is one
-- line each: a link to a record in the system (a path such as /orglife/meetings/7) or text.
create table guidance_progress (
    guidance_progress_id integer primary key,
    guidance_task_id bigint not null references guidance_task(guidance_task_id),
    quarter bigint not null check (quarter between 1 and 4),
    status text not null,
    body text not null,
    evidence text not null default '',
    created_by bigint,
    created_at bigint not null,
    updated_by bigint,
    updated_at bigint not null,
    unique (guidance_task_id, quarter)
);

-- The committee's comments: on a plan, on one of its tasks, or on a task's quarter.
create table guidance_comment (
    guidance_comment_id integer primary key,
    guidance_plan_id bigint not null references guidance_plan(guidance_plan_id),
    guidance_task_id bigint references guidance_task(guidance_task_id),
    quarter bigint check (quarter between 1 and 4),
    body text not null,
    created_by bigint,
    created_at bigint not null
);
create index guidance_comment_plan on guidance_comment(guidance_plan_id, created_at);

-- A published year is frozen in the database too: its items can be neither added, changed
-- nor removed, and the year itself can be neither unpublished nor deleted.
create trigger guidance_item_frozen_i before insert on guidance_item
    when (select status from guidance_year where guidance_year_id = new.guidance_year_id) = 'published'
    begin select raise(abort, 'guidance year is published and frozen'); end;
create trigger guidance_item_frozen_u before update on guidance_item
    when (select status from guidance_year where guidance_year_id = old.guidance_year_id) = 'published'
    begin select raise(abort, 'guidance year is published and frozen'); end;
create trigger guidance_item_frozen_d before delete on guidance_item
    when (select status from guidance_year where guidance_year_id = old.guidance_year_id) = 'published'
    begin select raise(abort, 'guidance year is published and frozen'); end;
create trigger guidance_year_frozen_u before update on guidance_year
    when old.status = 'published' and (new.status is not old.status or new.year is not old.year)
    begin select raise(abort, 'guidance year is published and frozen'); end;
create trigger guidance_year_frozen_d before delete on guidance_year
    when old.status = 'published'
    begin select raise(abort, 'guidance year is published and frozen'); end;
