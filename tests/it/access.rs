//! Every role × every route: allowed and forbidden both asserted, including objects of
//! another unit. Forbidden means 403, or 404 where the object is outside the caller's
//! scope; anonymous callers get 401 from the API and a login redirect from pages.

use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, nth_id, TestApp};

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

struct Route {
    method: &'static str,
    path: String,
    body: Body,
    allowed: &'static [R],
}

fn r(method: &'static str, path: impl Into<String>, body: Body, allowed: &'static [R]) -> Route {
    Route {
        method,
        path: path.into(),
        body,
        allowed,
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

async fn call(app: &TestApp, c: &Client, route: &Route, role: R) -> StatusCode {
    let m = reqwest::Method::from_bytes(route.method.as_bytes()).expect("method");
    let mut req = c.request(m, app.url(&route.path));
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
    let meeting_form = || {
        Body::Form(vec![
            ("branch_id", ba.to_string()),
            ("kind", "theme_day".into()),
            ("held_on", "2026-03-12".into()),
            ("topic", "页面登记@ROLE@".into()),
        ])
    };
    let member_body =
        json!({"name": "新党员@ROLE@", "id_number": "@ID@", "kind": "full", "branch_id": ba});
    let routes = vec![
        // API
        r("GET", "/api/v1/me", Body::None, ALL),
        r("GET", "/api/v1/tokens", Body::None, ALL),
        r(
            "POST",
            "/api/v1/tokens",
            Body::Json(json!({"name": "t@ROLE@"})),
            ALL,
        ),
        r("GET", "/api/v1/categories", Body::None, CU),
        r(
            "POST",
            "/api/v1/categories",
            Body::Json(json!({"name": "类别@ROLE@"})),
            C,
        ),
        r(
            "PUT",
            "/api/v1/categories/6",
            Body::Json(
                json!({"name": "国有企业类", "requirement_title": "三个全面", "requirements": ["甲"]}),
            ),
            C,
        ),
        r("GET", "/api/v1/common-goal", Body::None, CU),
        r("GET", "/api/v1/units", Body::None, CU),
        r(
            "POST",
            "/api/v1/units",
            Body::Json(json!({"name": "局@ROLE@", "category_id": 1})),
            C,
        ),
        r("GET", format!("/api/v1/units/{a}"), Body::None, CU),
        r(
            "PUT",
            format!("/api/v1/units/{a}"),
            Body::Json(json!({"name": "市测试局", "category_id": 1})),
            C,
        ),
        r(
            "POST",
            format!("/api/v1/units/{a}/category"),
            Body::Json(json!({"category_id": 2})),
            C,
        ),
        r("GET", "/api/v1/orgs", Body::None, CUB),
        r(
            "POST",
            "/api/v1/orgs",
            Body::Json(json!({"unit_id": a, "kind": "branch", "name": "支部@ROLE@"})),
            CU,
        ),
        r("GET", format!("/api/v1/orgs/{ba}"), Body::None, CUB),
        r(
            "PUT",
            format!("/api/v1/orgs/{ba2}"),
            Body::Json(json!({"unit_id": a, "kind": "branch", "name": "业务处党支部"})),
            CU,
        ),
        r(
            "GET",
            format!("/api/v1/orgs/{ba}/officers"),
            Body::None,
            CUB,
        ),
        r(
            "PUT",
            format!("/api/v1/orgs/{ba}/officers"),
            Body::Json(json!([])),
            CU,
        ),
        r("GET", "/api/v1/members", Body::None, CUB),
        r("POST", "/api/v1/members", Body::Json(member_body), CU),
        r("GET", format!("/api/v1/members/{ma}"), Body::None, CUBM),
        r(
            "PUT",
            format!("/api/v1/members/{ma}"),
            Body::Json(
                json!({"name": "张三", "id_number": nth_id(1), "kind": "full", "joined_on": "2010-07-01", "converted_on": "2011-07-01", "branch_id": ba, "phone": "13800138000"}),
            ),
            CU,
        ),
        r(
            "GET",
            format!("/api/v1/members/{ma}/transfers"),
            Body::None,
            CUBM,
        ),
        r(
            "POST",
            format!("/api/v1/members/{member_t}/transfer"),
            Body::Json(json!({"to_branch_id": ba2})),
            CU,
        ),
        r("POST", "/api/v1/import/members", Body::Xlsx, CU),
        r("GET", "/api/v1/members/export", Body::None, CUB),
        r("GET", "/api/v1/import/template/members", Body::None, CU),
        r("POST", "/api/v1/import/orgs", Body::Xlsx, CU),
        r("GET", "/api/v1/communities", Body::None, C),
        r(
            "POST",
            "/api/v1/communities",
            Body::Json(json!({"name": "社区@ROLE@"})),
            C,
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
        // Deleting a branch with members is refused (409) for those who may delete.
        r("DELETE", format!("/api/v1/orgs/{ba}"), Body::None, CU),
        r("GET", "/api/v1/indicators", Body::None, CUB),
        r(
            "GET",
            "/api/v1/indicators/orglife.compliance?year=2026",
            Body::None,
            CUB,
        ),
        r("GET", "/api/v1/meetings", Body::None, CUB),
        r("POST", "/api/v1/meetings", Body::Json(meeting.clone()), UB),
        r("GET", "/api/v1/meetings/export", Body::None, CUB),
        r("GET", format!("/api/v1/meetings/{mt}"), Body::None, CUB),
        r(
            "PUT",
            format!("/api/v1/meetings/{mt}"),
            Body::Json(meeting.clone()),
            UB,
        ),
        r("DELETE", format!("/api/v1/meetings/{del}"), Body::None, UB),
        r(
            "POST",
            format!("/api/v1/meetings/{sub}/submit"),
            Body::None,
            UB,
        ),
        r(
            "POST",
            format!("/api/v1/meetings/{acc}/accept"),
            Body::Json(json!({})),
            CU,
        ),
        r(
            "POST",
            format!("/api/v1/meetings/{ret}/return"),
            Body::Json(json!({"comment": "请补充"})),
            CU,
        ),
        r(
            "GET",
            format!("/api/v1/orglife/register?branch_id={ba}&held_on=2026-03-10"),
            Body::None,
            CUB,
        ),
        r(
            "GET",
            format!("/api/v1/orglife/calendar?branch_id={ba}&year=2026"),
            Body::None,
            CUB,
        ),
        r("GET", "/api/v1/orglife/compliance", Body::None, CUB),
        r("GET", "/api/v1/orglife/compliance/export", Body::None, CUB),
        r("GET", "/api/v1/meeting-rules", Body::None, CUB),
        r(
            "PUT",
            "/api/v1/meeting-rules",
            Body::Json(
                json!({"kind": "party_lecture", "from_year": 2030, "period": "quarter", "times": 1, "quorum": "none"}),
            ),
            C,
        ),
        r("GET", "/api/v1/me/meetings", Body::None, M),
        r(
            "GET",
            format!("/api/v1/meetings/{mt}/attachments"),
            Body::None,
            CUB,
        ),
        r(
            "POST",
            format!("/api/v1/meetings/{mt}/attachments"),
            Body::Xlsx,
            UB,
        ),
        r("GET", "/api/v1/establishment", Body::None, CU),
        r("GET", "/api/v1/notifications", Body::None, ALL),
        r("POST", "/api/v1/notifications/read-all", Body::None, ALL),
        r(
            "PUT",
            "/api/v1/me/email",
            Body::Json(json!({"email": ""})),
            ALL,
        ),
        r("GET", format!("/api/v1/orgs/{ba}/terms"), Body::None, CUB),
        r(
            "POST",
            format!("/api/v1/orgs/{ba2}/extension"),
            Body::Json(json!({"until": "2026-06-01", "document": "工委〔2026〕1号"})),
            CU,
        ),
        r(
            "POST",
            format!("/api/v1/orgs/{ba2}/elections"),
            Body::Json(json!({"elected_on": "2026-01-05", "officers": []})),
            CU,
        ),
        // Pages
        r("GET", "/", Body::None, ALL),
        r("GET", "/password", Body::None, ALL),
        r("GET", "/account/tokens", Body::None, ALL),
        r(
            "POST",
            "/account/tokens",
            Body::Form(vec![("name", "p@ROLE@".into())]),
            ALL,
        ),
        r("GET", "/me", Body::None, &[Member]),
        r("GET", "/org/categories", Body::None, CU),
        r(
            "POST",
            "/org/categories",
            Body::Form(vec![("name", "页面类别@ROLE@".into())]),
            C,
        ),
        r("GET", "/org/units", Body::None, CU),
        r("GET", "/org/units/export", Body::None, CU),
        r("GET", "/org/units/new", Body::None, C),
        r(
            "POST",
            "/org/units",
            Body::Form(vec![
                ("name", "页面局@ROLE@".into()),
                ("category_id", "1".into()),
            ]),
            C,
        ),
        r("GET", format!("/org/units/{a}"), Body::None, CU),
        r("GET", "/org/tree", Body::None, CUB),
        r("GET", "/org/tree/export", Body::None, CUB),
        r("GET", format!("/org/orgs/new?unit_id={a}"), Body::None, CU),
        r(
            "POST",
            "/org/orgs",
            Body::Form(vec![
                ("unit_id", a.to_string()),
                ("kind", "branch".into()),
                ("name", "页面支部@ROLE@".into()),
            ]),
            CU,
        ),
        r("GET", format!("/org/orgs/{ba}"), Body::None, CUB),
        r("GET", "/org/members", Body::None, CUB),
        r("GET", "/org/members/export", Body::None, CUB),
        r("GET", "/org/members/new", Body::None, CU),
        r("GET", format!("/org/members/{ma}"), Body::None, CUBM),
        r("POST", format!("/org/members/{ma}/unmask"), Body::None, CU),
        r("GET", "/org/import", Body::None, CU),
        r("GET", "/org/import/template/members", Body::None, CU),
        r("GET", "/org/communities", Body::None, C),
        r("GET", "/org/communities/export", Body::None, C),
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
        r("GET", "/account/totp", Body::None, ALL),
        r("POST", "/account/totp/start", Body::None, ALL),
        r(
            "POST",
            "/account/totp/recovery-codes",
            Body::Form(vec![("code", "000000".into())]),
            ALL,
        ),
        r("GET", "/orglife/meetings", Body::None, CUB),
        r("POST", "/orglife/meetings", meeting_form(), UB),
        r("GET", "/orglife/meetings/export", Body::None, CUB),
        r(
            "GET",
            format!("/orglife/meetings/new?branch_id={ba}"),
            Body::None,
            UB,
        ),
        r(
            "GET",
            format!("/orglife/register?branch_id={ba}&held_on=2026-03-10&kind=theme_day"),
            Body::None,
            UB,
        ),
        r("GET", format!("/orglife/meetings/{mt}"), Body::None, CUB),
        r(
            "GET",
            format!("/orglife/meetings/{mt}/edit"),
            Body::None,
            UB,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{mt}"),
            meeting_form(),
            UB,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{sub}/submit"),
            Body::None,
            UB,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{acc}/accept"),
            Body::Form(vec![]),
            CU,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{ret}/return"),
            Body::Form(vec![("comment", "请补充".into())]),
            CU,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{del}/delete"),
            Body::None,
            UB,
        ),
        r("GET", "/orglife/calendar", Body::None, CUB),
        r(
            "GET",
            format!("/orglife/calendar?branch_id={ba}&year=2026"),
            Body::None,
            CUB,
        ),
        r("GET", "/orglife/compliance", Body::None, CUB),
        r("GET", "/orglife/compliance/export", Body::None, CUB),
        r("GET", "/orglife/rules", Body::None, CUB),
        r(
            "POST",
            "/orglife/rules",
            Body::Form(vec![
                ("kind", "party_lecture".into()),
                ("from_year", "2030".into()),
                ("period", "quarter".into()),
                ("times", "1".into()),
                ("quorum", "none".into()),
            ]),
            C,
        ),
        r("GET", "/orglife/mine", Body::None, M),
        r(
            "POST",
            format!("/orglife/meetings/{mt}/attachments"),
            Body::Xlsx,
            UB,
        ),
        r("GET", "/org/establishment", Body::None, CU),
        r("GET", "/notifications", Body::None, ALL),
        r("POST", "/notifications/read-all", Body::None, ALL),
        r(
            "POST",
            "/notifications/email",
            Body::Form(vec![("email", "".into())]),
            ALL,
        ),
        r("GET", "/org/establishment/export", Body::None, CU),
        r("GET", format!("/org/orgs/{ba2}/election"), Body::None, CU),
        r(
            "POST",
            format!("/org/orgs/{ba2}/election"),
            Body::Form(vec![("elected_on", "2026-01-06".into())]),
            CU,
        ),
        r(
            "POST",
            format!("/org/orgs/{ba2}/extension"),
            Body::Form(vec![
                ("until", "2026-06-01".into()),
                ("document", "工委〔2026〕2号".into()),
            ]),
            CU,
        ),
    ];
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
            let s = call(&app, client, &route_for, *role).await;
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
