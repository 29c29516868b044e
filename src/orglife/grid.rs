//! A branch's year at a glance: month × kind cells from its records and its shape.

use std::collections::HashMap;

use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

use super::may_read;
use super::meeting_rules::*;
use super::meetings::*;
use super::register::*;
use super::rules::{self, CellState, MeetingKind, Rule};
use crate::auth::{CurrentUser, Scope};
use crate::db::Sql;
use crate::error::AppResult;
use crate::state::AppState;

/// One cell of a branch's year: a period of one kind of meeting.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Cell {
    /// First and last month covered (1–12).
    pub from_month: u8,
    pub to_month: u8,
    #[schema(value_type = String)]
    pub state: CellState,
    pub accepted: i64,
    pub submitted: i64,
    /// Held without the quorum its rule requires (条例: such a meeting could not validly
    /// decide): shown, never counted towards the period.
    pub inquorate: i64,
    /// For a 党小组会: the branch's groups, and how many of them met the period's rule
    /// (the cell is as good as its worst group).
    pub groups: i64,
    pub groups_met: i64,
}

impl Cell {
    pub fn span_months(&self) -> u8 {
        self.to_month - self.from_month + 1
    }

    pub fn label(&self) -> &'static str {
        self.state.label()
    }

    pub fn css(&self) -> &'static str {
        match self.state {
            CellState::Met => "cell-met",
            CellState::AwaitingReview => "cell-review",
            CellState::Open => "cell-open",
            CellState::Missed => "cell-missed",
            CellState::NotDue => "cell-notdue",
            CellState::Future => "cell-future",
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GridRow {
    pub kind: String,
    pub label: String,
    /// How often, as the rule of the year says.
    pub rule: String,
    pub cells: Vec<Cell>,
    pub met: i64,
    pub judged: i64,
}

/// What a branch is, as far as which meetings apply.
#[derive(Clone, Debug)]
pub struct BranchShape {
    pub founded_on: Option<Date>,
    /// Its 党小组.
    pub groups: Vec<i64>,
    /// Whether it has a committee (three or more posts on record).
    pub has_committee: bool,
}

/// Counts of meetings of one kind (and group) in one month.
#[derive(Clone, Debug, Default)]
pub struct MonthCounts {
    pub accepted: i64,
    pub submitted: i64,
    pub inquorate: i64,
}

/// Meetings of a branch by (kind, group, month 1–12).
pub type Tally = HashMap<(MeetingKind, Option<i64>, u8), MonthCounts>;

/// A branch's year, kind by kind, from its shape and its meetings.
pub fn year_grid(
    rules_all: &[Rule],
    year: i32,
    shape: &BranchShape,
    tally: &Tally,
    today: Date,
) -> Vec<GridRow> {
    let mut out = Vec::new();
    for kind in MeetingKind::ALL {
        let Some(rule) = rules::rule_for(rules_all, kind, year) else {
            continue;
        };
        let applies = match kind {
            MeetingKind::GroupMeeting => !shape.groups.is_empty(),
            MeetingKind::CommitteeMeeting => shape.has_committee,
            _ => true,
        };
        let mut cells = Vec::new();
        let (mut met, mut judged) = (0, 0);
        for span in rules::spans(rule.period, year) {
            let count = |group: Option<i64>| {
                let mut c = MonthCounts::default();
                for m in u8::from(span.start.month())..=u8::from(span.end.month()) {
                    if let Some(t) = tally.get(&(kind, group, m)) {
                        c.accepted += t.accepted;
                        c.submitted += t.submitted;
                        c.inquorate += t.inquorate;
                    }
                }
                c
            };
            // A group meeting is due in every group: the cell is as good as its worst group.
            let state = if kind == MeetingKind::GroupMeeting && applies {
                shape
                    .groups
                    .iter()
                    .map(|g| {
                        let c = count(Some(*g));
                        rules::cell_state(
                            &span,
                            shape.founded_on,
                            true,
                            today,
                            rule.times,
                            c.accepted,
                            c.submitted,
                        )
                    })
                    .max_by_key(|s| severity(*s))
                    .unwrap_or(CellState::NotDue)
            } else {
                let c = count(None);
                rules::cell_state(
                    &span,
                    shape.founded_on,
                    applies,
                    today,
                    rule.times,
                    c.accepted,
                    c.submitted,
                )
            };
            let groups_met = if kind == MeetingKind::GroupMeeting {
                shape
                    .groups
                    .iter()
                    .filter(|g| count(Some(**g)).accepted >= rule.times)
                    .count() as i64
            } else {
                0
            };
            let totals = if kind == MeetingKind::GroupMeeting {
                shape
                    .groups
                    .iter()
                    .fold(MonthCounts::default(), |mut a, g| {
                        let c = count(Some(*g));
                        a.accepted += c.accepted;
                        a.submitted += c.submitted;
                        a.inquorate += c.inquorate;
                        a
                    })
            } else {
                count(None)
            };
            match state.judged() {
                Some(true) => {
                    met += 1;
                    judged += 1;
                }
                Some(false) => judged += 1,
                None => {}
            }
            cells.push(Cell {
                from_month: u8::from(span.start.month()),
                to_month: u8::from(span.end.month()),
                state,
                accepted: totals.accepted,
                submitted: totals.submitted,
                inquorate: totals.inquorate,
                groups: if kind == MeetingKind::GroupMeeting {
                    shape.groups.len() as i64
                } else {
                    0
                },
                groups_met,
            });
        }
        out.push(GridRow {
            kind: kind.as_str().into(),
            label: kind.label().into(),
            rule: format!("{}{}次", rule.period.label(), rule.times),
            cells,
            met,
            judged,
        });
    }
    out
}

/// Worse states sort higher, so a group cell shows the worst group.
pub(super) fn severity(s: CellState) -> u8 {
    match s {
        CellState::NotDue => 0,
        CellState::Future => 1,
        CellState::Met => 2,
        CellState::AwaitingReview => 3,
        CellState::Open => 4,
        CellState::Missed => 5,
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct MeetingRow {
    branch_id: i64,
    kind: String,
    group_id: Option<i64>,
    held_on: String,
    status: String,
    present_count: i64,
    eligible_count: i64,
    quorum_met: i64,
}

impl crate::db::FromSqlite for MeetingRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(MeetingRow {
            branch_id: r.get(0)?,
            kind: r.get(1)?,
            group_id: r.get(2)?,
            held_on: r.get(3)?,
            status: r.get(4)?,
            present_count: r.get(5)?,
            eligible_count: r.get(6)?,
            quorum_met: r.get(7)?,
        })
    }
}

/// Attendance per branch and month (index 0 = January): (present, expected) over
/// accepted meetings.
pub type Sums = HashMap<i64, [(i64, i64); 12]>;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ShapeRow {
    pub org_id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    pub name: String,
    pub founded_on: Option<String>,
    pub officers: i64,
}

impl crate::db::FromSqlite for ShapeRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(ShapeRow {
            org_id: r.get(0)?,
            unit_id: r.get(1)?,
            unit_name: r.get(2)?,
            category_id: r.get(3)?,
            category_name: r.get(4)?,
            name: r.get(5)?,
            founded_on: r.get(6)?,
            officers: r.get(7)?,
        })
    }
}

