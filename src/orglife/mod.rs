//! 组织生活: 三会一课, 主题党日, 组织生活会 and 民主评议 — the records a branch keeps, their
//! review by the unit, and the compliance computed from them.

pub mod attachments;
pub mod reminders;
pub mod routes;
pub mod rules;
pub mod store;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn pages() -> Router<AppState> {
    routes::pages()
}

pub fn api() -> OpenApiRouter<AppState> {
    routes::api()
}
