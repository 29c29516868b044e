//! The 三个百分百 API: the same operations as the pages, with the same permissions.

use super::pages::*;
use super::store::*;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_overview))
        .routes(routes!(api_election))
        .routes(routes!(api_extension))
        .routes(routes!(api_terms))
}

/// The three 100% rates by category and for the city, with one page of the findings that
/// match the filter (`findings_total` counts them all).
#[utoipa::path(get, path = "/establishment", tag = "org", params(FindingFilter), responses((status = 200, body = Overview), (status = 403, body = crate::error::ErrorBody)))]
pub(super) async fn api_overview(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<FindingFilter>,
) -> AppResult<Json<Overview>> {
    let (mut o, all) = overview(&state, &user).await?;
    let findings = filtered(&state, &all.findings, &f).await?;
    o.findings_total = findings.len() as i64;
    o.findings = page_of(findings, &f.paging());
    Ok(Json(o))
}

/// Record an election: closes the current term into the history and opens the next.
#[utoipa::path(post, path = "/orgs/{id}/elections", tag = "org", params(("id" = i64, Path)), request_body = ElectionInput, responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn api_election(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ElectionInput>,
) -> AppResult<StatusCode> {
    record_election(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record an approved extension of the current term (at most one year).
#[utoipa::path(post, path = "/orgs/{id}/extension", tag = "org", params(("id" = i64, Path)), request_body = ExtensionInput, responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn api_extension(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ExtensionInput>,
) -> AppResult<StatusCode> {
    extend_term(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The org's past terms, newest first.
#[utoipa::path(get, path = "/orgs/{id}/terms", tag = "org", params(("id" = i64, Path)), responses((status = 200, body = Vec<PastTerm>), (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn api_terms(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<PastTerm>>> {
    Ok(Json(past_terms(&state, &user, id).await?))
}
