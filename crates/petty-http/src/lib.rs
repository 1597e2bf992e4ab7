//! Petty's HTTP edge: the REST API under `/api/v1`, the dashboard pages, the OpenAPI document
//! and docs page, health and metrics, and the cross-cutting layers (request ids, rate limits,
//! body limits, CORS, security headers, tracing).
//!
//! Architecture invariant: this is the only crate that knows HTTP. Handlers are thin: they
//! extract, call `petty-core` to decide and `petty-store` to keep, and map the result. No SQL
//! here, and no HTTP status codes anywhere else.
//!
//! API boundary: [`HttpConfig`], [`AppState`], [`router`] and [`serve`]; and [`import`], the
//! import files' reader that `petty import` shares with `POST /api/v1/import`.

mod accounts;
mod api;
mod auth;
mod compat;
mod config;
mod edge;
mod error;
mod extract;
pub mod mqtt;
mod observability;
mod pages;
mod ratelimit;
mod render;
use petty_app::rfc3339;
mod routes;
mod serve;
mod session;
mod state;
mod summary_json;

/// Reading CSV and JSON-lines import files line by line, and counting what became of each line,
/// exactly as `POST /api/v1/import` does (for `petty import`, which writes to the database
/// directly).
pub mod import {
    pub use crate::api::exchange::{CHUNK, Format, ImportError, ImportItem, ImportOut, ImportReader, MAX_REPORTED};
}

pub use config::{HttpConfig, RateLimitConfig};
pub use error::{ApiError, ErrorCode};
pub use routes::{openapi, router};
pub use serve::serve;
pub use state::AppState;

/// The delivery channels' settings, as the binary configures them.
pub mod notify {
    pub use petty_notify::{NotifyConfig, SmtpConfig, SmtpTls, TwilioConfig, install_tls_provider};
}

/// Hashes a password the way sign-in expects it (argon2id). For seeding accounts from the CLI.
pub fn hash_password(password: &petty_core::accounts::NewPassword) -> Result<String, ApiError> {
    auth::hash_password(password.expose())
}
