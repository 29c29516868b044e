-- A daily digest of notifications by email, for users who give an address.
alter table app_user add column email text not null default '';
alter table notification add column emailed_at bigint;
