//! The volunteer bank's indicators per branch, unit, category and city for a year: the
//! report rate (报到率: members on the register with a report confirmed by a community in
//! any report period of the year) and hours per member (served hours in the year, from the
//! aggregates, over the members on the register). `volunteer.report_rate` is what criterion
//! 17 of the default grading standard (在职党员到社区报到率、志愿服务时长) names, read for
//! every branch at once.

use std::collections::HashMap;
use std::sync::Arc;

use super::rules::{self, ReportPeriod};
use crate::auth::Scope;
use crate::db::QueryCache;
use crate::error::{AppError, AppResult};
use crate::indicators::{
    BranchFigures, BranchesFuture, Evidence, Figure, Gap, Indicator, Level, Measure, Period,
    ReadFuture, Reading, Subject,
};
use crate::state::AppState;

const LEVELS: &[Level] = &[Level::Branch, Level::Unit, Level::Category, Level::City];

pub const REPORT_RATE: &str = "volunteer.report_rate";
pub const HOURS_PER_MEMBER: &str = "volunteer.hours_per_member";

pub const INDICATORS: &[Indicator] = &[
    Indicator {
        key: REPORT_RATE,
        label: "在职党员到社区报到率",
        explain: "在册党员中，本年度任一报到期次（默认每半年一期）向社区报到并经社区确认的比例。未报到、待社区确认和社区未接收的均按未报到计。",
        measure: Measure::Rate,
        levels: LEVELS,
        by_period: false,
        read: read_one,
        read_branches: Some(branches),
    },
    Indicator {
        key: HOURS_PER_MEMBER,
        label: "人均志愿服务时长（小时）",
        explain: "本年度经社区确认的志愿服务时长（扣除冲正）除以在册党员数，按服务时党员所在的支部计，取整小时。",
        measure: Measure::Count,
        levels: LEVELS,
        by_period: false,
        read: read_one,
        read_branches: Some(branches),
    },
];

/// A member on the register and whether they reported in the year.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Row {
    pub member_id: i64,
    pub name: String,
    pub branch_id: i64,
    pub unit_id: i64,
    pub category_id: i64,
    pub reported: i64,
}

pub struct YearFigures {
    pub members: Vec<Row>,
    /// Served minutes per branch in the year.
    pub minutes: HashMap<i64, i64>,
}

/// The year's members with their report and the branches' minutes, cached until a report, a
/// transfer or the register changes.
pub async fn year_figures(state: &AppState, year: i32) -> AppResult<Arc<YearFigures>> {
    let registry = crate::db::data_version(&state.db, "registry").await?;
    let key = format!("volunteer-year {year} registry{registry}");
    Ok(state
        .ext::<QueryCache>()
        .derived(&state.db, "volunteer", &key, || async move {
            let (low, high) = ReportPeriod::year_range(year);
            let members: Vec<Row> = sqlx::query_as(
                "select m.member_id, m.name, m.branch_id, m.unit_id, u.category_id, \
                 case when exists (select 1 from volunteer_report r where r.member_id = m.member_id and r.status = 'confirmed' and r.period >= $1 and r.period < $2) then 1 else 0 end as reported \
                 from member m join unit u on u.unit_id = m.unit_id where m.status = 'active' order by m.unit_id, m.name, m.member_id",
            )
            .bind(low)
            .bind(high)
            .fetch_all(&state.db.pool)
            .await?;
            let minutes: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
                "select branch_id, cast(sum(minutes) as bigint) from volunteer_hours_branch where month >= $1 and month <= $2 group by branch_id",
            )
            .bind(format!("{year:04}-01"))
            .bind(format!("{year:04}-12"))
            .fetch_all(&state.db.pool)
            .await?
            .into_iter()
            .collect();
            Ok(YearFigures { members, minutes })
        })
        .await?)
}

