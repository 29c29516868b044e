//! Demo data for 一句话承诺: last year's pledges of the division heads, accepted and rated at
//! year end by the unit (and most by the committee); this year's mostly accepted with
//! milestones under way, some submitted, returned, still drafting or not made; the public's
//! feedback on them, most published, some held or hidden, a few with the pledger's reply.
//! Deterministic but for the public keys (random, as in use); one transaction, one audit
//! entry, rows written in batches.

use std::collections::HashMap;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::Date;

use crate::audit::{Actor, Entry};
use crate::clock::now;
use crate::db::{Sql, WriteTx};
use crate::state::AppState;

const BODIES: &[&str] = &[
    "群众来信来访件件有回音，当日受理、五个工作日内答复，全年办结率100%",
    "全年为企业上门服务不少于20次，企业反映的问题限时解决、件件销号",
    "审批事项压缩办理时限30%以上，做到“最多跑一次”",
    "带头讲党课2次，所在处室党员学习全覆盖、零缺勤",
    "执法案件卷宗评查合格率100%，做到公正文明执法、群众满意",
    "牵头完成年度重点课题3项，形成可推广的工作经验",
    "政务服务窗口好评率保持在98%以上，不让群众的事在我这里耽误",
    "全年下基层调研不少于30天，帮助基层解决实际困难10件以上",
    "落实一岗双责，处室全年零违纪、零投诉",
    "档案数字化加工年内完成5万卷，查档群众当场办结",
    "项目资金拨付零延误，按月公开进度接受监督",
    "每季度走访服务对象一次，意见建议100%反馈",
];

const MILESTONES: &[&str] = &[
    "第一季度完成工作方案并公开",
    "上半年完成任务量的50%",
    "第三季度开展一次群众满意度回访",
    "年底前形成总结报告并公示",
    "每月通报一次办理进度",
    "建立问题台账，逐项销号",
];

const DIVISIONS: &[&str] = &[
    "办公室",
    "政策法规处",
    "综合规划处",
    "财务处",
    "人事处",
    "行政审批处",
    "督查处",
    "信访处",
    "执法监督处",
    "机关党委",
    "服务中心",
    "档案管理处",
];

const FEEDBACK: &[(i64, &str)] = &[
    (
        5,
        "上周去窗口办事，工作人员很耐心，当天就办好了，承诺说到做到。",
    ),
    (4, "总体不错，希望节假日前后的办理速度再快一些。"),
    (5, "反映的问题一周内就有了答复，点赞！"),
    (3, "承诺的内容很好，但进度公开得不够及时。"),
    (4, "上门服务很实在，解决了我们企业的用地手续问题。"),
    (2, "电话有时打不通，希望改进。"),
];

const REPLIES: &[&str] = &[
    "感谢您的监督，我们会继续保持。",
    "已安排专人值守电话，欢迎继续监督。",
    "感谢建议，进度将每月在单位公开栏更新。",
];

