//! Audit retention (审计日志保留期). Records older than the security policy's retention
//! (default 365 days, at least 183) leave the live log for a sealed archive file, oldest
//! first and never dropped:
//!
//! - the file is JSON lines compressed with zstd: a header line, one line per record as
//!   it was in the table (its own SM3 hashes included), and a last line holding the
//!   HMAC-SM3 seal of everything before it, keyed from the key file's index master (which
//!   `yaoshi keys rotate` keeps), so neither a record nor the header can be changed
//!   without the key;
//! - the file goes into the file store (so backups carry it) and is fsynced and read back
//!   before, in one transaction, an `audit_archive` row anchors it (first and last id,
//!   the hash the first record links to, the last record's hash, the file's digest and
//!   seal), the archived records are deleted — the database lets only records an archive
//!   already covers be deleted — and the act itself is audited;
//! - `verify` continues the chain from the newest archive's last hash; `check_files`
//!   opens every archive and checks its seal, its records' hashes and links, and that it
//!   matches its anchor.
//!
//! A chain that is already broken is not archived: the evidence stays in the table.

use std::io::Write;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{check_chain, Actor, AuditRow, Entry, GENESIS};
use crate::crypto::Keys;
use crate::db::Db;
use crate::state::AppState;

pub const FORMAT: &str = "yaoshi-audit-archive";
pub const VERSION: u32 = 1;
const SEAL: &str = "hmac-sm3";
/// The `job_run` name of the daily pass (`system::audit::SCHEDULE`).
pub const JOB: &str = "audit_archive";
/// Records per archive file: bounds what one file holds in memory (some 25 MB of JSON).
pub const CHUNK: i64 = 50_000;
/// The Beijing-time hour of the daily pass.
pub const HOUR: u8 = 3;
/// The largest archive file accepted when reading one back (decompressed).
const MAX_PLAIN: usize = 512 * 1024 * 1024;

/// One archive: its anchor in the chain and its file in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct ArchiveRow {
    pub archive_id: i64,
    pub created_at: i64,
    pub first_id: i64,
    pub last_id: i64,
    pub rows: i64,
    /// Time of the first and the last record.
    pub from_at: i64,
    pub to_at: i64,
    /// The hash the first record links to: the previous archive's `last_hash`, or zeros.
    pub prev_hash: String,
    pub last_hash: String,
    /// SHA-256 of the file: its name in the file store.
    pub file_hash: String,
    pub size: i64,
    /// The HMAC-SM3 seal inside the file, repeated here.
    pub mac: String,
}

/// The first line of an archive file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub created_at: i64,
    pub first_id: i64,
    pub last_id: i64,
    pub rows: i64,
    pub from_at: i64,
    pub to_at: i64,
    pub prev_hash: String,
    pub last_hash: String,
}

