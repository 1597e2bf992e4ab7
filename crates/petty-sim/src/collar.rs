//! A dog's collar: a day of all ten behaviours, and the readings they produce.
//!
//! Each local day gets a plan drawn from its own random stream: sleep at night with a few
//! wake-ups, two walks along a loop from home (each with a short jog: running), breakfast and
//! dinner after the walks (eating), drinking after walks and now and then, play bursts, a
//! restless spell before the evening walk (pacing: back and forth within a few metres), a
//! daytime nap, and short bouts of scratching (seconds) and shaking (a few seconds). Everything
//! else is resting. The readings of a moment follow from the plan plus noise from the device's
//! stream.
//!
//! Short bouts (scratching, shaking) last seconds; a collar reporting less often than that
//! reports one reading in the bout, whose accelerometer window caught it.
//!
//! Every dog has its own scale, drawn from its seed: heart rate × 0.88–1.15, step cadence
//! × 0.8–1.2, vigour (activity counts, accelerometer amplitude) × 0.75–1.3; and neighbouring
//! behaviours' ranges overlap (a brisk pace is a slow walk). Figures below are for an average
//! dog.
//!
//! Normal days, as generated (what an anomaly detector may take as normal): heart rate at rest
//! 60-70 bpm asleep and 68-95 awake, stable day to day; sleep about 8-10 hours a night (bed
//! 21:45-23:15, wake 06:00-07:30) with 0-2 wake-ups of a few minutes, plus one daytime nap of
//! 20-50 minutes; daytime (08:00-20:00) sleeping under about 2 hours; walking and running
//! 1-2 hours a day; scratching 2-4 bouts of 5-12 s (under 50 s a day); battery never below
//! 10 %. [`Scenario`] injects the abnormal days.

use std::f64::consts::PI;

use petty_core::behaviour::Behaviour;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};

use crate::util::{HOUR_MS, MINUTE_MS, local_day, mix, noise, offset, round};

const SECOND_MS: i64 = 1000;

/// How many beats a minute a dog's heart scale moves every heart rate: a dog with
/// [`Traits::heart`] 1.3 beats 18 faster than the average dog, asleep or running.
pub const HEART_SHIFT_BPM: f64 = 60.0;

/// Abnormal days injected into a collar's otherwise normal week. Days count from the local
/// day of the collar's first reading (0 is that day).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scenario {
    /// Heart rate at rest (sleeping, resting) about 1.7 times normal all day.
    pub elevated_resting_hr_days: Vec<u32>,
    /// Lethargic: sleeps most of the daytime (over 8 hours between 08:00 and 20:00), short
    /// walks, no play, no pacing.
    pub lethargic_days: Vec<u32>,
    /// A restless night: the night ending that morning and the one starting that evening
    /// have 12-20 wake-ups of 3-10 minutes (resting or pacing) instead of 0-2.
    pub restless_night_days: Vec<u32>,
    /// A scratching spree: 15-25 bouts of 20-50 s (several minutes) instead of 2-4 short ones.
    pub scratching_spree_days: Vec<u32>,
    /// A limp (a sore front leg): the head nods on every other step, so the walking rhythm has
    /// a component at half the step rate as strong as [`LIMP_NOD`] of the step's own; walks
    /// are 30% shorter and have no jog.
    pub limp_days: Vec<u32>,
    /// The battery runs flat and the collar is silent: `(day, start hour, hours)`. The battery
    /// falls to 0 over the three hours before; no readings in the window; then it charges.
    pub silent: Vec<(u32, u32, u32)>,
    /// The pet slips out and roams on its own: `(day, start hour)`, about 50 minutes on a loop
    /// that takes it two to three kilometres from home (a geofence exit).
    pub wander: Vec<(u32, u32)>,
    /// Never walked (a cat that stays in and around the house): no walks, no jogs.
    pub housebound: bool,
    /// How strong the heart rate, restless nights, scratching sprees and limps are, against
    /// the figures above (1 when absent): at 0.5 the heart at rest is 1.35 times normal, a
    /// restless night has half the wake-ups, a spree half the bouts (at least 2 and 3) and a
    /// limp's nod half the strength. `petty eval anomalies` measures the detector at 1, 0.5 and
    /// 0.25.
    pub severity: Option<f64>,
}

/// How strong a limp's nod at half the step rate is against the step's own rhythm (at full
/// strength; [`Scenario::severity`] scales it). Lame dogs' head movement is asymmetric by a
/// third or more of its range (the head rises as the sore leg lands).
pub const LIMP_NOD: f64 = 0.5;

/// What the dog is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Activity {
    Sleep,
    Rest,
    /// How far along the loop (0 to 1) and which walk of the day; the walk's jog is `Run`.
    Walk(f64, usize),
    Run(f64, usize),
    /// A walk's stop: sniffing, or standing to look around (still walking, to its owner).
    Sniff(f64, usize),
    /// Off the lead in a park on the walk: playing, away from home.
    Romp(f64, usize),
    /// A mad minute or two racing round the house and garden: running, at home.
    Zoomies,
    /// Walking about the house: to the door, after its owner, from room to room.
    Potter,
    Play,
    Pace,
    Eat,
    Drink,
    Scratch,
    Shake,
}

impl Activity {
    fn behaviour(self) -> Behaviour {
        match self {
            Activity::Sleep => Behaviour::Sleeping,
            Activity::Rest => Behaviour::Resting,
            Activity::Walk(..) | Activity::Sniff(..) | Activity::Potter => Behaviour::Walking,
            Activity::Run(..) | Activity::Zoomies => Behaviour::Running,
            Activity::Play | Activity::Romp(..) => Behaviour::Playing,
            Activity::Pace => Behaviour::Pacing,
            Activity::Eat => Behaviour::Eating,
            Activity::Drink => Behaviour::Drinking,
            Activity::Scratch => Behaviour::Scratching,
            Activity::Shake => Behaviour::Shaking,
        }
    }
}

/// One walk: a loop of `radius_m` whose first point is home, heading off along `bearing`, with
/// a jog (three times the pace) from `run.0` to `run.1`, stops to sniff or look around, and
/// sometimes a spell off the lead in a park.
#[derive(Debug, Clone)]
struct Walk {
    start: i64,
    end: i64,
    run: (i64, i64),
    radius_m: f64,
    bearing: f64,
    /// Stops (none in the jog or the park): the dog covers no ground.
    stops: Vec<(i64, i64)>,
    /// Off the lead, playing where the walk reached.
    park: Option<(i64, i64)>,
}

