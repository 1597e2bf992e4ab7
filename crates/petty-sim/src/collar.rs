//! A dog's collar: sleep at night, two walks a day along a loop from home, play bursts, rest.
//!
//! Each local day gets a plan drawn from its own random stream (wake, walks, play, bedtime);
//! the readings of a moment follow from the plan plus noise from the device's stream.

use std::f64::consts::PI;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};

use crate::util::{HOUR_MS, MINUTE_MS, local_day, mix, noise, offset, round};

/// What the dog is doing; the label of a [`crate::Sample`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Activity {
    Sleep,
    Rest,
    Active,
    /// How far along the walk (0 to 1) and which walk of the day.
    Walk(f64, usize),
    Play,
}

impl Activity {
    fn label(self) -> &'static str {
        match self {
            Activity::Sleep => "sleep",
            Activity::Rest => "rest",
            Activity::Active => "active",
            Activity::Walk(..) => "walk",
            Activity::Play => "play",
        }
    }
}

/// One walk: a loop of `radius_m` whose first point is home, heading off along `bearing`.
#[derive(Debug, Clone)]
struct Walk {
    start: i64,
    end: i64,
    radius_m: f64,
    bearing: f64,
}

/// A local day's rhythm, in milliseconds after local midnight.
#[derive(Debug, Clone)]
struct DayPlan {
    day: i64,
    wake: i64,
    bed: i64,
    walks: [Walk; 2],
    plays: Vec<(i64, i64)>,
}

impl DayPlan {
    fn draw(seed: u64, day: i64) -> DayPlan {
        let mut rng = StdRng::seed_from_u64(mix(seed, day as u64));
        let min = |rng: &mut StdRng, lo: i64, hi: i64| rng.random_range(lo..=hi) * MINUTE_MS;
        let wake = 6 * HOUR_MS + min(&mut rng, 0, 90);
        let walk_start = wake + min(&mut rng, 10, 40);
        let morning_end = walk_start + min(&mut rng, 25, 50);
        let evening_start = 17 * HOUR_MS + min(&mut rng, 0, 120);
        let evening_end = evening_start + min(&mut rng, 30, 60);
        let bed = 21 * HOUR_MS + 45 * MINUTE_MS + min(&mut rng, 0, 90);
        let mut walk = |start, end| Walk {
            start,
            end,
            radius_m: rng.random_range(250.0..700.0),
            bearing: rng.random_range(0.0..2.0 * PI),
        };
        let walks = [walk(walk_start, morning_end), walk(evening_start, evening_end)];
        let n = rng.random_range(2..=4);
        let plays = (0..n)
            .map(|_| {
                let start = rng.random_range(morning_end + 30 * MINUTE_MS..evening_start - 30 * MINUTE_MS);
                (start, start + min(&mut rng, 5, 15))
            })
            .collect();
        DayPlan { day, wake, bed, walks, plays }
    }

    fn activity(&self, ms_of_day: i64, rng: &mut StdRng) -> Activity {
        if ms_of_day < self.wake || ms_of_day >= self.bed {
            return Activity::Sleep;
        }
        for (i, w) in self.walks.iter().enumerate() {
            if (w.start..w.end).contains(&ms_of_day) {
                return Activity::Walk((ms_of_day - w.start) as f64 / (w.end - w.start) as f64, i);
            }
        }
        if self.plays.iter().any(|(s, e)| (*s..*e).contains(&ms_of_day)) {
            return Activity::Play;
        }
        if rng.random_bool(0.25) { Activity::Active } else { Activity::Rest }
    }
}

/// The state of one simulated collar.
#[derive(Debug)]
pub struct Collar {
    seed: u64,
    rng: StdRng,
    home: (f64, f64),
    utc_offset_ms: i64,
    plan: Option<DayPlan>,
    heart_rate: f64,
    temperature: f64,
    battery: f64,
    charging: bool,
}

impl Collar {
    /// A collar whose dog lives at `home` (latitude, longitude).
    pub fn new(seed: u64, home: (f64, f64), utc_offset_secs: i32) -> Collar {
        let mut rng = StdRng::seed_from_u64(seed);
        let battery = rng.random_range(40.0..100.0);
        Collar {
            seed,
            rng,
            home,
            utc_offset_ms: i64::from(utc_offset_secs) * 1000,
            plan: None,
            heart_rate: 70.0,
            temperature: 38.5,
            battery,
            charging: false,
        }
    }

    /// Where the dog lives.
    pub fn home(&self) -> (f64, f64) {
        self.home
    }

