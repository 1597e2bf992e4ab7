//! Simulated Petty devices: pet collars and air monitors that produce plausible readings.
//!
//! Everything in [`fleet`], [`collar`] and [`air`] is pure and deterministic: the same seed and
//! start time give the same readings, however the time span is cut into pieces. [`send`] takes
//! a fleet to a running Petty (HTTP or MQTT) or to JSON-lines files.

pub mod air;
pub mod collar;
pub mod fleet;
pub mod send;

mod util;

#[cfg(test)]
mod tests;

pub use fleet::{DeviceKind, Fleet, Sample, SimDevice};
