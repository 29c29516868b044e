//! The database side of encryption at rest: finding the key file at start-up, refusing to
//! start without the keys the data needs, and the pass that encrypts plaintext rows and
//! re-encrypts rows under older keys — batch by batch, each batch one transaction with its
//! audit entry, so an interruption loses nothing and a rerun resumes.
//!
//! Whether a value is done is read off the value itself (`v1.<key id>.…`), so there is no
//! bookkeeping column to drift: a row is to do when its ID number or phone is plaintext or
//! under a key other than the current one, or it has no blind index yet.

use std::collections::BTreeSet;

use anyhow::Context;

use crate::audit::{Actor, Entry};
use crate::config::Config;
use crate::crypto::{is_plaintext, key_id_of, prefix_of, Field, KeyFile, KeyRing, Keys, PREFIX};
use crate::db::{Db, Sql};

/// Rows per transaction of the pass.
pub const DEFAULT_BATCH: usize = 500;

/// Loads the keys, checks them against the data, and encrypts rows left in plaintext by a
/// version before encryption. Called by `app::state` before anything is served.
pub async fn startup(db: &Db, config: &Config) -> anyhow::Result<KeyRing> {
    let keys = open_keys(db, config).await?;
    // Every audit row from here on is keyed, the start-up passes' included.
    db.set_chain(crate::audit::checkpoint::seal(
        keys.chain_mac(),
        &config.data_dir,
    ));
    check(db, &keys).await?;
    let report = pass(
        db,
        &keys,
        &Actor::system(),
        &PassOptions {
            only_plaintext: true,
            ..PassOptions::default()
        },
        |_, _| {},
    )
    .await?;
    if report.rewritten > 0 {
        tracing::info!(
            rows = report.rewritten,
            "加密了数据库中原有的明文身份证号和手机号"
        );
    }
    let secrets = totp_pass(db, &keys, &Actor::system(), true).await?;
    if secrets > 0 {
        tracing::info!(users = secrets, "加密了数据库中原有的明文双因素认证密钥");
    }
    Ok(keys)
}

/// Encrypts TOTP secrets (enabled and pending) left in plaintext, and with
/// `!only_plaintext` re-encrypts those under an older key; one transaction (there are as
/// many as users with the second factor), audited. Returns how many users' were rewritten.
pub async fn totp_pass(
    db: &Db,
    keys: &KeyRing,
    actor: &Actor,
    only_plaintext: bool,
) -> anyhow::Result<usize> {
    let keys = keys.snapshot();
    let keys = keys.as_ref();
    let current = prefix_of(keys.current_id());
    let todo = |v: &Option<String>| {
        v.as_deref().is_some_and(|v| {
            is_plaintext(v) || (!only_plaintext && !v.is_empty() && !v.starts_with(&current))
        })
    };
    let reseal = |user_id: i64, v: Option<String>| -> anyhow::Result<Option<String>> {
        v.map(|v| {
            let plain = if is_plaintext(&v) {
                v
            } else {
                keys.decrypt(Field::TotpSecret, &v)
                    .with_context(|| format!("用户（编号 {user_id}）的双因素认证密钥无法解密"))?
            };
            Ok(keys.encrypt(Field::TotpSecret, &plain)?)
        })
        .transpose()
    };
    let mut tx = db.begin_write().await?;
    let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
        "select user_id, totp_secret, totp_pending from app_user          where totp_secret is not null or totp_pending is not null order by user_id",
    )
    .fetch_all(tx.conn())
    .await?;
    let mut written = 0usize;
    for (user_id, secret, pending) in rows {
        if !todo(&secret) && !todo(&pending) {
            continue;
        }
        sqlx::query("update app_user set totp_secret = $1, totp_pending = $2 where user_id = $3")
            .bind(reseal(user_id, secret)?)
            .bind(reseal(user_id, pending)?)
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        written += 1;
    }
    if written > 0 {
        tx.audit(
            actor,
            Entry::new(
                "totp.encrypt",
                "user",
                "",
                format!(
                    "用密钥 {} 加密 {written} 名用户的双因素认证密钥",
                    keys.current_id()
                ),
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(written)
}

/// The configured key file; without one, `<data_dir>/yaoshi.key`, generated when missing
/// unless the database already holds encrypted data (then the key is lost, not new).
pub async fn open_keys(db: &Db, config: &Config) -> anyhow::Result<KeyRing> {
    let (path, configured) = config.key_file_path();
    if path.exists() {
        return KeyRing::load(&path);
    }
    if configured {
        anyhow::bail!(
            "找不到密钥文件 {}（YAOSHI_KEY_FILE / key_file）。请恢复该文件后再启动。",
            path.display()
        );
    }
    if has_encrypted_data(db).await? {
        anyhow::bail!(
            "数据库中已有加密的身份证号和手机号，但找不到密钥文件 {}。请恢复密钥文件（或用 \
             YAOSHI_KEY_FILE 指定其位置）后再启动；没有原密钥，这些数据无法解密。",
            path.display()
        );
    }
    if KeyFile::generate().create_new(&path)? {
        tracing::warn!(
            path = %path.display(),
            "已生成个人信息加密密钥文件。请把它移出数据目录（用 YAOSHI_KEY_FILE 指定新位置）并单独备份：\
             与数据库放在一起，备份泄露时密钥随之泄露；丢失后已加密的身份证号和手机号无法恢复。"
        );
    }
    KeyRing::load(&path)
}

async fn has_encrypted_data(db: &Db) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "select count(*) from (select 1 from member where id_hash is not null \
         or substr(id_number, 1, 3) = 'v1.' or substr(phone, 1, 3) = 'v1.' limit 1) x",
    )
    .fetch_one(&db.pool)
    .await?;
    let secrets: i64 = sqlx::query_scalar(
        "select count(*) from (select 1 from app_user where substr(totp_secret, 1, 3) = 'v1.' \
         or substr(totp_pending, 1, 3) = 'v1.' limit 1) x",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0 || secrets > 0)
}

