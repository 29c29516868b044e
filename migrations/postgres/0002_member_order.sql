-- The member list: active members of a unit in its default order (unit, branch, id),
-- with the filtered columns in the index so filtering and counting read no table rows.
create index member_list on member(status, unit_id, branch_id, member_id, kind, name, name_initials, id_suffix, is_division_head, group_id);
