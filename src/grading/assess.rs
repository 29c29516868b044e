//! Assessment cycles and the branch assessments' workflow: the committee opens a year (every
//! branch gets an assessment under the standard in force); the branch scores its manual
//! criteria with evidence and submits (the automatic ones are frozen then); the unit
//! adjusts with reasons and forwards, or returns; the committee accepts (the tier is set)
//! or returns, one by one or a category at once; vetoes, rectification plans and
//! applications to move up move the tier during the year. Every write runs in one
//! transaction with its audit entry and its timeline event, and carries the row version it
//! was made from: a write made from a stale page is refused, not lost.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::board::{self, Board, Entry, Live};
use super::rules::{Content, Score, Tier, VetoKind};
use super::scoring::{self, ApplicationStatus, Entered, Line, Roadmap, Stage};
use super::store::{self as standards, Standard};
use crate::audit::Entry as AuditEntry;
use crate::auth::{CurrentUser, Role};
use crate::clock::now;
use crate::db::{Sql, WriteTx};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;

/// Refused writes made from a stale page.
pub const STALE: &str = "该考核已被他人修改，请刷新页面后再操作";
pub const MAX_NOTE: usize = 500;
pub const MAX_EVIDENCE: usize = 2000;
pub const MAX_COMMENT: usize = 500;

fn err(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{e}"))
}

// ---- cycles ----

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Cycle {
    pub cycle_id: i64,
    pub year: i64,
    pub standard_id: i64,
    pub standard_title: String,
    pub status: String,
    /// The self-check's deadline (YYYY-MM-DD).
    pub due_on: Option<String>,
    pub opened_at: i64,
    pub assessments: i64,
}

const CYCLE_COLUMNS: &str = "select c.grading_cycle_id as cycle_id, c.year, \
     c.grading_standard_id as standard_id, s.title as standard_title, c.status, c.due_on, \
     c.opened_at, (select count(*) from assessment a where a.grading_cycle_id = c.grading_cycle_id) as assessments \
     from grading_cycle c join grading_standard s on s.grading_standard_id = c.grading_standard_id";

/// Every cycle, newest year first.
pub async fn cycles(state: &AppState, user: &CurrentUser) -> AppResult<Vec<Cycle>> {
    user.require(super::may_read(user))?;
    Ok(all_cycles(state).await?.to_vec())
}

/// Every cycle, newest first, remembered against the 'grading' version (a cycle opened or
/// an assessment added moves it): every page of the tier list names its year.
async fn all_cycles(state: &AppState) -> AppResult<Arc<Vec<Cycle>>> {
    let sql = Sql::new(&format!("{CYCLE_COLUMNS} order by c.year desc"));
    Ok(state
        .ext::<crate::db::QueryCache>()
        .rows(&state.db, "grading", &sql)
        .await?)
}

/// The cycle of `year`, or the newest one.
pub async fn cycle(state: &AppState, year: Option<i64>) -> AppResult<Option<Cycle>> {
    let all = all_cycles(state).await?;
    Ok(match year {
        Some(y) => all.iter().find(|c| c.year == y).cloned(),
        None => all.first().cloned(),
    })
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct OpenInput {
    pub year: i64,
    /// The self-check's deadline, YYYY-MM-DD; optional.
    pub due_on: Option<String>,
}

fn parse_date(field: &str, label: &str, s: &str, errors: &mut FieldErrors) -> Option<String> {
    match crate::text::parse_date(s.trim()).ok() {
        Some(d) => Some(crate::text::format_date(d)),
        None => {
            errors.insert(
                field.into(),
                format!("{label}应为日期，如 2026-12-31，收到“{}”", s.trim()),
            );
            None
        }
    }
}

/// Opens the assessment cycle of a year (the committee): every branch gets an assessment
/// scored under the year's standard in force. Opening an open year again adds the
/// branches set up since. Returns the cycle's id and how many assessments were added.
pub async fn open(
    state: &AppState,
    user: &CurrentUser,
    input: &OpenInput,
) -> AppResult<(i64, u64)> {
    user.require(user.is_committee())?;
    let mut errors = FieldErrors::new();
    if !(2000..=2100).contains(&input.year) {
        errors.insert("year".into(), "年度应为2000至2100之间的年份".into());
    }
    let due_on = input
        .due_on
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .and_then(|d| parse_date("due_on", "自查截止日期", d, &mut errors));
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let existing = cycle(state, Some(input.year)).await?;
    let standard_id = match &existing {
        Some(c) => c.standard_id,
        None => standards::in_force(state, input.year)
            .await?
            .map(|s| s.info.standard_id)
            .ok_or_else(|| {
                AppError::field(
                    "year",
                    format!(
                        "{}年度还没有已发布的评分标准，请先在“评分标准”中发布后再开启考核",
                        input.year
                    ),
                )
            })?,
    };
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let cycle_id = match &existing {
        Some(c) => {
            if due_on.is_some() {
                sqlx::query("update grading_cycle set due_on = $1 where grading_cycle_id = $2")
                    .bind(&due_on)
                    .bind(c.cycle_id)
                    .execute(tx.conn())
                    .await
                    .map_err(err)?;
            }
            c.cycle_id
        }
        None => sqlx::query_scalar::<_, i64>(
            "insert into grading_cycle (year, grading_standard_id, status, due_on, opened_by, opened_at) \
             values ($1, $2, 'open', $3, $4, $5) returning grading_cycle_id",
        )
        .bind(input.year)
        .bind(standard_id)
        .bind(&due_on)
        .bind(user.user_id)
        .bind(t)
        .fetch_one(tx.conn())
        .await
        .map_err(err)?,
    };
    let added = sqlx::query(
        "insert into assessment (grading_cycle_id, branch_id, unit_id) \
         select $1, o.org_id, o.unit_id from org o where o.kind = 'branch' \
         and not exists (select 1 from assessment a where a.grading_cycle_id = $1 and a.branch_id = o.org_id)",
    )
    .bind(cycle_id)
    .execute(tx.conn())
    .await
    .map_err(err)?
    .rows_affected();
    sqlx::query(
        "insert into assessment_event (assessment_id, at, user_id, action, comment) \
         select a.assessment_id, $1, $2, 'open', '' from assessment a \
         where a.grading_cycle_id = $3 and not exists \
         (select 1 from assessment_event e where e.assessment_id = a.assessment_id)",
    )
    .bind(t)
    .bind(user.user_id)
    .bind(cycle_id)
    .execute(tx.conn())
    .await
    .map_err(err)?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.open",
            "grading_cycle",
            cycle_id,
            format!(
                "开启{}年度党支部分级定档考核，新增{added}个支部的考核",
                input.year
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok((cycle_id, added))
}

// ---- the board, under the caller's scope ----

/// May see this assessment: the committee, the unit's admins, the branch's admins.
pub fn sees(user: &CurrentUser, unit_id: i64, branch_id: i64) -> bool {
    user.is_committee()
        || user.unit_ids().contains(&unit_id)
        || user.branch_ids().contains(&branch_id)
}

/// The board of `year`'s cycle (the newest without a year); `None` before any cycle.
pub async fn board_of(
    state: &AppState,
    user: &CurrentUser,
    year: Option<i64>,
) -> AppResult<Option<(Cycle, Arc<Board>)>> {
    user.require(super::may_read(user))?;
    let Some(c) = cycle(state, year).await? else {
        return Ok(None);
    };
    let b = board::board(state, c.cycle_id, c.year, c.standard_id).await?;
    Ok(Some((c, b)))
}

/// The entries of a board the caller sees.
pub fn visible<'a>(user: &CurrentUser, b: &'a Board) -> Vec<&'a Entry> {
    if user.is_committee() {
        return b.entries.iter().collect();
    }
    let units = user.unit_ids();
    let branches = user.branch_ids();
    b.entries
        .iter()
        .filter(|e| units.contains(&e.unit_id) || branches.contains(&e.branch_id))
        .collect()
}

