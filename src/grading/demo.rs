//! Demo data of 分级定档: last year's cycle finished (every branch scored, reviewed and
//! accepted; a few moved down by a veto, rectified and moved up again), and this year's
//! under way with branches at every stage. Manual scores follow each branch's own records
//! (a branch that keeps its meetings tends to score its other work well too), so the tiers,
//! the roadmaps and the categories' costly criteria read like a real year.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::AnyConnection;

use super::board::{self, Live};
use super::rules::{Score, Tier};
use super::scoring::{self, Entered, Stage};
use super::store::{self, Standard};
use crate::db::{Arg, Sql, WriteTx};
use crate::state::AppState;

/// What was written, for the demo's summary.
#[derive(Debug, Default)]
pub struct Written {
    pub assessments: usize,
    pub accepted: usize,
}

const ROWS_PER_INSERT: usize = 400;

/// Inserts `rows` into `table (cols)` a few hundred rows per statement.
async fn insert_rows(
    conn: &mut AnyConnection,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<Arg>>,
) -> anyhow::Result<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut sql = Sql::new(&format!(
            "insert into {table} ({}) values ",
            cols.join(", ")
        ));
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(");
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.bind(v.clone());
            }
            sql.push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl From<Option<Score>> for Arg {
    fn from(s: Option<Score>) -> Self {
        s.map_or(Arg::NullInt, |s| Arg::Int(s.0))
    }
}

/// A branch's diligence from its records: the mean share of its automatic criteria.
fn diligence(standard: &Standard, live: &Live, branch: i64) -> f64 {
    let shares: Vec<f64> = standard
        .content
        .criteria
        .iter()
        .filter_map(|c| c.indicator_key.as_deref())
        .filter_map(|k| live.figure(branch, k).flatten())
        .filter_map(|f| f.fraction())
        .collect();
    if shares.is_empty() {
        0.85
    } else {
        shares.iter().sum::<f64>() / shares.len() as f64
    }
}

/// Half points: what people give.
fn halves(max: Score, share: f64) -> Score {
    let s = (max.0 as f64 * share.clamp(0.0, 1.0) / 5.0).round() as i64 * 5;
    Score(s.clamp(0, max.0))
}

const EVIDENCE: &[&str] = &[
    "年度党建工作计划（党委会审议通过）",
    "支部工作台账、任务清单",
    "会议记录及签到表扫描件",
    "责任清单文件",
    "党务公开栏照片",
    "党费收缴台账",
    "培训通知及签到表",
];

/// Self scores for the manual criteria of one branch.
fn self_scores(
    rng: &mut StdRng,
    standard: &Standard,
    live: &Live,
    branch: i64,
    partial: bool,
) -> HashMap<i64, Entered> {
    let q = diligence(standard, live, branch);
    // How well the branch does its other work, the same for all its criteria.
    let b: f64 = rng.gen_range(-0.22..0.1);
    let mut out = HashMap::new();
    for c in &standard.content.criteria {
        let provided = c
            .indicator_key
            .as_deref()
            .is_some_and(|k| live.figure(branch, k).is_some());
        if provided || (partial && rng.gen_bool(0.5)) {
            continue;
        }
        let share = (0.45 + 0.45 * q + b + rng.gen_range(-0.15..0.1)).min(1.0);
        let s = halves(c.points, share);
        out.insert(
            c.number,
            Entered {
                self_score: Some(s),
                self_note: if s == c.points {
                    "已全面落实".into()
                } else {
                    "基本落实，部分工作有待加强".into()
                },
                evidence: if s > Score::ZERO {
                    EVIDENCE[rng.gen_range(0..EVIDENCE.len())].into()
                } else {
                    String::new()
                },
                ..Default::default()
            },
        );
    }
    out
}

struct Plan {
    id: i64,
    branch: i64,
    stage: Stage,
    entered: HashMap<i64, Entered>,
    extra: Score,
    vetoes: Vec<(&'static str, &'static str)>,
}

