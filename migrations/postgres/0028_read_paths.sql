-- Read paths the PostgreSQL sweep found scanning or sorting whole tables:
-- a branch's register on a date reads the transfers into and out of it, by branch;
create index member_transfer_from on member_transfer(from_branch_id);
create index member_transfer_to on member_transfer(to_branch_id);
-- the city's record list is newest first (held_on desc, meeting_id desc): read in that order
-- instead of sorting the hundreds of records of each day;
create index meeting_held_id on meeting(held_on, meeting_id);
-- a 党小组's members (the member list filtered by group).
create index member_group on member(group_id);
