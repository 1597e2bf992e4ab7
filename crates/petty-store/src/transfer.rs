//! `petty move`: an embedded (SQLite) Petty copied into an empty PostgreSQL database, the path
//! from one small machine to a cluster without losing a reading.
//!
//! Both schemas are migrated from parallel folders, so every table and column has the same name
//! on both engines; only the types differ (16-byte BLOBs become UUIDs or BYTEA, 0/1 become
//! booleans). The copy reads the PostgreSQL catalog for each column's type and converts each
//! SQLite value to it, table by table in foreign-key order, each table in its key order, in
//! batches. Each batch commits together with its table's progress in `_petty_move`, so a move
//! that is interrupted (killed, a network cut) continues where it stopped when it is run again,
//! and its result is the same as an uninterrupted one. At the end every table is verified: the
//! same number of rows, and the same SHA-256 over the rows in key order, read back from both.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::{Result, StoreError};

/// One table moved: its rows and their checksum (the same on both engines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMoved {
    pub table: String,
    pub rows: u64,
    pub sha256: String,
}

/// A value as SQLite stores it.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A PostgreSQL column's type, as far as Petty's schema uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uuid,
    Bytes,
    I64,
    I32,
    Bool,
    F64,
    Text,
}

impl Kind {
    fn of(data_type: &str) -> Option<Kind> {
        Some(match data_type {
            "uuid" => Kind::Uuid,
            "bytea" => Kind::Bytes,
            "bigint" => Kind::I64,
            "integer" => Kind::I32,
            "boolean" => Kind::Bool,
            "double precision" | "real" => Kind::F64,
            "text" | "character varying" => Kind::Text,
            _ => return None,
        })
    }
}

/// A value typed for PostgreSQL (`None` is NULL).
#[derive(Debug, Clone, PartialEq)]
enum PgVal {
    Uuid(Option<Uuid>),
    Bytes(Option<Vec<u8>>),
    I64(Option<i64>),
    I32(Option<i32>),
    Bool(Option<bool>),
    F64(Option<f64>),
    Text(Option<String>),
}

impl PgVal {
    /// `value` as a column of `kind` holds it; `None` when it cannot be one.
    fn convert(kind: Kind, value: Val) -> Option<PgVal> {
        Some(match (kind, value) {
            (Kind::Uuid, Val::Null) => PgVal::Uuid(None),
            (Kind::Uuid, Val::Blob(b)) => PgVal::Uuid(Some(Uuid::from_slice(&b).ok()?)),
            (Kind::Uuid, Val::Text(t)) => PgVal::Uuid(Some(Uuid::parse_str(&t).ok()?)),
            (Kind::Bytes, Val::Null) => PgVal::Bytes(None),
            (Kind::Bytes, Val::Blob(b)) => PgVal::Bytes(Some(b)),
            (Kind::Bytes, Val::Text(t)) => PgVal::Bytes(Some(t.into_bytes())),
            (Kind::I64, Val::Null) => PgVal::I64(None),
            (Kind::I64, Val::Int(i)) => PgVal::I64(Some(i)),
            (Kind::I64, Val::Real(f)) if f.fract() == 0.0 && f.abs() < 9.0e18 => PgVal::I64(Some(f as i64)),
            (Kind::I32, Val::Null) => PgVal::I32(None),
            (Kind::I32, Val::Int(i)) => PgVal::I32(Some(i32::try_from(i).ok()?)),
            (Kind::Bool, Val::Null) => PgVal::Bool(None),
            (Kind::Bool, Val::Int(i)) => PgVal::Bool(Some(i != 0)),
            (Kind::F64, Val::Null) => PgVal::F64(None),
            (Kind::F64, Val::Real(f)) => PgVal::F64(Some(f)),
            (Kind::F64, Val::Int(i)) => PgVal::F64(Some(i as f64)),
            (Kind::Text, Val::Null) => PgVal::Text(None),
            (Kind::Text, Val::Text(t)) => PgVal::Text(Some(t)),
            (Kind::Text, Val::Int(i)) => PgVal::Text(Some(i.to_string())),
            (Kind::Text, Val::Real(f)) => PgVal::Text(Some(f.to_string())),
            _ => return None,
        })
    }

