//! 年度计划与进展: the units' plans of a year (filtered, sorted, paged, exported), a plan at
//! a glance with its tasks, gaps and comments, a task with its quarterly progress, and the
//! forms that write them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;

use super::{ctx, field, fields, refusal, time, with_status};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::guidance::plans::{
    self, CommentInput, NewPlan, Plan, PlanFilter, PlanLine, ProgressInput, Task, TaskInput,
    PLAN_SORTS, PLAN_STATES,
};
use crate::guidance::rules::{EvidenceLine, ProgressStatus};
use crate::guidance::store::{self, Item};
use crate::guidance::{may_comment, may_write_plans};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

const LIST: &str = "/guidance/plans";

fn list_ctx(user: &CurrentUser, title: &str, path: &str, flash: FlashIn) -> PageCtx {
    ctx(user, title, path, flash).crumb("年度计划与进展", LIST)
}

#[derive(Template)]
#[template(path = "guidance/plans.html")]
struct PlansPage {
    ctx: PageCtx,
    rows: Vec<PlanLine>,
    pager: Pager,
    year: i64,
    f: PlanFilter,
    years: Vec<i64>,
    categories: Vec<(i64, String)>,
    states: &'static [(&'static str, &'static str)],
    sorts: &'static [(&'static str, &'static str)],
    /// The unit admin's units, who may start a plan.
    my_units: Vec<i64>,
    published: bool,
    committee: bool,
    query: String,
    error: Option<String>,
}

impl PlansPage {
    fn sel(&self, v: &Option<String>, key: &str) -> bool {
        v.as_deref() == Some(key)
    }
    fn may_start(&self, r: &PlanLine) -> bool {
        r.plan_id.is_none() && self.published && self.my_units.contains(&r.unit_id)
    }
    fn time(&self, t: &Option<i64>) -> String {
        time(t)
    }
}

async fn list_render(
    state: &AppState,
    user: &CurrentUser,
    f: PlanFilter,
    flash: FlashIn,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let page = plans::list_plans(state, user, &f).await?;
    let c = plans::check_filter(&f)?;
    let this = i64::from(crate::clock::today().year());
    let mut years: Vec<i64> = store::list_years(state, user)
        .await
        .map(|ys| ys.into_iter().map(|y| y.year).collect())
        .unwrap_or_default();
    for y in [this, c.year] {
        if !years.contains(&y) {
            years.push(y);
        }
    }
    years.sort_unstable_by(|a, b| b.cmp(a));
    let categories: Vec<(i64, String)> = if user.is_committee() {
        sqlx::query_as("select category_id, name from category order by sort_order, category_id")
            .fetch_all(&state.db.pool)
            .await?
    } else {
        Vec::new()
    };
    let query = web::query_string(&[
        ("year", c.year.to_string()),
        ("category_id", f.category_id.clone().unwrap_or_default()),
        ("status", f.status.clone().unwrap_or_default()),
        ("q", f.q.clone().unwrap_or_default()),
        ("sort", f.sort.clone().unwrap_or_default()),
    ]);
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let p = PlansPage {
        ctx: list_ctx(user, "年度计划与进展", LIST, flash),
        pager: Pager::new(&paging, page.total, LIST, &query),
        rows: page.items,
        year: c.year,
        years,
        categories,
        states: PLAN_STATES,
        sorts: PLAN_SORTS,
        my_units: if may_write_plans(user) {
            user.unit_ids()
        } else {
            Vec::new()
        },
        published: store::published(state, c.year).await?.is_some(),
        committee: user.is_committee(),
        query,
        f,
        error: error.as_ref().map(|e| e.1.clone()),
    };
    Ok(with_status(web::render(&p)?, error.map(|e| e.0)))
}

pub(super) async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<PlanFilter>,
) -> AppResult<Response> {
    list_render(&state, &user, f, flash, None).await
}

pub(super) async fn create_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let input = NewPlan {
        unit_id: field(&pairs, "unit_id").trim().parse().unwrap_or(0),
        year: field(&pairs, "year").trim().parse().unwrap_or(0),
    };
    match plans::create_plan(&state, &user, &input).await {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("{LIST}/{id}"),
            "计划已新建：请添加任务，每项任务对应至少一条共性目标或个性要求，完成后提交",
        )),
        Err(e) => {
            let r = refusal(e)?;
            let f = PlanFilter {
                year: Some(input.year.to_string()),
                ..Default::default()
            };
            list_render(&state, &user, f, FlashIn(None), Some(r)).await
        }
    }
}

