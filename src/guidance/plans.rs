//! Units' annual party-building plans (年度党建工作计划): the plans a caller may read, a
//! plan at a glance, its tasks (each linked to the year's common goal and the unit's own
//! category's requirements), submission, quarterly progress per task, and the committee's
//! comments. Reads take the caller's scope; writes run in one transaction with their audit
//! entry.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{self, EvidenceLine, PlanStatus, Problems, ProgressStatus};
use super::store::{items_of, published, refused, Item};
use super::{may_comment, may_read_plans, may_write_plans};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::{ListPage, Paging};

/// Refused edits of a submitted plan's tasks.
pub const SUBMITTED: &str = "计划已提交，任务不能再增删改；请按季度填报进展";
/// Refused progress on a plan not yet submitted.
pub const NOT_SUBMITTED: &str = "计划提交后才能填报季度进展";

/// The units whose plans `user` may read: None for the whole city (the committee); a unit
/// admin's units; a branch admin's branches' units.
pub async fn plan_units(state: &AppState, user: &CurrentUser) -> AppResult<Option<Vec<i64>>> {
    if user.is_committee() {
        return Ok(None);
    }
    let mut units = user.unit_ids();
    let branches = user.branch_ids();
    if !branches.is_empty() {
        let mut sql = Sql::new("select o.unit_id from org o where o.org_id in ");
        sql.bind_list(&branches);
        let rows: Vec<(i64,)> = sql.fetch_all(&state.db.pool).await?;
        units.extend(rows.into_iter().map(|r| r.0));
    }
    units.sort_unstable();
    units.dedup();
    Ok(Some(units))
}

/// A unit's line in the list of plans of a year: its plan, if it has one, with its figures.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PlanLine {
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    pub year: i64,
    /// None: no plan yet (未编制).
    pub plan_id: Option<i64>,
    /// `draft` | `submitted`; none without a plan.
    pub status: Option<String>,
    pub task_count: i64,
    /// Items (common goal and own category) some task covers.
    pub covered: i64,
    /// Items the unit is held to in the year's published set.
    pub total: i64,
    pub submitted_at: Option<i64>,
}

impl PlanLine {
    pub fn gaps(&self) -> i64 {
        (self.total - self.covered).max(0)
    }
    pub fn status_label(&self) -> &'static str {
        match self.status.as_deref() {
            None => "未编制",
            Some(s) => PlanStatus::label_of(s),
        }
    }
}

/// Sort keys of the list of plans.
pub const PLAN_SORTS: &[(&str, &str)] = &[
    ("unit", "按单位"),
    ("gaps", "缺项多的在前"),
    ("coverage", "覆盖率低的在前"),
    ("tasks", "任务多的在前"),
];

/// Plan states a list may be filtered by (`none`: 未编制).
pub const PLAN_STATES: &[(&str, &str)] = &[
    ("none", "未编制"),
    ("draft", "草稿"),
    ("submitted", "已提交"),
];

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanFilter {
    /// The plans' year; this year without it.
    pub year: Option<String>,
    /// Only units of this category.
    pub category_id: Option<String>,
    /// none (未编制) | draft | submitted
    pub status: Option<String>,
    /// Part of the unit's name.
    pub q: Option<String>,
    /// unit | gaps | coverage | tasks
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub struct CheckedFilter {
    pub year: i64,
    pub category_id: Option<i64>,
    pub status: Option<String>,
    pub q: String,
    pub sort: String,
}

/// A year given as text: empty is this year.
pub fn year_param(errors: &mut FieldErrors, v: Option<&str>) -> i64 {
    let this = i64::from(crate::clock::today().year());
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => this,
        Some(y) => match y.parse::<i64>() {
            Ok(v) if rules::year_ok(v) => v,
            _ => {
                errors.insert(
                    "year".into(),
                    format!("年度应为2000至2100之间的年份，收到“{y}”"),
                );
                this
            }
        },
    }
}

