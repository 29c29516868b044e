//! The grading standard's rules, without I/O: its parts, the checks a draft must pass to be
//! saved and a standard to be published, the tier a score and its vetoes give, and the
//! shortest road to the next tier.
//!
//! Points are `Score`s, whole tenths of a point. A reviewer may give 2.5 of 5, so scores are
//! not whole; but thresholds are compared exactly (89.5 is not 90 however it was summed),
//! totals must be exactly 100, and both backends store a plain `BIGINT`. Binary floats give
//! none of that (0.1 + 0.2 ≠ 0.3), and finer than a tenth is nothing a person scores.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Serialize, Serializer};

crate::choice! {
    /// A standard's state: a 草稿 the committee edits, or 已发布 and frozen.
    pub enum StandardStatus {
        Draft = "draft", "草稿", [];
        Published = "published", "已发布", [];
    }
}

crate::choice! {
    /// How a criterion is scored.
    pub enum Method {
        /// Self-scored with evidence, then reviewed.
        Manual = "manual", "人工评分", ["人工", "自评"];
        /// Computed from the system's own records through an indicator.
        Auto = "auto", "自动计算", ["自动"];
    }
}

crate::choice! {
    /// What a veto (一票否决) does: a hard one puts the branch in 四档 whatever its score; a
    /// soft one caps it at 二档.
    pub enum VetoKind {
        Hard = "hard", "否决（定为四档）", ["一票否决", "定为四档"];
        Soft = "soft", "限档（最高二档）", ["限档", "最高二档"];
    }
}

crate::choice! {
    /// The four tiers (4个档次), best first.
    pub enum Tier {
        First = "first", "一档", ["1"];
        Second = "second", "二档", ["2"];
        Third = "third", "三档", ["3"];
        Fourth = "fourth", "四档", ["4"];
    }
}

impl Tier {
    /// The tier's name in the default standard (a standard may word it otherwise).
    pub fn default_name(self) -> &'static str {
        match self {
            Tier::First => "先进（示范）党支部",
            Tier::Second => "较好党支部",
            Tier::Third => "一般党支部",
            Tier::Fourth => "后进党支部",
        }
    }

    /// The tier above, if any.
    pub fn up(self) -> Option<Tier> {
        match self {
            Tier::First => None,
            Tier::Second => Some(Tier::First),
            Tier::Third => Some(Tier::Second),
            Tier::Fourth => Some(Tier::Third),
        }
    }

    fn rank(self) -> usize {
        Tier::ALL.iter().position(|t| *t == self).unwrap_or(3)
    }
}

/// Points in whole tenths (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(pub i64);

impl Score {
    pub const ZERO: Score = Score(0);
    pub const HUNDRED: Score = Score(1000);

    pub fn points(p: i64) -> Score {
        Score(p.saturating_mul(10))
    }

