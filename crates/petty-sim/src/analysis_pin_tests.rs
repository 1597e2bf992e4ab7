//! The behaviour analysis of a day must give what it gave before it was made faster (issue 18,
//! third part): the same episodes (labels, times, confidences, features, model version), the
//! same epoch features and the same day summary, bit for bit. The old code is kept verbatim in
//! `benches/support/analysis_reference.rs` (the bench times it as its baseline); these tests run
//! both on simulated days: a 1 Hz day with and without accelerometer features, and a sparse day
//! (a reading a minute) with gaps, holes in every measurement, odd values, repeated timestamps,
//! shuffled order and a calibration, in three local clocks.

#[path = "../benches/support/analysis_reference.rs"]
mod reference;

use petty_core::baselines::{self, DaySummary, LocalClock};
use petty_core::behaviour::calibrate::{Calibration, Feedback, Verdict};
use petty_core::behaviour::{self, Behaviour, Columns, Episode, Forest, Sample, segment};
use petty_core::recurrence::Zone;
use time::macros::{date, offset};
use time::{Date, UtcOffset};

use crate::Scenario;
use crate::labelled::labelled_days;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// Simulated samples of dog `seed` with `from_ms <= ts < to_ms`, one every `interval_ms`.
fn simulate(seed: u64, from_ms: i64, to_ms: i64, interval_ms: i64) -> Vec<Sample> {
    let days = ((to_ms - from_ms + DAY - 1) / DAY) as u32;
    labelled_days(seed, from_ms, days, interval_ms, &Scenario::default())
        .into_iter()
        .map(|(s, _)| s)
        .filter(|s| s.ts_ms < to_ms)
        .collect()
}

/// A small deterministic generator for the perturbations.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Holes in every measurement, values the analysis must skip or keep, repeated timestamps,
/// readings off the minute, and a shuffled order.
fn perturb(samples: &[Sample], seed: u64) -> Vec<Sample> {
    let mut rng = Lcg(seed);
    let mut out = Vec::with_capacity(samples.len() + samples.len() / 20);
    for s in samples {
        let mut s = *s;
        match rng.below(40) {
            0 => s.heart_rate = None,
            1 => s.heart_rate = Some(f64::NAN),
            2 => s.respiration_rate = None,
            3 => s.respiration_rate = Some(f64::INFINITY),
            4 => s.steps = None,
            5 => s.steps = Some(-3.0),
            6 => s.activity_level = None,
            7 => s.lon = None,
            8 => s.accel = None,
            9 => {
                if let Some(a) = &mut s.accel {
                    a.odba = f64::NAN;
                }
            }
            10 => s.activity_counts = Some(f64::INFINITY),
            11 => s.activity_counts = None,
            12 => s.ts_ms += 17_000,
            13 => s.heart_rate = Some(0.0),
            14 => {
                if let Some(a) = &mut s.accel {
                    a.pitch_deg = -80.0;
                    a.odba = a.odba * 3.0 + 0.5;
                }
            }
            15 => {
                // Another reading at the same time, from a second collar.
                out.push(Sample { heart_rate: s.heart_rate.map(|v| v + 7.0), steps: Some(11.0), ..s });
            }
            _ => {}
        }
        out.push(s);
    }
    // Shuffle (Fisher–Yates).
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

/// Episodes as another caller might hand them to `summarise_day`: edges off the minute, some
/// overlapping, in no order.
fn odd_episodes(episodes: &[Episode]) -> Vec<Episode> {
    let mut out: Vec<Episode> = episodes
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut e = e.clone();
            match i % 5 {
                0 => e.start_ms += 17_000,
                1 => e.end_ms -= 29_000,
                2 => e.end_ms += 90_000,
                _ => {}
            }
            e
        })
        .collect();
    out.reverse();
    out
}

/// A calibration from owners' feedback on some of the episodes.
fn calibration(samples: &[Sample], episodes: &[Episode]) -> Calibration {
    let mut sorted = samples.to_vec();
    sorted.sort_by_key(|s| s.ts_ms);
    let feedback: Vec<Feedback> = episodes
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .filter_map(|(i, e)| {
            let features = reference::episode_mean_features(&sorted, e.start_ms, e.end_ms)?;
            let verdict = match i % 4 {
                0 => Verdict::Confirmed,
                1 => Verdict::Wrong,
                _ => Verdict::Relabelled(Behaviour::ALL[(e.label.index() + 3) % Behaviour::ALL.len()]),
            };
            let epochs = ((e.end_ms - e.start_ms) / behaviour::EPOCH_MS).max(1) as usize;
            Some(Feedback { label: e.label, verdict, features, epochs })
        })
        .collect();
    assert!(feedback.len() >= 3, "too little feedback to calibrate: {}", feedback.len());
    Calibration::from_feedback(&feedback)
}

