//! An assessment's arithmetic, without I/O: the stages it moves through, the score of an
//! automatic criterion from its indicator's figure, each criterion's held points and why,
//! the total and its tier, and the road one tier up spelled out as actions.

use serde::Serialize;

use super::rules::{road_up_from, tier_of, Content, Holding, Method, Placement, Score, Tier, Veto};
use crate::indicators::{Figure, Gap};

crate::choice! {
    /// Where an assessment stands (STANDARD.md's stages).
    pub enum Stage {
        /// 对标自查: the branch scores and submits; automatic criteria refresh until then.
        SelfCheck = "self_check", "对标自查", ["自查"];
        /// The unit reviews, may adjust scores with reasons, and submits.
        UnitReview = "unit_review", "单位审核", ["审核"];
        /// 考核验收: the committee accepts or returns.
        CommitteeReview = "committee_review", "考核验收", ["验收"];
        /// Accepted: the tier is the branch's for the year.
        Accepted = "accepted", "已定档", ["定档"];
    }
}

crate::choice! {
    /// An application to move up a tier.
    pub enum ApplicationStatus {
        Pending = "pending", "待复核", [];
        Accepted = "accepted", "已通过", [];
        Refused = "refused", "未通过", [];
    }
}

/// An automatic criterion's points from its figure: a share earns the criterion's points
/// in proportion, rounded down to a tenth (11 of 12 months of 5 points → 4.5); a share
/// with nothing due loses nothing; a count earns them all from one record up.
pub fn auto_score(max: Score, f: &Figure) -> (Score, String) {
    match f.of {
        Some(due) if due > 0 => {
            let met = f.value.clamp(0, due);
            let s = Score(max.0 * met / due);
            (s, format!("{}，按比例得{s}分", f.text))
        }
        Some(_) => (max, "本期无应开展期次，不扣分".into()),
        None if f.value > 0 => (max, format!("已有{}项记录，得满分", f.value)),
        None => (Score::ZERO, "尚无记录，不得分".into()),
    }
}

/// Where a criterion's points come from in an assessment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Computed from the indicator (live until the branch submits, then as submitted).
    Auto,
    /// An automatic criterion whose indicator no feature publishes yet: scored by hand
    /// with evidence, and the page says so.
    ManualFallback,
    Manual,
}

/// What an assessment holds for one criterion, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entered {
    pub self_score: Option<Score>,
    pub self_note: String,
    pub evidence: String,
    pub unit_score: Option<Score>,
    pub unit_reason: String,
    /// The automatic score as submitted (None while live).
    pub auto_score: Option<Score>,
    pub auto_text: String,
}

/// One criterion of an assessment, scored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    pub number: i64,
    pub dimension: i64,
    pub body: String,
    pub max: Score,
    pub source: Source,
    pub indicator_key: Option<String>,
    pub evidence_required: bool,
    /// The points that count.
    pub held: Score,
    /// How they were reached, in words.
    pub how: String,
    /// What costs the criterion points, each with where to mend it (automatic criteria).
    pub gaps: Vec<Gap>,
    pub self_score: Option<Score>,
    pub self_note: String,
    pub evidence: String,
    pub unit_score: Option<Score>,
    pub unit_reason: String,
}

impl Line {
    pub fn lost(&self) -> Score {
        (self.max - self.held).max(Score::ZERO)
    }

    pub fn is_manual(&self) -> bool {
        self.source != Source::Auto
    }
}