    /// Points as a person writes them: `5`, `2.5`, `89.5`. More than one decimal, a sign on
    /// a negative, or more than 1000 points is refused (`None`).
    pub fn parse(s: &str) -> Option<Score> {
        let s = s.trim();
        let (neg, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || whole.len() > 4
        {
            return None;
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 1 {
            return None;
        }
        let w: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let t: i64 = frac.parse().unwrap_or(0);
        let v = w * 10 + t;
        if v > 10_000 {
            return None;
        }
        Some(Score(if neg { -v } else { v }))
    }

    /// A JSON number as points: a multiple of 0.1 within ±1000, else `None`.
    pub fn from_f64(p: f64) -> Option<Score> {
        if !p.is_finite() || p.abs() > 1000.0 {
            return None;
        }
        let t = (p * 10.0).round();
        ((p * 10.0 - t).abs() < 1e-6).then_some(Score(t as i64))
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 10.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        if a.is_multiple_of(10) {
            write!(f, "{sign}{}", a / 10)
        } else {
            write!(f, "{sign}{}.{}", a / 10, a % 10)
        }
    }
}

/// A score goes out as a JSON number of points (`2.5`).
impl Serialize for Score {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl utoipa::PartialSchema for Score {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .description(Some("分值，最多一位小数"))
            .into()
    }
}

impl utoipa::ToSchema for Score {}

impl std::ops::Add for Score {
    type Output = Score;
    fn add(self, o: Score) -> Score {
        Score(self.0.saturating_add(o.0))
    }
}

impl std::ops::Sub for Score {
    type Output = Score;
    fn sub(self, o: Score) -> Score {
        Score(self.0.saturating_sub(o.0))
    }
}

impl std::iter::Sum for Score {
    fn sum<I: Iterator<Item = Score>>(it: I) -> Score {
        it.fold(Score::ZERO, |a, b| a + b)
    }
}

/// One of the six dimensions (六化), in its place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Dimension {
    /// 1, 2, …: the dimension's place, which criteria name.
    pub position: i64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Criterion {
    /// 1..n, unique and consecutive in a standard.
    pub number: i64,
    /// The position of its dimension.
    pub dimension: i64,
    pub body: String,
    pub points: Score,
    pub method: Method,
    /// The indicator an automatic criterion reads (`orglife.general_assembly.held`).
    pub indicator_key: Option<String>,
    pub evidence_required: bool,
}

/// The lowest score of a tier; a tier reaches up to the next one's minimum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Threshold {
    pub tier: Tier,
    pub name: String,
    pub min_score: Score,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Veto {
    /// A short key (`discipline_breach`), unique in the standard.
    pub code: String,
    pub body: String,
    pub kind: VetoKind,
}

/// What a standard holds, as edited and as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Content {
    pub title: String,
    /// 加分项: extra credit a branch may earn, at most this much.
    pub extra_cap: Score,
    pub dimensions: Vec<Dimension>,
    pub criteria: Vec<Criterion>,
    pub thresholds: Vec<Threshold>,
    pub vetoes: Vec<Veto>,
}

/// Field errors: the field's name (as the editor and the API name it) and its message.
pub type Problems = BTreeMap<String, String>;

pub const MAX_TITLE: usize = 100;
pub const MAX_BODY: usize = 500;
pub const MAX_NAME: usize = 50;
pub const MAX_ITEMS: usize = 200;

/// An indicator key: lowercase letters, digits, `_`, dotted (`volunteer.report_rate`).
pub fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// A veto code: lowercase letters, digits and `_`.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 50
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn too_long(s: &str, max: usize) -> bool {
    s.chars().count() > max
}

/// What a draft must satisfy to be saved: every item well formed, criteria numbered 1..n,
/// the four tiers' thresholds in order and covering 0 to 100. The total of 100 is checked
/// at publishing (`validate`), since a committee may move points over several saves.
pub fn check_draft(c: &Content) -> Problems {
    let mut p = Problems::new();
    let title = c.title.trim();
    if title.is_empty() {
        p.insert("title".into(), "请填写标准名称".into());
    } else if too_long(title, MAX_TITLE) {
        p.insert("title".into(), format!("标准名称不能超过{MAX_TITLE}字"));
    }
    if c.extra_cap < Score::ZERO || c.extra_cap > Score::HUNDRED {
        p.insert("extra_cap".into(), "加分项上限应在0至100分之间".into());
    }
    check_dimensions(c, &mut p);
    check_criteria(c, &mut p);
    check_thresholds(&c.thresholds, &mut p);
    check_vetoes(&c.vetoes, &mut p);
    p
}

fn check_dimensions(c: &Content, p: &mut Problems) {
    if c.dimensions.is_empty() {
        p.insert("dimensions".into(), "至少要有一个维度".into());
    }
    if c.dimensions.len() > MAX_ITEMS {
        p.insert("dimensions".into(), format!("维度不能超过{MAX_ITEMS}个"));
    }
    let mut seen = BTreeSet::new();
    for (i, d) in c.dimensions.iter().enumerate() {
        let field = format!("dimensions[{i}].name");
        let name = d.name.trim();
        if d.position != i as i64 + 1 {
            p.insert(field, format!("维度“{name}”的序号应为{}", i + 1));
        } else if name.is_empty() {
            p.insert(field, format!("第{}个维度没有名称", i + 1));
        } else if too_long(name, MAX_NAME) {
            p.insert(field, format!("维度“{name}”的名称不能超过{MAX_NAME}字"));
        } else if !seen.insert(name) {
            p.insert(field, format!("维度“{name}”重复"));
        }
    }
}

fn check_criteria(c: &Content, p: &mut Problems) {
    if c.criteria.is_empty() {
        p.insert("criteria".into(), "至少要有一个评分条目".into());
    }
    if c.criteria.len() > MAX_ITEMS {
        p.insert("criteria".into(), format!("条目不能超过{MAX_ITEMS}条"));
    }
    let mut numbers = BTreeSet::new();
    for (i, k) in c.criteria.iter().enumerate() {
        let f = |name: &str| format!("criteria[{i}].{name}");
        let n = k.number;
        if !numbers.insert(n) {
            p.insert(f("number"), format!("条目序号{n}重复"));
        } else if n < 1 {
            p.insert(f("number"), format!("条目序号应从1起，收到{n}"));
        }
        let body = k.body.trim();
        if body.is_empty() {
            p.insert(f("body"), format!("第{n}条没有内容"));
        } else if too_long(body, MAX_BODY) {
            p.insert(f("body"), format!("第{n}条的内容不能超过{MAX_BODY}字"));
        }
        if k.points <= Score::ZERO {
            p.insert(
                f("points"),
                format!("第{n}条的分值应大于0，收到{}", k.points),
            );
        } else if k.points > Score::HUNDRED {
            p.insert(f("points"), format!("第{n}条的分值不能超过100分"));
        }
        if !c.dimensions.iter().any(|d| d.position == k.dimension) {
            p.insert(f("dimension"), format!("第{n}条所属的维度不存在"));
        }
        match (k.method, k.indicator_key.as_deref().map(str::trim)) {
            (Method::Auto, None | Some("")) => {
                p.insert(
                    f("indicator_key"),
                    format!("第{n}条为自动计算，须填写所读取的指标"),
                );
            }
            (_, Some(key)) if !key.is_empty() && !is_key(key) => {
                p.insert(
                    f("indicator_key"),
                    format!("第{n}条的指标“{key}”格式不对，应如 orglife.compliance（小写字母、数字、下划线，以点分隔）"),
                );
            }
            _ => {}
        }
    }
    // Numbers 1..n with none missing, once each is unique.
    if numbers.len() == c.criteria.len() && !c.criteria.is_empty() {
        let expected: BTreeSet<i64> = (1..=c.criteria.len() as i64).collect();
        if let Some(missing) = expected.difference(&numbers).next() {
            p.entry("criteria".into()).or_insert_with(|| {
                format!(
                    "条目序号应从1连续编到{}，缺少第{missing}条",
                    c.criteria.len()
                )
            });
        }
    }
}

/// The four tiers once each, minimums strictly falling from 一档 to 四档 within 0..=100, and
/// 四档 from 0: every score from 0 to 100 then falls in exactly one tier. A minimum not
/// below the one above would make the two tiers overlap (the lower one empty); a 四档
/// above 0 would leave the scores under it in no tier.
pub fn check_thresholds(ts: &[Threshold], p: &mut Problems) {
    for t in Tier::ALL {
        let n = ts.iter().filter(|x| x.tier == t).count();
        if n != 1 {
            p.insert(
                "thresholds".into(),
                format!(
                    "须为一档至四档各设一条分数线，{}{}",
                    t.label(),
                    if n == 0 { "缺少" } else { "重复" }
                ),
            );
            return;
        }
    }
    if ts.len() != Tier::ALL.len() {
        p.insert("thresholds".into(), "只能设一档至四档四条分数线".into());
        return;
    }
    let field = |t: Tier| {
        format!(
            "thresholds[{}].min_score",
            ts.iter().position(|x| x.tier == t).unwrap_or(0)
        )
    };
    let min = |t: Tier| {
        ts.iter()
            .find(|x| x.tier == t)
            .map_or(Score::ZERO, |x| x.min_score)
    };
    for (i, x) in ts.iter().enumerate() {
        let name = x.name.trim();
        if name.is_empty() {
            p.insert(
                format!("thresholds[{i}].name"),
                format!("请填写{}的名称", x.tier.label()),
            );
        } else if too_long(name, MAX_NAME) {
            p.insert(
                format!("thresholds[{i}].name"),
                format!("{}的名称不能超过{MAX_NAME}字", x.tier.label()),
            );
        }
        if x.min_score < Score::ZERO || x.min_score > Score::HUNDRED {
            p.insert(
                field(x.tier),
                format!(
                    "{}的最低分应在0至100分之间，收到{}",
                    x.tier.label(),
                    x.min_score
                ),
            );
        }
    }
    for pair in Tier::ALL.windows(2) {
        let (hi, lo) = (pair[0], pair[1]);
        if min(lo) >= min(hi) && !p.contains_key(&field(lo)) {
            p.insert(
                field(lo),
                format!(
                    "{}的最低分（{}）须低于{}的最低分（{}），否则两档分数重叠",
                    lo.label(),
                    min(lo),
                    hi.label(),
                    min(hi)
                ),
            );
        }
    }
    let bottom = min(Tier::Fourth);
    if bottom != Score::ZERO && !p.contains_key(&field(Tier::Fourth)) {
        p.insert(
            field(Tier::Fourth),
            format!("四档的最低分应为0，否则低于{bottom}分的得分不属于任何档次"),
        );
    }
}

fn check_vetoes(vs: &[Veto], p: &mut Problems) {
    if vs.len() > MAX_ITEMS {
        p.insert("vetoes".into(), format!("否决项不能超过{MAX_ITEMS}条"));
    }
    let mut seen = BTreeSet::new();
    for (i, v) in vs.iter().enumerate() {
        let code = v.code.trim();
        if !is_code(code) {
            p.insert(
                format!("vetoes[{i}].code"),
                format!(
                    "第{}条否决项的代码“{code}”应由小写字母、数字和下划线组成",
                    i + 1
                ),
            );
        } else if !seen.insert(code) {
            p.insert(
                format!("vetoes[{i}].code"),
                format!("否决项代码“{code}”重复"),
            );
        }
        let body = v.body.trim();
        if body.is_empty() {
            p.insert(
                format!("vetoes[{i}].body"),
                format!("第{}条否决项没有内容", i + 1),
            );
        } else if too_long(body, MAX_BODY) {
            p.insert(
                format!("vetoes[{i}].body"),
                format!("第{}条否决项的内容不能超过{MAX_BODY}字", i + 1),
            );
        }
    }
}

/// Everything `check_draft` asks, and what publishing adds: the criteria's points and the
/// extra-credit cap total exactly 100 (95 + 5 by default), and every dimension holds at
/// least one criterion.
pub fn validate(c: &Content) -> Problems {
    let mut p = check_draft(c);
    let sum: Score = c.criteria.iter().map(|k| k.points).sum();
    let total = sum + c.extra_cap;
    if total != Score::HUNDRED {
        p.entry("total".into()).or_insert_with(|| {
            format!(
                "各条目分值合计{sum}分，加上加分项上限{}分共{total}分，应为100分",
                c.extra_cap
            )
        });
    }
    for (i, d) in c.dimensions.iter().enumerate() {
        if !c.criteria.iter().any(|k| k.dimension == d.position) {
            p.entry(format!("dimensions[{i}].name"))
                .or_insert_with(|| format!("维度“{}”下没有评分条目", d.name.trim()));
        }
    }
    p
}

/// The points of each dimension, in dimension order.
pub fn dimension_totals(c: &Content) -> Vec<(i64, Score)> {
    c.dimensions
        .iter()
        .map(|d| {
            (
                d.position,
                c.criteria
                    .iter()
                    .filter(|k| k.dimension == d.position)
                    .map(|k| k.points)
                    .sum(),
            )
        })
        .collect()
}

/// A tier and why, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub tier: Tier,
    pub reason: String,
}

