//! The views across pledges: who has not pledged yet (division heads without an accepted
//! pledge, per unit), and the figures per unit and category — pledge rate, average public
//! rating, fulfilment rates — under the caller's scope.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{Fulfilment, PledgeStatus};
use super::store::{year_param, PledgeLine, LINE_COLUMNS};
use super::{may_read_views, may_stats};
use crate::auth::CurrentUser;
use crate::db::Sql;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{ListPage, Paging};

/// A division head without an accepted pledge in the year.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct MissingLine {
    pub member_id: i64,
    pub member_name: String,
    pub position: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub branch_name: String,
    pub category_name: String,
    pub pledge_id: Option<i64>,
    /// None: not pledged at all; else draft | submitted | returned.
    pub status: Option<String>,
}

impl MissingLine {
    pub fn status_label(&self) -> &'static str {
        match self.status.as_deref() {
            None => "未承诺",
            Some(s) => PledgeStatus::label_of(s),
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MissingFilter {
    pub year: Option<String>,
    pub unit_id: Option<String>,
    pub category_id: Option<String>,
    /// Part of the name or the unit's name.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Every division head in the caller's scope without an accepted pledge in the year.
pub async fn all_missing(
    state: &AppState,
    user: &CurrentUser,
    f: &MissingFilter,
) -> AppResult<(i64, Vec<MissingLine>)> {
    user.require(may_read_views(user))?;
    let mut errors = crate::error::FieldErrors::new();
    let year = year_param(&mut errors, f.year.as_deref());
    crate::web::check_id(&mut errors, "unit_id", "单位", f.unit_id.as_deref());
    crate::web::check_id(&mut errors, "category_id", "类别", f.category_id.as_deref());
    crate::web::filter_checked(errors)?;
    let mut sql = Sql::new(
        "select m.member_id, m.name as member_name, coalesce(m.position, '') as position, m.unit_id, \
         u.name as unit_name, o.name as branch_name, c.name as category_name, p.pledge_id, p.status \
         from member m join unit u on u.unit_id = m.unit_id \
         join category c on c.category_id = u.category_id join org o on o.org_id = m.branch_id \
         left join pledge p on p.member_id = m.member_id and p.year = ",
    );
    sql.bind(year).push(
        " where m.status = 'active' and m.is_division_head = 1 \
         and (p.pledge_id is null or p.status <> 'accepted') and ",
    );
    user.scope().member_condition(&mut sql);
    if let Some(u) = f
        .unit_id
        .as_deref()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        sql.push(" and m.unit_id = ").bind(u);
    }
    if let Some(c) = f
        .category_id
        .as_deref()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        sql.push(" and u.category_id = ").bind(c);
    }
    let q = crate::text::clean_text(f.q.as_deref().unwrap_or(""));
    if !q.is_empty() {
        sql.push(" and (");
        sql.contains(state.db.backend, "m.name", &q);
        sql.push(" or ");
        sql.contains(state.db.backend, "u.name", &q);
        sql.push(")");
    }
    sql.push(" order by u.name, o.name, m.name, m.member_id");
    Ok((year, sql.fetch_all(&state.db.pool).await?))
}

pub async fn list_missing(
    state: &AppState,
    user: &CurrentUser,
    f: &MissingFilter,
) -> AppResult<(i64, ListPage<MissingLine>)> {
    let (year, rows) = all_missing(state, user, f).await?;
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    Ok((year, ListPage::paged(rows, &paging)))
}

/// The figures of a unit, a category or the city.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct Stat {
    /// unit or category id; 0 for the city.
    pub id: i64,
    pub name: String,
    pub category_name: String,
    /// Division heads on the register, and those with an accepted pledge.
    pub heads: i64,
    pub heads_pledged: i64,
    /// Accepted pledges by anyone.
    pub pledges: i64,
    /// Published feedback and the sum of its ratings.
    pub feedback_n: i64,
    pub rating_sum: i64,
    /// Accepted pledges rated at year end (the committee's rating over the unit's), by result.
    pub fulfilled: i64,
    pub partly: i64,
    pub not: i64,
}

