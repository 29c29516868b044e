-- A unit's record list is newest first (held_on desc, meeting_id desc): read it from an
-- index in that order instead of sorting every record of the unit for each page.
create index meeting_unit_held on meeting(unit_id, held_on, meeting_id);