/// Scores every criterion of `content`: `entered` by number; `figure` gives a live figure
/// for an automatic criterion (`None`: no feature publishes its indicator, or the branch has
/// none) and is asked only while `live` (before submission); afterwards the stored score
/// stands.
pub fn lines<'a>(
    content: &Content,
    entered: impl Fn(i64) -> Option<&'a Entered>,
    live: bool,
    figure: impl Fn(&str) -> Option<Option<&'a Figure>>,
) -> Vec<Line> {
    let blank = Entered::default();
    content
        .criteria
        .iter()
        .map(|c| {
            let e = entered(c.number).unwrap_or(&blank);
            // None: no feature publishes the indicator; Some(None): the branch has no figure.
            // After submission what was frozen stands: an automatic score if one was
            // computed then, else the hand score it was submitted with (no provider then).
            let provided = match (c.method, c.indicator_key.as_deref()) {
                (Method::Auto, Some(_)) if !live => e.auto_score.map(|_| None),
                (Method::Auto, Some(k)) => figure(k),
                _ => None,
            };
            let manual = |source: Source| {
                let held = e.unit_score.or(e.self_score).unwrap_or(Score::ZERO);
                let how = match (e.self_score, e.unit_score) {
                    (_, Some(u)) if e.unit_score != e.self_score => format!(
                        "自评{}分，单位审核调整为{u}分",
                        e.self_score.map_or("—".into(), |s| s.to_string())
                    ),
                    (Some(s), _) => format!("自评{s}分"),
                    (None, _) => "尚未自评".into(),
                };
                (source, held, how, Vec::new())
            };
            let (source, held, how, gaps) = match provided {
                None if c.method == Method::Auto => manual(Source::ManualFallback),
                None => manual(Source::Manual),
                Some(_) if !live => (
                    Source::Auto,
                    e.auto_score.unwrap_or(Score::ZERO).min(c.points),
                    if e.auto_text.is_empty() {
                        "提交时的自动计算结果".into()
                    } else {
                        e.auto_text.clone()
                    },
                    Vec::new(),
                ),
                Some(Some(f)) => {
                    let (s, how) = auto_score(c.points, f);
                    (Source::Auto, s.min(c.points), how, f.gaps.clone())
                }
                Some(None) => (
                    Source::Auto,
                    c.points,
                    "本支部本期无统计数据，不扣分".into(),
                    Vec::new(),
                ),
            };
            Line {
                number: c.number,
                dimension: c.dimension,
                body: c.body.clone(),
                max: c.points,
                source,
                indicator_key: c.indicator_key.clone(),
                evidence_required: c.evidence_required,
                held: held.clamp(Score::ZERO, c.points),
                how,
                gaps,
                self_score: e.self_score,
                self_note: e.self_note.clone(),
                evidence: e.evidence.clone(),
                unit_score: e.unit_score,
                unit_reason: e.unit_reason.clone(),
            }
        })
        .collect()
}

/// The total: the criteria's held points and the extra credit up to the standard's cap.
pub fn total(lines: &[Line], extra: Score, cap: Score) -> Score {
    lines.iter().map(|l| l.held).sum::<Score>() + extra.clamp(Score::ZERO, cap)
}

/// The vetoes of the standard whose codes are marked.
pub fn hit<'a>(content: &'a Content, marked: &[String]) -> Vec<&'a Veto> {
    content
        .vetoes
        .iter()
        .filter(|v| marked.iter().any(|m| m == &v.code))
        .collect()
}

/// The tier of an assessment's lines, extra credit and marked vetoes, with its reason.
pub fn place(content: &Content, lines: &[Line], extra: Score, marked: &[String]) -> Placement {
    let score = total(lines, extra, content.extra_cap);
    tier_of(&content.thresholds, score, &hit(content, marked))
}

/// A tier after a veto marked during the year: never better than before.
pub fn after_veto(current: Tier, placed: Tier) -> Tier {
    if super::rules::tier_rank(placed) > super::rules::tier_rank(current) {
        placed
    } else {
        current
    }
}

/// One step on the road up: a criterion's points to win back and what to do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub number: i64,
    pub body: String,
    pub gain: Score,
    /// Why the points are lost, each with the page where it is mended.
    pub actions: Vec<Gap>,
}

/// The road to the next tier, spelled out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Roadmap {
    pub score: Score,
    pub tier: Tier,
    pub reason: String,
    /// None in 一档.
    pub to: Option<Tier>,
    /// Points short of the next tier's minimum.
    pub need: Score,
    /// Vetoes to clear first (their text).
    pub clear: Vec<String>,
    /// The fewest criteria that cover `need`, largest losses first.
    pub steps: Vec<Step>,
    pub reachable: bool,
    /// Every criterion losing points, largest first: where the rest of the points go.
    pub losses: Vec<Step>,
}

fn step(l: &Line, href: &str) -> Step {
    let actions = if l.gaps.is_empty() {
        vec![Gap {
            label: match l.source {
                Source::Auto => format!("{}（失{}分）", l.how, l.lost()),
                _ => format!("{}，满分{}分：补充举措和佐证材料后重新自评", l.how, l.max),
            },
            href: format!("{href}#c{}", l.number),
        }]
    } else {
        l.gaps.clone()
    };
    Step {
        number: l.number,
        body: l.body.clone(),
        gain: l.lost(),
        actions,
    }
}

