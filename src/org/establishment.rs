//! 应建尽建、应调尽调、应换尽换: the establishment findings computed from the registry,
//! the three rates per category and for the city, elections and term extensions.
//!
//! Sources (RULES.md): 《中国共产党支部工作条例（试行）》第四条、第六章; 中共中央办公厅
//! 《关于党的基层组织任期的意见》(2018). 以上 includes the number: "3名以上" is `>= 3`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::{self, Entry};
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::org::orgs::{self, TreeNode};
use crate::state::AppState;
use crate::text::{clean_text, format_date, parse_date};
use crate::web::{self, FlashIn, PageCtx};

/// A branch may be set up with this many full members (3名以上).
pub const MIN_FULL_FOR_BRANCH: i64 = 3;
/// A branch generally has no more than 50 members.
pub const MAX_BRANCH_MEMBERS: i64 = 50;
/// A general branch from 50 members; a basic-level committee from 100.
pub const MIN_GENERAL_BRANCH: i64 = 50;
pub const MIN_COMMITTEE_ORG: i64 = 100;
/// Branches with 7 or more full members set up a branch committee.
pub const FULL_FOR_COMMITTEE: i64 = 7;
/// A committee has at least 3 members.
pub const MIN_COMMITTEE_POSTS: i64 = 3;
/// Terms due within this many months are flagged ahead.
pub const DUE_MONTHS: i64 = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// 应建尽建
    Establish,
    /// 应调尽调
    Adjust,
    /// 应换尽换
    Renew,
}

impl Area {
    pub fn label(self) -> &'static str {
        match self {
            Area::Establish => "应建尽建",
            Area::Adjust => "应调尽调",
            Area::Renew => "应换尽换",
        }
    }
}

/// One thing the registry shows is not (yet) as the rules want it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Finding {
    pub area: Area,
    /// A stable code: unit_without_branch | branch_too_small | branch_too_large |
    /// general_branch_too_large | branch_needs_committee | committee_org_too_small |
    /// general_branch_too_small | term_missing | term_overdue | term_due | term_too_long
    pub rule: String,
    /// An issue counts against the rate; a warning is a heads-up (a term due soon).
    pub warning: bool,
    pub unit_id: i64,
    pub unit_name: String,
    pub org_id: Option<i64>,
    /// The unit or org the finding is about.
    pub object: String,
    /// The figures that decide it, e.g. "正式党员 2 名".
    pub figures: String,
    /// What the rule says and what to do.
    pub advice: String,
    /// By when, where the rule gives a date.
    pub deadline: Option<String>,
}

impl Finding {
    pub fn area_label(&self) -> &'static str {
        self.area.label()
    }

    pub fn href(&self) -> String {
        match self.org_id {
            Some(o) => format!("/org/orgs/{o}"),
            None => format!("/org/units/{}", self.unit_id),
        }
    }
}

/// A unit, as 应建尽建 sees it.
#[derive(Clone, Debug)]
pub struct UnitFacts {
    pub unit_id: i64,
    pub name: String,
    pub branches: i64,
}

/// An org (not a group), as 应调 and 应换 see it.
#[derive(Clone, Debug)]
pub struct OrgFacts {
    pub node: TreeNode,
    pub unit_name: String,
    pub officers: i64,
    pub term_start: Option<Date>,
    pub term_end: Option<Date>,
    pub extended_to: Option<Date>,
}

pub fn unit_findings(u: &UnitFacts) -> Vec<Finding> {
    if u.branches > 0 {
        return Vec::new();
    }
    vec![Finding {
        area: Area::Establish,
        rule: "unit_without_branch".into(),
        warning: false,
        unit_id: u.unit_id,
        unit_name: u.name.clone(),
        org_id: None,
        object: u.name.clone(),
        figures: "党支部 0 个".into(),
        advice: format!(
            "有正式党员{MIN_FULL_FOR_BRANCH}名以上的应成立党支部；不足{MIN_FULL_FOR_BRANCH}名的应与邻近单位组建联合党支部（一般不超过5个单位）。"
        ),
        deadline: None,
    }]
}

