//! 类别落实情况 (the committee): every category's plans and gaps for a year, and one
//! category's requirements with each unit's tasks and latest progress under them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::ctx;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::guidance::plans::year_param;
use crate::guidance::views::{self, CategoryFilter, CategorySummary, CategoryView};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

const LIST: &str = "/guidance/categories";

fn years_around(year: i64) -> Vec<i64> {
    let this = i64::from(crate::clock::today().year());
    let mut ys: Vec<i64> = (this - 2..=this + 1).collect();
    if !ys.contains(&year) {
        ys.push(year);
    }
    ys.sort_unstable_by(|a, b| b.cmp(a));
    ys
}

#[derive(Template)]
#[template(path = "guidance/categories.html")]
struct OverviewPage {
    ctx: PageCtx,
    rows: Vec<CategorySummary>,
    year: i64,
    years: Vec<i64>,
    published: bool,
}

#[derive(serde::Deserialize)]
pub(super) struct YearQuery {
    year: Option<String>,
}

pub(super) async fn overview_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let year = year_param(&mut errors, q.year.as_deref());
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let rows = views::overview(&state, &user, year).await?;
    web::render(&OverviewPage {
        ctx: ctx(&user, "类别落实情况", LIST, flash).crumb("类别落实情况", LIST),
        rows,
        year,
        years: years_around(year),
        published: crate::guidance::store::published(&state, year)
            .await?
            .is_some(),
    })
}

#[derive(Template)]
#[template(path = "guidance/category.html")]
struct CategoryPage {
    ctx: PageCtx,
    v: CategoryView,
    f: CategoryFilter,
    years: Vec<i64>,
    pager: Pager,
    query: String,
}

impl CategoryPage {
    fn gaps_only(&self) -> bool {
        self.f.gaps.as_deref() == Some("1")
    }
}

pub(super) async fn category_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
    Query(f): Query<CategoryFilter>,
) -> AppResult<Response> {
    let v = views::category_view(&state, &user, id, &f).await?;
    let query = web::query_string(&[
        ("year", v.year.to_string()),
        ("q", f.q.clone().unwrap_or_default()),
        ("gaps", f.gaps.clone().unwrap_or_default()),
    ]);
    let base = format!("{LIST}/{id}");
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let title = format!("{} · {}年度落实情况", v.name, v.year);
    web::render(&CategoryPage {
        ctx: ctx(&user, &title, &base, flash)
            .crumb("类别落实情况", format!("{LIST}?year={}", v.year))
            .crumb(v.name.clone(), ""),
        pager: Pager::new(&paging, v.total, &base, &query),
        years: years_around(v.year),
        query,
        v,
        f,
    })
}

/// The category view as .xlsx, every unit of the filter: one row per item, unit and task
/// (a unit without a task for an item is a row marked 缺项).
pub(super) async fn category_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(f): Query<CategoryFilter>,
) -> AppResult<Response> {
    use crate::xlsx::Cell;
    let f = CategoryFilter {
        page: Some(1),
        per_page: Some(i64::MAX / 2),
        ..f
    };
    let v = views::category_view(&state, &user, id, &f).await?;
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for r in v.requirements.iter().chain(v.common.iter()) {
        for u in &r.units {
            if u.tasks.is_empty() {
                rows.push(vec![
                    Cell::Text(r.item.tag()),
                    Cell::text(&r.item.body),
                    Cell::text(&u.unit_name),
                    Cell::text("缺项"),
                    Cell::text(""),
                    Cell::text(""),
                    Cell::text(""),
                    Cell::text(""),
                ]);
            }
            for t in &u.tasks {
                let (q, status, body) = match &t.latest {
                    Some(p) => (
                        format!("第{}季度", p.quarter),
                        p.status.label().to_string(),
                        p.body.clone(),
                    ),
                    None => (String::new(), "未填报".to_string(), String::new()),
                };
                rows.push(vec![
                    Cell::Text(r.item.tag()),
                    Cell::text(&r.item.body),
                    Cell::text(&u.unit_name),
                    Cell::text(&t.title),
                    Cell::text(&t.owner),
                    Cell::date_or_text(&t.deadline),
                    Cell::Text(format!("{q}{status}")),
                    Cell::Text(body),
                ]);
            }
        }
    }
    let bytes = crate::xlsx::write_table(
        "类别落实情况",
        &[
            "条目",
            "内容",
            "单位",
            "任务",
            "责任人",
            "完成时限",
            "最新进展",
            "进展情况",
        ],
        &rows,
    )?;
    Ok(crate::xlsx::download(
        &format!("{}-{}年度落实情况.xlsx", v.name, v.year),
        bytes,
    ))
}