/// How much of `span` lies before `t`.
fn elapsed_in(span: (i64, i64), t: i64) -> i64 {
    (t.min(span.1) - span.0).max(0)
}

impl Walk {
    /// Share of the loop done at `t`: the jog covers ground three times as fast, stops and the
    /// park none.
    fn progress(&self, t: i64) -> f64 {
        let dist = |t: i64| {
            let ran = elapsed_in(self.run, t);
            let still = self.stops.iter().chain(&self.park).map(|s| elapsed_in(*s, t)).sum::<i64>();
            let walked = (t.min(self.end) - self.start).max(0) - ran - still;
            (walked.max(0) + 3 * ran) as f64
        };
        (dist(t) / dist(self.end).max(1.0)).clamp(0.0, 1.0)
    }

    /// What the dog is doing at `t` within this walk (the `i`th of the day).
    fn activity(&self, t: i64, i: usize) -> Activity {
        let p = self.progress(t);
        let within = |s: &(i64, i64)| (s.0..s.1).contains(&t);
        if self.park.as_ref().is_some_and(within) {
            Activity::Romp(p, i)
        } else if within(&self.run) {
            Activity::Run(p, i)
        } else if self.stops.iter().any(within) {
            Activity::Sniff(p, i)
        } else {
            Activity::Walk(p, i)
        }
    }

    /// Draws the stops (a quarter of the walking time, 15 s to 2 minutes each) and, on four
    /// walks in ten with a jog, 3 to 8 minutes in a park after it.
    fn with_stops(mut self, rng: &mut StdRng) -> Walk {
        if self.run.1 > self.run.0 && rng.random_bool(0.4) {
            let s = self.run.1 + rng.random_range(1..=3) * MINUTE_MS;
            let e = s + rng.random_range(3..=8) * MINUTE_MS;
            if e < self.end - 3 * MINUTE_MS {
                self.park = Some((s, e));
            }
        }
        let mut t = self.start + rng.random_range(60..=300) * SECOND_MS;
        while t < self.end - 2 * MINUTE_MS {
            let stop = (t, t + rng.random_range(15..=120) * SECOND_MS);
            let clear = |s: &(i64, i64)| stop.1 <= s.0 || stop.0 >= s.1;
            if clear(&self.run) && self.park.as_ref().is_none_or(clear) {
                self.stops.push(stop);
            }
            t = stop.1 + rng.random_range(90..=300) * SECOND_MS;
        }
        self
    }
}

/// A local day's rhythm, in milliseconds after local midnight.
#[derive(Debug, Clone)]
struct DayPlan {
    day: i64,
    wake: i64,
    bed: i64,
    walks: Vec<Walk>,
    /// Spans of one activity (not sleep), checked in order.
    spans: Vec<(i64, i64, Activity)>,
    /// Wake-ups during the night and naps during the day: `(start, end, activity)`.
    night: Vec<(i64, i64, Activity)>,
    naps: Vec<(i64, i64)>,
    /// Short bouts: `(start, seconds, activity)`.
    bouts: Vec<(i64, i64, Activity)>,
    elevated_hr: bool,
    /// How many times normal the heart at rest is on an elevated day.
    hr_factor: f64,
    /// How strong the limp's nod is (0 without one), against the step's rhythm.
    limp_nod: f64,
    silent: Option<(i64, i64)>,
    /// Spells out of coverage (the collar keeps its readings): up to two of 5 to 40 minutes.
    offline: Vec<(i64, i64)>,
}

/// Which abnormal things happen on one day.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    elevated_hr: bool,
    lethargic: bool,
    restless_morning: bool,
    restless_evening: bool,
    spree: bool,
    limp: bool,
    silent: Option<(i64, i64)>,
    wander: Option<i64>,
    housebound: bool,
    severity: f64,
}

