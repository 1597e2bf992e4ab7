//! A real browser through the dashboard: Debian's Chromium, driven by chromedriver over
//! WebDriver, registers, adds a pet, signs out and signs in again, as a person would.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` the test is skipped with a note,
//! unless `CI` is set: CI must install them (`apt-get install chromium chromium-driver`).
//! `PETTY_SCREENSHOT_DIR=/some/dir` saves screenshots of the household page there, at desktop
//! and phone widths.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::harness::{TestApp, spawn_app};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PASSWORD: &str = "correct horse battery staple";

/// A chromedriver of this test's own, in a process group of its own, stopped with the
/// Chromium it started when the test ends, panics included.
struct Chromedriver {
    process: Child,
    url: String,
    profile: PathBuf,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // A test that panicked never closed its session, and Chromium outlives a killed
        // chromedriver; it stays in chromedriver's group, so the group goes.
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.process.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it answers.
    async fn start() -> Chromedriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut command = Command::new(CHROMEDRIVER);
        command.arg(format!("--port={port}")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let process = command.spawn().expect("start chromedriver");
        let profile = std::env::temp_dir().join(format!("petty-chromium-{}", uuid::Uuid::now_v7()));
        let driver = Chromedriver { process, url: format!("http://127.0.0.1:{port}"), profile };
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
    async fn browser(&self) -> Client {
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--no-first-run",
                    "--disable-sync", format!("--user-data-dir={}", self.profile.display()),
                ],
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session from chromedriver")
    }
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
    if !browser_installed() {
        return;
    }
    let app = spawn_app().await;
    let driver = Chromedriver::start().await;
    let browser = driver.browser().await;
    let journey = register_add_a_pet_and_come_back(&app, &browser).await;
    // Close the session even when a step failed, then report the step.
    let closed = browser.close().await;
    journey.expect("the journey through the dashboard");
    closed.expect("close the browser");
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
    wait_for_path(browser, "/household").await?;
    assert!(browser.source().await?.contains("No pets yet"));

    browser.find(Locator::LinkText("Add a pet")).await?.click().await?;
    wait_for_path(browser, "/pets/new").await?;
    browser.find(Locator::Id("f-name")).await?.send_keys("Bella").await?;
    browser.find(Locator::Id("f-species")).await?.select_by_value("dog").await?;
    browser.find(Locator::Id("f-weight_kg")).await?.send_keys("21.5").await?;
    button(browser, "Add pet").await?.click().await?;
    wait_for_path(browser, "/household").await?;
    let pet = browser.find(Locator::LinkText("Bella")).await?;
    assert!(pet.attr("href").await?.is_some_and(|href| href.ends_with("/edit")));
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
