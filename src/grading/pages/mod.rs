//! 评分标准 pages: the versions, one version read on any screen, and the committee's draft
//! editor with publish and delete.

pub(super) mod assessments;
mod editor;
mod standard;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::may_edit;
use super::rules;
use super::store::{self, CopyInput, StandardFilter, StandardInfo};
use crate::auth::CurrentUser;
use crate::clock::fmt_time;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/grading/standards", get(list_page).post(copy_page))
        .route(
            "/grading/standards/{id}",
            get(standard::detail_page).post(editor::save_page),
        )
        .route("/grading/standards/{id}/edit", get(editor::edit_page))
        .route("/grading/standards/{id}/export", get(standard::export_page))
        .route(
            "/grading/standards/{id}/publish",
            post(standard::publish_page),
        )
        .route(
            "/grading/standards/{id}/delete",
            post(standard::delete_page),
        )
        .route("/grading/cycles", post(assessments::open_page))
        .route("/grading/categories", get(assessments::categories_page))
        .route("/grading/assessments", get(assessments::list_page))
        .route("/grading/assessments/export", get(assessments::export_list))
        .route(
            "/grading/assessments/accept-category",
            post(assessments::accept_category_page),
        )
        .route("/grading/assessments/{id}", get(assessments::detail_page))
        .route(
            "/grading/assessments/{id}/export",
            get(assessments::export_one),
        )
        .route(
            "/grading/assessments/{id}/self-check",
            post(assessments::self_check_page),
        )
        .route(
            "/grading/assessments/{id}/review",
            post(assessments::review_page),
        )
        .route(
            "/grading/assessments/{id}/verdict",
            post(assessments::committee_page),
        )
        .route(
            "/grading/assessments/{id}/vetoes",
            post(assessments::veto_page),
        )
        .route(
            "/grading/assessments/{id}/vetoes/{code}/delete",
            post(assessments::clear_veto_page),
        )
        .route(
            "/grading/assessments/{id}/rectification",
            post(assessments::rectify_page),
        )
        .route(
            "/grading/assessments/{id}/rectification/{item}/done",
            post(assessments::rectified_page),
        )
        .route(
            "/grading/assessments/{id}/applications",
            post(assessments::apply_page),
        )
        .route(
            "/grading/assessments/{id}/applications/{app}/decide",
            post(assessments::decide_page),
        )
}

pub(super) const LIST: &str = "/grading/standards";

pub(super) fn ctx(user: &CurrentUser, title: &str, path: &str, flash: FlashIn) -> PageCtx {
    PageCtx::new(user, title, path, flash)
        .crumb("分级定档", LIST)
        .crumb("评分标准", LIST)
}

// ---- the versions ----

#[derive(Template)]
#[template(path = "grading/standards.html")]
struct StandardsPage {
    ctx: PageCtx,
    rows: Vec<StandardInfo>,
    year: String,
    status: String,
    years: Vec<i64>,
    statuses: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    /// For the new-draft form: every version to copy from, and the years offered.
    sources: Vec<(i64, String)>,
    new_years: Vec<i64>,
    error: Option<String>,
}

impl StandardsPage {
    fn time(&self, t: &Option<i64>) -> String {
        t.map(fmt_time).unwrap_or_default()
    }
}

async fn list_render(
    state: &AppState,
    user: &CurrentUser,
    f: &StandardFilter,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    let rows = store::list(state, user, f).await?;
    let all = store::list(state, user, &StandardFilter::default()).await?;
    let mut years: Vec<i64> = all.iter().map(|s| s.year).collect();
    years.dedup();
    let sources = all
        .iter()
        .map(|s| {
            (
                s.standard_id,
                format!(
                    "{}年第{}版 {}（{}）",
                    s.year,
                    s.version,
                    s.title,
                    s.status.label()
                ),
            )
        })
        .collect();
    let page = StandardsPage {
        ctx: ctx(user, "评分标准", LIST, flash),
        rows,
        year: f.year.clone().unwrap_or_default(),
        status: f.status.clone().unwrap_or_default(),
        years,
        statuses: rules::StandardStatus::options(),
        can_edit: may_edit(user),
        sources,
        new_years: store::years_ahead(),
        error: error.clone(),
    };
    if error.is_some() {
        web::render_invalid(&page)
    } else {
        web::render(&page)
    }
}

async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<StandardFilter>,
) -> AppResult<Response> {
    list_render(&state, &user, &f, flash, None).await
}

#[derive(Deserialize)]
struct CopyForm {
    from_id: String,
    year: String,
}

async fn copy_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<CopyForm>,
) -> AppResult<Response> {
    let input = CopyInput {
        from_id: f.from_id.trim().parse().unwrap_or(0),
        year: f.year.trim().parse().unwrap_or(0),
    };
    match store::copy(&state, &user, &input).await {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("{LIST}/{id}/edit"),
            "已复制为新的草稿，修改后请发布",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            list_render(
                &state,
                &user,
                &StandardFilter::default(),
                FlashIn(None),
                Some(msg),
            )
            .await
        }
        Err(e) => Err(e),
    }
}
