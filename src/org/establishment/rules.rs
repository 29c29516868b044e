//! The establishment rules (pure): what each org's and unit's facts call for, with the
//! numbers the party rules fix.

use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

use crate::org::orgs::{OrgKind, TreeNode};
use crate::text::format_date;

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
    /// general_branch_too_small | term_missing | term_overdue | term_due | term_too_long |
    /// members_awaiting_branch | members_awaiting_placement
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
    /// Active members registered under a 党委/党总支, awaiting a branch (待编入).
    pub awaiting: i64,
    /// Of them, full (正式) members.
    pub awaiting_full: i64,
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
    let finding = |rule: &str, warning: bool, figures: String, advice: String| Finding {
        area: Area::Establish,
        rule: rule.into(),
        warning,
        unit_id: u.unit_id,
        unit_name: u.name.clone(),
        org_id: None,
        object: u.name.clone(),
        figures,
        advice,
        deadline: None,
    };
    let mut out = Vec::new();
    if u.branches == 0 {
        out.push(finding(
            "unit_without_branch",
            false,
            "党支部 0 个".into(),
            format!(
                "有正式党员{MIN_FULL_FOR_BRANCH}名以上的应成立党支部；不足{MIN_FULL_FOR_BRANCH}名的应与邻近单位组建联合党支部（一般不超过5个单位）。"
            ),
        ));
    }
    let figures = format!(
        "待编入党员 {} 名，其中正式党员 {} 名",
        u.awaiting, u.awaiting_full
    );
    if u.awaiting_full >= MIN_FULL_FOR_BRANCH {
        // 条例 第四条: 3 or more full members set up a branch.
        out.push(finding(
            "members_awaiting_branch",
            false,
            figures,
            format!(
                "正式党员{MIN_FULL_FOR_BRANCH}名以上的，应当成立党支部（《中国共产党支部工作条例（试行）》第四条）；请建立党支部，并将待编入党员转入。"
            ),
        ));
    } else if u.awaiting > 0 {
        out.push(finding(
            "members_awaiting_placement",
            true,
            figures,
            format!(
                "正式党员不足{MIN_FULL_FOR_BRANCH}名，不能单独成立党支部；请编入现有党支部，或与邻近单位组建联合党支部。"
            ),
        ));
    }
    out
}

/// Pure: whether an election on `elected` comes before the current term is due (`due`, its
/// 届满 day). 届满 includes the day itself and the rules give no leeway for electing ahead
/// of it, so any earlier day is an early election (提前换届), which needs the higher
/// organisation's approval; returns the due day then.
pub fn early_election(elected: Date, due: Option<Date>) -> Option<Date> {
    due.filter(|d| elected < *d)
}

