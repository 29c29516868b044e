//! Access rows of The notification centre.

use super::{r, signed_in, Body, Ctx, Route, ALL};
use serde_json::json;

pub(super) fn rows(_: &Ctx) -> Vec<Route> {
    vec![
        r("GET", "/api/v1/notifications", Body::None, ALL),
        r("POST", "/api/v1/notifications/read-all", Body::None, ALL),
        // The digest's address: the person signed in (with the current password), no token.
        signed_in(
            "PUT",
            "/api/v1/me/email",
            Body::Json(json!({"email": ""})),
            ALL,
        ),
        r("GET", "/notifications", Body::None, ALL),
        r("POST", "/notifications/read-all", Body::None, ALL),
        signed_in(
            "POST",
            "/notifications/email",
            Body::Form(vec![("email", "".into())]),
            ALL,
        ),
    ]
}
