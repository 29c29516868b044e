//! Backup and restore (数据备份恢复): `yaoshi backup [FILE]`, `yaoshi backup verify FILE`,
//! `yaoshi restore FILE --data-dir DIR [--database-url URL]`, and the server's daily backup
//! with retention (`schedule.rs`).
//!
//! One backup is one file (see `archive.rs`): a consistent copy of the database — SQLite's
//! `VACUUM INTO`, or `pg_dump` in an exported snapshot — and the file store, with a manifest of
//! digests and row counts. Keys are never in it. Every file is written aside under a hidden
//! temporary name in the target's folder and renamed when complete; temporaries go on
//! success and on failure. Each backup and restore is audited, failed ones too.

pub mod archive;
pub mod pg;
pub mod schedule;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context};
use time::OffsetDateTime;

use crate::audit::{Actor, Entry};
use crate::config::Config;
use crate::db::{Backend, Db};
use crate::state::AppState;

pub use archive::{Manifest, Verified};

/// A backup just written.
#[derive(Debug)]
pub struct Created {
    pub path: PathBuf,
    pub size: u64,
    /// SM3 of the whole file.
    pub digest: String,
    pub manifest: Manifest,
    /// Things worth telling that did not stop the backup (a store file whose bytes no longer
    /// match its name, a stray file skipped).
    pub warnings: Vec<String>,
}

/// `yaoshi-YYYYMMDD-HHMMSS.tar.zst`, in the time zone `t` carries (Beijing for ours).
pub fn default_name(t: OffsetDateTime) -> String {
    format!(
        "yaoshi-{:04}{:02}{:02}-{:02}{:02}{:02}.tar.zst",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Whether `name` is one of ours by [`default_name`]'s pattern; retention touches no other file.
pub fn is_backup_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix("yaoshi-")
        .and_then(|r| r.strip_suffix(".tar.zst"))
    else {
        return false;
    };
    let b = stamp.as_bytes();
    b.len() == 15
        && b[8] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 8 || c.is_ascii_digit())
}

