//! Access rows of 志愿者银行: communities to report to, reports and decisions, needs, claims,
//! confirmations, reversals, offers, rewards and redemptions, the account, the missing list,
//! the figures, the exports, the poster; the committee's community import and accounts.

use serde_json::json;

use super::{r, Body, Ctx, Route, C, CU, CUB, M};
use crate::common::TestApp;
use yaoshi::volunteer::{ledger, rules};

use super::R::{Branch, Committee, Community, Member, Unit};

/// Everyone who uses the bank.
const USE: &[super::R] = &[Community, Member, Branch, Unit, Committee];
const REPORTS: &[super::R] = &[Community, Branch, Unit, Committee];
const COMM: &[super::R] = &[Community];
const COMM_C: &[super::R] = &[Community, Committee];

/// The records the rows act on, in the city's community.
#[derive(Clone)]
pub(super) struct Prep {
    /// Future needs: to claim, to cancel by API, to cancel by page, to read.
    claim_need: i64,
    cancel_api: i64,
    cancel_page: i64,
    /// A past need member A claimed, to confirm.
    past: i64,
    past_claim: i64,
    /// Member A's claims to cancel (API, page).
    claim_api: i64,
    claim_page: i64,
    /// Pending reports: to decide by API, to confirm and decline by page.
    report_api: i64,
    report_confirm: i64,
    report_decline: i64,
    offer: i64,
    reward: i64,
    /// A confirmation of member A's in the ledger, to reverse.
    transfer: i64,
    need_body: serde_json::Value,
}

async fn need(app: &TestApp, community: i64, day: i64, title: &str) -> i64 {
    let start = yaoshi::clock::day_start(yaoshi::clock::now()) + day * 86_400 + 9 * 3600;
    sqlx::query_scalar(
        "insert into volunteer_need (community_id, title, starts_at, ends_at, slots, minutes, status, created_at, updated_at) \
         values ($1, $2, $3, $4, 10, 120, 'open', 1, 1) returning volunteer_need_id",
    )
    .bind(community)
    .bind(title)
    .bind(start)
    .bind(start + 2 * 3600)
    .fetch_one(&app.state.db.pool)
    .await
    .expect("need")
}

async fn claim(app: &TestApp, need: i64, member: i64) -> i64 {
    sqlx::query_scalar(
        "insert into volunteer_claim (volunteer_need_id, member_id, starts_at, ends_at, status, created_at, updated_at) \
         select volunteer_need_id, $1, starts_at, ends_at, 'claimed', 1, 1 from volunteer_need where volunteer_need_id = $2 returning volunteer_claim_id",
    )
    .bind(member)
    .bind(need)
    .fetch_one(&app.state.db.pool)
    .await
    .expect("claim")
}

async fn report(
    app: &TestApp,
    member: i64,
    community: i64,
    unit: i64,
    branch: i64,
    period: &str,
) -> i64 {
    sqlx::query_scalar(
        "insert into volunteer_report (member_id, community_id, period, unit_id, branch_id, status, created_at) \
         values ($1, $2, $3, $4, $5, 'pending', 1) returning volunteer_report_id",
    )
    .bind(member)
    .bind(community)
    .bind(period)
    .bind(unit)
    .bind(branch)
    .fetch_one(&app.state.db.pool)
    .await
    .expect("report")
}

