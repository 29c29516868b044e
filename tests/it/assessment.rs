//! 分级定档's assessments: a cycle opened for the year, a branch's self-check with evidence,
//! the unit's adjustment, the committee's return and acceptance (one by one and a category
//! at once), the tier and why, vetoes moving it down, rectification and an application
//! moving it up, the roadmap refreshing as records arrive — every bad input and stale
//! write refused in Chinese with nothing half-saved, over the API and the pages.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, City, TestApp};

struct Setup {
    app: TestApp,
    admin: Client,
    unit: Client,
    branch: Client,
    branch2: Client,
    other: Client,
    member: Client,
    city: City,
    year: i32,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let unit = app
        .user_with(
            &admin,
            "as_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let branch = app
        .user_with(
            &admin,
            "as_branch",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    let branch2 = app
        .user_with(
            &admin,
            "as_branch2",
            json!({"role": "branch", "org_id": city.branch_a2}),
        )
        .await;
    let other = app
        .user_with(
            &admin,
            "as_other",
            json!({"role": "branch", "org_id": city.branch_b}),
        )
        .await;
    let member = app
        .user_with(
            &admin,
            "as_member",
            json!({"role": "member", "member_id": city.member_a}),
        )
        .await;
    Setup {
        app,
        admin,
        unit,
        branch,
        branch2,
        other,
        member,
        city,
        year: yaoshi::clock::today().year(),
    }
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v["error"]["fields"][name].as_str().unwrap_or_default()
}

impl Setup {
    async fn open(&self) -> (StatusCode, Value) {
        self.app
            .post(
                &self.admin,
                "/api/v1/grading/cycles",
                json!({"year": self.year}),
            )
            .await
    }

    async fn id_of(&self, branch: i64) -> i64 {
        self.app
            .sql_scalar(&format!(
                "select assessment_id from assessment where branch_id = {branch}"
            ))
            .await
    }

    async fn detail(&self, c: &Client, id: i64) -> Value {
        let (s, v) = self
            .app
            .get(c, &format!("/api/v1/grading/assessments/{id}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Every manual criterion scored full, with evidence.
    fn full_self(d: &Value) -> Value {
        let items: Vec<Value> = d["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .filter(|l| l["source"] != "auto")
            .map(|l| {
                json!({"number": l["number"], "score": l["max"], "note": "已落实",
                       "evidence": "/orglife/meetings\n年度计划文件"})
            })
            .collect();
        json!({"row_version": d["row_version"], "items": items, "extra": 0})
    }

    async fn put(&self, c: &Client, path: &str, body: Value) -> (StatusCode, Value) {
        self.app.send(c, "PUT", path, body).await
    }

    async fn page(&self, c: &Client, path: &str) -> (StatusCode, String) {
        let r = c.get(self.app.url(path)).send().await.expect("get");
        let s = r.status();
        (s, r.text().await.expect("text"))
    }

    async fn form(&self, c: &Client, path: &str, pairs: &[(&str, String)]) -> (StatusCode, String) {
        let r = c
            .post(self.app.url(path))
            .form(pairs)
            .send()
            .await
            .expect("post");
        let s = r.status();
        (s, r.text().await.expect("text"))
    }

    /// Self-check in full and submit, as the branch `c`.
    async fn self_check_and_submit(&self, c: &Client, id: i64) {
        let d = self.detail(c, id).await;
        let base = format!("/api/v1/grading/assessments/{id}");
        let (s, v) = self
            .put(c, &format!("{base}/self-check"), Self::full_self(&d))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = self
            .app
            .post(
                c,
                &format!("{base}/submit"),
                json!({"row_version": v["row_version"]}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
}

#[tokio::test]
async fn a_cycle_gives_every_branch_an_assessment_seen_only_in_scope() {
    let t = setup().await;
    let (s, v) = t.open().await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["added"], 3, "three branches in the test city");
    let (s, v) = t.open().await;
    assert_eq!(
        (s, v["added"].as_i64()),
        (StatusCode::CREATED, Some(0)),
        "again adds none"
    );
    // A year without a published standard is refused, and nothing is made.
    let (s, v) = t
        .app
        .post(&t.admin, "/api/v1/grading/cycles", json!({"year": 2031}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(field(&v, "year").contains("还没有已发布的评分标准"), "{v}");
    let (s, v) = t
        .app
        .post(
            &t.admin,
            "/api/v1/grading/cycles",
            json!({"year": t.year, "due_on": "明天"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "due_on").contains("应为日期"), "{v}");
    assert_eq!(
        t.app.sql_scalar("select count(*) from grading_cycle").await,
        1
    );
    // Only the committee opens.
    let (s, _) = t
        .app
        .post(&t.unit, "/api/v1/grading/cycles", json!({"year": t.year}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let total = |c: &Client| {
        let app = &t.app;
        let c = c.clone();
        async move {
            let (s, v) = app.get(&c, "/api/v1/grading/assessments").await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["total"].as_i64().expect("total")
        }
    };
    assert_eq!(total(&t.admin).await, 3);
    assert_eq!(total(&t.unit).await, 2);
    assert_eq!(total(&t.branch).await, 1);
    let (s, _) = t.app.get(&t.member, "/api/v1/grading/assessments").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let id = t.id_of(t.city.branch_a).await;
    let (s, _) = t
        .app
        .get(&t.other, &format!("/api/v1/grading/assessments/{id}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another unit's branch");
    // Bad filters are named.
    let (s, v) = t
        .app
        .get(&t.admin, "/api/v1/grading/assessments?tier=fifth&sort=x")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field(&v, "tier").contains("不可用") && !field(&v, "sort").is_empty(),
        "{v}"
    );

    // The assessment: 22 criteria, the automatic ones from the records, the ones no
    // feature provides yet scored by hand and saying so.
    let d = t.detail(&t.branch, id).await;
    let lines = d["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 22);
    assert_eq!(lines[11]["source"], "auto", "支部党员大会 from the records");
    assert_eq!(
        lines[16]["source"], "auto",
        "在职党员到社区报到率 from the volunteer bank's volunteer.report_rate"
    );
    assert_eq!(lines[3]["source"], "manual");
    // 班子健全 from the register: what the branch lacks links to where officers are set.
    assert_eq!(lines[2]["source"], "auto", "{}", lines[2]);
    let lacks = lines[2]["gaps"].as_array().expect("gaps");
    assert!(lacks.iter().all(|g| g["href"]
        .as_str()
        .is_some_and(|h| h.starts_with("/org/orgs/"))));
    assert_eq!(
        lacks.is_empty(),
        lines[2]["held"] == lines[2]["max"],
        "{}",
        lines[2]
    );
    // No assembly recorded in the quarters ended: criterion 12 holds nothing, and says
    // which quarters, each linking to the form that records the meeting.
    assert_eq!(lines[11]["held"], 0.0, "{}", lines[11]);
    let gaps = lines[11]["gaps"].as_array().expect("gaps");
    assert!(!gaps.is_empty());
    assert!(gaps[0]["href"]
        .as_str()
        .unwrap_or_default()
        .starts_with("/orglife/meetings/new?branch_id="));
    assert_eq!(d["stage"], "self_check");
    assert_eq!(d["allowed"]["self_check"], true);
    let d = t.detail(&t.unit, id).await;
    assert_eq!(
        d["allowed"]["self_check"], false,
        "the unit does not self-check"
    );
}

#[tokio::test]
async fn the_whole_cycle_of_one_branch_with_its_refusals() {
    let t = setup().await;
    t.open().await;
    let id = t.id_of(t.city.branch_a).await;
    let base = format!("/api/v1/grading/assessments/{id}");
    let d = t.detail(&t.branch, id).await;
    let rv = d["row_version"].as_i64().expect("rv");

    // Bad scores: above the points, an automatic criterion, not a number — all named,
    // nothing saved.
    let (s, v) = t
        .put(
            &t.branch,
            &format!("{base}/self-check"),
            json!({"row_version": rv, "items": [
                {"number": 4, "score": 6},
                {"number": 12, "score": 5},
                {"number": 5, "score": 2.55},
                {"number": 99, "score": 1}
            ], "extra": 9}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        field(&v, "criteria.4.score").contains("应在0至3分之间"),
        "{v}"
    );
    assert!(field(&v, "criteria.12.score").contains("自动计算"), "{v}");
    assert!(
        field(&v, "criteria.5.score").contains("最多一位小数"),
        "{v}"
    );
    assert!(field(&v, "criteria.99.score").contains("没有第99条"), "{v}");
    assert!(field(&v, "extra").contains("0至5分"), "{v}");
    assert_eq!(
        t.app
            .sql_scalar(&format!(
                "select count(*) from assessment_score where assessment_id = {id}"
            ))
            .await,
        0
    );
    assert_eq!(t.detail(&t.branch, id).await["row_version"], rv);

    // Criterion 5 scored without the evidence it requires: saved, but not submittable.
    let mut body = Setup::full_self(&d);
    for it in body["items"].as_array_mut().expect("items") {
        if it["number"] == 5 {
            it["evidence"] = json!("");
        }
    }
    let (s, v) = t.put(&t.branch, &format!("{base}/self-check"), body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rv2 = v["row_version"].as_i64().expect("rv");
    // The page it was saved from is stale now.
    let (s, v) = t
        .put(
            &t.branch,
            &format!("{base}/self-check"),
            Setup::full_self(&d),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("已被他人修改"));
    let (s, v) = t
        .app
        .post(
            &t.branch,
            &format!("{base}/submit"),
            json!({"row_version": rv2}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        field(&v, "criteria.5.evidence").contains("须附佐证材料"),
        "{v}"
    );
    // The unit cannot submit for the branch.
    let (s, _) = t
        .app
        .post(
            &t.unit,
            &format!("{base}/submit"),
            json!({"row_version": rv2}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    t.self_check_and_submit(&t.branch, id).await;
    let d = t.detail(&t.unit, id).await;
    assert_eq!(d["stage"], "unit_review");
    // Editing after submission is refused.
    let (s, v) = t
        .put(
            &t.branch,
            &format!("{base}/self-check"),
            Setup::full_self(&d),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("单位审核"),
        "{v}"
    );

    // The unit adjusts criterion 4: a reason is required.
    let rv = d["row_version"].as_i64().expect("rv");
    let (s, v) = t
        .put(
            &t.unit,
            &format!("{base}/review"),
            json!({"row_version": rv, "items": [{"number": 4, "score": 1}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        field(&v, "criteria.4.unit_reason").contains("须写明理由"),
        "{v}"
    );
    let (s, v) = t
        .put(
            &t.unit,
            &format!("{base}/review"),
            json!({"row_version": rv, "items": [{"number": 4, "score": 1, "reason": "党小组组长未明确"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = t.detail(&t.unit, id).await;
    assert_eq!(d["lines"][3]["held"], 1.0);
    assert_eq!(d["lines"][3]["how"], "自评3分，单位审核调整为1分");
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("{base}/forward"),
            json!({"row_version": d["row_version"]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // The committee returns it: a comment is required; back at the branch, with the comment.
    let d = t.detail(&t.admin, id).await;
    assert_eq!(d["stage"], "committee_review");
    let (s, v) = t
        .app
        .post(
            &t.admin,
            &format!("{base}/return"),
            json!({"row_version": d["row_version"], "comment": " "}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "comment").contains("退回须写明意见"));
    let (s, v) = t
        .app
        .post(
            &t.admin,
            &format!("{base}/return"),
            json!({"row_version": d["row_version"], "comment": "第5条佐证不足"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let d = t.detail(&t.branch, id).await;
    assert_eq!(
        (d["stage"].as_str(), d["returned_comment"].as_str()),
        (Some("self_check"), Some("第5条佐证不足"))
    );
    assert_eq!(
        d["lines"][3]["held"], 3.0,
        "the unit's adjustment is cleared"
    );

    // Resubmitted, forwarded, accepted: the tier is set from the score with its reason.
    t.self_check_and_submit(&t.branch, id).await;
    let d = t.detail(&t.unit, id).await;
    t.app
        .post(
            &t.unit,
            &format!("{base}/forward"),
            json!({"row_version": d["row_version"]}),
        )
        .await;
    let d = t.detail(&t.admin, id).await;
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("{base}/accept"),
            json!({"row_version": d["row_version"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the unit does not accept: {v}");
    let (s, v) = t
        .app
        .post(
            &t.admin,
            &format!("{base}/accept"),
            json!({"row_version": d["row_version"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = t.detail(&t.branch, id).await;
    assert_eq!(d["stage"], "accepted");
    let score = d["score"].as_f64().expect("score");
    assert!(score < 90.0, "orglife criteria lost points: {score}");
    assert_eq!(d["tier"], v["tier"]);
    let shown = if score.fract() == 0.0 {
        format!("{}", score as i64)
    } else {
        format!("{score}")
    };
    assert!(
        d["tier_reason"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("得分{shown}分")),
        "{}",
        d["tier_reason"]
    );

    // A hard veto marked during the year moves it to 四档, kept on the timeline; it cannot
    // be cleared afterwards.
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("{base}/vetoes"),
            json!({"code": "serious_discipline", "note": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "note").contains("请写明"));
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("{base}/vetoes"),
            json!({"code": "serious_discipline", "note": "张三受党内警告处分"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let d = t.detail(&t.branch, id).await;
    assert_eq!(d["tier"], "fourth");
    let (s, _) = t
        .app
        .send(
            &t.unit,
            "DELETE",
            &format!("{base}/vetoes/serious_discipline"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // 四档: rectification first, then an application, which the committee accepts.
    let (s, v) = t
        .app
        .post(
            &t.branch,
            &format!("{base}/applications"),
            json!({"statement": "已整改"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("整改事项"));
    let (s, v) = t
        .app
        .post(
            &t.branch,
            &format!("{base}/rectification"),
            json!({"body": "开展警示教育", "owner": "", "due_on": "2026-13-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !field(&v, "owner").is_empty() && field(&v, "due_on").contains("应为日期"),
        "{v}"
    );
    let (s, v) = t
        .app
        .post(
            &t.branch,
            &format!("{base}/rectification"),
            json!({"body": "开展警示教育", "owner": "书记", "due_on": "2026-12-31"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let item = v["id"].as_i64().expect("item");
    let (s, _) = t
        .app
        .post(
            &t.branch,
            &format!("{base}/applications"),
            json!({"statement": "已整改"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "an item is still open");
    let (s, v) = t
        .app
        .post(
            &t.branch,
            &format!("{base}/rectification/{item}/done"),
            json!({"note": "已开展"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = t
        .app
        .post(
            &t.branch,
            &format!("{base}/applications"),
            json!({"statement": "警示教育已开展，整改到位"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let app_id = v["id"].as_i64().expect("application");
    let (s, _) = t
        .app
        .post(
            &t.branch,
            &format!("{base}/applications"),
            json!({"statement": "再次申请"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "one pending at a time");
    let (s, v) = t
        .app
        .post(
            &t.admin,
            &format!("{base}/applications/{app_id}/decide"),
            json!({"accept": false}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "note").contains("须写明理由"));
    let (s, v) = t
        .app
        .post(
            &t.admin,
            &format!("{base}/applications/{app_id}/decide"),
            json!({"accept": true, "note": "复核属实"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let d = t.detail(&t.branch, id).await;
    assert_eq!(d["tier"], "third");
    // The year reads as a timeline.
    let actions: Vec<&str> = d["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "open",
        "submit",
        "adjust",
        "forward",
        "return",
        "accept",
        "veto",
        "rectify",
        "rectified",
        "apply",
        "upgrade",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let veto = d["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "veto")
        .expect("veto event");
    assert_eq!(veto["to_tier"], "fourth");
}

#[tokio::test]
async fn the_roadmap_refreshes_as_a_missing_meeting_is_recorded() {
    let t = setup().await;
    t.open().await;
    let id = t.id_of(t.city.branch_a).await;
    let road = |c: Client| {
        let app = &t.app;
        async move {
            let (s, v) = app
                .get(&c, &format!("/api/v1/grading/assessments/{id}/roadmap"))
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v
        }
    };
    let before = road(t.branch.clone()).await;
    let lost12 = |r: &Value| {
        r["losses"]
            .as_array()
            .expect("losses")
            .iter()
            .find(|s| s["number"] == 12)
            .map(|s| s["gain"].as_f64().unwrap_or(0.0))
            .unwrap_or(0.0)
    };
    assert_eq!(lost12(&before), 5.0, "{before}");
    // The branch records a 支部党员大会 in the first quarter; the unit accepts it.
    let (s, m) = t
        .app
        .post(
            &t.branch,
            "/api/v1/meetings",
            json!({"branch_id": t.city.branch_a, "kind": "general_assembly", "held_on": format!("{}-02-10", t.year),
                   "topic": "支部党员大会", "attendance": [{"member_id": t.city.member_a, "state": "present"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let mid = m["meeting_id"].as_i64().expect("meeting");
    let (s, v) = t
        .app
        .post(
            &t.branch,
            &format!("/api/v1/meetings/{mid}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/meetings/{mid}/accept"),
            json!({"comment": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let after = road(t.branch.clone()).await;
    assert!(lost12(&after) < 5.0, "one quarter met now: {after}");
    assert!(after["score"].as_f64() > before["score"].as_f64());
    // The home card shows the road.
    let (s, html) = t.page(&t.branch, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("升档路线图") && html.contains("road-actions"),
        "home card"
    );
}

#[tokio::test]
async fn a_category_is_accepted_at_once_and_the_pages_show_it() {
    let t = setup().await;
    t.open().await;
    let a = t.id_of(t.city.branch_a).await;
    let a2 = t.id_of(t.city.branch_a2).await;
    for (c, id) in [(&t.branch, a), (&t.branch2, a2)] {
        t.self_check_and_submit(c, id).await;
        let d = t.detail(&t.unit, id).await;
        let (s, v) = t
            .app
            .post(
                &t.unit,
                &format!("/api/v1/grading/assessments/{id}/forward"),
                json!({"row_version": d["row_version"]}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    let cat = t
        .app
        .sql_scalar(&format!(
            "select category_id from unit where unit_id = {}",
            t.city.unit_a
        ))
        .await;
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/grading/cycles/{}/accept", t.year),
            json!({"category_id": cat}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = t
        .app
        .post(
            &t.admin,
            &format!("/api/v1/grading/cycles/{}/accept", t.year),
            json!({"category_id": cat}),
        )
        .await;
    assert_eq!(
        (s, v["accepted"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{v}"
    );
    let (s, v) = t
        .app
        .post(
            &t.admin,
            &format!("/api/v1/grading/cycles/{}/accept", t.year),
            json!({"category_id": cat}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "none left: {v}");
    let (_, v) = t
        .app
        .get(&t.admin, "/api/v1/grading/assessments?stage=accepted")
        .await;
    assert_eq!(v["total"], 2);
    let (_, cats) = t.app.get(&t.admin, "/api/v1/grading/categories").await;
    assert!(
        cats[0]["costly"].as_array().is_some_and(|c| !c.is_empty()),
        "{cats}"
    );

    // The pages: the tier list, its export, the assessment printable, the categories.
    let (s, html) = t.page(&t.admin, "/grading/assessments?sort=up").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("办公室党支部") && html.contains("tier-counts"),
        "tier list"
    );
    let r = t
        .admin
        .get(t.app.url("/grading/assessments/export"))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let range = crate::common::xlsx_range(&r.bytes().await.expect("bytes"));
    assert_eq!(range.height(), 4, "header and three branches");
    let (s, html) = t
        .page(&t.branch, &format!("/grading/assessments/{a}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("升档路线图") && html.contains("各维度得分率") && html.contains("<svg"));
    let r = t
        .branch
        .get(t.app.url(&format!("/grading/assessments/{a}/export")))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let range = crate::common::xlsx_range(&r.bytes().await.expect("bytes"));
    assert_eq!(
        range.height(),
        25,
        "header, 22 criteria, extra credit, total"
    );
    let (s, html) = t.page(&t.unit, "/grading/categories").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("各类别档次分布"));
}

#[tokio::test]
async fn the_self_check_page_keeps_what_was_typed_when_refused() {
    let t = setup().await;
    t.open().await;
    let id = t.id_of(t.city.branch_a).await;
    let (s, html) = t
        .page(&t.branch, &format!("/grading/assessments/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("self-check-form") && html.contains("暂按人工评分"));
    let rv = t.detail(&t.branch, id).await["row_version"].to_string();
    let (s, html) = t
        .form(
            &t.branch,
            &format!("/grading/assessments/{id}/self-check"),
            &[
                ("row_version", rv.clone()),
                ("score_4", "3.25".into()),
                ("note_4", "组长已明确".into()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("最多一位小数") && html.contains("组长已明确") && html.contains("3.25"));
    let (s, _) = t
        .form(
            &t.branch,
            &format!("/grading/assessments/{id}/self-check"),
            &[
                ("row_version", rv),
                ("score_4", "2.5".into()),
                ("action", "save".into()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let d = t.detail(&t.branch, id).await;
    assert_eq!(d["lines"][3]["self_score"], 2.5);
    // Submitting from the page with criteria unscored names them.
    let (s, html) = t
        .form(
            &t.branch,
            &format!("/grading/assessments/{id}/self-check"),
            &[
                ("row_version", d["row_version"].to_string()),
                ("action", "submit".into()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("尚未自评打分"),
        "{}",
        &html[..200.min(html.len())]
    );
}
