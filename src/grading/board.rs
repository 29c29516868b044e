//! The live side of grading: every branch's figures for the standard's automatic criteria
//! (read through the indicators seam, all branches at once), and a cycle's board — every
//! assessment scored, placed and measured against the tier boundaries. Both are remembered
//! against the data versions they depend on, so the tier list, the roadmaps and the counts
//! cost no recomputation until a record, a score or a registry entry changes; the first
//! reader after a change pays for the refresh (1,500 branches: see BENCHMARKS.md).

use std::collections::HashMap;
use std::sync::Arc;

use super::rules::{Content, Score, Tier};
use super::scoring::{self, Entered, Line, Stage};
use super::store::Standard;
use crate::db::{data_version, QueryCache, Sql};
use crate::error::AppResult;
use crate::indicators::{self, BranchFigures, Figure, Period};
use crate::state::AppState;

/// Every branch's figure per automatic criterion's indicator; `None` for an indicator no
/// feature publishes for all branches at once (the criterion is scored by hand).
pub struct Live {
    pub figures: HashMap<String, Option<BranchFigures>>,
}

impl Live {
    /// What `scoring::lines` asks of a branch's indicator.
    pub fn figure(&self, branch_id: i64, key: &str) -> Option<Option<&Figure>> {
        match self.figures.get(key) {
            Some(Some(m)) => Some(m.get(&branch_id)),
            _ => None,
        }
    }
}

/// The versions besides `area`'s a live value depends on, and the day (a period ends at
/// midnight), as part of a cache key.
pub(super) async fn others(state: &AppState, areas: &[&str]) -> AppResult<String> {
    let mut k = crate::clock::today().to_string();
    for a in areas {
        k.push_str(&format!(" {a}{}", data_version(&state.db, a).await?));
    }
    Ok(k)
}

/// The live figures of `standard`'s automatic criteria for its year.
pub async fn live(state: &AppState, standard: &Standard) -> AppResult<Arc<Live>> {
    let keys: Vec<String> = standard
        .content
        .criteria
        .iter()
        .filter_map(|c| c.indicator_key.clone())
        .collect();
    let year = i32::try_from(standard.info.year).unwrap_or(2026);
    let key = format!(
        "grading-live {year} {} {}",
        keys.join(","),
        others(state, &["registry", "pledge", "volunteer"]).await?
    );
    let cache = state.ext::<QueryCache>();
    Ok(cache
        .derived(&state.db, "orglife", &key, || async move {
            let mut figures = HashMap::new();
            for k in keys {
                let f = indicators::read_branches(state, &k, Period::year(year))
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                figures.insert(k, f);
            }
            Ok(Live { figures })
        })
        .await?)
}

/// One assessment on the board.
#[derive(Clone, Debug)]
pub struct Entry {
    pub assessment_id: i64,
    pub branch_id: i64,
    pub branch_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    pub stage: Stage,
    pub score: Score,
    /// The accepted tier, or the tier the score would give now.
    pub tier: Tier,
    pub accepted: bool,
    pub reason: String,
    /// Points to the next tier's minimum, and above the current one's.
    pub up: Option<Score>,
    pub down: Option<Score>,
    /// Points lost per criterion, in the standard's order.
    pub lost: Vec<Score>,
    pub vetoes: usize,
    pub row_version: i64,
}

/// A cycle's assessments, scored.
pub struct Board {
    pub year: i64,
    pub standard: Arc<Standard>,
    pub entries: Vec<Entry>,
    /// The units and categories on the board, in the board's order, for the filters.
    pub units: Vec<(i64, String)>,
    pub categories: Vec<(i64, String)>,
    /// What the board was remembered under, for what is derived from it.
    pub key: String,
    /// Per category: the average points held in each dimension (the standard's order), the
    /// radar's second polygon.
    pub dimension_average: HashMap<i64, Vec<Score>>,
    /// Per category: the assessments awaiting 考核验收, in the board's order.
    pub awaiting: Vec<(i64, String, usize)>,
}

