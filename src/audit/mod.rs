//! The audit log: every write records who, when, what, before and after.
//! Rows are append-only (database triggers refuse updates and deletes) and each
//! row's SM3 hash covers its content and the previous row's hash, so a changed or
//! removed row breaks the chain and `yaoshi audit verify` finds it. Records past the
//! retention period move to sealed archive files (`archive`); the chain continues from
//! the newest archive's last hash.
//!
//! Someone with the database alone could still drop the triggers, edit a row and recompute
//! every later hash, or delete the newest rows. So the chain is keyed and anchored outside
//! the database: each row also carries `mac`, an HMAC-SM3 of its hash under a key derived
//! from the key file (never in the database), which cannot be recomputed without it; and
//! after every committed audited write a sealed checkpoint — the newest row's id and hash,
//! the first keyed row's id — is written to the data directory (`audit-checkpoint.json`)
//! and put into every backup's manifest. `verify` reports a row whose MAC is wrong or
//! missing (a recomputed chain) and a checkpointed row that is no longer there or no longer
//! the same (a cut tail).

pub mod archive;
pub mod checkpoint;

use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};
use sqlx::AnyConnection;

use hmac::Mac;

use crate::clock::now;
use crate::db::{Backend, ChainSeal, Db};

/// Labels of this module's actions (and of the filter's group `audit`).
pub const AUDIT_LABELS: &[(&str, &str)] = &[
    ("audit", "审计"),
    ("audit.export", "导出审计日志"),
    ("audit.archive", "审计日志归档"),
];

static LABELS: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static str>> =
    std::sync::OnceLock::new();

/// Sets the labels of every module's actions, once at start (`feature::install`).
pub fn install_labels(lists: &[&'static [(&'static str, &'static str)]]) {
    let _ = LABELS.set(lists.iter().flat_map(|l| l.iter().copied()).collect());
}

/// An action's name as the audit browser and its exports show it; the action itself when
/// none is registered.
pub fn action_label(action: &str) -> &str {
    LABELS
        .get()
        .and_then(|m| m.get(action).copied())
        .unwrap_or(action)
}

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub ip: String,
}

impl Actor {
    /// Acts taken at the command line by whoever runs the binary.
    pub fn cli() -> Actor {
        Actor {
            user_id: None,
            name: "cli".into(),
            ip: String::new(),
        }
    }

    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "system".into(),
            ip: String::new(),
        }
    }
}

/// What is written for one audited act.
pub struct Entry<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: String,
    pub summary: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub result: &'a str,
}

impl<'a> Entry<'a> {
    pub fn new(
        action: &'a str,
        object_type: &'a str,
        object_id: impl ToString,
        summary: impl Into<String>,
    ) -> Self {
        Entry {
            action,
            object_type,
            object_id: object_id.to_string(),
            summary: summary.into(),
            before: None,
            after: None,
            result: "ok",
        }
    }

    pub fn before(mut self, v: &impl Serialize) -> Self {
        self.before = serde_json::to_value(v).ok();
        self
    }

    pub fn after(mut self, v: &impl Serialize) -> Self {
        self.after = serde_json::to_value(v).ok();
        self
    }

