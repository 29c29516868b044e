//! Access rows of The notification centre.

use super::{r, Body, Ctx, Route, ALL};
use serde_json::json;

pub(super) fn rows(_: &Ctx) -> Vec<Route> {
    vec![
        r("GET", "/api/v1/notifications", Body::None, ALL),
        r("POST", "/api/v1/notifications/read-all", Body::None, ALL),
        r(
            "PUT",
            "/api/v1/me/email",
            Body::Json(json!({"email": ""})),
            ALL,
        ),
        r("GET", "/notifications", Body::None, ALL),
        r("POST", "/notifications/read-all", Body::None, ALL),
        r(
            "POST",
            "/notifications/email",
            Body::Form(vec![("email", "".into())]),
            ALL,
        ),
    ]
}
