//! Anomalies measured: each kind injected into simulated weeks and looked for on its day, and
//! false alarms counted on weeks with nothing injected, through the same pure pipeline the
//! server runs for each pet-day (built-in model → episodes → day summary → 7- and 30-day
//! baselines → `anomalies::detect`). Behind `petty eval anomalies`.

use std::fmt;

use petty_core::anomalies::{self, Anomaly, AnomalyKind, DeviceState};
use petty_core::baselines::{self, DaySummary};
use petty_core::behaviour::{Forest, Sample, segment};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::Scenario;
use crate::labelled::labelled_days;
use crate::util::{DAY_MS, mix};

/// 2026-10-05T00:00:00Z, a Monday.
pub const START_MS: i64 = 1_791_158_400_000;
/// The collars report once a minute.
pub const INTERVAL_MS: i64 = 60_000;

fn date_of(ms: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(ms / 1000).map(|t| t.date()).unwrap_or(Date::MIN)
}

/// Runs the server's per-day pass over `days` days of the dog `seed` and answers each day's
/// anomalies. `at` picks, per day, the moment the device state is judged (the end of the day
/// by default).
pub fn run_days(
    model: &Forest,
    seed: u64,
    days: u32,
    scenario: &Scenario,
    at: impl Fn(u32) -> Option<i64>,
) -> Vec<(u32, Vec<Anomaly>)> {
    let samples: Vec<Sample> =
        labelled_days(seed, START_MS, days, INTERVAL_MS, scenario).into_iter().map(|(s, _)| s).collect();
    let mut history: Vec<DaySummary> = Vec::new();
    let mut out = Vec::new();
    for d in 0..days {
        let day_start = START_MS + i64::from(d) * DAY_MS;
        let day = date_of(day_start);
        let (w0, w1) = baselines::input_window(day, UtcOffset::UTC);
        let window: Vec<Sample> = samples.iter().filter(|s| s.ts_ms >= w0 && s.ts_ms < w1).copied().collect();
        let episodes = segment::analyse(&window, model, None);
        let summary = baselines::summarise_day(day, UtcOffset::UTC, &window, &episodes);
        let b7 = baselines::baseline(&history, 7, day);
        let b30 = baselines::baseline(&history, 30, day);
        let now_ms = at(d).unwrap_or(day_start + DAY_MS - 1);
        let seen: Vec<&Sample> = window.iter().filter(|s| s.ts_ms <= now_ms).collect();
        let device = DeviceState {
            battery_pct: seen.last().and_then(|s| s.battery_pct),
            last_seen_ms: seen.last().map(|s| s.ts_ms),
            expected_interval_ms: INTERVAL_MS,
            now_ms,
        };
        out.push((d, anomalies::detect("Bella", &summary, &b7, &b30, &device)));
        history.push(summary);
    }
    out
}

/// One injected kind: how often it was injected and found on its day.
#[derive(Debug, Clone, PartialEq)]
pub struct KindRecall {
    /// What was injected, in words.
    pub injected: &'static str,
    /// How strong ([`Scenario::severity`]).
    pub severity: f64,
    /// What the detector should say (any of them).
    pub kinds: &'static [AnomalyKind],
    pub days: u32,
    pub found: u32,
}

impl KindRecall {
    pub fn recall(&self) -> f64 {
        if self.days == 0 { 0.0 } else { f64::from(self.found) / f64::from(self.days) }
    }
}

/// The measurement over `dogs` dogs.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyReport {
    pub dogs: u32,
    pub kinds: Vec<KindRecall>,
    /// Weeks with nothing injected, after each dog's first week (its baseline's).
    pub normal_dog_weeks: u32,
    /// Anomalies raised on those weeks, by kind.
    pub false_alarms: Vec<(AnomalyKind, u32)>,
}

impl AnomalyReport {
    pub fn false_alarms_per_dog_week(&self) -> f64 {
        let total: u32 = self.false_alarms.iter().map(|(_, n)| n).sum();
        f64::from(total) / f64::from(self.normal_dog_weeks.max(1))
    }
}

/// Days with nothing injected per dog: a week to learn the dog, then the weeks counted.
pub const NORMAL_DAYS: u32 = 21;
/// The strengths each kind is injected at: as documented, half and a quarter as strong.
pub const SEVERITIES: [f64; 3] = [1.0, 0.5, 0.25];
/// The day each kind is injected on, in a run of its own after two normal weeks.
const INJECTED_ON: u32 = 14;

