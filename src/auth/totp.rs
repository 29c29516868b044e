//! The second factor: time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits,
//! 30-second steps, one step of clock skew either way) and one-time recovery codes
//! (shown once, stored as SM3 hashes). A code is accepted once: the step it matched is
//! remembered and only later steps pass, so a code overheard cannot be replayed.

use rand::Rng;
use sm3::{Digest, Sm3};
use totp_rs::{Algorithm, Secret, TOTP};

use super::{CurrentUser, Role};
use crate::audit::{Actor, Entry};
use crate::clock::now;
use crate::crypto::Field;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const STEP: i64 = 30;
pub const ISSUER: &str = "Yaoshi";
const RECOVERY_CODES: usize = 10;

/// A fresh 160-bit secret, base32 without padding (what authenticator apps take).
pub fn new_secret() -> String {
    let mut b = [0u8; 20];
    rand::thread_rng().fill(&mut b);
    Secret::Raw(b.to_vec()).to_encoded().to_string()
}

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP as u64, bytes).ok()
}

/// The code for the step holding `unix` (for tests and the enrolment check).
pub fn code_at(secret_b32: &str, unix: i64) -> Option<String> {
    Some(totp(secret_b32)?.generate(u64::try_from(unix).ok()?))
}

/// Pure rule: the step (within one of `now`'s, either way) a code matches, if it is
/// later than `last_step`.
pub fn matching_step(secret_b32: &str, code: &str, now: i64, last_step: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret_b32)?;
    let current = now.div_euclid(STEP);
    (current - 1..=current + 1).find(|step| {
        *step > last_step
            && u64::try_from(step * STEP)
                .map(|at| constant_eq(t.generate(at).as_bytes(), code.as_bytes()))
                .unwrap_or(false)
    })
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_url(username: &str, secret_b32: &str) -> String {
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP}",
        enc(ISSUER),
        enc(username),
        secret_b32,
        enc(ISSUER)
    )
}

/// The QR code of an address, as SVG.
pub fn qr_svg(data: &str) -> AppResult<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).map_err(|e| anyhow::anyhow!("qr: {e}"))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Ten codes like `k7pq-3mxa`, from an alphabet without look-alikes.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut s = String::with_capacity(9);
            for i in 0..8 {
                if i == 4 {
                    s.push('-');
                }
                s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
            }
            s
        })
        .collect()
}

/// The stored form of a recovery code: SM3 of its letters, case and dashes ignored.
pub fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sm3::digest(norm.as_bytes()))
}

/// Whether the policy requires a second factor of this user.
pub fn required(totp_required_all: bool, roles: &[Role]) -> bool {
    totp_required_all || roles.iter().any(|r| r.needs_second_factor())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Status {
    pub enabled: bool,
    /// The policy requires it of this user.
    pub required: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: i64,
}

pub async fn status(state: &AppState, user: &CurrentUser) -> AppResult<Status> {
    let enabled: Option<i64> =
        sqlx::query_scalar("select totp_enabled_at from app_user where user_id = $1")
            .bind(user.user_id)
            .fetch_one(&state.db.pool)
            .await?;
    let left: i64 = sqlx::query_scalar(
        "select count(*) from recovery_code where user_id = $1 and used_at is null",
    )
    .bind(user.user_id)
    .fetch_one(&state.db.pool)
    .await?;
    let policy = super::policy::current(state).await?;
    let roles: Vec<Role> = user.grants.iter().map(|g| g.role).collect();
    Ok(Status {
        enabled: enabled.is_some(),
        required: required(policy.totp_required_all, &roles),
        recovery_codes_left: left,
    })
}

/// A secret as stored: SM4-GCM under the current key (see `crypto`).
pub fn seal_secret(state: &AppState, secret: &str) -> AppResult<String> {
    state
        .keys
        .encrypt(Field::TotpSecret, secret)
        .map_err(|e| AppError::Internal(e.into()))
}

/// A stored secret opened. A plaintext one (written before secrets were encrypted, and
/// encrypted by the next start's pass) is taken as it is.
pub fn open_secret(state: &AppState, stored: &str) -> AppResult<String> {
    if crate::crypto::is_plaintext(stored) {
        return Ok(stored.to_string());
    }
    state
        .keys
        .decrypt(Field::TotpSecret, stored)
        .map_err(|e| AppError::Internal(e.into()))
}

/// Begins enrolment: a new secret waits for its first code. Refused while one is enabled.
pub async fn start(state: &AppState, user: &CurrentUser) -> AppResult<String> {
    let secret = new_secret();
    let n = sqlx::query(
        "update app_user set totp_pending = $1 where user_id = $2 and totp_enabled_at is null",
    )
    .bind(seal_secret(state, &secret)?)
    .bind(user.user_id)
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(
            "已启用双因素认证；如需更换设备，请先关闭后重新绑定".into(),
        ));
    }
    Ok(secret)
}

