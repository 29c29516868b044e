//! 组织生活's indicators: for each kind of meeting, the share of its due periods held on
//! time; all kinds together (合规率); and 参学率. Read from the cached year figures
//! (`stats::year_stats`), so a reading costs no pass over the meetings; the records
//! behind a share are the periods missed and the accepted meetings that met the others.

use super::meetings::meeting_condition;
use super::rules::MeetingKind;
use super::stats::{year_stats, BranchYear};
use crate::auth::Scope;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::indicators::{
    BranchFigures, BranchesFuture, Evidence, Figure, Gap, Indicator, Level, Measure, Period,
    ReadFuture, Reading, Subject, MAX_RECORDS,
};
use crate::state::AppState;
use crate::text::format_date;

const LEVELS: &[Level] = &[Level::Branch, Level::Unit, Level::Category, Level::City];

const fn held(key: &'static str, label: &'static str, explain: &'static str) -> Indicator {
    Indicator {
        key,
        label,
        explain,
        measure: Measure::Rate,
        levels: LEVELS,
        by_period: true,
        read: read_held,
        read_branches: Some(branches_held),
    }
}

/// Kinds by key, in the order of `MeetingKind::ALL`.
pub const INDICATORS: &[Indicator] = &[
    held(
        "orglife.general_assembly.held",
        "支部党员大会按期召开",
        "应召开支部党员大会的季度中，按期召开（记录已通过审核）的比例。依据《中国共产党支部工作条例（试行）》第十九条：党员大会一般每季度召开1次。",
    ),
    held(
        "orglife.committee_meeting.held",
        "支委会按期召开",
        "设支部委员会的党支部，应召开支委会的月份中按期召开的比例。依据条例第十九条：支部委员会会议一般每月召开1次。",
    ),
    held(
        "orglife.group_meeting.held",
        "党小组会按期召开",
        "设党小组的党支部，应召开党小组会的月份中各党小组均已召开的比例。依据条例第十九条：党小组会一般每月召开1次。",
    ),
    held(
        "orglife.party_lecture.held",
        "党课按期开展",
        "应讲党课的季度中按期开展的比例。依据条例第十九条：党课一般每季度至少1次。",
    ),
    held(
        "orglife.theme_day.held",
        "主题党日按期开展",
        "应开展主题党日的月份中按期开展的比例。依据条例第二十条：党支部每月相对固定1天开展主题党日。",
    ),
    held(
        "orglife.life_meeting.held",
        "组织生活会按期召开",
        "应召开组织生活会的年度中按期召开的比例。依据条例第二十一条：组织生活会一般每年召开1次。",
    ),
    held(
        "orglife.democratic_review.held",
        "民主评议党员按期开展",
        "应开展民主评议党员的年度中按期开展的比例。依据条例第二十二条：民主评议党员一般每年开展1次。",
    ),
    held(
        "orglife.life_and_review.held",
        "组织生活会和民主评议党员按期开展",
        "应召开组织生活会、应开展民主评议党员的年度期次中按期开展（记录已通过审核）的比例。依据条例第二十一条、第二十二条：一般每年各1次。",
    ),
    held(
        "orglife.lecture_theme_attendance",
        "党课、主题党日按期开展与参学率",
        "党课（每季度）、主题党日（每月）应开展的期次中按期开展的比例，乘以参学率（实到人次占应到人次），以千分数计。依据条例第十九条、第二十条。",
    ),
    held(
        "orglife.compliance",
        "组织生活合规率",
        "三会一课、主题党日、组织生活会、民主评议党员各类应开展的期次中，按期开展（记录已通过审核）的比例；期次按会议规则中当年的频次计算，支部成立前的期次不计。",
    ),
    Indicator {
        key: "orglife.attendance",
        label: "参学率",
        explain: "已通过审核的组织生活记录中，实到人数占应到人数的比例（按会议日期所在月份计入期间）。",
        measure: Measure::Rate,
        levels: LEVELS,
        by_period: true,
        read: read_attendance,
        read_branches: Some(branches_attendance),
    },
];

