//! The party rules at their edges (issue #12 §2): status changes dated, officers of their
//! own org, members awaiting a branch (待编入), early elections approved.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, nth_id, City, TestApp};

fn member(n: u32, name: &str, branch: i64) -> Value {
    json!({"name": name, "id_number": nth_id(n), "kind": "full", "joined_on": "2012-07-01",
           "converted_on": "2013-07-01", "branch_id": branch})
}

async fn add(app: &TestApp, c: &Client, body: Value) -> i64 {
    let (s, id) = app.post(c, "/api/v1/members", body).await;
    assert_eq!(s, StatusCode::CREATED, "{id}");
    id.as_i64().expect("id")
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn findings_for(o: &Value, object: &str) -> Vec<Value> {
    o["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|x| x["object"] == object)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn rules_for(o: &Value, object: &str) -> Vec<String> {
    findings_for(o, object)
        .iter()
        .map(|x| x["rule"].as_str().unwrap_or("").to_string())
        .collect()
}

fn field<'a>(e: &'a Value, f: &str) -> &'a str {
    e["error"]["fields"][f].as_str().unwrap_or("")
}

async fn set_officers(app: &TestApp, c: &Client, org: i64, list: Value) -> (StatusCode, Value) {
    app.send(c, "PUT", &format!("/api/v1/orgs/{org}/officers"), list)
        .await
}

