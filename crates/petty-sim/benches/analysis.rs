//! How long the behaviour analysis takes, on this machine, for the days issue 4 names:
//!
//! - a whole day of a 1 Hz collar (86,400 readings) end to end: accelerometer-free samples
//!   and samples with accelerometer features, through epoch features, the forest, smoothing and
//!   episodes (`segment::analyse`), and the day summary (`baselines::summarise_day`);
//! - the Petty seed's rule-based interpreter over a 144-point day (one point every 10 minutes),
//!   the input the upstream Python took about 0.46 ms for.
//!
//! ```text
//! cargo bench -p petty-sim --bench analysis -- [RUNS]
//! ```
//! Prints the median and the fastest of RUNS timed runs (default 30) after 3 warm-ups.

// Not `benches/timing.rs`: Cargo would take that for a bench of its own.
#[path = "support/timing.rs"]
mod timing;

use std::hint::black_box;

use timing::{runs, timed};

use petty_core::baselines;
use petty_core::behaviour::forest::Forest;
use petty_core::behaviour::segment;
use petty_core::seed_rules::{self, Point, Thresholds};
use time::{OffsetDateTime, UtcOffset};

fn main() {
    let runs = runs();
    let day = OffsetDateTime::now_utc().date() - time::Duration::days(1);
    let start = (day.midnight().assume_utc().unix_timestamp()) * 1000;
    let scenario = petty_sim::Scenario::default();

    let with_accel: Vec<_> =
        petty_sim::labelled_days(11, start, 1, 1000, &scenario).into_iter().map(|(s, _)| s).collect();
    let without_accel: Vec<_> =
        with_accel.iter().map(|s| petty_core::behaviour::Sample { accel: None, ..*s }).collect();
    println!("samples in the 1 Hz day: {}", with_accel.len());
    let model = Forest::builtin();
    for (label, samples) in
        [("1 Hz day, with accelerometer features", &with_accel), ("1 Hz day, without", &without_accel)]
    {
        timed(&format!("{label}: analyse"), runs, || segment::analyse(samples, model, None));
        let episodes = segment::analyse(samples, model, None);
        timed(&format!("{label}: summarise_day"), runs, || {
            baselines::summarise_day(day, UtcOffset::UTC, samples, &episodes)
        });
        timed(&format!("{label}: analyse + summarise_day"), runs, || {
            let episodes = segment::analyse(samples, model, None);
            baselines::summarise_day(day, UtcOffset::UTC, samples, &episodes)
        });
    }

    // The seed's input: 144 points, one every 10 minutes, as its collar simulator sent them.
    let points: Vec<Point> = with_accel
        .iter()
        .step_by(600)
        .map(|s| Point {
            timestamp: OffsetDateTime::from_unix_timestamp(s.ts_ms / 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            heart_rate: s.heart_rate.unwrap_or(70.0).round(),
            activity_level: s.activity_level.unwrap_or(0.0) as u8,
            position: s.lat.zip(s.lon).map(|(lat, lon)| (lon, lat)),
        })
        .collect();
    println!("points in the seed's day: {}", points.len());
    let thresholds = Thresholds::default();
    timed("seed rules over a 144-point day (x1000 calls, total)", runs, || {
        for _ in 0..1000 {
            black_box(seed_rules::interpret(black_box(&points), &thresholds));
        }
    });
}
