//! The dashboard's static files (stylesheet, icon, the device pages' script), compiled into
//! the binary. Pages link them with a hash of their content in the query
//! (`/assets/petty.css?v=…`), so a link to the current file may be cached for a year while a
//! deploy with new content is fetched at once.

use std::sync::OnceLock;

use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub(crate) const STYLESHEET_PATH: &str = "/assets/petty.css";
pub(crate) const ICON_PATH: &str = "/assets/petty.svg";
pub(crate) const LIVE_SCRIPT_PATH: &str = "/assets/petty-live.js";
pub(crate) const CHAT_SCRIPT_PATH: &str = "/assets/petty-chat.js";
pub(crate) const GEOFENCE_SCRIPT_PATH: &str = "/assets/petty-geofence.js";

const STYLESHEET: &str = include_str!("../assets/petty.css");
const ICON: &str = include_str!("../assets/petty.svg");
/// The device pages' live updates: hand-written, no dependencies, loaded only by those pages.
const LIVE_SCRIPT: &str = include_str!("../assets/petty-live.js");
/// The chat page's streamed answers: hand-written, no dependencies.
const CHAT_SCRIPT: &str = include_str!("../assets/petty-chat.js");
/// The geofence maps' clicks into the fence form: hand-written, no dependencies.
const GEOFENCE_SCRIPT: &str = include_str!("../assets/petty-geofence.js");

struct Asset {
    content_type: &'static str,
    body: &'static str,
}

const STYLESHEET_ASSET: Asset = Asset { content_type: "text/css; charset=utf-8", body: STYLESHEET };
const ICON_ASSET: Asset = Asset { content_type: "image/svg+xml", body: ICON };
const LIVE_SCRIPT_ASSET: Asset = Asset { content_type: "text/javascript; charset=utf-8", body: LIVE_SCRIPT };
const CHAT_SCRIPT_ASSET: Asset = Asset { content_type: "text/javascript; charset=utf-8", body: CHAT_SCRIPT };
const GEOFENCE_SCRIPT_ASSET: Asset = Asset { content_type: "text/javascript; charset=utf-8", body: GEOFENCE_SCRIPT };

impl Asset {
    /// The first 16 hex digits of the content's SHA-256.
    fn version(&self) -> String {
        Sha256::digest(self.body.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    fn respond(&self, asked_version: Option<&str>, current_version: &str) -> Response {
        // Only a link to this exact content is immutable; any other may change on the next deploy.
        let cache = if asked_version == Some(current_version) {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=300, must-revalidate"
        };
        ([(header::CONTENT_TYPE, self.content_type), (header::CACHE_CONTROL, cache)], self.body).into_response()
    }
}

fn stylesheet_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| STYLESHEET_ASSET.version())
}

fn icon_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| ICON_ASSET.version())
}

fn live_script_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| LIVE_SCRIPT_ASSET.version())
}

pub(crate) fn stylesheet_url() -> String {
    format!("{STYLESHEET_PATH}?v={}", stylesheet_version())
}

pub(crate) fn icon_url() -> String {
    format!("{ICON_PATH}?v={}", icon_version())
}

fn chat_script_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| CHAT_SCRIPT_ASSET.version())
}

pub(crate) fn chat_script_url() -> String {
    format!("{CHAT_SCRIPT_PATH}?v={}", chat_script_version())
}

fn geofence_script_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| GEOFENCE_SCRIPT_ASSET.version())
}

pub(crate) fn geofence_script_url() -> String {
    format!("{GEOFENCE_SCRIPT_PATH}?v={}", geofence_script_version())
}

pub(crate) fn live_script_url() -> String {
    format!("{LIVE_SCRIPT_PATH}?v={}", live_script_version())
}

#[derive(Deserialize)]
pub(crate) struct VersionQuery {
    v: Option<String>,
}

pub(crate) async fn stylesheet(Query(query): Query<VersionQuery>) -> Response {
    STYLESHEET_ASSET.respond(query.v.as_deref(), stylesheet_version())
}

pub(crate) async fn icon(Query(query): Query<VersionQuery>) -> Response {
    ICON_ASSET.respond(query.v.as_deref(), icon_version())
}

pub(crate) async fn live_script(Query(query): Query<VersionQuery>) -> Response {
    LIVE_SCRIPT_ASSET.respond(query.v.as_deref(), live_script_version())
}

pub(crate) async fn chat_script(Query(query): Query<VersionQuery>) -> Response {
    CHAT_SCRIPT_ASSET.respond(query.v.as_deref(), chat_script_version())
}

pub(crate) async fn geofence_script(Query(query): Query<VersionQuery>) -> Response {
    GEOFENCE_SCRIPT_ASSET.respond(query.v.as_deref(), geofence_script_version())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_hash() {
        assert_eq!(stylesheet_url(), format!("{STYLESHEET_PATH}?v={}", STYLESHEET_ASSET.version()));
        assert!(stylesheet_url().starts_with("/assets/petty.css?v="));
        assert_eq!(stylesheet_version().len(), 16);
    }

    #[test]
    fn the_stylesheet_obeys_the_content_security_policy() {
        // `style-src 'self'` allows the file itself, but not `@import` from elsewhere.
        assert!(!STYLESHEET.contains("@import"));
        assert!(!STYLESHEET.contains("url(http"));
    }

    #[test]
    fn the_live_script_needs_nothing_the_content_security_policy_forbids() {
        assert!(live_script_url().starts_with("/assets/petty-live.js?v="));
        // `script-src 'self'` without 'unsafe-eval', and nothing fetched from elsewhere.
        for forbidden in ["eval(", "new Function", "innerHTML", "outerHTML", "document.write", "http://", "https://"] {
            assert!(!LIVE_SCRIPT.contains(forbidden), "petty-live.js uses {forbidden}");
        }
        // Styles are classes: the page CSP has no 'unsafe-inline' for styles either.
        assert!(!LIVE_SCRIPT.contains(".style."), "petty-live.js sets an inline style");
    }

    #[test]
    fn the_geofence_script_needs_nothing_the_content_security_policy_forbids() {
        assert!(geofence_script_url().starts_with("/assets/petty-geofence.js?v="));
        for forbidden in
            ["eval(", "new Function", "innerHTML", "outerHTML", "document.write", "http://", "https://", ".style."]
        {
            assert!(!GEOFENCE_SCRIPT.contains(forbidden), "petty-geofence.js uses {forbidden}");
        }
    }
}
