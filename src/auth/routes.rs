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

use super::{session, store, CurrentUser, MaybeUser};
use crate::audit::{self, Actor, Entry};
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
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

/// Checks credentials with throttling; every outcome is audited.
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
    ip: &str,
) -> AppResult<store::UserRow> {
    let username = username.trim().to_string();
    if username.is_empty() || password.is_empty() {
        return Err(AppError::BadCredentials);
    }
    let actor = Actor {
        user_id: None,
        name: username.clone(),
        ip: ip.to_string(),
    };
    if let Some(until) = store::locked_until(state, &username).await? {
        let minutes = ((until - now()) + 59) / 60;
        audit::record_alone(
            &state.db,
            &actor,
            Entry::new("login.failed", "user", &username, "账号锁定期间尝试登录").result("locked"),
        )
        .await?;
        return Err(AppError::TooManyRequests(format!(
            "登录失败次数过多，请{minutes}分钟后再试"
        )));
    }
    let user = store::find_by_username(state, &username).await?;
    let stored = user
        .as_ref()
        .map_or(super::password::DUMMY_HASH.to_string(), |u| {
            u.password_hash.clone()
        });
    let ok = super::password::verify(password.to_string(), stored).await;
    match user {
        Some(u) if ok && u.disabled == 0 => {
            store::clear_failures(state, &username).await?;
            let actor = Actor {
                user_id: Some(u.user_id),
                ..actor
            };
            audit::record_alone(
                &state.db,
                &actor,
                Entry::new("login", "user", u.user_id, "登录成功"),
            )
            .await?;
            Ok(u)
        }
        _ => {
            store::record_failure(state, &username, ip).await?;
            let locked = store::locked_until(state, &username).await?.is_some();
            let summary = if locked {
                "登录失败，账号已锁定"
            } else {
                "登录失败"
            };
            audit::record_alone(
                &state.db,
                &actor,
                Entry::new("login.failed", "user", &username, summary).result("denied"),
            )
            .await?;
            Err(AppError::BadCredentials)
        }
    }
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    next: String,
    username: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// Only same-site paths are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

async fn login_page(Query(q): Query<LoginQuery>, FlashIn(flash): FlashIn) -> AppResult<Response> {
    web::render(&LoginPage {
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
        notice: flash.map(|f| f.text),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    parts: axum::extract::ConnectInfo<std::net::SocketAddr>,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let ip = parts.0.ip().to_string();
    match authenticate(&state, &f.username, &f.password, &ip).await {
        Ok(u) => {
            let token = session::create(&state, u.user_id, &ip).await?;
            let to = if u.must_change_password != 0 {
                "/password".to_string()
            } else {
                safe_next(f.next.as_deref())
            };
            Ok((
                [(header::SET_COOKIE, session::session_cookie(&token))],
                Redirect::to(&to),
            )
                .into_response())
        }
        Err(e @ (AppError::BadCredentials | AppError::TooManyRequests(_))) => {
            let status = e.status();
            let page = LoginPage {
                next: safe_next(f.next.as_deref()),
                username: f.username,
                error: Some(e.to_string()),
                notice: None,
            };
            Ok((status, web::render(&page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn logout(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> AppResult<Response> {
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
    if let Ok(v) = session::clear_session_cookie().parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Template)]
#[template(path = "auth/password.html")]
struct PasswordPage {
    ctx: PageCtx,
    forced: bool,
    error: Option<String>,
}

async fn password_page(user: CurrentUser, flash: FlashIn) -> AppResult<Response> {
    web::render(&PasswordPage {
        forced: user.must_change_password,
        ctx: PageCtx::new(&user, "修改密码", "/password", flash).crumb("修改密码", "/password"),
        error: None,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current: String,
    pub new_password: String,
    /// Pages send a confirmation; the API may omit it.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Changes the caller's own password; other sessions of the user end.
async fn change_password(state: &AppState, user: &CurrentUser, f: PasswordChange) -> AppResult<()> {
    if let Some(c) = &f.confirm {
        if c != &f.new_password {
            return Err(AppError::field("confirm", "两次输入的新密码不一致"));
        }
    }
    super::password::check_policy(&f.new_password, &user.username)
        .map_err(|m| AppError::field("new_password", m))?;
    if f.current == f.new_password {
        return Err(AppError::field("new_password", "新密码不能与当前密码相同"));
    }
    let row = store::find_by_username(state, &user.username)
        .await?
        .ok_or(AppError::NotFound)?;
    if !super::password::verify(f.current, row.password_hash).await {
        return Err(AppError::field("current", "当前密码不正确"));
    }
    store::set_password(state, &user.actor(), user.user_id, f.new_password, false).await?;
    sqlx::query("delete from session where user_id = $1 and session_hash <> $2")
        .bind(user.user_id)
        .bind(user.session_hash.clone().unwrap_or_default())
        .execute(&state.db.pool)
        .await?;
    state.auth_cache.clear();
    Ok(())
}

async fn password_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<PasswordChange>,
) -> AppResult<Response> {
    match change_password(&state, &user, f).await {
        Ok(()) => Ok(web::redirect_with_flash("/", "密码已修改")),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            let page = PasswordPage {
                forced: user.must_change_password,
                ctx: PageCtx::new(&user, "修改密码", "/password", FlashIn(None))
                    .crumb("修改密码", "/password"),
                error: Some(msg),
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
}

async fn list_tokens(state: &AppState, user_id: i64) -> AppResult<Vec<TokenRow>> {
    Ok(sqlx::query_as(
        "select api_token_id, name, prefix, created_at, last_used_at, revoked_at from api_token where user_id = $1 order by api_token_id desc",
    )
    .bind(user_id)
    .fetch_all(&state.db.pool)
    .await?)
}

#[derive(Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub api_token_id: i64,
    /// Shown once; only its hash is kept.
    pub token: String,
}

async fn create_token(state: &AppState, user: &CurrentUser, name: &str) -> AppResult<CreatedToken> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(AppError::field("name", "请填写令牌名称（不超过50字）"));
    }
    let token = format!("{}{}", session::TOKEN_PREFIX, session::random_token());
    let prefix: String = token.chars().take(10).collect();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into api_token (user_id, name, token_hash, prefix, created_at) values ($1, $2, $3, $4, $5) returning api_token_id",
    )
    .bind(user.user_id)
    .bind(name.to_string())
    .bind(session::token_hash(&token))
    .bind(prefix)
    .bind(now())
    .fetch_one(tx.conn())
    .await?;
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new(
            "token.create",
            "api_token",
            id,
            format!("创建API令牌 {name}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        api_token_id: id,
        token,
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
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new("token.revoke", "api_token", id, "吊销API令牌"),
    )
    .await?;
    tx.commit().await?;
    state.auth_cache.clear();
    Ok(())
}

#[derive(Template)]
#[template(path = "auth/tokens.html")]
struct TokensPage {
    ctx: PageCtx,
    tokens: Vec<TokenRow>,
    created: Option<String>,
    error: Option<String>,
}

impl TokensPage {
    fn time(&self, t: &i64) -> String {
        web::fmt_time(*t)
    }
    fn opt_time(&self, t: &Option<i64>) -> String {
        t.map(web::fmt_time).unwrap_or_else(|| "—".into())
    }
}

async fn tokens_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    web::render(&TokensPage {
        tokens: list_tokens(&state, user.user_id).await?,
        ctx: PageCtx::new(&user, "API 令牌", "/account/tokens", flash)
            .crumb("API 令牌", "/account/tokens"),
        created: None,
        error: None,
    })
}

async fn tokens_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<NewToken>,
) -> AppResult<Response> {
    let (created, error) = match create_token(&state, &user, &f.name).await {
        Ok(c) => (Some(c.token), None),
        Err(AppError::Invalid { message, fields }) => {
            (None, Some(fields.into_values().next().unwrap_or(message)))
        }
        Err(e) => return Err(e),
    };
    web::render(&TokensPage {
        tokens: list_tokens(&state, user.user_id).await?,
        ctx: PageCtx::new(&user, "API 令牌", "/account/tokens", FlashIn(None))
            .crumb("API 令牌", "/account/tokens"),
        created,
        error,
    })
}

async fn tokens_revoke(
    State(state): State<AppState>,
    user: CurrentUser,
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
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub must_change_password: bool,
    pub grants: Vec<super::Grant>,
}

impl From<&CurrentUser> for Me {
    fn from(u: &CurrentUser) -> Me {
        Me {
            user_id: u.user_id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            must_change_password: u.must_change_password,
            grants: u.grants.clone(),
        }
    }
}

/// Log in; sets the session cookie.
#[utoipa::path(post, path = "/session", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn api_login(
    State(state): State<AppState>,
    parts: axum::extract::ConnectInfo<std::net::SocketAddr>,
    Json(f): Json<LoginRequest>,
) -> AppResult<Response> {
    let ip = parts.0.ip().to_string();
    let u = authenticate(&state, &f.username, &f.password, &ip).await?;
    let token = session::create(&state, u.user_id, &ip).await?;
    let me = store::load_current_user(&state, u.user_id, None, ip)
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok((
        [(header::SET_COOKIE, session::session_cookie(&token))],
        Json(Me::from(&me)),
    )
        .into_response())
}

/// Log out: ends the server-side session.
#[utoipa::path(delete, path = "/session", tag = "auth", responses((status = 204)))]
async fn api_logout(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
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
        [(header::SET_COOKIE, session::clear_session_cookie())],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

/// The caller and their role grants.
#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
async fn api_me(user: CurrentUser) -> Json<Me> {
    Json(Me::from(&user))
}

/// Change the caller's own password.
#[utoipa::path(post, path = "/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
async fn api_change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(f): Json<PasswordChange>,
) -> AppResult<StatusCode> {
    change_password(&state, &user, f).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/tokens", tag = "auth", responses((status = 200, body = Vec<TokenRow>)))]
async fn api_tokens_list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<TokenRow>>> {
    Ok(Json(list_tokens(&state, user.user_id).await?))
}

/// Create an API token; the token is returned once.
#[utoipa::path(post, path = "/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = crate::error::ErrorBody)))]
async fn api_tokens_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(f): Json<NewToken>,
) -> AppResult<(StatusCode, Json<CreatedToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_token(&state, &user, &f.name).await?),
    ))
}

/// Revoke one of the caller's API tokens.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn api_tokens_revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    revoke_token(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