// ---- one assessment ----

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Head {
    pub assessment_id: i64,
    pub cycle_id: i64,
    pub year: i64,
    pub standard_id: i64,
    pub branch_id: i64,
    pub branch_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    #[sqlx(try_from = "String")]
    pub stage: Stage,
    /// The comment of the last return, shown while the branch revises.
    pub returned_comment: String,
    #[sqlx(skip)]
    pub extra: Score,
    #[serde(skip)]
    pub extra_tenths: i64,
    pub extra_note: String,
    #[serde(skip)]
    pub tier_text: Option<String>,
    /// The tier for the year, once accepted.
    #[sqlx(skip)]
    pub tier: Option<Tier>,
    pub tier_reason: String,
    pub submitted_at: Option<i64>,
    pub accepted_at: Option<i64>,
    /// Send it back with the next write.
    pub row_version: i64,
}

const HEAD_COLUMNS: &str = "select a.assessment_id, a.grading_cycle_id as cycle_id, c.year, \
     c.grading_standard_id as standard_id, a.branch_id, b.name as branch_name, a.unit_id, \
     u.name as unit_name, u.category_id, k.name as category_name, a.stage, a.returned_comment, \
     a.extra as extra_tenths, a.extra_note, a.tier as tier_text, a.tier_reason, a.submitted_at, \
     a.accepted_at, a.row_version \
     from assessment a join grading_cycle c on c.grading_cycle_id = a.grading_cycle_id \
     join org b on b.org_id = a.branch_id join unit u on u.unit_id = a.unit_id \
     join category k on k.category_id = u.category_id";

async fn head(state: &AppState, id: i64) -> AppResult<Head> {
    let mut sql = Sql::new(&format!("{HEAD_COLUMNS} where a.assessment_id = "));
    sql.bind(id);
    let mut rows: Vec<Head> = sql.fetch_all(&state.db.pool).await?;
    let mut h = rows.pop().ok_or(AppError::NotFound)?;
    h.extra = Score(h.extra_tenths);
    h.tier = h.tier_text.as_deref().and_then(Tier::parse);
    Ok(h)
}

/// What the database holds of one assessment (everything but the live figures).
pub struct Stored {
    pub head: Head,
    pub entered: HashMap<i64, Entered>,
    pub vetoes: Vec<VetoMark>,
    pub events: Vec<Event>,
    pub rectification: Vec<Rectification>,
    pub applications: Vec<Application>,
}

/// Assessments as stored, remembered against the 'grading' version (every write to an
/// assessment, its scores, vetoes, timeline, rectification or applications moves it), so a
/// page or a roadmap read again costs no query. Forgotten whole at `STORED_CAP`.
#[derive(Default)]
struct StoredCache(std::sync::Mutex<HashMap<i64, (i64, Arc<Stored>)>>);

const STORED_CAP: usize = 4096;

