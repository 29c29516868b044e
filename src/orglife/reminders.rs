//! The daily reminder pass: what each branch and unit admin should hear of today.
//!
//! Causes and stages (each sent once per user):
//! - a meeting still missing as its period nears its end (the last 7 days of a month,
//!   15 of a quarter, 30 of a year) → the branch's admins;
//! - a record waiting for review (each submission) → the unit's admins;
//! - a term due within 6 months, within 3 months, and every month it is overdue → the
//!   unit's admins (and the branch's, for a branch);
//! - any other establishment finding, once → the unit's admins.

use std::collections::HashMap;

use time::Date;

use super::rules::{self, CellState, MeetingKind, Period};
use super::store::{self, Tally};
use crate::auth::Scope;
use crate::error::AppResult;
use crate::notify::Notice;
use crate::org::establishment::{self, Area};
use crate::state::AppState;
use crate::text::{format_date, parse_date};

/// Days before a period's end when a missing meeting is worth a reminder.
pub fn lead_days(p: Period) -> i64 {
    match p {
        Period::Month => 7,
        Period::Quarter => 15,
        Period::Year => 30,
    }
}

/// Admins by scope object: (role, id) → user ids.
async fn admins(state: &AppState) -> AppResult<HashMap<(String, i64), Vec<i64>>> {
    let rows: Vec<(String, Option<i64>, Option<i64>, i64)> = sqlx::query_as(
        "select g.role, g.unit_id, g.org_id, g.user_id from role_grant g join app_user u on u.user_id = g.user_id \
         where u.disabled = 0 and g.role in ('unit', 'branch')",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let mut out: HashMap<(String, i64), Vec<i64>> = HashMap::new();
    for (role, unit, org, user) in rows {
        let key = if role == "unit" { unit } else { org };
        if let Some(k) = key {
            out.entry((role, k)).or_default().push(user);
        }
    }
    Ok(out)
}

/// Runs the pass for `today`; returns how many notifications were new.
pub async fn run(state: &AppState, today: Date) -> AppResult<u64> {
    let admins = admins(state).await?;
    let to = |role: &str, id: i64| {
        admins
            .get(&(role.to_string(), id))
            .cloned()
            .unwrap_or_default()
    };
    let mut notices = Vec::new();
    let mut push = |users: Vec<i64>,
                    cause: String,
                    stage: String,
                    title: String,
                    body: String,
                    href: String| {
        for u in users {
            notices.push(Notice {
                user_id: u,
                cause: cause.clone(),
                stage: stage.clone(),
                title: title.clone(),
                body: body.clone(),
                href: href.clone(),
            });
        }
    };

    // 1. Meetings missing as their period nears its end.
    let year = today.year();
    let all_rules = store::load_rules(state).await?;
    let (shapes, tallies, _) =
        store::shapes_and_tallies(state, &Scope::everything(), None, None, year).await?;
    let empty = Tally::new();
    for (s, shape) in &shapes {
        let grid = store::year_grid(
            &all_rules,
            year,
            shape,
            tallies.get(&s.org_id).unwrap_or(&empty),
            today,
        );
        let mut users = to("branch", s.org_id);
        if users.is_empty() {
            users = to("unit", s.unit_id);
        }
        if users.is_empty() {
            continue;
        }
        for row in &grid {
            let Some(kind) = MeetingKind::parse(&row.kind) else {
                continue;
            };
            let Some(rule) = rules::rule_for(&all_rules, kind, year) else {
                continue;
            };
            let span = rules::span_of(rule.period, today);
            let Some(cell) = row
                .cells
                .iter()
                .find(|c| c.from_month == u8::from(span.start.month()))
            else {
                continue;
            };
            let days_left = (span.end - today).whole_days();
            if cell.state == CellState::Open && days_left <= lead_days(rule.period) {
                push(
                    users.clone(),
                    format!(
                        "meeting:{}:{}:{}",
                        s.org_id,
                        kind.as_str(),
                        format_date(span.start)
                    ),
                    "near_end".into(),
                    format!("{}：本期{}尚未召开", s.name, kind.label()),
                    format!(
                        "{}要求{}，本期至 {} 结束，还剩 {} 天。",
                        kind.label(),
                        row.rule,
                        format_date(span.end),
                        days_left
                    ),
                    // Straight to the form that records it, the branch and kind filled in.
                    format!(
                        "/orglife/meetings/new?branch_id={}&kind={}",
                        s.org_id,
                        kind.as_str()
                    ),
                );
            }
        }
    }

    // 2. Records waiting for review.
    let waiting: Vec<(i64, i64, String, String, String, i64, String)> = sqlx::query_as(
        "select mt.meeting_id, mt.unit_id, mt.kind, mt.topic, mt.held_on, coalesce(mt.submitted_at, 0), b.name \
         from meeting mt join org b on b.org_id = mt.branch_id where mt.status = 'submitted'",
    )
    .fetch_all(&state.db.pool)
    .await?;
    for (id, unit, kind, topic, held_on, submitted_at, branch) in waiting {
        let label = MeetingKind::parse(&kind).map_or("会议", MeetingKind::label);
        push(
            to("unit", unit),
            format!("review:{id}"),
            format!("submitted:{submitted_at}"),
            format!("待审核：{branch}{label}"),
            format!("{held_on}「{topic}」已提交，请审核。"),
            format!("/orglife/meetings/{id}"),
        );
    }

    // 3 and 4. Terms and the other establishment findings.
    let o = establishment::overview_in(state, &Scope::everything(), "全市").await?;
    for f in o.findings.iter().cloned() {
        let mut users = to("unit", f.unit_id);
        if let Some(org) = f.org_id {
            users.extend(to("branch", org));
        }
        let object = f
            .org_id
            .map_or(format!("unit{}", f.unit_id), |o| o.to_string());
        let stage = match f.rule.as_str() {
            "term_due" => {
                let deadline = f.deadline.as_deref().and_then(|d| parse_date(d).ok());
                match deadline {
                    Some(d) if (d - today).whole_days() <= 92 => "3m".to_string(),
                    _ => "6m".to_string(),
                }
            }
            "term_overdue" => format!("overdue:{:04}-{:02}", today.year(), u8::from(today.month())),
            _ => "open".to_string(),
        };
        let cause = match f.area {
            Area::Renew => format!("term:{object}:{}", f.deadline.clone().unwrap_or_default()),
            _ => format!("finding:{}:{object}", f.rule),
        };
        push(
            users,
            cause,
            stage,
            format!("{}：{}", f.area_label(), f.object),
            format!("{}。{}", f.figures, f.advice),
            f.href(),
        );
    }
    crate::notify::deliver(state, &notices).await
}