/// The list as .xlsx, with the same filter (every page).
pub(super) async fn list_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<PlanFilter>,
) -> AppResult<Response> {
    use crate::xlsx::Cell;
    let rows = plans::all_plans(&state, &user, &f).await?;
    let year = plans::check_filter(&f)?.year;
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::text(&r.unit_name),
                Cell::text(&r.category_name),
                Cell::Int(r.year),
                Cell::text(r.status_label()),
                Cell::Int(r.task_count),
                Cell::Int(r.covered),
                Cell::Int(r.total),
                Cell::Int(r.gaps()),
                Cell::percent(crate::text::rate(r.covered, r.total)),
                Cell::text(time(&r.submitted_at)),
            ]
        })
        .collect();
    let bytes = crate::xlsx::write_table(
        "年度计划",
        &[
            "单位",
            "类别",
            "年度",
            "状态",
            "任务数",
            "已覆盖条目",
            "应覆盖条目",
            "缺项",
            "覆盖率",
            "提交时间",
        ],
        &cells,
    )?;
    Ok(crate::xlsx::download(
        &format!("年度党建工作计划-{year}年度.xlsx"),
        bytes,
    ))
}

// ---- one plan ----

/// What was typed into the task form, kept when it is refused.
#[derive(Default)]
struct TaskForm {
    title: String,
    owner: String,
    deadline: String,
    measure: String,
    item_ids: Vec<i64>,
}

impl TaskForm {
    fn of(t: &Task) -> TaskForm {
        TaskForm {
            title: t.title.clone(),
            owner: t.owner.clone(),
            deadline: t.deadline.clone(),
            measure: t.measure.clone(),
            item_ids: t.item_ids.clone(),
        }
    }
    fn read(pairs: &[(String, String)]) -> (TaskForm, TaskInput) {
        let item_ids: Vec<i64> = fields(pairs, "item_ids", 200)
            .iter()
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        let f = TaskForm {
            title: field(pairs, "title"),
            owner: field(pairs, "owner"),
            deadline: field(pairs, "deadline"),
            measure: field(pairs, "measure"),
            item_ids: item_ids.clone(),
        };
        let input = TaskInput {
            title: f.title.clone(),
            owner: f.owner.clone(),
            deadline: f.deadline.clone(),
            measure: f.measure.clone(),
            item_ids,
        };
        (f, input)
    }
    fn has(&self, id: &i64) -> bool {
        self.item_ids.contains(id)
    }
}

#[derive(Template)]
#[template(path = "guidance/plan.html")]
struct PlanPage {
    ctx: PageCtx,
    p: Plan,
    /// The unit admin may add tasks and submit (a draft) or report progress (submitted).
    can_write: bool,
    can_comment: bool,
    form: TaskForm,
    error: Option<String>,
}

impl PlanPage {
    fn tags(&self, t: &Task) -> Vec<String> {
        t.item_ids
            .iter()
            .filter_map(|i| self.p.item(*i))
            .map(Item::tag)
            .collect()
    }
    fn q(&self, t: &Task, q: &i64) -> String {
        t.quarter(*q)
            .map_or(String::new(), |p| p.status.label().to_string())
    }
    fn q_class(&self, t: &Task, q: &i64) -> &'static str {
        match t.quarter(*q).map(|p| p.status) {
            Some(ProgressStatus::Done) => "bg-green-lt",
            Some(ProgressStatus::InProgress) => "bg-blue-lt",
            Some(ProgressStatus::NotStarted) => "bg-yellow-lt",
            None => "",
        }
    }
    fn task_label(&self, id: &Option<i64>) -> String {
        match id.and_then(|i| self.p.task(i)) {
            Some(t) => format!("任务{}", t.position),
            None => "整份计划".into(),
        }
    }
    fn time(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
    fn stime(&self, t: &Option<i64>) -> String {
        time(t)
    }
    fn quarters(&self) -> [i64; 4] {
        [1, 2, 3, 4]
    }
    fn tasks_text(&self, id: &i64) -> String {
        self.p
            .tasks_of(id)
            .iter()
            .map(|n| format!("任务{n}"))
            .collect::<Vec<_>>()
            .join("、")
    }
}

