//! Units (机关党组织): each classed into one category at a time, with history.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct UnitRow {
    pub unit_id: i64,
    pub name: String,
    pub short_name: String,
    pub category_id: i64,
    pub category_name: String,
    pub sort_order: i64,
    pub org_count: i64,
    pub branch_count: i64,
    pub member_count: i64,
    /// Active members registered under a 党委/党总支, awaiting a branch (待编入).
    pub awaiting_count: i64,
}

#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UnitFilter {
    /// Name contains.
    pub q: Option<String>,
    pub category_id: Option<String>,
    /// name | category | members
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The unit list's orders: `(key, label)`.
pub const SORTS: &[(&str, &str)] = &[
    ("category", "按类别"),
    ("name", "按名称"),
    ("members", "按党员数"),
];

impl UnitFilter {
    /// An unknown sort or a category that is not a number is refused, not ignored.
    pub fn check(&self) -> AppResult<()> {
        let mut errors = crate::error::FieldErrors::new();
        web::check_choice(&mut errors, "sort", "排序方式", self.sort.as_deref(), SORTS);
        web::check_id(
            &mut errors,
            "category_id",
            "类别",
            self.category_id.as_deref(),
        );
        web::filter_checked(errors)
    }

    fn category(&self) -> Option<i64> {
        self.category_id
            .as_deref()
            .and_then(|v| v.trim().parse().ok())
    }
    fn paging(&self) -> Paging {
        Paging {
            page: self.page,
            per_page: self.per_page,
        }
    }
    fn query_string(&self) -> String {
        web::query_string(&[
            ("q", self.q.clone().unwrap_or_default()),
            (
                "category_id",
                self.category().map(|v| v.to_string()).unwrap_or_default(),
            ),
            ("sort", self.sort.clone().unwrap_or_default()),
        ])
    }
}

const UNIT_SELECT: &str = "select u.unit_id, u.name, u.short_name, u.category_id, c.name as category_name, u.sort_order, \
     (select count(*) from org o where o.unit_id = u.unit_id) as org_count, \
     (select count(*) from org o where o.unit_id = u.unit_id and o.kind = 'branch') as branch_count, \
     (select count(*) from member m where m.unit_id = u.unit_id and m.status = 'active') as member_count, \
     (select count(*) from member m join org o on o.org_id = m.branch_id where m.unit_id = u.unit_id \
      and m.status = 'active' and o.kind <> 'branch') as awaiting_count \
     from unit u join category c on c.category_id = u.category_id where ";

fn filtered(user: &CurrentUser, f: &UnitFilter, select: &str) -> Sql {
    let mut sql = Sql::new(select);
    user.scope().unit_condition(&mut sql);
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        sql.push(" and (u.name like ")
            .bind(format!("%{q}%"))
            .push(" or u.short_name like ")
            .bind(format!("%{q}%"))
            .push(")");
    }
    if let Some(c) = f.category() {
        sql.push(" and u.category_id = ").bind(c);
    }
    sql
}

pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    f: &UnitFilter,
    all: bool,
) -> AppResult<(Vec<UnitRow>, i64)> {
    user.require(user.is_registry_admin())?;
    f.check()?;
    let mut sql = filtered(user, f, UNIT_SELECT);
    sql.push(match f.sort.as_deref() {
        Some("name") => " order by u.name",
        Some("members") => " order by member_count desc, u.sort_order",
        _ => " order by c.sort_order, u.sort_order, u.unit_id",
    });
    if !all {
        let p = f.paging();
        sql.push(" limit ")
            .bind(p.per_page())
            .push(" offset ")
            .bind(p.offset());
    }
    // Each row counts its orgs and members: remembered per registry version, like the total.
    let cache = state.ext::<crate::db::QueryCache>();
    let rows = cache
        .rows::<UnitRow>(&state.db, "registry", &sql)
        .await?
        .as_ref()
        .clone();
    let count = filtered(
        user,
        f,
        "select count(*) from unit u join category c on c.category_id = u.category_id where ",
    );
    let total = cache.count(&state.db, "registry", &count).await?;
    Ok((rows, total))
}

