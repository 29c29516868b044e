//! The volunteer bank's figures: a member's balance and history, a community's served hours
//! by month, unit / category / city totals with hours per member, report rates and the
//! ranking of units within their category by hours per member, the monthly trend, and the
//! members who have not reported yet. Hours come from the aggregates kept on write
//! (`volunteer_hours_branch`, `volunteer_hours_community`), never summed from the ledger
//! per request.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ledger;
use super::rules::{self, ReportPeriod};
use super::store::{self, own_member};
use crate::auth::{CurrentUser, Role};
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::Paging;

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct HistoryLine {
    pub ledger_transfer_id: i64,
    /// confirmation | reversal | redemption
    pub kind: String,
    /// Signed, for this account.
    pub amount: i64,
    pub reason: String,
    pub community_name: String,
    pub month: String,
    pub created_at: i64,
    /// Reversed by a later transfer.
    pub reversed: i64,
}

impl crate::db::FromSqlite for HistoryLine {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(HistoryLine {
            ledger_transfer_id: r.get(0)?,
            kind: r.get(1)?,
            amount: r.get(2)?,
            reason: r.get(3)?,
            community_name: r.get(4)?,
            month: r.get(5)?,
            created_at: r.get(6)?,
            reversed: r.get(7)?,
        })
    }
}

