//! 分档管理 pages: the tier list (filtered, sorted, paged, exported), opening a cycle and
//! accepting a category at once; one assessment with its roadmap, the self-check and review
//! forms, acceptance, vetoes, rectification, applications and timeline, printable and as
//! xlsx; the categories' analysis (tiers by category, the criteria that cost most).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::clock::fmt_time;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::grading::assess::{
    self, ApplyInput, CategoryLine, Checked, Cycle, DecideInput, Detail, ListFilter, OpenInput,
    RectificationInput, ReviewEdit, SelfEdit, SelfItem, UnitItem, VetoInput,
};
use crate::grading::board::Entry;
use crate::grading::rules::{Score, Tier};
use crate::grading::scoring::{Line, Stage};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

pub(super) const LIST: &str = "/grading/assessments";
const MAX_UNIT_OPTIONS: usize = 300;

fn ctx(user: &CurrentUser, title: &str, path: &str, flash: FlashIn) -> PageCtx {
    PageCtx::new(user, title, path, flash)
        .crumb("分级定档", LIST)
        .crumb("分档管理", LIST)
}

/// A tier's badge colour.
pub fn tier_class(t: &Tier) -> &'static str {
    match t {
        Tier::First => "bg-green-lt",
        Tier::Second => "bg-blue-lt",
        Tier::Third => "bg-yellow-lt",
        Tier::Fourth => "bg-red-lt",
    }
}

// ---- the tier list ----

#[derive(Template)]
#[template(path = "grading/assessments.html")]
struct ListPage<'a> {
    ctx: PageCtx,
    cycle: Option<Cycle>,
    cycles: Vec<Cycle>,
    rows: Vec<&'a Entry>,
    pager: Pager,
    counts: [usize; 4],
    stages: [usize; 4],
    total: usize,
    f: &'a ListFilter,
    units: Vec<(i64, String)>,
    categories: Vec<(i64, String)>,
    sorts: &'static [(&'static str, &'static str)],
    stage_options: Vec<(&'static str, &'static str)>,
    tier_options: Vec<(&'static str, &'static str)>,
    is_committee: bool,
    /// Categories with assessments awaiting 考核验收, for bulk acceptance.
    awaiting: Vec<(i64, String, usize)>,
    export: String,
    this_year: i32,
    error: Option<String>,
}

impl ListPage<'_> {
    fn sel(&self, v: &Option<String>, k: &str) -> bool {
        v.as_deref().unwrap_or("") == k
    }
    fn sel_id(&self, v: &Option<String>, k: &i64) -> bool {
        v.as_deref().unwrap_or("") == k.to_string()
    }
    fn tier_class(&self, t: &Tier) -> &'static str {
        tier_class(t)
    }
    fn tier_label(&self, i: &usize) -> &'static str {
        Tier::ALL.get(*i).map_or("", |t| t.label())
    }
    fn stage_label(&self, i: &usize) -> &'static str {
        Stage::ALL.get(*i).map_or("", |s| s.label())
    }
    fn pct(&self, n: &usize) -> String {
        if self.total == 0 {
            "0".into()
        } else {
            format!("{:.1}", *n as f64 * 100.0 / self.total as f64)
        }
    }
    fn margin(&self, s: &Option<Score>) -> String {
        s.map_or("—".into(), |s| s.to_string())
    }
}

fn query_of(f: &ListFilter) -> String {
    web::query_string(&[
        ("year", f.year.clone().unwrap_or_default()),
        ("q", f.q.clone().unwrap_or_default()),
        ("unit_id", f.unit_id.clone().unwrap_or_default()),
        ("category_id", f.category_id.clone().unwrap_or_default()),
        ("stage", f.stage.clone().unwrap_or_default()),
        ("tier", f.tier.clone().unwrap_or_default()),
        ("sort", f.sort.clone().unwrap_or_default()),
    ])
}

