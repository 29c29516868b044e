//! 分类指导's pure rules: the states of a year's items, a plan and a task's progress; the
//! checks of every text a committee or unit admin types; a task's deadline within its plan's
//! year; evidence lines; and which items a plan covers. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use time::Date;

crate::choice! {
    /// A year's goal and requirement items: a 草稿 the committee edits, or 已发布 and frozen.
    pub enum YearStatus {
        Draft = "draft", "草稿", [];
        Published = "published", "已发布", [];
    }
}

crate::choice! {
    /// A unit's annual plan: a 草稿 its unit admin edits, then 已提交 (its tasks fixed; progress
    /// is reported against them).
    pub enum PlanStatus {
        Draft = "draft", "草稿", [];
        Submitted = "submitted", "已提交", [];
    }
}

crate::choice! {
    /// Where a task stands in a quarter.
    pub enum ProgressStatus {
        NotStarted = "not_started", "未开始", [];
        InProgress = "in_progress", "推进中", [];
        Done = "done", "已完成", [];
    }
}

/// Field name → Chinese message.
pub type Problems = BTreeMap<String, String>;

/// Limits on typed text, in characters.
pub const ITEM_MAX: usize = 200;
pub const ITEMS_MAX: usize = 30;
pub const TITLE_MAX: usize = 200;
pub const OWNER_MAX: usize = 50;
pub const MEASURE_MAX: usize = 500;
pub const PROGRESS_MAX: usize = 2000;
pub const EVIDENCE_LINE_MAX: usize = 300;
pub const EVIDENCE_LINES_MAX: usize = 20;
pub const COMMENT_MAX: usize = 1000;
pub const TASKS_MAX: usize = 100;

/// Years a set of items may be made for.
pub fn year_ok(year: i64) -> bool {
    (2000..=2100).contains(&year)
}

/// A required text of at most `max` characters: `what` names it in the message.
pub fn required_text(p: &mut Problems, field: &str, what: &str, value: &str, max: usize) {
    let n = value.chars().count();
    if n == 0 {
        p.insert(field.into(), format!("请填写{what}"));
    } else if n > max {
        p.insert(field.into(), format!("{what}不超过{max}字，现为{n}字"));
    }
}

/// One list of items (the common goal, or a category's requirements) as the committee
/// typed it: blank lines dropped; each line at most `ITEM_MAX` characters.
pub fn check_items(p: &mut Problems, field: &str, what: &str, items: &[String]) {
    if items.len() > ITEMS_MAX {
        p.insert(
            field.into(),
            format!("{what}最多{ITEMS_MAX}条，现为{}条", items.len()),
        );
        return;
    }
    if let Some((i, n)) = items
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.chars().count()))
        .find(|(_, n)| *n > ITEM_MAX)
    {
        p.insert(
            field.into(),
            format!("{what}第{}条不超过{ITEM_MAX}字，现为{n}字", i + 1),
        );
    }
}

/// What publishing needs: a common goal, and requirements for every category in use.
pub fn check_publishable(common: usize, categories: &[(String, usize)]) -> Problems {
    let mut p = Problems::new();
    if common == 0 {
        p.insert("common".into(), "共性目标至少一条，才能发布".into());
    }
    for (name, n) in categories {
        if *n == 0 {
            p.insert(
                format!("category.{name}"),
                format!("“{name}”的个性要求至少一条，才能发布"),
            );
        }
    }
    p
}

/// A task's deadline: a date within its plan's year.
pub fn check_deadline(p: &mut Problems, parsed: Result<Date, String>, plan_year: i64) {
    match parsed {
        Err(e) => {
            p.insert("deadline".into(), format!("完成时限：{e}"));
        }
        Ok(d) if i64::from(d.year()) != plan_year => {
            p.insert(
                "deadline".into(),
                format!("完成时限应在计划年度（{plan_year}年）之内"),
            );
        }
        Ok(_) => {}
    }
}

/// The items a task names: at least one, each one the plan may use (the year's common goal
/// and the unit's own category).
pub fn check_task_items(p: &mut Problems, chosen: &[i64], allowed: &BTreeSet<i64>) {
    if chosen.is_empty() {
        p.insert(
            "item_ids".into(),
            "请至少选择一项对应的共性目标或个性要求".into(),
        );
    } else if chosen.iter().any(|i| !allowed.contains(i)) {
        p.insert(
            "item_ids".into(),
            "只能对应本年度已发布的共性目标和本单位所属类别的个性要求".into(),
        );
    }
}

/// A quarter of the plan's year: 1 to 4.
pub fn check_quarter(q: i64) -> Result<u8, String> {
    match q {
        1..=4 => Ok(q as u8),
        _ => Err(format!("季度只能是1至4，收到{q}")),
    }
}

/// One line of evidence: a link to a record in the system, or text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum EvidenceLine {
    /// A path inside the system, e.g. `/orglife/meetings/7`.
    Link(String),
    Text(String),
}

/// Evidence as typed, one per line: a line starting with `/` is a link to a record in the
/// system (a path, no spaces, not to another site); any other line is text.
pub fn parse_evidence(p: &mut Problems, text: &str) -> Vec<EvidenceLine> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > EVIDENCE_LINES_MAX {
        p.insert(
            "evidence".into(),
            format!("佐证最多{EVIDENCE_LINES_MAX}行，现为{}行", lines.len()),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let n = l.chars().count();
        if n > EVIDENCE_LINE_MAX {
            p.insert(
                "evidence".into(),
                format!("佐证第{}行不超过{EVIDENCE_LINE_MAX}字，现为{n}字", i + 1),
            );
            continue;
        }
        if l.starts_with('/') {
            let ok = !l.starts_with("//")
                && !l.contains('\\')
                && l.chars().all(|c| !c.is_whitespace() && !c.is_control());
            if !ok {
                p.insert(
                    "evidence".into(),
                    format!(
                        "佐证第{}行应为本系统内记录的链接（如 /orglife/meetings/7），或文字说明",
                        i + 1
                    ),
                );
                continue;
            }
            out.push(EvidenceLine::Link((*l).to_string()));
        } else {
            out.push(EvidenceLine::Text((*l).to_string()));
        }
    }
    out
}

