//! A fleet of simulated devices and the samples they produce over time.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;

use crate::air::AirMonitor;
use crate::collar::{AccelWindow, Collar};
use crate::util::{mix, offset};

/// The two kinds of device the simulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Collar,
    AirMonitor,
}

impl DeviceKind {
    /// The `kind` Petty's device API takes.
    pub fn api_name(self) -> &'static str {
        match self {
            DeviceKind::Collar => "collar",
            DeviceKind::AirMonitor => "air_monitor",
        }
    }
}

/// One reading and what the device was really doing when it was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The reading's time, epoch milliseconds (also its `ts`).
    pub ts_ms: i64,
    /// The reading in Petty's ingest format: `{"ts", "seq", "heart_rate", ...}`.
    pub reading: Value,
    /// The truth behind it: a behaviour label (`sleeping`, `walking`, ... as
    /// `petty_core::behaviour::Behaviour::as_str` spells them) for a collar;
    /// `normal`, `co_incident`, `car_incident` for an air monitor.
    pub label: &'static str,
}

#[derive(Debug)]
enum Model {
    Collar(Box<Collar>),
    Air(Box<AirMonitor>),
}

/// One simulated device: its model, its clock and its sequence numbers.
#[derive(Debug)]
pub struct SimDevice {
    name: String,
    kind: DeviceKind,
    interval_ms: i64,
    next_ts: i64,
    seq: u64,
    model: Model,
    /// Whether a collar loses its link now and then and keeps its readings meanwhile.
    coverage_gaps: bool,
    /// Readings taken out of coverage, waiting for the link.
    held: Vec<Sample>,
}

impl SimDevice {
    /// A collar named `name` sending every `interval_secs` from `start_ms` on.
    pub fn collar(name: &str, interval_secs: u32, start_ms: i64, collar: Collar) -> SimDevice {
        SimDevice::with_model(name, DeviceKind::Collar, interval_secs, start_ms, Model::Collar(Box::new(collar)))
    }

    /// An air monitor named `name` sending every `interval_secs` from `start_ms` on.
    pub fn air_monitor(name: &str, interval_secs: u32, start_ms: i64, monitor: AirMonitor) -> SimDevice {
        SimDevice::with_model(name, DeviceKind::AirMonitor, interval_secs, start_ms, Model::Air(Box::new(monitor)))
    }

    fn with_model(name: &str, kind: DeviceKind, interval_secs: u32, start_ms: i64, model: Model) -> SimDevice {
        let interval_ms = i64::from(interval_secs.max(1)) * 1000;
        SimDevice {
            name: name.to_owned(),
            kind,
            interval_ms,
            next_ts: start_ms,
            seq: 0,
            model,
            coverage_gaps: false,
            held: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> DeviceKind {
        self.kind
    }

    pub fn interval_secs(&self) -> u32 {
        (self.interval_ms / 1000) as u32
    }

    /// When the next sample will be taken, epoch milliseconds.
    pub fn next_ts(&self) -> i64 {
        self.next_ts
    }

    /// A collar's home (latitude, longitude); `None` for an air monitor.
    /// A collar's dog and fit.
    pub fn traits(&self) -> Option<crate::collar::Traits> {
        match &self.model {
            Model::Collar(c) => Some(c.traits()),
            Model::Air(_) => None,
        }
    }

    pub fn home(&self) -> Option<(f64, f64)> {
        match &self.model {
            Model::Collar(c) => Some(c.home()),
            Model::Air(_) => None,
        }
    }

    /// Takes the next sample and moves the clock on by one interval.
    pub fn next_sample(&mut self) -> Sample {
        let ts_ms = self.next_ts;
        let (fields, label) = match &mut self.model {
            Model::Collar(c) => c.measure(ts_ms, self.interval_ms),
            Model::Air(a) => a.measure(ts_ms, self.interval_ms),
        };
        let mut reading = serde_json::Map::new();
        reading.insert("ts".into(), ts_ms.into());
        reading.insert("seq".into(), self.seq.into());
        reading.extend(fields);
        self.seq += 1;
        self.next_ts += self.interval_ms;
        Sample { ts_ms, reading: Value::Object(reading), label }
    }

    /// A collar that loses its link for a few spells a day (with
    /// [`FleetOptions::coverage_gaps`]): see [`SimDevice::samples_until`].
    pub fn with_coverage_gaps(mut self, on: bool) -> SimDevice {
        self.coverage_gaps = on && self.kind == DeviceKind::Collar;
        self
    }

    /// Every sample up to and including `end_ms`, at most `max` of them (a burst of held
    /// readings may go over). A collar whose battery is flat (see
    /// [`crate::collar::Scenario`]) sends nothing then. A collar out of coverage keeps its
    /// readings and sends them all, in order and with the times they were taken, with the
    /// first reading after the link returns: late readings arriving together.
    pub fn samples_until(&mut self, end_ms: i64, max: usize) -> Vec<Sample> {
        let mut out = Vec::new();
        while self.next_ts <= end_ms && out.len() < max {
            let ts = self.next_ts;
            let mut linked = true;
            if let Model::Collar(c) = &mut self.model {
                if c.is_silent(ts) {
                    self.next_ts += self.interval_ms;
                    continue;
                }
                linked = !self.coverage_gaps || c.in_coverage(ts);
            }
            let sample = self.next_sample();
            if linked {
                out.append(&mut self.held);
                out.push(sample);
            } else {
                self.held.push(sample);
            }
        }
        out
    }

    /// The readings still held out of coverage, as if the link came back now (the end of a
    /// simulation: nothing taken is left unsent).
    pub fn flush_held(&mut self) -> Vec<Sample> {
        std::mem::take(&mut self.held)
    }
}

/// How a fleet is laid out; [`FleetOptions::default`] is what [`Fleet::new`] uses.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub collar_interval_secs: u32,
    pub monitor_interval_secs: u32,
    /// The households' local time, seconds east of UTC (the dogs' rhythm follows it).
    pub utc_offset_secs: i32,
    /// The middle of the neighbourhood; homes are scattered within a few kilometres.
    pub center: (f64, f64),
    /// Collars send a raw accelerometer window (`accel: {hz, x, y, z}`) of this many samples
    /// per second with every reading ([`FleetOptions::accel_secs`] long); `None` sends none.
    pub accel_hz: Option<u32>,
    pub accel_secs: f64,
    /// Collars lose their link for a few spells a day (up to two of 5 to 40 minutes) and keep
    /// their readings meanwhile, sending them together when it returns, as real collars do
    /// out of range of their base or network.
    pub coverage_gaps: bool,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            collar_interval_secs: 60,
            monitor_interval_secs: 30,
            utc_offset_secs: 0,
            center: (52.37, 4.89),
            accel_hz: None,
            accel_secs: 2.0,
            coverage_gaps: false,
        }
    }
}

