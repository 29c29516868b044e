//! The staff's pages: the pledges in scope (filtered, sorted, paged, exported), one pledge with
//! its review, progress, ratings and feedback, the unit's and the committee's actions on it,
//! the feedback to moderate, who has not pledged, and the figures per unit and category.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;

use super::{ctx, field, refusal, time, years_around};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::pledges::feedback::{self, FeedbackFilter, FeedbackLine, HideInput};
use crate::pledges::rules::{Fulfilment, PledgeStatus, ReviewLevel};
use crate::pledges::store::{
    self, Pledge, PledgeFilter, PledgeLine, RateInput, ReturnInput, SORTS,
};
use crate::pledges::views::{self, MissingFilter, MissingLine, Stats};
use crate::pledges::{may_moderate, may_rate, may_review, may_stats};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};
use crate::xlsx::Cell;

const LIST: &str = "/pledges";

#[derive(Template)]
#[template(path = "pledges/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<PledgeLine>,
    pager: Pager,
    f: PledgeFilter,
    year: i64,
    years: Vec<i64>,
    statuses: Vec<(&'static str, &'static str)>,
    sorts: &'static [(&'static str, &'static str)],
    categories: Vec<(i64, String)>,
    committee: bool,
    reviewer: bool,
    query: String,
}

impl ListPage {
    fn sel(&self, v: &Option<String>, key: &str) -> bool {
        v.as_deref() == Some(key)
    }
    fn time(&self, t: &Option<i64>) -> String {
        time(t)
    }
}

pub(super) async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<PledgeFilter>,
) -> AppResult<Response> {
    let page = store::list_pledges(&state, &user, &f).await?;
    let c = store::check_filter(&f)?;
    let categories: Vec<(i64, String)> = if user.is_committee() {
        sqlx::query_as("select category_id, name from category order by sort_order, category_id")
            .fetch_all(&state.db.pool)
            .await?
    } else {
        Vec::new()
    };
    let query = web::query_string(&[
        ("year", c.year.to_string()),
        ("status", f.status.clone().unwrap_or_default()),
        ("category_id", f.category_id.clone().unwrap_or_default()),
        ("unit_id", f.unit_id.clone().unwrap_or_default()),
        ("q", f.q.clone().unwrap_or_default()),
        ("sort", f.sort.clone().unwrap_or_default()),
    ]);
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    web::render(&ListPage {
        ctx: ctx(&user, "承诺审核与督导", LIST, flash),
        pager: Pager::new(&paging, page.total, LIST, &query),
        rows: page.items,
        year: c.year,
        years: years_around(c.year),
        statuses: store::status_options(),
        sorts: SORTS,
        categories,
        committee: user.is_committee(),
        reviewer: may_review(&user),
        query,
        f,
    })
}

/// The list as .xlsx, with the same filter (every page): the committee's table of all pledges.
pub(super) async fn list_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<PledgeFilter>,
) -> AppResult<Response> {
    let rows = store::all_pledges(&state, &user, &f).await?;
    let year = store::check_filter(&f)?.year;
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::text(&r.unit_name),
                Cell::text(&r.category_name),
                Cell::text(&r.member_name),
                Cell::text(&r.division),
                Cell::text(&r.post),
                Cell::text(&r.body),
                Cell::text(r.status_label()),
                Cell::text(time(&r.submitted_at)),
                Cell::Int(r.feedback_n),
                Cell::text(r.average()),
                Cell::Int(r.held_n),
                Cell::text(r.unit_label()),
                Cell::text(r.committee_label()),
            ]
        })
        .collect();
    let bytes = crate::xlsx::write_table(
        "一句话承诺",
        &[
            "单位",
            "类别",
            "姓名",
            "处室",
            "职务",
            "承诺内容",
            "状态",
            "提交时间",
            "公开反馈数",
            "群众平均评分",
            "待审核反馈",
            "单位践诺评价",
            "工委践诺评价",
        ],
        &cells,
    )?;
    Ok(crate::xlsx::download(
        &format!("一句话承诺-{year}年度.xlsx"),
        bytes,
    ))
}

