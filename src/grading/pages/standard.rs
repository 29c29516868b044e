//! A version of the standard on any screen (dimensions, criteria, tiers, vetoes), and the
//! committee's publish and delete from it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::{ctx, LIST};
use crate::auth::CurrentUser;
use crate::clock::fmt_time;
use crate::error::{AppError, AppResult};
use crate::grading::may_edit;
use crate::grading::rules::{self, Method, Score, Tier};
use crate::grading::store::{self, Standard, StandardInfo};
use crate::indicators::Level;
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

/// A criterion as the page shows it.
struct CriterionView {
    number: i64,
    body: String,
    points: Score,
    method: Method,
    evidence_required: bool,
    indicator_key: Option<String>,
    /// Where its figure comes from, or why it is scored by hand for now.
    source: String,
    /// An automatic criterion no feature can fill yet (scored by hand with evidence).
    pending: bool,
}

struct DimensionView {
    name: String,
    points: Score,
    criteria: Vec<CriterionView>,
}

struct TierView {
    tier: Tier,
    name: String,
    range: String,
}

#[derive(Template)]
#[template(path = "grading/standard.html")]
struct DetailPage {
    ctx: PageCtx,
    s: StandardInfo,
    dimensions: Vec<DimensionView>,
    criteria_total: Score,
    extra_cap: Score,
    tiers: Vec<TierView>,
    vetoes: Vec<rules::Veto>,
    can_edit: bool,
    /// The committee may copy any version into a new draft, for one of these years.
    copy_years: Vec<i64>,
    /// What publishing would refuse (drafts, for the committee).
    problems: Vec<String>,
    error: Option<String>,
}

impl DetailPage {
    fn time(&self, t: &Option<i64>) -> String {
        t.map(fmt_time).unwrap_or_default()
    }
    fn created(&self) -> String {
        fmt_time(self.s.created_at)
    }
}

/// Where an automatic criterion's figure comes from, and whether a feature provides it yet.
fn source_of(method: Method, key: Option<&str>) -> (String, bool) {
    match (method, key) {
        (Method::Manual, _) => ("自评并附佐证，由上级审核".into(), false),
        (Method::Auto, None) => ("未指定指标，暂按人工评分并附佐证".into(), true),
        (Method::Auto, Some(key)) => match crate::indicators::get(key) {
            Some(i) if i.levels.contains(&Level::Branch) => {
                (format!("系统自动计算：{}", i.label), false)
            }
            Some(i) => (
                format!("指标“{}”尚无党支部口径，暂按人工评分并附佐证", i.label),
                true,
            ),
            None => (
                "尚无功能提供此指标，暂按人工评分并附佐证；相关功能上线后自动计算".into(),
                true,
            ),
        },
    }
}

fn tier_views(ts: &[rules::Threshold]) -> Vec<TierView> {
    let mut out = Vec::new();
    let mut upper: Option<Score> = None;
    for t in ts {
        let top = upper.map_or(Score::HUNDRED, |u| u - Score(1));
        let range = if t.min_score > top {
            "（无）".to_string()
        } else if upper.is_none() {
            format!("{}分及以上", t.min_score)
        } else {
            format!("{}至{}分", t.min_score, top)
        };
        out.push(TierView {
            tier: t.tier,
            name: t.name.clone(),
            range,
        });
        upper = Some(t.min_score);
    }
    out
}

