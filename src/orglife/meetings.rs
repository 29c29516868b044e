//! Meeting records: listing them in scope, checking a record against the register on its
//! date, and saving, editing and deleting drafts.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};

use super::meeting_rules::*;
use super::register::*;
use super::review::*;
use super::rules::{self, MeetingKind, MeetingStatus, Quorum};
use super::{may_read, may_review, may_write};
use crate::audit::Entry;
use crate::auth::{CurrentUser, Scope};
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::text::{clean_prose, clean_text, format_date, parse_date};
use crate::web::Paging;

pub const ATTENDANCE_STATES: [(&str, &str); 3] =
    [("present", "出席"), ("leave", "请假"), ("absent", "缺席")];

pub fn attendance_label(s: &str) -> &'static str {
    ATTENDANCE_STATES
        .iter()
        .find(|(k, _)| *k == s)
        .map_or("未知", |(_, l)| l)
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Meeting {
    pub meeting_id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub branch_id: i64,
    pub branch_name: String,
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    pub kind: String,
    pub held_on: String,
    pub start_time: String,
    pub duration_minutes: i64,
    pub place: String,
    pub topic: String,
    pub presenter: String,
    pub recorder: String,
    pub minutes: String,
    #[sqlx(try_from = "String")]
    pub status: MeetingStatus,
    /// Those who should attend (for an assembly: the full members on that date).
    pub eligible_count: i64,
    pub present_count: i64,
    pub quorum_met: i64,
    pub review_comment: String,
    pub submitted_at: Option<i64>,
    pub reviewed_at: Option<i64>,
}

impl Meeting {
    pub fn kind_label(&self) -> &'static str {
        MeetingKind::parse(&self.kind).map_or("未知", MeetingKind::label)
    }

    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }

    /// 参学率 of this meeting, in percent.
    pub fn attendance_rate(&self) -> Option<f64> {
        rules::rate(self.present_count, self.eligible_count)
    }
}

impl crate::db::FromSqlite for Meeting {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Meeting {
            meeting_id: r.get(0)?,
            unit_id: r.get(1)?,
            unit_name: r.get(2)?,
            branch_id: r.get(3)?,
            branch_name: r.get(4)?,
            group_id: r.get(5)?,
            group_name: r.get(6)?,
            kind: r.get(7)?,
            held_on: r.get(8)?,
            start_time: r.get(9)?,
            duration_minutes: r.get(10)?,
            place: r.get(11)?,
            topic: r.get(12)?,
            presenter: r.get(13)?,
            recorder: r.get(14)?,
            minutes: r.get(15)?,
            status: crate::db::choice_at(r, 16, MeetingStatus::from_key)?,
            eligible_count: r.get(17)?,
            present_count: r.get(18)?,
            quorum_met: r.get(19)?,
            review_comment: r.get(20)?,
            submitted_at: r.get(21)?,
            reviewed_at: r.get(22)?,
        })
    }
}

/// The select list `Meeting::from_sqlite` reads by position.
pub(super) const MEETING_SELECT: &str =
    "select mt.meeting_id, mt.unit_id, u.name as unit_name, mt.branch_id, \
     b.name as branch_name, mt.group_id, g.name as group_name, mt.kind, mt.held_on, mt.start_time, \
     mt.duration_minutes, mt.place, mt.topic, mt.presenter, mt.recorder, mt.minutes, mt.status, \
     mt.eligible_count, mt.present_count, mt.quorum_met, mt.review_comment, mt.submitted_at, \
     mt.reviewed_at from meeting mt join unit u on u.unit_id = mt.unit_id \
     join org b on b.org_id = mt.branch_id left join org g on g.org_id = mt.group_id where ";

/// Appends the caller's scope on a meeting aliased `mt`: the committee everything, a unit
/// admin their units, a branch admin their branches. Members see meetings through their
/// attendance only ([`my_meetings`]).
pub(super) fn meeting_condition(scope: &Scope, sql: &mut Sql) {
    if scope.all {
        sql.push("1 = 1");
        return;
    }
    Scope::any_of(
        sql,
        &[
            ("mt.unit_id", &scope.units),
            ("mt.branch_id", &scope.branches),
        ],
    );
}

