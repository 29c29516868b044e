-- The three rates as the daily pass found them, per category (category_id 0: the city),
-- so the committee sees their trend.
create table establishment_snapshot (
    day text not null,
    category_id bigint not null,
    name text not null,
    units bigint not null,
    units_ok bigint not null,
    orgs_adjust bigint not null,
    orgs_adjust_ok bigint not null,
    orgs_renew bigint not null,
    orgs_renew_ok bigint not null,
    primary key (day, category_id)
);
