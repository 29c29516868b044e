-- 扫码签到: one mechanism for org-life meetings and volunteer activities. The organiser opens
-- a sign-in (or sign-out) of a target — a meeting, an activity — and shows a QR code that
-- changes every few seconds (the code is a keyed hash of the sign-in and the time window, so
-- nothing of it is stored); a member who scans it while logged in is recorded once per target
-- and direction. The target's own record (attendance, confirmation) is pre-filled from these
-- rows and confirmed by the organiser; they change nothing by themselves. Instants unix seconds.

-- kind: meeting | need; direction: in | out
create table checkin_session (
    checkin_session_id integer primary key,
    kind text not null,
    target_id bigint not null,
    direction text not null,
    opened_by bigint not null references app_user(user_id),
    opened_at bigint not null,
    expires_at bigint not null,
    closed_at bigint
);
create index checkin_session_target on checkin_session(kind, target_id, direction);

create table checkin (
    kind text not null,
    target_id bigint not null,
    member_id bigint not null references member(member_id),
    direction text not null,
    checkin_session_id bigint not null references checkin_session(checkin_session_id),
    user_id bigint not null references app_user(user_id),
    at bigint not null,
    primary key (kind, target_id, direction, member_id)
);
create index checkin_member on checkin(member_id, at);
