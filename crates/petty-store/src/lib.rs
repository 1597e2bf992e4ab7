//! All of Petty's SQL: one domain-shaped [`Store`] over SQLite (embedded, the default) and
//! PostgreSQL (for several nodes).
//!
//! Architecture invariant: no other crate writes SQL or names a table. Every method that reads
//! household data takes the caller's [`HouseholdId`](petty_core::ids::HouseholdId) and puts it in
//! the `WHERE` clause, so another household's row is never loaded and filtered later.
//!
//! API boundary: [`Store`] and the record types of its modules; sqlx never leaks out.
//! The SQL is written once where both engines agree (they do for everything so far: `$n`
//! placeholders, `RETURNING`, `ON CONFLICT`), and per backend where they do not.

mod accounts;
mod alarms;
mod analysis;
mod aurora;
mod billing;
mod cache;
mod care;
mod catalog;
mod devices;
mod fastread;
mod files;
mod geofences;
mod ingest;
mod life_models;
mod lifelog;
mod liveness;
mod petmgmt;
mod pets;
mod privacy;
mod readings;
mod retention;
mod rollup_fold;
mod rollup_memo;
mod security;
mod signin;
mod snapshot;
mod transfer;
mod work;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use time::OffsetDateTime;

pub use accounts::*;
pub use alarms::*;
pub use analysis::*;
pub use aurora::*;
pub use billing::*;
pub use care::*;
pub use catalog::*;
pub use devices::*;
pub use files::*;
pub use geofences::*;
pub use ingest::{IngestOutcome, ROLLUP_RESOLUTIONS};
pub use life_models::*;
pub use lifelog::*;
pub use liveness::*;
pub use petmgmt::*;
pub use pets::*;
pub use privacy::*;
pub use readings::*;
pub use retention::*;
pub use security::*;
pub use signin::*;
pub use snapshot::{SqliteCheck, check_sqlite, migrate_sqlite_to, snapshot_sqlite, sqlite_migrations};
pub use transfer::{TableMoved, move_to_postgres};
pub use work::{AlarmInput, AlarmWorkDone, WorkClaim, WorkKind};

/// What can go wrong in the store, in terms callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another household, which is the same to the caller).
    #[error("not found")]
    NotFound,
    /// A unique rule would be broken; the string names what already exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A row holds a value the code cannot read: a bug or a hand-edited database.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database URL is not valid: {0}")]
    BadUrl(String),
    /// The database was migrated by a newer Petty: this one does not know its schema and
    /// changes nothing.
    #[error(
        "the database was migrated by a newer Petty (its schema is at migration {applied}; this Petty knows up to {known}): \
         run that version, or restore a backup made before it"
    )]
    NewerSchema { applied: i64, known: i64 },
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Database(sqlx::Error),
    /// The database could not take the write; nothing of it was stored.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("a row with that key"),
            _ => StoreError::Database(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which engine holds the data. Chosen once, from the URL scheme, at start-up.
#[derive(Clone, Debug)]
enum Backend {
    /// Readers share a pool; other writes go through a single connection, so they queue in
    /// process instead of fighting over SQLite's lock. Readings have their own writer thread
    /// and connection (`ingest.rs`).
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs the same body against whichever pool the store has. The body is written once and
/// compiled twice, once per engine.
macro_rules! on_pool {
    (read, $store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite { read: $pool, .. } => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
    (write, $store:expr, |$pool:ident| $body:expr) => {{
        // Counted when the write is over, however it ends (an early `return` included).
        let _written = $crate::WriteMark(&$store.writes);
        // SQLite: this process's writers take turns (see `IngestQueue::gate`).
        let _gate = match &$store.ingest.gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        match &$store.backend {
            $crate::Backend::Sqlite { write: $pool, .. } => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    }};
}
pub(crate) use on_pool;

/// Opens a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
/// deferred transaction that reads and then writes fails at its first write, without waiting,
/// with `SQLITE_BUSY_SNAPSHOT` when the ingest writer (another connection) has committed since
/// its read, which under steady ingest is often. PostgreSQL's `BEGIN` has no such failure.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, Self::Db>>;
}

impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin().await
    }
}

/// Counts a write through [`on_pool`] when dropped, after the write's transaction is over.
pub(crate) struct WriteMark<'a>(pub(crate) &'a std::sync::atomic::AtomicU64);