#[derive(Debug, Deserialize, Default, Clone, IntoParams)]
pub struct MeetingFilter {
    /// Topic words.
    pub q: Option<String>,
    pub unit_id: Option<String>,
    pub branch_id: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    /// Meetings held in this year.
    pub year: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub(super) fn num(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

impl MeetingFilter {
    pub fn paging(&self) -> Paging {
        Paging {
            page: self.page,
            per_page: self.per_page,
        }
    }

    pub fn query_string(&self) -> String {
        let n = |v: &Option<String>| num(v).map(|v| v.to_string()).unwrap_or_default();
        crate::web::query_string(&[
            ("q", self.q.clone().unwrap_or_default()),
            ("unit_id", n(&self.unit_id)),
            ("branch_id", n(&self.branch_id)),
            ("kind", self.kind.clone().unwrap_or_default()),
            ("status", self.status.clone().unwrap_or_default()),
            ("year", n(&self.year)),
        ])
    }

    fn apply(&self, sql: &mut Sql, state: &AppState) {
        if let Some(q) = self.q.as_deref().map(clean_text).filter(|q| !q.is_empty()) {
            sql.push(" and ").contains(state.db.backend, "mt.topic", &q);
        }
        if let Some(u) = num(&self.unit_id) {
            sql.push(" and mt.unit_id = ").bind(u);
        }
        if let Some(b) = num(&self.branch_id) {
            sql.push(" and mt.branch_id = ").bind(b);
        }
        if let Some(k) = self.kind.as_deref().and_then(MeetingKind::parse) {
            sql.push(" and mt.kind = ").bind(k.as_str());
        }
        if let Some(s) = self.status.as_deref().and_then(MeetingStatus::from_key) {
            sql.push(" and mt.status = ").bind(s.as_str());
        }
        if let Some(y) = num(&self.year).filter(|y| (1921..=9999).contains(y)) {
            sql.push(" and mt.held_on between ")
                .bind(format!("{y:04}-01-01"))
                .push(" and ")
                .bind(format!("{y:04}-12-31"));
        }
    }
}

pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    f: &MeetingFilter,
    all: bool,
) -> AppResult<(Vec<Meeting>, i64)> {
    user.require(may_read(user))?;
    let scope = user.scope();
    let mut sql = Sql::new(MEETING_SELECT);
    meeting_condition(&scope, &mut sql);
    f.apply(&mut sql, state);
    sql.push(" order by mt.held_on desc, mt.meeting_id desc");
    if all {
        let rows: Vec<Meeting> = sql.fetch_all(&state.db.pool).await?;
        let n = rows.len() as i64;
        return Ok((rows, n));
    }
    let p = f.paging();
    sql.push(" limit ")
        .bind(p.per_page())
        .push(" offset ")
        .bind(p.offset());
    let rows = sql.fetch_page(&state.db).await?;
    Ok((rows, count(state, user, f).await?))
}

/// One batch of an export, newest first: the records after `after` (held_on, id) in
/// that order.
pub async fn export_batch(
    state: &AppState,
    user: &CurrentUser,
    f: &MeetingFilter,
    after: Option<&(String, i64)>,
    size: i64,
) -> AppResult<Vec<Meeting>> {
    user.require(may_read(user))?;
    let mut sql = Sql::new(MEETING_SELECT);
    meeting_condition(&user.scope(), &mut sql);
    f.apply(&mut sql, state);
    if let Some((held_on, id)) = after {
        sql.push(" and (mt.held_on < ")
            .bind(held_on.clone())
            .push(" or (mt.held_on = ")
            .bind(held_on.clone())
            .push(" and mt.meeting_id < ")
            .bind(*id)
            .push("))");
    }
    sql.push(" order by mt.held_on desc, mt.meeting_id desc limit ")
        .bind(size);
    Ok(sql.fetch_all(&state.db.pool).await?)
}

/// How many records in the caller's scope match the filter.
pub async fn count(state: &AppState, user: &CurrentUser, f: &MeetingFilter) -> AppResult<i64> {
    user.require(may_read(user))?;
    let mut count = Sql::new("select count(*) from meeting mt where ");
    meeting_condition(&user.scope(), &mut count);
    f.apply(&mut count, state);
    // Counted once per data version: the committee's whole-city count read every record
    // of five years on each page (the sweep: /orglife/meetings p99 0.2 s).
    Ok(state
        .ext::<crate::db::QueryCache>()
        .count(&state.db, "orglife", &count)
        .await?)
}

/// One record in the caller's scope; 404 for anything else.
pub async fn get(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Meeting> {
    user.require(may_read(user))?;
    let mut sql = Sql::new(MEETING_SELECT);
    sql.push("mt.meeting_id = ").bind(id).push(" and ");
    meeting_condition(&user.scope(), &mut sql);
    sql.fetch_all::<Meeting>(&state.db.pool)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Attendance {
    pub member_id: i64,
    pub name: String,
    /// present | leave | absent
    pub state: String,
    pub reason: String,
}

impl Attendance {
    pub fn state_label(&self) -> &'static str {
        attendance_label(&self.state)
    }
}

pub async fn attendance(state: &AppState, meeting_id: i64) -> AppResult<Vec<Attendance>> {
    Ok(sqlx::query_as(
        "select a.member_id, m.name, a.state, a.reason from meeting_attendance a \
         join member m on m.member_id = a.member_id where a.meeting_id = $1 \
         order by case a.state when 'present' then 0 when 'leave' then 1 else 2 end, m.name_initials, m.member_id",
    )
    .bind(meeting_id)
    .fetch_all(&state.db.pool)
    .await?)
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct AttendanceInput {
    pub member_id: i64,
    /// present | leave | absent
    #[schema(schema_with = crate::orglife::schema::attendance_state)]
    pub state: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct MeetingInput {
    pub branch_id: i64,
    /// For a 党小组会: the group.
    #[serde(default)]
    pub group_id: Option<i64>,
    /// general_assembly | committee_meeting | group_meeting | party_lecture | theme_day | life_meeting | democratic_review
    #[schema(schema_with = crate::orglife::schema::meeting_kind)]
    pub kind: String,
    /// The date held, YYYY-MM-DD (the usual Chinese spellings are accepted).
    #[schema(format = Date)]
    pub held_on: String,
    /// HH:MM
    #[serde(default)]
    pub start_time: String,
    #[serde(default)]
    pub duration_minutes: Option<i64>,
    #[serde(default)]
    pub place: String,
    pub topic: String,
    #[serde(default)]
    pub presenter: String,
    #[serde(default)]
    pub recorder: String,
    #[serde(default)]
    pub minutes: String,
    /// Everyone listed is recorded as given; members of the register not listed are absent.
    #[serde(default)]
    pub attendance: Vec<AttendanceInput>,
    /// Any unique string per form: a second submission of the same form is refused.
    #[serde(default)]
    pub client_token: Option<String>,
}

/// A checked record, ready to write.
pub(super) struct Checked {
    kind: MeetingKind,
    group_id: Option<i64>,
    held_on: String,
    start_time: String,
    duration: i64,
    place: String,
    topic: String,
    presenter: String,
    recorder: String,
    minutes: String,
    attendance: Vec<(i64, String, String)>,
    eligible: i64,
    present: i64,
    quorum_met: bool,
}

/// The columns insert and update write from a checked record, in the order
/// `bind_record!` binds them.
const RECORD_COLUMNS: [&str; 13] = [
    "group_id",
    "kind",
    "held_on",
    "start_time",
    "duration_minutes",
    "place",
    "topic",
    "presenter",
    "recorder",
    "minutes",
    "eligible_count",
    "present_count",
    "quorum_met",
];

/// Binds a checked record's fields in `RECORD_COLUMNS` order.
macro_rules! bind_record {
    ($q:expr, $c:expr) => {
        $q.bind($c.group_id)
            .bind($c.kind.as_str())
            .bind($c.held_on.clone())
            .bind($c.start_time.clone())
            .bind($c.duration)
            .bind($c.place.clone())
            .bind($c.topic.clone())
            .bind($c.presenter.clone())
            .bind($c.recorder.clone())
            .bind($c.minutes.clone())
            .bind($c.eligible)
            .bind($c.present)
            .bind(i64::from($c.quorum_met))
    };
}

pub(super) fn limit(errors: &mut FieldErrors, field: &str, label: &str, v: &str, max: usize) {
    if v.chars().count() > max {
        errors.insert(field.into(), format!("{label}不超过{max}字"));
    }
}

/// Checks every field and the attendance against the register on the meeting's date.
pub(super) async fn check(
    state: &AppState,
    branch: &BranchFacts,
    input: &MeetingInput,
    today: Date,
) -> AppResult<Checked> {
    let mut errors = FieldErrors::new();
    let kind = MeetingKind::parse(&input.kind);
    if kind.is_none() {
        errors.insert("kind".into(), "请选择会议类型".into());
    }
    let held = match parse_date(input.held_on.trim()) {
        Ok(d) if d > today => {
            errors.insert("held_on".into(), "会议日期不能晚于今天".into());
            None
        }
        Ok(d) => {
            if let Some(f) = date_of(&branch.founded_on).filter(|f| d < *f) {
                errors.insert(
                    "held_on".into(),
                    format!("会议日期早于本支部成立日期（{}）", format_date(f)),
                );
                None
            } else {
                Some(d)
            }
        }
        Err(_) if input.held_on.trim().is_empty() => {
            errors.insert("held_on".into(), "请填写会议日期".into());
            None
        }
        Err(e) => {
            errors.insert("held_on".into(), format!("会议日期：{e}"));
            None
        }
    };
    let start_time = clean_text(&input.start_time);
    if !start_time.is_empty()
        && time::Time::parse(
            &start_time,
            time::macros::format_description!("[hour]:[minute]"),
        )
        .is_err()
    {
        errors.insert(
            "start_time".into(),
            "开始时间格式应为 时:分，如 14:30".into(),
        );
    }
    let duration = input.duration_minutes.unwrap_or(0);
    if duration < 0 {
        errors.insert("duration_minutes".into(), "会议时长不能为负数".into());
    } else if duration > 24 * 60 {
        errors.insert("duration_minutes".into(), "会议时长不超过1440分钟".into());
    }
    let topic = clean_prose(&input.topic);
    if topic.is_empty() {
        errors.insert("topic".into(), "请填写会议主题".into());
    }
    limit(&mut errors, "topic", "会议主题", &topic, 100);
    let place = clean_prose(&input.place);
    limit(&mut errors, "place", "地点", &place, 100);
    let presenter = clean_prose(&input.presenter);
    limit(&mut errors, "presenter", "主持人", &presenter, 30);
    let recorder = clean_prose(&input.recorder);
    limit(&mut errors, "recorder", "记录人", &recorder, 30);
    let minutes = input.minutes.trim().to_string();
    if minutes.chars().count() > 20_000 {
        errors.insert("minutes".into(), "会议记录不超过20000字".into());
    }
    // The group of a 党小组会 must be under this branch.
    let mut group_id = None;
    if kind == Some(MeetingKind::GroupMeeting) {
        match input.group_id {
            None => {
                errors.insert("group_id".into(), "党小组会须选择党小组".into());
            }
            Some(g) => {
                let ok: Option<i64> = sqlx::query_scalar(
                    "select org_id from org where org_id = $1 and parent_id = $2 and kind = 'group'",
                )
                .bind(g)
                .bind(branch.org_id)
                .fetch_optional(&state.db.pool)
                .await?;
                if ok.is_none() {
                    errors.insert("group_id".into(), "该党小组不属于本支部".into());
                } else {
                    group_id = Some(g);
                }
            }
        }
    }
    let (Some(kind), Some(held)) = (kind, held) else {
        return Err(AppError::fields(errors));
    };
    let register = register_on(state, branch.org_id, held).await?;
    let in_register: HashMap<i64, &RegisterMember> =
        register.iter().map(|m| (m.member_id, m)).collect();
    let mut seen = HashSet::new();
    let mut attendance = Vec::new();
    for a in &input.attendance {
        let reason = clean_prose(&a.reason);
        if !seen.insert(a.member_id) {
            errors.insert("attendance".into(), "同一党员在签到中出现了两次".into());
            continue;
        }
        if !ATTENDANCE_STATES.iter().any(|(k, _)| *k == a.state) {
            errors.insert("attendance".into(), "出席情况只能是出席、请假或缺席".into());
            continue;
        }
        if !in_register.contains_key(&a.member_id) {
            errors.insert(
                "attendance".into(),
                format!("编号 {} 的党员在会议当日不属于本支部", a.member_id),
            );
            continue;
        }
        if reason.chars().count() > 100 {
            errors.insert("attendance".into(), "缺席或请假原因不超过100字".into());
        }
        attendance.push((a.member_id, a.state.clone(), reason));
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    // Members of the register not listed were absent.
    let expected: Vec<&RegisterMember> = register
        .iter()
        .filter(|m| match kind {
            MeetingKind::GroupMeeting => m.group_id == group_id,
            // The committee meets as the committee; others may sit in (列席).
            MeetingKind::CommitteeMeeting => m.officer,
            _ => true,
        })
        .collect();
    for m in &expected {
        if !seen.contains(&m.member_id) {
            attendance.push((m.member_id, "absent".into(), String::new()));
        }
    }
    let present: HashSet<i64> = attendance
        .iter()
        .filter(|(_, s, _)| s == "present")
        .map(|(id, _, _)| *id)
        .collect();
    let year = held.year();
    let all_rules = load_rules(state).await?;
    let quorum = rules::rule_for(&all_rules, kind, year).map_or(Quorum::None, |r| r.quorum);
    let (eligible, present_n) = match quorum {
        Quorum::HalfOfFullMembers => {
            let full: Vec<_> = register.iter().filter(|m| m.full).collect();
            let p = full
                .iter()
                .filter(|m| present.contains(&m.member_id))
                .count();
            (full.len(), p)
        }
        Quorum::HalfOfCommittee => {
            let off: Vec<_> = register.iter().filter(|m| m.officer).collect();
            let p = off
                .iter()
                .filter(|m| present.contains(&m.member_id))
                .count();
            (off.len(), p)
        }
        Quorum::None => (
            expected.len(),
            expected
                .iter()
                .filter(|m| present.contains(&m.member_id))
                .count(),
        ),
    };
    let (eligible, present_n) = (eligible as i64, present_n as i64);
    Ok(Checked {
        kind,
        group_id,
        held_on: format_date(held),
        start_time,
        duration,
        place,
        topic,
        presenter,
        recorder,
        minutes,
        attendance,
        eligible,
        present: present_n,
        quorum_met: quorum.met(eligible, present_n),
    })
}

pub(super) async fn write_attendance(
    conn: &mut sqlx::AnyConnection,
    meeting_id: i64,
    rows: &[(i64, String, String)],
) -> AppResult<()> {
    sqlx::query("delete from meeting_attendance where meeting_id = $1")
        .bind(meeting_id)
        .execute(&mut *conn)
        .await
        .map_err(anyhow::Error::from)?;
    for chunk in rows.chunks(200) {
        let mut sql = Sql::new(
            "insert into meeting_attendance (meeting_id, member_id, state, reason) values ",
        );
        for (i, (member, st, reason)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(meeting_id)
                .push(", ")
                .bind(*member)
                .push(", ")
                .bind(st.as_str())
                .push(", ")
                .bind(reason.as_str())
                .push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(&mut *conn)
            .await
            .map_err(anyhow::Error::from)?;
    }
    Ok(())
}

/// What a save answers: the record, and whether it was already saved by an earlier
/// submission of the same form.
pub struct Saved {
    pub meeting_id: i64,
    pub duplicate: bool,
}

pub async fn create(state: &AppState, user: &CurrentUser, input: MeetingInput) -> AppResult<Saved> {
    user.require(may_write(user))?;
    let branch = branch_in_scope(state, user, input.branch_id).await?;
    let token = input
        .client_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 64)
        .map(str::to_string);
    if let Some(t) = &token {
        if let Some(id) = existing_for_token(state, user.user_id, t).await? {
            return Ok(Saved {
                meeting_id: id,
                duplicate: true,
            });
        }
    }
    let c = check(state, &branch, &input, crate::clock::today()).await?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let sql = format!(
        "insert into meeting (unit_id, branch_id, {}, status, client_token, created_by, created_at, updated_at) \
         values ($1, $2, {}, 'draft', ${}, ${}, ${}, ${}) returning meeting_id",
        RECORD_COLUMNS.join(", "),
        crate::db::placeholders(3, RECORD_COLUMNS.len()),
        RECORD_COLUMNS.len() + 3,
        RECORD_COLUMNS.len() + 4,
        RECORD_COLUMNS.len() + 5,
        RECORD_COLUMNS.len() + 6,
    );
    let q = sqlx::query_scalar(&sql)
        .bind(branch.unit_id)
        .bind(branch.org_id);
    let inserted: Result<i64, sqlx::Error> = bind_record!(q, c)
        .bind(token.clone())
        .bind(user.user_id)
        .bind(t)
        .bind(t)
        .fetch_one(tx.conn())
        .await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) if token.is_some() && is_unique(&e) => {
            // The same form raced itself: the first one won.
            drop(tx);
            if let Some(id) =
                existing_for_token(state, user.user_id, token.as_deref().unwrap_or("")).await?
            {
                return Ok(Saved {
                    meeting_id: id,
                    duplicate: true,
                });
            }
            return Err(AppError::Internal(e.into()));
        }
        Err(e) => return Err(e.into()),
    };
    write_attendance(tx.conn(), id, &c.attendance).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "meeting.create",
            "meeting",
            id,
            format!(
                "{} 登记{}：{}（{}）",
                branch.name,
                c.kind.label(),
                c.topic,
                c.held_on
            ),
        )
        .after(&snapshot(&c)),
    )
    .await?;
    tx.commit().await?;
    Ok(Saved {
        meeting_id: id,
        duplicate: false,
    })
}

pub(super) fn is_unique(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// The record an earlier submission of the same form saved: the token is the sender's own
/// (unique per user), so another user's token neither matches nor names their record.
pub(super) async fn existing_for_token(
    state: &AppState,
    user_id: i64,
    token: &str,
) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "select meeting_id from meeting where created_by = $1 and client_token = $2",
    )
    .bind(user_id)
    .bind(token)
    .fetch_optional(&state.db.pool)
    .await?)
}

