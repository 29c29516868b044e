//! The security policy (安全策略): password, lock, session and two-factor rules, edited by
//! the security admin. Stored as one JSON setting; the configuration gives the defaults,
//! so a fresh installation starts from safe values. Read through a 5-second cache.

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Actor, Entry};
use crate::clock::now;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

const KEY: &str = "security_policy";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Policy {
    /// Minimum password length (8–64).
    pub password_min_length: i64,
    /// Character classes required out of four: lower, upper, digit, symbol (2–4).
    pub password_classes: i64,
    /// How many earlier passwords (the current one included) cannot be reused (0–24).
    pub password_history: i64,
    /// Days after which a password must be changed; 0: never (0–365).
    pub password_max_age_days: i64,
    /// Days before expiry when the user is warned (0–30).
    pub password_warn_days: i64,
    /// Failed logins within the window from one address that lock that address out of a
    /// user name (3–10); other addresses are not barred.
    pub lock_threshold: i64,
    pub lock_window_minutes: i64,
    pub lock_minutes: i64,
    /// Failed logins within the window from one address against any user names that lock
    /// the address out of all of them (10–1000).
    pub address_threshold: i64,
    /// Failed logins within the window against one user name from all addresses together
    /// after which an address the account has not signed in from lately must give the
    /// second-factor code before its password is tried (`lock_threshold`–1000).
    pub account_ceiling: i64,
    /// Minutes without a request before a session ends (5–120).
    pub session_idle_minutes: i64,
    /// Hours after login when a session ends regardless (1–24).
    pub session_absolute_hours: i64,
    /// Concurrent sessions of an admin (committee and the three admins); a new login ends the oldest (1–10).
    pub admin_max_sessions: i64,
    /// Concurrent sessions of other users; 0: no limit (0–20).
    pub user_max_sessions: i64,
    /// Require the second factor of every user, not only of the admins.
    pub totp_required_all: bool,
    /// Days audit records stay in the live log before they are archived to a sealed file
    /// (183–3650: at least six months).
    pub audit_retention_days: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            password_min_length: 10,
            password_classes: 3,
            password_history: 5,
            password_max_age_days: 90,
            password_warn_days: 14,
            lock_threshold: 5,
            lock_window_minutes: 15,
            lock_minutes: 30,
            address_threshold: 30,
            account_ceiling: 20,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            admin_max_sessions: 1,
            user_max_sessions: 0,
            totp_required_all: false,
            audit_retention_days: 365,
        }
    }
}

impl Policy {
    /// The defaults, with the lock and session values the configuration sets.
    pub fn from_config(c: &Config) -> Policy {
        Policy {
            lock_threshold: c.lock_threshold,
            lock_window_minutes: c.lock_window_minutes,
            lock_minutes: c.lock_minutes,
            session_idle_minutes: c.session_idle_minutes,
            session_absolute_hours: c.session_absolute_hours,
            ..Policy::default()
        }
    }

    /// Field errors in Chinese for values outside their safe range.
    pub fn validate(&self) -> Result<(), BTreeMap<String, String>> {
        let mut e = BTreeMap::new();
        let mut range = |field: &str, v: i64, lo: i64, hi: i64, label: &str| {
            if !(lo..=hi).contains(&v) {
                e.insert(field.to_string(), format!("{label}应在{lo}到{hi}之间"));
            }
        };
        range(
            "password_min_length",
            self.password_min_length,
            8,
            64,
            "密码最小长度",
        );
        range(
            "password_classes",
            self.password_classes,
            2,
            4,
            "字符类别数",
        );
        range(
            "password_history",
            self.password_history,
            0,
            24,
            "不可重复使用的历史密码个数",
        );
        range(
            "password_max_age_days",
            self.password_max_age_days,
            0,
            365,
            "密码有效期（天）",
        );
        range(
            "password_warn_days",
            self.password_warn_days,
            0,
            30,
            "到期提醒天数",
        );
        range(
            "lock_threshold",
            self.lock_threshold,
            3,
            10,
            "锁定前允许的失败次数",
        );
        range(
            "lock_window_minutes",
            self.lock_window_minutes,
            1,
            1440,
            "失败计数时间窗（分钟）",
        );
        range(
            "lock_minutes",
            self.lock_minutes,
            1,
            1440,
            "锁定时长（分钟）",
        );
        range(
            "address_threshold",
            self.address_threshold,
            10,
            1000,
            "同一地址失败次数上限",
        );
        range(
            "account_ceiling",
            self.account_ceiling,
            self.lock_threshold.max(3),
            1000,
            "同一账号失败次数上限",
        );
        range(
            "session_idle_minutes",
            self.session_idle_minutes,
            5,
            120,
            "会话空闲超时（分钟）",
        );
        range(
            "session_absolute_hours",
            self.session_absolute_hours,
            1,
            24,
            "会话最长时间（小时）",
        );
        range(
            "admin_max_sessions",
            self.admin_max_sessions,
            1,
            10,
            "管理员同时在线会话数",
        );
        range(
            "user_max_sessions",
            self.user_max_sessions,
            0,
            20,
            "普通用户同时在线会话数",
        );
        range(
            "audit_retention_days",
            self.audit_retention_days,
            183,
            3650,
            "审计日志保留期（天）",
        );
        if e.is_empty() {
            Ok(())
        } else {
            Err(e)
        }
    }

