-- A record form's idempotency token is unique per sender, not across the city: another
-- unit's token neither collides with one's own nor tells whose record it named.
alter table meeting drop constraint meeting_client_token_key;
create unique index meeting_client_token on meeting(created_by, client_token);