#[derive(Template)]
#[template(path = "pledges/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    p: Pledge,
    feedback: Vec<FeedbackLine>,
    /// The unit admin of its unit: may accept, return, rate as the unit and moderate.
    unit_admin: bool,
    /// The committee: may rate as the committee.
    committee: bool,
    results: Vec<(&'static str, &'static str)>,
    error: Option<String>,
}

impl DetailPage {
    fn time(&self, t: &Option<i64>) -> String {
        time(t)
    }
    fn at(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
    fn review_of(&self, level: &str) -> Option<&store::Review> {
        ReviewLevel::from_key(level).and_then(|l| self.p.review(l))
    }
    fn may_rate_as(&self) -> Option<&'static str> {
        if self.p.line.status != PledgeStatus::Accepted {
            return None;
        }
        if self.committee {
            Some("committee")
        } else if self.unit_admin {
            Some("unit")
        } else {
            None
        }
    }
    fn level_label(&self, level: &str) -> &'static str {
        ReviewLevel::label_of(level)
    }
    fn submitted(&self) -> bool {
        self.p.line.status == PledgeStatus::Submitted
    }
    fn levels(&self) -> [&'static str; 2] {
        ["unit", "committee"]
    }
    fn moderates(&self, _f: &FeedbackLine) -> bool {
        self.unit_admin
    }
    fn back(&self) -> String {
        format!("{LIST}/{}", self.p.line.pledge_id)
    }
}

async fn detail_render(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let p = store::get(state, user, id).await?;
    let feedback = feedback::all_feedback(
        state,
        user,
        &FeedbackFilter {
            pledge_id: Some(id.to_string()),
            ..Default::default()
        },
    )
    .await?;
    let title = format!("{}的一句话承诺（{}年度）", p.line.member_name, p.line.year);
    let unit_admin = may_review(user) && user.unit_ids().contains(&p.line.unit_id);
    let page = DetailPage {
        ctx: ctx(user, &title, &format!("{LIST}/{id}"), flash)
            .crumb("承诺审核与督导", LIST)
            .crumb(p.line.member_name.clone(), ""),
        committee: user.is_committee() && may_rate(user),
        unit_admin,
        results: Fulfilment::options(),
        feedback,
        p,
        error: error.as_ref().map(|e| e.1.clone()),
    };
    let mut r = web::render(&page)?;
    if let Some((s, _)) = error {
        *r.status_mut() = s;
    }
    Ok(r)
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail_render(&state, &user, id, flash, None).await
}

/// After an action on a pledge: back to it with a message, or the page with the refusal.
async fn after(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    done: AppResult<()>,
    ok: &str,
) -> AppResult<Response> {
    match done {
        Ok(()) => Ok(web::redirect_with_flash(&format!("{LIST}/{id}"), ok)),
        Err(e) => {
            let r = refusal(e)?;
            detail_render(state, user, id, FlashIn(None), Some(r)).await
        }
    }
}

pub(super) async fn accept_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let done = store::accept(&state, &user, id).await;
    after(
        &state,
        &user,
        id,
        done,
        "已审核通过，承诺已在公开亮诺栏展示",
    )
    .await
}

pub(super) async fn return_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let input = ReturnInput {
        comment: field(&pairs, "comment"),
    };
    let done = store::send_back(&state, &user, id, &input).await;
    after(&state, &user, id, done, "已退回，承诺人修改后可重新提交").await
}

pub(super) async fn rate_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let input = RateInput {
        result: field(&pairs, "result"),
        reason: field(&pairs, "reason"),
    };
    let done = store::rate(&state, &user, id, &input).await;
    after(&state, &user, id, done, "践诺评价已保存").await
}

// ---- feedback ----

#[derive(Template)]
#[template(path = "pledges/feedback.html")]
struct FeedbackPage {
    ctx: PageCtx,
    rows: Vec<FeedbackLine>,
    pager: Pager,
    f: FeedbackFilter,
    statuses: Vec<(&'static str, &'static str)>,
    /// The units whose feedback the caller moderates.
    my_units: Vec<i64>,
    query: String,
    error: Option<String>,
}

