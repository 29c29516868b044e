//! 分类指导 pages: the years of goal and requirement items (the committee's draft editor,
//! publish, delete, copy), the units' plans and one plan at a glance with its tasks,
//! quarterly progress and comments, and the committee's views by category.

mod categories;
mod plans;
mod years;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{FlashIn, PageCtx};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/guidance/years",
            get(years::list_page).post(years::create_page),
        )
        .route(
            "/guidance/years/{year}",
            get(years::detail_page).post(years::save_page),
        )
        .route("/guidance/years/{year}/publish", post(years::publish_page))
        .route("/guidance/years/{year}/delete", post(years::delete_page))
        .route("/guidance/years/{year}/export", get(years::export_page))
        .route(
            "/guidance/plans",
            get(plans::list_page).post(plans::create_page),
        )
        .route("/guidance/plans/export", get(plans::list_export))
        .route("/guidance/plans/{id}", get(plans::detail_page))
        .route("/guidance/plans/{id}/export", get(plans::detail_export))
        .route("/guidance/plans/{id}/submit", post(plans::submit_page))
        .route("/guidance/plans/{id}/tasks", post(plans::add_task_page))
        .route("/guidance/plans/{id}/comments", post(plans::comment_page))
        .route(
            "/guidance/tasks/{id}",
            get(plans::task_page).post(plans::task_save_page),
        )
        .route("/guidance/tasks/{id}/delete", post(plans::task_delete_page))
        .route("/guidance/tasks/{id}/progress", post(plans::progress_page))
        .route("/guidance/categories", get(categories::overview_page))
        .route("/guidance/categories/{id}", get(categories::category_page))
        .route(
            "/guidance/categories/{id}/export",
            get(categories::category_export),
        )
}

pub(super) fn ctx(user: &CurrentUser, title: &str, path: &str, flash: FlashIn) -> PageCtx {
    PageCtx::new(user, title, path, flash).crumb("分类指导", "/guidance/plans")
}

/// A refusal a page shows above its form: the status and the message (every field named).
pub(super) fn refusal(e: AppError) -> AppResult<(StatusCode, String)> {
    match e {
        AppError::Invalid { message, fields } => {
            let msg = if fields.is_empty() {
                message
            } else {
                fields.into_values().collect::<Vec<_>>().join("；")
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, msg))
        }
        AppError::Conflict(m) => Ok((StatusCode::CONFLICT, m)),
        e => Err(e),
    }
}

/// A page answered with a refusal's status.
pub(super) fn with_status(mut r: Response, status: Option<StatusCode>) -> Response {
    if let Some(s) = status {
        *r.status_mut() = s;
    }
    r
}

/// The first value of a form field, or empty.
pub(super) fn field(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Every value of a repeated form field (checkboxes), at most `max`.
pub(super) fn fields(pairs: &[(String, String)], key: &str, max: usize) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .take(max)
        .map(|(_, v)| v.clone())
        .collect()
}

/// A time as people read it, or empty.
pub(super) fn time(t: &Option<i64>) -> String {
    t.map(crate::clock::fmt_time).unwrap_or_default()
}