impl DayPlan {
    fn draw(seed: u64, day: i64, flags: Flags) -> DayPlan {
        let mut rng = StdRng::seed_from_u64(mix(seed, day as u64));
        let min = |rng: &mut StdRng, lo: i64, hi: i64| rng.random_range(lo..=hi) * MINUTE_MS;
        let wake = 6 * HOUR_MS + min(&mut rng, 0, 90);
        let bed = 21 * HOUR_MS + 45 * MINUTE_MS + min(&mut rng, 0, 90);
        let walk_start = wake + min(&mut rng, 10, 40);
        // A walk's stops, its park and the day's zoomies come from a stream of their own, so
        // the rest of the day is drawn as it was before they existed.
        let mut outing = StdRng::seed_from_u64(mix(seed ^ 0x0071_1465, day as u64));
        let (short_lo, short_hi) = match (flags.lethargic, flags.limp) {
            (true, _) => (8, 12),
            (false, true) => (21, 35),
            (false, false) => (30, 50),
        };
        let morning_end = walk_start + min(&mut rng, short_lo, short_hi);
        let evening_start = 17 * HOUR_MS + min(&mut rng, 15, 120);
        let evening_end = evening_start + min(&mut rng, short_lo + 5, short_hi + 10);
        let mut walks = Vec::new();
        for (start, end) in [(walk_start, morning_end), (evening_start, evening_end)] {
            let len = end - start;
            let run_len = if flags.lethargic { 0 } else { min(&mut rng, 3, 7) };
            // A dog with a sore leg does not jog (the length is drawn all the same, so the rest
            // of the day is drawn as on any other).
            let run_len = if flags.limp { 0 } else { run_len };
            let run_start = start + len / 3 + rng.random_range(0..=(len / 3).max(1));
            let walk = Walk {
                start,
                end,
                run: (run_start, (run_start + run_len).min(end - MINUTE_MS)),
                radius_m: rng.random_range(250.0..600.0),
                bearing: rng.random_range(0.0..2.0 * PI),
                stops: Vec::new(),
                park: None,
            };
            walks.push(walk.with_stops(&mut outing));
        }

        if flags.housebound {
            walks.clear();
        }
        if let Some(start) = flags.wander {
            // Out through an open gate: a long loop alone, no jog, back by itself.
            walks.push(Walk {
                start,
                end: start + 50 * MINUTE_MS,
                run: (start, start),
                radius_m: rng.random_range(1100.0..1400.0),
                bearing: rng.random_range(0.0..2.0 * PI),
                stops: Vec::new(),
                park: None,
            });
        }

        let mut spans = Vec::new();
        // Drinking after each walk, then a meal.
        for end in [morning_end, evening_end] {
            let drink_end = end + min(&mut rng, 1, 2);
            spans.push((end, drink_end, Activity::Drink));
            let meal = drink_end + min(&mut rng, 3, 15);
            spans.push((meal, meal + min(&mut rng, 4, 9), Activity::Eat));
        }
        let day_lo = morning_end + 60 * MINUTE_MS;
        let day_hi = evening_start - 60 * MINUTE_MS;
        for _ in 0..rng.random_range(2..=3) {
            let s = rng.random_range(day_lo..day_hi);
            spans.push((s, s + min(&mut rng, 1, 2), Activity::Drink));
        }
        if !flags.lethargic {
            // Restless before the owner comes home, and again some days.
            let s = evening_start - min(&mut rng, 25, 50);
            spans.push((s, s + min(&mut rng, 6, 15), Activity::Pace));
            if rng.random_bool(0.5) {
                let s = rng.random_range(day_lo..day_hi);
                spans.push((s, s + min(&mut rng, 4, 10), Activity::Pace));
            }
            for _ in 0..rng.random_range(2..=4) {
                let s = rng.random_range(day_lo..day_hi);
                spans.push((s, s + min(&mut rng, 5, 15), Activity::Play));
            }
            // Walking about the house now and then: a minute or three at a time.
            for _ in 0..outing.random_range(4..=8) {
                let s = outing.random_range(wake + 30 * MINUTE_MS..bed - 30 * MINUTE_MS);
                spans.push((s, s + outing.random_range(1..=3) * MINUTE_MS, Activity::Potter));
            }
            // Zoomies, some evenings: a minute or three racing round the house and garden.
            if !flags.limp && outing.random_bool(0.35) {
                let s = evening_end + outing.random_range(60..=150) * MINUTE_MS;
                if s + 3 * MINUTE_MS < bed {
                    spans.push((s, s + outing.random_range(1..=3) * MINUTE_MS, Activity::Zoomies));
                }
            }
        }

        let mut naps = Vec::new();
        if flags.lethargic {
            // Naps fill most of the daytime.
            let mut t = 8 * HOUR_MS;
            while t < 20 * HOUR_MS {
                let len = min(&mut rng, 60, 150);
                naps.push((t, t + len));
                t += len + min(&mut rng, 10, 25);
            }
        } else {
            let s = 13 * HOUR_MS + min(&mut rng, 0, 90);
            naps.push((s, s + min(&mut rng, 20, 50)));
        }

        let mut night = Vec::new();
        let mut wakeups = |rng: &mut StdRng, lo: i64, hi: i64, restless: bool| {
            let n = if restless {
                ((f64::from(rng.random_range(12..=20)) * flags.severity).round() as u32).max(2)
            } else {
                rng.random_range(0..=1)
            };
            for _ in 0..n {
                let s = rng.random_range(lo..hi);
                let len = if restless { min(rng, 3, 10) } else { min(rng, 2, 5) };
                // A restless night is a dog up and pacing, not lying awake: the summary counts
                // an interruption only for a waking bout between sleeps, so wake-ups drawn as
                // rest left some restless nights (a demo made on some dates) looking ordinary.
                let what = if restless { Activity::Pace } else { Activity::Rest };
                night.push((s, s + len, what));
            }
        };
        wakeups(&mut rng, 30 * MINUTE_MS, wake - 30 * MINUTE_MS, flags.restless_morning);
        wakeups(&mut rng, bed + 20 * MINUTE_MS, 24 * HOUR_MS - 10 * MINUTE_MS, flags.restless_evening);

        // Short bouts go where the dog is otherwise resting.
        let mut bouts = Vec::new();
        let (n_scratch, secs) = if flags.spree {
            (((f64::from(rng.random_range(15..=25)) * flags.severity).round() as u32).max(3), (20, 50))
        } else {
            (rng.random_range(2..=4), (5, 12))
        };
        for _ in 0..n_scratch {
            let s = rng.random_range(day_lo..day_hi);
            bouts.push((s, rng.random_range(secs.0..=secs.1), Activity::Scratch));
        }
        for end in [morning_end, evening_end] {
            // A shake on coming home, sometimes.
            if rng.random_bool(0.6) {
                bouts.push((end - 2 * MINUTE_MS, rng.random_range(2..=5), Activity::Shake));
            }
        }
        for _ in 0..rng.random_range(1..=3) {
            let s = rng.random_range(day_lo..day_hi);
            bouts.push((s, rng.random_range(2..=5), Activity::Shake));
        }
        // Out of range of its base or network, from a stream of its own.
        let mut link = StdRng::seed_from_u64(mix(seed ^ 0x0FF1_14E5, day as u64));
        let offline = (0..link.random_range(0..=2))
            .map(|_| {
                let s = link.random_range(0..24 * 60 - 45) * MINUTE_MS;
                (s, s + link.random_range(5..=40) * MINUTE_MS)
            })
            .collect();
        DayPlan {
            day,
            wake,
            bed,
            walks,
            spans,
            night,
            naps,
            bouts,
            elevated_hr: flags.elevated_hr,
            hr_factor: 1.0 + 0.7 * flags.severity,
            limp_nod: if flags.limp { LIMP_NOD * flags.severity } else { 0.0 },
            silent: flags.silent,
            offline,
        }
    }

    fn activity(&self, t: i64, interval_ms: i64) -> Activity {
        let asleep = t < self.wake || t >= self.bed;
        if asleep {
            return self.night.iter().find(|(s, e, _)| (*s..*e).contains(&t)).map_or(Activity::Sleep, |n| n.2);
        }
        for (i, w) in self.walks.iter().enumerate() {
            if (w.start..w.end).contains(&t) {
                return w.activity(t, i);
            }
        }
        // A bout of seconds covers at least one reading.
        for (s, secs, what) in &self.bouts {
            if t >= *s && t < s + (secs * SECOND_MS).max(interval_ms) {
                return *what;
            }
        }
        if let Some((_, _, what)) = self.spans.iter().find(|(s, e, _)| (*s..*e).contains(&t)) {
            return *what;
        }
        if self.naps.iter().any(|(s, e)| (*s..*e).contains(&t)) {
            return Activity::Sleep;
        }
        Activity::Rest
    }
}

/// The accelerometer's sampling, when the collar sends raw windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccelWindow {
    pub hz: u32,
    /// Samples per axis.
    pub len: usize,
}

