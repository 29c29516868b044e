//! Settings: environment variables over an optional `yaoshi.toml` over defaults.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(Clone)]
pub struct Config {
    pub addr: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub initial_admin_password: Option<String>,
    /// Minutes without a request before a session ends.
    pub session_idle_minutes: i64,
    /// Hours after login when a session ends regardless of activity.
    pub session_absolute_hours: i64,
    /// Failed logins within `lock_window_minutes` that lock a user name.
    pub lock_threshold: i64,
    pub lock_window_minutes: i64,
    pub lock_minutes: i64,
    pub max_upload_bytes: usize,
    /// Where the daily digest is sent from, e.g. `smtp://127.0.0.1:25` or
    /// `smtps://user:pass@mail.example:465`; no digests without it.
    pub smtp_url: Option<String>,
    /// The From of digest emails.
    pub smtp_from: String,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed; nobody else's are.
    pub trusted_proxies: Vec<String>,
    /// Where `yaoshi backup` and the daily backup write (default `<data_dir>/backups`).
    pub backup_dir: PathBuf,
    /// How many daily backups to keep; 0 turns the daily backup off.
    pub backup_keep: u32,
    /// The Beijing-time hour (0–23) at which the server makes the daily backup.
    pub backup_hour: u8,
    /// The key file for personal data encrypted at rest (`YAOSHI_KEY_FILE`); without it,
    /// `<data_dir>/yaoshi.key`, generated on first start (see `crypto`).
    pub key_file: Option<PathBuf>,
    /// Who may read `/metrics` without the token: addresses or CIDR ranges (default the
    /// loopback addresses; empty: nobody). A forwarded request counts as the client its
    /// trusted proxy names, and as nobody through a proxy that is not trusted.
    pub metrics_allow: Vec<String>,
    /// A bearer token that opens `/metrics` from any address (`YAOSHI_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "initial_admin_password",
                &self.initial_admin_password.as_ref().map(|_| "***"),
            )
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_absolute_hours", &self.session_absolute_hours)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("trusted_proxies", &self.trusted_proxies)
            .field("backup_dir", &self.backup_dir)
            .field("backup_keep", &self.backup_keep)
            .field("backup_hour", &self.backup_hour)
            // A path, not the keys: they never enter the configuration.
            .field("key_file", &self.key_file_path().0)
            .field("metrics_allow", &self.metrics_allow)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_string(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    addr: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    session_idle_minutes: Option<i64>,
    session_absolute_hours: Option<i64>,
    lock_threshold: Option<i64>,
    lock_window_minutes: Option<i64>,
    lock_minutes: Option<i64>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    backup_dir: Option<PathBuf>,
    backup_keep: Option<i64>,
    backup_hour: Option<i64>,
    key_file: Option<PathBuf>,
    metrics_allow: Option<Vec<String>>,
    metrics_token: Option<String>,
}

/// Who may read `/metrics` when nothing is configured: this machine only.
pub const METRICS_ALLOW_DEFAULT: [&str; 2] = ["127.0.0.1", "::1"];

/// The shortest `/metrics` token accepted.
pub const METRICS_TOKEN_MIN: usize = 24;

