//! 志愿者银行: a member reports to a community (once per half-year), the community confirms;
//! the community posts needs, members claim them within limits and cancel before the start;
//! the community confirms hours in bulk under an idempotency key, every refusal in Chinese;
//! reversals, rewards and redemptions; the ledger verified and its aggregates equal to a
//! recomputation after random operations (the property test); claims expiring with notice;
//! communities imported from Excel, given an account, printed on a QR poster; the missing
//! list, the figures and the indicators criterion 17 is scored by — over the API and pages.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, xlsx_range, City, TestApp};
use yaoshi::volunteer::{ledger, rules};

struct Setup {
    app: TestApp,
    admin: Client,
    member: Client,
    member_b: Client,
    community: Client,
    community_b: Client,
    unit: Client,
    city: City,
    community_b_id: i64,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let (s, c2) = app
        .post(
            &admin,
            "/api/v1/communities",
            json!({"name": "竹园社区", "district": "东城区", "street": "新华街道", "contact": "王芳", "contact_phone": "0571-87654321"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c2}");
    let community_b_id = c2.as_i64().expect("community");
    let member = app
        .user_with(
            &admin,
            "v_member",
            json!({"role": "member", "member_id": city.member_a}),
        )
        .await;
    let member_b = app
        .user_with(
            &admin,
            "v_member_b",
            json!({"role": "member", "member_id": city.member_b}),
        )
        .await;
    let community = app
        .user_with(
            &admin,
            "v_community",
            json!({"role": "community", "community_id": city.community}),
        )
        .await;
    let community_b = app
        .user_with(
            &admin,
            "v_community_b",
            json!({"role": "community", "community_id": community_b_id}),
        )
        .await;
    let unit = app
        .user_with(
            &admin,
            "v_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    Setup {
        app,
        admin,
        member,
        member_b,
        community,
        community_b,
        unit,
        city,
        community_b_id,
    }
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A need starting `days` from now at 09:00 for `hours` hours, crediting `credit`.
fn need_body(title: &str, days: i64, hours: i64, slots: i64, credit: &str) -> Value {
    let start = yaoshi::clock::day_start(yaoshi::clock::now()) + days * 86_400 + 9 * 3600;
    json!({
        "title": title,
        "skills": "沟通能力",
        "place": "社区党群服务中心",
        "starts_at": rules::local_input(start),
        "ends_at": rules::local_input(start + hours * 3600),
        "slots": slots.to_string(),
        "hours": credit,
    })
}

async fn post_need(s: &Setup, c: &Client, body: Value) -> i64 {
    let (st, v) = s.app.post(c, "/api/v1/volunteer/needs", body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["id"].as_i64().expect("need")
}

/// Moves a need and its claims `days` into the past (as if the service had happened).
async fn into_past(s: &Setup, need: i64, days: i64) {
    for table in ["volunteer_need", "volunteer_claim"] {
        sqlx::query(&format!(
            "update {table} set starts_at = starts_at - $1, ends_at = ends_at - $1 where volunteer_need_id = $2"
        ))
        .bind(days * 86_400)
        .bind(need)
        .execute(&s.app.state.db.pool)
        .await
        .expect("shift");
    }
}

async fn confirm(s: &Setup, c: &Client, need: i64, key: &str, lines: Value) -> (StatusCode, Value) {
    let r = c
        .post(
            s.app
                .url(&format!("/api/v1/volunteer/needs/{need}/confirmations")),
        )
        .header("Idempotency-Key", key)
        .json(&json!({ "lines": lines }))
        .send()
        .await
        .expect("send");
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

async fn verify_ok(app: &TestApp) {
    let v = ledger::verify(&app.state.db.pool).await.expect("verify");
    assert!(v.ok(), "ledger: {:?}", v.problems);
}

#[tokio::test]
async fn need_claim_confirm_and_ledger() {
    let s = setup().await;
    // A need's fields are checked, each in Chinese.
    let (st, v) = s
        .app
        .post(
            &s.community,
            "/api/v1/volunteer/needs",
            need_body("", 2, 3, 0, "-1"),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["title"]
        .as_str()
        .unwrap_or("")
        .contains("请填写需求名称"));
    assert!(v["error"]["fields"]["slots"]
        .as_str()
        .unwrap_or("")
        .contains("名额"));
    assert!(v["error"]["fields"]["hours"]
        .as_str()
        .unwrap_or("")
        .contains("负数"));
    let (st, v) = s
        .app
        .post(
            &s.community,
            "/api/v1/volunteer/needs",
            need_body("义诊", -1, 3, 5, "3"),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(message(&v).contains("不能发布过去的需求"), "{v}");
    let (st, v) = s
        .app
        .post(
            &s.community,
            "/api/v1/volunteer/needs",
            need_body("义诊", 2, 3, 5, "4"),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("超过了该需求的起止时间"), "{v}");
    // Only communities post needs.
    let (st, _) = s
        .app
        .post(
            &s.member,
            "/api/v1/volunteer/needs",
            need_body("x", 2, 3, 5, "3"),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let need = post_need(&s, &s.community, need_body("敬老院义诊", 2, 3, 1, "3")).await;
    let overlapping = post_need(&s, &s.community_b, need_body("楼道清扫", 2, 2, 5, "2")).await;
    // Members browse and claim.
    let (st, list) = s.app.get(&s.member, "/api/v1/volunteer/needs?q=义诊").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["total"], 1, "{list}");
    let (st, v) = s
        .app
        .post(
            &s.member,
            &format!("/api/v1/volunteer/needs/{need}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let claim = v["id"].as_i64().expect("claim");
    let (st, v) = s
        .app
        .post(
            &s.member,
            &format!("/api/v1/volunteer/needs/{need}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("已认领过"), "{v}");
    // Full: its one slot is taken.
    let (st, v) = s
        .app
        .post(
            &s.member_b,
            &format!("/api/v1/volunteer/needs/{need}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("名额已满"), "{v}");
    // Overlapping another claim of the same member.
    let (st, v) = s
        .app
        .post(
            &s.member,
            &format!("/api/v1/volunteer/needs/{overlapping}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("时间重叠"), "{v}");
    // Cancel before the start, claim again.
    let (st, _) = s
        .app
        .post(
            &s.member,
            &format!("/api/v1/volunteer/claims/{claim}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = s
        .app
        .post(
            &s.member,
            &format!("/api/v1/volunteer/needs/{need}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"].as_i64(), Some(claim));
    // A member cannot cancel another's claim.
    let (st, _) = s
        .app
        .post(
            &s.member_b,
            &format!("/api/v1/volunteer/claims/{claim}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Not before the service starts.
    let line = |hours: &str, reason: &str| json!([{"claim_id": claim, "attended": true, "hours": hours, "reason": reason}]);
    let (st, v) = confirm(&s, &s.community, need, "k-early", line("3", "")).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("尚未开始"), "{v}");
    into_past(&s, need, 3).await;
    // Claiming a need in the past is refused; cancelling after the start too.
    let (st, v) = s
        .app
        .post(
            &s.member_b,
            &format!("/api/v1/volunteer/needs/{need}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("已开始或已结束"), "{v}");
    let (st, v) = s
        .app
        .post(
            &s.member,
            &format!("/api/v1/volunteer/claims/{claim}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("已开始"), "{v}");
    // Refusals of the confirmation, each in Chinese, nothing posted.
    let (st, v) = confirm(&s, &s.community, need, "", line("3", "")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("幂等键"), "{v}");
    let (st, v) = confirm(&s, &s.community, need, "k1", line("-2", "少算")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("不能为负数"), "{v}");
    let (st, v) = confirm(&s, &s.community, need, "k1", line("25", "多算")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("超过了该需求的起止时间"), "{v}");
    let (st, v) = confirm(&s, &s.community, need, "k1", line("2", "")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("请填写调整原因"), "{v}");
    let (st, v) = confirm(
        &s,
        &s.community,
        need,
        "k1",
        json!([{"claim_id": 999_999, "attended": true, "hours": "3"}]),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("未认领此需求"), "{v}");
    // Another community confirming this need: not found (its own needs only).
    let (st, _) = confirm(&s, &s.community_b, need, "k1", line("3", "")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A member cannot confirm.
    let (st, _) = confirm(&s, &s.member, need, "k1", line("3", "")).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(
        s.app
            .sql_scalar("select count(*) from ledger_transfer")
            .await,
        0
    );
    // Confirmed with an adjustment and its reason; the same key again posts nothing.
    let (st, v) = confirm(&s, &s.community, need, "k1", line("2.5", "提前半小时离开")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["confirmed"], 1);
    assert_eq!(v["repeated"], false);
    let (st, v) = confirm(&s, &s.community, need, "k1", line("2.5", "提前半小时离开")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["repeated"], true);
    assert_eq!(
        s.app
            .sql_scalar("select count(*) from ledger_transfer")
            .await,
        1
    );
    // Confirming twice under a new key is refused.
    let (st, v) = confirm(&s, &s.community, need, "k2", line("3", "")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("已确认过"), "{v}");
    // The member sees the hours.
    let (st, acct) = s.app.get(&s.member, "/api/v1/volunteer/me").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(acct["balance"], 150, "{acct}");
    assert_eq!(acct["served"], 150);
    assert_eq!(acct["history"][0]["kind"], "confirmation");
    verify_ok(&s.app).await;

    // Rewards: the committee defines, the member redeems within the balance.
    let (st, v) = s
        .app
        .post(
            &s.admin,
            "/api/v1/volunteer/rewards",
            json!({"name": "纪念徽章", "hours": "2"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let cheap = v["id"].as_i64().expect("reward");
    let (_, v) = s
        .app
        .post(
            &s.admin,
            "/api/v1/volunteer/rewards",
            json!({"name": "荣誉证书", "hours": "10"}),
        )
        .await;
    let dear = v["id"].as_i64().expect("reward");
    let (st, v) = s
        .app
        .post(
            &s.member,
            "/api/v1/volunteer/rewards",
            json!({"name": "x", "hours": "1"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let redeem = |id: i64, key: &'static str| {
        let c = s.member.clone();
        let url = s.app.url(&format!("/api/v1/volunteer/rewards/{id}/redeem"));
        async move {
            let r = c
                .post(url)
                .header("Idempotency-Key", key)
                .send()
                .await
                .expect("send");
            let st = r.status();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, v) = redeem(dear, "r1").await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("余额不足"), "{v}");
    let (st, v) = redeem(cheap, "r2").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let redemption = v["id"].as_i64().expect("transfer");
    let (st, v2) = redeem(cheap, "r2").await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(
        v2["id"].as_i64(),
        Some(redemption),
        "same key, same transfer"
    );
    let (_, acct) = s.app.get(&s.member, "/api/v1/volunteer/me").await;
    assert_eq!(acct["balance"], 30, "{acct}");
    assert_eq!(acct["served"], 150);
    // Reversing the confirmation would leave the balance negative: refused until the
    // redemption is reversed.
    let confirmation: i64 = s
        .app
        .sql_scalar("select ledger_transfer_id from ledger_transfer where kind = 'confirmation'")
        .await;
    let reverse = |c: &Client, id: i64, key: &'static str, reason: &'static str| {
        let c = c.clone();
        let url = s
            .app
            .url(&format!("/api/v1/volunteer/transfers/{id}/reverse"));
        async move {
            let r = c
                .post(url)
                .header("Idempotency-Key", key)
                .json(&json!({ "reason": reason }))
                .send()
                .await
                .expect("send");
            let st = r.status();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, v) = reverse(&s.community, confirmation, "x1", "时长记错").await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("余额将为负数"), "{v}");
    // A community reverses only its own confirmations; a member nothing.
    let (st, _) = reverse(&s.community_b, confirmation, "x2", "误操作").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = reverse(&s.member, confirmation, "x3", "误操作").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, v) = reverse(&s.admin, redemption, "x4", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("冲正原因"), "{v}");
    let (st, v) = reverse(&s.admin, redemption, "x4", "兑换登记错误").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let reversal = v["id"].as_i64().expect("reversal");
    let (st, v) = reverse(&s.admin, redemption, "x5", "再次冲正").await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("已冲正过"), "{v}");
    let (st, v) = reverse(&s.admin, reversal, "x6", "冲正冲正").await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("不能再冲正"), "{v}");
    let (st, v) = reverse(&s.community, confirmation, "x7", "时长记错").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, acct) = s.app.get(&s.member, "/api/v1/volunteer/me").await;
    assert_eq!(acct["balance"], 0, "{acct}");
    assert_eq!(acct["served"], 0);
    // The claim is open again: the right hours are confirmed under a new key.
    let (st, v) = confirm(&s, &s.community, need, "k3", line("3", "")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, acct) = s.app.get(&s.member, "/api/v1/volunteer/me").await;
    assert_eq!(acct["balance"], 180, "{acct}");
    verify_ok(&s.app).await;
    // The ledger refuses edits and deletes.
    assert!(sqlx::query("update ledger_movement set amount = 1")
        .execute(&s.app.state.db.pool)
        .await
        .is_err());
    assert!(sqlx::query("delete from ledger_transfer")
        .execute(&s.app.state.db.pool)
        .await
        .is_err());
    // The community's served hours and the unit's figures.
    let year = yaoshi::clock::today().year();
    let (st, stats) = s
        .app
        .get(&s.unit, &format!("/api/v1/volunteer/stats?year={year}"))
        .await;
    assert_eq!(st, StatusCode::OK, "{stats}");
    let month_total: i64 = stats["trend"]
        .as_array()
        .expect("trend")
        .iter()
        .map(|m| m["minutes"].as_i64().unwrap_or(0))
        .sum();
    // The service may have been last year if today is early January.
    let start: i64 = s
        .app
        .sql_scalar(&format!(
            "select starts_at from volunteer_need where volunteer_need_id = {need}"
        ))
        .await;
    if rules::month_of(start).starts_with(&year.to_string()) {
        assert_eq!(month_total, 180, "{stats}");
        assert_eq!(stats["units"][0]["minutes"], 180);
    }
    let (st, _) = s.app.get(&s.member, "/api/v1/volunteer/stats").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn absent_and_bulk_lines() {
    let s = setup().await;
    let need = post_need(&s, &s.community, need_body("社区环境整治", 1, 8, 5, "8")).await;
    let mut claims = Vec::new();
    for c in [&s.member, &s.member_b] {
        let (st, v) = s
            .app
            .post(
                c,
                &format!("/api/v1/volunteer/needs/{need}/claim"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        claims.push(v["id"].as_i64().expect("claim"));
    }
    into_past(&s, need, 2).await;
    // Sign-in times pre-fill the hours (the lead's sign-in fills these columns).
    let (st, list) = s
        .app
        .get(
            &s.community,
            &format!("/api/v1/volunteer/needs/{need}/claims"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    // One present (a whole day's 8 hours), one absent; a line twice is refused.
    let (st, v) = confirm(
        &s,
        &s.community,
        need,
        "bulk-0",
        json!([{"claim_id": claims[0], "attended": true, "hours": "8"}, {"claim_id": claims[0], "attended": true, "hours": "8"}]),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("出现了两次"), "{v}");
    let (st, v) = confirm(
        &s,
        &s.community,
        need,
        "bulk-1",
        json!([{"claim_id": claims[0], "attended": true, "hours": "8"}, {"claim_id": claims[1], "attended": false}]),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["confirmed"], 1);
    assert_eq!(v["absent"], 1);
    let status: i64 = s
        .app
        .sql_scalar(&format!(
            "select count(*) from volunteer_claim where volunteer_claim_id = {} and status = 'absent'",
            claims[1]
        ))
        .await;
    assert_eq!(status, 1);
    // More than 24 hours in one day: a second need the same day.
    let need2 = post_need(&s, &s.community, need_body("夜间巡逻", 1, 20, 5, "17")).await;
    sqlx::query(
        "update volunteer_need set starts_at = starts_at - 3600 where volunteer_need_id = $1",
    )
    .bind(need2)
    .execute(&s.app.state.db.pool)
    .await
    .expect("shift");
    // It overlaps member A's first claim, which a claim refuses; only the day's cap is
    // tested here, so the claim is written directly.
    let c2: i64 = sqlx::query_scalar(
        "insert into volunteer_claim (volunteer_need_id, member_id, starts_at, ends_at, status, created_at, updated_at) \
         select volunteer_need_id, $1, starts_at, ends_at, 'claimed', 1, 1 from volunteer_need where volunteer_need_id = $2 returning volunteer_claim_id",
    )
    .bind(s.city.member_a)
    .bind(need2)
    .fetch_one(&s.app.state.db.pool)
    .await
    .expect("claim");
    into_past(&s, need2, 2).await;
    let (st, v) = confirm(
        &s,
        &s.community,
        need2,
        "bulk-2",
        json!([{"claim_id": c2, "attended": true, "hours": "17"}]),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("24小时"), "{v}");
    verify_ok(&s.app).await;
}

#[tokio::test]
async fn period_length_is_configurable() {
    let s = setup().await;
    let (st, v) = s.app.get(&s.member, "/api/v1/volunteer/settings").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["period_months"], 6);
    assert!(
        v["current_period"].as_str().expect("key").contains('H'),
        "{v}"
    );
    // Only the committee sets it, to one of the lengths.
    for c in [&s.unit, &s.member, &s.community] {
        let (st, _) = s
            .app
            .send(
                c,
                "PUT",
                "/api/v1/volunteer/settings",
                json!({"period_months": 3}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
    let (st, v) = s
        .app
        .send(
            &s.admin,
            "PUT",
            "/api/v1/volunteer/settings",
            json!({"period_months": 5}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(message(&v).contains("报到周期应为"), "{v}");
    let (st, v) = s
        .app
        .send(
            &s.admin,
            "PUT",
            "/api/v1/volunteer/settings",
            json!({"period_months": 3}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let quarter = v["current_period"].as_str().expect("key").to_string();
    assert!(quarter.contains('Q'), "{v}");
    assert!(
        v["current_period_label"]
            .as_str()
            .expect("label")
            .contains("季度"),
        "{v}"
    );
    // A report now falls in the quarter; the missing list and the year's rate follow it.
    let (st, v) = s
        .app
        .post(
            &s.member,
            "/api/v1/volunteer/reports",
            json!({"community_id": s.city.community}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let report = v["id"].as_i64().expect("report");
    let (_, r) = s.app.get(&s.community, "/api/v1/volunteer/reports").await;
    assert_eq!(r["items"][0]["period"], quarter.as_str(), "{r}");
    let (st, _) = s
        .app
        .post(
            &s.community,
            &format!("/api/v1/volunteer/reports/{report}/decision"),
            json!({"confirm": true}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, missing) = s.app.get(&s.unit, "/api/v1/volunteer/missing").await;
    assert_eq!(missing["total"], 0, "{missing}");
    let (st, missing) = s
        .app
        .get(
            &s.unit,
            &format!(
                "/api/v1/volunteer/missing?period={}",
                quarter.to_lowercase()
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{missing}");
    assert_eq!(missing["total"], 0, "{missing}");
    let year = yaoshi::clock::today().year();
    let (_, r) = s
        .app
        .get(
            &s.admin,
            &format!(
                "/api/v1/indicators/volunteer.report_rate?subject=unit:{}&year={year}",
                s.city.unit_a
            ),
        )
        .await;
    assert_eq!(r["reading"]["value"], 1, "{r}");
    // Through the page: the committee's form, a refusal in Chinese, the audit.
    let r = s
        .admin
        .post(s.app.url("/volunteer/settings/period"))
        .form(&[("period_months", "7")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("body").contains("报到周期应为"));
    let r = s
        .unit
        .post(s.app.url("/volunteer/settings/period"))
        .form(&[("period_months", "12")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .admin
        .post(s.app.url("/volunteer/settings/period"))
        .form(&[("period_months", "12")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = s
        .admin
        .get(s.app.url("/volunteer/reports"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(
        page.contains(r#"<option value="12" selected>每年</option>"#),
        "{page}"
    );
    assert!(
        page.contains(&format!(r#"<option value="{year}">{year}年</option>"#)),
        "{page}"
    );
    // Not the committee: no form.
    let page = s
        .community
        .get(s.app.url("/volunteer/reports"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(!page.contains("period-form"));
    assert_eq!(
        s.app
            .sql_scalar("select count(*) from audit_log where action = 'volunteer.period'")
            .await,
        2
    );
    // The member reported this quarter; in the new yearly period they report again.
    let (st, v) = s
        .app
        .post(
            &s.member,
            "/api/v1/volunteer/reports",
            json!({"community_id": s.city.community}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn reporting_once_per_period() {
    let s = setup().await;
    let (st, list) = s
        .app
        .get(&s.member, "/api/v1/volunteer/communities?q=竹园")
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["street"], "新华街道");
    let (st, v) = s
        .app
        .post(
            &s.member,
            "/api/v1/volunteer/reports",
            json!({"community_id": s.city.community}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let report = v["id"].as_i64().expect("report");
    let (st, v) = s
        .app
        .post(
            &s.member,
            "/api/v1/volunteer/reports",
            json!({"community_id": s.community_b_id}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("同一期只能向一个社区报到"), "{v}");
    assert!(message(&v).contains("梅园社区"), "{v}");
    // Only members report; only the community decides, once.
    let (st, _) = s
        .app
        .post(
            &s.unit,
            "/api/v1/volunteer/reports",
            json!({"community_id": s.city.community}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .app
        .post(
            &s.community_b,
            &format!("/api/v1/volunteer/reports/{report}/decision"),
            json!({"confirm": true}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Before confirmation the member is on the missing list, pending.
    let (st, missing) = s.app.get(&s.unit, "/api/v1/volunteer/missing").await;
    assert_eq!(st, StatusCode::OK, "{missing}");
    assert_eq!(missing["total"], 1);
    assert_eq!(missing["items"][0]["report_status"], "pending");
    let (st, _) = s
        .app
        .post(
            &s.community,
            &format!("/api/v1/volunteer/reports/{report}/decision"),
            json!({"confirm": true}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = s
        .app
        .post(
            &s.community,
            &format!("/api/v1/volunteer/reports/{report}/decision"),
            json!({"confirm": false}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("已处理"), "{v}");
    let (_, missing) = s.app.get(&s.unit, "/api/v1/volunteer/missing").await;
    assert_eq!(missing["total"], 0, "{missing}");
    // The community sees its reports; unit B's admin does not see unit A's.
    let (_, r) = s.app.get(&s.community, "/api/v1/volunteer/reports").await;
    assert_eq!(r["total"], 1);
    let (_, r) = s.app.get(&s.community_b, "/api/v1/volunteer/reports").await;
    assert_eq!(r["total"], 0);
    let (st, r) = s
        .app
        .get(&s.unit, "/api/v1/volunteer/reports?period=2026H3")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&r).contains("2026H1"), "{r}");
    // A declined report frees the period: member B reports, is declined, reports elsewhere.
    let (_, v) = s
        .app
        .post(
            &s.member_b,
            "/api/v1/volunteer/reports",
            json!({"community_id": s.community_b_id}),
        )
        .await;
    let rb = v["id"].as_i64().expect("report");
    let (st, _) = s
        .app
        .post(
            &s.community_b,
            &format!("/api/v1/volunteer/reports/{rb}/decision"),
            json!({"confirm": false, "note": "不在本社区居住"}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = s
        .app
        .post(
            &s.member_b,
            "/api/v1/volunteer/reports",
            json!({"community_id": s.city.community}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // The figures: unit A has one member, reported.
    let (st, stats) = s.app.get(&s.admin, "/api/v1/volunteer/stats").await;
    assert_eq!(st, StatusCode::OK, "{stats}");
    let a = stats["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["unit_id"] == s.city.unit_a)
        .expect("unit a")
        .clone();
    assert_eq!(a["members"], 1);
    assert_eq!(a["reported"], 1);
    // The indicator criterion 17 reads.
    let year = yaoshi::clock::today().year();
    let (st, r) = s
        .app
        .get(
            &s.admin,
            &format!(
                "/api/v1/indicators/volunteer.report_rate?subject=unit:{}&year={year}",
                s.city.unit_a
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["reading"]["value"], 1, "{r}");
    assert_eq!(r["reading"]["of"], 1);
    let figures = yaoshi::indicators::read_branches(
        &s.app.state,
        "volunteer.report_rate",
        yaoshi::indicators::Period::year(year),
    )
    .await
    .expect("branches")
    .expect("published per branch");
    assert_eq!(figures.get(&s.city.branch_a).map(|f| f.value), Some(1));
    assert_eq!(
        figures.get(&s.city.branch_b).map(|f| (f.value, f.of)),
        Some((0, Some(1)))
    );
    let (st, r) = s
        .app
        .get(
            &s.admin,
            &format!(
                "/api/v1/indicators/volunteer.hours_per_member?subject=unit:{}&year={year}",
                s.city.unit_a
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
}

/// A tiny deterministic generator (xorshift), so the property test needs no crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Random claims, confirmations, reversals and redemptions keep every balance equal to the
/// sum of its movements, the ledger summing to zero and the aggregates equal to a full
/// recomputation.
#[tokio::test]
async fn ledger_property_random_operations() {
    let s = setup().await;
    let db = &s.app.state.db;
    let members = [s.city.member_a, s.city.member_b];
    let units = [
        (s.city.unit_a, s.city.branch_a),
        (s.city.unit_b, s.city.branch_b),
    ];
    let communities = [s.city.community, s.community_b_id];
    for seed in [1u64, 7, 2026] {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let mut transfers: Vec<(i64, &'static str)> = Vec::new();
        for step in 0..120 {
            let mut tx = db.begin_write().await.expect("tx");
            let t = yaoshi::clock::now() - rng.below(400) as i64 * 86_400;
            let m = rng.below(2) as usize;
            let c = rng.below(2) as usize;
            let op = rng.below(10);
            let r = if op < 6 {
                // A confirmation of a claim.
                let from = ledger::community_account(tx.conn(), communities[c], t)
                    .await
                    .expect("acct");
                let to = ledger::member_account(tx.conn(), members[m], t)
                    .await
                    .expect("acct");
                let minutes = 1 + rng.below(600) as i64;
                ledger::post(
                    tx.conn(),
                    &ledger::Posting {
                        kind: ledger::CONFIRMATION,
                        key: format!("p{seed}-{step}"),
                        reverses: None,
                        member_id: members[m],
                        community_id: Some(communities[c]),
                        unit_id: units[m].0,
                        branch_id: units[m].1,
                        claim_id: None,
                        reward_id: None,
                        minutes,
                        served: minutes,
                        month: rules::month_of(t),
                        reason: String::new(),
                        created_by: None,
                        at: t,
                        from,
                        to,
                    },
                )
                .await
                .map(|id| transfers.push((id, ledger::CONFIRMATION)))
            } else if op < 8 && !transfers.is_empty() {
                let (id, _) = transfers[rng.below(transfers.len() as u64) as usize];
                let tr = ledger::transfer(tx.conn(), id)
                    .await
                    .expect("read")
                    .expect("transfer");
                ledger::reverse(
                    tx.conn(),
                    &tr,
                    format!("r{seed}-{step}"),
                    "随机冲正".into(),
                    None,
                    t,
                )
                .await
                .map(|id| transfers.push((id, ledger::REVERSAL)))
            } else {
                let acct = ledger::member_account(tx.conn(), members[m], t)
                    .await
                    .expect("acct");
                let balance: i64 = sqlx::query_scalar(
                    "select balance from ledger_account where ledger_account_id = $1",
                )
                .bind(acct)
                .fetch_one(tx.conn())
                .await
                .expect("balance");
                let cost = 1 + rng.below(300) as i64;
                match rules::check_redeem(balance, cost) {
                    Ok(()) => {
                        let pool = ledger::pool_account(tx.conn(), t).await.expect("pool");
                        ledger::post(
                            tx.conn(),
                            &ledger::Posting {
                                kind: ledger::REDEMPTION,
                                key: format!("d{seed}-{step}"),
                                reverses: None,
                                member_id: members[m],
                                community_id: None,
                                unit_id: units[m].0,
                                branch_id: units[m].1,
                                claim_id: None,
                                reward_id: None,
                                minutes: cost,
                                served: 0,
                                month: rules::month_of(t),
                                reason: "兑换".into(),
                                created_by: None,
                                at: t,
                                from: acct,
                                to: pool,
                            },
                        )
                        .await
                        .map(|id| transfers.push((id, ledger::REDEMPTION)))
                    }
                    Err(_) => Ok(()),
                }
            };
            // A refused operation (a second reversal, a reversal leaving a balance negative)
            // rolls back and leaves nothing behind.
            match r {
                Ok(()) => tx.commit().await.expect("commit"),
                Err(_) => drop(tx),
            }
            if step % 30 == 29 {
                verify_ok(&s.app).await;
            }
        }
        verify_ok(&s.app).await;
        let negative: i64 = s
            .app
            .sql_scalar("select count(*) from ledger_account where kind = 'member' and balance < 0")
            .await;
        assert_eq!(negative, 0, "a member's balance went negative");
    }
    // A tampered balance is found.
    sqlx::query("update ledger_account set balance = balance + 1 where kind = 'pool'")
        .execute(&s.app.state.db.pool)
        .await
        .expect("tamper");
    let v = ledger::verify(&s.app.state.db.pool).await.expect("verify");
    assert!(!v.ok());
    assert!(
        v.problems.iter().any(|p| p.contains("balance")),
        "{:?}",
        v.problems
    );
}

#[tokio::test]
async fn unconfirmed_claims_expire_with_notice() {
    let s = setup().await;
    let need = post_need(&s, &s.community, need_body("四点半课堂", 1, 2, 5, "2")).await;
    let (_, v) = s
        .app
        .post(
            &s.member,
            &format!("/api/v1/volunteer/needs/{need}/claim"),
            json!({}),
        )
        .await;
    let claim = v["id"].as_i64().expect("claim");
    into_past(&s, need, 10).await;
    let n = yaoshi::volunteer::confirm::expire_claims(&s.app.state, yaoshi::clock::now())
        .await
        .expect("expire");
    assert_eq!(n, 0, "not yet 14 days");
    into_past(&s, need, 10).await;
    let n = yaoshi::volunteer::confirm::expire_claims(&s.app.state, yaoshi::clock::now())
        .await
        .expect("expire");
    assert_eq!(n, 1);
    let expired = s
        .app
        .sql_scalar(&format!(
            "select count(*) from volunteer_claim where volunteer_claim_id = {claim} and status = 'expired'"
        ))
        .await;
    assert_eq!(expired, 1);
    let (_, notes) = s.app.get(&s.member, "/api/v1/notifications").await;
    assert!(notes.to_string().contains("服务认领已过期"), "{notes}");
    let (_, notes) = s.app.get(&s.community, "/api/v1/notifications").await;
    assert!(notes.to_string().contains("服务认领已过期"), "{notes}");
    // Run again: nothing more, no second notice.
    let n = yaoshi::volunteer::confirm::expire_claims(&s.app.state, yaoshi::clock::now())
        .await
        .expect("expire");
    assert_eq!(n, 0);
    let (st, v) = confirm(
        &s,
        &s.community,
        need,
        "late",
        json!([{"claim_id": claim, "attended": true, "hours": "2"}]),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("超期未确认"), "{v}");
}

#[tokio::test]
async fn offers_tied_to_jobs() {
    let s = setup().await;
    let (st, v) = s
        .app
        .post(
            &s.member,
            "/api/v1/volunteer/offers",
            json!({"title": "", "description": "x"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("请填写服务名称"), "{v}");
    let (st, v) = s
        .app
        .post(
            &s.member,
            "/api/v1/volunteer/offers",
            json!({"title": "法律咨询", "description": "劳动争议、婚姻家庭"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, list) = s
        .app
        .get(&s.community, "/api/v1/volunteer/offers?q=法律")
        .await;
    assert_eq!(list["total"], 1, "{list}");
    let (_, list) = s.app.get(&s.member_b, "/api/v1/volunteer/offers").await;
    assert_eq!(list["total"], 0, "a member sees only their own");
}

/// The pages: each role's pages render (phone-friendly markup aside, tested in e2e), the
/// forms post and refuse in Chinese, the double submit of a confirmation posts once.
#[tokio::test]
async fn pages_and_forms() {
    let s = setup().await;
    let pages: Vec<(&Client, String)> = vec![
        (&s.member, "/volunteer/mine".into()),
        (&s.member, "/volunteer/report".into()),
        (&s.member, "/volunteer/needs".into()),
        (&s.member, "/volunteer/offers".into()),
        (&s.member, format!("/volunteer/r/{}", s.city.community)),
        (&s.community, "/volunteer/needs".into()),
        (&s.community, "/volunteer/reports".into()),
        (&s.community, "/volunteer/community".into()),
        (
            &s.community,
            format!("/volunteer/communities/{}/poster", s.city.community),
        ),
        (&s.unit, "/volunteer/missing".into()),
        (&s.unit, "/volunteer/stats".into()),
        (&s.admin, "/volunteer/ledger".into()),
        (&s.admin, "/volunteer/stats".into()),
        (&s.admin, "/org/communities".into()),
        (&s.admin, format!("/org/communities/{}", s.city.community)),
    ];
    for (c, path) in &pages {
        let r = c.get(s.app.url(path)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let poster = s
        .community
        .get(s.app.url(&format!(
            "/volunteer/communities/{}/poster",
            s.city.community
        )))
        .send()
        .await
        .expect("poster")
        .text()
        .await
        .expect("text");
    assert!(
        poster.contains("<svg") && poster.contains(&format!("/volunteer/r/{}", s.city.community))
    );
    let r = s
        .community
        .get(s.app.url(&format!(
            "/volunteer/communities/{}/poster",
            s.community_b_id
        )))
        .send()
        .await
        .expect("poster");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The home cards: the member's balance and report, the community's to-dos.
    let home = s
        .member
        .get(s.app.url("/"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(
        home.contains("volunteer-card") && home.contains("尚未到社区报到"),
        "{home}"
    );
    let home = s
        .community
        .get(s.app.url("/"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(home.contains("volunteer-community-card"), "{home}");
    // The empty states say what to do next.
    let mine = s
        .member
        .get(s.app.url("/volunteer/mine"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(mine.contains("还没有认领服务"), "{mine}");
    // Reporting through the QR link's page, then again refused in Chinese.
    let r = s
        .member
        .post(s.app.url(&format!("/volunteer/r/{}", s.city.community)))
        .send()
        .await
        .expect("post");
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let r = s
        .member
        .post(s.app.url("/volunteer/report"))
        .form(&[("community_id", s.community_b_id.to_string())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r
        .text()
        .await
        .expect("t")
        .contains("同一期只能向一个社区报到"));
    // The need form refuses in Chinese and keeps what was typed.
    let r = s
        .community
        .post(s.app.url("/volunteer/needs"))
        .form(&[
            ("title", "助老服务"),
            ("starts_at", "2030-13-01T09:00"),
            ("ends_at", ""),
            ("slots", "3"),
            ("hours", "2"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.expect("t");
    assert!(
        body.contains("开始时间应写作") && body.contains("助老服务"),
        "{body}"
    );
    let need = post_need(&s, &s.community, need_body("图书整理", 1, 3, 3, "3")).await;
    let r = s
        .member
        .post(s.app.url(&format!("/volunteer/needs/{need}/claim")))
        .send()
        .await
        .expect("claim");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    into_past(&s, need, 2).await;
    let claim = s
        .app
        .sql_scalar(&format!(
            "select volunteer_claim_id from volunteer_claim where volunteer_need_id = {need}"
        ))
        .await;
    let page = s
        .community
        .get(s.app.url(&format!("/volunteer/needs/{need}")))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(
        page.contains("confirm-form")
            && page.contains(&format!("name=\"hours_{claim}\" value=\"3\"")),
        "{page}"
    );
    let form = |hours: &str, reason: &str| {
        vec![
            ("idempotency_key".to_string(), "form-key-1".to_string()),
            ("claim_id".to_string(), claim.to_string()),
            (format!("attended_{claim}"), "1".to_string()),
            (format!("hours_{claim}"), hours.to_string()),
            (format!("reason_{claim}"), reason.to_string()),
        ]
    };
    let r = s
        .community
        .post(s.app.url(&format!("/volunteer/needs/{need}/confirm")))
        .form(&form("2", ""))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.expect("t");
    assert!(
        body.contains("请填写调整原因") && body.contains("value=\"2\""),
        "{body}"
    );
    for _ in 0..2 {
        let r = s
            .community
            .post(s.app.url(&format!("/volunteer/needs/{need}/confirm")))
            .form(&form("3", ""))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(
        s.app
            .sql_scalar("select count(*) from ledger_transfer where kind = 'confirmation'")
            .await,
        1,
        "a double submit posts once"
    );
    let mine = s
        .member
        .get(s.app.url("/volunteer/mine"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(
        crate::common::testid_text(&mine, "balance").is_some_and(|t| t.contains('3')),
        "{mine}"
    );
    // Exports.
    for (c, path) in [
        (&s.member, "/volunteer/mine/export"),
        (&s.unit, "/volunteer/missing/export"),
        (&s.unit, "/volunteer/stats/export"),
        (&s.admin, "/volunteer/ledger/export"),
        (&s.community, "/volunteer/needs/export"),
        (&s.community, "/volunteer/reports/export"),
        (&s.community, "/volunteer/offers/export"),
        (&s.community, "/volunteer/community/export"),
    ] {
        let r = c.get(s.app.url(path)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let bytes = r.bytes().await.expect("bytes");
        let range = xlsx_range(&bytes);
        assert!(range.height() >= 1, "{path}");
    }
    let ledger_xlsx = s
        .admin
        .get(s.app.url("/volunteer/ledger/export"))
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("b");
    assert_eq!(xlsx_range(&ledger_xlsx).height(), 2);
}

#[tokio::test]
async fn communities_import_account_and_fields() {
    let s = setup().await;
    // Bad phone refused in Chinese.
    let (st, v) = s
        .app
        .post(
            &s.admin,
            "/api/v1/communities",
            json!({"name": "桃园社区", "contact_phone": "电话"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["fields"]["contact_phone"]
            .as_str()
            .unwrap_or("")
            .contains("联系电话格式不正确"),
        "{v}"
    );
    // Import: a bad row, nothing written; then all good.
    let bad = yaoshi::xlsx::write_sheet(
        "社区",
        &["名称", "区", "街道", "地址", "联系人", "联系电话"],
        &[
            vec![
                "桃园社区".into(),
                "西城区".into(),
                "和平街道".into(),
                "桃园路1号".into(),
                "赵强".into(),
                "13800001111".into(),
            ],
            vec![
                "".into(),
                "西城区".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
            ],
            vec![
                "桃园社区".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
            ],
        ],
    )
    .expect("xlsx");
    let upload = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("社区.xlsx"),
        )
    };
    let r = s
        .admin
        .post(s.app.url("/org/communities/import"))
        .multipart(upload(bad))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.expect("t");
    assert!(
        body.contains("第3行") && body.contains("第4行") && body.contains("全部未写入"),
        "{body}"
    );
    assert_eq!(
        s.app
            .sql_scalar("select count(*) from community where name = '桃园社区'")
            .await,
        0
    );
    let good = yaoshi::xlsx::write_sheet(
        "社区",
        &["名称", "区", "街道", "地址", "联系人", "联系电话"],
        &[
            vec![
                "桃园社区".into(),
                "西城区".into(),
                "和平街道".into(),
                "桃园路1号".into(),
                "赵强".into(),
                "13800001111".into(),
            ],
            vec![
                "梅园社区".into(),
                "南湖区".into(),
                "光明街道".into(),
                "梅园路8号".into(),
                "钱红".into(),
                "".into(),
            ],
        ],
    )
    .expect("xlsx");
    let r = s
        .admin
        .post(s.app.url("/org/communities/import"))
        .multipart(upload(good))
        .send()
        .await
        .expect("post");
    assert!(
        r.status().is_redirection() || r.status().is_success(),
        "{}",
        r.status()
    );
    assert_eq!(
        s.app
            .sql_scalar(
                "select count(*) from community where name = '桃园社区' and street = '和平街道'"
            )
            .await,
        1
    );
    assert_eq!(
        s.app
            .sql_scalar(
                "select count(*) from community where name = '梅园社区' and district = '南湖区'"
            )
            .await,
        1
    );
    // Not an xlsx: refused in Chinese.
    let r = s
        .admin
        .post(s.app.url("/org/communities/import"))
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"a,b".to_vec()).file_name("x.csv"),
        ))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains(".xlsx"));
    // The template.
    let r = s
        .admin
        .get(s.app.url("/org/communities/template"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    // The committee gives the community an account; the account works as the community.
    let taoyuan = s
        .app
        .sql_scalar("select community_id from community where name = '桃园社区'")
        .await;
    let (st, v) = s
        .app
        .post(
            &s.admin,
            &format!("/api/v1/communities/{taoyuan}/account"),
            json!({"username": "sq_taoyuan", "display_name": "赵强"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let password = v["password"].as_str().expect("password").to_string();
    let (st, v) = s
        .app
        .post(
            &s.admin,
            &format!("/api/v1/communities/{taoyuan}/account"),
            json!({"username": "sq_taoyuan"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v.to_string().contains("该用户名已被使用"), "{v}");
    let (st, _) = s
        .app
        .post(
            &s.unit,
            &format!("/api/v1/communities/{taoyuan}/account"),
            json!({"username": "sq_x"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let c = s.app.login("sq_taoyuan", &password).await;
    let (st, _) = s
        .app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": password, "new_password": "Community@2026x"}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .app
        .post(
            &c,
            "/api/v1/volunteer/needs",
            need_body("测试", 3, 2, 2, "2"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    // Through the page too.
    let r = s
        .admin
        .post(s.app.url(&format!("/org/communities/{taoyuan}/account")))
        .form(&[("username", "sq_taoyuan2"), ("display_name", "")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("t").contains("one-time-password"));
}

/// The demo's volunteer bank, on either backend: reports, needs, claims awaiting
/// confirmation, a ledger that verifies, and the identity sequences past the ids it gave, so
/// a confirmation made afterwards posts.
#[tokio::test]
async fn the_demo_seeds_a_ledger_that_verifies() {
    let app = TestApp::spawn().await;
    yaoshi::demo::run(&app.state, yaoshi::demo::Scale::Small)
        .await
        .expect("demo");
    for table in [
        "volunteer_report",
        "volunteer_need",
        "volunteer_offer",
        "ledger_movement",
    ] {
        assert!(
            app.sql_scalar(&format!("select count(*) from {table}"))
                .await
                > 0,
            "{table}"
        );
    }
    assert!(
        app.sql_scalar("select count(*) from volunteer_claim where status = 'claimed'")
            .await
            > 0
    );
    assert_eq!(
        app.sql_scalar("select count(*) from volunteer_claim k join ledger_transfer t on t.ledger_transfer_id = k.ledger_transfer_id where k.status = 'confirmed' and t.volunteer_claim_id = k.volunteer_claim_id")
            .await,
        app.sql_scalar("select count(*) from volunteer_claim where status = 'confirmed'")
            .await
    );
    verify_ok(&app).await;
    // A new transfer and a new claim after the demo's own ids.
    let (member, community, unit, branch): (i64, i64, i64, i64) = sqlx::query_as(
        "select t.member_id, t.community_id, t.unit_id, t.branch_id from ledger_transfer t where t.kind = 'confirmation' order by t.ledger_transfer_id limit 1",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .expect("a confirmation");
    let mut tx = app.state.db.begin_write().await.expect("tx");
    let t = yaoshi::clock::now();
    let from = ledger::community_account(tx.conn(), community, t)
        .await
        .expect("acct");
    let to = ledger::member_account(tx.conn(), member, t)
        .await
        .expect("acct");
    ledger::post(
        tx.conn(),
        &ledger::Posting {
            kind: ledger::CONFIRMATION,
            key: "after-demo".into(),
            reverses: None,
            member_id: member,
            community_id: Some(community),
            unit_id: unit,
            branch_id: branch,
            claim_id: None,
            reward_id: None,
            minutes: 60,
            served: 60,
            month: rules::month_of(t),
            reason: String::new(),
            created_by: None,
            at: t,
            from,
            to,
        },
    )
    .await
    .expect("a transfer after the demo");
    let need: i64 = sqlx::query_scalar(
        "select n.volunteer_need_id from volunteer_need n where not exists (select 1 from volunteer_claim k where k.volunteer_need_id = n.volunteer_need_id and k.member_id = $1) order by n.volunteer_need_id desc limit 1",
    )
    .bind(member)
    .fetch_one(tx.conn())
    .await
    .expect("need");
    let claim: i64 = sqlx::query_scalar("insert into volunteer_claim (volunteer_need_id, member_id, starts_at, ends_at, status, created_at, updated_at) values ($1, $2, 0, 1, 'cancelled', 1, 1) returning volunteer_claim_id")
        .bind(need)
        .bind(member)
        .fetch_one(tx.conn())
        .await
        .expect("a claim after the demo");
    assert!(claim > 0);
    tx.commit().await.expect("commit");
    verify_ok(&app).await;
}
