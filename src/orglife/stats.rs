//! Compliance figures: every branch's year computed once per data version and cached,
//! aggregated under the caller's scope by branch, unit or category.

use std::collections::HashMap;

use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

use super::grid::*;
use super::may_read;
use super::meeting_rules::*;
use super::rules::{self, MeetingKind};
use crate::auth::{CurrentUser, Scope};
use crate::error::AppResult;
use crate::state::AppState;

/// Compliance of a group of branches: periods met over periods judged.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ComplianceLine {
    /// branch | unit | category | city
    pub level: String,
    pub id: i64,
    pub name: String,
    /// The unit (for a branch line) or category (for a unit line) above it.
    pub parent: String,
    pub branches: i64,
    pub met: i64,
    pub judged: i64,
    /// Percent, one decimal; absent when nothing was due yet.
    pub rate: Option<f64>,
    /// [met, judged] per kind, in the order of `MeetingKind::ALL`.
    #[schema(value_type = Vec<Vec<i64>>)]
    pub by_kind: Vec<(i64, i64)>,
    /// 参学率: present over expected, summed over the accepted meetings of the year.
    pub present: i64,
    pub expected: i64,
    pub attendance: Option<f64>,
}

impl ComplianceLine {
    pub fn rate_text(&self) -> String {
        self.rate.map_or("—".into(), |r| format!("{r:.1}%"))
    }

    pub fn attendance_text(&self) -> String {
        self.attendance.map_or("—".into(), |r| format!("{r:.1}%"))
    }

    pub fn kind_text(&self, i: &usize) -> String {
        match self.by_kind.get(*i) {
            Some((m, j)) if *j > 0 => format!("{m}/{j}"),
            _ => "—".into(),
        }
    }
}

/// One branch's year, summed: what the compliance tables aggregate.
#[derive(Clone, Debug)]
pub struct BranchYear {
    pub shape: ShapeRow,
    /// Each judged period: (kind index in `MeetingKind::ALL`, first month, last month, met).
    pub cells: Vec<(usize, u8, u8, bool)>,
    /// (present, expected) per month.
    pub attendance: [(i64, i64); 12],
}

/// Months `from..=to` of a year: the period a compliance table covers. A period of a
/// rule counts when it lies inside: a quarter's assembly in a quarter or the year, a
/// year's life meeting only in the whole year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Months {
    pub from: u8,
    pub to: u8,
}

impl Months {
    pub const YEAR: Months = Months { from: 1, to: 12 };

    /// `q1`…`q4`, `m1`…`m12`, `h1`/`h2`, or the whole year.
    pub fn parse(s: Option<&str>) -> Months {
        let s = s.unwrap_or("").trim();
        let n = |p: &str| s.strip_prefix(p).and_then(|x| x.parse::<u8>().ok());
        match (n("q"), n("m"), n("h")) {
            (Some(q @ 1..=4), _, _) => Months {
                from: q * 3 - 2,
                to: q * 3,
            },
            (_, Some(m @ 1..=12), _) => Months { from: m, to: m },
            (_, _, Some(h @ 1..=2)) => Months {
                from: h * 6 - 5,
                to: h * 6,
            },
            _ => Months::YEAR,
        }
    }

    pub fn code(&self) -> String {
        match (self.from, self.to) {
            (1, 12) => String::new(),
            (f, t) if f == t => format!("m{f}"),
            (f, t) if t == f + 2 && f % 3 == 1 => format!("q{}", t / 3),
            (f, t) if t == f + 5 && f % 6 == 1 => format!("h{}", t / 6),
            _ => String::new(),
        }
    }

    pub fn label(&self) -> String {
        match (self.from, self.to) {
            (1, 12) => "全年".into(),
            (f, t) if f == t => format!("{f}月"),
            (1, 6) => "上半年".into(),
            (7, 12) => "下半年".into(),
            (f, t) if t == f + 2 => format!("第{}季度", t / 3),
            (f, t) => format!("{f}–{t}月"),
        }
    }

    fn covers(&self, from: u8, to: u8) -> bool {
        self.from <= from && to <= self.to
    }
}

/// The choices of period a compliance page offers.
pub fn month_ranges() -> Vec<(String, String)> {
    let mut v = vec![(String::new(), "全年".to_string())];
    for h in 1..=2u8 {
        let m = Months {
            from: h * 6 - 5,
            to: h * 6,
        };
        v.push((m.code(), m.label()));
    }
    for q in 1..=4u8 {
        let m = Months {
            from: q * 3 - 2,
            to: q * 3,
        };
        v.push((m.code(), m.label()));
    }
    for mo in 1..=12u8 {
        let m = Months { from: mo, to: mo };
        v.push((m.code(), m.label()));
    }
    v
}

/// Every branch's year as of a data version and a day.
pub struct YearStats {
    version: i64,
    today: Date,
    pub branches: Vec<BranchYear>,
}

/// Computed years, valid while `data_version` ('orglife') and the day stay the same: any
/// write to meetings, rules, orgs or officers bumps the version (database triggers), so a
/// cached year is never stale, whichever instance made the write.
#[derive(Default)]
pub struct StatsCache {
    years: std::sync::Mutex<HashMap<i32, std::sync::Arc<YearStats>>>,
}

pub(super) async fn data_version(state: &AppState) -> AppResult<i64> {
    Ok(crate::db::data_version(&state.db, "orglife").await?)
}

