//! Access rows of 系统: users and grants, the security admin, the audit admin.

use super::{r, Body, Ctx, Route, A, R, S, X};

/// The three admins (the list of 双人确认 requests, refusing or withdrawing one).
const SXA: &[R] = &[R::System, R::Security, R::Auditor];
/// The security and audit admins (confirming a 双人确认 request).
const XA: &[R] = &[R::Security, R::Auditor];
use serde_json::json;

pub(super) fn rows(c: &Ctx) -> Vec<Route> {
    let &Ctx {
        a,
        target,
        grant,
        arch,
        approvals: [confirm_api, confirm_page, refuse_api, refuse_page],
        ..
    } = c;
    vec![
        r("GET", "/api/v1/approvals", Body::None, SXA),
        r(
            "POST",
            format!("/api/v1/approvals/{confirm_api}/confirm"),
            Body::None,
            XA,
        ),
        r(
            "POST",
            format!("/api/v1/approvals/{refuse_api}/refuse"),
            Body::Json(json!({"note": ""})),
            SXA,
        ),
        r("GET", "/system/approvals", Body::None, SXA),
        r(
            "POST",
            format!("/system/approvals/{confirm_page}/confirm"),
            Body::None,
            XA,
        ),
        r(
            "POST",
            format!("/system/approvals/{refuse_page}/refuse"),
            Body::Form(vec![("note", String::new())]),
            SXA,
        ),
        r("GET", "/api/v1/users", Body::None, S),
        r(
            "POST",
            "/api/v1/users",
            Body::Json(
                json!({"username": "u_@ROLE@", "display_name": "x", "grant": {"role": "committee"}}),
            ),
            S,
        ),
        r(
            "POST",
            format!("/api/v1/users/{target}/password-reset"),
            Body::None,
            S,
        ),
        r(
            "GET",
            format!("/api/v1/users/{target}/grants"),
            Body::None,
            S,
        ),
        r(
            "POST",
            format!("/api/v1/users/{target}/grants"),
            Body::Json(json!({"role": "unit", "unit_id": a})),
            S,
        ),
        r(
            "DELETE",
            format!("/api/v1/users/{target}/grants/{grant}"),
            Body::None,
            S,
        ),
        r(
            "PUT",
            format!("/api/v1/users/{target}/disabled"),
            Body::Json(json!({"disabled": false})),
            S,
        ),
        r("GET", "/api/v1/audit", Body::None, A),
        r("GET", "/api/v1/audit/export", Body::None, A),
        r("GET", "/api/v1/audit/verify", Body::None, A),
        r("GET", "/api/v1/audit/archives", Body::None, A),
        r(
            "GET",
            format!("/api/v1/audit/archives/{arch}/file"),
            Body::None,
            A,
        ),
        r(
            "POST",
            format!("/api/v1/users/{target}/rename"),
            Body::Json(json!({"username": "target_@ROLE@"})),
            S,
        ),
        r("GET", "/api/v1/security/policy", Body::None, X),
        r(
            "PUT",
            "/api/v1/security/policy",
            Body::Json(
                serde_json::to_value(yaoshi::auth::policy::Policy::default()).expect("policy"),
            ),
            X,
        ),
        r("GET", "/api/v1/security/locks", Body::None, X),
        r(
            "POST",
            "/api/v1/security/unlock",
            Body::Json(json!({"username": "locked_name"})),
            X,
        ),
        r("GET", "/api/v1/security/grants", Body::None, X),
        r(
            "DELETE",
            format!("/api/v1/security/users/{target}/totp"),
            Body::None,
            X,
        ),
        r("GET", "/system/users", Body::None, S),
        r("GET", "/system/users/export", Body::None, S),
        r(
            "GET",
            "/system/scope-options?role=branch&scope_id=办公室",
            Body::None,
            S,
        ),
        r("GET", format!("/system/users/{target}"), Body::None, S),
        r("GET", "/system/audit", Body::None, A),
        r("GET", "/system/audit/export", Body::None, A),
        r("GET", "/system/audit/verify", Body::None, A),
        r(
            "GET",
            format!("/system/audit/archives/{arch}/file"),
            Body::None,
            A,
        ),
        r(
            "GET",
            format!("/system/audit/archives/{arch}/export"),
            Body::None,
            A,
        ),
        r(
            "POST",
            format!("/system/users/{target}/rename"),
            Body::Form(vec![("username", "tgt_@ROLE@".into())]),
            S,
        ),
        r("GET", "/system/security", Body::None, X),
        r(
            "POST",
            "/system/security",
            Body::Form(
                [
                    ("password_min_length", "10"),
                    ("password_classes", "3"),
                    ("password_history", "5"),
                    ("password_max_age_days", "90"),
                    ("password_warn_days", "14"),
                    ("lock_threshold", "5"),
                    ("lock_window_minutes", "15"),
                    ("lock_minutes", "30"),
                    ("session_idle_minutes", "30"),
                    ("session_absolute_hours", "12"),
                    ("admin_max_sessions", "1"),
                    ("user_max_sessions", "0"),
                ]
                .map(|(k, v)| (k, v.to_string()))
                .to_vec(),
            ),
            X,
        ),
        r("GET", "/system/security/accounts", Body::None, X),
        r(
            "POST",
            "/system/security/unlock",
            Body::Form(vec![("username", "locked_name".into())]),
            X,
        ),
        r(
            "POST",
            format!("/system/security/accounts/{target}/totp-reset"),
            Body::None,
            X,
        ),
        r(
            "POST",
            format!("/system/security/accounts/{target}/end-sessions"),
            Body::None,
            X,
        ),
        r("GET", "/system/security/grants", Body::None, X),
        r("GET", "/system/security/grants/export", Body::None, X),
    ]
}
