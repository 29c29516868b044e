//! Access rows of 分类指导: years of items, plans, tasks, progress, comments and the views
//! by category.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::{r, Body, Ctx, Route, C, CU, CUB};
use crate::common::TestApp;

/// The objects the rows act on; each write gets its own, since only one role's call
/// succeeds.
#[derive(Clone)]
pub(super) struct Prep {
    category: i64,
    /// A requirement of unit A's category in the published year 2030.
    item: i64,
    /// Drafts: read and saved by API, deleted by API, published by API, saved by page,
    /// published by page, deleted by page.
    drafts: [i64; 6],
    /// Unit A's draft plan of 2030, with tasks to edit (API, page) and delete (API, page).
    plan: i64,
    tasks: [i64; 4],
    /// Unit A's submitted plan of 2031 and its task (progress, comments).
    submitted: i64,
    done_task: i64,
    /// Draft plans with a task, submitted by API and by page.
    to_submit: [i64; 2],
}

async fn publish(app: &TestApp, admin: &Client, year: i64) {
    let (s, v) = app
        .post(admin, "/api/v1/guidance/years", json!({"year": year}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            admin,
            &format!("/api/v1/guidance/years/{year}/publish"),
            json!({"row_version": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}

pub(super) fn task_body(item: i64) -> Value {
    json!({"title": "开展专题学习@ROLE@", "owner": "机关党委", "deadline": "2030-06-30", "measure": "完成4次", "item_ids": [item]})
}

pub(super) async fn prepare(app: &TestApp, admin: &Client, unit_a: i64) -> Prep {
    for y in 2030..=2035 {
        publish(app, admin, y).await;
    }
    let mut drafts = [0i64; 6];
    for (i, d) in drafts.iter_mut().enumerate() {
        let year = 2040 + i as i64;
        let (s, v) = app
            .post(admin, "/api/v1/guidance/years", json!({"year": year}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        *d = year;
    }
    let (_, unit) = app.get(admin, &format!("/api/v1/units/{unit_a}")).await;
    let category = unit["category_id"].as_i64().expect("category");
    let (_, y) = app.get(admin, "/api/v1/guidance/years/2030").await;
    let item = y["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["category_id"] == json!(category))
        .expect("own category")["items"][0]["item_id"]
        .as_i64()
        .expect("item");
    let writer = app
        .user_with(
            admin,
            "g_unit_writer",
            json!({"role": "unit", "unit_id": unit_a}),
        )
        .await;
    let plan_of = |year: i64| {
        let (app, writer) = (app, &writer);
        async move {
            let (s, v) = app
                .post(
                    writer,
                    "/api/v1/guidance/plans",
                    json!({"unit_id": unit_a, "year": year}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["plan_id"].as_i64().expect("plan")
        }
    };
    let add = |plan: i64, item: i64, deadline: &'static str| {
        let (app, writer) = (app, &writer);
        async move {
            let (s, v) = app
                .post(
                    writer,
                    &format!("/api/v1/guidance/plans/{plan}/tasks"),
                    json!({"title": "任务", "owner": "书记", "deadline": deadline, "measure": "完成", "item_ids": [item]}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["task_id"].as_i64().expect("task")
        }
    };
    let plan = plan_of(2030).await;
    let mut tasks = [0i64; 4];
    for t in &mut tasks {
        *t = add(plan, item, "2030-05-01").await;
    }
    // Later years' items have their own ids: the first requirement of the same category.
    let item_of = |year: i64| async move {
        let (_, y) = app
            .get(admin, &format!("/api/v1/guidance/years/{year}"))
            .await;
        y["categories"]
            .as_array()
            .expect("categories")
            .iter()
            .find(|c| c["category_id"] == json!(category))
            .expect("own category")["items"][0]["item_id"]
            .as_i64()
            .expect("item")
    };
    let submitted = plan_of(2031).await;
    let done_task = add(submitted, item_of(2031).await, "2031-05-01").await;
    let (s, v) = app
        .post(
            &writer,
            &format!("/api/v1/guidance/plans/{submitted}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let mut to_submit = [0i64; 2];
    for (i, p) in to_submit.iter_mut().enumerate() {
        let year = 2032 + i as i64;
        *p = plan_of(year).await;
        let deadline = if i == 0 { "2032-05-01" } else { "2033-05-01" };
        add(*p, item_of(year).await, deadline).await;
    }
    Prep {
        category,
        item,
        drafts,
        plan,
        tasks,
        submitted,
        done_task,
        to_submit,
    }
}

fn task_form(item: i64) -> Body {
    Body::Form(vec![
        ("title", "页面任务@ROLE@".into()),
        ("owner", "组织委员".into()),
        ("deadline", "2030-09-30".into()),
        ("measure", "形成台账".into()),
        ("item_ids", item.to_string()),
    ])
}

pub(super) fn rows(c: &Ctx) -> Vec<Route> {
    let g = &c.guidance;
    let [read, del, publ, page_save, page_publ, page_del] = g.drafts;
    let [t_edit, t_page_edit, t_del, t_page_del] = g.tasks;
    let (plan, sub, done, cat, item) = (g.plan, g.submitted, g.done_task, g.category, g.item);
    let version = || Body::Form(vec![("row_version", "1".into())]);
    let progress = json!({"status": "in_progress", "body": "推进中@ROLE@", "evidence": "/orglife/meetings\n会议纪要"});
    vec![
        // years
        r("GET", "/api/v1/guidance/years", Body::None, CU),
        r(
            "POST",
            "/api/v1/guidance/years",
            Body::Json(json!({"year": 2050, "from_year": 2030})),
            C,
        ),
        r("GET", "/api/v1/guidance/years/2030", Body::None, CU),
        r(
            "GET",
            format!("/api/v1/guidance/years/{read}"),
            Body::None,
            C,
        ),
        r(
            "PUT",
            format!("/api/v1/guidance/years/{read}"),
            Body::Json(
                json!({"row_version": 1, "common": ["坚持以党的政治建设为统领"], "categories": []}),
            ),
            C,
        ),
        r(
            "DELETE",
            format!("/api/v1/guidance/years/{del}?row_version=1"),
            Body::None,
            C,
        ),
        r(
            "POST",
            format!("/api/v1/guidance/years/{publ}/publish"),
            Body::Json(json!({"row_version": 1})),
            C,
        ),
        r("GET", "/guidance/years", Body::None, CU),
        r(
            "POST",
            "/guidance/years",
            Body::Form(vec![("year", "2051".into()), ("from_year", "".into())]),
            C,
        ),
        r("GET", "/guidance/years/2030", Body::None, CU),
        r("GET", "/guidance/years/2030/export", Body::None, CU),
        r("GET", format!("/guidance/years/{read}"), Body::None, C),
        r(
            "POST",
            format!("/guidance/years/{page_save}"),
            Body::Form(vec![
                ("row_version", "1".into()),
                (
                    "common",
                    "坚持以党的政治建设为统领\n着力深化理论武装".into(),
                ),
            ]),
            C,
        ),
        r(
            "POST",
            format!("/guidance/years/{page_publ}/publish"),
            version(),
            C,
        ),
        r(
            "POST",
            format!("/guidance/years/{page_del}/delete"),
            version(),
            C,
        ),
        // plans
        r("GET", "/api/v1/guidance/plans?year=2030", Body::None, CUB),
        r(
            "POST",
            "/api/v1/guidance/plans",
            Body::Json(json!({"unit_id": c.a, "year": 2034})),
            &[super::R::Unit],
        ),
        r(
            "GET",
            format!("/api/v1/guidance/plans/{plan}"),
            Body::None,
            CUB,
        ),
        r(
            "POST",
            format!("/api/v1/guidance/plans/{}/submit", g.to_submit[0]),
            Body::Json(json!({})),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/api/v1/guidance/plans/{plan}/tasks"),
            Body::Json(task_body(item)),
            &[super::R::Unit],
        ),
        r(
            "PUT",
            format!("/api/v1/guidance/tasks/{t_edit}"),
            Body::Json(task_body(item)),
            &[super::R::Unit],
        ),
        r(
            "DELETE",
            format!("/api/v1/guidance/tasks/{t_del}"),
            Body::None,
            &[super::R::Unit],
        ),
        r(
            "PUT",
            format!("/api/v1/guidance/tasks/{done}/progress/1"),
            Body::Json(progress),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/api/v1/guidance/plans/{sub}/comments"),
            Body::Json(json!({"task_id": done, "quarter": 1, "body": "请补充佐证@ROLE@"})),
            C,
        ),
        r(
            "GET",
            "/guidance/plans?year=2030&sort=gaps",
            Body::None,
            CUB,
        ),
        r("GET", "/guidance/plans/export?year=2030", Body::None, CUB),
        r(
            "POST",
            "/guidance/plans",
            Body::Form(vec![("unit_id", c.a.to_string()), ("year", "2035".into())]),
            &[super::R::Unit],
        ),
        r("GET", format!("/guidance/plans/{plan}"), Body::None, CUB),
        r(
            "GET",
            format!("/guidance/plans/{plan}/export"),
            Body::None,
            CUB,
        ),
        r(
            "POST",
            format!("/guidance/plans/{}/submit", g.to_submit[1]),
            Body::Form(vec![]),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/guidance/plans/{plan}/tasks"),
            task_form(item),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/guidance/plans/{sub}/comments"),
            Body::Form(vec![("body", "总体可行@ROLE@".into())]),
            C,
        ),
        r("GET", format!("/guidance/tasks/{done}"), Body::None, CUB),
        r(
            "POST",
            format!("/guidance/tasks/{t_page_edit}"),
            task_form(item),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/guidance/tasks/{t_page_del}/delete"),
            Body::Form(vec![]),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/guidance/tasks/{done}/progress"),
            Body::Form(vec![
                ("quarter", "2".into()),
                ("status", "done".into()),
                ("body", "已完成@ROLE@".into()),
                ("evidence", "".into()),
            ]),
            &[super::R::Unit],
        ),
        // views by category
        r(
            "GET",
            "/api/v1/guidance/categories?year=2030",
            Body::None,
            C,
        ),
        r(
            "GET",
            format!("/api/v1/guidance/categories/{cat}?year=2030"),
            Body::None,
            C,
        ),
        r("GET", "/guidance/categories?year=2030", Body::None, C),
        r(
            "GET",
            format!("/guidance/categories/{cat}?year=2030&gaps=1"),
            Body::None,
            C,
        ),
        r(
            "GET",
            format!("/guidance/categories/{cat}/export?year=2030"),
            Body::None,
            C,
        ),
    ]
}
