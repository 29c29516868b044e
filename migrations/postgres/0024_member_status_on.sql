-- The day a member's current status took effect (转出, 去世, 出党 …). The register of an
-- earlier day still lists the member, so a meeting entered late keeps its voting members.
-- Rows that left the register before this column existed carry no date of their own; the
-- nearest evidence is the row's last update, so the change is taken as of that day (Beijing
-- time). A register of a day before it then still lists them; one after it does not.
alter table member add column status_on text;
update member set status_on = to_char(to_timestamp(updated_at + 28800) at time zone 'UTC', 'YYYY-MM-DD')
    where status <> 'active';
