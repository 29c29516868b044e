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

/// The cached findings, rates and home counts equal a full recomputation after each of a
/// run of writes of every kind that can change them (members in and out, orgs, officers,
/// terms, units), whatever order they come in.
#[tokio::test]
async fn cached_summaries_equal_a_full_recomputation_after_writes() {
    use yaoshi::auth::Scope;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let (_, cats) = app.get(&admin, "/api/v1/categories").await;
    let cat = cats[0]["category_id"].as_i64().expect("category");
    let everything = Scope::everything();
    let unit_scope = Scope {
        units: vec![city.unit_a],
        ..Default::default()
    };
    let check = |step: String| {
        let app = &app;
        let everything = &everything;
        let unit_scope = &unit_scope;
        async move {
            for scope in [everything, unit_scope] {
                let cached = yaoshi::org::establishment::overview_in(&app.state, scope, "全市")
                    .await
                    .expect("cached");
                let fresh =
                    yaoshi::org::establishment::store::overview_uncached(&app.state, scope, "全市")
                        .await
                        .expect("fresh");
                assert_eq!(
                    serde_json::to_value(&*cached).expect("json"),
                    serde_json::to_value(&fresh).expect("json"),
                    "after {step}"
                );
            }
            let f = yaoshi::org::home::figures(&app.state, everything)
                .await
                .expect("figures");
            let members: i64 =
                sqlx::query_scalar("select count(*) from member where status = 'active'")
                    .fetch_one(&app.state.db.pool)
                    .await
                    .expect("count");
            let branches: i64 =
                sqlx::query_scalar("select count(*) from org where kind = 'branch'")
                    .fetch_one(&app.state.db.pool)
                    .await
                    .expect("count");
            assert_eq!((f.members, f.branches), (members, branches), "after {step}");
        }
    };
    check("start".into()).await;
    let mut branches = vec![city.branch_a, city.branch_a2, city.branch_b];
    let mut members = vec![city.member_a, city.member_b];
    let mut units = vec![city.unit_a, city.unit_b];
    // A fixed pseudo-random order: the same run every time, every kind of write in it.
    let mut seed: u64 = 0x5eed;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(seed >> 33).expect("usize") % n
    };
    for i in 0..24u32 {
        let op = if i < 6 { i as usize } else { next(6) };
        let step = match op {
            0 => {
                let b = branches[next(branches.len())];
                let kind = if next(2) == 0 { "full" } else { "probationary" };
                let (s, m) = app
                    .post(
                        &admin,
                        "/api/v1/members",
                        json!({"name": format!("成员{i}"), "id_number": crate::common::nth_id(100 + i),
                               "kind": kind, "joined_on": "2015-07-01",
                               "converted_on": if kind == "full" { Some("2016-07-01") } else { None },
                               "branch_id": b}),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{m}");
                members.push(m.as_i64().expect("member"));
                format!("member {i} into {b}")
            }
            1 => {
                let m = members[next(members.len())];
                let to = branches[next(branches.len())];
                let (s, v) = app
                    .post(
                        &admin,
                        &format!("/api/v1/members/{m}/transfer"),
                        json!({"to_branch_id": to, "transferred_on": "2026-03-01", "reason": "工作调动"}),
                    )
                    .await;
                format!("transfer {m} to {to}: {s} {v}")
            }
            2 => {
                let u = units[next(units.len())];
                let (s, b) = app
                    .post(
                        &admin,
                        "/api/v1/orgs",
                        json!({"unit_id": u, "kind": "branch", "name": format!("新建{i}党支部"),
                               "founded_on": "2020-01-01", "term_start": "2024-05-01", "term_end": "2027-05-01"}),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{b}");
                branches.push(b.as_i64().expect("branch"));
                format!("branch {i} in {u}")
            }
            3 => {
                let (s, u) = app
                    .post(
                        &admin,
                        "/api/v1/units",
                        json!({"name": format!("市新设{i}局"), "category_id": cat}),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{u}");
                units.push(u.as_i64().expect("unit"));
                format!("unit {i}")
            }
            4 => {
                let b = branches[next(branches.len())];
                let (_, ms) = app
                    .get(&admin, &format!("/api/v1/members?org_id={b}"))
                    .await;
                let posts: Vec<Value> = ms["items"]
                    .as_array()
                    .map(|v| {
                        v.iter()
                            .zip(["书记", "组织委员", "宣传委员"])
                            .map(|(m, p)| json!({"member_id": m["member_id"], "post": p}))
                            .collect()
                    })
                    .unwrap_or_default();
                let (s, v) = app
                    .send(
                        &admin,
                        "PUT",
                        &format!("/api/v1/orgs/{b}/officers"),
                        json!(posts),
                    )
                    .await;
                format!("officers of {b}: {s} {v}")
            }
            _ => {
                let b = branches[next(branches.len())];
                let (_, org) = app.get(&admin, &format!("/api/v1/orgs/{b}")).await;
                let (s, v) = app
                    .send(
                        &admin,
                        "PUT",
                        &format!("/api/v1/orgs/{b}"),
                        json!({"unit_id": org["unit_id"], "parent_id": org["parent_id"], "kind": org["kind"],
                               "name": org["name"], "founded_on": org["founded_on"],
                               "term_start": "2021-01-01", "term_end": if next(2) == 0 { "2024-01-01" } else { "2027-06-01" }}),
                    )
                    .await;
                format!("term of {b}: {s} {v}")
            }
        };
        check(step).await;
    }
}

#[tokio::test]
async fn findings_are_filtered_and_paged() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let _city = city(&app, &admin).await;
    let (_, cats) = app.get(&admin, "/api/v1/categories").await;
    for i in 0..5 {
        let (s, _) = app
            .post(
                &admin,
                "/api/v1/units",
                json!({"name": format!("市空白{i}局"), "category_id": cats[0]["category_id"]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, all) = app.get(&admin, "/api/v1/establishment").await;
    let total = all["findings_total"].as_i64().expect("total");
    assert!(total >= 7, "{all}");
    let (_, p1) = app
        .get(&admin, "/api/v1/establishment?per_page=2&page=2")
        .await;
    assert_eq!(p1["findings"].as_array().map(Vec::len), Some(2));
    assert_eq!(p1["findings_total"], total);
    assert_eq!(p1["findings"][0]["object"], all["findings"][2]["object"]);
    let (_, blank) = app.get(&admin, "/api/v1/establishment?q=空白").await;
    assert_eq!(blank["findings_total"], 5, "{blank}");
    let (_, issues) = app
        .get(&admin, "/api/v1/establishment?nature=issue&area=establish")
        .await;
    assert!(issues["findings"]
        .as_array()
        .expect("f")
        .iter()
        .all(|f| f["warning"] == false && f["area"] == "establish"));
    let cat = cats[0]["category_id"].as_i64().expect("c");
    let (_, in_cat) = app
        .get(&admin, &format!("/api/v1/establishment?category_id={cat}"))
        .await;
    assert_eq!(
        in_cat["findings_total"], total,
        "every unit is in the first category"
    );
    let (_, none) = app
        .get(
            &admin,
            &format!("/api/v1/establishment?category_id={}", cat + 1000),
        )
        .await;
    assert_eq!(none["findings_total"], 0);
    // Unknown values are refused with a message, not silently widened to everything.
    let (s, e) = app
        .get(&admin, "/api/v1/establishment?area=everything")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"]["fields"]["area"]
        .as_str()
        .is_some_and(|m| m.contains("应建尽建")));
    let (s, _) = app.get(&admin, "/api/v1/establishment?nature=x").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // The page pages and filters the same way, and its export keeps the filter.
    let html = admin
        .get(app.url("/org/establishment?q=空白&per_page=2"))
        .send()
        .await
        .expect("p")
        .text()
        .await
        .expect("t");
    assert_eq!(
        crate::common::testid_text(&html, "total").as_deref(),
        Some("5")
    );
    assert!(html.contains("page=2"), "a link to the next page");
    assert!(html.contains("/org/establishment/export?q="));
    let r = admin
        .get(app.url("/org/establishment?area=bogus"))
        .send()
        .await
        .expect("p");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains("方面只能是"));
    // The committee's trend ends with today's live figures, equal to the table.
    let (_, o) = app.get(&admin, "/api/v1/establishment").await;
    let last = o["trend"]
        .as_array()
        .and_then(|t| t.last().cloned())
        .expect("a live point");
    assert_eq!(last["rates"]["units_ok"], o["total"]["units_ok"]);
    assert_eq!(last["rates"]["orgs_renew_ok"], o["total"]["orgs_renew_ok"]);
}