#[derive(Serialize)]
pub(super) struct Snapshot<'a> {
    kind: &'a str,
    group_id: Option<i64>,
    held_on: &'a str,
    start_time: &'a str,
    duration_minutes: i64,
    place: &'a str,
    topic: &'a str,
    presenter: &'a str,
    recorder: &'a str,
    minutes_chars: usize,
    eligible: i64,
    present: i64,
    quorum_met: bool,
    attendance: BTreeMap<String, usize>,
}

pub(super) fn snapshot(c: &Checked) -> Snapshot<'_> {
    let mut attendance = BTreeMap::new();
    for (_, s, _) in &c.attendance {
        *attendance.entry(s.clone()).or_insert(0) += 1;
    }
    Snapshot {
        kind: c.kind.as_str(),
        group_id: c.group_id,
        held_on: &c.held_on,
        start_time: &c.start_time,
        duration_minutes: c.duration,
        place: &c.place,
        topic: &c.topic,
        presenter: &c.presenter,
        recorder: &c.recorder,
        minutes_chars: c.minutes.chars().count(),
        eligible: c.eligible,
        present: c.present,
        quorum_met: c.quorum_met,
        attendance,
    }
}

/// Edits a record. A draft or returned record stays as it is; an accepted one goes back to
/// review (the edit is audited with before and after); a submitted one must wait.
pub async fn update(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: MeetingInput,
) -> AppResult<()> {
    user.require(may_write(user))?;
    let before = get(state, user, id).await?;
    if before.status == MeetingStatus::Submitted {
        return Err(AppError::Conflict(
            "该记录正在审核中，审核完成前不能修改".into(),
        ));
    }
    if input.branch_id != before.branch_id {
        return Err(AppError::field("branch_id", "不能把记录改到另一个支部"));
    }
    let branch = branch_in_scope(state, user, before.branch_id).await?;
    let c = check(state, &branch, &input, crate::clock::today()).await?;
    let reopen = before.status == MeetingStatus::Accepted;
    let status = if reopen {
        MeetingStatus::Submitted
    } else {
        before.status
    };
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let n = RECORD_COLUMNS.len();
    let sets: Vec<String> = RECORD_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, col)| format!("{col} = ${}", i + 1))
        .collect();
    let sql = format!(
        "update meeting set {}, status = ${}, updated_at = ${}, \
         submitted_at = case when ${} = 1 then ${} else submitted_at end where meeting_id = ${}",
        sets.join(", "),
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 5,
    );
    bind_record!(sqlx::query(&sql), c)
        .bind(status.as_str())
        .bind(t)
        .bind(i64::from(reopen))
        .bind(t)
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    write_attendance(tx.conn(), id, &c.attendance).await?;
    if reopen {
        log_step(tx.conn(), id, "reopen", "通过后修改", user).await?;
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            if reopen {
                "meeting.update_accepted"
            } else {
                "meeting.update"
            },
            "meeting",
            id,
            format!("修改{}记录：{}（{}）", c.kind.label(), c.topic, c.held_on),
        )
        .before(&before)
        .after(&snapshot(&c)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a draft or returned record (never one under or after review).
pub async fn delete(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    user.require(may_write(user))?;
    let before = get(state, user, id).await?;
    if !before.status.is_open() {
        return Err(AppError::Conflict("只能删除草稿或已退回的记录".into()));
    }
    let mut tx = state.db.begin_write().await?;
    // Its photos and scans go with it (the files stay in the content-addressed store, as
    // when one attachment is deleted: backups may hold them).
    let attachments = sqlx::query("delete from meeting_attachment where meeting_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?
        .rows_affected();
    for table in ["meeting_attendance", "meeting_review"] {
        sqlx::query(&format!("delete from {table} where meeting_id = $1"))
            .bind(id)
            .execute(tx.conn())
            .await
            .map_err(anyhow::Error::from)?;
    }
    sqlx::query("delete from meeting where meeting_id = $1 and status in ('draft', 'returned')")
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "meeting.delete",
            "meeting",
            id,
            format!(
                "删除{}记录：{}（{}）{}",
                before.kind_label(),
                before.topic,
                before.held_on,
                if attachments > 0 {
                    format!("，连同 {attachments} 个附件")
                } else {
                    String::new()
                }
            ),
        )
        .before(&before),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Reviews a record of a unit where the registry powers apply (not a branch the user
/// administers in another unit through a second grant).
pub(super) fn may_review_meeting(user: &CurrentUser, m: &Meeting) -> bool {
    may_review(user) && user.registry_scope().sees_unit(m.unit_id)
}
