//! `petty backup` and `petty restore`: one archive (`.tar.gz`) with a consistent snapshot of the
//! embedded database, the stored files, the signing secret and the configuration file, and a
//! manifest of their sizes and SHA-256 checksums, written last so the archive is made in one
//! pass.
//!
//! The snapshot is SQLite's `VACUUM INTO`, taken while `petty serve` goes on: every reading
//! acknowledged before the backup began is in it, nothing half written. On PostgreSQL the
//! database is `pg_dump`'s to copy; the archive still holds the rest. `--verify` reads an archive
//! through (every member against the manifest, the database's integrity and schema) without
//! restoring it, and `petty restore` does the same into a staging folder before anything
//! appears in the target, so a damaged archive leaves nothing behind.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cli::CommonArgs;
use crate::config::{Loaded, create_private};

/// The archive's format, in its manifest.
const FORMAT: &str = "petty-backup 1";
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "petty.db";
const SECRET: &str = "secret.key";
const CONFIG: &str = "petty.toml";
const FILES: &str = "files";

#[derive(Args)]
pub(crate) struct BackupArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Where to write the archive [default: petty-backup-<UTC time>.tar.gz here]
    #[arg(long, value_name = "FILE", conflicts_with = "verify")]
    out: Option<PathBuf>,
    /// Check an archive (each member against its manifest, and the database's integrity)
    /// without restoring it.
    #[arg(long, value_name = "FILE")]
    verify: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct RestoreArgs {
    /// The archive `petty backup` wrote.
    file: PathBuf,
    /// The folder to restore into: new or empty. Start Petty on it with `--data-dir`.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
}

/// What an archive holds, written as its last member.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    petty_version: String,
    /// RFC 3339, UTC.
    created_at: String,
    /// `"sqlite"`, or `"postgres"` when the database is not in the archive (use `pg_dump`).
    database: String,
    /// The newest migration of the database in the archive.
    migration: Option<i64>,
    members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Member {
    path: String,
    bytes: u64,
    sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads through `inner`, hashing and counting what passes and moving `bar` on.
struct Tally<'a, R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
    bar: &'a ProgressBar,
}

impl<'a, R> Tally<'a, R> {
    fn new(inner: R, bar: &'a ProgressBar) -> Self {
        Tally { inner, hash: Sha256::new(), bytes: 0, bar }
    }

    fn member(self, path: String) -> Member {
        Member { path, bytes: self.bytes, sha256: hex(&self.hash.finalize()) }
    }
}

impl<R: Read> Read for Tally<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// `petty backup` (or `--verify`).
pub(crate) async fn run(loaded: Loaded, args: BackupArgs) -> anyhow::Result<()> {
    if let Some(file) = &args.verify {
        let staging = scratch_dir(file, "verify")?;
        let result = read_archive(file, &staging).await;
        let _ = std::fs::remove_dir_all(&staging);
        let (manifest, check) = result?;
        println!("{}: {}", file.display(), summary(&manifest, check.as_ref()));
        return Ok(());
    }
    let out = args.out.unwrap_or_else(|| PathBuf::from(format!("petty-backup-{}.tar.gz", utc_stamp())));
    if out.exists() {
        bail!("{} already exists: give another --out", out.display());
    }
    let manifest = write_backup(&loaded, &out, false).await?;
    println!("wrote {}: {}", out.display(), summary(&manifest, None));
    Ok(())
}

