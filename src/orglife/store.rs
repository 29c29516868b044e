//! Meeting records: who may see and write them, the register they are checked against,
//! the review flow, and the figures computed from them.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};

use super::rules::{self, CellState, MeetingKind, Move, Period, Quorum, Rule};
use crate::audit::{self, Entry};
use crate::auth::{CurrentUser, Role, Scope};
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::text::{clean_text, format_date, parse_date};
use crate::web::Paging;

pub const STATUSES: [(&str, &str); 4] = [
    ("draft", "草稿"),
    ("submitted", "待审核"),
    ("accepted", "已通过"),
    ("returned", "已退回"),
];

pub fn status_label(s: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(k, _)| *k == s)
        .map_or("未知", |(_, l)| l)
}

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
    /// draft | submitted | accepted | returned
    pub status: String,
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
        status_label(&self.status)
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
            status: r.get(16)?,
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
const MEETING_SELECT: &str =
    "select mt.meeting_id, mt.unit_id, u.name as unit_name, mt.branch_id, \
     b.name as branch_name, mt.group_id, g.name as group_name, mt.kind, mt.held_on, mt.start_time, \
     mt.duration_minutes, mt.place, mt.topic, mt.presenter, mt.recorder, mt.minutes, mt.status, \
     mt.eligible_count, mt.present_count, mt.quorum_met, mt.review_comment, mt.submitted_at, \
     mt.reviewed_at from meeting mt join unit u on u.unit_id = mt.unit_id \
     join org b on b.org_id = mt.branch_id left join org g on g.org_id = mt.group_id where ";

