//! Access rows of 分级定档: the standard's versions, drafts and their editor.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::{r, Body, Ctx, Route, C, CU, CUB, R, UB};

const B: &[R] = &[R::Branch];
use crate::common::TestApp;

/// The versions the rows act on: the published default, and a fresh draft for each write
/// (only the committee's call succeeds, so each is written once).
#[derive(Clone)]
pub(super) struct Prep {
    published: i64,
    /// read, edit by API, delete by API, publish by API, save by page, publish by page,
    /// delete by page.
    drafts: [i64; 7],
    /// The published standard's content as a draft's whole content (row version 1).
    body: Value,
    /// Branch A's assessment of the year's cycle: accepted in 四档, with an open
    /// rectification item and a pending application to move up.
    assessment: i64,
    item: i64,
    application: i64,
}

/// The published standard's content as the editor's input at `row_version`.
fn content_input(std: &Value, row_version: i64) -> Value {
    let names: Vec<Value> = std["dimensions"]
        .as_array()
        .expect("dimensions")
        .iter()
        .map(|d| d["name"].clone())
        .collect();
    json!({
        "row_version": row_version,
        "title": std["title"],
        "extra_cap": std["extra_cap"],
        "dimensions": names,
        "criteria": std["criteria"],
        "thresholds": std["thresholds"],
        "vetoes": std["vetoes"],
    })
}

