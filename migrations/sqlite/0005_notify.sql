-- The notification centre: one row per user, cause and stage, so a reminder is sent once.
create table notification (
    notification_id integer primary key,
    user_id bigint not null references app_user(user_id),
    cause text not null,
    stage text not null,
    title text not null,
    body text not null default '',
    href text not null default '',
    created_at bigint not null,
    read_at bigint,
    unique (user_id, cause, stage)
);
create index notification_inbox on notification(user_id, read_at, created_at);

-- A scheduled job claims its day here; with several instances only one wins the insert.
create table job_run (
    job text not null,
    day text not null,
    started_at bigint not null,
    finished_at bigint,
    created bigint not null default 0,
    primary key (job, day)
);