    /// Reads column `i` of a PostgreSQL row as `kind`.
    fn read(row: &PgRow, i: usize, kind: Kind) -> std::result::Result<PgVal, sqlx::Error> {
        Ok(match kind {
            Kind::Uuid => PgVal::Uuid(row.try_get(i)?),
            Kind::Bytes => PgVal::Bytes(row.try_get(i)?),
            Kind::I64 => PgVal::I64(row.try_get(i)?),
            Kind::I32 => PgVal::I32(row.try_get(i)?),
            Kind::Bool => PgVal::Bool(row.try_get(i)?),
            Kind::F64 => PgVal::F64(row.try_get(i)?),
            Kind::Text => PgVal::Text(row.try_get(i)?),
        })
    }

    /// Feeds the value into a checksum, unambiguously (a tag, then a length where needed).
    fn hash(&self, h: &mut Sha256) {
        fn bytes(h: &mut Sha256, tag: u8, b: &[u8]) {
            h.update([tag]);
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        }
        match self {
            PgVal::Uuid(None)
            | PgVal::Bytes(None)
            | PgVal::I64(None)
            | PgVal::I32(None)
            | PgVal::Bool(None)
            | PgVal::F64(None)
            | PgVal::Text(None) => h.update([0]),
            PgVal::Uuid(Some(u)) => bytes(h, 1, u.as_bytes()),
            PgVal::Bytes(Some(b)) => bytes(h, 2, b),
            PgVal::I64(Some(i)) => bytes(h, 3, &i.to_le_bytes()),
            PgVal::I32(Some(i)) => bytes(h, 3, &i64::from(*i).to_le_bytes()),
            PgVal::Bool(Some(b)) => bytes(h, 4, &[u8::from(*b)]),
            PgVal::F64(Some(f)) => bytes(h, 5, &f.to_bits().to_le_bytes()),
            PgVal::Text(Some(t)) => bytes(h, 6, t.as_bytes()),
        }
    }
}

fn push(b: &mut sqlx::query_builder::Separated<'_, Postgres, &'static str>, v: PgVal) {
    match v {
        PgVal::Uuid(x) => b.push_bind(x),
        PgVal::Bytes(x) => b.push_bind(x),
        PgVal::I64(x) => b.push_bind(x),
        PgVal::I32(x) => b.push_bind(x),
        PgVal::Bool(x) => b.push_bind(x),
        PgVal::F64(x) => b.push_bind(x),
        PgVal::Text(x) => b.push_bind(x),
    };
}

/// A table as both engines have it.
#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
    /// The primary key's columns, in order (the order rows are compared in).
    key: Vec<String>,
    /// The order rows are read from SQLite in for the copy: `rowid`, or the key.
    read_order: String,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn bad(message: String) -> StoreError {
    StoreError::Corrupt(message)
}

