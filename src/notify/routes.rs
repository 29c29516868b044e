//! 消息提醒: the notification centre's page and API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Notification;
use crate::auth::{CurrentUser, SignedIn};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(page))
        .route("/notifications/read-all", post(read_all_page))
        // A link (GET) so each reminder opens, in this tab or a new one, the record or
        // list it is about; POST stays for forms of older pages.
        .route("/notifications/{id}/open", get(open_page).post(open_page))
        .route("/notifications/email", post(email_page))
}

#[derive(Deserialize, IntoParams)]
pub struct InboxQuery {
    /// 1: unread only
    pub unread: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Template)]
#[template(path = "notify/list.html")]
struct InboxPage {
    ctx: PageCtx,
    rows: Vec<Notification>,
    pager: Pager,
    unread_only: bool,
    email: String,
    mail_on: bool,
    system_admin: bool,
    error: Option<String>,
}

impl InboxPage {
    fn time(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }

    /// The words of a reminder's link, when it leads to a page of its own.
    fn target(&self, n: &Notification) -> Option<&'static str> {
        internal(&n.href).then_some("查看")
    }
}

/// Only paths inside this site are followed.
fn internal(href: &str) -> bool {
    href.starts_with('/') && !href.starts_with("//") && !href.starts_with("/\\")
}

async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<InboxQuery>,
) -> AppResult<Response> {
    render(&state, &user, flash, q, None).await
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    q: InboxQuery,
    error: Option<String>,
) -> AppResult<Response> {
    let p = Paging {
        page: q.page,
        per_page: q.per_page,
    };
    let unread_only = q.unread.as_deref() == Some("1");
    let (rows, total) = super::list(state, user, unread_only, p.per_page(), p.offset()).await?;
    let qs = if unread_only { "unread=1" } else { "" };
    web::render(&InboxPage {
        ctx: PageCtx::new(user, "消息提醒", "/notifications", flash)
            .crumb("消息提醒", "/notifications"),
        pager: Pager::new(&p, total, "/notifications", qs),
        rows,
        unread_only,
        email: super::email_of(state, user.user_id).await?,
        mail_on: state.config.smtp_url.is_some(),
        system_admin: user.is_system_admin(),
        error,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct EmailForm {
    /// Where the daily digest goes; empty to stop it.
    #[serde(default)]
    pub email: String,
    /// The caller's current password, given again (a wrong one counts towards the login lock).
    #[serde(default)]
    pub current_password: String,
}

async fn email_page(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    axum::Form(f): axum::Form<EmailForm>,
) -> AppResult<Response> {
    match super::set_email(&state, &user, &f.email, &f.current_password).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/notifications",
            if f.email.trim().is_empty() {
                "已取消邮件提醒"
            } else {
                "已保存：每日提醒将汇总发送到该邮箱"
            },
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            let q = InboxQuery {
                unread: None,
                page: None,
                per_page: None,
            };
            Ok(web::invalid(
                render(&state, &user, FlashIn(None), q, Some(msg)).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn read_all_page(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    let n = super::mark_all_read(&state, &user).await?;
    Ok(web::redirect_with_flash(
        "/notifications",
        &format!("已将 {n} 条消息标为已读"),
    ))
}

/// Marks the notification read and goes where it points.
async fn open_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let href = super::mark_read(&state, &user, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let to = if internal(&href) {
        href
    } else {
        "/notifications".into()
    };
    Ok(axum::response::IntoResponse::into_response(
        axum::response::Redirect::to(&to),
    ))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list))
        .routes(routes!(api_read))
        .routes(routes!(api_read_all))
        .routes(routes!(api_email))
}

/// Set where the caller's daily digest goes (empty to stop it), with the current password
/// (`current_password`). Signed-in sessions only (`403 session_required`).
#[utoipa::path(put, path = "/me/email", tag = "auth", request_body = EmailForm, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn api_email(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Json(f): Json<EmailForm>,
) -> AppResult<StatusCode> {
    super::set_email(&state, &user, &f.email, &f.current_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Inbox {
    pub items: Vec<Notification>,
    pub total: i64,
    pub unread: i64,
}

/// The caller's notifications, unread first.
#[utoipa::path(get, path = "/notifications", tag = "auth", params(InboxQuery), responses((status = 200, body = Inbox)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<InboxQuery>,
) -> AppResult<Json<Inbox>> {
    let p = Paging {
        page: q.page,
        per_page: q.per_page,
    };
    let (items, total) = super::list(
        &state,
        &user,
        q.unread.as_deref() == Some("1"),
        p.per_page(),
        p.offset(),
    )
    .await?;
    Ok(Json(Inbox {
        items,
        total,
        unread: super::unread_count(&state, user.user_id).await?,
    }))
}

/// Mark one notification read.
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "auth", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn api_read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    super::mark_read(&state, &user, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark all of the caller's notifications read.
#[utoipa::path(post, path = "/notifications/read-all", tag = "auth", responses((status = 204)))]
async fn api_read_all(State(state): State<AppState>, user: CurrentUser) -> AppResult<StatusCode> {
    super::mark_all_read(&state, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
