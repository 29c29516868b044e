//! The committee's draft editor: the whole standard in one form, blank rows to add, field
//! errors beside their rows, a stale or frozen version refused with what was typed kept.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;

use super::{ctx, LIST};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::grading::may_edit;
use crate::grading::rules::{self, Method, Problems, Score, Tier, VetoKind};
use crate::grading::store::{
    self, ContentInput, CriterionInput, Standard, StandardInfo, ThresholdInput, VetoInput,
};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

/// Blank rows offered under the criteria and vetoes for additions.
const BLANK_ROWS: usize = 3;
/// Form rows read at most (a hostile form cannot make the page allocate more).
const MAX_ROWS: usize = rules::MAX_ITEMS + 20;

#[derive(Default)]
struct Errs(BTreeMap<String, String>);

impl Errs {
    fn e(&self, field: &str) -> Option<&String> {
        self.0.get(field)
    }
}

#[derive(Default)]
struct DimRow {
    name: String,
    errs: Errs,
}

#[derive(Default)]
struct CritRow {
    number: String,
    dimension: String,
    body: String,
    points: String,
    method: String,
    indicator_key: String,
    evidence_required: bool,
    errs: Errs,
}

struct TierRow {
    tier: Tier,
    name: String,
    min_score: String,
    errs: Errs,
}

#[derive(Default)]
struct VetoRow {
    code: String,
    body: String,
    kind: String,
    errs: Errs,
}

#[derive(Template)]
#[template(path = "grading/edit.html")]
struct EditPage {
    ctx: PageCtx,
    s: StandardInfo,
    row_version: String,
    title: String,
    extra_cap: String,
    dims: Vec<DimRow>,
    crits: Vec<CritRow>,
    tiers: Vec<TierRow>,
    vetoes: Vec<VetoRow>,
    /// Every message, for the summary above the form.
    messages: Vec<String>,
    errs: Errs,
    /// Indicators features publish, for the key field's suggestions.
    indicators: Vec<(&'static str, &'static str)>,
}

impl EditPage {
    fn methods(&self) -> Vec<(&'static str, &'static str)> {
        Method::options()
    }
    fn kinds(&self) -> Vec<(&'static str, &'static str)> {
        VetoKind::options()
    }
    /// The dimensions as the criteria's select offers them: (position, name).
    fn dim_options(&self) -> Vec<(String, String)> {
        self.dims
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.name.trim().is_empty())
            .map(|(i, d)| ((i + 1).to_string(), format!("{}. {}", i + 1, d.name)))
            .collect()
    }
}

fn edit_ctx(user: &CurrentUser, s: &StandardInfo) -> PageCtx {
    let title = format!("{}年第{}版评分标准", s.year, s.version);
    ctx(
        user,
        "修改评分标准草稿",
        &format!("{LIST}/{}/edit", s.standard_id),
        FlashIn(None),
    )
    .crumb(title, format!("{LIST}/{}", s.standard_id))
    .crumb("修改", "")
}

fn indicator_options() -> Vec<(&'static str, &'static str)> {
    crate::indicators::all()
        .iter()
        .map(|i| (i.key, i.label))
        .collect()
}

