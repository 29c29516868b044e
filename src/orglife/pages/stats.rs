//! The year grid (合规日历) and the compliance tables (合规统计), with their exports.

use super::*;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::org::pickers;
use crate::orglife::rules::{self, MeetingKind};
use crate::orglife::store::{self, ComplianceLine, GridRow};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager};

#[derive(Deserialize, IntoParams)]
pub struct CalendarQuery {
    pub branch_id: Option<String>,
    pub unit_id: Option<String>,
    pub year: Option<String>,
}

#[derive(Template)]
#[template(path = "orglife/calendar.html")]
pub(in crate::orglife) struct CalendarPage {
    ctx: PageCtx,
    year: i32,
    years: Vec<i32>,
    branch_id: i64,
    branch_name: String,
    units: Vec<(i64, String)>,
    unit_id: Option<i64>,
    branches: Vec<(i64, String)>,
    grid: Vec<GridRow>,
    months: Vec<String>,
    met: i64,
    judged: i64,
    /// Present and expected over the accepted meetings of the year.
    attendance: (i64, i64),
    can_write: bool,
    /// This month (1–12) when the year shown is this year, else 0: a phone opens the grid there.
    current_month: usize,
}

impl CalendarPage {
    fn rate(&self) -> String {
        rules::rate(self.met, self.judged).map_or("—".into(), |r| format!("{r:.1}%"))
    }
    fn attendance_rate(&self) -> String {
        rules::rate(self.attendance.0, self.attendance.1)
            .map_or("—".into(), |r| format!("{r:.1}%"))
    }
    fn unit_is(&self, id: &i64) -> bool {
        self.unit_id == Some(*id)
    }
}

