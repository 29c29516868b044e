//! Every role × every route: allowed and forbidden both asserted, including objects of
//! another unit. Forbidden means 403, or 404 where the object is outside the caller's
//! scope; anonymous callers get 401 from the API and a login redirect from pages.

use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, nth_id, TestApp};

mod account;
mod checkin;
mod grading;
mod guidance;
mod hotline;
mod indicators;
mod notify;
mod org;
mod orglife;
mod pledges;
mod system;
mod volunteer;
mod web;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum R {
    Anon,
    Community,
    Member,
    Branch,
    Unit,
    Committee,
    System,
    Security,
    Auditor,
}

use R::*;

const ALL: &[R] = &[
    Community, Member, Branch, Unit, Committee, System, Security, Auditor,
];
const S: &[R] = &[System];
const X: &[R] = &[Security];
const A: &[R] = &[Auditor];
const CU: &[R] = &[Unit, Committee];
const CUB: &[R] = &[Branch, Unit, Committee];
const CUBM: &[R] = &[Member, Branch, Unit, Committee];
const C: &[R] = &[Committee];
const UB: &[R] = &[Branch, Unit];
const M: &[R] = &[Member];

enum Body {
    None,
    Json(Value),
    Form(Vec<(&'static str, String)>),
    Xlsx,
}

/// The ids and bodies the tables name, made before every role calls every route.
#[derive(Clone)]
struct Ctx {
    a: i64,
    ba: i64,
    ba2: i64,
    ma: i64,
    member_t: i64,
    target: i64,
    grant: i64,
    arch: i64,
    mt: i64,
    sub: i64,
    acc: i64,
    ret: i64,
    del: i64,
    /// The city's community, granted to the community user (so deleting it is refused).
    community: i64,
    meeting: Value,
    member_body: Value,
    /// 双人确认 requests of the system admin: to confirm by API and page, to refuse by API
    /// and page.
    approvals: [i64; 4],
    /// The grading standard's versions the rows act on.
    grading: grading::Prep,
    /// 分类指导's years, plans and tasks the rows act on.
    guidance: guidance::Prep,
    /// 一句话承诺's pledges and feedback the rows act on.
    pledges: pledges::Prep,
    /// A sign-in (扫码签到) of the draft meeting `mt`.
    checkin: i64,
    /// 志愿者银行's needs, claims and reports the rows act on.
    volunteer: volunteer::Prep,
}

/// A meeting recorded through the page's form.
fn meeting_form(ba: i64) -> Body {
    Body::Form(vec![
        ("branch_id", ba.to_string()),
        ("kind", "theme_day".into()),
        ("held_on", "2026-03-12".into()),
        ("topic", "页面登记@ROLE@".into()),
    ])
}

struct Route {
    method: &'static str,
    path: String,
    body: Body,
    allowed: &'static [R],
    /// Only a signed-in session may call it: an API token of any role is refused (403).
    session_only: bool,
}

fn r(method: &'static str, path: impl Into<String>, body: Body, allowed: &'static [R]) -> Route {
    Route {
        method,
        path: path.into(),
        body,
        allowed,
        session_only: false,
    }
}

/// A route for the person signed in, not for a script: the allowed roles with a session,
/// and no role with an API token (tokens, the second factor, the password, the email).
fn signed_in(
    method: &'static str,
    path: impl Into<String>,
    body: Body,
    allowed: &'static [R],
) -> Route {
    Route {
        session_only: true,
        ..r(method, path, body, allowed)
    }
}

/// Whether a concrete path fits a documented one (`{id}` stands for one segment).
fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| (a.starts_with('{') && a.ends_with('}') && !b.is_empty()) || a == b)
}