impl FeedbackPage {
    fn moderates(&self, f: &FeedbackLine) -> bool {
        self.my_units.contains(&f.unit_id)
    }
    fn back(&self) -> String {
        if self.query.is_empty() {
            "/pledges/feedback".into()
        } else {
            format!("/pledges/feedback?{}", self.query)
        }
    }
    fn sel(&self, v: &Option<String>, key: &str) -> bool {
        v.as_deref() == Some(key)
    }
    fn at(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
}

async fn feedback_render(
    state: &AppState,
    user: &CurrentUser,
    f: FeedbackFilter,
    flash: FlashIn,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let page = feedback::list_feedback(state, user, &f).await?;
    let query = web::query_string(&[
        ("status", f.status.clone().unwrap_or_default()),
        ("pledge_id", f.pledge_id.clone().unwrap_or_default()),
        ("q", f.q.clone().unwrap_or_default()),
    ]);
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let base = "/pledges/feedback";
    let mut r = web::render(&FeedbackPage {
        ctx: ctx(user, "督导反馈", base, flash).crumb("督导反馈", base),
        pager: Pager::new(&paging, page.total, base, &query),
        rows: page.items,
        statuses: crate::pledges::rules::FeedbackStatus::options(),
        my_units: if may_moderate(user) {
            user.unit_ids()
        } else {
            Vec::new()
        },
        query,
        f,
        error: error.as_ref().map(|e| e.1.clone()),
    })?;
    if let Some((s, _)) = error {
        *r.status_mut() = s;
    }
    Ok(r)
}

pub(super) async fn feedback_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<FeedbackFilter>,
) -> AppResult<Response> {
    user.require(crate::pledges::may_read_views(&user))?;
    feedback_render(&state, &user, f, flash, None).await
}

pub(super) async fn feedback_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<FeedbackFilter>,
) -> AppResult<Response> {
    user.require(crate::pledges::may_read_views(&user))?;
    let rows = feedback::all_feedback(&state, &user, &f).await?;
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::text(&r.unit_name),
                Cell::text(&r.member_name),
                Cell::text(&r.pledge_body),
                Cell::Int(r.rating),
                Cell::text(&r.body),
                Cell::text(&r.contact),
                Cell::text(r.status.label()),
                Cell::text(&r.hide_reason),
                Cell::text(&r.reply),
                Cell::text(crate::clock::fmt_time(r.created_at)),
            ]
        })
        .collect();
    let bytes = crate::xlsx::write_table(
        "督导反馈",
        &[
            "单位",
            "承诺人",
            "承诺内容",
            "评分",
            "反馈内容",
            "联系方式",
            "状态",
            "隐藏理由",
            "承诺人回复",
            "提交时间",
        ],
        &cells,
    )?;
    Ok(crate::xlsx::download("督导反馈.xlsx", bytes))
}

/// Where a moderation form came from: the pledge's page or the feedback list.
fn back_to(pairs: &[(String, String)]) -> String {
    let back = field(pairs, "back");
    if back.starts_with("/pledges") && !back.starts_with("//") {
        back
    } else {
        "/pledges/feedback".into()
    }
}

pub(super) async fn publish_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let done = feedback::publish(&state, &user, id).await;
    moderated(
        &state,
        &user,
        &pairs,
        done,
        "反馈已公开，将显示在公开亮诺栏",
    )
    .await
}

pub(super) async fn hide_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let input = HideInput {
        reason: field(&pairs, "reason"),
    };
    let done = feedback::hide(&state, &user, id, &input).await;
    moderated(&state, &user, &pairs, done, "反馈已隐藏，理由已记录").await
}

/// After publishing or hiding: back to the list the action came from with `flash`, or the
/// feedback list again with the refusal.
async fn moderated(
    state: &AppState,
    user: &CurrentUser,
    pairs: &[(String, String)],
    done: AppResult<()>,
    flash: &str,
) -> AppResult<Response> {
    match done {
        Ok(()) => Ok(web::redirect_with_flash(&back_to(pairs), flash)),
        Err(e) => {
            let r = refusal(e)?;
            feedback_render(
                state,
                user,
                FeedbackFilter::default(),
                FlashIn(None),
                Some(r),
            )
            .await
        }
    }
}

// ---- who has not pledged ----