/// The tier a score by the score alone, from the standard's thresholds.
fn tier_by_score(ts: &[Threshold], score: Score) -> Tier {
    Tier::ALL
        .into_iter()
        .find(|t| {
            ts.iter()
                .find(|x| x.tier == *t)
                .is_some_and(|x| score >= x.min_score)
        })
        .unwrap_or(Tier::Fourth)
}

fn min_of(ts: &[Threshold], t: Tier) -> Score {
    ts.iter()
        .find(|x| x.tier == t)
        .map_or(Score::ZERO, |x| x.min_score)
}

fn names(vs: &[&Veto]) -> String {
    vs.iter()
        .map(|v| format!("“{}”", v.body.trim()))
        .collect::<Vec<_>>()
        .join("、")
}

/// The tier of `score` with the vetoes `hit`, and the reason (STANDARD.md): any hard veto →
/// 四档 whatever the score; else the score's tier by the thresholds, capped at 二档 by a
/// soft veto.
pub fn tier_of(ts: &[Threshold], score: Score, hit: &[&Veto]) -> Placement {
    let hard: Vec<&Veto> = hit
        .iter()
        .copied()
        .filter(|v| v.kind == VetoKind::Hard)
        .collect();
    let soft: Vec<&Veto> = hit
        .iter()
        .copied()
        .filter(|v| v.kind == VetoKind::Soft)
        .collect();
    let by_score = tier_by_score(ts, score);
    if !hard.is_empty() {
        return Placement {
            tier: Tier::Fourth,
            reason: format!("得分{score}分，但触发一票否决项{}，定为四档", names(&hard)),
        };
    }
    if by_score == Tier::First && !soft.is_empty() {
        return Placement {
            tier: Tier::Second,
            reason: format!(
                "得分{score}分，达到一档分数线（{}分），但触发限档项{}，最高定为二档",
                min_of(ts, Tier::First),
                names(&soft)
            ),
        };
    }
    let line = min_of(ts, by_score);
    let reason = match by_score.up() {
        None => format!("得分{score}分，达到一档分数线（{line}分），未触发否决项"),
        Some(up) => format!(
            "得分{score}分，在{}分数线（{line}分）以上、{}分数线（{}分）以下{}",
            by_score.label(),
            up.label(),
            min_of(ts, up),
            if soft.is_empty() {
                String::new()
            } else {
                format!("；另触发限档项{}（最高二档）", names(&soft))
            }
        ),
    };
    Placement {
        tier: by_score,
        reason,
    }
}

