-- The committee's counts by status (to review, returned, drafts) across the city. It carries
-- the columns of the year's tally too, so whichever index the planner picks for that scan
-- reads no table rows.
create index meeting_status on meeting(status, held_on, branch_id, kind, group_id, present_count, eligible_count);
