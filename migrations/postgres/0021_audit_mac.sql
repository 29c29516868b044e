-- The audit chain keyed: each row's HMAC-SM3 of its hash under a key from the key file
-- (never stored in the database). Rows from before carry none.
alter table audit_log add column mac text not null default '';
