//! Demo data for the volunteer bank: the communities' streets and districts; every member
//! reporting each half-year to a home community (the current half-year mostly confirmed,
//! some pending, some not yet); three needs a day per community over the past two years and
//! the coming month; members claiming them on their own days (never two at once), the past
//! ones confirmed into the ledger, the last days' awaiting confirmation; rewards and some
//! redemptions; offers tied to jobs. The ledger is written set-wise (`insert … select`), then
//! its balances and aggregates derived from it, so `yaoshi ledger verify` passes; at city
//! scale about 3,000,000 movements. Deterministic; one transaction.

use anyhow::Context;
use time::Date;

use super::rules::{self, ReportPeriod};
use crate::audit::{Actor, Entry};
use crate::clock::now;
use crate::db::Backend;
use crate::state::AppState;

const DISTRICTS: &[&str] = &["东城区", "西城区", "南湖区", "北山区", "高新区"];
const STREETS: &[&str] = &[
    "新华街道",
    "人民路街道",
    "解放街道",
    "和平街道",
    "建设街道",
    "光明街道",
];
const OFFERS: &[(&str, &str)] = &[
    (
        "法律咨询",
        "婚姻家庭、劳动争议、邻里纠纷的法律咨询，每月第一个周六上午",
    ),
    ("政策解读", "就业创业、社保医保政策解读"),
    ("义诊与健康讲座", "常见慢性病健康指导"),
    ("青少年课业辅导", "初中数学、物理辅导"),
    ("防诈骗宣传", "结合典型案例讲解电信诈骗防范"),
];
const REWARDS: &[(&str, i64)] = &[
    ("优秀志愿者证书", 600),
    ("志愿服务纪念徽章", 1200),
    ("“志愿之星”荣誉称号推荐资格", 3000),
];

/// Days of needs before today, and after.
const PAST_DAYS: i64 = 730;
const FUTURE_DAYS: i64 = 30;

