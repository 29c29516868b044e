//! 一句话承诺 pages: the pledger's own pledge (`mine.rs`), the staff's lists, one pledge
//! with its review, ratings and feedback, the missing list and the figures (`staff.rs`), and
//! the public board with its poster and feedback form (`public.rs`, no login).

mod mine;
mod public;
mod staff;

use axum::routing::{get, post};
use axum::Router;

use crate::auth::CurrentUser;

use crate::state::AppState;
use crate::web::{FlashIn, PageCtx};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/pledges", get(staff::list_page))
        .route("/pledges/export", get(staff::list_export))
        .route("/pledges/mine", get(mine::mine_page).post(mine::save_page))
        .route("/pledges/missing", get(staff::missing_page))
        .route("/pledges/missing/export", get(staff::missing_export))
        .route("/pledges/stats", get(staff::stats_page))
        .route("/pledges/stats/export", get(staff::stats_export))
        .route("/pledges/feedback", get(staff::feedback_page))
        .route("/pledges/feedback/export", get(staff::feedback_export))
        .route("/pledges/feedback/{id}/publish", post(staff::publish_page))
        .route("/pledges/feedback/{id}/hide", post(staff::hide_page))
        .route("/pledges/feedback/{id}/reply", post(mine::reply_page))
        .route("/pledges/{id}", get(staff::detail_page))
        .route("/pledges/{id}/submit", post(mine::submit_page))
        .route("/pledges/{id}/progress", post(mine::progress_page))
        .route("/pledges/{id}/accept", post(staff::accept_page))
        .route("/pledges/{id}/return", post(staff::return_page))
        .route("/pledges/{id}/rate", post(staff::rate_page))
        .route("/public/pledges", get(public::index_page))
        .route(
            "/public/pledges/categories/{id}",
            get(public::category_page),
        )
        .route("/public/pledges/units/{id}", get(public::unit_page))
        .route(
            "/public/pledges/units/{id}/poster",
            get(public::poster_page),
        )
        .route("/public/pledges/p/{key}", get(public::pledge_page))
        .route(
            "/public/pledges/p/{key}/feedback",
            get(public::feedback_form)
                .post(public::feedback_post)
                .layer(axum::extract::DefaultBodyLimit::max(
                    super::api::PUBLIC_BODY_MAX,
                )),
        )
}

pub(super) fn ctx(user: &CurrentUser, title: &str, path: &str, flash: FlashIn) -> PageCtx {
    PageCtx::new(user, title, path, flash).crumb("一句话承诺", "/pledges")
}

pub(super) use crate::web::refusal;

/// The first value of a form field, or empty.
pub(super) fn field(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A time as people read it, or empty.
pub(super) fn time(t: &Option<i64>) -> String {
    t.map(crate::clock::fmt_time).unwrap_or_default()
}

/// Years to choose from: this year and the two before, and `year`.
pub(super) fn years_around(year: i64) -> Vec<i64> {
    let this = super::store::this_year();
    let mut ys: Vec<i64> = (this - 2..=this).collect();
    if !ys.contains(&year) {
        ys.push(year);
    }
    ys.sort_unstable_by(|a, b| b.cmp(a));
    ys
}