fn add_months(d: Date, months: i64) -> Date {
    let total = i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1 + months;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let month = time::Month::try_from(m as u8).unwrap_or(time::Month::January);
    let y = y as i32;
    let day = d.day().min(month.length(y));
    Date::from_calendar_date(y, month, day).unwrap_or(d)
}

/// The findings for one org, given the term length of its kind and today.
pub fn org_findings(o: &OrgFacts, term_years: Option<i64>, today: Date) -> Vec<Finding> {
    let n = &o.node;
    let mut out = Vec::new();
    let mut add = |area: Area,
                   rule: &str,
                   warning: bool,
                   figures: String,
                   advice: String,
                   deadline: Option<Date>| {
        out.push(Finding {
            area,
            rule: rule.into(),
            warning,
            unit_id: n.unit_id,
            unit_name: o.unit_name.clone(),
            org_id: Some(n.org_id),
            object: n.name.clone(),
            figures,
            advice,
            deadline: deadline.map(format_date),
        });
    };
    match n.kind.as_str() {
        "branch" => {
            if n.full_members < MIN_FULL_FOR_BRANCH {
                add(
                    Area::Adjust,
                    "branch_too_small",
                    false,
                    format!("正式党员 {} 名", n.full_members),
                    format!("正式党员不足{MIN_FULL_FOR_BRANCH}名，应与邻近单位组建联合党支部（一般不超过5个单位）或并入其他支部。"),
                    None,
                );
            }
            if n.members > MAX_BRANCH_MEMBERS {
                add(
                    Area::Adjust,
                    "branch_too_large",
                    false,
                    format!("党员 {} 名", n.members),
                    format!(
                        "党支部党员一般不超过{MAX_BRANCH_MEMBERS}名，应分设党支部或成立党总支。"
                    ),
                    None,
                );
            }
            if n.full_members >= FULL_FOR_COMMITTEE && o.officers < MIN_COMMITTEE_POSTS {
                add(
                    Area::Adjust,
                    "branch_needs_committee",
                    false,
                    format!("正式党员 {} 名，支委 {} 名", n.full_members, o.officers),
                    format!("正式党员{FULL_FOR_COMMITTEE}人以上的党支部应设立支部委员会（委员3至5人）。"),
                    None,
                );
            }
        }
        "general_branch" => {
            if n.members >= MIN_COMMITTEE_ORG {
                add(
                    Area::Adjust,
                    "general_branch_too_large",
                    false,
                    format!("党员 {} 名", n.members),
                    format!("党员{MIN_COMMITTEE_ORG}名以上的，应成立基层党委。"),
                    None,
                );
            } else if n.members < MIN_GENERAL_BRANCH {
                add(
                    Area::Adjust,
                    "general_branch_too_small",
                    false,
                    format!("党员 {} 名", n.members),
                    format!("党总支一般在党员{MIN_GENERAL_BRANCH}名以上设立；不足的可改设党支部。"),
                    None,
                );
            }
        }
        "committee_org" => {
            if n.members < MIN_COMMITTEE_ORG {
                add(
                    Area::Adjust,
                    "committee_org_too_small",
                    false,
                    format!("党员 {} 名", n.members),
                    format!("基层党委一般在党员{MIN_COMMITTEE_ORG}名以上设立；不足的可改设党总支或党支部。"),
                    None,
                );
            }
        }
        _ => return out,
    }
    let years = term_years.unwrap_or(3);
    match o.term_start {
        None => add(
            Area::Renew,
            "term_missing",
            false,
            "本届任期开始日期未登记".into(),
            "请登记本届任期（换届选举日期），以便按期换届。".into(),
            None,
        ),
        Some(start) => {
            let due = o.term_end.unwrap_or_else(|| add_months(start, years * 12));
            let until = o.extended_to.unwrap_or(due);
            if o.term_end
                .is_some_and(|e| e > add_months(start, years * 12))
            {
                add(
                    Area::Renew,
                    "term_too_long",
                    false,
                    format!("任期 {} 至 {}", format_date(start), format_date(due)),
                    format!("本类组织每届任期{years}年，登记的届满日期超出，请核对。"),
                    Some(add_months(start, years * 12)),
                );
            }
            if until < today {
                add(
                    Area::Renew,
                    "term_overdue",
                    false,
                    match o.extended_to {
                        Some(x) => format!(
                            "任期届满 {}，经批准延期至 {}",
                            format_date(due),
                            format_date(x)
                        ),
                        None => format!("任期已于 {} 届满", format_date(due)),
                    },
                    "任期已届满，应按期换届；确需延期的须经上级党组织批准，一般不超过1年。".into(),
                    Some(until),
                );
            } else if until <= add_months(today, DUE_MONTHS) {
                add(
                    Area::Renew,
                    "term_due",
                    true,
                    format!("任期将于 {} 届满", format_date(until)),
                    "任期届满前应提前做好换届准备，按程序报批。".into(),
                    Some(until),
                );
            }
        }
    }
    out
}

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
    pub findings: Vec<Finding>,
    pub categories: Vec<RateLine>,
    pub total: RateLine,
    /// The city's rates month by month (committee only; empty otherwise).
    pub trend: Vec<TrendPoint>,
}

