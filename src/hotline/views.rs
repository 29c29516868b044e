//! The hotline's figures and lists: the rates per unit, category and city over a period —
//! read from the monthly aggregates kept on import, never from the orders per request —
//! the monthly trend, the units at the bottom, a unit admin's view of its category, and the
//! orders behind any figure (the same months and conditions the figure counts).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{self, percent_text, Callback, Counts, MonthRange};
use super::store::MonthRow;
use crate::auth::CurrentUser;
use crate::db::{QueryCache, Sql};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::Paging;

/// A unit of the register, with its category.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UnitInfo {
    pub unit_id: i64,
    pub name: String,
    pub category_id: i64,
    pub category_name: String,
}

/// Every unit and its category, remembered until the register changes.
pub async fn units(state: &AppState) -> AppResult<Arc<Vec<UnitInfo>>> {
    Ok(state
        .ext::<QueryCache>()
        .rows(
            &state.db,
            "registry",
            &Sql::new(
                "select u.unit_id, u.name, u.category_id, c.name as category_name from unit u \
                 join category c on c.category_id = u.category_id order by c.category_id, u.name",
            ),
        )
        .await?)
}

/// The kept aggregates of the months of `range`, remembered until an import.
pub async fn months(state: &AppState, range: &MonthRange) -> AppResult<Arc<Vec<MonthRow>>> {
    let mut sql = Sql::new(
        "select unit_id, month, received, due, on_time, closed, reached, satisfied, resolved_known, resolved, reopened \
         from hotline_month where month >= ",
    );
    sql.bind(range.from.clone())
        .push(" and month <= ")
        .bind(range.to.clone());
    Ok(state
        .ext::<QueryCache>()
        .rows(&state.db, "hotline", &sql)
        .await?)
}

/// The sum of each unit's months in the range.
pub async fn unit_counts(state: &AppState, range: &MonthRange) -> AppResult<HashMap<i64, Counts>> {
    let rows = months(state, range).await?;
    let mut out: HashMap<i64, Counts> = HashMap::new();
    for r in rows.iter() {
        out.entry(r.unit_id).or_default().add(&r.counts());
    }
    Ok(out)
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct PeriodQuery {
    /// The year; this year without it.
    pub year: Option<String>,
    /// Within the year: q1–q4, h1–h2, m1–m12; the whole year without it.
    pub period: Option<String>,
    /// A range of months instead, `2022-01`…
    pub from: Option<String>,
    /// …to `2022-06`.
    pub to: Option<String>,
}

impl PeriodQuery {
    /// The months asked for; a bad value is a field error in `errors`, and this year stands.
    pub fn range(&self, errors: &mut FieldErrors) -> MonthRange {
        let this = crate::clock::today().year();
        let year = match self
            .year
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => this,
            Some(y) => match y.parse::<i32>() {
                Ok(v) => v,
                Err(_) => {
                    errors.insert("year".into(), format!("年份应为四位数，收到“{y}”"));
                    this
                }
            },
        };
        match MonthRange::parse(
            year,
            self.period.as_deref().unwrap_or(""),
            self.from.as_deref(),
            self.to.as_deref(),
        ) {
            Ok(r) => r,
            Err((field, msg)) => {
                errors.insert(field.into(), msg);
                MonthRange::year(this)
            }
        }
    }

    /// The period as query pairs for links.
    pub fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("year", self.year.clone()),
            ("period", self.period.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
        ]
    }
}

/// A unit's figures over the period.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnitRate {
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    pub counts: Counts,
}

impl UnitRate {
    pub fn on_time(&self) -> String {
        percent_text(self.counts.on_time_rate())
    }
    pub fn satisfaction(&self) -> String {
        percent_text(self.counts.satisfaction_rate())
    }
    pub fn resolution(&self) -> String {
        percent_text(self.counts.resolution_rate())
    }
}

/// A group's figures (a category, the city, what a unit admin sees).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupRate {
    pub id: i64,
    pub name: String,
    pub units: i64,
    pub counts: Counts,
}

