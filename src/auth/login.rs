//! The checks of a login and of a signed-in user's own secrets: the password with the
//! throttle (`throttle`) counted before the slow hash, the second factor, and the session
//! that follows.

use crate::audit::{self, Actor, Entry};
use crate::auth::client::ClientInfo;
use crate::auth::throttle::{self, Attempt, Event, Gate, Limits, Lock, Secret};
use crate::auth::{session, store, CurrentUser};
use crate::clock::now;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A password that passed, and whether the second factor was checked with it.
pub struct Passed {
    pub user: store::UserRow,
    /// The code came first, in the same request (an account guarded against guessing from
    /// many addresses, at an address not its own): no second step follows.
    pub code_checked: bool,
}

const CODE_WRONG: &str = "动态验证码错误或已使用，请输入手机上的最新验证码";

/// Checks the password with throttling (`throttle`); failures and locks are audited. The
/// second factor, where the user has one, is checked by `second_factor` before
/// `finish_login` — unless the account is guarded and this address is not one of its own:
/// then `code` is checked first and the password only if it passes (`Passed::code_checked`).
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
    code: Option<&str>,
    ip: &str,
) -> AppResult<Passed> {
    let username = username.trim().to_string();
    if username.is_empty() || password.is_empty() {
        return Err(AppError::BadCredentials);
    }
    let actor = Actor {
        user_id: None,
        name: username.clone(),
        ip: ip.to_string(),
    };
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let (attempt, gate) = begin_attempt(state, &username, ip, Secret::Password).await?;
    let code_first = match gate {
        Gate::Open => false,
        Gate::Locked { until, by } => return Err(refuse(state, &attempt, &actor, by, until).await?),
        Gate::CodeFirst { until } if code.is_none() => {
            return Err(refuse_without_code(state, &attempt, &actor, until).await?)
        }
        Gate::CodeFirst { .. } => true,
    };
    let user = store::find_by_username(state, &username).await?;
    if code_first {
        // A name without a second factor (or none at all) fails here like a wrong code.
        let ok = match (&user, code) {
            (Some(u), Some(c)) if u.disabled == 0 => {
                crate::auth::totp::check_code(state, u.user_id, c, &actor).await?
            }
            _ => false,
        };
        if !ok {
            attempt_failed(state, &attempt, &actor, "新地址登录时动态验证码错误").await?;
            return Err(AppError::field("code", CODE_WRONG));
        }
    }
    let stored = user
        .as_ref()
        .map_or(crate::auth::password::DUMMY_HASH.to_string(), |u| {
            u.password_hash.clone()
        });
    let ok = crate::auth::password::verify(password.to_string(), stored).await;
    match user {
        Some(u) if ok && u.disabled == 0 => {
            attempt_passed(state, &attempt).await?;
            Ok(Passed {
                user: u,
                code_checked: code_first,
            })
        }
        _ => {
            attempt_failed(state, &attempt, &actor, "登录失败").await?;
            Err(AppError::BadCredentials)
        }
    }
}

async fn limits(state: &AppState) -> AppResult<Limits> {
    Ok(Limits::of(&crate::auth::policy::current(state).await?))
}

/// One attempt at a secret of `username` from `ip`, counted before it is checked: a failure
/// is recorded first and taken back if the secret proves right. Only an attempt that the
/// failures recorded before its own leave open goes on to the check, so guesses sent all at
/// once get no more tries than guesses sent one by one (checking the lock first and
/// recording after the slow password hash let a burst of hundreds through).
async fn begin_attempt(
    state: &AppState,
    username: &str,
    ip: &str,
    secret: Secret,
) -> AppResult<(Attempt, Gate)> {
    let l = limits(state).await?;
    throttle::sweep(state, l).await?;
    let attempt = throttle::record(state, username, ip, l).await?;
    let t = now();
    let mut gate = throttle::gate(&attempt.before, t, l, secret, false);
    if matches!(gate, Gate::CodeFirst { .. })
        && throttle::known_address(state, username, ip).await?
    {
        gate = throttle::gate(&attempt.before, t, l, secret, true);
    }
    Ok((attempt, gate))
}

fn minutes_until(until: i64) -> i64 {
    ((until - now()) + 59) / 60
}

/// The answer to a login attempt refused by a lock.
fn locked_message(by: Lock, until: i64) -> String {
    match by {
        Lock::Pair => format!("登录失败次数过多，请{}分钟后再试", minutes_until(until)),
        Lock::Address => format!(
            "该地址登录失败次数过多，请{}分钟后再试",
            minutes_until(until)
        ),
    }
}

/// Refuses an attempt unchecked: its failure is taken back, and it counts into its burst
/// (the burst's first is audited). Returns the error to answer with.
async fn refuse(
    state: &AppState,
    attempt: &Attempt,
    actor: &Actor,
    by: Lock,
    until: i64,
) -> AppResult<AppError> {
    throttle::forget(state, attempt).await?;
    let entry = match by {
        Lock::Pair => Entry::new(
            "login.failed",
            "user",
            &attempt.username,
            "账号锁定期间尝试登录（该地址随后的尝试计入本轮汇总）",
        ),
        Lock::Address => Entry::new(
            "login.failed",
            "address",
            &attempt.ip,
            format!(
                "来源地址受限期间尝试登录 {}（该地址随后的尝试计入本轮汇总）",
                attempt.username
            ),
        ),
    };
    throttle::note(
        state,
        actor,
        &attempt.username,
        by == Lock::Address,
        Event::Refused,
        entry.result("locked"),
        limits(state).await?,
    )
    .await?;
    Ok(AppError::TooManyRequests(locked_message(by, until)))
}

