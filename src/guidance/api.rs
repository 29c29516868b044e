//! 分类指导's JSON API: years of items, plans, tasks, progress, comments and the category
//! view, with the same store calls and permissions as the pages.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::plans::{CommentInput, NewPlan, Plan, PlanFilter, PlanLine, ProgressInput, TaskInput};
use super::store::{self, ItemsInput, NewYear, Year, YearInfo};
use super::views::{CategoryFilter, CategorySummary, CategoryView};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::ListPage;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_years, create_year))
        .routes(routes!(get_year, save_year, delete_year))
        .routes(routes!(publish_year))
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan))
        .routes(routes!(submit_plan))
        .routes(routes!(add_task))
        .routes(routes!(update_task, delete_task))
        .routes(routes!(save_progress))
        .routes(routes!(add_comment))
        .routes(routes!(overview))
        .routes(routes!(category_view))
}

/// Years of goal and requirement items, newest first (drafts for the committee only).
#[utoipa::path(get, path = "/guidance/years", tag = "guidance", responses((status = 200, body = ListPage<YearInfo>), (status = 403, body = crate::error::ErrorBody)))]
async fn list_years(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<ListPage<YearInfo>>> {
    let items = store::list_years(&state, &user).await?;
    let total = items.len() as i64;
    Ok(Json(ListPage { items, total }))
}

#[derive(Serialize, ToSchema)]
pub struct YearCreated {
    pub year: i64,
}

/// Make a year's draft: copied from `from_year`, or from the categories' current
/// requirements and the common goal (the committee).
#[utoipa::path(post, path = "/guidance/years", tag = "guidance", request_body = NewYear, responses((status = 201, body = YearCreated), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_year(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<NewYear>,
) -> AppResult<(StatusCode, Json<YearCreated>)> {
    let year = store::create_year(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(YearCreated { year })))
}