/// Writes the demo pledges once (nothing when there are pledges already).
pub async fn seed(state: &AppState, today: Date) -> anyhow::Result<()> {
    let exists: i64 = sqlx::query_scalar("select count(*) from pledge")
        .fetch_one(&state.db.pool)
        .await
        .context("读取一句话承诺失败")?;
    if exists > 0 {
        return Ok(());
    }
    let heads: Vec<(i64, i64, String)> = sqlx::query_as(
        "select member_id, unit_id, coalesce(position, '') from member \
         where status = 'active' and is_division_head = 1 order by member_id",
    )
    .fetch_all(&state.db.pool)
    .await
    .context("读取处室负责人失败")?;
    let this = i64::from(today.year());
    let mut rng = StdRng::seed_from_u64(0x706c_6467);
    let t = now();
    // (member, unit, year, body, post, division, status, comment)
    struct Row {
        member: i64,
        unit: i64,
        year: i64,
        body: &'static str,
        post: String,
        division: &'static str,
        status: &'static str,
        comment: &'static str,
    }
    let mut rows = Vec::new();
    for (member, unit, position) in &heads {
        for year in [this - 1, this] {
            let r: f64 = rng.gen();
            let status = if year < this {
                if r < 0.05 {
                    continue;
                }
                "accepted"
            } else if r < 0.06 {
                continue;
            } else if r < 0.09 {
                "draft"
            } else if r < 0.13 {
                "returned"
            } else if r < 0.18 {
                "submitted"
            } else {
                "accepted"
            };
            rows.push(Row {
                member: *member,
                unit: *unit,
                year,
                body: BODIES[rng.gen_range(0..BODIES.len())],
                post: position.clone(),
                division: DIVISIONS[rng.gen_range(0..DIVISIONS.len())],
                status,
                comment: if status == "returned" {
                    "承诺内容请结合本类别个性要求写得更具体、可衡量"
                } else {
                    ""
                },
            });
        }
    }
    let mut tx = state.db.begin_write().await?;
    for chunk in rows.chunks(100) {
        let mut sql = Sql::new(
            "insert into pledge (public_key, member_id, unit_id, year, body, post, division, status, \
             review_comment, created_at, updated_at, submitted_at, reviewed_at) values ",
        );
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let submitted = (r.status != "draft").then_some(t);
            let reviewed = matches!(r.status, "accepted" | "returned").then_some(t);
            sql.push("(")
                .bind(public_key())
                .push(", ")
                .bind(r.member)
                .push(", ")
                .bind(r.unit)
                .push(", ")
                .bind(r.year)
                .push(", ")
                .bind(r.body)
                .push(", ")
                .bind(r.post.clone())
                .push(", ")
                .bind(r.division)
                .push(", ")
                .bind(r.status)
                .push(", ")
                .bind(r.comment)
                .push(", ")
                .bind(t)
                .push(", ")
                .bind(t)
                .push(", ")
                .bind(submitted)
                .push(", ")
                .bind(reviewed)
                .push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await?;
    }
    let ids: Vec<(i64, i64, i64, String)> =
        sqlx::query_as("select pledge_id, member_id, year, status from pledge order by pledge_id")
            .fetch_all(tx.conn())
            .await?;
    let by_member: HashMap<(i64, i64), (i64, String)> = ids
        .into_iter()
        .map(|(p, m, y, s)| ((m, y), (p, s)))
        .collect();
    let mut milestones: Vec<(i64, i64, &str, i64)> = Vec::new();
    let mut reviews: Vec<(i64, &str, &str, &str)> = Vec::new();
    let mut feedback: Vec<(i64, i64, &str, &str, &str, &str)> = Vec::new();
    let month = i64::from(u8::from(today.month()));
    for r in &rows {
        let Some((id, status)) = by_member.get(&(r.member, r.year)) else {
            continue;
        };
        let n = rng.gen_range(0..=3usize);
        for k in 0..n {
            let progress = if r.year < this {
                if rng.gen_bool(0.8) {
                    100
                } else {
                    rng.gen_range(40..100)
                }
            } else if status == "accepted" {
                (month * 100 / 12 + rng.gen_range(-20..20)).clamp(0, 100)
            } else {
                0
            };
            milestones.push((
                *id,
                k as i64 + 1,
                MILESTONES[(k * 2 + rng.gen_range(0..2)) % MILESTONES.len()],
                progress,
            ));
        }
        if status != "accepted" {
            continue;
        }
        if r.year < this {
            let x: f64 = rng.gen();
            let (result, reason) = if x < 0.75 {
                ("fulfilled", "承诺事项全部完成，群众评价良好")
            } else if x < 0.95 {
                ("partly", "主要事项完成，个别节点滞后")
            } else {
                ("not", "承诺事项未按期完成，群众反映较多")
            };
            reviews.push((*id, "unit", result, reason));
            if rng.gen_bool(0.6) {
                reviews.push((*id, "committee", result, "经工委复核，同意单位评价"));
            }
        }
        for _ in 0..rng.gen_range(0..=3) {
            let (rating, body) = FEEDBACK[rng.gen_range(0..FEEDBACK.len())];
            let x: f64 = rng.gen();
            let (status, reason) = if x < 0.7 {
                ("published", "")
            } else if x < 0.9 {
                ("held", "")
            } else {
                ("hidden", "与承诺事项无关")
            };
            let reply = if status == "published" && rng.gen_bool(0.3) {
                REPLIES[rng.gen_range(0..REPLIES.len())]
            } else {
                ""
            };
            feedback.push((*id, rating, body, status, reason, reply));
        }
    }
    for chunk in milestones.chunks(200) {
        let mut sql =
            Sql::new("insert into pledge_milestone (pledge_id, position, title, progress) values ");
        for (i, (p, pos, title, progress)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(*p)
                .push(", ")
                .bind(*pos)
                .push(", ")
                .bind(*title)
                .push(", ")
                .bind(*progress)
                .push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await?;
    }
    for chunk in reviews.chunks(200) {
        let mut sql = Sql::new(
            "insert into pledge_review (pledge_id, level, result, reason, reviewed_at) values ",
        );
        for (i, (p, level, result, reason)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(*p)
                .push(", ")
                .bind(*level)
                .push(", ")
                .bind(*result)
                .push(", ")
                .bind(*reason)
                .push(", ")
                .bind(t)
                .push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await?;
    }
    write_feedback(&mut tx, &feedback, t).await?;
    tx.audit(
        &Actor::system(),
        Entry::new(
            "pledge.create",
            "pledge",
            0,
            format!(
                "演示数据：{}条一句话承诺（{}、{}年度），{}条督导反馈",
                rows.len(),
                this - 1,
                this,
                feedback.len()
            ),
        ),
    )
    .await?;
    tx.commit().await
}

async fn write_feedback(
    tx: &mut WriteTx,
    feedback: &[(i64, i64, &str, &str, &str, &str)],
    t: i64,
) -> anyhow::Result<()> {
    for (c, chunk) in feedback.chunks(100).enumerate() {
        let mut sql = Sql::new(
            "insert into pledge_feedback (pledge_id, rating, body, status, hide_reason, reply, \
             replied_at, moderated_at, client_hash, token_hash, created_at) values ",
        );
        for (i, (p, rating, body, status, reason, reply)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let moderated = (*status != "held").then_some(t);
            let replied = (!reply.is_empty()).then_some(t);
            sql.push("(")
                .bind(*p)
                .push(", ")
                .bind(*rating)
                .push(", ")
                .bind(*body)
                .push(", ")
                .bind(*status)
                .push(", ")
                .bind(*reason)
                .push(", ")
                .bind(*reply)
                .push(", ")
                .bind(replied)
                .push(", ")
                .bind(moderated)
                .push(", ")
                .bind("demo")
                .push(", ")
                .bind(format!("demo-{}", c * 100 + i))
                .push(", ")
                .bind(t)
                .push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

fn public_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; super::rules::PUBLIC_KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    super::rules::public_key_from(&bytes)
}
