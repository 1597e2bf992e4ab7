//! Integration tests of the HTTP application (`petty::router`: the API, the dashboard, the
//! WebSocket, the compatibility profiles) on a real socket (port 0), each test with its own
//! database. One binary, so the application links once.

mod harness;
#[path = "../common/pg_database.rs"]
mod pg_database;

mod alarms;
mod api_auth;
mod api_devices;
mod api_edge;
mod api_pets;
mod authz_matrix;
mod behaviour;
mod billing;
mod browser;
mod care;
mod catalog;
mod compat_aurora;
mod compat_carbon;
mod compat_petmgmt;
mod compat_petstore;
mod compat_petty;
mod fake_llm;
mod fake_stripe;
mod fakes;
mod files;
mod geofences;
mod lifelog;
mod lifelog_learning;
mod lifelog_llm;
mod mcp;
mod openapi;
mod pages;
mod pages_catalog;
mod pages_devices;
mod pages_household;
mod pages_settings;
mod privacy;
mod revocation;
mod security;
mod sharing;
mod signin;
mod vets;
mod ws;
