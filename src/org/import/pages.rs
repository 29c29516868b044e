//! 批量导入 pages: upload, result with row errors, templates.

use super::rules::*;
use super::store::*;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/org/import", get(page))
        .route("/org/import/members", post(members_page))
        .route("/org/import/orgs", post(orgs_page))
        .route("/org/import/template/{kind}", get(template_page))
}

#[derive(Template)]
#[template(path = "org/import.html")]
pub(super) struct ImportPage {
    ctx: PageCtx,
    can_orgs: bool,
    result: Option<ImportResult>,
}

pub(super) struct ImportResult {
    what: &'static str,
    ok: Option<(usize, usize, usize)>,
    errors: Vec<RowError>,
    total_errors: usize,
    message: Option<String>,
    report: Option<String>,
}

pub(super) fn render_page(
    user: &CurrentUser,
    flash: FlashIn,
    result: Option<ImportResult>,
) -> AppResult<Response> {
    web::render(&ImportPage {
        ctx: PageCtx::new(user, "批量导入", "/org/import", flash)
            .crumb("组织体系", "/org/units")
            .crumb("批量导入", "/org/import"),
        can_orgs: user.is_registry_admin(),
        result,
    })
}

pub(super) async fn page(user: CurrentUser, flash: FlashIn) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    render_page(&user, flash, None)
}

pub(super) fn result_of(
    what: &'static str,
    r: AppResult<Outcome>,
) -> AppResult<(StatusCode, ImportResult)> {
    Ok(match r {
        Ok(Outcome::Imported {
            created,
            updated,
            unchanged,
        }) => (
            StatusCode::OK,
            ImportResult {
                what,
                ok: Some((created, updated, unchanged)),
                errors: Vec::new(),
                total_errors: 0,
                message: None,
                report: None,
            },
        ),
        Ok(Outcome::Rejected { errors, .. }) => {
            let report = error_report(&errors)?;
            let total = errors.len();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                ImportResult {
                    what,
                    ok: None,
                    total_errors: total,
                    errors: errors.into_iter().take(200).collect(),
                    message: None,
                    report: Some(base64::engine::general_purpose::STANDARD.encode(report)),
                },
            )
        }
        Err(e @ (AppError::Invalid { .. } | AppError::TooLarge(_))) => {
            let status = e.status();
            let msg = match e {
                AppError::Invalid { message, fields } => {
                    fields.into_values().next().unwrap_or(message)
                }
                other => other.to_string(),
            };
            (
                status,
                ImportResult {
                    what,
                    ok: None,
                    errors: Vec::new(),
                    total_errors: 0,
                    message: Some(msg),
                    report: None,
                },
            )
        }
        Err(e) => return Err(e),
    })
}

pub(super) async fn members_page(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let r = match read_upload(mp, state.config.max_upload_bytes).await {
        Ok(bytes) => import_members(&state, &user.actor(), &user.scope(), &bytes).await,
        Err(e) => Err(e),
    };
    let (status, result) = result_of("党员", r)?;
    Ok((status, render_page(&user, FlashIn(None), Some(result))?).into_response())
}

pub(super) async fn orgs_page(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let r = match read_upload(mp, state.config.max_upload_bytes).await {
        Ok(bytes) => import_orgs(&state, &user.actor(), &user.scope(), &bytes).await,
        Err(e) => Err(e),
    };
    let (status, result) = result_of("党组织", r)?;
    Ok((status, render_page(&user, FlashIn(None), Some(result))?).into_response())
}

pub(super) async fn template_page(
    user: CurrentUser,
    axum::extract::Path(kind): axum::extract::Path<String>,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let (file, kind) = match kind.as_str() {
        "members" | "members.xlsx" => ("党员导入模板.xlsx", "members"),
        "orgs" | "orgs.xlsx" => ("党组织导入模板.xlsx", "orgs"),
        _ => return Err(AppError::NotFound),
    };
    Ok(crate::xlsx::download(file, template(kind)?))
}
