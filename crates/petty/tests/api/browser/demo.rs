//! A walk through `petty serve --demo` in Chromium, as someone trying Petty would take it: the
//! real binary makes the demo household, then the browser signs in as the demo owner, opens
//! every page (each saved as a PNG under `target/screenshots/demo/`, which CI keeps as
//! artifacts, and checked with axe-core when it is installed), reads Bella's timeline, wellness
//! score and charts, acknowledges the active alarm and adds a contact.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};

use super::accessibility::{Axe, SIGNED_OUT_PAGES, signed_in_pages};
use super::{
    OwnProcess, browser_installed, button, find_soon, in_chromium, shown, sign_in_at, wait_for_path, wait_for_text,
};

/// A `petty serve --demo` of the test's own, its data in the folder; killed when dropped.
struct DemoServer {
    /// Held only to be dropped: that stops the server and removes its data.
    _process: OwnProcess,
    address: String,
}

impl DemoServer {
    /// Starts the binary on a free port and waits until it says where it listens (after it
    /// has replayed the demo's fortnight: 10 to 60 s on a debug build).
    fn start() -> DemoServer {
        let data_dir = std::env::temp_dir().join(format!("petty-demo-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&data_dir).expect("the demo's folder");
        let mut command = Command::new(env!("CARGO_BIN_EXE_petty"));
        // No PETTY_* setting of the developer's shell leaks in.
        for (key, _) in std::env::vars() {
            if key.starts_with("PETTY_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .current_dir(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut own = OwnProcess::spawn(command, data_dir);
        let stderr = own.process.stderr.take().expect("its log");
        let (address_tx, address_rx) = mpsc::channel();
        // Reads the log to its end, so that the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address = rest.split_whitespace().next().unwrap_or_default().to_owned();
                    let _ = address_tx.send(Ok(address));
                } else if seen.len() < 200 {
                    seen.push(line);
                }
            }
            let _ = address_tx.send(Err(seen));
        });
        let mut server = DemoServer { _process: own, address: String::new() };
        // A bound on a hang, not a measurement: the replay is far quicker than this.
        match address_rx.recv_timeout(Duration::from_secs(300)) {
            Ok(Ok(address)) => server.address = format!("http://{address}"),
            Ok(Err(log)) => panic!("petty serve --demo ended before listening:\n{}", log.join("\n")),
            Err(_) => panic!("petty serve --demo did not listen within 300 s"),
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

/// `target/screenshots/demo/` of the workspace (or of `CARGO_TARGET_DIR`), emptied.
fn screenshot_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let dir = target.join("screenshots").join("demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir
}

/// Screenshots numbered in the order the walk took them, and axe on each page shot.
struct Album {
    dir: PathBuf,
    taken: usize,
    axe: Option<Axe>,
}

impl Album {
    /// Saves what the browser shows as `NN-name.png` and checks the page with axe.
    async fn shoot(&mut self, browser: &Client, name: &str) -> Result<(), CmdError> {
        self.taken += 1;
        // The whole page, not only the window: the window as tall as the document, for a moment.
        let height = browser.execute("return document.documentElement.scrollHeight;", vec![]).await?;
        let height = height.as_u64().map_or(900, |h| h.clamp(900, 10_000) as u32);
        browser.set_window_size(1280, height).await?;
        let png = browser.screenshot().await;
        browser.set_window_size(1280, 900).await?;
        let png = png?;
        let path = self.dir.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&path, png).expect("write a screenshot");
        match &self.axe {
            Some(axe) => axe.check(browser, &format!("the demo's {name} page")).await,
            None => Ok(()),
        }
    }

    /// Opens `path` of `server`, waits for its heading and shoots it.
    async fn visit(&mut self, browser: &Client, server: &DemoServer, name: &str, path: &str) -> Result<(), CmdError> {
        browser.goto(&server.url(path)).await?;
        find_soon(browser, "main h1").await?;
        self.shoot(browser, name).await
    }
}

#[tokio::test]
async fn a_walk_through_the_demo_reads_bella_s_day_acknowledges_the_alarm_and_adds_a_contact() {
    if !browser_installed() {
        return;
    }
    let axe = Axe::load();
    let server = DemoServer::start();
    // No server in this process made the TLS provider that reaching chromedriver needs.
    petty_http::notify::install_tls_provider();
    let mut album = Album { dir: screenshot_dir(), taken: 0, axe };
    in_chromium("the walk through the demo", async |browser| walk(&server, browser, &mut album).await).await;
    eprintln!("the demo's screenshots: {}", album.dir.display());
}

/// `petty serve --demo`'s owner (crates/petty/src/demo.rs).
const DEMO_EMAIL: &str = "demo@petty.local";
const DEMO_PASSWORD: &str = "petty-demo-password";

async fn walk(server: &DemoServer, browser: &Client, album: &mut Album) -> Result<(), CmdError> {
    browser.set_window_size(1280, 900).await?;
    for (name, path) in SIGNED_OUT_PAGES {
        album.visit(browser, server, name, path).await?;
    }
    sign_in_at(browser, &server.url("/login"), DEMO_EMAIL, DEMO_PASSWORD).await?;

    // What the pages are about, found as a person finds them: by name.
    let bella = id_behind(browser, "Bella", "/pets/").await?;
    browser.goto(&server.url("/devices")).await?;
    let collar = id_behind(browser, "Bella's collar", "/devices/").await?;
    let monitor = id_behind(browser, "Living room air", "/devices/").await?;
    browser.goto(&server.url("/alarms")).await?;
    let restless = "tr[data-state='active'] a[href^='/alarms/']";
    let alarm = find_soon(browser, restless).await?.attr("href").await?.expect("a link to the active alarm");
    let alarm = alarm.trim_start_matches("/alarms/").to_owned();

    for (name, path) in signed_in_pages(&bella, &collar, &monitor, &alarm) {
        album.visit(browser, server, name, &path).await?;
        if name == "pet" {
            read_bella_s_day(browser).await?;
        }
    }

    // The restless night's alarm, acknowledged from the list: its state changes there.
    browser.goto(&server.url("/alarms")).await?;
    let state = format!("tr:has(a[href='/alarms/{alarm}']) td:nth-child(3)");
    assert_eq!(shown(browser, &state).await?, "active", "the restless night's alarm is active before");
    let row = browser.find(Locator::Css(&format!("tr:has(a[href='/alarms/{alarm}'])"))).await?;
    row.find(Locator::XPath(".//button[normalize-space()='Acknowledge']")).await?.click().await?;
    // The form leads to the alarm's own page, which says so; the list says so too.
    wait_for_path(browser, &format!("/alarms/{alarm}")).await?;
    wait_for_text(browser, "main", "· acknowledged").await?;
    album.shoot(browser, "alarm-acknowledged").await?;
    browser.goto(&server.url("/alarms")).await?;
    assert_eq!(shown(browser, &state).await?, "acknowledged", "the list shows the alarm acknowledged");

    // A contact added on the contacts page is listed there.
    browser.goto(&server.url("/settings/contacts")).await?;
    let contacts = "[aria-labelledby='contacts-caption']";
    assert!(!shown(browser, contacts).await?.contains("Noor the neighbour"), "a new contact");
    browser.find(Locator::Id("f-name")).await?.send_keys("Noor the neighbour").await?;
    browser.find(Locator::Id("f-phone")).await?.send_keys("+31612345678").await?;
    button(browser, "Add the contact").await?.click().await?;
    let listed = wait_for_text(browser, contacts, "Noor the neighbour").await?;
    assert!(listed.contains("+31612345678"), "the contact's phone is listed: {listed}");
    album.shoot(browser, "contact-added").await?;

    // A fence drawn on the map: a click on the new-fence map sets its centre.
    browser.goto(&server.url("/geofences")).await?;
    wait_for_text(browser, "main", "Home and the park").await?;
    browser.find(Locator::Id("f-name")).await?.send_keys("Garden").await?;
    browser.find(Locator::Id("f-radius_m")).await?.send_keys("40").await?;
    browser.find(Locator::Css("svg[data-geo-form='new-fence']")).await?.click().await?;
    wait_for_text(browser, ".geo-picked", "Centre set to").await?;
    button(browser, "Add the geofence").await?.click().await?;
    let listed = wait_for_text(browser, "main", "Garden").await?;
    assert!(listed.contains("Home and the park"), "both fences are listed: {listed}");
    browser.find(Locator::Css("article.geo-fence-card svg [data-fence-shape='circle']")).await?;
    album.shoot(browser, "geofence-drawn").await?;
    Ok(())
}

/// The id in the link named `name` whose address starts with `prefix`, on the page shown.
async fn id_behind(browser: &Client, name: &str, prefix: &str) -> Result<String, CmdError> {
    let xpath = format!("//main//a[normalize-space()=\"{name}\"][starts-with(@href, '{prefix}')]");
    let href = browser.find(Locator::XPath(&xpath)).await?.attr("href").await?.unwrap_or_default();
    Ok(href.trim_start_matches(prefix).to_owned())
}

/// Bella's page after a fortnight of history: today's timeline has episodes, the wellness
/// score is a number out of 100, and the charts have bars.
async fn read_bella_s_day(browser: &Client) -> Result<(), CmdError> {
    let episodes = browser.find_all(Locator::Css("#timeline ol.timeline > li")).await?;
    assert!(!episodes.is_empty(), "Bella's timeline is empty: {}", shown(browser, "#timeline").await?);
    // Early in the household's day (Amsterdam) there may be too little of it to score: then the
    // page says so and names what is missing, as it must.
    if browser.find_all(Locator::Css("#wellness p.score-pending")).await?.is_empty() {
        let score = shown(browser, "#wellness p.score strong").await?;
        assert!(score.parse::<u8>().is_ok_and(|s| s <= 100), "a wellness score out of 100: {score:?}");
    } else {
        let pending = shown(browser, "#wellness p.score-pending").await?;
        assert!(pending.contains("Not enough data yet") && pending.contains("missing"), "{pending}");
    }
    let bars = browser.find_all(Locator::Css("#charts figure.chart svg rect")).await?;
    assert!(!bars.is_empty(), "Bella's charts have no bars: {}", shown(browser, "#charts").await?);
    Ok(())
}