/// Bit for bit (`{:?}` prints the shortest text that reads back to the same `f64`, and tells
/// `-0.0` and NaN apart); names the first difference.
fn same<T: std::fmt::Debug>(what: &str, new: &[T], old: &[T]) {
    assert_eq!(new.len(), old.len(), "{what}: {} items now, {} before", new.len(), old.len());
    for (i, (a, b)) in new.iter().zip(old).enumerate() {
        let (a, b) = (format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a, b, "{what}: item {i} differs");
    }
}

/// Runs the analysis, new and old, on `samples` for `day` in `clock`, and compares everything.
/// Answers the (old) episodes and summary, for the callers' checks that the day is not trivial.
fn compare(
    what: &str,
    day: Date,
    clock: impl LocalClock,
    samples: &[Sample],
    calibration: Option<&Calibration>,
) -> (Vec<Episode>, DaySummary) {
    let model = Forest::builtin();
    let old = reference::analyse(samples, model, calibration);
    let new = segment::analyse(samples, model, calibration);
    same(&format!("{what}: episodes"), &new, &old);

    let old_summary = reference::summarise_day(day, clock, samples, &old);
    let new_summary = baselines::summarise_day(day, clock, samples, &new);
    same(&format!("{what}: summary"), &[new_summary], std::slice::from_ref(&old_summary));

    // The same from columns the samples were pushed into one by one, in the order given (the
    // way the server reads a day).
    let mut columns = Columns::new();
    samples.iter().for_each(|s| columns.push(s));
    same(&format!("{what}: episodes from columns"), &segment::analyse_columns(&columns, model, calibration), &old);
    same(
        &format!("{what}: summary from columns"),
        &[baselines::summarise_columns(day, clock, &columns, &old)],
        std::slice::from_ref(&old_summary),
    );

    // Episodes from elsewhere (edges off the minute, overlapping, unordered), and none at all.
    let odd = odd_episodes(&old);
    same(
        &format!("{what}: summary of odd episodes"),
        &[baselines::summarise_day(day, clock, samples, &odd)],
        &[reference::summarise_day(day, clock, samples, &odd)],
    );
    same(
        &format!("{what}: summary without episodes"),
        &[baselines::summarise_day(day, clock, samples, &[])],
        &[reference::summarise_day(day, clock, samples, &[])],
    );

    // The samples already in time order (read where they are, a piece at a time).
    let mut sorted = samples.to_vec();
    sorted.sort_by_key(|s| s.ts_ms);
    same(&format!("{what}: episodes of sorted samples"), &segment::analyse(&sorted, model, calibration), &old);
    same(
        &format!("{what}: summary of sorted samples"),
        &[baselines::summarise_day(day, clock, &sorted, &old)],
        std::slice::from_ref(&old_summary),
    );
    same(
        &format!("{what}: summary of sorted samples without episodes"),
        &[baselines::summarise_day(day, clock, &sorted, &[])],
        &[reference::summarise_day(day, clock, samples, &[])],
    );

    // The epoch features and an episode's mean features (what feedback keeps).
    let old_epochs = reference::epoch_features(&sorted);
    let new_epochs: Vec<String> = behaviour::epoch_features(&sorted)
        .iter()
        .map(|e| format!("Epoch {{ start_ms: {}, n: {}, x: {:?} }}", e.start_ms, e.n, e.x))
        .collect();
    let old_epochs: Vec<String> =
        old_epochs.iter().map(|e| format!("Epoch {{ start_ms: {}, n: {}, x: {:?} }}", e.start_ms, e.n, e.x)).collect();
    same(&format!("{what}: epoch features"), &new_epochs, &old_epochs);
    for e in old.iter().step_by(7) {
        same(
            &format!("{what}: mean features of {}..{}", e.start_ms, e.end_ms),
            &[behaviour::episode_mean_features(&sorted, e.start_ms, e.end_ms)],
            &[reference::episode_mean_features(&sorted, e.start_ms, e.end_ms)],
        );
    }
    (old, old_summary)
}

fn labels(episodes: &[Episode]) -> usize {
    let mut seen: Vec<Behaviour> = episodes.iter().map(|e| e.label).collect();
    seen.sort();
    seen.dedup();
    seen.len()
}