/// The kinds an indicator counts, as indices in `MeetingKind::ALL`; `None` for all kinds
/// together (合规率).
fn kinds_of(key: &str) -> Option<Vec<usize>> {
    let index = |k: MeetingKind| MeetingKind::ALL.iter().position(|m| *m == k).unwrap_or(0);
    match key {
        "orglife.life_and_review.held" => {
            return Some(vec![
                index(MeetingKind::LifeMeeting),
                index(MeetingKind::DemocraticReview),
            ])
        }
        "orglife.lecture_theme_attendance" => {
            return Some(vec![
                index(MeetingKind::PartyLecture),
                index(MeetingKind::ThemeDay),
            ])
        }
        _ => {}
    }
    let k = key.strip_prefix("orglife.")?.strip_suffix(".held")?;
    MeetingKind::ALL
        .iter()
        .position(|m| m.as_str() == k)
        .map(|i| vec![i])
}

/// Whether kind index `i` counts for `kinds`.
fn counts(kinds: &Option<Vec<usize>>, i: usize) -> bool {
    kinds.as_ref().is_none_or(|ks| ks.contains(&i))
}

fn matches(b: &BranchYear, scope: &Scope, subject: Subject) -> bool {
    let s = &b.shape;
    let visible =
        scope.all || scope.units.contains(&s.unit_id) || scope.branches.contains(&s.org_id);
    visible
        && match subject {
            Subject::Branch(id) => s.org_id == id,
            Subject::Unit(id) => s.unit_id == id,
            Subject::Category(id) => s.category_id == id,
            Subject::City => true,
        }
}

/// Refuses a subject the scope does not see (or that does not exist) as not found.
async fn require_subject(state: &AppState, scope: &Scope, subject: Subject) -> AppResult<()> {
    if crate::org::subject_in_scope(state, scope, subject).await? {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

fn months_label(from: u8, to: u8) -> String {
    match (from, to) {
        (1, 12) => "全年".into(),
        (f, t) if f == t => format!("{f}月"),
        (f, t) => format!("{f}–{t}月"),
    }
}

fn read_held<'a>(
    state: &'a AppState,
    scope: &'a Scope,
    ind: &'static Indicator,
    subject: Subject,
    period: Period,
) -> ReadFuture<'a> {
    Box::pin(async move {
        require_subject(state, scope, subject).await?;
        let kinds = kinds_of(ind.key);
        let held = read_kind(state, scope, subject, period, &kinds).await?;
        if ind.key != "orglife.lecture_theme_attendance" {
            return Ok(held);
        }
        // 按期率 × 参学率, in thousandths.
        let stats = year_stats(state, period.year).await?;
        let (present, expected) = attendance_of(&stats, scope, subject, period);
        let rate = combined(held.value, held.of.unwrap_or(0), present, expected);
        Ok(Reading {
            value: rate.0,
            of: Some(1000),
            rate: Some(rate.0 as f64 / 10.0),
            text: rate.1,
            records: held.records,
            records_total: held.records_total,
        })
    })
}