    pub fn result(mut self, r: &'a str) -> Self {
        self.result = r;
        self
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditRow {
    pub audit_id: i64,
    pub at: i64,
    pub actor_user_id: Option<i64>,
    pub actor_name: String,
    pub ip: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub summary: String,
    pub before_json: String,
    pub after_json: String,
    pub result: String,
    pub prev_hash: String,
    pub hash: String,
    /// HMAC-SM3 of `hash` under the chain key; empty on rows from before the chain was keyed.
    #[serde(default)]
    pub mac: String,
}

/// The keyed MAC of a row's hash, 64 hex digits.
pub fn row_mac(seal: &ChainSeal, hash: &str) -> String {
    let mut m = seal.mac.clone();
    m.update(b"row|");
    m.update(hash.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn mac_matches(seal: &ChainSeal, hash: &str, mac_hex: &str) -> bool {
    let Ok(tag) = hex::decode(mac_hex) else {
        return false;
    };
    let mut m = seal.mac.clone();
    m.update(b"row|");
    m.update(hash.as_bytes());
    m.verify_slice(&tag).is_ok()
}

pub fn row_hash(r: &AuditRow) -> String {
    let mut h = Sm3::new();
    let actor = r.actor_user_id.map(|v| v.to_string()).unwrap_or_default();
    for part in [
        r.prev_hash.as_str(),
        &r.at.to_string(),
        &actor,
        &r.actor_name,
        &r.ip,
        &r.action,
        &r.object_type,
        &r.object_id,
        &r.summary,
        &r.before_json,
        &r.after_json,
        &r.result,
    ] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

/// The first record of `rows` (in id order, the first linking to `prev`) whose link or
/// content does not match, and which of the two.
pub fn check_chain(prev: &str, rows: &[AuditRow]) -> Option<(i64, &'static str)> {
    let mut prev = prev;
    for r in rows {
        if r.prev_hash != prev {
            return Some((r.audit_id, "link"));
        }
        if row_hash(r) != r.hash {
            return Some((r.audit_id, "content"));
        }
        prev = &r.hash;
    }
    None
}

impl crate::db::WriteTx {
    /// Records `e` inside this transaction, so the act and its audit entry commit together
    /// or not at all; once committed, the entry is chained (PostgreSQL: by the sealer, right
    /// after the commit) and the checkpoint moves to it.
    pub async fn audit(&mut self, actor: &Actor, e: Entry<'_>) -> anyhow::Result<()> {
        let backend = self.backend();
        let seal = self.chain();
        match record(self.conn(), backend, seal.as_deref(), actor, e).await? {
            Some((id, hash)) => {
                if let Some(seal) = seal {
                    self.after_commit(move || checkpoint::advance(&seal, id, &hash));
                }
            }
            None => {
                if !self.has_after_commit_async() {
                    self.after_commit_async(|db| {
                        Box::pin(async move {
                            if let Err(e) = seal_after_commit(&db).await {
                                // The act and its entry stand; the entry waits for the next seal.
                                tracing::error!("sealing audit entries failed: {e:#}");
                            }
                        })
                    });
                }
            }
        }
        Ok(())
    }
}

fn entry_row(actor: &Actor, e: Entry<'_>) -> AuditRow {
    AuditRow {
        audit_id: 0,
        at: now(),
        actor_user_id: actor.user_id,
        actor_name: actor.name.clone(),
        ip: actor.ip.clone(),
        action: e.action.to_string(),
        object_type: e.object_type.to_string(),
        object_id: e.object_id,
        summary: e.summary,
        before_json: e.before.map(|v| v.to_string()).unwrap_or_default(),
        after_json: e.after.map(|v| v.to_string()).unwrap_or_default(),
        result: e.result.to_string(),
        prev_hash: String::new(),
        hash: String::new(),
        mac: String::new(),
    }
}

/// Appends one entry inside the caller's write transaction. On SQLite, whose writers are
/// serialised already, it is chained there and then: its id and hash. On PostgreSQL it is
/// appended unchained to `audit_pending`, for [`seal_pending`] after the commit: `None`.
pub async fn record(
    conn: &mut AnyConnection,
    backend: Backend,
    seal: Option<&ChainSeal>,
    actor: &Actor,
    e: Entry<'_>,
) -> anyhow::Result<Option<(i64, String)>> {
    let row = entry_row(actor, e);
    if backend == Backend::Postgres {
        sqlx::query(
            "insert into audit_pending (at, actor_user_id, actor_name, ip, action, object_type, object_id, summary, \
             before_json, after_json, result) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(row.at)
        .bind(row.actor_user_id)
        .bind(row.actor_name)
        .bind(row.ip)
        .bind(row.action)
        .bind(row.object_type)
        .bind(row.object_id)
        .bind(row.summary)
        .bind(row.before_json)
        .bind(row.after_json)
        .bind(row.result)
        .execute(&mut *conn)
        .await?;
        return Ok(None);
    }
    append_chained(conn, seal, None, row).await.map(Some)
}

/// Inserts `row` into the chain after `prev` (the newest hash, read when not given): its
/// id and hash. The caller holds the chain's lock (SQLite's writer, PostgreSQL's sealer).
async fn append_chained(
    conn: &mut AnyConnection,
    seal: Option<&ChainSeal>,
    prev: Option<String>,
    mut row: AuditRow,
) -> anyhow::Result<(i64, String)> {
    let prev = match prev {
        Some(p) => p,
        None => {
            let last: Option<String> =
                sqlx::query_scalar("select hash from audit_log order by audit_id desc limit 1")
                    .fetch_optional(&mut *conn)
                    .await?;
            match last {
                Some(h) => h,
                // Everything so far is archived: continue from the newest archive.
                None => archive::anchor(&mut *conn).await?.1,
            }
        }
    };
    row.prev_hash = prev;
    row.hash = row_hash(&row);
    row.mac = seal.map(|s| row_mac(s, &row.hash)).unwrap_or_default();
    let hash = row.hash.clone();
    let id: i64 = sqlx::query_scalar(
        "insert into audit_log (at, actor_user_id, actor_name, ip, action, object_type, object_id, summary, \
         before_json, after_json, result, prev_hash, hash, mac) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         returning audit_id",
    )
    .bind(row.at)
    .bind(row.actor_user_id)
    .bind(row.actor_name)
    .bind(row.ip)
    .bind(row.action)
    .bind(row.object_type)
    .bind(row.object_id)
    .bind(row.summary)
    .bind(row.before_json)
    .bind(row.after_json)
    .bind(row.result)
    .bind(row.prev_hash)
    .bind(row.hash)
    .bind(row.mac)
    .fetch_one(&mut *conn)
    .await?;
    Ok((id, hash))
}

/// An entry waiting in `audit_pending` (PostgreSQL).
#[derive(sqlx::FromRow)]
struct PendingRow {
    pending_id: i64,
    at: i64,
    actor_user_id: Option<i64>,
    actor_name: String,
    ip: String,
    action: String,
    object_type: String,
    object_id: String,
    summary: String,
    before_json: String,
    after_json: String,
    result: String,
}

/// After an audited commit (PostgreSQL): waits for this process's sealer and runs it, unless
/// a run that began after this commit has finished meanwhile, which took this commit's
/// entries along; under load one run seals the entries of every commit queued behind it.
async fn seal_after_commit(db: &Db) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    let committed_before = db.seal_gate.runs.load(Ordering::SeqCst);
    let _turn = db.seal_gate.lock.lock().await;
    if db.seal_gate.runs.load(Ordering::SeqCst) > committed_before {
        return Ok(());
    }
    seal_locked(db).await.map(|_| ())
}

impl PendingRow {
    /// The entry as the chain will hold it, not yet linked.
    fn into_row(self) -> AuditRow {
        AuditRow {
            audit_id: 0,
            at: self.at,
            actor_user_id: self.actor_user_id,
            actor_name: self.actor_name,
            ip: self.ip,
            action: self.action,
            object_type: self.object_type,
            object_id: self.object_id,
            summary: self.summary,
            before_json: self.before_json,
            after_json: self.after_json,
            result: self.result,
            prev_hash: String::new(),
            hash: String::new(),
            mac: String::new(),
        }
    }
}

/// How many waiting entries one sealing transaction takes.
const SEAL_BATCH: usize = 500;

/// PostgreSQL: moves the entries waiting in `audit_pending` into the chain, in the order they
/// were appended, under the chain's lock, as many as are there in one transaction per
/// [`SEAL_BATCH`]; the checkpoint follows. Called after every audited commit, at start (what
/// a crash left), and before the chain is verified. The number sealed; SQLite: none wait.
pub async fn seal_pending(db: &Db) -> anyhow::Result<usize> {
    if db.backend != Backend::Postgres {
        return Ok(0);
    }
    let _turn = db.seal_gate.lock.lock().await;
    seal_locked(db).await
}

/// [`seal_pending`]'s work, the caller holding this process's turn.
async fn seal_locked(db: &Db) -> anyhow::Result<usize> {
    let seal = db.chain();
    let mut total = 0;
    // Begun before it reads what waits: whatever committed before this moment it seals.
    db.seal_gate
        .runs
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    loop {
        // A look without the lock first: under load another commit's seal has usually taken
        // this one's entry along with its own.
        let waiting: Option<i64> =
            sqlx::query_scalar("select pending_id from audit_pending limit 1")
                .fetch_optional(&db.pool)
                .await?;
        if waiting.is_none() {
            return Ok(total);
        }
        let mut tx = db.pool.begin().await?;
        sqlx::query("select pg_advisory_xact_lock(724200101)")
            .execute(&mut *tx)
            .await?;
        let rows: Vec<PendingRow> = sqlx::query_as(&format!(
            "select pending_id, at, actor_user_id, actor_name, ip, action, object_type, object_id, summary, \
             before_json, after_json, result from audit_pending order by pending_id limit {SEAL_BATCH}"
        ))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(total);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.pending_id).collect();
        let n = rows.len();
        let mut last: Option<(i64, String)> = None;
        for p in rows {
            let row = p.into_row();
            let prev = last.as_ref().map(|(_, h)| h.clone());
            last = Some(append_chained(&mut tx, seal.as_deref(), prev, row).await?);
        }
        // Exactly the entries chained: one appended earlier but committed later waits for
        // the next seal and is chained after these.
        let mut del = crate::db::Sql::new("delete from audit_pending where pending_id in ");
        del.bind_list(&ids);
        sqlx::query_with(&del.text, del.arguments())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if let (Some(seal), Some((id, hash))) = (seal.as_deref(), last) {
            checkpoint::advance(seal, id, &hash);
        }
        total += n;
        if n < SEAL_BATCH {
            return Ok(total);
        }
    }
}

/// Records one entry in a transaction of its own (for events with no other write).
pub async fn record_alone(db: &Db, actor: &Actor, e: Entry<'_>) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    tx.audit(actor, e).await?;
    tx.commit().await
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        /// Records in the live log.
        rows: i64,
        /// Records moved to archive files (their files are checked by `archive::check_files`).
        archived: i64,
    },
    /// The first row whose stored hash or link does not match.
    Broken { audit_id: i64, reason: &'static str },
}

/// Walks the archives' anchors, then the live chain from the newest archive on, in id
/// order and in pages, and reports the first broken link. A removed row shows as a broken
/// link on the row after it (ids may have gaps on PostgreSQL, so continuity of ids proves
/// nothing). An archive whose anchor does not continue the one before is reported at its
/// first id with reason `archive`.
///
/// With the chain's key (`Db::chain`): a keyed row whose MAC does not match, or a row
/// without one where the checkpoint says rows are keyed, is reason `mac` (a chain
/// recomputed without the key); a checkpointed row that is gone is reason `cut` (the
/// newest rows deleted), one that differs or a checkpoint that does not verify `anchor`.
pub async fn verify(db: &Db) -> anyhow::Result<Verdict> {
    // Entries committed but not chained yet (PostgreSQL) join the chain first.
    seal_pending(db).await?;
    let seal = db.chain();
    let anchor = match seal.as_deref().map(checkpoint::read) {
        Some(Err(_)) => {
            return Ok(Verdict::Broken {
                audit_id: 0,
                reason: "anchor",
            })
        }
        Some(Ok(c)) => c,
        None => None,
    };
    let mut keyed_from = anchor.as_ref().map(|c| c.keyed_from);
    let mut anchor_hash: Option<String> = None;
    let mut prev = GENESIS.to_string();
    let mut last_id = 0i64;
    let mut rows = 0i64;
    let mut archived = 0i64;
    for a in archive::list(db).await? {
        if a.prev_hash != prev || a.first_id <= last_id || a.last_id < a.first_id {
            return Ok(Verdict::Broken {
                audit_id: a.first_id,
                reason: "archive",
            });
        }
        if anchor.as_ref().is_some_and(|c| c.audit_id == a.last_id) {
            anchor_hash = Some(a.last_hash.clone());
        }
        prev = a.last_hash;
        last_id = a.last_id;
        archived += a.rows;
    }
    let archived_to = last_id;
    loop {
        let page: Vec<AuditRow> = sqlx::query_as(
            "select * from audit_log where audit_id > $1 order by audit_id limit 5000",
        )
        .bind(last_id)
        .fetch_all(&db.pool)
        .await?;
        if page.is_empty() {
            break;
        }
        if let Some((audit_id, reason)) = check_chain(&prev, &page) {
            return Ok(Verdict::Broken { audit_id, reason });
        }
        if let Some(seal) = seal.as_deref() {
            for r in &page {
                if r.mac.is_empty() {
                    if keyed_from.is_some_and(|k| r.audit_id >= k) {
                        return Ok(Verdict::Broken {
                            audit_id: r.audit_id,
                            reason: "mac",
                        });
                    }
                } else {
                    if !mac_matches(seal, &r.hash, &r.mac) {
                        return Ok(Verdict::Broken {
                            audit_id: r.audit_id,
                            reason: "mac",
                        });
                    }
                    keyed_from.get_or_insert(r.audit_id);
                }
            }
        }
        if let Some(c) = &anchor {
            if let Some(r) = page.iter().find(|r| r.audit_id == c.audit_id) {
                anchor_hash = Some(r.hash.clone());
            }
        }
        if let Some(r) = page.last() {
            prev = r.hash.clone();
            last_id = r.audit_id;
        }
        rows += page.len() as i64;
    }
    if let Some(c) = &anchor {
        match &anchor_hash {
            Some(h) if *h == c.hash => {}
            Some(_) => {
                return Ok(Verdict::Broken {
                    audit_id: c.audit_id,
                    reason: "anchor",
                })
            }
            // Inside an archive (not at its end): the archive's seal covers it.
            None if c.audit_id <= archived_to => {}
            None => {
                return Ok(Verdict::Broken {
                    audit_id: c.audit_id,
                    reason: "cut",
                })
            }
        }
    }
    Ok(Verdict::Intact { rows, archived })
}

/// The Chinese words for a broken chain's reason.
pub fn reason_label(reason: &str) -> &'static str {
    match reason {
        "link" => "与上一条的链接不符（前一条被删除或修改）",
        "content" => "内容与其哈希不符（该条被修改）",
        "archive" => "归档文件的衔接不符（归档被删除、替换或次序被改）",
        "mac" => "密钥校验值不符或缺失（哈希链被重新计算，或该条被伪造）",
        "cut" => "检查点记录的最新一条已不在（最新的记录被删除）",
        "anchor" => "与数据库外的检查点不符，或检查点文件无法验证",
        _ => "未知原因",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_covers_every_field() {
        let mut r = AuditRow {
            audit_id: 1,
            at: 1,
            actor_user_id: Some(1),
            actor_name: "admin".into(),
            ip: "127.0.0.1".into(),
            action: "create".into(),
            object_type: "unit".into(),
            object_id: "1".into(),
            summary: "新建".into(),
            before_json: String::new(),
            after_json: "{}".into(),
            result: "ok".into(),
            prev_hash: GENESIS.into(),
            hash: String::new(),
            mac: String::new(),
        };
        let h = row_hash(&r);
        assert_eq!(h.len(), 64);
        r.summary = "新建!".into();
        assert_ne!(row_hash(&r), h);
    }
}
