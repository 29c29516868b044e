//! A few seconds' memory of who a session or token belongs to, so a page does not
//! spend three queries on it every time. Any change to accounts, grants, passwords or
//! sessions clears it on this instance at once; other instances sharing PostgreSQL see
//! the change within `TTL`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::CurrentUser;

const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<String, (Instant, CurrentUser)>>,
}

impl AuthCache {
    /// The cached user for a session or token hash, if still fresh.
    pub fn get(&self, key: &str) -> Option<CurrentUser> {
        let map = self.entries.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, u)| u.clone())
    }

    pub fn put(&self, key: String, user: CurrentUser) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= MAX_ENTRIES {
                map.retain(|_, (at, _)| at.elapsed() < TTL);
                if map.len() >= MAX_ENTRIES {
                    map.clear();
                }
            }
            map.insert(key, (Instant::now(), user));
        }
    }

    /// Forgets everything: called on every write that could change who is who.
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }
}

/// Forgets every cached session of this app: after any change to who someone is or may do.
pub fn clear(state: &crate::state::AppState) {
    state.ext::<AuthCache>().clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> CurrentUser {
        CurrentUser {
            user_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            must_change_password: false,
            grants: Vec::new(),
            session_hash: None,
            ip: String::new(),
            unread: 0,
            password_expired: false,
            password_days_left: None,
            totp_enrolment_required: false,
        }
    }

    #[test]
    fn remembers_until_cleared() {
        let c = AuthCache::default();
        assert!(c.get("k").is_none());
        c.put("k".into(), user());
        assert_eq!(c.get("k").map(|u| u.user_id), Some(1));
        c.clear();
        assert!(c.get("k").is_none());
    }
}