fn editor_from(user: &CurrentUser, s: Standard, flash: FlashIn) -> EditPage {
    let c = s.content;
    let mut crits: Vec<CritRow> = c
        .criteria
        .iter()
        .map(|k| CritRow {
            number: k.number.to_string(),
            dimension: k.dimension.to_string(),
            body: k.body.clone(),
            points: k.points.to_string(),
            method: k.method.as_str().into(),
            indicator_key: k.indicator_key.clone().unwrap_or_default(),
            evidence_required: k.evidence_required,
            errs: Errs::default(),
        })
        .collect();
    crits.extend((0..BLANK_ROWS).map(|_| CritRow {
        method: Method::Manual.as_str().into(),
        ..CritRow::default()
    }));
    let mut dims: Vec<DimRow> = c
        .dimensions
        .iter()
        .map(|d| DimRow {
            name: d.name.clone(),
            errs: Errs::default(),
        })
        .collect();
    dims.push(DimRow::default());
    let mut vetoes: Vec<VetoRow> = c
        .vetoes
        .iter()
        .map(|v| VetoRow {
            code: v.code.clone(),
            body: v.body.clone(),
            kind: v.kind.as_str().into(),
            errs: Errs::default(),
        })
        .collect();
    vetoes.extend((0..BLANK_ROWS).map(|_| VetoRow {
        kind: VetoKind::Hard.as_str().into(),
        ..VetoRow::default()
    }));
    let tiers = Tier::ALL
        .iter()
        .map(|t| {
            let th = c.thresholds.iter().find(|x| x.tier == *t);
            TierRow {
                tier: *t,
                name: th.map_or_else(|| t.default_name().to_string(), |x| x.name.clone()),
                min_score: th.map(|x| x.min_score.to_string()).unwrap_or_default(),
                errs: Errs::default(),
            }
        })
        .collect();
    let mut ctx = edit_ctx(user, &s.info);
    ctx.flash = flash.0;
    EditPage {
        ctx,
        row_version: s.info.row_version.to_string(),
        title: c.title,
        extra_cap: c.extra_cap.to_string(),
        s: s.info,
        dims,
        crits,
        tiers,
        vetoes,
        messages: Vec::new(),
        errs: Errs::default(),
        indicators: indicator_options(),
    }
}

pub(super) async fn edit_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    user.require(may_edit(&user))?;
    let s = store::get(&state, &user, id).await?;
    if !s.info.is_draft() {
        return Err(AppError::Conflict(store::FROZEN.into()));
    }
    web::render(&editor_from(&user, s, flash))
}

/// `criteria[3].points` → ("criteria", 3, "points").
fn split_name(name: &str) -> Option<(&str, usize, &str)> {
    let (list, rest) = name.split_once('[')?;
    let (index, field) = rest.split_once("].")?;
    let i: usize = index.parse().ok()?;
    (i < MAX_ROWS).then_some((list, i, field))
}

/// The editor's form as rows, in their order on the page.
fn rows_of(pairs: &[(String, String)]) -> HashMap<&str, BTreeMap<usize, HashMap<&str, &str>>> {
    let mut out: HashMap<&str, BTreeMap<usize, HashMap<&str, &str>>> = HashMap::new();
    for (k, v) in pairs {
        if let Some((list, i, field)) = split_name(k) {
            out.entry(list)
                .or_default()
                .entry(i)
                .or_default()
                .insert(field, v.as_str());
        }
    }
    out
}

fn points_of(text: &str) -> f64 {
    Score::parse(text).map_or(f64::NAN, Score::as_f64)
}

