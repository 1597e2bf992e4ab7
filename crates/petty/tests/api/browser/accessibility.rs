//! axe-core in Chromium over every page of the dashboard: no violation of impact `serious` or
//! `critical` (contrast, names of buttons, links and fields, landmarks, ARIA) on any page a
//! person signed out or signed in to a household with data can open, in the light palette and
//! in the dark one.
//!
//! axe-core comes from npm, pinned in `xtask/axe/package-lock.json`: `npm ci --prefix xtask/axe`
//! once (CI does it in `.ci/run`). Without it the test is skipped with a note, unless `CI` is set.

use std::path::{Path, PathBuf};

use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};
use serde::Deserialize;
use serde_json::json;

use super::{HouseholdWithData, a_household_with_data, app_for_a_browser, find_soon, in_chromium_with, sign_in};
use crate::harness::TestApp;

/// Where `npm ci --prefix xtask/axe` puts axe-core.
fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../xtask/axe/node_modules/axe-core/axe.min.js")
}

/// axe-core's script, ready to be put into pages.
pub(super) struct Axe {
    source: String,
}

/// One rule a page breaks, as `axe.run()` reports it.
#[derive(Debug, Deserialize)]
struct Violation {
    id: String,
    impact: Option<String>,
    help: String,
    nodes: Vec<Node>,
}

#[derive(Debug, Deserialize)]
struct Node {
    target: Vec<serde_json::Value>,
}

impl Violation {
    fn blocks_people(&self) -> bool {
        matches!(self.impact.as_deref(), Some("serious" | "critical"))
    }

    /// The rule, what it asks for and (some of) the offending elements, one line each.
    fn describe(&self) -> String {
        let mut text = format!("  [{}] {}: {}", self.impact.as_deref().unwrap_or("?"), self.id, self.help);
        for node in self.nodes.iter().take(8) {
            let selector: Vec<String> =
                node.target.iter().map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_owned)).collect();
            text.push_str(&format!("\n      {}", selector.join(" ")));
        }
        if self.nodes.len() > 8 {
            text.push_str(&format!("\n      ... and {} more", self.nodes.len() - 8));
        }
        text
    }
}

impl Axe {
    /// axe-core from `xtask/axe`; `None` (the check is skipped, with a note) when it is not
    /// installed. In CI a missing axe-core is a failure.
    pub(super) fn load() -> Option<Axe> {
        let path = axe_path();
        match std::fs::read_to_string(&path) {
            Ok(source) => Some(Axe { source }),
            Err(e) if std::env::var("CI").is_ok_and(|v| !v.is_empty()) => {
                panic!("axe-core is missing ({}: {e}): CI must run `npm ci --prefix xtask/axe`", path.display())
            }
            Err(_) => {
                eprintln!("skipped: accessibility check (install axe-core once: `npm ci --prefix xtask/axe`)");
                None
            }
        }
    }

    /// Every rule the page in `browser` breaks.
    async fn violations(&self, browser: &Client) -> Result<Vec<Violation>, CmdError> {
        let loaded = browser.execute("return typeof window.axe === 'object';", vec![]).await?;
        if loaded != json!(true) {
            browser.execute(&self.source, vec![]).await?;
        }
        let answer = browser
            .execute_async(
                "var done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(
                   function (results) { done({ violations: results.violations }); },
                   function (error) { done({ error: String(error) }); });",
                vec![],
            )
            .await?;
        assert!(answer["error"].is_null(), "axe.run() failed: {}", answer["error"]);
        Ok(serde_json::from_value(answer["violations"].clone()).expect("axe's violations"))
    }

    /// Fails when the page breaks a rule of impact `serious` or `critical`, naming each rule,
    /// what it asks for and the offending elements.
    pub(super) async fn check(&self, browser: &Client, page: &str) -> Result<(), CmdError> {
        let violations = self.violations(browser).await?;
        let blocking: Vec<String> = violations.iter().filter(|v| v.blocks_people()).map(Violation::describe).collect();
        assert!(
            blocking.is_empty(),
            "{page} has serious or critical accessibility violations:\n{}",
            blocking.join("\n")
        );
        Ok(())
    }

    /// Proves that [`Axe::check`] can fail here: a button without a name put into the page
    /// is reported as a critical `button-name` violation.
    pub(super) async fn sees_a_nameless_button(&self, browser: &Client) -> Result<(), CmdError> {
        browser
            .execute(
                "var b = document.createElement('button'); b.id = 'nameless-button';
                 document.querySelector('main').appendChild(b); return true;",
                vec![],
            )
            .await?;
        let violations = self.violations(browser).await?;
        let seen = violations
            .iter()
            .any(|v| v.id == "button-name" && v.blocks_people() && v.describe().contains("#nameless-button"));
        assert!(seen, "axe did not report a button without a name: {violations:?}");
        browser.execute("document.getElementById('nameless-button').remove(); return true;", vec![]).await?;
        Ok(())
    }
}