async fn plan_render(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    form: Option<TaskForm>,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let p = plans::get_plan(state, user, id).await?;
    let title = format!("{}{}年度党建工作计划", p.info.unit_name, p.info.year);
    let page = PlanPage {
        ctx: list_ctx(user, &title, &format!("{LIST}/{id}"), flash).crumb(title.clone(), ""),
        can_write: may_write_plans(user) && user.unit_ids().contains(&p.info.unit_id),
        can_comment: may_comment(user),
        form: form.unwrap_or_default(),
        p,
        error: error.as_ref().map(|e| e.1.clone()),
    };
    Ok(with_status(web::render(&page)?, error.map(|e| e.0)))
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    plan_render(&state, &user, id, flash, None, None).await
}

pub(super) async fn add_task_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (form, input) = TaskForm::read(&pairs);
    match plans::add_task(&state, &user, id, &input).await {
        Ok(_) => Ok(web::redirect_with_flash(
            &format!("{LIST}/{id}#tasks"),
            "任务已添加",
        )),
        Err(e) => {
            let r = refusal(e)?;
            plan_render(&state, &user, id, FlashIn(None), Some(form), Some(r)).await
        }
    }
}

pub(super) async fn submit_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let v = field(&pairs, "row_version").trim().parse().ok();
    match plans::submit_plan(&state, &user, id, v).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("{LIST}/{id}"),
            "计划已提交：请按季度填报各项任务的进展",
        )),
        Err(e) => {
            let r = refusal(e)?;
            plan_render(&state, &user, id, FlashIn(None), None, Some(r)).await
        }
    }
}

fn comment_input(pairs: &[(String, String)]) -> CommentInput {
    CommentInput {
        task_id: field(pairs, "task_id").trim().parse().ok(),
        quarter: field(pairs, "quarter").trim().parse().ok(),
        body: field(pairs, "body"),
    }
}

pub(super) async fn comment_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let input = comment_input(&pairs);
    let back = match input.task_id {
        Some(t) => format!("/guidance/tasks/{t}#comments"),
        None => format!("{LIST}/{id}#comments"),
    };
    match plans::add_comment(&state, &user, id, &input).await {
        Ok(_) => Ok(web::redirect_with_flash(&back, "意见已发送")),
        Err(e) => {
            let r = refusal(e)?;
            match input.task_id {
                Some(t) => task_render(&state, &user, t, FlashIn(None), None, Some(r)).await,
                None => plan_render(&state, &user, id, FlashIn(None), None, Some(r)).await,
            }
        }
    }
}

/// A plan as .xlsx: each task with its items, owner, deadline, measure and the four
/// quarters' progress.
pub(super) async fn detail_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    use crate::xlsx::Cell;
    let p = plans::get_plan(&state, &user, id).await?;
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for t in &p.tasks {
        let items: Vec<String> = t
            .item_ids
            .iter()
            .filter_map(|i| p.item(*i))
            .map(|i| format!("{}：{}", i.tag(), i.body))
            .collect();
        let mut row = vec![
            Cell::Int(t.position),
            Cell::text(&t.title),
            Cell::Text(items.join("\n")),
            Cell::text(&t.owner),
            Cell::date_or_text(&t.deadline),
            Cell::text(&t.measure),
        ];
        for q in 1..=4 {
            row.push(Cell::Text(t.quarter(q).map_or(String::new(), |g| {
                format!("{}：{}", g.status.label(), g.body)
            })));
        }
        rows.push(row);
    }
    let bytes = crate::xlsx::write_table(
        "计划任务",
        &[
            "序号",
            "任务",
            "对应目标要求",
            "责任人",
            "完成时限",
            "完成标准",
            "第一季度",
            "第二季度",
            "第三季度",
            "第四季度",
        ],
        &rows,
    )?;
    Ok(crate::xlsx::download(
        &format!("{}{}年度党建工作计划.xlsx", p.info.unit_name, p.info.year),
        bytes,
    ))
}

// ---- one task ----

#[derive(Template)]
#[template(path = "guidance/task.html")]
struct TaskPage {
    ctx: PageCtx,
    p: Plan,
    t: Task,
    can_write: bool,
    can_comment: bool,
    form: TaskForm,
    statuses: Vec<(&'static str, &'static str)>,
    error: Option<String>,
}