/// The share of due periods met, for one kind or all, with the records behind it.
pub async fn read_kind(
    state: &AppState,
    scope: &Scope,
    subject: Subject,
    period: Period,
    kinds: &Option<Vec<usize>>,
) -> AppResult<Reading> {
    let stats = year_stats(state, period.year).await?;
    let (mut met, mut due) = (0i64, 0i64);
    let mut missed = Vec::new();
    for b in stats.branches.iter().filter(|b| matches(b, scope, subject)) {
        for &(i, from, to, ok) in &b.cells {
            if !counts(kinds, i) {
                continue;
            }
            if !(period.from_month <= from && to <= period.to_month) {
                continue;
            }
            due += 1;
            if ok {
                met += 1;
            } else {
                missed.push(Evidence {
                    kind: "missed_period".into(),
                    id: b.shape.org_id,
                    label: format!(
                        "{} · {}：{}年{}未按期开展{}",
                        b.shape.unit_name,
                        b.shape.name,
                        period.year,
                        months_label(from, to),
                        MeetingKind::ALL[i].label()
                    ),
                    href: format!(
                        "/orglife/calendar?branch_id={}&year={}",
                        b.shape.org_id, period.year
                    ),
                    counts: false,
                });
            }
        }
    }
    let mut records = missed;
    let kind = match kinds.as_deref() {
        Some([one]) => MeetingKind::ALL.get(*one).copied(),
        _ => None,
    };
    records.extend(meetings(state, scope, subject, period, kind).await?);
    Ok(Reading::share(met, due, records))
}

/// The accepted meetings of the subject within the period (the kind's, or all).
async fn meetings(
    state: &AppState,
    scope: &Scope,
    subject: Subject,
    period: Period,
    kind: Option<MeetingKind>,
) -> AppResult<Vec<Evidence>> {
    let first = time::Date::from_calendar_date(
        period.year,
        time::Month::try_from(period.from_month).map_err(anyhow::Error::from)?,
        1,
    )
    .map_err(anyhow::Error::from)?;
    let last_month = time::Month::try_from(period.to_month).map_err(anyhow::Error::from)?;
    let last =
        time::Date::from_calendar_date(period.year, last_month, last_month.length(period.year))
            .map_err(anyhow::Error::from)?;
    let mut sql = Sql::new(
        "select mt.meeting_id, u.name || ' · ' || b.name || '：' || mt.held_on || ' ' || mt.topic \
         from meeting mt join unit u on u.unit_id = mt.unit_id join org b on b.org_id = mt.branch_id \
         where mt.status = 'accepted' and mt.held_on >= ",
    );
    sql.bind(format_date(first))
        .push(" and mt.held_on <= ")
        .bind(format_date(last));
    if let Some(k) = kind {
        sql.push(" and mt.kind = ").bind(k.as_str());
    }
    match subject {
        Subject::Branch(id) => {
            sql.push(" and mt.branch_id = ").bind(id);
        }
        Subject::Unit(id) => {
            sql.push(" and mt.unit_id = ").bind(id);
        }
        Subject::Category(id) => {
            sql.push(" and u.category_id = ").bind(id);
        }
        Subject::City => {}
    }
    sql.push(" and ");
    meeting_condition(scope, &mut sql);
    sql.push(" order by mt.held_on, mt.meeting_id limit ")
        .bind(MAX_RECORDS as i64);
    let rows: Vec<(i64, String)> = sql.fetch_page(&state.db).await?;
    Ok(rows
        .into_iter()
        .map(|(id, label)| Evidence {
            kind: "meeting".into(),
            id,
            label,
            href: format!("/orglife/meetings/{id}"),
            counts: true,
        })
        .collect())
}

/// (present, expected) of one branch's months within the period.
fn month_attendance(b: &BranchYear, period: Period) -> (i64, i64) {
    let (mut present, mut expected) = (0i64, 0i64);
    for m in period.from_month..=period.to_month {
        if let Some((p, e)) = b.attendance.get(usize::from(m) - 1) {
            present += p;
            expected += e;
        }
    }
    (present, expected)
}

