//! The import API: the same operations as the pages, with the same permissions.

use super::pages::*;
use super::rules::*;
use super::store::*;

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_import_members))
        .routes(routes!(api_import_orgs))
        .routes(routes!(api_template))
}

/// The import template (`members` or `orgs`) as .xlsx.
#[utoipa::path(get, path = "/import/template/{kind}", tag = "org", params(("kind" = String, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn api_template(
    user: CurrentUser,
    path: axum::extract::Path<String>,
) -> AppResult<Response> {
    template_page(user, path).await
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct Upload {
    /// The .xlsx file (at most 20 MB).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

pub(super) fn api_outcome(r: Outcome) -> Response {
    match r {
        Outcome::Imported { .. } => Json(r).into_response(),
        Outcome::Rejected { .. } => (StatusCode::UNPROCESSABLE_ENTITY, Json(r)).into_response(),
    }
}

/// Import members from .xlsx (multipart field `file`): all rows or none; 422 lists row errors.
#[utoipa::path(post, path = "/import/members", tag = "org", request_body(content = Upload, content_type = "multipart/form-data"),
    responses((status = 200, body = Outcome), (status = 422, body = Outcome), (status = 413, body = crate::error::ErrorBody)))]
pub(super) async fn api_import_members(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let bytes = read_upload(mp, state.config.max_upload_bytes).await?;
    Ok(api_outcome(
        import_members(&state, &user.actor(), &user.scope(), &bytes).await?,
    ))
}

/// Import units and orgs from .xlsx (multipart field `file`): all rows or none.
#[utoipa::path(post, path = "/import/orgs", tag = "org", request_body(content = Upload, content_type = "multipart/form-data"),
    responses((status = 200, body = Outcome), (status = 422, body = Outcome), (status = 413, body = crate::error::ErrorBody)))]
pub(super) async fn api_import_orgs(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let bytes = read_upload(mp, state.config.max_upload_bytes).await?;
    Ok(api_outcome(
        import_orgs(&state, &user.actor(), &user.scope(), &bytes).await?,
    ))
}
