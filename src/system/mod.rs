//! 系统: users and their role grants, the audit log browser, backups.

pub mod backup;
pub mod security;
pub mod users;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn pages() -> Router<AppState> {
    Router::new()
        .merge(users::pages())
        .merge(security::pages())
        .merge(crate::audit::routes::pages())
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(users::api())
        .merge(security::api())
        .merge(crate::audit::routes::api())
}