async fn list_render(
    state: &AppState,
    user: &CurrentUser,
    f: &ListFilter,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    let c: Checked = assess::check(f)?;
    let cycles = assess::cycles(state, user).await?;
    let found = assess::board_of(state, user, c.year).await?;
    let cycle = found.as_ref().map(|(c, _)| c.clone());
    let visible: Vec<&Entry> = found
        .as_ref()
        .map_or_else(Vec::new, |(_, b)| assess::visible(user, b));
    // The pickers: the board's own lists for the committee, what the caller sees otherwise.
    let (mut units, mut categories) = match &found {
        Some((_, b)) if user.is_committee() => (b.units.clone(), b.categories.clone()),
        _ => (Vec::new(), Vec::new()),
    };
    let mine = !user.is_committee();
    let mut awaiting: Vec<(i64, String, usize)> = match &found {
        Some((_, b)) if !mine => b.awaiting.clone(),
        _ => Vec::new(),
    };
    if mine {
        for e in &visible {
            if !units.iter().any(|u| u.0 == e.unit_id) {
                units.push((e.unit_id, e.unit_name.clone()));
            }
            if !categories.iter().any(|k| k.0 == e.category_id) {
                categories.push((e.category_id, e.category_name.clone()));
            }
            if e.stage == Stage::CommitteeReview {
                match awaiting.iter_mut().find(|a| a.0 == e.category_id) {
                    Some(a) => a.2 += 1,
                    None => awaiting.push((e.category_id, e.category_name.clone(), 1)),
                }
            }
        }
    }
    // A unit picker of a province's 1,200 units is a page of options: past a few hundred,
    // the name search (which matches units too) does the work.
    if units.len() > MAX_UNIT_OPTIONS {
        units.clear();
    }
    let rows_all = found
        .as_ref()
        .map_or_else(Vec::new, |(_, b)| assess::filtered(user, b, &c));
    let mut stages = [0usize; 4];
    for e in &rows_all {
        if let Some(i) = Stage::ALL.iter().position(|s| *s == e.stage) {
            stages[i] += 1;
        }
    }
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let query = query_of(f);
    let pager = Pager::new(&paging, rows_all.len() as i64, LIST, &query);
    let rows: Vec<&Entry> = rows_all
        .iter()
        .skip(usize::try_from((pager.page - 1) * paging.per_page()).unwrap_or(0))
        .take(usize::try_from(paging.per_page()).unwrap_or(20))
        .copied()
        .collect();
    let page = ListPage {
        ctx: ctx(user, "分档管理", LIST, flash),
        counts: assess::tier_counts(&rows_all),
        total: rows_all.len(),
        stages,
        rows,
        pager,
        cycle,
        cycles,
        f,
        units,
        categories,
        sorts: &assess::SORTS,
        stage_options: Stage::options(),
        tier_options: Tier::options(),
        is_committee: user.is_committee(),
        awaiting,
        export: format!("{LIST}/export?{query}"),
        this_year: crate::clock::today().year(),
        error: error.clone(),
    };
    if error.is_some() {
        web::render_invalid(&page)
    } else {
        web::render(&page)
    }
}

pub(super) async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<ListFilter>,
) -> AppResult<Response> {
    list_render(&state, &user, &f, flash, None).await
}