/// The secret awaiting confirmation, if enrolment has begun.
pub async fn pending(state: &AppState, user_id: i64) -> AppResult<Option<String>> {
    let stored: Option<String> = sqlx::query_scalar(
        "select totp_pending from app_user where user_id = $1 and totp_enabled_at is null",
    )
    .bind(user_id)
    .fetch_optional(&state.db.pool)
    .await?
    .flatten();
    stored.map(|s| open_secret(state, &s)).transpose()
}

/// Replaces a user's recovery codes with `codes` (kept as hashes), in the caller's transaction.
async fn store_recovery_codes(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    codes: &[String],
) -> AppResult<()> {
    sqlx::query("delete from recovery_code where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for c in codes {
        sqlx::query("insert into recovery_code (user_id, code_hash) values ($1, $2)")
            .bind(user_id)
            .bind(recovery_hash(c))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Confirms enrolment with a code from the app and the current password (from then on
/// a login needs the phone too: a stolen session must not decide that alone); returns the
/// recovery codes (shown once).
pub async fn confirm(
    state: &AppState,
    user: &CurrentUser,
    code: &str,
    current_password: &str,
) -> AppResult<Vec<String>> {
    let secret = pending(state, user.user_id)
        .await?
        .ok_or_else(|| AppError::Conflict("请先开始绑定（生成二维码），再输入验证码".into()))?;
    reauthenticate(
        state,
        user,
        current_password,
        "绑定双因素认证时当前密码错误",
    )
    .await?;
    let step = matching_step(&secret, code, now(), 0)
        .ok_or_else(|| AppError::field("code", "验证码不正确，请核对手机时间后重试"))?;
    let codes = new_recovery_codes();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update app_user set totp_secret = totp_pending, totp_pending = null, totp_enabled_at = $1, totp_last_step = $2 where user_id = $3",
    )
    .bind(now())
    .bind(step)
    .bind(user.user_id)
    .execute(tx.conn())
    .await?;
    store_recovery_codes(tx.conn(), user.user_id, &codes).await?;
    tx.audit(
        &user.actor(),
        Entry::new("totp.enable", "user", user.user_id, "启用双因素认证"),
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(codes)
}

/// The current password, given again to change the second factor.
async fn reauthenticate(
    state: &AppState,
    user: &CurrentUser,
    current_password: &str,
    summary: &str,
) -> AppResult<()> {
    super::login::check_current_password(state, user, current_password, "current_password", summary)
        .await
}

/// Checks a code the signed-in user gives to change their own second factor. As at login,
/// a wrong code counts towards the lock, and a locked name may not try again: a stolen
/// session cannot guess its way to new recovery codes.
async fn check_own_code(state: &AppState, user: &CurrentUser, code: &str) -> AppResult<()> {
    let actor = user.actor();
    let attempt = super::login::begin_own_attempt(state, user).await?;
    if check_code(state, user.user_id, code, &actor).await? {
        return super::login::attempt_passed(state, &attempt).await;
    }
    super::login::attempt_failed(state, &attempt, &actor, "账号设置中双因素验证码错误").await?;
    Err(AppError::field("code", "验证码不正确"))
}

/// A new set of recovery codes for oneself, confirmed with the current password and a
/// current code (or one of the old recovery codes); the old set stops working. Returns the
/// new codes (shown once).
pub async fn renew_recovery_codes(
    state: &AppState,
    user: &CurrentUser,
    code: &str,
    current_password: &str,
) -> AppResult<Vec<String>> {
    if !status(state, user).await?.enabled {
        return Err(AppError::Conflict("尚未启用双因素认证".into()));
    }
    reauthenticate(state, user, current_password, "生成恢复码时当前密码错误").await?;
    check_own_code(state, user, code).await?;
    let codes = new_recovery_codes();
    let mut tx = state.db.begin_write().await?;
    store_recovery_codes(tx.conn(), user.user_id, &codes).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "totp.recovery_renew",
            "user",
            user.user_id,
            format!("生成新的 {} 个恢复码，原有的作废", codes.len()),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns the second factor off for oneself (only where the policy does not require it),
/// with the current password and a current code.
pub async fn disable(
    state: &AppState,
    user: &CurrentUser,
    code: &str,
    current_password: &str,
) -> AppResult<()> {
    let st = status(state, user).await?;
    if st.required {
        return Err(AppError::Conflict(
            "您的角色须使用双因素认证，不能关闭".into(),
        ));
    }
    if !st.enabled {
        return Err(AppError::Conflict("尚未启用双因素认证".into()));
    }
    reauthenticate(
        state,
        user,
        current_password,
        "关闭双因素认证时当前密码错误",
    )
    .await?;
    check_own_code(state, user, code).await?;
    clear(
        state,
        &user.actor(),
        user.user_id,
        "totp.disable",
        "关闭双因素认证",
    )
    .await
}

/// Clears a user's second factor (the security admin, for a lost phone); audited.
pub async fn clear(
    state: &AppState,
    actor: &Actor,
    user_id: i64,
    action: &str,
    summary: &str,
) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update app_user set totp_secret = null, totp_pending = null, totp_enabled_at = null, totp_last_step = 0 where user_id = $1",
    )
    .bind(user_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    sqlx::query("delete from recovery_code where user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    super::session::sign_out_everywhere_in(tx.conn(), user_id).await?;
    tx.audit(actor, Entry::new(action, "user", user_id, summary))
        .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(())
}

/// Checks a login's second factor: a TOTP code not used before, or an unused recovery
/// code (which is then spent, audited). Each step and each recovery code passes once,
/// even under concurrent attempts (the updates are conditional).
pub async fn check_code(
    state: &AppState,
    user_id: i64,
    code: &str,
    actor: &Actor,
) -> AppResult<bool> {
    let row: Option<(Option<String>, i64)> =
        sqlx::query_as("select totp_secret, totp_last_step from app_user where user_id = $1")
            .bind(user_id)
            .fetch_optional(&state.db.pool)
            .await?;
    let Some((Some(stored), last)) = row else {
        return Ok(false);
    };
    let secret = open_secret(state, &stored)?;
    if let Some(step) = matching_step(&secret, code, now(), last) {
        let n = sqlx::query(
            "update app_user set totp_last_step = $1 where user_id = $2 and totp_last_step < $3",
        )
        .bind(step)
        .bind(user_id)
        .bind(step)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
        return Ok(n == 1);
    }
    let hash = recovery_hash(code);
    if code.chars().filter(|c| c.is_ascii_alphanumeric()).count() != 8 {
        return Ok(false);
    }
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update recovery_code set used_at = $1 where user_id = $2 and code_hash = $3 and used_at is null",
    )
    .bind(now())
    .bind(user_id)
    .bind(hash)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let left: i64 = sqlx::query_scalar(
        "select count(*) from recovery_code where user_id = $1 and used_at is null",
    )
    .bind(user_id)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(
        actor,
        Entry::new(
            "totp.recovery_used",
            "user",
            user_id,
            format!("使用恢复码登录，剩余 {left} 个"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1: the secret "12345678901234567890".
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_vectors() {
        // 8-digit vectors truncated to our 6 digits.
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at(RFC_SECRET, t).as_deref(), Some(code), "t={t}");
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let now = 1_700_000_015; // inside a step
        let s = now / STEP;
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_at(RFC_SECRET, (s + offset) * STEP).expect("code");
            assert_eq!(
                matching_step(RFC_SECRET, &code, now, 0).is_some(),
                accepted,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_used_step_is_not_accepted_again() {
        let now = 1_700_000_015;
        let code = code_at(RFC_SECRET, now).expect("code");
        let step = matching_step(RFC_SECRET, &code, now, 0).expect("first use");
        assert_eq!(matching_step(RFC_SECRET, &code, now, step), None);
        // Garbage is refused without panicking.
        assert_eq!(matching_step(RFC_SECRET, "12345", now, 0), None);
        assert_eq!(matching_step(RFC_SECRET, "abcdef", now, 0), None);
        assert_eq!(matching_step("not base32!", "123456", now, 0), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut set = codes.clone();
        set.sort();
        set.dedup();
        assert_eq!(set.len(), 10);
        assert_eq!(recovery_hash("K7PQ-3MXA"), recovery_hash("k7pq3mxa"));
        assert_ne!(recovery_hash("k7pq3mxa"), recovery_hash("k7pq3mxb"));
    }

    #[test]
    fn enrolment_url_and_qr() {
        let s = new_secret();
        assert_eq!(s.len(), 32);
        let url = otpauth_url("zhang.san", &s);
        assert!(url.starts_with("otpauth://totp/Yaoshi:zhang.san?secret="));
        let svg = qr_svg(&url).expect("svg");
        assert!(svg.contains("<svg"));
    }

    #[test]
    fn who_needs_a_second_factor() {
        assert!(required(false, &[Role::Committee]));
        assert!(required(false, &[Role::SecurityAdmin]));
        assert!(required(false, &[Role::AuditAdmin]));
        assert!(required(false, &[Role::SystemAdmin]));
        assert!(!required(false, &[Role::Unit, Role::Member]));
        assert!(required(true, &[Role::Member]));
    }
}
