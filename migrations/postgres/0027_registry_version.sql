-- A counter bumped by every write that can change the registry's summaries (三个百分百
-- findings and rates, the home page's counts): members, orgs, their officers, units,
-- categories and term rules. Like 'orglife', figures cached against it are never stale,
-- whichever instance or path made the write.
insert into data_version (name, version) values ('registry', 0);
create function bump_registry_version() returns trigger language plpgsql as $$
begin
    update data_version set version = version + 1 where name = 'registry';
    return null;
end $$;
create trigger member_registry_version after insert or update or delete on member
    for each statement execute function bump_registry_version();
create trigger org_registry_version after insert or update or delete on org
    for each statement execute function bump_registry_version();
create trigger org_officer_registry_version after insert or update or delete on org_officer
    for each statement execute function bump_registry_version();
create trigger unit_registry_version after insert or update or delete on unit
    for each statement execute function bump_registry_version();
create trigger category_registry_version after insert or update or delete on category
    for each statement execute function bump_registry_version();
create trigger term_rule_registry_version after insert or update or delete on term_rule
    for each statement execute function bump_registry_version();
