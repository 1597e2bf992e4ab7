//! Petty's domain: the types every other crate speaks, and the pure rules that decide things.
//!
//! Architecture invariant: nothing here does I/O, spawns, awaits or knows about HTTP, SQL or JSON.
//! Every decision is a function of plain values, so it is tested with plain values. Inputs from the
//! outside world are parsed into the types here once, at the edge ("parse, don't validate").

pub mod accounts;
pub mod air;
pub mod alarm;
pub mod anomalies;
pub mod baselines;
pub mod behaviour;
pub mod billing;
pub mod care;
pub mod catalog;
pub mod chart;
pub mod devices;
pub mod files;
pub mod geofence;
pub mod ics;
pub mod ids;
pub mod lifelog;
pub mod mfa;
pub mod net;
pub mod nutrition;
pub mod paging;
pub mod pets;
pub mod phone;
pub mod plan;
pub mod readings;
pub mod recurrence;
pub mod reminders;
pub mod seed_rules;
pub mod validation;
pub mod wellness;

pub use validation::{FieldError, Invalid};
