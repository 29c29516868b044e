//! Access rows of 分级定档: the standard's versions, drafts and their editor.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::{r, Body, Ctx, Route, C, CUB};
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

pub(super) async fn prepare(app: &TestApp, admin: &Client) -> Prep {
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
    Prep {
        published,
        drafts,
        body: content_input(&std, 1),
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
}