impl TaskPage {
    fn quarters(&self) -> [i64; 4] {
        [1, 2, 3, 4]
    }
    fn status_of(&self, q: &i64) -> &'static str {
        self.t.quarter(*q).map_or("", |g| g.status.as_str())
    }
    fn status_label_of(&self, q: &i64) -> &'static str {
        self.t.quarter(*q).map_or("", |g| g.status.label())
    }
    fn body_of(&self, q: &i64) -> String {
        self.t.quarter(*q).map_or(String::new(), |g| g.body.clone())
    }
    fn evidence_of(&self, q: &i64) -> String {
        self.t
            .quarter(*q)
            .map_or(String::new(), |g| g.evidence.clone())
    }
    fn evidence(&self, q: &i64) -> Vec<EvidenceLine> {
        self.t
            .quarter(*q)
            .map(|g| g.evidence_lines())
            .unwrap_or_default()
    }
    fn reported(&self, q: &i64) -> bool {
        self.t.quarter(*q).is_some()
    }
    fn updated(&self, q: &i64) -> String {
        self.t.quarter(*q).map_or(String::new(), |g| {
            format!(
                "{} {}",
                crate::clock::fmt_time(g.updated_at),
                g.updated_by_name.clone().unwrap_or_default()
            )
        })
    }
    fn comments_of(&self, q: Option<i64>) -> Vec<&plans::Comment> {
        self.p
            .comments
            .iter()
            .filter(|c| c.task_id == Some(self.t.task_id) && c.quarter == q)
            .collect()
    }
    /// The committee's comments on a quarter's progress.
    fn quarter_comments(&self, q: &i64) -> Vec<&plans::Comment> {
        self.comments_of(Some(*q))
    }
    /// The committee's comments on the task itself.
    fn task_comments(&self) -> Vec<&plans::Comment> {
        self.comments_of(None)
    }
    fn item_of(&self, id: &i64) -> Option<&Item> {
        self.p.item(*id)
    }
    fn time(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
}

async fn task_render(
    state: &AppState,
    user: &CurrentUser,
    task_id: i64,
    flash: FlashIn,
    form: Option<TaskForm>,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let plan_id: Option<i64> = sqlx::query_scalar(
        "select guidance_plan_id from guidance_task where guidance_task_id = $1",
    )
    .bind(task_id)
    .fetch_optional(&state.db.pool)
    .await?;
    let plan_id = plan_id.ok_or(crate::error::AppError::NotFound)?;
    let p = plans::get_plan(state, user, plan_id).await?;
    let t = p
        .task(task_id)
        .cloned()
        .ok_or(crate::error::AppError::NotFound)?;
    let plan_title = format!("{}{}年度党建工作计划", p.info.unit_name, p.info.year);
    let title = format!("任务{}：{}", t.position, t.title);
    let page = TaskPage {
        ctx: list_ctx(user, &title, &format!("/guidance/tasks/{task_id}"), flash)
            .crumb(plan_title, format!("{LIST}/{plan_id}"))
            .crumb(format!("任务{}", t.position), ""),
        can_write: may_write_plans(user) && user.unit_ids().contains(&p.info.unit_id),
        can_comment: may_comment(user),
        form: form.unwrap_or_else(|| TaskForm::of(&t)),
        statuses: ProgressStatus::options(),
        p,
        t,
        error: error.as_ref().map(|e| e.1.clone()),
    };
    Ok(with_status(web::render(&page)?, error.map(|e| e.0)))
}

pub(super) async fn task_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    task_render(&state, &user, id, flash, None, None).await
}

pub(super) async fn task_save_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (form, input) = TaskForm::read(&pairs);
    match plans::update_task(&state, &user, id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/guidance/tasks/{id}"),
            crate::messages::SAVED,
        )),
        Err(e) => {
            let r = refusal(e)?;
            task_render(&state, &user, id, FlashIn(None), Some(form), Some(r)).await
        }
    }
}

pub(super) async fn task_delete_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let plan_id: Option<i64> = sqlx::query_scalar(
        "select guidance_plan_id from guidance_task where guidance_task_id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?;
    match plans::delete_task(&state, &user, id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("{LIST}/{}#tasks", plan_id.unwrap_or_default()),
            "任务已删除",
        )),
        Err(e) => {
            let r = refusal(e)?;
            task_render(&state, &user, id, FlashIn(None), None, Some(r)).await
        }
    }
}

pub(super) async fn progress_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let quarter: i64 = field(&pairs, "quarter").trim().parse().unwrap_or(0);
    let input = ProgressInput {
        status: field(&pairs, "status"),
        body: field(&pairs, "body"),
        evidence: field(&pairs, "evidence"),
    };
    match plans::save_progress(&state, &user, id, quarter, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/guidance/tasks/{id}#q{quarter}"),
            "进展已保存",
        )),
        Err(e) => {
            let r = refusal(e)?;
            task_render(&state, &user, id, FlashIn(None), None, Some(r)).await
        }
    }
}
