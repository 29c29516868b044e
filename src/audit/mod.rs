//! The audit log: every write records who, when, what, before and after.
//! Rows are append-only (database triggers refuse updates and deletes) and each
//! row's SM3 hash covers its content and the previous row's hash, so a changed or
//! removed row breaks the chain and `yaoshi audit verify` finds it. Records past the
//! retention period move to sealed archive files (`archive`); the chain continues from
//! the newest archive's last hash.

pub mod archive;

use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};
use sqlx::AnyConnection;

use crate::clock::now;
use crate::db::{Backend, Db};

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
    /// or not at all.
    pub async fn audit(&mut self, actor: &Actor, e: Entry<'_>) -> anyhow::Result<()> {
        let backend = self.backend();
        record(self.conn(), backend, actor, e).await
    }
}

/// Appends one entry inside the caller's write transaction.
pub async fn record(
    conn: &mut AnyConnection,
    backend: Backend,
    actor: &Actor,
    e: Entry<'_>,
) -> anyhow::Result<()> {
    if backend == Backend::Postgres {
        // Serialise appends so two transactions never chain onto the same row.
        sqlx::query("select pg_advisory_xact_lock(724200101)")
            .execute(&mut *conn)
            .await?;
    }
    let mut prev: Option<String> =
        sqlx::query_scalar("select hash from audit_log order by audit_id desc limit 1")
            .fetch_optional(&mut *conn)
            .await?;
    if prev.is_none() {
        // Everything so far is archived: continue from the newest archive.
        prev = Some(archive::anchor(&mut *conn).await?.1);
    }
    let mut row = AuditRow {
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
        prev_hash: prev.unwrap_or_else(|| GENESIS.to_string()),
        hash: String::new(),
    };
    row.hash = row_hash(&row);
    sqlx::query(
        "insert into audit_log (at, actor_user_id, actor_name, ip, action, object_type, object_id, summary, \
         before_json, after_json, result, prev_hash, hash) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records one entry in a transaction of its own (for events with no other write).
pub async fn record_alone(db: &Db, actor: &Actor, e: Entry<'_>) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    record(tx.conn(), db.backend, actor, e).await?;
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
pub async fn verify(db: &Db) -> anyhow::Result<Verdict> {
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
        prev = a.last_hash;
        last_id = a.last_id;
        archived += a.rows;
    }
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
        if let Some(r) = page.last() {
            prev = r.hash.clone();
            last_id = r.audit_id;
        }
        rows += page.len() as i64;
    }
    Ok(Verdict::Intact { rows, archived })
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
        };
        let h = row_hash(&r);
        assert_eq!(h.len(), 64);
        r.summary = "新建!".into();
        assert_ne!(row_hash(&r), h);
    }
}