/// The city's rates as the daily pass found them on a day.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    pub day: String,
    pub rates: RateLine,
}

#[derive(sqlx::FromRow)]
struct UnitRow {
    unit_id: i64,
    name: String,
    category_id: i64,
    category_name: String,
}

#[derive(sqlx::FromRow)]
struct OrgExtra {
    org_id: i64,
    term_start: Option<String>,
    term_extended_to: Option<String>,
    officers: i64,
}

fn d(s: &Option<String>) -> Option<Date> {
    s.as_deref().and_then(|v| parse_date(v).ok())
}

pub async fn term_years(state: &AppState) -> AppResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as("select kind, years from term_rule")
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Findings and rates for everything in the caller's scope (committee and unit admins).
pub async fn overview(state: &AppState, user: &CurrentUser) -> AppResult<Overview> {
    user.require(user.is_registry_admin())?;
    let name = if user.is_committee() {
        "全市"
    } else {
        "合计"
    };
    let mut o = overview_in(state, &user.scope(), name).await?;
    if user.is_committee() {
        o.trend = trend(state)
            .await?
            .into_iter()
            .map(|(day, rates)| TrendPoint { day, rates })
            .collect();
    }
    Ok(o)
}

/// Findings and rates within a scope (the reminder pass uses the whole city).
pub async fn overview_in(
    state: &AppState,
    scope: &crate::auth::Scope,
    total_name: &str,
) -> AppResult<Overview> {
    let mut us = Sql::new(
        "select u.unit_id, u.name, c.category_id, c.name as category_name from unit u \
         join category c on c.category_id = u.category_id where ",
    );
    scope.unit_condition(&mut us);
    us.push(" order by c.sort_order, c.category_id, u.sort_order, u.unit_id");
    let units: Vec<UnitRow> = us.fetch_all(&state.db.pool).await?;
    let tree = orgs::tree_in(state, scope, None).await?;
    let mut es = Sql::new(
        "select o.org_id, o.term_start, o.term_extended_to, \
         (select count(*) from org_officer f where f.org_id = o.org_id) as officers from org o where o.kind <> 'group' and ",
    );
    scope.org_condition(&mut es);
    let extras: HashMap<i64, OrgExtra> = es
        .fetch_all::<OrgExtra>(&state.db.pool)
        .await?
        .into_iter()
        .map(|e| (e.org_id, e))
        .collect();
    let years = term_years(state).await?;
    let today = crate::clock::today();
    let unit_names: HashMap<i64, (&str, i64)> = units
        .iter()
        .map(|u| (u.unit_id, (u.name.as_str(), u.category_id)))
        .collect();
    let mut branches_of: HashMap<i64, i64> = HashMap::new();
    for n in tree.iter().filter(|n| n.kind == "branch") {
        *branches_of.entry(n.unit_id).or_default() += 1;
    }
    let mut lines: Vec<RateLine> = Vec::new();
    let mut line_of: HashMap<i64, usize> = HashMap::new();
    for u in &units {
        line_of.entry(u.category_id).or_insert_with(|| {
            lines.push(RateLine {
                category_id: u.category_id,
                name: u.category_name.clone(),
                ..Default::default()
            });
            lines.len() - 1
        });
    }
    let mut total = RateLine {
        name: total_name.into(),
        ..Default::default()
    };
    let mut findings = Vec::new();
    for u in &units {
        let f = unit_findings(&UnitFacts {
            unit_id: u.unit_id,
            name: u.name.clone(),
            branches: branches_of.get(&u.unit_id).copied().unwrap_or(0),
        });
        let ok = i64::from(f.is_empty());
        for l in [&mut lines[line_of[&u.category_id]], &mut total] {
            l.units += 1;
            l.units_ok += ok;
        }
        findings.extend(f);
    }
    for n in tree.iter().filter(|n| n.kind != "group") {
        let Some(&(unit_name, category)) = unit_names.get(&n.unit_id) else {
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
        let f = org_findings(&facts, years.get(&n.kind).copied(), today);
        let adjust_ok = i64::from(!f.iter().any(|x| x.area == Area::Adjust));
        let renew_ok = i64::from(!f.iter().any(|x| x.area == Area::Renew && !x.warning));
        let adjusts = i64::from(matches!(
            n.kind.as_str(),
            "branch" | "general_branch" | "committee_org"
        ));
        if let Some(&i) = line_of.get(&category) {
            for l in [&mut lines[i], &mut total] {
                l.orgs_adjust += adjusts;
                l.orgs_adjust_ok += adjusts * adjust_ok;
                l.orgs_renew += 1;
                l.orgs_renew_ok += renew_ok;
            }
        }
        findings.extend(f);
    }
    Ok(Overview {
        findings,
        categories: lines,
        total,
        trend: Vec::new(),
    })
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

// ---- elections and extensions ----

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ElectionInput {
    /// The date of the election, YYYY-MM-DD: the new term starts on it.
    #[schema(format = Date)]
    pub elected_on: String,
    /// The new committee: members and posts (书记, 副书记, 组织委员, 宣传委员, 纪检委员, 委员).
    #[serde(default)]
    pub officers: Vec<orgs::OfficerInput>,
}

#[derive(Serialize)]
struct OfficerSnapshot {
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
    if org.kind == "group" {
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
    let Some(elected) = elected.filter(|_| errors.is_empty()) else {
        return Err(AppError::fields(errors));
    };
    let years = term_years(state)
        .await?
        .get(&org.kind)
        .copied()
        .unwrap_or(3);
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
    let extension: (Option<String>, String) =
        sqlx::query_as("select term_extended_to, term_extension_doc from org where org_id = $1")
            .bind(org_id)
            .fetch_one(&state.db.pool)
            .await?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let conn = tx.conn();
    sqlx::query(
        "insert into org_term (org_id, term_start, term_end, term_extended_to, term_extension_doc, officers_json, closed_on, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
    .execute(&mut *conn)
    .await
    .map_err(anyhow::Error::from)?;
    sqlx::query(
        "update org set term_start = $1, term_end = $2, term_extended_to = null, term_extension_doc = '', updated_at = $3 where org_id = $4",
    )
    .bind(format_date(elected))
    .bind(format_date(new_end))
    .bind(t)
    .bind(org_id)
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
    audit::record(
        conn,
        state.db.backend,
        &user.actor(),
        Entry::new(
            "org.election",
            "org",
            org_id,
            format!(
                "{} 换届：新一届任期 {} 至 {}",
                org.name,
                format_date(elected),
                format_date(new_end)
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
    let doc = clean_text(&input.document);
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
    audit::record(
        tx.conn(),
        state.db.backend,
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
        "select term_start, term_end, term_extended_to, term_extension_doc, officers_json, closed_on \
         from org_term where org_id = $1 order by closed_on desc, org_term_id desc",
    )
    .bind(org_id)
    .fetch_all(&state.db.pool)
    .await?)
}

// ---- pages ----

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/org/establishment", get(page))
        .route("/org/establishment/export", get(export_page))
        .route(
            "/org/orgs/{id}/election",
            get(election_page).post(election_save),
        )
        .route(
            "/org/orgs/{id}/extension",
            axum::routing::post(extension_save),
        )
}

#[derive(Deserialize, IntoParams)]
pub struct FindingFilter {
    /// establish | adjust | renew
    pub area: Option<String>,
}

fn filter(findings: Vec<Finding>, area: Option<&str>) -> Vec<Finding> {
    let want = match area {
        Some("establish") => Some(Area::Establish),
        Some("adjust") => Some(Area::Adjust),
        Some("renew") => Some(Area::Renew),
        _ => None,
    };
    findings
        .into_iter()
        .filter(|f| want.is_none_or(|a| f.area == a))
        .collect()
}

#[derive(Template)]
#[template(path = "org/establishment.html")]
struct EstablishmentPage {
    ctx: PageCtx,
    o: Overview,
    area: String,
    counts: [(&'static str, &'static str, usize); 3],
}

async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<FindingFilter>,
) -> AppResult<Response> {
    let mut o = overview(&state, &user).await?;
    let count = |a: Area| {
        o.findings
            .iter()
            .filter(|x| x.area == a && !x.warning)
            .count()
    };
    let counts = [
        ("establish", "应建尽建", count(Area::Establish)),
        ("adjust", "应调尽调", count(Area::Adjust)),
        ("renew", "应换尽换", count(Area::Renew)),
    ];
    o.findings = filter(std::mem::take(&mut o.findings), f.area.as_deref());
    web::render(&EstablishmentPage {
        ctx: PageCtx::new(&user, "三个百分百", "/org/establishment", flash)
            .crumb("组织体系", "/org/units")
            .crumb("三个百分百", "/org/establishment"),
        o,
        area: f.area.unwrap_or_default(),
        counts,
    })
}

async fn export_xlsx(
    state: &AppState,
    user: &CurrentUser,
    area: Option<&str>,
) -> AppResult<Vec<u8>> {
    let o = overview(state, user).await?;
    let rows: Vec<Vec<String>> = filter(o.findings, area)
        .into_iter()
        .map(|f| {
            vec![
                f.area_label().to_string(),
                if f.warning { "提示" } else { "问题" }.to_string(),
                f.unit_name.clone(),
                f.object.clone(),
                f.figures.clone(),
                f.advice.clone(),
                f.deadline.clone().unwrap_or_default(),
            ]
        })
        .collect();
    crate::xlsx::write_sheet(
        "三个百分百",
        &[
            "方面",
            "性质",
            "机关党组织",
            "对象",
            "情况",
            "依据与建议",
            "期限",
        ],
        &rows,
    )
}

async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<FindingFilter>,
) -> AppResult<Response> {
    Ok(crate::xlsx::download(
        "三个百分百问题清单.xlsx",
        export_xlsx(&state, &user, f.area.as_deref()).await?,
    ))
}

#[derive(Template)]
#[template(path = "org/election.html")]
struct ElectionPage {
    ctx: PageCtx,
    org: orgs::Org,
    extended_to: Option<String>,
    extension_doc: String,
    members: Vec<(i64, String)>,
    officers: Vec<orgs::Officer>,
    past: Vec<PastTerm>,
    posts: [&'static str; 6],
    years: i64,
    error: Option<String>,
}

impl ElectionPage {
    fn post_of(&self, member: &i64) -> String {
        self.officers
            .iter()
            .find(|o| o.member_id == *member)
            .map(|o| o.post.clone())
            .unwrap_or_default()
    }
}

async fn election_render(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let org = orgs::get_org(state, user, id).await?;
    let subtree: Vec<i64> = orgs::subtree_of(&orgs::tree_for_unit(state, org.unit_id).await?, id)
        .iter()
        .map(|n| n.org_id)
        .collect();
    let mut ms = Sql::new(
        "select m.member_id, m.name from member m where m.status = 'active' and m.branch_id in ",
    );
    ms.bind_list(&subtree)
        .push(" order by m.name_initials, m.member_id");
    let members = ms.fetch_all(&state.db.pool).await?;
    let ext: (Option<String>, String) =
        sqlx::query_as("select term_extended_to, term_extension_doc from org where org_id = $1")
            .bind(id)
            .fetch_one(&state.db.pool)
            .await?;
    let years = term_years(state)
        .await?
        .get(&org.kind)
        .copied()
        .unwrap_or(3);
    let title = format!("{} · 换届", org.name);
    let mut r = web::render(&ElectionPage {
        ctx: PageCtx::new(user, &title, "/org/establishment", flash)
            .crumb("组织体系", "/org/units")
            .crumb(org.name.clone(), format!("/org/orgs/{id}"))
            .crumb("换届", ""),
        officers: orgs::officers(state, id).await?,
        past: past_terms(state, user, id).await?,
        org,
        extended_to: ext.0,
        extension_doc: ext.1,
        members,
        posts: crate::messages::OFFICER_POSTS,
        years,
        error: error.clone(),
    })?;
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

async fn election_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    election_render(&state, &user, id, flash, None).await
}

/// The election form: `elected_on` and `post_<member>` for each member given a post.
async fn election_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let mut input = ElectionInput {
        elected_on: String::new(),
        officers: Vec::new(),
    };
    for (k, v) in pairs {
        if k == "elected_on" {
            input.elected_on = v;
        } else if let Some(m) = k.strip_prefix("post_").and_then(|s| s.parse::<i64>().ok()) {
            if !v.trim().is_empty() {
                input.officers.push(orgs::OfficerInput {
                    member_id: m,
                    post: v.trim().to_string(),
                });
            }
        }
    }
    match record_election(&state, &user, id, input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/orgs/{id}/election"),
            "已记录换届选举：上一届已存档，新一届任期开始",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            election_render(&state, &user, id, FlashIn(None), Some(msg)).await
        }
        Err(e) => Err(e),
    }
}

async fn extension_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(input): Form<ExtensionInput>,
) -> AppResult<Response> {
    match extend_term(&state, &user, id, input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/orgs/{id}/election"),
            "已登记经批准的延期换届",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            election_render(&state, &user, id, FlashIn(None), Some(msg)).await
        }
        Err(e) => Err(e),
    }
}