/// The roadmap of an assessment: its tier and why, the shortest set of criteria whose lost
/// points lift it one tier (with their actions), and every loss. `href` is the assessment's
/// page, where manual criteria are re-scored.
pub fn roadmap(
    content: &Content,
    lines: &[Line],
    extra: Score,
    marked: &[String],
    href: &str,
    accepted: Option<Tier>,
) -> Roadmap {
    let vetoes = hit(content, marked);
    let score = total(lines, extra, content.extra_cap);
    let mut placed = tier_of(&content.thresholds, score, &vetoes);
    if let Some(t) = accepted {
        placed.tier = t;
    }
    let held: Vec<Holding> = lines
        .iter()
        .map(|l| Holding {
            number: l.number,
            held: l.held,
            max: l.max,
        })
        .collect();
    let road = road_up_from(
        &content.thresholds,
        &held,
        extra.clamp(Score::ZERO, content.extra_cap),
        &vetoes,
        accepted,
    );
    let by_number = |n: i64| lines.iter().find(|l| l.number == n);
    let mut losses: Vec<&Line> = lines.iter().filter(|l| l.lost() > Score::ZERO).collect();
    losses.sort_by(|a, b| b.lost().cmp(&a.lost()).then(a.number.cmp(&b.number)));
    Roadmap {
        score,
        tier: placed.tier,
        reason: placed.reason,
        to: road.as_ref().map(|r| r.to),
        need: road.as_ref().map_or(Score::ZERO, |r| r.need),
        clear: road.as_ref().map_or_else(Vec::new, |r| {
            r.clear
                .iter()
                .filter_map(|c| content.vetoes.iter().find(|v| &v.code == c))
                .map(|v| v.body.clone())
                .collect()
        }),
        steps: road.as_ref().map_or_else(Vec::new, |r| {
            r.criteria
                .iter()
                .filter_map(|x| by_number(x.number))
                .map(|l| step(l, href))
                .collect()
        }),
        reachable: road.as_ref().is_none_or(|r| r.reachable),
        losses: losses.into_iter().map(|l| step(l, href)).collect(),
    }
}

