//! Anomalies found in simulated weeks, end to end through the same pure pipeline the server
//! runs for each pet-day: built-in model → episodes → day summary → 7- and 30-day baselines →
//! `anomalies::detect`. Injected anomalies must be found on their day; normal weeks raise none.

use petty_core::anomalies::{Anomaly, AnomalyKind};
use petty_core::behaviour::Forest;

use crate::Scenario;
use crate::anomaly_eval::{START_MS, anomaly_eval, run_days};

const DAY_MS: i64 = 86_400_000;

fn run(seed: u64, days: u32, scenario: &Scenario, at: impl Fn(u32) -> Option<i64>) -> Vec<(u32, Vec<Anomaly>)> {
    run_days(Forest::builtin(), seed, days, scenario, at)
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
        limp_days: vec![25],
        ..Scenario::default()
    };
    // The silent collar is judged while it is silent, 3 hours in.
    let at = |d: u32| (d == 23).then_some(START_MS + 23 * DAY_MS + 13 * 3_600_000);
    let days = run(5, 26, &scenario, at);
    let on = |d: u32| kinds(&days[d as usize].1);
    assert!(on(15).contains(&AnomalyKind::ElevatedRestingHeartRate), "day 15: {:?}", days[15].1);
    assert!(on(17).contains(&AnomalyKind::DaytimeInactivity), "day 17: {:?}", days[17].1);
    assert!(on(19).contains(&AnomalyKind::RestlessNight), "day 19: {:?}", days[19].1);
    assert!(on(21).contains(&AnomalyKind::Scratching), "day 21: {:?}", days[21].1);
    assert!(on(23).contains(&AnomalyKind::SilentCollar), "day 23: {:?}", days[23].1);
    assert!(on(25).contains(&AnomalyKind::GaitChange), "day 25: {:?}", days[25].1);
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

/// `petty eval anomalies`' measurement, on a few dogs: every injected kind at full strength is
/// found on most of its days (half strength is measured, not held to a floor), and normal weeks
/// stay within issue 19's target of one false alarm a dog-week.
#[test]
fn the_anomaly_evaluation_measures_recall_and_false_alarms() {
    let report = anomaly_eval(Forest::builtin(), 3, 19);
    println!("{report}");
    assert_eq!(report.kinds.len(), 13, "five kinds, four of them at three strengths");
    for k in &report.kinds {
        assert_eq!(k.days, 3);
        if k.severity >= 1.0 {
            assert!(k.recall() >= 2.0 / 3.0, "{}: {k:?}", k.injected);
        }
    }
    assert_eq!(report.normal_dog_weeks, 6);
    assert!(report.false_alarms_per_dog_week() <= 1.0, "{report}");
}