pub async fn get_unit(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<UnitRow> {
    user.require(user.is_registry_admin())?;
    if !user.scope().sees_unit(id) {
        return Err(AppError::NotFound);
    }
    let mut sql = Sql::new(UNIT_SELECT);
    sql.push("u.unit_id = ").bind(id);
    sql.fetch_all::<UnitRow>(&state.db.pool)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct CategoryChange {
    pub category_name: String,
    pub effective_on: String,
    pub reason: String,
    pub created_at: i64,
}

pub async fn history(state: &AppState, id: i64) -> AppResult<Vec<CategoryChange>> {
    Ok(sqlx::query_as(
        "select c.name as category_name, h.effective_on, h.reason, h.created_at from unit_category_history h \
         join category c on c.category_id = h.category_id where h.unit_id = $1 order by h.effective_on desc, h.unit_category_history_id desc",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UnitInput {
    pub name: String,
    #[serde(default)]
    pub short_name: String,
    pub category_id: i64,
    #[serde(default)]
    pub sort_order: Option<i64>,
    /// When the category takes effect (defaults to today).
    #[serde(default)]
    #[schema(format = Date)]
    pub effective_on: Option<String>,
}

async fn category_exists(state: &AppState, id: i64) -> AppResult<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "select category_id from category where category_id = $1 and retired = 0",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?
    .is_some())
}

fn validate_names(input: &UnitInput, errors: &mut FieldErrors) -> (String, String) {
    let name = crate::text::clean_text(&input.name);
    if name.is_empty() || name.chars().count() > 60 {
        errors.insert("name".into(), "请填写机关党组织名称（不超过60字）".into());
    }
    let short = crate::text::clean_text(&input.short_name);
    if short.chars().count() > 30 {
        errors.insert("short_name".into(), "简称不超过30字".into());
    }
    (name, short)
}

pub async fn create(state: &AppState, user: &CurrentUser, input: UnitInput) -> AppResult<i64> {
    user.require(user.is_committee())?;
    let mut errors = FieldErrors::new();
    let (name, short) = validate_names(&input, &mut errors);
    if !category_exists(state, input.category_id).await? {
        errors.insert("category_id".into(), "请选择有效的类别".into());
    }
    let effective = crate::text::format_date(
        super::opt_date(&input.effective_on, "effective_on", &mut errors)
            .unwrap_or_else(crate::clock::today),
    );
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into unit (name, short_name, category_id, sort_order, created_at, updated_at) values ($1, $2, $3, $4, $5, $6) returning unit_id",
    )
    .bind(name.clone())
    .bind(short.clone())
    .bind(input.category_id)
    .bind(input.sort_order.unwrap_or(0))
    .bind(t)
    .bind(t)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "name", "该机关党组织名称已存在"))?;
    sqlx::query(
        "insert into unit_category_history (unit_id, category_id, effective_on, reason, created_by, created_at) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(input.category_id)
    .bind(effective)
    .bind("新建")
    .bind(user.user_id)
    .bind(t)
    .execute(tx.conn())
    .await?;
    tx.audit(&user.actor(),
        Entry::new("unit.create", "unit", id, format!("新建机关党组织 {name}"))
            .after(&serde_json::json!({"name": name, "short_name": short, "category_id": input.category_id})),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CategoryChangeInput {
    pub category_id: i64,
    #[schema(format = Date)]
    pub effective_on: Option<String>,
    #[serde(default)]
    pub reason: String,
}

pub async fn update(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: UnitInput,
) -> AppResult<()> {
    user.require(user.is_committee())?;
    let before = get_unit(state, user, id).await?;
    let mut errors = FieldErrors::new();
    let (name, short) = validate_names(&input, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("update unit set name = $1, short_name = $2, sort_order = $3, updated_at = $4 where unit_id = $5")
        .bind(name.clone())
        .bind(short.clone())
        .bind(input.sort_order.unwrap_or(before.sort_order))
        .bind(now())
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(|e| crate::error::on_unique(e, "name", "该机关党组织名称已存在"))?;
    tx.audit(
        &user.actor(),
        Entry::new("unit.update", "unit", id, format!("修改机关党组织 {name}"))
            .before(&before)
            .after(&serde_json::json!({"name": name, "short_name": short})),
    )
    .await?;
    tx.commit().await?;
    if input.category_id != before.category_id {
        change_category(
            state,
            user,
            id,
            CategoryChangeInput {
                category_id: input.category_id,
                effective_on: input.effective_on,
                reason: String::new(),
            },
        )
        .await?;
    }
    Ok(())
}

/// Moves a unit to another category from a date, keeping the history.
pub async fn change_category(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: CategoryChangeInput,
) -> AppResult<()> {
    user.require(user.is_committee())?;
    let before = get_unit(state, user, id).await?;
    let mut errors = FieldErrors::new();
    if !category_exists(state, input.category_id).await? {
        errors.insert("category_id".into(), "请选择有效的类别".into());
    }
    let effective = crate::text::format_date(
        super::opt_date(&input.effective_on, "effective_on", &mut errors)
            .unwrap_or_else(crate::clock::today),
    );
    let reason = crate::text::clean_text(&input.reason);
    if reason.chars().count() > 200 {
        errors.insert("reason".into(), "调整原因不超过200字".into());
    }
    if input.category_id == before.category_id {
        errors.insert("category_id".into(), "新类别与当前类别相同".into());
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("update unit set category_id = $1, updated_at = $2 where unit_id = $3")
        .bind(input.category_id)
        .bind(t)
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "insert into unit_category_history (unit_id, category_id, effective_on, reason, created_by, created_at) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(input.category_id)
    .bind(effective.clone())
    .bind(reason.clone())
    .bind(user.user_id)
    .bind(t)
    .execute(tx.conn())
    .await?;
    tx.audit(&user.actor(),
        Entry::new("unit.category_change", "unit", id, format!("{} 调整类别", before.name))
            .before(&serde_json::json!({"category_id": before.category_id, "category": before.category_name}))
            .after(&serde_json::json!({"category_id": input.category_id, "effective_on": effective, "reason": reason})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn export(state: &AppState, user: &CurrentUser, f: &UnitFilter) -> AppResult<Vec<u8>> {
    let (rows, _) = list(state, user, f, true).await?;
    use crate::xlsx::Cell;
    let data: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|u| {
            vec![
                Cell::Text(u.name),
                Cell::Text(u.short_name),
                Cell::Text(u.category_name),
                Cell::Int(u.branch_count),
                Cell::Int(u.org_count),
                Cell::Int(u.member_count),
            ]
        })
        .collect();
    crate::xlsx::write_table(
        "机关党组织",
        &["名称", "简称", "类别", "党支部数", "党组织数", "在册党员数"],
        &data,
    )
}

// ---- pages ----

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/org/units", get(list_page).post(create_page))
        .route("/org/units/export", get(export_page))
        .route("/org/units/new", get(new_page))
        .route("/org/units/{id}", get(detail_page).post(update_page))
        .route("/org/units/{id}/category", post(category_page))
}

#[derive(Template)]
#[template(path = "org/units.html")]
struct UnitsPage {
    ctx: PageCtx,
    rows: Vec<UnitRow>,
    pager: Pager,
    q: String,
    category_id: Option<i64>,
    sort: String,
    categories: Vec<super::categories::Category>,
    can_create: bool,
    export_query: String,
}

async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<UnitFilter>,
) -> AppResult<Response> {
    let (rows, total) = list(&state, &user, &f, false).await?;
    let qs = f.query_string();
    web::render(&UnitsPage {
        ctx: PageCtx::new(&user, "机关党组织", "/org/units", flash)
            .crumb("组织体系", "/org/units")
            .crumb("机关党组织", "/org/units"),
        pager: Pager::new(&f.paging(), total, "/org/units", &qs),
        rows,
        q: f.q.clone().unwrap_or_default(),
        category_id: f.category(),
        sort: f.sort.clone().unwrap_or_default(),
        categories: super::categories::list(&state).await?,
        can_create: user.is_committee(),
        export_query: qs,
    })
}

async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<UnitFilter>,
) -> AppResult<Response> {
    let bytes = export(&state, &user, &f).await?;
    Ok(crate::xlsx::download("机关党组织.xlsx", bytes))
}

#[derive(Template)]
#[template(path = "org/unit_form.html")]
struct UnitForm {
    ctx: PageCtx,
    action: String,
    name: String,
    short_name: String,
    category_id: i64,
    sort_order: i64,
    categories: Vec<super::categories::Category>,
    errors: FieldErrors,
    is_new: bool,
}

impl UnitForm {
    fn err(&self, f: &str) -> String {
        self.errors.get(f).cloned().unwrap_or_default()
    }
}

async fn new_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    user.require(user.is_committee())?;
    web::render(&UnitForm {
        ctx: PageCtx::new(&user, "新建机关党组织", "/org/units", flash)
            .crumb("机关党组织", "/org/units")
            .crumb("新建", "/org/units/new"),
        action: "/org/units".into(),
        name: String::new(),
        short_name: String::new(),
        category_id: 0,
        sort_order: 0,
        categories: super::categories::list(&state).await?,
        errors: FieldErrors::new(),
        is_new: true,
    })
}

#[derive(Deserialize)]
struct UnitFormData {
    name: String,
    #[serde(default)]
    short_name: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    sort_order: String,
}

impl UnitFormData {
    fn input(&self) -> UnitInput {
        UnitInput {
            name: self.name.clone(),
            short_name: self.short_name.clone(),
            category_id: self.category_id.trim().parse().unwrap_or(0),
            sort_order: self.sort_order.trim().parse().ok(),
            effective_on: None,
        }
    }
}

async fn form_error(
    state: &AppState,
    user: &CurrentUser,
    f: &UnitFormData,
    action: String,
    is_new: bool,
    e: AppError,
) -> AppResult<Response> {
    let errors = match e {
        AppError::Invalid { fields, .. } => fields,
        other => return Err(other),
    };
    web::render_invalid(&UnitForm {
        ctx: PageCtx::new(
            user,
            if is_new {
                "新建机关党组织"
            } else {
                "编辑机关党组织"
            },
            "/org/units",
            FlashIn(None),
        )
        .crumb("机关党组织", "/org/units"),
        action,
        name: f.name.clone(),
        short_name: f.short_name.clone(),
        category_id: f.category_id.trim().parse().unwrap_or(0),
        sort_order: f.sort_order.trim().parse().unwrap_or(0),
        categories: super::categories::list(state).await?,
        errors,
        is_new,
    })
}

async fn create_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<UnitFormData>,
) -> AppResult<Response> {
    match create(&state, &user, f.input()).await {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("/org/units/{id}"),
            "机关党组织已新建",
        )),
        Err(e) => form_error(&state, &user, &f, "/org/units".into(), true, e).await,
    }
}