pub(super) fn add_months(d: Date, months: i64) -> Date {
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
    match n.kind {
        OrgKind::Branch => {
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
        OrgKind::GeneralBranch => {
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
        OrgKind::CommitteeOrg => {
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

/// The secretary's post (书记), which every branch has.
pub const POST_SECRETARY: &str = "书记";

/// 班子健全 for one branch (criterion 3 of the grading standard): the checks it is held
/// to and what it lacks. With 7 or more full members: a 书记, a committee of at least 3, and
/// each member's own post (分工明确: no post held twice, no bare 委员); with fewer: a 书记.
/// `posts`: the posts of its officers for the current term.
pub fn branch_officer_checks(full_members: i64, posts: &[&str]) -> (i64, Vec<String>) {
    let mut lacks = Vec::new();
    if !posts.iter().any(|p| p.trim() == POST_SECRETARY) {
        lacks.push("未设书记".to_string());
    }
    if full_members < FULL_FOR_COMMITTEE {
        return (1, lacks);
    }
    let held = i64::try_from(posts.len()).unwrap_or(i64::MAX);
    if held < MIN_COMMITTEE_POSTS {
        lacks.push(format!(
            "正式党员{full_members}名，支委{held}名：应设支部委员会（委员{MIN_COMMITTEE_POSTS}至5人）"
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut unclear: Vec<&str> = Vec::new();
    for p in posts.iter().map(|p| p.trim()) {
        if p.is_empty() || p == "委员" || seen.contains(&p) {
            if !unclear.contains(&p) {
                unclear.push(p);
            }
        } else {
            seen.push(p);
        }
    }
    if !unclear.is_empty() {
        let names: Vec<String> = unclear
            .iter()
            .map(|p| {
                if p.is_empty() {
                    "（空）".into()
                } else {
                    format!("「{p}」")
                }
            })
            .collect();
        lacks.push(format!(
            "委员分工不明确：{} 未分到各自的职务",
            names.join("、")
        ));
    }
    (3, lacks)
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
            kind: OrgKind::from_key(kind).expect("kind"),
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
                awaiting: 0,
                awaiting_full: 0,
            })
        };
        assert_eq!(rules(&u(0)), ["unit_without_branch"]);
        assert!(u(1).is_empty());
        assert_eq!(add_months(date!(2024 - 02 - 29), 12), date!(2025 - 02 - 28));
        assert_eq!(add_months(date!(2023 - 01 - 31), 1), date!(2023 - 02 - 28));
    }

    #[test]
    fn members_awaiting_a_branch_at_the_edge_of_three() {
        let u = |awaiting, full| {
            unit_findings(&UnitFacts {
                unit_id: 1,
                name: "市某局".into(),
                branches: 1,
                awaiting,
                awaiting_full: full,
            })
        };
        assert!(u(0, 0).is_empty());
        let two = u(5, 2);
        assert_eq!(rules(&two), ["members_awaiting_placement"]);
        assert!(
            two[0].warning,
            "under 3 full members: place them, no branch due"
        );
        let three = u(4, 3);
        assert_eq!(rules(&three), ["members_awaiting_branch"]);
        assert!(
            !three[0].warning,
            "3 full members: a branch should be set up"
        );
        assert_eq!(three[0].figures, "待编入党员 4 名，其中正式党员 3 名");
        assert_eq!(three[0].area, Area::Establish);
    }

    #[test]
    fn an_election_before_the_term_is_due_is_early() {
        let due = Some(date!(2027 - 06 - 01));
        assert_eq!(
            early_election(date!(2027 - 06 - 01), due),
            None,
            "on the day"
        );
        assert_eq!(early_election(date!(2027 - 06 - 02), due), None);
        assert_eq!(early_election(date!(2027 - 05 - 31), due), due);
        assert_eq!(early_election(date!(2024 - 11 - 01), due), due);
        assert_eq!(early_election(date!(2024 - 11 - 01), None), None);
    }

    #[test]
    fn branch_officers_by_size_at_the_edge_of_seven() {
        let c = |full, posts: &[&str]| branch_officer_checks(full, posts);
        assert_eq!(c(6, &["书记"]), (1, vec![]));
        assert_eq!(c(3, &[]), (1, vec!["未设书记".to_string()]));
        assert_eq!(c(6, &["副书记"]).1.len(), 1);
        // Seven full members: a committee of three with posts of their own.
        assert_eq!(c(7, &["书记", "组织委员", "宣传委员"]), (3, vec![]));
        let (due, lacks) = c(7, &["书记"]);
        assert_eq!(due, 3);
        assert_eq!(lacks.len(), 1);
        assert!(lacks[0].contains("支委1名"), "{lacks:?}");
        let (_, lacks) = c(12, &["组织委员", "委员", "委员"]);
        assert_eq!(lacks.len(), 2, "{lacks:?}");
        assert!(lacks[0].contains("未设书记"));
        assert!(lacks[1].contains("「委员」"), "{lacks:?}");
        let (_, lacks) = c(9, &["书记", "宣传委员", "宣传委员", " "]);
        assert_eq!(lacks.len(), 1, "{lacks:?}");
        assert!(lacks[0].contains("「宣传委员」") && lacks[0].contains("（空）"));
        assert_eq!(
            c(9, &[" 书记 ", "组织委员", "纪检委员", "宣传委员"])
                .1
                .len(),
            0
        );
    }
}
