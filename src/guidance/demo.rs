//! Demo data for 分类指导: this year's common goal and category requirements published, and
//! most units' plans submitted with tasks and the quarters so far reported — some units
//! leaving requirements uncovered, a few still drafting or not started. Deterministic, one
//! transaction, one audit entry.

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::Date;

use crate::audit::{Actor, Entry};
use crate::clock::now;
use crate::db::{Sql, WriteTx};
use crate::state::AppState;

/// What a task sets out to do, by the kind of item it serves (common goal lines first).
const TASKS: &[(&str, &str, &str)] = &[
    (
        "制定党组理论学习中心组年度学习计划，每月开展集中学习",
        "机关党委书记",
        "全年集中学习不少于12次，形成学习记录和研讨材料",
    ),
    (
        "开展“三会一课”规范化建设，逐支部检查会议记录",
        "机关党委专职副书记",
        "各支部“三会一课”按期开展率达到100%",
    ),
    (
        "组织警示教育大会和廉政谈话，排查重点岗位廉政风险点",
        "机关纪委书记",
        "完成全体党员警示教育1次，重点岗位风险点清单建立并销号",
    ),
    (
        "落实全面从严治党主体责任清单，签订责任书",
        "办公室主任",
        "责任书签订率100%，半年、年终各督查一次",
    ),
    (
        "推动党建与业务融合，每个支部确定一项攻坚任务",
        "各支部书记",
        "每个支部形成一项可量化的融合成果",
    ),
    (
        "打造单位党建品牌，开展“一支部一品牌”创建",
        "组织委员",
        "形成单位特色品牌1个、支部品牌3个以上",
    ),
    (
        "开展党员先锋岗评选，设立党员示范窗口",
        "人事科科长",
        "评选党员先锋岗不少于5个，群众满意度不低于95%",
    ),
    (
        "组织在职党员到社区报到，开展志愿服务",
        "工会主席",
        "在职党员报到率100%，人均服务时长不少于8小时",
    ),
];

const PROGRESS: &[&str] = &[
    "已制定实施方案，明确责任分工和时间节点。",
    "按计划推进，已完成阶段性工作，形成工作台账。",
    "本季度集中推进，相关会议已召开，材料已归档。",
    "已全部完成，经单位党组织审核，成效明显。",
];

