//! Login, logout, password change and API tokens — as pages and as `/api/v1`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::{self, Entry};
use crate::auth::client::ClientInfo;
use crate::auth::login::{
    authenticate, check_current_password, finish_login, has_totp, second_factor,
};
use crate::auth::{session, store, CurrentUser, MaybeUser, SignedIn};
use crate::clock::now;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/login/totp", post(login_totp_submit))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(password_submit))
        .route("/account/tokens", get(tokens_page).post(tokens_create))
        .route("/account/tokens/{id}/revoke", post(tokens_revoke))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_login, api_logout))
        .routes(routes!(api_me))
        .routes(routes!(api_change_password))
        .routes(routes!(api_tokens_list, api_tokens_create))
        .routes(routes!(api_tokens_revoke))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    next: String,
    username: String,
    error: Option<String>,
    notice: Option<String>,
    /// The second step: the password passed, the code is asked for.
    totp_step: bool,
    /// The account is guarded against guessing from many addresses and this address is not
    /// one of its own: the code is asked for with the password, in one step.
    code_first: bool,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// Only same-site paths are followed after login: a path that starts with one `/` and holds
/// no backslash and no control character. Browsers drop tabs and newlines from a URL and
/// read `\` as `/`, so `/\t/evil.example` or `/\\evil.example` would lead off-site.
fn safe_next(next: Option<&str>) -> String {
    let ok = |n: &str| {
        n.starts_with('/')
            && !n[1..].starts_with('/')
            && !n.contains('\\')
            && !n.chars().any(char::is_control)
    };
    match next {
        Some(n) if ok(n) => n.to_string(),
        _ => "/".into(),
    }
}