impl Board {
    /// Points held per dimension, from an entry's points lost per criterion.
    pub fn held_by_dimension(content: &Content, lost: &[Score]) -> Vec<Score> {
        content
            .dimensions
            .iter()
            .map(|d| {
                content
                    .criteria
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.dimension == d.position)
                    .map(|(i, c)| c.points - lost.get(i).copied().unwrap_or(Score::ZERO))
                    .sum()
            })
            .collect()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    assessment_id: i64,
    branch_id: i64,
    branch_name: String,
    unit_id: i64,
    unit_name: String,
    category_id: i64,
    category_name: String,
    #[sqlx(try_from = "String")]
    stage: Stage,
    extra: i64,
    tier: Option<String>,
    tier_reason: String,
    row_version: i64,
}

#[derive(sqlx::FromRow)]
struct ScoreRow {
    assessment_id: i64,
    number: i64,
    self_score: Option<i64>,
    unit_score: Option<i64>,
    auto_score: Option<i64>,
}

/// Scores one assessment's lines from what is stored and, before submission, the live
/// figures.
pub fn lines_of(
    content: &Content,
    live: &Live,
    branch_id: i64,
    stage: Stage,
    entered: &HashMap<i64, Entered>,
) -> Vec<Line> {
    scoring::lines(
        content,
        |n| entered.get(&n),
        stage == Stage::SelfCheck,
        |k| live.figure(branch_id, k),
    )
}