/// Writes the demo's volunteer bank, aiming at about `movements` ledger movements.
pub async fn seed(state: &AppState, today: Date, movements: i64) -> anyhow::Result<()> {
    let exists: i64 = sqlx::query_scalar("select count(*) from ledger_transfer")
        .fetch_one(&state.db.pool)
        .await
        .context("读取时长台账失败")?;
    if exists > 0 {
        return Ok(());
    }
    let members: i64 = sqlx::query_scalar("select count(*) from member where status = 'active'")
        .fetch_one(&state.db.pool)
        .await?;
    let communities: Vec<i64> =
        sqlx::query_scalar("select community_id from community order by community_id")
            .fetch_all(&state.db.pool)
            .await?;
    if members == 0 || communities.is_empty() {
        return Ok(());
    }
    let t = now();
    let midnight = crate::clock::day_start(t);
    let base = midnight - PAST_DAYS * 86_400;
    // A member claims one day in `step`: about movements / 2 confirmations in all.
    let step = ((members * PAST_DAYS * 2) / movements.max(2)).clamp(1, PAST_DAYS);
    let n_comm = communities.len() as i64;
    let mut tx = state.db.begin_write().await?;
    let pg = tx.backend() == Backend::Postgres;

    for (i, c) in communities.iter().enumerate() {
        sqlx::query("update community set district = $1, street = $2, contact_phone = $3 where community_id = $4")
            .bind(DISTRICTS[i % DISTRICTS.len()])
            .bind(STREETS[i % STREETS.len()])
            .bind(format!("0571-8{:07}", 1_000_000 + i))
            .bind(*c)
            .execute(tx.conn())
            .await
            .context("写入社区街道失败")?;
    }

    // Reports: every member to community (member_id mod n) in each half-year of the last two
    // years and this one; this half-year 5% pending and 10% not yet.
    let months = rules::DEFAULT_PERIOD_MONTHS;
    let this = ReportPeriod::of(today, months);
    let mut periods = Vec::new();
    for y in this.year - 2..=this.year {
        for p in ReportPeriod::of_year(y, months) {
            if p <= this {
                periods.push(p);
            }
        }
    }
    for p in &periods {
        let current = *p == this;
        let mut sql = String::from(
            "insert into volunteer_report (member_id, community_id, period, unit_id, branch_id, status, created_at, decided_at) \
             select m.member_id, c.community_id, $1, m.unit_id, m.branch_id, ",
        );
        sql.push_str(if current {
            "case when m.member_id % 20 = 0 then 'pending' else 'confirmed' end"
        } else {
            "'confirmed'"
        });
        sql.push_str(
            ", $2, $2 from member m join (select community_id, row_number() over (order by community_id) - 1 as k from community) c \
             on c.k = m.member_id % $3 where m.status = 'active'",
        );
        if current {
            sql.push_str(" and m.member_id % 10 <> 3");
        }
        sqlx::query(&sql)
            .bind(p.key())
            .bind(t)
            .bind(n_comm)
            .execute(tx.conn())
            .await
            .context("写入社区报到失败")?;
    }

    // Needs: three a day per community (09:00, 14:00, 19:00), one to three hours.
    sqlx::query(
        "with recursive d(i) as (select 0 union all select i + 1 from d where i < $1) \
         insert into volunteer_need (community_id, title, skills, place, starts_at, ends_at, slots, minutes, status, created_at, updated_at) \
         select c.community_id, \
           case (c.community_id + d.i + s.h) % 5 when 0 then '敬老院陪伴与助餐' when 1 then '社区环境整治' when 2 then '政策宣讲进楼栋' when 3 then '青少年四点半课堂' else '便民服务集市' end, \
           case (c.community_id + d.i) % 3 when 0 then '' when 1 then '沟通能力' else '法律、医疗或计算机特长优先' end, \
           c.name || '党群服务中心', \
           $2 + d.i * 86400 + s.h * 3600, $2 + d.i * 86400 + s.h * 3600 + (60 + ((c.community_id + d.i) % 5) * 30) * 60, \
           2, 60 + ((c.community_id + d.i) % 5) * 30, 'open', $3, $3 \
         from community c cross join d cross join (select 1 as h union all select 6 union all select 11) s",
    )
    .bind(PAST_DAYS + FUTURE_DAYS)
    // 08:00 Beijing is 00:00 + 8h; hours 1, 6, 11 after it are 09:00, 14:00, 19:00.
    .bind(base + 8 * 3600)
    .bind(t)
    .execute(tx.conn())
    .await
    .context("写入服务需求失败")?;

    // Claims: a member's home community's need on their days, at their hour. Each side gets
    // its keys first (community, hour, the day's phase in `step`), so the join is a lookup.
    // Numbers computed here, written into the text: `create table … as` takes no parameters
    // on PostgreSQL.
    sqlx::query(&format!(
        "create temp table demo_member as select m.member_id, c.community_id, 9 + 5 * (m.member_id % 3) as hour, m.member_id % {step} as phase \
         from member m join (select community_id, row_number() over (order by community_id) - 1 as k from community) c on c.k = m.member_id % {n_comm} \
         where m.status = 'active'",
    ))
    .execute(tx.conn())
    .await
    .context("准备演示党员失败")?;
    sqlx::query(&format!(
        "create temp table demo_need as select volunteer_need_id, community_id, starts_at, ends_at, minutes, \
         ((starts_at - {base}) % 86400) / 3600 as hour, ({step} - ((starts_at - {base}) / 86400) % {step}) % {step} as phase from volunteer_need",
    ))
    .execute(tx.conn())
    .await
    .context("准备演示需求失败")?;
    sqlx::query("create index demo_need_key on demo_need(community_id, hour, phase)")
        .execute(tx.conn())
        .await?;
    let recent = midnight - 3 * 86_400;
    // Ids given here, and a confirmed claim's transfer takes its claim's id: no second pass
    // over 1.5 million claims to link them (on PostgreSQL that pass alone took a minute).
    let claim_base: i64 =
        sqlx::query_scalar("select coalesce(max(volunteer_claim_id), 0) from volunteer_claim")
            .fetch_one(tx.conn())
            .await?;
    sqlx::query(&format!(
        "insert into volunteer_claim (volunteer_claim_id, volunteer_need_id, member_id, starts_at, ends_at, status, minutes, confirmed_at, ledger_transfer_id, created_at, updated_at) \
         select {claim_base} + row_number() over (order by n.volunteer_need_id, m.member_id), n.volunteer_need_id, m.member_id, n.starts_at, n.ends_at, \
           case when n.ends_at < $1 then 'confirmed' else 'claimed' end, \
           case when n.ends_at < $1 then n.minutes else null end, \
           case when n.ends_at < $1 then n.ends_at + 86400 else null end, \
           case when n.ends_at < $1 then {claim_base} + row_number() over (order by n.volunteer_need_id, m.member_id) else null end, \
           n.starts_at - 7 * 86400, n.starts_at - 7 * 86400 \
         from demo_member m join demo_need n on n.community_id = m.community_id and n.hour = m.hour and n.phase = m.phase \
         order by n.volunteer_need_id, m.member_id",
    ))
    .bind(recent)
    .execute(tx.conn())
    .await
    .context("写入服务认领失败")?;
    for t in ["demo_need", "demo_member"] {
        sqlx::query(&format!("drop table {t}"))
            .execute(tx.conn())
            .await?;
    }
    sqlx::query(
        "update volunteer_need set slots = 2 + (select count(*) from volunteer_claim k where k.volunteer_need_id = volunteer_need.volunteer_need_id)",
    )
    .execute(tx.conn())
    .await?;

    // Confirmations into the ledger.
    let month = if pg {
        "to_char(to_timestamp(k.starts_at + 28800) at time zone 'UTC', 'YYYY-MM')"
    } else {
        "strftime('%Y-%m', k.starts_at + 28800, 'unixepoch')"
    };
    sqlx::query(&format!(
        "insert into ledger_transfer (ledger_transfer_id, kind, idempotency_key, member_id, community_id, unit_id, branch_id, volunteer_claim_id, minutes, served, month, reason, created_at) \
         select k.volunteer_claim_id, 'confirmation', 'demo:' || cast(k.volunteer_claim_id as text), k.member_id, n.community_id, m.unit_id, m.branch_id, k.volunteer_claim_id, k.minutes, k.minutes, {month}, '', k.confirmed_at \
         from volunteer_claim k join volunteer_need n on n.volunteer_need_id = k.volunteer_need_id join member m on m.member_id = k.member_id \
         where k.status = 'confirmed' order by k.volunteer_claim_id"
    ))
    .execute(tx.conn())
    .await
    .context("写入时长确认失败")?;
    if pg {
        // Identity columns go on after the ids given above.
        for (table, column) in [
            ("volunteer_claim", "volunteer_claim_id"),
            ("ledger_transfer", "ledger_transfer_id"),
        ] {
            sqlx::query(&format!(
                "select setval(pg_get_serial_sequence('{table}', '{column}'), (select coalesce(max({column}), 0) + 1 from {table}), false)"
            ))
            .execute(tx.conn())
            .await
            .context("调整编号序列失败")?;
        }
    }

    // Accounts.
    sqlx::query("insert into ledger_account (kind, community_id, balance, created_at) select 'community', community_id, 0, $1 from community")
        .bind(t)
        .execute(tx.conn())
        .await?;
    sqlx::query("insert into ledger_account (kind, member_id, balance, created_at) select 'member', member_id, 0, $1 from member where member_id in (select member_id from ledger_transfer)")
        .bind(t)
        .execute(tx.conn())
        .await?;
    sqlx::query("insert into ledger_account (kind, balance, created_at) values ('pool', 0, $1)")
        .bind(t)
        .execute(tx.conn())
        .await?;

    // Rewards, and a redemption by every third member who has earned enough.
    let mut reward_ids = Vec::new();
    for (name, cost) in REWARDS {
        let id: i64 = sqlx::query_scalar("insert into volunteer_reward (name, cost_minutes, active, created_at, updated_at) values ($1, $2, 1, $3, $3) returning volunteer_reward_id")
            .bind(*name)
            .bind(*cost)
            .bind(t)
            .fetch_one(tx.conn())
            .await?;
        reward_ids.push((id, *name, *cost));
    }
    let (reward, name, cost) = reward_ids[0];
    sqlx::query(
        "insert into ledger_transfer (kind, idempotency_key, member_id, unit_id, branch_id, volunteer_reward_id, minutes, served, month, reason, created_at) \
         select 'redemption', 'demo-redeem:' || cast(m.member_id as text), m.member_id, m.unit_id, m.branch_id, $1, $2, 0, $3, $4, $5 \
         from member m where m.status = 'active' and m.member_id % 3 = 0 \
         and (select coalesce(sum(t.minutes), 0) from ledger_transfer t where t.member_id = m.member_id and t.kind = 'confirmation') >= $2",
    )
    .bind(reward)
    .bind(cost)
    .bind(super::rules::month_of(t))
    .bind(format!("兑换 {name}"))
    .bind(t)
    .execute(tx.conn())
    .await
    .context("写入兑换失败")?;

    // Movements, both sides of every transfer, then balances and aggregates from them.
    for (sql, what) in [
        ("insert into ledger_movement (ledger_transfer_id, ledger_account_id, amount) select t.ledger_transfer_id, a.ledger_account_id, -t.minutes from ledger_transfer t join ledger_account a on a.community_id = t.community_id where t.kind = 'confirmation' order by t.ledger_transfer_id", "社区"),
        ("insert into ledger_movement (ledger_transfer_id, ledger_account_id, amount) select t.ledger_transfer_id, a.ledger_account_id, t.minutes from ledger_transfer t join ledger_account a on a.member_id = t.member_id where t.kind = 'confirmation' order by t.ledger_transfer_id", "党员"),
        ("insert into ledger_movement (ledger_transfer_id, ledger_account_id, amount) select t.ledger_transfer_id, a.ledger_account_id, -t.minutes from ledger_transfer t join ledger_account a on a.member_id = t.member_id where t.kind = 'redemption' order by t.ledger_transfer_id", "兑换"),
        ("insert into ledger_movement (ledger_transfer_id, ledger_account_id, amount) select t.ledger_transfer_id, a.ledger_account_id, t.minutes from ledger_transfer t cross join ledger_account a where a.kind = 'pool' and t.kind = 'redemption' order by t.ledger_transfer_id", "奖励池"),
    ] {
        sqlx::query(sql)
            .execute(tx.conn())
            .await
            .with_context(|| format!("写入{what}分录失败"))?;
    }
    sqlx::query(
        "update ledger_account set balance = coalesce((select sum(mv.amount) from ledger_movement mv where mv.ledger_account_id = ledger_account.ledger_account_id), 0)",
    )
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "insert into volunteer_hours_branch (branch_id, unit_id, month, minutes) \
         select branch_id, max(unit_id), month, sum(served) from ledger_transfer group by branch_id, month",
    )
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "insert into volunteer_hours_community (community_id, month, minutes) \
         select community_id, month, sum(served) from ledger_transfer where community_id is not null group by community_id, month",
    )
    .execute(tx.conn())
    .await?;

    // Offers tied to jobs: every fiftieth member.
    for (i, (title, description)) in OFFERS.iter().enumerate() {
        sqlx::query(
            "insert into volunteer_offer (member_id, title, description, active, created_at, updated_at) \
             select member_id, $1, $2, 1, $3, $3 from member where status = 'active' and member_id % 50 = $4",
        )
        .bind(*title)
        .bind(*description)
        .bind(t)
        .bind(i as i64)
        .execute(tx.conn())
        .await?;
    }
    let transfers: i64 = sqlx::query_scalar("select count(*) from ledger_transfer")
        .fetch_one(tx.conn())
        .await?;
    tx.audit(
        &Actor::cli(),
        Entry::new(
            "volunteer_need.create",
            "volunteer_need",
            0,
            format!("演示数据：志愿者银行（{transfers} 笔记账）"),
        ),
    )
    .await?;
    tx.commit().await?;
    println!("志愿者银行：{transfers} 笔记账，每名党员约每 {step} 天服务一次");
    Ok(())
}
