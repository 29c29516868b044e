//! The indicators seam: named, explained figures that features publish per branch, unit,
//! category or the city and a period, each reading returning the records behind it.
//! Whoever weighs organizations (the grading engine, competitions, dashboards) reads
//! figures only through here, never a feature's tables.
//!
//! A feature lists its indicators in its `FEATURE` (`feature::Feature::indicators`);
//! `feature::install` hands them to this registry. A reading is taken under a `Scope`:
//! a subject outside it is not found, and what is summed is only what the scope sees.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use utoipa::ToSchema;

use axum::extract::{Path, Query, State};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{CurrentUser, Scope};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What a figure is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Branch(i64),
    Unit(i64),
    Category(i64),
    City,
}

/// The levels a subject can be at, as an indicator names those it is defined for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Branch,
    Unit,
    Category,
    City,
}

impl Subject {
    /// `branch:12`, `unit:3`, `category:2` or `city`.
    pub fn parse(s: &str) -> Option<Subject> {
        let s = s.trim();
        if s == "city" {
            return Some(Subject::City);
        }
        let (level, id) = s.split_once(':')?;
        let id: i64 = id.trim().parse().ok().filter(|v| *v > 0)?;
        match level.trim() {
            "branch" => Some(Subject::Branch(id)),
            "unit" => Some(Subject::Unit(id)),
            "category" => Some(Subject::Category(id)),
            _ => None,
        }
    }

    pub fn level(self) -> Level {
        match self {
            Subject::Branch(_) => Level::Branch,
            Subject::Unit(_) => Level::Unit,
            Subject::Category(_) => Level::Category,
            Subject::City => Level::City,
        }
    }

    pub fn code(self) -> String {
        match self {
            Subject::Branch(id) => format!("branch:{id}"),
            Subject::Unit(id) => format!("unit:{id}"),
            Subject::Category(id) => format!("category:{id}"),
            Subject::City => "city".into(),
        }
    }
}

/// Months `from..=to` of `year`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Period {
    pub year: i32,
    pub from_month: u8,
    pub to_month: u8,
}

impl Period {
    pub fn year(year: i32) -> Period {
        Period {
            year,
            from_month: 1,
            to_month: 12,
        }
    }

    /// `year` with `q1`…`q4`, `h1`/`h2`, `m1`…`m12`, or empty for the whole year.
    pub fn parse(year: i32, within: &str) -> Option<Period> {
        let w = within.trim();
        let n = |p: &str| w.strip_prefix(p).and_then(|x| x.parse::<u8>().ok());
        let (from_month, to_month) = match (n("q"), n("h"), n("m")) {
            _ if w.is_empty() => (1, 12),
            (Some(q @ 1..=4), _, _) => (q * 3 - 2, q * 3),
            (_, Some(h @ 1..=2), _) => (h * 6 - 5, h * 6),
            (_, _, Some(m @ 1..=12)) => (m, m),
            _ => return None,
        };
        (1900..=2100).contains(&year).then_some(Period {
            year,
            from_month,
            to_month,
        })
    }
}

/// How a figure reads: a share (met of due, as a percentage) or a count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Rate,
    Count,
}

/// One record behind a figure: a record that counts for it, or one that counts against it
/// (a period missed, a finding open).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Evidence {
    /// `meeting`, `missed_period`, `finding`, `member`…
    pub kind: String,
    pub id: i64,
    pub label: String,
    pub href: String,
    /// Counts for the figure (true) or against it (false).
    pub counts: bool,
}

/// A figure and its records.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Reading {
    /// The share's numerator, or the count.
    pub value: i64,
    /// The share's denominator; absent for a count.
    pub of: Option<i64>,
    /// The share in percent, one decimal; absent for a count or when nothing was due.
    pub rate: Option<f64>,
    /// As shown to people: `92.5%`, `37`, `—`.
    pub text: String,
    pub records: Vec<Evidence>,
    /// Records there are in all; `records` holds at most `MAX_RECORDS` of them.
    pub records_total: usize,
}

/// The most records a reading carries.
pub const MAX_RECORDS: usize = 1000;

impl Reading {
    /// met of due.
    pub fn share(met: i64, due: i64, mut records: Vec<Evidence>) -> Reading {
        let rate = crate::text::rate(met, due);
        let records_total = records.len();
        records.truncate(MAX_RECORDS);
        Reading {
            value: met,
            of: Some(due),
            rate,
            text: rate.map_or("—".into(), |r| format!("{r:.1}%")),
            records,
            records_total,
        }
    }

    pub fn count(n: i64, mut records: Vec<Evidence>) -> Reading {
        let records_total = records.len();
        records.truncate(MAX_RECORDS);
        Reading {
            value: n,
            of: None,
            rate: None,
            text: n.to_string(),
            records,
            records_total,
        }
    }
}

pub type ReadFuture<'a> = Pin<Box<dyn Future<Output = AppResult<Reading>> + Send + 'a>>;
/// Reads the figure of `subject` over `period` under `scope`; the indicator is passed so
/// that one function can serve a family of them (one per kind of meeting, say).
pub type ReadFn =
    for<'a> fn(&'a AppState, &'a Scope, &'static Indicator, Subject, Period) -> ReadFuture<'a>;

