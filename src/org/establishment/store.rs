//! 三个百分百 from the registry: the findings and rates in scope, their daily snapshots and
//! trend, elections and term extensions with their audit entries.

use super::rules::*;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::org::orgs::{self, OrgKind};
use crate::state::AppState;
use crate::text::{format_date, parse_date};

/// One line of the three rates.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct RateLine {
    pub category_id: i64,
    pub name: String,
    pub units: i64,
    pub units_ok: i64,
    pub orgs_adjust: i64,
    pub orgs_adjust_ok: i64,
    pub orgs_renew: i64,
    pub orgs_renew_ok: i64,
}

impl RateLine {
    fn pct(ok: i64, all: i64) -> String {
        crate::text::rate(ok, all).map_or("—".into(), |r| format!("{r:.1}%"))
    }
    pub fn establish(&self) -> String {
        Self::pct(self.units_ok, self.units)
    }
    pub fn adjust(&self) -> String {
        Self::pct(self.orgs_adjust_ok, self.orgs_adjust)
    }
    pub fn renew(&self) -> String {
        Self::pct(self.orgs_renew_ok, self.orgs_renew)
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Overview {
    /// The findings (in the API and the page: one page of those the filter keeps).
    pub findings: Vec<Finding>,
    /// How many findings the filter keeps, over all pages.
    pub findings_total: i64,
    pub categories: Vec<RateLine>,
    pub total: RateLine,
    /// The city's rates month by month (committee only; empty otherwise): each past month
    /// as its last daily snapshot found it, the current month live (the same figures as
    /// `total`).
    pub trend: Vec<TrendPoint>,
}

/// The city's rates as the daily pass found them on a day.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    pub day: String,
    pub rates: RateLine,
}

#[derive(sqlx::FromRow)]
pub(super) struct UnitRow {
    unit_id: i64,
    name: String,
    category_id: i64,
    category_name: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct OrgExtra {
    org_id: i64,
    term_start: Option<String>,
    term_extended_to: Option<String>,
    officers: i64,
}

pub(super) fn d(s: &Option<String>) -> Option<Date> {
    s.as_deref().and_then(|v| parse_date(v).ok())
}

pub async fn term_years(state: &AppState) -> AppResult<HashMap<OrgKind, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as("select kind, years from term_rule")
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, y)| Some((OrgKind::from_key(&k)?, y)))
        .collect())
}

/// Findings and rates for everything in the caller's scope (committee and unit admins).
/// The caller's rates and trend (findings left empty: the page fills one page of them), and
/// the shared overview of the caller's scope whose findings the page filters.
pub async fn overview(
    state: &AppState,
    user: &CurrentUser,
) -> AppResult<(Overview, std::sync::Arc<Overview>)> {
    user.require(user.is_registry_admin())?;
    let name = if user.is_committee() {
        "全市"
    } else {
        "合计"
    };
    let all = overview_in(state, &user.scope(), name).await?;
    let mut o = Overview {
        findings: Vec::new(),
        findings_total: all.findings_total,
        categories: all.categories.clone(),
        total: all.total.clone(),
        trend: Vec::new(),
    };
    if user.is_committee() {
        let today = format_date(crate::clock::today());
        let month = &today[..7];
        // The current month is the live table itself: a snapshot taken this morning
        // contradicted the table after the day's writes (100.0% beside 99.2%).
        o.trend = trend(state)
            .await?
            .into_iter()
            .filter(|(day, _)| !day.starts_with(month))
            .map(|(day, rates)| TrendPoint { day, rates })
            .collect();
        if o.trend.len() >= 12 {
            o.trend.remove(0);
        }
        o.trend.push(TrendPoint {
            day: today,
            rates: o.total.clone(),
        });
    }
    Ok((o, all))
}

/// One unit of the city as the findings see it: its category and what it lacks.
struct UnitEntry {
    unit_id: i64,
    category_id: i64,
    category_name: String,
    ok: bool,
    findings: Vec<Finding>,
}

/// One org (not a group) of the city: whether it meets 应调 and 应换, and what it lacks.
struct OrgEntry {
    unit_id: i64,
    category_id: i64,
    adjust_ok: bool,
    renew_ok: bool,
    findings: Vec<Finding>,
}

