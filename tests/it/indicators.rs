//! The indicators seam through the API: the list, readings per subject and period equal
//! to the figures the features show elsewhere, the records behind them, scope, and every
//! way a request can be wrong.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{city, TestApp};

fn theme_day(branch: i64, member: i64, held_on: &str) -> Value {
    json!({"branch_id": branch, "kind": "theme_day", "held_on": held_on, "topic": "主题党日",
           "attendance": [{"member_id": member, "state": "present"}]})
}

#[tokio::test]
async fn readings_match_the_features_own_figures_and_carry_their_records() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let unit = app
        .user_with(
            &admin,
            "ind_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let member = app
        .user_with(
            &admin,
            "ind_member",
            json!({"role": "member", "member_id": city.member_a}),
        )
        .await;
    // Theme days in January and February, accepted; March missed.
    let mut ids = Vec::new();
    for day in ["2026-01-15", "2026-02-12"] {
        let (s, m) = app
            .post(
                &unit,
                "/api/v1/meetings",
                theme_day(city.branch_a, city.member_a, day),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        let id = m["meeting_id"].as_i64().expect("id");
        let (s, v) = app
            .post(&unit, &format!("/api/v1/meetings/{id}/submit"), json!({}))
            .await;
        assert!(s.is_success(), "{v}");
        // Accepted by another reviewer than the one who submitted it (the committee).
        let (s, v) = app
            .post(&admin, &format!("/api/v1/meetings/{id}/accept"), json!({}))
            .await;
        assert!(s.is_success(), "{v}");
        ids.push(id);
    }

    // The list: every provider's figures, explained.
    let (s, list) = app.get(&admin, "/api/v1/indicators").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let keys: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["key"].as_str())
        .collect();
    for k in [
        "orglife.theme_day.held",
        "orglife.general_assembly.held",
        "orglife.compliance",
        "orglife.attendance",
        "establishment.establish",
        "establishment.adjust",
        "establishment.renew",
        "registry.full_members",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    assert!(list[0]["explain"].as_str().is_some_and(|e| !e.is_empty()));

    // Theme days of branch_a in Q1: 2 of 3, the same as the compliance table's.
    let url = format!(
        "/api/v1/indicators/orglife.theme_day.held?subject=branch:{}&year=2026&period=q1",
        city.branch_a
    );
    let (s, r) = app.get(&unit, &url).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let reading = &r["reading"];
    assert_eq!(
        (reading["value"].clone(), reading["of"].clone()),
        (json!(2), json!(3)),
        "{r}"
    );
    assert_eq!(reading["text"], "66.7%");
    let (_, table) = app
        .get(
            &unit,
            "/api/v1/orglife/compliance?year=2026&by=branch&period=q1",
        )
        .await;
    let line = table["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["id"] == city.branch_a))
        .expect("branch line")
        .clone();
    // theme_day is the fifth kind of MeetingKind::ALL.
    assert_eq!(line["by_kind"][4], json!([2, 3]), "{line}");
    // The records: the missed March, and the two meetings that met January and February.
    let records = reading["records"].as_array().expect("records");
    let missed: Vec<&Value> = records
        .iter()
        .filter(|x| x["kind"] == "missed_period")
        .collect();
    assert_eq!(missed.len(), 1, "{records:?}");
    assert!(missed[0]["label"]
        .as_str()
        .is_some_and(|l| l.contains("3月") && l.contains("主题党日")));
    assert_eq!(missed[0]["counts"], false);
    let met: Vec<i64> = records
        .iter()
        .filter(|x| x["kind"] == "meeting")
        .filter_map(|x| x["id"].as_i64())
        .collect();
    assert_eq!(met, ids);
    assert_eq!(reading["records_total"], 3);

    // The unit reads the same through its unit; all kinds together equal the table's rate.
    let url = format!(
        "/api/v1/indicators/orglife.compliance?subject=unit:{}&year=2026&period=q1",
        city.unit_a
    );
    let (s, r) = app.get(&unit, &url).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (_, by_unit) = app
        .get(
            &unit,
            "/api/v1/orglife/compliance?year=2026&by=unit&period=q1",
        )
        .await;
    let u = by_unit["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["id"] == city.unit_a))
        .expect("unit line")
        .clone();
    assert_eq!(r["reading"]["value"], u["met"], "{r} {u}");
    assert_eq!(r["reading"]["of"], u["judged"], "{r} {u}");

    // 参学率 equals the table's too.
    let url = format!(
        "/api/v1/indicators/orglife.attendance?subject=branch:{}&year=2026&period=q1",
        city.branch_a
    );
    let (_, r) = app.get(&unit, &url).await;
    assert_eq!(
        (r["reading"]["value"].clone(), r["reading"]["of"].clone()),
        (line["present"].clone(), line["expected"].clone()),
        "{r}"
    );

    // 三个百分百 for the city equal the committee's overview.
    let (_, overview) = app.get(&admin, "/api/v1/establishment").await;
    let t = &overview["total"];
    for (key, ok, all) in [
        ("establishment.establish", "units_ok", "units"),
        ("establishment.adjust", "orgs_adjust_ok", "orgs_adjust"),
        ("establishment.renew", "orgs_renew_ok", "orgs_renew"),
    ] {
        let (s, r) = app.get(&admin, &format!("/api/v1/indicators/{key}")).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(
            (r["reading"]["value"].clone(), r["reading"]["of"].clone()),
            (t[ok].clone(), t[all].clone()),
            "{key}: {r} {t}"
        );
    }
    // The city's terms ended on 2026-01-01: each overdue term is a record against 应换尽换.
    let (_, r) = app
        .get(&admin, "/api/v1/indicators/establishment.renew")
        .await;
    let findings = r["reading"]["records"].as_array().expect("records");
    assert!(!findings.is_empty());
    assert!(findings
        .iter()
        .all(|f| f["kind"] == "finding" && f["counts"] == false));
    assert_eq!(
        findings.len() as i64,
        r["reading"]["of"].as_i64().unwrap_or(0) - r["reading"]["value"].as_i64().unwrap_or(0)
    );
    // One branch, judged by its own findings: branch_a's term is overdue.
    let (s, r) = app
        .get(
            &unit,
            &format!(
                "/api/v1/indicators/establishment.renew?subject=branch:{}",
                city.branch_a
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["reading"]["value"].as_i64(), r["reading"]["of"].as_i64()),
        (Some(0), Some(1)),
        "{r}"
    );
    assert!(r["reading"]["records"][0]["label"]
        .as_str()
        .unwrap_or_default()
        .contains("办公室党支部"));

    // Full members of branch_a equal the register's.
    let (_, members) = app
        .get(
            &unit,
            &format!(
                "/api/v1/members?org_id={}&kind=full&status=active&per_page=200",
                city.branch_a
            ),
        )
        .await;
    let url = format!(
        "/api/v1/indicators/registry.full_members?subject=branch:{}",
        city.branch_a
    );
    let (_, r) = app.get(&unit, &url).await;
    assert_eq!(r["reading"]["value"], members["total"], "{r} {members}");
    assert_eq!(r["reading"]["of"], Value::Null);

    // Scope: another unit's branch is not found for this unit admin; members may not read.
    let url = format!(
        "/api/v1/indicators/orglife.compliance?subject=branch:{}",
        city.branch_b
    );
    assert_eq!(app.get(&unit, &url).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&admin, &url).await.0, StatusCode::OK);
    let url = format!(
        "/api/v1/indicators/orglife.compliance?subject=unit:{}",
        city.unit_b
    );
    assert_eq!(app.get(&unit, &url).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&member, "/api/v1/indicators").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&member, "/api/v1/indicators/orglife.compliance")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&TestApp::client(), "/api/v1/indicators").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bad_requests_are_named_in_chinese() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let field = |v: &Value, f: &str| v["error"]["fields"][f].as_str().unwrap_or("").to_string();
    for (url, f) in [
        (
            "/api/v1/indicators/orglife.compliance?subject=branch",
            "subject",
        ),
        (
            "/api/v1/indicators/orglife.compliance?subject=group:3",
            "subject",
        ),
        (
            "/api/v1/indicators/orglife.compliance?subject=unit:0",
            "subject",
        ),
        ("/api/v1/indicators/orglife.compliance?period=q5", "period"),
        ("/api/v1/indicators/orglife.compliance?period=m13", "period"),
        ("/api/v1/indicators/orglife.compliance?year=20x6", "year"),
        ("/api/v1/indicators/orglife.compliance?year=1800", "year"),
        // 应建尽建 is about units, not counted per branch.
        (
            "/api/v1/indicators/establishment.establish?subject=branch:1",
            "subject",
        ),
    ] {
        let (s, v) = app.get(&admin, url).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        let m = field(&v, f);
        assert!(
            m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{url}: {v}"
        );
    }
    let (s, _) = app.get(&admin, "/api/v1/indicators/no.such.key").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A subject that does not exist is not found, like one outside the scope.
    let (s, _) = app
        .get(
            &admin,
            "/api/v1/indicators/orglife.compliance?subject=branch:999999",
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // An empty city reads as nothing due, not as an error.
    let (s, r) = app
        .get(&admin, "/api/v1/indicators/orglife.compliance")
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["reading"]["text"], "—");
}

