//! The audit chain's anchor outside the database: after every committed audited write, the
//! newest row's id and hash (and the id of the first keyed row) sealed with the chain key in
//! `audit-checkpoint.json` in the data directory. Someone who can change the database but
//! not the data directory or the key file cannot make a cut tail or a recomputed chain agree
//! with it. Every backup's manifest carries the checkpoint of its moment too.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::Mac;
use serde::{Deserialize, Serialize};

use crate::db::{ChainSeal, Db};

/// The checkpoint's file name in the data directory.
pub const FILE: &str = "audit-checkpoint.json";

/// The chain's seal for an app whose data directory is `data_dir`.
pub fn seal(mac: hmac::Hmac<sm3::Sm3>, data_dir: &Path) -> ChainSeal {
    ChainSeal {
        mac,
        checkpoint: Some(data_dir.join(FILE)),
        lock: std::sync::Mutex::new(()),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Checkpoint {
    /// The newest committed row when this was written, and its hash.
    pub audit_id: i64,
    pub hash: String,
    /// Rows from this id on must carry a MAC (earlier ones predate the keyed chain).
    pub keyed_from: i64,
    pub at: i64,
    /// HMAC-SM3 of the fields above under the chain key.
    pub seal: String,
}

fn body(c: &Checkpoint) -> String {
    format!(
        "checkpoint|{}|{}|{}|{}",
        c.audit_id, c.hash, c.keyed_from, c.at
    )
}

impl Checkpoint {
    pub fn new(seal: &ChainSeal, audit_id: i64, hash: &str, keyed_from: i64) -> Checkpoint {
        let mut c = Checkpoint {
            audit_id,
            hash: hash.to_string(),
            keyed_from,
            at: crate::clock::now(),
            seal: String::new(),
        };
        let mut m = seal.mac.clone();
        m.update(body(&c).as_bytes());
        c.seal = hex::encode(m.finalize().into_bytes());
        c
    }

    /// Whether the seal is this key's over these fields (constant time).
    pub fn sealed_by(&self, seal: &ChainSeal) -> bool {
        let Ok(tag) = hex::decode(&self.seal) else {
            return false;
        };
        let mut m = seal.mac.clone();
        m.update(body(self).as_bytes());
        m.verify_slice(&tag).is_ok()
    }
}

/// Why a checkpoint cannot be trusted.
#[derive(Debug, PartialEq, Eq)]
pub enum Bad {
    Unreadable,
    Forged,
}

/// The checkpoint of `seal`'s data directory: none yet, one that verifies, or a bad one.
pub fn read(seal: &ChainSeal) -> Result<Option<Checkpoint>, Bad> {
    let Some(path) = &seal.checkpoint else {
        return Ok(None);
    };
    read_at(seal, path)
}

fn read_at(seal: &ChainSeal, path: &Path) -> Result<Option<Checkpoint>, Bad> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) => return Err(Bad::Unreadable),
    };
    if bytes.len() > 4096 {
        return Err(Bad::Unreadable);
    }
    let c: Checkpoint = serde_json::from_slice(&bytes).map_err(|_| Bad::Unreadable)?;
    if c.sealed_by(seal) {
        Ok(Some(c))
    } else {
        Err(Bad::Forged)
    }
}

fn write(path: &PathBuf, c: &Checkpoint) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(&serde_json::to_vec(c).unwrap_or_default())?;
    }
    std::fs::rename(&tmp, path)
}

/// Moves the checkpoint forward to row `id` (never back; a bad checkpoint is left as
/// evidence for `verify`). Best effort: a failure is logged, the write it follows stands.
pub fn advance(seal: &ChainSeal, id: i64, hash: &str) {
    let Some(path) = &seal.checkpoint else {
        return;
    };
    let _guard = seal.lock.lock();
    let keyed_from = match read_at(seal, path) {
        Ok(Some(c)) if c.audit_id >= id => return,
        Ok(Some(c)) => c.keyed_from,
        Ok(None) => id,
        Err(bad) => {
            tracing::error!(?bad, path = %path.display(), "审计日志检查点无法验证，未更新；请执行 yaoshi audit verify");
            return;
        }
    };
    if let Err(e) = write(path, &Checkpoint::new(seal, id, hash, keyed_from)) {
        tracing::error!(error = %e, path = %path.display(), "写入审计日志检查点失败");
    }
}

/// The checkpoint `db`'s chain stands at now: its newest row (live or archived) and the
/// first keyed row. `None` for an empty log.
pub async fn current(db: &Db, seal: &ChainSeal) -> anyhow::Result<Option<Checkpoint>> {
    let last: Option<(i64, String)> =
        sqlx::query_as("select audit_id, hash from audit_log order by audit_id desc limit 1")
            .fetch_optional(&db.pool)
            .await?;
    let last = match last {
        Some(l) => l,
        None => {
            let a = super::archive::anchor(&db.pool).await?;
            if a.0 == 0 {
                return Ok(None);
            }
            a
        }
    };
    let keyed_from: Option<i64> =
        sqlx::query_scalar("select min(audit_id) from audit_log where mac <> ''")
            .fetch_one(&db.pool)
            .await?;
    Ok(Some(Checkpoint::new(
        seal,
        last.0,
        &last.1,
        keyed_from.unwrap_or(last.0),
    )))
}

/// Puts the checkpoint where `db`'s chain stands now, whatever it said before: after a
/// restore (the restored log is older than the old checkpoint), recorded by the caller.
pub async fn reanchor(db: &Db) -> anyhow::Result<()> {
    let Some(seal) = db.chain() else {
        return Ok(());
    };
    let Some(path) = &seal.checkpoint else {
        return Ok(());
    };
    if let Some(c) = current(db, &seal).await? {
        let _guard = seal.lock.lock();
        write(path, &c)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_in(dir: &Path, key: u8) -> ChainSeal {
        let mac = <hmac::Hmac<sm3::Sm3> as Mac>::new_from_slice(&[key; 32]).expect("key");
        seal(mac, dir)
    }

    #[test]
    fn moves_forward_only_and_refuses_a_forged_file() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("yaoshi-cp-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let s = seal_in(&dir, 7);
        assert_eq!(read(&s), Ok(None));
        advance(&s, 5, "h5");
        advance(&s, 3, "h3");
        let c = read(&s).expect("ok").expect("some");
        assert_eq!((c.audit_id, c.hash.as_str(), c.keyed_from), (5, "h5", 5));
        advance(&s, 9, "h9");
        let c = read(&s).expect("ok").expect("some");
        assert_eq!((c.audit_id, c.keyed_from), (9, 5));
        // Another key, or an edited field, does not verify.
        assert_eq!(read(&seal_in(&dir, 8)), Err(Bad::Forged));
        let mut edited = c.clone();
        edited.audit_id = 4;
        std::fs::write(dir.join(FILE), serde_json::to_vec(&edited).expect("json")).expect("w");
        assert_eq!(read(&s), Err(Bad::Forged));
        // A bad checkpoint is not overwritten.
        advance(&s, 10, "h10");
        assert_eq!(read(&s), Err(Bad::Forged));
        std::fs::write(dir.join(FILE), b"not json").expect("w");
        assert_eq!(read(&s), Err(Bad::Unreadable));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
