//! The database seam: one pool over SQLite or PostgreSQL, chosen once at start-up.
//!
//! Queries are written once with `$1` placeholders, which both backends accept.
//! SQLite takes one writer at a time: writes go through [`Db::begin_write`], which
//! serialises them in-process so a transaction never has to upgrade a read lock.
//!
//! On SQLite the hottest reads (a page of a list) can skip sqlx: [`Sql::fetch_page`]
//! runs them on a pooled read-only rusqlite connection, inline on the calling thread.
//! A page query takes a fraction of a millisecond, less than handing it to sqlx's
//! per-connection worker thread and back costs; long reads (exports) stay on sqlx.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Arguments, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    writer: Arc<Mutex<()>>,
    reader: Option<Arc<SqliteReader>>,
    /// The audit chain's key and outside anchor, set once at start (`audit` uses it).
    chain: Arc<std::sync::OnceLock<Arc<ChainSeal>>>,
    /// Orders this process's runs of the audit chain's sealer (`audit::seal_pending`).
    pub seal_gate: Arc<SealGate>,
}

/// One sealer at a time in this process, and a count of the runs begun: a commit that finds
/// a run begun after it and finished has had its entries sealed by that run.
#[derive(Default)]
pub struct SealGate {
    pub lock: Mutex<()>,
    pub runs: std::sync::atomic::AtomicU64,
}

/// What keys the audit chain and anchors it outside the database: an HMAC-SM3 keyed from the
/// key file (never stored in the database) and the checkpoint file in the data directory.
/// The logic is `audit`'s; the database only carries it to every write transaction.
pub struct ChainSeal {
    pub mac: hmac::Hmac<sm3::Sm3>,
    pub checkpoint: Option<std::path::PathBuf>,
    /// Serialises this process's checkpoint writes.
    pub lock: std::sync::Mutex<()>,
}

/// Read-only rusqlite connections to the same SQLite file, for [`Sql::fetch_page`].
pub struct SqliteReader {
    path: std::path::PathBuf,
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

impl SqliteReader {
    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // 8 MB of page cache per connection: the hot pages of a city fit; more only grows RSS
        // (the OS page cache holds the file anyway).
        conn.execute_batch("pragma cache_size = -8000; pragma temp_store = memory;")?;
        // Without this SQLite recompiles a cached statement whenever a value bound to a
        // LIKE changes (the plan might depend on it): the search pages would parse their
        // SQL on every request.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Runs `f` on an idle connection (opening one if none is idle) and returns it to the pool.
    fn with<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> anyhow::Result<T> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => self.open().context("打开只读数据库连接失败")?,
        };
        let out = f(&conn);
        if let Ok(mut v) = self.idle.lock() {
            // At most one connection per thread is ever in use; keep a few.
            if v.len() < 16 {
                v.push(conn);
            }
        }
        Ok(out?)
    }
}

/// `$from, $from+1, …` for `n` values (an insert's placeholders).
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fixed-choice column (`crate::choice!`) read by position on the SQLite fast path.
pub fn choice_at<T>(
    r: &rusqlite::Row<'_>,
    i: usize,
    from_key: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let key: String = r.get(i)?;
    from_key(&key).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown value {key:?}").into(),
        )
    })
}

/// A row type the SQLite fast path can decode; columns are read by position, in the
/// order of the query's select list.
pub trait FromSqlite: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

impl FromSqlite for (i64,) {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?,))
    }
}

impl FromSqlite for (String,) {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?,))
    }
}

impl FromSqlite for (i64, i64) {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?, row.get(1)?))
    }
}

impl FromSqlite for (i64, String) {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?, row.get(1)?))
    }
}

impl FromSqlite for (i64, String, i64) {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    }
}

/// A write transaction that knows its backend (for what differs between the two, such as
/// the audit chain's lock: `audit` adds `tx.audit(..)`).
pub struct WriteTx {
    pub tx: Transaction<'static, Any>,
    backend: Backend,
    _guard: Option<OwnedMutexGuard<()>>,
    chain: Option<Arc<ChainSeal>>,
    on_commit: Vec<Box<dyn FnOnce() + Send>>,
    on_commit_async: Vec<AsyncHook>,
    db: Db,
}