/// The kinds `petty eval anomalies` injects, as a scenario for the injected day.
/// What is injected, what the detector should say (any of it), and the scenario.
type Injection = (&'static str, &'static [AnomalyKind], Scenario);

fn injections(severity: f64) -> Vec<Injection> {
    let d = vec![INJECTED_ON];
    let default = Scenario { severity: Some(severity), ..Scenario::default() };
    let mut all: Vec<Injection> = vec![
        (
            "fever-like heart rate at rest",
            &[AnomalyKind::ElevatedRestingHeartRate],
            Scenario { elevated_resting_hr_days: d.clone(), ..default.clone() },
        ),
        // A lethargic day sleeps the daytime away and hardly moves: either says so.
        (
            "lethargy",
            &[AnomalyKind::DaytimeInactivity, AnomalyKind::ActivityDrop],
            Scenario { lethargic_days: d.clone(), ..default.clone() },
        ),
        (
            "restless night",
            &[AnomalyKind::RestlessNight],
            Scenario { restless_night_days: d.clone(), ..default.clone() },
        ),
        (
            "excessive scratching",
            &[AnomalyKind::Scratching],
            Scenario { scratching_spree_days: d.clone(), ..default.clone() },
        ),
        ("a limp", &[AnomalyKind::GaitChange], Scenario { limp_days: d, ..default.clone() }),
    ];
    // Lethargy has one strength (severity does not scale it): measured once.
    all.retain(|(what, _, _)| severity >= 1.0 || *what != "lethargy");
    all
}

/// Injects each kind into `dogs` dogs (seeds derived from `seed`) and counts normal weeks' false
/// alarms, with `model`.
pub fn anomaly_eval(model: &Forest, dogs: u32, seed: u64) -> AnomalyReport {
    let mut kinds: Vec<KindRecall> = SEVERITIES
        .iter()
        .flat_map(|severity| {
            injections(*severity).into_iter().map(|(injected, kinds, _)| KindRecall {
                injected,
                severity: *severity,
                kinds,
                days: 0,
                found: 0,
            })
        })
        .collect();
    let mut false_alarms: Vec<(AnomalyKind, u32)> = AnomalyKind::ALL.iter().map(|k| (*k, 0)).collect();
    let mut normal_dog_weeks = 0;
    for dog in 0..dogs {
        let dog_seed = mix(seed, 0xA40 + u64::from(dog));
        for (d, found) in run_days(model, dog_seed, NORMAL_DAYS, &Scenario::default(), |_| None) {
            if d >= 7 {
                for a in found {
                    if let Some(f) = false_alarms.iter_mut().find(|(k, _)| *k == a.kind) {
                        f.1 += 1;
                    }
                }
            }
        }
        normal_dog_weeks += (NORMAL_DAYS - 7) / 7;
        let all = SEVERITIES.iter().flat_map(|severity| injections(*severity));
        for (i, (_, wanted, scenario)) in all.enumerate() {
            let days = run_days(model, dog_seed, INJECTED_ON + 1, &scenario, |_| None);
            kinds[i].days += 1;
            if days[INJECTED_ON as usize].1.iter().any(|a| wanted.contains(&a.kind)) {
                kinds[i].found += 1;
            }
        }
    }
    false_alarms.retain(|(_, n)| *n > 0);
    AnomalyReport { dogs, kinds, normal_dog_weeks, false_alarms }
}

impl fmt::Display for AnomalyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "anomalies on {} simulated dogs, a reading a minute", self.dogs)?;
        writeln!(
            f,
            "{:<30} {:>8} {:<38} {:>6} {:>6} {:>7}",
            "injected", "strength", "looked for", "days", "found", "recall"
        )?;
        for k in &self.kinds {
            let looked_for: Vec<&str> = k.kinds.iter().map(|k| k.as_str()).collect();
            let looked_for = looked_for.join(" or ");
            writeln!(
                f,
                "{:<30} {:>8.2} {looked_for:<38} {:>6} {:>6} {:>7.2}",
                k.injected,
                k.severity,
                k.days,
                k.found,
                k.recall()
            )?;
        }
        let total: u32 = self.false_alarms.iter().map(|(_, n)| n).sum();
        writeln!(
            f,
            "false alarms: {total} in {} dog-weeks with nothing injected ({:.2} a dog-week)",
            self.normal_dog_weeks,
            self.false_alarms_per_dog_week()
        )?;
        for (kind, n) in &self.false_alarms {
            writeln!(f, "  {:<28} {n}", kind.as_str())?;
        }
        Ok(())
    }
}