impl AccelWindow {
    /// `hz` samples per second for `secs` seconds (8 to 1024 samples per axis).
    pub fn new(hz: u32, secs: f64) -> AccelWindow {
        let hz = hz.clamp(1, 400);
        let len = ((f64::from(hz) * secs).round() as usize).clamp(8, 1024);
        AccelWindow { hz, len }
    }
}

/// A raw accelerometer window: samples per second and the x, y, z axes in g.
pub type RawAccel = (u32, Vec<f64>, Vec<f64>, Vec<f64>);

/// An activity's rhythm: frequency range (Hz), vertical and sideways amplitude (g).
type Rhythm = ((f64, f64), f64, f64);

/// One reading's measurements, before they become JSON or a [`petty_core::behaviour::Sample`].
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub heart_rate: f64,
    pub respiration_rate: f64,
    pub activity_level: f64,
    pub activity_counts: f64,
    pub steps: f64,
    pub temperature_c: f64,
    pub battery_pct: f64,
    pub rssi: f64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// `(hz, x, y, z)` in g, rounded to 3 decimals.
    pub accel: Option<RawAccel>,
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
    accel: Option<AccelWindow>,
    scenario: Scenario,
    /// The local day that is day 0 of the scenario (the first reading's).
    first_day: Option<i64>,
    /// What makes this dog itself: no two dogs share thresholds.
    traits: Traits,
    /// How far the collar has turned around the neck, radians: it drifts, and a shake or a
    /// romp turns it further.
    roll: f64,
    /// The location fix's wandering error, metres east and north.
    fix: (f64, f64),
}

/// A breed group: what a dog's build does to its gait, heart and breathing beyond its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// Most dogs, and mixed breeds: size and age say it all.
    Standard,
    /// Dachshunds, corgis, bassets: short legs step faster than their mass says, and the body
    /// rolls from side to side.
    ShortLegged,
    /// Pugs, bulldogs, boxers: a short muzzle breathes faster and the dog tires sooner.
    Flat,
    /// Greyhounds, whippets: a slow heart at rest, long strides, a powerful run.
    Sighthound,
    /// Collies, shepherds, retrievers: more vigorous in everything.
    Working,
}

impl Build {
    /// `(share of dogs, mass range kg, cadence, sideways sway, breathing, heart, vigour, run)`,
    /// each a factor on the standard dog's of that mass.
    const fn profile(self) -> (f64, (f64, f64), f64, f64, f64, f64, f64, f64) {
        match self {
            Build::Standard => (0.45, (4.0, 45.0), 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
            Build::ShortLegged => (0.15, (6.0, 30.0), 1.2, 1.6, 1.0, 1.0, 0.9, 0.9),
            Build::Flat => (0.12, (6.0, 30.0), 1.05, 1.2, 1.35, 1.05, 0.85, 0.8),
            Build::Sighthound => (0.08, (10.0, 35.0), 0.88, 0.8, 0.95, 0.9, 1.0, 1.25),
            Build::Working => (0.20, (15.0, 45.0), 1.0, 1.0, 1.0, 1.0, 1.12, 1.1),
        }
    }

    const ALL: [Build; 5] = [Build::Standard, Build::ShortLegged, Build::Flat, Build::Sighthound, Build::Working];

    /// The group at `u` (0 to 1) along the groups' shares.
    fn at(u: f64) -> Build {
        let mut left = u;
        for b in Build::ALL {
            left -= b.profile().0;
            if left < 0.0 {
                return b;
            }
        }
        Build::Standard
    }
}

/// A dog's physique and its collar's fit, drawn once per dog from its seed, so a model must
/// learn behaviours, not one dog's numbers (see `docs/simulator.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traits {
    /// The breed group, drawn first: it bounds the mass and shapes the gait.
    pub build: Build,
    /// Body mass within the group's range (log-uniform: as many small dogs as large ones).
    pub mass_kg: f64,
    /// Age in years, 0.5 to 14.
    pub age_years: f64,
    /// Heart rate at rest against a 25 kg adult's: small dogs and puppies beat faster (every
    /// heart rate moves by `(heart - 1) ×` [`HEART_SHIFT_BPM`]).
    pub heart: f64,
    /// Stride frequency against a 25 kg dog's: (25 / mass)^0.15 (Heglund & Taylor 1988), so a
    /// terrier's walk has the cadence of a shepherd's trot.
    pub cadence: f64,
    /// How vigorously it moves (activity counts, accelerometer amplitude); seniors less.
    pub vigour: f64,
    /// Breathing rates against the average dog's.
    pub breath: f64,
    /// How far the body rolls from side to side at a walk, against the average dog's.
    pub sway: f64,
    /// How much harder than its walk it runs (a sighthound's sprint), against the average dog's.
    pub run: f64,
    /// The collar's heart-rate sensor's noise, bpm (optical sensors on fur are poor).
    pub pulse_noise: f64,
    /// The accelerometer's full scale, g (4, 8 or 16): strong movements saturate.
    pub full_scale_g: f64,
    /// The sensor's noise, g.
    pub noise_g: f64,
    /// How far the sensor's axis is tilted from the neck's, degrees: as the collar turns
    /// around the neck, the pitch it reads is off by up to this much.
    pub tilt_deg: f64,
    /// How far an indoor location fix wanders at this home, metres (4 to 15: walls and roofs
    /// reflect the satellites' signals).
    pub indoor_fix_m: f64,
}

impl Traits {
    pub fn draw(seed: u64) -> Traits {
        let mut own = StdRng::seed_from_u64(mix(seed, 0x7A1));
        let build = Build::at(own.random_range(0.0..1.0));
        let (_, (lo, hi), cadence, sway, breath, heart, vigour, run) = build.profile();
        let mass_kg = (lo.ln() + own.random_range(0.0..1.0) * (hi / lo).ln()).exp();
        let age_years = own.random_range(0.5..14.0);
        let age_heart = if age_years < 1.5 {
            1.12
        } else if age_years > 9.0 {
            0.95
        } else {
            1.0
        };
        let age_vigour = if age_years > 9.0 { 0.8 } else { 1.0 };
        Traits {
            build,
            mass_kg,
            age_years,
            heart: (25.0 / mass_kg).powf(0.2) * heart * age_heart * own.random_range(0.92..1.08),
            cadence: (25.0 / mass_kg).powf(0.15) * cadence * own.random_range(0.92..1.08),
            vigour: own.random_range(0.75..1.3) * vigour * age_vigour,
            breath: own.random_range(0.75..1.3) * breath,
            sway,
            run,
            pulse_noise: own.random_range(3.0..10.0),
            full_scale_g: [4.0, 8.0, 8.0, 16.0][own.random_range(0..4)],
            noise_g: own.random_range(0.005..0.04),
            tilt_deg: own.random_range(5.0..25.0),
            indoor_fix_m: own.random_range(4.0..15.0),
        }
    }
}