/// The board of cycle `cycle_id`, remembered until an assessment, a record or the registry
/// changes (or the day turns).
pub async fn board(
    state: &AppState,
    cycle_id: i64,
    year: i64,
    standard_id: i64,
) -> AppResult<Arc<Board>> {
    let standard = super::store::published(state, standard_id).await?;
    let cache = state.ext::<QueryCache>();
    // Only a branch still in self-check reads live figures: a cycle without one (last
    // year's, finished) depends on its own rows alone, not on every meeting recorded since.
    let mut live_sql = Sql::new(
        "select count(*) from assessment where stage = 'self_check' and grading_cycle_id = ",
    );
    live_sql.bind(cycle_id);
    let live_n = cache.count(&state.db, "grading", &live_sql).await?;
    let key = if live_n > 0 {
        format!(
            "grading-board {cycle_id} {}",
            others(state, &["orglife", "registry", "pledge", "volunteer"]).await?
        )
    } else {
        format!("grading-board {cycle_id} frozen")
    };
    let k = key.clone();
    Ok(cache
        .derived(&state.db, "grading", &key, || async move {
            compute(state, cycle_id, year, standard, k)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await?)
}

async fn compute(
    state: &AppState,
    cycle_id: i64,
    year: i64,
    standard: Arc<Standard>,
    key: String,
) -> AppResult<Board> {
    let mut sql = Sql::new(
        "select a.assessment_id, a.branch_id, b.name as branch_name, a.unit_id, \
         u.name as unit_name, u.category_id, c.name as category_name, a.stage, a.extra, a.tier, \
         a.tier_reason, a.row_version \
         from assessment a join org b on b.org_id = a.branch_id \
         join unit u on u.unit_id = a.unit_id join category c on c.category_id = u.category_id \
         where a.grading_cycle_id = ",
    );
    sql.bind(cycle_id).push(
        " order by c.sort_order, c.category_id, u.sort_order, u.unit_id, b.name, a.branch_id",
    );
    let rows: Vec<Row> = sql.fetch_all(&state.db.pool).await?;
    let live = if rows.iter().any(|r| r.stage == Stage::SelfCheck) {
        live(state, &standard).await?
    } else {
        Arc::new(Live {
            figures: HashMap::new(),
        })
    };
    let mut scores = Sql::new(
        "select s.assessment_id, s.number, s.self_score, s.unit_score, s.auto_score \
         from assessment_score s join assessment a on a.assessment_id = s.assessment_id \
         where a.grading_cycle_id = ",
    );
    scores.bind(cycle_id);
    let scores: Vec<ScoreRow> = scores.fetch_all(&state.db.pool).await?;
    let mut entered: HashMap<i64, HashMap<i64, Entered>> = HashMap::new();
    for s in scores {
        entered.entry(s.assessment_id).or_default().insert(
            s.number,
            Entered {
                self_score: s.self_score.map(Score),
                unit_score: s.unit_score.map(Score),
                auto_score: s.auto_score.map(Score),
                ..Default::default()
            },
        );
    }
    let mut vetoes = Sql::new(
        "select v.assessment_id, v.code from assessment_veto v \
         join assessment a on a.assessment_id = v.assessment_id where a.grading_cycle_id = ",
    );
    vetoes.bind(cycle_id);
    let vetoes: Vec<(i64, String)> = vetoes.fetch_all(&state.db.pool).await?;
    let mut marked: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, code) in vetoes {
        marked.entry(id).or_default().push(code);
    }
    let content = &standard.content;
    let none = HashMap::new();
    let entries = rows
        .into_iter()
        .map(|r| {
            let e = entered.get(&r.assessment_id).unwrap_or(&none);
            let ls = lines_of(content, &live, r.branch_id, r.stage, e);
            let codes = marked.get(&r.assessment_id).cloned().unwrap_or_default();
            let extra = Score(r.extra);
            let placed = scoring::place(content, &ls, extra, &codes);
            let score = scoring::total(&ls, extra, content.extra_cap);
            let accepted_tier = r.tier.as_deref().and_then(Tier::parse);
            let (tier, reason) = match accepted_tier {
                Some(t) => (t, r.tier_reason),
                None => (placed.tier, placed.reason),
            };
            let (up, down) = scoring::margins(content, score, tier);
            Entry {
                assessment_id: r.assessment_id,
                branch_id: r.branch_id,
                branch_name: r.branch_name,
                unit_id: r.unit_id,
                unit_name: r.unit_name,
                category_id: r.category_id,
                category_name: r.category_name,
                stage: r.stage,
                score,
                tier,
                accepted: accepted_tier.is_some(),
                reason,
                up,
                down,
                lost: ls.iter().map(Line::lost).collect(),
                vetoes: codes.len(),
                row_version: r.row_version,
            }
        })
        .collect::<Vec<Entry>>();
    let mut sums: HashMap<i64, (Vec<i64>, i64)> = HashMap::new();
    let mut awaiting: Vec<(i64, String, usize)> = Vec::new();
    for e in &entries {
        let held = Board::held_by_dimension(content, &e.lost);
        let slot = sums
            .entry(e.category_id)
            .or_insert_with(|| (vec![0; held.len()], 0));
        for (acc, h) in slot.0.iter_mut().zip(&held) {
            *acc += h.0;
        }
        slot.1 += 1;
        if e.stage == Stage::CommitteeReview {
            match awaiting.iter_mut().find(|a| a.0 == e.category_id) {
                Some(a) => a.2 += 1,
                None => awaiting.push((e.category_id, e.category_name.clone(), 1)),
            }
        }
    }
    let dimension_average = sums
        .into_iter()
        .map(|(k, (v, n))| (k, v.into_iter().map(|x| Score(x / n.max(1))).collect()))
        .collect();
    let mut units: Vec<(i64, String)> = Vec::new();
    let mut categories: Vec<(i64, String)> = Vec::new();
    for e in &entries {
        if units.last().is_none_or(|u| u.0 != e.unit_id) {
            units.push((e.unit_id, e.unit_name.clone()));
        }
        if !categories.iter().any(|k| k.0 == e.category_id) {
            categories.push((e.category_id, e.category_name.clone()));
        }
    }
    Ok(Board {
        year,
        standard,
        entries,
        units,
        categories,
        key,
        dimension_average,
        awaiting,
    })
}
