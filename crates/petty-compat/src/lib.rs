//! The seeds' own contracts, each under its own prefix (DESIGN.md, "Seed compatibility
//! profiles"): [`carbon`] (the Car-Bon seed's air monitor, users, notifications and CO chart
//! under `/compat/carbon`), [`petty`] (the Petty seed's collar ingest, timeline, feedback,
//! plan and health under `/compat/petty` and `/compat/petty/v1`, in the seed's own error shape
//! and with its own CORS) and [`petmgmt`] (the Pet Management seed's accounts, pets, health
//! records, reminders, calendar, subscription and webhooks under `/compat/petmgmt/api/v1` and
//! `/compat/petmgmt/v1`, in its envelope) and [`aurora`] (the AURORA_LIFE seed's accounts, life
//! log, timeline, patterns, predictions, rate limits, WebSocket and health routes under
//! `/compat/aurora`, in FastAPI's shapes).
//!
//! Architecture invariant: a profile is an adapter. It reads its seed's wire format, serves it
//! on top of Petty's canonical capability (`petty_app` for anything with side effects, the
//! store for reads, `petty_core` for decisions) and answers in the seed's shapes; it never
//! calls an API handler or its helpers. Credentials are the edge's (`petty_http::auth`).
//! Nothing depends on this crate but the binary, which composes the routers.
//!
//! API boundary: `carbon::router`; `petty::router` and `petty::own_shape`, the layer the
//! application puts outside the profile's own copy of the edge stack; `petmgmt::mounted` (its
//! routes with their own edge stack and envelope), built from `petmgmt::router` and
//! `petmgmt::own_shape`; `aurora::mounted` likewise, from `aurora::router` and
//! `aurora::own_shape`; `openapi::document` (the profiles' OpenAPI document, served by the
//! application at `openapi::DOCUMENT_URL` and offered by `/docs`).

mod answers;
pub mod aurora;
pub mod carbon;
pub mod carbon_params;
mod lockout;
pub mod openapi;
pub mod petmgmt;
pub mod petstore;
pub mod petty;