/// A year's common goal and category requirements (a unit admin: its own category's).
#[utoipa::path(get, path = "/guidance/years/{year}", tag = "guidance", params(("year" = i64, Path)), responses((status = 200, body = Year), (status = 404, body = crate::error::ErrorBody)))]
async fn get_year(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i64>,
) -> AppResult<Json<Year>> {
    Ok(Json(store::get_year(&state, &user, year).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Saved {
    /// The row version to send with the next write.
    pub row_version: i64,
}

/// Replace a draft year's lists (the committee). A published year is frozen (409); a stale
/// `row_version` is refused (409). A category left out keeps its items.
#[utoipa::path(put, path = "/guidance/years/{year}", tag = "guidance", params(("year" = i64, Path)), request_body = ItemsInput, responses((status = 200, body = Saved), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn save_year(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i64>,
    Json(input): Json<ItemsInput>,
) -> AppResult<Json<Saved>> {
    let row_version = store::save_year(&state, &user, year, &input).await?;
    Ok(Json(Saved { row_version }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// The row version the caller saw; without it, the draft as it is now.
    pub row_version: Option<i64>,
}

/// Delete a draft year (the committee).
#[utoipa::path(delete, path = "/guidance/years/{year}", tag = "guidance", params(("year" = i64, Path), DeleteParams), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
async fn delete_year(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i64>,
    Query(q): Query<DeleteParams>,
) -> AppResult<StatusCode> {
    store::delete_year(&state, &user, year, q.row_version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct VersionInput {
    pub row_version: i64,
}

/// Publish a draft year; from then on it cannot change and units plan against it (the
/// committee).
#[utoipa::path(post, path = "/guidance/years/{year}/publish", tag = "guidance", params(("year" = i64, Path)), request_body = VersionInput, responses((status = 204), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn publish_year(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i64>,
    Json(input): Json<VersionInput>,
) -> AppResult<StatusCode> {
    store::publish_year(&state, &user, year, input.row_version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Units and their plans of a year, under the caller's scope: filtered, sorted, paged.
#[utoipa::path(get, path = "/guidance/plans", tag = "guidance", params(PlanFilter), responses((status = 200, body = ListPage<PlanLine>), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn list_plans(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<PlanFilter>,
) -> AppResult<Json<ListPage<PlanLine>>> {
    Ok(Json(super::plans::list_plans(&state, &user, &f).await?))
}

#[derive(Serialize, ToSchema)]
pub struct PlanCreated {
    pub plan_id: i64,
}

/// Start a unit's plan for a published year (the unit's admin).
#[utoipa::path(post, path = "/guidance/plans", tag = "guidance", request_body = NewPlan, responses((status = 201, body = PlanCreated), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_plan(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<NewPlan>,
) -> AppResult<(StatusCode, Json<PlanCreated>)> {
    let plan_id = super::plans::create_plan(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(PlanCreated { plan_id })))
}

/// A plan at a glance: tasks, their items and quarterly progress, gaps, comments.
#[utoipa::path(get, path = "/guidance/plans/{id}", tag = "guidance", params(("id" = i64, Path)), responses((status = 200, body = Plan), (status = 404, body = crate::error::ErrorBody)))]
async fn get_plan(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Plan>> {
    Ok(Json(super::plans::get_plan(&state, &user, id).await?))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct SubmitInput {
    /// The plan's row version as the caller saw it; without it, the plan as it is now.
    #[serde(default)]
    pub row_version: Option<i64>,
}

/// Submit a draft plan with at least one task (the unit's admin); its tasks are then fixed.
#[utoipa::path(post, path = "/guidance/plans/{id}/submit", tag = "guidance", params(("id" = i64, Path)), request_body = SubmitInput, responses((status = 204), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn submit_plan(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<SubmitInput>,
) -> AppResult<StatusCode> {
    super::plans::submit_plan(&state, &user, id, input.row_version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct TaskCreated {
    pub task_id: i64,
}

/// Add a task to a draft plan (the unit's admin).
#[utoipa::path(post, path = "/guidance/plans/{id}/tasks", tag = "guidance", params(("id" = i64, Path)), request_body = TaskInput, responses((status = 201, body = TaskCreated), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn add_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<TaskInput>,
) -> AppResult<(StatusCode, Json<TaskCreated>)> {
    let task_id = super::plans::add_task(&state, &user, id, &input).await?;
    Ok((StatusCode::CREATED, Json(TaskCreated { task_id })))
}

/// Change a task of a draft plan (the unit's admin).
#[utoipa::path(put, path = "/guidance/tasks/{id}", tag = "guidance", params(("id" = i64, Path)), request_body = TaskInput, responses((status = 204), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<TaskInput>,
) -> AppResult<StatusCode> {
    super::plans::update_task(&state, &user, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a task of a draft plan (the unit's admin).
#[utoipa::path(delete, path = "/guidance/tasks/{id}", tag = "guidance", params(("id" = i64, Path)), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
async fn delete_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    super::plans::delete_task(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Report (or correct) a task's progress for a quarter (1..4) of a submitted plan (the
/// unit's admin).
#[utoipa::path(put, path = "/guidance/tasks/{id}/progress/{quarter}", tag = "guidance", params(("id" = i64, Path), ("quarter" = i64, Path)), request_body = ProgressInput, responses((status = 204), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn save_progress(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, quarter)): Path<(i64, i64)>,
    Json(input): Json<ProgressInput>,
) -> AppResult<StatusCode> {
    super::plans::save_progress(&state, &user, id, quarter, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct CommentCreated {
    pub comment_id: i64,
}

/// Comment on a plan, one of its tasks or a task's quarter (the committee).
#[utoipa::path(post, path = "/guidance/plans/{id}/comments", tag = "guidance", params(("id" = i64, Path)), request_body = CommentInput, responses((status = 201, body = CommentCreated), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn add_comment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<CommentInput>,
) -> AppResult<(StatusCode, Json<CommentCreated>)> {
    let comment_id = super::plans::add_comment(&state, &user, id, &input).await?;
    Ok((StatusCode::CREATED, Json(CommentCreated { comment_id })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearParam {
    /// This year without it.
    pub year: Option<String>,
}

/// Every category's plans and gaps for a year (the committee).
#[utoipa::path(get, path = "/guidance/categories", tag = "guidance", params(YearParam), responses((status = 200, body = Vec<CategorySummary>), (status = 403, body = crate::error::ErrorBody)))]
async fn overview(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<YearParam>,
) -> AppResult<Json<Vec<CategorySummary>>> {
    let mut errors = FieldErrors::new();
    let year = super::plans::year_param(&mut errors, q.year.as_deref());
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    Ok(Json(super::views::overview(&state, &user, year).await?))
}

/// A category's requirements and the common goal of a year, with a page of its units' tasks
/// and latest progress under each item, and their gaps (the committee).
#[utoipa::path(get, path = "/guidance/categories/{id}", tag = "guidance", params(("id" = i64, Path), CategoryFilter), responses((status = 200, body = CategoryView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn category_view(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(f): Query<CategoryFilter>,
) -> AppResult<Json<CategoryView>> {
    Ok(Json(
        super::views::category_view(&state, &user, id, &f).await?,
    ))
}