/// Refuses a password alone at a guarded account from an address not its own.
async fn refuse_without_code(
    state: &AppState,
    attempt: &Attempt,
    actor: &Actor,
    until: i64,
) -> AppResult<AppError> {
    throttle::forget(state, attempt).await?;
    throttle::note(
        state,
        actor,
        &attempt.username,
        false,
        Event::Refused,
        Entry::new(
            "login.failed",
            "user",
            &attempt.username,
            "账号防护期间从新地址仅凭密码登录（该地址随后的尝试计入本轮汇总）",
        )
        .result("locked"),
        limits(state).await?,
    )
    .await?;
    Ok(AppError::CodeFirst(format!(
        "该账号近期从多个地址登录失败次数过多，{}分钟内从新地址登录须同时输入动态验证码；也可从常用地址登录，或请安全管理员解锁",
        minutes_until(until)
    )))
}

/// A login's second-factor attempt: begun as `begin_attempt`; while the address is locked
/// out of the name (or out of every name) the attempt is refused.
async fn begin_code_attempt(state: &AppState, actor: &Actor, username: &str) -> AppResult<Attempt> {
    let (attempt, gate) = begin_attempt(state, username, &actor.ip, Secret::Code).await?;
    match gate {
        Gate::Locked { until, by } => Err(refuse(state, &attempt, actor, by, until).await?),
        Gate::Open | Gate::CodeFirst { .. } => Ok(attempt),
    }
}

/// A signed-in user's own attempt at a secret (the current password, a second-factor code
/// in the account settings), counted like a login's: returns the attempt to settle with
/// `attempt_passed` or `attempt_failed`, or refuses while this address is locked out.
pub async fn begin_own_attempt(state: &AppState, user: &CurrentUser) -> AppResult<Attempt> {
    let (attempt, gate) = begin_attempt(state, &user.username, &user.ip, Secret::Own).await?;
    match gate {
        Gate::Locked { until, .. } => {
            throttle::forget(state, &attempt).await?;
            Err(AppError::TooManyRequests(format!(
                "输入错误次数过多，请{}分钟后再试",
                minutes_until(until)
            )))
        }
        Gate::Open | Gate::CodeFirst { .. } => Ok(attempt),
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
        attempt_failed(state, &attempt, &user.actor(), summary).await?;
        return Err(AppError::field(field, "当前密码不正确"));
    }
    attempt_passed(state, &attempt).await
}

/// The secret was right: the failure recorded ahead of the check is taken back.
pub async fn attempt_passed(state: &AppState, attempt: &Attempt) -> AppResult<()> {
    throttle::forget(state, attempt).await
}

/// The secret was wrong: the failure recorded ahead stays and counts into its burst (the
/// burst's first failure is audited with `summary`, the rest summed up when it closes).
/// The failure that reaches a limit — this address locked out of the name, the address
/// locked out of every name, the name guarded — has that audited as its own event.
pub async fn attempt_failed(
    state: &AppState,
    attempt: &Attempt,
    actor: &Actor,
    summary: &str,
) -> AppResult<()> {
    let l = limits(state).await?;
    let username = attempt.username.as_str();
    let ip = attempt.ip.as_str();
    throttle::note(
        state,
        actor,
        username,
        false,
        Event::Failed,
        Entry::new(
            "login.failed",
            "user",
            username,
            format!("{summary}（来自 {ip}；该地址随后的失败计入本轮汇总）"),
        )
        .result("denied"),
        l,
    )
    .await?;
    let policy = crate::auth::policy::current(state).await?;
    let w = policy.lock_window_minutes;
    let [pair, address, account] = throttle::reached(&attempt.before, now(), l);
    let mut events: Vec<Entry> = Vec::new();
    if let Some(until) = pair {
        events.push(Entry::new(
            "user.lock",
            "user",
            username,
            format!(
                "来自 {ip} 的登录{w}分钟内失败{}次，该地址对此账号的登录锁定至 {}（其他地址不受影响）",
                l.pair,
                crate::clock::fmt_time(until)
            ),
        ));
    }
    if let Some(until) = address {
        events.push(Entry::new(
            "address.lock",
            "address",
            ip,
            format!(
                "来源地址 {ip} {w}分钟内登录失败{}次（各账号合计），该地址的登录暂停至 {}",
                l.address,
                crate::clock::fmt_time(until)
            ),
        ));
    }
    if let Some(until) = account {
        events.push(Entry::new(
            "user.guard",
            "user",
            username,
            format!(
                "{w}分钟内各地址共登录失败{}次，至 {} 从近期未登录过的地址登录须先通过动态验证码（常用地址不受影响）",
                l.account,
                crate::clock::fmt_time(until)
            ),
        ));
    }
    for e in events {
        audit::record_alone(&state.db, actor, e.result("locked")).await?;
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
    let attempt = begin_code_attempt(state, &actor, &u.username).await?;
    if crate::auth::totp::check_code(state, u.user_id, code, &actor).await? {
        return attempt_passed(state, &attempt).await;
    }
    attempt_failed(state, &attempt, &actor, "动态验证码错误").await?;
    Err(AppError::field("code", CODE_WRONG))
}

/// The password (and second factor) passed: this address's failures against the name are
/// forgotten (not other addresses': the owner's login does not lift a guesser's lock), the
/// address becomes one of the account's own, the login is audited and a new session begins.
pub async fn finish_login(
    state: &AppState,
    u: &store::UserRow,
    client: &ClientInfo,
    previous: Option<&str>,
    factors: &str,
) -> AppResult<String> {
    throttle::signed_in(state, u.user_id, &u.username, &client.ip).await?;
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
