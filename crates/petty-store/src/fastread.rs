//! Hot list reads on SQLite without sqlx's per-connection worker thread.
//!
//! sqlx runs every SQLite connection on a thread of its own and sends each row back over a
//! channel: a page of 50 rows is about 50 thread hand-offs, and an uncached list spent most of
//! its time there (`BENCHMARKS.md`, issue 14). These reads take a read-only rusqlite connection
//! from a small idle list and run on the calling thread: an indexed page of rows is tens of
//! microseconds, less than a hand-off to another thread would cost. Only short, indexed reads
//! belong here; anything that may scan stays on the sqlx pool.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{Result, StoreError};

/// The most idle connections kept; more are opened under load and closed after.
const IDLE_MAX: usize = 8;

#[derive(Debug)]
pub(crate) struct FastReads {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// Set once the store closes: connections are not kept any more.
    closed: std::sync::atomic::AtomicBool,
}

impl FastReads {
    pub(crate) fn new(path: &Path) -> Self {
        FastReads {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch("PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8000;")?;
        // The query planner's stability guarantee: a plan does not depend on the values bound.
        // Without it a statement with `col LIKE $n` is compiled again every time `$n` is bound
        // (SQLite's LIKE optimization looks at the value), so a cached list statement was parsed
        // and planned on every request. These reads use their indexes whatever the values.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Closes the idle connections and keeps no more (the store is closing).
    pub(crate) fn close(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
            self.closed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Runs `read` on an idle connection (or a new one) on this thread.
    pub(crate) fn with<T>(&self, read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> Result<T> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => self.open().map_err(error)?,
        };
        let out = read(&conn).map_err(error);
        if let Ok(mut v) = self.idle.lock()
            && v.len() < IDLE_MAX
            && !self.closed.load(std::sync::atomic::Ordering::Relaxed)
        {
            v.push(conn);
        }
        out
    }
}

fn error(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        other => StoreError::Unavailable(format!("SQLite: {other}")),
    }
}

/// A UUID column as sqlx stores it on SQLite (16 bytes).
pub(crate) fn uuid(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<uuid::Uuid> {
    let bytes: [u8; 16] = row.get(idx)?;
    Ok(uuid::Uuid::from_bytes(bytes))
}

pub(crate) fn uuid_opt(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<uuid::Uuid>> {
    let bytes: Option<[u8; 16]> = row.get(idx)?;
    Ok(bytes.map(uuid::Uuid::from_bytes))
}