async fn login_page(Query(q): Query<LoginQuery>, FlashIn(flash): FlashIn) -> AppResult<Response> {
    web::render(&LoginPage {
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
        notice: flash.map(|f| f.text),
        totp_step: false,
        code_first: false,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    /// Given with the password when the page asked for it (`code_first`).
    #[serde(default)]
    code: Option<String>,
    next: Option<String>,
}

const MFA_COOKIE: &str = "yaoshi_mfa";
/// Seconds a password stays good for entering the code.
const CHALLENGE_SECONDS: i64 = 300;

fn mfa_cookie(token: &str, secure: bool, max_age: i64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{MFA_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

fn logged_in(token: &str, client: &ClientInfo, to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    for c in [
        session::session_cookie(token, client.https),
        mfa_cookie("", client.https, 0),
    ] {
        if let Ok(v) = c.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

fn login_error(
    e: AppError,
    username: String,
    next: String,
    totp_step: bool,
) -> AppResult<Response> {
    // On the first step, a guarded account's refusal, or a wrong code given with the
    // password, asks for the code again beside the password.
    let code_first = !totp_step
        && match &e {
            AppError::CodeFirst(_) => true,
            AppError::Invalid { fields, .. } => fields.contains_key("code"),
            _ => false,
        };
    match e {
        AppError::BadCredentials
        | AppError::TooManyRequests(_)
        | AppError::CodeFirst(_)
        | AppError::Invalid { .. } => {
            let status = e.status();
            let message = match e {
                AppError::Invalid { fields, message } => {
                    fields.into_values().next().unwrap_or(message)
                }
                other => other.to_string(),
            };
            let page = LoginPage {
                next,
                username,
                error: Some(message),
                notice: None,
                totp_step,
                code_first,
            };
            Ok((status, web::render(&page)?).into_response())
        }
        e => Err(e),
    }
}

async fn login_submit(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: axum::http::HeaderMap,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(f.next.as_deref());
    let passed = match authenticate(
        &state,
        &f.username,
        &f.password,
        f.code.as_deref(),
        &client.ip,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return login_error(e, f.username, next, false),
    };
    let u = passed.user;
    if !passed.code_checked && has_totp(&state, u.user_id).await? {
        // Remember the passed password for a few minutes, under a random id of its own.
        let token = session::random_token();
        let t = now();
        sqlx::query("delete from login_challenge where created_at < $1 or user_id = $2")
            .bind(t - CHALLENGE_SECONDS)
            .bind(u.user_id)
            .execute(&state.db.pool)
            .await?;
        sqlx::query(
            "insert into login_challenge (challenge_hash, user_id, created_at, ip) values ($1, $2, $3, $4)",
        )
        .bind(session::token_hash(&token))
        .bind(u.user_id)
        .bind(t)
        .bind(client.ip.clone())
        .execute(&state.db.pool)
        .await?;
        let page = LoginPage {
            next,
            username: u.username.clone(),
            error: None,
            notice: None,
            totp_step: true,
            code_first: false,
        };
        return Ok((
            [(
                header::SET_COOKIE,
                mfa_cookie(&token, client.https, CHALLENGE_SECONDS),
            )],
            web::render(&page)?,
        )
            .into_response());
    }
    let previous = session::cookie_value(&headers, session::COOKIE);
    let factors = if passed.code_checked {
        "动态验证码+密码"
    } else {
        "密码"
    };
    let token = finish_login(&state, &u, &client, previous.as_deref(), factors).await?;
    let to = if u.must_change_password != 0 {
        "/password".to_string()
    } else {
        next
    };
    Ok(logged_in(&token, &client, &to))
}

#[derive(Deserialize)]
struct TotpForm {
    code: String,
    next: Option<String>,
}

async fn login_totp_submit(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: axum::http::HeaderMap,
    Form(f): Form<TotpForm>,
) -> AppResult<Response> {
    let next = safe_next(f.next.as_deref());
    let expired = || web::redirect_with_flash("/login", "验证已超时，请重新输入用户名和密码");
    let Some(token) = session::cookie_value(&headers, MFA_COOKIE).filter(|t| !t.is_empty()) else {
        return Ok(expired());
    };
    let hash = session::token_hash(&token);
    let row: Option<(i64, i64)> =
        sqlx::query_as("select user_id, created_at from login_challenge where challenge_hash = $1")
            .bind(hash.clone())
            .fetch_optional(&state.db.pool)
            .await?;
    let Some((user_id, created_at)) = row.filter(|(_, at)| now() - at <= CHALLENGE_SECONDS) else {
        return Ok(expired());
    };
    let _ = created_at;
    let u = store::find_by_id(&state, user_id)
        .await?
        .filter(|u| u.disabled == 0);
    let Some(u) = u else {
        return Ok(expired());
    };
    if let Err(e) = second_factor(&state, &u, &f.code, &client.ip).await {
        if matches!(e, AppError::TooManyRequests(_)) {
            sqlx::query("delete from login_challenge where challenge_hash = $1")
                .bind(hash)
                .execute(&state.db.pool)
                .await?;
            return login_error(e, u.username, next, false);
        }
        return login_error(e, u.username, next, true);
    }
    sqlx::query("delete from login_challenge where challenge_hash = $1")
        .bind(hash)
        .execute(&state.db.pool)
        .await?;
    let previous = session::cookie_value(&headers, session::COOKIE);
    let token = finish_login(&state, &u, &client, previous.as_deref(), "密码+动态验证码").await?;
    let to = if u.must_change_password != 0 {
        "/password".to_string()
    } else {
        next
    };
    Ok(logged_in(&token, &client, &to))
}

async fn logout(
    State(state): State<AppState>,
    client: ClientInfo,
    MaybeUser(user): MaybeUser,
) -> AppResult<Response> {
    if let Some(u) = user {
        if let Some(h) = &u.session_hash {
            session::delete(&state, h).await?;
        }
        audit::record_alone(
            &state.db,
            &u.actor(),
            Entry::new("logout", "user", u.user_id, "退出登录"),
        )
        .await?;
    }
    let mut r = web::redirect_with_flash("/login", "已退出登录");
    if let Ok(v) = session::clear_session_cookie(client.https).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Template)]
#[template(path = "auth/password.html")]
struct PasswordPage {
    ctx: PageCtx,
    forced: bool,
    expired: bool,
    error: Option<String>,
    rules: String,
    min_length: i64,
}

async fn password_page(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    flash: FlashIn,
) -> AppResult<Response> {
    let policy = crate::auth::policy::current(&state).await?;
    web::render(&PasswordPage {
        forced: user.must_change_password,
        expired: user.password_expired,
        ctx: PageCtx::new(&user, "修改密码", "/password", flash).crumb("修改密码", "/password"),
        error: None,
        rules: password_rules(&policy),
        min_length: policy.password_min_length,
    })
}

fn password_rules(p: &crate::auth::policy::Policy) -> String {
    let mut s = format!(
        "至少{}位，包含大写字母、小写字母、数字、符号中的至少{}类，不含用户名，且不是常见密码（如 Abc123456!）",
        p.password_min_length,
        ["", "一", "二", "三", "四"][p.password_classes.clamp(1, 4) as usize]
    );
    if p.password_history > 0 {
        s.push_str(&format!(
            "；不能与最近{}次使用过的密码相同",
            p.password_history
        ));
    }
    if p.password_max_age_days > 0 {
        s.push_str(&format!("；有效期{}天", p.password_max_age_days));
    }
    s.push('。');
    s
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current: String,
    pub new_password: String,
    /// Pages send a confirmation; the API may omit it.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Changes the caller's own password (a signed-in session's: never a token's). Every
/// session of the user ends, the caller's own included, and a new one begins (a new id):
/// returns its cookie token.
async fn change_password(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    f: PasswordChange,
) -> AppResult<String> {
    if let Some(c) = &f.confirm {
        if c != &f.new_password {
            return Err(AppError::field("confirm", "两次输入的新密码不一致"));
        }
    }
    let policy = crate::auth::policy::current(state).await?;
    policy
        .check_password(&f.new_password, &user.username)
        .map_err(|m| AppError::field("new_password", m))?;
    if f.current == f.new_password {
        return Err(AppError::field("new_password", "新密码不能与当前密码相同"));
    }
    // A wrong current password counts towards the lock as at login, and a locked name may
    // not try again: a stolen session cannot guess the password it would change.
    check_current_password(state, user, &f.current, "current", "修改密码时当前密码错误").await?;
    if store::reuses_recent(
        state,
        user.user_id,
        &f.new_password,
        policy.password_history,
    )
    .await?
    {
        return Err(AppError::field(
            "new_password",
            format!("不能使用最近{}次用过的密码", policy.password_history),
        ));
    }
    store::set_password(state, &user.actor(), user.user_id, f.new_password, false).await?;
    session::sign_out_everywhere(state, user.user_id).await?;
    session::create(state, user.user_id, client, None).await
}

async fn password_submit(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    client: ClientInfo,
    Form(f): Form<PasswordChange>,
) -> AppResult<Response> {
    match change_password(&state, &user, &client, f).await {
        Ok(token) => {
            let mut r = web::redirect_with_flash("/", "密码已修改");
            if let Ok(v) = session::session_cookie(&token, client.https).parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(r)
        }
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            let policy = crate::auth::policy::current(&state).await?;
            let page = PasswordPage {
                forced: user.must_change_password,
                expired: user.password_expired,
                ctx: PageCtx::new(&user, "修改密码", "/password", FlashIn(None))
                    .crumb("修改密码", "/password"),
                error: Some(msg),
                rules: password_rules(&policy),
                min_length: policy.password_min_length,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, web::render(&page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---- API tokens ----

#[derive(Serialize, sqlx::FromRow, ToSchema)]
pub struct TokenRow {
    pub api_token_id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// When it stops working (unix seconds).
    pub expires_at: Option<i64>,
}

async fn list_tokens(state: &AppState, user_id: i64) -> AppResult<Vec<TokenRow>> {
    Ok(sqlx::query_as(
        "select api_token_id, name, prefix, created_at, last_used_at, revoked_at, expires_at from api_token where user_id = $1 order by api_token_id desc",
    )
    .bind(user_id)
    .fetch_all(&state.db.pool)
    .await?)
}

#[derive(Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
    /// Days until it stops working, 1 to 365 (default 90).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 365)]
    pub expires_in_days: Option<i64>,
}

/// How long a token lives unless its maker says otherwise, and at most.
pub const TOKEN_DAYS_DEFAULT: i64 = 90;
pub const TOKEN_DAYS_MAX: i64 = 365;

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub api_token_id: i64,
    /// Shown once; only its hash is kept.
    pub token: String,
    pub expires_at: i64,
}

async fn create_token(
    state: &AppState,
    user: &CurrentUser,
    f: &NewToken,
) -> AppResult<CreatedToken> {
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(AppError::field("name", "请填写令牌名称（不超过50字）"));
    }
    let days = f.expires_in_days.unwrap_or(TOKEN_DAYS_DEFAULT);
    if !(1..=TOKEN_DAYS_MAX).contains(&days) {
        return Err(AppError::field(
            "expires_in_days",
            format!("有效期为1至{TOKEN_DAYS_MAX}天"),
        ));
    }
    let expires_at = now() + days * 86_400;
    let token = format!("{}{}", session::TOKEN_PREFIX, session::random_token());
    let prefix: String = token.chars().take(10).collect();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into api_token (user_id, name, token_hash, prefix, created_at, expires_at) values ($1, $2, $3, $4, $5, $6) returning api_token_id",
    )
    .bind(user.user_id)
    .bind(name.to_string())
    .bind(session::token_hash(&token))
    .bind(prefix)
    .bind(now())
    .bind(expires_at)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "token.create",
            "api_token",
            id,
            format!("创建API令牌 {name}，有效期 {days} 天"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        api_token_id: id,
        token,
        expires_at,
    })
}

async fn revoke_token(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query("update api_token set revoked_at = $1 where api_token_id = $2 and user_id = $3 and revoked_at is null")
        .bind(now())
        .bind(id)
        .bind(user.user_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    tx.audit(
        &user.actor(),
        Entry::new("token.revoke", "api_token", id, "吊销API令牌"),
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(())
}

#[derive(Template)]
#[template(path = "auth/tokens.html")]
struct TokensPage {
    ctx: PageCtx,
    tokens: Vec<TokenRow>,
    created: Option<String>,
    error: Option<String>,
    now: i64,
}

impl TokensPage {
    fn expired(&self, t: &TokenRow) -> bool {
        t.expires_at.is_some_and(|e| e <= self.now)
    }
    fn time(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
    fn opt_time(&self, t: &Option<i64>) -> String {
        t.map(crate::clock::fmt_time).unwrap_or_else(|| "—".into())
    }
}

async fn tokens_page(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    flash: FlashIn,
) -> AppResult<Response> {
    web::render(&TokensPage {
        tokens: list_tokens(&state, user.user_id).await?,
        ctx: PageCtx::new(&user, "接口令牌（供系统对接）", "/account/tokens", flash)
            .crumb("接口令牌", "/account/tokens"),
        created: None,
        error: None,
        now: now(),
    })
}

async fn tokens_create(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Form(f): Form<NewToken>,
) -> AppResult<Response> {
    let (created, error) = match create_token(&state, &user, &f).await {
        Ok(c) => (Some(c.token), None),
        Err(AppError::Invalid { message, fields }) => {
            (None, Some(fields.into_values().next().unwrap_or(message)))
        }
        Err(e) => return Err(e),
    };
    web::render(&TokensPage {
        tokens: list_tokens(&state, user.user_id).await?,
        ctx: PageCtx::new(
            &user,
            "接口令牌（供系统对接）",
            "/account/tokens",
            FlashIn(None),
        )
        .crumb("接口令牌", "/account/tokens"),
        created,
        error,
        now: now(),
    })
}

async fn tokens_revoke(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    revoke_token(&state, &user, id).await?;
    Ok(web::redirect_with_flash("/account/tokens", "令牌已吊销"))
}

// ---- API ----

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The 6-digit code of the authenticator app, or a recovery code, for users with
    /// two-factor authentication on (without it they get `401 totp_required`).
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub must_change_password: bool,
    pub password_expired: bool,
    /// Days left before the password expires, within the warning period.
    pub password_days_left: Option<i64>,
    /// Two-factor authentication must be set up before anything else (POST /me/totp).
    pub totp_enrolment_required: bool,
    pub grants: Vec<crate::auth::Grant>,
}

impl From<&CurrentUser> for Me {
    fn from(u: &CurrentUser) -> Me {
        Me {
            user_id: u.user_id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            must_change_password: u.must_change_password,
            password_expired: u.password_expired,
            password_days_left: u.password_days_left,
            totp_enrolment_required: u.totp_enrolment_required,
            grants: u.grants.clone(),
        }
    }
}

/// Log in; sets the session cookie. An account guarded against guessing from many
/// addresses answers a password alone from an address it has not signed in from lately
/// with `429 code_first`: send `totp` with it (checked first).
#[utoipa::path(post, path = "/session", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn api_login(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: axum::http::HeaderMap,
    Json(f): Json<LoginRequest>,
) -> AppResult<Response> {
    let passed = authenticate(
        &state,
        &f.username,
        &f.password,
        f.totp.as_deref(),
        &client.ip,
    )
    .await?;
    let u = passed.user;
    let factors = if passed.code_checked {
        "动态验证码+密码"
    } else if has_totp(&state, u.user_id).await? {
        let code = f
            .totp
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or(AppError::TotpRequired)?;
        second_factor(&state, &u, code, &client.ip).await?;
        "密码+动态验证码"
    } else {
        "密码"
    };
    let previous = session::cookie_value(&headers, session::COOKIE);
    let token = finish_login(&state, &u, &client, previous.as_deref(), factors).await?;
    let me = store::load_current_user(&state, u.user_id, None, client.ip.clone())
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok((
        [(
            header::SET_COOKIE,
            session::session_cookie(&token, client.https),
        )],
        Json(Me::from(&me)),
    )
        .into_response())
}

/// Log out: ends the server-side session.
#[utoipa::path(delete, path = "/session", tag = "auth", responses((status = 204)))]
async fn api_logout(
    State(state): State<AppState>,
    client: ClientInfo,
    user: CurrentUser,
) -> AppResult<Response> {
    if let Some(h) = &user.session_hash {
        session::delete(&state, h).await?;
    }
    audit::record_alone(
        &state.db,
        &user.actor(),
        Entry::new("logout", "user", user.user_id, "退出登录"),
    )
    .await?;
    Ok((
        [(
            header::SET_COOKIE,
            session::clear_session_cookie(client.https),
        )],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

/// The caller and their role grants.
#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
async fn api_me(user: CurrentUser) -> Json<Me> {
    Json(Me::from(&user))
}

/// Change the caller's own password. Signed-in sessions only: an API token is refused
/// (`403 session_required`).
#[utoipa::path(post, path = "/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn api_change_password(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    client: ClientInfo,
    Json(f): Json<PasswordChange>,
) -> AppResult<Response> {
    let token = change_password(&state, &user, &client, f).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = session::session_cookie(&token, client.https).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// The caller's API tokens. Signed-in sessions only: an API token is refused (`403
/// session_required`).
#[utoipa::path(get, path = "/tokens", tag = "auth", responses((status = 200, body = Vec<TokenRow>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_tokens_list(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> AppResult<Json<Vec<TokenRow>>> {
    Ok(Json(list_tokens(&state, user.user_id).await?))
}

/// Create an API token; the token is returned once. Signed-in sessions only: a token
/// cannot make another (`403 session_required`), so none outlives the one it came from.
#[utoipa::path(post, path = "/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_tokens_create(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Json(f): Json<NewToken>,
) -> AppResult<(StatusCode, Json<CreatedToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_token(&state, &user, &f).await?),
    ))
}

/// Revoke one of the caller's API tokens. Signed-in sessions only (`403 session_required`).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn api_tokens_revoke(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    revoke_token(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_the_site() {
        for good in ["/", "/org/members?q=%E5%BC%A0", "/orglife/meetings/7"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/x\u{7f}",
            "https://evil.example/",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