async fn stored(state: &AppState, id: i64) -> AppResult<Arc<Stored>> {
    let version = crate::db::data_version(&state.db, "grading").await?;
    let cache = state.ext::<StoredCache>();
    if let Some(s) = cache.0.lock().ok().and_then(|m| {
        m.get(&id)
            .filter(|(v, _)| *v == version)
            .map(|x| x.1.clone())
    }) {
        return Ok(s);
    }
    let h = head(state, id).await?;
    let standard = standards::published(state, h.standard_id).await?;
    let entered = entered(state, id).await?;
    let mut vetoes: Vec<VetoMark> = sqlx::query_as(
        "select v.code, v.note, u.display_name as marked_by_name, v.marked_at \
         from assessment_veto v left join app_user u on u.user_id = v.marked_by \
         where v.assessment_id = $1 order by v.marked_at",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await
    .map_err(err)?;
    for v in &mut vetoes {
        if let Some(s) = standard.content.vetoes.iter().find(|x| x.code == v.code) {
            v.body = s.body.clone();
            v.hard = s.kind == VetoKind::Hard;
        }
    }
    let mut events: Vec<Event> = sqlx::query_as(
        "select e.at, u.display_name as user_name, e.action, e.from_tier, e.to_tier, \
         e.score as score_tenths, e.comment from assessment_event e \
         left join app_user u on u.user_id = e.user_id \
         where e.assessment_id = $1 order by e.assessment_event_id",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await
    .map_err(err)?;
    for ev in &mut events {
        ev.action_label = event_label(&ev.action);
        ev.score = ev.score_tenths.map(Score);
    }
    let rectification: Vec<Rectification> = sqlx::query_as(
        "select rectification_item_id as item_id, body, owner, due_on, done_on, done_note \
         from rectification_item where assessment_id = $1 order by due_on, rectification_item_id",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await
    .map_err(err)?;
    let applications: Vec<Application> = sqlx::query_as(
        "select p.upgrade_application_id as application_id, p.from_tier, p.to_tier, p.statement, \
         p.evidence, p.status, au.display_name as applied_by_name, p.applied_at, \
         du.display_name as decided_by_name, p.decided_at, p.decision_note \
         from upgrade_application p left join app_user au on au.user_id = p.applied_by \
         left join app_user du on du.user_id = p.decided_by \
         where p.assessment_id = $1 order by p.upgrade_application_id desc",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await
    .map_err(err)?;
    let s = Arc::new(Stored {
        head: h,
        entered,
        vetoes,
        events,
        rectification,
        applications,
    });
    if let Ok(mut m) = cache.0.lock() {
        if m.len() >= STORED_CAP {
            m.clear();
        }
        m.insert(id, (version, s.clone()));
    }
    Ok(s)
}

#[derive(sqlx::FromRow)]
struct ScoreRow {
    number: i64,
    self_score: Option<i64>,
    self_note: String,
    evidence: String,
    unit_score: Option<i64>,
    unit_reason: String,
    auto_score: Option<i64>,
    auto_text: String,
}

async fn entered(state: &AppState, id: i64) -> AppResult<HashMap<i64, Entered>> {
    let rows: Vec<ScoreRow> = sqlx::query_as(
        "select number, self_score, self_note, evidence, unit_score, unit_reason, auto_score, auto_text \
         from assessment_score where assessment_id = $1",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await
    .map_err(err)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.number,
                Entered {
                    self_score: r.self_score.map(Score),
                    self_note: r.self_note,
                    evidence: r.evidence,
                    unit_score: r.unit_score.map(Score),
                    unit_reason: r.unit_reason,
                    auto_score: r.auto_score.map(Score),
                    auto_text: r.auto_text,
                },
            )
        })
        .collect())
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct VetoMark {
    pub code: String,
    pub note: String,
    pub marked_by_name: Option<String>,
    pub marked_at: i64,
    #[sqlx(skip)]
    pub body: String,
    #[sqlx(skip)]
    pub hard: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Event {
    pub at: i64,
    pub user_name: Option<String>,
    pub action: String,
    #[sqlx(skip)]
    pub action_label: &'static str,
    pub from_tier: Option<String>,
    pub to_tier: Option<String>,
    #[serde(skip)]
    pub score_tenths: Option<i64>,
    #[sqlx(skip)]
    pub score: Option<Score>,
    pub comment: String,
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Rectification {
    pub item_id: i64,
    pub body: String,
    pub owner: String,
    pub due_on: String,
    pub done_on: Option<String>,
    pub done_note: String,
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Application {
    pub application_id: i64,
    pub from_tier: String,
    pub to_tier: String,
    pub statement: String,
    pub evidence: String,
    #[sqlx(try_from = "String")]
    pub status: ApplicationStatus,
    pub applied_by_name: Option<String>,
    pub applied_at: i64,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: String,
}

/// What the caller may do to an assessment now.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct Allowed {
    /// Score and submit the self-check (the branch, in 对标自查).
    pub self_check: bool,
    /// Adjust, forward or return (the unit, in 单位审核).
    pub unit_review: bool,
    /// Accept or return (the committee, in 考核验收).
    pub accept: bool,
    /// Mark vetoes (the unit and the committee).
    pub veto: bool,
    /// Add and close rectification items (the branch and the unit, 三档/四档 once accepted).
    pub rectify: bool,
    /// Apply to move up (the branch, once accepted, below 一档, no application pending).
    pub apply: bool,
    /// Decide applications (the committee).
    pub decide: bool,
}

/// An assessment with everything its page shows.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Detail {
    #[serde(flatten)]
    pub head: Head,
    pub score: Score,
    /// The accepted tier, or the one the score gives now.
    pub tier: Tier,
    pub tier_reason: String,
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<Line>,
    #[schema(value_type = Object)]
    pub roadmap: Roadmap,
    pub vetoes: Vec<VetoMark>,
    pub events: Vec<Event>,
    pub rectification: Vec<Rectification>,
    pub applications: Vec<Application>,
    pub allowed: Allowed,
    #[serde(skip)]
    pub standard: Arc<Standard>,
}

fn event_label(action: &str) -> &'static str {
    match action {
        "open" => "开启考核",
        "save" => "保存自查",
        "submit" => "支部提交自查",
        "adjust" => "单位调整得分",
        "forward" => "单位审核通过，报送工委",
        "unit_return" => "单位退回支部",
        "return" => "工委退回支部",
        "accept" => "考核验收，定档",
        "veto" => "标记否决项",
        "veto_clear" => "撤销否决项",
        "rectify" => "制定整改事项",
        "rectified" => "完成整改事项",
        "apply" => "申请晋档",
        "upgrade" => "晋档申请通过",
        "refuse" => "晋档申请未通过",
        _ => "其他",
    }
}

/// The tier's label for a stored key, `—` for none.
pub fn tier_label(t: Option<&str>) -> &'static str {
    t.and_then(Tier::parse).map_or("—", |t| t.label())
}

/// The page's href of an assessment.
pub fn href(id: i64) -> String {
    format!("/grading/assessments/{id}")
}

/// One assessment, scored, with its roadmap, vetoes, timeline, rectification plan and
/// applications.
pub async fn detail(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Detail> {
    user.require(super::may_read(user))?;
    let st = stored(state, id).await?;
    if !sees(user, st.head.unit_id, st.head.branch_id) {
        return Err(AppError::NotFound);
    }
    let h = st.head.clone();
    let standard = standards::published(state, h.standard_id).await?;
    let live = board::live(state, &standard).await?;
    let lines = board::lines_of(&standard.content, &live, h.branch_id, h.stage, &st.entered);
    let vetoes = st.vetoes.clone();
    let codes: Vec<String> = vetoes.iter().map(|v| v.code.clone()).collect();
    let roadmap = scoring::roadmap(
        &standard.content,
        &lines,
        h.extra,
        &codes,
        &href(id),
        h.tier,
    );
    let score = roadmap.score;
    let (tier, tier_reason) = match h.tier {
        Some(t) => (t, h.tier_reason.clone()),
        None => (roadmap.tier, roadmap.reason.clone()),
    };
    let events = st.events.clone();
    let rectification = st.rectification.clone();
    let applications = st.applications.clone();
    let is_branch = user.has(Role::Branch) && user.branch_ids().contains(&h.branch_id);
    let is_unit = user.has(Role::Unit) && user.unit_ids().contains(&h.unit_id);
    let accepted = h.stage == Stage::Accepted;
    let low = matches!(h.tier, Some(Tier::Third | Tier::Fourth));
    let pending = applications
        .iter()
        .any(|a| a.status == ApplicationStatus::Pending);
    let allowed = Allowed {
        self_check: is_branch && h.stage == Stage::SelfCheck,
        unit_review: is_unit && h.stage == Stage::UnitReview,
        accept: user.is_committee() && h.stage == Stage::CommitteeReview,
        veto: is_unit || user.is_committee(),
        rectify: (is_branch || is_unit) && accepted && low,
        apply: is_branch && accepted && h.tier.is_some_and(|t| t != Tier::First) && !pending,
        decide: user.is_committee() && pending,
    };
    Ok(Detail {
        score,
        tier,
        tier_reason,
        lines,
        roadmap,
        vetoes,
        events,
        rectification,
        applications,
        allowed,
        standard,
        head: h,
    })
}

/// The assessment of `branch_id` in the newest cycle, for the branch's home and links.
pub async fn of_branch(state: &AppState, branch_id: i64) -> AppResult<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "select a.assessment_id from assessment a join grading_cycle c \
         on c.grading_cycle_id = a.grading_cycle_id where a.branch_id = $1 \
         order by c.year desc limit 1",
    )
    .bind(branch_id)
    .fetch_optional(&state.db.pool)
    .await
    .map_err(err)?;
    Ok(id)
}

// ---- writes ----

async fn event(
    tx: &mut WriteTx,
    id: i64,
    user: &CurrentUser,
    action: &str,
    tiers: (Option<Tier>, Option<Tier>),
    score: Option<Score>,
    comment: &str,
) -> AppResult<()> {
    sqlx::query(
        "insert into assessment_event (assessment_id, at, user_id, action, from_tier, to_tier, score, comment) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(now())
    .bind(user.user_id)
    .bind(action)
    .bind(tiers.0.map(|t| t.as_str()))
    .bind(tiers.1.map(|t| t.as_str()))
    .bind(score.map(|s| s.0))
    .bind(comment)
    .execute(tx.conn())
    .await
    .map_err(err)?;
    Ok(())
}

/// Moves the row version (and, with `to`, the stage) from what the caller saw; refuses a
/// stale version or a stage that moved on, with a message saying which.
async fn claim(
    tx: &mut WriteTx,
    h: &Head,
    row_version: i64,
    from: Stage,
    to: Option<Stage>,
) -> AppResult<()> {
    if h.stage != from {
        return Err(AppError::Conflict(format!(
            "该考核当前处于“{}”阶段，不能执行此操作，请刷新页面",
            h.stage.label()
        )));
    }
    let n = sqlx::query(
        "update assessment set stage = $1, row_version = row_version + 1 \
         where assessment_id = $2 and row_version = $3 and stage = $4",
    )
    .bind(to.unwrap_or(from).as_str())
    .bind(h.assessment_id)
    .bind(row_version)
    .bind(from.as_str())
    .execute(tx.conn())
    .await
    .map_err(err)?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(STALE.into()));
    }
    Ok(())
}

fn too_long(s: &str, max: usize) -> bool {
    s.chars().count() > max
}