impl HistoryLine {
    pub fn kind_label(&self) -> &'static str {
        ledger::kind_label(&self.kind)
    }
    pub fn hours(&self) -> String {
        let h = rules::hours_text(self.amount);
        if self.amount > 0 {
            format!("+{h}")
        } else {
            h
        }
    }
    pub fn at(&self) -> String {
        crate::clock::fmt_time(self.created_at)
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Account {
    pub member_id: i64,
    /// Minutes.
    pub balance: i64,
    /// Minutes served (confirmed, less reversals), all time.
    pub served: i64,
    pub history: Vec<HistoryLine>,
    pub total: i64,
}

impl Account {
    pub fn balance_hours(&self) -> String {
        rules::hours_text(self.balance)
    }
    pub fn served_hours(&self) -> String {
        rules::hours_text(self.served)
    }
}

/// The caller's (a member's) account: balance, hours served, a page of history.
pub async fn account(state: &AppState, user: &CurrentUser, paging: &Paging) -> AppResult<Account> {
    let member = own_member(user)?;
    // Remembered until the next transfer anywhere (a transfer moves the 'volunteer' version):
    // a member looks at their hours far more often than anyone posts.
    let key = format!("account {member} {} {}", paging.per_page(), paging.offset());
    let acct = state
        .ext::<crate::db::QueryCache>()
        .derived(&state.db, "volunteer", &key, || async move {
            read_account(state, member, paging)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await
        .map_err(AppError::Internal)?;
    Ok(acct.as_ref().clone())
}

async fn read_account(state: &AppState, member: i64, paging: &Paging) -> AppResult<Account> {
    // Short reads by key: on SQLite through the inline read-only connections (a member's
    // page is read far more often than it changes).
    let mut sql =
        Sql::new("select ledger_account_id, balance from ledger_account where member_id = ");
    sql.bind(member);
    let acct: Option<(i64, i64)> = sql.fetch_page(&state.db).await?.into_iter().next();
    let mut sql = Sql::new(
        "select cast(coalesce(sum(served), 0) as bigint) from ledger_transfer where member_id = ",
    );
    sql.bind(member);
    let served = sql
        .fetch_page::<(i64,)>(&state.db)
        .await?
        .first()
        .map_or(0, |x| x.0);
    let Some((acct, balance)) = acct else {
        return Ok(Account {
            member_id: member,
            balance: 0,
            served,
            history: Vec::new(),
            total: 0,
        });
    };
    let history = history(state, acct, Some(paging)).await?;
    let mut sql = Sql::new("select count(*) from ledger_movement where ledger_account_id = ");
    sql.bind(acct);
    let total = sql
        .fetch_page::<(i64,)>(&state.db)
        .await?
        .first()
        .map_or(0, |x| x.0);
    Ok(Account {
        member_id: member,
        balance,
        served,
        history,
        total,
    })
}

/// An account's movements, newest first; all of them without `paging`.
pub async fn history(
    state: &AppState,
    account: i64,
    paging: Option<&Paging>,
) -> AppResult<Vec<HistoryLine>> {
    let mut sql = Sql::new(
        "select t.ledger_transfer_id, t.kind, mv.amount, t.reason, coalesce(c.name, '') as community_name, t.month, t.created_at, \
         (select count(*) from ledger_transfer r where r.reverses_id = t.ledger_transfer_id) as reversed \
         from ledger_movement mv join ledger_transfer t on t.ledger_transfer_id = mv.ledger_transfer_id \
         left join community c on c.community_id = t.community_id where mv.ledger_account_id = ",
    );
    sql.bind(account)
        .push(" order by mv.ledger_movement_id desc");
    if let Some(p) = paging {
        sql.push(" limit ")
            .bind(p.per_page())
            .push(" offset ")
            .bind(p.offset());
    }
    Ok(sql.fetch_page(&state.db).await?)
}

/// The caller's whole history (for the export).
pub async fn my_history(state: &AppState, user: &CurrentUser) -> AppResult<Vec<HistoryLine>> {
    let member = own_member(user)?;
    let acct: Option<i64> =
        sqlx::query_scalar("select ledger_account_id from ledger_account where member_id = $1")
            .bind(member)
            .fetch_optional(&state.db.pool)
            .await?;
    match acct {
        Some(a) => history(state, a, None).await,
        None => Ok(Vec::new()),
    }
}

/// A month's served minutes.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MonthFigure {
    /// `2026-05`
    pub month: String,
    pub minutes: i64,
}

impl MonthFigure {
    pub fn hours(&self) -> String {
        rules::hours_text(self.minutes)
    }
    pub fn label(&self) -> String {
        self.month
            .split_once('-')
            .map_or(self.month.clone(), |(_, m)| {
                format!("{}月", m.trim_start_matches('0'))
            })
    }
}

fn twelve(year: i32, rows: Vec<(String, i64)>) -> Vec<MonthFigure> {
    let map: HashMap<String, i64> = rows.into_iter().collect();
    rules::months_of(year)
        .into_iter()
        .map(|m| MonthFigure {
            minutes: map.get(&m).copied().unwrap_or(0),
            month: m,
        })
        .collect()
}

fn year_bounds(year: i32) -> (String, String) {
    (format!("{year:04}-01"), format!("{year:04}-12"))
}

/// A community's served hours by month of `year` (the community itself, the committee).
pub async fn community_months(
    state: &AppState,
    user: &CurrentUser,
    community_id: i64,
    year: i32,
) -> AppResult<Vec<MonthFigure>> {
    if !(user.is_committee() || user.community_ids().contains(&community_id)) {
        return Err(AppError::NotFound);
    }
    let (a, b) = year_bounds(year);
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select month, minutes from volunteer_hours_community where community_id = $1 and month >= $2 and month <= $3",
    )
    .bind(community_id)
    .bind(a)
    .bind(b)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(twelve(year, rows))
}

/// A unit's figures of a year.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnitFigure {
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    /// Members on the register.
    pub members: i64,
    /// Of them, with a confirmed report in the year.
    pub reported: i64,
    /// Minutes served in the year by members while in the unit.
    pub minutes: i64,
    /// Place among the units of its category by hours per member (1 = most).
    pub rank: i64,
    pub of: i64,
}