/// A criterion's points as a branch holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub number: i64,
    pub held: Score,
    pub max: Score,
}

/// A criterion whose lost points, recovered, count toward the next tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recovery {
    pub number: i64,
    pub gain: Score,
}

/// The road one tier up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Road {
    pub from: Tier,
    pub to: Tier,
    /// Vetoes to clear first: every hard one (nothing lifts a branch out of 四档 while one
    /// stands), and the soft ones when the road leads to 一档.
    pub clear: Vec<String>,
    /// Points the criteria must win back to reach `to`'s minimum.
    pub need: Score,
    /// The fewest criteria whose lost points cover `need`, the largest losses first.
    pub criteria: Vec<Recovery>,
    /// False when even every lost point won back falls short of `to`'s minimum.
    pub reachable: bool,
}

/// The shortest road from where `held` and the vetoes `hit` place a branch to one tier up;
/// `None` in 一档. Fewest criteria: recovering a criterion wins back its whole loss, so
/// taking the largest losses first needs the fewest (ties by number, so the road is stable).
/// Extra credit is not on the road: it rewards honors, it is not a gap to close.
pub fn road_up(ts: &[Threshold], held: &[Holding], extra: Score, hit: &[&Veto]) -> Option<Road> {
    road_up_from(ts, held, extra, hit, None)
}