pub(in crate::orglife) async fn calendar_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<CalendarQuery>,
) -> AppResult<Response> {
    user.require(store::may_read(&user))?;
    let year = store::year_or_now(q.year.as_deref());
    let mut unit_id = parse_id(&q.unit_id);
    let mut branch_id = parse_id(&q.branch_id);
    let mut branch_name = String::new();
    if let Some(b) = branch_id {
        let facts = store::branch_in_scope(&state, &user, b).await?;
        unit_id = Some(facts.unit_id);
        branch_name = facts.name;
    }
    let branches = pickers::branches_labelled(&state, &user, unit_id).await?;
    if branch_id.is_none() && branches.len() == 1 {
        branch_id = Some(branches[0].0);
        branch_name = branches[0].1.clone();
    }
    let (grid, attendance) = match branch_id {
        Some(b) => store::branch_grid(&state, &user, b, year).await?,
        None => (Vec::new(), (0, 0)),
    };
    let (met, judged) = grid
        .iter()
        .fold((0, 0), |a, r| (a.0 + r.met, a.1 + r.judged));
    web::render(&CalendarPage {
        ctx: PageCtx::new(&user, "合规日历", "/orglife/calendar", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("合规日历", "/orglife/calendar"),
        year,
        years: years_around(year),
        branch_id: branch_id.unwrap_or(0),
        branch_name,
        units: if user.is_committee() {
            pickers::units(&state, &user).await?
        } else {
            Vec::new()
        },
        unit_id,
        branches,
        grid,
        months: store::month_labels(),
        met,
        judged,
        attendance,
        can_write: store::may_write(&user),
        current_month: {
            let today = crate::clock::today();
            if today.year() == year {
                usize::from(u8::from(today.month()))
            } else {
                0
            }
        },
    })
}

// ---- compliance ----

#[derive(Deserialize, IntoParams)]
pub struct ComplianceQuery {
    pub year: Option<String>,
    /// category | unit | branch
    pub by: Option<String>,
    pub unit_id: Option<String>,
    /// Within the year: q1–q4, h1–h2, m1–m12; the whole year by default.
    pub period: Option<String>,
    pub category_id: Option<String>,
    /// missed (只看未达标: a period was missed) | due (只看本期待完成: a period under way
    /// is not yet met) | all
    pub only: Option<String>,
    /// Words of the name (or of the unit or category above it).
    pub q: Option<String>,
    /// name | parent | branches | rate | attendance | met | judged | due; `-` before it
    /// sorts descending (`-rate`). The tree's order by default.
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A compliance table after its filter, order and paging: what the page, the API and the
/// export answer alike (the export takes every matching line).
pub struct Table {
    pub year: i32,
    pub by: &'static str,
    pub months: store::Months,
    pub view: store::TableView,
    /// The matching lines, sorted; one page of them when paged.
    pub lines: Vec<ComplianceLine>,
    /// How many lines match in all.
    pub matched: i64,
    pub total: ComplianceLine,
}

pub async fn compliance_table(
    state: &AppState,
    user: &CurrentUser,
    q: &ComplianceQuery,
    paged: bool,
) -> AppResult<Table> {
    user.require(store::may_read(user))?;
    let view = store::TableView::parse(q.only.as_deref(), q.q.as_deref(), q.sort.as_deref())
        .map_err(crate::error::AppError::fields)?;
    let year = store::year_or_now(q.year.as_deref());
    let by = q.by(user);
    let months = store::Months::parse(q.period.as_deref());
    // Filtered, sorted and paged by reference: only the page is copied out of the shared
    // table (the province's branch view is 15,000 lines).
    let table = store::compliance(
        state,
        user,
        year,
        by,
        parse_id(&q.unit_id),
        parse_id(&q.category_id),
        months,
    )
    .await?;
    let mut lines: Vec<&ComplianceLine> = table.0.iter().collect();
    view.apply(&mut lines);
    let matched = lines.len() as i64;
    let (skip, take) = if paged {
        let p = q.paging();
        (
            usize::try_from(p.offset()).unwrap_or(usize::MAX),
            usize::try_from(p.per_page()).unwrap_or(0),
        )
    } else {
        (0, usize::MAX)
    };
    Ok(Table {
        year,
        by,
        months,
        view,
        lines: lines.into_iter().skip(skip).take(take).cloned().collect(),
        matched,
        total: table.1.clone(),
    })
}

impl ComplianceQuery {
    pub(in crate::orglife) fn by(&self, user: &CurrentUser) -> &'static str {
        match self.by.as_deref() {
            Some("category") if user.is_committee() => "category",
            Some("branch") => "branch",
            Some("unit") => "unit",
            _ if user.is_committee() && parse_id(&self.unit_id).is_none() => "category",
            _ => "branch",
        }
    }

    pub fn paging(&self) -> web::Paging {
        web::Paging {
            page: self.page,
            per_page: Some(self.per_page.unwrap_or(50)),
        }
    }
}

#[derive(Template)]
#[template(path = "orglife/compliance.html")]
pub(in crate::orglife) struct CompliancePage {
    ctx: PageCtx,
    year: i32,
    years: Vec<i32>,
    by: &'static str,
    unit_id: Option<i64>,
    units: Vec<(i64, String)>,
    lines: Vec<ComplianceLine>,
    total: ComplianceLine,
    kinds: Vec<(&'static str, &'static str)>,
    kind_idx: Vec<usize>,
    committee: bool,
    period: String,
    period_label: String,
    periods: Vec<(String, String)>,
    category_id: Option<i64>,
    categories: Vec<(i64, String)>,
    only: &'static str,
    q: String,
    sort: String,
    pager: Pager,
    /// The filter as a query string, without sort and page.
    filter_query: String,
}

impl CompliancePage {
    fn unit_is(&self, id: &i64) -> bool {
        self.unit_id == Some(*id)
    }
    fn category_is(&self, id: &i64) -> bool {
        self.category_id == Some(*id)
    }
    /// A column header's link: `first` (`rate`, or `-due` for a column read from the top)
    /// first, the other direction when already sorted that way.
    fn sort_link(&self, first: &str) -> String {
        let next = if self.sort != first {
            first.to_string()
        } else if let Some(k) = first.strip_prefix('-') {
            k.to_string()
        } else {
            format!("-{first}")
        };
        let sep = if self.filter_query.is_empty() {
            ""
        } else {
            "&"
        };
        format!("/orglife/compliance?{}{sep}sort={next}", self.filter_query)
    }
    fn sort_mark(&self, key: &str) -> &'static str {
        if self.sort == key {
            " ↑"
        } else if self.sort.strip_prefix('-') == Some(key) {
            " ↓"
        } else {
            ""
        }
    }
    fn export_query(&self) -> String {
        if self.sort.is_empty() {
            self.filter_query.clone()
        } else {
            format!("{}&sort={}", self.filter_query, self.sort)
        }
    }
    fn link(&self, l: &ComplianceLine) -> String {
        match l.level.as_str() {
            "branch" => format!("/orglife/calendar?branch_id={}&year={}", l.id, self.year),
            "unit" => format!(
                "/orglife/compliance?by=branch&unit_id={}&year={}&period={}",
                l.id, self.year, self.period
            ),
            _ => format!(
                "/orglife/compliance?by=unit&year={}&period={}",
                self.year, self.period
            ),
        }
    }
    fn bar(&self, l: &ComplianceLine) -> String {
        format!("{:.0}", l.rate.unwrap_or(0.0))
    }
    fn tone(&self, l: &ComplianceLine) -> &'static str {
        match l.rate {
            Some(r) if r >= 95.0 => "bg-green",
            Some(r) if r >= 80.0 => "bg-yellow",
            Some(_) => "bg-red",
            None => "bg-secondary",
        }
    }
}

