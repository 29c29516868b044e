//! The daily backup: at `YAOSHI_BACKUP_HOUR` Beijing time (or at start, if that hour has
//! passed and today's backup is not made yet), one instance claims the day in `job_run`
//! (job `backup`), writes the backup into `YAOSHI_BACKUP_DIR`, then deletes the oldest
//! backups beyond `YAOSHI_BACKUP_KEEP`. A failed run gives its claim back and is tried again
//! an hour later, a few times a day at most.

use std::path::Path;

use anyhow::Context;
use time::OffsetDateTime;

use super::{is_backup_name, Created};
use crate::audit::{Actor, Entry};
use crate::state::AppState;

pub const JOB: &str = "backup";

/// Runs the daily backup for the day of `now` unless an instance already has.
pub async fn daily(state: &AppState, now: OffsetDateTime) -> anyhow::Result<Option<Created>> {
    let actor = Actor::system();
    let Some(created) = crate::jobs::once(
        state,
        JOB,
        now.date(),
        || super::create_at(state, None, now, &actor),
        |c: &Created| c.manifest.entries.len() as u64,
    )
    .await?
    else {
        return Ok(None);
    };
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

/// The scheduled job: at `YAOSHI_BACKUP_HOUR`, off when `YAOSHI_BACKUP_KEEP` is 0.
pub const SCHEDULE: crate::jobs::Job = crate::jobs::Job {
    name: JOB,
    at: |c| (c.backup_keep > 0).then_some((c.backup_hour, 0)),
    run: run_daily,
};

fn run_daily(state: &AppState, now: OffsetDateTime) -> crate::jobs::JobFuture<'_> {
    Box::pin(async move {
        Ok(daily(state, now).await?.map(|c| {
            tracing::info!(path = %c.path.display(), size = c.size, "daily backup written");
            c.manifest.entries.len() as u64
        }))
    })
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
}
