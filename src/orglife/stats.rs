//! Compliance figures: every branch's year computed once per data version and cached,
//! aggregated under the caller's scope by branch, unit or category.

use std::collections::HashMap;

use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

use super::grid::*;
use super::may_read;
use super::meeting_rules::*;
use super::rules::{self, CellState, MeetingKind};
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
    /// Periods under way and not yet met (待完成): still to do before they end.
    pub due: i64,
    /// The earliest end (YYYY-MM-DD) of those periods: the date to chase the branch by.
    pub due_until: Option<String>,
    /// Periods under way and not yet met, per kind in the order of `MeetingKind::ALL`.
    pub due_by_kind: Vec<i64>,
}

impl ComplianceLine {
    pub fn rate_text(&self) -> String {
        self.rate.map_or("—".into(), |r| format!("{r:.1}%"))
    }

    pub fn attendance_text(&self) -> String {
        self.attendance.map_or("—".into(), |r| format!("{r:.1}%"))
    }

    /// "已完成/应完成" of a kind, with 待完成 when one of its periods is still under way:
    /// "—" then only means the kind is not required.
    pub fn kind_text(&self, i: &usize) -> String {
        let due = self.due_by_kind.get(*i).copied().unwrap_or(0);
        let done = match self.by_kind.get(*i) {
            Some((m, j)) if *j > 0 => Some(format!("{m}/{j}")),
            _ => None,
        };
        match (done, due) {
            (None, 0) => "—".into(),
            (None, d) => format!("待完成{}", count_if_many(d)),
            (Some(t), 0) => t,
            (Some(t), d) => format!("{t} 待完成{}", count_if_many(d)),
        }
    }

    /// 未达标 and/or 待完成（… 前）, or 达标, as the status column says.
    pub fn status_text(&self) -> String {
        let due = match (&self.due_until, self.due > 0) {
            (Some(d), true) => Some(format!("待完成（{d}前）")),
            (None, true) => Some("待完成".to_string()),
            _ => None,
        };
        match (self.missed(), due) {
            (true, Some(d)) => format!("未达标；{d}"),
            (true, None) => "未达标".into(),
            (false, Some(d)) => d,
            (false, None) if self.judged > 0 => "达标".into(),
            (false, None) => "—".into(),
        }
    }

    pub fn missed(&self) -> bool {
        self.met < self.judged
    }
}

fn count_if_many(n: i64) -> String {
    if n > 1 {
        format!(" {n} 期")
    } else {
        String::new()
    }
}

/// Which lines a compliance table shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    All,
    /// 只看未达标: a judged period was missed.
    Missed,
    /// 只看本期待完成: a period under way is not yet met.
    Due,
}

/// How a compliance table is sorted: a column, ascending or descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// The order of the tree (category, unit, branch).
    Tree,
    Name,
    Parent,
    Branches,
    Rate,
    Attendance,
    Met,
    Judged,
    Due,
}

const SORT_KEYS: [(&str, SortKey); 9] = [
    ("", SortKey::Tree),
    ("name", SortKey::Name),
    ("parent", SortKey::Parent),
    ("branches", SortKey::Branches),
    ("rate", SortKey::Rate),
    ("attendance", SortKey::Attendance),
    ("met", SortKey::Met),
    ("judged", SortKey::Judged),
    ("due", SortKey::Due),
];

/// The filter and order of a compliance table, parsed from the query: an unknown value is
/// refused with a field message rather than ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct TableView {
    pub only: Only,
    /// Words of the name (or of the unit above a branch).
    pub q: String,
    pub sort: SortKey,
    pub desc: bool,
}

