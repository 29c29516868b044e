//! The hotline's indicators per unit, category and city over a period, read from the monthly
//! aggregates: `hotline.on_time_rate` (按时办结率) and `hotline.satisfaction_rate` (回访满意率),
//! what the category competition's 服务优 dimension will weigh. A reading carries the orders
//! behind it, those counting against the figure first.

use super::rules::{Counts, MonthRange};
use super::views::{self, Outcome};
use crate::auth::Scope;
use crate::error::{AppError, AppResult};
use crate::indicators::{
    Evidence, Indicator, Level, Measure, Period, ReadFuture, Reading, Subject, MAX_RECORDS,
};
use crate::state::AppState;

const LEVELS: &[Level] = &[Level::Unit, Level::Category, Level::City];

pub const ON_TIME_RATE: &str = "hotline.on_time_rate";
pub const SATISFACTION_RATE: &str = "hotline.satisfaction_rate";

pub const INDICATORS: &[Indicator] = &[
    Indicator {
        key: ON_TIME_RATE,
        label: "12345便民热线按时办结率",
        explain: "期间内到期（办理时限在期间内）的热线工单中，在办理时限前办结的比例；到期未办结的计为未按时办结。按承办单位计。",
        measure: Measure::Rate,
        levels: LEVELS,
        by_period: true,
        read: read_one,
        read_branches: None,
    },
    Indicator {
        key: SATISFACTION_RATE,
        label: "12345便民热线回访满意率",
        explain: "期间内办结的热线工单中，回访成功（满意、基本满意、不满意）的工单里满意和基本满意的比例；未回访成功的不计入。按承办单位计。",
        measure: Measure::Rate,
        levels: LEVELS,
        by_period: true,
        read: read_one,
        read_branches: None,
    },
];

fn read_one<'a>(
    state: &'a AppState,
    scope: &'a Scope,
    ind: &'static Indicator,
    subject: Subject,
    period: Period,
) -> ReadFuture<'a> {
    Box::pin(async move { reading(state, scope, ind, subject, period).await })
}

async fn reading(
    state: &AppState,
    scope: &Scope,
    ind: &'static Indicator,
    subject: Subject,
    period: Period,
) -> AppResult<Reading> {
    let all = views::units(state).await?;
    // The subject's units, under the scope.
    let units: Option<Vec<i64>> = match subject {
        Subject::Unit(u) => {
            if !scope.sees_unit(u) || !all.iter().any(|x| x.unit_id == u) {
                return Err(AppError::NotFound);
            }
            Some(vec![u])
        }
        Subject::Category(c) => {
            if !scope.all {
                return Err(AppError::NotFound);
            }
            Some(
                all.iter()
                    .filter(|x| x.category_id == c)
                    .map(|x| x.unit_id)
                    .collect(),
            )
        }
        Subject::City => {
            if !scope.all {
                return Err(AppError::NotFound);
            }
            None
        }
        Subject::Branch(_) => return Err(AppError::NotFound),
    };
    let range = MonthRange {
        from: format!("{:04}-{:02}", period.year, period.from_month),
        to: format!("{:04}-{:02}", period.year, period.to_month),
    };
    let counts = views::unit_counts(state, &range).await?;
    let mut c = Counts::default();
    for (u, x) in &counts {
        if units.as_ref().is_none_or(|us| us.contains(u)) {
            c.add(x);
        }
    }
    let on_time = ind.key == ON_TIME_RATE;
    let (met, of, against) = if on_time {
        (c.on_time, c.due, Outcome::Late)
    } else {
        (c.satisfied, c.reached, Outcome::Dissatisfied)
    };
    let orders =
        views::behind(state, units.as_deref(), &range, against, MAX_RECORDS as i64).await?;
    let records: Vec<Evidence> = orders
        .iter()
        .map(|o| {
            let counts = if on_time {
                o.on_time()
            } else {
                o.callback == "satisfied" || o.callback == "basic"
            };
            Evidence {
                kind: "hotline_order".into(),
                id: o.hotline_order_id,
                label: format!(
                    "{}（{}）：{}",
                    o.order_no,
                    o.unit_name,
                    if on_time {
                        o.status()
                    } else {
                        o.callback_label()
                    }
                ),
                href: format!(
                    "/hotline/orders?q={}&from={}&to={}&basis={}",
                    o.order_no,
                    range.from,
                    range.to,
                    if on_time { "due" } else { "closed" }
                ),
                counts,
            }
        })
        .collect();
    let mut r = Reading::share(met, of, records);
    r.records_total = usize::try_from(of).unwrap_or(0);
    Ok(r)
}
