//! The Petty seed's rule-based interpreter (its `model_version` "1.0.0"), reproduced exactly as
//! `shared/compat/petty.md` describes it: three rules over a collar's recent points, each
//! producing at most one event with a fixed confidence and its evidence as text.
//!
//! - **Deep Sleep** (0.9): the resting points (activity level 0), at least 4, whose heart rate
//!   has a population standard deviation under the sleep threshold (3.0) and a mean of 40–65.
//! - **Anxious Pacing** (0.75): the active points (level 1), at least 6 with a position, all
//!   within the pacing radius (0.0007°) of their centroid, with a mean heart rate of 70–110.
//! - **Playing Fetch** (0.8): at least 2 cycles, counted by walking the points in time order
//!   and remembering the latest vigorous point (level 2, "the throw"): a resting point more than
//!   the fetch distance (0.001°) from the remembered throw counts a cycle and forgets the throw.
//!
//! Distances are Euclidean in degrees of (longitude, latitude), as the seed computed them.
//! Evidence numbers are written as Python's `str()` writes the seed's rounded values
//! ([`python_text`]), because that text is what the seed's app shows.
//! Pure: no clock, no I/O. The compatibility timeline calls it; the learned classifier of
//! issue 4 is separate.

use std::collections::BTreeMap;

use time::OffsetDateTime;

/// The version the seed's clients see on every interpreted timeline.
pub const MODEL_VERSION: &str = "1.0.0";
/// The most points one interpretation reads; the rest are ignored.
pub const MAX_POINTS: usize = 1000;
/// The most events one interpretation returns.
pub const MAX_EVENTS: usize = 50;

/// One valid collar point, as the seed's payload carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub timestamp: OffsetDateTime,
    /// Beats per minute.
    pub heart_rate: f64,
    /// 0 rest, 1 active, 2 vigorous.
    pub activity_level: u8,
    /// (longitude, latitude) in degrees, when the collar had a fix.
    pub position: Option<(f64, f64)>,
}

/// The three configurable thresholds; the defaults are the seed's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Deep Sleep: the heart rate's population standard deviation must be below this.
    pub sleep_heart_rate_std: f64,
    /// Anxious Pacing: every position must lie closer than this (degrees) to the centroid.
    pub pacing_radius_deg: f64,
    /// Playing Fetch: a cycle's rest point must be farther than this (degrees) from the remembered throw.
    pub fetch_distance_deg: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { sleep_heart_rate_std: 3.0, pacing_radius_deg: 0.0007, fetch_distance_deg: 0.001 }
    }
}

/// What a rule found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    DeepSleep,
    AnxiousPacing,
    PlayingFetch,
}

impl Behavior {
    /// The name the seed's clients show.
    pub fn label(self) -> &'static str {
        match self {
            Behavior::DeepSleep => "Deep Sleep",
            Behavior::AnxiousPacing => "Anxious Pacing",
            Behavior::PlayingFetch => "Playing Fetch",
        }
    }

    /// The rule's constant confidence.
    pub fn confidence(self) -> f64 {
        match self {
            Behavior::DeepSleep => 0.9,
            Behavior::AnxiousPacing => 0.75,
            Behavior::PlayingFetch => 0.8,
        }
    }
}

/// One interpreted event: when, what, and the evidence (values as text, as the seed sent them).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub timestamp: OffsetDateTime,
    pub behavior: Behavior,
    pub metadata: BTreeMap<&'static str, String>,
}