/// Key ids of TOTP secrets that are not in `known`.
async fn foreign_totp_key_ids(
    db: &Db,
    known: &BTreeSet<String>,
) -> anyhow::Result<BTreeSet<String>> {
    let rows: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "select totp_secret, totp_pending from app_user \
         where substr(totp_secret, 1, 3) = 'v1.' or substr(totp_pending, 1, 3) = 'v1.'",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .flat_map(|(a, b)| [a.as_deref(), b.as_deref()])
        .flatten()
        .filter_map(key_id_of)
        .filter(|id| !known.contains(*id))
        .map(str::to_string)
        .collect())
}

/// `substr(col, 1, len) <> prefix` for every prefix: the column is under none of these keys.
fn push_under_none(sql: &mut Sql, column: &str, ids: &BTreeSet<String>) {
    sql.push("substr(")
        .push(column)
        .push(", 1, 3) = ")
        .bind(PREFIX);
    for id in ids {
        let p = prefix_of(id);
        sql.push(&format!(" and substr({column}, 1, {}) <> ", p.len()))
            .bind(p);
    }
}

/// Key ids found in the data but not in `known`; `Err` names a value that is not in the
/// stored format at all.
async fn foreign_key_ids(db: &Db, known: &BTreeSet<String>) -> anyhow::Result<BTreeSet<String>> {
    let mut all = known.clone();
    let mut found = BTreeSet::new();
    loop {
        let mut sql = Sql::new("select member_id, id_number, phone from member where (");
        push_under_none(&mut sql, "id_number", &all);
        sql.push(") or (");
        push_under_none(&mut sql, "phone", &all);
        sql.push(") limit 1");
        let row: Vec<(i64, String, String)> = sql.fetch_all(&db.pool).await?;
        let Some((member_id, id_number, phone)) = row.into_iter().next() else {
            return Ok(found);
        };
        let id = [id_number.as_str(), phone.as_str()]
            .into_iter()
            .filter(|v| v.starts_with(PREFIX))
            .filter_map(key_id_of)
            .find(|id| !all.contains(*id))
            .with_context(|| format!("党员（编号 {member_id}）的加密数据格式不正确"))?
            .to_string();
        all.insert(id.clone());
        found.insert(id);
    }
}