async fn update_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<UnitFormData>,
) -> AppResult<Response> {
    let mut input = f.input();
    // The edit form does not move categories: that has its own form with a date and reason.
    input.category_id = get_unit(&state, &user, id).await?.category_id;
    match update(&state, &user, id, input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/units/{id}"),
            crate::messages::SAVED,
        )),
        Err(e) => form_error(&state, &user, &f, format!("/org/units/{id}"), false, e).await,
    }
}

#[derive(Template)]
#[template(path = "org/unit_detail.html")]
struct UnitDetail {
    ctx: PageCtx,
    unit: UnitRow,
    history: Vec<CategoryChange>,
    tree: Vec<super::orgs::TreeNode>,
    categories: Vec<super::categories::Category>,
    can_edit: bool,
    error: Option<String>,
}

async fn detail(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    let unit = get_unit(state, user, id).await?;
    web::render(&UnitDetail {
        ctx: PageCtx::new(user, &unit.name, "/org/units", flash)
            .crumb("机关党组织", "/org/units")
            .crumb(unit.name.clone(), format!("/org/units/{id}")),
        history: history(state, id).await?,
        tree: super::orgs::tree_for_unit(state, id).await?,
        categories: super::categories::list(state).await?,
        can_edit: user.is_committee(),
        unit,
        error,
    })
}