/// A comma-separated list of addresses; `none` is the empty list.
fn address_list(v: &str) -> Vec<String> {
    if v.trim().eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Config {
    /// Reads `yaoshi.toml` (or `YAOSHI_CONFIG`) if present, then the environment.
    pub fn load() -> anyhow::Result<Config> {
        let path = std::env::var("YAOSHI_CONFIG").unwrap_or_else(|_| "yaoshi.toml".into());
        let file = if Path::new(&path).exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("读取配置文件 {path} 失败"))?;
            toml::from_str::<FileConfig>(&text)
                .with_context(|| format!("配置文件 {path} 格式错误"))?
        } else {
            FileConfig::default()
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let data_dir = env("YAOSHI_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = env("DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| {
                format!("sqlite://{}?mode=rwc", data_dir.join("yaoshi.db").display())
            });
        let num = |k: &str, f: Option<i64>, d: i64| -> anyhow::Result<i64> {
            match env(k) {
                Some(v) => v.parse().with_context(|| format!("环境变量 {k} 应为整数")),
                None => Ok(f.unwrap_or(d)),
            }
        };
        let backup_dir = env("YAOSHI_BACKUP_DIR")
            .map(PathBuf::from)
            .or(file.backup_dir)
            .unwrap_or_else(|| data_dir.join("backups"));
        let backup_keep = num("YAOSHI_BACKUP_KEEP", file.backup_keep, 7)?;
        let backup_keep = u32::try_from(backup_keep).map_err(|_| {
            anyhow::anyhow!("YAOSHI_BACKUP_KEEP 应为 0 或正整数（0 表示不做每日备份）")
        })?;
        let backup_hour = num("YAOSHI_BACKUP_HOUR", file.backup_hour, 2)?;
        let backup_hour = u8::try_from(backup_hour)
            .ok()
            .filter(|h| *h < 24)
            .ok_or_else(|| {
                anyhow::anyhow!("YAOSHI_BACKUP_HOUR 应为 0 到 23 之间的整数（北京时间的小时）")
            })?;
        let metrics_token = env("YAOSHI_METRICS_TOKEN").or(file.metrics_token);
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.trim().chars().count() < METRICS_TOKEN_MIN)
        {
            anyhow::bail!(
                "YAOSHI_METRICS_TOKEN 至少需要{METRICS_TOKEN_MIN}个字符（可用 openssl rand -hex 32 生成）"
            );
        }
        Ok(Config {
            addr: env("YAOSHI_ADDR")
                .or(file.addr)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            data_dir,
            database_url,
            initial_admin_password: env("YAOSHI_INITIAL_ADMIN_PASSWORD"),
            session_idle_minutes: num(
                "YAOSHI_SESSION_IDLE_MINUTES",
                file.session_idle_minutes,
                30,
            )?,
            session_absolute_hours: num(
                "YAOSHI_SESSION_ABSOLUTE_HOURS",
                file.session_absolute_hours,
                12,
            )?,
            lock_threshold: num("YAOSHI_LOCK_THRESHOLD", file.lock_threshold, 5)?,
            lock_window_minutes: num("YAOSHI_LOCK_WINDOW_MINUTES", file.lock_window_minutes, 15)?,
            lock_minutes: num("YAOSHI_LOCK_MINUTES", file.lock_minutes, 30)?,
            max_upload_bytes: 20 * 1024 * 1024,
            smtp_url: env("YAOSHI_SMTP_URL").or(file.smtp_url),
            smtp_from: env("YAOSHI_SMTP_FROM")
                .or(file.smtp_from)
                .unwrap_or_else(|| "钥匙 Yaoshi <noreply@localhost>".into()),
            trusted_proxies: match env("YAOSHI_TRUSTED_PROXIES") {
                Some(v) => v
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                None => file.trusted_proxies.unwrap_or_default(),
            },
            backup_dir,
            backup_keep,
            backup_hour,
            key_file: env("YAOSHI_KEY_FILE").map(PathBuf::from).or(file.key_file),
            metrics_allow: match env("YAOSHI_METRICS_ALLOW") {
                Some(v) => address_list(&v),
                None => file.metrics_allow.unwrap_or_else(|| {
                    METRICS_ALLOW_DEFAULT
                        .iter()
                        .map(|a| a.to_string())
                        .collect()
                }),
            },
            metrics_token: metrics_token.map(|t| t.trim().to_string()),
        })
    }

    /// The key file, and whether it was configured (a configured file is never generated).
    pub fn key_file_path(&self) -> (PathBuf, bool) {
        match &self.key_file {
            Some(p) => (p.clone(), true),
            None => (self.data_dir.join("yaoshi.key"), false),
        }
    }

    /// Defaults for a given database, used by tests.
    pub fn for_database(database_url: &str, data_dir: PathBuf) -> Config {
        Config {
            backup_dir: data_dir.join("backups"),
            backup_keep: 7,
            backup_hour: 2,
            addr: "127.0.0.1:0".into(),
            data_dir,
            database_url: database_url.into(),
            initial_admin_password: None,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            lock_threshold: 5,
            lock_window_minutes: 15,
            lock_minutes: 30,
            max_upload_bytes: 20 * 1024 * 1024,
            smtp_url: None,
            smtp_from: "钥匙 Yaoshi <noreply@localhost>".into(),
            trusted_proxies: Vec::new(),
            // Tests get a fresh random key file generated in their temp data dir.
            key_file: None,
            metrics_allow: METRICS_ALLOW_DEFAULT
                .iter()
                .map(|a| a.to_string())
                .collect(),
            metrics_token: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_in_url() {
        assert_eq!(
            redact_url("postgres://u:secret@localhost/db"),
            "postgres://u:***@localhost/db"
        );
        assert_eq!(redact_url("sqlite://data/y.db"), "sqlite://data/y.db");
    }

    #[test]
    fn metrics_addresses_are_a_list_or_none() {
        assert_eq!(
            address_list("10.0.0.5, 192.168.0.0/24,"),
            ["10.0.0.5", "192.168.0.0/24"]
        );
        assert!(address_list("none").is_empty());
        assert!(address_list(" NONE ").is_empty());
    }

    #[test]
    fn the_metrics_token_is_not_in_debug_output() {
        let mut c = Config::for_database("sqlite::memory:", PathBuf::from("/tmp"));
        c.metrics_token = Some("s3cret-metrics-token-0123456789".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("metrics_token: Some(\"***\")"), "{shown}");
    }
}
