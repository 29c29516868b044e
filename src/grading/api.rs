//! 分级定档's JSON API: the standard's versions, with the same store calls and permissions
//! as the pages.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::store::{self, ContentInput, CopyInput, Standard, StandardFilter, StandardInfo};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::ListPage;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_copy))
        .routes(routes!(api_get, api_save, api_delete))
        .routes(routes!(api_publish))
}

/// Versions of the grading standard, newest first (drafts for the committee only).
#[utoipa::path(get, path = "/grading/standards", tag = "grading", params(StandardFilter), responses((status = 200, body = ListPage<StandardInfo>), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<StandardFilter>,
) -> AppResult<Json<ListPage<StandardInfo>>> {
    let items = store::list(&state, &user, &f).await?;
    let total = items.len() as i64;
    Ok(Json(ListPage { items, total }))
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub standard_id: i64,
}

/// Copy a version into a new draft for a year (the committee).
#[utoipa::path(post, path = "/grading/standards", tag = "grading", request_body = CopyInput, responses((status = 201, body = Created), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_copy(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<CopyInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let standard_id = store::copy(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { standard_id })))
}

/// A version with its dimensions, criteria, tier thresholds and vetoes.
#[utoipa::path(get, path = "/grading/standards/{id}", tag = "grading", params(("id" = i64, Path)), responses((status = 200, body = Standard), (status = 404, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Standard>> {
    Ok(Json(store::get(&state, &user, id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Saved {
    /// The row version to send with the next write.
    pub row_version: i64,
}

/// Replace a draft's content (the committee). A published version is frozen (409); a
/// `row_version` other than the draft's own means someone changed it since (409).
#[utoipa::path(put, path = "/grading/standards/{id}", tag = "grading", params(("id" = i64, Path)), request_body = ContentInput, responses((status = 200, body = Saved), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ContentInput>,
) -> AppResult<Json<Saved>> {
    let row_version = store::save(&state, &user, id, &input).await?;
    Ok(Json(Saved { row_version }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// The row version the caller saw; without it, the draft as it is now.
    pub row_version: Option<i64>,
}

/// Delete a draft (the committee).
#[utoipa::path(delete, path = "/grading/standards/{id}", tag = "grading", params(("id" = i64, Path), DeleteParams), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<DeleteParams>,
) -> AppResult<StatusCode> {
    store::delete(&state, &user, id, q.row_version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct PublishInput {
    pub row_version: i64,
}

/// Check a draft and publish it; from then on it cannot change (the committee).
#[utoipa::path(post, path = "/grading/standards/{id}/publish", tag = "grading", params(("id" = i64, Path)), request_body = PublishInput, responses((status = 204), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<PublishInput>,
) -> AppResult<StatusCode> {
    store::publish(&state, &user, id, input.row_version).await?;
    Ok(StatusCode::NO_CONTENT)
}
