//! Categories (类别) with their requirements (个性要求), and the common goal (共性目标).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Category {
    pub category_id: i64,
    pub code: String,
    pub name: String,
    pub requirement_title: String,
    pub sort_order: i64,
    pub retired: bool,
    pub requirements: Vec<String>,
    pub unit_count: i64,
}

#[derive(sqlx::FromRow)]
struct CategoryRow {
    category_id: i64,
    code: String,
    name: String,
    requirement_title: String,
    sort_order: i64,
    retired: i64,
    unit_count: i64,
}

pub async fn list(state: &AppState) -> AppResult<Vec<Category>> {
    let rows: Vec<CategoryRow> = sqlx::query_as(
        "select c.category_id, c.code, c.name, c.requirement_title, c.sort_order, c.retired, \
         (select count(*) from unit u where u.category_id = c.category_id) as unit_count \
         from category c order by c.retired, c.sort_order, c.category_id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let reqs: Vec<(i64, String)> = sqlx::query_as(
        "select category_id, body from category_requirement order by category_id, sort_order",
    )
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Category {
            requirements: reqs
                .iter()
                .filter(|(c, _)| *c == r.category_id)
                .map(|(_, b)| b.clone())
                .collect(),
            category_id: r.category_id,
            code: r.code,
            name: r.name,
            requirement_title: r.requirement_title,
            sort_order: r.sort_order,
            retired: r.retired != 0,
            unit_count: r.unit_count,
        })
        .collect())
}

pub async fn common_goal(state: &AppState) -> AppResult<Vec<String>> {
    Ok(
        sqlx::query_scalar("select body from common_goal order by sort_order")
            .fetch_all(&state.db.pool)
            .await?,
    )
}

#[derive(Deserialize, ToSchema, Default)]
pub struct CategoryInput {
    pub name: String,
    /// Identifier, lower-case letters and underscores; set once.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub requirement_title: String,
    /// One requirement per line (pages) or per item (API).
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub retired: Option<bool>,
}

/// Sort orders are small numbers: a new category goes after the largest, which must not
/// overflow.
const SORT_ORDER_MAX: i64 = 999_999;

fn validate(input: &CategoryInput) -> AppResult<(String, String, Vec<String>)> {
    let mut errors = FieldErrors::new();
    let name = crate::text::clean_text(&input.name);
    if name.is_empty() || name.chars().count() > 30 {
        errors.insert("name".into(), "请填写类别名称（不超过30字）".into());
    }
    let title = crate::text::clean_text(&input.requirement_title);
    if title.chars().count() > 30 {
        errors.insert("requirement_title".into(), "要求名称不超过30字".into());
    }
    let reqs: Vec<String> = input
        .requirements
        .iter()
        .map(|r| crate::text::clean_text(r))
        .filter(|r| !r.is_empty())
        .collect();
    if reqs.iter().any(|r| r.chars().count() > 200) {
        errors.insert("requirements".into(), "每条要求不超过200字".into());
    }
    if input
        .sort_order
        .is_some_and(|s| !(-SORT_ORDER_MAX..=SORT_ORDER_MAX).contains(&s))
    {
        errors.insert(
            "sort_order".into(),
            format!("排序应为 -{SORT_ORDER_MAX} 至 {SORT_ORDER_MAX} 之间的整数"),
        );
    }
    if errors.is_empty() {
        Ok((name, title, reqs))
    } else {
        Err(AppError::fields(errors))
    }
}