pub(super) async fn export_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<ListFilter>,
) -> AppResult<Response> {
    use crate::xlsx::Cell;
    let c = assess::check(&f)?;
    let Some((cycle, b)) = assess::board_of(&state, &user, c.year).await? else {
        return Err(AppError::NotFound);
    };
    let rows: Vec<Vec<Cell>> = assess::filtered(&user, &b, &c)
        .iter()
        .map(|e| {
            vec![
                Cell::text(&e.category_name),
                Cell::text(&e.unit_name),
                Cell::text(&e.branch_name),
                Cell::text(e.stage.label()),
                Cell::Number(e.score.as_f64()),
                Cell::text(e.tier.label()),
                Cell::text(if e.accepted {
                    "已定档"
                } else {
                    "按当前得分"
                }),
                e.up.map_or(Cell::text(""), |s| Cell::Number(s.as_f64())),
                e.down.map_or(Cell::text(""), |s| Cell::Number(s.as_f64())),
                Cell::Int(e.vetoes as i64),
                Cell::text(&e.reason),
            ]
        })
        .collect();
    let bytes = crate::xlsx::write_table(
        "分档管理",
        &[
            "类别",
            "单位",
            "党支部",
            "阶段",
            "得分",
            "档次",
            "定档",
            "距升档（分）",
            "高出本档线（分）",
            "否决项",
            "定档理由",
        ],
        &rows,
    )?;
    Ok(crate::xlsx::download(
        &format!("{}年度党支部分档.xlsx", cycle.year),
        bytes,
    ))
}

#[derive(Deserialize)]
pub(super) struct OpenForm {
    year: String,
    due_on: Option<String>,
}

pub(super) async fn open_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<OpenForm>,
) -> AppResult<Response> {
    let input = OpenInput {
        year: f.year.trim().parse().unwrap_or(0),
        due_on: f.due_on,
    };
    match assess::open(&state, &user, &input).await {
        Ok((_, added)) => Ok(web::redirect_with_flash(
            &format!("{LIST}?year={}", input.year),
            &format!("已开启{}年度考核，新增{added}个支部的考核", input.year),
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            list_render(
                &state,
                &user,
                &ListFilter::default(),
                FlashIn(None),
                Some(msg),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(super) struct BulkForm {
    year: String,
    category_id: String,
}

pub(super) async fn accept_category_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<BulkForm>,
) -> AppResult<Response> {
    let year: i64 = f.year.trim().parse().unwrap_or(0);
    let category: i64 = f.category_id.trim().parse().unwrap_or(0);
    match assess::accept_category(&state, &user, year, category).await {
        Ok(n) => Ok(web::redirect_with_flash(
            &format!("{LIST}?year={year}&category_id={category}&stage=accepted"),
            &format!("已批量考核验收{n}个支部"),
        )),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let msg = match e {
                AppError::Invalid { message, fields } => {
                    fields.into_values().next().unwrap_or(message)
                }
                AppError::Conflict(m) => m,
                _ => String::new(),
            };
            let lf = ListFilter {
                year: Some(year.to_string()),
                ..Default::default()
            };
            list_render(&state, &user, &lf, FlashIn(None), Some(msg)).await
        }
        Err(e) => Err(e),
    }
}

// ---- one assessment ----

struct DimensionView {
    name: String,
    max: Score,
    held: Score,
    lines: Vec<Line>,
}

#[derive(Template)]
#[template(path = "grading/assessment.html")]
struct DetailPage {
    ctx: PageCtx,
    d: Detail,
    dimensions: Vec<DimensionView>,
    radar: String,
    radar_rows: Vec<(String, Score, Option<Score>, Option<Score>)>,
    has_last: bool,
    errors: FieldErrors,
    error: Option<String>,
    /// What the forms send back when a save was refused.
    typed: HashMap<String, String>,
    veto_options: Vec<(String, String)>,
}

impl DetailPage {
    fn err(&self, k: &str) -> &str {
        self.errors.get(k).map_or("", String::as_str)
    }
    fn field(&self, n: &i64, part: &str) -> String {
        format!("criteria.{n}.{part}")
    }
    fn has_err(&self, n: &i64, part: &str) -> bool {
        self.errors.contains_key(&self.field(n, part))
    }
    fn err_of(&self, n: &i64, part: &str) -> &str {
        self.errors
            .get(&self.field(n, part))
            .map_or("", String::as_str)
    }
    /// The value a form field shows: what was typed (after a refusal), else what is stored.
    fn value(&self, key: &str, stored: &str) -> String {
        self.typed
            .get(key)
            .cloned()
            .unwrap_or_else(|| stored.to_string())
    }
    fn score_text(&self, s: &Option<Score>) -> String {
        s.map_or(String::new(), |s| s.to_string())
    }
    fn time(&self, t: &i64) -> String {
        fmt_time(*t)
    }
    fn tier_class(&self, t: &Tier) -> &'static str {
        tier_class(t)
    }
    fn tier_label(&self, t: &Option<String>) -> &'static str {
        assess::tier_label(t.as_deref())
    }
    fn tier_key(&self, t: &str) -> &'static str {
        assess::tier_label(Some(t))
    }
    fn is_link(&self, line: &&str) -> bool {
        line.starts_with('/') && !line.starts_with("//")
    }
    fn lines_of<'a>(&self, s: &'a str) -> Vec<&'a str> {
        s.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
    }
    fn source_label(&self, l: &Line) -> &'static str {
        match l.source {
            crate::grading::scoring::Source::Auto => "自动计算",
            crate::grading::scoring::Source::ManualFallback => "暂按人工评分",
            crate::grading::scoring::Source::Manual => "人工评分",
        }
    }
    fn is_auto(&self, l: &Line) -> bool {
        l.source == crate::grading::scoring::Source::Auto
    }
    fn is_fallback(&self, l: &Line) -> bool {
        l.source == crate::grading::scoring::Source::ManualFallback
    }
}