impl Header {
    /// The header for `rows` (not empty, in id order) linking to `prev_hash`.
    pub fn of(rows: &[AuditRow], prev_hash: &str, created_at: i64) -> Option<Header> {
        let (first, last) = (rows.first()?, rows.last()?);
        Some(Header {
            format: FORMAT.to_string(),
            version: VERSION,
            created_at,
            first_id: first.audit_id,
            last_id: last.audit_id,
            rows: rows.len() as i64,
            from_at: first.at,
            to_at: last.at,
            prev_hash: prev_hash.to_string(),
            last_hash: last.hash.clone(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct SealLine {
    seal: String,
    mac: String,
}

/// The compressed file and its seal.
pub fn encode(
    header: &Header,
    rows: &[AuditRow],
    keys: &Keys,
) -> anyhow::Result<(Vec<u8>, String)> {
    let mut body = Vec::with_capacity(rows.len() * 400 + 512);
    serde_json::to_writer(&mut body, header)?;
    body.push(b'\n');
    for r in rows {
        serde_json::to_writer(&mut body, r)?;
        body.push(b'\n');
    }
    let mac = keys.seal(&body);
    serde_json::to_writer(
        &mut body,
        &SealLine {
            seal: SEAL.to_string(),
            mac: mac.clone(),
        },
    )?;
    body.push(b'\n');
    let mut enc = zstd::Encoder::new(Vec::with_capacity(body.len() / 4), 9)?;
    enc.write_all(&body)?;
    Ok((enc.finish()?, mac))
}

/// Why an archive file is not what it claims to be.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("文件已损坏，无法解压")]
    Damaged,
    #[error("文件格式不对：{0}")]
    Format(&'static str),
    #[error("签名不符：文件被修改过，或不是用本系统的密钥签名的")]
    Seal,
    #[error("第 {0} 条记录与其哈希或上一条的链接不符")]
    Chain(i64),
    #[error("文件头与其中的记录不符")]
    Header,
}

/// Reads an archive file: checks its seal, then every record's hash and link, then that
/// the header describes exactly these records. Returns the header, the seal and the records.
pub fn decode(bytes: &[u8], keys: &Keys) -> Result<(Header, String, Vec<AuditRow>), FileError> {
    let mut plain = Vec::new();
    let dec = zstd::Decoder::new(bytes).map_err(|_| FileError::Damaged)?;
    std::io::Read::read_to_end(
        &mut std::io::Read::take(dec, MAX_PLAIN as u64 + 1),
        &mut plain,
    )
    .map_err(|_| FileError::Damaged)?;
    if plain.len() > MAX_PLAIN {
        return Err(FileError::Format("文件过大"));
    }
    let trimmed = plain
        .strip_suffix(b"\n")
        .ok_or(FileError::Format("缺少结尾"))?;
    let split = trimmed
        .iter()
        .rposition(|&b| b == b'\n')
        .ok_or(FileError::Format("缺少签名行"))?;
    let (body, seal_line) = (&plain[..=split], &trimmed[split + 1..]);
    let seal: SealLine =
        serde_json::from_slice(seal_line).map_err(|_| FileError::Format("签名行无法识别"))?;
    if seal.seal != SEAL {
        return Err(FileError::Format("未知的签名算法"));
    }
    if !keys.seal_matches(body, &seal.mac) {
        return Err(FileError::Seal);
    }
    let mut lines = body.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let header: Header = lines
        .next()
        .and_then(|l| serde_json::from_slice(l).ok())
        .ok_or(FileError::Format("文件头无法识别"))?;
    if header.format != FORMAT || header.version != VERSION {
        return Err(FileError::Format("不是本系统的审计归档文件"));
    }
    let rows = lines
        .map(serde_json::from_slice::<AuditRow>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| FileError::Format("记录无法识别"))?;
    if let Some((id, _)) = check_chain(&header.prev_hash, &rows) {
        return Err(FileError::Chain(id));
    }
    if Header::of(&rows, &header.prev_hash, header.created_at).as_ref() != Some(&header) {
        return Err(FileError::Header);
    }
    Ok((header, seal.mac, rows))
}

/// Every archive, oldest first.
pub async fn list(db: &Db) -> anyhow::Result<Vec<ArchiveRow>> {
    Ok(
        sqlx::query_as("select * from audit_archive order by last_id")
            .fetch_all(&db.pool)
            .await?,
    )
}

pub async fn get(db: &Db, archive_id: i64) -> anyhow::Result<Option<ArchiveRow>> {
    Ok(
        sqlx::query_as("select * from audit_archive where archive_id = $1")
            .bind(archive_id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Where the live log continues: the newest archive's last id and hash (or 0 and zeros).
pub async fn anchor(conn: impl sqlx::AnyExecutor<'_>) -> anyhow::Result<(i64, String)> {
    let a: Option<(i64, String)> = sqlx::query_as(
        "select last_id, last_hash from audit_archive order by last_id desc limit 1",
    )
    .fetch_optional(conn)
    .await?;
    Ok(a.unwrap_or_else(|| (0, GENESIS.to_string())))
}

/// Reads an archive's file back and checks it against its anchor row.
pub async fn open(state: &AppState, a: &ArchiveRow) -> anyhow::Result<Vec<AuditRow>> {
    let bytes = crate::files::get(&state.config.data_dir, &a.file_hash)
        .await
        .with_context(|| format!("找不到第 {} 号归档的文件", a.archive_id))?;
    if crate::files::sha256_hex(&bytes) != a.file_hash {
        bail!("第 {} 号归档的文件与登记的摘要不符", a.archive_id);
    }
    let keys = state.keys.snapshot();
    let (h, mac, rows) =
        decode(&bytes, &keys).with_context(|| format!("第 {} 号归档", a.archive_id))?;
    let matches = h.first_id == a.first_id
        && h.last_id == a.last_id
        && h.rows == a.rows
        && h.from_at == a.from_at
        && h.to_at == a.to_at
        && h.prev_hash == a.prev_hash
        && h.last_hash == a.last_hash
        && mac == a.mac
        && bytes.len() as i64 == a.size;
    if !matches {
        bail!("第 {} 号归档的文件与其登记信息不符", a.archive_id);
    }
    Ok(rows)
}

/// Opens every archive; returns the problems found, each with its archive id.
pub async fn check_files(state: &AppState) -> anyhow::Result<Vec<(i64, String)>> {
    let mut problems = Vec::new();
    for a in list(&state.db).await? {
        if let Err(e) = open(state, &a).await {
            problems.push((a.archive_id, format!("{e:#}")));
        }
    }
    Ok(problems)
}

/// Moves every record older than `days` (as of `now`) into archives of at most `CHUNK`
/// records; returns the archives made. The retention is the security policy's
/// (`system::audit::archive_due` reads it).
pub async fn run(
    state: &AppState,
    now: i64,
    days: i64,
    actor: &Actor,
) -> anyhow::Result<Vec<ArchiveRow>> {
    let cutoff = now - days * 86_400;
    let mut made = Vec::new();
    loop {
        let (anchor_id, anchor_hash) = anchor(&state.db.pool).await?;
        let page: Vec<AuditRow> = sqlx::query_as(
            "select * from audit_log where audit_id > $1 order by audit_id limit $2",
        )
        .bind(anchor_id)
        .bind(CHUNK)
        .fetch_all(&state.db.pool)
        .await?;
        // Only a prefix in id order: the chain is cut at one point, never with holes.
        let take = page.iter().take_while(|r| r.at < cutoff).count();
        let rows = &page[..take];
        let Some(header) = Header::of(rows, &anchor_hash, now) else {
            break;
        };
        if let Some((id, _)) = check_chain(&anchor_hash, rows) {
            bail!(
                "审计日志在第 {id} 条记录处断裂，不予归档：请审计管理员运行 yaoshi audit verify 查明"
            );
        }
        let keys = state.keys.snapshot();
        let (bytes, mac) = encode(&header, rows, &keys)?;
        let file_hash = crate::files::put_durable(&state.config.data_dir, &bytes).await?;
        // Trust what is on disk, not what was meant to be written.
        let stored = crate::files::get(&state.config.data_dir, &file_hash).await?;
        decode(&stored, &keys).context("归档文件写入后读回校验失败")?;

        let mut tx = state.db.begin_write().await?;
        let archive_id: i64 = sqlx::query_scalar(
            "insert into audit_archive (created_at, first_id, last_id, rows, from_at, to_at, prev_hash, \
             last_hash, file_hash, size, mac) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             returning archive_id",
        )
        .bind(now)
        .bind(header.first_id)
        .bind(header.last_id)
        .bind(header.rows)
        .bind(header.from_at)
        .bind(header.to_at)
        .bind(&header.prev_hash)
        .bind(&header.last_hash)
        .bind(&file_hash)
        .bind(stored.len() as i64)
        .bind(&mac)
        .fetch_one(tx.conn())
        .await
        .context("登记归档失败（可能另一实例正在归档）")?;
        let summary = format!(
            "按保留期 {days} 天归档审计日志 {} 条（第 {} 至 {} 条，{} 至 {}）",
            header.rows,
            header.first_id,
            header.last_id,
            crate::clock::fmt_time(header.from_at),
            crate::clock::fmt_time(header.to_at),
        );
        tx.audit(
            actor,
            Entry::new("audit.archive", "audit_archive", archive_id, summary),
        )
        .await?;
        // Deleted after the act is recorded, so the log is never empty: SQLite gives a new
        // row the largest id plus one, and an empty table would hand out ids again.
        let deleted = sqlx::query("delete from audit_log where audit_id > $1 and audit_id <= $2")
            .bind(anchor_id)
            .bind(header.last_id)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if deleted != header.rows as u64 {
            bail!(
                "归档期间审计日志有变化（应移出 {} 条，实际 {deleted} 条），已放弃本次归档",
                header.rows
            );
        }
        tx.commit().await?;
        made.push(ArchiveRow {
            archive_id,
            created_at: now,
            first_id: header.first_id,
            last_id: header.last_id,
            rows: header.rows,
            from_at: header.from_at,
            to_at: header.to_at,
            prev_hash: header.prev_hash,
            last_hash: header.last_hash,
            file_hash,
            size: stored.len() as i64,
            mac,
        });
        if (page.len() as i64) < CHUNK || take < page.len() {
            break;
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::row_hash;
    use crate::crypto::KeyFile;

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|i| {
                let mut r = AuditRow {
                    audit_id: i,
                    at: 1_700_000_000 + i,
                    actor_user_id: Some(1),
                    actor_name: "审计员".into(),
                    ip: "10.0.0.1".into(),
                    action: "login".into(),
                    object_type: "user".into(),
                    object_id: i.to_string(),
                    summary: format!("第{i}次"),
                    before_json: String::new(),
                    after_json: "{\"a\":1}".into(),
                    result: "ok".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                    mac: String::new(),
                };
                r.hash = row_hash(&r);
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn recompress(plain: &[u8]) -> Vec<u8> {
        let mut enc = zstd::Encoder::new(Vec::new(), 3).expect("enc");
        enc.write_all(plain).expect("write");
        enc.finish().expect("finish")
    }

    fn plain(bytes: &[u8]) -> String {
        String::from_utf8(zstd::decode_all(bytes).expect("zstd")).expect("utf8")
    }

    #[test]
    fn round_trip() {
        let keys = Keys::new(&KeyFile::generate());
        let rows = chain(5);
        let h = Header::of(&rows, GENESIS, 42).expect("header");
        let (bytes, mac) = encode(&h, &rows, &keys).expect("encode");
        let (h2, mac2, rows2) = decode(&bytes, &keys).expect("decode");
        assert_eq!((h2, mac2), (h, mac));
        assert_eq!(rows2.len(), 5);
        assert_eq!(rows2[4].hash, rows[4].hash);
        assert_eq!(rows2[2].summary, "第3次");
    }

    #[test]
    fn another_key_or_a_changed_byte_is_refused() {
        let keys = Keys::new(&KeyFile::generate());
        let rows = chain(3);
        let h = Header::of(&rows, GENESIS, 42).expect("header");
        let (bytes, _) = encode(&h, &rows, &keys).expect("encode");
        let other = Keys::new(&KeyFile::generate());
        assert_eq!(decode(&bytes, &other).err(), Some(FileError::Seal));

        // A record edited and its hash recomputed still fails: the seal covers it.
        let text = plain(&bytes).replace("第2次", "第9次");
        assert_eq!(
            decode(&recompress(text.as_bytes()), &keys).err(),
            Some(FileError::Seal)
        );
        // The seal line removed.
        let text = plain(&bytes);
        let cut: Vec<&str> = text.lines().collect();
        let without = cut[..cut.len() - 1].join("\n") + "\n";
        assert!(decode(&recompress(without.as_bytes()), &keys).is_err());
        assert_eq!(decode(b"not zstd", &keys).err(), Some(FileError::Damaged));
    }

    #[test]
    fn a_broken_chain_inside_a_sealed_file_is_found() {
        let keys = Keys::new(&KeyFile::generate());
        let mut rows = chain(4);
        rows.remove(1);
        // Sealed by the key holder, yet a record is missing: the link shows it.
        let h = Header::of(&rows, GENESIS, 1).expect("header");
        let (bytes, _) = encode(&h, &rows, &keys).expect("encode");
        assert_eq!(decode(&bytes, &keys).err(), Some(FileError::Chain(3)));
    }

    #[test]
    fn a_header_that_lies_is_found() {
        let keys = Keys::new(&KeyFile::generate());
        let rows = chain(3);
        let mut h = Header::of(&rows, GENESIS, 1).expect("header");
        h.rows = 30;
        let (bytes, _) = encode(&h, &rows, &keys).expect("encode");
        assert_eq!(decode(&bytes, &keys).err(), Some(FileError::Header));
    }
}