/// Now in UTC as `20261207T105435Z`, for file names.
pub(crate) fn utc_stamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// A fresh folder beside `near` for work in progress.
fn scratch_dir(near: &Path, what: &str) -> anyhow::Result<PathBuf> {
    let parent = near.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = parent.join(format!(".petty-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    Ok(dir)
}

fn summary(manifest: &Manifest, check: Option<&petty_store::SqliteCheck>) -> String {
    let files = manifest.members.iter().filter(|m| m.path.starts_with("files/")).count();
    let bytes: u64 = manifest.members.iter().map(|m| m.bytes).sum();
    let has = |name: &str| manifest.members.iter().any(|m| m.path == name);
    let database = match (manifest.database.as_str(), check) {
        ("sqlite", Some(c)) => {
            format!("the database (integrity {}, migration {})", c.integrity, c.migration.unwrap_or(0))
        }
        ("sqlite", None) => format!("the database (migration {})", manifest.migration.unwrap_or(0)),
        _ => "no database (PostgreSQL: pg_dump's to copy)".to_owned(),
    };
    let checked = if check.is_some() { "every member matches its checksum" } else { "checksums in its manifest" };
    format!(
        "{database}, {files} stored files, {}{}{} MB in all, made by Petty {} at {}; {checked}",
        if has(SECRET) { "the signing secret, " } else { "" },
        if has(CONFIG) { "the configuration file, " } else { "" },
        (bytes as f64 / 1e6 * 10.0).round() / 10.0,
        manifest.petty_version,
        manifest.created_at,
    )
}

/// Every regular file under `root`, as paths relative to it, in a stable order.
fn files_under(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let entries = match std::fs::read_dir(root.join(&rel)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = rel.join(entry.file_name());
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

async fn write_backup(loaded: &Loaded, out: &Path, quiet: bool) -> anyhow::Result<Manifest> {
    let config = &loaded.config;
    let staging = scratch_dir(out, "backup")?;
    let result = write_backup_from(loaded, out, &staging, quiet).await;
    let _ = std::fs::remove_dir_all(&staging);
    if result.is_err() {
        let _ = std::fs::remove_file(partial(out));
    }
    let manifest = result?;
    if config.database_url.is_some() && !quiet {
        eprintln!(
            "note: the database is PostgreSQL, which this archive does not hold: back it up with \
             `pg_dump --format=custom --file=petty.dump \"$PETTY_DATABASE_URL\"` (and restore it with pg_restore)"
        );
    }
    if let petty_app::files::StorageConfig::S3(s3) = &config.files_settings().storage
        && !quiet
    {
        let bucket = &s3.bucket;
        eprintln!(
            "note: uploaded files are in the S3 bucket {bucket}, which this archive does not hold: copy it with your S3 tool"
        );
    }
    Ok(manifest)
}

fn partial(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

async fn write_backup_from(loaded: &Loaded, out: &Path, staging: &Path, quiet: bool) -> anyhow::Result<Manifest> {
    let config = &loaded.config;
    // What goes in: (name in the archive, file on disk).
    let mut sources: Vec<(String, PathBuf)> = Vec::new();
    let (database, migration) = if config.database_url.is_none() {
        let live = config.data_dir.join(DATABASE);
        if !live.exists() {
            bail!("there is no Petty database at {} (check --data-dir or --database-url)", live.display());
        }
        let copy = staging.join(DATABASE);
        if !quiet {
            eprintln!("taking a snapshot of {}", live.display());
        }
        petty_store::snapshot_sqlite(&live, &copy).await.context("could not take a snapshot of the database")?;
        let check = petty_store::check_sqlite(&copy).await.context("could not read the snapshot back")?;
        if !check.is_ok() {
            bail!("the database's snapshot does not check out ({}): the database may be damaged", check.integrity);
        }
        sources.push((DATABASE.to_owned(), copy));
        ("sqlite", check.migration)
    } else {
        ("postgres", None)
    };
    let secret = config.data_dir.join(SECRET);
    if secret.exists() {
        sources.push((SECRET.to_owned(), secret));
    }
    if let Some(file) = &loaded.file {
        sources.push((CONFIG.to_owned(), file.clone()));
    }
    if let petty_app::files::StorageConfig::Local { root } = &config.files_settings().storage {
        for rel in files_under(root).with_context(|| format!("could not list {}", root.display()))? {
            let name = format!("{FILES}/{}", rel.to_string_lossy().replace('\\', "/"));
            sources.push((name, root.join(rel)));
        }
    }
    let total: u64 = sources.iter().filter_map(|(_, p)| std::fs::metadata(p).ok()).map(|m| m.len()).sum();

    let partial = partial(out);
    let file = create_private(&partial).with_context(|| format!("could not create {}", partial.display()))?;
    let gz = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let bar = crate::progress::bytes(total, "backing up", quiet);
    let mut members = Vec::with_capacity(sources.len());
    for (name, path) in &sources {
        let file = match File::open(path) {
            Ok(file) => file,
            // An upload deleted since the listing: it is gone from Petty too.
            Err(e) if e.kind() == io::ErrorKind::NotFound && name.starts_with(FILES) => continue,
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let len = file.metadata()?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(len);
        header.set_mode(0o600);
        header.set_mtime(0);
        let mut tally = Tally::new(file.take(len), &bar);
        tar.append_data(&mut header, name, &mut tally).with_context(|| format!("could not write {name}"))?;
        if tally.bytes != len {
            bail!("{} changed while it was being read", path.display());
        }
        members.push(tally.member(name.clone()));
    }
    bar.finish_and_clear();
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        petty_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        database: database.to_owned(),
        migration,
        members,
    };
    let text = serde_json::to_vec_pretty(&manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(0);
    tar.append_data(&mut header, MANIFEST, text.as_slice())?;
    let gz = tar.into_inner()?;
    let mut writer = gz.finish()?;
    writer.flush()?;
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(&partial, out)
        .with_context(|| format!("could not rename {} to {}", partial.display(), out.display()))?;
    Ok(manifest)
}

/// Where a member goes under the target folder: only the names a backup writes, and nothing
/// that climbs out (an archive is input like any other).
fn member_target(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let known = [DATABASE, SECRET, CONFIG].contains(&name)
        || name.strip_prefix(FILES).and_then(|rest| rest.strip_prefix('/')).is_some_and(|rest| !rest.is_empty());
    known.then(|| path.to_path_buf())
}

/// Reads `archive` through into `into` (a folder of its own), checking every member against
/// the manifest and the database's integrity and schema; the manifest, and the database's
/// check when it has one.
async fn read_archive(archive: &Path, into: &Path) -> anyhow::Result<(Manifest, Option<petty_store::SqliteCheck>)> {
    let damaged = |e: io::Error| anyhow::anyhow!("{} is damaged or not a Petty backup: {e}", archive.display());
    let file = File::open(archive).with_context(|| format!("could not open {}", archive.display()))?;
    let bar = crate::progress::bytes(file.metadata()?.len(), "reading", false);
    let counted = Tally::new(io::BufReader::new(file), &bar);
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(counted));
    let mut found: Vec<Member> = Vec::new();
    let mut manifest: Option<Manifest> = None;
    for entry in tar.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let name = entry.path().map_err(damaged)?.to_string_lossy().into_owned();
        if manifest.is_some() {
            bail!("{} is damaged: {name} comes after the manifest", archive.display());
        }
        if name == MANIFEST {
            let mut text = Vec::new();
            entry.read_to_end(&mut text).map_err(damaged)?;
            manifest = Some(
                serde_json::from_slice(&text)
                    .map_err(|e| anyhow::anyhow!("{}'s manifest cannot be read: {e}", archive.display()))?,
            );
            continue;
        }
        let Some(rel) = member_target(&name) else {
            bail!("{} holds {name:?}, which a Petty backup never does: refusing it", archive.display());
        };
        let target = into.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = create_private(&target).with_context(|| format!("could not write {}", target.display()))?;
        let hidden = ProgressBar::hidden();
        let mut tally = Tally::new(&mut entry, &hidden);
        io::copy(&mut tally, &mut out).map_err(damaged)?;
        out.sync_all()?;
        found.push(tally.member(name));
    }
    bar.finish_and_clear();
    // The gzip stream's own checksum and length are read at its end.
    let mut rest = tar.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(damaged)?;
    let Some(manifest) = manifest else {
        bail!("{} is incomplete: it has no manifest (was the backup interrupted?)", archive.display());
    };
    if manifest.format != FORMAT {
        bail!("{} is a {:?} archive; this Petty reads {FORMAT:?}", archive.display(), manifest.format);
    }
    for expected in &manifest.members {
        match found.iter().find(|m| m.path == expected.path) {
            None => bail!("{} is damaged: {} is missing", archive.display(), expected.path),
            Some(m) if m != expected => {
                bail!("{} is damaged: {} does not match its checksum", archive.display(), expected.path)
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = found.iter().find(|m| !manifest.members.iter().any(|e| e.path == m.path)) {
        bail!("{} is damaged: {} is not in its manifest", archive.display(), extra.path);
    }
    let check = if manifest.database == "sqlite" {
        let db = into.join(DATABASE);
        if !db.exists() {
            bail!("{} is damaged: its database is missing", archive.display());
        }
        let check = petty_store::check_sqlite(&db).await.context("could not open the archive's database")?;
        if !check.is_ok() {
            bail!("{}'s database does not check out: {}", archive.display(), check.integrity);
        }
        if check.migration.unwrap_or(0) > check.latest_known {
            bail!(
                "{} was made by a newer Petty (its database is at migration {}, this Petty knows {}): restore it with that version",
                archive.display(),
                check.migration.unwrap_or(0),
                check.latest_known
            );
        }
        Some(check)
    } else {
        None
    };
    Ok((manifest, check))
}

/// The archives a schedule wrote: `petty-backup-*.tar.gz` in `dir`, oldest first (their names
/// sort by time).
fn scheduled_archives(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    found.retain(|p| {
        p.file_name()
            .map(|n| n.to_string_lossy())
            .is_some_and(|n| n.starts_with("petty-backup-") && n.ends_with(".tar.gz"))
    });
    found.sort();
    found
}

/// `[backup] interval_secs` under `petty serve`: an archive of the embedded Petty every so
/// often in `[backup] dir`, the newest `keep` kept, until the server stops.
pub(crate) async fn scheduled(loaded: Loaded, mut stopping: tokio::sync::watch::Receiver<bool>) {
    let settings = loaded.config.backup.clone();
    let dir = settings.dir.clone().unwrap_or_else(|| loaded.config.data_dir.join("backups"));
    let every = std::time::Duration::from_secs(settings.interval_secs.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopping.changed() => return,
        }
        let out = dir.join(format!("petty-backup-{}.tar.gz", utc_stamp()));
        if out.exists() {
            continue;
        }
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), "could not create the backups' folder: {e}");
            continue;
        }
        // Written under a name of its own, and named as an archive only once the oldest are
        // gone: never more than `keep` are there, and never a half-written one.
        let next = dir.join(".next-backup.tar.gz");
        let _ = std::fs::remove_file(&next);
        // Archiving reads and compresses for a while: off the runtime's workers.
        let (job, path) = (loaded.clone(), next.clone());
        let handle = tokio::runtime::Handle::current();
        let made = tokio::task::spawn_blocking(move || handle.block_on(write_backup(&job, &path, true))).await;
        let manifest = match made {
            Ok(Ok(manifest)) => manifest,
            Ok(Err(e)) => {
                tracing::warn!(path = %out.display(), "the scheduled backup failed: {e:#}");
                continue;
            }
            Err(e) => {
                tracing::warn!("the scheduled backup stopped: {e}");
                continue;
            }
        };
        let archives = scheduled_archives(&dir);
        for old in archives.iter().take((archives.len() + 1).saturating_sub(settings.keep)) {
            if let Err(e) = std::fs::remove_file(old) {
                tracing::warn!(path = %old.display(), "could not remove an old backup: {e}");
            }
        }
        match std::fs::rename(&next, &out) {
            Ok(()) => {
                let bytes: u64 = manifest.members.iter().map(|m| m.bytes).sum();
                tracing::info!(path = %out.display(), bytes, "wrote a scheduled backup");
            }
            Err(e) => tracing::warn!(path = %out.display(), "could not name the scheduled backup: {e}"),
        }
    }
}

/// `petty restore`.
pub(crate) fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let target = &args.data_dir;
    if target.exists() {
        let mut entries = std::fs::read_dir(target).with_context(|| format!("could not read {}", target.display()))?;
        if entries.next().is_some() {
            bail!("{} is not empty: restore into a new or empty folder", target.display());
        }
    }
    let staging = scratch_dir(target, "restore")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(read_archive(&args.file, &staging));
    let (manifest, check) = match result {
        Ok(read) => read,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    // Everything checked out: the staging folder becomes the data folder.
    if target.exists() {
        std::fs::remove_dir(target).with_context(|| format!("could not replace {}", target.display()))?;
    }
    std::fs::rename(&staging, target)
        .with_context(|| format!("could not move the restored files into {}", target.display()))?;
    println!("restored into {}: {}", target.display(), summary(&manifest, check.as_ref()));
    if manifest.members.iter().any(|m| m.path == CONFIG) {
        println!(
            "its configuration is in {}; start it with: petty serve --config {} --data-dir {}",
            target.join(CONFIG).display(),
            target.join(CONFIG).display(),
            target.display()
        );
    } else {
        println!("start it with: petty serve --data-dir {}", target.display());
    }
    if manifest.database != "sqlite" {
        println!("the archive has no database: restore the PostgreSQL dump with pg_restore first");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::member_target;

    #[test]
    fn an_archive_may_only_name_what_a_backup_writes() {
        assert!(member_target("petty.db").is_some());
        assert!(member_target("files/ab/cd/photo").is_some());
        for hostile in ["../etc/passwd", "/etc/passwd", "files/../../x", "files/", "other.txt", "files"] {
            assert!(member_target(hostile).is_none(), "{hostile}");
        }
    }
}