impl UnitFigure {
    pub fn hours(&self) -> String {
        rules::hours_text(self.minutes)
    }
    pub fn per_member(&self) -> String {
        rules::per_member(self.minutes, self.members).map_or("—".into(), |v| format!("{v:.1}"))
    }
    pub fn per_member_value(&self) -> f64 {
        rules::per_member(self.minutes, self.members).unwrap_or(0.0)
    }
    pub fn rate(&self) -> String {
        crate::text::rate(self.reported, self.members).map_or("—".into(), |r| format!("{r:.1}%"))
    }
}

/// Totals over a group of units (a category, the city).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Total {
    pub id: i64,
    pub name: String,
    pub units: i64,
    pub members: i64,
    pub reported: i64,
    pub minutes: i64,
}

impl Total {
    pub fn hours(&self) -> String {
        rules::hours_text(self.minutes)
    }
    pub fn per_member(&self) -> String {
        rules::per_member(self.minutes, self.members).map_or("—".into(), |v| format!("{v:.1}"))
    }
    pub fn rate(&self) -> String {
        crate::text::rate(self.reported, self.members).map_or("—".into(), |r| format!("{r:.1}%"))
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Stats {
    pub year: i32,
    pub units: Vec<UnitFigure>,
    pub categories: Vec<Total>,
    /// The totals of what the caller sees (the city for the committee).
    pub total: Total,
    pub trend: Vec<MonthFigure>,
}

impl Stats {
    /// The trend's tallest bar, for scaling the chart.
    pub fn peak(&self) -> i64 {
        self.trend
            .iter()
            .map(|m| m.minutes)
            .max()
            .unwrap_or(0)
            .max(1)
    }
    /// Bar height in the chart's 0–100 box.
    pub fn bar(&self, m: &MonthFigure) -> i64 {
        m.minutes * 100 / self.peak()
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsFilter {
    /// The year; this year without it.
    pub year: Option<String>,
    pub category_id: Option<String>,
}

pub fn year_param(errors: &mut FieldErrors, v: Option<&str>) -> i32 {
    let this = crate::clock::today().year();
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => this,
        Some(y) => match y.parse::<i32>() {
            Ok(v) if (2000..=2100).contains(&v) => v,
            _ => {
                errors.insert(
                    "year".into(),
                    format!("年度应为2000至2100之间的年份，收到“{y}”"),
                );
                this
            }
        },
    }
}

/// Members on the register and those reported, per unit, and minutes per unit, of a year.
async fn unit_rows(state: &AppState, year: i32) -> AppResult<Vec<UnitFigure>> {
    let (low, high) = ReportPeriod::year_range(year);
    let units: Vec<(i64, String, i64, String)> = sqlx::query_as(
        "select u.unit_id, u.name, u.category_id, c.name from unit u join category c on c.category_id = u.category_id order by c.category_id, u.name",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let members: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "select unit_id, count(*) from member where status = 'active' group by unit_id",
    )
    .fetch_all(&state.db.pool)
    .await?
    .into_iter()
    .collect();
    let reported: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "select m.unit_id, count(*) from member m where m.status = 'active' and exists \
         (select 1 from volunteer_report r where r.member_id = m.member_id and r.status = 'confirmed' and r.period >= $1 and r.period < $2) group by m.unit_id",
    )
    .bind(low)
    .bind(high)
    .fetch_all(&state.db.pool)
    .await?
    .into_iter()
    .collect();
    let (a, b) = year_bounds(year);
    let minutes: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "select unit_id, cast(sum(minutes) as bigint) from volunteer_hours_branch where month >= $1 and month <= $2 group by unit_id",
    )
    .bind(a)
    .bind(b)
    .fetch_all(&state.db.pool)
    .await?
    .into_iter()
    .collect();
    let mut rows: Vec<UnitFigure> = units
        .into_iter()
        .map(|(id, name, cat, cat_name)| UnitFigure {
            unit_id: id,
            unit_name: name,
            category_id: cat,
            category_name: cat_name,
            members: members.get(&id).copied().unwrap_or(0),
            reported: reported.get(&id).copied().unwrap_or(0),
            minutes: minutes.get(&id).copied().unwrap_or(0),
            rank: 0,
            of: 0,
        })
        .collect();
    // Rank within the category by hours per member, so small units compete fairly.
    let mut by_cat: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_cat.entry(r.category_id).or_default().push(i);
    }
    for idx in by_cat.values_mut() {
        idx.sort_by(|&x, &y| {
            rows[y]
                .per_member_value()
                .total_cmp(&rows[x].per_member_value())
                .then(rows[x].unit_name.cmp(&rows[y].unit_name))
        });
        let of = idx.len() as i64;
        for (place, &i) in idx.iter().enumerate() {
            rows[i].rank = place as i64 + 1;
            rows[i].of = of;
        }
    }
    Ok(rows)
}