async fn detail_render(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let Standard { info, content } = store::get(state, user, id).await?;
    let dimensions = content
        .dimensions
        .iter()
        .map(|d| {
            let criteria: Vec<CriterionView> = content
                .criteria
                .iter()
                .filter(|k| k.dimension == d.position)
                .map(|k| {
                    let (source, pending) = source_of(k.method, k.indicator_key.as_deref());
                    CriterionView {
                        number: k.number,
                        body: k.body.clone(),
                        points: k.points,
                        method: k.method,
                        evidence_required: k.evidence_required,
                        indicator_key: k.indicator_key.clone(),
                        source,
                        pending,
                    }
                })
                .collect();
            DimensionView {
                name: d.name.clone(),
                points: criteria.iter().map(|k| k.points).sum(),
                criteria,
            }
        })
        .collect();
    let problems = if info.is_draft() {
        rules::validate(&content).into_values().collect()
    } else {
        Vec::new()
    };
    let title = format!("{}年第{}版评分标准", info.year, info.version);
    let page = DetailPage {
        ctx: ctx(user, &title, &format!("{LIST}/{id}"), flash).crumb(title.clone(), ""),
        criteria_total: content.criteria.iter().map(|k| k.points).sum(),
        extra_cap: content.extra_cap,
        tiers: tier_views(&content.thresholds),
        vetoes: content.vetoes,
        can_edit: may_edit(user) && info.is_draft(),
        copy_years: if may_edit(user) {
            store::years_ahead()
        } else {
            Vec::new()
        },
        problems,
        dimensions,
        s: info,
        error: error.as_ref().map(|e| e.1.clone()),
    };
    let mut r = web::render(&page)?;
    if let Some((status, _)) = error {
        *r.status_mut() = status;
    }
    Ok(r)
}

/// A version's criteria as .xlsx: number, dimension, text, points (a number), how it is
/// scored, its indicator and whether evidence is required.
pub(super) async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    use crate::xlsx::Cell;
    let Standard { info, content } = store::get(&state, &user, id).await?;
    let dimension = |p: i64| {
        content
            .dimensions
            .iter()
            .find(|d| d.position == p)
            .map_or(String::new(), |d| d.name.clone())
    };
    let rows: Vec<Vec<Cell>> = content
        .criteria
        .iter()
        .map(|k| {
            vec![
                Cell::Int(k.number),
                Cell::Text(dimension(k.dimension)),
                Cell::text(&k.body),
                Cell::Number(k.points.0 as f64 / 10.0),
                Cell::text(k.method.label()),
                Cell::text(k.indicator_key.as_deref().unwrap_or("")),
                Cell::text(if k.evidence_required { "是" } else { "否" }),
            ]
        })
        .collect();
    let bytes = crate::xlsx::write_table(
        "评分标准",
        &[
            "序号",
            "维度",
            "条目",
            "分值",
            "评分方式",
            "指标",
            "需附佐证",
        ],
        &rows,
    )?;
    Ok(crate::xlsx::download(
        &format!("评分标准-{}年第{}版.xlsx", info.year, info.version),
        bytes,
    ))
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail_render(&state, &user, id, flash, None).await
}

#[derive(Deserialize)]
pub(super) struct VersionForm {
    row_version: String,
}

fn version_of(f: &VersionForm) -> i64 {
    f.row_version.trim().parse().unwrap_or(-1)
}

/// A refusal shown on the version's page: what was wrong, with the page as it stands.
async fn refused_on_detail(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    e: AppError,
) -> AppResult<Response> {
    match e {
        AppError::Invalid { message, .. } => {
            detail_render(
                state,
                user,
                id,
                FlashIn(None),
                Some((StatusCode::UNPROCESSABLE_ENTITY, message)),
            )
            .await
        }
        AppError::Conflict(message) => {
            detail_render(
                state,
                user,
                id,
                FlashIn(None),
                Some((StatusCode::CONFLICT, message)),
            )
            .await
        }
        e => Err(e),
    }
}

pub(super) async fn publish_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> AppResult<Response> {
    match store::publish(&state, &user, id, version_of(&f)).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("{LIST}/{id}"),
            "已发布：此后该版本不可修改，新的考核按此版本评分",
        )),
        Err(e) => refused_on_detail(&state, &user, id, e).await,
    }
}

pub(super) async fn delete_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> AppResult<Response> {
    match store::delete(&state, &user, id, Some(version_of(&f))).await {
        Ok(()) => Ok(web::redirect_with_flash(LIST, "草稿已删除")),
        Err(e) => refused_on_detail(&state, &user, id, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_ranges_read_down_from_one_hundred() {
        let ts: Vec<rules::Threshold> = crate::grading::default::content(2026).thresholds;
        let r: Vec<String> = tier_views(&ts).into_iter().map(|t| t.range).collect();
        assert_eq!(r, ["90分及以上", "80至89.9分", "60至79.9分", "0至59.9分"]);
    }
}