/// The radar of a branch's held share per dimension (percent of the dimension's points)
/// against its category's average and its own last year, as inline SVG.
fn radar_svg(axes: &[String], series: &[(&str, &str, Vec<f64>)]) -> String {
    let n = axes.len().max(3);
    let (cx, cy, r) = (160.0_f64, 150.0_f64, 105.0_f64);
    let at = |i: usize, v: f64| {
        let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n as f64;
        (cx + r * v * a.cos(), cy + r * v * a.sin())
    };
    let mut s = String::from(
        "<svg viewBox=\"0 0 320 300\" class=\"radar\" role=\"img\" aria-label=\"各维度得分率雷达图\">",
    );
    for ring in [0.25, 0.5, 0.75, 1.0] {
        let pts: Vec<String> = (0..n)
            .map(|i| {
                let (x, y) = at(i, ring);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        s.push_str(&format!(
            "<polygon points=\"{}\" fill=\"none\" stroke=\"#dce1e7\"/>",
            pts.join(" ")
        ));
    }
    for (i, name) in axes.iter().enumerate() {
        let (x, y) = at(i, 1.0);
        let (lx, ly) = at(i, 1.2);
        s.push_str(&format!(
            "<line x1=\"{cx}\" y1=\"{cy}\" x2=\"{x:.1}\" y2=\"{y:.1}\" stroke=\"#dce1e7\"/>"
        ));
        let short: String = name.chars().take(4).collect();
        s.push_str(&format!(
            "<text x=\"{lx:.1}\" y=\"{ly:.1}\" font-size=\"11\" text-anchor=\"middle\" dominant-baseline=\"middle\" fill=\"#49566c\">{}</text>",
            askama::filters::escape(&short, askama::filters::Html)
                .map(|e| e.to_string())
                .unwrap_or_default()
        ));
    }
    for (_, colour, values) in series {
        let pts: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (x, y) = at(i, v.clamp(0.0, 1.0));
                format!("{x:.1},{y:.1}")
            })
            .collect();
        s.push_str(&format!(
            "<polygon points=\"{}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            pts.join(" ")
        ));
    }
    s.push_str("</svg>");
    s
}