pub fn check_filter(f: &PlanFilter) -> AppResult<CheckedFilter> {
    let mut errors = FieldErrors::new();
    let year = year_param(&mut errors, f.year.as_deref());
    crate::web::check_id(&mut errors, "category_id", "类别", f.category_id.as_deref());
    crate::web::check_choice(
        &mut errors,
        "status",
        "计划状态",
        f.status.as_deref(),
        PLAN_STATES,
    );
    crate::web::check_choice(&mut errors, "sort", "排序", f.sort.as_deref(), PLAN_SORTS);
    crate::web::filter_checked(errors)?;
    let some = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(CheckedFilter {
        year,
        category_id: some(&f.category_id).and_then(|v| v.parse().ok()),
        status: some(&f.status),
        q: crate::text::clean_text(f.q.as_deref().unwrap_or("")),
        sort: some(&f.sort).unwrap_or_else(|| "unit".into()),
    })
}

/// The select of plan lines of `year` over units aliased `u` (its `where` follows).
fn plan_lines_sql(year: i64) -> Sql {
    let mut sql =
        Sql::new("select u.unit_id, u.name as unit_name, u.category_id, c.name as category_name, ");
    sql.bind(year).push(
        " as year, p.guidance_plan_id as plan_id, p.status, \
         (select count(*) from guidance_task t where t.guidance_plan_id = p.guidance_plan_id) as task_count, \
         (select count(distinct ti.guidance_item_id) from guidance_task t \
            join guidance_task_item ti on ti.guidance_task_id = t.guidance_task_id \
            join guidance_item i on i.guidance_item_id = ti.guidance_item_id \
            where t.guidance_plan_id = p.guidance_plan_id \
            and (i.category_id is null or i.category_id = u.category_id)) as covered, \
         (select count(*) from guidance_item i join guidance_year y on y.guidance_year_id = i.guidance_year_id \
            where y.year = ",
    );
    sql.bind(year).push(
        " and y.status = 'published' and (i.category_id is null or i.category_id = u.category_id)) as total, \
         p.submitted_at \
         from unit u join category c on c.category_id = u.category_id \
         left join guidance_plan p on p.unit_id = u.unit_id and p.year = ",
    );
    sql.bind(year);
    sql
}

fn where_units(sql: &mut Sql, units: &Option<Vec<i64>>) {
    sql.push(" where 1 = 1");
    if let Some(units) = units {
        sql.push(" and u.unit_id in ").bind_list(units);
    }
}

/// Units and their plans of a year, filtered and sorted, under the caller's scope (every
/// line: the export takes them all).
pub async fn all_plans(
    state: &AppState,
    user: &CurrentUser,
    f: &PlanFilter,
) -> AppResult<Vec<PlanLine>> {
    user.require(may_read_plans(user))?;
    let c = check_filter(f)?;
    let units = plan_units(state, user).await?;
    let mut sql = plan_lines_sql(c.year);
    where_units(&mut sql, &units);
    if let Some(cat) = c.category_id {
        sql.push(" and u.category_id = ").bind(cat);
    }
    match c.status.as_deref() {
        Some("none") => {
            sql.push(" and p.guidance_plan_id is null");
        }
        Some(s) => {
            sql.push(" and p.status = ").bind(s.to_string());
        }
        None => {}
    }
    if !c.q.is_empty() {
        sql.push(" and ");
        sql.contains(state.db.backend, "u.name", &c.q);
    }
    let mut rows: Vec<PlanLine> = sql.fetch_all(&state.db.pool).await?;
    match c.sort.as_str() {
        "gaps" => rows.sort_by_key(|r| (-r.gaps(), r.unit_name.clone())),
        "coverage" => rows.sort_by(|a, b| {
            let ra = a.covered as f64 / a.total.max(1) as f64;
            let rb = b.covered as f64 / b.total.max(1) as f64;
            ra.total_cmp(&rb).then(a.unit_name.cmp(&b.unit_name))
        }),
        "tasks" => rows.sort_by_key(|r| (-r.task_count, r.unit_name.clone())),
        _ => rows.sort_by(|a, b| a.unit_name.cmp(&b.unit_name)),
    }
    Ok(rows)
}

