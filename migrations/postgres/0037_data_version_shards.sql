-- The data versions, sharded. One row per area was a row every write of the area updated and
-- held until its commit reached the disk, so the writes of an area queued one behind another
-- (about 300 a second here, however many came at once). Now each area has up to 16 rows and a
-- write bumps the one its transaction id picks, so concurrent writes mostly touch different
-- rows and commit together; an area's version is the sum of its rows (`db::data_version`),
-- which still moves with every committed write and never with an uncommitted one.
alter table data_version add column shard integer not null default 0;
alter table data_version drop constraint data_version_pkey;
alter table data_version add primary key (name, shard);

-- Bumps `area`'s shard of this transaction (made on first use: an area added by a later
-- migration, or a shard not there yet, is counted all the same).
create function bump_data_version(area text) returns void language plpgsql as $$
begin
    insert into data_version (name, shard, version) values (area, (txid_current() % 16)::integer, 1)
    on conflict (name, shard) do update set version = data_version.version + 1;
end $$;

create or replace function bump_orglife_version() returns trigger language plpgsql as $$
begin
    perform bump_data_version('orglife');
    return null;
end $$;
create or replace function bump_registry_version() returns trigger language plpgsql as $$
begin
    perform bump_data_version('registry');
    return null;
end $$;
create or replace function bump_grading_version() returns trigger language plpgsql as $$
begin
    perform bump_data_version('grading');
    return null;
end $$;
create or replace function bump_pledge_version() returns trigger language plpgsql as $$
begin
    perform bump_data_version('pledge');
    return null;
end $$;
create or replace function bump_volunteer_version() returns trigger language plpgsql as $$
begin
    perform bump_data_version('volunteer');
    return null;
end $$;