pub(super) async fn compute_year(
    state: &AppState,
    year: i32,
    today: Date,
    version: i64,
) -> AppResult<YearStats> {
    let rules_all = load_rules(state).await?;
    let everything = Scope::everything();
    let (shapes, tallies, sums) = shapes_and_tallies(state, &everything, None, None, year).await?;
    let empty = Tally::new();
    let branches = shapes
        .into_iter()
        .map(|(s, shape)| {
            let grid = year_grid(
                &rules_all,
                year,
                &shape,
                tallies.get(&s.org_id).unwrap_or(&empty),
                today,
            );
            let mut cells = Vec::new();
            for row in &grid {
                let Some(i) = MeetingKind::ALL.iter().position(|k| k.as_str() == row.kind) else {
                    continue;
                };
                for c in &row.cells {
                    if let Some(met) = c.state.judged() {
                        cells.push((i, c.from_month, c.to_month, met));
                    }
                }
            }
            BranchYear {
                attendance: sums.get(&s.org_id).copied().unwrap_or([(0, 0); 12]),
                shape: s,
                cells,
            }
        })
        .collect();
    Ok(YearStats {
        version,
        today,
        branches,
    })
}

/// Every branch's year, from the cache when nothing changed since it was computed.
pub async fn year_stats(state: &AppState, year: i32) -> AppResult<std::sync::Arc<YearStats>> {
    let today = crate::clock::today();
    let version = data_version(state).await?;
    let cached = state
        .ext::<StatsCache>()
        .years
        .lock()
        .ok()
        .and_then(|m| m.get(&year).cloned())
        .filter(|y| y.version == version && y.today == today);
    if let Some(y) = cached {
        return Ok(y);
    }
    let fresh = std::sync::Arc::new(compute_year(state, year, today, version).await?);
    if let Ok(mut m) = state.ext::<StatsCache>().years.lock() {
        m.insert(year, fresh.clone());
    }
    Ok(fresh)
}

/// The compliance table for `year` (periods up to today), grouped by `by`
/// (branch | unit | category), plus the line for everything in scope.
pub async fn compliance(
    state: &AppState,
    user: &CurrentUser,
    year: i32,
    by: &str,
    unit_id: Option<i64>,
    months: Months,
) -> AppResult<(Vec<ComplianceLine>, ComplianceLine)> {
    user.require(may_read(user))?;
    let stats = year_stats(state, year).await?;
    let scope = user.scope();
    let n_kinds = MeetingKind::ALL.len();
    let new_line = |level: &str, id: i64, name: String, parent: String| ComplianceLine {
        level: level.into(),
        id,
        name,
        parent,
        branches: 0,
        met: 0,
        judged: 0,
        rate: None,
        by_kind: vec![(0, 0); n_kinds],
        present: 0,
        expected: 0,
        attendance: None,
    };
    let mut lines: Vec<ComplianceLine> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut total = new_line(
        "city",
        0,
        if user.is_committee() && unit_id.is_none() {
            "全市".into()
        } else {
            "合计".into()
        },
        String::new(),
    );
    // The scope applied to the cached city: a branch is visible through its unit or itself.
    let visible = |b: &BranchYear| {
        (scope.all
            || scope.units.contains(&b.shape.unit_id)
            || scope.branches.contains(&b.shape.org_id))
            && unit_id.is_none_or(|u| u == b.shape.unit_id)
    };
    for b in stats.branches.iter().filter(|b| visible(b)) {
        let s = &b.shape;
        let (key, name, parent) = match by {
            "unit" => (s.unit_id, s.unit_name.clone(), s.category_name.clone()),
            "category" => (s.category_id, s.category_name.clone(), String::new()),
            _ => (s.org_id, s.name.clone(), s.unit_name.clone()),
        };
        let level = match by {
            "unit" | "category" => by,
            _ => "branch",
        };
        let i = *index.entry(key).or_insert_with(|| {
            lines.push(new_line(level, key, name, parent));
            lines.len() - 1
        });
        let (present, expected) = b.attendance
            [usize::from(months.from - 1)..usize::from(months.to)]
            .iter()
            .fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1));
        for line in [&mut lines[i], &mut total] {
            line.branches += 1;
            line.present += present;
            line.expected += expected;
            for (slot, from, to, met) in &b.cells {
                if !months.covers(*from, *to) {
                    continue;
                }
                let m = i64::from(*met);
                line.met += m;
                line.judged += 1;
                if let Some(k) = line.by_kind.get_mut(*slot) {
                    k.0 += m;
                    k.1 += 1;
                }
            }
        }
    }
    for l in lines.iter_mut().chain(std::iter::once(&mut total)) {
        l.rate = rules::rate(l.met, l.judged);
        l.attendance = rules::rate(l.present, l.expected);
    }
    Ok((lines, total))
}

// ---- a member's own meetings ----

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_within_a_year() {
        assert_eq!(Months::parse(Some("q2")), Months { from: 4, to: 6 });
        assert_eq!(Months::parse(Some("m12")), Months { from: 12, to: 12 });
        assert_eq!(Months::parse(Some("h2")), Months { from: 7, to: 12 });
        for bad in [None, Some(""), Some("q5"), Some("m0"), Some("x")] {
            assert_eq!(Months::parse(bad), Months::YEAR);
        }
        let q2 = Months::parse(Some("q2"));
        assert!(q2.covers(4, 6) && q2.covers(5, 5) && !q2.covers(1, 12) && !q2.covers(3, 3));
        assert_eq!(
            (q2.code(), q2.label()),
            ("q2".to_string(), "第2季度".to_string())
        );
        assert_eq!(Months::YEAR.code(), "");
        assert_eq!(month_ranges().len(), 1 + 2 + 4 + 12);
        for (code, _) in month_ranges() {
            assert_eq!(Months::parse(Some(&code)).code(), code, "round trip");
        }
    }
}
