//! Demo data for the hotline: about `orders` work orders (2,000,000 at city scale) received
//! evenly over the last two years, assigned to every unit, each unit with its own habits —
//! some close late more often, some leave callers dissatisfied — recent ones still open, a
//! share reopened; then the monthly aggregates from them. Written set-wise (`insert …
//! select` over a generated series), deterministic, in one transaction.

use anyhow::Context;

use super::store::RECOMPUTE_SQL;
use crate::audit::{Actor, Entry};
use crate::clock::now;
use crate::db::Backend;
use crate::state::AppState;

/// Days of orders before today.
const PAST_DAYS: i64 = 730;

const TITLES: &[&str] = &[
    "小区路灯不亮",
    "道路积水",
    "噪声扰民",
    "占道经营",
    "供暖温度不达标",
    "社保缴费咨询",
    "公交线路调整建议",
    "违章停车",
];

pub const SOURCE: &str = "市12345热线中心";

pub async fn seed(state: &AppState, orders: i64) -> anyhow::Result<()> {
    let exists: i64 = sqlx::query_scalar("select count(*) from hotline_order")
        .fetch_one(&state.db.pool)
        .await
        .context("读取热线工单失败")?;
    let units: Vec<i64> = sqlx::query_scalar("select unit_id from unit order by unit_id")
        .fetch_all(&state.db.pool)
        .await?;
    if exists > 0 || units.is_empty() || orders <= 0 {
        return Ok(());
    }
    let t = now();
    let base = crate::clock::day_start(t) - PAST_DAYS * 86_400;
    // Seconds between two orders' receipt, so the span is covered evenly.
    let step = (PAST_DAYS * 86_400 / orders).max(1);
    let mut tx = state.db.begin_write().await?;
    let pg = tx.backend() == Backend::Postgres;
    let source: i64 = sqlx::query_scalar(
        "insert into hotline_source (name, mapping, created_at, updated_at) values ($1, $2, $3, $3) returning hotline_source_id",
    )
    .bind(SOURCE)
    .bind(super::rules::Mapping::guess(
        &super::rules::Field::ALL
            .iter()
            .map(|f| f.label().to_string())
            .collect::<Vec<_>>(),
    )
    .to_json())
    .bind(t)
    .fetch_one(tx.conn())
    .await?;
    let import: i64 = sqlx::query_scalar(
        "insert into hotline_import (hotline_source_id, file_name, row_count, created, updated, unchanged, created_at) \
         values ($1, '演示数据', $2, $2, 0, 0, $3) returning hotline_import_id",
    )
    .bind(source)
    .bind(orders)
    .bind(t)
    .fetch_one(tx.conn())
    .await?;
    sqlx::query("create temp table demo_hotline_unit (k bigint primary key, unit_id bigint not null, q bigint not null)")
        .execute(tx.conn())
        .await?;
    for (k, u) in units.iter().enumerate() {
        sqlx::query("insert into demo_hotline_unit (k, unit_id, q) values ($1, $2, $3)")
            .bind(k as i64)
            .bind(*u)
            // A unit's habit, 0–99: higher closes late and disappoints more often.
            .bind((*u * 37 + 11) % 100)
            .execute(tx.conn())
            .await?;
    }
    let n_units = units.len() as i64;
    let month = |col: &str| {
        if pg {
            format!("to_char(to_timestamp({col} + 28800) at time zone 'UTC', 'YYYY-MM')")
        } else {
            format!("strftime('%Y-%m', {col} + 28800, 'unixepoch')")
        }
    };
    let titles = TITLES
        .iter()
        .enumerate()
        .map(|(i, s)| format!("when {i} then '{s}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let n_titles = TITLES.len();
    let recent = t - 3 * 86_400;
    // g: the order's number, unit, habit, receipt, deadline and two dice; c: closing and
    // callback from them; the outer select adds the months.
    let sql = format!(
        "with recursive d(i) as (select cast(0 as bigint) union all select i + 1 from d where i < {last}) \
         insert into hotline_order (order_no, hotline_source_id, hotline_import_id, unit_id, unit_text, title, received_at, deadline, closed_at, reopened, callback, resolved, received_month, due_month, closed_month, created_at, updated_at) \
         select order_no, {source}, {import}, unit_id, unit_text, title, received_at, deadline, closed_at, reopened, callback, resolved, \
           {rm}, {dm}, case when closed_at is null then null else {cm} end, {t}, {t} \
         from ( \
           select g.order_no, g.unit_id, g.unit_text, g.title, g.received_at, g.deadline, \
             case when g.received_at > {recent} and g.h % 3 <> 0 then null \
                  when g.h < 3 then null \
                  when g.h < 20 + g.q / 2 then g.deadline + 3600 * (12 + g.h2 % 60) \
                  else g.received_at + (g.deadline - g.received_at) * (20 + g.h2 % 75) / 100 end as closed_at, \
             case when g.received_at > {recent} and g.h % 3 <> 0 then '' when g.h < 3 then '' \
                  when g.h2 < 8 then 'unreached' when g.h2 >= 88 - g.q / 8 then 'dissatisfied' \
                  when g.h2 < 63 then 'satisfied' else 'basic' end as callback, \
             case when g.received_at > {recent} and g.h % 3 <> 0 then null when g.h < 3 then null \
                  when g.h2 < 8 then null when g.h2 >= 88 - g.q / 8 then case when g.i % 3 = 0 then 1 else 0 end \
                  when g.h2 < 63 then 1 else case when g.i % 4 = 0 then 0 else 1 end end as resolved, \
             case when g.received_at > {recent} and g.h % 3 <> 0 then 0 when g.h < 3 then 0 \
                  when g.h2 >= 88 - g.q / 8 and g.i % 2 = 0 then 1 when g.i % 97 = 0 then 1 else 0 end as reopened \
           from ( \
             select d.i, 'GD' || cast(1000000000 + d.i as text) as order_no, u.unit_id, un.name as unit_text, u.q, \
               case (d.i % {n_titles}) {titles} end as title, \
               {base} + d.i * {step} + (d.i * 7919) % {step} as received_at, \
               {base} + d.i * {step} + (d.i * 7919) % {step} + 86400 * (3 + d.i % 5) as deadline, \
               (d.i * 2654435761 + u.unit_id * 97) % 1000 as h, \
               (d.i * 40503 + u.unit_id * 13) % 100 as h2 \
             from d join demo_hotline_unit u on u.k = (d.i * 31 + d.i / 7) % {n_units} join unit un on un.unit_id = u.unit_id \
           ) g \
         ) c",
        last = orders - 1,
        rm = month("received_at"),
        dm = month("deadline"),
        cm = month("closed_at"),
    );
    sqlx::query(&sql)
        .execute(tx.conn())
        .await
        .context("写入演示热线工单失败")?;
    sqlx::query("drop table demo_hotline_unit")
        .execute(tx.conn())
        .await?;
    sqlx::query(&format!(
        "insert into hotline_month (unit_id, month, received, due, on_time, closed, reached, satisfied, resolved_known, resolved, reopened) {RECOMPUTE_SQL}"
    ))
    .execute(tx.conn())
    .await
    .context("汇总演示热线工单失败")?;
    tx.audit(
        &Actor::cli(),
        Entry::new(
            "hotline_import.create",
            "hotline_import",
            import,
            format!("演示数据：12345热线工单 {orders} 件"),
        ),
    )
    .await?;
    tx.commit().await?;
    println!("12345热线：{orders} 件工单，覆盖近两年");
    Ok(())
}