pub async fn create(state: &AppState, user: &CurrentUser, input: CategoryInput) -> AppResult<i64> {
    user.require(user.is_committee())?;
    let (name, title, reqs) = validate(&input)?;
    let code = input
        .code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("category_{}", now()));
    if !code
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(AppError::field(
            "code",
            "标识只能包含小写字母、数字和下划线",
        ));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let sort: i64 = match input.sort_order {
        Some(s) => s,
        None => {
            // Added in Rust: `max + 1` in SQL overflows on a huge stored sort order (one
            // saved before the range above was checked).
            let max: Option<i64> = sqlx::query_scalar("select max(sort_order) from category")
                .fetch_one(tx.conn())
                .await?;
            max.unwrap_or(0).saturating_add(1).min(SORT_ORDER_MAX)
        }
    };
    let id: i64 = sqlx::query_scalar(
        "insert into category (code, name, requirement_title, sort_order, created_at, updated_at) values ($1, $2, $3, $4, $5, $6) returning category_id",
    )
    .bind(code)
    .bind(name.clone())
    .bind(title.clone())
    .bind(sort)
    .bind(t)
    .bind(t)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "name", "该类别名称或标识已存在"))?;
    write_requirements(tx.conn(), id, &reqs).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "category.create",
            "category",
            id,
            format!("新建类别 {name}"),
        )
        .after(
            &serde_json::json!({"name": name, "requirement_title": title, "requirements": reqs}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn write_requirements(
    conn: &mut sqlx::AnyConnection,
    id: i64,
    reqs: &[String],
) -> AppResult<()> {
    sqlx::query("delete from category_requirement where category_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (i, r) in reqs.iter().enumerate() {
        sqlx::query(
            "insert into category_requirement (category_id, sort_order, body) values ($1, $2, $3)",
        )
        .bind(id)
        .bind(i as i64 + 1)
        .bind(r.clone())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn update(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: CategoryInput,
) -> AppResult<()> {
    user.require(user.is_committee())?;
    let (name, title, reqs) = validate(&input)?;
    let before = list(state)
        .await?
        .into_iter()
        .find(|c| c.category_id == id)
        .ok_or(AppError::NotFound)?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update category set name = $1, requirement_title = $2, sort_order = $3, retired = $4, updated_at = $5 where category_id = $6",
    )
    .bind(name.clone())
    .bind(title.clone())
    .bind(input.sort_order.unwrap_or(before.sort_order))
    .bind(i64::from(input.retired.unwrap_or(before.retired)))
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "name", "该类别名称已存在"))?;
    write_requirements(tx.conn(), id, &reqs).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "category.update",
            "category",
            id,
            format!("修改类别 {name}"),
        )
        .before(&before)
        .after(
            &serde_json::json!({"name": name, "requirement_title": title, "requirements": reqs,
                "sort_order": input.sort_order, "retired": input.retired}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- pages ----

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/org/categories", get(page).post(page_create))
        .route("/org/categories/{id}", post(page_update))
}

#[derive(Template)]
#[template(path = "org/categories.html")]
struct CategoriesPage {
    ctx: PageCtx,
    categories: Vec<Category>,
    goal: Vec<String>,
    can_edit: bool,
    error: Option<String>,
}

async fn render_page(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    web::render(&CategoriesPage {
        ctx: PageCtx::new(user, "类别与要求", "/org/categories", flash)
            .crumb("组织体系", "/org/units")
            .crumb("类别与要求", "/org/categories"),
        categories: list(state).await?,
        goal: common_goal(state).await?,
        can_edit: user.is_committee(),
        error,
    })
}

async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    render_page(&state, &user, flash, None).await
}

#[derive(Deserialize)]
struct CategoryForm {
    name: String,
    #[serde(default)]
    requirement_title: String,
    #[serde(default)]
    requirements: String,
    #[serde(default)]
    sort_order: Option<String>,
    #[serde(default)]
    retired: Option<String>,
}

impl CategoryForm {
    fn input(self) -> AppResult<CategoryInput> {
        let sort_order = match self
            .sort_order
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => Some(
                s.parse()
                    .map_err(|_| AppError::field("sort_order", "排序应为整数"))?,
            ),
            None => None,
        };
        Ok(CategoryInput {
            name: self.name,
            code: None,
            requirement_title: self.requirement_title,
            requirements: self.requirements.lines().map(str::to_string).collect(),
            sort_order,
            retired: Some(self.retired.is_some()),
        })
    }
}

fn first_message(e: AppError) -> Result<String, AppError> {
    match e {
        AppError::Invalid { message, fields } => Ok(fields.into_values().next().unwrap_or(message)),
        other => Err(other),
    }
}

async fn page_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<CategoryForm>,
) -> AppResult<Response> {
    let result = match f.input() {
        Ok(input) => create(&state, &user, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(web::redirect_with_flash("/org/categories", "类别已新建")),
        Err(e) => {
            let msg = first_message(e)?;
            Ok(web::invalid(
                render_page(&state, &user, FlashIn(None), Some(msg)).await?,
            ))
        }
    }
}

async fn page_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<CategoryForm>,
) -> AppResult<Response> {
    let result = match f.input() {
        Ok(input) => update(&state, &user, id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(web::redirect_with_flash(
            "/org/categories",
            crate::messages::SAVED,
        )),
        Err(e) => {
            let msg = first_message(e)?;
            Ok(web::invalid(
                render_page(&state, &user, FlashIn(None), Some(msg)).await?,
            ))
        }
    }
}

// ---- API ----

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_update))
        .routes(routes!(api_common_goal))
}

/// Categories with their requirements and unit counts.
#[utoipa::path(get, path = "/categories", tag = "org", responses((status = 200, body = Vec<Category>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<Category>>> {
    user.require(user.is_registry_admin())?;
    Ok(Json(list(&state).await?))
}

/// Create a category (committee only).
#[utoipa::path(post, path = "/categories", tag = "org", request_body = CategoryInput,
    responses((status = 201, body = i64), (status = 422, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<CategoryInput>,
) -> AppResult<(StatusCode, Json<i64>)> {
    Ok((
        StatusCode::CREATED,
        Json(create(&state, &user, input).await?),
    ))
}

/// Rename, reorder, retire a category or edit its requirements (committee only).
#[utoipa::path(put, path = "/categories/{id}", tag = "org", params(("id" = i64, Path)), request_body = CategoryInput,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<CategoryInput>,
) -> AppResult<StatusCode> {
    update(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The common goal every unit is held to (一坚持六着力).
#[utoipa::path(get, path = "/common-goal", tag = "org", responses((status = 200, body = Vec<String>)))]
async fn api_common_goal(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<String>>> {
    user.require(user.is_registry_admin())?;
    Ok(Json(common_goal(&state).await?))
}
