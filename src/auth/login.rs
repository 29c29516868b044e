//! The checks of a login and of a signed-in user's own secrets: the password with the
//! lock counted before the slow hash, the second factor, and the session that follows.

use crate::audit::{self, Actor, Entry};
use crate::auth::client::ClientInfo;
use crate::auth::{session, store, CurrentUser};
use crate::clock::now;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Checks the password with throttling; failures and locks are audited. The second
/// factor, where the user has one, is checked by `second_factor` before `finish_login`.
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
    let attempt = begin_login_attempt(state, &actor, &username).await?;
    let user = store::find_by_username(state, &username).await?;
    let stored = user
        .as_ref()
        .map_or(crate::auth::password::DUMMY_HASH.to_string(), |u| {
            u.password_hash.clone()
        });
    let ok = crate::auth::password::verify(password.to_string(), stored).await;
    match user {
        Some(u) if ok && u.disabled == 0 => {
            attempt_passed(state, attempt).await?;
            Ok(u)
        }
        _ => {
            attempt_failed(state, &username, &actor, "登录失败").await?;
            Err(AppError::BadCredentials)
        }
    }
}

/// One attempt at a secret of `username` (a password, a second-factor code), counted before
/// it is checked: a failure is recorded first and taken back if the secret proves right.
/// Only an attempt that finds the name unlocked by the failures recorded before its own goes
/// on to the check, so guesses sent all at once get no more tries than guesses sent one by
/// one (checking the lock first and recording after the slow password hash let a burst of
/// hundreds through). `Err(until)`: locked, nothing recorded.
async fn begin_attempt(state: &AppState, username: &str, ip: &str) -> AppResult<Result<i64, i64>> {
    let id = store::record_failure(state, username, ip).await?;
    if let Some(until) = store::locked_until_before(state, username, id).await? {
        store::forget_failure(state, id).await?;
        return Ok(Err(until));
    }
    Ok(Ok(id))
}

fn minutes_until(until: i64) -> i64 {
    ((until - now()) + 59) / 60
}

/// A login's attempt (password or second-factor code): begun as `begin_attempt`; while the
/// name is locked the attempt is audited and refused.
async fn begin_login_attempt(state: &AppState, actor: &Actor, username: &str) -> AppResult<i64> {
    let until = match begin_attempt(state, username, &actor.ip).await? {
        Ok(id) => return Ok(id),
        Err(until) => until,
    };
    audit::record_alone(
        &state.db,
        actor,
        Entry::new("login.failed", "user", username, "账号锁定期间尝试登录").result("locked"),
    )
    .await?;
    Err(AppError::TooManyRequests(format!(
        "登录失败次数过多，请{}分钟后再试",
        minutes_until(until)
    )))
}

/// A signed-in user's own attempt at a secret (the current password, a second-factor code
/// in the account settings), counted like a login's: returns the attempt to settle with
/// `attempt_passed` or `attempt_failed`, or refuses while the name is locked.
pub async fn begin_own_attempt(state: &AppState, user: &CurrentUser) -> AppResult<i64> {
    match begin_attempt(state, &user.username, &user.ip).await? {
        Ok(id) => Ok(id),
        Err(until) => Err(AppError::TooManyRequests(format!(
            "输入错误次数过多，请{}分钟后再试",
            minutes_until(until)
        ))),
    }
}

/// The signed-in user's current password, given again in the request for an act a stolen
/// session must not do alone (the password, the second factor, the digest email). Counted
/// like a login's: a wrong one is a failure towards the lock, and while the name is locked
/// none is checked. `field` is the form field the answer names; `summary` what the audit
/// log says of a wrong one.
pub async fn check_current_password(
    state: &AppState,
    user: &CurrentUser,
    given: &str,
    field: &str,
    summary: &str,
) -> AppResult<()> {
    if given.is_empty() {
        return Err(AppError::field(field, "请输入当前密码"));
    }
    let row = store::find_by_id(state, user.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let attempt = begin_own_attempt(state, user).await?;
    if !crate::auth::password::verify(given.to_string(), row.password_hash).await {
        attempt_failed(state, &user.username, &user.actor(), summary).await?;
        return Err(AppError::field(field, "当前密码不正确"));
    }
    attempt_passed(state, attempt).await
}

/// The secret was right: the failure recorded ahead of the check is taken back.
pub async fn attempt_passed(state: &AppState, attempt: i64) -> AppResult<()> {
    store::forget_failure(state, attempt).await
}

/// The secret was wrong: the failure recorded ahead stays and is audited; the attempt that
/// reaches the threshold locks the name, and the lock is audited as its own event.
pub async fn attempt_failed(
    state: &AppState,
    username: &str,
    actor: &Actor,
    summary: &str,
) -> AppResult<()> {
    audit::record_alone(
        &state.db,
        actor,
        Entry::new("login.failed", "user", username, summary).result("denied"),
    )
    .await?;
    if let Some(until) = store::locked_until(state, username).await? {
        let policy = crate::auth::policy::current(state).await?;
        audit::record_alone(
            &state.db,
            actor,
            Entry::new(
                "user.lock",
                "user",
                username,
                format!(
                    "{}分钟内登录失败{}次，锁定至 {}",
                    policy.lock_window_minutes,
                    policy.lock_threshold,
                    crate::clock::fmt_time(until)
                ),
            )
            .result("locked"),
        )
        .await?;
    }
    Ok(())
}

/// Whether the user has a second factor to present.
pub async fn has_totp(state: &AppState, user_id: i64) -> AppResult<bool> {
    let at: Option<i64> =
        sqlx::query_scalar("select totp_enabled_at from app_user where user_id = $1")
            .bind(user_id)
            .fetch_one(&state.db.pool)
            .await?;
    Ok(at.is_some())
}

/// Checks the second factor; a wrong code counts towards the lock like a wrong password.
pub async fn second_factor(
    state: &AppState,
    u: &store::UserRow,
    code: &str,
    ip: &str,
) -> AppResult<()> {
    let actor = Actor {
        user_id: Some(u.user_id),
        name: u.username.clone(),
        ip: ip.to_string(),
    };
    let attempt = begin_login_attempt(state, &actor, &u.username).await?;
    if crate::auth::totp::check_code(state, u.user_id, code, &actor).await? {
        return attempt_passed(state, attempt).await;
    }
    attempt_failed(state, &u.username, &actor, "动态验证码错误").await?;
    Err(AppError::field(
        "code",
        "动态验证码错误或已使用，请输入手机上的最新验证码",
    ))
}

/// The password (and second factor) passed: the failures are forgotten, the login audited,
/// and a new session begins.
pub async fn finish_login(
    state: &AppState,
    u: &store::UserRow,
    client: &ClientInfo,
    previous: Option<&str>,
    factors: &str,
) -> AppResult<String> {
    store::clear_failures(state, &u.username).await?;
    audit::record_alone(
        &state.db,
        &Actor {
            user_id: Some(u.user_id),
            name: u.username.clone(),
            ip: client.ip.clone(),
        },
        Entry::new("login", "user", u.user_id, format!("登录成功（{factors}）")),
    )
    .await?;
    session::create(state, u.user_id, client, previous).await
}