/// (present, expected) of the branches of a subject the scope sees.
fn attendance_of(
    stats: &super::stats::YearStats,
    scope: &Scope,
    subject: Subject,
    period: Period,
) -> (i64, i64) {
    stats
        .branches
        .iter()
        .filter(|b| matches(b, scope, subject))
        .map(|b| month_attendance(b, period))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// 按期率 × 参学率 in thousandths, and how it reads. Nothing due counts as met, no
/// attendance expected as full.
fn combined(met: i64, due: i64, present: i64, expected: i64) -> (i64, String) {
    let held = if due > 0 {
        met as f64 / due as f64
    } else {
        1.0
    };
    let att = if expected > 0 {
        present as f64 / expected as f64
    } else {
        1.0
    };
    let v = (held * att.min(1.0) * 1000.0).floor() as i64;
    let held_text = if due > 0 {
        format!("按期{met}/{due}")
    } else {
        "无应开展期次".into()
    };
    let att_text = if expected > 0 {
        format!("参学率{:.1}%", att * 100.0)
    } else {
        "无应到人次".into()
    };
    (
        v,
        format!("{held_text} × {att_text} = {:.1}%", v as f64 / 10.0),
    )
}

fn read_attendance<'a>(
    state: &'a AppState,
    scope: &'a Scope,
    _: &'static Indicator,
    subject: Subject,
    period: Period,
) -> ReadFuture<'a> {
    Box::pin(async move {
        require_subject(state, scope, subject).await?;
        let stats = year_stats(state, period.year).await?;
        let (present, expected) = attendance_of(&stats, scope, subject, period);
        let records = meetings(state, scope, subject, period, None).await?;
        Ok(Reading::share(present, expected, records))
    })
}

/// Every branch's share of due periods met, for one kind or all, with the periods missed as
/// gaps, each linking to the form that records that meeting.
pub fn held_by_branch(
    stats: &super::stats::YearStats,
    period: Period,
    kinds: &Option<Vec<usize>>,
) -> BranchFigures {
    stats
        .branches
        .iter()
        .map(|b| {
            let (mut met, mut due) = (0i64, 0i64);
            let mut gaps = Vec::new();
            for &(i, from, to, ok) in &b.cells {
                if !(counts(kinds, i) && period.from_month <= from && to <= period.to_month) {
                    continue;
                }
                due += 1;
                if ok {
                    met += 1;
                } else {
                    let k = MeetingKind::ALL[i];
                    gaps.push(Gap {
                        label: format!(
                            "{}年{}未按期开展{}",
                            period.year,
                            months_label(from, to),
                            k.label()
                        ),
                        href: format!(
                            "/orglife/meetings/new?branch_id={}&kind={}",
                            b.shape.org_id,
                            k.as_str()
                        ),
                    });
                }
            }
            (b.shape.org_id, Figure::share(met, due, gaps))
        })
        .collect()
}

fn branches_held<'a>(
    state: &'a AppState,
    ind: &'static Indicator,
    period: Period,
) -> BranchesFuture<'a> {
    Box::pin(async move {
        let stats = year_stats(state, period.year).await?;
        let mut figures = held_by_branch(&stats, period, &kinds_of(ind.key));
        if ind.key == "orglife.lecture_theme_attendance" {
            for b in &stats.branches {
                let (present, expected) = month_attendance(b, period);
                if let Some(f) = figures.get_mut(&b.shape.org_id) {
                    let (v, text) = combined(f.value, f.of.unwrap_or(0), present, expected);
                    f.value = v;
                    f.of = Some(1000);
                    f.text = text;
                }
            }
        }
        Ok(figures)
    })
}

fn branches_attendance<'a>(
    state: &'a AppState,
    _: &'static Indicator,
    period: Period,
) -> BranchesFuture<'a> {
    Box::pin(async move {
        let stats = year_stats(state, period.year).await?;
        Ok(stats
            .branches
            .iter()
            .map(|b| {
                let (present, expected) = month_attendance(b, period);
                let gaps = if expected > present {
                    vec![Gap {
                        label: format!("应到{expected}人次，实到{present}人次"),
                        href: format!(
                            "/orglife/meetings?branch_id={}&year={}",
                            b.shape.org_id, period.year
                        ),
                    }]
                } else {
                    Vec::new()
                };
                (b.shape.org_id, Figure::share(present, expected, gaps))
            })
            .collect())
    })
}