/// The pages a signed-in person opens in a household with a pet, a collar, an air monitor and
/// an alarm: a short name and the path.
pub(super) fn signed_in_pages(pet: &str, collar: &str, monitor: &str, alarm: &str) -> Vec<(&'static str, String)> {
    vec![
        ("household", "/household".to_owned()),
        ("pets", "/pets".to_owned()),
        ("pet", format!("/pets/{pet}")),
        ("pet-edit", format!("/pets/{pet}/edit")),
        ("pet-care", format!("/pets/{pet}/care")),
        ("pet-new", "/pets/new".to_owned()),
        ("devices", "/devices".to_owned()),
        ("collar", format!("/devices/{collar}")),
        ("air-monitor", format!("/devices/{monitor}")),
        ("alarms", "/alarms".to_owned()),
        ("alarm", format!("/alarms/{alarm}")),
        ("reminders", "/reminders".to_owned()),
        ("calendar", "/calendar".to_owned()),
        ("life", "/life".to_owned()),
        ("life-links", "/life/links".to_owned()),
        ("catalog", "/catalog".to_owned()),
        ("chat", "/chat".to_owned()),
        ("settings", "/settings".to_owned()),
        ("settings-contacts", "/settings/contacts".to_owned()),
        ("settings-rules", "/settings/rules".to_owned()),
        ("settings-webhooks", "/settings/webhooks".to_owned()),
        ("geofences", "/geofences".to_owned()),
        ("members", "/household/members".to_owned()),
        ("api-keys", "/household/api-keys".to_owned()),
        ("retention", "/household/retention".to_owned()),
        ("account-security", "/account/security".to_owned()),
        ("account-data", "/account/data".to_owned()),
        ("plan", "/plan".to_owned()),
        ("audit", "/household/audit".to_owned()),
        ("not-found", "/no-such-page".to_owned()),
    ]
}

/// The pages someone signed out can open.
pub(super) const SIGNED_OUT_PAGES: [(&str, &str); 4] = [
    ("login", "/login"),
    ("register", "/register"),
    ("forgot-password", "/forgot-password"),
    ("not-found-signed-out", "/no-such-page"),
];

/// Chromium's flags for a page that prefers dark colours (the stylesheet's dark palette).
const DARK: [&str; 2] = ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"];

#[tokio::test]
async fn no_page_of_the_dashboard_has_a_serious_or_critical_accessibility_violation_light_or_dark() {
    let Some(axe) = Axe::load() else { return };
    let Some(app) = app_for_a_browser().await else { return };
    let household = a_household_with_data(&app).await;
    let alarm = app.get("/api/v1/alarms", Some(&household.ana.access_token)).await;
    let alarm: serde_json::Value = alarm.json().await.expect("json");
    let alarm = alarm["items"][0]["id"].as_str().expect("the carbon monoxide alarm").to_owned();
    for (scheme, args) in [("light", &[][..]), ("dark", &DARK[..])] {
        in_chromium_with(args, &format!("axe over every page, {scheme}"), async |browser| {
            let dark = browser.execute("return matchMedia('(prefers-color-scheme: dark)').matches;", vec![]).await?;
            assert_eq!(dark, json!(scheme == "dark"), "the browser prefers {scheme} colours");
            check_every_page(&app, browser, &axe, &household, &alarm).await
        })
        .await;
    }
}

async fn check_every_page(
    app: &TestApp,
    browser: &Client,
    axe: &Axe,
    household: &HouseholdWithData,
    alarm: &str,
) -> Result<(), CmdError> {
    let HouseholdWithData { ana, pet_id, collar, monitor } = household;
    browser.set_window_size(1280, 900).await?;
    for (i, (_, path)) in SIGNED_OUT_PAGES.iter().enumerate() {
        browser.goto(&app.url(path)).await?;
        find_soon(browser, "main h1").await?;
        if i == 0 {
            axe.sees_a_nameless_button(browser).await?;
        }
        axe.check(browser, path).await?;
    }
    sign_in(app, browser, ana).await?;
    for (_, path) in signed_in_pages(pet_id, collar, monitor, alarm) {
        browser.goto(&app.url(&path)).await?;
        find_soon(browser, "main h1").await?;
        axe.check(browser, &path).await?;
    }
    // The public passport, published from the care page (which then shows its QR code).
    browser.goto(&app.url(&format!("/pets/{pet_id}/care"))).await?;
    let publish = "//button[normalize-space()='Publish the passport' or normalize-space()='Make a new passport link']";
    browser.find(Locator::XPath(publish)).await?.click().await?;
    let link = find_soon(browser, "#sharing code.secret").await?.text().await?;
    axe.check(browser, "the care page with a new passport link").await?;
    let passport = link.find("/passport/").map(|at| &link[at..]).expect("a passport link").to_owned();
    browser.goto(&app.url(&passport)).await?;
    find_soon(browser, "main h1").await?;
    axe.check(browser, "the public passport").await
}
