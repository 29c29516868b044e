-- Issue #4: audit retention. Rows older than the retention period are moved, oldest first,
-- into sealed archive files (JSON lines, zstd, HMAC-SM3 seal; see src/audit/archive.rs) kept
-- in the file store. Each archive row anchors the chain: the live log continues from the
-- newest archive's `last_hash`. Archive rows are append-only like the log itself.
create table audit_archive (
    archive_id integer primary key,
    created_at bigint not null,
    first_id bigint not null unique,
    last_id bigint not null unique,
    rows bigint not null,
    from_at bigint not null,
    to_at bigint not null,
    prev_hash text not null,
    last_hash text not null,
    file_hash text not null,
    size bigint not null,
    mac text not null
);

create trigger audit_archive_no_update before update on audit_archive
begin select raise(abort, 'audit_archive is append-only'); end;
create trigger audit_archive_no_delete before delete on audit_archive
begin select raise(abort, 'audit_archive is append-only'); end;

-- Audit rows still cannot be changed; they can be removed only once an archive holds them.
drop trigger audit_log_no_delete;
create trigger audit_log_no_delete before delete on audit_log
when old.audit_id > coalesce((select max(last_id) from audit_archive), 0)
begin select raise(abort, 'audit_log is append-only'); end;