impl Collar {
    /// A collar whose dog lives at `home` (latitude, longitude).
    pub fn new(seed: u64, home: (f64, f64), utc_offset_secs: i32) -> Collar {
        let mut rng = StdRng::seed_from_u64(seed);
        let battery = rng.random_range(40.0..100.0);
        let traits = Traits::draw(seed);
        let roll = rng.random_range(-PI..PI);
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
            accel: None,
            scenario: Scenario::default(),
            first_day: None,
            traits,
            roll,
            fix: (0.0, 0.0),
        }
    }

    /// Also send a raw accelerometer window with every reading.
    pub fn with_accel(mut self, window: Option<AccelWindow>) -> Collar {
        self.accel = window;
        self
    }

    /// Inject the scenario's abnormal days.
    pub fn with_scenario(mut self, scenario: Scenario) -> Collar {
        self.scenario = scenario;
        self
    }

    /// Where the dog lives.
    pub fn home(&self) -> (f64, f64) {
        self.home
    }

    /// The dog's physique and its collar's fit.
    pub fn traits(&self) -> Traits {
        self.traits
    }

    fn plan_for(&mut self, ts_ms: i64) -> i64 {
        let (day, ms_of_day) = local_day(ts_ms, self.utc_offset_ms);
        let first = *self.first_day.get_or_insert(day);
        if self.plan.as_ref().is_none_or(|p| p.day != day) {
            let rel = day - first;
            let has = |days: &[u32]| days.iter().any(|d| i64::from(*d) == rel);
            let s = &self.scenario;
            let flags = Flags {
                elevated_hr: has(&s.elevated_resting_hr_days),
                lethargic: has(&s.lethargic_days),
                restless_morning: has(&s.restless_night_days),
                restless_evening: has(&s.restless_night_days),
                spree: has(&s.scratching_spree_days),
                limp: has(&s.limp_days),
                silent: s
                    .silent
                    .iter()
                    .find(|(d, _, _)| i64::from(*d) == rel)
                    .map(|(_, h, n)| (i64::from(*h) * HOUR_MS, i64::from(*h + *n) * HOUR_MS)),
                wander: s.wander.iter().find(|(d, _)| i64::from(*d) == rel).map(|(_, h)| i64::from(*h) * HOUR_MS),
                housebound: s.housebound,
                severity: s.severity.unwrap_or(1.0).clamp(0.0, 2.0),
            };
            self.plan = Some(DayPlan::draw(self.seed, day, flags));
        }
        ms_of_day
    }

    /// Whether the collar sends nothing at `ts_ms` (its battery is flat).
    pub fn is_silent(&mut self, ts_ms: i64) -> bool {
        let t = self.plan_for(ts_ms);
        self.plan.as_ref().and_then(|p| p.silent).is_some_and(|(s, e)| (s..e).contains(&t))
    }

    /// Whether the collar can send at `ts_ms`: out of coverage it keeps its readings (see
    /// [`crate::SimDevice::samples_until`]).
    pub fn in_coverage(&mut self, ts_ms: i64) -> bool {
        let t = self.plan_for(ts_ms);
        !self.plan.as_ref().is_some_and(|p| p.offline.iter().any(|(s, e)| (*s..*e).contains(&t)))
    }

    /// The measurements at `ts_ms` (every field but `ts` and `seq`), `interval_ms` after the
    /// last, and the label of what the dog was doing (a [`Behaviour`] label).
    pub fn measure(&mut self, ts_ms: i64, interval_ms: i64) -> (Map<String, Value>, &'static str) {
        let (m, behaviour) = self.measure_raw(ts_ms, interval_ms);
        let mut out = Map::new();
        out.insert("heart_rate".into(), json!(m.heart_rate));
        out.insert("respiration_rate".into(), json!(m.respiration_rate));
        out.insert("activity_level".into(), json!(m.activity_level));
        out.insert("activity_counts".into(), json!(m.activity_counts));
        out.insert("steps".into(), json!(m.steps));
        out.insert("temperature_c".into(), json!(m.temperature_c));
        out.insert("battery_pct".into(), json!(m.battery_pct));
        out.insert("rssi".into(), json!(m.rssi));
        out.insert("location".into(), json!({"lat": m.lat, "lon": m.lon, "accuracy_m": m.accuracy_m}));
        if let Some((hz, x, y, z)) = m.accel {
            out.insert("accel".into(), json!({"hz": hz, "x": x, "y": y, "z": z}));
        }
        (out, behaviour.as_str())
    }

    /// [`Collar::measure`] as plain numbers and the true behaviour.
    pub fn measure_raw(&mut self, ts_ms: i64, interval_ms: i64) -> (Measured, Behaviour) {
        let ms_of_day = self.plan_for(ts_ms);
        let Some(plan) = self.plan.as_ref() else { unreachable!("plan_for draws the day's plan") };
        let activity = plan.activity(ms_of_day, interval_ms);
        let rng = &mut self.rng;
        let minutes = interval_ms as f64 / MINUTE_MS as f64;

        // What the dog is doing within the behaviour at this moment: a walk has sniffing stops,
        // rest is lying awake or sitting up, play is a chase, a tug or a pause.
        let t = self.traits;
        let settled = (mix(self.seed ^ 0xB10C, (ts_ms / (15 * MINUTE_MS)) as u64) % 10_000) as f64 / 10_000.0;
        let motion = Motion::draw(activity, rng, settled);
        // (heart rate target, respiration, body temp)
        let (hr_target, resp, temp_target) = match activity {
            Activity::Sleep => (64.0, 15.0, 38.3),
            // Lying awake breathes and beats nearly as in sleep; sitting up, a little faster.
            Activity::Rest if motion.pitch > 0.0 => (84.0, 24.0, 38.4),
            Activity::Rest => (69.0, 18.0, 38.4),
            Activity::Walk(..) => (125.0, 40.0, 38.8),
            Activity::Sniff(..) => (110.0, 35.0, 38.8),
            Activity::Potter => (100.0, 32.0, 38.5),
            Activity::Run(..) | Activity::Zoomies => (165.0, 70.0, 39.0),
            // A lull in play (chewing a toy, lying down) slows the heart a little.
            Activity::Play | Activity::Romp(..) if motion.counts.1 < 2000.0 => (120.0, 45.0, 38.8),
            Activity::Play | Activity::Romp(..) => (150.0, 60.0, 39.0),
            Activity::Pace => (105.0, 35.0, 38.6),
            Activity::Eat => (95.0, 30.0, 38.5),
            Activity::Drink => (92.0, 30.0, 38.5),
            Activity::Scratch => (92.0, 28.0, 38.5),
            Activity::Shake => (95.0, 30.0, 38.5),
        };
        let (hr_lo, hr_hi) = match activity {
            Activity::Sleep => (58.0, 72.0),
            Activity::Walk(..) | Activity::Sniff(..) => (105.0, 145.0),
            Activity::Run(..) | Activity::Zoomies => (145.0, 190.0),
            _ => (hr_target - 14.0, hr_target + 16.0),
        };
        // This dog's own level: small dogs and puppies beat faster at rest, and about as much
        // faster at work (a dog's maximum is about 250 whatever its size).
        let shift = (t.heart - 1.0) * HEART_SHIFT_BPM;
        let (mut hr_target, mut hr_lo, mut hr_hi) = (hr_target + shift, hr_lo + shift, (hr_hi + shift).min(240.0));
        if plan.elevated_hr && matches!(activity, Activity::Sleep | Activity::Rest) {
            hr_target *= plan.hr_factor;
            hr_lo *= plan.hr_factor;
            hr_hi *= plan.hr_factor;
        }
        // The heart follows with a lag: still high in the first minutes of rest after a walk.
        self.heart_rate += (hr_target - self.heart_rate) * 0.45 + noise(rng, 4.0);
        self.heart_rate = self.heart_rate.clamp(hr_lo, hr_hi);
        // Breathing differs from dog to dog as much as between sleep and rest (Rishniw 2012:
        // 13 a minute asleep on average, 19 awake at rest).
        let respiration = (resp * t.breath + noise(rng, 2.5)).clamp(8.0, resp * t.breath + 12.0);
        self.temperature =
            (self.temperature + (temp_target - self.temperature) * 0.1 + noise(rng, 0.03)).clamp(38.0, 39.2);
        let mut draw = |(lo, hi): (f64, f64)| if hi > lo { (rng.random_range(lo..hi) * minutes).round() } else { 0.0 };
        let steps = draw((motion.steps.0 * t.cadence, motion.steps.1 * t.cadence));
        let vigour = if motion.run { t.vigour * t.run } else { t.vigour };
        let counts = draw((motion.counts.0 * vigour, motion.counts.1 * vigour));
        // The collar's own activity level, from its counts (it does not know the behaviour).
        let per_minute = counts / minutes.max(1.0 / 60.0);
        let level = if per_minute < 150.0 {
            0
        } else if per_minute < 2500.0 {
            1
        } else {
            2
        };
        // The collar turns around the neck: slowly, and further in a shake or a romp.
        let turn = if matches!(
            activity,
            Activity::Shake | Activity::Scratch | Activity::Play | Activity::Romp(..) | Activity::Zoomies
        ) {
            0.4
        } else {
            0.03
        };
        self.roll += noise(rng, turn * minutes.sqrt().min(3.0));

        // Battery: about 1 %/hour, a little more with GPS on a walk. Charged to full overnight
        // when it would not last another day above about 15 %.
        let outdoors =
            matches!(activity, Activity::Walk(..) | Activity::Run(..) | Activity::Sniff(..) | Activity::Romp(..));
        let moving = outdoors;
        if self.charging {
            self.battery = (self.battery + 1.5 * minutes).min(100.0);
            self.charging = self.battery < 100.0;
        } else {
            let per_hour = if moving { 1.5 } else { 1.0 };
            self.battery = (self.battery - per_hour * minutes / 60.0).max(0.0);
            let night = ms_of_day < plan.wake || ms_of_day >= plan.bed;
            self.charging = activity == Activity::Sleep && night && self.battery < 40.0;
        }
        if let Some((s, e)) = plan.silent {
            if ms_of_day >= s - 3 * HOUR_MS && ms_of_day < s {
                // Running flat: down to nothing by the start of the silence.
                let left = (s - ms_of_day) as f64 / (3 * HOUR_MS) as f64;
                self.battery = self.battery.min(12.0 * left);
                self.charging = false;
            } else if ms_of_day >= e && ms_of_day < e + interval_ms.max(MINUTE_MS) {
                // Back on the charger.
                self.battery = self.battery.min(2.0);
                self.charging = true;
            }
        }

        // A fix's error wanders slowly (an Ornstein-Uhlenbeck walk): a few metres under the open
        // sky, up to the home's own indoor scale under a roof, where reflections move a still dog
        // around the room and give it an apparent speed.
        let (err_m, settle_ms) = if outdoors { (4.0, MINUTE_MS) } else { (self.traits.indoor_fix_m, 4 * MINUTE_MS) };
        let keep = (-(interval_ms as f64) / settle_ms as f64).exp();
        let kick = err_m * (1.0 - keep * keep).sqrt();
        self.fix = (self.fix.0 * keep + noise(rng, kick), self.fix.1 * keep + noise(rng, kick));
        let reach = self.fix.0.hypot(self.fix.1);
        if reach > 35.0 {
            self.fix = (self.fix.0 * 35.0 / reach, self.fix.1 * 35.0 / reach);
        }
        let fix = self.fix;
        let at_home = |rng: &mut StdRng, spread: f64| {
            offset(self.home.0, self.home.1, fix.0 + noise(rng, spread), fix.1 + noise(rng, spread))
        };
        let indoor_accuracy = |rng: &mut StdRng| rng.random_range(1.0..2.5) * self.traits.indoor_fix_m;
        let (position, accuracy, rssi) = match activity {
            Activity::Walk(progress, i)
            | Activity::Run(progress, i)
            | Activity::Sniff(progress, i)
            | Activity::Romp(progress, i) => {
                let w = &plan.walks[i];
                let (clat, clon) =
                    offset(self.home.0, self.home.1, w.radius_m * w.bearing.cos(), w.radius_m * w.bearing.sin());
                let a = w.bearing + PI + 2.0 * PI * progress;
                // Off the lead in a park, the dog ranges a few tens of metres around the spot.
                let range = if matches!(activity, Activity::Romp(..)) { 15.0 } else { 2.0 };
                let p = offset(
                    clat,
                    clon,
                    w.radius_m * a.cos() + fix.0 + noise(rng, range),
                    w.radius_m * a.sin() + fix.1 + noise(rng, range),
                );
                let rssi = -60.0 - 25.0 * (PI * progress).sin() + noise(rng, 4.0);
                (p, rng.random_range(3.0..8.0), rssi)
            }
            Activity::Play | Activity::Zoomies | Activity::Potter => {
                // Round the house and the garden.
                let p = at_home(rng, 8.0);
                (p, indoor_accuracy(rng), -50.0 + noise(rng, 5.0))
            }
            Activity::Pace => {
                // Back and forth along a few metres of hallway.
                let along = 3.0 * (2.0 * PI * ts_ms as f64 / 20_000.0).sin();
                let p = offset(self.home.0, self.home.1, fix.0 + along + noise(rng, 1.5), fix.1 + noise(rng, 1.5));
                (p, indoor_accuracy(rng), -48.0 + noise(rng, 5.0))
            }
            _ => {
                let p = at_home(rng, 2.0);
                (p, indoor_accuracy(rng), -48.0 + noise(rng, 5.0))
            }
        };

        let (traits, roll) = (self.traits, self.roll);
        let limp_nod = self.plan.as_ref().map_or(0.0, |p| p.limp_nod);
        let accel = self.accel.map(|w| accel_window(&mut self.rng, w, &motion, traits, roll, limp_nod));
        let m = Measured {
            // The optical sensor reads through fur: its own noise on top of the heart's, and
            // nothing below 30 (it reports its floor).
            heart_rate: round(self.heart_rate + noise(&mut self.rng, self.traits.pulse_noise), 0).max(30.0),
            respiration_rate: round(respiration, 1),
            activity_level: f64::from(level),
            activity_counts: counts,
            steps,
            temperature_c: round(self.temperature, 2),
            battery_pct: round(self.battery, 1),
            rssi: rssi.round().clamp(-90.0, -40.0),
            lat: round(position.0, 6),
            lon: round(position.1, 6),
            accuracy_m: round(accuracy, 1),
            accel,
        };
        (m, activity.behaviour())
    }
}

