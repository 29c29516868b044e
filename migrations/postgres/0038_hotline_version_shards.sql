-- The hotline's data version bumps its transaction's shard, like every other area's
-- (0037_data_version_shards.sql).
create or replace function bump_hotline_version() returns trigger language plpgsql as $$
begin
    perform bump_data_version('hotline');
    return null;
end $$;