/// A score as typed (`2.5`) within `0..=max`, for `field`.
fn points(
    field: &str,
    what: &str,
    text: Option<&str>,
    max: Score,
    errors: &mut FieldErrors,
) -> Option<Score> {
    let t = text.map(str::trim).filter(|t| !t.is_empty())?;
    match Score::parse(t) {
        Some(s) if s >= Score::ZERO && s <= max => Some(s),
        Some(_) => {
            errors.insert(field.into(), format!("{what}应在0至{max}分之间，收到{t}"));
            None
        }
        None => {
            errors.insert(
                field.into(),
                format!("{what}应为数字，最多一位小数，收到“{t}”"),
            );
            None
        }
    }
}

/// A JSON number as the text `points` parses.
pub fn number_text(p: Option<f64>) -> Option<String> {
    p.map(|v| format!("{v}"))
}

/// One manual criterion's self-check, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SelfItem {
    pub number: i64,
    pub score: Option<String>,
    pub note: Option<String>,
    pub evidence: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SelfEdit {
    pub row_version: i64,
    pub items: Vec<SelfItem>,
    pub extra: Option<String>,
    pub extra_note: Option<String>,
}

fn criterion_field(n: i64, part: &str) -> String {
    format!("criteria.{n}.{part}")
}

/// Saves the branch's self-check (scores, notes and evidence of manual criteria, extra
/// credit). Returns the new row version.
pub async fn save_self(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &SelfEdit,
) -> AppResult<i64> {
    let d = detail(state, user, id).await?;
    user.require(is_branch(user, &d))?;
    let content = &d.standard.content;
    let mut errors = FieldErrors::new();
    let mut rows: Vec<(i64, Option<Score>, String, String)> = Vec::new();
    for it in &input.items {
        let Some(line) = d.lines.iter().find(|l| l.number == it.number) else {
            errors.insert(
                criterion_field(it.number, "score"),
                format!("评分标准中没有第{}条", it.number),
            );
            continue;
        };
        if !line.is_manual() {
            if it.score.as_deref().is_some_and(|s| !s.trim().is_empty()) {
                errors.insert(
                    criterion_field(it.number, "score"),
                    format!("第{}条为自动计算，不能手工打分", it.number),
                );
            }
            continue;
        }
        let s = points(
            &criterion_field(it.number, "score"),
            &format!("第{}条的自评得分", it.number),
            it.score.as_deref(),
            line.max,
            &mut errors,
        );
        let note = it.note.as_deref().unwrap_or("").trim().to_string();
        if too_long(&note, MAX_NOTE) {
            errors.insert(
                criterion_field(it.number, "note"),
                format!("第{}条的自评说明不能超过{MAX_NOTE}字", it.number),
            );
        }
        let evidence = it.evidence.as_deref().unwrap_or("").trim().to_string();
        if too_long(&evidence, MAX_EVIDENCE) {
            errors.insert(
                criterion_field(it.number, "evidence"),
                format!("第{}条的佐证材料不能超过{MAX_EVIDENCE}字", it.number),
            );
        }
        rows.push((it.number, s, note, evidence));
    }
    let extra = points(
        "extra",
        "加分",
        input.extra.as_deref(),
        content.extra_cap,
        &mut errors,
    )
    .unwrap_or(Score::ZERO);
    let extra_note = input.extra_note.as_deref().unwrap_or("").trim().to_string();
    if too_long(&extra_note, MAX_NOTE) {
        errors.insert("extra_note".into(), format!("加分说明不能超过{MAX_NOTE}字"));
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let mut tx = state.db.begin_write().await?;
    claim(&mut tx, &d.head, input.row_version, Stage::SelfCheck, None).await?;
    sqlx::query("update assessment set extra = $1, extra_note = $2 where assessment_id = $3")
        .bind(extra.0)
        .bind(&extra_note)
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(err)?;
    for (n, s, note, evidence) in &rows {
        sqlx::query(
            "insert into assessment_score (assessment_id, number, self_score, self_note, evidence) \
             values ($1, $2, $3, $4, $5) on conflict (assessment_id, number) do update set \
             self_score = excluded.self_score, self_note = excluded.self_note, evidence = excluded.evidence",
        )
        .bind(id)
        .bind(n)
        .bind(s.map(|s| s.0))
        .bind(note)
        .bind(evidence)
        .execute(tx.conn())
        .await
        .map_err(err)?;
    }
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.save",
            "assessment",
            id,
            format!(
                "保存{}·{}的{}年度对标自查",
                d.head.unit_name, d.head.branch_name, d.head.year
            ),
        )
        .after(&rows),
    )
    .await?;
    tx.commit().await?;
    Ok(input.row_version + 1)
}

fn is_branch(user: &CurrentUser, d: &Detail) -> bool {
    user.has(Role::Branch) && user.branch_ids().contains(&d.head.branch_id)
}

fn is_unit(user: &CurrentUser, d: &Detail) -> bool {
    user.has(Role::Unit) && user.unit_ids().contains(&d.head.unit_id)
}

/// What a self-check lacks before it can be submitted: manual criteria without a score,
/// required evidence missing.
pub fn missing(lines: &[Line]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for l in lines.iter().filter(|l| l.is_manual()) {
        match l.self_score {
            None => {
                errors.insert(
                    criterion_field(l.number, "score"),
                    format!("第{}条尚未自评打分", l.number),
                );
            }
            Some(s) if s > Score::ZERO && l.evidence_required && l.evidence.trim().is_empty() => {
                errors.insert(
                    criterion_field(l.number, "evidence"),
                    format!("第{}条须附佐证材料（文件说明或系统内记录的链接）", l.number),
                );
            }
            _ => {}
        }
    }
    errors
}