/// How the dog moves at one moment of a behaviour: the head's pitch, the rhythms the collar
/// feels, and the counts and steps a minute of it gives (for a 25 kg dog of average vigour).
#[derive(Debug, Clone, Copy)]
struct Motion {
    /// Degrees; head down is negative.
    pitch: f64,
    spread: f64,
    rhythm: &'static [Rhythm],
    /// Whether the rhythm is the gait's (it scales with the dog's cadence and sway).
    gait: bool,
    /// Whether it is a run (it scales with how hard the dog runs).
    run: bool,
    jitter: f64,
    counts: (f64, f64),
    steps: (f64, f64),
}

impl Motion {
    const fn new(
        pitch: f64,
        spread: f64,
        rhythm: &'static [Rhythm],
        gait: bool,
        counts: (f64, f64),
        steps: (f64, f64),
    ) -> Motion {
        Motion { pitch, spread, rhythm, gait, run: false, jitter: 0.02, counts, steps }
    }

    /// `settled` (0 to 1) is drawn once per quarter hour: rest keeps one posture for a while.
    fn draw(activity: Activity, rng: &mut StdRng, settled: f64) -> Motion {
        let u: f64 = if activity == Activity::Rest { settled } else { rng.random_range(0.0..1.0) };
        let m = match activity {
            // A sleeping dog twitches and turns now and then.
            Activity::Sleep => Motion::new(-5.0, 10.0, &[((0.2, 0.5), 0.004, 0.002)], false, (0.0, 60.0), (0.0, 1.0)),
            // Lying awake looks much like sleep; sitting up, a little less so.
            Activity::Rest if u < 0.55 => {
                Motion::new(-3.0, 10.0, &[((0.2, 0.8), 0.006, 0.004)], false, (0.0, 80.0), (0.0, 1.0))
            }
            Activity::Rest => Motion::new(8.0, 12.0, &[((0.3, 1.5), 0.04, 0.03)], false, (40.0, 300.0), (0.0, 8.0)),
            // A walk's stop: nose down sniffing (a few steps), or standing to look around.
            Activity::Sniff(..) if u < 0.6 => {
                Motion::new(-30.0, 10.0, &[((0.5, 2.0), 0.08, 0.04)], false, (300.0, 1500.0), (5.0, 40.0))
            }
            Activity::Sniff(..) => {
                Motion::new(8.0, 12.0, &[((0.3, 1.5), 0.04, 0.03)], false, (40.0, 400.0), (0.0, 10.0))
            }
            // Between stops, a quick sniff in passing, an amble (a crowded pavement, a dog
            // that dawdles: the gait of pacing), or a brisk walk. About the house, more often
            // an amble or a sniff.
            Activity::Walk(..) if u < 0.08 => {
                Motion::new(-30.0, 10.0, &[((0.5, 2.0), 0.08, 0.04)], false, (300.0, 1500.0), (5.0, 40.0))
            }
            Activity::Potter if u < 0.2 => {
                Motion::new(-30.0, 10.0, &[((0.5, 2.0), 0.08, 0.04)], false, (300.0, 1500.0), (5.0, 40.0))
            }
            Activity::Walk(..) if u < 0.3 => {
                Motion::new(-3.0, 6.0, &[((1.3, 1.8), 0.2, 0.1)], true, (1200.0, 3000.0), (60.0, 95.0))
            }
            Activity::Potter if u < 0.7 => {
                Motion::new(-3.0, 6.0, &[((1.3, 1.8), 0.2, 0.1)], true, (1200.0, 3000.0), (60.0, 95.0))
            }
            Activity::Walk(..) | Activity::Potter => {
                Motion::new(0.0, 6.0, &[((1.8, 2.2), 0.3, 0.12)], true, (2000.0, 5000.0), (90.0, 130.0))
            }
            // A jog is a trot now and then (a brisk walk's upper rhythm), a canter otherwise;
            // zoomies are flat out.
            Activity::Run(..) if u < 0.3 => Motion {
                run: true,
                ..Motion::new(3.0, 6.0, &[((2.2, 2.7), 0.5, 0.2)], true, (4000.0, 8000.0), (140.0, 180.0))
            },
            Activity::Run(..) | Activity::Zoomies => Motion {
                run: true,
                ..Motion::new(5.0, 6.0, &[((2.8, 3.4), 0.8, 0.3)], true, (7000.0, 12000.0), (170.0, 230.0))
            },
            // Play is a chase (a run's rhythm), a tug, chewing a toy (an eater's head and jaw)
            // or a lull lying down (a rest, with the heart still up).
            Activity::Play | Activity::Romp(..) if u < 0.35 => {
                Motion::new(5.0, 10.0, &[((2.5, 3.5), 0.7, 0.3)], true, (5000.0, 11000.0), (120.0, 220.0))
            }
            Activity::Play | Activity::Romp(..) if u < 0.6 => {
                Motion::new(-10.0, 15.0, &[((2.0, 4.0), 0.4, 0.35)], false, (3000.0, 8000.0), (20.0, 80.0))
            }
            Activity::Play | Activity::Romp(..) if u < 0.75 => {
                Motion::new(-25.0, 12.0, &[((1.0, 3.0), 0.08, 0.04)], false, (200.0, 1200.0), (0.0, 10.0))
            }
            Activity::Play | Activity::Romp(..) => {
                Motion::new(-3.0, 12.0, &[((0.3, 1.2), 0.05, 0.04)], false, (100.0, 900.0), (0.0, 10.0))
            }
            Activity::Pace => Motion::new(0.0, 6.0, &[((1.5, 1.9), 0.22, 0.1)], true, (800.0, 2500.0), (50.0, 90.0)),
            Activity::Eat => Motion::new(-35.0, 10.0, &[((1.0, 3.0), 0.08, 0.03)], false, (200.0, 1000.0), (0.0, 8.0)),
            Activity::Drink => Motion::new(-45.0, 10.0, &[((2.5, 4.0), 0.07, 0.02)], false, (150.0, 800.0), (0.0, 4.0)),
            Activity::Scratch => {
                Motion::new(10.0, 10.0, &[((5.0, 8.0), 0.45, 0.25)], false, (800.0, 2500.0), (0.0, 6.0))
            }
            Activity::Shake => Motion::new(0.0, 10.0, &[((4.0, 5.0), 1.6, 0.9)], false, (1000.0, 3000.0), (0.0, 6.0)),
        };
        // How irregular the movement is, beyond its rhythm: a range, not a constant, so that
        // an erratic run and a steady romp overlap as they do in life.
        let jitter = match activity {
            Activity::Sleep => 0.008,
            Activity::Rest if m.pitch < 0.0 => 0.009,
            Activity::Shake => 0.1,
            Activity::Run(..) => rng.random_range(0.06..0.16),
            Activity::Play | Activity::Romp(..) if m.counts.1 < 2000.0 => rng.random_range(0.01..0.05),
            Activity::Play | Activity::Romp(..) | Activity::Zoomies => rng.random_range(0.08..0.25),
            Activity::Walk(..) | Activity::Sniff(..) | Activity::Potter => rng.random_range(0.025..0.08),
            Activity::Pace => rng.random_range(0.015..0.05),
            Activity::Scratch => 0.05,
            _ => m.jitter,
        };
        Motion { jitter, ..m }
    }
}

