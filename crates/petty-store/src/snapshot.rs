//! Copies and checks of the embedded database, for `petty backup` and `petty restore`: a
//! consistent snapshot of a live SQLite file (`VACUUM INTO`, which reads one transaction's view
//! while the server goes on writing), and a check of a copy (its integrity and the last
//! migration it has).

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::{Result, StoreError};

/// What [`check_sqlite`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteCheck {
    /// `PRAGMA integrity_check`'s verdict: `"ok"`, or what is wrong.
    pub integrity: String,
    /// The newest migration applied (`None`: not a Petty database).
    pub migration: Option<i64>,
    /// The newest migration this build knows.
    pub latest_known: i64,
}

impl SqliteCheck {
    pub fn is_ok(&self) -> bool {
        self.integrity == "ok" && self.migration.is_some()
    }
}

async fn open(path: &Path, read_only: bool) -> Result<SqliteConnection> {
    let url = format!("sqlite://{}", path.display());
    let options = SqliteConnectOptions::from_str(&url)
        .map_err(|e| StoreError::BadUrl(e.to_string()))?
        .read_only(read_only)
        .busy_timeout(Duration::from_secs(30));
    Ok(SqliteConnection::connect_with(&options).await?)
}

/// Writes a consistent copy of the SQLite database at `from` (which a server may be writing)
/// to `to`, which must not exist: every transaction committed before the copy began, nothing
/// half written. The copy is a single file (no write-ahead log beside it).
pub async fn snapshot_sqlite(from: &Path, to: &Path) -> Result<()> {
    if !from.exists() {
        return Err(StoreError::Corrupt(format!("there is no database at {}", from.display())));
    }
    let mut conn = open(from, true).await?;
    sqlx::query("VACUUM INTO $1").bind(to.display().to_string()).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Checks the SQLite database at `path` (a copy nothing else has open): its integrity, and
/// which migration it has against the newest this build knows.
pub async fn check_sqlite(path: &Path) -> Result<SqliteCheck> {
    let mut conn = open(path, true).await?;
    let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check").fetch_all(&mut conn).await?;
    let integrity = rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("; ");
    let has_migrations: Option<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_optional(&mut conn)
            .await?;
    let migration = match has_migrations {
        Some(_) => {
            let (max,): (Option<i64>,) =
                sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(&mut conn).await?;
            max
        }
        None => None,
    };
    conn.close().await?;
    let latest_known = sqlx::migrate!("migrations/sqlite").iter().map(|m| m.version).max().unwrap_or(0);
    Ok(SqliteCheck { integrity, migration, latest_known })
}

/// The migrations this build knows for SQLite, oldest first.
pub fn sqlite_migrations() -> Vec<i64> {
    sqlx::migrate!("migrations/sqlite").iter().map(|m| m.version).collect()
}

/// Creates (or brings) the SQLite file at `path` to migration `version` and no further: a
/// database as an older Petty left it, for upgrade tests and drills.
pub async fn migrate_sqlite_to(path: &Path, version: i64) -> Result<()> {
    let url = format!("sqlite://{}", path.display());
    let options =
        SqliteConnectOptions::from_str(&url).map_err(|e| StoreError::BadUrl(e.to_string()))?.create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    sqlx::migrate!("migrations/sqlite").run_to(version, &mut conn).await?;
    conn.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_snapshot_of_a_live_database_checks_out_with_its_migration() {
        let dir = std::env::temp_dir().join(format!("petty-snapshot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let live = dir.join("petty.db");
        let store = crate::Store::open_sqlite(&live).await.unwrap();
        store.migrate().await.unwrap();
        let copy = dir.join("copy.db");
        snapshot_sqlite(&live, &copy).await.unwrap();
        let check = check_sqlite(&copy).await.unwrap();
        assert!(check.is_ok(), "{check:?}");
        assert_eq!(check.migration, Some(check.latest_known));
        // A second snapshot onto the first is refused: nothing is overwritten.
        assert!(snapshot_sqlite(&live, &copy).await.is_err());
        // Not a database at all.
        std::fs::write(dir.join("junk.db"), b"this is not SQLite, just some words to fill a page").unwrap();
        assert!(check_sqlite(&dir.join("junk.db")).await.is_err());
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Forward-only migrations: a database left at any earlier step by an older Petty is brought
    /// to the latest, whole; one a newer Petty migrated is refused and left untouched.
    #[tokio::test]
    async fn a_database_at_every_earlier_step_migrates_and_a_newer_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("petty-steps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let steps = sqlite_migrations();
        let latest = *steps.last().unwrap();
        for step in &steps {
            let path = dir.join(format!("at-{step}.db"));
            migrate_sqlite_to(&path, *step).await.unwrap();
            assert_eq!(check_sqlite(&path).await.unwrap().migration, Some(*step));
            let store = crate::Store::open_sqlite(&path).await.unwrap();
            assert_eq!(store.schema_versions().await.unwrap(), (Some(*step), latest));
            store.migrate().await.unwrap_or_else(|e| panic!("from migration {step}: {e}"));
            assert_eq!(store.schema_versions().await.unwrap(), (Some(latest), latest));
            store.close().await;
            assert!(check_sqlite(&path).await.unwrap().is_ok());
        }

        let path = dir.join(format!("at-{latest}.db"));
        let mut conn = open(&path, false).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from the future', TRUE, x'00', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        let store = crate::Store::open_sqlite(&path).await.unwrap();
        match store.migrate().await {
            Err(StoreError::NewerSchema { applied, known }) => {
                assert_eq!((applied, known), (99990101000000, latest));
            }
            other => panic!("a newer schema must be refused: {other:?}"),
        }
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A household as the second migration's schema held it (shared with the binary's upgrade
    /// test, which reads it back through the HTTP API).
    const EARLY_HOUSEHOLD: &str = include_str!("../tests/fixtures/early_household.sql");

    /// Data written under an early schema reads back whole through the store after the
    /// migrations from every later step to the latest.
    #[tokio::test]
    async fn data_written_at_an_early_step_reads_back_after_migrating_from_every_later_one() {
        use petty_core::ids::{DeviceId, HouseholdId, PetId};
        let dir = std::env::temp_dir().join(format!("petty-steps-data-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let id = |last: u8| uuid::Uuid::from_bytes([1, 0x90, 0, 0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, last]);
        let (household, pet, device) = (HouseholdId(id(0x0a)), PetId(id(0x0c)), DeviceId(id(0x0d)));
        let steps = sqlite_migrations();
        for step in steps.iter().filter(|s| **s >= 2) {
            let path = dir.join(format!("data-at-{step}.db"));
            migrate_sqlite_to(&path, 2).await.unwrap();
            let mut conn = open(&path, false).await.unwrap();
            sqlx::raw_sql(EARLY_HOUSEHOLD).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            migrate_sqlite_to(&path, *step).await.unwrap_or_else(|e| panic!("to migration {step}: {e}"));
            let store = crate::Store::open_sqlite(&path).await.unwrap();
            store.migrate().await.unwrap_or_else(|e| panic!("from migration {step} to the latest: {e}"));
            let bella = store.get_pet(household, pet).await.unwrap();
            assert_eq!((bella.profile.name.as_str(), bella.profile.weight_kg), ("Bella", Some(21.5)), "from {step}");
            let collar = store.get_device(household, device).await.unwrap();
            assert_eq!(
                (collar.profile.name.as_str(), collar.battery_pct),
                ("Bella's collar", Some(81.0)),
                "from {step}"
            );
            let from = time::OffsetDateTime::from_unix_timestamp(1_789_999_000).unwrap();
            let to = time::OffsetDateTime::from_unix_timestamp(1_790_001_000).unwrap();
            let (readings, _) = store.readings(household, device, from, to, None, 100).await.unwrap();
            let hearts: Vec<Option<f64>> =
                readings.iter().map(|r| r.reading.value(petty_core::readings::Metric::HeartRate)).collect();
            assert_eq!(hearts, [Some(72.0), Some(75.0), Some(78.0)], "from {step}");
            assert_eq!(readings[2].reading.extra.get("lick_seconds"), Some(&4.0), "from {step}");
            assert_eq!(readings[0].reading.location.map(|l| l.lat), Some(52.37), "from {step}");
            store.close().await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