#[derive(Template)]
#[template(path = "pledges/missing.html")]
struct MissingPage {
    ctx: PageCtx,
    rows: Vec<MissingLine>,
    pager: Pager,
    f: MissingFilter,
    year: i64,
    years: Vec<i64>,
    query: String,
}

pub(super) async fn missing_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<MissingFilter>,
) -> AppResult<Response> {
    let (year, page) = views::list_missing(&state, &user, &f).await?;
    let query = web::query_string(&[
        ("year", year.to_string()),
        ("unit_id", f.unit_id.clone().unwrap_or_default()),
        ("category_id", f.category_id.clone().unwrap_or_default()),
        ("q", f.q.clone().unwrap_or_default()),
    ]);
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let base = "/pledges/missing";
    web::render(&MissingPage {
        ctx: ctx(&user, "未承诺名单", base, flash).crumb("未承诺名单", base),
        pager: Pager::new(&paging, page.total, base, &query),
        rows: page.items,
        years: years_around(year),
        year,
        query,
        f,
    })
}

pub(super) async fn missing_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MissingFilter>,
) -> AppResult<Response> {
    let (year, rows) = views::all_missing(&state, &user, &f).await?;
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::text(&r.unit_name),
                Cell::text(&r.category_name),
                Cell::text(&r.branch_name),
                Cell::text(&r.member_name),
                Cell::text(&r.position),
                Cell::text(r.status_label()),
            ]
        })
        .collect();
    let bytes = crate::xlsx::write_table(
        "未承诺名单",
        &["单位", "类别", "所在党组织", "姓名", "职务", "承诺状态"],
        &cells,
    )?;
    Ok(crate::xlsx::download(
        &format!("未承诺处室负责人-{year}年度.xlsx"),
        bytes,
    ))
}

// ---- figures ----

#[derive(Template)]
#[template(path = "pledges/stats.html")]
struct StatsPage {
    ctx: PageCtx,
    s: Stats,
    years: Vec<i64>,
}

#[derive(serde::Deserialize)]
pub(super) struct YearQuery {
    year: Option<String>,
}

fn year_of(q: &YearQuery) -> AppResult<i64> {
    let mut errors = crate::error::FieldErrors::new();
    let y = store::year_param(&mut errors, q.year.as_deref());
    crate::web::filter_checked(errors)?;
    Ok(y)
}

pub(super) async fn stats_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    user.require(may_stats(&user))?;
    let year = year_of(&q)?;
    let s = views::stats(&state, &user, year).await?;
    let base = "/pledges/stats";
    web::render(&StatsPage {
        ctx: ctx(&user, "亮诺践诺统计", base, flash).crumb("亮诺践诺统计", base),
        years: years_around(year),
        s,
    })
}

pub(super) async fn stats_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    let year = year_of(&q)?;
    let s = views::stats(&state, &user, year).await?;
    let row = |kind: &str, st: &views::Stat| {
        vec![
            Cell::text(kind),
            Cell::text(&st.name),
            Cell::text(&st.category_name),
            Cell::Int(st.heads),
            Cell::Int(st.heads_pledged),
            Cell::text(st.pledge_rate()),
            Cell::Int(st.pledges),
            Cell::Int(st.feedback_n),
            Cell::text(st.average()),
            Cell::Int(st.rated()),
            Cell::text(st.fulfilled_rate()),
            Cell::text(st.partly_rate()),
            Cell::text(st.not_rate()),
        ]
    };
    let mut cells: Vec<Vec<Cell>> = s.units.iter().map(|u| row("单位", u)).collect();
    cells.extend(s.categories.iter().map(|c| row("类别", c)));
    if user.is_committee() {
        cells.push(row("全市", &s.city));
    }
    let bytes = crate::xlsx::write_table(
        "亮诺践诺统计",
        &[
            "层级",
            "名称",
            "类别",
            "处室负责人",
            "已亮诺",
            "亮诺率",
            "公开承诺数",
            "公开反馈数",
            "群众平均评分",
            "已评价",
            "践诺率",
            "部分践诺率",
            "未践诺率",
        ],
        &cells,
    )?;
    Ok(crate::xlsx::download(
        &format!("亮诺践诺统计-{year}年度.xlsx"),
        bytes,
    ))
}
