//! Access rows of 个人: the session, the password, tokens, the second factor.

use super::{r, Body, Ctx, Route, ALL};
use serde_json::json;

pub(super) fn rows(_: &Ctx) -> Vec<Route> {
    vec![
        // API
        r("GET", "/api/v1/me", Body::None, ALL),
        r("GET", "/api/v1/tokens", Body::None, ALL),
        r(
            "POST",
            "/api/v1/tokens",
            Body::Json(json!({"name": "t@ROLE@"})),
            ALL,
        ),
        r("GET", "/api/v1/me/totp", Body::None, ALL),
        // A wrong code: 409 (no second factor) or 422, never 403, for anyone signed in.
        r(
            "POST",
            "/api/v1/me/totp/recovery-codes",
            Body::Json(json!({"code": "000000"})),
            ALL,
        ),
        r("POST", "/api/v1/me/password", Body::Json(json!({})), ALL),
        r(
            "POST",
            "/api/v1/me/totp/confirm",
            Body::Json(json!({"code": "000000"})),
            ALL,
        ),
        r("POST", "/api/v1/me/totp", Body::Json(json!({})), ALL),
        r("DELETE", "/api/v1/me/totp", Body::Json(json!({})), ALL),
        r("GET", "/password", Body::None, ALL),
        r("GET", "/account/tokens", Body::None, ALL),
        r(
            "POST",
            "/account/tokens",
            Body::Form(vec![("name", "p@ROLE@".into())]),
            ALL,
        ),
        r("GET", "/account/totp", Body::None, ALL),
        r("POST", "/account/totp/start", Body::None, ALL),
        r(
            "POST",
            "/account/totp/recovery-codes",
            Body::Form(vec![("code", "000000".into())]),
            ALL,
        ),
    ]
}
