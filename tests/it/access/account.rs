//! Access rows of 个人: the session, the password, tokens, the second factor. Managing
//! tokens, the second factor and the password is for the person signed in: every role may
//! with a session, none with an API token (`signed_in`).

use super::{r, signed_in, Body, Ctx, Route, ALL};
use serde_json::json;

pub(super) fn rows(_: &Ctx) -> Vec<Route> {
    vec![
        // API
        r("GET", "/api/v1/me", Body::None, ALL),
        signed_in("GET", "/api/v1/tokens", Body::None, ALL),
        signed_in(
            "POST",
            "/api/v1/tokens",
            Body::Json(json!({"name": "t@ROLE@"})),
            ALL,
        ),
        r("GET", "/api/v1/me/totp", Body::None, ALL),
        // Without the current password: 409 (no second factor) or 422, never 403, for
        // anyone signed in.
        signed_in(
            "POST",
            "/api/v1/me/totp/recovery-codes",
            Body::Json(json!({"code": "000000"})),
            ALL,
        ),
        signed_in("POST", "/api/v1/me/password", Body::Json(json!({})), ALL),
        signed_in(
            "POST",
            "/api/v1/me/totp/confirm",
            Body::Json(json!({"code": "000000"})),
            ALL,
        ),
        signed_in("POST", "/api/v1/me/totp", Body::Json(json!({})), ALL),
        signed_in("DELETE", "/api/v1/me/totp", Body::Json(json!({})), ALL),
        signed_in("GET", "/password", Body::None, ALL),
        signed_in("GET", "/account/tokens", Body::None, ALL),
        signed_in(
            "POST",
            "/account/tokens",
            Body::Form(vec![("name", "p@ROLE@".into())]),
            ALL,
        ),
        signed_in("GET", "/account/totp", Body::None, ALL),
        signed_in("POST", "/account/totp/start", Body::None, ALL),
        signed_in(
            "POST",
            "/account/totp/recovery-codes",
            Body::Form(vec![("code", "000000".into())]),
            ALL,
        ),
    ]
}