/// Reads the editor's form: the page's rows (blank ones dropped) and the input for the
/// store, with each input row's place on the page to put its errors back.
fn read_form(pairs: &[(String, String)]) -> (Submitted, ContentInput) {
    let one = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let rows = rows_of(pairs);
    let empty = BTreeMap::new();
    let list = |name: &str| rows.get(name).unwrap_or(&empty);
    let get = |r: &HashMap<&str, &str>, f: &str| r.get(f).map_or(String::new(), |v| v.to_string());

    let dims: Vec<DimRow> = list("dimensions")
        .values()
        .map(|r| DimRow {
            name: get(r, "name"),
            errs: Errs::default(),
        })
        .collect();
    // A dimension left blank is removed; the criteria's choices move with the rest.
    let mut position = HashMap::new();
    let mut names = Vec::new();
    let mut dim_rows = Vec::new();
    for (i, d) in dims.iter().enumerate() {
        if !d.name.trim().is_empty() {
            names.push(d.name.trim().to_string());
            dim_rows.push(i);
            position.insert(i + 1, names.len() as i64);
        }
    }
    let crits: Vec<CritRow> = list("criteria")
        .values()
        .map(|r| CritRow {
            number: get(r, "number"),
            dimension: get(r, "dimension"),
            body: get(r, "body"),
            points: get(r, "points"),
            method: get(r, "method"),
            indicator_key: get(r, "indicator_key"),
            evidence_required: r.contains_key("evidence_required"),
            errs: Errs::default(),
        })
        .collect();
    let mut criteria = Vec::new();
    let mut crit_rows = Vec::new();
    let mut next = crits
        .iter()
        .filter_map(|k| k.number.trim().parse::<i64>().ok())
        .max()
        .unwrap_or(0);
    for (i, k) in crits.iter().enumerate() {
        if k.body.trim().is_empty() && k.points.trim().is_empty() {
            continue;
        }
        let number = match k.number.trim() {
            "" => {
                next += 1;
                next
            }
            n => n.parse().unwrap_or(0),
        };
        let dimension = k
            .dimension
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|d| position.get(&d).copied())
            .unwrap_or(0);
        criteria.push(CriterionInput {
            number,
            dimension,
            body: k.body.clone(),
            points: points_of(&k.points),
            method: k.method.clone(),
            indicator_key: Some(k.indicator_key.clone()),
            evidence_required: k.evidence_required,
        });
        crit_rows.push(i);
    }
    let tiers: Vec<TierRow> = Tier::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let r = list("thresholds").get(&i);
            TierRow {
                tier: *t,
                name: r.map(|r| get(r, "name")).unwrap_or_default(),
                min_score: r.map(|r| get(r, "min_score")).unwrap_or_default(),
                errs: Errs::default(),
            }
        })
        .collect();
    let thresholds = tiers
        .iter()
        .map(|t| ThresholdInput {
            tier: t.tier.as_str().into(),
            name: t.name.clone(),
            min_score: points_of(&t.min_score),
        })
        .collect();
    let vrows: Vec<VetoRow> = list("vetoes")
        .values()
        .map(|r| VetoRow {
            code: get(r, "code"),
            body: get(r, "body"),
            kind: get(r, "kind"),
            errs: Errs::default(),
        })
        .collect();
    let mut vetoes = Vec::new();
    let mut veto_rows = Vec::new();
    for (i, v) in vrows.iter().enumerate() {
        if v.code.trim().is_empty() && v.body.trim().is_empty() {
            continue;
        }
        vetoes.push(VetoInput {
            code: v.code.clone(),
            body: v.body.clone(),
            kind: v.kind.clone(),
        });
        veto_rows.push(i);
    }
    let input = ContentInput {
        row_version: one("row_version").parse().unwrap_or(-1),
        title: one("title"),
        extra_cap: points_of(&one("extra_cap")),
        dimensions: names,
        criteria,
        thresholds,
        vetoes,
    };
    (
        Submitted {
            row_version: one("row_version"),
            title: one("title"),
            extra_cap: one("extra_cap"),
            dims,
            crits,
            tiers,
            vetoes: vrows,
            dim_rows,
            crit_rows,
            veto_rows,
        },
        input,
    )
}

/// The editor's rows as submitted, before they meet the standard they are for.
struct Submitted {
    row_version: String,
    title: String,
    extra_cap: String,
    dims: Vec<DimRow>,
    crits: Vec<CritRow>,
    tiers: Vec<TierRow>,
    vetoes: Vec<VetoRow>,
    dim_rows: Vec<usize>,
    crit_rows: Vec<usize>,
    veto_rows: Vec<usize>,
}

/// Puts each problem beside the row it is about (`criteria[2].points` → the page's row of
/// the third criterion read); the rest stay with the form.
fn place(p: &mut Submitted, problems: &Problems) -> Errs {
    let mut rest = Errs::default();
    for (k, msg) in problems {
        let placed = split_name(k).and_then(|(list, i, field)| {
            let slot = match list {
                "dimensions" => p
                    .dim_rows
                    .get(i)
                    .and_then(|r| p.dims.get_mut(*r))
                    .map(|x| &mut x.errs),
                "criteria" => p
                    .crit_rows
                    .get(i)
                    .and_then(|r| p.crits.get_mut(*r))
                    .map(|x| &mut x.errs),
                "thresholds" => p.tiers.get_mut(i).map(|x| &mut x.errs),
                "vetoes" => p
                    .veto_rows
                    .get(i)
                    .and_then(|r| p.vetoes.get_mut(*r))
                    .map(|x| &mut x.errs),
                _ => None,
            }?;
            slot.0.insert(field.to_string(), msg.clone());
            Some(())
        });
        if placed.is_none() {
            rest.0.insert(k.clone(), msg.clone());
        }
    }
    rest
}