async fn detail_render(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    errors: FieldErrors,
    error: Option<String>,
    typed: HashMap<String, String>,
) -> AppResult<Response> {
    let d = assess::detail(state, user, id).await?;
    let content = &d.standard.content;
    let dimensions: Vec<DimensionView> = content
        .dimensions
        .iter()
        .map(|dim| {
            let lines: Vec<Line> = d
                .lines
                .iter()
                .filter(|l| l.dimension == dim.position)
                .cloned()
                .collect();
            DimensionView {
                name: dim.name.clone(),
                max: lines.iter().map(|l| l.max).sum(),
                held: lines.iter().map(|l| l.held).sum(),
                lines,
            }
        })
        .collect();
    // The category's average per dimension, and last year's own, from the boards.
    let share = |held: Score, max: Score| {
        if max.0 > 0 {
            held.0 as f64 / max.0 as f64
        } else {
            0.0
        }
    };
    let board =
        crate::grading::board::board(state, d.head.cycle_id, d.head.year, d.head.standard_id)
            .await?;
    let average: Vec<Option<Score>> = match board.dimension_average.get(&d.head.category_id) {
        Some(v) => v.iter().copied().map(Some).collect(),
        None => vec![None; content.dimensions.len()],
    };
    let mut last: Vec<Option<Score>> = vec![None; content.dimensions.len()];
    if let Some(prev) = assess::cycle(state, Some(d.head.year - 1)).await? {
        let pb =
            crate::grading::board::board(state, prev.cycle_id, prev.year, prev.standard_id).await?;
        if let Some(e) = pb.entries.iter().find(|e| e.branch_id == d.head.branch_id) {
            let pc = &pb.standard.content;
            for (i, dim) in content.dimensions.iter().enumerate() {
                // Last year's standard may differ: match dimensions by name.
                if let Some(pd) = pc.dimensions.iter().find(|x| x.name == dim.name) {
                    let held: Score = pc
                        .criteria
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.dimension == pd.position)
                        .map(|(j, c)| c.points - e.lost.get(j).copied().unwrap_or(Score::ZERO))
                        .sum();
                    if let Some(slot) = last.get_mut(i) {
                        *slot = Some(held);
                    }
                }
            }
        }
    }
    let has_last = last.iter().any(Option::is_some);
    let axes: Vec<String> = dimensions.iter().map(|x| x.name.clone()).collect();
    let mine: Vec<f64> = dimensions.iter().map(|x| share(x.held, x.max)).collect();
    let avg: Vec<f64> = dimensions
        .iter()
        .zip(&average)
        .map(|(x, a)| share(a.unwrap_or(Score::ZERO), x.max))
        .collect();
    let mut series = vec![("本支部", "#d63939", mine), ("类别平均", "#206bc4", avg)];
    if has_last {
        let prev: Vec<f64> = dimensions
            .iter()
            .zip(&last)
            .map(|(x, a)| share(a.unwrap_or(Score::ZERO), x.max))
            .collect();
        series.push(("上年度", "#8a8a8a", prev));
    }
    let radar = radar_svg(&axes, &series);
    let radar_rows = dimensions
        .iter()
        .enumerate()
        .map(|(i, x)| {
            (
                x.name.clone(),
                x.held,
                average.get(i).copied().flatten(),
                last.get(i).copied().flatten(),
            )
        })
        .collect();
    let veto_options = content
        .vetoes
        .iter()
        .filter(|v| !d.vetoes.iter().any(|m| m.code == v.code))
        .map(|v| (v.code.clone(), format!("{}（{}）", v.body, v.kind.label())))
        .collect();
    let title = format!("{} · {}年度考核", d.head.branch_name, d.head.year);
    let page = DetailPage {
        ctx: ctx(user, &title, LIST, flash).crumb(d.head.branch_name.clone(), ""),
        dimensions,
        radar,
        radar_rows,
        has_last,
        errors,
        error: error.clone(),
        typed,
        veto_options,
        d,
    };
    if error.is_some() {
        web::render_invalid(&page)
    } else {
        web::render(&page)
    }
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail_render(
        &state,
        &user,
        id,
        flash,
        FieldErrors::new(),
        None,
        HashMap::new(),
    )
    .await
}

