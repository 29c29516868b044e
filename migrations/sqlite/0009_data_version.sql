-- A counter bumped by every write that can change organizational-life figures (meetings,
-- rules, the org tree and its officers). Computed figures are cached against it, so a
-- cache is never stale, whichever instance or path made the write.
create table data_version (
    name text primary key,
    version bigint not null
);
insert into data_version (name, version) values ('orglife', 0);
create trigger meeting_version_i after insert on meeting begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger meeting_version_u after update on meeting begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger meeting_version_d after delete on meeting begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger meeting_rule_version_i after insert on meeting_rule begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger meeting_rule_version_u after update on meeting_rule begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger meeting_rule_version_d after delete on meeting_rule begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger org_version_i after insert on org begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger org_version_u after update on org begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger org_version_d after delete on org begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger org_officer_version_i after insert on org_officer begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger org_officer_version_u after update on org_officer begin update data_version set version = version + 1 where name = 'orglife'; end;
create trigger org_officer_version_d after delete on org_officer begin update data_version set version = version + 1 where name = 'orglife'; end;