/// `road_up` from a tier set otherwise than by the score (accepted, then moved by a veto or
/// an application): the road starts from `from` when given.
pub fn road_up_from(
    ts: &[Threshold],
    held: &[Holding],
    extra: Score,
    hit: &[&Veto],
    from: Option<Tier>,
) -> Option<Road> {
    let score: Score = held.iter().map(|h| h.held).sum::<Score>() + extra;
    let from = from.unwrap_or_else(|| tier_of(ts, score, hit).tier);
    let to = from.up()?;
    let clear: Vec<String> = hit
        .iter()
        .filter(|v| v.kind == VetoKind::Hard || (to == Tier::First && v.kind == VetoKind::Soft))
        .map(|v| v.code.clone())
        .collect();
    let need = (min_of(ts, to) - score).max(Score::ZERO);
    let mut losses: Vec<Recovery> = held
        .iter()
        .filter(|h| h.max > h.held)
        .map(|h| Recovery {
            number: h.number,
            gain: h.max - h.held,
        })
        .collect();
    losses.sort_by(|a, b| b.gain.cmp(&a.gain).then(a.number.cmp(&b.number)));
    let mut won = Score::ZERO;
    let mut criteria = Vec::new();
    for r in losses {
        if won >= need {
            break;
        }
        won = won + r.gain;
        criteria.push(r);
    }
    Some(Road {
        from,
        to,
        clear,
        need,
        criteria,
        reachable: won >= need,
    })
}

