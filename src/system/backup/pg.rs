//! PostgreSQL's own tools: `pg_dump` into a backup, `pg_restore` out of one.
//!
//! The dump runs in a snapshot exported by a repeatable-read transaction of ours, so the
//! row counts in the manifest are counted in exactly the data that was dumped. Passwords
//! go to the tools through `PGPASSWORD`, never on their command line (where `ps` shows it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sqlx::AnyConnection;

use crate::db::Db;

/// Finds `pg_dump` / `pg_restore` on PATH, then in Debian's and RPM's versioned folders.
pub fn locate(tool: &str) -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut versioned = Vec::new();
    for root in ["/usr/lib/postgresql", "/usr"] {
        if let Ok(rd) = std::fs::read_dir(root) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if root == "/usr/lib/postgresql" || name.starts_with("pgsql-") {
                    versioned.push(e.path().join("bin"));
                }
            }
        }
    }
    // The newest client first: pg_dump must not be older than the server.
    versioned.sort_by_key(|p| std::cmp::Reverse(version_of(p)));
    on_path
        .into_iter()
        .chain(versioned)
        .map(|d| d.join(tool))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "未找到 {tool}：请安装 PostgreSQL 客户端（Debian/Ubuntu：apt install postgresql-client，版本不低于数据库服务器），或把 {tool} 所在目录加入 PATH"
            )
        })
}

fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().trim_start_matches("pgsql-").to_string())
        .and_then(|v| v.split('.').next().and_then(|m| m.parse().ok()))
        .unwrap_or(0)
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// A connection URL for libpq without its password, and the password apart.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub password: Option<String>,
}

pub fn target(url: &str) -> anyhow::Result<Target> {
    let mut u = url::Url::parse(url).context("数据库连接串格式错误")?;
    let password = u.password().map(percent_decode);
    let _ = u.set_password(None);
    // sqlx's own options mean nothing to libpq, which refuses unknown ones.
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != "statement-cache-capacity")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok(Target {
        url: u.to_string(),
        password,
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn run(tool: &str, target: &Target, args: &[std::ffi::OsString]) -> anyhow::Result<()> {
    let bin = locate(tool)?;
    let mut cmd = tokio::process::Command::new(&bin);
    cmd.args(args)
        .arg(format!("--dbname={}", target.url))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    match &target.password {
        Some(p) => cmd.env("PGPASSWORD", p),
        None => cmd.env_remove("PGPASSWORD"),
    };
    let out = cmd
        .output()
        .await
        .with_context(|| format!("无法运行 {}", bin.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim();
        let tail: String = err
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let hint = if err.contains("version mismatch") {
            "（PostgreSQL 客户端的版本须不低于数据库服务器）"
        } else {
            ""
        };
        bail!(
            "{tool} 失败（{}）{hint}：{tail}",
            match out.status.code() {
                Some(c) => format!("退出码 {c}"),
                None => "被终止".to_string(),
            }
        );
    }
    Ok(())
}

/// Row counts of every table outside the system schemas (`schema.table` outside `public`).
pub async fn counts(conn: &mut AnyConnection) -> anyhow::Result<BTreeMap<String, i64>> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select table_schema::text, table_name::text from information_schema.tables \
         where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') \
         order by 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .context("读取表清单失败")?;
    let mut out = BTreeMap::new();
    for (schema, table) in tables {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let n: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {}.{}",
            q(&schema),
            q(&table)
        ))
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("统计表 {table} 失败"))?;
        let key = if schema == "public" {
            table
        } else {
            format!("{schema}.{table}")
        };
        out.insert(key, n);
    }
    Ok(out)
}

pub async fn schema_version(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    sqlx::query_scalar("select coalesce(max(version), 0) from _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await
        .context("读取数据库结构版本失败")
}

/// Dumps the database into `out` (custom format) and returns the tables' row counts and
/// the schema version, all from the one snapshot.
pub async fn dump(db: &Db, url: &str, out: &Path) -> anyhow::Result<(BTreeMap<String, i64>, i64)> {
    let target = target(url)?;
    locate("pg_dump")?;
    let mut tx = db.pool.begin().await.context("开始事务失败")?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await
        .context("开始快照失败")?;
    let snapshot: String = sqlx::query_scalar("select pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await
        .context("导出快照失败")?;
    let tables = counts(&mut tx).await?;
    let schema = schema_version(&mut tx).await?;
    run(
        "pg_dump",
        &target,
        &[
            "--format=custom".into(),
            "--no-password".into(),
            format!("--snapshot={snapshot}").into(),
            "--file".into(),
            out.as_os_str().to_owned(),
        ],
    )
    .await?;
    tx.rollback().await.context("结束快照失败")?;
    Ok((tables, schema))
}

/// Whether the database holds no tables at all (outside the system schemas).
pub async fn is_empty(url: &str) -> anyhow::Result<bool> {
    let mut conn = connect(url).await?;
    let n: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables \
         where table_schema not in ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&mut conn)
    .await
    .context("检查目标数据库失败")?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(n == 0)
}

pub async fn connect(url: &str) -> anyhow::Result<AnyConnection> {
    sqlx::any::install_default_drivers();
    <AnyConnection as sqlx::Connection>::connect(url)
        .await
        .with_context(|| format!("连接数据库失败：{}", crate::config::redact_url(url)))
}

/// Restores a custom-format dump into an empty database, all or nothing.
pub async fn restore(url: &str, dump: &Path) -> anyhow::Result<()> {
    let target = target(url)?;
    run(
        "pg_restore",
        &target,
        &[
            "--single-transaction".into(),
            "--no-owner".into(),
            "--no-acl".into(),
            "--no-password".into(),
            dump.as_os_str().to_owned(),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_leaves_the_url() {
        let t = target("postgres://yaoshi:s%40cret%2F1@db.internal:5433/yaoshi?sslmode=require")
            .expect("url");
        assert_eq!(t.password.as_deref(), Some("s@cret/1"));
        assert_eq!(
            t.url,
            "postgres://yaoshi@db.internal:5433/yaoshi?sslmode=require"
        );
        let t = target("postgres://postgres@127.0.0.1/x?statement-cache-capacity=0").expect("url");
        assert_eq!(t.password, None);
        assert_eq!(t.url, "postgres://postgres@127.0.0.1/x");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%e9%92%a5"), "钥");
    }

    #[test]
    fn missing_tool_is_explained() {
        let e = locate("pg_no_such_tool").expect_err("found?");
        assert!(e.to_string().contains("未找到 pg_no_such_tool"), "{e}");
    }
}