/// Work a transaction leaves for after its commit that needs the database (the audit
/// chain's sealer on PostgreSQL), awaited before `commit` returns.
pub type AsyncHook =
    Box<dyn FnOnce(Db) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send>;

impl WriteTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The audit chain's seal, when the app set one.
    pub fn chain(&self) -> Option<Arc<ChainSeal>> {
        self.chain.clone()
    }

    /// Runs `f` once the transaction has committed (not if it fails or is dropped).
    pub fn after_commit(&mut self, f: impl FnOnce() + Send + 'static) {
        self.on_commit.push(Box::new(f));
    }

    /// Awaits `f` once the transaction has committed, before `commit` returns (not if the
    /// transaction fails or is dropped); it runs outside the SQLite writer's lock.
    pub fn after_commit_async(
        &mut self,
        f: impl FnOnce(Db) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
            + Send
            + 'static,
    ) {
        self.on_commit_async.push(Box::new(f));
    }

    pub fn has_after_commit_async(&self) -> bool {
        !self.on_commit_async.is_empty()
    }

    pub async fn commit(self) -> anyhow::Result<()> {
        let WriteTx {
            tx,
            on_commit,
            on_commit_async,
            _guard,
            db,
            ..
        } = self;
        tx.commit().await.context("提交事务失败")?;
        // The next writer may start: what follows the commit (the audit checkpoint's file,
        // the chain's sealer) needs no lock of the database's.
        drop(_guard);
        for f in on_commit {
            f();
        }
        for f in on_commit_async {
            f(db.clone()).await;
        }
        Ok(())
    }
}

impl Db {
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("不支持的 DATABASE_URL：只支持 sqlite: 与 postgres://");
        };
        if backend == Backend::Sqlite {
            prepare_sqlite_file(url)?;
        }
        let opts = AnyPoolOptions::new()
            .max_connections(
                std::env::var("YAOSHI_DB_MAX_CONNECTIONS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(match backend {
                        Backend::Sqlite => 8,
                        Backend::Postgres => 16,
                    }),
            )
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10));
        let opts = if backend == Backend::Sqlite {
            opts.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "pragma journal_mode = wal; pragma synchronous = normal; \
                         pragma foreign_keys = on; pragma busy_timeout = 10000; \
                         pragma cache_size = -8000; pragma temp_store = memory;",
                    )
                    .await?;
                    Ok(())
                })
            })
        } else {
            opts
        };
        let pool = opts
            .connect(url)
            .await
            .with_context(|| format!("连接数据库失败：{}", crate::config::redact_url(url)))?;
        let reader = match backend {
            Backend::Sqlite => sqlite_file(url).map(|path| {
                Arc::new(SqliteReader {
                    path,
                    idle: std::sync::Mutex::new(Vec::new()),
                })
            }),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            backend,
            writer: Arc::new(Mutex::new(())),
            reader,
            chain: Arc::default(),
            seal_gate: Arc::default(),
        })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        Self::migrator(self.backend)
            .run(&self.pool)
            .await
            .context("数据库迁移失败")?;
        Ok(())
    }

    /// The migrations this binary carries for `backend`.
    pub fn migrator(backend: Backend) -> &'static sqlx::migrate::Migrator {
        match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// The newest migration this binary knows for `backend`.
    pub fn latest_migration(backend: Backend) -> i64 {
        Self::migrator(backend)
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }

    pub async fn begin_write(&self) -> anyhow::Result<WriteTx> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        // SQLite: take the write lock at the start. A deferred transaction that read first
        // would fail with SQLITE_BUSY_SNAPSHOT (not retried by the busy timeout) when a
        // write outside this process-wide writer lock committed in between.
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .context("开始事务失败")?;
        Ok(WriteTx {
            tx,
            backend: self.backend,
            _guard: guard,
            chain: self.chain.get().cloned(),
            on_commit: Vec::new(),
            on_commit_async: Vec::new(),
            db: self.clone(),
        })
    }

    /// Sets the audit chain's seal (once; later calls keep the first).
    pub fn set_chain(&self, seal: ChainSeal) {
        let _ = self.chain.set(Arc::new(seal));
    }

    pub fn chain(&self) -> Option<Arc<ChainSeal>> {
        self.chain.get().cloned()
    }

    /// Refreshes the query planner's statistics. SQLite keeps none until `ANALYZE` runs, and
    /// without them it guessed a branch's member list best read by scanning the whole city's
    /// register in order (5 ms instead of 0.5 ms); PostgreSQL's autovacuum analyzes by itself,
    /// so there this only hurries it. Runs as a write, so it waits for the writers.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("analyze").execute(tx.conn()).await?;
        tx.commit().await
    }

    /// Whether the planner has statistics yet (SQLite; PostgreSQL always keeps them).
    pub async fn has_statistics(&self) -> anyhow::Result<bool> {
        if self.backend == Backend::Postgres {
            return Ok(true);
        }
        let n: i64 = sqlx::query_scalar(
            "select count(*) from sqlite_master where type = 'table' and name = 'sqlite_stat1'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// The file behind a SQLite URL; `None` for an in-memory database.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// The SQLite file holds password hashes: it, its folder when made here, and the WAL and
/// shared-memory files are the owner's only. SQLite gives those the database file's mode,
/// so the file is made (empty, which SQLite takes as a new database) 0600 before SQLite
/// opens it; files an older version left readable by others are tightened.
fn prepare_sqlite_file(url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::files::create_private_dir_all(dir)
            .with_context(|| format!("创建数据目录 {} 失败", dir.display()))?;
    }
    if url.contains("mode=rwc") {
        match crate::files::create_private_file(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e).with_context(|| format!("创建数据库文件 {} 失败", path.display()))
            }
        }
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        crate::files::make_private(std::path::Path::new(&name));
    }
    Ok(())
}