/// The tier order as a number (一档 0 … 四档 3), for sorting.
pub fn tier_rank(t: Tier) -> usize {
    t.rank()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Score {
        Score::parse(x).expect("score")
    }

    fn thresholds(mins: [&str; 4]) -> Vec<Threshold> {
        Tier::ALL
            .iter()
            .zip(mins)
            .map(|(t, m)| Threshold {
                tier: *t,
                name: t.default_name().into(),
                min_score: s(m),
            })
            .collect()
    }

    fn default_ts() -> Vec<Threshold> {
        thresholds(["90", "80", "60", "0"])
    }

    fn veto(code: &str, kind: VetoKind) -> Veto {
        Veto {
            code: code.into(),
            body: format!("{code}的情形"),
            kind,
        }
    }

    fn content() -> Content {
        // Two dimensions, three criteria of 45 + 30 + 20 = 95, extra 5.
        Content {
            title: "测试标准".into(),
            extra_cap: Score::points(5),
            dimensions: vec![
                Dimension {
                    position: 1,
                    name: "甲".into(),
                },
                Dimension {
                    position: 2,
                    name: "乙".into(),
                },
            ],
            criteria: vec![
                crit(1, 1, "45", Method::Manual, None),
                crit(2, 1, "30", Method::Auto, Some("orglife.compliance")),
                crit(3, 2, "20", Method::Manual, None),
            ],
            thresholds: default_ts(),
            vetoes: vec![veto("a", VetoKind::Hard), veto("b", VetoKind::Soft)],
        }
    }

    fn crit(n: i64, d: i64, pts: &str, m: Method, key: Option<&str>) -> Criterion {
        Criterion {
            number: n,
            dimension: d,
            body: format!("条目{n}"),
            points: s(pts),
            method: m,
            indicator_key: key.map(str::to_string),
            evidence_required: false,
        }
    }

    #[test]
    fn scores_parse_in_tenths_and_print_as_written() {
        let cases: &[(&str, Option<i64>)] = &[
            ("5", Some(50)),
            ("2.5", Some(25)),
            ("89.5", Some(895)),
            ("90.0", Some(900)),
            (" 0 ", Some(0)),
            (".5", Some(5)),
            ("-1", Some(-10)),
            ("1000", Some(10_000)),
            ("1000.1", None),
            ("2.55", None),
            ("2.50", Some(25)),
            ("", None),
            (".", None),
            ("abc", None),
            ("1e3", None),
            ("99999999999999999999", None),
        ];
        for (text, want) in cases {
            assert_eq!(Score::parse(text).map(|x| x.0), *want, "{text:?}");
        }
        assert_eq!(Score(895).to_string(), "89.5");
        assert_eq!(Score(900).to_string(), "90");
        assert_eq!(Score(-5).to_string(), "-0.5");
        assert_eq!(Score::from_f64(2.5), Some(Score(25)));
        assert_eq!(Score::from_f64(0.1 + 0.2), Some(Score(3)));
        assert_eq!(Score::from_f64(2.55), None);
        assert_eq!(Score::from_f64(f64::NAN), None);
        assert_eq!(Score::from_f64(1e300), None);
        assert_eq!(serde_json::to_string(&Score(25)).expect("json"), "2.5");
    }

    #[test]
    fn tiers_at_the_boundaries() {
        let ts = default_ts();
        let cases: &[(&str, Tier)] = &[
            ("100", Tier::First),
            ("90", Tier::First),
            ("89.9", Tier::Second),
            ("89.5", Tier::Second),
            ("80", Tier::Second),
            ("79.9", Tier::Third),
            ("60", Tier::Third),
            ("59.9", Tier::Fourth),
            ("0", Tier::Fourth),
        ];
        for (score, want) in cases {
            assert_eq!(tier_of(&ts, s(score), &[]).tier, *want, "{score}");
        }
    }

    #[test]
    fn thresholds_come_from_the_standard() {
        let ts = thresholds(["85", "70", "50", "0"]);
        assert_eq!(tier_of(&ts, s("85"), &[]).tier, Tier::First);
        assert_eq!(tier_of(&ts, s("84.9"), &[]).tier, Tier::Second);
        assert_eq!(tier_of(&ts, s("50"), &[]).tier, Tier::Third);
        assert_eq!(tier_of(&ts, s("49.9"), &[]).tier, Tier::Fourth);
    }

    #[test]
    fn vetoes_cap_or_sink_whatever_the_score() {
        let ts = default_ts();
        let (hard, soft) = (veto("h", VetoKind::Hard), veto("s", VetoKind::Soft));
        let cases: &[(&str, &[&Veto], Tier)] = &[
            ("95", &[&soft], Tier::Second),
            ("90", &[&soft], Tier::Second),
            ("85", &[&soft], Tier::Second),
            ("70", &[&soft], Tier::Third),
            ("50", &[&soft], Tier::Fourth),
            ("100", &[&hard], Tier::Fourth),
            ("95", &[&soft, &hard], Tier::Fourth),
            ("30", &[&hard], Tier::Fourth),
        ];
        for (score, hit, want) in cases {
            assert_eq!(tier_of(&ts, s(score), hit).tier, *want, "{score}");
        }
        let p = tier_of(&ts, s("95"), &[&soft]);
        assert!(
            p.reason.contains("限档") && p.reason.contains("95"),
            "{p:?}"
        );
        let p = tier_of(&ts, s("95"), &[&hard]);
        assert!(p.reason.contains("一票否决") && !p.reason.contains("s的情形"));
        assert!(p.reason.contains("h的情形"), "{p:?}");
        let p = tier_of(&ts, s("89.5"), &[]);
        assert!(
            p.reason.contains("89.5") && p.reason.contains("90"),
            "{p:?}"
        );
    }

    #[test]
    fn the_default_shape_validates() {
        assert_eq!(validate(&content()), Problems::new());
    }

    #[test]
    fn points_must_total_one_hundred_with_the_extra_cap() {
        let mut c = content();
        c.criteria[0].points = s("44.5");
        let p = validate(&c);
        assert!(
            p["total"].contains("94.5") && p["total"].contains("99.5"),
            "{p:?}"
        );
        // A draft may be saved before its points add up.
        assert!(check_draft(&c).is_empty());
        c.extra_cap = s("5.5");
        assert!(validate(&c).is_empty());
        c.extra_cap = s("-1");
        assert!(check_draft(&c).contains_key("extra_cap"));
    }

    #[test]
    fn criteria_numbers_points_and_indicators() {
        type Change = Box<dyn Fn(&mut Content)>;
        let cases: Vec<(Change, &str, &str)> = vec![
            (
                Box::new(|c| c.criteria[1].number = 1),
                "criteria[1].number",
                "重复",
            ),
            (
                Box::new(|c| c.criteria[2].number = 4),
                "criteria",
                "缺少第3条",
            ),
            (
                Box::new(|c| c.criteria[0].number = 0),
                "criteria[0].number",
                "从1起",
            ),
            (
                Box::new(|c| c.criteria[0].points = Score::ZERO),
                "criteria[0].points",
                "大于0",
            ),
            (
                Box::new(|c| c.criteria[0].points = s("-2")),
                "criteria[0].points",
                "大于0",
            ),
            (
                Box::new(|c| c.criteria[0].body = "  ".into()),
                "criteria[0].body",
                "第1条",
            ),
            (
                Box::new(|c| c.criteria[0].dimension = 9),
                "criteria[0].dimension",
                "维度",
            ),
            (
                Box::new(|c| c.criteria[1].indicator_key = None),
                "criteria[1].indicator_key",
                "第2条为自动计算",
            ),
            (
                Box::new(|c| c.criteria[1].indicator_key = Some("Bad Key".into())),
                "criteria[1].indicator_key",
                "格式",
            ),
            (Box::new(|c| c.criteria.clear()), "criteria", "至少"),
            (
                Box::new(|c| c.dimensions[1].name = "甲".into()),
                "dimensions[1].name",
                "重复",
            ),
            (Box::new(|c| c.title = String::new()), "title", "名称"),
            (
                Box::new(|c| c.vetoes[1].code = "a".into()),
                "vetoes[1].code",
                "重复",
            ),
            (
                Box::new(|c| c.vetoes[0].code = "A!".into()),
                "vetoes[0].code",
                "小写",
            ),
            (
                Box::new(|c| c.vetoes[0].body = String::new()),
                "vetoes[0].body",
                "没有内容",
            ),
        ];
        for (change, field, words) in cases {
            let mut c = content();
            change(&mut c);
            let p = check_draft(&c);
            assert!(
                p.get(field).is_some_and(|m| m.contains(words)),
                "{field}: {p:?}"
            );
        }
        // A manual criterion needs no indicator; an empty dimension only fails publishing.
        let mut c = content();
        c.criteria[0].indicator_key = None;
        c.dimensions.push(Dimension {
            position: 3,
            name: "丙".into(),
        });
        assert!(check_draft(&c).is_empty());
        assert!(validate(&c)["dimensions[2].name"].contains("丙"));
    }

    #[test]
    fn thresholds_descend_and_cover_zero_to_one_hundred() {
        type Want<'a> = Option<(&'a str, &'a str)>;
        let cases: &[([&str; 4], Want)] = &[
            (["90", "80", "60", "0"], None),
            (["100", "99.9", "0.1", "0"], None),
            // Overlap: 二档 from 90 as 一档.
            (
                ["90", "90", "60", "0"],
                Some(("thresholds[1].min_score", "重叠")),
            ),
            (
                ["80", "90", "60", "0"],
                Some(("thresholds[1].min_score", "重叠")),
            ),
            (
                ["90", "80", "85", "0"],
                Some(("thresholds[2].min_score", "重叠")),
            ),
            // Gap: scores under 四档's minimum in no tier.
            (
                ["90", "80", "60", "10"],
                Some(("thresholds[3].min_score", "不属于任何档次")),
            ),
            (
                ["101", "80", "60", "0"],
                Some(("thresholds[0].min_score", "0至100")),
            ),
            (
                ["90", "80", "-1", "0"],
                Some(("thresholds[2].min_score", "0至100")),
            ),
        ];
        for (mins, want) in cases {
            let mut p = Problems::new();
            check_thresholds(&thresholds(*mins), &mut p);
            match want {
                None => assert!(p.is_empty(), "{mins:?}: {p:?}"),
                Some((field, words)) => assert!(
                    p.get(*field).is_some_and(|m| m.contains(words)),
                    "{mins:?}: {p:?}"
                ),
            }
        }
        let mut ts = default_ts();
        ts.pop();
        let mut p = Problems::new();
        check_thresholds(&ts, &mut p);
        assert!(p["thresholds"].contains("四档缺少"), "{p:?}");
        let mut ts = default_ts();
        ts[3].tier = Tier::First;
        let mut p = Problems::new();
        check_thresholds(&ts, &mut p);
        assert!(p["thresholds"].contains("一档重复"), "{p:?}");
    }

    fn holdings(rows: &[(i64, &str, &str)]) -> Vec<Holding> {
        rows.iter()
            .map(|(n, h, m)| Holding {
                number: *n,
                held: s(h),
                max: s(m),
            })
            .collect()
    }

    #[test]
    fn the_road_takes_the_fewest_criteria() {
        let ts = default_ts();
        // 85 held: 二档, 5 short of 一档. Losses 4, 3, 3 (and 0): 4 + 3 reaches.
        let h = holdings(&[
            (1, "41", "45"),
            (2, "27", "30"),
            (3, "17", "20"),
            (4, "0", "0"),
        ]);
        let road = road_up(&ts, &h, Score::ZERO, &[]).expect("road");
        assert_eq!((road.from, road.to), (Tier::Second, Tier::First));
        assert_eq!(road.need, s("5"));
        assert_eq!(
            road.criteria,
            vec![
                Recovery {
                    number: 1,
                    gain: s("4")
                },
                Recovery {
                    number: 2,
                    gain: s("3")
                }
            ]
        );
        assert!(road.reachable && road.clear.is_empty());
    }

    #[test]
    fn the_road_at_the_boundaries() {
        let ts = default_ts();
        // 89.5 is 二档; half a point from 一档: one criterion.
        let h = holdings(&[(1, "44.5", "45"), (2, "30", "30"), (3, "15", "20")]);
        let road = road_up(&ts, &h, Score::ZERO, &[]).expect("road");
        assert_eq!((road.from, road.need), (Tier::Second, s("0.5")));
        assert_eq!(road.criteria.len(), 1);
        assert_eq!(road.criteria[0].number, 3);
        // Exactly 90: already 一档, no road.
        let h = holdings(&[(1, "45", "45"), (2, "30", "30"), (3, "15", "20")]);
        assert!(road_up(&ts, &h, Score::ZERO, &[]).is_none());
        // Exactly 60 is 三档: the road to 二档 needs 20.
        let h = holdings(&[(1, "30", "45"), (2, "20", "30"), (3, "10", "20")]);
        let road = road_up(&ts, &h, Score::ZERO, &[]).expect("road");
        assert_eq!(
            (road.from, road.to, road.need),
            (Tier::Third, Tier::Second, s("20"))
        );
        assert_eq!(
            road.criteria.iter().map(|r| r.number).collect::<Vec<_>>(),
            [1, 2]
        );
        // 59.9 is 四档: 0.1 to 三档.
        let h = holdings(&[(1, "29.9", "45"), (2, "20", "30"), (3, "10", "20")]);
        let road = road_up(&ts, &h, Score::ZERO, &[]).expect("road");
        assert_eq!(
            (road.from, road.to, road.need),
            (Tier::Fourth, Tier::Third, s("0.1"))
        );
        assert_eq!(road.criteria.len(), 1);
        // Extra credit counts toward the score but is not on the road.
        let h = holdings(&[(1, "40", "45"), (2, "30", "30"), (3, "15", "20")]);
        assert!(road_up(&ts, &h, s("5"), &[]).is_none());
    }

    #[test]
    fn vetoes_on_the_road() {
        let ts = default_ts();
        let (hard, soft) = (veto("h", VetoKind::Hard), veto("s", VetoKind::Soft));
        let full = holdings(&[(1, "45", "45"), (2, "30", "30"), (3, "20", "20")]);
        // A hard veto at 95: clear it and nothing else (the branch lands higher than 三档).
        let road = road_up(&ts, &full, Score::ZERO, &[&hard]).expect("road");
        assert_eq!((road.from, road.to), (Tier::Fourth, Tier::Third));
        assert_eq!(road.clear, ["h"]);
        assert!(road.criteria.is_empty() && road.reachable);
        // A hard veto at 50: clear it and win back 10.
        let low = holdings(&[(1, "20", "45"), (2, "15", "30"), (3, "15", "20")]);
        let road = road_up(&ts, &low, Score::ZERO, &[&hard, &soft]).expect("road");
        assert_eq!(road.clear, ["h"]);
        assert_eq!(road.need, s("10"));
        assert_eq!(
            road.criteria.iter().map(|r| r.number).collect::<Vec<_>>(),
            [1]
        );
        // A soft veto at 95 (二档): it blocks 一档, and only it.
        let road = road_up(&ts, &full, Score::ZERO, &[&soft]).expect("road");
        assert_eq!((road.from, road.to), (Tier::Second, Tier::First));
        assert_eq!(road.clear, ["s"]);
        assert!(road.criteria.is_empty());
        // A soft veto at 70 (三档): the road to 二档 does not need it cleared.
        let mid = holdings(&[(1, "30", "45"), (2, "20", "30"), (3, "20", "20")]);
        let road = road_up(&ts, &mid, Score::ZERO, &[&soft]).expect("road");
        assert_eq!((road.from, road.to), (Tier::Third, Tier::Second));
        assert!(road.clear.is_empty());
        assert_eq!(road.need, s("10"));
    }

    #[test]
    fn a_road_beyond_the_criteria_says_so() {
        // 一档 from 98, but the criteria hold only 95: unreachable without extra credit.
        let ts = thresholds(["98", "80", "60", "0"]);
        let h = holdings(&[(1, "40", "45"), (2, "30", "30"), (3, "20", "20")]);
        let road = road_up(&ts, &h, Score::ZERO, &[]).expect("road");
        assert_eq!(road.to, Tier::First);
        assert!(!road.reachable);
        assert_eq!(road.criteria.len(), 1);
    }
}
