//! The two-backend harness: `store_test!` turns one test body into a `sqlite` test (always run, on a
//! fresh file in a fresh temporary directory) and a `postgres` test (run when
//! `PETTY_TEST_POSTGRES_URL` is set, on a fresh database that is dropped afterwards, even when the
//! test panics). Every test gets its own freshly migrated [`Store`].

use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use petty_store::Store;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};
use tokio::sync::Semaphore;
use uuid::Uuid;

/// Where the PostgreSQL server is, as a URL whose database the test user may connect to and whose
/// user may create databases, e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
pub(crate) const POSTGRES_URL_VAR: &str = "PETTY_TEST_POSTGRES_URL";

/// Bounds the PostgreSQL tests running at once, so a machine with many cores does not open more
/// connections than the server's `max_connections`.
static POSTGRES_SLOTS: Semaphore = Semaphore::const_new(8);

/// Writes `store_test!(name, |store| async move { ... })` once and gets `name::sqlite` and
/// `name::postgres`. Attributes before the name (`#[ignore = "..."]`, doc comments) go on both;
/// `store_test!(name, sqlite: #[ignore = "..."], |store| ...)` puts one on the SQLite test only.
/// The module the macro is used in is glob-imported, so the body sees that file's imports.
macro_rules! store_test {
    (@emit [$(#[$sqlite:meta])*] [$(#[$postgres:meta])*] $name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$sqlite])*
            #[tokio::test]
            async fn sqlite() {
                $crate::harness::run_sqlite(concat!(module_path!(), "::sqlite"), $body).await;
            }

            $(#[$postgres])*
            #[tokio::test]
            async fn postgres() {
                $crate::harness::run_postgres(concat!(module_path!(), "::postgres"), $body).await;
            }
        }
    };
    ($name:ident, sqlite: #[$sqlite:meta], $body:expr $(,)?) => {
        $crate::harness::store_test!(@emit [#[$sqlite]] [] $name, $body);
    };
    ($(#[$attr:meta])* $name:ident, $body:expr $(,)?) => {
        $crate::harness::store_test!(@emit [$(#[$attr])*] [$(#[$attr])*] $name, $body);
    };
}
pub(crate) use store_test;

/// Runs `body` on a migrated store over a new SQLite file; the directory is removed afterwards.
pub(crate) async fn run_sqlite<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.path().join("petty.db").display());
    let store = Store::connect(&url).await.unwrap_or_else(|e| panic!("{test}: opening {url}: {e}"));
    assert_eq!(store.backend_name(), "sqlite");
    store.migrate().await.unwrap_or_else(|e| panic!("{test}: migrating SQLite: {e}"));
    body(store.clone()).await;
    store.close().await;
}

/// Runs `body` on a migrated store over a new PostgreSQL database, or says why it did not.
pub(crate) async fn run_postgres<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(server_url) = postgres_url() else {
        // Straight to stderr, past the test harness's capture, so a skip is never silent.
        let _ = writeln!(std::io::stderr().lock(), "skipped: {test} on PostgreSQL ({POSTGRES_URL_VAR} not set)");
        return;
    };
    let _slot = POSTGRES_SLOTS.acquire().await.expect("the semaphore is never closed");
    let database = TestDatabase::create(&server_url).await;
    let store =
        Store::connect(&database.url).await.unwrap_or_else(|e| panic!("{test}: connecting to {}: {e}", database.name));
    assert_eq!(store.backend_name(), "postgres");
    store.migrate().await.unwrap_or_else(|e| panic!("{test}: migrating PostgreSQL: {e}"));
    body(store.clone()).await;
    store.close().await;
    // `database` is dropped here, or during unwinding if the body panicked.
}

/// Runs `body` on two stores over one new PostgreSQL database, as two nodes would be.
pub(crate) async fn run_postgres_nodes<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Store, Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(server_url) = postgres_url() else {
        let _ = writeln!(std::io::stderr().lock(), "skipped: {test} on PostgreSQL ({POSTGRES_URL_VAR} not set)");
        return;
    };
    let _slot = POSTGRES_SLOTS.acquire().await.expect("the semaphore is never closed");
    let database = TestDatabase::create(&server_url).await;
    let a = Store::connect(&database.url).await.unwrap_or_else(|e| panic!("{test}: connecting node A: {e}"));
    a.migrate().await.unwrap_or_else(|e| panic!("{test}: migrating PostgreSQL: {e}"));
    let b = Store::connect(&database.url).await.unwrap_or_else(|e| panic!("{test}: connecting node B: {e}"));
    body(a.clone(), b.clone()).await;
    a.close().await;
    b.close().await;
}

/// The server URL to test against, if any. On CI (`CI` set and not empty) a missing URL is a
/// failure: a green run there must mean PostgreSQL was tested.
fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            let on_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
            assert!(
                !on_ci,
                "CI is set but {POSTGRES_URL_VAR} is not: CI must set {POSTGRES_URL_VAR} \
                 (e.g. postgres://postgres@127.0.0.1:5432/postgres) so the PostgreSQL tests run"
            );
            None
        }
    }
}

/// A directory under the system temp dir, removed (with everything in it) when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        let path = std::env::temp_dir().join(format!("petty-store-it-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("warning: could not remove {}: {e}", self.0.display());
        }
    }
}

/// A database `petty_test_<random>` created for one test and dropped (`WITH (FORCE)`, so the
/// store's open connections do not stop it) when this guard is dropped, panic or not.
struct TestDatabase {
    server_url: String,
    name: String,
    /// `server_url` pointing at this database.
    url: String,
}

impl TestDatabase {
    async fn create(server_url: &str) -> Self {
        let name = format!("petty_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(server_url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {POSTGRES_URL_VAR}={server_url}: {e}"));
        // The name is ours (a prefix and hex digits), so it is safe to splice in.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        let database = Self { server_url: server_url.to_owned(), url: with_database(server_url, &name), name };
        let _ = admin.close().await;
        database
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // The test's runtime is still current here (and may be unwinding), so the drop runs on a
        // thread of its own with its own runtime.
        let server_url = self.server_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let outcome = std::thread::spawn(move || -> Result<(), String> {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server_url).await.map_err(|e| e.to_string())?;
                sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut admin).await.map_err(|e| e.to_string())?;
                admin.close().await.map_err(|e| e.to_string())
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the thread dropping the database panicked".to_owned()));
        if let Err(e) = outcome {
            let message = format!("could not drop test database {}: {e}", self.name);
            if std::thread::panicking() {
                eprintln!("{message}");
            } else {
                panic!("{message}");
            }
        }
    }
}

/// `url` with its database (the path) replaced by `database`; the query string is kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[test]
fn with_database_replaces_only_the_path() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(with_database("postgres://u:p@h", "x"), "postgres://u:p@h/x");
    assert_eq!(with_database("postgresql://h/db?sslmode=disable", "x"), "postgresql://h/x?sslmode=disable");
}