impl TableView {
    pub fn parse(
        only: Option<&str>,
        q: Option<&str>,
        sort: Option<&str>,
    ) -> Result<TableView, crate::error::FieldErrors> {
        let mut errors = crate::error::FieldErrors::new();
        let only = match only.map(str::trim).unwrap_or("") {
            "" | "all" => Only::All,
            "missed" => Only::Missed,
            "due" => Only::Due,
            other => {
                errors.insert(
                    "only".into(),
                    format!("筛选“{other}”无效，可选：all（全部）、missed（只看未达标）、due（只看本期待完成）"),
                );
                Only::All
            }
        };
        let raw = sort.map(str::trim).unwrap_or("");
        let (desc, key) = match raw.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, raw),
        };
        let sort = match SORT_KEYS.iter().find(|(k, _)| *k == key) {
            Some((_, s)) if !(desc && key.is_empty()) => *s,
            _ => {
                let names: Vec<&str> = SORT_KEYS.iter().skip(1).map(|(k, _)| *k).collect();
                errors.insert(
                    "sort".into(),
                    format!(
                        "排序方式“{raw}”无效，可选：{}（前加“-”为降序）",
                        names.join("、")
                    ),
                );
                SortKey::Tree
            }
        };
        let q = crate::text::clean_text(q.unwrap_or(""));
        if q.chars().count() > 50 {
            errors.insert("q".into(), "名称关键词不超过50字".into());
        }
        if errors.is_empty() {
            Ok(TableView {
                only,
                q,
                sort,
                desc,
            })
        } else {
            Err(errors)
        }
    }

    /// The sort value as the query spells it (`-rate`), empty for the tree order.
    pub fn sort_code(&self) -> String {
        let key = SORT_KEYS
            .iter()
            .find(|(_, s)| *s == self.sort)
            .map_or("", |(k, _)| *k);
        if self.desc && !key.is_empty() {
            format!("-{key}")
        } else {
            key.to_string()
        }
    }

    pub fn only_code(&self) -> &'static str {
        match self.only {
            Only::All => "",
            Only::Missed => "missed",
            Only::Due => "due",
        }
    }

    /// Keeps the lines the view asks for, in its order. Lines with no figure (nothing due
    /// yet) sort after the others whichever the direction.
    pub fn apply<T: std::borrow::Borrow<ComplianceLine>>(&self, lines: &mut Vec<T>) {
        let q = self.q.to_lowercase();
        lines.retain(|l| {
            let l = l.borrow();
            (match self.only {
                Only::All => true,
                Only::Missed => l.missed(),
                Only::Due => l.due > 0,
            }) && (q.is_empty()
                || l.name.to_lowercase().contains(&q)
                || l.parent.to_lowercase().contains(&q))
        });
        use std::cmp::Ordering;
        let by_f64 = |a: Option<f64>, b: Option<f64>, desc: bool| match (a, b) {
            (Some(x), Some(y)) => {
                let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        let desc = self.desc;
        let dir = |o: Ordering| if desc { o.reverse() } else { o };
        let order = |a: &ComplianceLine, b: &ComplianceLine| match self.sort {
            SortKey::Tree => Ordering::Equal,
            SortKey::Name => dir(a.name.cmp(&b.name)),
            SortKey::Parent => dir(a.parent.cmp(&b.parent).then(a.name.cmp(&b.name))),
            SortKey::Branches => dir(a.branches.cmp(&b.branches)),
            SortKey::Rate => by_f64(a.rate, b.rate, desc),
            SortKey::Attendance => by_f64(a.attendance, b.attendance, desc),
            SortKey::Met => dir(a.met.cmp(&b.met)),
            SortKey::Judged => dir(a.judged.cmp(&b.judged)),
            SortKey::Due => dir(a.due.cmp(&b.due)).then(a.due_until.cmp(&b.due_until)),
        };
        // Stable: the tree order stays where the key is equal (and for SortKey::Tree).
        if self.sort != SortKey::Tree {
            lines.sort_by(|a, b| order(a.borrow(), b.borrow()));
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
    /// Each period under way and not yet met (进行中 or 待审核): (kind index, first month,
    /// last month).
    pub due: Vec<(usize, u8, u8)>,
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
    /// Compliance tables already summed, by the year's version and the table's question
    /// (scope, grouping, filters, months): the committee's home card and table summed 1,500
    /// branches on every visit. Forgotten whole when it holds 256.
    tables: std::sync::Mutex<HashMap<String, std::sync::Arc<ComplianceTable>>>,
    /// One year computed at a time: readers that miss together wait for the first one's
    /// result rather than each recomputing the city's year.
    computing: tokio::sync::Mutex<()>,
}

pub type ComplianceTable = (Vec<ComplianceLine>, ComplianceLine);

/// The version a year's figures are computed at: the records and rules ('orglife') and the
/// register behind each branch's shape — whose posts count for its committee depends on
/// members' status and branch ('registry'). One number, the former in the high half.
pub(super) async fn data_version(state: &AppState) -> AppResult<i64> {
    let records = crate::db::data_version(&state.db, "orglife").await?;
    let register = crate::db::data_version(&state.db, "registry").await?;
    Ok((records << 32) | (register & 0xffff_ffff))
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
            let mut due = Vec::new();
            for row in &grid {
                let Some(i) = MeetingKind::ALL.iter().position(|k| k.as_str() == row.kind) else {
                    continue;
                };
                for c in &row.cells {
                    if let Some(met) = c.state.judged() {
                        cells.push((i, c.from_month, c.to_month, met));
                    } else if matches!(c.state, CellState::Open | CellState::AwaitingReview) {
                        due.push((i, c.from_month, c.to_month));
                    }
                }
            }
            BranchYear {
                attendance: sums.get(&s.org_id).copied().unwrap_or([(0, 0); 12]),
                shape: s,
                cells,
                due,
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
    let cache = state.ext::<StatsCache>();
    let _turn = cache.computing.lock().await;
    let made = cache
        .years
        .lock()
        .ok()
        .and_then(|m| m.get(&year).cloned())
        .filter(|y| y.version == version && y.today == today);
    if let Some(y) = made {
        return Ok(y);
    }
    let fresh = std::sync::Arc::new(compute_year(state, year, today, version).await?);
    if let Ok(mut m) = cache.years.lock() {
        m.insert(year, fresh.clone());
    }
    Ok(fresh)
}

/// The compliance table for `year` (periods up to today), grouped by `by`
/// (branch | unit | category), plus the line for everything in scope; shared with the cache,
/// so a caller copies only what it shows (the home card copied the city's lines to read the
/// total).
pub async fn compliance(
    state: &AppState,
    user: &CurrentUser,
    year: i32,
    by: &str,
    unit_id: Option<i64>,
    category_id: Option<i64>,
    months: Months,
) -> AppResult<std::sync::Arc<ComplianceTable>> {
    user.require(may_read(user))?;
    let stats = year_stats(state, year).await?;
    let scope = user.scope();
    let key = format!(
        "{}|{}|{year}|{by}|{unit_id:?}|{category_id:?}|{}-{}|{}|{:?}|{:?}|{}",
        stats.version,
        stats.today,
        months.from,
        months.to,
        scope.all,
        scope.units,
        scope.branches,
        user.is_committee()
    );
    let cache = state.ext::<StatsCache>();
    if let Some(hit) = cache.tables.lock().ok().and_then(|t| t.get(&key).cloned()) {
        return Ok(hit);
    }
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
        due: 0,
        due_until: None,
        due_by_kind: vec![0; n_kinds],
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
            && category_id.is_none_or(|c| c == b.shape.category_id)
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
            for (slot, from, to) in &b.due {
                if !months.covers(*from, *to) {
                    continue;
                }
                line.due += 1;
                if let Some(k) = line.due_by_kind.get_mut(*slot) {
                    *k += 1;
                }
                let until = month_end(year, *to);
                if line.due_until.as_ref().is_none_or(|u| until < *u) {
                    line.due_until = Some(until);
                }
            }
        }
    }
    for l in lines.iter_mut().chain(std::iter::once(&mut total)) {
        l.rate = rules::rate(l.met, l.judged);
        l.attendance = rules::rate(l.present, l.expected);
    }
    let table = std::sync::Arc::new((lines, total));
    if let Ok(mut t) = cache.tables.lock() {
        if t.len() >= 256 {
            t.clear();
        }
        t.insert(key, table.clone());
    }
    Ok(table)
}

/// The last day of a month, YYYY-MM-DD.
fn month_end(year: i32, month: u8) -> String {
    let last = time::Month::try_from(month)
        .map(|m| m.length(year))
        .unwrap_or(31);
    format!("{year:04}-{month:02}-{last:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, met: i64, judged: i64, due: i64, until: Option<&str>) -> ComplianceLine {
        ComplianceLine {
            level: "branch".into(),
            id: 0,
            name: name.into(),
            parent: "单位".into(),
            branches: 1,
            met,
            judged,
            rate: rules::rate(met, judged),
            by_kind: vec![(met, judged)],
            present: 0,
            expected: 0,
            attendance: None,
            due,
            due_until: until.map(str::to_string),
            due_by_kind: vec![due],
        }
    }

    #[test]
    fn a_table_view_filters_and_sorts_and_refuses_what_it_does_not_know() {
        let v = TableView::parse(Some("missed"), Some(" 二 "), Some("-rate")).expect("valid");
        assert_eq!(
            (v.only, v.q.as_str(), v.sort, v.desc),
            (Only::Missed, "二", SortKey::Rate, true)
        );
        assert_eq!(
            (v.only_code(), v.sort_code()),
            ("missed", "-rate".to_string())
        );
        let bad = TableView::parse(Some("late"), None, Some("colour")).expect_err("refused");
        assert!(bad["sort"].contains("排序方式“colour”无效"), "{bad:?}");
        assert!(bad["only"].contains("筛选“late”无效"), "{bad:?}");
        assert!(
            TableView::parse(None, None, Some("-")).is_err(),
            "a bare minus is no column"
        );
        assert_eq!(
            TableView::parse(None, None, None).map(|v| v.sort),
            Ok(SortKey::Tree)
        );

        let all = vec![
            line("一支部", 3, 4, 0, None),
            line("二支部", 4, 4, 1, Some("2026-12-31")),
            line("三支部", 0, 0, 0, None),
            line("四支部", 1, 4, 2, Some("2026-11-30")),
        ];
        let names = |v: &TableView| {
            let mut l = all.clone();
            v.apply(&mut l);
            l.into_iter().map(|l| l.name).collect::<Vec<_>>()
        };
        let view = |only, sort| TableView::parse(only, None, sort).expect("valid");
        assert_eq!(names(&view(Some("missed"), None)), ["一支部", "四支部"]);
        assert_eq!(names(&view(Some("due"), None)), ["二支部", "四支部"]);
        // Worst first, and a line with nothing judged last either way.
        assert_eq!(
            names(&view(None, Some("rate"))),
            ["四支部", "一支部", "二支部", "三支部"]
        );
        assert_eq!(
            names(&view(None, Some("-rate"))),
            ["二支部", "一支部", "四支部", "三支部"]
        );
        assert_eq!(
            names(&view(None, Some("-due"))),
            ["四支部", "二支部", "一支部", "三支部"]
        );
        let q = TableView::parse(None, Some("四"), None).expect("valid");
        assert_eq!(names(&q), ["四支部"]);

        assert_eq!(all[0].status_text(), "未达标");
        assert_eq!(all[3].status_text(), "未达标；待完成（2026-11-30前）");
        assert_eq!(all[1].status_text(), "待完成（2026-12-31前）");
        assert_eq!(all[2].status_text(), "—");
        assert_eq!(all[1].kind_text(&0), "4/4 待完成");
        assert_eq!(all[2].kind_text(&0), "—");
        assert_eq!(month_end(2028, 2), "2028-02-29");
    }

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
