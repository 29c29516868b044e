-- The year grid reads quorum_met too (a meeting held without its quorum does not satisfy
-- the period): the covering indexes carry it, so the city's tally still reads no table rows.
drop index meeting_held;
create index meeting_held on meeting(held_on, status, branch_id, kind, group_id, present_count, eligible_count, quorum_met);
drop index meeting_status;
create index meeting_status on meeting(status, held_on, branch_id, kind, group_id, present_count, eligible_count, quorum_met);