pub(in crate::orglife) async fn compliance_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<ComplianceQuery>,
) -> AppResult<Response> {
    let t = compliance_table(&state, &user, &q, true).await?;
    let unit_id = parse_id(&q.unit_id);
    let category_id = parse_id(&q.category_id);
    let stats = store::year_stats(&state, t.year).await?;
    let mut categories: Vec<(i64, String)> = if user.is_committee() {
        stats
            .branches
            .iter()
            .map(|b| (b.shape.category_id, b.shape.category_name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    categories.sort();
    categories.dedup();
    let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let filter_query = web::query_string(&[
        ("year", t.year.to_string()),
        ("period", t.months.code()),
        ("by", t.by.to_string()),
        ("unit_id", n(unit_id)),
        ("category_id", n(category_id)),
        ("only", t.view.only_code().to_string()),
        ("q", t.view.q.clone()),
    ]);
    let sort = t.view.sort_code();
    let pager_query = if sort.is_empty() {
        filter_query.clone()
    } else {
        format!("{filter_query}&sort={sort}")
    };
    web::render(&CompliancePage {
        period: t.months.code(),
        period_label: t.months.label(),
        periods: store::month_ranges(),
        ctx: PageCtx::new(&user, "合规统计", "/orglife/compliance", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("合规统计", "/orglife/compliance"),
        year: t.year,
        years: years_around(t.year),
        by: t.by,
        unit_id,
        units: pickers::units(&state, &user).await?,
        pager: Pager::new(&q.paging(), t.matched, "/orglife/compliance", &pager_query),
        lines: t.lines,
        total: t.total,
        kinds: kinds(),
        kind_idx: (0..MeetingKind::ALL.len()).collect(),
        committee: user.is_committee(),
        category_id,
        categories,
        only: t.view.only_code(),
        q: t.view.q.clone(),
        sort,
        filter_query,
    })
}

pub async fn compliance_xlsx(
    state: &AppState,
    user: &CurrentUser,
    q: &ComplianceQuery,
) -> AppResult<Vec<u8>> {
    let t = compliance_table(state, user, q, false).await?;
    let mut headers: Vec<&str> = vec![
        match t.by {
            "category" => "类别",
            "unit" => "机关党组织",
            _ => "党支部",
        },
        "上级",
        "支部数",
    ];
    headers.extend(MeetingKind::ALL.iter().map(|k| k.label()));
    headers.extend([
        "完成期数",
        "应完成期数",
        "合规率",
        "参学率",
        "本期待完成",
        "状态",
    ]);
    use crate::xlsx::Cell;
    let line = |l: &ComplianceLine| {
        let mut row = vec![
            Cell::Text(l.name.clone()),
            Cell::Text(l.parent.clone()),
            Cell::Int(l.branches),
        ];
        row.extend((0..MeetingKind::ALL.len()).map(|i| Cell::Text(l.kind_text(&i))));
        row.extend([
            Cell::Int(l.met),
            Cell::Int(l.judged),
            Cell::percent(l.rate),
            Cell::percent(l.attendance),
            Cell::Int(l.due),
            Cell::Text(l.status_text()),
        ]);
        row
    };
    let mut rows: Vec<Vec<Cell>> = t.lines.iter().map(line).collect();
    rows.push(line(&t.total));
    crate::xlsx::write_table(
        &format!("{}年{}组织生活合规", t.year, t.months.label()),
        &headers,
        &rows,
    )
}

pub(in crate::orglife) async fn compliance_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ComplianceQuery>,
) -> AppResult<Response> {
    user.require(store::may_read(&user))?;
    Ok(crate::xlsx::download(
        "组织生活合规统计.xlsx",
        compliance_xlsx(&state, &user, &q).await?,
    ))
}

// ---- rules ----