/// One page of `all_plans`.
pub async fn list_plans(
    state: &AppState,
    user: &CurrentUser,
    f: &PlanFilter,
) -> AppResult<ListPage<PlanLine>> {
    let rows = all_plans(state, user, f).await?;
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    Ok(ListPage::paged(rows, &paging))
}

// ---- one plan ----

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PlanInfo {
    pub plan_id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    pub requirement_title: String,
    pub year: i64,
    #[sqlx(try_from = "String")]
    pub status: PlanStatus,
    pub row_version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub submitted_by_name: Option<String>,
}

impl PlanInfo {
    pub fn is_draft(&self) -> bool {
        self.status == PlanStatus::Draft
    }
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Progress {
    pub quarter: i64,
    #[sqlx(try_from = "String")]
    pub status: ProgressStatus,
    pub body: String,
    /// One line each: a path inside the system, or text.
    pub evidence: String,
    pub updated_at: i64,
    pub updated_by_name: Option<String>,
}

impl Progress {
    pub fn evidence_lines(&self) -> Vec<EvidenceLine> {
        let mut p = Problems::new();
        rules::parse_evidence(&mut p, &self.evidence)
    }
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Task {
    pub task_id: i64,
    pub plan_id: i64,
    pub position: i64,
    pub title: String,
    pub owner: String,
    /// YYYY-MM-DD
    pub deadline: String,
    /// 完成标准.
    pub measure: String,
    #[sqlx(skip)]
    pub item_ids: Vec<i64>,
    /// Quarter 1..4, those reported.
    #[sqlx(skip)]
    pub progress: Vec<Progress>,
}

impl Task {
    /// The progress of quarter `q`, if reported.
    pub fn quarter(&self, q: i64) -> Option<&Progress> {
        self.progress.iter().find(|p| p.quarter == q)
    }
    /// The newest quarter reported.
    pub fn latest(&self) -> Option<&Progress> {
        self.progress.iter().max_by_key(|p| p.quarter)
    }
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Comment {
    pub comment_id: i64,
    pub task_id: Option<i64>,
    pub quarter: Option<i64>,
    pub body: String,
    pub author: Option<String>,
    pub created_at: i64,
}

/// A plan at a glance: its tasks with their items and progress, the items it must cover
/// (the year's common goal and its category's requirements) and which it leaves as gaps,
/// and the committee's comments.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Plan {
    #[serde(flatten)]
    pub info: PlanInfo,
    pub items: Vec<Item>,
    pub tasks: Vec<Task>,
    /// Items no task covers.
    pub gaps: Vec<i64>,
    pub comments: Vec<Comment>,
}

impl Plan {
    pub fn covered(&self) -> usize {
        self.items.len() - self.gaps.len()
    }
    pub fn item(&self, id: i64) -> Option<&Item> {
        self.items.iter().find(|i| i.item_id == id)
    }
    pub fn common_items(&self) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|i| i.category_id.is_none())
            .collect()
    }
    pub fn category_items(&self) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|i| i.category_id.is_some())
            .collect()
    }
    pub fn is_gap(&self, id: &i64) -> bool {
        self.gaps.contains(id)
    }
    /// The tasks linked to an item, by their position.
    pub fn tasks_of(&self, id: &i64) -> Vec<i64> {
        self.tasks
            .iter()
            .filter(|t| t.item_ids.contains(id))
            .map(|t| t.position)
            .collect()
    }
    pub fn task(&self, id: i64) -> Option<&Task> {
        self.tasks.iter().find(|t| t.task_id == id)
    }
}

const PLAN_COLUMNS: &str = "p.guidance_plan_id as plan_id, p.unit_id, u.name as unit_name, \
     u.category_id, c.name as category_name, c.requirement_title, p.year, p.status, \
     p.row_version, p.created_at, p.updated_at, p.submitted_at, su.display_name as submitted_by_name \
     from guidance_plan p join unit u on u.unit_id = p.unit_id \
     join category c on c.category_id = u.category_id \
     left join app_user su on su.user_id = p.submitted_by";