/// Evidence as stored: one line each.
pub fn evidence_text(lines: &[EvidenceLine]) -> String {
    lines
        .iter()
        .map(|l| match l {
            EvidenceLine::Link(s) | EvidenceLine::Text(s) => s.as_str(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Of `items` (the ones a unit is held to), those some task covers and those none does.
pub fn coverage(items: &[i64], covered: &BTreeSet<i64>) -> (Vec<i64>, Vec<i64>) {
    items.iter().partition(|i| covered.contains(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn required_text_names_empty_and_too_long() {
        let mut p = Problems::new();
        required_text(&mut p, "title", "任务", "", 5);
        assert_eq!(p["title"], "请填写任务");
        let mut p = Problems::new();
        required_text(&mut p, "title", "任务", "一二三四五", 5);
        assert!(p.is_empty());
        required_text(&mut p, "title", "任务", "一二三四五六", 5);
        assert_eq!(p["title"], "任务不超过5字，现为6字");
    }

    #[test]
    fn items_are_counted_and_measured() {
        let mut p = Problems::new();
        check_items(&mut p, "common", "共性目标", &["a".repeat(ITEM_MAX)]);
        assert!(p.is_empty());
        check_items(
            &mut p,
            "common",
            "共性目标",
            &["x".into(), "a".repeat(ITEM_MAX + 1)],
        );
        assert_eq!(p["common"], "共性目标第2条不超过200字，现为201字");
        let mut p = Problems::new();
        check_items(&mut p, "c", "要求", &vec!["x".to_string(); ITEMS_MAX + 1]);
        assert!(p["c"].contains("最多30条"));
    }

    #[test]
    fn publishing_needs_a_goal_and_every_categorys_requirements() {
        assert!(check_publishable(7, &[("经济发展类".into(), 3)]).is_empty());
        let p = check_publishable(0, &[("经济发展类".into(), 0), ("国有企业类".into(), 3)]);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p["category.经济发展类"],
            "“经济发展类”的个性要求至少一条，才能发布"
        );
    }

    #[test]
    fn a_deadline_falls_within_the_plan_year() {
        let mut p = Problems::new();
        check_deadline(&mut p, Ok(date!(2026 - 01 - 01)), 2026);
        check_deadline(&mut p, Ok(date!(2026 - 12 - 31)), 2026);
        assert!(p.is_empty());
        check_deadline(&mut p, Ok(date!(2027 - 01 - 01)), 2026);
        assert_eq!(p["deadline"], "完成时限应在计划年度（2026年）之内");
        let mut p = Problems::new();
        check_deadline(&mut p, Err("日期无法识别".into()), 2026);
        assert_eq!(p["deadline"], "完成时限：日期无法识别");
    }

    #[test]
    fn task_items_come_from_the_allowed_set() {
        let allowed: BTreeSet<i64> = [1, 2, 3].into();
        let mut p = Problems::new();
        check_task_items(&mut p, &[1, 3], &allowed);
        assert!(p.is_empty());
        check_task_items(&mut p, &[], &allowed);
        assert!(p["item_ids"].starts_with("请至少选择"));
        let mut p = Problems::new();
        check_task_items(&mut p, &[1, 9], &allowed);
        assert!(p["item_ids"].contains("本单位所属类别"));
    }

    #[test]
    fn quarters_are_one_to_four() {
        assert_eq!(check_quarter(1), Ok(1));
        assert_eq!(check_quarter(4), Ok(4));
        assert_eq!(check_quarter(0), Err("季度只能是1至4，收到0".into()));
        assert!(check_quarter(5).is_err());
        assert!(check_quarter(-1).is_err());
    }

    #[test]
    fn evidence_lines_are_links_inside_the_system_or_text() {
        let mut p = Problems::new();
        let e = parse_evidence(&mut p, " /orglife/meetings/7 \n\n会议纪要已存档\n");
        assert!(p.is_empty());
        assert_eq!(
            e,
            vec![
                EvidenceLine::Link("/orglife/meetings/7".into()),
                EvidenceLine::Text("会议纪要已存档".into())
            ]
        );
        assert_eq!(evidence_text(&e), "/orglife/meetings/7\n会议纪要已存档");
        for bad in ["//evil.example/x", "/a b", "/a\\b"] {
            let mut p = Problems::new();
            parse_evidence(&mut p, bad);
            assert!(p["evidence"].contains("本系统内记录的链接"), "{bad}");
        }
        let mut p = Problems::new();
        parse_evidence(&mut p, &"x\n".repeat(EVIDENCE_LINES_MAX + 1));
        assert!(p["evidence"].contains("最多20行"));
        let mut p = Problems::new();
        parse_evidence(&mut p, &"字".repeat(EVIDENCE_LINE_MAX + 1));
        assert!(p["evidence"].contains("第1行不超过300字"));
    }

    #[test]
    fn coverage_splits_items_into_covered_and_gaps() {
        let covered: BTreeSet<i64> = [2, 5].into();
        let (c, g) = coverage(&[1, 2, 3, 5], &covered);
        assert_eq!(c, vec![2, 5]);
        assert_eq!(g, vec![1, 3]);
        let (c, g) = coverage(&[], &covered);
        assert!(c.is_empty() && g.is_empty());
    }
}
