-- API tokens expire: each has an end (chosen at creation, 1 to 365 days, default 90).
-- Tokens made before this have 90 days from now.
alter table api_token add column expires_at bigint;
update api_token set expires_at = cast(strftime('%s', 'now') as integer) + 90 * 86400
  where expires_at is null;