impl Drop for WriteMark<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The system of record. Cheap to clone; clones share the pools.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// Hot rows kept in memory; only on SQLite, where this process is the only writer.
    cache: Option<std::sync::Arc<cache::ReadCache>>,
    /// Device tokens found by hash (see `cache::SharedCache`).
    device_tokens: std::sync::Arc<cache::DeviceTokenCache>,
    /// Members' standing, checked on every request with an access token (`accounts::Standing`).
    standing: std::sync::Arc<cache::StandingCache>,
    /// Live API keys, forgotten with the standing (`accounts::CachedApiKey`).
    api_keys: std::sync::Arc<cache::ApiKeyCache>,
    /// On PostgreSQL, the task that listens for other nodes' changes; stopped when the
    /// last clone of the store goes or it is closed.
    listener: Option<std::sync::Arc<AbortOnDrop>>,
    /// The group-commit writer for readings.
    ingest: std::sync::Arc<ingest::IngestQueue>,
    /// On SQLite, hot list reads on this thread (`fastread.rs`).
    fast: Option<std::sync::Arc<fastread::FastReads>>,
    /// Writes this process has finished through [`on_pool`] (readings, which have their own
    /// writer, not counted): see [`Store::write_generation`].
    writes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Catalog snapshots by household and version (`catalog.rs`).
    catalogs: std::sync::Arc<catalog::Snapshots>,
    /// On SQLite, devices' closed rollup periods (`rollup_memo.rs`).
    rollup_memo: std::sync::Arc<rollup_memo::RollupMemo>,
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps the caches in use while a connection listens for other nodes' changes on their
/// channels ([`cache::DEVICE_CHANNEL`], [`cache::STANDING_CHANNEL`]); switches them all off
/// whenever that connection is lost.
async fn listen_for_changes(pool: PgPool, caches: Vec<(&'static str, std::sync::Weak<dyn cache::Invalidate>)>) {
    let mut channels: Vec<&str> = caches.iter().map(|(channel, _)| *channel).collect();
    channels.sort_unstable();
    channels.dedup();
    let each = |f: &dyn Fn(&str, &dyn cache::Invalidate)| -> bool {
        for (channel, cache) in &caches {
            let Some(cache) = cache.upgrade() else { return false };
            f(channel, &*cache);
        }
        true
    };
    loop {
        if let Ok(mut listener) = sqlx::postgres::PgListener::connect_with(&pool).await
            && listener.listen_all(channels.iter().copied()).await.is_ok()
        {
            if !each(&|_, cache| cache.set_live(true)) {
                return;
            }
            // `None` means the connection was lost (notifications may have been missed).
            while let Ok(Some(notification)) = listener.try_recv().await {
                let changed = notification.channel();
                if !each(&|channel, cache| {
                    if channel == changed {
                        cache.forget()
                    }
                }) {
                    return;
                }
            }
        }
        if !each(&|_, cache| cache.set_live(false)) {
            return;
        }
        if pool.is_closed() {
            return;
        }
        tracing::warn!(
            "not listening for changes on PostgreSQL; device tokens, members' standing and API keys are looked up every time until it is back"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Connection counts, for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

impl Store {
    /// Opens `sqlite://PATH` (created if missing) or `postgres://...`. Does not migrate.
    pub async fn connect(url: &str) -> Result<Self> {
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            Self::open_sqlite(Path::new(rest.split('?').next().unwrap_or(rest))).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.application_name("petty"))
                .await?;
            let ingest = std::sync::Arc::new(ingest::IngestQueue::start_postgres(pool.clone()));
            let device_tokens = std::sync::Arc::new(cache::DeviceTokenCache::new(false));
            let standing = std::sync::Arc::new(cache::StandingCache::new(false));
            let api_keys = std::sync::Arc::new(cache::ApiKeyCache::new(false));
            let device_weak: std::sync::Weak<dyn cache::Invalidate> =
                std::sync::Arc::downgrade(&device_tokens) as std::sync::Weak<_>;
            let standing_weak: std::sync::Weak<dyn cache::Invalidate> =
                std::sync::Arc::downgrade(&standing) as std::sync::Weak<_>;
            let api_keys_weak: std::sync::Weak<dyn cache::Invalidate> =
                std::sync::Arc::downgrade(&api_keys) as std::sync::Weak<_>;
            let caches = vec![
                (cache::DEVICE_CHANNEL, device_weak),
                (cache::STANDING_CHANNEL, standing_weak),
                (cache::STANDING_CHANNEL, api_keys_weak),
            ];
            let task = tokio::spawn(listen_for_changes(pool.clone(), caches));
            let listener = Some(std::sync::Arc::new(AbortOnDrop(task.abort_handle())));
            let backend = Backend::Postgres(pool);
            Ok(Self {
                backend,
                cache: None,
                device_tokens,
                standing,
                api_keys,
                listener,
                ingest,
                fast: None,
                writes: Default::default(),
                catalogs: Default::default(),
                rollup_memo: Default::default(),
            })
        } else {
            Err(StoreError::BadUrl(format!("{url:?}: use sqlite://PATH or postgres://USER@HOST/DB")))
        }
    }

    /// Opens (creating if needed) the SQLite file at `path` in WAL mode.
    ///
    /// `synchronous = NORMAL` in WAL mode keeps every committed transaction across a crash or
    /// `kill -9` of the process; only a power cut can lose the last few, which is the usual
    /// trade for an embedded server.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Only the checkpointer thread checkpoints (see `ingest.rs`), never a request.
            .pragma("wal_autocheckpoint", "0")
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-16000");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        let backend = Backend::Sqlite { read, write };
        let ingest = std::sync::Arc::new(ingest::IngestQueue::start_sqlite(path)?);
        let device_tokens = std::sync::Arc::new(cache::DeviceTokenCache::new(true));
        let standing = std::sync::Arc::new(cache::StandingCache::new(true));
        let api_keys = std::sync::Arc::new(cache::ApiKeyCache::new(true));
        let fast = Some(std::sync::Arc::new(fastread::FastReads::new(path)));
        Ok(Self {
            backend,
            cache: Some(Default::default()),
            device_tokens,
            standing,
            api_keys,
            listener: None,
            ingest,
            fast,
            writes: Default::default(),
            catalogs: Default::default(),
            rollup_memo: Default::default(),
        })
    }

    /// The schema's migration: the newest applied (`None` in an empty database) and the
    /// newest this build knows.
    pub async fn schema_versions(&self) -> Result<(Option<i64>, i64)> {
        let query = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
        let (applied, known) = match &self.backend {
            Backend::Sqlite { write, .. } => {
                let applied: Option<(Option<i64>,)> = sqlx::query_as(query).fetch_one(write).await.ok();
                (applied, sqlx::migrate!("migrations/sqlite").iter().map(|m| m.version).max())
            }
            Backend::Postgres(pool) => {
                let exists: (bool,) =
                    sqlx::query_as("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(pool).await?;
                let applied = if exists.0 { Some(sqlx::query_as(query).fetch_one(pool).await?) } else { None };
                (applied, sqlx::migrate!("migrations/postgres").iter().map(|m| m.version).max())
            }
        };
        Ok((applied.and_then(|a| a.0), known.unwrap_or(0)))
    }

    /// Brings the schema up to date. Safe to run on every start and from several nodes. A
    /// database a newer Petty migrated is refused ([`StoreError::NewerSchema`]), untouched.
    pub async fn migrate(&self) -> Result<()> {
        if let (Some(applied), known) = self.schema_versions().await?
            && applied > known
        {
            return Err(StoreError::NewerSchema { applied, known });
        }
        match &self.backend {
            Backend::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Backend::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        // Rollup periods a crashed process left pending are recomputed before anything reads them.
        let recovered = self.ingest.recover_rollups().await?;
        if recovered > 0 {
            tracing::warn!(devices = recovered, "the last run stopped before it folded its rollups; recomputed them");
            self.rollup_memo.forget_all();
        }
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether reads of an unchanged row return the same shared snapshot (SQLite, where this
    /// process is the only writer and keeps a read cache).
    pub fn shares_snapshots(&self) -> bool {
        self.cache.is_some()
    }

    /// This store as one process among several on an embedded database (`petty mcp` beside a
    /// `petty serve` on the same data folder): the other process's writes never reach this one's
    /// memory, so nothing is kept there. Pets, device tokens, members' standing and API keys are
    /// read from the database every time (a key revoked through the server is refused here on
    /// its next use), and there is no write generation for answers to be kept on. (On
    /// PostgreSQL every process already hears the others' changes: nothing changes there.)
    pub fn shared_with_other_processes(mut self) -> Self {
        use crate::cache::Invalidate;
        if !matches!(self.backend, Backend::Sqlite { .. }) {
            return self;
        }
        self.cache = None;
        self.device_tokens.set_live(false);
        self.standing.set_live(false);
        self.api_keys.set_live(false);
        self
    }

    /// A number that changes whenever a write other than a reading has finished, on SQLite,
    /// where this process is the only writer; `None` on PostgreSQL, where other nodes write too.
    /// Read it before reading rows: an answer made from those rows stays right for as long as
    /// the number has not moved (the records page keeps its rendered body on it).
    pub fn write_generation(&self) -> Option<u64> {
        self.cache.as_ref().map(|_| self.writes.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Answers when the database does; used by `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(read, self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub fn pool_stats(&self) -> PoolStats {
        match &self.backend {
            Backend::Sqlite { read, write } => {
                PoolStats { size: read.size() + write.size(), idle: (read.num_idle() + write.num_idle()) as u32 }
            }
            Backend::Postgres(pool) => PoolStats { size: pool.size(), idle: pool.num_idle() as u32 },
        }
    }

    /// Waits for open connections to finish and closes them. On SQLite the last connection to
    /// close checkpoints the WAL into the main file.
    pub async fn close(&self) {
        // Readings handed to the writer are committed (and their callers answered) first.
        self.ingest.close().await;
        if let Some(listener) = &self.listener {
            listener.0.abort();
        }
        // The read-only connections go first: the writer, closing last, removes the WAL.
        if let Some(fast) = &self.fast {
            fast.close();
        }
        match &self.backend {
            Backend::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// Times are stored as Unix epoch milliseconds on both engines.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_ms(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {ms} is out of range")))
}

pub(crate) fn from_ms_opt(ms: Option<i64>) -> Result<Option<OffsetDateTime>> {
    ms.map(from_ms).transpose()
}