/// Answers a refused step on the page itself (its message, the field messages, what was
/// typed), or passes other errors on.
async fn refused(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    e: AppError,
    typed: HashMap<String, String>,
) -> AppResult<Response> {
    match e {
        AppError::Invalid { message, fields } => {
            let msg = if message.is_empty() || fields.len() == 1 {
                fields.values().next().cloned().unwrap_or(message)
            } else {
                message
            };
            detail_render(state, user, id, FlashIn(None), fields, Some(msg), typed).await
        }
        AppError::Conflict(message) => {
            detail_render(
                state,
                user,
                id,
                FlashIn(None),
                FieldErrors::new(),
                Some(message),
                typed,
            )
            .await
        }
        e => Err(e),
    }
}

fn done(id: i64, text: &str) -> Response {
    web::redirect_with_flash(&assess::href(id), text)
}

fn row_version(form: &HashMap<String, String>) -> i64 {
    form.get("row_version")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The criteria numbers a form names (`score_5`, `note_5`…).
fn numbers(form: &HashMap<String, String>, prefixes: &[&str]) -> Vec<i64> {
    let mut v: Vec<i64> = form
        .keys()
        .filter_map(|k| {
            prefixes
                .iter()
                .find_map(|p| k.strip_prefix(p))
                .and_then(|n| n.parse().ok())
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Keys the page's fields by the API's names, so a refusal's messages land on them.
fn typed_of(form: &HashMap<String, String>) -> HashMap<String, String> {
    form.iter()
        .filter_map(|(k, v)| {
            let (part, n) = k.rsplit_once('_')?;
            let n: i64 = n.parse().ok()?;
            Some((format!("criteria.{n}.{part}"), v.clone()))
        })
        .chain(
            [
                "extra",
                "extra_note",
                "comment",
                "note",
                "statement",
                "evidence",
                "body",
                "owner",
                "due_on",
            ]
            .iter()
            .filter_map(|k| form.get(*k).map(|v| (k.to_string(), v.clone()))),
        )
        .collect()
}

pub(super) async fn self_check_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let get = |k: String| form.get(&k).cloned();
    let edit = SelfEdit {
        row_version: row_version(&form),
        items: numbers(&form, &["score_", "note_", "evidence_"])
            .into_iter()
            .map(|n| SelfItem {
                number: n,
                score: get(format!("score_{n}")),
                note: get(format!("note_{n}")),
                evidence: get(format!("evidence_{n}")),
            })
            .collect(),
        extra: form.get("extra").cloned(),
        extra_note: form.get("extra_note").cloned(),
    };
    let submit = form.get("action").is_some_and(|a| a == "submit");
    let typed = typed_of(&form);
    let rv = match assess::save_self(&state, &user, id, &edit).await {
        Ok(rv) => rv,
        Err(e) => return refused(&state, &user, id, e, typed).await,
    };
    if !submit {
        return Ok(done(id, "自查已保存"));
    }
    match assess::submit(&state, &user, id, rv).await {
        Ok(()) => Ok(done(id, "自查已提交，等待单位审核")),
        Err(e) => refused(&state, &user, id, e, HashMap::new()).await,
    }
}

pub(super) async fn review_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let get = |k: String| form.get(&k).cloned();
    let edit = ReviewEdit {
        row_version: row_version(&form),
        items: numbers(&form, &["unit_score_", "unit_reason_"])
            .into_iter()
            .map(|n| UnitItem {
                number: n,
                score: get(format!("unit_score_{n}")),
                reason: get(format!("unit_reason_{n}")),
            })
            .collect(),
    };
    let action = form.get("action").map_or("", String::as_str);
    let typed = typed_of(&form);
    let rv = match assess::save_review(&state, &user, id, &edit).await {
        Ok(rv) => rv,
        Err(e) => return refused(&state, &user, id, e, typed).await,
    };
    match action {
        "forward" => match assess::forward(&state, &user, id, rv).await {
            Ok(()) => Ok(done(id, "已审核通过并报送工委")),
            Err(e) => refused(&state, &user, id, e, HashMap::new()).await,
        },
        "return" => {
            let comment = form.get("comment").map_or("", String::as_str);
            match assess::send_back(&state, &user, id, rv, comment).await {
                Ok(()) => Ok(done(id, "已退回支部修改")),
                Err(e) => refused(&state, &user, id, e, typed).await,
            }
        }
        _ => Ok(done(id, "审核调整已保存")),
    }
}

pub(super) async fn committee_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let rv = row_version(&form);
    let typed = typed_of(&form);
    let r = if form.get("action").is_some_and(|a| a == "return") {
        let comment = form.get("comment").map_or("", String::as_str);
        assess::send_back(&state, &user, id, rv, comment)
            .await
            .map(|()| "已退回支部修改".to_string())
    } else {
        assess::accept(&state, &user, id, rv)
            .await
            .map(|t| format!("考核验收通过，定为{}", t.label()))
    };
    match r {
        Ok(text) => Ok(done(id, &text)),
        Err(e) => refused(&state, &user, id, e, typed).await,
    }
}

pub(super) async fn veto_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(input): Form<VetoInput>,
) -> AppResult<Response> {
    let typed = HashMap::from([("note".to_string(), input.note.clone())]);
    match assess::mark_veto(&state, &user, id, &input).await {
        Ok(()) => Ok(done(id, "已标记否决项")),
        Err(e) => refused(&state, &user, id, e, typed).await,
    }
}