impl GroupRate {
    pub fn on_time(&self) -> String {
        percent_text(self.counts.on_time_rate())
    }
    pub fn satisfaction(&self) -> String {
        percent_text(self.counts.satisfaction_rate())
    }
    pub fn resolution(&self) -> String {
        percent_text(self.counts.resolution_rate())
    }
    pub fn reopened(&self) -> String {
        percent_text(self.counts.reopened_rate())
    }
}

/// A month of the trend.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MonthRate {
    pub month: String,
    pub counts: Counts,
}

impl MonthRate {
    pub fn label(&self) -> String {
        self.month
            .split_once('-')
            .map_or(self.month.clone(), |(y, m)| {
                format!("{}/{}", &y[2..], m.trim_start_matches('0'))
            })
    }
    pub fn on_time(&self) -> String {
        percent_text(self.counts.on_time_rate())
    }
    pub fn satisfaction(&self) -> String {
        percent_text(self.counts.satisfaction_rate())
    }
    pub fn resolution(&self) -> String {
        percent_text(self.counts.resolution_rate())
    }
    /// Bar heights in the chart's 0–100 box.
    pub fn on_time_bar(&self) -> i64 {
        self.counts.on_time_rate().unwrap_or(0.0).round() as i64
    }
    pub fn satisfaction_bar(&self) -> i64 {
        self.counts.satisfaction_rate().unwrap_or(0.0).round() as i64
    }
}

