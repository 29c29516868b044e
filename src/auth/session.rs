//! Server-side sessions (cookie holds a random token; the database holds its hash)
//! and API tokens (shown once, stored hashed, revocable).

use axum::http::HeaderMap;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::client::ClientInfo;
use super::CurrentUser;
use crate::clock::now;
use crate::error::AppResult;
use crate::state::AppState;

pub const COOKIE: &str = "yaoshi_session";
pub const TOKEN_PREFIX: &str = "yst_";

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The session cookie: never readable by scripts, not sent on cross-site subrequests,
/// and `Secure` whenever the client reached us over HTTPS.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

pub fn clear_session_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// Starts a session with a new random id and returns the cookie token. The session the
/// request came with (if any) ends, so an id fixed before login is worth nothing after it.
/// Beyond the policy's limit of concurrent sessions the oldest end, audited.
pub async fn create(
    state: &AppState,
    user_id: i64,
    client: &ClientInfo,
    previous: Option<&str>,
) -> AppResult<String> {
    let policy = super::policy::current(state).await?;
    let grants = super::store::grants(state, user_id).await?;
    let admin = grants.iter().any(|g| g.role.needs_second_factor());
    let limit = if admin {
        policy.admin_max_sessions.max(1)
    } else {
        policy.user_max_sessions
    };
    let username: String = sqlx::query_scalar("select username from app_user where user_id = $1")
        .bind(user_id)
        .fetch_one(&state.db.pool)
        .await?;
    let token = random_token();
    let t = now();
    let mut tx = state.db.begin_write().await?;
    if let Some(prev) = previous {
        sqlx::query("delete from session where session_hash = $1")
            .bind(token_hash(prev))
            .execute(tx.conn())
            .await?;
    }
    if limit > 0 {
        let live: Vec<(String, String)> = sqlx::query_as(
            "select session_hash, ip from session where user_id = $1 order by created_at desc, last_seen_at desc",
        )
        .bind(user_id)
        .fetch_all(tx.conn())
        .await?;
        for (hash, ip) in live.iter().skip(usize::try_from(limit - 1).unwrap_or(0)) {
            sqlx::query("delete from session where session_hash = $1")
                .bind(hash.clone())
                .execute(tx.conn())
                .await?;
            tx.audit(
                &crate::audit::Actor {
                    user_id: Some(user_id),
                    name: username.clone(),
                    ip: client.ip.clone(),
                },
                crate::audit::Entry::new(
                    "session.evicted",
                    "user",
                    user_id,
                    format!(
                        "新登录（{}）结束了来自 {ip} 的旧会话（同时在线上限 {limit}）",
                        client.ip
                    ),
                ),
            )
            .await?;
        }
    }
    sqlx::query(
        "insert into session (session_hash, user_id, created_at, last_seen_at, ip) values ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(t)
    .bind(t)
    .bind(client.ip.clone())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(token)
}

pub async fn delete(state: &AppState, session_hash: &str) -> AppResult<()> {
    sqlx::query("delete from session where session_hash = $1")
        .bind(session_hash.to_string())
        .execute(&state.db.pool)
        .await?;
    crate::auth::cache::clear(state);
    Ok(())
}

/// Signs a user out everywhere: every session ends and every API token is revoked. What
/// a password change or reset, a forced end of sessions, a second-factor reset and disabling
/// do, so that none of them leaves a way in behind (a token made with a stolen session, say).
pub async fn sign_out_everywhere(state: &AppState, user_id: i64) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    sign_out_everywhere_in(tx.conn(), user_id).await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(())
}

/// `sign_out_everywhere` in the caller's transaction (the caller clears the auth cache after
/// committing); returns how many sessions ended and how many tokens were revoked.
pub async fn sign_out_everywhere_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
) -> AppResult<(u64, u64)> {
    let sessions = sqlx::query("delete from session where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let tokens = sqlx::query(
        "update api_token set revoked_at = $1 where user_id = $2 and revoked_at is null",
    )
    .bind(now())
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok((sessions, tokens))
}

pub async fn user_for_session(
    state: &AppState,
    token: &str,
    ip: String,
) -> AppResult<Option<CurrentUser>> {
    let hash = token_hash(token);
    if let Some(mut u) = state.ext::<crate::auth::cache::AuthCache>().get(&hash) {
        u.ip = ip;
        return Ok(Some(u));
    }
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "select user_id, created_at, last_seen_at from session where session_hash = $1",
    )
    .bind(hash.clone())
    .fetch_optional(&state.db.pool)
    .await?;
    let Some((user_id, created_at, last_seen_at)) = row else {
        return Ok(None);
    };
    let t = now();
    let policy = super::policy::current(state).await?;
    let idle = policy.session_idle_minutes * 60;
    let absolute = policy.session_absolute_hours * 3600;
    if t - last_seen_at > idle || t - created_at > absolute {
        delete(state, &hash).await?;
        return Ok(None);
    }
    // Touch at most once a minute: keeps the idle clock honest without a write per request.
    if t - last_seen_at >= 60 {
        sqlx::query("update session set last_seen_at = $1 where session_hash = $2")
            .bind(t)
            .bind(hash.clone())
            .execute(&state.db.pool)
            .await?;
    }
    let user = super::store::load_current_user(state, user_id, Some(hash.clone()), ip).await?;
    if let Some(u) = &user {
        state
            .ext::<crate::auth::cache::AuthCache>()
            .put(hash, u.clone());
    }
    Ok(user)
}

pub async fn user_for_token(
    state: &AppState,
    token: &str,
    ip: String,
) -> AppResult<Option<CurrentUser>> {
    let key = format!("token:{}", token_hash(token));
    if let Some(mut u) = state.ext::<crate::auth::cache::AuthCache>().get(&key) {
        u.ip = ip;
        return Ok(Some(u));
    }
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "select api_token_id, user_id, last_used_at from api_token where token_hash = $1 and revoked_at is null and (expires_at is null or expires_at > $2)",
    )
    .bind(token_hash(token))
    .bind(now())
    .fetch_optional(&state.db.pool)
    .await?;
    let Some((token_id, user_id, last_used)) = row else {
        return Ok(None);
    };
    let t = now();
    if last_used.is_none_or(|l| t - l >= 60) {
        sqlx::query("update api_token set last_used_at = $1 where api_token_id = $2")
            .bind(t)
            .bind(token_id)
            .execute(&state.db.pool)
            .await?;
    }
    let user = super::store::load_current_user(state, user_id, None, ip).await?;
    if let Some(u) = &user {
        state
            .ext::<crate::auth::cache::AuthCache>()
            .put(key, u.clone());
    }
    // A token never stands in for a password change: the API user must have finished it.
    Ok(user)
}