/// 2026-11-22, a day of a 1 Hz collar, and the evening before it at a reading a minute (the
/// summary reads from 21:00 the day before).
fn one_hertz_day() -> (Date, Vec<Sample>) {
    let day = date!(2026 - 11 - 22);
    let (d0, d1) = baselines::day_window(day, UtcOffset::UTC);
    let mut samples = simulate(11, d0 - 4 * HOUR, d0, MIN);
    samples.extend(simulate(11, d0, d1, 1000));
    (day, samples)
}

#[test]
fn a_one_hertz_day_is_analysed_as_before() {
    let (day, samples) = one_hertz_day();
    // A reading a second, less those lost on the way (up to 6 %).
    assert!(samples.len() > 80_000, "{}", samples.len());
    let (episodes, summary) = compare("1 Hz, accelerometer", day, UtcOffset::UTC, &samples, None);
    assert!(
        episodes.len() >= 30 && labels(&episodes) >= 5,
        "{} episodes, {} labels",
        episodes.len(),
        labels(&episodes)
    );
    assert!(summary.resting_hr.is_some() && summary.respiration.is_some(), "{summary:?}");
    assert!(summary.sleep_minutes > 0.0 && summary.active_minutes > 0.0 && summary.steps > 0.0, "{summary:?}");
    assert!(summary.longest_daytime_inactive_min > 0.0, "{summary:?}");

    let without: Vec<Sample> = samples.iter().map(|s| Sample { accel: None, ..*s }).collect();
    // The built-in model, trained with accelerometer features, calls this whole day sleep; the
    // epoch features and the summary are compared all the same.
    let (episodes, _) = compare("1 Hz, no accelerometer", day, UtcOffset::UTC, &without, None);
    assert!(!episodes.is_empty());

    // Calibrated, in a time zone, on the day the clocks go back (25 hours), shuffled.
    let zone = Zone::parse("timezone", "Europe/Amsterdam").unwrap();
    let day = date!(2026 - 10 - 25);
    let (w0, d1) = baselines::input_window(day, &zone);
    let samples = perturb(&simulate(5, w0, d1, 1000), 1);
    let calibration = calibration(&samples, &reference::analyse(&samples, Forest::builtin(), None));
    let (episodes, summary) = compare("1 Hz, calibrated, Amsterdam", day, &zone, &samples, Some(&calibration));
    assert!(episodes.iter().all(|e| e.model_version.contains("+cal")));
    assert!(summary.minutes_covered > 1440.0, "{summary:?}");
}

#[test]
fn a_sparse_day_with_gaps_and_odd_values_is_analysed_as_before() {
    let day = date!(2026 - 03 - 10);
    for (n, clock) in [offset!(UTC), offset!(+5:45), offset!(-3)].into_iter().enumerate() {
        let (d0, _) = baselines::day_window(day, clock);
        // Two days around it, so there is more than the summary reads on both sides.
        let mut samples = simulate(20 + n as u64, d0 - DAY + 7 * 60_000, d0 + DAY + 13 * HOUR, MIN);
        // Silent 20 minutes at 02:00, 3 hours from 10:00, 7 minutes at 15:00.
        samples.retain(|s| {
            let t = s.ts_ms - d0;
            !((2 * HOUR..2 * HOUR + 20 * MIN).contains(&t)
                || (10 * HOUR..13 * HOUR).contains(&t)
                || (15 * HOUR..15 * HOUR + 7 * MIN).contains(&t))
        });
        let samples = perturb(&samples, 7 + n as u64);
        let what = format!("sparse, {clock}");
        let (episodes, summary) = compare(&what, day, clock, &samples, None);
        assert!(episodes.len() >= 20 && labels(&episodes) >= 4, "{what}: {} episodes", episodes.len());
        assert!(episodes.windows(2).any(|w| w[1].start_ms - w[0].end_ms > 5 * MIN), "{what}: no gap");
        assert!(summary.resting_hr.is_some() && summary.minutes_covered < 1440.0, "{what}: {summary:?}");

        let calibration = calibration(&samples, &episodes);
        compare(&format!("{what}, calibrated"), day, clock, &samples, Some(&calibration));
    }
    // Nothing, and a single reading.
    compare("empty", day, offset!(UTC), &[], None);
    let one = simulate(
        3,
        baselines::day_window(day, offset!(UTC)).0 + HOUR,
        baselines::day_window(day, offset!(UTC)).0 + HOUR + MIN,
        MIN,
    );
    assert_eq!(one.len(), 1);
    compare("one reading", day, offset!(UTC), &one, None);
}