/// A unit admin's view of its category: the category's figures and every unit's rate in it,
/// only its own named.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Distribution {
    pub category: GroupRate,
    /// Units of the category from the highest on-time rate down.
    pub entries: Vec<DistributionEntry>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DistributionEntry {
    pub place: i64,
    /// The unit's name when it is the caller's own, else absent.
    pub unit_name: Option<String>,
    pub on_time: String,
    pub satisfaction: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Rates {
    pub range: MonthRange,
    pub label: String,
    /// The city for the committee; the caller's units otherwise.
    pub total: GroupRate,
    pub categories: Vec<GroupRate>,
    pub units: Vec<UnitRate>,
    pub trend: Vec<MonthRate>,
    /// Units with the lowest on-time completion rate (committee only).
    pub bottom: Vec<UnitRate>,
    pub distribution: Vec<Distribution>,
}

/// How many units the bottom list names, and the orders due a unit needs to be in it.
pub const BOTTOM: usize = 10;
pub const BOTTOM_MIN_DUE: i64 = 5;

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RatesFilter {
    /// The year; this year without it.
    pub year: Option<String>,
    /// Within the year: q1–q4, h1–h2, m1–m12; the whole year without it.
    pub period: Option<String>,
    /// A range of months instead, `2022-01`…
    pub from: Option<String>,
    /// …to `2022-06`.
    pub to: Option<String>,
    pub category_id: Option<String>,
    /// Part of a unit's name.
    pub q: Option<String>,
    /// name | on_time | satisfaction | resolution | due | reopened
    pub sort: Option<String>,
    /// asc | desc
    pub dir: Option<String>,
}

impl RatesFilter {
    pub fn period(&self) -> PeriodQuery {
        PeriodQuery {
            year: self.year.clone(),
            period: self.period.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

pub const UNIT_SORTS: &[(&str, &str)] = &[
    ("name", "单位"),
    ("on_time", "按时办结率"),
    ("satisfaction", "回访满意率"),
    ("resolution", "问题解决率"),
    ("due", "应办结工单"),
    ("reopened", "重办工单"),
];
pub const DIRS: &[(&str, &str)] = &[("asc", "升序"), ("desc", "降序")];

/// Who sees the rates: the committee (everything) and unit admins (their units, their
/// category's distribution).
pub fn scope_units(user: &CurrentUser) -> Option<Vec<i64>> {
    if user.is_committee() {
        None
    } else {
        Some(user.unit_ids())
    }
}

pub async fn rates(state: &AppState, user: &CurrentUser, f: &RatesFilter) -> AppResult<Rates> {
    user.require(super::may_read(user))?;
    let mut errors = FieldErrors::new();
    let range = f.period().range(&mut errors);
    crate::web::check_id(&mut errors, "category_id", "类别", f.category_id.as_deref());
    crate::web::check_choice(&mut errors, "sort", "排序", f.sort.as_deref(), UNIT_SORTS);
    crate::web::check_choice(&mut errors, "dir", "排序方向", f.dir.as_deref(), DIRS);
    crate::web::filter_checked(errors)?;
    let category: Option<i64> = f.category_id.as_deref().and_then(|c| c.trim().parse().ok());
    let own = scope_units(user);
    let all_units = units(state).await?;
    let counts = unit_counts(state, &range).await?;
    let rate_of = |u: &UnitInfo| UnitRate {
        unit_id: u.unit_id,
        unit_name: u.name.clone(),
        category_id: u.category_id,
        category_name: u.category_name.clone(),
        counts: counts.get(&u.unit_id).copied().unwrap_or_default(),
    };
    let visible: Vec<UnitRate> = all_units
        .iter()
        .filter(|u| own.as_ref().is_none_or(|o| o.contains(&u.unit_id)))
        .filter(|u| category.is_none_or(|c| u.category_id == c))
        .map(rate_of)
        .collect();
    let group = |id: i64, name: &str, rows: &[&UnitRate]| {
        let mut c = Counts::default();
        for r in rows {
            c.add(&r.counts);
        }
        GroupRate {
            id,
            name: name.to_string(),
            units: rows.len() as i64,
            counts: c,
        }
    };
    let mut cats: Vec<(i64, String)> = visible
        .iter()
        .map(|r| (r.category_id, r.category_name.clone()))
        .collect();
    cats.dedup();
    let categories: Vec<GroupRate> = cats
        .iter()
        .map(|(id, name)| {
            let rows: Vec<&UnitRate> = visible.iter().filter(|r| r.category_id == *id).collect();
            group(*id, name, &rows)
        })
        .collect();
    let total_name = match (&own, category) {
        (None, None) => "全市".to_string(),
        (None, Some(_)) => categories
            .first()
            .map_or_else(|| "本类别".into(), |c| c.name.clone()),
        (Some(_), _) => "本单位".to_string(),
    };
    let total = group(0, &total_name, &visible.iter().collect::<Vec<_>>());
    // The trend of what the caller sees.
    let ids: Option<Vec<i64>> =
        (own.is_some() || category.is_some()).then(|| visible.iter().map(|r| r.unit_id).collect());
    let rows = months(state, &range).await?;
    let mut by_month: HashMap<&str, Counts> = HashMap::new();
    for r in rows.iter() {
        if ids.as_ref().is_none_or(|ids| ids.contains(&r.unit_id)) {
            by_month
                .entry(r.month.as_str())
                .or_default()
                .add(&r.counts());
        }
    }
    let trend = range
        .months()
        .into_iter()
        .map(|m| MonthRate {
            counts: by_month.get(m.as_str()).copied().unwrap_or_default(),
            month: m,
        })
        .collect();
    let bottom = if own.is_none() {
        let pairs: Vec<(i64, Counts)> = visible.iter().map(|r| (r.unit_id, r.counts)).collect();
        rules::bottom(&pairs, BOTTOM, BOTTOM_MIN_DUE)
            .into_iter()
            .filter_map(|id| visible.iter().find(|r| r.unit_id == id).cloned())
            .collect()
    } else {
        Vec::new()
    };
    let distribution = match &own {
        None => Vec::new(),
        Some(own) => {
            let mut cats: Vec<(i64, String)> = visible
                .iter()
                .map(|r| (r.category_id, r.category_name.clone()))
                .collect();
            cats.dedup();
            cats.into_iter()
                .map(|(cid, cname)| {
                    let mut members: Vec<UnitRate> = all_units
                        .iter()
                        .filter(|u| u.category_id == cid)
                        .map(rate_of)
                        .collect();
                    members.sort_by(|a, b| {
                        b.counts
                            .on_time_rate()
                            .unwrap_or(-1.0)
                            .total_cmp(&a.counts.on_time_rate().unwrap_or(-1.0))
                            .then(a.unit_id.cmp(&b.unit_id))
                    });
                    let refs: Vec<&UnitRate> = members.iter().collect();
                    Distribution {
                        category: group(cid, &cname, &refs),
                        entries: members
                            .iter()
                            .enumerate()
                            .map(|(i, m)| DistributionEntry {
                                place: i as i64 + 1,
                                unit_name: own.contains(&m.unit_id).then(|| m.unit_name.clone()),
                                on_time: m.on_time(),
                                satisfaction: m.satisfaction(),
                            })
                            .collect(),
                    }
                })
                .collect()
        }
    };
    let q = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut units: Vec<UnitRate> = visible
        .into_iter()
        .filter(|r| q.is_none_or(|q| r.unit_name.contains(q)))
        .collect();
    sort_units(&mut units, f.sort.as_deref(), f.dir.as_deref());
    Ok(Rates {
        label: range.label(),
        range,
        total,
        categories,
        units,
        trend,
        bottom,
        distribution,
    })
}

fn sort_units(units: &mut [UnitRate], sort: Option<&str>, dir: Option<&str>) {
    let key = |r: &UnitRate| -> f64 {
        let c = &r.counts;
        match sort.unwrap_or("") {
            "on_time" => c.on_time_rate().unwrap_or(-1.0),
            "satisfaction" => c.satisfaction_rate().unwrap_or(-1.0),
            "resolution" => c.resolution_rate().unwrap_or(-1.0),
            "due" => c.due as f64,
            "reopened" => c.reopened as f64,
            _ => 0.0,
        }
    };
    let by_name = matches!(sort.unwrap_or("name"), "name" | "");
    units.sort_by(|a, b| {
        let o = if by_name {
            a.category_id
                .cmp(&b.category_id)
                .then(a.unit_name.cmp(&b.unit_name))
        } else {
            key(a)
                .total_cmp(&key(b))
                .then(a.unit_name.cmp(&b.unit_name))
        };
        if dir == Some("desc") {
            o.reverse()
        } else {
            o
        }
    });
}

// ---------------------------------------------------------------- the orders behind

crate::choice! {
    /// Which months an order list reads: by the month received, due or closed.
    pub enum Basis {
        Received = "received", "受理月份", [];
        Due = "due", "到期月份", [];
        Closed = "closed", "办结月份", [];
    }
}

crate::choice! {
    /// A figure's part: the orders behind one number.
    pub enum Outcome {
        OnTime = "on_time", "按时办结", [];
        Late = "late", "未按时办结", [];
        Open = "open", "未办结", [];
        Reached = "reached", "回访成功", [];
        Satisfied = "satisfied", "满意和基本满意", [];
        Dissatisfied = "dissatisfied", "不满意", [];
        Unreached = "unreached", "未回访成功", [];
        Resolved = "resolved", "已解决", [];
        Unresolved = "unresolved", "未解决", [];
        Reopened = "reopened", "重办", [];
    }
}

impl Outcome {
    /// The months the figure this part belongs to counts by.
    pub fn basis(self) -> Basis {
        match self {
            Outcome::OnTime | Outcome::Late | Outcome::Open => Basis::Due,
            _ => Basis::Closed,
        }
    }

    fn condition(self) -> &'static str {
        match self {
            Outcome::OnTime => "o.closed_at is not null and o.closed_at <= o.deadline",
            Outcome::Late => "(o.closed_at is null or o.closed_at > o.deadline)",
            Outcome::Open => "o.closed_at is null",
            Outcome::Reached => "o.callback in ('satisfied', 'basic', 'dissatisfied')",
            Outcome::Satisfied => "o.callback in ('satisfied', 'basic')",
            Outcome::Dissatisfied => "o.callback = 'dissatisfied'",
            Outcome::Unreached => "o.callback = 'unreached'",
            Outcome::Resolved => "o.resolved = 1",
            Outcome::Unresolved => "o.resolved = 0",
            Outcome::Reopened => "o.reopened > 0",
        }
    }
}

pub const ORDER_SORTS: &[(&str, &str)] = &[
    ("received", "受理时间"),
    ("deadline", "办理时限"),
    ("closed", "办结时间"),
    ("order_no", "工单编号"),
];

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    /// The year; this year without it.
    pub year: Option<String>,
    /// Within the year: q1–q4, h1–h2, m1–m12; the whole year without it.
    pub period: Option<String>,
    /// A range of months instead, `2022-01`…
    pub from: Option<String>,
    /// …to `2022-06`.
    pub to: Option<String>,
    pub unit_id: Option<String>,
    pub category_id: Option<String>,
    /// received | due | closed: which month puts an order in the period (an outcome implies it).
    pub basis: Option<String>,
    /// on_time | late | open | reached | satisfied | dissatisfied | unreached | resolved | unresolved | reopened
    pub outcome: Option<String>,
    /// Part of an order number or title.
    pub q: Option<String>,
    /// received | deadline | closed | order_no
    pub sort: Option<String>,
    /// asc | desc (desc by default)
    pub dir: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl OrderFilter {
    pub fn period(&self) -> PeriodQuery {
        PeriodQuery {
            year: self.year.clone(),
            period: self.period.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct OrderLine {
    pub hotline_order_id: i64,
    pub order_no: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub title: String,
    pub received_at: i64,
    pub deadline: i64,
    pub closed_at: Option<i64>,
    pub reopened: i64,
    /// '' (no callback yet) | satisfied | basic | dissatisfied | unreached
    pub callback: String,
    pub resolved: Option<i64>,
}

impl crate::db::FromSqlite for OrderLine {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(OrderLine {
            hotline_order_id: r.get(0)?,
            order_no: r.get(1)?,
            unit_id: r.get(2)?,
            unit_name: r.get(3)?,
            title: r.get(4)?,
            received_at: r.get(5)?,
            deadline: r.get(6)?,
            closed_at: r.get(7)?,
            reopened: r.get(8)?,
            callback: r.get(9)?,
            resolved: r.get(10)?,
        })
    }
}

const ORDER_SELECT: &str = "select o.hotline_order_id, o.order_no, o.unit_id, u.name as unit_name, o.title, o.received_at, o.deadline, o.closed_at, o.reopened, o.callback, o.resolved from hotline_order o join unit u on u.unit_id = o.unit_id";

impl OrderLine {
    pub fn received(&self) -> String {
        crate::clock::fmt_time(self.received_at)
    }
    pub fn deadline_text(&self) -> String {
        crate::clock::fmt_time(self.deadline)
    }
    pub fn closed(&self) -> String {
        self.closed_at
            .map_or_else(String::new, crate::clock::fmt_time)
    }
    pub fn on_time(&self) -> bool {
        self.closed_at.is_some_and(|c| c <= self.deadline)
    }
    /// 按时办结 / 逾期办结 / 在办 / 逾期未办结
    pub fn status(&self) -> &'static str {
        match self.closed_at {
            Some(c) if c <= self.deadline => "按时办结",
            Some(_) => "逾期办结",
            None if self.deadline < crate::clock::now() => "逾期未办结",
            None => "在办",
        }
    }
    pub fn callback_label(&self) -> &'static str {
        match Callback::from_key(&self.callback) {
            Some(c) => c.label(),
            None => "未回访",
        }
    }
    pub fn resolved_label(&self) -> &'static str {
        match self.resolved {
            Some(1) => "已解决",
            Some(_) => "未解决",
            None => "—",
        }
    }
}

/// The checked filter: the months, what is asked for, the caller's units.
struct OrderQuery {
    range: MonthRange,
    basis: Basis,
    outcome: Option<Outcome>,
    unit: Option<i64>,
    category: Option<i64>,
    own: Option<Vec<i64>>,
    q: Option<String>,
}

fn order_query(user: &CurrentUser, f: &OrderFilter) -> AppResult<OrderQuery> {
    user.require(super::may_read(user))?;
    let mut errors = FieldErrors::new();
    let range = f.period().range(&mut errors);
    crate::web::check_id(&mut errors, "unit_id", "单位", f.unit_id.as_deref());
    crate::web::check_id(&mut errors, "category_id", "类别", f.category_id.as_deref());
    crate::web::check_choice(
        &mut errors,
        "basis",
        "统计口径",
        f.basis.as_deref(),
        &Basis::options(),
    );
    crate::web::check_choice(
        &mut errors,
        "outcome",
        "工单类别",
        f.outcome.as_deref(),
        &Outcome::options(),
    );
    crate::web::check_choice(&mut errors, "sort", "排序", f.sort.as_deref(), ORDER_SORTS);
    crate::web::check_choice(&mut errors, "dir", "排序方向", f.dir.as_deref(), DIRS);
    crate::web::filter_checked(errors)?;
    let outcome = f
        .outcome
        .as_deref()
        .and_then(|o| Outcome::from_key(o.trim()));
    let basis = match outcome {
        Some(o) => o.basis(),
        None => f
            .basis
            .as_deref()
            .and_then(|b| Basis::from_key(b.trim()))
            .unwrap_or(Basis::Received),
    };
    let unit: Option<i64> = f.unit_id.as_deref().and_then(|u| u.trim().parse().ok());
    let own = scope_units(user);
    if let (Some(u), Some(own)) = (unit, &own) {
        if !own.contains(&u) {
            return Err(AppError::NotFound);
        }
    }
    Ok(OrderQuery {
        range,
        basis,
        outcome,
        unit,
        category: f.category_id.as_deref().and_then(|c| c.trim().parse().ok()),
        own,
        q: f.q
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

/// The list's order: the one asked for, else the instant its months are read by (so a page
/// is read along that instant's index).
pub fn sort_key(f: &OrderFilter, basis: Basis) -> &'static str {
    match f.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(k) => ORDER_SORTS
            .iter()
            .find(|(key, _)| *key == k)
            .map_or("received", |(key, _)| key),
        None => match basis {
            Basis::Received => "received",
            Basis::Due => "deadline",
            Basis::Closed => "closed",
        },
    }
}

/// The first second of a month in Beijing time.
fn month_start(month: &str) -> i64 {
    rules::parse_instant(&format!("{month}-01"), false, crate::clock::beijing()).unwrap_or(0)
}

fn next_month(month: &str) -> String {
    let (y, m) = month.split_once('-').unwrap_or(("2000", "01"));
    let (y, m): (i32, u32) = (y.parse().unwrap_or(2000), m.parse().unwrap_or(1));
    if m >= 12 {
        format!("{:04}-01", y + 1)
    } else {
        format!("{y:04}-{:02}", m + 1)
    }
}

fn where_clause(sql: &mut Sql, backend: crate::db::Backend, q: &OrderQuery) {
    sql.push(" where ");
    match q.basis {
        Basis::Received => {
            sql.push("o.received_at >= ")
                .bind(month_start(&q.range.from))
                .push(" and o.received_at < ")
                .bind(month_start(&next_month(&q.range.to)));
        }
        // The months as instants: the same orders as `due_month`/`closed_month` name, read
        // along the instant's index.
        Basis::Due => {
            sql.push("o.deadline >= ")
                .bind(month_start(&q.range.from))
                .push(" and o.deadline < ")
                .bind(month_start(&next_month(&q.range.to)));
        }
        Basis::Closed => {
            sql.push("o.closed_at >= ")
                .bind(month_start(&q.range.from))
                .push(" and o.closed_at < ")
                .bind(month_start(&next_month(&q.range.to)));
        }
    }
    if let Some(own) = &q.own {
        sql.push(" and o.unit_id in ").bind_list(own);
    }
    if let Some(u) = q.unit {
        sql.push(" and o.unit_id = ").bind(u);
    }
    if let Some(c) = q.category {
        sql.push(" and o.unit_id in (select unit_id from unit where category_id = ")
            .bind(c)
            .push(")");
    }
    if let Some(o) = q.outcome {
        sql.push(" and ").push(o.condition());
    }
    if let Some(text) = &q.q {
        sql.push(" and (");
        sql.contains(backend, "o.order_no", text);
        sql.push(" or ");
        sql.contains(backend, "o.title", text);
        sql.push(")");
    }
}

/// What a list of orders answers: a page (or all, for the export) and the count.
pub struct Orders {
    pub rows: Vec<OrderLine>,
    pub total: i64,
    pub range: MonthRange,
    pub basis: Basis,
    pub outcome: Option<Outcome>,
}

/// The orders behind a figure, under the caller's scope; all of them (for the export) when
/// `all_rows`, at most `crate::xlsx::MAX_ROWS`.
pub async fn orders(
    state: &AppState,
    user: &CurrentUser,
    f: &OrderFilter,
    all_rows: bool,
) -> AppResult<Orders> {
    let q = order_query(user, f)?;
    let backend = state.db.backend;
    let mut sql = Sql::new(ORDER_SELECT);
    where_clause(&mut sql, backend, &q);
    let col = match sort_key(f, q.basis) {
        "deadline" => "o.deadline",
        "closed" => "o.closed_at",
        "order_no" => "o.order_no",
        _ => "o.received_at",
    };
    let dir = if f.dir.as_deref() == Some("asc") {
        "asc"
    } else {
        "desc"
    };
    sql.push(&format!(" order by {col} {dir}, o.hotline_order_id {dir}"));
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let rows: Vec<OrderLine> = if all_rows {
        sql.push(" limit ")
            .bind(i64::from(crate::xlsx::MAX_ROWS) - 1);
        sql.fetch_all(&state.db.pool).await?
    } else {
        sql.push(" limit ")
            .bind(paging.per_page())
            .push(" offset ")
            .bind(paging.offset());
        sql.fetch_page(&state.db).await?
    };
    let mut count = Sql::new("select count(*) from hotline_order o");
    where_clause(&mut count, backend, &q);
    // Remembered until an import; computed once when many callers miss together (a city's
    // year of orders takes a while to count).
    let key = format!("orders-count {} {:?}", count.text, count.args);
    let total = *state
        .ext::<QueryCache>()
        .derived(&state.db, "hotline", &key, || async {
            count.fetch_scalar(&state.db.pool).await
        })
        .await?;
    Ok(Orders {
        rows,
        total,
        range: q.range,
        basis: q.basis,
        outcome: q.outcome,
    })
}

/// The orders behind an indicator's reading: at most `limit` of the subject's orders of the
/// months by `against`'s basis, those counting against the figure first. Two reads along the
/// instant's index, each stopping at the limit: no sort of a city's year of orders.
pub async fn behind(
    state: &AppState,
    units: Option<&[i64]>,
    range: &MonthRange,
    against: Outcome,
    limit: i64,
) -> AppResult<Vec<OrderLine>> {
    let q = OrderQuery {
        range: range.clone(),
        basis: against.basis(),
        outcome: None,
        unit: None,
        category: None,
        own: units.map(<[i64]>::to_vec),
        q: None,
    };
    // The other part of the figure: closed by the deadline, or satisfied of those reached.
    let counted = match against {
        Outcome::Late => Outcome::OnTime,
        _ => Outcome::Satisfied,
    };
    let mut out: Vec<OrderLine> = Vec::new();
    for part in [against, counted] {
        let left = limit - out.len() as i64;
        if left <= 0 {
            break;
        }
        let mut sql = Sql::new(ORDER_SELECT);
        where_clause(&mut sql, state.db.backend, &q);
        sql.push(" and ")
            .push(part.condition())
            .push(" limit ")
            .bind(left);
        out.extend(sql.fetch_all::<OrderLine>(&state.db.pool).await?);
    }
    Ok(out)
}