/// One branch's figure as the grading engine scores it: the share or count without its
/// records, and what counts against it in a few words, each with the page where it is put
/// right (a period missed → the form that records that meeting).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Figure {
    /// The share's numerator, or the count.
    pub value: i64,
    /// The share's denominator; absent for a count.
    pub of: Option<i64>,
    /// As shown to people: `11/12（91.7%）`, `3`.
    pub text: String,
    /// What counts against the figure, at most [`MAX_GAPS`] of them.
    pub gaps: Vec<Gap>,
}

/// Something that costs a figure: `2026年第三季度未召开支部党员大会`, and where to mend it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Gap {
    pub label: String,
    pub href: String,
}

/// The most gaps a figure carries.
pub const MAX_GAPS: usize = 12;

impl Figure {
    /// met of due; nothing due reads as `无应开展期次`.
    pub fn share(met: i64, due: i64, mut gaps: Vec<Gap>) -> Figure {
        gaps.truncate(MAX_GAPS);
        let text = match crate::text::rate(met, due) {
            Some(r) => format!("{met}/{due}（{r:.1}%）"),
            None => "无应开展期次".into(),
        };
        Figure {
            value: met,
            of: Some(due),
            text,
            gaps,
        }
    }

    pub fn count(n: i64, mut gaps: Vec<Gap>) -> Figure {
        gaps.truncate(MAX_GAPS);
        Figure {
            value: n,
            of: None,
            text: n.to_string(),
            gaps,
        }
    }

    /// The share as a fraction of 1; `None` for a count or when nothing was due.
    pub fn fraction(&self) -> Option<f64> {
        match self.of {
            Some(d) if d > 0 => Some(self.value as f64 / d as f64),
            _ => None,
        }
    }
}

/// Every branch's figure (by org id) of an indicator over a period, in one pass.
pub type BranchFigures = std::collections::HashMap<i64, Figure>;
pub type BranchesFuture<'a> = Pin<Box<dyn Future<Output = AppResult<BranchFigures>> + Send + 'a>>;
/// Reads the figure of every branch at once, unscoped: for the grading engine, which keeps
/// the scores and shows them under its own scope. A branch missing from the map has no
/// figure (it did not exist in the period).
pub type ReadBranchesFn =
    for<'a> fn(&'a AppState, &'static Indicator, Period) -> BranchesFuture<'a>;

pub struct Indicator {
    /// `feature.name`, e.g. `orglife.party_congress.held`.
    pub key: &'static str,
    pub label: &'static str,
    /// How it is computed and where the rule comes from, for people.
    pub explain: &'static str,
    pub measure: Measure,
    pub levels: &'static [Level],
    /// Whether the period matters (a figure of the registry as it stands today ignores it).
    pub by_period: bool,
    pub read: ReadFn,
    /// Every branch's figure at once, for indicators defined at branch level: what the
    /// grading engine scores automatic criteria by. `None`: the engine cannot score by it.
    pub read_branches: Option<ReadBranchesFn>,
}

static REGISTRY: std::sync::OnceLock<Vec<&'static Indicator>> = std::sync::OnceLock::new();

/// Sets the registered indicators, once at start.
pub fn install(mut all: Vec<&'static Indicator>) {
    all.sort_by_key(|i| i.key);
    let _ = REGISTRY.set(all);
}

/// Every indicator, by key.
pub fn all() -> &'static [&'static Indicator] {
    REGISTRY.get().map(Vec::as_slice).unwrap_or_default()
}

pub fn get(key: &str) -> Option<&'static Indicator> {
    all().iter().copied().find(|i| i.key == key)
}

/// Every branch's figure of `key` over `period`; `None` when no feature publishes `key` at
/// branch level in one pass.
pub async fn read_branches(
    state: &AppState,
    key: &str,
    period: Period,
) -> AppResult<Option<BranchFigures>> {
    let Some(ind) = get(key) else {
        return Ok(None);
    };
    match ind.read_branches {
        Some(f) if ind.levels.contains(&Level::Branch) => Ok(Some(f(state, ind, period).await?)),
        _ => Ok(None),
    }
}

/// Whether the engine can score by `key`: a feature publishes it for every branch at once.
pub fn scores_branches(key: &str) -> bool {
    get(key).is_some_and(|i| i.read_branches.is_some() && i.levels.contains(&Level::Branch))
}

/// Reads `key` for `subject` over `period` under `scope`.
pub async fn read(
    state: &AppState,
    scope: &Scope,
    key: &str,
    subject: Subject,
    period: Period,
) -> AppResult<Reading> {
    let Some(ind) = get(key) else {
        return Err(AppError::NotFound);
    };
    if !ind.levels.contains(&subject.level()) {
        return Err(AppError::field(
            "subject",
            format!("指标“{}”不按这一层级统计", ind.label),
        ));
    }
    (ind.read)(state, scope, ind, subject, period).await
}

// ---- API ----