/// Writes a cycle for `year` under `standard`, each branch at the stage `stage_of` gives
/// (by its position among the branches, 0..1).
async fn cycle(
    state: &AppState,
    rng: &mut StdRng,
    standard: &Standard,
    year: i32,
    opened_at: i64,
    stage_of: impl Fn(f64) -> Stage,
) -> anyhow::Result<Written> {
    let live = board::live(state, standard)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx: WriteTx = state.db.begin_write().await?;
    let cycle_id: i64 = sqlx::query_scalar(
        "insert into grading_cycle (year, grading_standard_id, status, due_on, opened_at) \
         values ($1, $2, 'open', $3, $4) returning grading_cycle_id",
    )
    .bind(i64::from(year))
    .bind(standard.info.standard_id)
    .bind(format!("{year}-11-30"))
    .bind(opened_at)
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(
        "insert into assessment (grading_cycle_id, branch_id, unit_id) \
         select $1, o.org_id, o.unit_id from org o where o.kind = 'branch' order by o.org_id",
    )
    .bind(cycle_id)
    .execute(tx.conn())
    .await?;
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "select assessment_id, branch_id from assessment where grading_cycle_id = $1 order by assessment_id",
    )
    .bind(cycle_id)
    .fetch_all(tx.conn())
    .await?;
    let n = rows.len().max(1);
    let content = &standard.content;
    let mut plans = Vec::with_capacity(rows.len());
    for (i, (id, branch)) in rows.into_iter().enumerate() {
        // Spread over the units rather than the first ones in a row.
        let stage = stage_of(((i * 7919) % n) as f64 / n as f64);
        let untouched = stage == Stage::SelfCheck && rng.gen_bool(0.4);
        let partial = stage == Stage::SelfCheck && !untouched;
        let mut entered = if untouched {
            HashMap::new()
        } else {
            self_scores(rng, standard, &live, branch, partial)
        };
        // The unit adjusts about one reviewed assessment in eight.
        if matches!(stage, Stage::CommitteeReview | Stage::Accepted) && rng.gen_bool(0.12) {
            if let Some((_, e)) = entered
                .iter_mut()
                .find(|(_, e)| e.self_score > Some(Score::ZERO))
            {
                e.unit_score = e.self_score.map(|s| Score((s.0 - 10).max(0)));
                e.unit_reason = "佐证材料不足以支撑满分".into();
            }
        }
        let extra = if stage != Stage::SelfCheck && rng.gen_bool(0.15) {
            Score(rng.gen_range(1..=5) * 10)
        } else {
            Score::ZERO
        };
        let mut vetoes = Vec::new();
        if stage == Stage::Accepted {
            let roll: f64 = rng.gen();
            if roll < 0.01 {
                vetoes.push(("serious_discipline", "支部党员受党纪处分"));
            } else if roll < 0.05 {
                vetoes.push(("assembly_missed", "有季度未召开支部党员大会"));
            }
        }
        plans.push(Plan {
            id,
            branch,
            stage,
            entered,
            extra,
            vetoes,
        });
    }
    let mut scores = Vec::new();
    let mut events = Vec::new();
    let mut veto_rows = Vec::new();
    let mut rect_rows = Vec::new();
    let mut app_rows = Vec::new();
    let mut accepted = 0usize;
    let day = 86_400i64;
    for p in &mut plans {
        let submitted = p.stage != Stage::SelfCheck;
        let lines = scoring::lines(
            content,
            |k| p.entered.get(&k),
            true,
            |k| live.figure(p.branch, k),
        );
        if submitted {
            for l in lines.iter().filter(|l| !l.is_manual()) {
                p.entered.insert(
                    l.number,
                    Entered {
                        auto_score: Some(l.held),
                        auto_text: l.how.clone(),
                        ..Default::default()
                    },
                );
            }
        }
        for (n, e) in &p.entered {
            scores.push(vec![
                Arg::Int(p.id),
                Arg::Int(*n),
                e.self_score.into(),
                Arg::Text(e.self_note.clone()),
                Arg::Text(e.evidence.clone()),
                e.unit_score.into(),
                Arg::Text(e.unit_reason.clone()),
                e.auto_score.into(),
                Arg::Text(e.auto_text.clone()),
            ]);
        }
        let total = scoring::total(&lines, p.extra, content.extra_cap);
        let t0 = opened_at + day;
        events.push(vec![
            Arg::Int(p.id),
            Arg::Int(opened_at),
            "open".into(),
            Arg::NullText,
            Arg::NullText,
            Arg::NullInt,
            "".into(),
        ]);
        if submitted {
            events.push(vec![
                Arg::Int(p.id),
                Arg::Int(t0 + 20 * day),
                "submit".into(),
                Arg::NullText,
                Arg::NullText,
                Arg::Int(total.0),
                "".into(),
            ]);
        }
        if matches!(p.stage, Stage::CommitteeReview | Stage::Accepted) {
            events.push(vec![
                Arg::Int(p.id),
                Arg::Int(t0 + 30 * day),
                "forward".into(),
                Arg::NullText,
                Arg::NullText,
                Arg::Int(total.0),
                "".into(),
            ]);
        }
        let mut tier = None;
        let mut reason = String::new();
        if p.stage == Stage::Accepted {
            accepted += 1;
            let codes: Vec<String> = p.vetoes.iter().map(|v| v.0.to_string()).collect();
            let placed = scoring::place(content, &lines, p.extra, &codes);
            for (code, note) in &p.vetoes {
                veto_rows.push(vec![
                    Arg::Int(p.id),
                    Arg::Text((*code).into()),
                    Arg::Text((*note).into()),
                    Arg::Int(t0 + 35 * day),
                ]);
                events.push(vec![
                    Arg::Int(p.id),
                    Arg::Int(t0 + 35 * day),
                    "veto".into(),
                    Arg::NullText,
                    Arg::NullText,
                    Arg::NullInt,
                    Arg::Text((*note).into()),
                ]);
            }
            events.push(vec![
                Arg::Int(p.id),
                Arg::Int(t0 + 40 * day),
                "accept".into(),
                Arg::NullText,
                Arg::Text(placed.tier.as_str().into()),
                Arg::Int(total.0),
                Arg::Text(placed.reason.clone()),
            ]);
            let mut t = placed.tier;
            reason = placed.reason;
            // A 三档/四档 branch rectifies; some of them have moved up since.
            if matches!(t, Tier::Third | Tier::Fourth) && p.vetoes.is_empty() {
                let done = rng.gen_bool(0.5);
                for (k, body) in [
                    "补齐缺开的组织生活会议并规范记录",
                    "完善支部工作台账和责任清单",
                ]
                .iter()
                .enumerate()
                {
                    let due = time::Date::from_ordinal_date(year, 300).unwrap_or(time::Date::MIN);
                    rect_rows.push(vec![
                        Arg::Int(p.id),
                        Arg::Text((*body).into()),
                        Arg::Text(
                            if k == 0 {
                                "支部书记"
                            } else {
                                "组织委员"
                            }
                            .into(),
                        ),
                        Arg::Text(crate::text::format_date(due)),
                        if done {
                            Arg::Text(crate::text::format_date(
                                due.saturating_sub(time::Duration::days(20)),
                            ))
                        } else {
                            Arg::NullText
                        },
                        Arg::Text(if done {
                            "已完成并经单位检查".into()
                        } else {
                            String::new()
                        }),
                        Arg::Int(t0 + 45 * day),
                    ]);
                }
                if done && rng.gen_bool(0.6) {
                    if let Some(up) = t.up() {
                        app_rows.push(vec![
                            Arg::Int(p.id),
                            Arg::Text(t.as_str().into()),
                            Arg::Text(up.as_str().into()),
                            Arg::Text("整改事项已全部完成，组织生活按期开展".into()),
                            "accepted".into(),
                            Arg::Int(t0 + 70 * day),
                            Arg::Int(t0 + 80 * day),
                            Arg::Text("复核属实，同意晋档".into()),
                        ]);
                        events.push(vec![
                            Arg::Int(p.id),
                            Arg::Int(t0 + 80 * day),
                            "upgrade".into(),
                            Arg::Text(t.as_str().into()),
                            Arg::Text(up.as_str().into()),
                            Arg::NullInt,
                            "复核属实，同意晋档".into(),
                        ]);
                        reason =
                            format!("晋档申请经工委复核通过，由{}晋为{}", t.label(), up.label());
                        t = up;
                    }
                }
            }
            tier = Some(t);
        }
        sqlx::query(
            "update assessment set stage = $1, extra = $2, extra_note = $3, score = $4, tier = $5, \
             tier_reason = $6, submitted_at = $7, accepted_at = $8 where assessment_id = $9",
        )
        .bind(p.stage.as_str())
        .bind(p.extra.0)
        .bind(if p.extra > Score::ZERO { "获评市级先进基层党组织" } else { "" })
        .bind((p.stage == Stage::Accepted).then_some(total.0))
        .bind(tier.map(|t| t.as_str()))
        .bind(&reason)
        .bind(submitted.then_some(t0 + 20 * day))
        .bind((p.stage == Stage::Accepted).then_some(t0 + 40 * day))
        .bind(p.id)
        .execute(tx.conn())
        .await?;
    }
    let conn = tx.conn();
    insert_rows(
        conn,
        "assessment_score",
        &[
            "assessment_id",
            "number",
            "self_score",
            "self_note",
            "evidence",
            "unit_score",
            "unit_reason",
            "auto_score",
            "auto_text",
        ],
        scores,
    )
    .await?;
    insert_rows(
        conn,
        "assessment_event",
        &[
            "assessment_id",
            "at",
            "action",
            "from_tier",
            "to_tier",
            "score",
            "comment",
        ],
        events,
    )
    .await?;
    insert_rows(
        conn,
        "assessment_veto",
        &["assessment_id", "code", "note", "marked_at"],
        veto_rows,
    )
    .await?;
    insert_rows(
        conn,
        "rectification_item",
        &[
            "assessment_id",
            "body",
            "owner",
            "due_on",
            "done_on",
            "done_note",
            "created_at",
        ],
        rect_rows,
    )
    .await?;
    insert_rows(
        conn,
        "upgrade_application",
        &[
            "assessment_id",
            "from_tier",
            "to_tier",
            "statement",
            "status",
            "applied_at",
            "decided_at",
            "decision_note",
        ],
        app_rows,
    )
    .await?;
    tx.commit().await?;
    Ok(Written {
        assessments: plans.len(),
        accepted,
    })
}

