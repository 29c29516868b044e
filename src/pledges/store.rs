//! Pledges as their pledgers, unit admins and the committee work them: the lists a caller may
//! read (filtered, sorted, paged), one pledge with its milestones, progress, review trail,
//! fulfilment ratings and feedback; the pledger's own pledge written, submitted and reported
//! on; the unit's review (accept / return); the year-end ratings. Reads take the caller's
//! scope; every write runs in one transaction with its audit entry.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{self, Fulfilment, PledgeStatus, Problems, ReviewLevel};
use super::{may_pledge, may_rate, may_read, may_review};
use crate::audit::Entry;
use crate::auth::{CurrentUser, Role};
use crate::clock::now;
use crate::db::{Sql, WriteTx};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{ListPage, Paging};

/// The year pledges are made for now.
pub fn this_year() -> i64 {
    i64::from(crate::clock::today().year())
}

/// Problems as one refusal, every field named.
pub fn refused(p: Problems) -> AppError {
    let mut list: Vec<String> = p.values().take(5).cloned().collect();
    if p.len() > 5 {
        list.push(format!("等{}处问题", p.len()));
    }
    AppError::Invalid {
        message: list.join("；"),
        fields: p,
    }
}

/// Appends the caller's scope on a pledge `p` of a member `m`: the committee everything; a
/// unit admin their units' pledges; a branch admin their branches' members'; a member their
/// own.
pub fn scope_condition(user: &CurrentUser, sql: &mut Sql) {
    if user.is_committee() {
        sql.push("1 = 1");
        return;
    }
    let (units, branches, members) = (user.unit_ids(), user.branch_ids(), user.member_ids());
    crate::auth::Scope::any_of(
        sql,
        &[
            ("p.unit_id", &units),
            ("m.branch_id", &branches),
            ("p.member_id", &members),
        ],
    );
}

/// A pledge's line in a list, with its public figures and fulfilment ratings.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PledgeLine {
    pub pledge_id: i64,
    /// The public board's key (shown only once accepted).
    pub public_key: String,
    pub member_id: i64,
    pub member_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    pub year: i64,
    pub body: String,
    pub post: String,
    pub division: String,
    #[sqlx(try_from = "String")]
    pub status: PledgeStatus,
    pub submitted_at: Option<i64>,
    pub reviewed_at: Option<i64>,
    /// Published feedback and the sum of its ratings.
    pub feedback_n: i64,
    pub rating_sum: i64,
    /// Feedback held for moderation.
    pub held_n: i64,
    /// `fulfilled` | `partly` | `not`, as the unit and the committee rated it.
    pub unit_result: Option<String>,
    pub committee_result: Option<String>,
}

impl PledgeLine {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
    pub fn average(&self) -> String {
        rules::average_text(self.rating_sum, self.feedback_n)
    }
    pub fn result_label(r: &Option<String>) -> &'static str {
        r.as_deref().map_or("", Fulfilment::label_of)
    }
    pub fn unit_label(&self) -> &'static str {
        Self::result_label(&self.unit_result)
    }
    pub fn committee_label(&self) -> &'static str {
        Self::result_label(&self.committee_result)
    }
    /// The rating that counts: the committee's over the unit's.
    pub fn final_result(&self) -> Option<Fulfilment> {
        rules::final_fulfilment(
            self.unit_result.as_deref().and_then(Fulfilment::from_key),
            self.committee_result
                .as_deref()
                .and_then(Fulfilment::from_key),
        )
    }
}

pub const LINE_COLUMNS: &str = "p.pledge_id, p.public_key, p.member_id, m.name as member_name, \
     p.unit_id, u.name as unit_name, u.category_id, c.name as category_name, p.year, p.body, \
     p.post, p.division, p.status, p.submitted_at, p.reviewed_at, \
     (select count(*) from pledge_feedback f where f.pledge_id = p.pledge_id and f.status = 'published') as feedback_n, \
     (select cast(coalesce(sum(f.rating), 0) as bigint) from pledge_feedback f where f.pledge_id = p.pledge_id and f.status = 'published') as rating_sum, \
     (select count(*) from pledge_feedback f where f.pledge_id = p.pledge_id and f.status = 'held') as held_n, \
     (select r.result from pledge_review r where r.pledge_id = p.pledge_id and r.level = 'unit') as unit_result, \
     (select r.result from pledge_review r where r.pledge_id = p.pledge_id and r.level = 'committee') as committee_result \
     from pledge p join member m on m.member_id = p.member_id \
     join unit u on u.unit_id = p.unit_id join category c on c.category_id = u.category_id";

