//! Simulated Petty devices: pet collars and air monitors that produce plausible readings.
//!
//! Everything in [`fleet`], [`collar`] and [`air`] is pure and deterministic: the same seed and
//! start time give the same readings, however the time span is cut into pieces. [`send`] takes
//! a fleet to a running Petty (HTTP or MQTT) or to JSON-lines files.

pub mod air;
pub mod collar;
pub mod fleet;
pub mod labelled;
pub mod send;

mod util;

#[cfg(test)]
mod anomaly_tests;
#[cfg(test)]
mod eval_tests;
#[cfg(test)]
mod tests;

pub use collar::Scenario;
pub use fleet::{DeviceKind, Fleet, FleetOptions, Sample, SimDevice};
pub use labelled::labelled_days;
