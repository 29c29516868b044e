//! The rules of organizational life, without I/O: meeting kinds, how often each is due,
//! when a meeting is quorate, and what a branch's year looks like month by month.
//!
//! Sources (RULES.md): 《中国共产党支部工作条例（试行）》第十一至十七条. Legal usage:
//! 半数以上 includes half, so an assembly of 10 voting members proceeds with 5 present.

use serde::Serialize;
use time::{Date, Month};

crate::choice! {
    /// The kinds of organizational-life meeting a branch records.
    pub enum MeetingKind {
        GeneralAssembly = "general_assembly", "支部党员大会", [];
        CommitteeMeeting = "committee_meeting", "支委会", [];
        GroupMeeting = "group_meeting", "党小组会", [];
        PartyLecture = "party_lecture", "党课", [];
        ThemeDay = "theme_day", "主题党日", [];
        LifeMeeting = "life_meeting", "组织生活会", [];
        DemocraticReview = "democratic_review", "民主评议党员", [];
    }
}

crate::choice! {
    /// A meeting record's place in the review: 草稿 → 待审核 → 已通过, or 已退回 for changes.
    pub enum MeetingStatus {
        Draft = "draft", "草稿", [];
        Submitted = "submitted", "待审核", [];
        Accepted = "accepted", "已通过", [];
        Returned = "returned", "已退回", [];
    }
}

impl MeetingStatus {
    /// Whether the branch may still change the record (edit, attach, submit, delete).
    pub fn is_open(self) -> bool {
        matches!(self, MeetingStatus::Draft | MeetingStatus::Returned)
    }
}

impl MeetingKind {
    /// Whether the attendees are the branch's members (all but the committee meeting,
    /// whose attendees are the committee, and group meetings, the group's members).
    pub fn is_group(self) -> bool {
        self == MeetingKind::GroupMeeting
    }
}

crate::choice! {
    /// How often a kind of meeting is due.
    pub enum Period {
        Month = "month", "每月", [];
        Quarter = "quarter", "每季度", [];
        Year = "year", "每年", [];
    }
}

impl Period {
    fn months(self) -> u8 {
        match self {
            Period::Month => 1,
            Period::Quarter => 3,
            Period::Year => 12,
        }
    }
}

crate::choice! {
    /// Who must be present for a meeting to proceed: no quorum rule, or 半数以上 of the
    /// branch's full (voting) members, or of the branch committee's members.
    pub enum Quorum {
        None = "none", "不设", [];
        HalfOfFullMembers = "half_of_full_members", "应到正式党员半数以上", [];
        HalfOfCommittee = "half_of_committee", "支委会委员半数以上", [];
    }
}

impl Quorum {
    /// Whether `present` of `eligible` proceeds: 半数以上 includes exactly half.
    /// With nobody eligible a quorum rule cannot be met.
    pub fn met(self, eligible: i64, present: i64) -> bool {
        match self {
            Quorum::None => true,
            _ => eligible > 0 && present * 2 >= eligible,
        }
    }
}

/// How often a kind of meeting is due and when it is quorate, for the years from
/// `from_year` until the next rule of the same kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rule {
    pub kind: MeetingKind,
    pub from_year: i32,
    pub period: Period,
    /// Meetings due in each period.
    pub times: i64,
    pub quorum: Quorum,
}

/// The defaults of the 条例, valid from 2018 (the year it was issued).
pub fn default_rules() -> Vec<Rule> {
    use MeetingKind::*;
    let r = |kind, period, quorum| Rule {
        kind,
        from_year: 2018,
        period,
        times: 1,
        quorum,
    };
    vec![
        r(GeneralAssembly, Period::Quarter, Quorum::HalfOfFullMembers),
        r(CommitteeMeeting, Period::Month, Quorum::HalfOfCommittee),
        r(GroupMeeting, Period::Month, Quorum::None),
        r(PartyLecture, Period::Quarter, Quorum::None),
        r(ThemeDay, Period::Month, Quorum::None),
        r(LifeMeeting, Period::Year, Quorum::None),
        r(DemocraticReview, Period::Year, Quorum::None),
    ]
}

/// The rule of `kind` in force in `year`: the latest one starting on or before it.
pub fn rule_for(rules: &[Rule], kind: MeetingKind, year: i32) -> Option<&Rule> {
    rules
        .iter()
        .filter(|r| r.kind == kind && r.from_year <= year)
        .max_by_key(|r| r.from_year)
}

/// One period of a year: a month, a quarter or the year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: Date,
    /// The last day, inclusive.
    pub end: Date,
    /// 0-based within the year.
    pub index: u8,
}

impl Span {
    pub fn contains(&self, d: Date) -> bool {
        self.start <= d && d <= self.end
    }
}

fn month_from(n: u8) -> Month {
    Month::try_from(n).unwrap_or(Month::January)
}

fn last_day(year: i32, month: u8) -> Date {
    let m = month_from(month);
    let days = m.length(year);
    Date::from_calendar_date(year, m, days).unwrap_or(Date::MIN)
}