/// Runs the three rules over the first [`MAX_POINTS`] points, in the seed's order.
pub fn interpret(points: &[Point], thresholds: &Thresholds) -> Vec<Event> {
    let points = &points[..points.len().min(MAX_POINTS)];
    let mut events: Vec<Event> =
        [deep_sleep(points, thresholds), anxious_pacing(points, thresholds), playing_fetch(points, thresholds)]
            .into_iter()
            .flatten()
            .collect();
    events.truncate(MAX_EVENTS);
    events
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn population_std(values: &[f64]) -> f64 {
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

fn deep_sleep(points: &[Point], thresholds: &Thresholds) -> Option<Event> {
    let resting: Vec<&Point> = points.iter().filter(|p| p.activity_level == 0).collect();
    if resting.len() < 4 {
        return None;
    }
    let rates: Vec<f64> = resting.iter().map(|p| p.heart_rate).collect();
    let (m, std) = (mean(&rates), population_std(&rates));
    if std >= thresholds.sleep_heart_rate_std || !(40.0..=65.0).contains(&m) {
        return None;
    }
    Some(Event {
        timestamp: resting[0].timestamp,
        behavior: Behavior::DeepSleep,
        metadata: BTreeMap::from([
            ("heart_rate_mean", mean_text(&rates)),
            ("heart_rate_std", python_text(python_round(std, 2))),
            ("duration_points", resting.len().to_string()),
        ]),
    })
}

fn anxious_pacing(points: &[Point], thresholds: &Thresholds) -> Option<Event> {
    let active: Vec<&Point> = points.iter().filter(|p| p.activity_level == 1).collect();
    let positions: Vec<(f64, f64)> = active.iter().filter_map(|p| p.position).collect();
    if positions.len() < 6 {
        return None;
    }
    let centroid = (
        positions.iter().map(|p| p.0).sum::<f64>() / positions.len() as f64,
        positions.iter().map(|p| p.1).sum::<f64>() / positions.len() as f64,
    );
    let radius = positions.iter().map(|&p| distance(p, centroid)).fold(0.0, f64::max);
    let rates: Vec<f64> = active.iter().map(|p| p.heart_rate).collect();
    let rate = mean(&rates);
    if radius >= thresholds.pacing_radius_deg || !(70.0..=110.0).contains(&rate) {
        return None;
    }
    Some(Event {
        timestamp: active[0].timestamp,
        behavior: Behavior::AnxiousPacing,
        metadata: BTreeMap::from([
            ("movement_radius", python_text(python_round(radius, 6))),
            ("heart_rate_mean", mean_text(&rates)),
            ("activity_points", active.len().to_string()),
        ]),
    })
}

fn playing_fetch(points: &[Point], thresholds: &Thresholds) -> Option<Event> {
    let mut sorted: Vec<&Point> = points.iter().collect();
    sorted.sort_by_key(|p| p.timestamp);
    // The seed's walk: one remembered throw, replaced by every later one and forgotten when a
    // far rest completes its cycle. Points without a position (the seed had none) change nothing.
    let mut throw: Option<(f64, f64)> = None;
    let mut cycles = 0usize;
    for point in &sorted {
        let Some(position) = point.position else { continue };
        match point.activity_level {
            2 => throw = Some(position),
            0 if throw.is_some_and(|from| distance(from, position) > thresholds.fetch_distance_deg) => {
                cycles += 1;
                throw = None;
            }
            _ => {}
        }
    }
    if cycles < 2 {
        return None;
    }
    Some(Event {
        timestamp: sorted[0].timestamp,
        behavior: Behavior::PlayingFetch,
        metadata: BTreeMap::from([("fetch_cycles", cycles.to_string()), ("data_points", sorted.len().to_string())]),
    })
}

/// The seed's mean heart rate as text: Python's `statistics.mean` keeps a whole mean of whole
/// numbers an integer (`"97"`); any other mean is a float rounded to 1 decimal (`"50.4"`, `"97.0"`
/// when fractional rates average to a whole number).
fn mean_text(rates: &[f64]) -> String {
    let m = mean(rates);
    // Whole rates below 2^53 sum exactly, and their quotient is exact when it is whole.
    if rates.iter().all(|r| r.fract() == 0.0) && m.fract() == 0.0 {
        return format!("{m}");
    }
    python_text(python_round(m, 1))
}

/// Python's `round(value, digits)` for a float: the nearest float to the decimal rounded half to
/// even on the exact binary value, which is what Rust's fixed-precision formatting computes.
fn python_round(value: f64, digits: usize) -> f64 {
    format!("{value:.digits$}").parse().unwrap_or(value)
}

/// A float as Python's `str()`/`repr()` writes it: the shortest digits that read back to the
/// same float, in fixed notation with at least one decimal (`97.0`, `0.000571`) when the decimal
/// exponent is in -4..16, else in exponent notation with a signed, two-digit exponent
/// (`7.9e-05`, `1e+16`).
fn python_text(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // `{:e}` writes the shortest round-trip digits as `-d.ddde-N`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if value < 0.0 { "-" } else { "" };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let magnitude = exponent.unsigned_abs() as usize;
    if (-4..16).contains(&exponent) {
        if exponent < 0 {
            let zeros = "0".repeat(magnitude - 1);
            return format!("{sign}0.{zeros}{digits}");
        }
        let point = magnitude + 1;
        let (int_part, frac_part) = if digits.len() > point {
            (digits[..point].to_owned(), digits[point..].to_owned())
        } else {
            (format!("{digits}{}", "0".repeat(point - digits.len())), "0".to_owned())
        };
        return format!("{sign}{int_part}.{frac_part}");
    }
    let (first, rest) = digits.split_at(1);
    let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
    let exponent_sign = if exponent < 0 { '-' } else { '+' };
    format!("{sign}{first}{fraction}e{exponent_sign}{magnitude:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-08-18 14:30 UTC);
    const HOME: (f64, f64) = (-74.0060, 40.7128);

    fn point(minute: i64, heart_rate: f64, activity_level: u8, position: Option<(f64, f64)>) -> Point {
        Point { timestamp: T0 + time::Duration::minutes(minute), heart_rate, activity_level, position }
    }

    fn resting(rates: &[f64]) -> Vec<Point> {
        rates.iter().enumerate().map(|(i, &hr)| point(i as i64, hr, 0, Some(HOME))).collect()
    }

    fn only(events: &[Event]) -> &Event {
        assert_eq!(events.len(), 1, "{events:#?}");
        &events[0]
    }

    #[test]
    fn deep_sleep_worked_examples() {
        let events = interpret(&resting(&[50.0, 51.0, 50.0, 51.0, 50.0]), &Thresholds::default());
        let event = only(&events);
        assert_eq!((event.behavior.label(), event.behavior.confidence(), event.timestamp), ("Deep Sleep", 0.9, T0));
        assert_eq!(event.metadata["heart_rate_mean"], "50.4");
        assert_eq!(event.metadata["heart_rate_std"], "0.49");
        assert_eq!(event.metadata["duration_points"], "5");
        // Three points are too few; a spread-out heart rate is not deep sleep.
        assert!(interpret(&resting(&[50.0, 51.0, 50.0]), &Thresholds::default()).is_empty());
        assert!(interpret(&resting(&[45.0, 60.0, 50.0, 55.0, 48.0]), &Thresholds::default()).is_empty());
    }

    #[test]
    fn deep_sleep_edges() {
        // Exactly four points; a mean at each end of 40–65 counts, just outside does not.
        assert_eq!(interpret(&resting(&[40.0; 4]), &Thresholds::default()).len(), 1);
        assert_eq!(interpret(&resting(&[65.0; 4]), &Thresholds::default()).len(), 1);
        assert!(interpret(&resting(&[39.9; 4]), &Thresholds::default()).is_empty());
        assert!(interpret(&resting(&[65.1; 4]), &Thresholds::default()).is_empty());
        // A standard deviation of exactly 3.0 is not below 3.0; a looser threshold lets it in.
        let rates = [47.0, 53.0, 47.0, 53.0];
        assert!(interpret(&resting(&rates), &Thresholds::default()).is_empty());
        let loose = Thresholds { sleep_heart_rate_std: 3.5, ..Thresholds::default() };
        assert_eq!(only(&interpret(&resting(&rates), &loose)).metadata["heart_rate_std"], "3.0");
        // Other activity levels do not count towards the resting points, and the event is at
        // the first resting point.
        let mut points = vec![point(0, 120.0, 2, Some(HOME))];
        points.extend(
            resting(&[50.0; 4]).into_iter().map(|p| Point { timestamp: p.timestamp + time::Duration::minutes(1), ..p }),
        );
        let event = only(&interpret(&points, &Thresholds::default())).clone();
        assert_eq!(
            (event.timestamp, event.metadata["duration_points"].as_str()),
            (T0 + time::Duration::minutes(1), "4")
        );
    }

    fn pacing(n: usize, heart_rate: f64, step: f64) -> Vec<Point> {
        (0..n)
            .map(|i| {
                let lon = if i % 2 == 0 { HOME.0 } else { HOME.0 + step };
                point(i as i64, heart_rate, 1, Some((lon, HOME.1)))
            })
            .collect()
    }

    #[test]
    fn anxious_pacing_worked_example_and_edges() {
        let event = only(&interpret(&pacing(7, 85.0, 0.001), &Thresholds::default())).clone();
        assert_eq!((event.behavior.label(), event.behavior.confidence()), ("Anxious Pacing", 0.75));
        assert_eq!(event.metadata["movement_radius"], "0.000571");
        // A whole mean of whole heart rates is written as an integer, as the seed's app shows it.
        assert_eq!(event.metadata["heart_rate_mean"], "85");
        assert_eq!(event.metadata["activity_points"], "7");
        // Six positions are enough, five are not (a point without a fix does not count).
        assert_eq!(interpret(&pacing(6, 85.0, 0.001), &Thresholds::default()).len(), 1);
        let mut five = pacing(6, 85.0, 0.001);
        five[5].position = None;
        assert!(interpret(&five, &Thresholds::default()).is_empty());
        // Wider movement, or a calm or racing heart, is not pacing.
        assert!(interpret(&pacing(7, 85.0, 0.002), &Thresholds::default()).is_empty());
        assert!(interpret(&pacing(7, 69.0, 0.001), &Thresholds::default()).is_empty());
        assert!(interpret(&pacing(7, 111.0, 0.001), &Thresholds::default()).is_empty());
        // The radius is configurable.
        let tight = Thresholds { pacing_radius_deg: 0.0005, ..Thresholds::default() };
        assert!(interpret(&pacing(7, 85.0, 0.001), &tight).is_empty());
    }

    #[test]
    fn playing_fetch_counts_runs_out_and_rests_far_away() {
        let far = (HOME.0 + 0.002, HOME.1);
        // Two throws: a sprint from home, a rest far away, and again. Given out of order.
        let points = vec![
            point(3, 90.0, 0, Some(far)),
            point(0, 140.0, 2, Some(HOME)),
            point(1, 95.0, 0, Some(far)),
            point(2, 150.0, 2, Some(HOME)),
        ];
        let event = only(&interpret(&points, &Thresholds::default())).clone();
        assert_eq!((event.behavior.label(), event.behavior.confidence(), event.timestamp), ("Playing Fetch", 0.8, T0));
        assert_eq!(event.metadata["fetch_cycles"], "2");
        assert_eq!(event.metadata["data_points"], "4");
        // One cycle is not play; a rest close to the start is not a cycle; an earlier rest
        // does not complete a later sprint.
        assert!(interpret(&points[..3], &Thresholds::default()).is_empty());
        let near = vec![
            point(0, 140.0, 2, Some(HOME)),
            point(1, 95.0, 0, Some((HOME.0 + 0.0009, HOME.1))),
            point(2, 150.0, 2, Some(HOME)),
            point(3, 90.0, 0, Some(far)),
        ];
        assert!(
            interpret(&near, &Thresholds::default()).is_empty(),
            "a close rest is no cycle, and the second throw replaced the first: one cycle"
        );
        let rest_first =
            vec![point(0, 90.0, 0, Some(far)), point(1, 140.0, 2, Some(HOME)), point(2, 150.0, 2, Some(HOME))];
        assert!(interpret(&rest_first, &Thresholds::default()).is_empty());
        let short = Thresholds { fetch_distance_deg: 0.003, ..Thresholds::default() };
        assert!(interpret(&points, &short).is_empty());
    }

    #[test]
    fn playing_fetch_walks_once_remembering_the_latest_throw() {
        let far = (HOME.0 + 0.002, HOME.1);
        let near = (HOME.0 + 0.0005, HOME.1);
        // The contract's example: two throws, then one far rest, are one cycle, not two.
        let twice_then_rest =
            vec![point(0, 140.0, 2, Some(HOME)), point(1, 150.0, 2, Some(HOME)), point(2, 90.0, 0, Some(far))];
        assert!(interpret(&twice_then_rest, &Thresholds::default()).is_empty());
        // Alternating throws and far rests: each pair is a cycle.
        let alternating: Vec<Point> = (0..6)
            .map(|i| if i % 2 == 0 { point(i, 140.0, 2, Some(HOME)) } else { point(i, 90.0, 0, Some(far)) })
            .collect();
        let event = only(&interpret(&alternating, &Thresholds::default())).clone();
        assert_eq!(event.behavior, Behavior::PlayingFetch);
        assert_eq!(event.metadata["fetch_cycles"], "3");
        assert_eq!(event.metadata["data_points"], "6");
        // A far rest with no throw remembered (the last one was used) counts nothing.
        let mut rest_again = alternating[..4].to_vec();
        rest_again.push(point(4, 90.0, 0, Some(far)));
        assert_eq!(only(&interpret(&rest_again, &Thresholds::default())).metadata["fetch_cycles"], "2");
        // Close rests and active points change nothing: the throw is still remembered after them.
        let kept = vec![
            point(0, 140.0, 2, Some(HOME)),
            point(1, 95.0, 0, Some(near)),
            point(2, 110.0, 1, Some(far)),
            point(3, 90.0, 0, Some(far)),
            point(4, 140.0, 2, Some(HOME)),
            point(5, 110.0, 1, Some(HOME)),
            point(6, 90.0, 0, Some(far)),
        ];
        let event = only(&interpret(&kept, &Thresholds::default())).clone();
        assert_eq!((event.metadata["fetch_cycles"].as_str(), event.timestamp), ("2", T0));
        // The walk is in time order whatever order the points came in.
        let mut shuffled = kept.clone();
        shuffled.reverse();
        assert_eq!(only(&interpret(&shuffled, &Thresholds::default())).metadata["fetch_cycles"], "2");
    }

    #[test]
    fn evidence_is_written_as_python_writes_the_rounded_number() {
        // The contract's examples: a whole mean of whole heart rates, a tiny radius, a small one.
        let event = only(&interpret(&pacing(7, 97.0, 0.001), &Thresholds::default())).clone();
        assert_eq!(event.metadata["heart_rate_mean"], "97");
        let event = only(&interpret(&pacing(7, 85.0, 0.000138), &Thresholds::default())).clone();
        assert_eq!(event.metadata["movement_radius"], "7.9e-05");
        // Whole rates whose mean is not whole keep one decimal; a zero spread is a float.
        let event = only(&interpret(&resting(&[50.0; 4]), &Thresholds::default())).clone();
        assert_eq!(
            (event.metadata["heart_rate_mean"].as_str(), event.metadata["heart_rate_std"].as_str()),
            ("50", "0.0")
        );
        let event = only(&interpret(&resting(&[50.0, 51.0, 50.0, 51.0]), &Thresholds::default())).clone();
        assert_eq!(event.metadata["heart_rate_mean"], "50.5");
        // Fractional rates averaging to a whole number are a float mean, as in Python.
        let event = only(&interpret(&resting(&[49.5, 50.5, 49.5, 50.5]), &Thresholds::default())).clone();
        assert_eq!(event.metadata["heart_rate_mean"], "50.0");
    }

    #[test]
    fn python_text_matches_python_repr() {
        // Each right-hand side is what CPython 3 prints for `repr(float)`.
        for (value, python) in [
            (97.0, "97.0"),
            (50.4, "50.4"),
            (0.49, "0.49"),
            (0.000571, "0.000571"),
            (0.000079, "7.9e-05"),
            (-0.000079, "-7.9e-05"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567890.0, "1.2345678901234567e+19"),
            (123.456, "123.456"),
            (-0.5, "-0.5"),
            (0.0, "0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(python_text(value), python, "{value:e}");
        }
        // Python's round: half to even on the exact binary value.
        for (value, digits, python) in [(0.125, 2, "0.12"), (0.375, 2, "0.38"), (50.45, 1, "50.5"), (2.5, 0, "2.0")] {
            assert_eq!(python_text(python_round(value, digits)), python);
        }
    }

    #[test]
    fn rules_run_together_in_order_over_at_most_1000_points() {
        let mut points = resting(&[50.0; 4]);
        points.extend(pacing(6, 85.0, 0.0001));
        let labels: Vec<&str> = interpret(&points, &Thresholds::default()).iter().map(|e| e.behavior.label()).collect();
        assert_eq!(labels, ["Deep Sleep", "Anxious Pacing"]);
        // Points past the first 1,000 are not read.
        let mut many = vec![point(0, 120.0, 2, None); MAX_POINTS];
        many.extend(resting(&[50.0; 4]));
        assert!(interpret(&many, &Thresholds::default()).is_empty());
        assert!(interpret(&[], &Thresholds::default()).is_empty());
    }
}