    /// The measurements at `ts_ms` (every field but `ts` and `seq`), `interval_ms` after the last.
    pub fn measure(&mut self, ts_ms: i64, interval_ms: i64) -> (Map<String, Value>, &'static str) {
        let (day, ms_of_day) = local_day(ts_ms, self.utc_offset_ms);
        if self.plan.as_ref().is_none_or(|p| p.day != day) {
            self.plan = Some(DayPlan::draw(self.seed, day));
        }
        let plan = self.plan.as_ref().expect("drawn above");
        let activity = plan.activity(ms_of_day, &mut self.rng);
        let rng = &mut self.rng;
        let minutes = interval_ms as f64 / MINUTE_MS as f64;

        // (level, heart rate target, respiration, steps per minute, counts per minute, body temp)
        let (level, hr_target, resp, steps, counts, temp_target) = match activity {
            Activity::Sleep => (0, 65.0, 17.5, (0.0, 0.0), (0.0, 30.0), 38.3),
            Activity::Rest => (0, 80.0, 22.0, (0.0, 5.0), (20.0, 200.0), 38.4),
            Activity::Active => (1, 95.0, 28.0, (20.0, 80.0), (300.0, 1500.0), 38.6),
            Activity::Walk(..) => (2, 125.0, 40.0, (90.0, 130.0), (2000.0, 5000.0), 38.8),
            Activity::Play => (2, 155.0, 60.0, (60.0, 150.0), (4000.0, 9000.0), 39.0),
        };
        self.heart_rate += (hr_target - self.heart_rate) * 0.6 + noise(rng, 3.0);
        let (hr_lo, hr_hi) = match activity {
            Activity::Sleep => (60.0, 70.0),
            Activity::Walk(..) => (110.0, 140.0),
            _ => (hr_target - 12.0, hr_target + 15.0),
        };
        self.heart_rate = self.heart_rate.clamp(hr_lo, hr_hi);
        let resp_range = if activity == Activity::Sleep { (15.0, 20.0) } else { (resp - 6.0, resp + 10.0) };
        let respiration = (resp + noise(rng, 1.5)).clamp(resp_range.0, resp_range.1);
        self.temperature =
            (self.temperature + (temp_target - self.temperature) * 0.1 + noise(rng, 0.03)).clamp(38.0, 39.2);
        let mut draw = |(lo, hi): (f64, f64)| if hi > lo { (rng.random_range(lo..hi) * minutes).round() } else { 0.0 };
        let steps = draw(steps);
        let counts = draw(counts);

        // Battery: about 1 %/hour, a little more with GPS on a walk. Charged to full overnight
        // when it would not last another day above about 15 %.
        if self.charging {
            self.battery = (self.battery + 1.5 * minutes).min(100.0);
            self.charging = self.battery < 100.0;
        } else {
            let per_hour = if matches!(activity, Activity::Walk(..)) { 1.5 } else { 1.0 };
            self.battery = (self.battery - per_hour * minutes / 60.0).max(0.0);
            self.charging = activity == Activity::Sleep && self.battery < 40.0;
        }

        let (position, accuracy, rssi) = match activity {
            Activity::Walk(progress, i) => {
                let w = &plan.walks[i];
                let (clat, clon) =
                    offset(self.home.0, self.home.1, w.radius_m * w.bearing.cos(), w.radius_m * w.bearing.sin());
                let a = w.bearing + PI + 2.0 * PI * progress;
                let p =
                    offset(clat, clon, w.radius_m * a.cos() + noise(rng, 2.0), w.radius_m * a.sin() + noise(rng, 2.0));
                let rssi = -60.0 - 25.0 * (PI * progress).sin() + noise(rng, 4.0);
                (p, rng.random_range(3.0..8.0), rssi)
            }
            Activity::Play => {
                let p = offset(self.home.0, self.home.1, noise(rng, 8.0), noise(rng, 8.0));
                (p, rng.random_range(3.0..10.0), -50.0 + noise(rng, 5.0))
            }
            _ => {
                let p = offset(self.home.0, self.home.1, noise(rng, 3.0), noise(rng, 3.0));
                (p, rng.random_range(5.0..15.0), -48.0 + noise(rng, 5.0))
            }
        };

        let mut m = Map::new();
        m.insert("heart_rate".into(), json!(round(self.heart_rate, 0)));
        m.insert("respiration_rate".into(), json!(round(respiration, 1)));
        m.insert("activity_level".into(), json!(level));
        m.insert("activity_counts".into(), json!(counts));
        m.insert("steps".into(), json!(steps));
        m.insert("temperature_c".into(), json!(round(self.temperature, 2)));
        m.insert("battery_pct".into(), json!(round(self.battery, 1)));
        m.insert("rssi".into(), json!(rssi.round().clamp(-90.0, -40.0)));
        m.insert(
            "location".into(),
            json!({"lat": round(position.0, 6), "lon": round(position.1, 6), "accuracy_m": round(accuracy, 1)}),
        );
        (m, activity.label())
    }
}