/// The whole city's findings, computed once per registry data version and day.
pub struct CityFindings {
    version: i64,
    today: Date,
    /// In category and unit order.
    units: Vec<UnitEntry>,
    /// In tree order.
    orgs: Vec<OrgEntry>,
}

/// The last [`CityFindings`]: any write to members, orgs, officers, units, categories or
/// term rules bumps `data_version('registry')` (database triggers), so it is never stale,
/// whichever instance made the write; the day is part of the key because terms fall due.
#[derive(Default)]
pub struct FindingsCache {
    city: std::sync::Mutex<Option<std::sync::Arc<CityFindings>>>,
}

async fn compute_city(state: &AppState, version: i64, today: Date) -> AppResult<CityFindings> {
    let scope = crate::auth::Scope::everything();
    let mut us = Sql::new(
        "select u.unit_id, u.name, c.category_id, c.name as category_name from unit u \
         join category c on c.category_id = u.category_id",
    );
    us.push(" order by c.sort_order, c.category_id, u.sort_order, u.unit_id");
    let units: Vec<UnitRow> = us.fetch_all(&state.db.pool).await?;
    let tree = orgs::tree_in(state, &scope, None).await?;
    // Posts count when their holder is still an active member of the org (of the branch
    // itself for a branch): a post held from another branch, or by someone who left, is
    // no committee.
    let es = Sql::new(&format!(
        "select o.org_id, o.term_start, o.term_extended_to, \
         (select count(*) from org_officer f join member m on m.member_id = f.member_id where f.org_id = o.org_id \
          and {}) as officers \
         from org o where o.kind <> 'group'",
        crate::org::orgs::OFFICER_COUNTS
    ));
    let extras: HashMap<i64, OrgExtra> = es
        .fetch_all::<OrgExtra>(&state.db.pool)
        .await?
        .into_iter()
        .map(|e| (e.org_id, e))
        .collect();
    let years = term_years(state).await?;
    let unit_names: HashMap<i64, (&str, i64)> = units
        .iter()
        .map(|u| (u.unit_id, (u.name.as_str(), u.category_id)))
        .collect();
    // Members registered under a 党委/党总支 awaiting a branch (待编入), per unit.
    let mut aw = Sql::new(
        "select m.unit_id, count(*), sum(case when m.kind = 'full' then 1 else 0 end) from member m \
         join org o on o.org_id = m.branch_id where m.status = 'active' and o.kind <> 'branch' and ",
    );
    scope.member_condition(&mut aw);
    aw.push(" group by m.unit_id");
    let awaiting: HashMap<i64, (i64, i64)> = aw
        .fetch_all::<(i64, i64, i64)>(&state.db.pool)
        .await?
        .into_iter()
        .map(|(u, n, f)| (u, (n, f)))
        .collect();
    let mut branches_of: HashMap<i64, i64> = HashMap::new();
    for n in tree.iter().filter(|n| n.kind == OrgKind::Branch) {
        *branches_of.entry(n.unit_id).or_default() += 1;
    }
    let unit_entries = units
        .iter()
        .map(|u| {
            let (aw_all, aw_full) = awaiting.get(&u.unit_id).copied().unwrap_or_default();
            let findings = unit_findings(&UnitFacts {
                unit_id: u.unit_id,
                name: u.name.clone(),
                branches: branches_of.get(&u.unit_id).copied().unwrap_or(0),
                awaiting: aw_all,
                awaiting_full: aw_full,
            });
            UnitEntry {
                unit_id: u.unit_id,
                category_id: u.category_id,
                category_name: u.category_name.clone(),
                // Warnings (a few members awaiting a branch) do not count against the rate.
                ok: !findings.iter().any(|x| !x.warning),
                findings,
            }
        })
        .collect();
    let mut org_entries = Vec::new();
    for n in tree.iter().filter(|n| n.kind != OrgKind::Group) {
        let Some(&(unit_name, category_id)) = unit_names.get(&n.unit_id) else {
            continue;
        };
        let extra = extras.get(&n.org_id);
        let facts = OrgFacts {
            node: n.clone(),
            unit_name: unit_name.to_string(),
            officers: extra.map_or(0, |e| e.officers),
            term_start: extra.and_then(|e| d(&e.term_start)),
            term_end: d(&n.term_end),
            extended_to: extra.and_then(|e| d(&e.term_extended_to)),
        };
        let findings = org_findings(&facts, years.get(&n.kind).copied(), today);
        org_entries.push(OrgEntry {
            unit_id: n.unit_id,
            category_id,
            adjust_ok: !findings.iter().any(|x| x.area == Area::Adjust),
            renew_ok: !findings.iter().any(|x| x.area == Area::Renew && !x.warning),
            findings,
        });
    }
    Ok(CityFindings {
        version,
        today,
        units: unit_entries,
        orgs: org_entries,
    })
}

