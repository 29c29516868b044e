//! 12345热线's JSON API: the rates of a period, the orders behind them, the import (with its
//! preview) and the imports made, sources, unit aliases — the same store calls and
//! permissions as the pages.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::store::{self, Alias, AliasInput, ImportLine, Outcome, Preview, Source};
use super::views::{self, OrderFilter, OrderLine, Rates, RatesFilter};
use crate::auth::CurrentUser;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use crate::web::{ListPage, Paging};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_rates))
        .routes(routes!(list_orders))
        .routes(routes!(list_imports, create_import))
        .routes(routes!(preview_import))
        .routes(routes!(list_sources))
        .routes(routes!(list_aliases, create_alias))
        .routes(routes!(delete_alias))
}

/// The rates of a period: the city (or the caller's units), categories, units, the monthly
/// trend, the units at the bottom, a unit admin's category distribution.
#[utoipa::path(get, path = "/hotline/rates", tag = "hotline", params(RatesFilter),
    responses((status = 200, body = Rates), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_rates(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<RatesFilter>,
) -> AppResult<Json<Rates>> {
    Ok(Json(views::rates(&state, &user, &f).await?))
}

/// The orders behind a figure: by the month received, due or closed, and a figure's part.
#[utoipa::path(get, path = "/hotline/orders", tag = "hotline", params(OrderFilter),
    responses((status = 200, body = ListPage<OrderLine>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_orders(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<OrderFilter>,
) -> AppResult<Json<ListPage<OrderLine>>> {
    let o = views::orders(&state, &user, &f, false).await?;
    Ok(Json(ListPage {
        items: o.rows,
        total: o.total,
    }))
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ImportUpload {
    /// The export (.xlsx or .csv, at most 20 MB).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
    /// The hotline source's name (a new name makes a new source).
    source: String,
    /// Optional: field key → the column's header, as JSON; the source's saved mapping, or one
    /// guessed from the headers, without it.
    mapping: Option<String>,
}

/// Imports work orders: every row checked, all written or none (422 lists the row errors);
/// an order number already stored is updated.
#[utoipa::path(post, path = "/hotline/imports", tag = "hotline", request_body(content = ImportUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = Outcome), (status = 422, body = Outcome), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn create_import(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    let up = super::pages::read_upload(mp, state.config.max_upload_bytes).await?;
    let r = store::import(&state, &user.actor(), up).await?;
    Ok(match r {
        Outcome::Imported { .. } => Json(r).into_response(),
        Outcome::Rejected { .. } => (StatusCode::UNPROCESSABLE_ENTITY, Json(r)).into_response(),
    })
}

/// The mapping a file would be read with (given, saved for the source, or guessed) and its
/// first rows read through it; nothing is written.
#[utoipa::path(post, path = "/hotline/imports/preview", tag = "hotline", request_body(content = ImportUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = Preview), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview_import(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Json<Preview>> {
    user.require(super::may_import(&user))?;
    let up = super::pages::read_upload(mp, state.config.max_upload_bytes).await?;
    Ok(Json(store::preview(&state, &up).await?))
}

/// The imports made, newest first.
#[utoipa::path(get, path = "/hotline/imports", tag = "hotline", params(Paging),
    responses((status = 200, body = ListPage<ImportLine>), (status = 403, body = ErrorBody)))]
async fn list_imports(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<Paging>,
) -> AppResult<Json<ListPage<ImportLine>>> {
    user.require(super::may_import(&user))?;
    let (items, total) = store::imports(&state, p.per_page(), p.offset()).await?;
    Ok(Json(ListPage { items, total }))
}

/// The hotline sources and their saved column mappings.
#[utoipa::path(get, path = "/hotline/sources", tag = "hotline",
    responses((status = 200, body = Vec<Source>), (status = 403, body = ErrorBody)))]
async fn list_sources(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<Source>>> {
    user.require(super::may_import(&user))?;
    Ok(Json(store::sources(&state).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct AliasQuery {
    /// Part of an alias or a unit's name.
    q: Option<String>,
}

/// The other names units go by in the hotline's exports.
#[utoipa::path(get, path = "/hotline/aliases", tag = "hotline", params(AliasQuery),
    responses((status = 200, body = Vec<Alias>), (status = 403, body = ErrorBody)))]
async fn list_aliases(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AliasQuery>,
) -> AppResult<Json<Vec<Alias>>> {
    user.require(super::may_import(&user))?;
    Ok(Json(store::aliases(&state, q.q.as_deref()).await?))
}

/// Maps a name the hotline writes to a unit of the register.
#[utoipa::path(post, path = "/hotline/aliases", tag = "hotline", request_body = AliasInput,
    responses((status = 201), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_alias(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<AliasInput>,
) -> AppResult<StatusCode> {
    user.require(super::may_import(&user))?;
    store::add_alias(&state, &user.actor(), &input).await?;
    Ok(StatusCode::CREATED)
}

/// Removes an alias (orders already imported keep their unit).
#[utoipa::path(delete, path = "/hotline/aliases/{alias}", tag = "hotline", params(("alias" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_alias(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(alias): Path<String>,
) -> AppResult<StatusCode> {
    user.require(super::may_import(&user))?;
    store::delete_alias(&state, &user.actor(), &alias).await?;
    Ok(StatusCode::NO_CONTENT)
}
