//! 分类指导's indicator: how much of what a unit is held to in a year (its category's
//! requirements and the common goal) its submitted plan covers.

use super::views::unit_coverage;
use crate::auth::Scope;
use crate::error::{AppError, AppResult};
use crate::indicators::{
    Evidence, Indicator, Level, Measure, Period, ReadFuture, Reading, Subject,
};
use crate::state::AppState;

pub const INDICATORS: &[Indicator] = &[Indicator {
    key: "guidance.plan_coverage",
    label: "年度计划目标覆盖率",
    explain: "本年度已发布的共性目标和本单位所属类别个性要求中，已提交的年度党建工作计划至少有一项任务对应的条目所占比例；未覆盖的条目列为缺项。计划未提交时按未覆盖计。",
    measure: Measure::Rate,
    levels: &[Level::Unit],
    by_period: true,
    read: read_coverage,
    read_branches: None,
}];

fn read_coverage<'a>(
    state: &'a AppState,
    scope: &'a Scope,
    _ind: &'static Indicator,
    subject: Subject,
    period: Period,
) -> ReadFuture<'a> {
    Box::pin(async move { coverage(state, scope, subject, period).await })
}

async fn coverage(
    state: &AppState,
    scope: &Scope,
    subject: Subject,
    period: Period,
) -> AppResult<Reading> {
    let Subject::Unit(unit_id) = subject else {
        return Err(AppError::NotFound);
    };
    if !scope.sees_unit(unit_id) {
        return Err(AppError::NotFound);
    }
    let year = i64::from(period.year);
    let (plan, items) = unit_coverage(state, unit_id, year)
        .await?
        .ok_or(AppError::NotFound)?;
    let href = match plan {
        Some(p) => format!("/guidance/plans/{p}"),
        None => format!("/guidance/plans?year={year}"),
    };
    let met = items.iter().filter(|(_, c)| *c).count() as i64;
    let due = items.len() as i64;
    // The gaps first: they are what the figure asks to act on.
    let records: Vec<Evidence> = items
        .iter()
        .filter(|(_, c)| !c)
        .chain(items.iter().filter(|(_, c)| *c))
        .map(|(i, covered)| Evidence {
            kind: "guidance_item".into(),
            id: i.item_id,
            label: format!(
                "{}：{}（{}）",
                i.tag(),
                i.body,
                if *covered {
                    "已有任务对应"
                } else {
                    "缺项：无任务对应"
                }
            ),
            href: href.clone(),
            counts: *covered,
        })
        .collect();
    Ok(Reading::share(met, due, records))
}