pub fn human_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GB", b / 1024.0 / 1024.0 / 1024.0)
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A hidden temporary name in `dir`; every temporary of ours starts `.yaoshi-` and ends `.tmp`.
fn temp_path(dir: &Path, tag: &str) -> PathBuf {
    dir.join(format!(
        ".yaoshi-{tag}-{}-{}-{}.tmp",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Paths removed when this is dropped, whatever happened in between.
#[derive(Default)]
struct Temps(Vec<PathBuf>);

impl Temps {
    fn add(&mut self, p: PathBuf) -> PathBuf {
        self.0.push(p.clone());
        p
    }
}

impl Drop for Temps {
    fn drop(&mut self) {
        for p in &self.0 {
            let r = match std::fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
                Ok(_) => std::fs::remove_file(p),
                Err(_) => continue,
            };
            if let Err(e) = r {
                tracing::warn!(path = %p.display(), error = %e, "could not remove a temporary file");
            }
        }
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename durable.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The key files, wherever configured: never to be packed.
pub fn key_files(config: &Config) -> Vec<PathBuf> {
    let mut keys = vec![config.data_dir.join("yaoshi.key")];
    keys.push(config.key_file_path().0);
    keys.into_iter()
        .map(|k| std::fs::canonicalize(&k).unwrap_or(k))
        .collect()
}

/// Entry names in the archive and where the files are.
pub type StoreFiles = Vec<(String, PathBuf)>;

/// The file store's files (`files/ab/<sha256>`) under `data_dir`, by name; anything else
/// found there is skipped (temporaries silently, the rest with a warning).
pub fn store_files(data_dir: &Path, keys: &[PathBuf]) -> anyhow::Result<(StoreFiles, Vec<String>)> {
    let root = data_dir.join("files");
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let top = match std::fs::read_dir(&root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((out, warnings)),
        Err(e) => return Err(e).with_context(|| format!("读取文件库 {} 失败", root.display())),
    };
    for d in top {
        let d = d.with_context(|| format!("读取文件库 {} 失败", root.display()))?;
        let prefix = d.file_name().to_string_lossy().into_owned();
        let path = d.path();
        if !archive::is_hex(&prefix, 2) || !path.is_dir() {
            warnings.push(format!(
                "跳过文件库中的 {}（不是文件库的内容）",
                path.display()
            ));
            continue;
        }
        for f in std::fs::read_dir(&path)
            .with_context(|| format!("读取文件库 {} 失败", path.display()))?
        {
            let f = f.with_context(|| format!("读取文件库 {} 失败", path.display()))?;
            let name = f.file_name().to_string_lossy().into_owned();
            let file = f.path();
            let canonical = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
            if keys.contains(&canonical) {
                warnings.push(format!("跳过密钥文件 {}：密钥不进入备份", file.display()));
                continue;
            }
            let entry = format!("files/{prefix}/{name}");
            if archive::kind_of(&entry) == Some(archive::Kind::StoreFile) {
                out.push((entry, file));
            } else if !name.contains(".tmp") {
                warnings.push(format!(
                    "跳过文件库中的 {}（不是文件库的内容）",
                    file.display()
                ));
            }
        }
    }
    out.sort();
    Ok((out, warnings))
}

/// Checks a SQLite copy and counts its rows: the tables' row counts and the schema version.
/// With `writable`, first turns the copy into a self-contained rollback-journal file.
fn inspect_sqlite(path: &Path, writable: bool) -> anyhow::Result<(BTreeMap<String, i64>, i64)> {
    use rusqlite::OpenFlags;
    let flags = if writable {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    };
    let conn = rusqlite::Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_context(|| format!("打开数据库副本 {} 失败", path.display()))?;
    let inner = || -> rusqlite::Result<(String, BTreeMap<String, i64>, i64)> {
        if writable {
            conn.query_row("pragma journal_mode = delete", [], |_| Ok(()))?;
        }
        let check: String = conn.query_row("pragma quick_check", [], |r| r.get(0))?;
        let names: Vec<String> = conn
            .prepare(
                "select name from sqlite_master where type = 'table' \
                 and name not like 'sqlite\\_%' escape '\\' order by name",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut tables = BTreeMap::new();
        for n in names {
            let q = format!("select count(*) from \"{}\"", n.replace('"', "\"\""));
            let c: i64 = conn.query_row(&q, [], |r| r.get(0))?;
            tables.insert(n, c);
        }
        let schema: i64 = conn.query_row(
            "select coalesce(max(version), 0) from _sqlx_migrations",
            [],
            |r| r.get(0),
        )?;
        Ok((check, tables, schema))
    };
    let (check, tables, schema) =
        inner().with_context(|| format!("检查数据库副本 {} 失败", path.display()))?;
    if check != "ok" {
        bail!("数据库副本 {} 的完整性检查未通过：{check}", path.display());
    }
    Ok((tables, schema))
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("后台任务异常结束")?
}

/// Writes a backup to `target` (default: the backup dir, named by the time now) and audits it.
pub async fn create(
    state: &AppState,
    target: Option<PathBuf>,
    actor: &Actor,
) -> anyhow::Result<Created> {
    create_at(state, target, crate::clock::beijing_now(), actor).await
}

/// [`create`] with the time that names and stamps it.
pub async fn create_at(
    state: &AppState,
    target: Option<PathBuf>,
    now: OffsetDateTime,
    actor: &Actor,
) -> anyhow::Result<Created> {
    let target = target.unwrap_or_else(|| state.config.backup_dir.join(default_name(now)));
    let result = create_inner(state, &target, now).await;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let entry = match &result {
        Ok(c) => {
            let (files, file_bytes) = c.manifest.store_totals();
            Entry::new(
                "backup.create",
                "backup",
                &name,
                format!(
                    "备份到 {name}（{}；数据表 {} 张共 {} 行，文件 {files} 个），SM3 {}",
                    human_size(c.size),
                    c.manifest.tables.len(),
                    c.manifest.total_rows(),
                    c.digest
                ),
            )
            .after(&serde_json::json!({
                "path": c.path.display().to_string(),
                "size": c.size,
                "sm3": c.digest,
                "backend": c.manifest.backend,
                "schema_version": c.manifest.schema_version,
                "tables": c.manifest.tables.len(),
                "rows": c.manifest.total_rows(),
                "files": files,
                "file_bytes": file_bytes,
                "keys_included": false,
            }))
        }
        Err(e) => Entry::new(
            "backup.create",
            "backup",
            &name,
            clip(&format!("备份到 {} 失败：{e:#}", target.display())),
        )
        .result("failed"),
    };
    // In a transaction of its own, after the backup has ended either way: never lost with it.
    if let Err(e) = crate::audit::record_alone(&state.db, actor, entry).await {
        tracing::error!(error = %format!("{e:#}"), "could not audit a backup");
    }
    result
}

fn clip(s: &str) -> String {
    s.chars().take(1000).collect()
}

async fn create_inner(
    state: &AppState,
    target: &Path,
    now: OffsetDateTime,
) -> anyhow::Result<Created> {
    if target.file_name().is_none() {
        bail!("备份文件名无效：{}", target.display());
    }
    if target.exists() {
        bail!(
            "目标文件 {} 已存在，不会覆盖；请换一个文件名",
            target.display()
        );
    }
    let dir = parent_of(target);
    archive::create_private_dir_all(&dir)
        .with_context(|| format!("创建备份目录 {} 失败", dir.display()))?;
    let mut temps = Temps::default();
    let created_at = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .context("时间格式化失败")?;
    let backend = state.db.backend;
    let db_tmp = temps.add(temp_path(&dir, "backup-db"));
    let (db_entry, tables, schema) = match backend {
        Backend::Sqlite => {
            for sfx in ["-journal", "-wal", "-shm"] {
                let mut p = db_tmp.clone().into_os_string();
                p.push(sfx);
                temps.add(PathBuf::from(p));
            }
            let quoted = db_tmp.to_string_lossy().replace('\'', "''");
            let copy = format!("vacuum into '{quoted}'");
            match crate::db::sqlite_file(&state.config.database_url) {
                // On a connection of its own (read-only, like the page readers): a city takes
                // seconds, which should hold no pooled connection and trip no slow-query alarm.
                Some(src) => {
                    blocking(move || {
                        use rusqlite::OpenFlags;
                        let conn = rusqlite::Connection::open_with_flags(
                            &src,
                            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                        )?;
                        conn.busy_timeout(std::time::Duration::from_secs(30))?;
                        conn.execute_batch(&copy)?;
                        Ok(())
                    })
                    .await
                    .context("复制数据库失败")?;
                }
                None => {
                    sqlx::query(&copy)
                        .execute(&state.db.pool)
                        .await
                        .context("复制数据库失败")?;
                }
            }
            let p = db_tmp.clone();
            let (tables, schema) = blocking(move || inspect_sqlite(&p, true)).await?;
            (archive::SQLITE_DB, tables, schema)
        }
        Backend::Postgres => {
            let (tables, schema) = pg::dump(&state.db, &state.config.database_url, &db_tmp).await?;
            (archive::PG_DUMP, tables, schema)
        }
    };
    let mut manifest = Manifest::new(created_at, backend_name(backend), schema, tables);
    if let Some(seal) = state.db.chain() {
        manifest.audit_checkpoint = crate::audit::checkpoint::current(&state.db, &seal).await?;
    }
    let keyring = state.keys.clone();
    let data_dir = state.config.data_dir.clone();
    let keys = key_files(&state.config);
    let archive_tmp = temps.add(temp_path(&dir, "backup"));
    let out = archive_tmp.clone();
    let db_src = db_tmp.clone();
    let mtime = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let (digest, manifest, warnings) = blocking(move || {
        let (files, mut warnings) = store_files(&data_dir, &keys)?;
        let f = archive::create_private_file(&out)
            .with_context(|| format!("创建 {} 失败", out.display()))?;
        let mut w = archive::Writer::new(f, mtime)?;
        w.add_file(db_entry, &db_src, false)?;
        for (name, path) in &files {
            let sha = w.add_file(name, path, true)?;
            let expected = name.rsplit('/').next().unwrap_or_default();
            if sha.as_deref() != Some(expected) {
                warnings.push(format!(
                    "文件库中 {} 的内容与其名称（SHA-256）不符，可能已损坏；已按原样备份",
                    path.display()
                ));
            }
        }
        let seal = |bytes: &[u8]| keyring.backup_seal(bytes);
        let (file, digest, manifest) = w.finish(manifest, Some(&seal))?;
        file.sync_all().context("写入备份失败")?;
        Ok((digest, manifest, warnings))
    })
    .await?;
    // The copy is in the archive now; do not keep a second plain copy around longer than needed.
    let _ = std::fs::remove_file(&db_tmp);
    let size = std::fs::metadata(&archive_tmp)
        .context("读取备份文件失败")?
        .len();
    if target.exists() {
        bail!(
            "目标文件 {} 已存在，不会覆盖；请换一个文件名",
            target.display()
        );
    }
    std::fs::rename(&archive_tmp, target)
        .with_context(|| format!("保存备份文件 {} 失败", target.display()))?;
    sync_dir(&dir);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    Ok(Created {
        path: target.to_path_buf(),
        size,
        digest,
        manifest,
        warnings,
    })
}

/// Checks a backup file completely (nothing is written).
pub async fn verify(file: &Path) -> anyhow::Result<Verified> {
    let f = file.to_path_buf();
    blocking(move || archive::verify(&f)).await
}

/// Where a restore goes.
#[derive(Clone, Debug)]
pub struct RestoreTo {
    /// The new data dir: must be empty or not exist. The SQLite database and the file store
    /// go there (for PostgreSQL, the file store only).
    pub data_dir: PathBuf,
    /// For a PostgreSQL backup: an empty database to restore into.
    pub database_url: Option<String>,
}

#[derive(Debug)]
pub struct Restored {
    pub verified: Verified,
    pub data_dir: PathBuf,
    /// The restored database, as `DATABASE_URL` should name it.
    pub database_url: String,
}

/// Restores `file` after checking all of it; audits the restore in the restored database,
/// or a failed one in the configured database if there is one.
pub async fn restore(
    config: &Config,
    file: &Path,
    to: &RestoreTo,
    actor: &Actor,
) -> anyhow::Result<Restored> {
    let result = match restore_inner(config, file, to).await {
        Ok(r) => audit_restored(config, &r, file, actor).await.map(|()| r),
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        let entry = Entry::new(
            "backup.restore",
            "backup",
            file_label(file),
            clip(&format!("从 {} 恢复失败：{e:#}", file.display())),
        )
        .result("failed");
        audit_configured(config, actor, entry).await;
    }
    result
}

fn file_label(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Brings the restored database up to this binary's schema and records the restore in it,
/// keyed like every audit row (the key file stays this installation's: backups never hold
/// it), and anchors the restored chain in the new data dir's checkpoint.
async fn audit_restored(
    config: &Config,
    r: &Restored,
    file: &Path,
    actor: &Actor,
) -> anyhow::Result<()> {
    let db = Db::connect(&r.database_url).await?;
    let (key_path, _) = config.key_file_path();
    match crate::crypto::KeyRing::load(&key_path) {
        Ok(keys) => db.set_chain(crate::audit::checkpoint::seal(
            keys.chain_mac(),
            &r.data_dir,
        )),
        Err(e) => tracing::warn!(error = %e, "恢复时读不到密钥文件，恢复记录不带密钥校验值"),
    }
    let outcome = async {
        db.migrate()
            .await
            .context("已恢复，但把数据库升级到本程序的结构失败")?;
        let m = &r.verified.manifest;
        let (files, _) = m.store_totals();
        crate::audit::record_alone(
            &db,
            actor,
            Entry::new(
                "backup.restore",
                "backup",
                file_label(file),
                format!(
                    "从 {} 恢复（备份于 {}；数据表 {} 张共 {} 行，文件 {files} 个），SM3 {}",
                    file.display(),
                    m.created_at,
                    m.tables.len(),
                    m.total_rows(),
                    r.verified.digest
                ),
            )
            .after(&serde_json::json!({
                "file": file.display().to_string(),
                "sm3": r.verified.digest,
                "created_at": m.created_at,
                "backend": m.backend,
                "schema_version": m.schema_version,
                "rows": m.total_rows(),
                "files": files,
                "data_dir": r.data_dir.display().to_string(),
            })),
        )
        .await
        .context("已恢复，但写入审计日志失败")?;
        crate::audit::checkpoint::reanchor(&db)
            .await
            .context("已恢复，但写入审计日志检查点失败")
    }
    .await;
    db.pool.close().await;
    outcome
}

/// Records `entry` in the configured database if one is already there (never creates one).
async fn audit_configured(config: &Config, actor: &Actor, entry: Entry<'_>) {
    let url = &config.database_url;
    let exists = if url.starts_with("sqlite:") {
        crate::db::sqlite_file(url).is_some_and(|p| p.exists())
    } else {
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    };
    if !exists {
        return;
    }
    match Db::connect(url).await {
        Ok(db) => {
            if let Err(e) = crate::audit::record_alone(&db, actor, entry).await {
                tracing::warn!(error = %format!("{e:#}"), "could not audit a failed restore");
            }
            db.pool.close().await;
        }
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "could not audit a failed restore"),
    }
}

/// Refuses a target data dir that holds anything.
fn ensure_empty_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                bail!(
                    "目标目录 {} 不是空的：恢复只写入空目录或不存在的目录，不会覆盖已有数据",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.exists() => bail!("目标 {} 不是目录", dir.display()),
        Err(e) => Err(e).with_context(|| format!("读取目标目录 {} 失败", dir.display())),
    }
}

fn check_counts(
    expected: &BTreeMap<String, i64>,
    actual: &BTreeMap<String, i64>,
) -> anyhow::Result<()> {
    for (t, n) in expected {
        match actual.get(t) {
            Some(a) if a == n => {}
            Some(a) => bail!("恢复后表 {t} 有 {a} 行，与备份清单的 {n} 行不符"),
            None => bail!("恢复后缺少表 {t}"),
        }
    }
    if let Some(extra) = actual.keys().find(|t| !expected.contains_key(*t)) {
        bail!("恢复后多出了备份清单中没有的表 {extra}");
    }
    Ok(())
}

/// Whether a verified backup's manifest carries this key file's seal: a backup made by this
/// installation, not one assembled without the key.
pub fn check_seal(m: &Manifest, keys: &crate::crypto::KeyRing) -> anyhow::Result<()> {
    if m.seal.is_empty() {
        bail!("备份清单没有签名，无法确认是本系统生成的备份，已拒绝恢复");
    }
    if !keys.backup_seal_matches(&m.sealed_bytes(), &m.seal) {
        bail!("备份清单的签名与本系统的密钥不符：该备份被伪造或改动过，或来自使用其他密钥文件的系统，已拒绝恢复");
    }
    Ok(())
}

async fn restore_inner(config: &Config, file: &Path, to: &RestoreTo) -> anyhow::Result<Restored> {
    // 1. The whole file, every entry against the manifest, and the manifest's seal; nothing
    // is written before this.
    let verified = verify(file).await?;
    let (key_path, _) = config.key_file_path();
    let keys = crate::crypto::KeyRing::load(&key_path).with_context(|| {
        format!(
            "恢复前须用密钥文件核验备份的签名，读取 {} 失败（备份不含密钥，请先放回密钥文件）",
            key_path.display()
        )
    })?;
    check_seal(&verified.manifest, &keys)?;
    let m = &verified.manifest;
    let backend = if m.backend == "postgres" {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let latest = Db::latest_migration(backend);
    if m.schema_version > latest {
        bail!(
            "该备份来自较新版本的钥匙（数据库结构版本 {}，本程序只到 {latest}），请用新版程序恢复",
            m.schema_version
        );
    }
    match (backend, &to.database_url) {
        (Backend::Sqlite, Some(_)) => bail!(
            "这是 SQLite 数据库的备份，只能恢复到数据目录：请去掉 --database-url，用 --data-dir 指定一个空目录"
        ),
        (Backend::Postgres, None) => bail!(
            "这是 PostgreSQL 数据库的备份：请用 --database-url 指定一个空数据库（先 createdb），文件库恢复到 --data-dir"
        ),
        _ => {}
    }
    // 2. The targets: an empty (or absent) data dir, an empty database.
    ensure_empty_dir(&to.data_dir)?;
    if let Some(url) = &to.database_url {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("--database-url 应为 postgres:// 连接串");
        }
        if !pg::is_empty(url).await? {
            bail!(
                "目标数据库 {} 不是空的：恢复只写入新建的空数据库，不会覆盖已有数据",
                crate::config::redact_url(url)
            );
        }
        pg::locate("pg_restore")?;
    }
    // 3. Unpack beside the data dir, check again as it is written, then move into place.
    let parent = parent_of(&to.data_dir);
    archive::create_private_dir_all(&parent)
        .with_context(|| format!("创建目录 {} 失败", parent.display()))?;
    let mut temps = Temps::default();
    let tmp = temps.add(temp_path(&parent, "restore"));
    archive::create_private_dir_all(&tmp)
        .with_context(|| format!("创建临时目录 {} 失败", tmp.display()))?;
    let (src, dest) = (file.to_path_buf(), tmp.clone());
    let again = blocking(move || archive::extract(&src, &dest)).await?;
    if again.digest != verified.digest {
        bail!("备份文件 {} 在恢复过程中被改动，已停止", file.display());
    }
    let database_url = match &to.database_url {
        None => {
            let db = tmp.join(archive::SQLITE_DB);
            let (tables, _) = blocking(move || inspect_sqlite(&db, false)).await?;
            check_counts(&m.tables, &tables)?;
            format!(
                "sqlite://{}?mode=rwc",
                to.data_dir.join(archive::SQLITE_DB).display()
            )
        }
        Some(url) => {
            let dump = tmp.join(archive::PG_DUMP);
            pg::restore(url, &dump).await?;
            let _ = std::fs::remove_file(&dump);
            let mut conn = pg::connect(url).await?;
            let tables = pg::counts(&mut conn).await?;
            let _ = sqlx::Connection::close(conn).await;
            check_counts(&m.tables, &tables)?;
            url.clone()
        }
    };
    if to.data_dir.exists() {
        // Empty, as checked: a directory cannot be renamed over on every system.
        std::fs::remove_dir(&to.data_dir)
            .with_context(|| format!("目标目录 {} 不是空的", to.data_dir.display()))?;
    }
    std::fs::rename(&tmp, &to.data_dir)
        .with_context(|| format!("移动到 {} 失败", to.data_dir.display()))?;
    sync_dir(&parent);
    Ok(Restored {
        verified,
        data_dir: to.data_dir.clone(),
        database_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_are_recognised() {
        let t = time::macros::datetime!(2026-03-05 02:00:07 +08:00);
        let n = default_name(t);
        assert_eq!(n, "yaoshi-20260305-020007.tar.zst");
        assert!(is_backup_name(&n));
        for other in [
            "yaoshi-20260305-020007.tar.zst.tmp",
            ".yaoshi-backup-1-2-3.tmp",
            "yaoshi-2026030-0200070.tar.zst",
            "yaoshi-20260305_020007.tar.zst",
            "yaoshi-before-upgrade.tar.zst",
            "yaoshi-20260305-02000x.tar.zst",
            "yaoshi.key",
        ] {
            assert!(!is_backup_name(other), "{other}");
        }
        assert!(
            default_name(time::macros::datetime!(2026-12-31 23:59:59 +08:00))
                > default_name(time::macros::datetime!(2026-03-05 02:00:07 +08:00))
        );
    }

    #[test]
    fn store_walk_takes_store_files_only() {
        let dir = std::env::temp_dir().join(format!(
            "yaoshi-store-walk-{}-{}",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        let hash = crate::files::sha256_hex(b"%PDF-1.4 x");
        let sub = dir.join("files").join(&hash[0..2]);
        std::fs::create_dir_all(&sub).expect("dir");
        std::fs::write(sub.join(&hash), b"%PDF-1.4 x").expect("file");
        std::fs::write(sub.join(format!("{hash}.tmp42")), b"half").expect("tmp");
        std::fs::write(sub.join("notes.txt"), b"x").expect("stray");
        std::fs::write(dir.join("yaoshi.key"), b"secret").expect("key");
        std::fs::write(dir.join("files").join("yaoshi.key"), b"secret").expect("key");
        let (files, warnings) = store_files(&dir, &[]).expect("walk");
        assert_eq!(
            files,
            vec![(format!("files/{}/{hash}", &hash[0..2]), sub.join(&hash))]
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(store_files(&dir.join("nowhere"), &[])
            .expect("none")
            .0
            .is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn restored_counts_must_match() {
        let mut a = BTreeMap::new();
        a.insert("member".to_string(), 3);
        a.insert("unit".to_string(), 1);
        assert!(check_counts(&a, &a.clone()).is_ok());
        let mut b = a.clone();
        b.insert("member".to_string(), 2);
        assert!(check_counts(&a, &b).is_err());
        b = a.clone();
        b.insert("extra".to_string(), 0);
        assert!(check_counts(&a, &b).is_err());
        b = a.clone();
        b.remove("unit");
        assert!(check_counts(&a, &b).is_err());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MB");
    }
}
