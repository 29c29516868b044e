-- The committee's counts by status (to review, returned, drafts) across the city.
create index meeting_status on meeting(status, held_on);
