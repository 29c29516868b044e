//! `yaoshi backup FILE`: a consistent copy of the database.
//! SQLite: `VACUUM INTO` (an online, transactionally consistent copy).
//! PostgreSQL: prints the pg_dump command to use, since the server owns the data.

use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::db::Backend;
use crate::state::AppState;

pub async fn run(state: &AppState, config: &Config, file: &Path) -> anyhow::Result<()> {
    match state.db.backend {
        Backend::Sqlite => {
            if file.exists() {
                anyhow::bail!("目标文件 {} 已存在，请换一个文件名", file.display());
            }
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("创建目录 {} 失败", dir.display()))?;
            }
            let target = file.to_string_lossy().replace('\'', "''");
            sqlx::query(&format!("vacuum into '{target}'"))
                .execute(&state.db.pool)
                .await
                .context("备份失败")?;
            let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            println!("已备份到 {}（{} KB）", file.display(), size / 1024);
        }
        Backend::Postgres => {
            let url = crate::config::redact_url(&config.database_url);
            println!("PostgreSQL 的数据由数据库服务器保存，请用 pg_dump 备份：");
            println!(
                "  pg_dump --format=custom --file={} \"{}\"",
                file.display(),
                url
            );
            println!("（将 *** 换成实际密码，或使用 ~/.pgpass）恢复：pg_restore --clean --dbname=<连接串> {}", file.display());
        }
    }
    Ok(())
}
