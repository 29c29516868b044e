//! 扫码签到's JSON API: open a sign-in, read its current code and who has signed, close it,
//! and scan — the same store calls and permissions as the pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::rules::Direction;
use super::store::{self, Scanned, Signed};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_session))
        .routes(routes!(get_session))
        .routes(routes!(close_session))
        .routes(routes!(scan))
}

#[derive(Deserialize, ToSchema)]
pub struct OpenInput {
    /// meeting | need
    pub kind: String,
    pub target_id: i64,
    /// in (default) | out
    #[serde(default)]
    pub direction: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Opened {
    pub checkin_session_id: i64,
}

/// Open a sign-in (or a sign-out) of a meeting or an activity, as its organiser; the one
/// already open is returned rather than a second.
#[utoipa::path(post, path = "/checkin/sessions", tag = "checkin", request_body = OpenInput, responses((status = 201, body = Opened), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn open_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<OpenInput>,
) -> AppResult<(StatusCode, Json<Opened>)> {
    let direction = match input.direction.as_deref().map(str::trim) {
        None | Some("") => Direction::In,
        Some(d) => Direction::parse(d).ok_or_else(|| {
            AppError::field("direction", "签到方向只能是 in（签到）或 out（签退）")
        })?,
    };
    let id = store::open(&state, &user, &input.kind, input.target_id, direction).await?;
    Ok((
        StatusCode::CREATED,
        Json(Opened {
            checkin_session_id: id,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub checkin_session_id: i64,
    pub kind: String,
    pub target_id: i64,
    pub title: String,
    pub direction: Direction,
    pub open: bool,
    /// Unix seconds.
    pub expires_at: i64,
    /// The current code (good for 10–20 s) and the path the QR code holds.
    pub code: Option<String>,
    pub scan_path: Option<String>,
    pub signed: Vec<Signed>,
    /// The expected who have not signed in this direction, `[member_id, name]`.
    pub missing: Vec<(i64, String)>,
}

/// A sign-in as its organiser sees it: the current code, who has signed and who not.
#[utoipa::path(get, path = "/checkin/sessions/{id}", tag = "checkin", responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<SessionView>> {
    let l = store::live(&state, &user, id).await?;
    let t = crate::clock::now();
    let open = l.session.is_open(t);
    let code = open.then(|| store::code(&state, id, t));
    Ok(Json(SessionView {
        checkin_session_id: id,
        kind: l.session.kind.clone(),
        target_id: l.session.target_id,
        title: l.target.title.clone(),
        direction: l.session.direction(),
        open,
        expires_at: l.session.expires_at,
        scan_path: code.as_ref().map(|c| format!("/checkin/s/{id}?c={c}")),
        code,
        missing: l.missing().into_iter().cloned().collect(),
        signed: l.signed,
    }))
}

/// End a sign-in before its time.
#[utoipa::path(post, path = "/checkin/sessions/{id}/close", tag = "checkin", responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    store::close(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ScanInput {
    pub checkin_session_id: i64,
    /// The code the QR code carried.
    pub code: String,
}

/// Sign in (or out) with a scanned code, as the member signed in; scanning twice changes
/// nothing.
#[utoipa::path(post, path = "/checkin/scan", tag = "checkin", request_body = ScanInput, responses((status = 200, body = Scanned), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn scan(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<ScanInput>,
) -> AppResult<Json<Scanned>> {
    Ok(Json(
        store::scan(&state, &user, input.checkin_session_id, &input.code).await?,
    ))
}
