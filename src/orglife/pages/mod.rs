//! 组织生活's pages: the router and the pickers the forms share.

pub mod meeting_rules;
pub mod meetings;
pub mod mine;
pub mod stats;

use axum::routing::{get, post};
use axum::Router;
pub(in crate::orglife) use meeting_rules::*;
pub(in crate::orglife) use meetings::*;
pub(in crate::orglife) use mine::*;
pub(in crate::orglife) use stats::*;

use crate::orglife::rules::MeetingKind;
use crate::state::AppState;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/orglife/meetings", get(list_page).post(create_page))
        .route("/orglife/meetings/export", get(export_page))
        .route("/orglife/meetings/new", get(new_page))
        .route("/orglife/register", get(register_fragment))
        .route("/orglife/meetings/{id}", get(detail_page).post(update_page))
        .route("/orglife/meetings/{id}/edit", get(edit_page))
        .route("/orglife/meetings/{id}/submit", post(submit_page))
        .route("/orglife/meetings/{id}/accept", post(accept_page))
        .route("/orglife/meetings/{id}/return", post(return_page))
        .route("/orglife/meetings/{id}/delete", post(delete_page))
        .route("/orglife/meetings/{id}/attachments", post(attach_page))
        .route(
            "/orglife/meetings/{id}/attachments/{aid}",
            get(attachment_file),
        )
        .route(
            "/orglife/meetings/{id}/attachments/{aid}/delete",
            post(detach_page),
        )
        .route("/orglife/calendar", get(calendar_page))
        .route("/orglife/compliance", get(compliance_page))
        .route("/orglife/compliance/export", get(compliance_export))
        .route("/orglife/rules", get(rules_page).post(rules_save))
        .route("/orglife/mine", get(mine_page))
}

// ---- shared bits ----

pub(in crate::orglife) fn kinds() -> Vec<(&'static str, &'static str)> {
    MeetingKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}

pub(in crate::orglife) fn parse_id(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

pub(in crate::orglife) fn token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub(in crate::orglife) fn years_around(y: i32) -> Vec<i32> {
    let now = crate::clock::today().year();
    let mut v: Vec<i32> = (now - 5..=now).rev().collect();
    if !v.contains(&y) {
        v.push(y);
    }
    v
}

// ---- list ----
