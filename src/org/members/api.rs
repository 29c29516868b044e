//! 党员 API: the same operations as the pages, with the same permissions.

use super::pages::*;
use super::rules::*;
use super::store::*;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_update))
        .routes(routes!(api_transfer))
        .routes(routes!(api_transfers))
        .routes(routes!(api_export))
}

/// The filtered member list as .xlsx; `unmasked=1` (registry admins, audited) for full ID numbers.
#[utoipa::path(get, path = "/members/export", tag = "org", params(MemberFilter, ("unmasked" = Option<String>, Query)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 403, body = crate::error::ErrorBody)))]
pub(super) async fn api_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    export_page(State(state), user, Query(q)).await
}

/// Members in the caller's scope, masked.
#[utoipa::path(get, path = "/members", tag = "org", params(MemberFilter), responses((status = 200, body = crate::web::ListPage<Member>), (status = 403, body = crate::error::ErrorBody)))]
pub(super) async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MemberFilter>,
) -> AppResult<Json<crate::web::ListPage<Member>>> {
    let (items, total) = list(&state, &user, &f, false).await?;
    Ok(Json(crate::web::ListPage {
        items: items.into_iter().map(Member::masked).collect(),
        total,
    }))
}

/// Register a member.
#[utoipa::path(post, path = "/members", tag = "org", request_body = MemberInput, responses((status = 201, body = i64), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<MemberInput>,
) -> AppResult<(StatusCode, Json<i64>)> {
    Ok((
        StatusCode::CREATED,
        Json(create(&state, &user, input).await?),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct GetQuery {
    /// true: full ID number and phone (registry admins only; audited).
    pub unmask: Option<bool>,
}

/// One member; masked unless `unmask=true`.
#[utoipa::path(get, path = "/members/{id}", tag = "org", params(("id" = i64, Path), GetQuery), responses((status = 200, body = Member), (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn api_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<GetQuery>,
) -> AppResult<Json<Member>> {
    if q.unmask == Some(true) {
        return Ok(Json(unmask(&state, &user, id).await?));
    }
    Ok(Json(get_member(&state, &user, id).await?.masked()))
}

/// Update a member's fields (not the branch: see transfer).
#[utoipa::path(put, path = "/members/{id}", tag = "org", params(("id" = i64, Path)), request_body = MemberInput, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn api_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<MemberInput>,
) -> AppResult<StatusCode> {
    update(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Transfer a member to another branch.
#[utoipa::path(post, path = "/members/{id}/transfer", tag = "org", params(("id" = i64, Path)), request_body = TransferInput, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn api_transfer(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<TransferInput>,
) -> AppResult<StatusCode> {
    transfer(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's transfer history.
#[utoipa::path(get, path = "/members/{id}/transfers", tag = "org", params(("id" = i64, Path)), responses((status = 200, body = Vec<Transfer>)))]
pub(super) async fn api_transfers(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Transfer>>> {
    get_member(&state, &user, id).await?;
    Ok(Json(transfers(&state, id).await?))
}
