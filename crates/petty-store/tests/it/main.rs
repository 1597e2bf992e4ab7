//! The store conformance suite: one integration-test binary that runs every test against SQLite
//! and, when `PETTY_TEST_POSTGRES_URL` is set, against PostgreSQL too (see [`harness`]).
//!
//! ```text
//! cargo test -p petty-store --test it
//! PETTY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p petty-store --test it
//! ```

mod harness;

mod accounts;
mod alarms;
mod analysis;
mod aurora;
mod billing;
mod care;
mod catalog;
mod credentials;
mod files;
mod fixtures;
mod geofences;
mod invitations;
mod lifecycle;
mod lifelog;
mod petmgmt;
mod pets;
mod readings;
mod security;
mod signin;
mod work;