fn total_of<'a>(id: i64, name: &str, rows: impl Iterator<Item = &'a UnitFigure>) -> Total {
    let mut t = Total {
        id,
        name: name.to_string(),
        units: 0,
        members: 0,
        reported: 0,
        minutes: 0,
    };
    for r in rows {
        t.units += 1;
        t.members += r.members;
        t.reported += r.reported;
        t.minutes += r.minutes;
    }
    t
}

/// The figures of `year` under the caller's scope: the committee every unit, category and
/// the city; a unit admin their own units (ranked among all of their category).
pub async fn stats(state: &AppState, user: &CurrentUser, f: &StatsFilter) -> AppResult<Stats> {
    user.require(super::may_stats(user))?;
    let mut errors = FieldErrors::new();
    let year = year_param(&mut errors, f.year.as_deref());
    crate::web::check_id(&mut errors, "category_id", "类别", f.category_id.as_deref());
    crate::web::filter_checked(errors)?;
    let category: Option<i64> = f.category_id.as_deref().and_then(|c| c.trim().parse().ok());
    // The figures of a scope, year and category, remembered until a transfer or report (the
    // 'volunteer' version) or the register (members, units: the 'registry' version) changes:
    // the city's months and every unit's rates are read from all members and reports.
    let scope = if user.is_committee() {
        "all".to_string()
    } else {
        let mut ids = user.unit_ids();
        ids.sort_unstable();
        format!("{ids:?}")
    };
    let registry = crate::db::data_version(&state.db, "registry").await?;
    let key = format!("stats {scope} {year} {category:?} r{registry}");
    let committee = user.is_committee();
    let unit_ids = user.unit_ids();
    let stats = state
        .ext::<crate::db::QueryCache>()
        .derived(&state.db, "volunteer", &key, || async move {
            compute_stats(state, committee, &unit_ids, year, category)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await
        .map_err(AppError::Internal)?;
    Ok(stats.as_ref().clone())
}

async fn compute_stats(
    state: &AppState,
    committee: bool,
    unit_ids: &[i64],
    year: i32,
    category: Option<i64>,
) -> AppResult<Stats> {
    let all = unit_rows(state, year).await?;
    let units: Vec<UnitFigure> = all
        .into_iter()
        .filter(|r| committee || unit_ids.contains(&r.unit_id))
        .filter(|r| category.is_none_or(|c| r.category_id == c))
        .collect();
    let mut cats: Vec<(i64, String)> = units
        .iter()
        .map(|r| (r.category_id, r.category_name.clone()))
        .collect();
    cats.dedup();
    let categories = cats
        .iter()
        .map(|(id, name)| total_of(*id, name, units.iter().filter(|r| r.category_id == *id)))
        .collect();
    let total = total_of(
        0,
        if committee && category.is_none() {
            "全市"
        } else {
            "合计"
        },
        units.iter(),
    );
    let (a, b) = year_bounds(year);
    let mut sql = Sql::new(
        "select month, cast(sum(minutes) as bigint) from volunteer_hours_branch where month >= ",
    );
    sql.bind(a).push(" and month <= ").bind(b);
    if !committee || category.is_some() {
        let ids: Vec<i64> = units.iter().map(|r| r.unit_id).collect();
        sql.push(" and unit_id in ").bind_list(&ids);
    }
    sql.push(" group by month");
    let trend = twelve(year, sql.fetch_all(&state.db.pool).await?);
    Ok(Stats {
        year,
        units,
        categories,
        total,
        trend,
    })
}

/// A member who has not reported in the period.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Missing {
    pub member_id: i64,
    pub member_name: String,
    pub unit_name: String,
    pub branch_name: String,
    /// pending / declined report's status, if any.
    pub report_status: Option<String>,
    pub community_name: Option<String>,
}

impl Missing {
    pub fn status_label(&self) -> &'static str {
        match self.report_status.as_deref() {
            Some(s) => store::report_status_label(s),
            None => "未报到",
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MissingFilter {
    /// `2026H1`; the current period without it.
    pub period: Option<String>,
    pub unit_id: Option<String>,
    /// Part of a name.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Members on the register in the caller's scope with no confirmed report in the period.
pub async fn missing(
    state: &AppState,
    user: &CurrentUser,
    f: &MissingFilter,
    all_rows: bool,
) -> AppResult<(Vec<Missing>, i64, ReportPeriod)> {
    user.require(super::may_see_missing(user))?;
    let mut errors = FieldErrors::new();
    let period = store::period_param(state, &mut errors, f.period.as_deref()).await?;
    crate::web::check_id(&mut errors, "unit_id", "单位", f.unit_id.as_deref());
    crate::web::filter_checked(errors)?;
    let unit: Option<i64> = f.unit_id.as_deref().and_then(|u| u.trim().parse().ok());
    let key = period.key();
    let build = |sql: &mut Sql| {
        sql.push(" where m.status = 'active' and not exists (select 1 from volunteer_report r where r.member_id = m.member_id and r.status = 'confirmed' and r.period = ")
            .bind(key.clone())
            .push(") and (");
        if user.is_committee() {
            sql.push("1 = 1");
        } else {
            crate::auth::Scope::any_of(
                sql,
                &[
                    ("m.unit_id", &user.unit_ids()),
                    ("m.branch_id", &user.branch_ids()),
                ],
            );
        }
        sql.push(")");
        if let Some(u) = unit {
            sql.push(" and m.unit_id = ").bind(u);
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            sql.push(" and m.name like ").bind(format!("%{q}%"));
        }
    };
    let mut sql = Sql::new(
        "select m.member_id, m.name as member_name, u.name as unit_name, o.name as branch_name, \
         (select r.status from volunteer_report r where r.member_id = m.member_id and r.period = ",
    );
    sql.bind(key.clone()).push(
        " order by r.volunteer_report_id desc limit 1) as report_status, \
         (select c.name from volunteer_report r join community c on c.community_id = r.community_id where r.member_id = m.member_id and r.period = ",
    );
    sql.bind(key.clone()).push(
        " order by r.volunteer_report_id desc limit 1) as community_name \
         from member m join unit u on u.unit_id = m.unit_id join org o on o.org_id = m.branch_id",
    );
    build(&mut sql);
    sql.push(" order by u.name, o.name, m.name, m.member_id");
    if !all_rows {
        let p = Paging {
            page: f.page,
            per_page: f.per_page,
        };
        sql.push(" limit ")
            .bind(p.per_page())
            .push(" offset ")
            .bind(p.offset());
    }
    let rows = sql.fetch_all(&state.db.pool).await?;
    let mut count = Sql::new("select count(*) from member m");
    build(&mut count);
    Ok((rows, count.fetch_scalar(&state.db.pool).await?, period))
}

/// Whether the user is a member (for pages choosing what to show).
pub fn is_member(user: &CurrentUser) -> bool {
    user.has(Role::Member) && !user.member_ids().is_empty()
}