impl Stat {
    pub fn rated(&self) -> i64 {
        self.fulfilled + self.partly + self.not
    }
    pub fn pledge_rate(&self) -> String {
        rate_text(self.heads_pledged, self.heads)
    }
    pub fn average(&self) -> String {
        super::rules::average_text(self.rating_sum, self.feedback_n)
    }
    pub fn fulfilled_rate(&self) -> String {
        rate_text(self.fulfilled, self.rated())
    }
    pub fn partly_rate(&self) -> String {
        rate_text(self.partly, self.rated())
    }
    pub fn not_rate(&self) -> String {
        rate_text(self.not, self.rated())
    }
    fn add(&mut self, o: &Stat) {
        self.heads += o.heads;
        self.heads_pledged += o.heads_pledged;
        self.pledges += o.pledges;
        self.feedback_n += o.feedback_n;
        self.rating_sum += o.rating_sum;
        self.fulfilled += o.fulfilled;
        self.partly += o.partly;
        self.not += o.not;
    }
}

pub fn rate_text(met: i64, due: i64) -> String {
    crate::text::rate(met, due).map_or("—".into(), |r| format!("{r:.1}%"))
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Stats {
    pub year: i64,
    pub units: Vec<Stat>,
    pub categories: Vec<Stat>,
    pub city: Stat,
}

/// The year's figures per unit and category in the caller's scope (the committee: the city;
/// a unit admin: their units).
pub async fn stats(state: &AppState, user: &CurrentUser, year: i64) -> AppResult<Stats> {
    user.require(may_stats(user))?;
    let mut units_sql = Sql::new(
        "select u.unit_id, u.name, u.category_id, c.name from unit u \
         join category c on c.category_id = u.category_id where ",
    );
    user.registry_scope().unit_condition(&mut units_sql);
    units_sql.push(" order by c.sort_order, u.name");
    let units: Vec<(i64, String, i64, String)> = units_sql.fetch_all(&state.db.pool).await?;
    let mut heads_sql = Sql::new(
        "select m.unit_id, count(*), \
         cast(coalesce(sum(case when p.pledge_id is not null then 1 else 0 end), 0) as bigint) \
         from member m left join pledge p on p.member_id = m.member_id and p.status = 'accepted' and p.year = ",
    );
    heads_sql
        .bind(year)
        .push(" where m.status = 'active' and m.is_division_head = 1 group by m.unit_id");
    let heads: Vec<(i64, i64, i64)> = heads_sql.fetch_all(&state.db.pool).await?;
    let heads: BTreeMap<i64, (i64, i64)> = heads.into_iter().map(|(u, h, p)| (u, (h, p))).collect();
    let mut lines_sql = Sql::new(&format!(
        "select {LINE_COLUMNS} where p.status = 'accepted' and p.year = "
    ));
    lines_sql.bind(year);
    let lines: Vec<PledgeLine> = lines_sql.fetch_all(&state.db.pool).await?;
    let mut by_unit: BTreeMap<i64, Stat> = BTreeMap::new();
    for l in &lines {
        let s = by_unit.entry(l.unit_id).or_default();
        s.pledges += 1;
        s.feedback_n += l.feedback_n;
        s.rating_sum += l.rating_sum;
        match l.final_result() {
            Some(Fulfilment::Fulfilled) => s.fulfilled += 1,
            Some(Fulfilment::Partly) => s.partly += 1,
            Some(Fulfilment::Not) => s.not += 1,
            None => {}
        }
    }
    let mut out_units = Vec::new();
    let mut cats: Vec<Stat> = Vec::new();
    let mut city = Stat {
        name: "全市".into(),
        ..Default::default()
    };
    for (id, name, cat_id, cat_name) in units {
        let mut s = by_unit.remove(&id).unwrap_or_default();
        let (h, p) = heads.get(&id).copied().unwrap_or((0, 0));
        s.heads = h;
        s.heads_pledged = p;
        s.id = id;
        s.name = name;
        s.category_name = cat_name.clone();
        match cats.iter_mut().find(|c| c.id == cat_id) {
            Some(c) => c.add(&s),
            None => {
                let mut c = Stat {
                    id: cat_id,
                    name: cat_name.clone(),
                    category_name: cat_name,
                    ..Default::default()
                };
                c.add(&s);
                cats.push(c);
            }
        }
        city.add(&s);
        out_units.push(s);
    }
    Ok(Stats {
        year,
        units: out_units,
        categories: cats,
        city,
    })
}
