//! 分类指导: a year's items drafted from the categories, edited, published and then frozen,
//! copied to the next year; a unit's plan written, submitted and reported on by quarter; the
//! committee's comments; the views by category with their gaps; the coverage indicator; and
//! every bad input named in Chinese with nothing half-saved — over the API and the pages.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, xlsx_range, TestApp};

const Y: i64 = 2030;

struct Setup {
    app: TestApp,
    /// The committee.
    admin: Client,
    /// Unit A's admin, unit B's admin, branch A's admin.
    unit: Client,
    unit_b: Client,
    branch: Client,
    unit_a: i64,
    unit_b_id: i64,
    category: i64,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let unit = app
        .user_with(
            &admin,
            "gd_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let unit_b = app
        .user_with(
            &admin,
            "gd_unit_b",
            json!({"role": "unit", "unit_id": city.unit_b}),
        )
        .await;
    let branch = app
        .user_with(
            &admin,
            "gd_branch",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    let (_, u) = app
        .get(&admin, &format!("/api/v1/units/{}", city.unit_a))
        .await;
    Setup {
        category: u["category_id"].as_i64().expect("category"),
        app,
        admin,
        unit,
        unit_b,
        branch,
        unit_a: city.unit_a,
        unit_b_id: city.unit_b,
    }
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v["error"]["fields"][name].as_str().unwrap_or_default()
}

impl Setup {
    async fn year(&self, c: &Client, year: i64) -> (StatusCode, Value) {
        self.app
            .get(c, &format!("/api/v1/guidance/years/{year}"))
            .await
    }

    async fn publish(&self, year: i64) {
        let (s, v) = self
            .app
            .post(&self.admin, "/api/v1/guidance/years", json!({"year": year}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (_, y) = self.year(&self.admin, year).await;
        let (s, v) = self
            .app
            .post(
                &self.admin,
                &format!("/api/v1/guidance/years/{year}/publish"),
                json!({"row_version": y["row_version"]}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }

    /// (own category's requirement ids, common goal ids, another category's requirement id).
    async fn items(&self, year: i64) -> (Vec<i64>, Vec<i64>, i64) {
        let (_, y) = self.year(&self.admin, year).await;
        let ids = |v: &Value| -> Vec<i64> {
            v.as_array()
                .expect("items")
                .iter()
                .map(|i| i["item_id"].as_i64().expect("id"))
                .collect()
        };
        let cats = y["categories"].as_array().expect("categories");
        let own = cats
            .iter()
            .find(|c| c["category_id"] == json!(self.category))
            .expect("own");
        let other = cats
            .iter()
            .find(|c| c["category_id"] != json!(self.category))
            .expect("other");
        (
            ids(&own["items"]),
            ids(&y["common"]),
            ids(&other["items"])[0],
        )
    }

    async fn plan(&self, c: &Client, unit: i64, year: i64) -> i64 {
        let (s, v) = self
            .app
            .post(
                c,
                "/api/v1/guidance/plans",
                json!({"unit_id": unit, "year": year}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["plan_id"].as_i64().expect("plan")
    }

    async fn add_task(&self, c: &Client, plan: i64, body: Value) -> (StatusCode, Value) {
        self.app
            .post(c, &format!("/api/v1/guidance/plans/{plan}/tasks"), body)
            .await
    }

    async fn page(&self, c: &Client, path: &str) -> (StatusCode, String) {
        let r = c.get(self.app.url(path)).send().await.expect("get");
        let s = r.status();
        (s, r.text().await.expect("text"))
    }

    async fn form(&self, c: &Client, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String) {
        let r = c
            .post(self.app.url(path))
            .form(pairs)
            .send()
            .await
            .expect("post");
        let s = r.status();
        (s, r.text().await.expect("text"))
    }

    async fn tasks_in(&self, plan: i64) -> i64 {
        self.app
            .sql_scalar(&format!(
                "select count(*) from guidance_task where guidance_plan_id = {plan}"
            ))
            .await
    }
}

fn task(items: &[i64]) -> Value {
    json!({"title": "组织党组理论学习中心组专题学习", "owner": "机关党委书记", "deadline": "2030-06-30", "measure": "全年集中学习不少于12次", "item_ids": items})
}

#[tokio::test]
async fn a_year_is_drafted_from_the_categories_edited_published_frozen_and_copied() {
    let t = setup().await;
    let (s, v) = t
        .app
        .post(&t.admin, "/api/v1/guidance/years", json!({"year": Y}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, y) = t.year(&t.admin, Y).await;
    assert_eq!(y["status"], "draft");
    // The common goal (一坚持六着力) and six categories' three requirements each.
    assert_eq!(y["common"].as_array().expect("common").len(), 7);
    assert_eq!(y["categories"].as_array().expect("cats").len(), 6);
    assert_eq!(y["item_count"], 7 + 18);
    // A draft is the committee's: a unit admin does not see it.
    let (s, _) = t.year(&t.unit, Y).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = t.app.get(&t.unit, "/api/v1/guidance/years").await;
    assert_eq!(list["total"], 0);
    // A second draft of the same year is refused.
    let (s, v) = t
        .app
        .post(&t.admin, "/api/v1/guidance/years", json!({"year": Y}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "year").contains("已存在"), "{v}");

    // Edited: a requirement added to the unit's category, the common goal kept.
    let mut own: Vec<Value> = y["categories"]
        .as_array()
        .expect("cats")
        .iter()
        .find(|c| c["category_id"] == json!(t.category))
        .expect("own")["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["body"].clone())
        .collect();
    own.push(json!("强化作风建设"));
    let common: Vec<Value> = y["common"]
        .as_array()
        .expect("common")
        .iter()
        .map(|i| i["body"].clone())
        .collect();
    let body = json!({"row_version": y["row_version"], "common": common, "categories": [{"category_id": t.category, "items": own}]});
    let (s, v) = t
        .app
        .send(
            &t.admin,
            "PUT",
            &format!("/api/v1/guidance/years/{Y}"),
            body.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The same edit again carries a stale row version.
    let (s, v) = t
        .app
        .send(
            &t.admin,
            "PUT",
            &format!("/api/v1/guidance/years/{Y}"),
            body,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("刷新"));
    // Too long an item, and an empty common goal cannot be published.
    let (_, y) = t.year(&t.admin, Y).await;
    let long = "字".repeat(201);
    let (s, v) = t
        .app
        .send(
            &t.admin,
            "PUT",
            &format!("/api/v1/guidance/years/{Y}"),
            json!({"row_version": y["row_version"], "common": [long], "categories": [{"category_id": 999_999, "items": []}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(field(&v, "common"), "共性目标第1条不超过200字，现为201字");
    assert!(field(&v, "categories[0].category_id").contains("不存在"));
    let (_, after) = t.year(&t.admin, Y).await;
    assert_eq!(after["item_count"], 7 + 19, "nothing half-saved");
    assert_eq!(after["row_version"], y["row_version"]);

    let (s, v) = t
        .app
        .post(
            &t.admin,
            &format!("/api/v1/guidance/years/{Y}/publish"),
            json!({"row_version": y["row_version"]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // Frozen: no edit, no delete, by the store and by the database.
    let (_, y) = t.year(&t.admin, Y).await;
    let (s, v) = t
        .app
        .send(
            &t.admin,
            "PUT",
            &format!("/api/v1/guidance/years/{Y}"),
            json!({"row_version": y["row_version"], "common": ["x"], "categories": []}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("已发布"));
    let (s, _) = t
        .app
        .send(
            &t.admin,
            "DELETE",
            &format!("/api/v1/guidance/years/{Y}"),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let sneaky = sqlx::query("delete from guidance_item")
        .execute(&t.app.state.db.pool)
        .await;
    assert!(sneaky.is_err(), "the database refuses too");

    // A unit admin reads the published year: the common goal and its own category only.
    let (s, y) = t.year(&t.unit, Y).await;
    assert_eq!(s, StatusCode::OK, "{y}");
    let cats = y["categories"].as_array().expect("cats");
    assert_eq!(cats.len(), 1);
    assert_eq!(cats[0]["category_id"], json!(t.category));
    assert_eq!(cats[0]["items"].as_array().expect("items").len(), 4);
    // A branch admin has no use for the items list.
    let (s, _) = t.year(&t.branch, Y).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Copied to the next year as a new draft with the same items.
    let (s, v) = t
        .app
        .post(
            &t.admin,
            "/api/v1/guidance/years",
            json!({"year": Y + 1, "from_year": Y}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, next) = t.year(&t.admin, Y + 1).await;
    assert_eq!(next["status"], "draft");
    assert_eq!(next["copied_from"], Y);
    assert_eq!(next["item_count"], 7 + 19);
    // A draft can be deleted.
    let (s, _) = t
        .app
        .send(
            &t.admin,
            "DELETE",
            &format!("/api/v1/guidance/years/{}", Y + 1),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The existing category pages keep working beside it.
    let (s, _) = t.page(&t.admin, "/org/categories").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_unit_plans_submits_reports_progress_and_the_committee_sees_its_gaps() {
    let t = setup().await;
    t.publish(Y).await;
    let (own, common, _) = t.items(Y).await;
    let plan = t.plan(&t.unit, t.unit_a, Y).await;
    // Two tasks: one for the first requirement and the first common goal line.
    let (s, v) = t.add_task(&t.unit, plan, task(&[own[0], common[0]])).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let first = v["task_id"].as_i64().expect("task");
    let (s, v) = t.add_task(&t.unit, plan, task(&[own[1]])).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let second = v["task_id"].as_i64().expect("task");
    // Edited and deleted while a draft.
    let mut changed = task(&[own[1], common[1]]);
    changed["owner"] = json!("组织委员");
    let (s, v) = t
        .app
        .send(
            &t.unit,
            "PUT",
            &format!("/api/v1/guidance/tasks/{second}"),
            changed,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = t.add_task(&t.unit, plan, task(&[own[2]])).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let third = v["task_id"].as_i64().expect("task");
    let (s, _) = t
        .app
        .send(
            &t.unit,
            "DELETE",
            &format!("/api/v1/guidance/tasks/{third}"),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let (_, p) = t
        .app
        .get(&t.unit, &format!("/api/v1/guidance/plans/{plan}"))
        .await;
    assert_eq!(p["tasks"].as_array().expect("tasks").len(), 2);
    assert_eq!(p["tasks"][1]["owner"], "组织委员");
    // 3 requirements + 7 common goal lines; 4 covered, the third requirement a gap.
    assert_eq!(p["items"].as_array().expect("items").len(), 10);
    let gaps: Vec<i64> = p["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| g.as_i64().expect("id"))
        .collect();
    assert_eq!(gaps.len(), 6);
    assert!(gaps.contains(&own[2]));

    // Before submission: no progress.
    let (s, v) = t
        .app
        .send(
            &t.unit,
            "PUT",
            &format!("/api/v1/guidance/tasks/{first}/progress/1"),
            json!({"status": "in_progress", "body": "已开展两次集中学习"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["message"], "计划提交后才能填报季度进展");
    // The indicator counts a submitted plan only.
    let ind = format!(
        "/api/v1/indicators/guidance.plan_coverage?subject=unit:{}&year={Y}",
        t.unit_a
    );
    let (s, r) = t.app.get(&t.admin, &ind).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["reading"]["value"].as_i64(), r["reading"]["of"].as_i64()),
        (Some(0), Some(10))
    );

    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/guidance/plans/{plan}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // Submitted: tasks fixed.
    let (s, v) = t.add_task(&t.unit, plan, task(&[own[2]])).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("已提交"));
    let (s, _) = t
        .app
        .send(
            &t.unit,
            "DELETE",
            &format!("/api/v1/guidance/tasks/{first}"),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    let (s, v) = t
        .app
        .send(
            &t.unit,
            "PUT",
            &format!("/api/v1/guidance/tasks/{first}/progress/1"),
            json!({"status": "in_progress", "body": "已开展两次集中学习", "evidence": "/orglife/meetings/1\n学习记录已归档"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // Corrected: the same quarter is replaced, not doubled.
    let (s, _) = t
        .app
        .send(
            &t.unit,
            "PUT",
            &format!("/api/v1/guidance/tasks/{first}/progress/1"),
            json!({"status": "推进中", "body": "已开展三次集中学习", "evidence": "/orglife/meetings/1"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t
        .app
        .send(
            &t.unit,
            "PUT",
            &format!("/api/v1/guidance/tasks/{first}/progress/2"),
            json!({"status": "done", "body": "全年学习计划完成"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // The committee comments on the plan, a task and a quarter; the unit cannot comment.
    for body in [
        json!({"body": "计划总体可行，请补充个性要求3的任务"}),
        json!({"task_id": first, "body": "请细化学习专题"}),
        json!({"task_id": first, "quarter": 1, "body": "佐证请附会议记录"}),
    ] {
        let (s, v) = t
            .app
            .post(
                &t.admin,
                &format!("/api/v1/guidance/plans/{plan}/comments"),
                body,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, _) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/guidance/plans/{plan}/comments"),
            json!({"body": "收到"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (_, p) = t
        .app
        .get(&t.branch, &format!("/api/v1/guidance/plans/{plan}"))
        .await;
    assert_eq!(p["status"], "submitted");
    let progress = p["tasks"][0]["progress"].as_array().expect("progress");
    assert_eq!(progress.len(), 2);
    assert_eq!(progress[0]["body"], "已开展三次集中学习");
    assert_eq!(progress[1]["status"], "done");
    assert_eq!(p["comments"].as_array().expect("comments").len(), 3);
    // The branch admin reads its unit's plan, but writes nothing.
    let (s, _) = t
        .app
        .send(
            &t.branch,
            "PUT",
            &format!("/api/v1/guidance/tasks/{first}/progress/3"),
            json!({"status": "done", "body": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Nobody else reads it: unit B's admin is told it does not exist.
    let (s, _) = t
        .app
        .get(&t.unit_b, &format!("/api/v1/guidance/plans/{plan}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t.page(&t.unit_b, &format!("/guidance/tasks/{first}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, l) = t
        .app
        .get(&t.unit_b, &format!("/api/v1/guidance/plans?year={Y}"))
        .await;
    assert_eq!(l["total"], 1);
    assert_eq!(l["items"][0]["unit_id"], json!(t.unit_b_id));
    assert!(l["items"][0]["plan_id"].is_null());

    // The indicator: 4 of 10 covered, the six gaps counting against.
    let (_, r) = t.app.get(&t.admin, &ind).await;
    assert_eq!(
        (r["reading"]["value"].as_i64(), r["reading"]["of"].as_i64()),
        (Some(4), Some(10))
    );
    let against = r["reading"]["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|e| e["counts"] == json!(false))
        .count();
    assert_eq!(against, 6);
    let (s, _) = t.app.get(&t.unit_b, &ind).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another unit's figure");

    // The committee's category view: unit A's tasks under their requirements, the third a
    // gap for A; unit B (no plan) a gap everywhere.
    let (s, v) = t
        .app
        .get(
            &t.admin,
            &format!("/api/v1/guidance/categories/{}?year={Y}", t.category),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total"], 2);
    assert_eq!(v["units_with_gaps"], 2);
    assert_eq!(v["gaps"], 6 + 10);
    let reqs = v["requirements"].as_array().expect("requirements");
    let a_under = |i: usize| {
        reqs[i]["units"]
            .as_array()
            .expect("units")
            .iter()
            .find(|u| u["unit_id"] == json!(t.unit_a))
            .expect("unit a")["tasks"]
            .as_array()
            .expect("tasks")
            .len()
    };
    assert_eq!((a_under(0), a_under(1), a_under(2)), (1, 1, 0));
    assert_eq!(
        reqs[0]["units"][0]["tasks"][0]["latest"]["quarter"]
            .as_i64()
            .or(reqs[0]["units"][1]["tasks"][0]["latest"]["quarter"].as_i64()),
        Some(2)
    );
    let (_, only) = t
        .app
        .get(
            &t.admin,
            &format!(
                "/api/v1/guidance/categories/{}?year={Y}&gaps=1&q=对照",
                t.category
            ),
        )
        .await;
    assert_eq!(only["total"], 1);
    let (_, all) = t
        .app
        .get(&t.admin, &format!("/api/v1/guidance/categories?year={Y}"))
        .await;
    let mine = all
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["category_id"] == json!(t.category))
        .expect("category");
    assert_eq!(
        (
            mine["units"].as_i64(),
            mine["submitted"].as_i64(),
            mine["gaps"].as_i64()
        ),
        (Some(2), Some(1), Some(16))
    );
    let (s, _) = t
        .app
        .get(
            &t.unit,
            &format!("/api/v1/guidance/categories/{}?year={Y}", t.category),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "units see no other unit's plan");

    // Pages: the plan at a glance, the task's quarters, the category with its gaps.
    let (s, html) = t.page(&t.unit, &format!("/guidance/plans/{plan}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("缺项 6 条"), "{html}");
    assert!(html.contains("已完成"));
    let (s, html) = t.page(&t.admin, &format!("/guidance/tasks/{first}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("href=\"/orglife/meetings/1\""));
    assert!(html.contains("佐证请附会议记录"));
    let (s, html) = t
        .page(
            &t.admin,
            &format!("/guidance/categories/{}?year={Y}", t.category),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("尚未编制计划"));
    assert!(html.contains("计划中没有任务对应此条"));
    // Exports: the plan's tasks with their quarters, the category's rows with the gaps.
    let r = t
        .unit
        .get(t.app.url(&format!("/guidance/plans/{plan}/export")))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let range = xlsx_range(&r.bytes().await.expect("bytes"));
    assert_eq!(range.height(), 3);
    let r = t
        .admin
        .get(t.app.url(&format!(
            "/guidance/categories/{}/export?year={Y}",
            t.category
        )))
        .send()
        .await
        .expect("export");
    let range = xlsx_range(&r.bytes().await.expect("bytes"));
    let gap_rows = range
        .rows()
        .filter(|row| {
            row.iter()
                .any(|c| matches!(c, calamine::Data::String(s) if s == "缺项"))
        })
        .count();
    assert_eq!(gap_rows, 16);
    let r = t
        .admin
        .get(
            t.app
                .url(&format!("/guidance/plans/export?year={Y}&sort=gaps")),
        )
        .send()
        .await
        .expect("export");
    let range = xlsx_range(&r.bytes().await.expect("bytes"));
    assert_eq!(range.height(), 3);
}

#[tokio::test]
async fn bad_input_is_named_in_chinese_and_nothing_is_half_saved() {
    let t = setup().await;
    // No plan before the year is published.
    let (s, v) = t
        .app
        .post(
            &t.unit,
            "/api/v1/guidance/plans",
            json!({"unit_id": t.unit_a, "year": Y}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "year").contains("尚未发布"), "{v}");
    t.publish(Y).await;
    // Not for another unit.
    let (s, _) = t
        .app
        .post(
            &t.unit,
            "/api/v1/guidance/plans",
            json!({"unit_id": t.unit_b_id, "year": Y}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (own, _, other) = t.items(Y).await;
    let plan = t.plan(&t.unit, t.unit_a, Y).await;
    let plan_b = t.plan(&t.unit_b, t.unit_b_id, Y).await;
    // Twice for the same year.
    let (s, v) = t
        .app
        .post(
            &t.unit,
            "/api/v1/guidance/plans",
            json!({"unit_id": t.unit_a, "year": Y}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "year").contains("已存在"));

    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"title": "  ", "owner": "书记", "deadline": "2030-06-30", "measure": "完成", "item_ids": [own[0]]}),
            "title",
            "请填写任务内容",
        ),
        (
            json!({"title": "学习", "owner": "人".repeat(51), "deadline": "2030-06-30", "measure": "完成", "item_ids": [own[0]]}),
            "owner",
            "责任人不超过50字，现为51字",
        ),
        (
            json!({"title": "学习", "owner": "书记", "deadline": "2030-02-30", "measure": "完成", "item_ids": [own[0]]}),
            "deadline",
            "2月没有30日",
        ),
        (
            json!({"title": "学习", "owner": "书记", "deadline": "明年", "measure": "完成", "item_ids": [own[0]]}),
            "deadline",
            "完成时限：",
        ),
        (
            json!({"title": "学习", "owner": "书记", "deadline": "2031-01-01", "measure": "完成", "item_ids": [own[0]]}),
            "deadline",
            "完成时限应在计划年度（2030年）之内",
        ),
        (
            json!({"title": "学习", "owner": "书记", "deadline": "2030-06-30", "measure": "", "item_ids": [own[0]]}),
            "measure",
            "请填写完成标准",
        ),
        (
            json!({"title": "学习", "owner": "书记", "deadline": "2030-06-30", "measure": "完成", "item_ids": []}),
            "item_ids",
            "请至少选择一项",
        ),
        (
            json!({"title": "学习", "owner": "书记", "deadline": "2030-06-30", "measure": "完成", "item_ids": [own[0], other]}),
            "item_ids",
            "只能对应本年度已发布的共性目标和本单位所属类别的个性要求",
        ),
    ];
    for (body, name, want) in cases {
        let (s, v) = t.add_task(&t.unit, plan, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {v}");
        assert!(field(&v, name).contains(want), "{name}: {v}");
    }
    assert_eq!(t.tasks_in(plan).await, 0, "nothing half-saved");
    // Another unit's plan: not found for unit A's admin, and nothing written.
    let (s, _) = t.add_task(&t.unit, plan_b, task(&[own[0]])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(t.tasks_in(plan_b).await, 0);
    // A submission without tasks.
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/guidance/plans/{plan}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("先添加任务"));

    let (_, v) = t.add_task(&t.unit, plan, task(&[own[0]])).await;
    let tid = v["task_id"].as_i64().expect("task");
    // A bad edit leaves the task as it was.
    let (s, _) = t
        .app
        .send(
            &t.unit,
            "PUT",
            &format!("/api/v1/guidance/tasks/{tid}"),
            json!({"title": "改过的", "owner": "书记", "deadline": "2030-06-30", "measure": "完成", "item_ids": [other]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let title: String =
        sqlx::query_scalar("select title from guidance_task where guidance_task_id = $1")
            .bind(tid)
            .fetch_one(&t.app.state.db.pool)
            .await
            .expect("title");
    assert_eq!(title, "组织党组理论学习中心组专题学习");
    t.app
        .post(
            &t.unit,
            &format!("/api/v1/guidance/plans/{plan}/submit"),
            json!({}),
        )
        .await;
    let put = |q: i64, body: Value| {
        let t = &t;
        async move {
            t.app
                .send(
                    &t.unit,
                    "PUT",
                    &format!("/api/v1/guidance/tasks/{tid}/progress/{q}"),
                    body,
                )
                .await
        }
    };
    let (s, v) = put(5, json!({"status": "done", "body": "完成"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&v, "quarter"), "季度只能是1至4，收到5");
    let (s, v) = put(0, json!({"status": "done", "body": "完成"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "quarter").contains("收到0"));
    let (s, v) = put(1, json!({"status": "finished", "body": "完成"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "status").contains("未开始、推进中或已完成"));
    let (s, v) = put(1, json!({"status": "done", "body": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&v, "body"), "请填写进展情况");
    let (s, v) = put(
        1,
        json!({"status": "done", "body": "完成", "evidence": "//evil.example/x"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "evidence").contains("本系统内记录的链接"));
    let (s, v) = put(1, json!({"status": "done", "body": "字".repeat(2001)})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "body").contains("不超过2000字"));
    let n = t
        .app
        .sql_scalar(&format!(
            "select count(*) from guidance_progress where guidance_task_id = {tid}"
        ))
        .await;
    assert_eq!(n, 0, "nothing half-saved");
    // Unit B's admin cannot report on unit A's task.
    let (s, _) = t
        .app
        .send(
            &t.unit_b,
            "PUT",
            &format!("/api/v1/guidance/tasks/{tid}/progress/1"),
            json!({"status": "done", "body": "完成"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Comments: empty, too long, a task of another plan, a quarter without a task.
    for (body, name) in [
        (json!({"body": " "}), "body"),
        (json!({"body": "字".repeat(1001)}), "body"),
        (json!({"task_id": 999_999, "body": "意见"}), "task_id"),
        (json!({"quarter": 2, "body": "意见"}), "quarter"),
        (
            json!({"task_id": tid, "quarter": 9, "body": "意见"}),
            "quarter",
        ),
    ] {
        let (s, v) = t
            .app
            .post(
                &t.admin,
                &format!("/api/v1/guidance/plans/{plan}/comments"),
                body,
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(!field(&v, name).is_empty(), "{name}: {v}");
    }
    // Bad filters are named.
    let (s, v) = t
        .app
        .get(&t.admin, "/api/v1/guidance/plans?year=abc&sort=x&status=y")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "year").contains("年份"));
    assert!(field(&v, "sort").contains("不可用"));
    assert!(field(&v, "status").contains("不可用"));

    // The page form keeps what was typed and names the problem.
    let plan_c = {
        t.publish(Y + 1).await;
        t.plan(&t.unit, t.unit_a, Y + 1).await
    };
    let (own2, _, _) = t.items(Y + 1).await;
    let item = own2[0].to_string();
    let (s, html) = t
        .form(
            &t.unit,
            &format!("/guidance/plans/{plan_c}/tasks"),
            &[
                ("title", "开展主题党日"),
                ("owner", "组织委员"),
                ("deadline", "2030-13-01"),
                ("measure", "每月一次"),
                ("item_ids", &item),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("完成时限"), "{html}");
    assert!(html.contains("开展主题党日"));
    assert_eq!(t.tasks_in(plan_c).await, 0);
}
