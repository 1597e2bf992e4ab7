//! Petty's HTTP edge: the REST API under `/api/v1`, the WebSocket, the OpenAPI document and
//! docs page, health and metrics; and what every HTTP route of Petty shares: the application
//! state, configuration, credentials and sign-in flows, the dashboard's session cookie, the
//! error table, extractors, and the cross-cutting layers (request ids, rate limits, body
//! limits, timeouts, CORS, security headers, tracing, metrics).
//!
//! Architecture invariant: HTTP stays at the edge. Handlers are thin: they extract, call
//! `petty-app` for anything with side effects, `petty-core` to decide and `petty-store` to
//! read, and map the result. No SQL here, and no HTTP status codes in the crates below. The
//! dashboard (`petty-web`) and the compatibility profiles (`petty-compat`) build on this
//! crate's public types and never on its handlers; this crate knows neither of them. The whole
//! application is composed above all three, in the binary (`petty::router`).
//!
//! API boundary: [`HttpConfig`], [`AppState`], [`ApiError`] and its [`ErrorCode`]s; the
//! modules [`auth`] (credentials, `Authentication`, the `CurrentActor` and `Caller`
//! extractors), [`accounts`] (registration and sign-in, shared with the dashboard),
//! [`session`] (reading the dashboard's cookie), [`extract`], [`observability`]; the building
//! blocks of the application's router ([`api_router`], [`with_edge`], [`with_cors`],
//! [`not_found`], [`method_not_allowed`]), [`openapi`] and [`serve`]; [`ingest`], the readings'
//! JSON wire format that the MQTT subscriber shares, and [`import`], the import files' reader
//! that `petty import` shares with `POST /api/v1/import`; [`mcp`], the MCP server (its tools over
//! streamable HTTP at `/mcp`, and [`mcp::serve_stdio`] for `petty mcp`).

pub mod accounts;
mod api;
pub mod auth;
mod config;
mod edge;
mod error;
pub mod extract;
pub mod mcp;
pub mod observability;
mod openapi;
mod ratelimit;
mod render;
use petty_app::rfc3339;
mod routes;
mod serve;
pub mod session;
mod state;
pub mod stepup;

/// The ingest API's JSON body for readings, which MQTT messages carry too (with the device's
/// token): see `POST /api/v1/ingest`.
pub mod ingest {
    pub use crate::api::ingest::{MqttIn, ReadingIn};
}

/// Reading CSV and JSON-lines import files line by line, and counting what became of each line,
/// exactly as `POST /api/v1/import` does (for `petty import`, which writes to the database
/// directly).
pub mod import {
    pub use crate::api::exchange::{CHUNK, Format, ImportError, ImportItem, ImportOut, ImportReader, MAX_REPORTED};
}

/// What clients send on the WebSocket, checked as a session checks it (for the fuzz targets);
/// and how an open connection's credential is checked again (for the profiles' WebSockets).
pub mod live {
    pub use crate::api::ws::{RECHECK, Recheck, check_client_message};
}

pub use config::{AuroraLimits, HttpConfig, LlmSettings, PetmgmtLimits, RateLimitConfig};
pub use error::{ApiError, EdgeShaped, ErrorCode, FieldDetail};
pub use ratelimit::ForwardedFor;
pub use routes::{api_router, method_not_allowed, not_found, openapi, with_cors, with_edge};
pub use serve::serve;
pub use state::AppState;

/// The delivery channels' settings, as the binary configures them.
pub mod notify {
    pub use petty_notify::llm::{LLM_TIMEOUT, LlmConfig, check_base_url as check_llm_base_url};
    pub use petty_notify::stripe::StripeConfig;
    pub use petty_notify::{NotifyConfig, OutboundPolicy, SmtpConfig, SmtpTls, TwilioConfig, install_tls_provider};
}

/// Hashes a password the way sign-in expects it (argon2id). For seeding accounts from the CLI.
pub fn hash_password(password: &petty_core::accounts::NewPassword) -> Result<String, ApiError> {
    auth::hash_password(password.expose())
}
