//! `/account/totp` and `/api/v1/me/totp`: setting up, confirming and turning off the
//! second factor.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::totp::{self, Status};
use crate::auth::{CurrentUser, SignedIn};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/account/totp", get(page))
        .route("/account/totp/start", post(start_page))
        .route("/account/totp/confirm", post(confirm_page))
        .route("/account/totp/disable", post(disable_page))
        .route("/account/totp/recovery-codes", post(renew_page))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_status, api_start, api_disable))
        .routes(routes!(api_confirm))
        .routes(routes!(api_renew))
}

#[derive(Template)]
#[template(path = "auth/totp.html")]
struct TotpPage {
    ctx: PageCtx,
    status: Status,
    /// Enrolment under way: the secret, its QR code (SVG as a data URL) and address.
    pending: Option<(String, String)>,
    /// Shown once, right after confirmation or renewal.
    recovery_codes: Vec<String>,
    /// The codes shown are a new set for a factor already in use.
    renewed: bool,
    error: Option<String>,
    forced: bool,
}

fn qr_data_url(svg: &str) -> String {
    use base64::Engine;
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg.as_bytes())
    )
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    recovery_codes: Vec<String>,
    error: Option<String>,
) -> AppResult<Response> {
    render_codes(state, user, flash, recovery_codes, false, error).await
}

async fn render_codes(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    recovery_codes: Vec<String>,
    renewed: bool,
    error: Option<String>,
) -> AppResult<Response> {
    let status = totp::status(state, user).await?;
    let pending = match totp::pending(state, user.user_id).await? {
        Some(secret) if !status.enabled => {
            let svg = totp::qr_svg(&totp::otpauth_url(&user.username, &secret))?;
            Some((secret, qr_data_url(&svg)))
        }
        _ => None,
    };
    let page = TotpPage {
        ctx: PageCtx::new(user, "双因素认证", "/account/totp", flash)
            .crumb("双因素认证", "/account/totp"),
        forced: user.totp_enrolment_required && recovery_codes.is_empty(),
        status,
        pending,
        recovery_codes,
        renewed,
        error,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut r = web::render(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

async fn page(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    flash: FlashIn,
) -> AppResult<Response> {
    render(&state, &user, flash, Vec::new(), None).await
}

async fn start_page(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> AppResult<Response> {
    match totp::start(&state, &user).await {
        Ok(_) => Ok(axum::response::IntoResponse::into_response(
            axum::response::Redirect::to("/account/totp"),
        )),
        Err(AppError::Conflict(m)) => {
            render(&state, &user, FlashIn(None), Vec::new(), Some(m)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CodeInput {
    /// The 6-digit code shown by the authenticator app.
    pub code: String,
    /// The caller's current password, given again: changing the second factor needs it
    /// (a wrong one counts towards the login lock).
    #[serde(default)]
    pub current_password: String,
}

fn message(e: AppError) -> Result<String, AppError> {
    match e {
        AppError::Invalid { message, fields } => Ok(fields.into_values().next().unwrap_or(message)),
        AppError::Conflict(m) | AppError::TooManyRequests(m) => Ok(m),
        e => Err(e),
    }
}

async fn confirm_page(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Form(f): Form<CodeInput>,
) -> AppResult<Response> {
    match totp::confirm(&state, &user, &f.code, &f.current_password).await {
        Ok(codes) => {
            let mut user = user;
            user.totp_enrolment_required = false;
            render(&state, &user, FlashIn(None), codes, None).await
        }
        Err(e) => {
            let m = message(e)?;
            render(&state, &user, FlashIn(None), Vec::new(), Some(m)).await
        }
    }
}

async fn disable_page(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Form(f): Form<CodeInput>,
) -> AppResult<Response> {
    match totp::disable(&state, &user, &f.code, &f.current_password).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/login",
            "已关闭双因素认证，请重新登录",
        )),
        Err(e) => {
            let m = message(e)?;
            render(&state, &user, FlashIn(None), Vec::new(), Some(m)).await
        }
    }
}

async fn renew_page(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Form(f): Form<CodeInput>,
) -> AppResult<Response> {
    match totp::renew_recovery_codes(&state, &user, &f.code, &f.current_password).await {
        Ok(codes) => render_codes(&state, &user, FlashIn(None), codes, true, None).await,
        Err(e) => {
            let m = message(e)?;
            render(&state, &user, FlashIn(None), Vec::new(), Some(m)).await
        }
    }
}

// ---- API ----

/// The caller's two-factor status.
#[utoipa::path(get, path = "/me/totp", tag = "auth", responses((status = 200, body = Status)))]
async fn api_status(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<Status>> {
    Ok(Json(totp::status(&state, &user).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Enrolment {
    /// Base32 secret, for typing into the app by hand.
    pub secret: String,
    /// The `otpauth://` address the QR code carries.
    pub otpauth_url: String,
}

/// Begin setting up two-factor authentication: a new secret, confirmed by its first code
/// and the current password. Signed-in sessions only (`403 session_required`).
#[utoipa::path(post, path = "/me/totp", tag = "auth",
    responses((status = 201, body = Enrolment), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn api_start(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> AppResult<(StatusCode, Json<Enrolment>)> {
    let secret = totp::start(&state, &user).await?;
    Ok((
        StatusCode::CREATED,
        Json(Enrolment {
            otpauth_url: totp::otpauth_url(&user.username, &secret),
            secret,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// One-time codes for when the phone is lost; shown this once, kept only as hashes.
    pub recovery_codes: Vec<String>,
}

/// Confirm set-up with the first code and the current password (`current_password`);
/// returns the recovery codes once. Signed-in sessions only (`403 session_required`); a
/// wrong password counts towards the login lock.
#[utoipa::path(post, path = "/me/totp/confirm", tag = "auth", request_body = CodeInput,
    responses((status = 200, body = RecoveryCodes), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn api_confirm(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Json(f): Json<CodeInput>,
) -> AppResult<Json<RecoveryCodes>> {
    Ok(Json(RecoveryCodes {
        recovery_codes: totp::confirm(&state, &user, &f.code, &f.current_password).await?,
    }))
}

/// Turn two-factor authentication off (not for roles that require it), with a current
/// code and the current password. Signed-in sessions only (`403 session_required`).
#[utoipa::path(delete, path = "/me/totp", tag = "auth", request_body = CodeInput,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn api_disable(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Json(f): Json<CodeInput>,
) -> AppResult<StatusCode> {
    totp::disable(&state, &user, &f.code, &f.current_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new set of recovery codes, confirmed with the current password and a current code (or
/// an old recovery code); the old set stops working. A wrong password or code counts
/// towards the login lock. Signed-in sessions only (`403 session_required`).
#[utoipa::path(post, path = "/me/totp/recovery-codes", tag = "auth", request_body = CodeInput,
    responses((status = 200, body = RecoveryCodes), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn api_renew(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Json(f): Json<CodeInput>,
) -> AppResult<Json<RecoveryCodes>> {
    Ok(Json(RecoveryCodes {
        recovery_codes: totp::renew_recovery_codes(&state, &user, &f.code, &f.current_password)
            .await?,
    }))
}
