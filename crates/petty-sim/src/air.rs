//! An air monitor (for a room or a car): a quiet carbon monoxide baseline with occasional
//! incidents, a daily temperature and humidity cycle, and a slowly draining battery.
//!
//! Incidents arrive at random (on average one a day) and are all drawn from the device's own
//! stream: CO climbs for 10–40 minutes to 50–400 ppm, holds a little, then clears. Half of them
//! are a closed car, where the air also heats up.

use std::f64::consts::PI;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};

use crate::util::{DAY_MS, HOUR_MS, MINUTE_MS, local_day, noise, round};

/// One carbon monoxide incident.
#[derive(Debug, Clone)]
struct Incident {
    start: i64,
    rise: i64,
    hold: i64,
    fall: i64,
    peak_ppm: f64,
    /// The air temperature a closed car reaches, if this is one.
    car_peak_c: Option<f64>,
}

impl Incident {
    fn end(&self) -> i64 {
        self.start + self.rise + self.hold + self.fall
    }

    /// How far into the incident `ts_ms` is: 0 outside, rising to 1 at the peak.
    fn strength(&self, ts_ms: i64) -> f64 {
        let e = ts_ms - self.start;
        if e < 0 || ts_ms >= self.end() {
            0.0
        } else if e < self.rise {
            e as f64 / self.rise as f64
        } else if e < self.rise + self.hold {
            1.0
        } else {
            1.0 - (e - self.rise - self.hold) as f64 / self.fall as f64
        }
    }
}

/// The state of one simulated air monitor.
#[derive(Debug)]
pub struct AirMonitor {
    rng: StdRng,
    utc_offset_ms: i64,
    baseline_ppm: f64,
    humidity_phase: f64,
    incident: Option<Incident>,
    battery: f64,
    /// Incidents set in advance (their start times, in order) instead of drawn at random; none
    /// after the last.
    script: Option<std::collections::VecDeque<i64>>,
}

/// The mean time between incidents.
const MEAN_GAP_MS: f64 = DAY_MS as f64;

impl AirMonitor {
    /// A monitor starting at `start_ms`.
    pub fn new(seed: u64, start_ms: i64, utc_offset_secs: i32) -> AirMonitor {
        let mut rng = StdRng::seed_from_u64(seed);
        let baseline_ppm = rng.random_range(0.3..1.5);
        let humidity_phase = rng.random_range(0.0..2.0 * PI);
        let battery = rng.random_range(50.0..100.0);
        let mut monitor = AirMonitor {
            rng,
            utc_offset_ms: i64::from(utc_offset_secs) * 1000,
            baseline_ppm,
            humidity_phase,
            incident: None,
            battery,
            script: None,
        };
        monitor.incident = Some(monitor.draw_incident(start_ms));
        monitor
    }

    /// A monitor whose only incidents start at `starts` (epoch milliseconds, in order): CO
    /// climbs for 20 minutes to about 180 ppm in a room, holds 8 minutes and clears in 40.
    pub fn scripted(seed: u64, start_ms: i64, utc_offset_secs: i32, starts: &[i64]) -> AirMonitor {
        let mut monitor = AirMonitor::new(seed, start_ms, utc_offset_secs);
        monitor.script = Some(starts.iter().copied().collect());
        monitor.incident = Some(monitor.draw_incident(start_ms));
        monitor
    }

    /// The next incident, starting an exponentially distributed gap after `after_ms` (or the
    /// script's next one).
    fn draw_incident(&mut self, after_ms: i64) -> Incident {
        if let Some(script) = &mut self.script {
            // Nothing more after the script: an incident that never comes.
            let start = script.pop_front().unwrap_or(i64::MAX / 4);
            let peak_ppm = 180.0 + noise(&mut self.rng, 10.0);
            let (rise, hold, fall) = (20 * MINUTE_MS, 8 * MINUTE_MS, 40 * MINUTE_MS);
            return Incident { start: start.max(after_ms), rise, hold, fall, peak_ppm, car_peak_c: None };
        }
        let rng = &mut self.rng;
        let u: f64 = rng.random();
        let gap = (-(1.0 - u).ln() * MEAN_GAP_MS).max(HOUR_MS as f64) as i64;
        Incident {
            start: after_ms + gap,
            rise: rng.random_range(10..=40) * MINUTE_MS,
            hold: rng.random_range(2..=10) * MINUTE_MS,
            fall: rng.random_range(20..=60) * MINUTE_MS,
            peak_ppm: rng.random_range(60.0..400.0),
            car_peak_c: rng.random_bool(0.5).then(|| rng.random_range(35.0..55.0)),
        }
    }

    /// The measurements at `ts_ms` (every field but `ts` and `seq`), `interval_ms` after the last.
    pub fn measure(&mut self, ts_ms: i64, interval_ms: i64) -> (Map<String, Value>, &'static str) {
        if let Some(done) = self.incident.as_ref().filter(|i| ts_ms >= i.end()).map(Incident::end) {
            self.incident = Some(self.draw_incident(done));
        }
        let incident = self.incident.clone().expect("always one ahead");
        let strength = incident.strength(ts_ms);
        let rng = &mut self.rng;

        let base = (self.baseline_ppm + noise(rng, 0.3)).clamp(0.0, 3.0);
        let co = if strength > 0.0 {
            (base + (incident.peak_ppm - base) * strength) * (1.0 + noise(rng, 0.03))
        } else {
            base
        };
        let co = co.max(0.0);

        let (_, ms_of_day) = local_day(ts_ms, self.utc_offset_ms);
        let hour = ms_of_day as f64 / HOUR_MS as f64;
        let room = (21.0 + 2.8 * (2.0 * PI * (hour - 9.0) / 24.0).sin() + noise(rng, 0.1)).clamp(18.0, 24.0);
        let (ambient, label) = match incident.car_peak_c {
            Some(peak) if strength > 0.0 => (room + (peak - room) * strength, "car_incident"),
            None if strength > 0.0 => (room, "co_incident"),
            _ => (room, "normal"),
        };
        let humidity =
            (47.5 + 10.0 * (2.0 * PI * hour / 24.0 + self.humidity_phase).sin() + noise(rng, 1.0)).clamp(35.0, 60.0);

        self.battery -= 0.5 * interval_ms as f64 / HOUR_MS as f64;
        if self.battery < 15.0 {
            self.battery = 100.0;
        }
        let co_raw = (400.0 + co * 55.0 + noise(rng, 5.0)).round().clamp(0.0, 65_535.0);
        let rssi = (-60.0 + noise(rng, 6.0)).round().clamp(-90.0, -40.0);

        let mut m = Map::new();
        m.insert("co_ppm".into(), json!(round(co, 1)));
        m.insert("co_raw".into(), json!(co_raw));
        m.insert("ambient_temp_c".into(), json!(round(ambient, 1)));
        m.insert("humidity_pct".into(), json!(round(humidity, 1)));
        m.insert("battery_pct".into(), json!(round(self.battery, 1)));
        m.insert("rssi".into(), json!(rssi));
        (m, label)
    }
}