/// Petty's tables in the PostgreSQL database, parents before the tables that refer to them.
async fn tables(pool: &PgPool, sqlite: &rusqlite::Connection) -> Result<Vec<Table>> {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_type = 'BASE TABLE' AND table_name NOT IN ('_sqlx_migrations', '_petty_move') ORDER BY table_name",
    )
    .fetch_all(pool)
    .await?;
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
         JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(pool)
    .await?;
    // Kahn's order, alphabetical among equals so every run moves tables in the same order.
    let mut parents: BTreeMap<String, BTreeSet<String>> =
        names.iter().map(|(n,)| (n.clone(), BTreeSet::new())).collect();
    for (child, parent) in edges {
        let (child, parent) = (child.trim_matches('"').to_owned(), parent.trim_matches('"').to_owned());
        if child != parent
            && let Some(p) = parents.get_mut(&child)
        {
            p.insert(parent);
        }
    }
    let mut order = Vec::new();
    while !parents.is_empty() {
        let ready: Vec<String> = parents.iter().filter(|(_, p)| p.is_empty()).map(|(n, _)| n.clone()).collect();
        if ready.is_empty() {
            return Err(bad("the foreign keys between tables form a cycle".to_owned()));
        }
        for name in &ready {
            parents.remove(name);
        }
        for p in parents.values_mut() {
            for name in &ready {
                p.remove(name);
            }
        }
        order.extend(ready);
    }
    let mut out = Vec::with_capacity(order.len());
    for name in order {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' \
             ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(pool)
        .await?;
        let columns = columns
            .into_iter()
            .map(|(c, t)| {
                Kind::of(&t).map(|k| (c.clone(), k)).ok_or_else(|| bad(format!("{name}.{c}: type {t} is not moved")))
            })
            .collect::<Result<Vec<_>>>()?;
        // The key as PostgreSQL has it (SQLite's may differ: a rowid alias for a full-text index).
        let key: Vec<(String,)> = sqlx::query_as(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
             AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind(quote(&name))
        .fetch_all(pool)
        .await?;
        let key: Vec<String> = key.into_iter().map(|(k,)| k).collect();
        let without_rowid = sqlite_without_rowid(sqlite, &name)?;
        let have: BTreeSet<String> = sqlite_columns(sqlite, &name)?;
        if let Some((missing, _)) = columns.iter().find(|(c, _)| !have.contains(c)) {
            return Err(bad(format!(
                "{name}.{missing} is not in the SQLite database: migrate it first (petty migrate)"
            )));
        }
        let key = if key.is_empty() { columns.iter().map(|(c, _)| c.clone()).collect() } else { key };
        let read_order = if without_rowid {
            key.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
        } else {
            "rowid".to_owned()
        };
        out.push(Table { name, columns, key, read_order });
    }
    Ok(out)
}

/// Whether a SQLite table is `WITHOUT ROWID` (read in key order, not rowid order).
fn sqlite_without_rowid(conn: &rusqlite::Connection, table: &str) -> Result<bool> {
    let sql: String = conn
        .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| r.get(0))
        .map_err(|_| bad(format!("the SQLite database has no table {table}: migrate it first (petty migrate)")))?;
    Ok(sql.to_uppercase().contains("WITHOUT ROWID"))
}

fn sqlite_columns(conn: &rusqlite::Connection, table: &str) -> Result<BTreeSet<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({})", quote(table))).map_err(sqlite_error)?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1)).map_err(sqlite_error)?;
    names.collect::<std::result::Result<BTreeSet<_>, _>>().map_err(sqlite_error)
}

fn sqlite_error(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("reading the SQLite database: {e}"))
}

fn open_sqlite(path: &Path) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_error)?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(sqlite_error)?;
    Ok(conn)
}

fn sqlite_val(v: rusqlite::types::ValueRef<'_>) -> Val {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Real(f),
        ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Val::Blob(b.to_vec()),
    }
}

/// A SQLite row of `table`, each value converted to its PostgreSQL column's type.
fn pg_row(table: &Table, row: &rusqlite::Row<'_>) -> Result<Vec<PgVal>> {
    let mut values = Vec::with_capacity(table.columns.len());
    for (i, (column, kind)) in table.columns.iter().enumerate() {
        let v = sqlite_val(row.get_ref(i).map_err(sqlite_error)?);
        let converted = PgVal::convert(*kind, v.clone())
            .ok_or_else(|| bad(format!("{}.{column}: {v:?} cannot be a {kind:?}", table.name)))?;
        values.push(converted);
    }
    Ok(values)
}

/// Reads `table` from SQLite in `order`, skipping the first `skip` rows, and hands over
/// batches of `batch` converted rows; runs on a blocking thread.
fn read_rows(
    path: &Path,
    table: &Table,
    order: &str,
    skip: u64,
    batch: usize,
    out: &tokio::sync::mpsc::Sender<Result<Vec<Vec<PgVal>>>>,
) {
    let send = |b: Result<Vec<Vec<PgVal>>>| out.blocking_send(b).is_ok();
    let result = (|| -> Result<()> {
        let conn = open_sqlite(path)?;
        let columns: Vec<String> = table.columns.iter().map(|(c, _)| quote(c)).collect();
        let sql = format!("SELECT {} FROM {} ORDER BY {order}", columns.join(", "), quote(&table.name));
        let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
        let mut rows = stmt.query([]).map_err(sqlite_error)?;
        let mut skipped = 0;
        let mut pending = Vec::with_capacity(batch);
        while let Some(row) = rows.next().map_err(sqlite_error)? {
            if skipped < skip {
                skipped += 1;
                continue;
            }
            pending.push(pg_row(table, row)?);
            if pending.len() == batch && !send(Ok(std::mem::replace(&mut pending, Vec::with_capacity(batch)))) {
                return Ok(());
            }
        }
        if !pending.is_empty() {
            send(Ok(pending));
        }
        Ok(())
    })();
    if let Err(e) = result {
        send(Err(e));
    }
}