/// A value bound into a dynamically built query.
#[derive(Clone, Debug)]
pub enum Arg {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        v.map_or(Arg::NullText, Arg::Text)
    }
}

/// SQL assembled from pieces, numbering `$n` placeholders as values are bound.
#[derive(Clone, Debug, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `v`.
    pub fn bind(&mut self, v: impl Into<Arg>) -> &mut Self {
        self.args.push(v.into());
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Appends a test that `column` contains `needle` as plain text (no wildcards).
    pub fn contains(&mut self, backend: Backend, column: &str, needle: &str) -> &mut Self {
        self.push(match backend {
            Backend::Sqlite => "instr(",
            Backend::Postgres => "strpos(",
        })
        .push(column)
        .push(", ")
        .bind(needle)
        .push(") > 0")
    }

    /// Appends `(…, …)` placeholders for a list; an empty list becomes `(NULL)`, matching nothing.
    pub fn bind_list(&mut self, vs: &[i64]) -> &mut Self {
        if vs.is_empty() {
            self.text.push_str("(null)");
            return self;
        }
        self.text.push('(');
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(*v);
        }
        self.text.push(')');
        self
    }

    pub fn arguments(&self) -> AnyArguments<'static> {
        let mut a = AnyArguments::default();
        for arg in &self.args {
            // Binding plain values into AnyArguments cannot fail.
            let _ = match arg {
                Arg::Int(v) => a.add(*v),
                Arg::Text(v) => a.add(v.clone()),
                Arg::NullInt => a.add(None::<i64>),
                Arg::NullText => a.add(None::<String>),
            };
        }
        a
    }

    pub async fn fetch_all<T>(&self, pool: &AnyPool) -> anyhow::Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        Ok(sqlx::query_as_with::<_, T, _>(&self.text, self.arguments())
            .fetch_all(pool)
            .await?)
    }

    /// A short read (a page of a list): on SQLite through the inline read-only
    /// connection, on PostgreSQL (or in-memory SQLite) through the pool.
    pub async fn fetch_page<T>(&self, db: &Db) -> anyhow::Result<Vec<T>>
    where
        T: FromSqlite + for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        let Some(reader) = &db.reader else {
            return self.fetch_all(&db.pool).await;
        };
        reader.with(|conn| {
            let mut stmt = conn.prepare_cached(&self.text)?;
            let params = self.args.iter().map(|a| match a {
                Arg::Int(v) => rusqlite::types::Value::Integer(*v),
                Arg::Text(v) => rusqlite::types::Value::Text(v.clone()),
                Arg::NullInt | Arg::NullText => rusqlite::types::Value::Null,
            });
            let rows = stmt.query_map(rusqlite::params_from_iter(params), T::from_sqlite)?;
            rows.collect()
        })
    }

    pub async fn fetch_scalar(&self, pool: &AnyPool) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar_with::<_, i64, _>(&self.text, self.arguments())
                .fetch_one(pool)
                .await?,
        )
    }
}

