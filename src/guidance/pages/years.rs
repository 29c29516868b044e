//! 共性目标与个性要求 by year: the list, a year on any screen, the committee's editor (one
//! item per line), publish, delete, copy to another year, and the export.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;

use super::{ctx, field, refusal, time, with_status};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::guidance::may_edit_items;
use crate::guidance::store::{self, CategoryItemsInput, ItemsInput, NewYear, Year, YearInfo};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

const LIST: &str = "/guidance/years";

#[derive(Template)]
#[template(path = "guidance/years.html")]
struct YearsPage {
    ctx: PageCtx,
    rows: Vec<YearInfo>,
    can_edit: bool,
    /// Years a new draft may be made for, and the years to copy from.
    open_years: Vec<i64>,
    sources: Vec<i64>,
    error: Option<String>,
}

impl YearsPage {
    fn time(&self, t: &Option<i64>) -> String {
        time(t)
    }
}

async fn list_render(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let rows = store::list_years(state, user).await?;
    let page = YearsPage {
        ctx: ctx(user, "共性目标与个性要求", LIST, flash).crumb("共性目标与个性要求", LIST),
        sources: rows.iter().map(|r| r.year).collect(),
        rows,
        can_edit: may_edit_items(user),
        open_years: if may_edit_items(user) {
            store::years_open(state).await?
        } else {
            Vec::new()
        },
        error: error.as_ref().map(|e| e.1.clone()),
    };
    Ok(with_status(web::render(&page)?, error.map(|e| e.0)))
}

pub(super) async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    list_render(&state, &user, flash, None).await
}

pub(super) async fn create_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let from = field(&pairs, "from_year");
    let input = NewYear {
        year: field(&pairs, "year").trim().parse().unwrap_or(0),
        from_year: from.trim().parse().ok(),
    };
    match store::create_year(&state, &user, &input).await {
        Ok(year) => Ok(web::redirect_with_flash(
            &format!("{LIST}/{year}"),
            "已新建草稿：请逐条核对修改，确认无误后发布",
        )),
        Err(e) => {
            let r = refusal(e)?;
            list_render(&state, &user, FlashIn(None), Some(r)).await
        }
    }
}

#[derive(Template)]
#[template(path = "guidance/year.html")]
struct YearPage {
    ctx: PageCtx,
    y: Year,
    can_edit: bool,
    /// The committee may copy a published year to one of these.
    copy_years: Vec<i64>,
    /// A unit admin may go on to write its plan.
    may_plan: bool,
    error: Option<String>,
}

impl YearPage {
    fn time(&self, t: &Option<i64>) -> String {
        time(t)
    }
    fn lines(items: &[store::Item]) -> String {
        items
            .iter()
            .map(|i| i.body.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn detail_render(
    state: &AppState,
    user: &CurrentUser,
    year: i64,
    flash: FlashIn,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let y = store::get_year(state, user, year).await?;
    let title = format!("{year}年度共性目标和个性要求");
    let page = YearPage {
        ctx: ctx(user, &title, &format!("{LIST}/{year}"), flash)
            .crumb("共性目标与个性要求", LIST)
            .crumb(title.clone(), ""),
        can_edit: may_edit_items(user) && y.info.is_draft(),
        copy_years: if may_edit_items(user) && !y.info.is_draft() {
            store::years_open(state)
                .await?
                .into_iter()
                .filter(|v| *v > year)
                .collect()
        } else {
            Vec::new()
        },
        may_plan: crate::guidance::may_write_plans(user),
        y,
        error: error.as_ref().map(|e| e.1.clone()),
    };
    Ok(with_status(web::render(&page)?, error.map(|e| e.0)))
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(year): Path<i64>,
) -> AppResult<Response> {
    detail_render(&state, &user, year, flash, None).await
}

fn lines_of(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).take(200).collect()
}

pub(super) async fn save_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let categories = pairs
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("category_")?.parse().ok()?;
            Some(CategoryItemsInput {
                category_id: id,
                items: lines_of(v),
            })
        })
        .take(100)
        .collect();
    let input = ItemsInput {
        row_version: field(&pairs, "row_version").trim().parse().unwrap_or(-1),
        common: lines_of(&field(&pairs, "common")),
        categories,
    };
    match store::save_year(&state, &user, year, &input).await {
        Ok(_) => Ok(web::redirect_with_flash(
            &format!("{LIST}/{year}"),
            crate::messages::SAVED,
        )),
        Err(e) => {
            let r = refusal(e)?;
            detail_render(&state, &user, year, FlashIn(None), Some(r)).await
        }
    }
}

pub(super) async fn publish_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let v = field(&pairs, "row_version").trim().parse().unwrap_or(-1);
    match store::publish_year(&state, &user, year, v).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("{LIST}/{year}"),
            "已发布：此后不可修改，各单位可据此编制年度党建工作计划",
        )),
        Err(e) => {
            let r = refusal(e)?;
            detail_render(&state, &user, year, FlashIn(None), Some(r)).await
        }
    }
}

pub(super) async fn delete_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let v = field(&pairs, "row_version").trim().parse().unwrap_or(-1);
    match store::delete_year(&state, &user, year, Some(v)).await {
        Ok(()) => Ok(web::redirect_with_flash(LIST, "草稿已删除")),
        Err(e) => {
            let r = refusal(e)?;
            detail_render(&state, &user, year, FlashIn(None), Some(r)).await
        }
    }
}

/// A year's items as .xlsx: 类别, 序号, 内容 — the lists the caller may read.
pub(super) async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i64>,
) -> AppResult<Response> {
    use crate::xlsx::Cell;
    let y = store::get_year(&state, &user, year).await?;
    let mut rows: Vec<Vec<Cell>> = y
        .common
        .iter()
        .map(|i| {
            vec![
                Cell::text("共性目标"),
                Cell::text("一坚持六着力"),
                Cell::Int(i.position),
                Cell::text(&i.body),
            ]
        })
        .collect();
    for c in &y.categories {
        for i in &c.items {
            rows.push(vec![
                Cell::text(&c.name),
                Cell::text(&c.requirement_title),
                Cell::Int(i.position),
                Cell::text(&i.body),
            ]);
        }
    }
    let bytes = crate::xlsx::write_table("目标要求", &["类别", "要求名称", "序号", "内容"], &rows)?;
    Ok(crate::xlsx::download(
        &format!("共性目标和个性要求-{year}年度.xlsx"),
        bytes,
    ))
}
