//! The daily backup: at `YAOSHI_BACKUP_HOUR` Beijing time (or at start, if that hour has
//! passed and today's backup is not made yet), one instance claims the day in `job_run`
//! (job `backup`), writes the backup into `YAOSHI_BACKUP_DIR`, then deletes the oldest
//! backups beyond `YAOSHI_BACKUP_KEEP`. A failed run gives its claim back and is tried again
//! an hour later, a few times a day at most.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use time::OffsetDateTime;

use super::{beijing_now, is_backup_name, Created};
use crate::audit::{Actor, Entry};
use crate::state::AppState;

pub const JOB: &str = "backup";
/// Tries a day, counting the first; then the next day's hour.
const MAX_ATTEMPTS: u32 = 3;

/// Runs the daily backup for the day of `now` unless an instance already has.
pub async fn daily(state: &AppState, now: OffsetDateTime) -> anyhow::Result<Option<Created>> {
    let day = crate::org::normalize::format_date(now.date());
    if !crate::notify::claim(state, JOB, &day).await? {
        return Ok(None);
    }
    let created = match super::create_at(state, None, now, &Actor::system()).await {
        Ok(c) => c,
        Err(e) => {
            if let Err(r) = crate::notify::release(state, JOB, &day).await {
                tracing::warn!(error = %r, "could not release the backup claim");
            }
            return Err(e);
        }
    };
    crate::notify::finish(state, JOB, &day, created.manifest.entries.len() as u64).await?;
    let keep = state.config.backup_keep as usize;
    let removed = prune(&state.config.backup_dir, keep)?;
    if !removed.is_empty() {
        crate::audit::record_alone(
            &state.db,
            &Actor::system(),
            Entry::new(
                "backup.prune",
                "backup",
                state.config.backup_dir.display(),
                format!("按保留份数 {keep} 删除较早的备份：{}", removed.join("、")),
            ),
        )
        .await?;
    }
    Ok(Some(created))
}

/// The backups to delete so that the `keep` newest remain: only names of our pattern,
/// oldest first. With `keep` 0 (the schedule is off) nothing is deleted.
pub fn expired(names: &[String], keep: usize) -> Vec<String> {
    if keep == 0 {
        return Vec::new();
    }
    let mut ours: Vec<&String> = names.iter().filter(|n| is_backup_name(n)).collect();
    // The name holds the time, so the name's order is the time's.
    ours.sort_unstable_by(|a, b| b.cmp(a));
    let mut old: Vec<String> = ours.into_iter().skip(keep).cloned().collect();
    old.sort();
    old
}

/// Deletes the backups in `dir` beyond the `keep` newest; returns their names.
pub fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("读取备份目录 {} 失败", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let old = expired(&names, keep);
    for n in &old {
        std::fs::remove_file(dir.join(n)).with_context(|| format!("删除过期备份 {n} 失败"))?;
    }
    Ok(old)
}

/// Time from `now` until the next `hour`:00 in `now`'s offset (tomorrow's if it has passed).
pub fn until_next(now: OffsetDateTime, hour: u8) -> Duration {
    let secs =
        i64::from(now.hour()) * 3600 + i64::from(now.minute()) * 60 + i64::from(now.second());
    let target = i64::from(hour) * 3600;
    let wait = if target > secs {
        target - secs
    } else {
        target + 24 * 3600 - secs
    };
    Duration::from_secs(wait.clamp(1, 24 * 3600) as u64)
}

/// Starts the daily backup in the background, unless `backup_keep` is 0.
pub fn spawn(state: AppState) {
    let (keep, hour) = (state.config.backup_keep, state.config.backup_hour);
    if keep == 0 {
        tracing::info!("daily backup is off (YAOSHI_BACKUP_KEEP=0)");
        return;
    }
    tracing::info!(keep, hour, dir = %state.config.backup_dir.display(), "daily backup scheduled");
    tokio::spawn(async move {
        let mut failed: (String, u32) = (String::new(), 0);
        loop {
            let now = beijing_now();
            let mut wait = until_next(now, hour);
            if now.hour() >= hour {
                match daily(&state, now).await {
                    Ok(Some(c)) => tracing::info!(
                        path = %c.path.display(),
                        size = c.size,
                        "daily backup written"
                    ),
                    Ok(None) => tracing::debug!("daily backup already made today"),
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "daily backup failed");
                        let day = crate::org::normalize::format_date(now.date());
                        if failed.0 != day {
                            failed = (day, 0);
                        }
                        failed.1 += 1;
                        if failed.1 < MAX_ATTEMPTS {
                            wait = wait.min(Duration::from_secs(3600));
                        }
                    }
                }
            }
            tokio::time::sleep(wait).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_of_ours_only() {
        let names: Vec<String> = [
            "yaoshi-20260101-020000.tar.zst",
            "yaoshi-20260103-020000.tar.zst",
            "yaoshi-20260102-020000.tar.zst",
            "yaoshi-20251231-235959.tar.zst",
            "yaoshi-before-upgrade.tar.zst",
            "notes.txt",
            ".yaoshi-backup-1-2-3.tmp",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            expired(&names, 2),
            vec![
                "yaoshi-20251231-235959.tar.zst".to_string(),
                "yaoshi-20260101-020000.tar.zst".to_string()
            ]
        );
        assert!(expired(&names, 4).is_empty());
        assert!(expired(&names, 10).is_empty());
        assert_eq!(expired(&names, 1).len(), 3);
        assert!(
            expired(&names, 0).is_empty(),
            "0 turns the schedule off, deletes nothing"
        );
    }

    #[test]
    fn waits_for_the_next_hour() {
        use time::macros::datetime;
        assert_eq!(
            until_next(datetime!(2026-01-01 01:00:00 +08:00), 2),
            Duration::from_secs(3600)
        );
        assert_eq!(
            until_next(datetime!(2026-01-01 02:00:00 +08:00), 2),
            Duration::from_secs(24 * 3600)
        );
        assert_eq!(
            until_next(datetime!(2026-01-01 23:30:00 +08:00), 2),
            Duration::from_secs(2 * 3600 + 30 * 60)
        );
        assert_eq!(
            until_next(datetime!(2026-01-01 01:59:59 +08:00), 2),
            Duration::from_secs(1)
        );
        assert_eq!(
            until_next(datetime!(2026-01-01 05:00:00 +08:00), 0),
            Duration::from_secs(19 * 3600)
        );
    }
}