/// Branches in scope (optionally one unit or one branch) with what decides which meetings apply,
/// and their meetings of `year` (submitted or accepted) by kind, group and month.
pub async fn shapes_and_tallies(
    state: &AppState,
    scope: &Scope,
    unit_id: Option<i64>,
    branch_id: Option<i64>,
    year: i32,
) -> AppResult<(Vec<(ShapeRow, BranchShape)>, HashMap<i64, Tally>, Sums)> {
    // A committee counts its valid posts only (the org page marks the others).
    let mut sql = Sql::new(&format!(
        "select o.org_id, o.unit_id, u.name as unit_name, c.category_id, c.name as category_name, \
         o.name, o.founded_on, (select count(*) from org_officer f join member m on m.member_id = f.member_id \
          where f.org_id = o.org_id and {}) as officers \
         from org o join unit u on u.unit_id = o.unit_id join category c on c.category_id = u.category_id \
         where o.kind = 'branch' and ",
        crate::org::orgs::OFFICER_COUNTS
    ));
    scope.org_condition(&mut sql);
    if let Some(u) = unit_id {
        sql.push(" and o.unit_id = ").bind(u);
    }
    if let Some(b) = branch_id {
        sql.push(" and o.org_id = ").bind(b);
    }
    sql.push(" order by u.sort_order, u.unit_id, o.sort_order, o.org_id");
    let shapes: Vec<ShapeRow> = sql.fetch_page(&state.db).await?;
    let mut gsql = Sql::new("select o.parent_id, o.org_id from org o where o.kind = 'group' and ");
    scope.org_condition(&mut gsql);
    if let Some(u) = unit_id {
        gsql.push(" and o.unit_id = ").bind(u);
    }
    if let Some(b) = branch_id {
        gsql.push(" and o.parent_id = ").bind(b);
    }
    let groups: Vec<(Option<i64>, i64)> = gsql.fetch_all(&state.db.pool).await?;
    let mut groups_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for (parent, g) in groups {
        if let Some(p) = parent {
            groups_of.entry(p).or_default().push(g);
        }
    }
    // Plain rows from a covering index, counted here: cheaper than SQL's GROUP BY sort.
    let mut t = Sql::new(
        "select mt.branch_id, mt.kind, mt.group_id, mt.held_on, mt.status, mt.present_count, mt.eligible_count, \
         mt.quorum_met from meeting mt where mt.held_on between ",
    );
    t.bind(format!("{year:04}-01-01"))
        .push(" and ")
        .bind(format!("{year:04}-12-31"))
        .push(if branch_id.is_some() {
            // One branch: written so no status index looks usable, leaving the planner
            // the branch's own index (meeting_branch) instead of the city's year.
            " and mt.status <> 'draft' and mt.status <> 'returned' and "
        } else {
            " and mt.status in ('submitted', 'accepted') and "
        });
    meeting_condition(scope, &mut t);
    if let Some(u) = unit_id {
        t.push(" and mt.unit_id = ").bind(u);
    }
    if let Some(b) = branch_id {
        t.push(" and mt.branch_id = ").bind(b);
    }
    let rows: Vec<MeetingRow> = t.fetch_page(&state.db).await?;
    let mut tallies: HashMap<i64, Tally> = HashMap::new();
    let mut sums = Sums::new();
    for r in rows {
        let month = r.held_on.get(5..7).and_then(|m| m.parse::<u8>().ok());
        let (Some(kind), Some(month)) = (MeetingKind::parse(&r.kind), month) else {
            continue;
        };
        let e = tallies
            .entry(r.branch_id)
            .or_default()
            .entry((kind, r.group_id, month))
            .or_default();
        if r.quorum_met == 0 {
            // Held without its quorum: it does not satisfy the period.
            e.inquorate += 1;
        } else if r.status == "accepted" {
            e.accepted += 1;
            if let Some(a) = sums
                .entry(r.branch_id)
                .or_insert([(0, 0); 12])
                .get_mut(usize::from(month.saturating_sub(1)))
            {
                a.0 += r.present_count;
                a.1 += r.eligible_count;
            }
        } else {
            e.submitted += 1;
        }
    }
    let out = shapes
        .into_iter()
        .map(|s| {
            let shape = BranchShape {
                founded_on: date_of(&s.founded_on),
                groups: groups_of.remove(&s.org_id).unwrap_or_default(),
                has_committee: s.officers >= 3,
            };
            (s, shape)
        })
        .collect();
    Ok((out, tallies, sums))
}

