//! Password hashing (argon2id, off the async runtime) and the password policy.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::error::{AppError, AppResult};

pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(AppError::Internal)
}

pub async fn verify(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&stored) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so both paths cost the same.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$V0Yq0x5FRUUzb2J0cOvqTT1oF1lJmg5n1QmUIbtWcV0";

/// Checks a password against the default policy (the demo's accounts and tests); the
/// policy in force is `policy::current(state)` and its `check_password`.
pub fn check_policy(password: &str, username: &str) -> Result<(), String> {
    super::policy::Policy::default().check_password(password, username)
}

/// A random password that satisfies the policy, for first start and resets.
pub fn generate() -> String {
    use rand::Rng;
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    let mut rng = rand::thread_rng();
    let mut pick = |set: &[u8]| set[rng.gen_range(0..set.len())] as char;
    let mut s = String::new();
    for i in 0..14 {
        s.push(match i % 3 {
            0 => pick(LOWER),
            1 => pick(UPPER),
            _ => pick(DIGIT),
        });
    }
    s.push('#');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("Abcdefgh12".into()).await.expect("hash");
        assert!(verify("Abcdefgh12".into(), h.clone()).await);
        assert!(!verify("Abcdefgh13".into(), h).await);
        assert!(!verify("x".into(), DUMMY_HASH.into()).await);
    }
}
