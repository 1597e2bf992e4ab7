//! Integration tests of the HTTP edge: the real application on a real socket (port 0), each
//! test with its own database. One binary, so the crate links once.

mod harness;

mod alarms;
mod api_auth;
mod api_devices;
mod api_edge;
mod api_pets;
mod behaviour;
mod browser;
mod compat_carbon;
mod compat_petty;
mod fakes;
mod geofences;
mod pages;
mod pages_devices;
mod ws;
