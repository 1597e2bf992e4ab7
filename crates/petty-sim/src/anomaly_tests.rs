//! Anomalies found in simulated weeks, end to end through the same pure pipeline the server
//! runs for each pet-day: built-in model → episodes → day summary → 7- and 30-day baselines →
//! `anomalies::detect`. Injected anomalies must be found on their day; normal weeks raise none.

use petty_core::anomalies::{self, Anomaly, AnomalyKind, DeviceState};
use petty_core::baselines::{self, DaySummary};
use petty_core::behaviour::{Forest, Sample, segment};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::Scenario;
use crate::labelled::labelled_days;

/// 2026-10-05T00:00:00Z.
const START_MS: i64 = 1_791_158_400_000;
const DAY_MS: i64 = 86_400_000;
const INTERVAL_MS: i64 = 60_000;

fn date_of(ms: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(ms / 1000).map(|t| t.date()).unwrap_or(Date::MIN)
}

/// Runs the server's per-day pass over `days` days of a dog and answers each day's anomalies.
/// `at` picks, per day, the moment the device state is judged (end of day by default).
fn run(seed: u64, days: u32, scenario: &Scenario, at: impl Fn(u32) -> Option<i64>) -> Vec<(u32, Vec<Anomaly>)> {
    let samples: Vec<Sample> =
        labelled_days(seed, START_MS, days, INTERVAL_MS, scenario).into_iter().map(|(s, _)| s).collect();
    let model = Forest::builtin();
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

fn kinds(found: &[Anomaly]) -> Vec<AnomalyKind> {
    found.iter().map(|a| a.kind).collect()
}

/// Issue 19's target: at most one false alarm per dog-week on weeks with nothing injected. The
/// model errs as a collar's does (a shake taken for a scratch), so a rare false alarm is the
/// honest figure; each week of each dog is held to the target on its own.
#[test]
fn normal_simulated_weeks_raise_at_most_one_false_alarm_a_dog_week() {
    let mut total = 0;
    for seed in [1, 2, 3] {
        let found = run(seed, 21, &Scenario::default(), |_| None);
        for week in found.chunks(7) {
            let alarms: Vec<(u32, &String)> =
                week.iter().flat_map(|(d, f)| f.iter().map(move |a| (*d, &a.explanation))).collect();
            println!("dog {seed}, days {}-{}: {alarms:?}", week[0].0, week[week.len() - 1].0);
            assert!(alarms.len() <= 1, "dog {seed}: {alarms:?}");
            total += alarms.len();
        }
    }
    println!("{total} false alarms in 9 dog-weeks");
}

#[test]
fn injected_anomalies_are_found_on_their_day() {
    let scenario = Scenario {
        elevated_resting_hr_days: vec![15],
        lethargic_days: vec![17],
        restless_night_days: vec![19],
        scratching_spree_days: vec![21],
        silent: vec![(23, 10, 6)],
        ..Scenario::default()
    };
    // The silent collar is judged while it is silent, 3 hours in.
    let at = |d: u32| (d == 23).then_some(START_MS + 23 * DAY_MS + 13 * 3_600_000);
    let days = run(5, 25, &scenario, at);
    let on = |d: u32| kinds(&days[d as usize].1);
    assert!(on(15).contains(&AnomalyKind::ElevatedRestingHeartRate), "day 15: {:?}", days[15].1);
    assert!(on(17).contains(&AnomalyKind::DaytimeInactivity), "day 17: {:?}", days[17].1);
    assert!(on(19).contains(&AnomalyKind::RestlessNight), "day 19: {:?}", days[19].1);
    assert!(on(21).contains(&AnomalyKind::Scratching), "day 21: {:?}", days[21].1);
    assert!(on(23).contains(&AnomalyKind::SilentCollar), "day 23: {:?}", days[23].1);
    // Before the first injection, nothing.
    for (day, found) in &days[..15] {
        assert!(found.is_empty(), "day {day}: {found:?}");
    }
    // Every anomaly explains itself with its number.
    for (_, found) in &days {
        for a in found {
            assert!(a.explanation.contains("Bella"), "{}", a.explanation);
        }
    }
}