/// Refuses keys that cannot read the data: a key id in use that the file lacks, or a key
/// (or the blind-index key) that does not match what it supposedly encrypted.
pub async fn check(db: &Db, keys: &KeyRing) -> anyhow::Result<()> {
    let keys_now = keys.snapshot();
    let known: BTreeSet<String> = keys.ids().into_iter().collect();
    let mut missing = foreign_key_ids(db, &known).await?;
    missing.extend(foreign_totp_key_ids(db, &known).await?);
    if !missing.is_empty() {
        let list = missing.into_iter().collect::<Vec<_>>().join("、");
        anyhow::bail!(
            "数据库中有用密钥 {list} 加密的身份证号、手机号或双因素认证密钥，但密钥文件 {} 中没有该密钥。\
             请恢复包含该密钥的密钥文件（YAOSHI_KEY_FILE）后再启动；没有它，这些数据无法解密。",
            keys.path().display()
        );
    }
    for id in &known {
        let p = prefix_of(id);
        let sample: Option<(i64, String, Option<String>)> = sqlx::query_as(&format!(
            "select member_id, id_number, id_hash from member where substr(id_number, 1, {}) = $1 limit 1",
            p.len()
        ))
        .bind(p)
        .fetch_optional(&db.pool)
        .await?;
        let Some((member_id, stored, hash)) = sample else {
            continue;
        };
        let plain = keys_now.decrypt(Field::IdNumber, &stored).map_err(|e| {
            anyhow::anyhow!(
                "密钥文件 {} 中的密钥 {id} 无法解密数据库中的数据（党员编号 {member_id}：{e}）。\
                 密钥文件可能被替换或损坏，请恢复原密钥文件后再启动。",
                keys.path().display()
            )
        })?;
        if hash.as_deref() != Some(keys_now.id_hash(&plain).as_str()) {
            anyhow::bail!(
                "密钥文件 {} 中的盲索引密钥（index）与数据库中的数据不匹配，按身份证号查找将失效。\
                 请恢复原密钥文件后再启动。",
                keys.path().display()
            );
        }
    }
    Ok(())
}

#[derive(Clone, Debug)]
pub struct PassOptions {
    /// Only rows with plaintext (the start-up pass); otherwise also rows under old keys.
    pub only_plaintext: bool,
    /// Rows per transaction.
    pub batch: usize,
    /// Stop after this many rows (a partial run; a rerun goes on from there).
    pub stop_after: Option<usize>,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            only_plaintext: false,
            batch: DEFAULT_BATCH,
            stop_after: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Rows written under the current key.
    pub rewritten: usize,
    /// Rows changed by someone else between reading and writing (written by them, under
    /// their current key); a rerun picks them up if that was not this one.
    pub skipped: usize,
    /// Rows still to do afterwards.
    pub remaining: i64,
}

fn push_todo(sql: &mut Sql, keys: &Keys, only_plaintext: bool) {
    let p = if only_plaintext {
        PREFIX.to_string()
    } else {
        keys.current_prefix()
    };
    let n = p.len();
    sql.push(&format!(
        "(id_hash is null or substr(id_number, 1, {n}) <> "
    ))
    .bind(p.clone())
    .push(&format!(" or (phone <> '' and substr(phone, 1, {n}) <> "))
    .bind(p)
    .push("))");
}

async fn count_todo(db: &Db, keys: &Keys, only_plaintext: bool) -> anyhow::Result<i64> {
    let mut sql = Sql::new("select count(*) from member where ");
    push_todo(&mut sql, keys, only_plaintext);
    sql.fetch_scalar(&db.pool).await
}

