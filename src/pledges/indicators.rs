//! 一句话承诺's indicators, per branch, unit, category and city: the pledge rate (亮诺率: the
//! division heads on the register with an accepted pledge in the year) and fulfilment
//! (践诺: those whose accepted pledge is not rated 未践诺 at year end). `pledges.fulfilment`
//! is what criterion 18 of the default grading standard (处室负责人一句话承诺公开亮诺、
//! 践诺评价) names, read for every branch at once.

use std::collections::HashMap;

use super::rules::Fulfilment;
use crate::auth::Scope;
use crate::db::{QueryCache, Sql};
use crate::error::{AppError, AppResult};
use crate::indicators::{
    BranchFigures, BranchesFuture, Evidence, Figure, Gap, Indicator, Level, Measure, Period,
    ReadFuture, Reading, Subject,
};
use crate::state::AppState;

const LEVELS: &[Level] = &[Level::Branch, Level::Unit, Level::Category, Level::City];

pub const RATE: &str = "pledges.rate";
pub const FULFILMENT: &str = "pledges.fulfilment";

pub const INDICATORS: &[Indicator] = &[
    Indicator {
        key: RATE,
        label: "处室负责人亮诺率",
        explain: "在册处室负责人中，本年度一句话承诺经单位审核、已公开亮诺的比例。未承诺、草稿、待审核和被退回的均按未亮诺计。",
        measure: Measure::Rate,
        levels: LEVELS,
        by_period: true,
        read: read_one,
        read_branches: Some(branches),
    },
    Indicator {
        key: FULFILMENT,
        label: "处室负责人亮诺践诺率",
        explain: "在册处室负责人中，本年度已公开亮诺且践诺评价不为“未践诺”的比例（工委评价优先于单位评价；年终评价前，已公开亮诺即计入）。未亮诺或评价为未践诺的按未达标计。",
        measure: Measure::Rate,
        levels: LEVELS,
        by_period: true,
        read: read_one,
        read_branches: Some(branches),
    },
];

/// A division head on the register and their pledge of the year, if any.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Head {
    pub member_id: i64,
    pub name: String,
    pub branch_id: i64,
    pub unit_id: i64,
    pub category_id: i64,
    pub pledge_id: Option<i64>,
    pub status: Option<String>,
    pub unit_result: Option<String>,
    pub committee_result: Option<String>,
}

impl Head {
    fn accepted(&self) -> bool {
        self.status.as_deref() == Some("accepted")
    }
    fn counts(&self, key: &str) -> bool {
        if key == RATE {
            return self.accepted();
        }
        let result = super::rules::final_fulfilment(
            self.unit_result.as_deref().and_then(Fulfilment::from_key),
            self.committee_result
                .as_deref()
                .and_then(Fulfilment::from_key),
        );
        self.accepted() && result != Some(Fulfilment::Not)
    }
    fn why_not(&self, key: &str) -> String {
        let what = match self.status.as_deref() {
            None => "未作出承诺",
            Some("accepted") if key == FULFILMENT => "践诺评价为未践诺",
            Some(s) => super::rules::PledgeStatus::label_of(s),
        };
        format!("处室负责人{}：{what}", self.name)
    }
    fn href(&self, year: i32) -> String {
        match self.pledge_id {
            Some(id) => format!("/pledges/{id}"),
            None => format!("/pledges/missing?year={year}&unit_id={}", self.unit_id),
        }
    }
}

/// Every division head of the city with their pledge of `year`, cached until a pledge or
/// the register changes.
pub async fn heads(state: &AppState, year: i32) -> AppResult<std::sync::Arc<Vec<Head>>> {
    let registry = crate::db::data_version(&state.db, "registry").await?;
    let key = format!("heads {year} registry{registry}");
    Ok(state
        .ext::<QueryCache>()
        .derived(&state.db, "pledge", &key, || async move {
            let mut sql = Sql::new(
                "select m.member_id, m.name, m.branch_id, m.unit_id, u.category_id, p.pledge_id, p.status, \
                 (select r.result from pledge_review r where r.pledge_id = p.pledge_id and r.level = 'unit') as unit_result, \
                 (select r.result from pledge_review r where r.pledge_id = p.pledge_id and r.level = 'committee') as committee_result \
                 from member m join unit u on u.unit_id = m.unit_id \
                 left join pledge p on p.member_id = m.member_id and p.year = ",
            );
            sql.bind(i64::from(year)).push(
                " where m.status = 'active' and m.is_division_head = 1 order by m.unit_id, m.name, m.member_id",
            );
            let rows: Vec<Head> = sql.fetch_all(&state.db.pool).await?;
            Ok(rows)
        })
        .await?)
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
    let all = heads(state, period.year).await?;
    let rows: Vec<&Head> = match subject {
        Subject::Branch(b) => {
            let unit: Option<i64> = sqlx::query_scalar("select unit_id from org where org_id = $1")
                .bind(b)
                .fetch_optional(&state.db.pool)
                .await?;
            let unit = unit.ok_or(AppError::NotFound)?;
            if !(scope.sees_unit(unit) || scope.branches.contains(&b)) {
                return Err(AppError::NotFound);
            }
            all.iter().filter(|h| h.branch_id == b).collect()
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
            all.iter().filter(|h| h.unit_id == u).collect()
        }
        Subject::Category(c) => {
            if !scope.all {
                return Err(AppError::NotFound);
            }
            all.iter().filter(|h| h.category_id == c).collect()
        }
        Subject::City => {
            if !scope.all {
                return Err(AppError::NotFound);
            }
            all.iter().collect()
        }
    };
    let met = rows.iter().filter(|h| h.counts(ind.key)).count() as i64;
    // What counts against the figure first: it is what the reader acts on.
    let records: Vec<Evidence> = rows
        .iter()
        .filter(|h| !h.counts(ind.key))
        .chain(rows.iter().filter(|h| h.counts(ind.key)))
        .map(|h| Evidence {
            kind: "member".into(),
            id: h.member_id,
            label: if h.counts(ind.key) {
                format!("处室负责人{}：已公开亮诺", h.name)
            } else {
                h.why_not(ind.key)
            },
            href: h.href(period.year),
            counts: h.counts(ind.key),
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
        let all = heads(state, period.year).await?;
        let branches: Vec<(i64,)> = Sql::new("select org_id from org where kind = 'branch'")
            .fetch_page(&state.db)
            .await?;
        let mut by_branch: HashMap<i64, Vec<&Head>> = HashMap::new();
        for h in all.iter() {
            by_branch.entry(h.branch_id).or_default().push(h);
        }
        let mut out = BranchFigures::new();
        for (id,) in branches {
            let hs = by_branch.remove(&id).unwrap_or_default();
            let met = hs.iter().filter(|h| h.counts(ind.key)).count() as i64;
            let gaps: Vec<Gap> = hs
                .iter()
                .filter(|h| !h.counts(ind.key))
                .map(|h| Gap {
                    label: h.why_not(ind.key),
                    href: h.href(period.year),
                })
                .collect();
            out.insert(id, Figure::share(met, hs.len() as i64, gaps));
        }
        Ok(out)
    })
}
