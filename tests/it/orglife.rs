//! 组织生活: recording meetings against the register, the review flow, the year grid,
//! compliance, rules as data, and every way a record can be refused.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, column, nth_id, xlsx_range, City, TestApp};

struct Setup {
    app: TestApp,
    admin: Client,
    city: City,
    branch: Client,
    unit: Client,
    /// Full, in branch_a from 2012.
    wang: i64,
    /// Probationary, in branch_a from 2025.
    zhao: i64,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let mk = |n: u32, name: &str, kind: &str, joined: &str| json!({"name": name, "id_number": nth_id(n), "kind": kind, "joined_on": joined, "branch_id": city.branch_a});
    let (s, w) = app
        .post(
            &admin,
            "/api/v1/members",
            mk(11, "王五", "full", "2012-07-01"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    let (s, z) = app
        .post(
            &admin,
            "/api/v1/members",
            mk(12, "赵六", "probationary", "2025-07-01"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{z}");
    let branch = app
        .user_with(
            &admin,
            "ol_branch",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    let unit = app
        .user_with(
            &admin,
            "ol_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    Setup {
        wang: w.as_i64().expect("wang"),
        zhao: z.as_i64().expect("zhao"),
        app,
        admin,
        city,
        branch,
        unit,
    }
}

fn assembly(s: &Setup, held_on: &str, attendance: Value) -> Value {
    json!({
        "branch_id": s.city.branch_a, "kind": "general_assembly", "held_on": held_on,
        "start_time": "14:30", "duration_minutes": 90, "place": "三楼会议室",
        "topic": "学习贯彻党的二十届三中全会精神", "presenter": "张三", "recorder": "王五",
        "minutes": "一、传达学习……\n二、讨论……", "attendance": attendance
    })
}

async fn status_of(s: &Setup, id: i64) -> String {
    let (_, d) = s.app.get(&s.unit, &format!("/api/v1/meetings/{id}")).await;
    d["meeting"]["status"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn record_review_and_count_a_meeting() {
    let s = setup().await;
    let (app, ma) = (&s.app, s.city.member_a);
    // The register on the date: 张三 and 王五 vote, 赵六 is probationary.
    let (st, reg) = app
        .get(
            &s.branch,
            &format!(
                "/api/v1/orglife/register?branch_id={}&held_on=2026-03-10",
                s.city.branch_a
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{reg}");
    let names: Vec<(&str, bool)> = reg
        .as_array()
        .expect("register")
        .iter()
        .map(|m| (m["name"].as_str().unwrap_or(""), m["full"] == true))
        .collect();
    assert_eq!(names.len(), 3, "{reg}");
    assert!(names.contains(&("赵六", false)) && names.contains(&("王五", true)));

    // Half of the two voting members present: quorate (半数以上 includes half).
    let (st, created) = app
        .post(
            &s.branch,
            "/api/v1/meetings",
            assembly(
                &s,
                "2026-03-10",
                json!([{"member_id": ma, "state": "present"}, {"member_id": s.zhao, "state": "present"},
                       {"member_id": s.wang, "state": "leave", "reason": "出差"}]),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let id = created["meeting_id"].as_i64().expect("id");
    let (_, d) = app.get(&s.branch, &format!("/api/v1/meetings/{id}")).await;
    let m = &d["meeting"];
    assert_eq!(
        (
            m["eligible_count"].as_i64(),
            m["present_count"].as_i64(),
            m["quorum_met"].as_i64()
        ),
        (Some(2), Some(1), Some(1)),
        "{d}"
    );
    assert_eq!(m["status"], "draft");
    assert_eq!(d["attendance"].as_array().map(Vec::len), Some(3));

    // Nobody voting present: recorded, but flagged below quorum.
    let (st, low) = app
        .post(
            &s.branch,
            "/api/v1/meetings",
            assembly(
                &s,
                "2026-04-10",
                json!([{"member_id": s.zhao, "state": "present"}]),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{low}");
    let (_, d) = app
        .get(
            &s.branch,
            &format!("/api/v1/meetings/{}", low["meeting_id"]),
        )
        .await;
    assert_eq!(d["meeting"]["quorum_met"], 0);
    // Unlisted members of the register are recorded absent.
    assert_eq!(
        d["attendance"]
            .as_array()
            .map(|a| a.iter().filter(|x| x["state"] == "absent").count()),
        Some(2)
    );

    // Submit; a second click is refused, not a second step.
    let (st, _) = app
        .post(
            &s.branch,
            &format!("/api/v1/meetings/{id}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, e) = app
        .post(
            &s.branch,
            &format!("/api/v1/meetings/{id}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("待审核"),
        "{e}"
    );
    // Under review it cannot be edited; a branch admin cannot review.
    let (st, _) = app
        .send(
            &s.branch,
            "PUT",
            &format!("/api/v1/meetings/{id}"),
            assembly(&s, "2026-03-10", json!([])),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = app
        .post(
            &s.branch,
            &format!("/api/v1/meetings/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // The unit returns it: a reason is required.
    let (st, e) = app
        .post(
            &s.unit,
            &format!("/api/v1/meetings/{id}/return"),
            json!({"comment": "  "}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]["fields"]["comment"]
            .as_str()
            .unwrap_or("")
            .contains("退回理由"),
        "{e}"
    );
    let (st, _) = app
        .post(
            &s.unit,
            &format!("/api/v1/meetings/{id}/return"),
            json!({"comment": "请补充签到表"}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, d) = app.get(&s.branch, &format!("/api/v1/meetings/{id}")).await;
    assert_eq!(
        (
            d["meeting"]["status"].as_str(),
            d["meeting"]["review_comment"].as_str()
        ),
        (Some("returned"), Some("请补充签到表"))
    );
    // The compliance table (computed now and cached) does not count it yet...
    let branch_line = |t: &Value| {
        t["lines"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["id"] == s.city.branch_a))
            .map(|x| x["by_kind"][0][0].clone())
    };
    let (_, before) = app
        .get(&s.unit, "/api/v1/orglife/compliance?year=2026&by=branch")
        .await;
    assert_eq!(branch_line(&before), Some(json!(0)), "{before}");
    // ...nor does the calendar.
    let grid_url = format!(
        "/api/v1/orglife/calendar?branch_id={}&year=2026",
        s.city.branch_a
    );
    let (_, grid) = app.get(&s.branch, &grid_url).await;
    let q1 = |g: &Value| {
        g.as_array()
            .and_then(|rows| rows.iter().find(|r| r["kind"] == "general_assembly"))
            .map(|r| r["cells"][0]["state"].clone())
    };
    assert_eq!(q1(&grid), Some(json!("missed")), "{grid}");

    // The branch fixes it and resubmits; the unit accepts; the cell turns green.
    let (st, e) = app
        .send(
            &s.branch,
            "PUT",
            &format!("/api/v1/meetings/{id}"),
            assembly(&s, "2026-03-10", json!([{"member_id": ma, "state": "present"}, {"member_id": s.wang, "state": "present"}])),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{e}");
    assert_eq!(status_of(&s, id).await, "returned");
    app.post(
        &s.branch,
        &format!("/api/v1/meetings/{id}/submit"),
        json!({}),
    )
    .await;
    let (_, grid) = app.get(&s.branch, &grid_url).await;
    assert_eq!(q1(&grid), Some(json!("awaiting_review")));
    let (st, _) = app
        .post(&s.unit, &format!("/api/v1/meetings/{id}/accept"), json!({}))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, grid) = app.get(&s.branch, &grid_url).await;
    assert_eq!(q1(&grid), Some(json!("met")));
    let (_, d) = app.get(&s.branch, &format!("/api/v1/meetings/{id}")).await;
    assert_eq!(d["meeting"]["present_count"], 2);
    let steps: Vec<&str> = d["trail"]
        .as_array()
        .expect("trail")
        .iter()
        .map(|t| t["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(steps, ["submit", "return", "submit", "accept"]);

    // Compliance by branch for the unit: branch_a met Q1's assembly.
    let (st, table) = app
        .get(&s.unit, "/api/v1/orglife/compliance?year=2026&by=branch")
        .await;
    assert_eq!(st, StatusCode::OK);
    let line = table["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["id"] == s.city.branch_a))
        .cloned()
        .expect("line");
    assert_eq!(line["by_kind"][0][0], 1, "{line}");
    // The cached table saw the acceptance (a write bumps the data version).
    assert_eq!(branch_line(&table), Some(json!(1)));
    // Any period of the year: the first quarter's assembly was held, the second's was not;
    // a single month judges only monthly meetings.
    let kind0 = |period: &'static str| {
        let unit = s.unit.clone();
        let b = s.city.branch_a;
        async move {
            let (_, t) = app
                .get(
                    &unit,
                    &format!("/api/v1/orglife/compliance?year=2026&by=branch&period={period}"),
                )
                .await;
            t["lines"]
                .as_array()
                .and_then(|l| l.iter().find(|x| x["id"] == b))
                .map(|x| x["by_kind"][0].clone())
        }
    };
    assert_eq!(kind0("q1").await, Some(json!([1, 1])));
    assert_eq!(kind0("q2").await, Some(json!([0, 1])));
    assert_eq!(kind0("m3").await, Some(json!([0, 0])));
    assert_eq!(kind0("h1").await, Some(json!([1, 2])));
    assert!(
        line["by_kind"][0][1].as_i64().unwrap_or(0) >= 3,
        "Q1–Q3 were due: {line}"
    );
    assert_eq!(table["total"]["branches"], 2);
    assert_eq!(
        (line["present"].as_i64(), line["expected"].as_i64()),
        (Some(2), Some(2)),
        "{line}"
    );
    assert_eq!(line["attendance"], 100.0);
    // The committee sees categories and the city.
    let (_, city_table) = app
        .get(&s.admin, "/api/v1/orglife/compliance?year=2026")
        .await;
    assert_eq!(city_table["lines"][0]["level"], "category");
    assert_eq!(city_table["total"]["name"], "全市");

    // The member sees the accepted meeting and their attendance.
    let member = app
        .user_with(
            &s.admin,
            "ol_member",
            json!({"role": "member", "member_id": ma}),
        )
        .await;
    let (st, mine) = app.get(&member, "/api/v1/me/meetings?year=2026").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(mine["items"][0]["state"], "present");
    assert_eq!(mine["rate"], 100.0);

    // Editing an accepted record sends it back to review, audited with before and after.
    let (st, _) = app
        .send(
            &s.branch,
            "PUT",
            &format!("/api/v1/meetings/{id}"),
            assembly(
                &s,
                "2026-03-11",
                json!([{"member_id": ma, "state": "present"}]),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(status_of(&s, id).await, "submitted");
    assert_eq!(
        app.sql_scalar(&format!("select count(*) from audit_log where action = 'meeting.update_accepted' and object_id = '{id}' and before_json is not null")).await,
        1
    );
    // Accepted or under review: no deleting.
    let (st, _) = app
        .send(
            &s.branch,
            "DELETE",
            &format!("/api/v1/meetings/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    // A draft can be deleted, with its attendance.
    let low_id = low["meeting_id"].as_i64().expect("low");
    let (st, _) = app
        .send(
            &s.branch,
            "DELETE",
            &format!("/api/v1/meetings/{low_id}"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from meeting_attendance where meeting_id = {low_id}"
        ))
        .await,
        0
    );
    // Listing and export follow the filters.
    let (_, list) = app
        .get(&s.unit, "/api/v1/meetings?kind=general_assembly&year=2026")
        .await;
    assert_eq!(list["total"], 1);
    let bytes = s
        .unit
        .get(app.url("/api/v1/meetings/export?year=2026"))
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes");
    let rows = yaoshi::xlsx::read_first_sheet(&bytes).expect("xlsx");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][1], "支部党员大会");
}

#[tokio::test]
async fn bad_records_are_refused_with_the_field_named_and_nothing_saved() {
    let s = setup().await;
    let app = &s.app;
    let ma = s.city.member_a;
    let ok = |v: &mut Value, k: &str, x: Value| {
        v[k] = x;
    };
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("held_on", json!("2099-01-01"), "held_on", "晚于今天"),
        ("held_on", json!("2015-01-01"), "held_on", "成立日期"),
        ("held_on", json!("上周五"), "held_on", "会议日期"),
        ("held_on", json!(""), "held_on", "请填写"),
        ("duration_minutes", json!(-30), "duration_minutes", "负数"),
        ("start_time", json!("25:99"), "start_time", "时:分"),
        ("topic", json!("  "), "topic", "会议主题"),
        ("kind", json!("party_congress"), "kind", "会议类型"),
        ("kind", json!("group_meeting"), "group_id", "党小组"),
        (
            "attendance",
            json!([{"member_id": s.city.member_b, "state": "present"}]),
            "attendance",
            "不属于本支部",
        ),
        (
            "attendance",
            json!([{"member_id": ma, "state": "present"}, {"member_id": ma, "state": "leave"}]),
            "attendance",
            "两次",
        ),
        (
            "attendance",
            json!([{"member_id": ma, "state": "asleep"}]),
            "attendance",
            "出席",
        ),
    ];
    for (key, value, field, words) in cases {
        let mut body = assembly(&s, "2026-03-10", json!([]));
        ok(&mut body, key, value.clone());
        let (st, e) = app.post(&s.branch, "/api/v1/meetings", body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{key}={value}: {e}");
        let msg = e["error"]["fields"][field].as_str().unwrap_or("");
        assert!(msg.contains(words), "{key}={value}: {e}");
    }
    // A member who joined after the date is not on that day's register.
    let mut body = assembly(
        &s,
        "2024-03-10",
        json!([{"member_id": s.zhao, "state": "present"}]),
    );
    let (st, e) = app.post(&s.branch, "/api/v1/meetings", body.clone()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(app.sql_scalar("select count(*) from meeting").await, 0);
    assert_eq!(
        app.sql_scalar("select count(*) from meeting_attendance")
            .await,
        0
    );

    // The same form twice (a double click): one record; the second is told so.
    body["attendance"] = json!([{"member_id": ma, "state": "present"}]);
    body["client_token"] = json!("form-abc-123");
    let (st, first) = app.post(&s.branch, "/api/v1/meetings", body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    let (st, again) = app.post(&s.branch, "/api/v1/meetings", body).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("未重复登记"),
        "{again}"
    );
    assert_eq!(app.sql_scalar("select count(*) from meeting").await, 1);
    // Malformed JSON is a Chinese 4xx, not a 500.
    let r = s
        .branch
        .post(app.url("/api/v1/meetings"))
        .header("content-type", "application/json")
        .body("{\"branch_id\": \"x\"")
        .send()
        .await
        .expect("send");
    assert!(r.status().is_client_error());
}

#[tokio::test]
async fn scope_rules_and_transfers() {
    let s = setup().await;
    let app = &s.app;
    let (st, created) = app
        .post(
            &s.branch,
            "/api/v1/meetings",
            assembly(
                &s,
                "2026-03-10",
                json!([{"member_id": s.city.member_a, "state": "present"}]),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let id = created["meeting_id"].as_i64().expect("id");
    // Another branch's admin and another unit's admin do not know it exists.
    let other_branch = app
        .user_with(
            &s.admin,
            "ol_b2",
            json!({"role": "branch", "org_id": s.city.branch_b}),
        )
        .await;
    let other_unit = app
        .user_with(
            &s.admin,
            "ol_u2",
            json!({"role": "unit", "unit_id": s.city.unit_b}),
        )
        .await;
    for c in [&other_branch, &other_unit] {
        let (st, _) = app.get(c, &format!("/api/v1/meetings/{id}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (_, l) = app.get(c, "/api/v1/meetings").await;
        assert_eq!(l["total"], 0);
        let (st, _) = app
            .post(c, &format!("/api/v1/meetings/{id}/submit"), json!({}))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
    // Nor can they record for it.
    let (st, _) = app
        .post(
            &other_branch,
            "/api/v1/meetings",
            assembly(&s, "2026-03-10", json!([])),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The committee reviews but does not record for branches.
    let (st, _) = app
        .post(
            &s.admin,
            "/api/v1/meetings",
            assembly(&s, "2026-03-10", json!([])),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, l) = app.get(&s.admin, "/api/v1/meetings").await;
    assert_eq!(l["total"], 1);

    // A transfer mid-year: before it 王五 is on branch_a's register, after it on branch_a2's.
    let (st, e) = app
        .post(
            &s.admin,
            &format!("/api/v1/members/{}/transfer", s.wang),
            json!({"to_branch_id": s.city.branch_a2, "transferred_on": "2026-05-15"}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{e}");
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["name"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let reg = |b: i64, d: &str| format!("/api/v1/orglife/register?branch_id={b}&held_on={d}");
    let (_, before) = app.get(&s.unit, &reg(s.city.branch_a, "2026-05-14")).await;
    assert!(names(&before).contains(&"王五".to_string()), "{before}");
    let (_, after) = app.get(&s.unit, &reg(s.city.branch_a, "2026-05-15")).await;
    assert!(!names(&after).contains(&"王五".to_string()), "{after}");
    let (_, new_branch) = app.get(&s.unit, &reg(s.city.branch_a2, "2026-06-01")).await;
    assert_eq!(names(&new_branch), ["王五"]);
    // So 王五 may attend branch_a's April meeting but not its June one.
    let (st, _) = app
        .post(
            &s.branch,
            "/api/v1/meetings",
            assembly(
                &s,
                "2026-04-20",
                json!([{"member_id": s.wang, "state": "present"}]),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, e) = app
        .post(
            &s.branch,
            "/api/v1/meetings",
            assembly(
                &s,
                "2026-06-20",
                json!([{"member_id": s.wang, "state": "present"}]),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    // Rules are data: from 2026 党课 monthly; 2025 keeps quarterly.
    let rule = json!({"kind": "party_lecture", "from_year": 2026, "period": "month", "times": 1, "quorum": "none"});
    let (st, _) = app
        .send(&s.unit, "PUT", "/api/v1/meeting-rules", rule.clone())
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let mut bad = rule.clone();
    bad["period"] = json!("fortnight");
    let (st, e) = app
        .send(&s.admin, "PUT", "/api/v1/meeting-rules", bad)
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]["fields"]["period"]
            .as_str()
            .unwrap_or("")
            .contains("每月"),
        "{e}"
    );
    let (st, _) = app
        .send(&s.admin, "PUT", "/api/v1/meeting-rules", rule)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let cells = |g: &Value| {
        g.as_array()
            .and_then(|rows| rows.iter().find(|r| r["kind"] == "party_lecture"))
            .and_then(|r| r["cells"].as_array().map(Vec::len))
    };
    let (_, g26) = app
        .get(
            &s.branch,
            &format!(
                "/api/v1/orglife/calendar?branch_id={}&year=2026",
                s.city.branch_a
            ),
        )
        .await;
    let (_, g25) = app
        .get(
            &s.branch,
            &format!(
                "/api/v1/orglife/calendar?branch_id={}&year=2025",
                s.city.branch_a
            ),
        )
        .await;
    assert_eq!((cells(&g26), cells(&g25)), (Some(12), Some(4)));
    let (_, rules) = app.get(&s.unit, "/api/v1/meeting-rules").await;
    assert_eq!(rules.as_array().map(Vec::len), Some(8));
    // Members have no meeting list of their branch; their own page only.
    let member = app
        .user_with(
            &s.admin,
            "ol_m",
            json!({"role": "member", "member_id": s.city.member_a}),
        )
        .await;
    let (st, _) = app.get(&member, "/api/v1/meetings").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = app.get(&s.branch, "/api/v1/me/meetings").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_pages_walk_a_record_through_review() {
    let s = setup().await;
    let app = &s.app;
    let ba = s.city.branch_a;
    // Three posts make a branch committee, so its monthly 支委会 is due.
    let (st, e) = app
        .send(
            &s.admin,
            "PUT",
            &format!("/api/v1/orgs/{ba}/officers"),
            json!([{"member_id": s.city.member_a, "post": "书记"}, {"member_id": s.wang, "post": "组织委员"}, {"member_id": s.zhao, "post": "宣传委员"}]),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{e}");
    // The form lists the register; a bad date re-renders it with the message.
    let html = s
        .branch
        .get(app.url("/orglife/meetings/new"))
        .send()
        .await
        .expect("new")
        .text()
        .await
        .expect("t");
    assert!(
        html.contains("name=\"att_") && html.contains("王五"),
        "branch admin's form lists the register"
    );
    let form = |date: &str, token: &str| {
        vec![
            ("branch_id", ba.to_string()),
            ("kind", "committee_meeting".to_string()),
            ("held_on", date.to_string()),
            ("topic", "<script>x</script>研究发展党员".to_string()),
            ("duration_minutes", "60".to_string()),
            ("client_token", token.to_string()),
            (
                Box::leak(format!("att_{}", s.city.member_a).into_boxed_str()) as &str,
                "present".to_string(),
            ),
            (
                Box::leak(format!("att_{}", s.wang).into_boxed_str()) as &str,
                "leave".to_string(),
            ),
            (
                Box::leak(format!("reason_{}", s.wang).into_boxed_str()) as &str,
                "病假".to_string(),
            ),
        ]
    };
    let r = s
        .branch
        .post(app.url("/orglife/meetings"))
        .form(&form("2099-01-01", "t1"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.expect("t");
    assert!(
        body.contains("会议日期不能晚于今天") && body.contains("病假"),
        "values kept"
    );
    let r = s
        .branch
        .post(app.url("/orglife/meetings"))
        .form(&form("2026-02-10", "t2"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(at.starts_with("/orglife/meetings/"), "{at}");
    let id: i64 = at
        .rsplit('/')
        .next()
        .and_then(|x| x.parse().ok())
        .expect("id");
    // Posting the same form again lands on the same record.
    let r = s
        .branch
        .post(app.url("/orglife/meetings"))
        .form(&form("2026-02-10", "t2"))
        .send()
        .await
        .expect("post");
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some(at.as_str())
    );
    assert_eq!(app.sql_scalar("select count(*) from meeting").await, 1);
    let page = s
        .branch
        .get(app.url(&at))
        .send()
        .await
        .expect("detail")
        .text()
        .await
        .expect("t");
    assert!(
        page.contains("&#60;script&#62;") && !page.contains("<script>x</script>"),
        "escaped"
    );
    assert!(page.contains("病假") && page.contains("提交审核"));
    // Submit, return with a reason, see it, resubmit, accept.
    let r = s
        .branch
        .post(app.url(&format!("{at}/submit")))
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The unit's home page shows what waits for its review.
    let home = s
        .unit
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("t");
    assert!(
        home.contains("data-testid=\"life-submitted\">1<"),
        "one record to review"
    );
    let r = s
        .unit
        .post(app.url(&format!("{at}/return")))
        .form(&[("comment", "")])
        .send()
        .await
        .expect("ret");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains("请填写退回理由"));
    s.unit
        .post(app.url(&format!("{at}/return")))
        .form(&[("comment", "请补充会议记录")])
        .send()
        .await
        .expect("ret");
    let page = s
        .branch
        .get(app.url(&at))
        .send()
        .await
        .expect("d")
        .text()
        .await
        .expect("t");
    assert!(page.contains("请补充会议记录") && page.contains("已退回"));
    let edit = s
        .branch
        .get(app.url(&format!("{at}/edit")))
        .send()
        .await
        .expect("edit")
        .text()
        .await
        .expect("t");
    assert!(edit.contains("研究发展党员"));
    s.branch
        .post(app.url(&format!("{at}/submit")))
        .send()
        .await
        .expect("submit");
    let r = s
        .unit
        .post(app.url(&format!("{at}/accept")))
        .form(&[("comment", "")])
        .send()
        .await
        .expect("acc");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&s, id).await, "accepted");
    // Every page of the feature renders for the roles that use it.
    for (c, path) in [
        (&s.branch, "/orglife/meetings".to_string()),
        (&s.branch, "/orglife/calendar?year=2026".to_string()),
        (
            &s.unit,
            format!("/orglife/calendar?branch_id={ba}&year=2026"),
        ),
        (&s.unit, "/orglife/compliance".to_string()),
        (&s.admin, "/orglife/compliance".to_string()),
        (&s.admin, "/orglife/compliance?by=unit".to_string()),
        (&s.admin, "/orglife/rules".to_string()),
        (
            &s.unit,
            "/orglife/meetings?kind=committee_meeting&year=2026&q=发展".to_string(),
        ),
        (
            &s.branch,
            format!("/orglife/register?branch_id={ba}&held_on=2026-02-10&kind=group_meeting"),
        ),
    ] {
        let r = c.get(app.url(&path)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let grid = s
        .unit
        .get(app.url(&format!("/orglife/calendar?branch_id={ba}&year=2026")))
        .send()
        .await
        .expect("g")
        .text()
        .await
        .expect("t");
    assert!(
        grid.contains("data-testid=\"year-grid\"") && grid.contains("cell-met"),
        "February's committee meeting is green"
    );
    let list = s
        .unit
        .get(app.url("/orglife/meetings?q=发展"))
        .send()
        .await
        .expect("l")
        .text()
        .await
        .expect("t");
    assert!(list.contains("研究发展党员"));
    let bytes = s
        .admin
        .get(app.url("/orglife/compliance/export?by=unit"))
        .send()
        .await
        .expect("x")
        .bytes()
        .await
        .expect("b");
    let rows = yaoshi::xlsx::read_first_sheet(&bytes).expect("xlsx");
    assert_eq!(rows[0][0], "机关党组织");
    assert_eq!(rows.last().map(|r| r[0].clone()), Some("全市".to_string()));
}

#[tokio::test]
async fn attachments_are_sniffed_limited_and_scoped() {
    use reqwest::multipart::{Form, Part};
    let s = setup().await;
    let app = &s.app;
    let (_, created) = app
        .post(
            &s.branch,
            "/api/v1/meetings",
            assembly(
                &s,
                "2026-03-10",
                json!([{"member_id": s.city.member_a, "state": "present"}]),
            ),
        )
        .await;
    let id = created["meeting_id"].as_i64().expect("id");
    let url = app.url(&format!("/api/v1/meetings/{id}/attachments"));
    let upload = |name: &'static str, bytes: Vec<u8>| {
        s.branch
            .post(url.clone())
            .multipart(Form::new().part("file", Part::bytes(bytes).file_name(name)))
            .send()
    };
    let jpeg = [vec![0xFF, 0xD8, 0xFF, 0xE0], vec![7u8; 2000]].concat();
    let r = upload("签到表.jpg", jpeg.clone()).await.expect("up");
    assert_eq!(r.status(), StatusCode::CREATED);
    let aid: i64 = r.json().await.expect("id");
    // Named like a photo, but an executable: refused by content.
    let r = upload("photo.jpg", b"MZ\x90\x00this is not a picture".to_vec())
        .await
        .expect("up");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.expect("json");
    assert!(
        e["error"]["fields"]["file"]
            .as_str()
            .unwrap_or("")
            .contains("PDF"),
        "{e}"
    );
    // Over 10 MB.
    let big = [b"%PDF-1.7\n".to_vec(), vec![b'x'; 10 * 1024 * 1024 + 1]].concat();
    let r = upload("big.pdf", big).await.expect("up");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, list) = app
        .get(&s.unit, &format!("/api/v1/meetings/{id}/attachments"))
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["filename"], "签到表.jpg");
    // The unit downloads it; another unit does not know it exists.
    let r = s
        .unit
        .get(app.url(&format!("/api/v1/meetings/{id}/attachments/{aid}")))
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/jpeg")
    );
    assert_eq!(r.bytes().await.expect("bytes").to_vec(), jpeg);
    let other = app
        .user_with(
            &s.admin,
            "att_u2",
            json!({"role": "unit", "unit_id": s.city.unit_b}),
        )
        .await;
    let r = other
        .get(app.url(&format!("/api/v1/meetings/{id}/attachments/{aid}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Under review nothing changes; returned, the branch may fix its attachments.
    app.post(
        &s.branch,
        &format!("/api/v1/meetings/{id}/submit"),
        json!({}),
    )
    .await;
    let r = upload("more.png", b"\x89PNG\r\n\x1a\nrest".to_vec())
        .await
        .expect("up");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (st, _) = app
        .send(
            &s.branch,
            "DELETE",
            &format!("/api/v1/meetings/{id}/attachments/{aid}"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    app.post(
        &s.unit,
        &format!("/api/v1/meetings/{id}/return"),
        json!({"comment": "照片不清楚"}),
    )
    .await;
    let (st, _) = app
        .send(
            &s.branch,
            "DELETE",
            &format!("/api/v1/meetings/{id}/attachments/{aid}"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    // Through the page: upload, see it listed.
    let r = s
        .branch
        .post(app.url(&format!("/orglife/meetings/{id}/attachments")))
        .multipart(Form::new().part(
            "file",
            Part::bytes(b"%PDF-1.4 scan".to_vec()).file_name("签到表扫描.pdf"),
        ))
        .send()
        .await
        .expect("page upload");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = s
        .branch
        .get(app.url(&format!("/orglife/meetings/{id}")))
        .send()
        .await
        .expect("d")
        .text()
        .await
        .expect("t");
    assert!(html.contains("签到表扫描.pdf"));
    let r = s
        .branch
        .post(app.url(&format!("/orglife/meetings/{id}/attachments")))
        .multipart(Form::new().part(
            "file",
            Part::bytes(b"<svg onload=alert(1)>".to_vec()).file_name("x.svg"),
        ))
        .send()
        .await
        .expect("page upload");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains("只能上传照片"));
    // A returned record with an attachment can be deleted, the attachment with it (this
    // failed a foreign key: 500).
    let (st, v) = app
        .send(
            &s.branch,
            "DELETE",
            &format!("/api/v1/meetings/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from meeting_attachment where meeting_id = {id}"
        ))
        .await,
        0
    );
    assert!(
        app.sql_scalar(&format!(
            "select count(*) from audit_log where action = 'meeting.delete' and object_id = '{id}' and summary like '%1 个附件%'"
        ))
        .await
            == 1
    );
}

/// 条例: a 党员大会 without 半数以上 of the voting members present could not validly be held —
/// recorded and flagged, and it no longer satisfies its quarter in the year grid or the
/// compliance table (before, an accepted inquorate assembly counted). The words of the record
/// keep the full-width punctuation typed (before, "（第1次）" came back as "(第1次)").
#[tokio::test]
async fn an_inquorate_assembly_does_not_count_and_the_words_are_kept() {
    let s = setup().await;
    let app = &s.app;
    let mut body = assembly(
        &s,
        "2026-04-10",
        json!([{"member_id": s.zhao, "state": "present"},
               {"member_id": s.wang, "state": "leave", "reason": "外出学习，周五返回（已请假）"}]),
    );
    body["topic"] = json!("研究党费，安排工作（第1次）");
    body["place"] = json!("三楼会议室：东侧");
    let (st, created) = app.post(&s.branch, "/api/v1/meetings", body).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let id = created["meeting_id"].as_i64().expect("id");
    for (who, step) in [(&s.branch, "submit"), (&s.unit, "accept")] {
        let (st, e) = app
            .post(who, &format!("/api/v1/meetings/{id}/{step}"), json!({}))
            .await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{step}: {e}");
    }
    let (_, d) = app.get(&s.branch, &format!("/api/v1/meetings/{id}")).await;
    assert_eq!(d["meeting"]["quorum_met"], 0);
    assert_eq!(d["meeting"]["topic"], "研究党费，安排工作（第1次）");
    assert_eq!(d["meeting"]["place"], "三楼会议室：东侧");
    let reason = d["attendance"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["state"] == "leave"))
        .map(|x| x["reason"].clone());
    assert_eq!(reason, Some(json!("外出学习，周五返回（已请假）")));
    // The second quarter's cell: held but inquorate, not met.
    let (_, grid) = app
        .get(
            &s.branch,
            &format!(
                "/api/v1/orglife/calendar?branch_id={}&year=2026",
                s.city.branch_a
            ),
        )
        .await;
    let q2 = grid
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["kind"] == "general_assembly"))
        .map(|r| r["cells"][1].clone())
        .expect("q2");
    assert_ne!(q2["state"], "met", "{q2}");
    assert_eq!(
        (q2["accepted"].as_i64(), q2["inquorate"].as_i64()),
        (Some(0), Some(1)),
        "{q2}"
    );
    let page = s
        .branch
        .get(app.url(&format!(
            "/orglife/calendar?branch_id={}&year=2026",
            s.city.branch_a
        )))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("不足法定人数 1 次"), "the grid says why");
    // The compliance table agrees: branch_a met no assembly quarter of 2026.
    let (_, t) = app
        .get(&s.unit, "/api/v1/orglife/compliance?year=2026&by=branch")
        .await;
    let line = t["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["id"] == s.city.branch_a))
        .expect("line");
    assert_eq!(line["by_kind"][0][0], json!(0), "{line}");
}

/// The idempotency token of a record form belongs to whoever sent it: another unit sending
/// the same token gets a record of its own, and is not told the id of the first.
#[tokio::test]
async fn another_units_client_token_neither_collides_nor_reveals_its_record() {
    let s = setup().await;
    let app = &s.app;
    let other = app
        .user_with(
            &s.admin,
            "ol_unit_b",
            json!({"role": "unit", "unit_id": s.city.unit_b}),
        )
        .await;
    let mut mine = assembly(
        &s,
        "2026-03-10",
        json!([{"member_id": s.city.member_a, "state": "present"}]),
    );
    mine["client_token"] = json!("shared-token-350198");
    let (st, first) = app.post(&s.branch, "/api/v1/meetings", mine.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    let first_id = first["meeting_id"].as_i64().expect("id");
    // Unit B, the same token: a record of its own, nothing said of unit A's.
    let theirs = json!({
        "branch_id": s.city.branch_b, "kind": "general_assembly", "held_on": "2026-03-10",
        "topic": "另一单位的党员大会", "client_token": "shared-token-350198",
        "attendance": [{"member_id": s.city.member_b, "state": "present"}]
    });
    let (st, v) = app.post(&other, "/api/v1/meetings", theirs.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let their_id = v["meeting_id"].as_i64().expect("id");
    assert_ne!(their_id, first_id);
    assert!(!v.to_string().contains(&first_id.to_string()), "{v}");
    // Each sender's repeat is still recognised as its own.
    let (st, again) = app.post(&other, "/api/v1/meetings", theirs).await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");
    let msg = again["error"]["message"].as_str().unwrap_or("");
    assert!(msg.contains(&format!("编号 {their_id}")), "{again}");
    let (st, again) = app.post(&s.branch, "/api/v1/meetings", mine).await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");
    let msg = again["error"]["message"].as_str().unwrap_or("");
    assert!(msg.contains(&format!("编号 {first_id}")), "{again}");
    // The unit admin of A shares A's records but not the branch admin's token.
    let (st, v) = app
        .post(
            &s.unit,
            "/api/v1/meetings",
            json!({"branch_id": s.city.branch_a, "kind": "theme_day", "held_on": "2026-03-12",
                   "topic": "主题党日", "client_token": "shared-token-350198",
                   "attendance": [{"member_id": s.city.member_a, "state": "present"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // The page form: unit B's post lands on a record of its own, not on unit A's.
    let r = other
        .post(app.url("/orglife/meetings"))
        .form(&[
            ("branch_id", s.city.branch_b.to_string()),
            ("kind", "party_lecture".to_string()),
            ("held_on", "2026-03-11".to_string()),
            ("topic", "党课".to_string()),
            ("client_token", "form-token-of-a".to_string()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = s
        .branch
        .post(app.url("/orglife/meetings"))
        .form(&[
            ("branch_id", s.city.branch_a.to_string()),
            ("kind", "party_lecture".to_string()),
            ("held_on", "2026-03-11".to_string()),
            ("topic", "党课".to_string()),
            ("client_token", "form-token-of-a".to_string()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let id: i64 = at
        .rsplit('/')
        .next()
        .and_then(|x| x.parse().ok())
        .expect("id");
    let (st, d) = app.get(&s.branch, &format!("/api/v1/meetings/{id}")).await;
    assert_eq!(st, StatusCode::OK, "{at}: {d}");
    assert_eq!(d["meeting"]["branch_id"], s.city.branch_a);
    assert_eq!(app.sql_scalar("select count(*) from meeting").await, 5);
}

/// Records saved before tokens were scoped to their sender keep their attendance, review
/// trail and attachments through the migration, and their tokens still answer their sender.
#[tokio::test]
async fn scoping_client_tokens_keeps_the_records_saved_before() {
    use yaoshi::db::{Backend, Db};
    let dir = std::env::temp_dir().join(format!("yaoshi-mig-{}", crate::common::random_suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (url, pg) = match crate::common::scratch_database().await {
        Some((url, pg)) => (url, Some(pg)),
        None => (
            format!("sqlite://{}?mode=rwc", dir.join("m.db").display()),
            None,
        ),
    };
    let db = Db::connect(&url).await.expect("connect");
    // The schema as it was before the scoped token (migration 14).
    let all = Db::migrator(db.backend);
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            all.iter().filter(|m| m.version <= 14).cloned().collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&db.pool).await.expect("migrate to 14");
    for sql in [
        "insert into category (category_id, code, name, created_at, updated_at) values (901, 'c901', '测试类', 0, 0)",
        "insert into unit (unit_id, name, category_id, created_at, updated_at) values (901, '迁移局', 901, 0, 0)",
        "insert into org (org_id, unit_id, kind, name, created_at, updated_at) values (901, 901, 'branch', '迁移党支部', 0, 0)",
        "insert into member (member_id, unit_id, branch_id, name, gender, id_number, id_suffix, kind, created_at, updated_at) \
         values (901, 901, 901, '迁移党员', '男', 'x', '0000', 'full', 0, 0)",
        "insert into meeting (meeting_id, unit_id, branch_id, kind, held_on, topic, status, client_token, created_by, created_at, updated_at) \
         values (501, 901, 901, 'general_assembly', '2026-03-10', '迁移前的记录', 'submitted', 'tok-1', 7, 0, 0)",
        "insert into meeting (meeting_id, unit_id, branch_id, kind, held_on, topic, client_token, created_by, created_at, updated_at) \
         values (502, 901, 901, 'theme_day', '2026-03-12', '迁移前的第二条', null, 7, 0, 0)",
        "insert into meeting_attendance (meeting_id, member_id, state) values (501, 901, 'present')",
        "insert into meeting_review (meeting_id, action, at) values (501, 'submit', 0)",
        "insert into meeting_attachment (meeting_id, filename, content_type, size, sha256, created_at) \
         values (501, '签到表.pdf', 'application/pdf', 3, 'ab', 0)",
    ] {
        sqlx::query(sql).execute(&db.pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    db.migrate().await.expect("migrate to the newest");
    let n = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect(sql)
        }
    };
    assert_eq!(n("select count(*) from meeting").await, 2);
    assert_eq!(n("select count(*) from meeting where meeting_id = 501 and client_token = 'tok-1' and created_by = 7 and status = 'submitted'").await, 1);
    assert_eq!(
        n("select count(*) from meeting_attendance where meeting_id = 501").await,
        1
    );
    assert_eq!(
        n("select count(*) from meeting_review where meeting_id = 501").await,
        1
    );
    assert_eq!(
        n("select count(*) from meeting_attachment where meeting_id = 501").await,
        1
    );
    if db.backend == Backend::Sqlite {
        let broken: Vec<(String,)> =
            sqlx::query_as("select \"table\" from pragma_foreign_key_check")
                .fetch_all(&db.pool)
                .await
                .expect("fk check");
        assert!(broken.is_empty(), "{broken:?}");
        // The figures' cache still learns of changes to meetings.
        let v0 =
            n("select cast(sum(version) as bigint) from data_version where name = 'orglife'").await;
        sqlx::query("update meeting set topic = '改' where meeting_id = 502")
            .execute(&db.pool)
            .await
            .expect("update");
        assert_eq!(
            n("select cast(sum(version) as bigint) from data_version where name = 'orglife'").await,
            v0 + 1
        );
    }
    // Another sender may use the same token; the same sender may not.
    let insert = |id: i64, by: i64| {
        let pool = db.pool.clone();
        async move {
            sqlx::query(
                "insert into meeting (meeting_id, unit_id, branch_id, kind, held_on, topic, client_token, created_by, created_at, updated_at) \
                 values ($1, 901, 901, 'theme_day', '2026-04-01', '新记录', 'tok-1', $2, 0, 0)",
            )
            .bind(id)
            .bind(by)
            .execute(&pool)
            .await
        }
    };
    insert(503, 8).await.expect("another sender's token");
    assert!(
        insert(504, 7).await.is_err(),
        "the same sender's token again"
    );
    db.pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Some((base, name)) = pg {
        let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
            .await
            .expect("pg");
        let _ = sqlx::Executor::execute(
            &mut c,
            format!("drop database if exists {name} with (force)").as_str(),
        )
        .await;
    }
}

/// The reviewer is not the submitter (before, a unit admin drafted, submitted and accepted
/// the same record): the one who put it up for review is refused, another reviewer is not.
#[tokio::test]
async fn nobody_reviews_a_record_they_submitted() {
    let s = setup().await;
    let app = &s.app;
    let (st, created) = app
        .post(
            &s.unit,
            "/api/v1/meetings",
            assembly(
                &s,
                "2026-03-12",
                json!([{"member_id": s.city.member_a, "state": "present"}]),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let id = created["meeting_id"].as_i64().expect("id");
    let (st, _) = app
        .post(&s.unit, &format!("/api/v1/meetings/{id}/submit"), json!({}))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for step in ["accept", "return"] {
        let (st, e) = app
            .post(
                &s.unit,
                &format!("/api/v1/meetings/{id}/{step}"),
                json!({"comment": "自己审核"}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{step}: {e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("不能再由您审核"),
            "{e}"
        );
    }
    assert_eq!(status_of(&s, id).await, "submitted");
    // The page offers the submitter no review buttons.
    let page = s
        .unit
        .get(app.url(&format!("/orglife/meetings/{id}")))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        !page.contains(&format!("/orglife/meetings/{id}/accept")),
        "no accept button"
    );
    // Another reviewer (the committee) accepts.
    let (st, e) = app
        .post(
            &s.admin,
            &format!("/api/v1/meetings/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{e}");
    assert_eq!(status_of(&s, id).await, "accepted");
}

/// This month as the app's clock reads it (Beijing), and the compliance period code of it.
fn this_month() -> (i32, u8) {
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    (now.year(), u8::from(now.month()))
}

/// Records, submits and accepts a meeting (the unit records, the committee reviews).
async fn accepted(s: &Setup, body: Value) -> i64 {
    let (st, c) = s.app.post(&s.unit, "/api/v1/meetings", body).await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let id = c["meeting_id"].as_i64().expect("id");
    let (st, e) = s
        .app
        .post(&s.unit, &format!("/api/v1/meetings/{id}/submit"), json!({}))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{e}");
    let (st, e) = s
        .app
        .post(
            &s.admin,
            &format!("/api/v1/meetings/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{e}");
    id
}

/// Issue #12: the committee finds the branches to chase — filtered, sorted and paged on the
/// page, the API and the export; the running month's periods show as 待完成 with their end.
#[tokio::test]
async fn the_committee_finds_the_branches_to_chase() {
    let s = setup().await;
    let app = &s.app;
    let (year, month) = this_month();
    let last = time::Month::try_from(month).expect("month").length(year);
    let until = format!("{year}-{month:02}-{last:02}");
    let q = |extra: &str| format!("/api/v1/orglife/compliance?year={year}&by=branch{extra}");

    // Nothing recorded: every branch of the city has this month's theme day still to hold.
    let (st, t) = app
        .get(&s.admin, &q(&format!("&period=m{month}&only=due")))
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(t["matched"], 3, "{t}");
    for l in t["lines"].as_array().expect("lines") {
        assert_eq!(l["due_until"], until.as_str(), "{l}");
        assert_eq!(
            l["met"], 0,
            "nothing of the running month is judged yet: {l}"
        );
    }
    let (_, t) = app
        .get(&s.admin, &q(&format!("&period=m{month}&only=missed")))
        .await;
    assert_eq!(t["matched"], 0, "a month under way is not missed: {t}");

    // 业务处党支部 (no groups, no committee) holds its theme day: no longer to chase.
    let mut day = assembly(&s, &format!("{year}-{month:02}-01"), json!([]));
    day["kind"] = json!("theme_day");
    day["branch_id"] = json!(s.city.branch_a2);
    accepted(&s, day).await;
    let (_, t) = app
        .get(&s.admin, &q(&format!("&period=m{month}&only=due")))
        .await;
    let names: Vec<&str> = t["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(t["matched"], 2, "{t}");
    assert!(!names.contains(&"业务处党支部"), "{names:?}");

    // Sorted by rate, either way the branch with a figure comes before those without.
    for sort in ["rate", "-rate"] {
        let (_, t) = app
            .get(&s.admin, &q(&format!("&period=m{month}&sort={sort}")))
            .await;
        assert_eq!(t["lines"][0]["name"], "业务处党支部", "{sort}: {t}");
        assert_eq!(t["lines"][0]["rate"], 100.0, "{t}");
    }
    let (_, asc) = app.get(&s.admin, &q("&sort=name")).await;
    let (_, desc) = app.get(&s.admin, &q("&sort=-name")).await;
    let order = |t: &Value| {
        t["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| l["name"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    let mut reversed = order(&asc);
    reversed.reverse();
    assert_eq!(order(&desc), reversed);
    assert_ne!(order(&asc), order(&desc));
    // Name search, unit filter and paging.
    let (_, t) = app.get(&s.admin, &q("&q=业务")).await;
    assert_eq!(order(&t), ["业务处党支部"]);
    let (_, t) = app
        .get(&s.admin, &q(&format!("&unit_id={}", s.city.unit_b)))
        .await;
    assert_eq!(order(&t), ["机关党支部"]);
    let (_, t) = app.get(&s.admin, &q("&sort=name&per_page=2&page=2")).await;
    assert_eq!(
        (t["matched"].as_i64(), order(&t).len()),
        (Some(3), 1),
        "{t}"
    );
    // An unknown sort or filter is refused, not ignored.
    for (bad, field) in [("&sort=colour", "sort"), ("&only=late", "only")] {
        let (st, e) = app.get(&s.admin, &q(bad)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(
            e["error"]["fields"][field]
                .as_str()
                .unwrap_or("")
                .contains("无效"),
            "{e}"
        );
    }
    let r = s
        .admin
        .get(app.url("/orglife/compliance?by=branch&sort=colour"))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains("排序方式“colour”无效"));

    // The page: the filter kept in the sort links, 待完成 with its date, a pager.
    let page = s
        .admin
        .get(app.url(&format!(
            "/orglife/compliance?year={year}&by=branch&period=m{month}&only=due"
        )))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("t");
    assert!(
        page.contains(&format!("待完成（{until}前）")),
        "status column"
    );
    assert!(
        page.contains("only=due") && page.contains("sort=rate"),
        "sort links keep the filter"
    );
    assert!(page.contains("data-testid=\"pager-summary\"") && !page.contains("业务处党支部"));

    // The export: the same filter and order, counts as numbers, rates as percents.
    let bytes = s
        .admin
        .get(app.url(&format!(
            "/orglife/compliance/export?year={year}&by=branch&period=m{month}&sort=-rate"
        )))
        .send()
        .await
        .expect("x")
        .bytes()
        .await
        .expect("b");
    let range = xlsx_range(&bytes);
    let (rate, branches) = (column(&range, "合规率"), column(&range, "支部数"));
    let first = range.rows().nth(1).expect("first line");
    assert_eq!(first[0].to_string(), "业务处党支部");
    assert_eq!(
        first[rate],
        calamine::Data::Float(1.0),
        "a rate is a number: {first:?}"
    );
    assert_eq!(
        first[branches],
        calamine::Data::Float(1.0),
        "a count is a number"
    );
    assert_eq!(
        range.rows().count(),
        1 + 3 + 1,
        "header, three branches, 全市"
    );
    let bad = s
        .admin
        .get(app.url("/orglife/compliance/export?only=late"))
        .send()
        .await
        .expect("x");
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The meetings export: dates as dates, 应到/实到 as numbers.
    let bytes = s
        .unit
        .get(app.url("/orglife/meetings/export"))
        .send()
        .await
        .expect("x")
        .bytes()
        .await
        .expect("b");
    let range = xlsx_range(&bytes);
    let row = range.rows().nth(1).expect("one record");
    assert!(
        matches!(row[column(&range, "会议日期")], calamine::Data::DateTime(_)),
        "{row:?}"
    );
    assert!(
        matches!(row[column(&range, "应到")], calamine::Data::Float(_)),
        "{row:?}"
    );
    assert!(matches!(
        row[column(&range, "主题")],
        calamine::Data::String(_)
    ));
}

/// Issue #12: a returned record reaches the branch — a notification with the reason, the
/// reason on the edit page and in the list of returned records.
#[tokio::test]
async fn a_returned_record_tells_the_branch_why() {
    let s = setup().await;
    let app = &s.app;
    let (st, c) = app
        .post(
            &s.branch,
            "/api/v1/meetings",
            assembly(&s, "2026-03-10", json!([])),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let id = c["meeting_id"].as_i64().expect("id");
    app.post(
        &s.branch,
        &format!("/api/v1/meetings/{id}/submit"),
        json!({}),
    )
    .await;
    let (st, e) = app
        .post(
            &s.unit,
            &format!("/api/v1/meetings/{id}/return"),
            json!({"comment": "请补充签到表扫描件"}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{e}");
    let (_, inbox) = app.get(&s.branch, "/api/v1/notifications").await;
    let items = inbox["items"].as_array().expect("items");
    let n = items
        .iter()
        .find(|n| n["cause"] == format!("meeting:{id}:review"))
        .unwrap_or_else(|| panic!("the branch is told: {inbox}"));
    assert!(
        n["body"]
            .as_str()
            .unwrap_or("")
            .contains("请补充签到表扫描件"),
        "{n}"
    );
    assert_eq!(n["href"], format!("/orglife/meetings/{id}/edit"));
    let (_, mine) = app.get(&s.unit, "/api/v1/notifications").await;
    assert!(
        !mine["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|n| n["cause"] == format!("meeting:{id}:review")),
        "the reviewer is not told of their own step"
    );
    for path in [
        format!("/orglife/meetings/{id}/edit"),
        "/orglife/meetings?status=returned".to_string(),
    ] {
        let html = s
            .branch
            .get(app.url(&path))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("t");
        assert!(
            html.contains("data-testid=\"return-reason\"") && html.contains("请补充签到表扫描件"),
            "{path} shows the reason"
        );
    }
    // Returned a second time after a resubmission: a second notice.
    app.post(
        &s.branch,
        &format!("/api/v1/meetings/{id}/submit"),
        json!({}),
    )
    .await;
    app.post(
        &s.unit,
        &format!("/api/v1/meetings/{id}/return"),
        json!({"comment": "主持人填写有误"}),
    )
    .await;
    let (_, inbox) = app.get(&s.branch, "/api/v1/notifications").await;
    assert_eq!(
        inbox["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|n| n["cause"] == format!("meeting:{id}:review"))
            .count(),
        2,
        "{inbox}"
    );

    // The detail page says whom 应到/实到 count, beside the attendance that counts everyone.
    let html = s
        .branch
        .get(app.url(&format!("/orglife/meetings/{id}")))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(
        html.contains("正式党员（有表决权，不含预备党员）：应到 2 人"),
        "assembly counts voters"
    );
    assert!(html.contains("含预备党员"));
}

/// Issue #12: changing the kind or date in the form keeps the marks of the members still
/// listed and names those dropped.
#[tokio::test]
async fn changing_the_kind_or_date_keeps_the_marks() {
    let s = setup().await;
    let app = &s.app;
    let (ba, ma) = (s.city.branch_a, s.city.member_a);
    let fragment = |kind: &str, date: &str| {
        format!(
            "/orglife/register?branch_id={ba}&kind={kind}&held_on={date}\
             &att_{ma}=leave&reason_{ma}=%E5%87%BA%E5%B7%AE&who_{ma}=%E5%BC%A0%E4%B8%89\
             &att_{z}=absent&who_{z}=%E8%B5%B5%E5%85%AD",
            z = s.zhao
        )
    };
    let html = s
        .branch
        .get(app.url(&fragment("general_assembly", "2026-03-10")))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(
        html.contains(&format!("name=\"att_{ma}\" value=\"leave\" checked")),
        "张三's 请假 kept"
    );
    assert!(html.contains("value=\"出差\""), "the reason kept");
    assert!(html.contains(&format!("name=\"att_{}\" value=\"absent\" checked", s.zhao)));
    assert!(!html.contains("register-dropped"));
    // 赵六 joined in 2025: on a 2024 date only 张三 and 王五 are listed, and 赵六's mark is
    // said to be dropped.
    let html = s
        .branch
        .get(app.url(&fragment("general_assembly", "2024-03-10")))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(html.contains(&format!("name=\"att_{ma}\" value=\"leave\" checked")));
    assert!(
        html.contains("data-testid=\"register-dropped\"") && html.contains("赵六（缺席）"),
        "{html}"
    );
    // A 党小组会 cell says how many of the branch's groups met, not a bare count.
    let grid = s
        .branch
        .get(app.url(&format!("/orglife/calendar?branch_id={ba}&year=2026")))
        .send()
        .await
        .expect("grid")
        .text()
        .await
        .expect("t");
    assert!(
        grid.contains("1个党小组中0个已开"),
        "group cells name the groups"
    );
}
