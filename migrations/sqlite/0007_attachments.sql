-- Photos and sign-in sheet scans of a meeting record; the bytes live in the file store
-- (data dir, by content hash), the row says what and whose.
create table meeting_attachment (
    attachment_id integer primary key,
    meeting_id bigint not null references meeting(meeting_id),
    filename text not null,
    content_type text not null,
    size bigint not null,
    sha256 text not null,
    created_by bigint,
    created_at bigint not null
);
create index meeting_attachment_meeting on meeting_attachment(meeting_id);