    /// Checks a new password; returns the Chinese reason it fails.
    pub fn check_password(&self, password: &str, username: &str) -> Result<(), String> {
        let n = password.chars().count();
        if n < self.password_min_length as usize {
            return Err(format!("密码至少需要{}位", self.password_min_length));
        }
        if n > 128 {
            return Err("密码不能超过128位".into());
        }
        let classes = [
            password.chars().any(|c| c.is_ascii_lowercase()),
            password.chars().any(|c| c.is_ascii_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_ascii_alphanumeric()),
        ];
        let need = self.password_classes.clamp(1, 4);
        if (classes.iter().filter(|c| **c).count() as i64) < need {
            return Err(format!(
                "密码需包含大写字母、小写字母、数字、符号中的至少{}类",
                ["", "一", "二", "三", "四"][need as usize]
            ));
        }
        if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
            return Err("密码不能包含用户名".into());
        }
        if is_common(password) {
            return Err(crate::messages::PASSWORD_TOO_COMMON.into());
        }
        Ok(())
    }

    /// Days until the password expires (a part-day counts as a day), given when it was
    /// last set; `None` when it never does.
    pub fn days_left(&self, changed_at: i64, now: i64) -> Option<i64> {
        if self.password_max_age_days <= 0 {
            return None;
        }
        let expires = changed_at + self.password_max_age_days * 86_400;
        Some((expires - now + 86_399).div_euclid(86_400))
    }

    /// Whether a password set at `changed_at` has expired by `now`.
    pub fn expired(&self, changed_at: i64, now: i64) -> bool {
        self.password_max_age_days > 0 && now >= changed_at + self.password_max_age_days * 86_400
    }
}

/// Common passwords, one a line, lower case: Django's list of 20,000 (from
/// `django/contrib/auth/common-passwords.txt.gz`, BSD licence; gathered by Royce Williams
/// from leaked sets) as it ships, and ones common in China that it lacks (pinyin, number
/// homophones such as 5201314, keyboard walks, this system's own words), composed here.
const COMMON_PASSWORDS: [&str; 2] = [
    include_str!("common-passwords.txt"),
    include_str!("common-passwords-zh.txt"),
];

fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| {
        COMMON_PASSWORDS
            .iter()
            .flat_map(|list| list.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Letters written as digits or symbols, as in "p@ssw0rd".
fn unleet(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '3' => 'e',
            '1' | '!' => 'i',
            '0' => 'o',
            '$' | '5' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// Whether a password is a common one under the usual decoration: any capitals, then
/// symbols at the end ("Abc123456!"), then digits or a year before them ("Password2024!"),
/// and letters written as digits ("P@ssw0rd"). A base left by taking digits off must keep
/// four characters, so "Abc" + random digits is judged whole.
pub fn is_common(password: &str) -> bool {
    let set = common_passwords();
    let known = |s: &str| !s.is_empty() && (set.contains(s) || set.contains(unleet(s).as_str()));
    let symbol = |c: char| !c.is_alphanumeric();
    let lower = password.to_lowercase();
    let bare = lower.trim_end_matches(symbol);
    let base = bare
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches(symbol);
    known(&lower) || known(bare) || (base.chars().count() >= 4 && known(base))
}

/// The policy as last read, for a few seconds.
#[derive(Default)]
pub struct PolicyCache(RwLock<Option<(Instant, Policy)>>);

impl PolicyCache {
    pub fn clear(&self) {
        if let Ok(mut g) = self.0.write() {
            *g = None;
        }
    }
}

/// The policy in force.
pub async fn current(state: &AppState) -> AppResult<Policy> {
    if let Ok(g) = state.ext::<PolicyCache>().0.read() {
        if let Some((at, p)) = g.as_ref() {
            if at.elapsed() < Duration::from_secs(5) {
                return Ok(p.clone());
            }
        }
    }
    let raw: Option<String> = sqlx::query_scalar("select value from setting where key = $1")
        .bind(KEY)
        .fetch_optional(&state.db.pool)
        .await?;
    let p = match raw {
        Some(v) => serde_json::from_str(&v).unwrap_or_else(|e| {
            tracing::error!(error = %e, "stored security policy unreadable; using defaults");
            Policy::from_config(&state.config)
        }),
        None => Policy::from_config(&state.config),
    };
    if let Ok(mut g) = state.ext::<PolicyCache>().0.write() {
        *g = Some((Instant::now(), p.clone()));
    }
    Ok(p)
}

/// Saves a new policy (security admin), audited with the values before and after.
pub async fn save(state: &AppState, actor: &Actor, p: Policy) -> AppResult<()> {
    if let Err(fields) = p.validate() {
        return Err(AppError::Invalid {
            message: "安全策略填写有误".into(),
            fields,
        });
    }
    let before = current(state).await?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let value = serde_json::to_string(&p).map_err(|e| AppError::Internal(e.into()))?;
    crate::db::put_setting(tx.conn(), KEY, &value, t, &actor.name).await?;
    tx.audit(
        actor,
        Entry::new("security.policy", "setting", KEY, "修改安全策略")
            .before(&before)
            .after(&p),
    )
    .await?;
    tx.commit().await?;
    state.ext::<PolicyCache>().clear();
    crate::auth::cache::clear(state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe_and_valid() {
        let p = Policy::default();
        assert!(p.validate().is_ok());
        assert_eq!(p.password_min_length, 10);
        assert_eq!(p.password_history, 5);
        assert_eq!(p.password_max_age_days, 90);
        assert_eq!(
            (p.lock_threshold, p.lock_window_minutes, p.lock_minutes),
            (5, 15, 30)
        );
        assert_eq!((p.session_idle_minutes, p.session_absolute_hours), (30, 12));
        assert_eq!(p.admin_max_sessions, 1);
    }

    #[test]
    fn out_of_range_values_are_named() {
        let p = Policy {
            password_min_length: 6,
            lock_threshold: 0,
            admin_max_sessions: 0,
            ..Policy::default()
        };
        let e = p.validate().expect_err("invalid");
        assert!(e["password_min_length"].contains("8到64"));
        assert!(e.contains_key("lock_threshold"));
        assert!(e.contains_key("admin_max_sessions"));
    }

    #[test]
    fn password_rules() {
        let p = Policy::default();
        assert!(p.check_password("short1A", "u").is_err());
        assert!(p.check_password("alllowercaseletters", "u").is_err());
        assert!(p.check_password("Kestrelwing12", "zz").is_ok());
        assert!(p.check_password("Admin12345x", "admin").is_err());
        assert!(p.check_password("kestrelwing1#", "zz").is_ok());
        assert!(p
            .check_password(&crate::auth::password::generate(), "admin")
            .is_ok());
        let strict = Policy {
            password_min_length: 12,
            password_classes: 4,
            ..Policy::default()
        };
        assert_eq!(
            strict
                .check_password("Kestrelw12", "zz")
                .expect_err("short"),
            "密码至少需要12位"
        );
        assert!(strict.check_password("Kestrelwing1234", "zz").is_err());
        assert!(strict.check_password("Kestrelwing123#", "zz").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_under_their_decoration() {
        let p = Policy::default();
        for weak in [
            "Abc123456!",
            "abc123456!!",
            "Password2024!",
            "PASSWORD123.",
            "P@ssw0rd2026",
            "P@55w0rd#2024",
            "Qwerty123456#",
            "1qaz@WSX2024",
            "1Qaz2wsx!@#",
            "Woaini1314!",
            "Iloveyou520.",
            "Admin@12345",
            "Dragon1987$",
            "Abcdefgh12",
            "Zhongguo2026!",
            "Dangjian2026#",
        ] {
            assert_eq!(
                p.check_password(weak, "zz").expect_err(weak),
                crate::messages::PASSWORD_TOO_COMMON,
                "{weak}"
            );
        }
        for own in [
            "Kestrelwing12",
            "Abc839274615!",
            "Harbour7-Kite-Mist",
            "Passw0rd!xyz",
            "Demo@2026pass",
            "Yaoshi#2026abc",
            "Another#Pass2026",
        ] {
            assert!(p.check_password(own, "zz").is_ok(), "{own}");
        }
        for _ in 0..20 {
            assert!(!is_common(&crate::auth::password::generate()));
        }
    }

    #[test]
    fn the_common_password_lists_are_lower_case_one_a_line() {
        for list in COMMON_PASSWORDS {
            for line in list.lines() {
                assert_eq!(line, line.trim().to_lowercase(), "{line:?}");
                assert!(!line.is_empty());
            }
        }
        assert!(common_passwords().len() > 19_000);
    }

    #[test]
    fn expiry_counts_whole_days() {
        let p = Policy::default();
        let day = 86_400;
        assert_eq!(p.days_left(0, 0), Some(90));
        assert_eq!(p.days_left(0, 1), Some(90));
        assert_eq!(p.days_left(0, 89 * day + 1), Some(1));
        assert_eq!(p.days_left(0, 90 * day), Some(0));
        assert_eq!(p.days_left(0, 91 * day), Some(-1));
        assert!(!p.expired(0, 90 * day - 1));
        assert!(p.expired(0, 90 * day));
        let never = Policy {
            password_max_age_days: 0,
            ..Policy::default()
        };
        assert_eq!(never.days_left(0, 1000 * day), None);
        assert!(!never.expired(0, 1000 * day));
    }
}
