//! A real browser through the dashboard: Debian's Chromium, driven by chromedriver over
//! WebDriver, registers, signs in, adds a pet, signs out and signs in again, as a person would;
//! and watches the device pages update themselves as readings and liveness events arrive.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` the test is skipped with a note,
//! unless `CI` is set: CI must install them (`apt-get install chromium chromium-driver`).
//! `PETTY_SCREENSHOT_DIR=/some/dir` saves screenshots of the household page there, at desktop
//! and phone widths. `accessibility` runs axe-core over every page; `demo` walks through
//! `petty serve --demo` and keeps a screenshot of each page.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::harness::{Account, TestApp, spawn_app};

mod accessibility;
mod demo;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PASSWORD: &str = "correct horse battery staple";

/// A program of this test's own in a process group of its own, and its folder: the group is
/// killed and the folder removed when the test ends, panics included.
struct OwnProcess {
    process: Child,
    folder: PathBuf,
}

impl OwnProcess {
    /// Spawns `command` in a process group of its own; `folder` goes with it.
    fn spawn(mut command: Command, folder: PathBuf) -> OwnProcess {
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let process = command.spawn().unwrap_or_else(|e| panic!("start {:?}: {e}", command.get_program()));
        OwnProcess { process, folder }
    }
}

impl Drop for OwnProcess {
    fn drop(&mut self) {
        // A test that panicked never closed its browser session, and Chromium outlives a
        // killed chromedriver; it stays in chromedriver's group, so the group goes.
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.process.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A chromedriver of this test's own (its Chromium profile the folder), stopped with the
/// Chromium it started when the test ends.
struct Chromedriver {
    own: OwnProcess,
    url: String,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it answers.
    async fn start() -> Chromedriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut command = Command::new(CHROMEDRIVER);
        command.arg(format!("--port={port}")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let profile = std::env::temp_dir().join(format!("petty-chromium-{}", uuid::Uuid::now_v7()));
        let driver = Chromedriver { own: OwnProcess::spawn(command, profile), url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match reqwest::get(format!("{}/status", driver.url)).await {
                Ok(res) if res.status().is_success() => break,
                _ if Instant::now() > deadline => panic!("chromedriver did not answer on port {port} within 30 s"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        driver
    }

    /// A new headless Chromium session with a fresh profile.
    async fn browser(&self, extra_args: &[&str]) -> Client {
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", self.own.folder.display()),
        ];
        args.extend(extra_args.iter().map(|a| (*a).to_owned()));
        let capabilities = json!({ "goog:chromeOptions": { "binary": CHROMIUM, "args": args } });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session from chromedriver")
    }
}

/// A fresh app for a browser test; `None` (the test is skipped, with a note) without a browser.
async fn app_for_a_browser() -> Option<TestApp> {
    if browser_installed() { Some(spawn_app().await) } else { None }
}

/// Runs `journey` in a fresh Chromium session; closes the session even when a step failed,
/// then reports the failed step as `what` going wrong.
async fn in_chromium(what: &str, journey: impl AsyncFnOnce(&Client) -> Result<(), CmdError>) {
    in_chromium_with(&[], what, journey).await;
}

/// [`in_chromium`], Chromium started with `extra_args` too (`--force-dark-mode`, say).
async fn in_chromium_with(extra_args: &[&str], what: &str, journey: impl AsyncFnOnce(&Client) -> Result<(), CmdError>) {
    let driver = Chromedriver::start().await;
    let browser = driver.browser(extra_args).await;
    let outcome = journey(&browser).await;
    let closed = browser.close().await;
    outcome.expect(what);
    closed.expect("close the browser");
}

/// Whether the browser is there; `false` means skip. In CI a missing browser is a failure.
fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !Path::new(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("{} missing: CI must install Debian's `chromium chromium-driver`", missing.join(" and "));
    }
    eprintln!("skipped: browser test (install Debian's chromium and chromium-driver)");
    false
}

#[tokio::test]
async fn a_person_registers_adds_a_pet_signs_out_and_back_in() {
    let Some(app) = app_for_a_browser().await else { return };
    in_chromium("the journey through the dashboard", async |browser| {
        register_add_a_pet_and_come_back(&app, browser).await
    })
    .await;
}

async fn register_add_a_pet_and_come_back(app: &TestApp, browser: &Client) -> Result<(), CmdError> {
    browser.set_window_size(1280, 900).await?;
    let email = format!("ana-{}@example.org", &uuid::Uuid::new_v4().simple().to_string()[..8]);

    browser.goto(&app.url("/register")).await?;
    browser.find(Locator::Id("f-display_name")).await?.send_keys("Ana").await?;
    browser.find(Locator::Id("f-email")).await?.send_keys(&email).await?;
    browser.find(Locator::Id("f-password")).await?.send_keys(PASSWORD).await?;
    browser.find(Locator::Id("f-household_name")).await?.send_keys("The Garcias").await?;
    button(browser, "Create account").await?.click().await?;
    // Registering signs nobody in (a taken address would answer the same): sign in next.
    browser.find(Locator::XPath("//h1[normalize-space()='Now sign in']")).await?;
    browser.find(Locator::Css("main a.button[href='/login']")).await?.click().await?;
    wait_for_path(browser, "/login").await?;
    browser.find(Locator::Id("f-email")).await?.send_keys(&email).await?;
    browser.find(Locator::Id("f-password")).await?.send_keys(PASSWORD).await?;
    button(browser, "Sign in").await?.click().await?;
    wait_for_path(browser, "/household").await?;
    assert!(browser.source().await?.contains("No pets yet"));

    browser.find(Locator::LinkText("Add a pet")).await?.click().await?;
    wait_for_path(browser, "/pets/new").await?;
    browser.find(Locator::Id("f-name")).await?.send_keys("Bella").await?;
    browser.find(Locator::Id("f-species")).await?.select_by_value("dog").await?;
    browser.find(Locator::Id("f-weight_kg")).await?.send_keys("21.5").await?;
    button(browser, "Add pet").await?.click().await?;
    wait_for_path(browser, "/household").await?;
    // The name leads to the pet's day; "Profile" to its details.
    let pet = browser.find(Locator::LinkText("Bella")).await?;
    let href = pet.attr("href").await?.unwrap_or_default();
    assert!(href.starts_with("/pets/") && uuid::Uuid::parse_str(&href["/pets/".len()..]).is_ok(), "{href}");
    let profile = browser.find(Locator::LinkText("Profile")).await?;
    assert_eq!(profile.attr("href").await?, Some(format!("{href}/edit")));
    assert!(browser.source().await?.contains("21.5 kg"));
    check_layout(browser).await?;

    button(browser, "Sign out").await?.click().await?;
    wait_for_path(browser, "/login").await?;
    browser.goto(&app.url("/household")).await?;
    wait_for_path(browser, "/login").await?;

    browser.find(Locator::Id("f-email")).await?.send_keys(&email).await?;
    browser.find(Locator::Id("f-password")).await?.send_keys(PASSWORD).await?;
    button(browser, "Sign in").await?.click().await?;
    wait_for_path(browser, "/household").await?;
    browser.find(Locator::LinkText("Bella")).await?;
    Ok(())
}

/// The household page fits every width from a small phone up: nothing scrolls sideways and
/// the stylesheet is applied (the CSP would block a stylesheet served wrongly).
async fn check_layout(browser: &Client) -> Result<(), CmdError> {
    let styled = browser
        .execute("return getComputedStyle(document.querySelector('.pet-list')).display === 'grid';", vec![])
        .await?;
    assert_eq!(styled, json!(true), "the stylesheet is applied");
    let screenshots = std::env::var_os("PETTY_SCREENSHOT_DIR").map(PathBuf::from);
    for (name, width, height) in [("desktop", 1280, 900), ("phone", 375, 812), ("small-phone", 320, 640)] {
        browser.set_window_size(width, height).await?;
        let fits = browser.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await?;
        assert_eq!(fits, json!(true), "the household page scrolls sideways at {width} px");
        if let Some(dir) = &screenshots {
            let png = browser.screenshot().await?;
            std::fs::write(dir.join(format!("household-{name}.png")), png).expect("write screenshot");
        }
    }
    browser.set_window_size(1280, 900).await
}

/// The button whose text is `text`.
async fn button(browser: &Client, text: &str) -> Result<fantoccini::elements::Element, CmdError> {
    browser.find(Locator::XPath(&format!("//button[normalize-space()='{text}']"))).await
}

/// Waits (up to 10 s) until the browser shows `path`.
async fn wait_for_path(browser: &Client, path: &str) -> Result<(), CmdError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = browser.current_url().await?;
        if url.path() == path {
            return Ok(());
        }
        assert!(Instant::now() < deadline, "expected to reach {path}, still at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long a live page may take to show what was sent.
const LIVE_WITHIN: Duration = Duration::from_secs(5);

/// A device made through the API: its id and token.
async fn api_device(app: &TestApp, account: &Account, name: &str, kind: &str) -> (String, String) {
    let res = app.post_json("/api/v1/devices", &json!({"name": name, "kind": kind}), Some(&account.access_token)).await;
    assert_eq!(res.status(), reqwest::StatusCode::CREATED, "create {name}");
    let body: serde_json::Value = res.json().await.expect("json");
    (body["device"]["id"].as_str().expect("id").to_owned(), body["token"].as_str().expect("token").to_owned())
}

async fn send_reading(app: &TestApp, device_token: &str, reading: serde_json::Value) {
    let res = app.post_json("/api/v1/ingest", &reading, Some(device_token)).await;
    assert_eq!(res.status(), reqwest::StatusCode::CREATED, "the reading is stored: {reading}");
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Signs in through the form, as a person would.
async fn sign_in(app: &TestApp, browser: &Client, account: &Account) -> Result<(), CmdError> {
    sign_in_at(browser, &app.url("/login"), &account.email, &account.password).await
}

/// Signs in through the form at `login` (a full address), as a person would.
async fn sign_in_at(browser: &Client, login: &str, email: &str, password: &str) -> Result<(), CmdError> {
    browser.set_window_size(1280, 900).await?;
    browser.goto(login).await?;
    browser.find(Locator::Id("f-email")).await?.send_keys(email).await?;
    browser.find(Locator::Id("f-password")).await?.send_keys(password).await?;
    button(browser, "Sign in").await?.click().await?;
    wait_for_path(browser, "/household").await
}

/// What the element at `css` shows, as the browser renders it (empty while hidden).
async fn shown(browser: &Client, css: &str) -> Result<String, CmdError> {
    browser.find(Locator::Css(css)).await?.text().await
}

/// Waits (up to [`LIVE_WITHIN`]) until the element at `css` shows `needle`; returns its text.
async fn wait_for_text(browser: &Client, css: &str, needle: &str) -> Result<String, CmdError> {
    let deadline = Instant::now() + LIVE_WITHIN;
    loop {
        // A region swapped in between finding it and reading it is simply read again.
        let text = match shown(browser, css).await {
            Err(CmdError::Standard(e)) if e.error == fantoccini::error::ErrorStatus::StaleElementReference => {
                String::new()
            }
            other => other?,
        };
        if text.contains(needle) {
            return Ok(text);
        }
        assert!(Instant::now() < deadline, "{css} did not show {needle:?} within {LIVE_WITHIN:?}; it shows {text:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to [`LIVE_WITHIN`]) until `css` shows something other than `before`, and answers it.
async fn wait_for_change(browser: &Client, css: &str, before: &str) -> Result<String, CmdError> {
    let deadline = Instant::now() + LIVE_WITHIN;
    loop {
        let text = match shown(browser, css).await {
            Err(CmdError::Standard(e)) if e.error == fantoccini::error::ErrorStatus::StaleElementReference => {
                before.to_owned()
            }
            other => other?,
        };
        if text != before {
            return Ok(text);
        }
        assert!(Instant::now() < deadline, "{css} still shows {before:?} after {LIVE_WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the page says it is live (subscribed to everything it shows).
async fn wait_until_live(browser: &Client) -> Result<(), CmdError> {
    wait_for_text(browser, "#live-status", "Live").await.map(|_| ())
}

/// Marks the loaded document; [`still_the_same_page`] then proves that nothing reloaded it.
async fn mark_the_page(browser: &Client) -> Result<(), CmdError> {
    browser.execute("window.pettyTestMark = 'unchanged'; return true;", vec![]).await.map(|_| ())
}

async fn still_the_same_page(browser: &Client) -> Result<(), CmdError> {
    let mark = browser.execute("return window.pettyTestMark || null;", vec![]).await?;
    assert_eq!(mark, json!("unchanged"), "the page was reloaded instead of updated in place");
    Ok(())
}

#[tokio::test]
async fn a_device_page_shows_new_readings_as_they_arrive() {
    let Some(app) = app_for_a_browser().await else { return };
    let ana = app.register("Ana").await;
    let (device_id, device_token) = api_device(&app, &ana, "Bella's collar", "collar").await;
    in_chromium("the device page updates itself", async |browser| {
        watch_a_device_page(&app, browser, &ana, &device_id, &device_token).await
    })
    .await;
}

async fn watch_a_device_page(
    app: &TestApp,
    browser: &Client,
    ana: &Account,
    device_id: &str,
    device_token: &str,
) -> Result<(), CmdError> {
    sign_in(app, browser, ana).await?;
    browser.goto(&app.url(&format!("/devices/{device_id}"))).await?;
    assert!(shown(browser, "#latest-reading").await?.contains("Nothing has arrived"));
    assert_eq!(shown(browser, "#recent-readings").await?, "", "no table while there is nothing to list");
    wait_until_live(browser).await?;
    mark_the_page(browser).await?;

    let first = now_ms() - 2_000;
    send_reading(
        app,
        device_token,
        json!({"ts": first, "seq": 1, "heart_rate": 92, "battery_pct": 15,
               "location": {"lat": 52.52, "lon": 13.405, "accuracy_m": 8}, "extra": {"lick_seconds": 3}}),
    )
    .await;
    let latest = wait_for_text(browser, "#latest-reading", "92 beats per minute").await?;
    assert!(latest.contains("15 percent"), "every value with its unit: {latest}");
    assert!(latest.contains("52.52, 13.405 (within 8 m)"), "the location: {latest}");
    assert!(latest.contains("lick_seconds") && latest.contains("Taken just now"), "{latest}");
    let details = shown(browser, "#device-details").await?;
    assert!(details.contains("Online"), "heard from, so online: {details}");
    assert!(details.contains("expected every 60 seconds"), "{details}");
    assert!(details.contains("15%") && details.contains("Low battery"), "{details}");
    let table = shown(browser, "#recent-readings").await?;
    assert!(table.contains("The 1 most recent reading of the last day"), "the table appears: {table}");
    assert_eq!(shown(browser, "#recent-readings tbody tr:first-child td").await?, "92");

    // A newer reading with a value no column held yet: it goes first, under a new column.
    send_reading(app, device_token, json!({"ts": first + 1_000, "seq": 2, "heart_rate": 95, "respiration_rate": 31}))
        .await;
    wait_for_text(browser, "#latest-reading", "95 beats per minute").await?;
    let latest = shown(browser, "#latest-reading").await?;
    assert!(latest.contains("31 breaths per minute") && !latest.contains("92 beats"), "{latest}");
    let table = wait_for_text(browser, "#recent-readings", "The 2 most recent readings").await?;
    assert!(table.contains("Respiration rate"), "a column for the new value: {table}");
    let rows = browser.find_all(Locator::Css("#recent-readings tbody tr")).await?;
    assert_eq!(rows.len(), 2);
    assert!(rows[0].text().await?.contains("95"), "newest first");
    assert!(rows[1].text().await?.contains("92"));
    // The older reading has no respiration rate: its cell says so (to screen readers) and
    // shows a dash.
    let older = browser
        .execute(
            "const cells = document.querySelectorAll('#recent-readings tbody tr:nth-child(2) td'); \
             return Array.from(cells).map(c => c.textContent);",
            vec![],
        )
        .await?;
    assert!(older.as_array().is_some_and(|cells| cells.contains(&json!("None—"))), "{older}");

    // An older reading (a backfill) joins the table in its place, but is not the latest.
    send_reading(app, device_token, json!({"ts": first - 60_000, "seq": 0, "heart_rate": 77})).await;
    wait_for_text(browser, "#recent-readings", "The 3 most recent readings").await?;
    let rows = browser.find_all(Locator::Css("#recent-readings tbody tr")).await?;
    assert!(rows[2].text().await?.contains("77"), "ordered by when it was taken");
    assert!(shown(browser, "#latest-reading").await?.contains("95 beats per minute"), "the latest stays the latest");

    // An accelerometer window: summed up in one line, under a column of its own, as the server
    // writes it on a fresh page.
    let z: Vec<f64> = (0..50).map(|i| 1.0 + 0.3 * (f64::from(i) * 1.2).sin()).collect();
    let window = json!({"hz": 25, "x": vec![0.0; 50], "y": vec![0.1; 50], "z": z});
    send_reading(app, device_token, json!({"ts": first + 2_000, "seq": 3, "heart_rate": 99, "accel": window})).await;
    let latest = wait_for_text(browser, "#latest-reading", "99 beats per minute").await?;
    assert!(latest.contains("Movement") && !latest.contains("accel_"), "{latest}");
    let table = wait_for_text(browser, "#recent-readings thead", "Movement").await?;
    assert!(!shown(browser, "#recent-readings").await?.contains("accel_"), "{table}");
    let live_summary = shown(browser, "#recent-readings tbody tr:first-child details summary").await?;
    assert!(live_summary.ends_with(" Hz") && live_summary.contains(" g · "), "{live_summary}");
    still_the_same_page(browser).await?;
    browser.refresh().await?;
    let served = find_soon(browser, "#recent-readings tbody tr:first-child details summary").await?.text().await?;
    assert_eq!(live_summary, served, "the live line reads as the server's");
    Ok(())
}

#[tokio::test]
async fn the_device_list_shows_status_battery_and_last_seen_as_they_change() {
    let Some(app) = app_for_a_browser().await else { return };
    let ana = app.register("Ana").await;
    let (collar, collar_token) = api_device(&app, &ana, "Bella's collar", "collar").await;
    let (monitor, _) = api_device(&app, &ana, "Kitchen air", "air_monitor").await;
    in_chromium("the device list updates itself", async |browser| {
        watch_the_list(&app, browser, &ana, &collar, &collar_token, &monitor).await
    })
    .await;
}

async fn watch_the_list(
    app: &TestApp,
    browser: &Client,
    ana: &Account,
    collar: &str,
    collar_token: &str,
    monitor: &str,
) -> Result<(), CmdError> {
    sign_in(app, browser, ana).await?;
    browser.goto(&app.url("/devices")).await?;
    let cell = |device: &str, field: &str| format!(r#"tr[data-device-id="{device}"] td[data-live-field="{field}"]"#);
    assert_eq!(shown(browser, &cell(collar, "status")).await?, "Never seen");
    assert_eq!(shown(browser, &cell(collar, "last-seen")).await?, "Never");
    wait_until_live(browser).await?;
    mark_the_page(browser).await?;

    send_reading(app, collar_token, json!({"ts": now_ms(), "heart_rate": 80, "battery_pct": 15})).await;
    wait_for_text(browser, &cell(collar, "status"), "Online").await?;
    assert_eq!(shown(browser, &cell(collar, "last-seen")).await?, "just now");
    assert_eq!(shown(browser, &cell(collar, "battery")).await?, "15% Low battery");
    assert_eq!(shown(browser, &cell(monitor, "status")).await?, "Never seen", "the other device is unchanged");
    let said = browser.execute("return document.getElementById('live-announcer').textContent;", vec![]).await?;
    assert_eq!(said, json!("Bella's collar: Online"), "the change is announced");

    // Liveness events, as the server's 15-second pass publishes them.
    let alarm = |kind: &str| json!({"source": "device", "device_id": collar, "kind": kind, "at": "2026-11-22T06:15:35Z", "detail": kind});
    let topic: petty_bus::Topic = format!("household:{}:alarms", ana.household_id).parse().unwrap();
    app.bus.publish(topic, alarm("offline").to_string().into()).await;
    wait_for_text(browser, &cell(collar, "status"), "Offline").await?;
    app.bus.publish(topic, alarm("battery_ok").to_string().into()).await;
    wait_for_text(browser, &cell(collar, "battery"), "15%").await?;
    let deadline = Instant::now() + LIVE_WITHIN;
    while shown(browser, &cell(collar, "battery")).await?.contains("Low battery") {
        assert!(Instant::now() < deadline, "battery_ok did not clear the low-battery mark");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.bus.publish(topic, alarm("back_online").to_string().into()).await;
    wait_for_text(browser, &cell(collar, "status"), "Online").await?;
    assert_eq!(shown(browser, &cell(monitor, "status")).await?, "Never seen");

    still_the_same_page(browser).await
}

#[tokio::test]
async fn a_pet_page_shows_new_episodes_as_the_analysis_finds_them() {
    let Some(app) = app_for_a_browser().await else { return };
    let ana = app.register("Ana").await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog", "weight_kg": 12})).await;
    let pet_id = pet["id"].as_str().expect("id").to_owned();
    let res = app
        .post_json(
            "/api/v1/devices",
            &json!({"name": "Bella's collar", "kind": "collar", "pet_id": pet_id}),
            Some(&ana.access_token),
        )
        .await;
    let body: serde_json::Value = res.json().await.expect("json");
    let device_token = body["token"].as_str().expect("token").to_owned();
    in_chromium("the pet page updates itself", async |browser| {
        watch_a_pet_page(&app, browser, &ana, &pet_id, &device_token).await
    })
    .await;
}

async fn watch_a_pet_page(
    app: &TestApp,
    browser: &Client,
    ana: &Account,
    pet_id: &str,
    device_token: &str,
) -> Result<(), CmdError> {
    sign_in(app, browser, ana).await?;
    browser.goto(&app.url(&format!("/pets/{pet_id}"))).await?;
    assert!(shown(browser, "#timeline").await?.contains("Nothing analysed today yet"));
    wait_until_live(browser).await?;
    mark_the_page(browser).await?;

    // Twenty quiet minutes of a sleeping dog, ending now, then the analysis pass.
    let now = now_ms();
    let start = (now - 20 * 60_000).max(now - now.rem_euclid(86_400_000));
    let readings: Vec<serde_json::Value> = (0..)
        .map(|i| start + i * 60_000)
        .take_while(|ts| *ts < now)
        .map(|ts| json!({"ts": ts, "heart_rate": 62, "respiration_rate": 16, "activity_level": 0, "steps": 0, "activity_counts": 0}))
        .collect();
    let res = app.post_json("/api/v1/ingest", &json!({"readings": readings}), Some(device_token)).await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    petty_jobs::analysis::run_once(&app.state.app, app.state.app.now()).await.expect("the analysis pass");

    let timeline = wait_for_text(browser, "#timeline", "Relabel").await?;
    assert!(timeline.contains("Right"), "{timeline}");
    // How sure, in words: a vote share is not a measured probability.
    assert!((timeline.contains("likely") || timeline.contains("unsure")) && !timeline.contains('%'), "{timeline}");
    still_the_same_page(browser).await
}

/// Issue 14's journey: turn on two-step sign-in and sign in with it, add a vaccination with a
/// photo of the certificate attached, see the pet's status and the vaccine's reminder, and mark
/// a reminder done.
#[tokio::test]
async fn a_person_with_two_step_sign_in_records_a_vaccination_with_a_photo_and_completes_a_reminder() {
    let Some(app) = app_for_a_browser().await else { return };
    let owner = app.register("Ana").await;
    let pet = app.create_pet(&owner.access_token, json!({"name": "Bella", "species": "dog"})).await;
    let pet_id = pet["id"].as_str().unwrap().to_owned();
    in_chromium("the care journey through the dashboard", async |browser| {
        care_journey(&app, browser, &owner, &pet_id).await
    })
    .await;
}

/// Submits the sign-in form (without waiting for where it leads).
async fn submit_sign_in(app: &TestApp, browser: &Client, owner: &Account) -> Result<(), CmdError> {
    browser.goto(&app.url("/login")).await?;
    browser.find(Locator::Id("f-email")).await?.send_keys(&owner.email).await?;
    browser.find(Locator::Id("f-password")).await?.send_keys(&owner.password).await?;
    button(browser, "Sign in").await?.click().await
}

/// The element at `css`, waiting (up to 10 s) for the page that shows it to load.
async fn find_soon(browser: &Client, css: &str) -> Result<fantoccini::elements::Element, CmdError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match browser.find(Locator::Css(css)).await {
            Ok(found) => return Ok(found),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn care_journey(app: &TestApp, browser: &Client, owner: &Account, pet_id: &str) -> Result<(), CmdError> {
    sign_in(app, browser, owner).await?;
    // Two-step sign-in: the key on the page, a code from it, the backup codes shown once.
    browser.goto(&app.url("/account/security")).await?;
    button(browser, "Set up two-step sign-in").await?.click().await?;
    let key = find_soon(browser, "figure.qr figcaption code").await?.text().await?;
    let secret = petty_core::mfa::secret_from_base32(&key).expect("a base32 key");
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    browser.find(Locator::Id("f-code")).await?.send_keys(&petty_core::mfa::code_at(&secret, now)).await?;
    button(browser, "Turn two-step sign-in on").await?.click().await?;
    let backup = find_soon(browser, "ul.backup-codes li code").await?.text().await?;
    find_soon(browser, "form[action='/logout'] button").await?.click().await?;
    wait_for_path(browser, "/login").await?;
    // Signing in now asks for the second step (a backup code: the app's code was just used).
    submit_sign_in(app, browser, owner).await?;
    wait_for_path(browser, "/login/mfa").await?;
    browser.find(Locator::Id("f-code")).await?.send_keys(&backup).await?;
    button(browser, "Sign in").await?.click().await?;
    wait_for_path(browser, "/household").await?;
    // A vaccination, then the certificate's photo attached to it.
    browser.goto(&app.url(&format!("/pets/{pet_id}/care"))).await?;
    find_soon(browser, "#f-kind").await?.select_by_value("vaccination").await?;
    browser.find(Locator::Id("f-title")).await?.send_keys("Rabies").await?;
    browser.find(Locator::Id("f-vet")).await?.send_keys("Dr. Ng").await?;
    button(browser, "Add record").await?.click().await?;
    wait_for_path(browser, &format!("/pets/{pet_id}/care")).await?;
    let photo = std::env::temp_dir().join(format!("certificate-{}.png", uuid::Uuid::now_v7()));
    std::fs::write(&photo, crate::files::png(60, 40)).expect("write the photo");
    find_soon(browser, "input[type=file][name=file]").await?.send_keys(photo.to_str().unwrap_or_default()).await?;
    browser.find(Locator::Css("button[aria-label='Attach a file to Rabies']")).await?.click().await?;
    wait_for_path(browser, &format!("/pets/{pet_id}/care")).await?;
    if find_soon(browser, "ul.attachments").await.is_err() {
        let page = browser.source().await?;
        let url = browser.current_url().await?;
        let start = page.find("<main").unwrap_or(0);
        let err = page.find("ERR_").map(|i| page[i..].chars().take(60).collect::<String>()).unwrap_or_default();
        panic!("no attachment listed at {url}: {err} {}", page[start..].chars().take(300).collect::<String>());
    }
    let page = browser.source().await?;
    assert!(page.contains("certificate-") && page.contains(".png"), "the attachment is listed");
    assert!(page.contains("Up to date"), "the pet's vaccinations are up to date");
    // The vaccine's reminder is waiting; a reminder for today is done.
    browser.goto(&app.url("/reminders")).await?;
    find_soon(browser, "#f-title").await?;
    assert!(browser.source().await?.contains("Rabies vaccination due – Bella"));
    let today = petty_core::pets::format_date(time::OffsetDateTime::now_utc().date());
    browser.find(Locator::Id("f-title")).await?.send_keys("Brush Bella").await?;
    // A date input types in the browser's locale; set its value as the form sends it.
    browser.execute("document.getElementById('f-date').value = arguments[0];", vec![json!(today)]).await?;
    button(browser, "Add reminder").await?.click().await?;
    wait_for_path(browser, "/reminders").await?;
    find_soon(browser, "button[aria-label='Mark Brush Bella done']").await?.click().await?;
    // The answer is the same page without the reminder among those to do.
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.source().await?.contains("Mark Brush Bella done") {
        assert!(Instant::now() < deadline, "the reminder left the list of those to do");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.goto(&app.url("/reminders?status=completed")).await?;
    find_soon(browser, "main h1").await?;
    assert!(browser.source().await?.contains("Brush Bella"), "the reminder is done");
    // Only now: the browser reads the file while it sends the form.
    let _ = std::fs::remove_file(&photo);
    Ok(())
}

/// Issue 15: on the life log, one tap logs "Slept 7 h" without leaving the page, and the energy
/// prediction above changes as the socket brings the event and the moved prediction; the
/// event then shows under Recent, and a check-in logged from elsewhere (the API, a phone) moves
/// the page too.
#[tokio::test]
async fn a_tap_on_the_life_log_moves_the_prediction_live() {
    let Some(app) = app_for_a_browser().await else { return };
    let ana = app.register("Ana").await;
    in_chromium("the life page updates itself", async |browser| tap_and_watch(&app, browser, &ana).await).await;
}

async fn tap_and_watch(app: &TestApp, browser: &Client, ana: &Account) -> Result<(), CmdError> {
    sign_in(app, browser, ana).await?;
    browser.goto(&app.url("/life")).await?;
    let before = shown(browser, "[data-prediction=energy]").await?;
    assert!(shown(browser, "#recent").await?.contains("Nothing logged yet"));
    wait_until_live(browser).await?;
    mark_the_page(browser).await?;

    // Sleep below 8 hours lowers the energy of any time of day by an eighth.
    button(browser, "Slept 7 h").await?.click().await?;
    wait_for_text(browser, "#recent", "Slept 7 h").await?;
    // The energy prediction moves (it may arrive a moment after the event).
    let after = wait_for_change(browser, "[data-prediction=energy]", &before).await?;
    still_the_same_page(browser).await?;

    // A check-in from a phone: energy 9 raises it, on the same open page.
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let res = app
        .post_json(
            "/api/v1/life-events",
            &json!({"event_type": "mood", "title": "Phone check-in", "event_time": now, "event_data": {"energy_level": 9}}),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    wait_for_text(browser, "#recent", "Phone check-in").await?;
    wait_for_change(browser, "[data-prediction=energy]", &after).await?;
    still_the_same_page(browser).await
}

#[tokio::test]
async fn a_question_on_the_chat_page_is_answered_in_place_with_links_to_its_records() {
    let Some(app) = app_for_a_browser().await else { return };
    let ana = app.register("Ana").await;
    crate::catalog::list_the_contract_catalog(&app, &ana.access_token).await;
    let hostile = json!({"name": "<img src=x onerror=window.pettyOwned=1>", "species": "cat", "price": 5});
    assert_eq!(app.post_json("/api/v1/catalog", &hostile, Some(&ana.access_token)).await.status(), 201);
    in_chromium("the chat answers in place", async |browser| ask_the_chat(&app, browser, &ana).await).await;
}

/// Waits (up to [`LIVE_WITHIN`]) until no answer on the chat page is still streaming.
async fn answered(browser: &Client) -> Result<(), CmdError> {
    let deadline = Instant::now() + LIVE_WITHIN;
    loop {
        let busy = browser.execute("return document.querySelectorAll('#chat-log [aria-busy]').length;", vec![]).await?;
        if busy == json!(0) {
            return Ok(());
        }
        assert!(Instant::now() < deadline, "an answer was still streaming after {LIVE_WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ask_the_chat(app: &TestApp, browser: &Client, ana: &Account) -> Result<(), CmdError> {
    sign_in(app, browser, ana).await?;
    browser.goto(&app.url("/chat")).await?;
    mark_the_page(browser).await?;
    let ask = |q: &'static str| async move {
        let input = browser.find(Locator::Id("chat-q")).await?;
        input.send_keys(q).await?;
        button(browser, "Ask").await?.click().await
    };
    ask("3 cheapest cats").await?;
    let log = wait_for_text(browser, "#chat-log", "Understood as: cat").await?;
    answered(browser).await?;
    assert!(log.contains("Found 4 pets in the catalog; here are 3."), "{log}");
    assert!(log.contains("<img src=x onerror=window.pettyOwned=1>"), "a hostile name is shown as text: {log}");
    let links = browser.find_all(Locator::Css("#chat-log .chat-links a")).await?;
    assert_eq!(links.len(), 3, "each pet links to its listing");
    let href = links[1].attr("href").await?.unwrap_or_default();
    assert!(href.starts_with("/catalog/"), "{href}");
    let owned = browser.execute("return window.pettyOwned || null;", vec![]).await?;
    assert_eq!(owned, json!(null), "no script of a listing ran");

    ask("is the car's CO OK?").await?;
    wait_for_text(browser, "#chat-log", "no air monitor").await?;
    still_the_same_page(browser).await?;
    // The answer's link leads to the record.
    links[1].click().await?;
    wait_for_path(browser, &href).await
}

/// With a model configured, the answer is the model's, streamed piece by piece into the page,
/// with the tool it used and a link to the record; text the tools answered is shown as text.
#[tokio::test]
async fn with_a_model_the_chat_page_shows_its_streamed_answer_the_tool_used_and_the_records() {
    if !browser_installed() {
        return;
    }
    let fake = crate::fake_llm::llm().await;
    let settings = fake.settings(100, Duration::from_secs(5));
    let app = crate::harness::spawn_app_with(move |c| c.llm = Some(settings)).await;
    let ana = app.register("Ana").await;
    let name = "Bella <img src=x onerror=window.pettyOwned=1>";
    let pet = app.create_pet(&ana.access_token, json!({"name": name, "species": "dog"})).await;
    fake.chat_calls("list_pets", json!({}));
    in_chromium("the model's answer streams in place", async |browser| {
        ask_the_model(&app, browser, &ana, pet["id"].as_str().unwrap_or_default()).await
    })
    .await;
}

async fn ask_the_model(app: &TestApp, browser: &Client, ana: &Account, pet_id: &str) -> Result<(), CmdError> {
    sign_in(app, browser, ana).await?;
    browser.goto(&app.url("/chat")).await?;
    mark_the_page(browser).await?;
    browser.find(Locator::Id("chat-q")).await?.send_keys("which pets do I have?").await?;
    button(browser, "Ask").await?.click().await?;
    wait_for_text(browser, "#chat-log", "The tools answered").await?;
    answered(browser).await?;
    let tools = shown(browser, "#chat-log .chat-tools").await?;
    assert_eq!(tools, "Looked at: list_pets");
    // The pieces make one paragraph, in order, the hostile name in it as text.
    let text = shown(browser, "#chat-log .chat-text").await?;
    assert!(text.starts_with("You asked: which pets do I have?. The tools answered: {"), "{text}");
    assert!(text.contains("Bella <img src=x onerror=window.pettyOwned=1>"), "{text}");
    let owned = browser.execute("return window.pettyOwned || null;", vec![]).await?;
    assert_eq!(owned, json!(null), "nothing the tools answered ran as script");
    let links = browser.find_all(Locator::Css("#chat-log .chat-links a")).await?;
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].attr("href").await?.unwrap_or_default(), format!("/pets/{pet_id}"));
    still_the_same_page(browser).await
}

#[tokio::test]
async fn the_seed_s_chat_page_signs_in_adds_lists_and_asks_through_the_gateway() {
    let Some(app) = app_for_a_browser().await else { return };
    let ana = app.register("Ana").await;
    crate::catalog::list_the_contract_catalog(&app, &ana.access_token).await;
    let hostile = json!({"name": "<img src=x onerror=window.pettyOwned=1>", "species": "fish", "price": 5});
    assert_eq!(app.post_json("/api/v1/catalog", &hostile, Some(&ana.access_token)).await.status(), 201);
    in_chromium("the seed's page works against Petty", async |browser| {
        chat_with_the_seed_s_page(&app, browser, &ana).await
    })
    .await;
}

async fn chat_with_the_seed_s_page(app: &TestApp, browser: &Client, ana: &Account) -> Result<(), CmdError> {
    browser.set_window_size(1280, 900).await?;
    browser.goto(&app.url("/compat/petstore/")).await?;
    browser.find(Locator::Id("email")).await?.send_keys(&ana.email).await?;
    browser.find(Locator::Id("password")).await?.send_keys(&ana.password).await?;
    button(browser, "Sign in").await?.click().await?;
    // The chat shows once the sign-in has answered (its text is empty while it is hidden).
    wait_for_text(browser, "#chat", "Ask about our pets").await?;
    let send = |text: &'static str| async move {
        let input = browser.find(Locator::Id("message")).await?;
        input.send_keys(text).await?;
        button(browser, "Send").await?.click().await
    };
    send("golden retrievers under $500").await?;
    let log = wait_for_text(browser, "#messages", "Found 1 pet (🔎 smart search)").await?;
    assert!(log.contains("dog · golden retriever · under $500"), "{log}");
    assert!(log.contains("🐾 Daisy - dog (Golden Retriever)") && log.contains("Age: 7 months | Price: $450"), "{log}");
    send("Add a cat named Pixel breed: Bengal age: 2 price: $300").await?;
    wait_for_text(browser, "#messages", "Added Pixel the cat (Bengal, ID 12)").await?;
    send("Add a dragon named Smaug").await?;
    wait_for_text(browser, "#messages", "Invalid pet type").await?;
    send("list all pets").await?;
    let log = wait_for_text(browser, "#messages", "Showing 10 of 12 pets").await?;
    assert!(log.contains("(2 more available)"), "{log}");
    send("cheap fish").await?;
    let log = wait_for_text(browser, "#messages", "<img src=x onerror=window.pettyOwned=1>").await?;
    assert!(log.contains("🐾 <img"), "a hostile name is shown as text");
    let owned = browser.execute("return window.pettyOwned || null;", vec![]).await?;
    assert_eq!(owned, json!(null), "no script of a listing ran");
    // Pixel is in Petty's own catalog.
    let (_, listed) = crate::lifelog::call(
        app,
        reqwest::Method::GET,
        "/api/v1/catalog?species=cat&breed=bengal",
        &ana.access_token,
        None,
    )
    .await;
    assert_eq!(listed["items"][0]["name"], "Pixel");
    Ok(())
}

/// A household with something on every page: a pet, a collar and an air monitor with half an
/// hour of readings (accelerometer windows included), and the carbon monoxide alarm they raise.
struct HouseholdWithData {
    ana: Account,
    pet_id: String,
    collar: String,
    monitor: String,
}

async fn a_household_with_data(app: &TestApp) -> HouseholdWithData {
    let ana = app.register("Ana").await;
    let pet = app.create_pet(&ana.access_token, json!({"name": "Bella", "species": "dog", "weight_kg": 12})).await;
    let pet_id = pet["id"].as_str().expect("id").to_owned();
    let (collar, collar_token) = api_device(app, &ana, "Bella's collar", "collar").await;
    let (monitor, monitor_token) = api_device(app, &ana, "Kitchen air", "air_monitor").await;
    let start = now_ms() - 30 * 60_000;
    let samples = |phase: f64| -> Vec<f64> { (0..50).map(|i| 0.4 * (f64::from(i) * 0.9 + phase).sin()).collect() };
    let window = json!({"hz": 25, "x": samples(0.0), "y": samples(1.0), "z": samples(2.0)});
    let collar_readings: Vec<serde_json::Value> = (0..20)
        .map(|i| {
            json!({"ts": start + i * 60_000, "heart_rate": 90 + i, "activity_counts": 40 * i, "temperature_c": 38.4,
                   "battery_pct": 80, "location": {"lat": 48.858_37, "lon": 2.294_481, "accuracy_m": 8},
                   "extra": {"wag_count": i, "steps_since_boot": 123_456 + i}, "accel": window})
        })
        .collect();
    let air_readings: Vec<serde_json::Value> = (0..40)
        .map(|i| json!({"ts": start + i * 10_000, "co_ppm": 90.0, "ambient_temp_c": 22.5, "humidity_pct": 48}))
        .collect();
    for (token, readings) in [(&collar_token, collar_readings), (&monitor_token, air_readings)] {
        let res = app.post_json("/api/v1/ingest", &json!({"readings": readings}), Some(token)).await;
        assert_eq!(res.status(), reqwest::StatusCode::OK, "the readings are stored");
    }
    petty_jobs::alarms::run_once(&app.state.app).await;
    HouseholdWithData { ana, pet_id, collar, monitor }
}

/// Every main page of a household with a pet, a collar and an air monitor with readings and an
/// alarm fits a 375 px phone: nothing scrolls the document sideways and the navigation shows.
/// At desktop width the collar's readings stay one line a row, accelerometer windows included.
#[tokio::test]
async fn every_main_page_fits_a_phone_and_a_collar_s_readings_stay_one_line_a_row() {
    let Some(app) = app_for_a_browser().await else { return };
    let HouseholdWithData { ana, pet_id, collar, monitor } = a_household_with_data(&app).await;
    in_chromium("every page fits a phone", async |browser| {
        sign_in(&app, browser, &ana).await?;
        // The alarm was raised: the phone check covers a page that lists one.
        browser.goto(&app.url("/alarms")).await?;
        wait_for_text(browser, "main", "Carbon monoxide high").await?;
        let alarm = browser.find(Locator::Css("main a[href^='/alarms/']")).await?.attr("href").await?;
        let alarm = alarm.expect("a link to the alarm");

        // At desktop width, the collar's readings: one line a row, the windows summed up.
        browser.goto(&app.url(&format!("/devices/{collar}"))).await?;
        find_soon(browser, "#recent-readings table tbody tr").await?;
        let rows = browser
            .execute(
                "return Array.from(document.querySelectorAll('#recent-readings tbody tr'))
                     .map(function (row) { return row.getBoundingClientRect().height; });",
                vec![],
            )
            .await?;
        let heights: Vec<f64> =
            rows.as_array().expect("row heights").iter().filter_map(serde_json::Value::as_f64).collect();
        assert_eq!(heights.len(), 20, "every reading has its row: {rows}");
        assert!(heights.iter().all(|h| *h < 80.0), "a row of the readings table is over 80 px tall: {heights:?}");
        assert!(shown(browser, "#recent-readings tbody tr details summary").await?.ends_with(" Hz"));
        let charts = browser.execute("return document.querySelectorAll('#collar-charts img').length;", vec![]).await?;
        assert_eq!(charts, json!(3), "heart rate, activity and body temperature are charted");

        browser.set_window_size(375, 812).await?;
        let width = browser.execute("return window.innerWidth;", vec![]).await?;
        assert!(width.as_f64().is_some_and(|w| w <= 400.0), "the window is phone-sized: {width}");
        let pages = [
            "/household".to_owned(),
            "/pets".to_owned(),
            format!("/pets/{pet_id}"),
            "/devices".to_owned(),
            format!("/devices/{collar}"),
            format!("/devices/{monitor}"),
            "/alarms".to_owned(),
            "/reminders".to_owned(),
            "/calendar".to_owned(),
            "/life".to_owned(),
            "/catalog".to_owned(),
            "/chat".to_owned(),
            "/account/security".to_owned(),
            // And the pages behind them.
            format!("/pets/{pet_id}/edit"),
            format!("/pets/{pet_id}/care"),
            alarm,
            "/household/audit".to_owned(),
            "/plan".to_owned(),
            "/account/data".to_owned(),
        ];
        let screenshots = std::env::var_os("PETTY_SCREENSHOT_DIR").map(PathBuf::from);
        for path in &pages {
            browser.goto(&app.url(path)).await?;
            find_soon(browser, "main h1").await?;
            // What sticks out past the right edge, named, so that a failure says where to look.
            let fit = browser
                .execute(
                    "var width = window.innerWidth;
                     var out = Array.from(document.querySelectorAll('body *')).filter(function (el) {
                       var box = el.getBoundingClientRect();
                       return box.width > 0 && box.right > width + 0.5 && !el.closest('.table-scroll');
                     }).slice(0, 5).map(function (el) {
                       return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                         (el.className && el.className.baseVal === undefined ? '.' + el.className.split(' ').join('.') : '') +
                         ' ' + Math.round(el.getBoundingClientRect().right) + 'px';
                     });
                     var nav = document.querySelector('nav.site-nav');
                     var box = nav ? nav.getBoundingClientRect() : null;
                     return {
                       fits: document.documentElement.scrollWidth <= width,
                       scroll_width: document.documentElement.scrollWidth,
                       out: out,
                       nav: !!box && box.width > 0 && box.height > 0 && box.left >= 0 && box.right <= width &&
                         getComputedStyle(nav).visibility !== 'hidden'
                     };",
                    vec![],
                )
                .await?;
            assert_eq!(fit["fits"], json!(true), "{path} scrolls sideways at 375 px: {fit}");
            assert_eq!(fit["nav"], json!(true), "{path}: the navigation is not on screen at 375 px: {fit}");
            if let Some(dir) = &screenshots {
                let png = browser.screenshot().await?;
                let name = path.trim_start_matches('/').replace('/', "-");
                std::fs::write(dir.join(format!("phone-{name}.png")), png).expect("write screenshot");
            }
        }
        browser.set_window_size(1280, 900).await
    })
    .await;
}

#[tokio::test]
async fn a_click_on_the_geofence_map_places_a_circle_that_is_then_listed_and_drawn() {
    let Some(app) = app_for_a_browser().await else { return };
    let ana = app.register("Ana").await;
    in_chromium("drawing a fence on the map", async |browser| draw_a_fence(&app, browser, &ana).await).await;
}

async fn draw_a_fence(app: &TestApp, browser: &Client, ana: &Account) -> Result<(), CmdError> {
    // Two positions 100 m apart: the new-fence map is centred between them.
    let (_, token) = api_device(app, ana, "Bella's collar", "collar").await;
    let (lat, lon) = (52.37, 4.89);
    for (secs_ago, north_m) in [(120, 0.0), (60, 100.0)] {
        let at = json!({"lat": lat + north_m / 111_195.0, "lon": lon, "accuracy_m": 5});
        send_reading(app, &token, json!({"ts": now_ms() - secs_ago * 1000, "location": at})).await;
    }
    sign_in(app, browser, ana).await?;
    browser.goto(&app.url("/geofences")).await?;
    browser.find(Locator::Id("f-name")).await?.send_keys("Park").await?;
    browser.find(Locator::Id("f-radius_m")).await?.send_keys("30").await?;
    // A click in the middle of the map is the middle of the two positions.
    browser.find(Locator::Css("svg[data-geo-form='new-fence']")).await?.click().await?;
    wait_for_text(browser, ".geo-picked", "Centre set to").await?;
    let typed = |id: &'static str| async move {
        let value = browser.find(Locator::Id(id)).await?.prop("value").await?.unwrap_or_default();
        Ok::<f64, CmdError>(value.parse::<f64>().unwrap_or(f64::NAN))
    };
    let (picked_lat, picked_lon) = (typed("f-lat").await?, typed("f-lon").await?);
    let middle = lat + 50.0 / 111_195.0;
    assert!((picked_lat - middle).abs() < 2e-5 && (picked_lon - lon).abs() < 3e-5, "{picked_lat}, {picked_lon}");
    button(browser, "Add the geofence").await?.click().await?;
    wait_for_path(browser, "/geofences").await?;
    let listed = find_soon(browser, "article.geo-fence-card h2 a").await?;
    assert_eq!(listed.text().await?, "Park");
    browser.find(Locator::Css("article.geo-fence-card svg [data-fence-shape='circle']")).await?;
    let fences: serde_json::Value =
        app.get("/api/v1/geofences", Some(&ana.access_token)).await.json().await.expect("json");
    let park = &fences["items"][0];
    assert_eq!((park["name"].as_str(), park["radius_m"].as_f64()), (Some("Park"), Some(30.0)));
    assert!((park["center"]["lat"].as_f64().unwrap_or(0.0) - middle).abs() < 2e-5, "{park}");
    Ok(())
}
