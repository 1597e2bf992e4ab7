//! `petty import`: CSV and JSON-lines files with bad lines, imported twice into the SQLite file
//! a running `petty serve` uses; the counts it prints, what the API then serves, and the
//! failures it must not hide (a missing file, an unknown device).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use super::{http_client, petty, sign_up, start, temp_dir};

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn import(dir: &Path, args: &[&str]) -> (Output, String) {
    let out = petty(&dir.to_path_buf()).arg("import").args(args).output().expect("run petty import");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn import_backfills_files_once_while_the_server_runs() {
    let dir = temp_dir("import");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("PETTY_RATE_LIMIT__ENABLED", "false");
    let mut server = start(cmd);
    let client = http_client();
    let register =
        json!({"email": "ana@example.org", "password": "correct horse battery staple", "display_name": "Ana"});
    let session = sign_up(&client, &server, &register).await;
    let access = session["access_token"].as_str().unwrap().to_owned();
    let household = session["membership"]["household_id"].as_str().unwrap().to_owned();
    let res = client
        .post(server.url("/api/v1/devices"))
        .bearer_auth(&access)
        .json(&json!({"name": "Bella's collar", "kind": "collar"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let device = res.json::<Value>().await.unwrap()["device"]["id"].as_str().unwrap().to_owned();

    // A CSV file large enough to be stored in several chunks, with one reading out of range
    // (line 4) and one row with a word for a number (line 1503).
    let start_ms = now_ms() - 3_600_000;
    let mut csv = String::from("ts,seq,heart_rate,battery_pct\n");
    for i in 0..4_500_i64 {
        match i {
            2 => writeln!(csv, "{},{i},500,80", start_ms + i * 500).unwrap(),
            1_501 => writeln!(csv, "{},{i},fast,80", start_ms + i * 500).unwrap(),
            _ => writeln!(csv, "{},{i},{},80", start_ms + i * 500, 60 + i % 40).unwrap(),
        }
    }
    std::fs::write(dir.join("collar.csv"), csv).unwrap();
    // JSON lines as the API takes them, a blank line, a field Petty does not know (line 4).
    let jsonl = format!(
        "{}\n{}\n\n{}\n{}\n",
        json!({"ts": start_ms - 1_000, "seq": 1, "respiration_rate": 22, "extra": {"lick_seconds": 4}}),
        json!({"ts": start_ms - 2_000, "seq": 2, "respiration_rate": 23}),
        json!({"ts": start_ms - 3_000, "seq": 3, "pulse": 90}),
        json!({"ts": start_ms - 4_000, "seq": 4, "location": {"lat": 52.52, "lon": 13.405}}),
    );
    std::fs::write(dir.join("collar.jsonl"), jsonl).unwrap();

    let args = ["collar.csv", "collar.jsonl", "--device", &device, "--household", &household];
    let (out, report) = import(&dir, &args);
    assert!(out.status.success(), "{report}\n{}", stderr(&out));
    assert!(report.contains("collar.csv: 4498 accepted, 0 duplicates, 2 rejected"), "{report}");
    assert!(
        report.contains("line 4: heart_rate must be") && report.contains("(field heart_rate, rule out_of_range)"),
        "each rejected line with its number, field and rule: {report}"
    );
    assert!(report.contains("line 1503: heart_rate must be a number") && report.contains("rule type"), "{report}");
    assert!(report.contains("collar.jsonl: 3 accepted, 0 duplicates, 1 rejected"), "{report}");
    assert!(report.contains("line 4:") && report.contains("(field pulse, rule unknown_field)"), "{report}");
    assert!(report.contains("total: 4501 accepted, 0 duplicates, 3 rejected"), "{report}");

    // Again: nothing new is stored, everything is a duplicate.
    let (out, report) = import(&dir, &args);
    assert!(out.status.success(), "{report}\n{}", stderr(&out));
    assert!(report.contains("collar.csv: 0 accepted, 4498 duplicates, 2 rejected"), "{report}");
    assert!(report.contains("collar.jsonl: 0 accepted, 3 duplicates, 1 rejected"), "{report}");

    // The running server serves exactly what was imported, once.
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/devices/{device}/readings?from={}&limit=5000", start_ms - 10_000);
        if let Some(c) = &cursor {
            write!(path, "&cursor={c}").unwrap();
        }
        let res = client.get(server.url(&path)).bearer_auth(&access).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(items.len(), 4_501, "every good line once");
    assert_eq!(items[0]["location"], json!({"lat": 52.52, "lon": 13.405}), "oldest first: the JSON lines");
    assert_eq!(
        (items[2]["respiration_rate"].as_f64(), items[2]["extra"]["lick_seconds"].as_f64()),
        (Some(22.0), Some(4.0))
    );
    assert_eq!((items[3]["seq"].as_i64(), items[3]["heart_rate"].as_f64()), (Some(0), Some(60.0)));
    assert!(!items.iter().any(|r| r["heart_rate"].as_f64() == Some(500.0)), "the bad line is not stored");
    let latest: Value = client
        .get(server.url(&format!("/api/v1/devices/{device}/readings/latest")))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(latest["seq"], 4_499, "the newest imported reading is the latest: {latest}");

    // --format overrides the extension.
    std::fs::write(dir.join("more.txt"), format!("{}\n", json!({"ts": start_ms - 5_000, "steps": 10}))).unwrap();
    let (out, report) =
        import(&dir, &["more.txt", "--format", "jsonl", "--device", &device, "--household", &household]);
    assert!(out.status.success() && report.contains("more.txt: 1 accepted"), "{report}\n{}", stderr(&out));

    // What cannot be done says why and fails.
    let (out, _) = import(&dir, &["more.txt", "--device", &device, "--household", &household]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--format csv|jsonl"), "{}", stderr(&out));
    let (out, report) = import(&dir, &["missing.csv", "collar.jsonl", "--device", &device, "--household", &household]);
    assert!(!out.status.success(), "a file that cannot be read fails the import: {report}");
    assert!(stderr(&out).contains("missing.csv: could not open it"), "{}", stderr(&out));
    assert!(report.contains("collar.jsonl: 0 accepted, 3 duplicates"), "the other files are still imported: {report}");
    let stranger = uuid::Uuid::now_v7().to_string();
    let (out, _) = import(&dir, &["collar.csv", "--device", &stranger, "--household", &household]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("there is no device {stranger}")), "{}", stderr(&out));
    let (out, _) =
        import(&dir, &["collar.csv", "--device", &device, "--household", &household, "--data-dir", "nowhere"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("there is no Petty database at nowhere/petty.db"), "{}", stderr(&out));
    assert!(!dir.join("nowhere").exists(), "nothing is created for a wrong folder");

    server.terminate();
    let (ok, logs) = server.wait_exit();
    assert!(ok, "{logs:#?}");
    let _ = std::fs::remove_dir_all(dir);
}