pub(super) async fn prepare(
    app: &TestApp,
    community: i64,
    member_a: i64,
    member_t: i64,
    unit_a: i64,
    branch_a: i64,
) -> Prep {
    let claim_need = need(app, community, 3, "可认领").await;
    let cancel_api = need(app, community, 4, "待撤销一").await;
    let cancel_page = need(app, community, 5, "待撤销二").await;
    let past = need(app, community, -2, "已结束").await;
    let past_claim = claim(app, past, member_a).await;
    let d1 = need(app, community, 6, "认领一").await;
    let d2 = need(app, community, 7, "认领二").await;
    let claim_api = claim(app, d1, member_a).await;
    let claim_page = claim(app, d2, member_a).await;
    let this = rules::ReportPeriod::of(yaoshi::clock::today(), rules::DEFAULT_PERIOD_MONTHS);
    let report_api = report(app, member_t, community, unit_a, branch_a, &this.key()).await;
    let report_confirm = report(
        app,
        member_t,
        community,
        unit_a,
        branch_a,
        &format!("{}H1", this.year - 1),
    )
    .await;
    let report_decline = report(
        app,
        member_t,
        community,
        unit_a,
        branch_a,
        &format!("{}H2", this.year - 1),
    )
    .await;
    let offer: i64 = sqlx::query_scalar(
        "insert into volunteer_offer (member_id, title, active, created_at, updated_at) values ($1, '法律咨询', 1, 1, 1) returning volunteer_offer_id",
    )
    .bind(member_a)
    .fetch_one(&app.state.db.pool)
    .await
    .expect("offer");
    let reward: i64 = sqlx::query_scalar(
        "insert into volunteer_reward (name, cost_minutes, active, created_at, updated_at) values ('纪念徽章', 60, 1, 1, 1) returning volunteer_reward_id",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .expect("reward");
    let served = need(app, community, -3, "已确认").await;
    let served_claim = claim(app, served, member_a).await;
    let mut tx = app.state.db.begin_write().await.expect("tx");
    let t = yaoshi::clock::now();
    let from = ledger::community_account(tx.conn(), community, t)
        .await
        .expect("acct");
    let to = ledger::member_account(tx.conn(), member_a, t)
        .await
        .expect("acct");
    let transfer = ledger::post(
        tx.conn(),
        &ledger::Posting {
            kind: ledger::CONFIRMATION,
            key: "access-transfer".into(),
            reverses: None,
            member_id: member_a,
            community_id: Some(community),
            unit_id: unit_a,
            branch_id: branch_a,
            claim_id: Some(served_claim),
            reward_id: None,
            minutes: 120,
            served: 120,
            month: rules::month_of(t),
            reason: String::new(),
            created_by: None,
            at: t,
            from,
            to,
        },
    )
    .await
    .expect("post");
    tx.commit().await.expect("commit");
    sqlx::query("update volunteer_claim set status = 'confirmed', minutes = 120, ledger_transfer_id = $1 where volunteer_claim_id = $2")
        .bind(transfer)
        .bind(served_claim)
        .execute(&app.state.db.pool)
        .await
        .expect("claim");
    let start = yaoshi::clock::day_start(yaoshi::clock::now()) + 20 * 86_400 + 9 * 3600;
    Prep {
        transfer,
        claim_need,
        cancel_api,
        cancel_page,
        past,
        past_claim,
        claim_api,
        claim_page,
        report_api,
        report_confirm,
        report_decline,
        offer,
        reward,
        need_body: json!({"title": "助老服务@ROLE@", "starts_at": rules::local_input(start), "ends_at": rules::local_input(start + 7200), "slots": "3", "hours": "2"}),
    }
}

pub(super) fn rows(c: &Ctx) -> Vec<Route> {
    let p = &c.volunteer;
    let form = |pairs: &[(&'static str, String)]| Body::Form(pairs.to_vec());
    vec![
        r("GET", "/api/v1/volunteer/communities", Body::None, USE),
        r("GET", "/api/v1/volunteer/reports", Body::None, REPORTS),
        r("GET", "/api/v1/volunteer/settings", Body::None, USE),
        // The default length again: the rows after it see the same period.
        r(
            "PUT",
            "/api/v1/volunteer/settings",
            Body::Json(json!({"period_months": 6})),
            C,
        ),
        r(
            "POST",
            "/api/v1/volunteer/reports",
            Body::Json(json!({"community_id": c.community})),
            M,
        ),
        r(
            "POST",
            format!("/api/v1/volunteer/reports/{}/decision", p.report_api),
            Body::Json(json!({"confirm": true})),
            COMM,
        ),
        r("GET", "/api/v1/volunteer/needs", Body::None, USE),
        r(
            "POST",
            "/api/v1/volunteer/needs",
            Body::Json(p.need_body.clone()),
            COMM,
        ),
        r(
            "GET",
            format!("/api/v1/volunteer/needs/{}", p.claim_need),
            Body::None,
            USE,
        ),
        r(
            "POST",
            format!("/api/v1/volunteer/needs/{}/claim", p.claim_need),
            Body::None,
            M,
        ),
        r(
            "POST",
            format!("/api/v1/volunteer/needs/{}/cancel", p.cancel_api),
            Body::None,
            COMM,
        ),
        r(
            "GET",
            format!("/api/v1/volunteer/needs/{}/claims", p.past),
            Body::None,
            COMM_C,
        ),
        r(
            "POST",
            format!("/api/v1/volunteer/needs/{}/confirmations", p.past),
            Body::Json(
                json!({"lines": [{"claim_id": p.past_claim, "attended": true, "hours": "2"}]}),
            ),
            COMM,
        ),
        r(
            "POST",
            format!("/api/v1/volunteer/claims/{}/cancel", p.claim_api),
            Body::None,
            M,
        ),
        r("GET", "/api/v1/volunteer/me", Body::None, M),
        r("GET", "/api/v1/volunteer/offers", Body::None, USE),
        r(
            "POST",
            "/api/v1/volunteer/offers",
            Body::Json(json!({"title": "政策解读@ROLE@"})),
            M,
        ),
        r("GET", "/api/v1/volunteer/rewards", Body::None, USE),
        r(
            "POST",
            "/api/v1/volunteer/rewards",
            Body::Json(json!({"name": "证书@ROLE@", "hours": "5"})),
            C,
        ),
        r(
            "POST",
            format!("/api/v1/volunteer/rewards/{}/redeem", p.reward),
            Body::None,
            M,
        ),
        r(
            "POST",
            format!("/api/v1/volunteer/transfers/{}/reverse", p.transfer),
            Body::Json(json!({"reason": "误操作"})),
            COMM_C,
        ),
        r("GET", "/api/v1/volunteer/missing", Body::None, CUB),
        r("GET", "/api/v1/volunteer/stats", Body::None, CU),
        r(
            "POST",
            format!("/api/v1/communities/{}/account", c.community),
            Body::Json(json!({"username": "acc_@ROLE@"})),
            C,
        ),
        // Pages.
        r("GET", "/volunteer/mine", Body::None, M),
        r("GET", "/volunteer/mine/export", Body::None, M),
        r("GET", "/volunteer/report", Body::None, M),
        r(
            "POST",
            "/volunteer/report",
            form(&[("community_id", c.community.to_string())]),
            M,
        ),
        r(
            "GET",
            format!("/volunteer/r/{}", c.community),
            Body::None,
            M,
        ),
        r(
            "POST",
            format!("/volunteer/r/{}", c.community),
            Body::None,
            M,
        ),
        r("GET", "/volunteer/needs", Body::None, USE),
        r("GET", "/volunteer/needs/export", Body::None, USE),
        r(
            "POST",
            "/volunteer/needs",
            form(&[
                ("title", "页面需求@ROLE@".into()),
                (
                    "starts_at",
                    p.need_body["starts_at"].as_str().unwrap_or("").into(),
                ),
                (
                    "ends_at",
                    p.need_body["ends_at"].as_str().unwrap_or("").into(),
                ),
                ("slots", "2".into()),
                ("hours", "2".into()),
            ]),
            COMM,
        ),
        r(
            "GET",
            format!("/volunteer/needs/{}", p.claim_need),
            Body::None,
            USE,
        ),
        r(
            "POST",
            format!("/volunteer/needs/{}/claim", p.claim_need),
            Body::None,
            M,
        ),
        r(
            "POST",
            format!("/volunteer/needs/{}/cancel", p.cancel_page),
            Body::None,
            COMM,
        ),
        r(
            "POST",
            format!("/volunteer/needs/{}/confirm", p.past),
            form(&[
                ("idempotency_key", "access-page".into()),
                ("claim_id", p.past_claim.to_string()),
                ("attended_{}", String::new()),
            ]),
            COMM,
        ),
        r(
            "POST",
            format!("/volunteer/claims/{}/cancel", p.claim_page),
            Body::None,
            M,
        ),
        r("GET", "/volunteer/reports", Body::None, REPORTS),
        r("GET", "/volunteer/reports/export", Body::None, REPORTS),
        r(
            "POST",
            "/volunteer/settings/period",
            form(&[("period_months", "6".into())]),
            C,
        ),
        r(
            "POST",
            format!("/volunteer/reports/{}/confirm", p.report_confirm),
            form(&[("note", "@ROLE@".into())]),
            COMM,
        ),
        r(
            "POST",
            format!("/volunteer/reports/{}/decline", p.report_decline),
            form(&[("note", "@ROLE@".into())]),
            COMM,
        ),
        r("GET", "/volunteer/offers", Body::None, USE),
        r("GET", "/volunteer/offers/export", Body::None, USE),
        r(
            "POST",
            "/volunteer/offers",
            form(&[("title", "课业辅导@ROLE@".into())]),
            M,
        ),
        r(
            "POST",
            format!("/volunteer/offers/{}/toggle", p.offer),
            Body::None,
            M,
        ),
        r("GET", "/volunteer/community", Body::None, COMM),
        r("GET", "/volunteer/community/export", Body::None, COMM),
        r(
            "GET",
            format!("/volunteer/communities/{}/poster", c.community),
            Body::None,
            COMM_C,
        ),
        r("GET", "/volunteer/missing", Body::None, CUB),
        r("GET", "/volunteer/missing/export", Body::None, CUB),
        r("GET", "/volunteer/stats", Body::None, CU),
        r("GET", "/volunteer/stats/export", Body::None, CU),
        r("GET", "/volunteer/ledger", Body::None, C),
        r("GET", "/volunteer/ledger/export", Body::None, C),
        r(
            "POST",
            "/volunteer/rewards",
            form(&[("name", "奖状@ROLE@".into()), ("hours", "3".into())]),
            C,
        ),
        r(
            "POST",
            format!("/volunteer/rewards/{}/toggle", p.reward),
            Body::None,
            C,
        ),
        r(
            "POST",
            format!("/volunteer/rewards/{}/redeem", p.reward),
            form(&[("idempotency_key", "access-redeem".into())]),
            M,
        ),
        r(
            "POST",
            format!("/volunteer/transfers/{}/reverse", p.transfer),
            form(&[
                ("idempotency_key", "access-rev".into()),
                ("reason", "误操作".into()),
            ]),
            COMM_C,
        ),
        r("GET", "/org/communities/template", Body::None, C),
        r("POST", "/org/communities/import", Body::Xlsx, C),
        r(
            "POST",
            format!("/org/communities/{}/account", c.community),
            form(&[("username", "accp_@ROLE@".into())]),
            C,
        ),
    ]
}