/// One branch's year grid and its attendance, (present, expected) over the year's
/// accepted meetings (the branch must be in scope).
pub async fn branch_grid(
    state: &AppState,
    user: &CurrentUser,
    branch_id: i64,
    year: i32,
) -> AppResult<(Vec<GridRow>, (i64, i64))> {
    user.require(may_read(user))?;
    branch_in_scope(state, user, branch_id).await?;
    let rules_all = load_rules(state).await?;
    let (shapes, tallies, sums) =
        shapes_and_tallies(state, &user.scope(), None, Some(branch_id), year).await?;
    let empty = Tally::new();
    let grid = shapes
        .first()
        .map(|(s, shape)| {
            year_grid(
                &rules_all,
                year,
                shape,
                tallies.get(&s.org_id).unwrap_or(&empty),
                crate::clock::today(),
            )
        })
        .unwrap_or_default();
    let attendance = sums.get(&branch_id).map_or((0, 0), |months| {
        months.iter().fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1))
    });
    Ok((grid, attendance))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn shape(groups: Vec<i64>, committee: bool) -> BranchShape {
        BranchShape {
            founded_on: Some(date!(2020 - 01 - 01)),
            groups,
            has_committee: committee,
        }
    }

    #[test]
    fn a_full_year_of_theme_days_is_all_green_and_a_gap_is_red() {
        let rules_all = rules::default_rules();
        let mut tally = Tally::new();
        for m in 1..=12u8 {
            if m != 4 {
                tally.insert(
                    (MeetingKind::ThemeDay, None, m),
                    MonthCounts {
                        accepted: 1,
                        submitted: 0,
                        inquorate: 0,
                    },
                );
            }
        }
        let grid = year_grid(
            &rules_all,
            2025,
            &shape(vec![], false),
            &tally,
            date!(2026 - 01 - 10),
        );
        let theme = grid.iter().find(|r| r.kind == "theme_day").expect("row");
        assert_eq!((theme.met, theme.judged), (11, 12));
        assert_eq!(theme.cells[3].state, CellState::Missed);
        // Without a committee or groups those rows are not due.
        let cm = grid
            .iter()
            .find(|r| r.kind == "committee_meeting")
            .expect("row");
        assert!(cm.cells.iter().all(|c| c.state == CellState::NotDue));
        let gm = grid
            .iter()
            .find(|r| r.kind == "group_meeting")
            .expect("row");
        assert_eq!(gm.judged, 0);
        // Quarterly assembly: 4 cells of 3 months.
        let ga = grid
            .iter()
            .find(|r| r.kind == "general_assembly")
            .expect("row");
        assert_eq!(ga.cells.len(), 4);
        assert_eq!(ga.cells[1].span_months(), 3);
    }

    #[test]
    fn a_group_cell_is_as_good_as_its_worst_group() {
        let rules_all = rules::default_rules();
        let mut tally = Tally::new();
        tally.insert(
            (MeetingKind::GroupMeeting, Some(7), 1),
            MonthCounts {
                accepted: 1,
                submitted: 0,
                inquorate: 0,
            },
        );
        let grid = year_grid(
            &rules_all,
            2026,
            &shape(vec![7, 8], true),
            &tally,
            date!(2026 - 03 - 01),
        );
        let gm = grid
            .iter()
            .find(|r| r.kind == "group_meeting")
            .expect("row");
        assert_eq!(gm.cells[0].state, CellState::Missed);
        assert_eq!(gm.cells[0].accepted, 1);
        // "1 次" would read as the branch's count; the cell says 1 of its 2 groups met.
        assert_eq!((gm.cells[0].groups, gm.cells[0].groups_met), (2, 1));
        tally.insert(
            (MeetingKind::GroupMeeting, Some(8), 1),
            MonthCounts {
                accepted: 0,
                submitted: 1,
                inquorate: 0,
            },
        );
        let grid = year_grid(
            &rules_all,
            2026,
            &shape(vec![7, 8], true),
            &tally,
            date!(2026 - 03 - 01),
        );
        let gm = grid
            .iter()
            .find(|r| r.kind == "group_meeting")
            .expect("row");
        assert_eq!(gm.cells[0].state, CellState::AwaitingReview);
        assert_eq!(gm.cells[1].state, CellState::Missed);
        assert_eq!(gm.cells[2].state, CellState::Open);
    }
}