/// The city's findings, from the cache when nothing changed since they were computed.
async fn city_findings(state: &AppState) -> AppResult<std::sync::Arc<CityFindings>> {
    let today = crate::clock::today();
    let version = crate::db::data_version(&state.db, "registry").await?;
    let cache = state.ext::<FindingsCache>();
    let cached = cache
        .city
        .lock()
        .ok()
        .and_then(|c| c.clone())
        .filter(|c| c.version == version && c.today == today);
    if let Some(c) = cached {
        return Ok(c);
    }
    let fresh = std::sync::Arc::new(compute_city(state, version, today).await?);
    if let Ok(mut c) = cache.city.lock() {
        *c = Some(fresh.clone());
    }
    Ok(fresh)
}

/// Each unit's category, as the cached findings know it (the findings filter by category).
pub async fn unit_categories(state: &AppState) -> AppResult<HashMap<i64, i64>> {
    let city = city_findings(state).await?;
    Ok(city
        .units
        .iter()
        .map(|u| (u.unit_id, u.category_id))
        .collect())
}

/// Findings and rates within a scope (the reminder pass uses the whole city): the cached
/// city, summed over the units the scope sees.
pub async fn overview_in(
    state: &AppState,
    scope: &crate::auth::Scope,
    total_name: &str,
) -> AppResult<std::sync::Arc<Overview>> {
    // Summed once per registry version, day, scope and total's name: the committee's page
    // summed 32,000 orgs and copied every finding on every visit at province scale.
    let key = format!("overview {} {scope:?} {total_name}", crate::clock::today());
    Ok(state
        .ext::<crate::db::QueryCache>()
        .derived(&state.db, "registry", &key, || async {
            let city = city_findings(state).await.map_err(anyhow::Error::from)?;
            Ok(overview_of(&city, scope, total_name))
        })
        .await?)
}

/// Findings computed afresh from the registry, for the test that compares the cache with a
/// full recomputation.
pub async fn overview_uncached(
    state: &AppState,
    scope: &crate::auth::Scope,
    total_name: &str,
) -> AppResult<Overview> {
    let version = crate::db::data_version(&state.db, "registry").await?;
    let city = compute_city(state, version, crate::clock::today()).await?;
    Ok(overview_of(&city, scope, total_name))
}

fn overview_of(city: &CityFindings, scope: &crate::auth::Scope, total_name: &str) -> Overview {
    let mut lines: Vec<RateLine> = Vec::new();
    let mut line_of: HashMap<i64, usize> = HashMap::new();
    let mut total = RateLine {
        name: total_name.into(),
        ..Default::default()
    };
    let mut findings = Vec::new();
    for u in city.units.iter().filter(|u| scope.sees_unit(u.unit_id)) {
        let i = *line_of.entry(u.category_id).or_insert_with(|| {
            lines.push(RateLine {
                category_id: u.category_id,
                name: u.category_name.clone(),
                ..Default::default()
            });
            lines.len() - 1
        });
        let ok = i64::from(u.ok);
        for l in [&mut lines[i], &mut total] {
            l.units += 1;
            l.units_ok += ok;
        }
        findings.extend(u.findings.iter().cloned());
    }
    for o in city.orgs.iter().filter(|o| scope.sees_unit(o.unit_id)) {
        if let Some(&i) = line_of.get(&o.category_id) {
            for l in [&mut lines[i], &mut total] {
                l.orgs_adjust += 1;
                l.orgs_adjust_ok += i64::from(o.adjust_ok);
                l.orgs_renew += 1;
                l.orgs_renew_ok += i64::from(o.renew_ok);
            }
        }
        findings.extend(o.findings.iter().cloned());
    }
    Overview {
        findings_total: findings.len() as i64,
        findings,
        categories: lines,
        total,
        trend: Vec::new(),
    }
}