/// Sort keys of the list of pledges.
pub const SORTS: &[(&str, &str)] = &[
    ("unit", "按单位"),
    ("newest", "最近提交在前"),
    ("rating", "群众评价高的在前"),
    ("feedback", "待审核反馈多的在前"),
];

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PledgeFilter {
    /// The pledges' year; this year without it.
    pub year: Option<String>,
    /// draft | submitted | accepted | returned
    pub status: Option<String>,
    pub category_id: Option<String>,
    pub unit_id: Option<String>,
    /// Part of the pledger's name, the unit's name or the pledge.
    pub q: Option<String>,
    /// unit | newest | rating | feedback
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub struct Checked {
    pub year: i64,
    pub status: Option<PledgeStatus>,
    pub category_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub q: String,
    pub sort: String,
}

fn some(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A year given as text: empty is this year.
pub fn year_param(errors: &mut crate::error::FieldErrors, v: Option<&str>) -> i64 {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => this_year(),
        Some(y) => match y.parse::<i64>() {
            Ok(v) if (2000..=2100).contains(&v) => v,
            _ => {
                errors.insert(
                    "year".into(),
                    format!("年度应为2000至2100之间的年份，收到“{y}”"),
                );
                this_year()
            }
        },
    }
}

pub fn status_options() -> Vec<(&'static str, &'static str)> {
    PledgeStatus::options()
}

pub fn check_filter(f: &PledgeFilter) -> AppResult<Checked> {
    let mut errors = crate::error::FieldErrors::new();
    let year = year_param(&mut errors, f.year.as_deref());
    let statuses = status_options();
    crate::web::check_choice(
        &mut errors,
        "status",
        "状态",
        f.status.as_deref(),
        &statuses,
    );
    crate::web::check_id(&mut errors, "category_id", "类别", f.category_id.as_deref());
    crate::web::check_id(&mut errors, "unit_id", "单位", f.unit_id.as_deref());
    crate::web::check_choice(&mut errors, "sort", "排序", f.sort.as_deref(), SORTS);
    crate::web::filter_checked(errors)?;
    Ok(Checked {
        year,
        status: some(&f.status).and_then(|s| PledgeStatus::from_key(&s)),
        category_id: some(&f.category_id).and_then(|v| v.parse().ok()),
        unit_id: some(&f.unit_id).and_then(|v| v.parse().ok()),
        q: crate::text::clean_text(f.q.as_deref().unwrap_or("")),
        sort: some(&f.sort).unwrap_or_else(|| "unit".into()),
    })
}

/// Every pledge of the filter under the caller's scope, sorted (the export takes them all).
pub async fn all_pledges(
    state: &AppState,
    user: &CurrentUser,
    f: &PledgeFilter,
) -> AppResult<Vec<PledgeLine>> {
    user.require(may_read(user))?;
    let c = check_filter(f)?;
    let mut sql = Sql::new(&format!("select {LINE_COLUMNS} where p.year = "));
    sql.bind(c.year).push(" and ");
    scope_condition(user, &mut sql);
    if let Some(s) = c.status {
        sql.push(" and p.status = ").bind(s.as_str());
    }
    if let Some(cat) = c.category_id {
        sql.push(" and u.category_id = ").bind(cat);
    }
    if let Some(u) = c.unit_id {
        sql.push(" and p.unit_id = ").bind(u);
    }
    if !c.q.is_empty() {
        sql.push(" and (");
        sql.contains(state.db.backend, "m.name", &c.q);
        sql.push(" or ");
        sql.contains(state.db.backend, "u.name", &c.q);
        sql.push(" or ");
        sql.contains(state.db.backend, "p.body", &c.q);
        sql.push(")");
    }
    let mut rows: Vec<PledgeLine> = sql.fetch_all(&state.db.pool).await?;
    let by_unit = |a: &PledgeLine, b: &PledgeLine| {
        a.unit_name
            .cmp(&b.unit_name)
            .then(a.member_name.cmp(&b.member_name))
            .then(a.pledge_id.cmp(&b.pledge_id))
    };
    match c.sort.as_str() {
        "newest" => rows.sort_by(|a, b| {
            b.submitted_at
                .cmp(&a.submitted_at)
                .then(b.pledge_id.cmp(&a.pledge_id))
        }),
        "rating" => rows.sort_by(|a, b| {
            let ra = a.rating_sum as f64 / a.feedback_n.max(1) as f64;
            let rb = b.rating_sum as f64 / b.feedback_n.max(1) as f64;
            rb.total_cmp(&ra).then(by_unit(a, b))
        }),
        "feedback" => rows.sort_by(|a, b| b.held_n.cmp(&a.held_n).then(by_unit(a, b))),
        _ => rows.sort_by(by_unit),
    }
    Ok(rows)
}

/// One page of `all_pledges`.
pub async fn list_pledges(
    state: &AppState,
    user: &CurrentUser,
    f: &PledgeFilter,
) -> AppResult<ListPage<PledgeLine>> {
    let rows = all_pledges(state, user, f).await?;
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    Ok(ListPage::paged(rows, &paging))
}

// ---- one pledge ----

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Milestone {
    pub milestone_id: i64,
    pub position: i64,
    pub title: String,
    /// Percent done as last reported.
    pub progress: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct ProgressReport {
    pub progress_id: i64,
    /// None: on the pledge as a whole.
    pub milestone_id: Option<i64>,
    pub progress: i64,
    pub body: String,
    /// One line each: a link or a description.
    pub evidence: String,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Review {
    #[sqlx(try_from = "String")]
    pub level: ReviewLevel,
    #[sqlx(try_from = "String")]
    pub result: Fulfilment,
    pub reason: String,
    pub reviewer: Option<String>,
    pub reviewed_at: i64,
}

/// A pledge at a glance.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Pledge {
    #[serde(flatten)]
    pub line: PledgeLine,
    pub review_comment: String,
    pub reviewer: Option<String>,
    pub row_version: i64,
    pub milestones: Vec<Milestone>,
    pub progress: Vec<ProgressReport>,
    pub reviews: Vec<Review>,
}

impl Pledge {
    pub fn milestone_title(&self, id: &Option<i64>) -> String {
        match id {
            None => "整体".into(),
            Some(id) => self
                .milestones
                .iter()
                .find(|m| m.milestone_id == *id)
                .map(|m| format!("节点{}：{}", m.position, m.title))
                .unwrap_or_default(),
        }
    }
    pub fn review(&self, level: ReviewLevel) -> Option<&Review> {
        self.reviews.iter().find(|r| r.level == level)
    }
    pub fn editable(&self) -> bool {
        matches!(
            self.line.status,
            PledgeStatus::Draft | PledgeStatus::Returned
        )
    }
}

/// One pledge's line under the caller's scope.
pub async fn line(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<PledgeLine> {
    user.require(may_read(user))?;
    let mut sql = Sql::new(&format!("select {LINE_COLUMNS} where p.pledge_id = "));
    sql.bind(id).push(" and ");
    scope_condition(user, &mut sql);
    let mut rows: Vec<PledgeLine> = sql.fetch_all(&state.db.pool).await?;
    rows.pop().ok_or(AppError::NotFound)
}

/// Milestones, progress reports and ratings of a pledge (no scope: the caller checked it).
pub async fn parts_of(
    state: &AppState,
    id: i64,
) -> AppResult<(Vec<Milestone>, Vec<ProgressReport>, Vec<Review>)> {
    let milestones: Vec<Milestone> = sqlx::query_as(
        "select pledge_milestone_id as milestone_id, position, title, progress \
         from pledge_milestone where pledge_id = $1 order by position",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    let progress: Vec<ProgressReport> = sqlx::query_as(
        "select pledge_progress_id as progress_id, pledge_milestone_id as milestone_id, progress, \
         body, evidence, created_at from pledge_progress where pledge_id = $1 \
         order by created_at desc, pledge_progress_id desc",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    let reviews: Vec<Review> = sqlx::query_as(
        "select r.level, r.result, r.reason, a.display_name as reviewer, r.reviewed_at \
         from pledge_review r left join app_user a on a.user_id = r.reviewed_by \
         where r.pledge_id = $1 order by r.level desc",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok((milestones, progress, reviews))
}

pub async fn get(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Pledge> {
    let line = line(state, user, id).await?;
    let (review_comment, reviewer, row_version): (String, Option<String>, i64) = sqlx::query_as(
        "select p.review_comment, a.display_name, p.row_version from pledge p \
         left join app_user a on a.user_id = p.reviewed_by where p.pledge_id = $1",
    )
    .bind(id)
    .fetch_one(&state.db.pool)
    .await?;
    let (milestones, progress, reviews) = parts_of(state, id).await?;
    Ok(Pledge {
        line,
        review_comment,
        reviewer,
        row_version,
        milestones,
        progress,
        reviews,
    })
}

// ---- the pledger ----

/// The member the caller pledges as: their member grant's.
async fn pledger(state: &AppState, user: &CurrentUser) -> AppResult<(i64, String, i64, String)> {
    user.require(may_pledge(user))?;
    let Some(member_id) = user.member_ids().first().copied() else {
        return Err(AppError::Forbidden);
    };
    let row: Option<(i64, String, i64, String, String)> = sqlx::query_as(
        "select member_id, name, unit_id, coalesce(position, ''), status from member where member_id = $1",
    )
    .bind(member_id)
    .fetch_optional(&state.db.pool)
    .await?;
    let (id, name, unit, position, status) = row.ok_or(AppError::NotFound)?;
    if status != "active" {
        return Err(AppError::invalid("您的党员信息不在册，不能作出承诺"));
    }
    Ok((id, name, unit, position))
}

/// The caller's own pledge of `year`, if any.
pub async fn own(state: &AppState, user: &CurrentUser, year: i64) -> AppResult<Option<Pledge>> {
    let (member_id, ..) = pledger(state, user).await?;
    let id: Option<i64> =
        sqlx::query_scalar("select pledge_id from pledge where member_id = $1 and year = $2")
            .bind(member_id)
            .bind(year)
            .fetch_optional(&state.db.pool)
            .await?;
    match id {
        Some(id) => Ok(Some(get(state, user, id).await?)),
        None => Ok(None),
    }
}

/// The defaults of a new pledge's form: the member's post as registered.
pub async fn own_defaults(state: &AppState, user: &CurrentUser) -> AppResult<(String, String)> {
    let (_, name, _, position) = pledger(state, user).await?;
    Ok((name, position))
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct PledgeInput {
    /// 一句话承诺: one sentence, 8 to 120 characters.
    pub body: String,
    /// 职务, shown publicly beside the name.
    #[serde(default)]
    pub post: String,
    /// 处室, shown publicly beside the name.
    #[serde(default)]
    pub division: String,
    /// Up to three measurable milestones (可量化节点).
    #[serde(default)]
    pub milestones: Vec<String>,
}

struct CheckedPledge {
    body: String,
    post: String,
    division: String,
    milestones: Vec<String>,
}

fn check_pledge(input: &PledgeInput) -> AppResult<CheckedPledge> {
    let mut p = Problems::new();
    let body = crate::text::clean_prose(&input.body);
    rules::check_body(&mut p, &body);
    let post = crate::text::clean_prose(&input.post);
    let division = crate::text::clean_prose(&input.division);
    rules::optional_text(&mut p, "post", "职务", &post, rules::POST_MAX);
    rules::required_text(
        &mut p,
        "division",
        "所在处室",
        &division,
        rules::DIVISION_MAX,
    );
    let typed: Vec<String> = input
        .milestones
        .iter()
        .map(|m| crate::text::clean_prose(m))
        .collect();
    let milestones = rules::check_milestones(&mut p, &typed);
    if !p.is_empty() {
        return Err(refused(p));
    }
    Ok(CheckedPledge {
        body,
        post,
        division,
        milestones,
    })
}

fn new_public_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; rules::PUBLIC_KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    rules::public_key_from(&bytes)
}

/// Writes the caller's pledge of this year: a new draft, or the draft or returned one
/// changed (milestones replaced). Returns its id.
pub async fn save_own(state: &AppState, user: &CurrentUser, input: &PledgeInput) -> AppResult<i64> {
    let (member_id, name, unit_id, _) = pledger(state, user).await?;
    let c = check_pledge(input)?;
    let year = this_year();
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let existing: Option<(i64, String)> =
        sqlx::query_as("select pledge_id, status from pledge where member_id = $1 and year = $2")
            .bind(member_id)
            .bind(year)
            .fetch_optional(tx.conn())
            .await?;
    let (id, action) = match existing {
        Some((id, status)) => {
            if !matches!(status.as_str(), "draft" | "returned") {
                return Err(AppError::Conflict(
                    "承诺已提交审核或已公开亮诺，不能再修改；如需修改请联系单位管理员退回".into(),
                ));
            }
            sqlx::query(
                "update pledge set body = $1, post = $2, division = $3, updated_at = $4, \
                 row_version = row_version + 1 where pledge_id = $5",
            )
            .bind(&c.body)
            .bind(&c.post)
            .bind(&c.division)
            .bind(t)
            .bind(id)
            .execute(tx.conn())
            .await?;
            sqlx::query("delete from pledge_milestone where pledge_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            (id, "pledge.update")
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "insert into pledge (public_key, member_id, unit_id, year, body, post, division, \
                 status, created_by, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9, $9) returning pledge_id",
            )
            .bind(new_public_key())
            .bind(member_id)
            .bind(unit_id)
            .bind(year)
            .bind(&c.body)
            .bind(&c.post)
            .bind(&c.division)
            .bind(user.user_id)
            .bind(t)
            .fetch_one(tx.conn())
            .await?;
            (id, "pledge.create")
        }
    };
    for (i, m) in c.milestones.iter().enumerate() {
        sqlx::query(
            "insert into pledge_milestone (pledge_id, position, title, progress) values ($1, $2, $3, 0)",
        )
        .bind(id)
        .bind(i as i64 + 1)
        .bind(m)
        .execute(tx.conn())
        .await?;
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            action,
            "pledge",
            id,
            format!("{name}{year}年度一句话承诺：{}", c.body),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The pledger's own pledge by id, for writing.
async fn own_by_id(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<PledgeLine> {
    let (member_id, ..) = pledger(state, user).await?;
    let l = line(state, user, id).await?;
    if l.member_id != member_id {
        return Err(AppError::Forbidden);
    }
    Ok(l)
}

/// Submits a draft or returned pledge for the unit's review.
pub async fn submit(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    let l = own_by_id(state, user, id).await?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update pledge set status = 'submitted', submitted_at = $1, updated_at = $1, \
         row_version = row_version + 1 where pledge_id = $2 and status in ('draft', 'returned')",
    )
    .bind(t)
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(
            "承诺已提交或已公开亮诺，无需再次提交".into(),
        ));
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "pledge.submit",
            "pledge",
            id,
            format!("{}提交{}年度一句话承诺", l.member_name, l.year),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ProgressInput {
    /// The milestone's position (1..3); none: the pledge as a whole.
    pub milestone: Option<i64>,
    /// Percent done, 0..100.
    pub progress: i64,
    /// What was done.
    pub body: String,
    /// Evidence: links or descriptions, one a line.
    #[serde(default)]
    pub evidence: String,
}

/// Reports progress on an accepted pledge (its pledger), on a milestone or the whole.
pub async fn report(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &ProgressInput,
) -> AppResult<i64> {
    let l = own_by_id(state, user, id).await?;
    if l.status != PledgeStatus::Accepted {
        return Err(AppError::Conflict(
            "承诺经单位审核公开亮诺后才能报告践诺进展".into(),
        ));
    }
    let mut p = Problems::new();
    let body = crate::text::clean_prose(&input.body);
    let evidence = crate::text::clean_prose(&input.evidence);
    rules::required_text(&mut p, "body", "进展情况", &body, rules::REPORT_MAX);
    rules::optional_text(
        &mut p,
        "evidence",
        "佐证材料",
        &evidence,
        rules::EVIDENCE_MAX,
    );
    if !(0..=100).contains(&input.progress) {
        p.insert("progress".into(), "完成进度应为0至100之间的整数".into());
    }
    let milestone: Option<i64> = match input.milestone {
        None => None,
        Some(pos) => {
            let m: Option<i64> = sqlx::query_scalar(
                "select pledge_milestone_id from pledge_milestone where pledge_id = $1 and position = $2",
            )
            .bind(id)
            .bind(pos)
            .fetch_optional(&state.db.pool)
            .await?;
            if m.is_none() {
                p.insert("milestone".into(), format!("承诺没有第{pos}个节点"));
            }
            m
        }
    };
    if !p.is_empty() {
        return Err(refused(p));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let pid: i64 = sqlx::query_scalar(
        "insert into pledge_progress (pledge_id, pledge_milestone_id, progress, body, evidence, \
         created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7) returning pledge_progress_id",
    )
    .bind(id)
    .bind(milestone)
    .bind(input.progress)
    .bind(&body)
    .bind(&evidence)
    .bind(user.user_id)
    .bind(t)
    .fetch_one(tx.conn())
    .await?;
    if let Some(m) = milestone {
        sqlx::query("update pledge_milestone set progress = $1 where pledge_milestone_id = $2")
            .bind(input.progress)
            .bind(m)
            .execute(tx.conn())
            .await?;
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "pledge.progress",
            "pledge",
            id,
            format!("{}报告践诺进展{}%：{body}", l.member_name, input.progress),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(pid)
}

// ---- the unit's review ----

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ReturnInput {
    /// Why it goes back (required).
    pub comment: String,
}

/// A pledge of the unit admin's own units.
async fn reviewable(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<PledgeLine> {
    user.require(may_review(user))?;
    let l = line(state, user, id).await?;
    if !user.unit_ids().contains(&l.unit_id) {
        return Err(AppError::Forbidden);
    }
    Ok(l)
}

async fn decide(
    tx: &mut WriteTx,
    user: &CurrentUser,
    id: i64,
    to: PledgeStatus,
    comment: &str,
) -> AppResult<()> {
    let n = sqlx::query(
        "update pledge set status = $1, review_comment = $2, reviewed_by = $3, reviewed_at = $4, \
         updated_at = $4, row_version = row_version + 1 where pledge_id = $5 and status = 'submitted'",
    )
    .bind(to.as_str())
    .bind(comment)
    .bind(user.user_id)
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict("该承诺不在待审核状态，未作修改".into()));
    }
    Ok(())
}

/// Accepts a submitted pledge: it goes on the public board.
pub async fn accept(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    let l = reviewable(state, user, id).await?;
    let mut tx = state.db.begin_write().await?;
    decide(&mut tx, user, id, PledgeStatus::Accepted, "").await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "pledge.accept",
            "pledge",
            id,
            format!("审核通过{}的一句话承诺，公开亮诺", l.member_name),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Returns a submitted pledge with a comment.
pub async fn send_back(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &ReturnInput,
) -> AppResult<()> {
    let l = reviewable(state, user, id).await?;
    let comment = crate::text::clean_prose(&input.comment);
    let mut p = Problems::new();
    rules::required_text(&mut p, "comment", "退回意见", &comment, rules::COMMENT_MAX);
    if !p.is_empty() {
        return Err(refused(p));
    }
    let mut tx = state.db.begin_write().await?;
    decide(&mut tx, user, id, PledgeStatus::Returned, &comment).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "pledge.return",
            "pledge",
            id,
            format!("退回{}的一句话承诺：{comment}", l.member_name),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- year-end ratings ----

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct RateInput {
    /// fulfilled (已践诺) | partly (部分践诺) | not (未践诺)
    pub result: String,
    /// The reasons (required).
    pub reason: String,
}

/// Rates an accepted pledge's fulfilment: a unit admin of its unit rates as the unit, the
/// committee as the committee; a second rating at the same level replaces the first.
pub async fn rate(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &RateInput,
) -> AppResult<()> {
    user.require(may_rate(user))?;
    let l = line(state, user, id).await?;
    let level = if user.is_committee() {
        ReviewLevel::Committee
    } else if user.has(Role::Unit) && user.unit_ids().contains(&l.unit_id) {
        ReviewLevel::Unit
    } else {
        return Err(AppError::Forbidden);
    };
    if l.status != PledgeStatus::Accepted {
        return Err(AppError::Conflict(
            "只有已公开亮诺的承诺才能评价践诺情况".into(),
        ));
    }
    let mut p = Problems::new();
    let result = Fulfilment::parse(&input.result);
    if result.is_none() {
        p.insert(
            "result".into(),
            "请选择践诺评价：已践诺、部分践诺或未践诺".into(),
        );
    }
    let reason = crate::text::clean_prose(&input.reason);
    rules::required_text(&mut p, "reason", "评价理由", &reason, rules::REASON_MAX);
    let Some(result) = result.filter(|_| p.is_empty()) else {
        return Err(refused(p));
    };
    let t = now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "insert into pledge_review (pledge_id, level, result, reason, reviewed_by, reviewed_at) \
         values ($1, $2, $3, $4, $5, $6) on conflict (pledge_id, level) do update set \
         result = excluded.result, reason = excluded.reason, reviewed_by = excluded.reviewed_by, \
         reviewed_at = excluded.reviewed_at",
    )
    .bind(id)
    .bind(level.as_str())
    .bind(result.as_str())
    .bind(&reason)
    .bind(user.user_id)
    .bind(t)
    .execute(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "pledge.rate",
            "pledge",
            id,
            format!(
                "{}：{}的承诺{}（{reason}）",
                level.label(),
                l.member_name,
                result.label()
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
