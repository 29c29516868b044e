//! 三个百分百: findings computed from the registry, the rates, elections and extensions.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{city, TestApp};

fn rules_for(o: &Value, object: &str) -> Vec<String> {
    o["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|x| x["object"] == object)
                .map(|x| x["rule"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn findings_rates_elections_and_extensions() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    // A third unit with no branch at all.
    let (_, cats) = app.get(&admin, "/api/v1/categories").await;
    let (s, _) = app
        .post(
            &admin,
            "/api/v1/units",
            json!({"name": "市空白局", "category_id": cats[0]["category_id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    let (s, o) = app.get(&admin, "/api/v1/establishment").await;
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_eq!(rules_for(&o, "市空白局"), ["unit_without_branch"]);
    // One full member and a term that ended on 2026-01-01.
    assert_eq!(
        rules_for(&o, "办公室党支部"),
        ["branch_too_small", "term_overdue"]
    );
    assert_eq!(o["total"]["name"], "全市");
    assert_eq!(
        (
            o["total"]["units"].as_i64(),
            o["total"]["units_ok"].as_i64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(
        o["total"]["orgs_adjust_ok"], 0,
        "every branch is too small: {o}"
    );
    let renew_before = o["total"]["orgs_renew_ok"].as_i64().unwrap_or(-1);
    let (_, only) = app.get(&admin, "/api/v1/establishment?area=renew").await;
    assert!(only["findings"]
        .as_array()
        .expect("f")
        .iter()
        .all(|f| f["area"] == "renew"));

    // A unit admin sees their unit only.
    let unit = app
        .user_with(
            &admin,
            "es_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let (_, mine) = app.get(&unit, "/api/v1/establishment").await;
    assert!(
        rules_for(&mine, "机关党支部").is_empty(),
        "another unit's branch"
    );
    assert!(!rules_for(&mine, "办公室党支部").is_empty());
    assert_eq!(mine["total"]["name"], "合计");

    // An election: refused inputs first, each naming its field.
    let url = format!("/api/v1/orgs/{}/elections", city.branch_a);
    let sec = |m: i64| json!([{"member_id": m, "post": "书记"}]);
    for (body, field, words) in [
        (
            json!({"elected_on": "2099-01-01", "officers": sec(city.member_a)}),
            "elected_on",
            "晚于今天",
        ),
        (
            json!({"elected_on": "2022-01-01", "officers": sec(city.member_a)}),
            "elected_on",
            "晚于本届任期开始",
        ),
        (
            json!({"elected_on": "2026-11-01", "officers": []}),
            "officers",
            "一名书记",
        ),
        (
            json!({"elected_on": "2026-11-01", "officers": sec(city.member_b)}),
            "officers[0].member_id",
            "在册党员",
        ),
        (
            json!({"elected_on": "2026-11-01", "officers": [{"member_id": city.member_a, "post": "队长"}]}),
            "officers[0].post",
            "职务",
        ),
    ] {
        let (s, e) = app.post(&unit, &url, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert!(
            e["error"]["fields"][field]
                .as_str()
                .unwrap_or("")
                .contains(words),
            "{body}: {e}"
        );
    }
    assert_eq!(app.sql_scalar("select count(*) from org_term").await, 0);
    let (s, e) = app
        .post(
            &unit,
            &url,
            json!({"elected_on": "2026-11-01", "officers": sec(city.member_a)}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, org) = app
        .get(&unit, &format!("/api/v1/orgs/{}", city.branch_a))
        .await;
    assert_eq!(
        (org["term_start"].as_str(), org["term_end"].as_str()),
        (Some("2026-11-01"), Some("2029-11-01")),
        "{org}"
    );
    let (_, terms) = app
        .get(&unit, &format!("/api/v1/orgs/{}/terms", city.branch_a))
        .await;
    assert_eq!(terms[0]["term_end"], "2026-01-01");
    assert_eq!(terms[0]["closed_on"], "2026-11-01");
    let (_, officers) = app
        .get(&unit, &format!("/api/v1/orgs/{}/officers", city.branch_a))
        .await;
    assert_eq!(officers[0]["post"], "书记");
    let (_, o) = app.get(&admin, "/api/v1/establishment").await;
    assert_eq!(rules_for(&o, "办公室党支部"), ["branch_too_small"]);
    assert_eq!(o["total"]["orgs_renew_ok"].as_i64(), Some(renew_before + 1));
    // Another unit's org is not found.
    let (s, _) = app
        .post(
            &unit,
            &format!("/api/v1/orgs/{}/elections", city.branch_b),
            json!({"elected_on": "2026-11-01", "officers": sec(city.member_b)}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // An extension: at most a year past the due date, with the approval's number.
    let ext = format!("/api/v1/orgs/{}/extension", city.branch_b);
    let (s, e) = app
        .post(
            &admin,
            &ext,
            json!({"until": "2027-03-01", "document": "工委〔2026〕3号"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]["fields"]["until"]
            .as_str()
            .unwrap_or("")
            .contains("不超过1年"),
        "{e}"
    );
    let (s, e) = app
        .post(
            &admin,
            &ext,
            json!({"until": "2026-12-31", "document": " "}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]["fields"]["document"]
            .as_str()
            .unwrap_or("")
            .contains("文号"),
        "{e}"
    );
    let (s, _) = app
        .post(
            &admin,
            &ext,
            json!({"until": "2026-12-31", "document": "工委〔2026〕3号"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, o) = app.get(&admin, "/api/v1/establishment").await;
    let b = o["findings"]
        .as_array()
        .expect("f")
        .iter()
        .find(|f| f["object"] == "机关党支部" && f["area"] == "renew")
        .cloned()
        .expect("renew finding");
    assert_eq!(
        (b["rule"].as_str(), b["warning"].as_bool()),
        (Some("term_due"), Some(true)),
        "{b}"
    );
    assert_eq!(o["total"]["orgs_renew_ok"].as_i64(), Some(renew_before + 2));
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action in ('org.election', 'org.term_extension')"
        )
        .await,
        2
    );

    // The pages: the rates, the list by area, its export, the election form.
    let page = unit
        .get(app.url("/org/establishment?area=adjust"))
        .send()
        .await
        .expect("p");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("t");
    assert!(
        html.contains("data-rule=\"branch_too_small\"") && !html.contains("data-rule=\"term_"),
        "filtered by area"
    );
    let bytes = admin
        .get(app.url("/org/establishment/export"))
        .send()
        .await
        .expect("x")
        .bytes()
        .await
        .expect("b");
    let rows = yaoshi::xlsx::read_first_sheet(&bytes).expect("xlsx");
    assert_eq!(rows[0][0], "方面");
    assert!(rows.iter().any(|r| r[3] == "市空白局"));
    let form = unit
        .get(app.url(&format!("/org/orgs/{}/election", city.branch_a)))
        .send()
        .await
        .expect("f")
        .text()
        .await
        .expect("t");
    assert!(
        form.contains("2026-01-01") && form.contains("name=\"post_"),
        "past term and the post menu"
    );
    let r = unit
        .post(app.url(&format!("/org/orgs/{}/election", city.branch_a2)))
        .form(&[("elected_on", "2099-01-01")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains("选举日期不能晚于今天"));

    // The daily snapshots make the committee's trend: one line per month, its last day.
    use time::macros::date;
    for d in [
        date!(2026 - 10 - 30),
        date!(2026 - 10 - 31),
        date!(2026 - 11 - 26),
    ] {
        yaoshi::org::establishment::snapshot(&app.state, d)
            .await
            .expect("snapshot");
    }
    yaoshi::org::establishment::snapshot(&app.state, date!(2026 - 11 - 26))
        .await
        .expect("same day again");
    let trend = yaoshi::org::establishment::trend(&app.state)
        .await
        .expect("trend");
    let days: Vec<&str> = trend.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(days, ["2026-10-31", "2026-11-26"]);
    assert_eq!(trend[1].1.units, 3);
    let html = admin
        .get(app.url("/org/establishment"))
        .send()
        .await
        .expect("p")
        .text()
        .await
        .expect("t");
    assert!(html.contains("data-testid=\"trend\"") && html.contains("2026-10-31"));
    // The API gives the committee the same trend.
    let (_, o) = app.get(&admin, "/api/v1/establishment").await;
    assert_eq!(o["trend"][0]["day"], "2026-10-31");
    let (_, mine) = app.get(&unit, "/api/v1/establishment").await;
    assert_eq!(mine["trend"].as_array().map(Vec::len), Some(0));
}
