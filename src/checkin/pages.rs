//! The organiser's screen (a QR code redrawn every few seconds, who has signed and who not)
//! and the member's scan (the address the QR code holds).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;

use super::rules::{self, Direction};
use super::store::{self, Live, Scanned};
use crate::auth::client::ClientInfo;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/checkin/{kind}/{target}/open", post(open_page))
        .route("/checkin/sessions/{id}", get(show_page))
        .route("/checkin/sessions/{id}/live", get(live_fragment))
        .route("/checkin/sessions/{id}/close", post(close_page))
        .route("/checkin/s/{id}", get(scan_page))
}

#[derive(Deserialize)]
struct OpenForm {
    #[serde(default)]
    direction: String,
}

async fn open_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((kind, target)): Path<(String, i64)>,
    Form(f): Form<OpenForm>,
) -> AppResult<Response> {
    let direction = if f.direction.trim().is_empty() {
        Direction::In
    } else {
        Direction::parse(&f.direction)
            .ok_or_else(|| AppError::invalid("签到方向只能是签到或签退"))?
    };
    let id = store::open(&state, &user, &kind, target, direction).await?;
    Ok(axum::response::Redirect::to(&format!("/checkin/sessions/{id}")).into_response())
}

/// The part of the organiser's screen redrawn every few seconds.
#[derive(Template)]
#[template(path = "checkin/live.html")]
struct LiveView {
    open: bool,
    direction: &'static str,
    /// The address the QR code holds, and the code as SVG.
    url: String,
    qr: String,
    signed: Vec<(String, String)>,
    missing: Vec<String>,
    expected: usize,
    redraw: i64,
}

fn live_view(state: &AppState, l: &Live, origin: &str) -> AppResult<LiveView> {
    let t = crate::clock::now();
    let id = l.session.checkin_session_id;
    let open = l.session.is_open(t);
    let url = format!("{origin}/checkin/s/{id}?c={}", store::code(state, id, t));
    let qr = if open {
        crate::auth::totp::qr_svg(&url)?
    } else {
        String::new()
    };
    Ok(LiveView {
        open,
        direction: l.session.direction().label(),
        url,
        qr,
        signed: l
            .signed
            .iter()
            .rev()
            .map(|s| (s.name.clone(), crate::clock::fmt_time(s.at)))
            .collect(),
        missing: l.missing().into_iter().map(|(_, n)| n.clone()).collect(),
        expected: l.target.expected.len(),
        redraw: rules::REDRAW_SECONDS,
    })
}

#[derive(Template)]
#[template(path = "checkin/show.html")]
struct ShowPage {
    ctx: PageCtx,
    id: i64,
    title: String,
    back: String,
    next: Vec<(String, String)>,
    kind: &'static str,
    target_id: i64,
    /// Whether a sign-out may follow (activities) and this screen is the sign-in.
    offer_sign_out: bool,
    open: bool,
    live: String,
    redraw: i64,
}

async fn show_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    headers: HeaderMap,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let l = store::live(&state, &user, id).await?;
    let origin = web::origin(&headers, &client);
    let live = live_view(&state, &l, &origin)?;
    let open = live.open;
    let title = format!("扫码{}", l.session.direction().label());
    web::render(&ShowPage {
        ctx: PageCtx::new(&user, &title, &l.target.back, flash)
            .crumb(l.target.title.clone(), l.target.back.clone())
            .crumb(title.clone(), ""),
        id,
        title: l.target.title.clone(),
        back: l.target.back.clone(),
        next: l.target.next.clone(),
        kind: l.kind.key,
        target_id: l.session.target_id,
        offer_sign_out: l.kind.sign_out && l.session.direction() == Direction::In,
        open,
        live: live.render().map_err(|e| AppError::Internal(e.into()))?,
        redraw: rules::REDRAW_SECONDS,
    })
}

async fn live_fragment(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let l = store::live(&state, &user, id).await?;
    let origin = web::origin(&headers, &client);
    web::render(&live_view(&state, &l, &origin)?)
}

async fn close_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let l = store::live(&state, &user, id).await?;
    store::close(&state, &user, id).await?;
    Ok(web::redirect_with_flash(
        &format!("/checkin/sessions/{id}"),
        &format!(
            "已结束扫码{}，共{}人",
            l.session.direction().label(),
            l.signed.len()
        ),
    ))
}

#[derive(Deserialize)]
struct ScanQuery {
    c: Option<String>,
}

#[derive(Template)]
#[template(path = "checkin/scan.html")]
struct ScanPage {
    ctx: PageCtx,
    ok: Option<Scanned>,
    refusal: Option<String>,
}

impl ScanPage {
    fn at(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
}

/// The address the QR code holds. Opening it signs the member in: no second tap, since the
/// code it carries is only good for seconds. A refusal is a page saying why, in Chinese.
async fn scan_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<ScanQuery>,
) -> AppResult<Response> {
    let code = q.c.unwrap_or_default();
    let (ok, refusal, status) = match store::scan(&state, &user, id, &code).await {
        Ok(s) => (Some(s), None, StatusCode::OK),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_) | AppError::Refused(_))) => {
            (None, Some(e.to_string()), e.status())
        }
        Err(e) => return Err(e),
    };
    let title = match &ok {
        Some(s) if s.already => format!("已{}", s.direction.label()),
        Some(s) => format!("{}成功", s.direction.label()),
        None => "未能签到".to_string(),
    };
    let mut r = web::render(&ScanPage {
        ctx: PageCtx::new(&user, &title, "/", FlashIn(None)),
        ok,
        refusal,
    })?;
    *r.status_mut() = status;
    Ok(r)
}