async fn plan_info(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<PlanInfo> {
    user.require(may_read_plans(user))?;
    let units = plan_units(state, user).await?;
    let mut sql = Sql::new(&format!(
        "select {PLAN_COLUMNS} where p.guidance_plan_id = "
    ));
    sql.bind(id);
    if let Some(units) = &units {
        sql.push(" and p.unit_id in ").bind_list(units);
    }
    let mut rows: Vec<PlanInfo> = sql.fetch_all(&state.db.pool).await?;
    rows.pop().ok_or(AppError::NotFound)
}

/// The published items a unit of `category_id` is held to in `year`.
pub async fn items_for(state: &AppState, year: i64, category_id: i64) -> AppResult<Vec<Item>> {
    let Some(y) = published(state, year).await? else {
        return Ok(Vec::new());
    };
    Ok(items_of(state, y.guidance_year_id)
        .await?
        .into_iter()
        .filter(|i| i.category_id.is_none() || i.category_id == Some(category_id))
        .collect())
}

/// Tasks of some plans with their items and progress.
pub async fn tasks_of_plans(state: &AppState, plan_ids: &[i64]) -> AppResult<Vec<Task>> {
    if plan_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "select guidance_task_id as task_id, guidance_plan_id as plan_id, position, title, owner, \
         deadline, measure from guidance_task where guidance_plan_id in ",
    );
    sql.bind_list(plan_ids)
        .push(" order by guidance_plan_id, position");
    let mut tasks: Vec<Task> = sql.fetch_all(&state.db.pool).await?;
    let mut links = Sql::new(
        "select ti.guidance_task_id, ti.guidance_item_id from guidance_task_item ti \
         join guidance_task t on t.guidance_task_id = ti.guidance_task_id where t.guidance_plan_id in ",
    );
    links.bind_list(plan_ids);
    let links: Vec<(i64, i64)> = links.fetch_all(&state.db.pool).await?;
    let mut progress = Sql::new(
        "select g.guidance_task_id, g.quarter, g.status, g.body, g.evidence, g.updated_at, \
         a.display_name as updated_by_name from guidance_progress g \
         join guidance_task t on t.guidance_task_id = g.guidance_task_id \
         left join app_user a on a.user_id = g.updated_by where t.guidance_plan_id in ",
    );
    progress.bind_list(plan_ids).push(" order by g.quarter");
    #[derive(sqlx::FromRow)]
    struct Row {
        guidance_task_id: i64,
        #[sqlx(flatten)]
        p: Progress,
    }
    let progress: Vec<Row> = progress.fetch_all(&state.db.pool).await?;
    let mut by_task: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, t) in tasks.iter().enumerate() {
        by_task.insert(t.task_id, i);
    }
    for (t, item) in links {
        if let Some(&i) = by_task.get(&t) {
            tasks[i].item_ids.push(item);
        }
    }
    for r in progress {
        if let Some(&i) = by_task.get(&r.guidance_task_id) {
            tasks[i].progress.push(r.p);
        }
    }
    for t in &mut tasks {
        t.item_ids.sort_unstable();
    }
    Ok(tasks)
}