/// Writes setting `key` (the `setting` table: one text value per key) inside the caller's
/// transaction, made on first use.
pub async fn put_setting(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
    at: i64,
    by: &str,
) -> anyhow::Result<()> {
    let n = sqlx::query(
        "update setting set value = $1, updated_at = $2, updated_by = $3 where key = $4",
    )
    .bind(value.to_string())
    .bind(at)
    .bind(by.to_string())
    .bind(key.to_string())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        sqlx::query(
            "insert into setting (key, value, updated_at, updated_by) values ($1, $2, $3, $4)",
        )
        .bind(key.to_string())
        .bind(value.to_string())
        .bind(at)
        .bind(by.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The counter `area` of `data_version` ('orglife', 'registry'): database triggers bump it on
/// every write to the tables behind that area's summaries, whichever instance wrote.
///
/// Inside [`with_version_snapshot`] (every GET request) the counters are read once, all
/// together, on the first call, and that snapshot answers the rest of the request: a page
/// that looks up five cached summaries makes one round trip for their versions, not five.
pub async fn data_version(db: &Db, area: &str) -> anyhow::Result<i64> {
    match VERSIONS.try_with(|memo| memo.borrow().clone()) {
        Ok(Some(snapshot)) => Ok(snapshot.get(area).copied().unwrap_or(0)),
        Ok(None) => {
            // An area's version is the sum of its shards (PostgreSQL; one row on SQLite).
            let rows: Vec<(i64, String)> = Sql::new(
                "select cast(sum(version) as bigint), name from data_version group by name",
            )
            .fetch_page(db)
            .await?;
            let snapshot: Arc<HashMap<String, i64>> =
                Arc::new(rows.into_iter().map(|(v, name)| (name, v)).collect());
            let v = snapshot.get(area).copied().unwrap_or(0);
            let _ = VERSIONS.try_with(|memo| *memo.borrow_mut() = Some(snapshot));
            Ok(v)
        }
        Err(_) => {
            let mut sql = Sql::new(
                "select cast(coalesce(sum(version), 0) as bigint) from data_version where name = ",
            );
            sql.bind(area);
            let v: Vec<(i64,)> = sql.fetch_page(db).await?;
            Ok(v.first().map_or(0, |x| x.0))
        }
    }
}

tokio::task_local! {
    /// The data versions read by the current request, once (see [`data_version`]).
    static VERSIONS: std::cell::RefCell<Option<Arc<HashMap<String, i64>>>>;
}

/// Runs `work` with one snapshot of the data versions for all of it. Only for work that
/// does not write: a write inside would bump a version the snapshot no longer sees, and the
/// work would read its own caches from before the write. The app wraps every GET and HEAD
/// request in it; nothing else.
pub async fn with_version_snapshot<F: std::future::Future>(work: F) -> F::Output {
    VERSIONS.scope(std::cell::RefCell::new(None), work).await
}

/// Query results remembered against a data version: the same query (text and values) is
/// answered from memory until a write bumps its area's version. For the counts and small
/// summaries that read many rows (the city's meetings by status, members per category);
/// a result is exactly what the query returns at that version. Bounded: forgets everything
/// when it holds [`QueryCache::CAP`] queries.
#[derive(Default)]
pub struct QueryCache {
    map: std::sync::Mutex<HashMap<String, (i64, Cached)>>,
    /// One computation at a time per derived key: the readers that miss together wait for
    /// the first one's result instead of each computing it (32 clients missing a city's
    /// board at once would otherwise compute it 32 times over, on two cores).
    flights: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A remembered result, of whatever type its query returned.
type Cached = Arc<dyn std::any::Any + Send + Sync>;

impl QueryCache {
    pub const CAP: usize = 4096;

    fn get(&self, key: &str, version: i64) -> Option<Cached> {
        let map = self.map.lock().ok()?;
        map.get(key)
            .filter(|(v, _)| *v == version)
            .map(|(_, x)| x.clone())
    }

    fn put(&self, key: String, version: i64, value: Cached) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= Self::CAP {
                map.clear();
            }
            map.insert(key, (version, value));
        }
    }

    fn key<T>(area: &str, sql: &Sql) -> String {
        format!(
            "{area}\u{1f}{}\u{1f}{}\u{1f}{:?}",
            std::any::type_name::<T>(),
            sql.text,
            sql.args
        )
    }

    /// `select count(*) …` under `area`'s version.
    pub async fn count(&self, db: &Db, area: &str, sql: &Sql) -> anyhow::Result<i64> {
        // The version is read first: a write landing before the query runs leaves a newer
        // result under the older version, which the next reader's version no longer matches.
        let version = data_version(db, area).await?;
        let key = Self::key::<i64>(area, sql);
        if let Some(n) = self
            .get(&key, version)
            .and_then(|x| x.downcast_ref::<i64>().copied())
        {
            return Ok(n);
        }
        let n = sql.fetch_scalar(&db.pool).await?;
        self.put(key, version, Arc::new(n));
        Ok(n)
    }

    /// A value computed from `area`'s data (by queries through this cache, say), remembered
    /// under `key` until the version moves: the org tree flattened from its rows and counts,
    /// instead of flattening 3,000 orgs on every request. `key` names everything the value
    /// depends on besides the data (scope, filters, the day).
    pub async fn derived<T, F, Fut>(
        &self,
        db: &Db,
        area: &str,
        key: &str,
        make: F,
    ) -> anyhow::Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        let version = data_version(db, area).await?;
        let key = format!("{area}\u{1f}{}\u{1f}{key}", std::any::type_name::<T>());
        if let Some(v) = self.get(&key, version).and_then(|x| x.downcast::<T>().ok()) {
            return Ok(v);
        }
        let flight = match self.flights.lock() {
            Ok(mut f) => {
                if f.len() >= Self::CAP {
                    f.clear();
                }
                f.entry(key.clone()).or_default().clone()
            }
            Err(_) => Arc::default(),
        };
        let _turn = flight.lock().await;
        // Whoever held the turn before may have made it.
        if let Some(v) = self.get(&key, version).and_then(|x| x.downcast::<T>().ok()) {
            return Ok(v);
        }
        let v = Arc::new(make().await?);
        self.put(key, version, v.clone());
        Ok(v)
    }

    /// Every row of `sql` under `area`'s version, shared.
    pub async fn rows<T>(&self, db: &Db, area: &str, sql: &Sql) -> anyhow::Result<Arc<Vec<T>>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Sync + Unpin + 'static,
    {
        let version = data_version(db, area).await?;
        let key = Self::key::<T>(area, sql);
        if let Some(rows) = self
            .get(&key, version)
            .and_then(|x| x.downcast::<Vec<T>>().ok())
        {
            return Ok(rows);
        }
        let rows: Arc<Vec<T>> = Arc::new(sql.fetch_all(&db.pool).await?);
        self.put(key, version, rows.clone());
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order() {
        let mut s = Sql::new("select * from member where unit_id in ");
        s.bind_list(&[1, 2]).push(" and name = ").bind("张三");
        assert_eq!(
            s.text,
            "select * from member where unit_id in ($1, $2) and name = $3"
        );
        assert_eq!(s.args.len(), 3);
        let mut e = Sql::new("x in ");
        e.bind_list(&[]);
        assert_eq!(e.text, "x in (null)");
    }
}
