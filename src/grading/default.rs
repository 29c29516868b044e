//! The default standard of STANDARD.md (六化22条, four tiers, vetoes), loaded as the current
//! year's published standard on first start. Automatic criteria name the indicator they
//! read: the ones features publish today where one fits, and the key a later feature (the
//! volunteer bank, pledges, brands, honors) is to publish where none does yet — until then
//! such a criterion is scored by hand with evidence, and its page says so.

use super::rules::{Content, Criterion, Dimension, Method, Score, Threshold, Tier, Veto, VetoKind};

pub const DIMENSIONS: [&str; 6] = [
    "组织设置标准化",
    "职责任务明晰化",
    "工作机制科学化",
    "组织生活严格化",
    "党员作用常态化",
    "保障机制精准化",
];

/// (dimension 1..6, text, points, indicator for an automatic criterion, evidence required)
type Row = (i64, &'static str, i64, Option<&'static str>, bool);

pub const CRITERIA: [Row; 22] = [
    (
        1,
        "按规定设置：正式党员3人以上单独建支部；超过50人的按规定设总支或拆分；隶属关系清晰",
        5,
        Some("establishment.adjust"),
        false,
    ),
    (
        1,
        "按期换届：支委会任期届满按期换届，延期有批复",
        5,
        Some("establishment.renew"),
        false,
    ),
    (
        1,
        "班子健全：7人以上设支委会，委员分工明确；不足7人设书记（和副书记）",
        4,
        Some("registry.branch_officers"),
        true,
    ),
    (1, "党小组划分合理、组长明确", 3, None, true),
    (
        2,
        "年度党建工作计划、任务清单与本类别个性要求相衔接",
        5,
        None,
        true,
    ),
    (2, "书记第一责任人、委员一岗双责清单明确", 4, None, true),
    (2, "本类别“三个X”要求有具体举措和完成情况", 5, None, true),
    (
        3,
        "党建与业务同谋划、同部署、同考核（三抓三同）",
        5,
        None,
        true,
    ),
    (3, "党员发展、教育、管理、监督按程序规范", 4, None, true),
    (
        3,
        "每年召开组织生活会、开展民主评议党员",
        5,
        Some("orglife.life_and_review.held"),
        false,
    ),
    (3, "党务公开、请示报告制度落实", 3, None, true),
    (
        4,
        "支部党员大会每季度至少1次",
        5,
        Some("orglife.general_assembly.held"),
        false,
    ),
    (
        4,
        "支委会每月至少1次",
        5,
        Some("orglife.committee_meeting.held"),
        false,
    ),
    (
        4,
        "党小组会每月至少1次",
        4,
        Some("orglife.group_meeting.held"),
        false,
    ),
    (
        4,
        "党课每季度至少1次；主题党日每月1次；党员参学率",
        5,
        Some("orglife.lecture_theme_attendance"),
        false,
    ),
    (
        5,
        "设党员先锋岗、责任区，党员亮身份",
        4,
        Some("honors.vanguard_posts"),
        false,
    ),
    (
        5,
        "在职党员到社区报到率、志愿服务时长",
        5,
        Some("volunteer.report_rate"),
        false,
    ),
    (
        5,
        "处室负责人一句话承诺公开亮诺、践诺评价",
        4,
        Some("pledges.fulfilment"),
        false,
    ),
    (
        5,
        "创建支部党建品牌（一支部一品牌）",
        4,
        Some("brands.branch_stage"),
        false,
    ),
    (6, "党员活动阵地达标", 3, None, true),
    (6, "党费收缴、使用、管理规范", 4, None, true),
    (6, "党务干部配备到位、年度培训", 4, None, true),
];

/// (code, text, kind)
pub const VETOES: [(&str, &str, VetoKind); 3] = [
    (
        "serious_discipline",
        "支部党员年内因严重违纪受到党纪处分",
        VetoKind::Hard,
    ),
    (
        "term_overdue",
        "支部换届逾期超过6个月且未经批准延期",
        VetoKind::Hard,
    ),
    (
        "assembly_missed",
        "年内有季度未召开支部党员大会",
        VetoKind::Soft,
    ),
];

/// 一档 from 90, 二档 from 80, 三档 from 60, 四档 below.
pub const THRESHOLDS: [(Tier, i64); 4] = [
    (Tier::First, 90),
    (Tier::Second, 80),
    (Tier::Third, 60),
    (Tier::Fourth, 0),
];

pub const EXTRA_CAP: i64 = 5;

pub fn title(year: i32) -> String {
    format!("{year}年度党支部动态分级定档标准（六化22条）")
}

pub fn content(year: i32) -> Content {
    Content {
        title: title(year),
        extra_cap: Score::points(EXTRA_CAP),
        dimensions: DIMENSIONS
            .iter()
            .enumerate()
            .map(|(i, name)| Dimension {
                position: i as i64 + 1,
                name: (*name).to_string(),
            })
            .collect(),
        criteria: CRITERIA
            .iter()
            .enumerate()
            .map(|(i, (dim, body, pts, key, evidence))| Criterion {
                number: i as i64 + 1,
                dimension: *dim,
                body: (*body).to_string(),
                points: Score::points(*pts),
                method: if key.is_some() {
                    Method::Auto
                } else {
                    Method::Manual
                },
                indicator_key: key.map(str::to_string),
                evidence_required: *evidence,
            })
            .collect(),
        thresholds: THRESHOLDS
            .iter()
            .map(|(tier, min)| Threshold {
                tier: *tier,
                name: tier.default_name().to_string(),
                min_score: Score::points(*min),
            })
            .collect(),
        vetoes: VETOES
            .iter()
            .map(|(code, body, kind)| Veto {
                code: (*code).to_string(),
                body: (*body).to_string(),
                kind: *kind,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::rules::{dimension_totals, validate};
    use super::*;

    #[test]
    fn the_default_is_valid_and_sums_as_standard_md_says() {
        let c = content(2026);
        assert_eq!(validate(&c), Default::default());
        assert_eq!(c.criteria.len(), 22);
        let totals: Vec<Score> = dimension_totals(&c).into_iter().map(|x| x.1).collect();
        assert_eq!(totals, [17, 14, 17, 19, 17, 11].map(Score::points).to_vec());
        let auto = c
            .criteria
            .iter()
            .filter(|k| k.method == Method::Auto)
            .count();
        assert_eq!(auto, 12);
    }
}