/// Points from `score` up to the next tier's minimum and down to the current one's (how far
/// a branch stands from a boundary either way); `None` for a side without a boundary.
pub fn margins(content: &Content, score: Score, tier: Tier) -> (Option<Score>, Option<Score>) {
    let min = |t: Tier| {
        content
            .thresholds
            .iter()
            .find(|x| x.tier == t)
            .map(|x| x.min_score)
    };
    let up = tier
        .up()
        .and_then(min)
        .map(|m| (m - score).max(Score::ZERO));
    let down = if tier == Tier::Fourth {
        None
    } else {
        min(tier).map(|m| (score - m).max(Score::ZERO))
    };
    (up, down)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::default;

    fn f(met: i64, due: i64) -> Figure {
        Figure::share(met, due, Vec::new())
    }

    #[test]
    fn a_share_earns_its_points_in_proportion_rounded_down() {
        let five = Score::points(5);
        let cases = [
            (12, 12, "5"),
            (11, 12, "4.5"), // 4.58 → 4.5
            (0, 12, "0"),
            (3, 4, "3.7"), // 3.75 → 3.7
            (1, 3, "1.6"),
            (13, 12, "5"), // never above the points
        ];
        for (met, due, want) in cases {
            assert_eq!(
                auto_score(five, &f(met, due)).0.to_string(),
                want,
                "{met}/{due}"
            );
        }
        assert_eq!(
            auto_score(five, &f(0, 0)).0,
            five,
            "nothing due loses nothing"
        );
        assert_eq!(
            auto_score(five, &Figure::count(0, Vec::new())).0,
            Score::ZERO
        );
        assert_eq!(auto_score(five, &Figure::count(2, Vec::new())).0, five);
    }

    fn content() -> Content {
        default::content(2026)
    }

    fn all_manual_full(c: &Content) -> std::collections::HashMap<i64, Entered> {
        c.criteria
            .iter()
            .map(|k| {
                (
                    k.number,
                    Entered {
                        self_score: Some(k.points),
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    #[test]
    fn criteria_without_a_provider_are_scored_by_hand_and_say_so() {
        let c = content();
        let entered = all_manual_full(&c);
        let assembly = f(3, 4);
        // Only the general assembly's indicator is provided.
        let ls = lines(
            &c,
            |n| entered.get(&n),
            true,
            |k| (k == "orglife.general_assembly.held").then_some(Some(&assembly)),
        );
        let l12 = &ls[11];
        assert_eq!(
            (l12.source, l12.held.to_string()),
            (Source::Auto, "3.7".into())
        );
        let l17 = &ls[16];
        assert_eq!(l17.source, Source::ManualFallback);
        assert_eq!(l17.held, Score::points(5));
        assert_eq!(ls[3].source, Source::Manual);
        // 95 − 1.3 lost on 12 = 93.7, with no extra credit.
        assert_eq!(total(&ls, Score::ZERO, c.extra_cap).to_string(), "93.7");
        assert_eq!(
            total(&ls, Score::points(9), c.extra_cap).to_string(),
            "98.7"
        );
    }

    #[test]
    fn after_submission_the_stored_automatic_score_stands() {
        let c = content();
        let mut entered = all_manual_full(&c);
        if let Some(e) = entered.get_mut(&12) {
            e.auto_score = Some(Score::points(2));
            e.auto_text = "2/4（50.0%），按比例得2.5分".into();
        }
        let live = f(4, 4);
        let ls = lines(&c, |n| entered.get(&n), false, |_| Some(Some(&live)));
        assert_eq!(ls[11].held, Score::points(2));
    }

    #[test]
    fn unit_adjustments_override_the_self_score() {
        let c = content();
        let mut entered = all_manual_full(&c);
        if let Some(e) = entered.get_mut(&4) {
            e.unit_score = Some(Score::points(1));
            e.unit_reason = "党小组组长未明确".into();
        }
        let ls = lines(&c, |n| entered.get(&n), true, |_| None);
        assert_eq!(ls[3].held, Score::points(1));
        assert_eq!(ls[3].how, "自评3分，单位审核调整为1分");
    }

    #[test]
    fn vetoes_place_and_a_later_veto_only_moves_down() {
        let c = content();
        let entered = all_manual_full(&c);
        let ls = lines(&c, |n| entered.get(&n), true, |_| None);
        assert_eq!(place(&c, &ls, Score::ZERO, &[]).tier, Tier::First);
        assert_eq!(
            place(&c, &ls, Score::ZERO, &["assembly_missed".into()]).tier,
            Tier::Second
        );
        assert_eq!(
            place(&c, &ls, Score::ZERO, &["term_overdue".into()]).tier,
            Tier::Fourth
        );
        assert_eq!(after_veto(Tier::Second, Tier::Fourth), Tier::Fourth);
        assert_eq!(after_veto(Tier::Third, Tier::Second), Tier::Third);
    }

    #[test]
    fn the_roadmap_names_the_fewest_criteria_and_their_actions() {
        let c = content();
        let mut entered = all_manual_full(&c);
        // Lose 5 on criterion 5 and 4 on criterion 6 (manual), 2.5 on 12 (auto).
        for (n, s) in [(5, 0), (6, 0)] {
            if let Some(e) = entered.get_mut(&n) {
                e.self_score = Some(Score::points(s));
            }
        }
        let gap = Gap {
            label: "2026年7–9月未按期开展支部党员大会".into(),
            href: "/orglife/meetings/new?branch_id=9&kind=general_assembly".into(),
        };
        let assembly = Figure::share(2, 4, vec![gap.clone()]);
        let ls = lines(
            &c,
            |n| entered.get(&n),
            true,
            |k| (k == "orglife.general_assembly.held").then_some(Some(&assembly)),
        );
        // 95 − 5 − 4 − 2.5 = 83.5: 二档, 6.5 short of 一档.
        let r = roadmap(&c, &ls, Score::ZERO, &[], "/grading/assessments/1", None);
        assert_eq!((r.tier, r.to), (Tier::Second, Some(Tier::First)));
        assert_eq!(r.need.to_string(), "6.5");
        let nums: Vec<i64> = r.steps.iter().map(|s| s.number).collect();
        assert_eq!(nums, vec![5, 6], "5 + 4 ≥ 6.5, largest first");
        assert!(r.steps[0].actions[0].href.ends_with("#c5"));
        assert_eq!(r.losses.len(), 3);
        assert_eq!(r.losses[2].actions, vec![gap]);
        assert!(r.reachable);
        // At the top there is no road.
        let full = all_manual_full(&c);
        let ls = lines(&c, |n| full.get(&n), true, |_| None);
        let top = roadmap(&c, &ls, Score::ZERO, &[], "/x", None);
        assert_eq!((top.tier, top.to, top.steps.len()), (Tier::First, None, 0));
        // A hard veto: the veto is the road, whatever the points.
        let v = roadmap(&c, &ls, Score::ZERO, &["term_overdue".into()], "/x", None);
        assert_eq!((v.tier, v.to), (Tier::Fourth, Some(Tier::Third)));
        assert_eq!(v.clear.len(), 1);
        assert_eq!(v.need, Score::ZERO);
        // Moved up to 三档 by an application despite the veto: the road starts there.
        let moved = roadmap(
            &c,
            &ls,
            Score::ZERO,
            &["term_overdue".into()],
            "/x",
            Some(Tier::Third),
        );
        assert_eq!((moved.tier, moved.to), (Tier::Third, Some(Tier::Second)));
        assert_eq!(moved.clear.len(), 1, "a hard veto still bars the way up");
    }

    #[test]
    fn margins_measure_both_ways_at_the_boundaries() {
        let c = content();
        let m = |s: &str, t| margins(&c, Score::parse(s).expect("score"), t);
        assert_eq!(m("89.9", Tier::Second), (Some(Score(1)), Some(Score(99))));
        assert_eq!(m("90", Tier::First), (None, Some(Score::ZERO)));
        assert_eq!(m("59.5", Tier::Fourth), (Some(Score(5)), None));
        assert_eq!(m("60", Tier::Third), (Some(Score(200)), Some(Score::ZERO)));
    }
}
