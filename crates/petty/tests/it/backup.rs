//! `petty backup` while readings arrive, `--verify`, and `petty restore` into a fresh folder:
//! every reading acknowledged before the backup began is in the restored Petty, an upload and
//! the signing secret come back, and a damaged archive is refused without leaving anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::{answer, http_client, petty, sign_up, start, temp_dir};

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn run(dir: &Path, args: &[&str]) -> Output {
    petty(&dir.to_path_buf()).args(args).output().expect("run petty")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn readings(client: &reqwest::Client, url: &dyn Fn(&str) -> String, access: &str, device: &str) -> BTreeSet<u64> {
    let mut stored = BTreeSet::new();
    let base = format!("/api/v1/devices/{device}/readings?limit=5000&from={}", now_ms() - 3_600_000);
    let mut path = base.clone();
    loop {
        let page: Value = client.get(url(&path)).bearer_auth(access).send().await.unwrap().json().await.unwrap();
        stored.extend(page["items"].as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{base}&cursor={cursor}"),
            None => return stored,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_reading_acknowledged_before_it() {
    let dir = temp_dir("backup");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("PETTY_RATE_LIMIT__ENABLED", "false");
    let server = start(cmd);
    let client = http_client();
    let credentials = json!({"email": "backup@example.org", "password": "correct horse battery staple"});
    let mut register = credentials.clone();
    register["display_name"] = json!("Ana");
    let access = sign_up(&client, &server, &register).await["access_token"].as_str().unwrap().to_owned();
    let res = client
        .post(server.url("/api/v1/devices"))
        .bearer_auth(&access)
        .json(&json!({"name": "collar", "kind": "collar"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let device: Value = res.json().await.unwrap();
    let (device_id, token) =
        (device["device"]["id"].as_str().unwrap().to_owned(), device["token"].as_str().unwrap().to_owned());
    // A pet with a photo: a stored file.
    let post = |path: &str, body: Value| {
        let request = client.post(server.url(path)).bearer_auth(&access).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let pet = post("/api/v1/pets", json!({"name": "Bella", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap().to_owned();
    let upload = json!({"filename": "bella.png", "content_type": "image/png", "purpose": "pet_profile_photo"});
    let made = post("/api/v1/uploads", upload).await;
    let upload_url = made["upload_url"].as_str().unwrap();
    let at = upload_url.find("/api/v1/uploads/").unwrap();
    let res = client
        .put(server.url(&upload_url[at..]))
        .header("content-type", "image/png")
        .body(image_png())
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "photo upload: {}", res.status());
    let res = client
        .post(server.url("/api/v1/uploads/confirm"))
        .bearer_auth(&access)
        .json(&json!({"file_key": made["file_key"], "purpose": "pet_profile_photo", "pet_id": pet_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());

    // Readings at a steady rate, each noted when it is acknowledged.
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (client, url, acknowledged, stop) =
            (client.clone(), server.url("/api/v1/ingest"), acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            for seq in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let body = json!({"ts": now_ms(), "seq": seq, "heart_rate": 80});
                let res = client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
                acknowledged.lock().unwrap().insert(seq);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before: BTreeSet<u64> = acknowledged.lock().unwrap().clone();
    let archive = dir.join("petty.tar.gz");
    let out = {
        let dir = dir.clone();
        let archive = archive.clone();
        tokio::task::spawn_blocking(move || run(&dir, &["backup", "--out", archive.to_str().unwrap()])).await.unwrap()
    };
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("stored files, the signing secret"), "{}", text(&out));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    sender.await.unwrap();
    let after = acknowledged.lock().unwrap().len();
    assert!(
        before.len() > 20 && after > before.len(),
        "readings arrived before ({}) and during ({after})",
        before.len()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the archive holds the secret: only its owner may read it");
    }
    drop(server);

    let out = run(&dir, &["backup", "--verify", archive.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("integrity ok") && text(&out).contains("matches its checksum"), "{}", text(&out));

    // Restored into a new folder and started there: the same household, its readings, the photo.
    let restored = dir.join("restored");
    let out = run(&dir, &["restore", archive.to_str().unwrap(), "--data-dir", restored.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(restored.join("secret.key")).unwrap(),
        std::fs::read(dir.join("petty-data/secret.key")).unwrap()
    );
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", restored.to_str().unwrap()])
        .env("PETTY_RATE_LIMIT__ENABLED", "false");
    let second = start(cmd);
    let res = client.post(second.url("/api/v1/auth/login")).json(&credentials).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let access = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let stored = readings(&client, &|p| second.url(p), &access, &device_id).await;
    let lost: Vec<&u64> = before.difference(&stored).take(10).collect();
    assert!(lost.is_empty(), "acknowledged before the backup but not restored: {lost:?}");
    assert!(stored.iter().all(|s| *s < after as u64 + 1), "nothing that was never sent");
    let files = answer(client.get(second.url(&format!("/api/v1/files?pet_id={pet_id}"))).bearer_auth(&access)).await;
    let link = files["items"][0]["url"].as_str().unwrap_or_else(|| panic!("the photo's record: {files}"));
    let res = client.get(second.url(&link[link.find("/files/").unwrap()..])).send().await.unwrap();
    assert_eq!(res.status(), 200, "the photo's bytes are restored");
    assert!(!res.bytes().await.unwrap().is_empty());
    drop(second);

    // Into a folder that is not empty: refused, and nothing in it changes.
    let out = run(&dir, &["restore", archive.to_str().unwrap(), "--data-dir", restored.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out).contains("is not empty"), "{}", text(&out));

    // A damaged archive (one byte changed, or cut short) is refused by --verify and by restore,
    // which leaves no folder behind.
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    let damaged = dir.join("damaged.tar.gz");
    std::fs::write(&damaged, &bytes).unwrap();
    let cut = dir.join("cut.tar.gz");
    std::fs::write(&cut, &std::fs::read(&archive).unwrap()[..middle]).unwrap();
    for bad in [&damaged, &cut] {
        let out = run(&dir, &["backup", "--verify", bad.to_str().unwrap()]);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("is damaged") || text(&out).contains("is incomplete"), "{}", text(&out));
        let target: PathBuf = dir.join(format!("from-{}", bad.file_name().unwrap().to_string_lossy()));
        let out = run(&dir, &["restore", bad.to_str().unwrap(), "--data-dir", target.to_str().unwrap()]);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(!target.exists(), "a refused restore leaves nothing behind");
    }
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".petty-"))
        .collect();
    assert!(leftovers.is_empty(), "no staging folders are left: {leftovers:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A small PNG (8 × 8, one colour).
fn image_png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(8, 8, image::Rgb([200, 120, 40]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A database an older Petty left is copied to `backups/` before it is migrated, and the copy
/// is the database as it was.
#[tokio::test]
async fn an_older_database_is_copied_before_it_is_migrated() {
    let dir = temp_dir("upgrade");
    let data = dir.join("petty-data");
    std::fs::create_dir_all(&data).unwrap();
    let steps = petty_store::sqlite_migrations();
    let (before, latest) = (steps[steps.len() - 2], steps[steps.len() - 1]);
    petty_store::migrate_sqlite_to(&data.join("petty.db"), before).await.unwrap();
    let out = run(&dir, &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("copied the database before migrating it"), "{}", text(&out));
    let copies: Vec<PathBuf> = std::fs::read_dir(data.join("backups")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(petty_store::check_sqlite(&copies[0]).await.unwrap().migration, Some(before));
    assert_eq!(petty_store::check_sqlite(&data.join("petty.db")).await.unwrap().migration, Some(latest));
    // Up to date: nothing more is copied.
    let out = run(&dir, &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_dir(data.join("backups")).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

/// `[backup] interval_secs`: `petty serve` writes archives on its own and keeps the newest
/// `keep`; each verifies.
#[tokio::test]
async fn scheduled_backups_are_written_and_only_the_newest_kept() {
    let dir = temp_dir("scheduled-backup");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("PETTY_BACKUP__INTERVAL_SECS", "1")
        .env("PETTY_BACKUP__KEEP", "2");
    let server = start(cmd);
    let backups = dir.join("petty-data/backups");
    let archives = || -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> =
            std::fs::read_dir(&backups).map(|entries| entries.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
        found.retain(|p| p.file_name().unwrap().to_string_lossy().starts_with("petty-backup-"));
        found.sort();
        found
    };
    let mut most = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        most = most.max(archives().len());
    }
    // About ten were written in ten seconds; never more than two are kept.
    assert_eq!(most, 2, "{:?}", archives());
    drop(server);
    let newest = archives().pop().unwrap();
    let out = run(&dir, &["backup", "--verify", newest.to_str().unwrap()]);
    assert!(out.status.success() && text(&out).contains("integrity ok"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(dir);
}

/// On PostgreSQL the archive holds the files, the secret and the configuration, says that the
/// database is pg_dump's to copy, and restores as such.
#[test]
fn on_postgresql_the_archive_says_the_database_is_pg_dumps() {
    let dir = temp_dir("backup-postgres");
    let data = dir.join("petty-data");
    std::fs::create_dir_all(data.join("files/ab")).unwrap();
    std::fs::write(data.join("secret.key"), "a-secret-of-at-least-thirty-two-characters-long").unwrap();
    std::fs::write(data.join("files/ab/photo"), b"bytes of a photo").unwrap();
    std::fs::write(dir.join("petty.toml"), "listen = \"127.0.0.1:8089\"\n").unwrap();
    let url = "postgres://petty@127.0.0.1:5432/petty";
    let out = run(&dir, &["backup", "--out", "pg.tar.gz", "--database-url", url]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("pg_dump --format=custom"), "{}", text(&out));
    let out = run(&dir, &["backup", "--verify", "pg.tar.gz"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("no database (PostgreSQL")
            && text(&out).contains("1 stored files, the signing secret, the configuration file"),
        "{}",
        text(&out)
    );
    let out = run(&dir, &["restore", "pg.tar.gz", "--data-dir", "restored"]);
    assert!(
        out.status.success() && text(&out).contains("restore the PostgreSQL dump with pg_restore"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(dir.join("restored/files/ab/photo")).unwrap(), b"bytes of a photo");
    assert_eq!(std::fs::read(dir.join("restored/petty.toml")).unwrap(), std::fs::read(dir.join("petty.toml")).unwrap());
    let _ = std::fs::remove_dir_all(dir);
}

/// A database a newer Petty migrated is refused by `petty serve` and `petty migrate`, with a
/// message that says so, and nothing in it changes (no copy is taken, no migration runs).
#[tokio::test]
async fn a_database_from_a_newer_petty_is_refused_and_left_alone() {
    let dir = temp_dir("newer-schema");
    let data = dir.join("petty-data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("petty.db");
    let latest = *petty_store::sqlite_migrations().last().unwrap();
    petty_store::migrate_sqlite_to(&db, latest).await.unwrap();
    // What a later Petty would have recorded, written with Python's own SQLite.
    let script = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n\
        c.execute(\"INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
        VALUES (99990101000000, 'from a later Petty', 1, x'00', 0)\")\nc.commit()\n";
    let status = std::process::Command::new("python3").args(["-c", script, db.to_str().unwrap()]).status().unwrap();
    assert!(status.success());
    for command in [&["migrate"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
        let out = run(&dir, command);
        assert!(!out.status.success(), "{command:?} must refuse: {}", text(&out));
        assert!(
            text(&out).contains("migrated by a newer Petty") && text(&out).contains(&format!("knows up to {latest}")),
            "{}",
            text(&out)
        );
    }
    // Still the newer Petty's schema, whole; no migration of this one ran.
    let check = petty_store::check_sqlite(&db).await.unwrap();
    assert_eq!((check.integrity.as_str(), check.migration), ("ok", Some(99990101000000)));
    assert!(!data.join("backups").exists(), "nothing to copy: no migration ran");
    let _ = std::fs::remove_dir_all(dir);
}

/// Forward-only upgrades: a household written under the second migration's schema (the store's
/// fixture), left at every later step as an older Petty would have, is migrated by `petty
/// serve` and reads back whole through the HTTP API.
#[tokio::test]
async fn an_early_household_reads_back_through_the_api_from_every_migration_step() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../petty-store/tests/fixtures/early_household.sql");
    let load = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.executescript(open(sys.argv[2]).read())\nc.commit()\n";
    let client = http_client();
    let credentials = json!({"email": "ana@example.org", "password": "correct horse battery staple"});
    let (pet, device) = ("01900000-0000-7000-8000-00000000000c", "01900000-0000-7000-8000-00000000000d");
    for step in petty_store::sqlite_migrations().into_iter().filter(|s| *s >= 2) {
        let dir = temp_dir(&format!("upgrade-{step}"));
        let db = dir.join("petty-data/petty.db");
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        petty_store::migrate_sqlite_to(&db, 2).await.unwrap();
        let status =
            std::process::Command::new("python3").args(["-c", load, db.to_str().unwrap(), fixture]).status().unwrap();
        assert!(status.success(), "the fixture loads at migration 2");
        petty_store::migrate_sqlite_to(&db, step).await.unwrap();

        let mut cmd = petty(&dir);
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        let server = start(cmd);
        let login = answer(client.post(server.url("/api/v1/auth/login")).json(&credentials)).await;
        let token = login["access_token"].as_str().unwrap_or_else(|| panic!("from {step}: {login}")).to_owned();
        let bella = answer(client.get(server.url(&format!("/api/v1/pets/{pet}"))).bearer_auth(&token)).await;
        assert_eq!((&bella["name"], &bella["weight_kg"]), (&json!("Bella"), &json!(21.5)), "from {step}: {bella}");
        let path = format!("/api/v1/devices/{device}/readings?from=1789999000000&to=1790001000000");
        let page = answer(client.get(server.url(&path)).bearer_auth(&token)).await;
        let hearts: Vec<&Value> = page["items"].as_array().unwrap().iter().map(|r| &r["heart_rate"]).collect();
        assert_eq!(hearts, [&json!(72.0), &json!(75.0), &json!(78.0)], "from {step}: {page}");
        assert_eq!(page["items"][2]["extra"]["lick_seconds"], json!(4.0), "from {step}");
        drop(server);
        let _ = std::fs::remove_dir_all(dir);
    }
}