pub(super) async fn clear_veto_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
) -> AppResult<Response> {
    match assess::clear_veto(&state, &user, id, &code).await {
        Ok(()) => Ok(done(id, "已撤销否决项")),
        Err(e) => refused(&state, &user, id, e, HashMap::new()).await,
    }
}

pub(super) async fn rectify_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(input): Form<RectificationInput>,
) -> AppResult<Response> {
    let typed = HashMap::from([
        ("body".to_string(), input.body.clone()),
        ("owner".to_string(), input.owner.clone()),
        ("due_on".to_string(), input.due_on.clone()),
    ]);
    match assess::add_rectification(&state, &user, id, &input).await {
        Ok(_) => Ok(done(id, "整改事项已添加")),
        Err(e) => refused(&state, &user, id, e, typed).await,
    }
}

#[derive(Deserialize)]
pub(super) struct NoteForm {
    note: String,
}

pub(super) async fn rectified_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, item)): Path<(i64, i64)>,
    Form(f): Form<NoteForm>,
) -> AppResult<Response> {
    match assess::finish_rectification(&state, &user, id, item, &f.note).await {
        Ok(()) => Ok(done(id, "整改事项已完成")),
        Err(e) => refused(&state, &user, id, e, HashMap::new()).await,
    }
}

pub(super) async fn apply_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(input): Form<ApplyInput>,
) -> AppResult<Response> {
    let typed = HashMap::from([
        ("statement".to_string(), input.statement.clone()),
        (
            "evidence".to_string(),
            input.evidence.clone().unwrap_or_default(),
        ),
    ]);
    match assess::apply(&state, &user, id, &input).await {
        Ok(_) => Ok(done(id, "晋档申请已提交，等待工委复核")),
        Err(e) => refused(&state, &user, id, e, typed).await,
    }
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    action: String,
    note: Option<String>,
}

pub(super) async fn decide_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, app)): Path<(i64, i64)>,
    Form(f): Form<DecideForm>,
) -> AppResult<Response> {
    let input = DecideInput {
        accept: f.action == "accept",
        note: f.note,
    };
    match assess::decide(&state, &user, id, app, &input).await {
        Ok(()) => Ok(done(
            id,
            if input.accept {
                "晋档申请已通过"
            } else {
                "晋档申请未通过"
            },
        )),
        Err(e) => refused(&state, &user, id, e, HashMap::new()).await,
    }
}