/// A plan at a glance, under the caller's scope.
pub async fn get_plan(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Plan> {
    let info = plan_info(state, user, id).await?;
    let items = items_for(state, info.year, info.category_id).await?;
    let tasks = tasks_of_plans(state, &[id]).await?;
    let covered: BTreeSet<i64> = tasks.iter().flat_map(|t| t.item_ids.clone()).collect();
    let ids: Vec<i64> = items.iter().map(|i| i.item_id).collect();
    let (_, gaps) = rules::coverage(&ids, &covered);
    let comments: Vec<Comment> = sqlx::query_as(
        "select k.guidance_comment_id as comment_id, k.guidance_task_id as task_id, k.quarter, \
         k.body, a.display_name as author, k.created_at from guidance_comment k \
         left join app_user a on a.user_id = k.created_by \
         where k.guidance_plan_id = $1 order by k.created_at, k.guidance_comment_id",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(Plan {
        info,
        items,
        tasks,
        gaps,
        comments,
    })
}

// ---- writes ----

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct NewPlan {
    pub unit_id: i64,
    pub year: i64,
}

/// Starts a unit's plan for a year (its unit admin), once the year's items are published.
/// Returns its id.
pub async fn create_plan(state: &AppState, user: &CurrentUser, input: &NewPlan) -> AppResult<i64> {
    user.require(may_write_plans(user))?;
    if !user.unit_ids().contains(&input.unit_id) {
        return Err(AppError::NotFound);
    }
    if !rules::year_ok(input.year) {
        return Err(AppError::field(
            "year",
            format!("年度应在2000至2100之间，收到{}", input.year),
        ));
    }
    if published(state, input.year).await?.is_none() {
        return Err(AppError::field(
            "year",
            format!(
                "{}年度的共性目标和个性要求尚未发布，发布后才能编制计划",
                input.year
            ),
        ));
    }
    let unit: Option<String> = sqlx::query_scalar("select name from unit where unit_id = $1")
        .bind(input.unit_id)
        .fetch_optional(&state.db.pool)
        .await?;
    let unit = unit.ok_or(AppError::NotFound)?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "insert into guidance_plan (unit_id, year, status, created_by, created_at, updated_at) \
         values ($1, $2, 'draft', $3, $4, $4) on conflict (unit_id, year) do nothing \
         returning guidance_plan_id",
    )
    .bind(input.unit_id)
    .bind(input.year)
    .bind(user.user_id)
    .bind(t)
    .fetch_optional(tx.conn())
    .await?;
    let id = id.ok_or_else(|| {
        AppError::field(
            "year",
            format!("{unit}{}年度的党建工作计划已存在", input.year),
        )
    })?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_plan.create",
            "guidance_plan",
            id,
            format!("新建{unit}{}年度党建工作计划", input.year),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A plan the caller may write: its unit admin's, in scope.
async fn writable(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<PlanInfo> {
    user.require(may_write_plans(user))?;
    let info = plan_info(state, user, id).await?;
    if !user.unit_ids().contains(&info.unit_id) {
        // A branch admin of the unit reads it, no more.
        return Err(AppError::Forbidden);
    }
    Ok(info)
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct TaskInput {
    /// 任务: what will be done.
    pub title: String,
    /// 责任人 (text).
    pub owner: String,
    /// 完成时限, a date within the plan's year.
    pub deadline: String,
    /// 完成标准: how one knows it is done.
    pub measure: String,
    /// The goal and requirement items it serves: the year's common goal and the unit's own
    /// category's requirements only.
    pub item_ids: Vec<i64>,
}

struct CheckedTask {
    title: String,
    owner: String,
    deadline: String,
    measure: String,
    item_ids: Vec<i64>,
}

fn check_task(input: &TaskInput, plan: &PlanInfo, allowed: &[Item]) -> AppResult<CheckedTask> {
    let mut p = Problems::new();
    let title = crate::text::clean_prose(&input.title);
    let owner = crate::text::clean_text(&input.owner);
    let measure = crate::text::clean_prose(&input.measure);
    rules::required_text(&mut p, "title", "任务内容", &title, rules::TITLE_MAX);
    rules::required_text(&mut p, "owner", "责任人", &owner, rules::OWNER_MAX);
    rules::required_text(&mut p, "measure", "完成标准", &measure, rules::MEASURE_MAX);
    let parsed = crate::text::parse_date(&input.deadline).map_err(|e| e.to_string());
    let deadline = parsed
        .as_ref()
        .map(|d| crate::text::format_date(*d))
        .unwrap_or_default();
    rules::check_deadline(&mut p, parsed, plan.year);
    let allowed: BTreeSet<i64> = allowed.iter().map(|i| i.item_id).collect();
    let mut item_ids = input.item_ids.clone();
    item_ids.sort_unstable();
    item_ids.dedup();
    rules::check_task_items(&mut p, &item_ids, &allowed);
    if !p.is_empty() {
        return Err(refused(p));
    }
    Ok(CheckedTask {
        title,
        owner,
        deadline,
        measure,
        item_ids,
    })
}

/// Moves a draft plan's row version inside `tx`; a submitted (or vanished) plan refuses.
async fn claim_draft(tx: &mut crate::db::WriteTx, plan_id: i64) -> AppResult<()> {
    let n = sqlx::query(
        "update guidance_plan set row_version = row_version + 1, updated_at = $1 \
         where guidance_plan_id = $2 and status = 'draft'",
    )
    .bind(now())
    .bind(plan_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(SUBMITTED.into()));
    }
    Ok(())
}

async fn write_links(
    tx: &mut crate::db::WriteTx,
    task_id: i64,
    item_ids: &[i64],
) -> anyhow::Result<()> {
    sqlx::query("delete from guidance_task_item where guidance_task_id = $1")
        .bind(task_id)
        .execute(tx.conn())
        .await?;
    for i in item_ids {
        sqlx::query(
            "insert into guidance_task_item (guidance_task_id, guidance_item_id) values ($1, $2)",
        )
        .bind(task_id)
        .bind(*i)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Adds a task to a draft plan. Returns its id.
pub async fn add_task(
    state: &AppState,
    user: &CurrentUser,
    plan_id: i64,
    input: &TaskInput,
) -> AppResult<i64> {
    let plan = writable(state, user, plan_id).await?;
    if !plan.is_draft() {
        return Err(AppError::Conflict(SUBMITTED.into()));
    }
    let items = items_for(state, plan.year, plan.category_id).await?;
    let t = check_task(input, &plan, &items)?;
    let now = now();
    let mut tx = state.db.begin_write().await?;
    claim_draft(&mut tx, plan_id).await?;
    let count: i64 =
        sqlx::query_scalar("select count(*) from guidance_task where guidance_plan_id = $1")
            .bind(plan_id)
            .fetch_one(tx.conn())
            .await?;
    if count >= rules::TASKS_MAX as i64 {
        return Err(AppError::invalid(format!(
            "一个计划最多{}项任务",
            rules::TASKS_MAX
        )));
    }
    let position: i64 = sqlx::query_scalar(
        "select coalesce(max(position), 0) + 1 from guidance_task where guidance_plan_id = $1",
    )
    .bind(plan_id)
    .fetch_one(tx.conn())
    .await?;
    let id: i64 = sqlx::query_scalar(
        "insert into guidance_task (guidance_plan_id, position, title, owner, deadline, measure, \
         created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7) returning guidance_task_id",
    )
    .bind(plan_id)
    .bind(position)
    .bind(&t.title)
    .bind(&t.owner)
    .bind(&t.deadline)
    .bind(&t.measure)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    write_links(&mut tx, id, &t.item_ids).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_task.create",
            "guidance_task",
            id,
            format!(
                "{}{}年度计划新增任务{}：{}",
                plan.unit_name, plan.year, position, t.title
            ),
        )
        .after(input),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The plan a task belongs to, under the caller's scope.
async fn plan_of_task(state: &AppState, user: &CurrentUser, task_id: i64) -> AppResult<PlanInfo> {
    let plan_id: Option<i64> = sqlx::query_scalar(
        "select guidance_plan_id from guidance_task where guidance_task_id = $1",
    )
    .bind(task_id)
    .fetch_optional(&state.db.pool)
    .await?;
    let plan_id = plan_id.ok_or(AppError::NotFound)?;
    plan_info(state, user, plan_id).await
}

/// Changes a task of a draft plan.
pub async fn update_task(
    state: &AppState,
    user: &CurrentUser,
    task_id: i64,
    input: &TaskInput,
) -> AppResult<()> {
    let plan = plan_of_task(state, user, task_id).await?;
    let plan = writable(state, user, plan.plan_id).await?;
    if !plan.is_draft() {
        return Err(AppError::Conflict(SUBMITTED.into()));
    }
    let items = items_for(state, plan.year, plan.category_id).await?;
    let t = check_task(input, &plan, &items)?;
    let before = tasks_of_plans(state, &[plan.plan_id])
        .await?
        .into_iter()
        .find(|k| k.task_id == task_id);
    let mut tx = state.db.begin_write().await?;
    claim_draft(&mut tx, plan.plan_id).await?;
    sqlx::query(
        "update guidance_task set title = $1, owner = $2, deadline = $3, measure = $4, \
         updated_at = $5 where guidance_task_id = $6",
    )
    .bind(&t.title)
    .bind(&t.owner)
    .bind(&t.deadline)
    .bind(&t.measure)
    .bind(now())
    .bind(task_id)
    .execute(tx.conn())
    .await?;
    write_links(&mut tx, task_id, &t.item_ids).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_task.update",
            "guidance_task",
            task_id,
            format!(
                "{}{}年度计划修改任务：{}",
                plan.unit_name, plan.year, t.title
            ),
        )
        .before(&before)
        .after(input),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a task of a draft plan, with its links and the comments on it.
pub async fn delete_task(state: &AppState, user: &CurrentUser, task_id: i64) -> AppResult<()> {
    let plan = plan_of_task(state, user, task_id).await?;
    let plan = writable(state, user, plan.plan_id).await?;
    if !plan.is_draft() {
        return Err(AppError::Conflict(SUBMITTED.into()));
    }
    let before = tasks_of_plans(state, &[plan.plan_id])
        .await?
        .into_iter()
        .find(|k| k.task_id == task_id);
    let mut tx = state.db.begin_write().await?;
    claim_draft(&mut tx, plan.plan_id).await?;
    for sql in [
        "delete from guidance_task_item where guidance_task_id = $1",
        "delete from guidance_comment where guidance_task_id = $1",
        "delete from guidance_progress where guidance_task_id = $1",
        "delete from guidance_task where guidance_task_id = $1",
    ] {
        sqlx::query(sql).bind(task_id).execute(tx.conn()).await?;
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_task.delete",
            "guidance_task",
            task_id,
            format!(
                "{}{}年度计划删除任务：{}",
                plan.unit_name,
                plan.year,
                before.as_ref().map_or("", |t| t.title.as_str())
            ),
        )
        .before(&before),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Submits a draft plan (at least one task): its tasks are then fixed.
pub async fn submit_plan(
    state: &AppState,
    user: &CurrentUser,
    plan_id: i64,
    row_version: Option<i64>,
) -> AppResult<()> {
    let plan = writable(state, user, plan_id).await?;
    if !plan.is_draft() {
        return Err(AppError::Conflict("计划已提交".into()));
    }
    if row_version.is_some_and(|v| v != plan.row_version) {
        return Err(AppError::Conflict(
            "计划已被他人修改，请刷新后再提交".into(),
        ));
    }
    let tasks: i64 =
        sqlx::query_scalar("select count(*) from guidance_task where guidance_plan_id = $1")
            .bind(plan_id)
            .fetch_one(&state.db.pool)
            .await?;
    if tasks == 0 {
        return Err(AppError::invalid("计划还没有任务，请先添加任务再提交"));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update guidance_plan set status = 'submitted', row_version = row_version + 1, \
         submitted_by = $1, submitted_at = $2, updated_at = $2 \
         where guidance_plan_id = $3 and status = 'draft' and row_version = $4",
    )
    .bind(user.user_id)
    .bind(t)
    .bind(plan_id)
    .bind(plan.row_version)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(
            "计划已被他人修改，请刷新后再提交".into(),
        ));
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_plan.submit",
            "guidance_plan",
            plan_id,
            format!(
                "提交{}{}年度党建工作计划（{tasks}项任务）",
                plan.unit_name, plan.year
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ProgressInput {
    /// not_started 未开始 | in_progress 推进中 | done 已完成
    #[schema(schema_with = super::schema::progress_status)]
    pub status: String,
    /// 进展情况.
    pub body: String,
    /// One line each: a link to a record in the system (`/orglife/meetings/7`) or text.
    #[serde(default)]
    pub evidence: String,
}

/// Reports (or corrects) a task's progress for quarter `quarter` of a submitted plan.
pub async fn save_progress(
    state: &AppState,
    user: &CurrentUser,
    task_id: i64,
    quarter: i64,
    input: &ProgressInput,
) -> AppResult<()> {
    let plan = plan_of_task(state, user, task_id).await?;
    let plan = writable(state, user, plan.plan_id).await?;
    let mut p = Problems::new();
    let quarter = match rules::check_quarter(quarter) {
        Ok(q) => i64::from(q),
        Err(e) => {
            p.insert("quarter".into(), e);
            0
        }
    };
    let status = ProgressStatus::parse(&input.status);
    if status.is_none() {
        p.insert(
            "status".into(),
            format!(
                "进展状态“{}”不可用，只能是未开始、推进中或已完成",
                input.status.trim()
            ),
        );
    }
    let body = crate::text::clean_prose(&input.body);
    rules::required_text(&mut p, "body", "进展情况", &body, rules::PROGRESS_MAX);
    let evidence = rules::parse_evidence(&mut p, &input.evidence);
    if !p.is_empty() {
        return Err(refused(p));
    }
    if plan.is_draft() {
        return Err(AppError::Conflict(NOT_SUBMITTED.into()));
    }
    let status = status.unwrap_or(ProgressStatus::NotStarted);
    let evidence = rules::evidence_text(&evidence);
    let t = now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "insert into guidance_progress (guidance_task_id, quarter, status, body, evidence, \
         created_by, created_at, updated_by, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $6, $7) \
         on conflict (guidance_task_id, quarter) do update set status = excluded.status, \
         body = excluded.body, evidence = excluded.evidence, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
    )
    .bind(task_id)
    .bind(quarter)
    .bind(status.as_str())
    .bind(&body)
    .bind(&evidence)
    .bind(user.user_id)
    .bind(t)
    .execute(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_progress.save",
            "guidance_task",
            task_id,
            format!(
                "{}{}年度计划任务第{quarter}季度进展：{}",
                plan.unit_name,
                plan.year,
                status.label()
            ),
        )
        .after(&serde_json::json!({"quarter": quarter, "status": status.as_str(), "body": body, "evidence": evidence})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct CommentInput {
    /// On one of the plan's tasks; none: on the plan.
    #[serde(default)]
    pub task_id: Option<i64>,
    /// On the task's progress of this quarter (1..4); needs `task_id`.
    #[serde(default)]
    pub quarter: Option<i64>,
    pub body: String,
}

/// The committee comments on a plan, one of its tasks, or a task's quarter. Returns its id.
pub async fn add_comment(
    state: &AppState,
    user: &CurrentUser,
    plan_id: i64,
    input: &CommentInput,
) -> AppResult<i64> {
    user.require(may_comment(user))?;
    let plan = plan_info(state, user, plan_id).await?;
    let mut p = Problems::new();
    let body = crate::text::clean_prose(&input.body);
    rules::required_text(&mut p, "body", "意见", &body, rules::COMMENT_MAX);
    if let Some(t) = input.task_id {
        let of: Option<i64> = sqlx::query_scalar(
            "select guidance_plan_id from guidance_task where guidance_task_id = $1",
        )
        .bind(t)
        .fetch_optional(&state.db.pool)
        .await?;
        if of != Some(plan_id) {
            p.insert("task_id".into(), "该任务不属于这份计划".into());
        }
    }
    if let Some(q) = input.quarter {
        if input.task_id.is_none() {
            p.insert("quarter".into(), "对季度进展的意见须指明任务".into());
        } else if let Err(e) = rules::check_quarter(q) {
            p.insert("quarter".into(), e);
        }
    }
    if !p.is_empty() {
        return Err(refused(p));
    }
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into guidance_comment (guidance_plan_id, guidance_task_id, quarter, body, \
         created_by, created_at) values ($1, $2, $3, $4, $5, $6) returning guidance_comment_id",
    )
    .bind(plan_id)
    .bind(input.task_id)
    .bind(input.quarter)
    .bind(&body)
    .bind(user.user_id)
    .bind(now())
    .fetch_one(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_comment.create",
            "guidance_plan",
            plan_id,
            format!("对{}{}年度党建工作计划提出意见", plan.unit_name, plan.year),
        )
        .after(input),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