/// Publishes this year's items from the categories' current requirements and writes plans
/// for most units. Does nothing if the year already has items.
pub async fn seed(state: &AppState, today: Date) -> anyhow::Result<()> {
    let year = i64::from(today.year());
    let exists: i64 = sqlx::query_scalar("select count(*) from guidance_year where year = $1")
        .bind(year)
        .fetch_one(&state.db.pool)
        .await
        .context("读取年度目标要求失败")?;
    if exists > 0 {
        return Ok(());
    }
    let goal: Vec<String> = sqlx::query_scalar("select body from common_goal order by sort_order")
        .fetch_all(&state.db.pool)
        .await
        .context("读取共性目标失败")?;
    let reqs: Vec<(i64, String)> = sqlx::query_as(
        "select r.category_id, r.body from category_requirement r \
         join category c on c.category_id = r.category_id where c.retired = 0 \
         order by r.category_id, r.sort_order",
    )
    .fetch_all(&state.db.pool)
    .await
    .context("读取个性要求失败")?;
    let units: Vec<(i64, i64)> =
        sqlx::query_as("select unit_id, category_id from unit order by unit_id")
            .fetch_all(&state.db.pool)
            .await
            .context("读取单位失败")?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let year_id: i64 = sqlx::query_scalar(
        "insert into guidance_year (year, status, created_at, updated_at) \
         values ($1, 'draft', $2, $2) returning guidance_year_id",
    )
    .bind(year)
    .bind(t)
    .fetch_one(tx.conn())
    .await?;
    // (item, category) of every item written.
    let mut items: Vec<(i64, Option<i64>)> = Vec::new();
    for (i, body) in goal.iter().enumerate() {
        items.push((insert_item(&mut tx, year_id, None, i, body).await?, None));
    }
    let mut position = 0;
    let mut last = None;
    for (cat, body) in &reqs {
        position = if last == Some(*cat) { position + 1 } else { 0 };
        last = Some(*cat);
        items.push((
            insert_item(&mut tx, year_id, Some(*cat), position, body).await?,
            Some(*cat),
        ));
    }
    sqlx::query(
        "update guidance_year set status = 'published', published_at = $1 where guidance_year_id = $2",
    )
    .bind(t)
    .bind(year_id)
    .execute(tx.conn())
    .await?;

    let mut rng = StdRng::seed_from_u64(0x6775_6964);
    // Quarters ended or under way this year.
    let quarter_now = i64::from((u8::from(today.month()) - 1) / 3 + 1);
    let (mut plans, mut tasks) = (0, 0);
    let mut links = Vec::new();
    let mut progress = Vec::new();
    for (unit, cat) in &units {
        let r: f64 = rng.gen();
        // One unit in twelve has not started; one in ten is still drafting.
        if r < 0.08 {
            continue;
        }
        let submitted = r >= 0.18;
        let plan: i64 = sqlx::query_scalar(
            "insert into guidance_plan (unit_id, year, status, created_at, updated_at, submitted_at) \
             values ($1, $2, $3, $4, $4, $5) returning guidance_plan_id",
        )
        .bind(*unit)
        .bind(year)
        .bind(if submitted { "submitted" } else { "draft" })
        .bind(t)
        .bind(submitted.then_some(t))
        .fetch_one(tx.conn())
        .await?;
        plans += 1;
        let own: Vec<i64> = items
            .iter()
            .filter(|(_, c)| c.is_none() || *c == Some(*cat))
            .map(|(i, _)| *i)
            .collect();
        // Most plans cover everything; about one in four leaves one to three items out.
        let mut chosen = own.clone();
        if rng.gen_bool(0.25) {
            for _ in 0..rng.gen_range(1..=3) {
                if chosen.len() > 1 {
                    let k = rng.gen_range(0..chosen.len());
                    chosen.remove(k);
                }
            }
        }
        // Items into tasks of one to three items each.
        let mut n = 0;
        let mut rest = chosen.as_slice();
        while !rest.is_empty() {
            let take = rng.gen_range(1..=3usize).min(rest.len());
            let (these, after) = rest.split_at(take);
            rest = after;
            n += 1;
            let (title, owner, measure) = TASKS[rng.gen_range(0..TASKS.len())];
            let month = rng.gen_range(3..=12u8);
            let deadline = format!("{year}-{month:02}-{}", if month == 2 { 28 } else { 30 });
            let task: i64 = sqlx::query_scalar(
                "insert into guidance_task (guidance_plan_id, position, title, owner, deadline, \
                 measure, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7) \
                 returning guidance_task_id",
            )
            .bind(plan)
            .bind(n)
            .bind(title)
            .bind(owner)
            .bind(deadline)
            .bind(measure)
            .bind(t)
            .fetch_one(tx.conn())
            .await?;
            tasks += 1;
            links.extend(these.iter().map(|i| (task, *i)));
            if submitted {
                let done_by = rng.gen_range(2..=5i64);
                for q in 1..=quarter_now {
                    if q == quarter_now && rng.gen_bool(0.3) {
                        break;
                    }
                    let status = if q >= done_by { "done" } else { "in_progress" };
                    let text = PROGRESS[(q as usize - 1).min(PROGRESS.len() - 1)];
                    progress.push((task, q, status, text));
                }
            }
        }
    }
    for chunk in links.chunks(400) {
        let mut sql =
            Sql::new("insert into guidance_task_item (guidance_task_id, guidance_item_id) values ");
        for (i, (task, item)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(*task).push(", ").bind(*item).push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await?;
    }
    for chunk in progress.chunks(150) {
        let mut sql = Sql::new(
            "insert into guidance_progress (guidance_task_id, quarter, status, body, evidence, \
             created_at, updated_at) values ",
        );
        for (i, (task, q, status, text)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(*task)
                .push(", ")
                .bind(*q)
                .push(", ")
                .bind(status.to_string())
                .push(", ")
                .bind(text.to_string())
                .push(", ")
                .bind("/orglife/meetings")
                .push(", ")
                .bind(t)
                .push(", ")
                .bind(t)
                .push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await?;
    }
    tx.audit(
        &Actor::system(),
        Entry::new(
            "guidance_year.publish",
            "guidance_year",
            year_id,
            format!(
                "演示数据：发布{year}年度共性目标和个性要求，{plans}个单位的年度党建工作计划（{tasks}项任务）"
            ),
        ),
    )
    .await?;
    tx.commit().await
}

async fn insert_item(
    tx: &mut WriteTx,
    year_id: i64,
    category: Option<i64>,
    index: usize,
    body: &str,
) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "insert into guidance_item (guidance_year_id, category_id, position, body) \
         values ($1, $2, $3, $4) returning guidance_item_id",
    )
    .bind(year_id)
    .bind(category)
    .bind(index as i64 + 1)
    .bind(body)
    .fetch_one(tx.conn())
    .await?)
}