pub(super) async fn save_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    user.require(may_edit(&user))?;
    let (mut rows, input) = read_form(&pairs);
    let (status, problems) = match store::save(&state, &user, id, &input).await {
        Ok(_) => {
            return Ok(web::redirect_with_flash(
                &format!("{LIST}/{id}"),
                crate::messages::SAVED,
            ))
        }
        Err(AppError::Invalid { message, fields }) => {
            let mut p = fields;
            if p.is_empty() {
                p.insert("form".into(), message);
            }
            (StatusCode::UNPROCESSABLE_ENTITY, p)
        }
        Err(AppError::Conflict(message)) => {
            let mut p = Problems::new();
            p.insert("form".into(), message);
            (StatusCode::CONFLICT, p)
        }
        Err(e) => return Err(e),
    };
    let s = store::get(&state, &user, id).await?;
    let errs = place(&mut rows, &problems);
    // Room to add rows again under what was submitted.
    rows.crits.extend(
        (rows.crits.len()..rows.crits.len().max(BLANK_ROWS)).map(|_| CritRow {
            method: Method::Manual.as_str().into(),
            ..CritRow::default()
        }),
    );
    if rows.dims.iter().all(|d| !d.name.trim().is_empty()) {
        rows.dims.push(DimRow::default());
    }
    let page = EditPage {
        ctx: edit_ctx(&user, &s.info),
        s: s.info,
        row_version: rows.row_version,
        title: rows.title,
        extra_cap: rows.extra_cap,
        dims: rows.dims,
        crits: rows.crits,
        tiers: rows.tiers,
        vetoes: rows.vetoes,
        messages: problems.into_values().collect(),
        errs,
        indicators: indicator_options(),
    };
    let mut r = web::render(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_form_drops_blank_rows_and_renumbers_dimensions() {
        let (rows, input) = read_form(&pairs(&[
            ("row_version", "3"),
            ("title", "标准"),
            ("extra_cap", "5"),
            ("dimensions[0].name", "甲"),
            ("dimensions[1].name", ""),
            ("dimensions[2].name", "丙"),
            ("criteria[0].number", "1"),
            ("criteria[0].dimension", "3"),
            ("criteria[0].body", "条目一"),
            ("criteria[0].points", "2.5"),
            ("criteria[0].method", "manual"),
            ("criteria[1].number", ""),
            ("criteria[1].body", ""),
            ("criteria[1].points", ""),
            ("criteria[2].number", ""),
            ("criteria[2].dimension", "2"),
            ("criteria[2].body", "新条目"),
            ("criteria[2].points", "abc"),
            ("criteria[2].method", "auto"),
            ("criteria[2].evidence_required", "1"),
            ("thresholds[0].min_score", "90"),
            ("vetoes[0].code", ""),
            ("vetoes[0].body", ""),
            ("criteria[99999999].body", "ignored"),
        ]));
        assert_eq!(input.row_version, 3);
        assert_eq!(input.dimensions, ["甲", "丙"]);
        assert_eq!(input.criteria.len(), 2);
        assert_eq!(input.criteria[0].dimension, 2);
        assert_eq!(input.criteria[0].points, 2.5);
        // A blank number takes the next one; a removed dimension is no dimension.
        assert_eq!(input.criteria[1].number, 2);
        assert_eq!(input.criteria[1].dimension, 0);
        assert!(input.criteria[1].points.is_nan());
        assert!(input.criteria[1].evidence_required);
        assert_eq!(rows.crit_rows, [0, 2]);
        assert!(input.vetoes.is_empty());
        assert_eq!(input.thresholds.len(), 4);
        let mut rows = rows;
        let mut p = Problems::new();
        p.insert("criteria[1].points".into(), "分值不对".into());
        p.insert("total".into(), "合计不对".into());
        let rest = place(&mut rows, &p);
        assert_eq!(
            rows.crits[2].errs.e("points").map(String::as_str),
            Some("分值不对")
        );
        assert!(rest.e("total").is_some());
    }
}
