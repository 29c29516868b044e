-- A counter bumped by every write that can change the registry's summaries (三个百分百
-- findings and rates, the home page's counts): members, orgs, their officers, units,
-- categories and term rules. Like 'orglife', figures cached against it are never stale,
-- whichever instance or path made the write.
insert into data_version (name, version) values ('registry', 0);
create trigger member_registry_i after insert on member begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger member_registry_u after update on member begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger member_registry_d after delete on member begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger org_registry_i after insert on org begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger org_registry_u after update on org begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger org_registry_d after delete on org begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger org_officer_registry_i after insert on org_officer begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger org_officer_registry_u after update on org_officer begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger org_officer_registry_d after delete on org_officer begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger unit_registry_i after insert on unit begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger unit_registry_u after update on unit begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger unit_registry_d after delete on unit begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger category_registry_i after insert on category begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger category_registry_u after update on category begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger category_registry_d after delete on category begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger term_rule_registry_i after insert on term_rule begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger term_rule_registry_u after update on term_rule begin update data_version set version = version + 1 where name = 'registry'; end;
create trigger term_rule_registry_d after delete on term_rule begin update data_version set version = version + 1 where name = 'registry'; end;