fn hours_figure(minutes: i64, members: i64) -> (i64, String) {
    match rules::per_member(minutes, members) {
        Some(v) => (v.round() as i64, format!("{v:.1} 小时/人")),
        None => (0, "无在册党员".into()),
    }
}

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
    let y = year_figures(state, period.year).await?;
    let (rows, branches): (Vec<&Row>, Option<Vec<i64>>) = match subject {
        Subject::Branch(b) => {
            let unit: Option<i64> = sqlx::query_scalar("select unit_id from org where org_id = $1")
                .bind(b)
                .fetch_optional(&state.db.pool)
                .await?;
            let unit = unit.ok_or(AppError::NotFound)?;
            if !(scope.sees_unit(unit) || scope.branches.contains(&b)) {
                return Err(AppError::NotFound);
            }
            (
                y.members.iter().filter(|r| r.branch_id == b).collect(),
                Some(vec![b]),
            )
        }
        Subject::Unit(u) => {
            if !scope.sees_unit(u) {
                return Err(AppError::NotFound);
            }
            let exists: Option<i64> =
                sqlx::query_scalar("select unit_id from unit where unit_id = $1")
                    .bind(u)
                    .fetch_optional(&state.db.pool)
                    .await?;
            exists.ok_or(AppError::NotFound)?;
            let bs: Vec<i64> = sqlx::query_scalar("select org_id from org where unit_id = $1")
                .bind(u)
                .fetch_all(&state.db.pool)
                .await?;
            (
                y.members.iter().filter(|r| r.unit_id == u).collect(),
                Some(bs),
            )
        }
        Subject::Category(c) => {
            if !scope.all {
                return Err(AppError::NotFound);
            }
            let bs: Vec<i64> = sqlx::query_scalar(
                "select o.org_id from org o join unit u on u.unit_id = o.unit_id where u.category_id = $1",
            )
            .bind(c)
            .fetch_all(&state.db.pool)
            .await?;
            (
                y.members.iter().filter(|r| r.category_id == c).collect(),
                Some(bs),
            )
        }
        Subject::City => {
            if !scope.all {
                return Err(AppError::NotFound);
            }
            (y.members.iter().collect(), None)
        }
    };
    if ind.key == HOURS_PER_MEMBER {
        let minutes: i64 = match &branches {
            Some(bs) => bs.iter().filter_map(|b| y.minutes.get(b)).sum(),
            None => y.minutes.values().sum(),
        };
        let (v, text) = hours_figure(minutes, rows.len() as i64);
        let mut r = Reading::count(v, Vec::new());
        r.text = text;
        return Ok(r);
    }
    let met = rows.iter().filter(|r| r.reported == 1).count() as i64;
    let records: Vec<Evidence> = rows
        .iter()
        .filter(|r| r.reported == 0)
        .chain(rows.iter().filter(|r| r.reported == 1))
        .map(|r| Evidence {
            kind: "member".into(),
            id: r.member_id,
            label: format!(
                "{}：{}",
                r.name,
                if r.reported == 1 {
                    "已报到"
                } else {
                    "未报到"
                }
            ),
            href: format!("/volunteer/missing?unit_id={}&q={}", r.unit_id, r.name),
            counts: r.reported == 1,
        })
        .collect();
    Ok(Reading::share(met, rows.len() as i64, records))
}

fn branches<'a>(
    state: &'a AppState,
    ind: &'static Indicator,
    period: Period,
) -> BranchesFuture<'a> {
    Box::pin(async move {
        let y = year_figures(state, period.year).await?;
        let all: Vec<(i64,)> = sqlx::query_as("select org_id from org where kind = 'branch'")
            .fetch_all(&state.db.pool)
            .await?;
        let mut by_branch: HashMap<i64, Vec<&Row>> = HashMap::new();
        for r in &y.members {
            by_branch.entry(r.branch_id).or_default().push(r);
        }
        let mut out = BranchFigures::new();
        for (id,) in all {
            let rows = by_branch.remove(&id).unwrap_or_default();
            if ind.key == HOURS_PER_MEMBER {
                let (v, text) =
                    hours_figure(y.minutes.get(&id).copied().unwrap_or(0), rows.len() as i64);
                let mut f = Figure::count(v, Vec::new());
                f.text = text;
                out.insert(id, f);
                continue;
            }
            let met = rows.iter().filter(|r| r.reported == 1).count() as i64;
            let gaps: Vec<Gap> = rows
                .iter()
                .filter(|r| r.reported == 0)
                .map(|r| Gap {
                    label: format!("{}未到社区报到", r.name),
                    href: format!("/volunteer/missing?unit_id={}&q={}", r.unit_id, r.name),
                })
                .collect();
            out.insert(id, Figure::share(met, rows.len() as i64, gaps));
        }
        Ok(out)
    })
}