/// Encrypts (or re-encrypts) every row to do under the current key, in member order,
/// `batch` rows per transaction, each with its audit entry. `progress(done, total)` is
/// called after every committed batch. The whole pass uses the keys as they were when
/// it began.
pub async fn pass(
    db: &Db,
    keys: &KeyRing,
    actor: &Actor,
    opts: &PassOptions,
    mut progress: impl FnMut(usize, i64),
) -> anyhow::Result<PassReport> {
    let keys = keys.snapshot();
    let keys = keys.as_ref();
    let total = count_todo(db, keys, opts.only_plaintext).await?;
    let mut report = PassReport::default();
    if total == 0 {
        return Ok(report);
    }
    let batch = opts.batch.max(1);
    let mut last = 0i64;
    let mut done = 0usize;
    loop {
        let limit = match opts.stop_after {
            Some(max) if done >= max => break,
            Some(max) => batch.min(max - done),
            None => batch,
        };
        let mut sql = Sql::new("select member_id, id_number, phone from member where member_id > ");
        sql.bind(last).push(" and ");
        push_todo(&mut sql, keys, opts.only_plaintext);
        sql.push(" order by member_id limit ").bind(limit as i64);
        let mut tx = db.begin_write().await?;
        let rows: Vec<(i64, String, String)> = sqlx::query_as_with(&sql.text, sql.arguments())
            .fetch_all(tx.conn())
            .await?;
        let (Some(first), Some(end)) = (rows.first().map(|r| r.0), rows.last().map(|r| r.0)) else {
            break;
        };
        let mut written = 0usize;
        for (member_id, id_number, phone) in &rows {
            let plain_id = keys
                .open_legacy(Field::IdNumber, id_number)
                .with_context(|| format!("党员（编号 {member_id}）的身份证号无法解密"))?;
            let plain_phone = keys
                .open_legacy(Field::Phone, phone)
                .with_context(|| format!("党员（编号 {member_id}）的手机号无法解密"))?;
            let s = keys.seal_member(&plain_id, &plain_phone)?;
            // Only if nobody changed the row since it was read (another process may write).
            let r = sqlx::query(
                "update member set id_number = $1, phone = $2, id_hash = $3, id_suffix = $4 \
                 where member_id = $5 and id_number = $6 and phone = $7",
            )
            .bind(s.id_number)
            .bind(s.phone)
            .bind(s.id_hash)
            .bind(s.id_suffix)
            .bind(*member_id)
            .bind(id_number.clone())
            .bind(phone.clone())
            .execute(tx.conn())
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => anyhow::anyhow!(
                    "党员（编号 {member_id}）的身份证号与另一名党员重复，无法建立索引：请先处理重复记录"
                ),
                _ => anyhow::Error::new(e),
            })?;
            if r.rows_affected() == 1 {
                written += 1;
            } else {
                report.skipped += 1;
            }
        }
        let plaintext = rows
            .iter()
            .filter(|(_, i, p)| is_plaintext(i) || is_plaintext(p))
            .count();
        tx.audit(actor,
            Entry::new(
                "member.encrypt",
                "member",
                "",
                format!(
                    "用密钥 {} 加密 {written} 名党员的身份证号和手机号（其中原为明文 {plaintext} 名；党员编号 {first}–{end}）",
                    keys.current_id()
                ),
            )
            .after(&serde_json::json!({
                "key_id": keys.current_id(),
                "rows": written,
                "from_plaintext": plaintext,
                "member_id_from": first,
                "member_id_to": end,
            })),
        )
        .await?;
        tx.commit().await?;
        report.rewritten += written;
        done += rows.len();
        last = end;
        progress(done, total);
    }
    report.remaining = count_todo(db, keys, opts.only_plaintext).await?;
    Ok(report)
}

/// Counts of stored values by key, for `yaoshi keys status`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub members: i64,
    /// (key id, ID numbers, phones, whether the key file has it)
    pub per_key: Vec<(String, i64, i64, bool)>,
    pub plaintext_ids: i64,
    pub plaintext_phones: i64,
    pub empty_phones: i64,
    pub without_hash: i64,
}

pub async fn status(db: &Db, keys: Option<&KeyRing>) -> anyhow::Result<Status> {
    let known: BTreeSet<String> = keys
        .map(|k| k.ids().into_iter().collect())
        .unwrap_or_default();
    let foreign = foreign_key_ids(db, &known).await?;
    let mut sql = Sql::new(
        "select count(*), \
         coalesce(sum(case when substr(id_number, 1, 3) <> 'v1.' then 1 else 0 end), 0), \
         coalesce(sum(case when phone <> '' and substr(phone, 1, 3) <> 'v1.' then 1 else 0 end), 0), \
         coalesce(sum(case when phone = '' then 1 else 0 end), 0), \
         coalesce(sum(case when id_hash is null then 1 else 0 end), 0)",
    );
    let ids: Vec<(String, bool)> = known
        .iter()
        .map(|k| (k.clone(), true))
        .chain(foreign.iter().map(|k| (k.clone(), false)))
        .collect();
    for (id, _) in &ids {
        let p = prefix_of(id);
        for column in ["id_number", "phone"] {
            sql.push(&format!(
                ", coalesce(sum(case when substr({column}, 1, {}) = ",
                p.len()
            ))
            .bind(p.clone())
            .push(" then 1 else 0 end), 0)");
        }
    }
    sql.push(" from member");
    let row = sqlx::query_with(&sql.text, sql.arguments())
        .fetch_one(&db.pool)
        .await?;
    use sqlx::Row;
    let get = |i: usize| -> anyhow::Result<i64> { Ok(row.try_get::<i64, _>(i)?) };
    let mut s = Status {
        members: get(0)?,
        plaintext_ids: get(1)?,
        plaintext_phones: get(2)?,
        empty_phones: get(3)?,
        without_hash: get(4)?,
        per_key: Vec::new(),
    };
    for (i, (id, present)) in ids.into_iter().enumerate() {
        s.per_key
            .push((id, get(5 + 2 * i)?, get(6 + 2 * i)?, present));
    }
    Ok(s)
}