#[tokio::test]
async fn a_status_change_applies_from_its_date() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let City {
        branch_a, member_a, ..
    } = city(&app, &admin).await;
    let wang = add(&app, &admin, member(11, "王五", branch_a)).await;
    let (s, e) = set_officers(
        &app,
        &admin,
        branch_a,
        json!([{"member_id": wang, "post": "书记"}]),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");

    // Transferred out without a date: refused, naming the field.
    let mut body = member(11, "王五", branch_a);
    body["status"] = json!("transferred_out");
    let url = format!("/api/v1/members/{wang}");
    let (s, e) = app.send(&admin, "PUT", &url, body.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(field(&e, "status_on"), "请填写已转出的日期（状态变更日期）");
    body["status_on"] = json!("2026-05-15");
    let (s, e) = app.send(&admin, "PUT", &url, body).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, m) = app.get(&admin, &url).await;
    assert_eq!(
        (m["status"].as_str(), m["status_on"].as_str()),
        (Some("transferred_out"), Some("2026-05-15"))
    );
    // Leaving ended the post, in the same write, audited.
    let (_, officers) = app
        .get(&admin, &format!("/api/v1/orgs/{branch_a}/officers"))
        .await;
    assert_eq!(officers, json!([]));
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'org.officer_end'")
            .await,
        1
    );

    // The register of a day before the change still has 王五 as a voting member.
    let reg = |d: &str| format!("/api/v1/orglife/register?branch_id={branch_a}&held_on={d}");
    let (_, before) = app.get(&admin, &reg("2026-05-14")).await;
    // In pinyin order: 王五 (ww) before 张三 (zs).
    assert_eq!(names(&before), ["王五", "张三"], "{before}");
    assert!(before[0]["full"] == true);
    let (_, on) = app.get(&admin, &reg("2026-05-15")).await;
    assert_eq!(names(&on), ["张三"], "gone from the day of the change");

    // A meeting entered late for April keeps its quorum over both voting members.
    let branch = app
        .user_with(
            &admin,
            "re_branch",
            json!({"role": "branch", "org_id": branch_a}),
        )
        .await;
    let assembly = |held_on: &str| {
        json!({"branch_id": branch_a, "kind": "general_assembly", "held_on": held_on,
               "start_time": "14:30", "duration_minutes": 90, "place": "三楼会议室",
               "topic": "学习党章", "presenter": "张三", "recorder": "张三", "minutes": "传达学习",
               "attendance": [{"member_id": member_a, "state": "present"}, {"member_id": wang, "state": "present"}]})
    };
    let (s, created) = app
        .post(&branch, "/api/v1/meetings", assembly("2026-04-20"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["meeting_id"].as_i64().expect("id");
    let (_, d) = app.get(&branch, &format!("/api/v1/meetings/{id}")).await;
    assert_eq!(d["meeting"]["eligible_count"], 2, "{d}");
    // After the change he is not on the register.
    let (s, _) = app
        .post(&branch, "/api/v1/meetings", assembly("2026-06-20"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The page's form asks for the date too, and the detail shows it.
    let r = admin
        .post(app.url(&format!("/org/members/{member_a}")))
        .form(&[
            ("name", "张三"),
            ("id_number", nth_id(1).as_str()),
            ("gender", ""),
            ("kind", "full"),
            ("joined_on", "2010-07-01"),
            ("converted_on", "2011-07-01"),
            ("status", "deceased"),
            ("status_on", ""),
            ("branch_id", &branch_a.to_string()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains("请填写已去世的日期"));
    let html = admin
        .get(app.url(&url.replace("/api/v1", "/org")))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(html.contains("已转出（2026-05-15起）"), "detail page");

    // The Excel import: a status without its date is a row error; with it, imported.
    let headers = [
        "姓名",
        "身份证号",
        "党员类别",
        "入党日期",
        "机关党组织",
        "党支部",
        "状态",
        "状态变更日期",
    ];
    let row = |on: &str| {
        vec![vec![
            "赵六".to_string(),
            nth_id(12),
            "正式党员".into(),
            "2012-07-01".into(),
            "市测试局".into(),
            "办公室党支部".into(),
            "已出党".into(),
            on.into(),
        ]]
    };
    let upload = |rows: Vec<Vec<String>>| {
        let bytes = yaoshi::xlsx::write_sheet("Sheet1", &headers, &rows).expect("xlsx");
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("m.xlsx"),
        );
        admin
            .post(app.url("/api/v1/import/members"))
            .multipart(form)
            .send()
    };
    let r = upload(row("")).await.expect("upload");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let out: Value = r.json().await.expect("json");
    assert_eq!(out["errors"][0]["column"], "状态变更日期", "{out}");
    let r = upload(row("2026-03-01")).await.expect("upload");
    assert_eq!(r.status(), StatusCode::OK);
    let (_, feb) = app.get(&admin, &reg("2026-02-27")).await;
    assert!(names(&feb).contains(&"赵六".to_string()), "{feb}");
    let (_, mar) = app.get(&admin, &reg("2026-03-01")).await;
    assert!(!names(&mar).contains(&"赵六".to_string()), "{mar}");
}

#[tokio::test]
async fn officers_belong_to_their_org_and_leaving_ends_the_post() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = city(&app, &admin).await;
    // 钱七 is in the same unit, another branch.
    let qian = add(&app, &admin, member(20, "钱七", c.branch_a2)).await;
    let (s, e) = set_officers(
        &app,
        &admin,
        c.branch_a,
        json!([{"member_id": qian, "post": "书记"}]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        field(&e, "officers[0].member_id"),
        "班子成员须是办公室党支部的在册党员"
    );
    // Seven full members in branch_a, three on its committee: no finding.
    let mut ids = vec![c.member_a];
    for n in 0..6 {
        ids.push(
            add(
                &app,
                &admin,
                member(21 + n, &format!("委员{n}"), c.branch_a),
            )
            .await,
        );
    }
    let committee = json!([{"member_id": ids[0], "post": "书记"}, {"member_id": ids[1], "post": "组织委员"},
                           {"member_id": ids[2], "post": "宣传委员"}]);
    let (s, e) = set_officers(&app, &admin, c.branch_a, committee).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, o) = app.get(&admin, "/api/v1/establishment").await;
    assert!(
        !rules_for(&o, "办公室党支部").contains(&"branch_needs_committee".to_string()),
        "{o}"
    );
    // A committee member transferred to another branch leaves the committee.
    let (s, e) = app
        .post(
            &admin,
            &format!("/api/v1/members/{}/transfer", ids[2]),
            json!({"to_branch_id": c.branch_a2, "transferred_on": "2026-11-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, officers) = app
        .get(&admin, &format!("/api/v1/orgs/{}/officers", c.branch_a))
        .await;
    assert_eq!(officers.as_array().map(Vec::len), Some(2), "{officers}");
    // Another committee member dies: the post ends with the status change.
    let mut body = member(21, "委员0", c.branch_a);
    body["status"] = json!("deceased");
    body["status_on"] = json!("2026-11-20");
    let (s, e) = app
        .send(&admin, "PUT", &format!("/api/v1/members/{}", ids[1]), body)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, officers) = app
        .get(&admin, &format!("/api/v1/orgs/{}/officers", c.branch_a))
        .await;
    assert_eq!(names(&officers), ["张三"]);
    // A post held from another branch (as data from before these checks) is no committee.
    sqlx::query(
        "insert into org_officer (org_id, member_id, post, created_at) values ($1, $2, '委员', 0)",
    )
    .bind(c.branch_a)
    .bind(qian)
    .execute(&app.state.db.pool)
    .await
    .expect("legacy officer");
    // It is listed, marked as not counting, on the API and the org's page.
    let (_, officers) = app
        .get(&admin, &format!("/api/v1/orgs/{}/officers", c.branch_a))
        .await;
    let valid: Vec<(String, i64)> = officers
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| {
                    (
                        o["name"].as_str().unwrap_or("").to_string(),
                        o["valid"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(valid, [("张三".to_string(), 1), ("钱七".to_string(), 0)]);
    let page = admin
        .get(app.url(&format!("/org/orgs/{}", c.branch_a)))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("t");
    assert!(
        page.contains("不计入"),
        "the post held from another branch is marked"
    );
    // Five full members now remain in the branch: two more make seven.
    add(&app, &admin, member(30, "孙八", c.branch_a)).await;
    add(&app, &admin, member(31, "李九", c.branch_a)).await;
    let (_, o) = app.get(&admin, "/api/v1/establishment").await;
    let f = findings_for(&o, "办公室党支部");
    let needs = f
        .iter()
        .find(|x| x["rule"] == "branch_needs_committee")
        .unwrap_or_else(|| panic!("flagged: {o}"));
    assert_eq!(needs["figures"], "正式党员 7 名，支委 1 名");
    assert_eq!(needs["area"], "adjust");
}

#[tokio::test]
async fn members_awaiting_a_branch_are_kept_listed_and_reported() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = city(&app, &admin).await;
    let (_, cats) = app.get(&admin, "/api/v1/categories").await;
    let (_, unit) = app
        .post(
            &admin,
            "/api/v1/units",
            json!({"name": "市新设局", "category_id": cats[0]["category_id"]}),
        )
        .await;
    let unit = unit.as_i64().expect("unit");
    let (s, top) = app
        .post(
            &admin,
            "/api/v1/orgs",
            json!({"unit_id": unit, "kind": "committee_org", "name": "市新设局机关党委", "founded_on": "2026-01-01", "term_start": "2026-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{top}");
    let top = top.as_i64().expect("top");
    // Not into a group, and never into another unit's 党委 by a unit admin.
    let mut grouped = member(40, "周一", top);
    grouped["group_id"] = json!(c.group_a);
    let (s, e) = app.post(&admin, "/api/v1/members", grouped).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&e, "group_id").contains("待编入"), "{e}");
    let mut ids = Vec::new();
    for (n, name) in [(40, "周一"), (41, "吴二")] {
        ids.push(add(&app, &admin, member(n, name, top)).await);
    }
    // The Excel import places a row naming the 党委 as its branch there too.
    let headers = [
        "姓名",
        "身份证号",
        "党员类别",
        "入党日期",
        "机关党组织",
        "党支部",
    ];
    let rows = vec![vec![
        "郑三".to_string(),
        nth_id(42),
        "正式党员".into(),
        "2012-07-01".into(),
        "市新设局".into(),
        "市新设局机关党委".into(),
    ]];
    let bytes = yaoshi::xlsx::write_sheet("Sheet1", &headers, &rows).expect("xlsx");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("m.xlsx"),
    );
    let r = admin
        .post(app.url("/api/v1/import/members"))
        .multipart(form)
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let (_, list) = app
        .get(
            &admin,
            &format!("/api/v1/members?unit_id={unit}&awaiting=1"),
        )
        .await;
    assert_eq!(list["total"], 3, "{list}");
    assert_eq!(list["items"][0]["awaiting"], 1);
    let (_, none) = app.get(&admin, "/api/v1/members?awaiting=1").await;
    assert_eq!(none["total"], 3, "only these in the whole city");
    let (_, units) = app.get(&admin, &format!("/api/v1/units/{unit}")).await;
    assert_eq!(units["awaiting_count"], 3, "{units}");
    let html = admin
        .get(app.url(&format!("/org/units/{unit}")))
        .send()
        .await
        .expect("unit page")
        .text()
        .await
        .expect("t");
    assert!(html.contains("其中待编入 3 名"));
    let html = admin
        .get(app.url(&format!("/org/members?unit_id={unit}&awaiting=1")))
        .send()
        .await
        .expect("list page")
        .text()
        .await
        .expect("t");
    assert!(html.contains("周一") && html.contains("待编入"));

    // 应建尽建: three full members awaiting a branch call for one.
    let (_, o) = app.get(&admin, "/api/v1/establishment").await;
    let f = findings_for(&o, "市新设局");
    let aw = f
        .iter()
        .find(|x| x["rule"] == "members_awaiting_branch")
        .unwrap_or_else(|| panic!("reported: {o}"));
    assert_eq!(aw["area"], "establish");
    assert_eq!(aw["warning"], false);
    assert_eq!(aw["figures"], "待编入党员 3 名，其中正式党员 3 名");
    assert!(aw["advice"].as_str().unwrap_or("").contains("第四条"));

    // Org life and compliance take them in their stride.
    for path in [
        "/api/v1/orglife/compliance?year=2026&by=unit".to_string(),
        "/api/v1/orglife/compliance?year=2026&by=branch".to_string(),
        format!(
            "/api/v1/orglife/register?branch_id={}&held_on=2026-11-01",
            c.branch_a
        ),
        "/api/v1/establishment".to_string(),
    ] {
        let (s, v) = app.get(&admin, &path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
    }
    for page in ["/org/tree", "/org/establishment", "/orglife/compliance"] {
        let r = admin.get(app.url(page)).send().await.expect("page");
        assert_eq!(r.status(), StatusCode::OK, "{page}");
    }

    // A branch set up and one member placed in it: two left, too few for a branch.
    let (_, branch) = app
        .post(
            &admin,
            "/api/v1/orgs",
            json!({"unit_id": unit, "kind": "branch", "name": "市新设局第一党支部", "parent_id": top, "founded_on": "2026-11-01"}),
        )
        .await;
    let branch = branch.as_i64().expect("branch");
    let (s, e) = app
        .post(
            &admin,
            &format!("/api/v1/members/{}/transfer", ids[0]),
            json!({"to_branch_id": branch, "transferred_on": "2026-11-02"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, o) = app.get(&admin, "/api/v1/establishment").await;
    let f = findings_for(&o, "市新设局");
    assert_eq!(
        f.iter()
            .map(|x| (x["rule"].as_str().unwrap_or(""), x["warning"] == true))
            .collect::<Vec<_>>(),
        [("members_awaiting_placement", true)],
        "{o}"
    );
    let (_, reg) = app
        .get(
            &admin,
            &format!("/api/v1/orglife/register?branch_id={branch}&held_on=2026-11-03"),
        )
        .await;
    assert_eq!(names(&reg), ["周一"]);
}

#[tokio::test]
async fn an_early_election_needs_the_approval_document() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = city(&app, &admin).await;
    let url = format!("/api/v1/orgs/{}/elections", c.branch_a);
    let sec = json!([{"member_id": c.member_a, "post": "书记"}]);
    // The term ended on 2026-01-01: an election after it needs nothing more.
    let (s, e) = app
        .post(
            &admin,
            &url,
            json!({"elected_on": "2026-06-01", "officers": sec}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    // Five months into the new three-year term: early, refused without the approval.
    let (s, e) = app
        .post(
            &admin,
            &url,
            json!({"elected_on": "2026-11-01", "officers": sec}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        field(&e, "approval_doc"),
        "本届任期 2029-06-01 届满，提前换届须经上级党组织批准，请填写批准文号"
    );
    let (s, e) = app
        .post(
            &admin,
            &url,
            json!({"elected_on": "2026-11-01", "officers": sec, "approval_doc": "市直机关工委〔2026〕15号"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    // The page refuses it the same way, and shows the current term's approval.
    let r = admin
        .post(app.url(&format!("/org/orgs/{}/election", c.branch_a)))
        .form(&[
            ("elected_on".to_string(), "2026-12-01"),
            (format!("post_{}", c.member_a), "书记"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.expect("t");
    assert!(html.contains("提前换届须经上级党组织批准"), "page message");
    assert!(
        html.contains("经批准（市直机关工委〔2026〕15号）"),
        "current term"
    );
    let (s, e) = app
        .post(
            &admin,
            &url,
            json!({"elected_on": "2026-12-01", "officers": sec, "approval_doc": "市直机关工委〔2026〕20号"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    // The history keeps each term's approval.
    let (_, terms) = app
        .get(&admin, &format!("/api/v1/orgs/{}/terms", c.branch_a))
        .await;
    let docs: Vec<(&str, &str)> = terms
        .as_array()
        .expect("terms")
        .iter()
        .map(|t| {
            (
                t["term_start"].as_str().unwrap_or(""),
                t["term_early_doc"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        docs,
        [
            ("2026-11-01", "市直机关工委〔2026〕15号"),
            ("2026-06-01", ""),
            ("2023-01-01", "")
        ]
    );
    let html = admin
        .get(app.url(&format!("/org/orgs/{}/election", c.branch_a)))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("t");
    assert!(html.contains("本届系提前换届产生（市直机关工委〔2026〕15号）"));
    assert!(html.contains("经批准（市直机关工委〔2026〕20号）"));
}
