-- The member list's default order (unit, branch, id) among active members.
create index member_status_order on member(status, unit_id, branch_id, member_id);