/// Last year's cycle finished, this year's under way.
pub async fn seed(state: &AppState, today: time::Date, seed: u64) -> anyhow::Result<Written> {
    let mut rng = StdRng::seed_from_u64(seed);
    let year = today.year();
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    store::publish_default(state, year - 1).await?;
    let last = store::in_force(state, i64::from(year - 1))
        .await
        .map_err(err)?
        .ok_or_else(|| anyhow::anyhow!("no standard for {}", year - 1))?;
    let this = store::in_force(state, i64::from(year))
        .await
        .map_err(err)?
        .ok_or_else(|| anyhow::anyhow!("no standard for {year}"))?;
    let jan = |y: i32| {
        time::Date::from_calendar_date(y, time::Month::March, 1)
            .map(|d| d.midnight().assume_utc().unix_timestamp())
            .unwrap_or(0)
    };
    let a = cycle(state, &mut rng, &last, year - 1, jan(year - 1), |_| {
        Stage::Accepted
    })
    .await?;
    let b = cycle(state, &mut rng, &this, year, jan(year), |x| {
        if x < 0.10 {
            Stage::Accepted
        } else if x < 0.25 {
            Stage::CommitteeReview
        } else if x < 0.45 {
            Stage::UnitReview
        } else {
            Stage::SelfCheck
        }
    })
    .await?;
    Ok(Written {
        assessments: a.assessments + b.assessments,
        accepted: a.accepted + b.accepted,
    })
}