pub(super) async fn prepare(app: &TestApp, admin: &Client, branch: i64) -> Prep {
    let (s, list) = app.get(admin, "/api/v1/grading/standards").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let published = list["items"][0]["standard_id"].as_i64().expect("standard");
    let mut drafts = [0i64; 7];
    for d in &mut drafts {
        let (s, v) = app
            .post(
                admin,
                "/api/v1/grading/standards",
                json!({"from_id": published, "year": 2031}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        *d = v["standard_id"].as_i64().expect("draft");
    }
    let (_, std) = app
        .get(admin, &format!("/api/v1/grading/standards/{published}"))
        .await;
    let year = yaoshi::clock::today().year();
    let (s, v) = app
        .post(admin, "/api/v1/grading/cycles", json!({"year": year}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let assessment = app
        .sql_scalar(&format!(
            "select assessment_id from assessment where branch_id = {branch}"
        ))
        .await;
    let pool = &app.state.db.pool;
    for sql in [
        format!("update assessment set stage = 'accepted', tier = 'fourth', tier_reason = '测试' where assessment_id = {assessment}"),
        format!("insert into rectification_item (assessment_id, body, owner, due_on, created_at) values ({assessment}, '补齐支委会会议', '书记', '{year}-12-31', 0)"),
        format!("insert into upgrade_application (assessment_id, from_tier, to_tier, statement, applied_at) values ({assessment}, 'fourth', 'third', '已整改', 0)"),
    ] {
        sqlx::query(&sql).execute(pool).await.expect("prepare assessment");
    }
    let item = app
        .sql_scalar(&format!(
            "select rectification_item_id from rectification_item where assessment_id = {assessment}"
        ))
        .await;
    let application = app
        .sql_scalar(&format!(
            "select upgrade_application_id from upgrade_application where assessment_id = {assessment}"
        ))
        .await;
    Prep {
        published,
        drafts,
        body: content_input(&std, 1),
        assessment,
        item,
        application,
    }
}

/// A whole small standard as the editor's form: one dimension, one criterion of 95, 5 extra.
fn small_form() -> Body {
    Body::Form(vec![
        ("row_version", "1".into()),
        ("title", "页面保存@ROLE@".into()),
        ("extra_cap", "5".into()),
        ("dimensions[0].name", "组织设置标准化".into()),
        ("criteria[0].number", "1".into()),
        ("criteria[0].dimension", "1".into()),
        ("criteria[0].body", "按规定设置".into()),
        ("criteria[0].points", "95".into()),
        ("criteria[0].method", "manual".into()),
        ("thresholds[0].name", "先进（示范）党支部".into()),
        ("thresholds[0].min_score", "90".into()),
        ("thresholds[1].name", "较好党支部".into()),
        ("thresholds[1].min_score", "80".into()),
        ("thresholds[2].name", "一般党支部".into()),
        ("thresholds[2].min_score", "60".into()),
        ("thresholds[3].name", "后进党支部".into()),
        ("thresholds[3].min_score", "0".into()),
    ])
}

pub(super) fn rows(c: &Ctx) -> Vec<Route> {
    let g = &c.grading;
    let p = g.published;
    let [read, edit, del, publ, page_save, page_publ, page_del] = g.drafts;
    let version = || Body::Form(vec![("row_version", "1".into())]);
    vec![
        r("GET", "/api/v1/grading/standards", Body::None, CUB),
        r(
            "GET",
            "/api/v1/grading/standards?year=2031&status=draft",
            Body::None,
            CUB,
        ),
        r(
            "POST",
            "/api/v1/grading/standards",
            Body::Json(json!({"from_id": p, "year": 2032})),
            C,
        ),
        r(
            "GET",
            format!("/api/v1/grading/standards/{p}"),
            Body::None,
            CUB,
        ),
        r(
            "GET",
            format!("/api/v1/grading/standards/{read}"),
            Body::None,
            C,
        ),
        r(
            "PUT",
            format!("/api/v1/grading/standards/{edit}"),
            Body::Json(g.body.clone()),
            C,
        ),
        r(
            "DELETE",
            format!("/api/v1/grading/standards/{del}?row_version=1"),
            Body::None,
            C,
        ),
        r(
            "POST",
            format!("/api/v1/grading/standards/{publ}/publish"),
            Body::Json(json!({"row_version": 1})),
            C,
        ),
        r("GET", "/grading/standards", Body::None, CUB),
        r(
            "GET",
            format!("/grading/standards/{p}/export"),
            Body::None,
            CUB,
        ),
        r(
            "GET",
            format!("/grading/standards/{read}/export"),
            Body::None,
            C,
        ),
        r(
            "POST",
            "/grading/standards",
            Body::Form(vec![("from_id", p.to_string()), ("year", "2032".into())]),
            C,
        ),
        r("GET", format!("/grading/standards/{p}"), Body::None, CUB),
        r("GET", format!("/grading/standards/{read}"), Body::None, C),
        r(
            "GET",
            format!("/grading/standards/{read}/edit"),
            Body::None,
            C,
        ),
        r(
            "POST",
            format!("/grading/standards/{page_save}"),
            small_form(),
            C,
        ),
        r(
            "POST",
            format!("/grading/standards/{page_publ}/publish"),
            version(),
            C,
        ),
        r(
            "POST",
            format!("/grading/standards/{page_del}/delete"),
            version(),
            C,
        ),
    ]
    .into_iter()
    .chain(assessment_rows(c))
    .collect()
}

/// The assessments' routes, on branch A's accepted assessment: every write the workflow
/// no longer allows is refused with 409/422 to the roles that may make it, and 403/404 to
/// the rest.
fn assessment_rows(c: &Ctx) -> Vec<Route> {
    let g = &c.grading;
    let (id, item, app) = (g.assessment, g.item, g.application);
    let year = yaoshi::clock::today().year();
    let api = |rest: &str| format!("/api/v1/grading/assessments/{id}{rest}");
    let page = |rest: &str| format!("/grading/assessments/{id}{rest}");
    let form = |pairs: &[(&'static str, &str)]| {
        Body::Form(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
    };
    let rv = || Body::Json(json!({"row_version": 1}));
    vec![
        r("GET", "/api/v1/grading/cycles", Body::None, CUB),
        r(
            "POST",
            "/api/v1/grading/cycles",
            Body::Json(json!({"year": year})),
            C,
        ),
        r(
            "POST",
            format!("/api/v1/grading/cycles/{year}/accept"),
            Body::Json(json!({"category_id": 1})),
            C,
        ),
        r("GET", "/api/v1/grading/assessments", Body::None, CUB),
        r(
            "GET",
            "/api/v1/grading/assessments?sort=up&tier=fourth",
            Body::None,
            CUB,
        ),
        r("GET", "/api/v1/grading/categories", Body::None, CUB),
        r("GET", api(""), Body::None, CUB),
        r("GET", api("/roadmap"), Body::None, CUB),
        r(
            "PUT",
            api("/self-check"),
            Body::Json(json!({"row_version": 1, "items": [{"number": 4, "score": 3}]})),
            B,
        ),
        r("POST", api("/submit"), rv(), B),
        r(
            "PUT",
            api("/review"),
            Body::Json(json!({"row_version": 1, "items": []})),
            &[R::Unit],
        ),
        r("POST", api("/forward"), rv(), &[R::Unit]),
        r(
            "POST",
            api("/return"),
            Body::Json(json!({"row_version": 1, "comment": "请补充佐证"})),
            CU,
        ),
        r("POST", api("/accept"), rv(), C),
        r(
            "POST",
            api("/vetoes"),
            Body::Json(json!({"code": "assembly_missed", "note": "第三季度未召开党员大会"})),
            CU,
        ),
        r("DELETE", api("/vetoes/assembly_missed"), Body::None, CU),
        r(
            "POST",
            api("/rectification"),
            Body::Json(
                json!({"body": "整改@ROLE@", "owner": "书记", "due_on": format!("{year}-12-31")}),
            ),
            UB,
        ),
        r(
            "POST",
            api(&format!("/rectification/{item}/done")),
            Body::Json(json!({"note": "已完成"})),
            UB,
        ),
        r(
            "POST",
            api("/applications"),
            Body::Json(json!({"statement": "已整改到位"})),
            B,
        ),
        r(
            "POST",
            api(&format!("/applications/{app}/decide")),
            Body::Json(json!({"accept": false, "note": "请继续整改"})),
            C,
        ),
        r("GET", "/grading/assessments", Body::None, CUB),
        r(
            "GET",
            "/grading/assessments/export?sort=-score",
            Body::None,
            CUB,
        ),
        r("GET", "/grading/categories", Body::None, CUB),
        r("GET", page(""), Body::None, CUB),
        r("GET", page("/export"), Body::None, CUB),
        r(
            "POST",
            "/grading/cycles",
            form(&[("year", &year.to_string())]),
            C,
        ),
        r(
            "POST",
            "/grading/assessments/accept-category",
            form(&[("year", &year.to_string()), ("category_id", "1")]),
            C,
        ),
        r(
            "POST",
            page("/self-check"),
            form(&[("row_version", "1"), ("score_4", "3")]),
            B,
        ),
        r(
            "POST",
            page("/review"),
            form(&[("row_version", "1"), ("action", "forward")]),
            &[R::Unit],
        ),
        r(
            "POST",
            page("/verdict"),
            form(&[("row_version", "1"), ("action", "accept")]),
            C,
        ),
        r(
            "POST",
            page("/vetoes"),
            form(&[("code", "serious_discipline"), ("note", "年内受党纪处分")]),
            CU,
        ),
        r(
            "POST",
            page("/vetoes/serious_discipline/delete"),
            Body::None,
            CU,
        ),
        r(
            "POST",
            page("/rectification"),
            form(&[
                ("body", "页面整改"),
                ("owner", "书记"),
                ("due_on", "2026-12-31"),
            ]),
            UB,
        ),
        r(
            "POST",
            page(&format!("/rectification/{item}/done")),
            form(&[("note", "已完成")]),
            UB,
        ),
        r(
            "POST",
            page("/applications"),
            form(&[("statement", "已整改到位")]),
            B,
        ),
        r(
            "POST",
            page(&format!("/applications/{app}/decide")),
            form(&[("action", "refuse"), ("note", "请继续整改")]),
            C,
        ),
    ]
}
