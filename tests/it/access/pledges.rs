//! Access rows of 一句话承诺: pledges (own, list, one), submission, review, progress,
//! ratings, feedback moderation and replies, the missing list, the figures and the exports.
//! The public board's routes need no login; tests/it/pledges.rs covers them.

use serde_json::json;

use super::{r, Body, Ctx, Route, CU, CUB, CUBM, M};
use crate::common::TestApp;

/// Unit A's pledges and feedback the rows act on.
#[derive(Clone)]
pub(super) struct Prep {
    /// member_a's accepted pledge of this year, with feedback: held (to publish, to hide)
    /// and published (to reply to).
    accepted: i64,
    f_publish: i64,
    f_hide: i64,
    f_reply: i64,
    /// Submitted pledges: to accept, to return.
    to_accept: i64,
    to_return: i64,
}

async fn insert_pledge(
    app: &TestApp,
    member: i64,
    unit: i64,
    year: i64,
    status: &str,
    key: &str,
) -> i64 {
    sqlx::query_scalar(
        "insert into pledge (public_key, member_id, unit_id, year, body, division, status, created_at, updated_at) \
         values ($1, $2, $3, $4, '全年办结群众来信来访件件有回音', '办公室', $5, 1, 1) returning pledge_id",
    )
    .bind(key)
    .bind(member)
    .bind(unit)
    .bind(year)
    .bind(status)
    .fetch_one(&app.state.db.pool)
    .await
    .expect("pledge")
}

async fn insert_feedback(app: &TestApp, pledge: i64, status: &str, n: i64) -> i64 {
    sqlx::query_scalar(
        "insert into pledge_feedback (pledge_id, rating, body, status, client_hash, token_hash, created_at) \
         values ($1, 4, '很好', $2, 'x', $3, 1) returning pledge_feedback_id",
    )
    .bind(pledge)
    .bind(status)
    .bind(format!("access-{n}"))
    .fetch_one(&app.state.db.pool)
    .await
    .expect("feedback")
}

pub(super) async fn prepare(app: &TestApp, member_a: i64, member_t: i64, unit_a: i64) -> Prep {
    let year = i64::from(yaoshi::clock::today().year());
    let accepted = insert_pledge(
        app,
        member_a,
        unit_a,
        year,
        "accepted",
        "accessaaaaaaaaaaaaaa",
    )
    .await;
    sqlx::query("insert into pledge_milestone (pledge_id, position, title, progress) values ($1, 1, '上半年完成50%', 0)")
        .bind(accepted)
        .execute(&app.state.db.pool)
        .await
        .expect("milestone");
    let to_accept = insert_pledge(
        app,
        member_a,
        unit_a,
        year - 1,
        "submitted",
        "accessbbbbbbbbbbbbbb",
    )
    .await;
    let to_return = insert_pledge(
        app,
        member_t,
        unit_a,
        year,
        "submitted",
        "accesscccccccccccccc",
    )
    .await;
    let f_publish = insert_feedback(app, accepted, "held", 1).await;
    let f_hide = insert_feedback(app, accepted, "held", 2).await;
    let f_reply = insert_feedback(app, accepted, "published", 3).await;
    Prep {
        accepted,
        f_publish,
        f_hide,
        f_reply,
        to_accept,
        to_return,
    }
}

pub(super) fn rows(c: &Ctx) -> Vec<Route> {
    let p = &c.pledges;
    let (a, fp, fh, fr) = (p.accepted, p.f_publish, p.f_hide, p.f_reply);
    let pledge = json!({"body": "全年办结群众来信来访件件有回音@ROLE@", "division": "办公室"});
    vec![
        r("GET", "/api/v1/pledges", Body::None, CUBM),
        r("GET", "/api/v1/pledges/mine", Body::None, M),
        r("PUT", "/api/v1/pledges/mine", Body::Json(pledge), M),
        r("GET", format!("/api/v1/pledges/{a}"), Body::None, CUBM),
        r("POST", format!("/api/v1/pledges/{a}/submit"), Body::None, M),
        r(
            "POST",
            format!("/api/v1/pledges/{}/accept", p.to_accept),
            Body::None,
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/api/v1/pledges/{}/return", p.to_return),
            Body::Json(json!({"comment": "请具体些"})),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/api/v1/pledges/{a}/progress"),
            Body::Json(json!({"milestone": 1, "progress": 30, "body": "推进中@ROLE@"})),
            M,
        ),
        r(
            "POST",
            format!("/api/v1/pledges/{a}/rating"),
            Body::Json(json!({"result": "fulfilled", "reason": "按期完成"})),
            CU,
        ),
        r("GET", "/api/v1/pledges/feedback", Body::None, CUBM),
        r(
            "POST",
            format!("/api/v1/pledges/feedback/{fp}/publish"),
            Body::None,
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/api/v1/pledges/feedback/{fh}/hide"),
            Body::Json(json!({"reason": "无关"})),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/api/v1/pledges/feedback/{fr}/reply"),
            Body::Json(json!({"reply": "感谢监督"})),
            M,
        ),
        r("GET", "/api/v1/pledges/missing", Body::None, CUB),
        r("GET", "/api/v1/pledges/stats", Body::None, CU),
        // Pages.
        r("GET", "/pledges", Body::None, CUBM),
        r("GET", "/pledges/export", Body::None, CUBM),
        r("GET", "/pledges/mine", Body::None, M),
        r(
            "POST",
            "/pledges/mine",
            Body::Form(vec![
                ("body", "全年办结群众来信来访件件有回音".into()),
                ("division", "办公室".into()),
            ]),
            M,
        ),
        r("GET", format!("/pledges/{a}"), Body::None, CUBM),
        r("POST", format!("/pledges/{a}/submit"), Body::None, M),
        r(
            "POST",
            format!("/pledges/{a}/progress"),
            Body::Form(vec![
                ("milestone", "1".into()),
                ("progress", "40".into()),
                ("body", "页面报告".into()),
            ]),
            M,
        ),
        r(
            "POST",
            format!("/pledges/{}/accept", p.to_accept),
            Body::None,
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/pledges/{}/return", p.to_return),
            Body::Form(vec![("comment", "请具体些".into())]),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/pledges/{a}/rate"),
            Body::Form(vec![
                ("result", "partly".into()),
                ("reason", "部分完成".into()),
            ]),
            CU,
        ),
        r("GET", "/pledges/feedback", Body::None, CUB),
        r("GET", "/pledges/feedback/export", Body::None, CUB),
        r(
            "POST",
            format!("/pledges/feedback/{fp}/publish"),
            Body::Form(vec![]),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/pledges/feedback/{fh}/hide"),
            Body::Form(vec![("reason", "无关".into())]),
            &[super::R::Unit],
        ),
        r(
            "POST",
            format!("/pledges/feedback/{fr}/reply"),
            Body::Form(vec![("reply", "感谢".into())]),
            M,
        ),
        r("GET", "/pledges/missing", Body::None, CUB),
        r("GET", "/pledges/missing/export", Body::None, CUB),
        r("GET", "/pledges/stats", Body::None, CU),
        r("GET", "/pledges/stats/export", Body::None, CU),
    ]
}
