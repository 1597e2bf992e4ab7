//! Simulated Petty devices: pet collars and air monitors that produce plausible readings.
//!
//! Everything in [`fleet`], [`collar`] and [`air`] is pure and deterministic: the same seed and
//! start time give the same readings, however the time span is cut into pieces. [`send`] takes
//! a fleet to a running Petty (HTTP or MQTT) or to JSON-lines files. [`person`] simulates people
//! for the life log, and [`lifelog_eval()`] scores the life log's learned models on them;
//! [`anomaly_eval()`] measures the anomaly detector on simulated weeks.

pub mod air;
pub mod anomaly_eval;
pub mod collar;
pub mod fleet;
pub mod labelled;
pub mod lifelog_eval;
pub mod person;
pub mod send;

mod util;

#[cfg(test)]
mod analysis_pin_tests;
#[cfg(test)]
mod anomaly_tests;
#[cfg(test)]
mod eval_tests;
#[cfg(test)]
mod lifelog_tests;
#[cfg(test)]
mod tests;

pub use anomaly_eval::{AnomalyReport, anomaly_eval};
pub use collar::Scenario;
pub use fleet::{DeviceKind, Fleet, FleetOptions, Sample, SimDevice};
pub use labelled::labelled_days;
pub use lifelog_eval::{LifelogReport, lifelog_eval};
pub use person::{SimPerson, simulate_person};