pub(super) async fn export_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    use crate::xlsx::Cell;
    let d = assess::detail(&state, &user, id).await?;
    let dim = |p: i64| {
        d.standard
            .content
            .dimensions
            .iter()
            .find(|x| x.position == p)
            .map_or(String::new(), |x| x.name.clone())
    };
    let opt = |s: Option<Score>| s.map_or(Cell::text(""), |s| Cell::Number(s.as_f64()));
    let mut rows: Vec<Vec<Cell>> = d
        .lines
        .iter()
        .map(|l| {
            vec![
                Cell::Int(l.number),
                Cell::Text(dim(l.dimension)),
                Cell::text(&l.body),
                Cell::Number(l.max.as_f64()),
                Cell::text(match l.source {
                    crate::grading::scoring::Source::Auto => "自动计算",
                    _ => "人工评分",
                }),
                opt(l.self_score),
                opt(l.unit_score),
                Cell::Number(l.held.as_f64()),
                Cell::text(&l.how),
                Cell::text(&l.evidence),
                Cell::text(&l.unit_reason),
            ]
        })
        .collect();
    let blank = || Cell::text("");
    rows.push(vec![
        blank(),
        Cell::text("加分项"),
        Cell::text(&d.head.extra_note),
        Cell::Number(d.standard.content.extra_cap.as_f64()),
        blank(),
        blank(),
        blank(),
        Cell::Number(d.head.extra.as_f64()),
        blank(),
        blank(),
        blank(),
    ]);
    rows.push(vec![
        blank(),
        Cell::text("合计"),
        Cell::text(format!("{}（{}）", d.tier.label(), d.tier_reason)),
        Cell::Number(100.0),
        blank(),
        blank(),
        blank(),
        Cell::Number(d.score.as_f64()),
        blank(),
        blank(),
        blank(),
    ]);
    let bytes = crate::xlsx::write_table(
        "考核评分",
        &[
            "序号",
            "维度",
            "条目",
            "分值",
            "评分方式",
            "自评得分",
            "审核得分",
            "得分",
            "计分说明",
            "佐证材料",
            "调整理由",
        ],
        &rows,
    )?;
    Ok(crate::xlsx::download(
        &format!(
            "{}·{}{}年度考核.xlsx",
            d.head.unit_name, d.head.branch_name, d.head.year
        ),
        bytes,
    ))
}

// ---- categories ----

#[derive(Template)]
#[template(path = "grading/categories.html")]
struct CategoriesPage {
    ctx: PageCtx,
    cycle: Option<Cycle>,
    lines: Vec<CategoryLine>,
    cycles: Vec<Cycle>,
}

impl CategoriesPage {
    fn tier_label(&self, i: &usize) -> &'static str {
        Tier::ALL.get(*i).map_or("", |t| t.label())
    }
    fn tier_class(&self, i: &usize) -> &'static str {
        Tier::ALL.get(*i).map_or("", tier_class)
    }
    fn width(&self, n: &usize, of: &usize) -> String {
        if *of == 0 {
            "0".into()
        } else {
            format!("{:.2}", *n as f64 * 100.0 / *of as f64)
        }
    }
}

#[derive(Deserialize)]
pub(super) struct YearQuery {
    year: Option<String>,
}

pub(super) async fn categories_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    let year = match q.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        None => None,
        Some(y) => Some(
            y.parse::<i64>()
                .map_err(|_| AppError::field("year", format!("年度应为四位数字，收到“{y}”")))?,
        ),
    };
    let cycles = assess::cycles(&state, &user).await?;
    let found = assess::board_of(&state, &user, year).await?;
    let (cycle, lines) = match &found {
        Some((c, b)) => (
            Some(c.clone()),
            assess::categories_of(&state, &user, c, b).await?.to_vec(),
        ),
        None => (None, Vec::new()),
    };
    let page = CategoriesPage {
        ctx: PageCtx::new(&user, "类别分析", "/grading/categories", flash)
            .crumb("分级定档", LIST)
            .crumb("类别分析", "/grading/categories"),
        cycle,
        lines,
        cycles,
    };
    web::render(&page)
}