/// An indicator as the API lists it.
#[derive(Serialize, ToSchema)]
pub struct IndicatorInfo {
    pub key: &'static str,
    pub label: &'static str,
    pub explain: &'static str,
    pub measure: Measure,
    pub levels: &'static [Level],
    pub by_period: bool,
}

impl From<&Indicator> for IndicatorInfo {
    fn from(i: &Indicator) -> Self {
        IndicatorInfo {
            key: i.key,
            label: i.label,
            explain: i.explain,
            measure: i.measure,
            levels: i.levels,
            by_period: i.by_period,
        }
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct ReadingQuery {
    /// `branch:编号`, `unit:编号`, `category:编号` or `city` (the default).
    pub subject: Option<String>,
    /// The year; this year by default.
    pub year: Option<String>,
    /// Within the year: q1–q4, h1–h2, m1–m12; the whole year by default.
    pub period: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReadingOf {
    pub key: &'static str,
    pub label: &'static str,
    pub subject: String,
    pub period: Period,
    pub reading: Reading,
}

/// Who reads figures: the committee, unit and branch admins, each within their scope.
pub fn may_read(user: &CurrentUser) -> bool {
    user.is_registry_admin() || user.has(crate::auth::Role::Branch)
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list))
        .routes(routes!(api_read))
}

/// Every indicator: what it measures, at which levels, and how it is computed.
#[utoipa::path(get, path = "/indicators", tag = "indicators", responses((status = 200, body = Vec<IndicatorInfo>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(user: CurrentUser) -> AppResult<Json<Vec<IndicatorInfo>>> {
    user.require(may_read(&user))?;
    Ok(Json(
        all().iter().map(|i| IndicatorInfo::from(*i)).collect(),
    ))
}

/// One indicator's figure for a subject and period, with the records behind it.
#[utoipa::path(get, path = "/indicators/{key}", tag = "indicators", params(("key" = String, Path), ReadingQuery),
    responses((status = 200, body = ReadingOf), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(key): Path<String>,
    Query(q): Query<ReadingQuery>,
) -> AppResult<Json<ReadingOf>> {
    user.require(may_read(&user))?;
    let Some(ind) = get(&key) else {
        return Err(AppError::NotFound);
    };
    let subject_text = q.subject.as_deref().unwrap_or("city");
    let Some(subject) = Subject::parse(subject_text) else {
        return Err(AppError::field(
            "subject",
            "统计对象应写作 branch:编号、unit:编号、category:编号 或 city",
        ));
    };
    let year = match q.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        None => crate::clock::today().year(),
        Some(y) => y
            .parse::<i32>()
            .ok()
            .filter(|y| (1900..=2100).contains(y))
            .ok_or_else(|| AppError::field("year", "年份应为 1900 至 2100 之间的四位数"))?,
    };
    let period = Period::parse(year, q.period.as_deref().unwrap_or("")).ok_or_else(|| {
        AppError::field(
            "period",
            "期间应为 q1–q4（季度）、h1–h2（半年）、m1–m12（月）或留空（全年）",
        )
    })?;
    let reading = read(&state, &user.scope(), ind.key, subject, period).await?;
    Ok(Json(ReadingOf {
        key: ind.key,
        label: ind.label,
        subject: subject.code(),
        period,
        reading,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_periods_parse_at_their_edges() {
        assert_eq!(Subject::parse("branch:12"), Some(Subject::Branch(12)));
        assert_eq!(Subject::parse(" unit:3 "), Some(Subject::Unit(3)));
        assert_eq!(Subject::parse("city"), Some(Subject::City));
        for bad in [
            "",
            "branch",
            "branch:",
            "branch:0",
            "branch:-1",
            "group:2",
            "unit:x",
        ] {
            assert_eq!(Subject::parse(bad), None, "{bad}");
        }
        assert_eq!(Subject::Category(2).code(), "category:2");
        let p = |w: &str| Period::parse(2026, w).map(|p| (p.from_month, p.to_month));
        assert_eq!(p(""), Some((1, 12)));
        assert_eq!(p("q1"), Some((1, 3)));
        assert_eq!(p("q4"), Some((10, 12)));
        assert_eq!(p("h2"), Some((7, 12)));
        assert_eq!(p("m12"), Some((12, 12)));
        for bad in ["q0", "q5", "h3", "m0", "m13", "x"] {
            assert_eq!(p(bad), None, "{bad}");
        }
        assert_eq!(Period::parse(1899, ""), None);
    }

    #[test]
    fn a_share_with_nothing_due_reads_as_a_dash() {
        let r = Reading::share(0, 0, Vec::new());
        assert_eq!((r.rate, r.text.as_str()), (None, "—"));
        let r = Reading::share(37, 40, Vec::new());
        assert_eq!((r.rate, r.text.as_str()), (Some(92.5), "92.5%"));
        let many = vec![
            Evidence {
                kind: "meeting".into(),
                id: 1,
                label: String::new(),
                href: String::new(),
                counts: true,
            };
            MAX_RECORDS + 5
        ];
        let r = Reading::count(3, many);
        assert_eq!(
            (r.records.len(), r.records_total),
            (MAX_RECORDS, MAX_RECORDS + 5)
        );
    }
}