/// The branch submits its self-check to the unit; the automatic criteria are frozen as
/// they stand.
pub async fn submit(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    row_version: i64,
) -> AppResult<()> {
    let d = detail(state, user, id).await?;
    user.require(is_branch(user, &d))?;
    if d.head.stage == Stage::SelfCheck {
        let mut m = missing(&d.lines);
        if d.head.extra > Score::ZERO && d.head.extra_note.trim().is_empty() {
            m.insert("extra_note".into(), "有加分的，须写明加分依据".into());
        }
        if !m.is_empty() {
            return Err(AppError::Invalid {
                message: format!(
                    "自查尚未完成：{}",
                    m.values().take(3).cloned().collect::<Vec<_>>().join("；")
                ),
                fields: m,
            });
        }
    }
    let mut tx = state.db.begin_write().await?;
    claim(
        &mut tx,
        &d.head,
        row_version,
        Stage::SelfCheck,
        Some(Stage::UnitReview),
    )
    .await?;
    for l in d.lines.iter().filter(|l| !l.is_manual()) {
        sqlx::query(
            "insert into assessment_score (assessment_id, number, auto_score, auto_text) \
             values ($1, $2, $3, $4) on conflict (assessment_id, number) do update set \
             auto_score = excluded.auto_score, auto_text = excluded.auto_text",
        )
        .bind(id)
        .bind(l.number)
        .bind(l.held.0)
        .bind(&l.how)
        .execute(tx.conn())
        .await
        .map_err(err)?;
    }
    sqlx::query(
        "update assessment set submitted_at = $1, returned_comment = '' where assessment_id = $2",
    )
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(err)?;
    event(&mut tx, id, user, "submit", (None, None), Some(d.score), "").await?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.submit",
            "assessment",
            id,
            format!(
                "{}·{}提交{}年度对标自查（{}分）",
                d.head.unit_name, d.head.branch_name, d.head.year, d.score
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One manual criterion's adjustment by the unit: a score, with the reason.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct UnitItem {
    pub number: i64,
    pub score: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReviewEdit {
    pub row_version: i64,
    pub items: Vec<UnitItem>,
}

/// The unit adjusts manual scores, each with its reason (an adjustment back to the self
/// score, or an empty score, removes it). Returns the new row version.
pub async fn save_review(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &ReviewEdit,
) -> AppResult<i64> {
    let d = detail(state, user, id).await?;
    user.require(is_unit(user, &d))?;
    let mut errors = FieldErrors::new();
    let mut rows: Vec<(i64, Option<Score>, String, String)> = Vec::new();
    for it in &input.items {
        let Some(line) = d.lines.iter().find(|l| l.number == it.number) else {
            errors.insert(
                criterion_field(it.number, "unit_score"),
                format!("评分标准中没有第{}条", it.number),
            );
            continue;
        };
        let wants = it.score.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !line.is_manual() {
            if wants {
                errors.insert(
                    criterion_field(it.number, "unit_score"),
                    format!("第{}条为自动计算，不能调整", it.number),
                );
            }
            continue;
        }
        let s = points(
            &criterion_field(it.number, "unit_score"),
            &format!("第{}条的审核得分", it.number),
            it.score.as_deref(),
            line.max,
            &mut errors,
        )
        .filter(|s| Some(*s) != line.self_score);
        let reason = it.reason.as_deref().unwrap_or("").trim().to_string();
        if s.is_some() && reason.is_empty() {
            errors.insert(
                criterion_field(it.number, "unit_reason"),
                format!("调整第{}条的得分须写明理由", it.number),
            );
        } else if too_long(&reason, MAX_NOTE) {
            errors.insert(
                criterion_field(it.number, "unit_reason"),
                format!("第{}条的调整理由不能超过{MAX_NOTE}字", it.number),
            );
        }
        if s != line.unit_score || (s.is_some() && reason != line.unit_reason) {
            let text = match s {
                Some(v) => format!(
                    "第{}条 {}→{v}分：{reason}",
                    it.number,
                    line.self_score.map_or("—".into(), |x| x.to_string())
                ),
                None => format!("第{}条 撤销调整", it.number),
            };
            rows.push((
                it.number,
                s,
                if s.is_some() { reason } else { String::new() },
                text,
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let mut tx = state.db.begin_write().await?;
    claim(&mut tx, &d.head, input.row_version, Stage::UnitReview, None).await?;
    for (n, s, reason, _) in &rows {
        sqlx::query(
            "insert into assessment_score (assessment_id, number, unit_score, unit_reason) \
             values ($1, $2, $3, $4) on conflict (assessment_id, number) do update set \
             unit_score = excluded.unit_score, unit_reason = excluded.unit_reason",
        )
        .bind(id)
        .bind(n)
        .bind(s.map(|s| s.0))
        .bind(reason)
        .execute(tx.conn())
        .await
        .map_err(err)?;
    }
    if !rows.is_empty() {
        let text: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
        event(
            &mut tx,
            id,
            user,
            "adjust",
            (None, None),
            None,
            &text.join("；"),
        )
        .await?;
    }
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.adjust",
            "assessment",
            id,
            format!(
                "单位审核调整{}·{}的得分（{}条）",
                d.head.unit_name,
                d.head.branch_name,
                rows.len()
            ),
        )
        .after(&rows.iter().map(|r| &r.3).collect::<Vec<_>>()),
    )
    .await?;
    tx.commit().await?;
    Ok(input.row_version + 1)
}

/// The unit forwards its reviewed assessment to the committee.
pub async fn forward(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    row_version: i64,
) -> AppResult<()> {
    let d = detail(state, user, id).await?;
    user.require(is_unit(user, &d))?;
    let mut tx = state.db.begin_write().await?;
    claim(
        &mut tx,
        &d.head,
        row_version,
        Stage::UnitReview,
        Some(Stage::CommitteeReview),
    )
    .await?;
    event(
        &mut tx,
        id,
        user,
        "forward",
        (None, None),
        Some(d.score),
        "",
    )
    .await?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.forward",
            "assessment",
            id,
            format!(
                "单位审核通过{}·{}的考核并报送工委（{}分）",
                d.head.unit_name, d.head.branch_name, d.score
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn comment_of(comment: &str) -> AppResult<String> {
    let c = comment.trim();
    if c.is_empty() {
        return Err(AppError::field(
            "comment",
            "退回须写明意见，告诉支部要改什么",
        ));
    }
    if too_long(c, MAX_COMMENT) {
        return Err(AppError::field(
            "comment",
            format!("意见不能超过{MAX_COMMENT}字"),
        ));
    }
    Ok(c.to_string())
}

/// Returns an assessment to the branch with a comment: the unit from 单位审核, the
/// committee from 考核验收. The unit's adjustments are cleared (the timeline keeps them)
/// and the automatic criteria go live again.
pub async fn send_back(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    row_version: i64,
    comment: &str,
) -> AppResult<()> {
    let d = detail(state, user, id).await?;
    let committee =
        user.is_committee() && (d.head.stage == Stage::CommitteeReview || !is_unit(user, &d));
    let (from, action) = if committee {
        (Stage::CommitteeReview, "return")
    } else if is_unit(user, &d) {
        (Stage::UnitReview, "unit_return")
    } else {
        return Err(AppError::Forbidden);
    };
    let comment = comment_of(comment)?;
    let mut tx = state.db.begin_write().await?;
    claim(&mut tx, &d.head, row_version, from, Some(Stage::SelfCheck)).await?;
    sqlx::query("update assessment set returned_comment = $1 where assessment_id = $2")
        .bind(&comment)
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(err)?;
    sqlx::query(
        "update assessment_score set unit_score = null, unit_reason = '', auto_score = null, auto_text = '' \
         where assessment_id = $1",
    )
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(err)?;
    event(
        &mut tx,
        id,
        user,
        action,
        (None, None),
        Some(d.score),
        &comment,
    )
    .await?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.return",
            "assessment",
            id,
            format!(
                "退回{}·{}的考核：{comment}",
                d.head.unit_name, d.head.branch_name
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Accepts in one transaction (the caller has checked the committee's role and the stage).
async fn accept_in(
    tx: &mut WriteTx,
    user: &CurrentUser,
    d: &Detail,
    row_version: i64,
) -> AppResult<Tier> {
    claim(
        tx,
        &d.head,
        row_version,
        Stage::CommitteeReview,
        Some(Stage::Accepted),
    )
    .await?;
    let placed = scoring::place(
        &d.standard.content,
        &d.lines,
        d.head.extra,
        &d.vetoes.iter().map(|v| v.code.clone()).collect::<Vec<_>>(),
    );
    sqlx::query(
        "update assessment set score = $1, tier = $2, tier_reason = $3, accepted_at = $4 where assessment_id = $5",
    )
    .bind(d.score.0)
    .bind(placed.tier.as_str())
    .bind(&placed.reason)
    .bind(now())
    .bind(d.head.assessment_id)
    .execute(tx.conn())
    .await
    .map_err(err)?;
    event(
        tx,
        d.head.assessment_id,
        user,
        "accept",
        (None, Some(placed.tier)),
        Some(d.score),
        &placed.reason,
    )
    .await?;
    Ok(placed.tier)
}

/// The committee accepts an assessment: its tier is set from the score and the vetoes.
pub async fn accept(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    row_version: i64,
) -> AppResult<Tier> {
    user.require(user.is_committee())?;
    let d = detail(state, user, id).await?;
    let mut tx = state.db.begin_write().await?;
    let tier = accept_in(&mut tx, user, &d, row_version).await?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.accept",
            "assessment",
            id,
            format!(
                "考核验收{}·{}：{}分，定为{}",
                d.head.unit_name,
                d.head.branch_name,
                d.score,
                tier.label()
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(tier)
}

/// The committee accepts every assessment of a category awaiting 考核验收 in `year`'s
/// cycle, in one transaction. Returns how many.
pub async fn accept_category(
    state: &AppState,
    user: &CurrentUser,
    year: i64,
    category_id: i64,
) -> AppResult<usize> {
    user.require(user.is_committee())?;
    let Some((c, b)) = board_of(state, user, Some(year)).await? else {
        return Err(AppError::field("year", format!("{year}年度尚未开启考核")));
    };
    let ids: Vec<(i64, i64)> = b
        .entries
        .iter()
        .filter(|e| e.category_id == category_id && e.stage == Stage::CommitteeReview)
        .map(|e| (e.assessment_id, e.row_version))
        .collect();
    if ids.is_empty() {
        return Err(AppError::field("category_id", "该类别没有待考核验收的支部"));
    }
    let mut details = Vec::with_capacity(ids.len());
    for (id, rv) in &ids {
        details.push((detail(state, user, *id).await?, *rv));
    }
    let mut tx = state.db.begin_write().await?;
    let mut tiers: HashMap<Tier, usize> = HashMap::new();
    for (d, rv) in &details {
        *tiers
            .entry(accept_in(&mut tx, user, d, *rv).await?)
            .or_default() += 1;
    }
    let name = details
        .first()
        .map_or(String::new(), |d| d.0.head.category_name.clone());
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.accept_category",
            "grading_cycle",
            c.cycle_id,
            format!(
                "批量考核验收{year}年度“{name}”类别的{}个支部（{}）",
                ids.len(),
                Tier::ALL
                    .iter()
                    .filter_map(|t| tiers.get(t).map(|n| format!("{}{n}个", t.label())))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct VetoInput {
    /// The veto's code in the standard.
    pub code: String,
    /// What happened, which record.
    pub note: String,
}

/// The unit or the committee marks a veto. Once accepted, the tier moves down if the veto
/// demands it (never up), and the move is kept on the timeline.
pub async fn mark_veto(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &VetoInput,
) -> AppResult<()> {
    let d = detail(state, user, id).await?;
    user.require(d.allowed.veto)?;
    let code = input.code.trim();
    let Some(v) = d.standard.content.vetoes.iter().find(|v| v.code == code) else {
        return Err(AppError::field("code", "请选择评分标准中的否决项"));
    };
    if d.vetoes.iter().any(|m| m.code == code) {
        return Err(AppError::field("code", format!("已标记否决项“{}”", v.body)));
    }
    let note = input.note.trim();
    if note.is_empty() {
        return Err(AppError::field(
            "note",
            "请写明触发否决项的事实（何事、何时、哪条记录）",
        ));
    }
    if too_long(note, MAX_COMMENT) {
        return Err(AppError::field(
            "note",
            format!("说明不能超过{MAX_COMMENT}字"),
        ));
    }
    let mut codes: Vec<String> = d.vetoes.iter().map(|m| m.code.clone()).collect();
    codes.push(code.to_string());
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "insert into assessment_veto (assessment_id, code, note, marked_by, marked_at) values ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(code)
    .bind(note)
    .bind(user.user_id)
    .bind(now())
    .execute(tx.conn())
    .await
    .map_err(err)?;
    let mut moved = (None, None);
    if let Some(current) = d.head.tier {
        let placed = scoring::place(&d.standard.content, &d.lines, d.head.extra, &codes);
        let to = scoring::after_veto(current, placed.tier);
        if to != current {
            moved = (Some(current), Some(to));
            sqlx::query(
                "update assessment set tier = $1, tier_reason = $2, row_version = row_version + 1 where assessment_id = $3",
            )
            .bind(to.as_str())
            .bind(&placed.reason)
            .bind(id)
            .execute(tx.conn())
            .await
            .map_err(err)?;
        }
    }
    event(
        &mut tx,
        id,
        user,
        "veto",
        moved,
        None,
        &format!("{}：{note}", v.body),
    )
    .await?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.veto",
            "assessment",
            id,
            format!(
                "标记{}·{}触发否决项“{}”{}",
                d.head.unit_name,
                d.head.branch_name,
                v.body,
                moved
                    .1
                    .map_or(String::new(), |t| format!("，降为{}", t.label()))
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Clears a veto marked by mistake, before acceptance (afterwards a tier moves up only by
/// an application the committee accepts).
pub async fn clear_veto(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    code: &str,
) -> AppResult<()> {
    let d = detail(state, user, id).await?;
    user.require(d.allowed.veto)?;
    let Some(m) = d.vetoes.iter().find(|m| m.code == code) else {
        return Err(AppError::Conflict(
            "该否决项未标记或已撤销，请刷新页面".into(),
        ));
    };
    if d.head.stage == Stage::Accepted {
        return Err(AppError::Conflict(
            "已定档的考核不能撤销否决项；整改后可由支部申请晋档".into(),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("delete from assessment_veto where assessment_id = $1 and code = $2")
        .bind(id)
        .bind(code)
        .execute(tx.conn())
        .await
        .map_err(err)?;
    event(&mut tx, id, user, "veto_clear", (None, None), None, &m.body).await?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.veto_clear",
            "assessment",
            id,
            format!(
                "撤销{}·{}的否决项“{}”",
                d.head.unit_name, d.head.branch_name, m.body
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct RectificationInput {
    pub body: String,
    pub owner: String,
    /// YYYY-MM-DD.
    pub due_on: String,
}

/// Adds an item to a 三档/四档 branch's rectification plan (the branch or its unit).
pub async fn add_rectification(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &RectificationInput,
) -> AppResult<i64> {
    let d = detail(state, user, id).await?;
    if !(is_branch(user, &d) || is_unit(user, &d)) {
        return Err(AppError::Forbidden);
    }
    if !d.allowed.rectify {
        return Err(AppError::Conflict(
            "只有已定为三档、四档的支部需要制定整改事项".into(),
        ));
    }
    let mut errors = FieldErrors::new();
    let body = input.body.trim();
    if body.is_empty() {
        errors.insert("body".into(), "请填写整改事项".into());
    } else if too_long(body, 200) {
        errors.insert("body".into(), "整改事项不能超过200字".into());
    }
    let owner = input.owner.trim();
    if owner.is_empty() {
        errors.insert("owner".into(), "请填写责任人".into());
    } else if too_long(owner, 50) {
        errors.insert("owner".into(), "责任人不能超过50字".into());
    }
    let due = parse_date("due_on", "完成时限", &input.due_on, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let mut tx = state.db.begin_write().await?;
    let item: i64 = sqlx::query_scalar(
        "insert into rectification_item (assessment_id, body, owner, due_on, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6) returning rectification_item_id",
    )
    .bind(id)
    .bind(body)
    .bind(owner)
    .bind(&due)
    .bind(user.user_id)
    .bind(now())
    .fetch_one(tx.conn())
    .await
    .map_err(err)?;
    event(
        &mut tx,
        id,
        user,
        "rectify",
        (None, None),
        None,
        &format!("{body}（{owner}，{}前）", due.as_deref().unwrap_or("")),
    )
    .await?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.rectify",
            "assessment",
            id,
            format!(
                "为{}·{}制定整改事项：{body}",
                d.head.unit_name, d.head.branch_name
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(item)
}

/// Closes a rectification item with what was done.
pub async fn finish_rectification(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    item_id: i64,
    note: &str,
) -> AppResult<()> {
    let d = detail(state, user, id).await?;
    if !(is_branch(user, &d) || is_unit(user, &d)) {
        return Err(AppError::Forbidden);
    }
    let Some(item) = d.rectification.iter().find(|r| r.item_id == item_id) else {
        return Err(AppError::NotFound);
    };
    if item.done_on.is_some() {
        return Err(AppError::Conflict("该整改事项已完成".into()));
    }
    let note = note.trim();
    if note.is_empty() {
        return Err(AppError::field("note", "请写明整改完成情况"));
    }
    if too_long(note, MAX_COMMENT) {
        return Err(AppError::field(
            "note",
            format!("完成情况不能超过{MAX_COMMENT}字"),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update rectification_item set done_on = $1, done_note = $2 \
         where rectification_item_id = $3 and assessment_id = $4 and done_on is null",
    )
    .bind(crate::text::format_date(crate::clock::today()))
    .bind(note)
    .bind(item_id)
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(err)?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict("该整改事项已完成".into()));
    }
    event(
        &mut tx,
        id,
        user,
        "rectified",
        (None, None),
        None,
        &format!("{}：{note}", item.body),
    )
    .await?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.rectified",
            "assessment",
            id,
            format!(
                "{}·{}完成整改事项：{}",
                d.head.unit_name, d.head.branch_name, item.body
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct ApplyInput {
    /// What changed since the tier was set.
    pub statement: String,
    /// Links to records or files, one per line.
    pub evidence: Option<String>,
}

/// The branch applies to move one tier up; a 三档/四档 branch only once its rectification
/// items are all done.
pub async fn apply(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &ApplyInput,
) -> AppResult<i64> {
    let d = detail(state, user, id).await?;
    user.require(is_branch(user, &d))?;
    let Some(from) = d.head.tier else {
        return Err(AppError::Conflict("考核验收定档后才能申请晋档".into()));
    };
    let Some(to) = from.up() else {
        return Err(AppError::Conflict("已是一档，无需申请晋档".into()));
    };
    if d.applications
        .iter()
        .any(|a| a.status == ApplicationStatus::Pending)
    {
        return Err(AppError::Conflict("已有待复核的晋档申请".into()));
    }
    if matches!(from, Tier::Third | Tier::Fourth) {
        if d.rectification.is_empty() {
            return Err(AppError::Conflict(
                "三档、四档支部须先制定整改事项并完成后再申请晋档".into(),
            ));
        }
        let open = d
            .rectification
            .iter()
            .filter(|r| r.done_on.is_none())
            .count();
        if open > 0 {
            return Err(AppError::Conflict(format!(
                "还有{open}项整改事项未完成，完成后再申请晋档"
            )));
        }
    }
    let mut errors = FieldErrors::new();
    let statement = input.statement.trim();
    if statement.is_empty() {
        errors.insert(
            "statement".into(),
            "请写明申请理由：整改了什么、现在达到了什么".into(),
        );
    } else if too_long(statement, 1000) {
        errors.insert("statement".into(), "申请理由不能超过1000字".into());
    }
    let evidence = input.evidence.as_deref().unwrap_or("").trim();
    if too_long(evidence, MAX_EVIDENCE) {
        errors.insert(
            "evidence".into(),
            format!("佐证材料不能超过{MAX_EVIDENCE}字"),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let mut tx = state.db.begin_write().await?;
    let app_id: i64 = sqlx::query_scalar(
        "insert into upgrade_application (assessment_id, from_tier, to_tier, statement, evidence, applied_by, applied_at) \
         values ($1, $2, $3, $4, $5, $6, $7) returning upgrade_application_id",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(statement)
    .bind(evidence)
    .bind(user.user_id)
    .bind(now())
    .fetch_one(tx.conn())
    .await
    .map_err(err)?;
    event(
        &mut tx,
        id,
        user,
        "apply",
        (Some(from), Some(to)),
        None,
        statement,
    )
    .await?;
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.apply",
            "assessment",
            id,
            format!(
                "{}·{}申请由{}晋为{}",
                d.head.unit_name,
                d.head.branch_name,
                from.label(),
                to.label()
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(app_id)
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct DecideInput {
    pub accept: bool,
    /// Required when refusing.
    pub note: Option<String>,
}

/// The committee re-checks an application: accepted, the tier moves up one; refused, with
/// the reason.
pub async fn decide(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    application_id: i64,
    input: &DecideInput,
) -> AppResult<()> {
    user.require(user.is_committee())?;
    let d = detail(state, user, id).await?;
    let Some(a) = d
        .applications
        .iter()
        .find(|a| a.application_id == application_id)
    else {
        return Err(AppError::NotFound);
    };
    if a.status != ApplicationStatus::Pending {
        return Err(AppError::Conflict("该申请已复核".into()));
    }
    let note = input.note.as_deref().unwrap_or("").trim().to_string();
    if !input.accept && note.is_empty() {
        return Err(AppError::field("note", "不予晋档须写明理由"));
    }
    if too_long(&note, MAX_COMMENT) {
        return Err(AppError::field(
            "note",
            format!("复核意见不能超过{MAX_COMMENT}字"),
        ));
    }
    let (from, to) = (Tier::parse(&a.from_tier), Tier::parse(&a.to_tier));
    if input.accept && d.head.tier != from {
        return Err(AppError::Conflict(format!(
            "申请提出后档次已变为{}，请支部重新申请",
            d.head.tier.map_or("—", |t| t.label())
        )));
    }
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update upgrade_application set status = $1, decided_by = $2, decided_at = $3, decision_note = $4 \
         where upgrade_application_id = $5 and status = 'pending'",
    )
    .bind(if input.accept { "accepted" } else { "refused" })
    .bind(user.user_id)
    .bind(now())
    .bind(&note)
    .bind(application_id)
    .execute(tx.conn())
    .await
    .map_err(err)?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict("该申请已复核".into()));
    }
    if input.accept {
        let reason = format!(
            "晋档申请经工委复核通过，由{}晋为{}{}",
            tier_label(Some(&a.from_tier)),
            tier_label(Some(&a.to_tier)),
            if note.is_empty() {
                String::new()
            } else {
                format!("：{note}")
            }
        );
        sqlx::query(
            "update assessment set tier = $1, tier_reason = $2, row_version = row_version + 1 where assessment_id = $3",
        )
        .bind(&a.to_tier)
        .bind(&reason)
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(err)?;
        event(&mut tx, id, user, "upgrade", (from, to), None, &note).await?;
    } else {
        event(&mut tx, id, user, "refuse", (from, to), None, &note).await?;
    }
    tx.audit(
        &user.actor(),
        AuditEntry::new(
            "assessment.decide",
            "assessment",
            id,
            format!(
                "复核{}·{}的晋档申请：{}",
                d.head.unit_name,
                d.head.branch_name,
                if input.accept {
                    "通过"
                } else {
                    "不予通过"
                }
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- list ----

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// The cycle's year; the newest by default.
    pub year: Option<String>,
    /// Branch or unit name words.
    pub q: Option<String>,
    pub unit_id: Option<String>,
    pub category_id: Option<String>,
    #[param(schema_with = super::schema::stage)]
    pub stage: Option<String>,
    #[param(schema_with = super::schema::tier)]
    pub tier: Option<String>,
    /// score | -score | up (closest to the next tier first) | down (closest to falling) | name
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A checked filter.
pub struct Checked {
    pub year: Option<i64>,
    pub q: String,
    pub unit_id: Option<i64>,
    pub category_id: Option<i64>,
    pub stage: Option<Stage>,
    pub tier: Option<Tier>,
    pub sort: &'static str,
}

pub const SORTS: [(&str, &str); 5] = [
    ("", "按单位"),
    ("-score", "得分从高到低"),
    ("score", "得分从低到高"),
    ("up", "距升档最近"),
    ("down", "距降档最近"),
];

pub fn check(f: &ListFilter) -> AppResult<Checked> {
    let mut errors = FieldErrors::new();
    let id = |name: &str, v: &Option<String>, errors: &mut FieldErrors| -> Option<i64> {
        let t = v.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
        match t.parse::<i64>() {
            Ok(x) if x > 0 => Some(x),
            _ => {
                errors.insert(name.into(), format!("应为编号，收到“{t}”"));
                None
            }
        }
    };
    let year = id("year", &f.year, &mut errors);
    let unit_id = id("unit_id", &f.unit_id, &mut errors);
    let category_id = id("category_id", &f.category_id, &mut errors);
    crate::web::check_choice(
        &mut errors,
        "stage",
        "阶段",
        f.stage.as_deref(),
        &Stage::options(),
    );
    crate::web::check_choice(
        &mut errors,
        "tier",
        "档次",
        f.tier.as_deref(),
        &Tier::options(),
    );
    let sort = f.sort.as_deref().unwrap_or("").trim();
    let sort = match SORTS.iter().find(|(k, _)| *k == sort) {
        Some((k, _)) => *k,
        None => {
            errors.insert("sort".into(), format!("排序方式“{sort}”无效"));
            ""
        }
    };
    crate::web::filter_checked(errors)?;
    Ok(Checked {
        year,
        q: f.q.as_deref().unwrap_or("").trim().to_string(),
        unit_id,
        category_id,
        stage: f.stage.as_deref().and_then(Stage::parse),
        tier: f.tier.as_deref().and_then(Tier::parse),
        sort,
    })
}

/// The entries matching a checked filter, sorted.
pub fn filtered<'a>(user: &CurrentUser, b: &'a Board, c: &Checked) -> Vec<&'a Entry> {
    let mut v: Vec<&Entry> = visible(user, b)
        .into_iter()
        .filter(|e| c.unit_id.is_none_or(|u| e.unit_id == u))
        .filter(|e| c.category_id.is_none_or(|k| e.category_id == k))
        .filter(|e| c.stage.is_none_or(|s| e.stage == s))
        .filter(|e| c.tier.is_none_or(|t| e.tier == t))
        .filter(|e| c.q.is_empty() || e.branch_name.contains(&c.q) || e.unit_name.contains(&c.q))
        .collect();
    let far = Score(i64::MAX);
    match c.sort {
        "-score" => v.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then(a.assessment_id.cmp(&b.assessment_id))
        }),
        "score" => v.sort_by(|a, b| {
            a.score
                .cmp(&b.score)
                .then(a.assessment_id.cmp(&b.assessment_id))
        }),
        "up" => v.sort_by(|a, b| {
            a.up.unwrap_or(far)
                .cmp(&b.up.unwrap_or(far))
                .then(b.score.cmp(&a.score))
        }),
        "down" => v.sort_by(|a, b| {
            a.down
                .unwrap_or(far)
                .cmp(&b.down.unwrap_or(far))
                .then(a.score.cmp(&b.score))
        }),
        _ => {}
    }
    v
}

/// Counts by tier of some entries, in tier order.
pub fn tier_counts(entries: &[&Entry]) -> [usize; 4] {
    let mut n = [0usize; 4];
    for e in entries {
        n[super::rules::tier_rank(e.tier)] += 1;
    }
    n
}

/// Per category: the branches, the average score, the counts by tier and the criteria that
/// cost most points on average — where guidance should aim next.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CategoryLine {
    pub category_id: i64,
    pub category_name: String,
    pub branches: usize,
    pub average: Score,
    pub tiers: [usize; 4],
    pub costly: Vec<Costly>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Costly {
    pub number: i64,
    pub body: String,
    /// Points lost per branch on average.
    pub average_lost: Score,
    /// Branches losing points on it.
    pub branches: usize,
}

pub fn by_category(content: &Content, entries: &[&Entry]) -> Vec<CategoryLine> {
    let mut order: Vec<i64> = Vec::new();
    let mut groups: HashMap<i64, Vec<&Entry>> = HashMap::new();
    for e in entries {
        if !groups.contains_key(&e.category_id) {
            order.push(e.category_id);
        }
        groups.entry(e.category_id).or_default().push(e);
    }
    order
        .into_iter()
        .filter_map(|k| {
            let g = groups.get(&k)?;
            let n = g.len() as i64;
            let total: i64 = g.iter().map(|e| e.score.0).sum();
            let mut costly: Vec<Costly> = content
                .criteria
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let lost: i64 = g.iter().map(|e| e.lost.get(i).map_or(0, |s| s.0)).sum();
                    Costly {
                        number: c.number,
                        body: c.body.clone(),
                        average_lost: Score(lost / n.max(1)),
                        branches: g
                            .iter()
                            .filter(|e| e.lost.get(i).is_some_and(|s| s.0 > 0))
                            .count(),
                    }
                })
                .filter(|c| c.branches > 0)
                .collect();
            costly.sort_by(|a, b| {
                b.average_lost
                    .cmp(&a.average_lost)
                    .then(a.number.cmp(&b.number))
            });
            costly.truncate(5);
            Some(CategoryLine {
                category_id: k,
                category_name: g
                    .first()
                    .map(|e| e.category_name.clone())
                    .unwrap_or_default(),
                branches: g.len(),
                average: Score(total / n.max(1)),
                tiers: tier_counts(g),
                costly,
            })
        })
        .collect()
}

/// The categories' lines of a board for the caller: the committee's (the whole city)
/// remembered with the board, others' computed from the few they see.
pub async fn categories_of(
    state: &AppState,
    user: &CurrentUser,
    cycle: &Cycle,
    b: &Arc<Board>,
) -> AppResult<Arc<Vec<CategoryLine>>> {
    if !user.is_committee() {
        return Ok(Arc::new(by_category(
            &b.standard.content,
            &visible(user, b),
        )));
    }
    // The board's own key: the same versions, the same board.
    let key = format!("grading-categories {} {}", cycle.cycle_id, b.key);
    let board = b.clone();
    Ok(state
        .ext::<crate::db::QueryCache>()
        .derived(&state.db, "grading", &key, || async move {
            let all: Vec<&Entry> = board.entries.iter().collect();
            Ok(by_category(&board.standard.content, &all))
        })
        .await?)
}

/// The roadmap of a branch's newest assessment, for its home card.
pub async fn roadmap_of_branch(
    state: &AppState,
    user: &CurrentUser,
    branch_id: i64,
) -> AppResult<Option<(i64, Roadmap, String)>> {
    let Some(id) = of_branch(state, branch_id).await? else {
        return Ok(None);
    };
    let d = detail(state, user, id).await?;
    Ok(Some((id, d.roadmap, d.head.branch_name)))
}

/// The live figures of a standard (re-exported for the pages).
pub async fn live_of(state: &AppState, s: &Standard) -> AppResult<Arc<Live>> {
    board::live(state, s).await
}