/// Moves the SQLite database at `sqlite` (migrated to the latest schema; no server writing to
/// it) into the PostgreSQL database at `pg_url`, which must be empty or hold an interrupted
/// move of it. `progress(rows)` is told of every batch copied, of `total(rows)` announced first.
pub async fn move_to_postgres(
    sqlite: &Path,
    pg_url: &str,
    total: &(dyn Fn(u64) + Sync),
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<TableMoved>> {
    let check = crate::check_sqlite(sqlite).await?;
    match check.migration {
        Some(m) if m == check.latest_known && check.integrity == "ok" => {}
        Some(m) if check.integrity == "ok" => {
            return Err(bad(format!(
                "the SQLite database is at migration {m}, this Petty's latest is {}: run petty migrate first",
                check.latest_known
            )));
        }
        _ => return Err(bad(format!("the SQLite database does not check out: {}", check.integrity))),
    }
    let conn = open_sqlite(sqlite)?;
    // Rollups a crashed process never folded are recomputed when Petty next starts on the file.
    let pending: i64 = conn
        .query_row("SELECT count(*) FROM devices WHERE rollups_pending_from IS NOT NULL", [], |r| r.get(0))
        .map_err(sqlite_error)?;
    if pending > 0 {
        return Err(bad(format!(
            "the SQLite database was left by a process that stopped uncleanly ({pending} devices' rollups are \
             still to be recomputed): run petty migrate on it first"
        )));
    }
    let pool = PgPoolOptions::new().max_connections(2).connect(pg_url).await?;
    let resuming: (bool,) = sqlx::query_as("SELECT to_regclass('_petty_move') IS NOT NULL").fetch_one(&pool).await?;
    sqlx::migrate!("migrations/postgres").run(&pool).await?;
    let tables = tables(&pool, &conn).await?;
    if !resuming.0 {
        for table in &tables {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quote(&table.name));
            // Names from the catalog, quoted: nothing from outside.
            let (any,): (bool,) = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await?;
            if any {
                return Err(bad(format!(
                    "the PostgreSQL database is not empty ({} has rows): move into a new database",
                    table.name
                )));
            }
        }
        sqlx::query(
            "CREATE TABLE _petty_move (table_name TEXT PRIMARY KEY, rows BIGINT NOT NULL, done BOOLEAN NOT NULL)",
        )
        .execute(&pool)
        .await?;
    }
    let mut sum = 0u64;
    for table in &tables {
        let n: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {}", quote(&table.name)), [], |r| r.get(0))
            .map_err(sqlite_error)?;
        sum += n as u64;
    }
    drop(conn);
    total(sum);

    for table in &tables {
        let state: Option<(i64, bool)> = sqlx::query_as("SELECT rows, done FROM _petty_move WHERE table_name = $1")
            .bind(&table.name)
            .fetch_optional(&pool)
            .await?;
        let (done_rows, done) = state.unwrap_or((0, false));
        progress(done_rows as u64);
        if done {
            continue;
        }
        let batch = (30_000 / table.columns.len().max(1)).clamp(1, 1_000);
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let (path, copy, order) = (sqlite.to_path_buf(), table.clone(), table.read_order.clone());
        let reader = tokio::task::spawn_blocking(move || read_rows(&path, &copy, &order, done_rows as u64, batch, &tx));
        let columns: Vec<String> = table.columns.iter().map(|(c, _)| quote(c)).collect();
        while let Some(rows) = rx.recv().await {
            let rows = rows?;
            let n = rows.len() as i64;
            let mut insert: QueryBuilder<Postgres> =
                QueryBuilder::new(format!("INSERT INTO {} ({}) ", quote(&table.name), columns.join(", ")));
            insert.push_values(rows, |mut b, row| {
                for v in row {
                    push(&mut b, v);
                }
            });
            insert.push(" ON CONFLICT DO NOTHING");
            let mut txn = pool.begin().await?;
            insert
                .build()
                .execute(&mut *txn)
                .await
                .map_err(|e| StoreError::Unavailable(format!("writing {}: {e}", table.name)))?;
            sqlx::query(
                "INSERT INTO _petty_move (table_name, rows, done) VALUES ($1, $2, FALSE) \
                 ON CONFLICT (table_name) DO UPDATE SET rows = _petty_move.rows + EXCLUDED.rows",
            )
            .bind(&table.name)
            .bind(n)
            .execute(&mut *txn)
            .await?;
            txn.commit().await?;
            progress(n as u64);
        }
        reader.await.map_err(|e| StoreError::Unavailable(format!("the SQLite reader stopped: {e}")))?;
        sqlx::query(
            "INSERT INTO _petty_move (table_name, rows, done) VALUES ($1, 0, TRUE) \
             ON CONFLICT (table_name) DO UPDATE SET done = TRUE",
        )
        .bind(&table.name)
        .execute(&pool)
        .await?;
    }

    // Verified: the same rows on both sides, in key order.
    let mut moved = Vec::with_capacity(tables.len());
    let mut differ = Vec::new();
    for table in &tables {
        let (pg_rows, pg_sum) = pg_checksum(&pool, table).await?;
        let (path, copy) = (sqlite.to_path_buf(), table.clone());
        let (lite_rows, lite_sum) = tokio::task::spawn_blocking(move || sqlite_checksum(&path, &copy))
            .await
            .map_err(|e| StoreError::Unavailable(format!("the SQLite checksum stopped: {e}")))??;
        if (pg_rows, &pg_sum) != (lite_rows, &lite_sum) {
            differ.push(format!("{} ({lite_rows} rows in SQLite, {pg_rows} in PostgreSQL)", table.name));
        }
        moved.push(TableMoved { table: table.name.clone(), rows: pg_rows, sha256: pg_sum });
    }
    if !differ.is_empty() {
        return Err(bad(format!("the copy does not match the original: {}", differ.join(", "))));
    }
    sqlx::query("DROP TABLE _petty_move").execute(&pool).await?;
    pool.close().await;
    Ok(moved)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn pg_checksum(pool: &PgPool, table: &Table) -> Result<(u64, String)> {
    let columns: Vec<String> = table.columns.iter().map(|(c, _)| quote(c)).collect();
    let kinds: BTreeMap<&str, Kind> = table.columns.iter().map(|(c, k)| (c.as_str(), *k)).collect();
    let order: Vec<String> =
        table
            .key
            .iter()
            .map(|c| {
                if kinds.get(c.as_str()) == Some(&Kind::Text) {
                    format!("{} COLLATE \"C\"", quote(c))
                } else {
                    quote(c)
                }
            })
            .collect();
    let (mut h, mut n, mut offset) = (Sha256::new(), 0u64, 0i64);
    // In pages, so a large table is never held whole.
    loop {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {} LIMIT 5000 OFFSET {offset}",
            columns.join(", "),
            quote(&table.name),
            order.join(", ")
        );
        // Names from the catalog, quoted: nothing from outside.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
        for row in &rows {
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                PgVal::read(row, i, *kind)?.hash(&mut h);
            }
            n += 1;
        }
        if rows.len() < 5000 {
            break;
        }
        offset += 5000;
    }
    Ok((n, hex(&h.finalize())))
}

fn sqlite_checksum(path: &Path, table: &Table) -> Result<(u64, String)> {
    let conn = open_sqlite(path)?;
    let columns: Vec<String> = table.columns.iter().map(|(c, _)| quote(c)).collect();
    let order: Vec<String> = table.key.iter().map(|c| quote(c)).collect();
    let sql = format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), quote(&table.name), order.join(", "));
    let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
    let mut rows = stmt.query([]).map_err(sqlite_error)?;
    let (mut h, mut n) = (Sha256::new(), 0u64);
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        for value in pg_row(table, row)? {
            value.hash(&mut h);
        }
        n += 1;
    }
    Ok((n, hex(&h.finalize())))
}