// ---- API ----

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_overview))
        .routes(routes!(api_election))
        .routes(routes!(api_extension))
        .routes(routes!(api_terms))
}

/// The three 100% rates by category and for the city, with every finding.
#[utoipa::path(get, path = "/establishment", tag = "org", params(FindingFilter), responses((status = 200, body = Overview), (status = 403, body = crate::error::ErrorBody)))]
async fn api_overview(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<FindingFilter>,
) -> AppResult<Json<Overview>> {
    let mut o = overview(&state, &user).await?;
    o.findings = filter(std::mem::take(&mut o.findings), f.area.as_deref());
    Ok(Json(o))
}

/// Record an election: closes the current term into the history and opens the next.
#[utoipa::path(post, path = "/orgs/{id}/elections", tag = "org", params(("id" = i64, Path)), request_body = ElectionInput, responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_election(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ElectionInput>,
) -> AppResult<StatusCode> {
    record_election(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record an approved extension of the current term (at most one year).
#[utoipa::path(post, path = "/orgs/{id}/extension", tag = "org", params(("id" = i64, Path)), request_body = ExtensionInput, responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_extension(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ExtensionInput>,
) -> AppResult<StatusCode> {
    extend_term(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The org's past terms, newest first.
#[utoipa::path(get, path = "/orgs/{id}/terms", tag = "org", params(("id" = i64, Path)), responses((status = 200, body = Vec<PastTerm>), (status = 404, body = crate::error::ErrorBody)))]
async fn api_terms(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<PastTerm>>> {
    Ok(Json(past_terms(&state, &user, id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn node(kind: &str, members: i64, full: i64) -> TreeNode {
        TreeNode {
            org_id: 1,
            unit_id: 1,
            parent_id: None,
            kind: kind.into(),
            kind_label: String::new(),
            name: "某支部".into(),
            depth: 0,
            members,
            full_members: full,
            term_end: None,
            term_overdue: false,
        }
    }

    fn facts(
        kind: &str,
        members: i64,
        full: i64,
        officers: i64,
        start: Option<Date>,
        end: Option<Date>,
    ) -> OrgFacts {
        OrgFacts {
            node: node(kind, members, full),
            unit_name: "市测试局".into(),
            officers,
            term_start: start,
            term_end: end,
            extended_to: None,
        }
    }

    fn rules(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|x| x.rule.as_str()).collect()
    }

    const TODAY: Date = date!(2026 - 11 - 26);

    #[test]
    fn branch_sizes_at_their_edges() {
        let ok_term = (Some(date!(2025 - 01 - 01)), Some(date!(2028 - 01 - 01)));
        let f = |m, full, off| {
            org_findings(
                &facts("branch", m, full, off, ok_term.0, ok_term.1),
                Some(3),
                TODAY,
            )
        };
        assert_eq!(
            rules(&f(3, 3, 1)),
            Vec::<&str>::new(),
            "3 full members are enough"
        );
        assert_eq!(rules(&f(5, 2, 1)), ["branch_too_small"]);
        assert_eq!(
            rules(&f(50, 40, 5)),
            Vec::<&str>::new(),
            "50 is not over 50"
        );
        assert_eq!(rules(&f(51, 40, 5)), ["branch_too_large"]);
        assert_eq!(rules(&f(7, 7, 2)), ["branch_needs_committee"]);
        assert_eq!(
            rules(&f(7, 6, 0)),
            Vec::<&str>::new(),
            "6 full members need only a secretary"
        );
        let g = |m| {
            rules(&org_findings(
                &facts("general_branch", m, m, 5, ok_term.0, ok_term.1),
                Some(3),
                TODAY,
            ))
            .join(",")
        };
        assert_eq!(g(99), "");
        assert_eq!(g(100), "general_branch_too_large");
        assert_eq!(g(49), "general_branch_too_small");
        let c = rules(&org_findings(
            &facts(
                "committee_org",
                99,
                99,
                7,
                ok_term.0,
                Some(date!(2030 - 01 - 01)),
            ),
            Some(5),
            TODAY,
        ))
        .join(",");
        assert_eq!(c, "committee_org_too_small");
    }

    #[test]
    fn terms_missing_due_overdue_and_extended() {
        let f = |start, end| org_findings(&facts("branch", 10, 10, 3, start, end), Some(3), TODAY);
        assert_eq!(rules(&f(None, None)), ["term_missing"]);
        let overdue = f(Some(date!(2022 - 06 - 01)), Some(date!(2025 - 06 - 01)));
        assert_eq!(rules(&overdue), ["term_overdue"]);
        assert_eq!(overdue[0].deadline.as_deref(), Some("2025-06-01"));
        let due = f(Some(date!(2024 - 03 - 01)), Some(date!(2027 - 03 - 01)));
        assert_eq!(rules(&due), ["term_due"]);
        assert!(due[0].warning);
        assert_eq!(
            rules(&f(Some(date!(2025 - 01 - 01)), Some(date!(2028 - 01 - 01)))),
            Vec::<&str>::new()
        );
        // Ending on today is not yet overdue; the day after is.
        assert_eq!(
            rules(&f(Some(date!(2023 - 11 - 26)), Some(TODAY))),
            ["term_due"]
        );
        assert_eq!(
            rules(&f(Some(date!(2023 - 11 - 25)), Some(date!(2026 - 11 - 25)))),
            ["term_overdue"]
        );
        // Without an end date the kind's length decides.
        assert_eq!(
            rules(&f(Some(date!(2023 - 01 - 01)), None)),
            ["term_overdue"]
        );
        // A four-year term for a branch is longer than the rules allow.
        assert_eq!(
            rules(&f(Some(date!(2025 - 01 - 01)), Some(date!(2029 - 01 - 01)))),
            ["term_too_long"]
        );
        // An approved extension moves the deadline.
        let mut ext = facts(
            "branch",
            10,
            10,
            3,
            Some(date!(2022 - 12 - 15)),
            Some(date!(2025 - 12 - 15)),
        );
        ext.extended_to = Some(date!(2026 - 12 - 14));
        assert_eq!(rules(&org_findings(&ext, Some(3), TODAY)), ["term_due"]);
        ext.extended_to = Some(date!(2026 - 06 - 01));
        assert_eq!(rules(&org_findings(&ext, Some(3), TODAY)), ["term_overdue"]);
    }

    #[test]
    fn a_unit_without_branches_must_establish_one() {
        let u = |b| {
            unit_findings(&UnitFacts {
                unit_id: 1,
                name: "市某局".into(),
                branches: b,
            })
        };
        assert_eq!(rules(&u(0)), ["unit_without_branch"]);
        assert!(u(1).is_empty());
        assert_eq!(add_months(date!(2024 - 02 - 29), 12), date!(2025 - 02 - 28));
        assert_eq!(add_months(date!(2023 - 01 - 31), 1), date!(2023 - 02 - 28));
    }
}