/// The periods of `year` for `period`, in order.
pub fn spans(period: Period, year: i32) -> Vec<Span> {
    let step = period.months();
    (0..12 / step)
        .map(|i| {
            let first = i * step + 1;
            Span {
                start: Date::from_calendar_date(year, month_from(first), 1).unwrap_or(Date::MIN),
                end: last_day(year, first + step - 1),
                index: i,
            }
        })
        .collect()
}

/// The period containing `d`.
pub fn span_of(period: Period, d: Date) -> Span {
    let step = period.months();
    let index = (u8::from(d.month()) - 1) / step;
    spans(period, d.year())
        .into_iter()
        .nth(usize::from(index))
        .unwrap_or(Span {
            start: d,
            end: d,
            index,
        })
}

/// How one period stands for one kind of meeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    /// Enough accepted meetings.
    Met,
    /// Enough once the submitted ones are accepted.
    AwaitingReview,
    /// The period is under way and not yet met.
    Open,
    /// The period is over and it was not met.
    Missed,
    /// Not due: the branch did not exist for the whole period, or the kind does not apply.
    NotDue,
    /// The period has not begun.
    Future,
}

impl CellState {
    pub fn label(self) -> &'static str {
        match self {
            CellState::Met => "已完成",
            CellState::AwaitingReview => "待审核",
            CellState::Open => "进行中",
            CellState::Missed => "未完成",
            CellState::NotDue => "不要求",
            CellState::Future => "未开始",
        }
    }

    /// Counted in a compliance rate: met or missed; a period still open is not yet judged,
    /// unless it is already met.
    pub fn judged(self) -> Option<bool> {
        match self {
            CellState::Met => Some(true),
            CellState::Missed => Some(false),
            _ => None,
        }
    }
}

/// A period is due when the branch existed on its first day (an unknown founding date
/// counts as always) and the kind applies to the branch.
pub fn cell_state(
    span: &Span,
    founded_on: Option<Date>,
    applies: bool,
    today: Date,
    times: i64,
    accepted: i64,
    submitted: i64,
) -> CellState {
    if !applies || founded_on.is_some_and(|f| f > span.start) {
        return CellState::NotDue;
    }
    if span.start > today {
        return CellState::Future;
    }
    if accepted >= times {
        CellState::Met
    } else if accepted + submitted >= times {
        CellState::AwaitingReview
    } else if span.end >= today {
        CellState::Open
    } else {
        CellState::Missed
    }
}

pub use crate::text::rate;

/// A branch transfer as the register keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    pub on: Date,
    pub from_branch: i64,
    pub to_branch: i64,
}

/// Which branch a member belonged to on `d`, from the branch they are in now and their
/// transfers: the branch they left in the first transfer after `d`, else the current one.
/// A transfer takes effect on its date.
pub fn branch_on(current: i64, moves: &[Move], d: Date) -> i64 {
    moves
        .iter()
        .filter(|m| m.on > d)
        .min_by_key(|m| m.on)
        .map_or(current, |m| m.from_branch)
}

/// Whether a member was a full (voting) member on `d`: a probationary member is not; a
/// full member is from their conversion date (or, without one, from joining).
pub fn full_on(kind_full: bool, converted_on: Option<Date>, d: Date) -> bool {
    kind_full && converted_on.is_none_or(|c| c <= d)
}

