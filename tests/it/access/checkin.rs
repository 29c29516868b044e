//! Access rows of 扫码签到: opening a sign-in of a meeting (the branch's and the unit's
//! admins), the organiser's screen and its redrawn part, closing it, and scanning (members).
//! The meeting the rows act on was not held today, so an organiser allowed in is answered
//! 409 (only on the day), never 403 or 404; the scan's code is wrong, so a member allowed in
//! is answered 409 (expired), never 403.

use serde_json::json;

use super::{r, Body, Ctx, Route, M, UB};
use crate::common::TestApp;

/// A sign-in of the draft meeting `mt`, opened directly (it was not held today).
pub(super) async fn prepare(app: &TestApp, meeting: i64) -> i64 {
    let user: i64 = sqlx::query_scalar("select min(user_id) from app_user")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("user");
    sqlx::query_scalar(
        "insert into checkin_session (kind, target_id, direction, opened_by, opened_at, expires_at) \
         values ('meeting', $1, 'in', $2, 1, 9999999999) returning checkin_session_id",
    )
    .bind(meeting)
    .bind(user)
    .fetch_one(&app.state.db.pool)
    .await
    .expect("session")
}

pub(super) fn rows(c: &Ctx) -> Vec<Route> {
    let (mt, s) = (c.mt, c.checkin);
    vec![
        r(
            "POST",
            "/api/v1/checkin/sessions",
            Body::Json(json!({"kind": "meeting", "target_id": mt})),
            UB,
        ),
        r(
            "GET",
            format!("/api/v1/checkin/sessions/{s}"),
            Body::None,
            UB,
        ),
        r(
            "POST",
            format!("/api/v1/checkin/sessions/{s}/close"),
            Body::None,
            UB,
        ),
        r(
            "POST",
            "/api/v1/checkin/scan",
            Body::Json(json!({"checkin_session_id": s, "code": "000000000000"})),
            M,
        ),
        r(
            "POST",
            format!("/checkin/meeting/{mt}/open"),
            Body::Form(vec![("direction", "in".into())]),
            UB,
        ),
        r("GET", format!("/checkin/sessions/{s}"), Body::None, UB),
        r("GET", format!("/checkin/sessions/{s}/live"), Body::None, UB),
        r(
            "POST",
            format!("/checkin/sessions/{s}/close"),
            Body::Form(vec![]),
            UB,
        ),
        r(
            "GET",
            format!("/checkin/s/{s}?c=000000000000"),
            Body::None,
            M,
        ),
    ]
}