async fn call(
    app: &TestApp,
    c: &Client,
    route: &Route,
    role: R,
    token: Option<&str>,
) -> StatusCode {
    let m = reqwest::Method::from_bytes(route.method.as_bytes()).expect("method");
    let mut req = c.request(m, app.url(&route.path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let tag = format!("{role:?}");
    req = match &route.body {
        Body::None => req,
        Body::Json(v) => req
            .body(v.to_string().replace("@ROLE@", &tag))
            .header("content-type", "application/json"),
        Body::Form(pairs) => {
            let pairs: Vec<(&str, String)> = pairs
                .iter()
                .map(|(k, v)| (*k, v.replace("@ROLE@", &tag)))
                .collect();
            req.form(&pairs)
        }
        Body::Xlsx => {
            let bytes = yaoshi::xlsx::write_sheet("s", &["姓名"], &[]).expect("xlsx");
            req.multipart(Form::new().part("file", Part::bytes(bytes).file_name("a.xlsx")))
        }
    };
    req.send().await.expect("send").status()
}

#[tokio::test]
async fn every_role_on_every_route() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let (_, t) = app.post(&admin, "/api/v1/members", json!({"name": "转接对象", "id_number": nth_id(50), "kind": "full", "branch_id": city.branch_a})).await;
    let member_t = t.as_i64().expect("member");
    let (_, u) = app.post(&admin, "/api/v1/users", json!({"username": "target", "display_name": "目标", "grant": {"role": "unit", "unit_id": city.unit_a}})).await;
    let target = u["user_id"].as_i64().expect("user");
    let grant = app
        .sql_scalar(&format!(
            "select role_grant_id from role_grant where user_id = {target}"
        ))
        .await;

    let clients: Vec<(R, Client)> = vec![
        (Anon, TestApp::client()),
        (
            Community,
            app.user_with(
                &admin,
                "r_community",
                json!({"role": "community", "community_id": city.community}),
            )
            .await,
        ),
        (
            Member,
            app.user_with(
                &admin,
                "r_member",
                json!({"role": "member", "member_id": city.member_a}),
            )
            .await,
        ),
        (
            Branch,
            app.user_with(
                &admin,
                "r_branch",
                json!({"role": "branch", "org_id": city.branch_a}),
            )
            .await,
        ),
        (
            Unit,
            app.user_with(
                &admin,
                "r_unit",
                json!({"role": "unit", "unit_id": city.unit_a}),
            )
            .await,
        ),
        (
            Committee,
            app.user_with(&admin, "r_committee", json!({"role": "committee"}))
                .await,
        ),
        (
            System,
            app.user_with(&admin, "r_system", json!({"role": "system_admin"}))
                .await,
        ),
        (
            Security,
            app.user_with(&admin, "r_security", json!({"role": "security_admin"}))
                .await,
        ),
        (
            Auditor,
            app.user_with(&admin, "r_auditor", json!({"role": "audit_admin"}))
                .await,
        ),
    ];
    // A failed login to lift (the security admin's unlock routes).
    app.post(
        &TestApp::client(),
        "/api/v1/session",
        json!({"username": "locked_name", "password": "wrong"}),
    )
    .await;
    app.post(
        &TestApp::client(),
        "/api/v1/session",
        json!({"username": "locked_name", "password": "wrong"}),
    )
    .await;
    // Everything so far moves to an archive (as if a year had passed), for the archive routes.
    let archived = yaoshi::system::audit::archive_due(
        &app.state,
        yaoshi::clock::now() + 400 * 86_400,
        &yaoshi::audit::Actor::cli(),
    )
    .await
    .expect("archive");
    let arch = archived[0].archive_id;
    let archived: i64 = archived.iter().map(|a| a.rows).sum();
    // Audit rows as they stand before every role calls every route: none may change.
    let audit_before: Vec<(i64, String)> =
        sqlx::query_as("select audit_id, hash from audit_log order by audit_id")
            .fetch_all(&app.state.db.pool)
            .await
            .expect("audit");
    let (a, ba, ba2, ma) = (city.unit_a, city.branch_a, city.branch_a2, city.member_a);
    // Meeting records in branch_a: one draft to read and edit, one draft to submit, and
    // three submitted ones to accept, return and (not) delete.
    let meeting = json!({"branch_id": ba, "kind": "theme_day", "held_on": "2026-03-10", "topic": "主题党日", "attendance": [{"member_id": ma, "state": "present"}]});
    let mut meetings = Vec::new();
    for i in 0..5 {
        let (s, m) = app
            .post(&clients[3].1, "/api/v1/meetings", meeting.clone())
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        let id = m["meeting_id"].as_i64().expect("meeting");
        if i >= 2 {
            app.post(
                &clients[3].1,
                &format!("/api/v1/meetings/{id}/submit"),
                json!({}),
            )
            .await;
        }
        meetings.push(id);
    }
    let (mt, sub, acc, ret, del) = (
        meetings[0],
        meetings[1],
        meetings[2],
        meetings[3],
        meetings[4],
    );
    // The system admin asks four times for an audit admin account (双人确认).
    let system = &clients
        .iter()
        .find(|(r, _)| *r == System)
        .expect("system")
        .1;
    let mut approvals = [0i64; 4];
    for (i, id) in approvals.iter_mut().enumerate() {
        let (s, v) = app
            .post(
                system,
                "/api/v1/users",
                json!({"username": format!("pending_{i}"), "display_name": "待确认", "grant": {"role": "audit_admin"}}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        *id = v["approval_id"].as_i64().expect("approval");
    }
    let grading = grading::prepare(&app, &admin, city.branch_a).await;
    let guidance = guidance::prepare(&app, &admin, city.unit_a).await;
    let pledges = pledges::prepare(&app, city.member_a, member_t, city.unit_a).await;
    let checkin = checkin::prepare(&app, mt).await;
    let volunteer = volunteer::prepare(
        &app,
        city.community,
        city.member_a,
        member_t,
        city.unit_a,
        city.branch_a,
    )
    .await;
    let ctx = Ctx {
        checkin,
        volunteer,
        pledges,
        grading,
        guidance,
        approvals,
        a,
        ba,
        ba2,
        ma,
        member_t,
        target,
        grant,
        arch,
        mt,
        sub,
        acc,
        ret,
        del,
        community: city.community,
        meeting: meeting.clone(),
        member_body: json!({"name": "新党员@ROLE@", "id_number": "@ID@", "kind": "full", "branch_id": ba}),
    };
    // One table per feature, collected here.
    let routes: Vec<Route> = [
        account::rows,
        checkin::rows,
        grading::rows,
        guidance::rows,
        hotline::rows,
        indicators::rows,
        notify::rows,
        org::rows,
        orglife::rows,
        pledges::rows,
        system::rows,
        volunteer::rows,
        web::rows,
    ]
    .iter()
    .flat_map(|rows| rows(&ctx))
    .collect();
    let mut n = 0u32;
    let mut failures = Vec::new();
    // Every operation of the API document (built with the router, so it is the router's
    // list) has a row here: a new route without one fails.
    let (_, doc) = app.get(&admin, "/api/openapi.json").await;
    // Operations on the caller's own objects by id, or that end the caller's session: their
    // scope is asserted where they are tested.
    const ELSEWHERE: &[&str] = &[
        "POST /api/v1/session",       // the login itself: tests/it/auth.rs
        "DELETE /api/v1/session",     // ends the session: tests/it/auth.rs
        "DELETE /api/v1/tokens/{id}", // own tokens: tests/it/auth.rs
        "GET /api/v1/meetings/{id}/attachments/{aid}", // tests/it/orglife.rs
        "DELETE /api/v1/meetings/{id}/attachments/{aid}", // tests/it/orglife.rs
        "POST /api/v1/notifications/{id}/read", // own notifications: tests/it/notify.rs
        // The public board needs no login: tests/it/pledges.rs.
        "GET /api/v1/public/pledges/{key}",
        "GET /api/v1/public/pledges/{key}/challenge",
        "POST /api/v1/public/pledges/{key}/feedback",
    ];
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let pattern = format!("/api/v1{path}");
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let covered = routes.iter().any(|r| {
                r.method.eq_ignore_ascii_case(method)
                    && template_matches(&pattern, r.path.split('?').next().unwrap_or(""))
            });
            let op = format!("{} {pattern}", method.to_uppercase());
            if !covered && !ELSEWHERE.contains(&op.as_str()) {
                missing.push(op);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "API operations without an access row:\n{}",
        missing.join("\n")
    );
    for (role, client) in &clients {
        for (i, route) in routes.iter().enumerate() {
            let mut route_for = Route {
                method: route.method,
                path: route.path.clone(),
                body: Body::None,
                allowed: route.allowed,
                session_only: route.session_only,
            };
            route_for.body = match &route.body {
                Body::None => Body::None,
                Body::Json(v) => Body::Json(
                    serde_json::from_str(
                        &v.to_string()
                            .replace("@ID@", &nth_id(100 + i as u32 * 10 + *role as u32)),
                    )
                    .expect("json"),
                ),
                Body::Form(p) => Body::Form(p.clone()),
                Body::Xlsx => Body::Xlsx,
            };
            let s = call(&app, client, &route_for, *role, None).await;
            n += 1;
            let api = route.path.starts_with("/api/");
            let ok = if *role == Anon {
                if api {
                    s == StatusCode::UNAUTHORIZED
                } else {
                    s == StatusCode::SEE_OTHER || s == StatusCode::UNAUTHORIZED
                }
            } else if route.allowed.contains(role) {
                !matches!(
                    s,
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
                ) && !s.is_server_error()
            } else {
                s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND
            };
            if !ok {
                failures.push(format!("{role:?} {} {} → {s}", route.method, route.path));
            }
        }
    }
    // The same roles with an API token: refused (403) wherever only the person signed in may
    // act, while the token serves the rest (its role's own answer to GET /me).
    for (role, client) in clients.iter().filter(|(role, _)| *role != Anon) {
        let (s, v) = app
            .post(
                client,
                "/api/v1/tokens",
                json!({"name": format!("矩阵 {role:?}")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{role:?}: {v}");
        let token = v["token"].as_str().expect("token").to_string();
        let script = TestApp::client();
        let me = r("GET", "/api/v1/me", Body::None, ALL);
        let s = call(&app, &script, &me, *role, Some(&token)).await;
        n += 1;
        if s != StatusCode::OK {
            failures.push(format!("{role:?} token GET /api/v1/me → {s}"));
        }
        for route in routes.iter().filter(|r| r.session_only) {
            let s = call(&app, &script, route, *role, Some(&token)).await;
            n += 1;
            if s != StatusCode::FORBIDDEN {
                failures.push(format!(
                    "{role:?} token {} {} → {s} (want 403)",
                    route.method, route.path
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Through every route, by every role, the audit log only grew: earlier rows unchanged,
    // the chain intact.
    let audit_after: Vec<(i64, String)> =
        sqlx::query_as("select audit_id, hash from audit_log order by audit_id")
            .fetch_all(&app.state.db.pool)
            .await
            .expect("audit");
    assert!(audit_after.len() > audit_before.len());
    assert_eq!(&audit_after[..audit_before.len()], &audit_before[..]);
    assert_eq!(
        yaoshi::audit::verify(&app.state.db).await.expect("verify"),
        yaoshi::audit::Verdict::Intact {
            rows: audit_after.len() as i64,
            archived
        }
    );

    // Objects of another unit are invisible: 404, never the data.
    let unit = &clients[4].1;
    for path in [
        format!("/api/v1/units/{}", city.unit_b),
        format!("/api/v1/orgs/{}", city.branch_b),
        format!("/api/v1/members/{}", city.member_b),
        format!("/org/units/{}", city.unit_b),
        format!("/org/orgs/{}", city.branch_b),
        format!("/org/members/{}", city.member_b),
    ] {
        let s = unit.get(app.url(&path)).send().await.expect("get").status();
        assert_eq!(s, StatusCode::NOT_FOUND, "unit admin on {path}");
    }
    for (role, c) in [(Branch, &clients[3].1), (Member, &clients[2].1)] {
        let s = c
            .get(app.url(&format!("/api/v1/members/{}", city.member_b)))
            .send()
            .await
            .expect("get")
            .status();
        assert_eq!(s, StatusCode::NOT_FOUND, "{role:?}");
    }
}