/// Simulated collars and air monitors, all derived from one seed.
#[derive(Debug)]
pub struct Fleet {
    devices: Vec<SimDevice>,
}

impl Fleet {
    /// `collars` collars (every 60 s) and `monitors` air monitors (every 30 s), in UTC, whose
    /// first samples fall within one interval after `start_ms`.
    pub fn new(seed: u64, collars: usize, monitors: usize, start_ms: i64) -> Fleet {
        Fleet::with_options(seed, collars, monitors, start_ms, &FleetOptions::default())
    }

    pub fn with_options(seed: u64, collars: usize, monitors: usize, start_ms: i64, opts: &FleetOptions) -> Fleet {
        let mut devices = Vec::with_capacity(collars + monitors);
        for i in 0..collars + monitors {
            let device_seed = mix(seed, i as u64 + 1);
            let mut rng = StdRng::seed_from_u64(mix(device_seed, u64::MAX));
            let (kind, name, secs) = if i < collars {
                (DeviceKind::Collar, format!("sim-collar-{:03}", i + 1), opts.collar_interval_secs)
            } else {
                (DeviceKind::AirMonitor, format!("sim-air-{:03}", i - collars + 1), opts.monitor_interval_secs)
            };
            let interval_ms = i64::from(secs.max(1)) * 1000;
            let next_ts = start_ms + rng.random_range(0..interval_ms);
            let model = match kind {
                DeviceKind::Collar => {
                    let home = offset(
                        opts.center.0,
                        opts.center.1,
                        rng.random_range(-3000.0..3000.0),
                        rng.random_range(-3000.0..3000.0),
                    );
                    let window = opts.accel_hz.map(|hz| AccelWindow::new(hz, opts.accel_secs));
                    Model::Collar(Box::new(Collar::new(device_seed, home, opts.utc_offset_secs).with_accel(window)))
                }
                DeviceKind::AirMonitor => {
                    Model::Air(Box::new(AirMonitor::new(device_seed, start_ms, opts.utc_offset_secs)))
                }
            };
            let device =
                SimDevice { name, kind, interval_ms, next_ts, seq: 0, model, coverage_gaps: false, held: Vec::new() };
            devices.push(device.with_coverage_gaps(opts.coverage_gaps));
        }
        Fleet { devices }
    }

    pub fn devices(&self) -> &[SimDevice] {
        &self.devices
    }

    pub fn devices_mut(&mut self) -> &mut [SimDevice] {
        &mut self.devices
    }

    /// Readings per second of simulated time, all devices together.
    pub fn readings_per_sec(&self) -> f64 {
        self.devices.iter().map(|d| 1000.0 / d.interval_ms as f64).sum()
    }

    /// Each device's samples up to and including `end_ms`, in device order.
    pub fn until(&mut self, end_ms: i64) -> Vec<Vec<Sample>> {
        self.devices.iter_mut().map(|d| d.samples_until(end_ms, usize::MAX)).collect()
    }
}