/// A raw 3-axis window for a moment of `motion`: gravity at the head's pitch plus the
/// motion's rhythm (mostly along the vertical, so the magnitude carries it), seen through a
/// collar turned `roll` radians around the neck whose sensor is tilted `traits.tilt_deg` from
/// the neck's axis, with the sensor's noise, full scale and 12-bit steps. x points along the
/// neck to the nose, z up when level. A limp (`limp_nod` above 0) adds to a gait the head's nod
/// on every other step: a rhythm at half the step rate, `limp_nod` times as strong.
fn accel_window(
    rng: &mut StdRng,
    w: AccelWindow,
    motion: &Motion,
    traits: Traits,
    roll: f64,
    limp_nod: f64,
) -> RawAccel {
    let theta = (motion.pitch + noise(rng, motion.spread / 2.0)).to_radians();
    let pace = if motion.gait { traits.cadence } else { 1.0 };
    let sway = if motion.gait { traits.sway } else { 1.0 };
    let power = if motion.run { traits.run } else { 1.0 };
    let mut waves: Vec<(f64, f64, f64, f64)> = motion
        .rhythm
        .iter()
        .map(|((lo, hi), v, s)| {
            // Rhythms spread a little past their textbook range, and scale with the dog.
            let (lo, hi) = (lo * 0.85 * pace, hi * 1.15 * pace);
            let (v, s) = (v * traits.vigour * power, s * traits.vigour * power * sway);
            (rng.random_range(lo..hi), v, s, rng.random_range(0.0..2.0 * PI))
        })
        .collect();
    if limp_nod > 0.0
        && motion.gait
        && let Some(&(f, v, s, _)) = waves.first()
    {
        waves.push((f / 2.0, v * limp_nod, s * limp_nod * 0.5, rng.random_range(0.0..2.0 * PI)));
    }
    let hz = f64::from(w.hz);
    let (tilt, (sr, cr)) = (traits.tilt_deg.to_radians(), roll.sin_cos());
    let (st, ct) = tilt.sin_cos();
    let step = traits.full_scale_g / 2048.0;
    let sensor =
        |v: f64| ((v.clamp(-traits.full_scale_g, traits.full_scale_g) / step).round() * step * 1000.0).round() / 1000.0;
    let (mut x, mut y, mut z) = (Vec::with_capacity(w.len), Vec::with_capacity(w.len), Vec::with_capacity(w.len));
    for i in 0..w.len {
        let t = i as f64 / hz;
        let (mut dv, mut ds) = (0.0, 0.0);
        for (f, v, s, phase) in &waves {
            let a = 2.0 * PI * f * t + phase;
            dv += v * a.sin();
            ds += s * (a + 0.7).sin();
        }
        // The neck's frame, then the collar turned around the neck (x), then the sensor's tilt
        // (about its own y).
        let (bx, by, bz) = (-theta.sin() * (1.0 + dv), ds, theta.cos() * (1.0 + dv));
        let (ry, rz) = (cr * by - sr * bz, sr * by + cr * bz);
        let (sx, sz) = (ct * bx + st * rz, -st * bx + ct * rz);
        let j = traits.noise_g + motion.jitter;
        x.push(sensor(sx + noise(rng, j)));
        y.push(sensor(ry + noise(rng, j)));
        z.push(sensor(sz + noise(rng, j)));
    }
    (w.hz, x, y, z)
}