#[tokio::test]
async fn branch_officers_judge_each_branch_by_its_size_and_posts() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let read = |subject: String| {
        let app = &app;
        let admin = &admin;
        async move {
            let (s, r) = app
                .get(
                    admin,
                    &format!("/api/v1/indicators/registry.branch_officers?subject={subject}"),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            r["reading"].clone()
        }
    };
    // A small branch without a secretary: one check, not met, saying what is lacking
    // and linking to the branch where officers are set.
    let r = read(format!("branch:{}", city.branch_a)).await;
    assert_eq!(
        (r["value"].as_i64(), r["of"].as_i64()),
        (Some(0), Some(1)),
        "{r}"
    );
    assert!(
        r["records"][0]["label"]
            .as_str()
            .is_some_and(|l| l.contains("办公室党支部") && l.contains("未设书记")),
        "{r}"
    );
    assert_eq!(
        r["records"][0]["href"],
        format!("/org/orgs/{}", city.branch_a)
    );
    let (s, v) = app
        .send(
            &admin,
            "PUT",
            &format!("/api/v1/orgs/{}/officers", city.branch_a),
            json!([{"member_id": city.member_a, "post": "书记"}]),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let r = read(format!("branch:{}", city.branch_a)).await;
    assert_eq!(
        (r["value"].as_i64(), r["of"].as_i64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["records"].as_array().map(Vec::len), Some(0), "{r}");
    // The unit: the share of its branches that lack nothing.
    let (_, orgs) = app
        .get(&admin, &format!("/api/v1/orgs?unit_id={}", city.unit_a))
        .await;
    let branches = orgs["items"]
        .as_array()
        .map_or(0, |a| a.iter().filter(|o| o["kind"] == "branch").count());
    assert!(branches >= 2, "{orgs}");
    let r = read(format!("unit:{}", city.unit_a)).await;
    assert_eq!(r["of"].as_i64(), Some(branches as i64), "{r} {orgs}");
    assert_eq!(r["value"].as_i64(), Some(1), "{r}");
    assert!(
        r["records"].as_array().is_some_and(|a| !a.is_empty()),
        "the other branches lack a secretary: {r}"
    );
    // Another unit's admin does not read this branch.
    let other = app
        .user_with(
            &admin,
            "bo_unit",
            json!({"role": "unit", "unit_id": city.unit_b}),
        )
        .await;
    let (s, _) = app
        .get(
            &other,
            &format!(
                "/api/v1/indicators/registry.branch_officers?subject=branch:{}",
                city.branch_a
            ),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
