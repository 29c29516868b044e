//! The org tree API: the same operations as the pages, with the same permissions.

use super::pages::*;
use super::store::*;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{ListPage, Paging};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_tree, api_create))
        .routes(routes!(api_get, api_update, api_delete))
        .routes(routes!(api_officers, api_set_officers))
}

/// The org tree in the caller's scope, depth-first (optionally one unit), a page at a time
/// (`per_page` up to 200, default 100): the city's tree is thousands of orgs.
#[utoipa::path(get, path = "/orgs", tag = "org", params(TreeQuery, Paging), responses((status = 200, body = ListPage<TreeNode>), (status = 403, body = crate::error::ErrorBody)))]
pub(super) async fn api_tree(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<TreeQuery>,
    Query(p): Query<Paging>,
) -> AppResult<Json<ListPage<TreeNode>>> {
    user.require(user.is_registry_admin() || user.has(crate::auth::Role::Branch))?;
    let all = tree_shared(&state, &user.scope(), q.unit()).await?;
    let p = Paging {
        per_page: Some(p.per_page.unwrap_or(100)),
        ..p
    };
    Ok(Json(ListPage {
        total: all.len() as i64,
        items: all
            .iter()
            .skip(usize::try_from(p.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(p.per_page()).unwrap_or(0))
            .cloned()
            .collect(),
    }))
}

/// Create an org under a unit (committee, or the unit's admin).
#[utoipa::path(post, path = "/orgs", tag = "org", request_body = OrgInput, responses((status = 201, body = i64), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<OrgInput>,
) -> AppResult<(StatusCode, Json<i64>)> {
    Ok((
        StatusCode::CREATED,
        Json(create(&state, &user, input).await?),
    ))
}

/// One org.
#[utoipa::path(get, path = "/orgs/{id}", tag = "org", params(("id" = i64, Path)), responses((status = 200, body = Org), (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn api_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Org>> {
    Ok(Json(get_org(&state, &user, id).await?))
}

/// Update an org.
#[utoipa::path(put, path = "/orgs/{id}", tag = "org", params(("id" = i64, Path)), request_body = OrgInput, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn api_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<OrgInput>,
) -> AppResult<StatusCode> {
    update(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete an empty org.
#[utoipa::path(delete, path = "/orgs/{id}", tag = "org", params(("id" = i64, Path)), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub(super) async fn api_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The officers of an org's current term.
#[utoipa::path(get, path = "/orgs/{id}/officers", tag = "org", params(("id" = i64, Path)), responses((status = 200, body = Vec<Officer>)))]
pub(super) async fn api_officers(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Officer>>> {
    get_org(&state, &user, id).await?;
    Ok(Json(officers(&state, id).await?))
}

/// Replace the officers of an org's current term.
#[utoipa::path(put, path = "/orgs/{id}/officers", tag = "org", params(("id" = i64, Path)), request_body = Vec<OfficerInput>, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn api_set_officers(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(list): Json<Vec<OfficerInput>>,
) -> AppResult<StatusCode> {
    set_officers(&state, &user, id, list).await?;
    Ok(StatusCode::NO_CONTENT)
}