/// Records today's rates (per category and for the city) for the trend; once a day.
pub async fn snapshot(state: &AppState, today: Date) -> AppResult<()> {
    let o = overview_in(state, &crate::auth::Scope::everything(), "全市").await?;
    let day = format_date(today);
    let mut tx = state.db.begin_write().await?;
    sqlx::query("delete from establishment_snapshot where day = $1")
        .bind(day.clone())
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    let mut city = o.total.clone();
    city.category_id = 0;
    for l in o.categories.iter().chain(std::iter::once(&city)) {
        sqlx::query(
            "insert into establishment_snapshot (day, category_id, name, units, units_ok, orgs_adjust, \
             orgs_adjust_ok, orgs_renew, orgs_renew_ok) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(day.clone())
        .bind(l.category_id)
        .bind(l.name.clone())
        .bind(l.units)
        .bind(l.units_ok)
        .bind(l.orgs_adjust)
        .bind(l.orgs_adjust_ok)
        .bind(l.orgs_renew)
        .bind(l.orgs_renew_ok)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    }
    tx.commit().await?;
    Ok(())
}

/// The city's rates at the last snapshot of each of the latest 12 months, oldest first.
pub async fn trend(state: &AppState) -> AppResult<Vec<(String, RateLine)>> {
    let rows: Vec<(String, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "select s.day, s.units, s.units_ok, s.orgs_adjust, s.orgs_adjust_ok, s.orgs_renew, s.orgs_renew_ok \
         from establishment_snapshot s where s.category_id = 0 and s.day in \
         (select max(day) from establishment_snapshot where category_id = 0 group by substr(day, 1, 7)) \
         order by s.day desc limit 12",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let mut out: Vec<(String, RateLine)> = rows
        .into_iter()
        .map(|(day, u, uo, a, ao, r, ro)| {
            (
                day,
                RateLine {
                    category_id: 0,
                    name: "全市".into(),
                    units: u,
                    units_ok: uo,
                    orgs_adjust: a,
                    orgs_adjust_ok: ao,
                    orgs_renew: r,
                    orgs_renew_ok: ro,
                },
            )
        })
        .collect();
    out.reverse();
    Ok(out)
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ElectionInput {
    /// The date of the election, YYYY-MM-DD: the new term starts on it.
    #[schema(format = Date)]
    pub elected_on: String,
    /// The new committee: members and posts (书记, 副书记, 组织委员, 宣传委员, 纪检委员, 委员).
    #[serde(default)]
    pub officers: Vec<orgs::OfficerInput>,
    /// The higher organisation's approval (批准文号) of an early election (提前换届): required
    /// when the election is before the current term's end.
    #[serde(default)]
    pub approval_doc: String,
}

#[derive(Serialize)]
pub(super) struct OfficerSnapshot {
    member_id: i64,
    name: String,
    post: String,
}

/// Records an election: the current term is closed into the history with its officers,
/// the new one opens on the election date for the kind's term length, with its officers.
pub async fn record_election(
    state: &AppState,
    user: &CurrentUser,
    org_id: i64,
    input: ElectionInput,
) -> AppResult<()> {
    user.require(user.is_registry_admin())?;
    let org = orgs::get_org(state, user, org_id).await?;
    // Only where the registry powers apply (not a branch held through another grant).
    user.require(user.registry_scope().sees_unit(org.unit_id))?;
    if org.kind == OrgKind::Group {
        return Err(AppError::invalid("党小组不实行任期制，无需换届"));
    }
    let mut errors = FieldErrors::new();
    let elected = match parse_date(input.elected_on.trim()) {
        Ok(x) if x > crate::clock::today() => {
            errors.insert("elected_on".into(), "选举日期不能晚于今天".into());
            None
        }
        Ok(x) if d(&org.founded_on).is_some_and(|f| x < f) => {
            errors.insert("elected_on".into(), "选举日期早于组织成立日期".into());
            None
        }
        Ok(x) if d(&org.term_start).is_some_and(|s| x <= s) => {
            errors.insert("elected_on".into(), "选举日期应晚于本届任期开始日期".into());
            None
        }
        Ok(x) => Some(x),
        Err(e) => {
            errors.insert("elected_on".into(), format!("选举日期：{e}"));
            None
        }
    };
    let mut seen = std::collections::HashSet::new();
    for (i, o) in input.officers.iter().enumerate() {
        if !crate::messages::OFFICER_POSTS.contains(&o.post.as_str()) {
            errors.insert(
                format!("officers[{i}].post"),
                "职务只能是书记、副书记、组织委员、宣传委员、纪检委员或委员".into(),
            );
        }
        if !seen.insert(o.member_id) {
            errors.insert(
                format!("officers[{i}].member_id"),
                "同一党员不能担任两个职务".into(),
            );
        }
    }
    if input.officers.iter().filter(|o| o.post == "书记").count() != 1 {
        errors.insert("officers".into(), "新一届须有且只有一名书记".into());
    }
    // Officers are active members of this org or the orgs under it.
    let subtree: Vec<i64> =
        orgs::subtree_of(&orgs::tree_for_unit(state, org.unit_id).await?, org_id)
            .iter()
            .map(|n| n.org_id)
            .collect();
    let mut ms = Sql::new(
        "select m.member_id, m.name from member m where m.status = 'active' and m.branch_id in ",
    );
    ms.bind_list(&subtree);
    let names: HashMap<i64, String> = ms
        .fetch_all::<(i64, String)>(&state.db.pool)
        .await?
        .into_iter()
        .collect();
    for (i, o) in input.officers.iter().enumerate() {
        if !names.contains_key(&o.member_id) {
            errors.insert(
                format!("officers[{i}].member_id"),
                "委员须为本组织的在册党员".into(),
            );
        }
    }
    let years = term_years(state)
        .await?
        .get(&org.kind)
        .copied()
        .unwrap_or(3);
    let approval_doc = crate::text::clean_prose(&input.approval_doc);
    if approval_doc.chars().count() > 60 {
        errors.insert("approval_doc".into(), "批准文号不超过60字".into());
    }
    let due = d(&org.term_end).or_else(|| d(&org.term_start).map(|s| add_months(s, years * 12)));
    if let Some(end) = elected.and_then(|x| early_election(x, due)) {
        if approval_doc.is_empty() {
            errors.insert(
                "approval_doc".into(),
                format!(
                    "本届任期 {} 届满，提前换届须经上级党组织批准，请填写批准文号",
                    format_date(end)
                ),
            );
        }
    }
    let Some(elected) = elected.filter(|_| errors.is_empty()) else {
        return Err(AppError::fields(errors));
    };
    let new_end = add_months(elected, years * 12);
    let old_officers = orgs::officers(state, org_id).await?;
    let old: Vec<OfficerSnapshot> = old_officers
        .iter()
        .map(|o| OfficerSnapshot {
            member_id: o.member_id,
            name: o.name.clone(),
            post: o.post.clone(),
        })
        .collect();
    let extension: (Option<String>, String, String) = sqlx::query_as(
        "select term_extended_to, term_extension_doc, term_early_doc from org where org_id = $1",
    )
    .bind(org_id)
    .fetch_one(&state.db.pool)
    .await?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let conn = tx.conn();
    sqlx::query(
        "insert into org_term (org_id, term_start, term_end, term_extended_to, term_extension_doc, officers_json, closed_on, created_by, created_at, term_early_doc) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(org_id)
    .bind(org.term_start.clone())
    .bind(org.term_end.clone())
    .bind(extension.0.clone())
    .bind(extension.1.clone())
    .bind(serde_json::to_string(&old).unwrap_or_else(|_| "[]".into()))
    .bind(format_date(elected))
    .bind(user.user_id)
    .bind(t)
    .bind(extension.2.clone())
    .execute(&mut *conn)
    .await
    .map_err(anyhow::Error::from)?;
    sqlx::query(
        "update org set term_start = $1, term_end = $2, term_extended_to = null, term_extension_doc = '', updated_at = $3, \
         term_early_doc = $5 where org_id = $4",
    )
    .bind(format_date(elected))
    .bind(format_date(new_end))
    .bind(t)
    .bind(org_id)
    .bind(approval_doc.clone())
    .execute(&mut *conn)
    .await
    .map_err(anyhow::Error::from)?;
    sqlx::query("delete from org_officer where org_id = $1")
        .bind(org_id)
        .execute(&mut *conn)
        .await
        .map_err(anyhow::Error::from)?;
    for o in &input.officers {
        sqlx::query(
            "insert into org_officer (org_id, member_id, post, created_at) values ($1, $2, $3, $4)",
        )
        .bind(org_id)
        .bind(o.member_id)
        .bind(o.post.clone())
        .bind(t)
        .execute(&mut *conn)
        .await
        .map_err(anyhow::Error::from)?;
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "org.election",
            "org",
            org_id,
            format!(
                "{} 换届：新一届任期 {} 至 {}{}",
                org.name,
                format_date(elected),
                format_date(new_end),
                if approval_doc.is_empty() {
                    String::new()
                } else {
                    format!("（提前换届，{approval_doc}）")
                }
            ),
        )
        .before(&old)
        .after(&input),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ExtensionInput {
    /// The new last day of the term, at most a year after it was due.
    #[schema(format = Date)]
    pub until: String,
    /// The approval document's number (批准文号).
    pub document: String,
}

/// Records an approved extension of the current term (at most one year).
pub async fn extend_term(
    state: &AppState,
    user: &CurrentUser,
    org_id: i64,
    input: ExtensionInput,
) -> AppResult<()> {
    user.require(user.is_registry_admin())?;
    let org = orgs::get_org(state, user, org_id).await?;
    // Only where the registry powers apply (not a branch held through another grant).
    user.require(user.registry_scope().sees_unit(org.unit_id))?;
    let Some(end) = d(&org.term_end) else {
        return Err(AppError::field(
            "until",
            "本届任期届满日期未登记，无法延期；请先登记任期",
        ));
    };
    let mut errors = FieldErrors::new();
    let doc = crate::text::clean_prose(&input.document);
    if doc.is_empty() || doc.chars().count() > 60 {
        errors.insert(
            "document".into(),
            "请填写上级党组织批准延期的文号（不超过60字）".into(),
        );
    }
    let until = match parse_date(input.until.trim()) {
        Ok(u) if u <= end => {
            errors.insert(
                "until".into(),
                format!("延期后的日期应晚于原届满日期 {}", format_date(end)),
            );
            None
        }
        Ok(u) if u > add_months(end, 12) => {
            errors.insert(
                "until".into(),
                format!(
                    "延期一般不超过1年，最晚至 {}",
                    format_date(add_months(end, 12))
                ),
            );
            None
        }
        Ok(u) => Some(u),
        Err(e) => {
            errors.insert("until".into(), format!("延期至：{e}"));
            None
        }
    };
    let Some(until) = until.filter(|_| errors.is_empty()) else {
        return Err(AppError::fields(errors));
    };
    let mut tx = state.db.begin_write().await?;
    sqlx::query("update org set term_extended_to = $1, term_extension_doc = $2, updated_at = $3 where org_id = $4")
        .bind(format_date(until))
        .bind(doc.clone())
        .bind(now())
        .bind(org_id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "org.term_extension",
            "org",
            org_id,
            format!("{} 任期延期至 {}（{}）", org.name, format_date(until), doc),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct PastTerm {
    pub term_start: Option<String>,
    pub term_end: Option<String>,
    pub term_extended_to: Option<String>,
    pub term_extension_doc: String,
    /// The approval of the early election that opened that term ('' when on time).
    pub term_early_doc: String,
    /// The officers of that term, as JSON [{member_id, name, post}].
    pub officers_json: String,
    pub closed_on: String,
}

pub async fn past_terms(
    state: &AppState,
    user: &CurrentUser,
    org_id: i64,
) -> AppResult<Vec<PastTerm>> {
    orgs::get_org(state, user, org_id).await?;
    Ok(sqlx::query_as(
        "select term_start, term_end, term_extended_to, term_extension_doc, term_early_doc, officers_json, closed_on \
         from org_term where org_id = $1 order by closed_on desc, org_term_id desc",
    )
    .bind(org_id)
    .fetch_all(&state.db.pool)
    .await?)
}