/// Appends the caller's scope on a meeting aliased `mt`: the committee everything, a unit
/// admin their units, a branch admin their branches. Members see meetings through their
/// attendance only ([`my_meetings`]).
fn meeting_condition(scope: &Scope, sql: &mut Sql) {
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

/// May read meeting records at all (members use their own page).
pub fn may_read(user: &CurrentUser) -> bool {
    user.is_registry_admin() || user.has(Role::Branch)
}

/// May draft, edit and submit records (for branches in scope).
pub fn may_write(user: &CurrentUser) -> bool {
    user.has(Role::Unit) || user.has(Role::Branch)
}

/// May accept or return submitted records: the unit (and the committee above it).
pub fn may_review(user: &CurrentUser) -> bool {
    user.is_registry_admin()
}

/// Reviews a record of a unit where the registry powers apply (not a branch the user
/// administers in another unit through a second grant).
fn may_review_meeting(user: &CurrentUser, m: &Meeting) -> bool {
    may_review(user) && user.registry_scope().sees_unit(m.unit_id)
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

fn num(v: &Option<String>) -> Option<i64> {
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
        if let Some(s) = self
            .status
            .as_deref()
            .filter(|s| STATUSES.iter().any(|(k, _)| k == s))
        {
            sql.push(" and mt.status = ").bind(s);
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

/// How many records in the caller's scope match the filter.
pub async fn count(state: &AppState, user: &CurrentUser, f: &MeetingFilter) -> AppResult<i64> {
    user.require(may_read(user))?;
    let mut count = Sql::new("select count(*) from meeting mt where ");
    meeting_condition(&user.scope(), &mut count);
    f.apply(&mut count, state);
    Ok(count.fetch_scalar(&state.db.pool).await?)
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

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct ReviewStep {
    /// submit | accept | return | reopen
    pub action: String,
    pub comment: String,
    pub actor_name: String,
    pub at: i64,
}

impl ReviewStep {
    pub fn action_label(&self) -> &'static str {
        match self.action.as_str() {
            "submit" => "提交审核",
            "accept" => "审核通过",
            "return" => "退回修改",
            "reopen" => "通过后修改，重新提交",
            _ => "其他",
        }
    }
}

pub async fn review_trail(state: &AppState, meeting_id: i64) -> AppResult<Vec<ReviewStep>> {
    Ok(sqlx::query_as(
        "select action, comment, actor_name, at from meeting_review where meeting_id = $1 \
         order by meeting_review_id",
    )
    .bind(meeting_id)
    .fetch_all(&state.db.pool)
    .await?)
}

// ---- the register on a date ----

/// A member of a branch on a given date, as the quorum and the attendance see them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RegisterMember {
    pub member_id: i64,
    pub name: String,
    /// A full (voting) member on that date.
    pub full: bool,
    pub group_id: Option<i64>,
    /// Holds a post on the branch committee.
    pub officer: bool,
}

/// A branch as the meeting rules need it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BranchFacts {
    pub org_id: i64,
    pub unit_id: i64,
    pub name: String,
    pub founded_on: Option<String>,
}

/// The branch (kind 'branch') if it is in the caller's scope, else 404.
pub async fn branch_in_scope(
    state: &AppState,
    user: &CurrentUser,
    branch_id: i64,
) -> AppResult<BranchFacts> {
    let mut sql = Sql::new(
        "select o.org_id, o.unit_id, o.name, o.founded_on from org o where o.kind = 'branch' and o.org_id = ",
    );
    sql.bind(branch_id).push(" and ");
    user.scope().org_condition(&mut sql);
    sql.fetch_all::<BranchFacts>(&state.db.pool)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

#[derive(sqlx::FromRow)]
struct RegRow {
    member_id: i64,
    name: String,
    kind: String,
    converted_on: Option<String>,
    joined_on: Option<String>,
    branch_id: i64,
    group_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct MoveRow {
    member_id: i64,
    transferred_on: String,
    from_branch_id: i64,
    to_branch_id: i64,
}

fn date_of(s: &Option<String>) -> Option<Date> {
    s.as_deref().and_then(|v| parse_date(v).ok())
}

/// Who belonged to `branch_id` on `d`: active members who had joined by then and whose
/// transfers put them in this branch on that date.
pub async fn register_on(
    state: &AppState,
    branch_id: i64,
    d: Date,
) -> AppResult<Vec<RegisterMember>> {
    let rows: Vec<RegRow> = sqlx::query_as(
        "select member_id, name, kind, converted_on, joined_on, branch_id, group_id from member \
         where status = 'active' and (branch_id = $1 or member_id in \
         (select member_id from member_transfer where from_branch_id = $2 or to_branch_id = $3)) \
         order by name_initials, member_id",
    )
    .bind(branch_id)
    .bind(branch_id)
    .bind(branch_id)
    .fetch_all(&state.db.pool)
    .await?;
    let moves: Vec<MoveRow> = sqlx::query_as(
        "select t.member_id, t.transferred_on, t.from_branch_id, t.to_branch_id from member_transfer t \
         where t.member_id in (select member_id from member where branch_id = $1) \
         or t.from_branch_id = $2 or t.to_branch_id = $3",
    )
    .bind(branch_id)
    .bind(branch_id)
    .bind(branch_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut by_member: HashMap<i64, Vec<Move>> = HashMap::new();
    for m in moves {
        if let Ok(on) = parse_date(&m.transferred_on) {
            by_member.entry(m.member_id).or_default().push(Move {
                on,
                from_branch: m.from_branch_id,
                to_branch: m.to_branch_id,
            });
        }
    }
    let officers: HashSet<i64> =
        sqlx::query_scalar::<_, i64>("select member_id from org_officer where org_id = $1")
            .bind(branch_id)
            .fetch_all(&state.db.pool)
            .await?
            .into_iter()
            .collect();
    let empty = Vec::new();
    Ok(rows
        .into_iter()
        .filter(|r| date_of(&r.joined_on).is_none_or(|j| j <= d))
        .filter(|r| {
            rules::branch_on(
                r.branch_id,
                by_member.get(&r.member_id).unwrap_or(&empty),
                d,
            ) == branch_id
        })
        .map(|r| RegisterMember {
            full: rules::full_on(r.kind == "full", date_of(&r.converted_on), d),
            officer: officers.contains(&r.member_id),
            // The current group stands for the group on that date (groups keep no history).
            group_id: if r.branch_id == branch_id {
                r.group_id
            } else {
                None
            },
            member_id: r.member_id,
            name: r.name,
        })
        .collect())
}

// ---- writing ----

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
struct Checked {
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

fn limit(errors: &mut FieldErrors, field: &str, label: &str, v: &str, max: usize) {
    if v.chars().count() > max {
        errors.insert(field.into(), format!("{label}不超过{max}字"));
    }
}

/// Checks every field and the attendance against the register on the meeting's date.
async fn check(
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
    let topic = clean_text(&input.topic);
    if topic.is_empty() {
        errors.insert("topic".into(), "请填写会议主题".into());
    }
    limit(&mut errors, "topic", "会议主题", &topic, 100);
    let place = clean_text(&input.place);
    limit(&mut errors, "place", "地点", &place, 100);
    let presenter = clean_text(&input.presenter);
    limit(&mut errors, "presenter", "主持人", &presenter, 30);
    let recorder = clean_text(&input.recorder);
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
        let reason = clean_text(&a.reason);
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

async fn write_attendance(
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

async fn log_step(
    conn: &mut sqlx::AnyConnection,
    meeting_id: i64,
    action: &str,
    comment: &str,
    user: &CurrentUser,
) -> AppResult<()> {
    sqlx::query(
        "insert into meeting_review (meeting_id, action, comment, actor_user_id, actor_name, at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(meeting_id)
    .bind(action)
    .bind(comment)
    .bind(user.user_id)
    .bind(user.display_name.clone())
    .bind(now())
    .execute(&mut *conn)
    .await
    .map_err(anyhow::Error::from)?;
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
        if let Some(id) = existing_for_token(state, t).await? {
            return Ok(Saved {
                meeting_id: id,
                duplicate: true,
            });
        }
    }
    let c = check(state, &branch, &input, crate::clock::today()).await?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "insert into meeting (unit_id, branch_id, group_id, kind, held_on, start_time, duration_minutes, \
         place, topic, presenter, recorder, minutes, status, eligible_count, present_count, quorum_met, \
         client_token, created_by, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'draft', $13, $14, $15, $16, $17, $18, $19) \
         returning meeting_id",
    )
    .bind(branch.unit_id)
    .bind(branch.org_id)
    .bind(c.group_id)
    .bind(c.kind.as_str())
    .bind(c.held_on.clone())
    .bind(c.start_time.clone())
    .bind(c.duration)
    .bind(c.place.clone())
    .bind(c.topic.clone())
    .bind(c.presenter.clone())
    .bind(c.recorder.clone())
    .bind(c.minutes.clone())
    .bind(c.eligible)
    .bind(c.present)
    .bind(i64::from(c.quorum_met))
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
            if let Some(id) = existing_for_token(state, token.as_deref().unwrap_or("")).await? {
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
    audit::record(
        tx.conn(),
        state.db.backend,
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

fn is_unique(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

async fn existing_for_token(state: &AppState, token: &str) -> AppResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("select meeting_id from meeting where client_token = $1")
            .bind(token)
            .fetch_optional(&state.db.pool)
            .await?,
    )
}

#[derive(Serialize)]
struct Snapshot<'a> {
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

fn snapshot(c: &Checked) -> Snapshot<'_> {
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
    if before.status == "submitted" {
        return Err(AppError::Conflict(
            "该记录正在审核中，审核完成前不能修改".into(),
        ));
    }
    if input.branch_id != before.branch_id {
        return Err(AppError::field("branch_id", "不能把记录改到另一个支部"));
    }
    let branch = branch_in_scope(state, user, before.branch_id).await?;
    let c = check(state, &branch, &input, crate::clock::today()).await?;
    let reopen = before.status == "accepted";
    let status = if reopen {
        "submitted"
    } else {
        before.status.as_str()
    };
    let t = now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update meeting set group_id = $1, kind = $2, held_on = $3, start_time = $4, duration_minutes = $5, \
         place = $6, topic = $7, presenter = $8, recorder = $9, minutes = $10, eligible_count = $11, \
         present_count = $12, quorum_met = $13, status = $14, updated_at = $15, \
         submitted_at = case when $16 = 1 then $17 else submitted_at end where meeting_id = $18",
    )
    .bind(c.group_id)
    .bind(c.kind.as_str())
    .bind(c.held_on.clone())
    .bind(c.start_time.clone())
    .bind(c.duration)
    .bind(c.place.clone())
    .bind(c.topic.clone())
    .bind(c.presenter.clone())
    .bind(c.recorder.clone())
    .bind(c.minutes.clone())
    .bind(c.eligible)
    .bind(c.present)
    .bind(i64::from(c.quorum_met))
    .bind(status)
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
    audit::record(
        tx.conn(),
        state.db.backend,
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
    if !matches!(before.status.as_str(), "draft" | "returned") {
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
    audit::record(
        tx.conn(),
        state.db.backend,
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

/// The review steps: submit (editors), accept and return (reviewers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Submit,
    Accept,
    Return,
}

pub async fn step(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    step: Step,
    comment: &str,
) -> AppResult<()> {
    let m = get(state, user, id).await?;
    let comment = clean_text(comment);
    let (from, to, action): (&[&str], &str, &str) = match step {
        Step::Submit => {
            user.require(may_write(user))?;
            (&["draft", "returned"], "submitted", "submit")
        }
        Step::Accept => {
            user.require(may_review_meeting(user, &m))?;
            (&["submitted"], "accepted", "accept")
        }
        Step::Return => {
            user.require(may_review_meeting(user, &m))?;
            if comment.is_empty() {
                return Err(AppError::field(
                    "comment",
                    "请填写退回理由，告诉支部要改什么",
                ));
            }
            (&["submitted"], "returned", "return")
        }
    };
    if comment.chars().count() > 500 {
        return Err(AppError::field("comment", "意见不超过500字"));
    }
    if !from.contains(&m.status.as_str()) {
        return Err(AppError::Conflict(format!(
            "该记录当前为“{}”，不能{}",
            m.status_label(),
            match step {
                Step::Submit => "提交",
                Step::Accept => "通过",
                Step::Return => "退回",
            }
        )));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    // The status guard in the WHERE makes a double click a no-op, not a second step.
    let mut sql = Sql::new("update meeting set status = ");
    sql.bind(to).push(", updated_at = ").bind(t);
    match step {
        Step::Submit => {
            sql.push(", submitted_at = ").bind(t);
        }
        Step::Accept | Step::Return => {
            sql.push(", reviewed_at = ")
                .bind(t)
                .push(", reviewed_by = ")
                .bind(user.user_id)
                .push(", review_comment = ")
                .bind(comment.clone());
        }
    }
    sql.push(" where meeting_id = ")
        .bind(id)
        .push(" and status = ")
        .bind(m.status.clone());
    let done = sqlx::query_with(&sql.text, sql.arguments())
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?
        .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict(
            "该记录刚被他人处理，请刷新后再看".into(),
        ));
    }
    log_step(tx.conn(), id, action, &comment, user).await?;
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new(
            match step {
                Step::Submit => "meeting.submit",
                Step::Accept => "meeting.accept",
                Step::Return => "meeting.return",
            },
            "meeting",
            id,
            format!(
                "{}：{}（{}）{}",
                m.kind_label(),
                m.topic,
                m.held_on,
                if comment.is_empty() {
                    String::new()
                } else {
                    format!("，意见：{comment}")
                }
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- rules as data ----

#[derive(sqlx::FromRow)]
struct RuleRow {
    kind: String,
    from_year: i64,
    period: String,
    times: i64,
    quorum: String,
}

pub async fn load_rules(state: &AppState) -> AppResult<Vec<Rule>> {
    let rows: Vec<RuleRow> = sqlx::query_as(
        "select kind, from_year, period, times, quorum from meeting_rule order by kind, from_year",
    )
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Rule {
                kind: MeetingKind::parse(&r.kind)?,
                from_year: i32::try_from(r.from_year).ok()?,
                period: Period::parse(&r.period)?,
                times: r.times,
                quorum: Quorum::parse(&r.quorum)?,
            })
        })
        .collect())
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct RuleInput {
    #[schema(schema_with = crate::orglife::schema::meeting_kind)]
    pub kind: String,
    /// The first year the rule applies to.
    pub from_year: i64,
    /// month | quarter | year
    #[schema(schema_with = crate::orglife::schema::period)]
    pub period: String,
    pub times: i64,
    /// none | half_of_full_members | half_of_committee
    #[schema(schema_with = crate::orglife::schema::quorum)]
    pub quorum: String,
}

/// Sets the rule of a kind from a year on (the committee only). Earlier years keep theirs.
pub async fn set_rule(state: &AppState, user: &CurrentUser, input: RuleInput) -> AppResult<()> {
    user.require(user.is_committee())?;
    let mut errors = FieldErrors::new();
    let kind = MeetingKind::parse(&input.kind);
    if kind.is_none() {
        errors.insert("kind".into(), "请选择会议类型".into());
    }
    if !(2000..=2100).contains(&input.from_year) {
        errors.insert("from_year".into(), "起始年份应在2000至2100之间".into());
    }
    let period = Period::parse(&input.period);
    if period.is_none() {
        errors.insert("period".into(), "频次只能是每月、每季度或每年".into());
    }
    if !(1..=31).contains(&input.times) {
        errors.insert("times".into(), "每期次数应在1至31之间".into());
    }
    let quorum = Quorum::parse(&input.quorum);
    if quorum.is_none() {
        errors.insert("quorum".into(), "请选择到会要求".into());
    }
    let (Some(kind), Some(period), Some(quorum)) = (kind, period, quorum) else {
        return Err(AppError::fields(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let before = load_rules(state).await?;
    let old = rules::rule_for(&before, kind, input.from_year as i32).cloned();
    let t = now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("delete from meeting_rule where kind = $1 and from_year = $2")
        .bind(kind.as_str())
        .bind(input.from_year)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    sqlx::query(
        "insert into meeting_rule (kind, from_year, period, times, quorum, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(kind.as_str())
    .bind(input.from_year)
    .bind(period.as_str())
    .bind(input.times)
    .bind(quorum.as_str())
    .bind(user.user_id)
    .bind(t)
    .execute(tx.conn())
    .await
    .map_err(anyhow::Error::from)?;
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new(
            "meeting_rule.set",
            "meeting_rule",
            format!("{}:{}", kind.as_str(), input.from_year),
            format!(
                "{}自{}年起：{}{}次，到会要求{}",
                kind.label(),
                input.from_year,
                period.label(),
                input.times,
                quorum.label()
            ),
        )
        .before(&old)
        .after(&input),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- the year at a glance, and compliance ----

/// One cell of a branch's year: a period of one kind of meeting.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Cell {
    /// First and last month covered (1–12).
    pub from_month: u8,
    pub to_month: u8,
    #[schema(value_type = String)]
    pub state: CellState,
    pub accepted: i64,
    pub submitted: i64,
}

impl Cell {
    pub fn span_months(&self) -> u8 {
        self.to_month - self.from_month + 1
    }

    pub fn label(&self) -> &'static str {
        self.state.label()
    }

    pub fn css(&self) -> &'static str {
        match self.state {
            CellState::Met => "cell-met",
            CellState::AwaitingReview => "cell-review",
            CellState::Open => "cell-open",
            CellState::Missed => "cell-missed",
            CellState::NotDue => "cell-notdue",
            CellState::Future => "cell-future",
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GridRow {
    pub kind: String,
    pub label: String,
    /// How often, as the rule of the year says.
    pub rule: String,
    pub cells: Vec<Cell>,
    pub met: i64,
    pub judged: i64,
}

/// What a branch is, as far as which meetings apply.
#[derive(Clone, Debug)]
pub struct BranchShape {
    pub founded_on: Option<Date>,
    /// Its 党小组.
    pub groups: Vec<i64>,
    /// Whether it has a committee (three or more posts on record).
    pub has_committee: bool,
}

/// Counts of meetings of one kind (and group) in one month.
#[derive(Clone, Debug, Default)]
pub struct MonthCounts {
    pub accepted: i64,
    pub submitted: i64,
}

/// Meetings of a branch by (kind, group, month 1–12).
pub type Tally = HashMap<(MeetingKind, Option<i64>, u8), MonthCounts>;

/// A branch's year, kind by kind, from its shape and its meetings.
pub fn year_grid(
    rules_all: &[Rule],
    year: i32,
    shape: &BranchShape,
    tally: &Tally,
    today: Date,
) -> Vec<GridRow> {
    let mut out = Vec::new();
    for kind in MeetingKind::ALL {
        let Some(rule) = rules::rule_for(rules_all, kind, year) else {
            continue;
        };
        let applies = match kind {
            MeetingKind::GroupMeeting => !shape.groups.is_empty(),
            MeetingKind::CommitteeMeeting => shape.has_committee,
            _ => true,
        };
        let mut cells = Vec::new();
        let (mut met, mut judged) = (0, 0);
        for span in rules::spans(rule.period, year) {
            let count = |group: Option<i64>| {
                let mut c = MonthCounts::default();
                for m in u8::from(span.start.month())..=u8::from(span.end.month()) {
                    if let Some(t) = tally.get(&(kind, group, m)) {
                        c.accepted += t.accepted;
                        c.submitted += t.submitted;
                    }
                }
                c
            };
            // A group meeting is due in every group: the cell is as good as its worst group.
            let state = if kind == MeetingKind::GroupMeeting && applies {
                shape
                    .groups
                    .iter()
                    .map(|g| {
                        let c = count(Some(*g));
                        rules::cell_state(
                            &span,
                            shape.founded_on,
                            true,
                            today,
                            rule.times,
                            c.accepted,
                            c.submitted,
                        )
                    })
                    .max_by_key(|s| severity(*s))
                    .unwrap_or(CellState::NotDue)
            } else {
                let c = count(None);
                rules::cell_state(
                    &span,
                    shape.founded_on,
                    applies,
                    today,
                    rule.times,
                    c.accepted,
                    c.submitted,
                )
            };
            let totals = if kind == MeetingKind::GroupMeeting {
                shape
                    .groups
                    .iter()
                    .fold(MonthCounts::default(), |mut a, g| {
                        let c = count(Some(*g));
                        a.accepted += c.accepted;
                        a.submitted += c.submitted;
                        a
                    })
            } else {
                count(None)
            };
            match state.judged() {
                Some(true) => {
                    met += 1;
                    judged += 1;
                }
                Some(false) => judged += 1,
                None => {}
            }
            cells.push(Cell {
                from_month: u8::from(span.start.month()),
                to_month: u8::from(span.end.month()),
                state,
                accepted: totals.accepted,
                submitted: totals.submitted,
            });
        }
        out.push(GridRow {
            kind: kind.as_str().into(),
            label: kind.label().into(),
            rule: format!("{}{}次", rule.period.label(), rule.times),
            cells,
            met,
            judged,
        });
    }
    out
}

/// Worse states sort higher, so a group cell shows the worst group.
fn severity(s: CellState) -> u8 {
    match s {
        CellState::NotDue => 0,
        CellState::Future => 1,
        CellState::Met => 2,
        CellState::AwaitingReview => 3,
        CellState::Open => 4,
        CellState::Missed => 5,
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
struct MeetingRow {
    branch_id: i64,
    kind: String,
    group_id: Option<i64>,
    held_on: String,
    status: String,
    present_count: i64,
    eligible_count: i64,
}

impl crate::db::FromSqlite for MeetingRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(MeetingRow {
            branch_id: r.get(0)?,
            kind: r.get(1)?,
            group_id: r.get(2)?,
            held_on: r.get(3)?,
            status: r.get(4)?,
            present_count: r.get(5)?,
            eligible_count: r.get(6)?,
        })
    }
}

/// Attendance per branch and month (index 0 = January): (present, expected) over
/// accepted meetings.
pub type Sums = HashMap<i64, [(i64, i64); 12]>;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ShapeRow {
    pub org_id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    pub name: String,
    pub founded_on: Option<String>,
    pub officers: i64,
}

impl crate::db::FromSqlite for ShapeRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(ShapeRow {
            org_id: r.get(0)?,
            unit_id: r.get(1)?,
            unit_name: r.get(2)?,
            category_id: r.get(3)?,
            category_name: r.get(4)?,
            name: r.get(5)?,
            founded_on: r.get(6)?,
            officers: r.get(7)?,
        })
    }
}

/// Branches in scope (optionally one unit or one branch) with what decides which meetings apply,
/// and their meetings of `year` (submitted or accepted) by kind, group and month.
pub async fn shapes_and_tallies(
    state: &AppState,
    scope: &Scope,
    unit_id: Option<i64>,
    branch_id: Option<i64>,
    year: i32,
) -> AppResult<(Vec<(ShapeRow, BranchShape)>, HashMap<i64, Tally>, Sums)> {
    let mut sql = Sql::new(
        "select o.org_id, o.unit_id, u.name as unit_name, c.category_id, c.name as category_name, \
         o.name, o.founded_on, (select count(*) from org_officer f where f.org_id = o.org_id) as officers \
         from org o join unit u on u.unit_id = o.unit_id join category c on c.category_id = u.category_id \
         where o.kind = 'branch' and ",
    );
    scope.org_condition(&mut sql);
    if let Some(u) = unit_id {
        sql.push(" and o.unit_id = ").bind(u);
    }
    if let Some(b) = branch_id {
        sql.push(" and o.org_id = ").bind(b);
    }
    sql.push(" order by u.sort_order, u.unit_id, o.sort_order, o.org_id");
    let shapes: Vec<ShapeRow> = sql.fetch_page(&state.db).await?;
    let mut gsql = Sql::new("select o.parent_id, o.org_id from org o where o.kind = 'group' and ");
    scope.org_condition(&mut gsql);
    if let Some(u) = unit_id {
        gsql.push(" and o.unit_id = ").bind(u);
    }
    if let Some(b) = branch_id {
        gsql.push(" and o.parent_id = ").bind(b);
    }
    let groups: Vec<(Option<i64>, i64)> = gsql.fetch_all(&state.db.pool).await?;
    let mut groups_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for (parent, g) in groups {
        if let Some(p) = parent {
            groups_of.entry(p).or_default().push(g);
        }
    }
    // Plain rows from a covering index, counted here: cheaper than SQL's GROUP BY sort.
    let mut t = Sql::new(
        "select mt.branch_id, mt.kind, mt.group_id, mt.held_on, mt.status, mt.present_count, mt.eligible_count \
         from meeting mt where mt.held_on between ",
    );
    t.bind(format!("{year:04}-01-01"))
        .push(" and ")
        .bind(format!("{year:04}-12-31"))
        .push(if branch_id.is_some() {
            // One branch: written so no status index looks usable, leaving the planner
            // the branch's own index (meeting_branch) instead of the city's year.
            " and mt.status <> 'draft' and mt.status <> 'returned' and "
        } else {
            " and mt.status in ('submitted', 'accepted') and "
        });
    meeting_condition(scope, &mut t);
    if let Some(u) = unit_id {
        t.push(" and mt.unit_id = ").bind(u);
    }
    if let Some(b) = branch_id {
        t.push(" and mt.branch_id = ").bind(b);
    }
    let rows: Vec<MeetingRow> = t.fetch_page(&state.db).await?;
    let mut tallies: HashMap<i64, Tally> = HashMap::new();
    let mut sums = Sums::new();
    for r in rows {
        let month = r.held_on.get(5..7).and_then(|m| m.parse::<u8>().ok());
        let (Some(kind), Some(month)) = (MeetingKind::parse(&r.kind), month) else {
            continue;
        };
        let e = tallies
            .entry(r.branch_id)
            .or_default()
            .entry((kind, r.group_id, month))
            .or_default();
        if r.status == "accepted" {
            e.accepted += 1;
            if let Some(a) = sums
                .entry(r.branch_id)
                .or_insert([(0, 0); 12])
                .get_mut(usize::from(month.saturating_sub(1)))
            {
                a.0 += r.present_count;
                a.1 += r.eligible_count;
            }
        } else {
            e.submitted += 1;
        }
    }
    let out = shapes
        .into_iter()
        .map(|s| {
            let shape = BranchShape {
                founded_on: date_of(&s.founded_on),
                groups: groups_of.remove(&s.org_id).unwrap_or_default(),
                has_committee: s.officers >= 3,
            };
            (s, shape)
        })
        .collect();
    Ok((out, tallies, sums))
}

/// One branch's year grid and its attendance, (present, expected) over the year's
/// accepted meetings (the branch must be in scope).
pub async fn branch_grid(
    state: &AppState,
    user: &CurrentUser,
    branch_id: i64,
    year: i32,
) -> AppResult<(Vec<GridRow>, (i64, i64))> {
    user.require(may_read(user))?;
    branch_in_scope(state, user, branch_id).await?;
    let rules_all = load_rules(state).await?;
    let (shapes, tallies, sums) =
        shapes_and_tallies(state, &user.scope(), None, Some(branch_id), year).await?;
    let empty = Tally::new();
    let grid = shapes
        .first()
        .map(|(s, shape)| {
            year_grid(
                &rules_all,
                year,
                shape,
                tallies.get(&s.org_id).unwrap_or(&empty),
                crate::clock::today(),
            )
        })
        .unwrap_or_default();
    let attendance = sums.get(&branch_id).map_or((0, 0), |months| {
        months.iter().fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1))
    });
    Ok((grid, attendance))
}

/// Compliance of a group of branches: periods met over periods judged.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ComplianceLine {
    /// branch | unit | category | city
    pub level: String,
    pub id: i64,
    pub name: String,
    /// The unit (for a branch line) or category (for a unit line) above it.
    pub parent: String,
    pub branches: i64,
    pub met: i64,
    pub judged: i64,
    /// Percent, one decimal; absent when nothing was due yet.
    pub rate: Option<f64>,
    /// [met, judged] per kind, in the order of `MeetingKind::ALL`.
    #[schema(value_type = Vec<Vec<i64>>)]
    pub by_kind: Vec<(i64, i64)>,
    /// 参学率: present over expected, summed over the accepted meetings of the year.
    pub present: i64,
    pub expected: i64,
    pub attendance: Option<f64>,
}

impl ComplianceLine {
    pub fn rate_text(&self) -> String {
        self.rate.map_or("—".into(), |r| format!("{r:.1}%"))
    }

    pub fn attendance_text(&self) -> String {
        self.attendance.map_or("—".into(), |r| format!("{r:.1}%"))
    }

    pub fn kind_text(&self, i: &usize) -> String {
        match self.by_kind.get(*i) {
            Some((m, j)) if *j > 0 => format!("{m}/{j}"),
            _ => "—".into(),
        }
    }
}

/// One branch's year, summed: what the compliance tables aggregate.
#[derive(Clone, Debug)]
pub struct BranchYear {
    pub shape: ShapeRow,
    /// Each judged period: (kind index in `MeetingKind::ALL`, first month, last month, met).
    pub cells: Vec<(usize, u8, u8, bool)>,
    /// (present, expected) per month.
    pub attendance: [(i64, i64); 12],
}

/// Months `from..=to` of a year: the period a compliance table covers. A period of a
/// rule counts when it lies inside: a quarter's assembly in a quarter or the year, a
/// year's life meeting only in the whole year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Months {
    pub from: u8,
    pub to: u8,
}

impl Months {
    pub const YEAR: Months = Months { from: 1, to: 12 };

    /// `q1`…`q4`, `m1`…`m12`, `h1`/`h2`, or the whole year.
    pub fn parse(s: Option<&str>) -> Months {
        let s = s.unwrap_or("").trim();
        let n = |p: &str| s.strip_prefix(p).and_then(|x| x.parse::<u8>().ok());
        match (n("q"), n("m"), n("h")) {
            (Some(q @ 1..=4), _, _) => Months {
                from: q * 3 - 2,
                to: q * 3,
            },
            (_, Some(m @ 1..=12), _) => Months { from: m, to: m },
            (_, _, Some(h @ 1..=2)) => Months {
                from: h * 6 - 5,
                to: h * 6,
            },
            _ => Months::YEAR,
        }
    }

    pub fn code(&self) -> String {
        match (self.from, self.to) {
            (1, 12) => String::new(),
            (f, t) if f == t => format!("m{f}"),
            (f, t) if t == f + 2 && f % 3 == 1 => format!("q{}", t / 3),
            (f, t) if t == f + 5 && f % 6 == 1 => format!("h{}", t / 6),
            _ => String::new(),
        }
    }

    pub fn label(&self) -> String {
        match (self.from, self.to) {
            (1, 12) => "全年".into(),
            (f, t) if f == t => format!("{f}月"),
            (1, 6) => "上半年".into(),
            (7, 12) => "下半年".into(),
            (f, t) if t == f + 2 => format!("第{}季度", t / 3),
            (f, t) => format!("{f}–{t}月"),
        }
    }

    fn covers(&self, from: u8, to: u8) -> bool {
        self.from <= from && to <= self.to
    }
}

/// The choices of period a compliance page offers.
pub fn month_ranges() -> Vec<(String, String)> {
    let mut v = vec![(String::new(), "全年".to_string())];
    for h in 1..=2u8 {
        let m = Months {
            from: h * 6 - 5,
            to: h * 6,
        };
        v.push((m.code(), m.label()));
    }
    for q in 1..=4u8 {
        let m = Months {
            from: q * 3 - 2,
            to: q * 3,
        };
        v.push((m.code(), m.label()));
    }
    for mo in 1..=12u8 {
        let m = Months { from: mo, to: mo };
        v.push((m.code(), m.label()));
    }
    v
}

/// Every branch's year as of a data version and a day.
pub struct YearStats {
    version: i64,
    today: Date,
    pub branches: Vec<BranchYear>,
}

/// Computed years, valid while `data_version` ('orglife') and the day stay the same: any
/// write to meetings, rules, orgs or officers bumps the version (database triggers), so a
/// cached year is never stale, whichever instance made the write.
#[derive(Default)]
pub struct StatsCache {
    years: std::sync::Mutex<HashMap<i32, std::sync::Arc<YearStats>>>,
}

async fn data_version(state: &AppState) -> AppResult<i64> {
    let v: Vec<(i64,)> = Sql::new("select version from data_version where name = 'orglife'")
        .fetch_page(&state.db)
        .await?;
    Ok(v.first().map_or(0, |x| x.0))
}

async fn compute_year(
    state: &AppState,
    year: i32,
    today: Date,
    version: i64,
) -> AppResult<YearStats> {
    let rules_all = load_rules(state).await?;
    let everything = Scope::everything();
    let (shapes, tallies, sums) = shapes_and_tallies(state, &everything, None, None, year).await?;
    let empty = Tally::new();
    let branches = shapes
        .into_iter()
        .map(|(s, shape)| {
            let grid = year_grid(
                &rules_all,
                year,
                &shape,
                tallies.get(&s.org_id).unwrap_or(&empty),
                today,
            );
            let mut cells = Vec::new();
            for row in &grid {
                let Some(i) = MeetingKind::ALL.iter().position(|k| k.as_str() == row.kind) else {
                    continue;
                };
                for c in &row.cells {
                    if let Some(met) = c.state.judged() {
                        cells.push((i, c.from_month, c.to_month, met));
                    }
                }
            }
            BranchYear {
                attendance: sums.get(&s.org_id).copied().unwrap_or([(0, 0); 12]),
                shape: s,
                cells,
            }
        })
        .collect();
    Ok(YearStats {
        version,
        today,
        branches,
    })
}

/// Every branch's year, from the cache when nothing changed since it was computed.
pub async fn year_stats(state: &AppState, year: i32) -> AppResult<std::sync::Arc<YearStats>> {
    let today = crate::clock::today();
    let version = data_version(state).await?;
    let cached = state
        .ext::<StatsCache>()
        .years
        .lock()
        .ok()
        .and_then(|m| m.get(&year).cloned())
        .filter(|y| y.version == version && y.today == today);
    if let Some(y) = cached {
        return Ok(y);
    }
    let fresh = std::sync::Arc::new(compute_year(state, year, today, version).await?);
    if let Ok(mut m) = state.ext::<StatsCache>().years.lock() {
        m.insert(year, fresh.clone());
    }
    Ok(fresh)
}

/// The compliance table for `year` (periods up to today), grouped by `by`
/// (branch | unit | category), plus the line for everything in scope.
pub async fn compliance(
    state: &AppState,
    user: &CurrentUser,
    year: i32,
    by: &str,
    unit_id: Option<i64>,
    months: Months,
) -> AppResult<(Vec<ComplianceLine>, ComplianceLine)> {
    user.require(may_read(user))?;
    let stats = year_stats(state, year).await?;
    let scope = user.scope();
    let n_kinds = MeetingKind::ALL.len();
    let new_line = |level: &str, id: i64, name: String, parent: String| ComplianceLine {
        level: level.into(),
        id,
        name,
        parent,
        branches: 0,
        met: 0,
        judged: 0,
        rate: None,
        by_kind: vec![(0, 0); n_kinds],
        present: 0,
        expected: 0,
        attendance: None,
    };
    let mut lines: Vec<ComplianceLine> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut total = new_line(
        "city",
        0,
        if user.is_committee() && unit_id.is_none() {
            "全市".into()
        } else {
            "合计".into()
        },
        String::new(),
    );
    // The scope applied to the cached city: a branch is visible through its unit or itself.
    let visible = |b: &BranchYear| {
        (scope.all
            || scope.units.contains(&b.shape.unit_id)
            || scope.branches.contains(&b.shape.org_id))
            && unit_id.is_none_or(|u| u == b.shape.unit_id)
    };
    for b in stats.branches.iter().filter(|b| visible(b)) {
        let s = &b.shape;
        let (key, name, parent) = match by {
            "unit" => (s.unit_id, s.unit_name.clone(), s.category_name.clone()),
            "category" => (s.category_id, s.category_name.clone(), String::new()),
            _ => (s.org_id, s.name.clone(), s.unit_name.clone()),
        };
        let level = match by {
            "unit" | "category" => by,
            _ => "branch",
        };
        let i = *index.entry(key).or_insert_with(|| {
            lines.push(new_line(level, key, name, parent));
            lines.len() - 1
        });
        let (present, expected) = b.attendance
            [usize::from(months.from - 1)..usize::from(months.to)]
            .iter()
            .fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1));
        for line in [&mut lines[i], &mut total] {
            line.branches += 1;
            line.present += present;
            line.expected += expected;
            for (slot, from, to, met) in &b.cells {
                if !months.covers(*from, *to) {
                    continue;
                }
                let m = i64::from(*met);
                line.met += m;
                line.judged += 1;
                if let Some(k) = line.by_kind.get_mut(*slot) {
                    k.0 += m;
                    k.1 += 1;
                }
            }
        }
    }
    for l in lines.iter_mut().chain(std::iter::once(&mut total)) {
        l.rate = rules::rate(l.met, l.judged);
        l.attendance = rules::rate(l.present, l.expected);
    }
    Ok((lines, total))
}

// ---- a member's own meetings ----

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct MyMeeting {
    pub meeting_id: i64,
    pub kind: String,
    pub held_on: String,
    pub topic: String,
    pub branch_name: String,
    /// present | leave | absent
    pub state: String,
    pub reason: String,
}

impl MyMeeting {
    pub fn kind_label(&self) -> &'static str {
        MeetingKind::parse(&self.kind).map_or("未知", MeetingKind::label)
    }

    pub fn state_label(&self) -> &'static str {
        attendance_label(&self.state)
    }
}

/// The accepted meetings the member was on the register of, with their attendance,
/// and the attendance rate over them.
pub async fn my_meetings(
    state: &AppState,
    user: &CurrentUser,
    year: i32,
) -> AppResult<(Vec<MyMeeting>, Option<f64>)> {
    let members = user.member_ids();
    user.require(!members.is_empty())?;
    let mut sql = Sql::new(
        "select mt.meeting_id, mt.kind, mt.held_on, mt.topic, b.name as branch_name, a.state, a.reason \
         from meeting_attendance a join meeting mt on mt.meeting_id = a.meeting_id \
         join org b on b.org_id = mt.branch_id where mt.status = 'accepted' and a.member_id in ",
    );
    sql.bind_list(&members)
        .push(" and mt.held_on between ")
        .bind(format!("{year:04}-01-01"))
        .push(" and ")
        .bind(format!("{year:04}-12-31"))
        .push(" order by mt.held_on desc, mt.meeting_id desc");
    let rows: Vec<MyMeeting> = sql.fetch_all(&state.db.pool).await?;
    let present = rows.iter().filter(|r| r.state == "present").count() as i64;
    let rate = rules::rate(present, rows.len() as i64);
    Ok((rows, rate))
}

/// The year a query names, defaulting to this one.
pub fn year_or_now(y: Option<&str>) -> i32 {
    y.and_then(|v| v.trim().parse().ok())
        .filter(|v: &i32| (2000..=2100).contains(v))
        .unwrap_or_else(|| crate::clock::today().year())
}

/// Spans of a period, for templates that label columns.
pub fn month_labels() -> Vec<String> {
    (1..=12).map(|m| format!("{m}月")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn shape(groups: Vec<i64>, committee: bool) -> BranchShape {
        BranchShape {
            founded_on: Some(date!(2020 - 01 - 01)),
            groups,
            has_committee: committee,
        }
    }

    #[test]
    fn periods_within_a_year() {
        assert_eq!(Months::parse(Some("q2")), Months { from: 4, to: 6 });
        assert_eq!(Months::parse(Some("m12")), Months { from: 12, to: 12 });
        assert_eq!(Months::parse(Some("h2")), Months { from: 7, to: 12 });
        for bad in [None, Some(""), Some("q5"), Some("m0"), Some("x")] {
            assert_eq!(Months::parse(bad), Months::YEAR);
        }
        let q2 = Months::parse(Some("q2"));
        assert!(q2.covers(4, 6) && q2.covers(5, 5) && !q2.covers(1, 12) && !q2.covers(3, 3));
        assert_eq!(
            (q2.code(), q2.label()),
            ("q2".to_string(), "第2季度".to_string())
        );
        assert_eq!(Months::YEAR.code(), "");
        assert_eq!(month_ranges().len(), 1 + 2 + 4 + 12);
        for (code, _) in month_ranges() {
            assert_eq!(Months::parse(Some(&code)).code(), code, "round trip");
        }
    }

    #[test]
    fn a_full_year_of_theme_days_is_all_green_and_a_gap_is_red() {
        let rules_all = rules::default_rules();
        let mut tally = Tally::new();
        for m in 1..=12u8 {
            if m != 4 {
                tally.insert(
                    (MeetingKind::ThemeDay, None, m),
                    MonthCounts {
                        accepted: 1,
                        submitted: 0,
                    },
                );
            }
        }
        let grid = year_grid(
            &rules_all,
            2025,
            &shape(vec![], false),
            &tally,
            date!(2026 - 01 - 10),
        );
        let theme = grid.iter().find(|r| r.kind == "theme_day").expect("row");
        assert_eq!((theme.met, theme.judged), (11, 12));
        assert_eq!(theme.cells[3].state, CellState::Missed);
        // Without a committee or groups those rows are not due.
        let cm = grid
            .iter()
            .find(|r| r.kind == "committee_meeting")
            .expect("row");
        assert!(cm.cells.iter().all(|c| c.state == CellState::NotDue));
        let gm = grid
            .iter()
            .find(|r| r.kind == "group_meeting")
            .expect("row");
        assert_eq!(gm.judged, 0);
        // Quarterly assembly: 4 cells of 3 months.
        let ga = grid
            .iter()
            .find(|r| r.kind == "general_assembly")
            .expect("row");
        assert_eq!(ga.cells.len(), 4);
        assert_eq!(ga.cells[1].span_months(), 3);
    }

    #[test]
    fn a_group_cell_is_as_good_as_its_worst_group() {
        let rules_all = rules::default_rules();
        let mut tally = Tally::new();
        tally.insert(
            (MeetingKind::GroupMeeting, Some(7), 1),
            MonthCounts {
                accepted: 1,
                submitted: 0,
            },
        );
        let grid = year_grid(
            &rules_all,
            2026,
            &shape(vec![7, 8], true),
            &tally,
            date!(2026 - 03 - 01),
        );
        let gm = grid
            .iter()
            .find(|r| r.kind == "group_meeting")
            .expect("row");
        assert_eq!(gm.cells[0].state, CellState::Missed);
        assert_eq!(gm.cells[0].accepted, 1);
        tally.insert(
            (MeetingKind::GroupMeeting, Some(8), 1),
            MonthCounts {
                accepted: 0,
                submitted: 1,
            },
        );
        let grid = year_grid(
            &rules_all,
            2026,
            &shape(vec![7, 8], true),
            &tally,
            date!(2026 - 03 - 01),
        );
        let gm = grid
            .iter()
            .find(|r| r.kind == "group_meeting")
            .expect("row");
        assert_eq!(gm.cells[0].state, CellState::AwaitingReview);
        assert_eq!(gm.cells[1].state, CellState::Missed);
        assert_eq!(gm.cells[2].state, CellState::Open);
    }
}