/// Whether a member was still on the register on `d`: an active member is; one who left
/// (转出, 去世, 出党) is until the day the change took effect, which no longer counts. A
/// change without a known day counts as long ago.
pub fn registered_on(active: bool, status_on: Option<Date>, d: Date) -> bool {
    active || status_on.is_some_and(|s| d < s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn half_is_enough_for_a_quorum_and_none_is_not() {
        let q = Quorum::HalfOfFullMembers;
        assert!(q.met(10, 5));
        assert!(!q.met(10, 4));
        assert!(q.met(9, 5));
        assert!(!q.met(9, 4));
        assert!(q.met(1, 1));
        assert!(!q.met(0, 0));
        assert!(Quorum::None.met(0, 0));
        assert!(Quorum::HalfOfCommittee.met(3, 2));
        assert!(!Quorum::HalfOfCommittee.met(3, 1));
    }

    #[test]
    fn periods_cover_the_year_including_leap_february() {
        let m = spans(Period::Month, 2024);
        assert_eq!(m.len(), 12);
        assert_eq!(m[1].end, date!(2024 - 02 - 29));
        assert_eq!(spans(Period::Month, 2025)[1].end, date!(2025 - 02 - 28));
        let q = spans(Period::Quarter, 2026);
        assert_eq!(q.len(), 4);
        assert_eq!(
            (q[0].start, q[0].end),
            (date!(2026 - 01 - 01), date!(2026 - 03 - 31))
        );
        assert_eq!(
            (q[3].start, q[3].end),
            (date!(2026 - 10 - 01), date!(2026 - 12 - 31))
        );
        let y = spans(Period::Year, 2026);
        assert_eq!(
            (y[0].start, y[0].end),
            (date!(2026 - 01 - 01), date!(2026 - 12 - 31))
        );
        assert_eq!(span_of(Period::Quarter, date!(2026 - 06 - 30)).index, 1);
        assert_eq!(span_of(Period::Quarter, date!(2026 - 07 - 01)).index, 2);
        assert_eq!(span_of(Period::Month, date!(2024 - 02 - 29)).index, 1);
    }

    #[test]
    fn a_meeting_on_new_years_eve_counts_for_the_old_year() {
        let d = date!(2025 - 12 - 31);
        let s = span_of(Period::Quarter, d);
        assert_eq!(s.start, date!(2025 - 10 - 01));
        assert!(s.contains(d) && !s.contains(date!(2026 - 01 - 01)));
        assert_eq!(
            span_of(Period::Year, date!(2026 - 01 - 01)).start.year(),
            2026
        );
    }

    #[test]
    fn rules_are_chosen_by_year() {
        let mut rules = default_rules();
        rules.push(Rule {
            kind: MeetingKind::PartyLecture,
            from_year: 2026,
            period: Period::Month,
            times: 1,
            quorum: Quorum::None,
        });
        let k = MeetingKind::PartyLecture;
        assert_eq!(
            rule_for(&rules, k, 2025).map(|r| r.period),
            Some(Period::Quarter)
        );
        assert_eq!(
            rule_for(&rules, k, 2026).map(|r| r.period),
            Some(Period::Month)
        );
        assert_eq!(
            rule_for(&rules, k, 2030).map(|r| r.period),
            Some(Period::Month)
        );
        assert!(rule_for(&rules, k, 2017).is_none());
    }

    #[test]
    fn cells_judge_only_what_was_due() {
        let today = date!(2026 - 05 - 15);
        let may = span_of(Period::Month, today);
        let march = spans(Period::Month, 2026)[2];
        let july = spans(Period::Month, 2026)[6];
        let cs = |s: &Span, founded, acc, sub| cell_state(s, founded, true, today, 1, acc, sub);
        assert_eq!(cs(&march, None, 1, 0), CellState::Met);
        assert_eq!(cs(&march, None, 0, 0), CellState::Missed);
        assert_eq!(cs(&march, None, 0, 1), CellState::AwaitingReview);
        assert_eq!(cs(&may, None, 0, 0), CellState::Open);
        assert_eq!(cs(&july, None, 0, 0), CellState::Future);
        // Founded mid-March: March is not due, April is.
        let founded = Some(date!(2026 - 03 - 10));
        assert_eq!(cs(&march, founded, 0, 0), CellState::NotDue);
        assert_eq!(
            cs(&spans(Period::Month, 2026)[3], founded, 0, 0),
            CellState::Missed
        );
        // Founded on the first day: due.
        assert_eq!(
            cs(&march, Some(date!(2026 - 03 - 01)), 0, 0),
            CellState::Missed
        );
        assert_eq!(
            cell_state(&march, None, false, today, 1, 0, 0),
            CellState::NotDue
        );
        // Twice a period: one is not enough.
        assert_eq!(
            cell_state(&march, None, true, today, 2, 1, 0),
            CellState::Missed
        );
        assert_eq!(rate(3, 4), Some(75.0));
        assert_eq!(rate(2, 3), Some(66.7));
        assert_eq!(rate(0, 0), None);
    }

    #[test]
    fn a_member_transferred_mid_quarter_belongs_to_the_old_branch_before() {
        let moves = [
            Move {
                on: date!(2026 - 02 - 15),
                from_branch: 1,
                to_branch: 2,
            },
            Move {
                on: date!(2026 - 08 - 01),
                from_branch: 2,
                to_branch: 3,
            },
        ];
        assert_eq!(branch_on(3, &moves, date!(2026 - 01 - 10)), 1);
        assert_eq!(branch_on(3, &moves, date!(2026 - 02 - 14)), 1);
        assert_eq!(branch_on(3, &moves, date!(2026 - 02 - 15)), 2);
        assert_eq!(branch_on(3, &moves, date!(2026 - 07 - 31)), 2);
        assert_eq!(branch_on(3, &moves, date!(2026 - 08 - 01)), 3);
        assert_eq!(branch_on(5, &[], date!(2026 - 08 - 01)), 5);
    }

    #[test]
    fn probationary_members_do_not_vote() {
        let d = date!(2026 - 03 - 01);
        assert!(full_on(true, None, d));
        assert!(full_on(true, Some(date!(2026 - 03 - 01)), d));
        assert!(!full_on(true, Some(date!(2026 - 03 - 02)), d));
        assert!(!full_on(false, None, d));
        assert!(registered_on(true, None, d));
        assert!(registered_on(false, Some(date!(2026 - 03 - 02)), d));
        assert!(!registered_on(false, Some(d), d), "gone from its day on");
        assert!(!registered_on(false, None, d));
    }
}
