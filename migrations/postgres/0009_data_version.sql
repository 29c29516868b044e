-- A counter bumped by every write that can change organizational-life figures (meetings,
-- rules, the org tree and its officers). Computed figures are cached against it, so a
-- cache is never stale, whichever instance or path made the write.
create table data_version (
    name text primary key,
    version bigint not null
);
insert into data_version (name, version) values ('orglife', 0);
create function bump_orglife_version() returns trigger language plpgsql as $$
begin
    update data_version set version = version + 1 where name = 'orglife';
    return null;
end $$;
create trigger meeting_version after insert or update or delete on meeting
    for each statement execute function bump_orglife_version();
create trigger meeting_rule_version after insert or update or delete on meeting_rule
    for each statement execute function bump_orglife_version();
create trigger org_version after insert or update or delete on org
    for each statement execute function bump_orglife_version();
create trigger org_officer_version after insert or update or delete on org_officer
    for each statement execute function bump_orglife_version();