async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail(&state, &user, id, flash, None).await
}

#[derive(Deserialize)]
struct CategoryForm {
    category_id: String,
    #[serde(default)]
    effective_on: Option<String>,
    #[serde(default)]
    reason: String,
}

async fn category_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<CategoryForm>,
) -> AppResult<Response> {
    let input = CategoryChangeInput {
        category_id: f.category_id.trim().parse().unwrap_or(0),
        effective_on: f.effective_on,
        reason: f.reason,
    };
    match change_category(&state, &user, id, input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/units/{id}"),
            "类别已调整",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            Ok(web::invalid(
                detail(&state, &user, id, FlashIn(None), Some(msg)).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

// ---- API ----

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_update))
        .routes(routes!(api_change_category))
}

/// Units in the caller's scope.
#[utoipa::path(get, path = "/units", tag = "org", params(UnitFilter), responses((status = 200, body = crate::web::ListPage<UnitRow>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<UnitFilter>,
) -> AppResult<Json<crate::web::ListPage<UnitRow>>> {
    let (items, total) = list(&state, &user, &f, false).await?;
    Ok(Json(crate::web::ListPage { items, total }))
}

/// Create a unit (committee only).
#[utoipa::path(post, path = "/units", tag = "org", request_body = UnitInput, responses((status = 201, body = i64), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<UnitInput>,
) -> AppResult<(StatusCode, Json<i64>)> {
    Ok((
        StatusCode::CREATED,
        Json(create(&state, &user, input).await?),
    ))
}

/// One unit.
#[utoipa::path(get, path = "/units/{id}", tag = "org", params(("id" = i64, Path)), responses((status = 200, body = UnitRow), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<UnitRow>> {
    Ok(Json(get_unit(&state, &user, id).await?))
}

/// Update a unit's names; a different category_id moves it from today (committee only).
#[utoipa::path(put, path = "/units/{id}", tag = "org", params(("id" = i64, Path)), request_body = UnitInput, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
async fn api_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<UnitInput>,
) -> AppResult<StatusCode> {
    update(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move a unit to another category from a date, with a reason (committee only).
#[utoipa::path(post, path = "/units/{id}/category", tag = "org", params(("id" = i64, Path)), request_body = CategoryChangeInput, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
async fn api_change_category(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<CategoryChangeInput>,
) -> AppResult<StatusCode> {
    change_category(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}
