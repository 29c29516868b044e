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
use crate::web::{self, FlashIn, PageCtx};

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
}

impl CompliancePage {
    fn unit_is(&self, id: &i64) -> bool {
        self.unit_id == Some(*id)
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
    user.require(store::may_read(&user))?;
    let year = store::year_or_now(q.year.as_deref());
    let by = q.by(&user);
    let unit_id = parse_id(&q.unit_id);
    let months = store::Months::parse(q.period.as_deref());
    let (lines, total) = store::compliance(&state, &user, year, by, unit_id, months).await?;
    web::render(&CompliancePage {
        period: months.code(),
        period_label: months.label(),
        periods: store::month_ranges(),
        ctx: PageCtx::new(&user, "合规统计", "/orglife/compliance", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("合规统计", "/orglife/compliance"),
        year,
        years: years_around(year),
        by,
        unit_id,
        units: pickers::units(&state, &user).await?,
        lines,
        total,
        kinds: kinds(),
        kind_idx: (0..MeetingKind::ALL.len()).collect(),
        committee: user.is_committee(),
    })
}

pub async fn compliance_xlsx(
    state: &AppState,
    user: &CurrentUser,
    q: &ComplianceQuery,
) -> AppResult<Vec<u8>> {
    let year = store::year_or_now(q.year.as_deref());
    let by = q.by(user);
    let months = store::Months::parse(q.period.as_deref());
    let (lines, total) =
        store::compliance(state, user, year, by, parse_id(&q.unit_id), months).await?;
    let mut headers: Vec<&str> = vec![
        match by {
            "category" => "类别",
            "unit" => "机关党组织",
            _ => "党支部",
        },
        "上级",
        "支部数",
    ];
    headers.extend(MeetingKind::ALL.iter().map(|k| k.label()));
    headers.extend(["完成期数", "应完成期数", "合规率", "参学率"]);
    let line = |l: &ComplianceLine| {
        let mut row = vec![l.name.clone(), l.parent.clone(), l.branches.to_string()];
        row.extend((0..MeetingKind::ALL.len()).map(|i| l.kind_text(&i)));
        row.extend([
            l.met.to_string(),
            l.judged.to_string(),
            l.rate_text(),
            l.attendance_text(),
        ]);
        row
    };
    let mut rows: Vec<Vec<String>> = lines.iter().map(line).collect();
    rows.push(line(&total));
    crate::xlsx::write_sheet(
        &format!("{year}年{}组织生活合规", months.label()),
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
