//! How long the behaviour analysis takes, on this machine, for the days issue 4 names:
//!
//! - a whole day of a 1 Hz collar (86,400 readings) end to end: accelerometer-free samples
//!   and samples with accelerometer features, through epoch features, the forest, smoothing and
//!   episodes, and the day summary. Timed as the server's job runs it, from the day's
//!   [`Columns`] (`segment::analyse_columns`, `baselines::summarise_columns`; the job reads the
//!   readings into columns, as it read them into samples before, which is not timed here), and
//!   from a slice of samples (`segment::analyse`, `baselines::summarise_day`, which callers with
//!   samples still use). Each is timed against its baseline in the same run, interleaved run by
//!   run: the analysis as it was before issue 18's third part (`support/analysis_reference.rs`,
//!   from the slice). `Columns::from_samples` is timed alone;
//! - the Petty seed's rule-based interpreter over a 144-point day (one point every 10 minutes),
//!   the input the upstream Python took about 0.46 ms for.
//!
//! ```text
//! cargo bench -p petty-sim --bench analysis -- [RUNS]
//! ```
//! Prints the median and the fastest of RUNS timed runs (default 30) after 3 warm-ups, and for
//! the pairs the ratio new ÷ old of the medians.
//!
//! `-- once` runs today's end-to-end analysis of the 1 Hz day with accelerometer features once
//! from its columns (`-- once without`: the day without; `-- once rows`: from the slice of
//! samples), and `-- once-old` the old one, for instruction counts:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='analysis::new_day' --callgrind-out-file=/tmp/cg.out BENCH once
//! ```
//! (`analysis::new_day_rows` and `analysis::old_day` for the others.)
//!
//! `-- loop WHAT [without]` runs one thing 200 times and prints the mean, for `perf stat` and
//! `perf record`: `new` (from columns), `rows` (from the slice), `old`, or `from`
//! (`Columns::from_samples`).

// Not `benches/timing.rs`: Cargo would take that for a bench of its own.
#[path = "support/timing.rs"]
mod timing;

#[path = "support/analysis_reference.rs"]
mod reference;

use std::hint::black_box;
use std::time::{Duration, Instant};

use timing::{runs, timed};

use petty_core::baselines::{self, DaySummary};
use petty_core::behaviour::forest::Forest;
use petty_core::behaviour::{Columns, Sample, segment};
use petty_core::seed_rules::{self, Point, Thresholds};
use time::{Date, OffsetDateTime, UtcOffset};

/// Today's analysis of a day as the server runs it, from the columns it reads a day into:
/// episodes, then the summary.
#[inline(never)]
fn new_day(day: Date, samples: &Columns, model: &Forest) -> DaySummary {
    let episodes = segment::analyse_columns(samples, model, None);
    baselines::summarise_columns(day, UtcOffset::UTC, samples, &episodes)
}

/// The same from a slice of samples (each call makes its columns).
#[inline(never)]
fn new_day_rows(day: Date, samples: &[Sample], model: &Forest) -> DaySummary {
    let episodes = segment::analyse(samples, model, None);
    baselines::summarise_day(day, UtcOffset::UTC, samples, &episodes)
}

/// The same before issue 18's third part.
#[inline(never)]
fn old_day(day: Date, samples: &[Sample], model: &Forest) -> DaySummary {
    let episodes = reference::analyse(samples, model, None);
    reference::summarise_day(day, UtcOffset::UTC, samples, &episodes)
}

/// Times `old` and `new` `runs` times each, alternating which goes first, after 3 warm-ups of
/// each; prints both medians and fastest runs and new ÷ old of the medians.
fn pair<A, B>(label: &str, runs: usize, mut old: impl FnMut() -> A, mut new: impl FnMut() -> B) {
    for _ in 0..3 {
        black_box(old());
        black_box(new());
    }
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed()
    };
    let (mut olds, mut news) = (Vec::new(), Vec::new());
    for i in 0..runs.max(1) {
        let mut o = || {
            black_box(old());
        };
        let mut n = || {
            black_box(new());
        };
        if i % 2 == 0 {
            olds.push(time(&mut o));
            news.push(time(&mut n));
        } else {
            news.push(time(&mut n));
            olds.push(time(&mut o));
        }
    }
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        (v[v.len() / 2].as_secs_f64() * 1000.0, v[0].as_secs_f64() * 1000.0)
    };
    let ((om, of), (nm, nf)) = (stats(&mut olds), stats(&mut news));
    println!("{label:<60} old: median {om:>8.3} ms   fastest {of:>8.3} ms");
    println!("{:<60} new: median {nm:>8.3} ms   fastest {nf:>8.3} ms   new ÷ old {:.3}", "", nm / om);
}

fn main() {
    let runs = runs();
    let day = OffsetDateTime::now_utc().date() - time::Duration::days(1);
    let start = (day.midnight().assume_utc().unix_timestamp()) * 1000;
    let scenario = petty_sim::Scenario::default();

    let with_accel: Vec<_> =
        petty_sim::labelled_days(11, start, 1, 1000, &scenario).into_iter().map(|(s, _)| s).collect();
    let without_accel: Vec<_> = with_accel.iter().map(|s| Sample { accel: None, ..*s }).collect();
    let model = Forest::builtin();
    let args: Vec<String> = std::env::args().collect();
    if let Some(k) = args.iter().position(|a| a == "loop") {
        let what = args.get(k + 1).map(String::as_str).unwrap_or("from");
        let samples = if args.iter().any(|a| a == "without") { &without_accel } else { &with_accel };
        let columns = Columns::from_samples(samples);
        let t = Instant::now();
        for _ in 0..200 {
            match what {
                "from" => drop(black_box(Columns::from_samples(samples))),
                "new" => drop(black_box(new_day(day, &columns, model))),
                "old" => drop(black_box(old_day(day, samples, model))),
                _ => drop(black_box(new_day_rows(day, samples, model))),
            }
        }
        println!("{what}: {:.3} ms each", t.elapsed().as_secs_f64() * 1000.0 / 200.0);
        return;
    }
    if args.iter().any(|a| a == "once" || a == "once-old") {
        let samples = if args.iter().any(|a| a == "without") { &without_accel } else { &with_accel };
        let columns = Columns::from_samples(samples);
        black_box(if args.iter().any(|a| a == "once-old") {
            old_day(day, samples, model)
        } else if args.iter().any(|a| a == "rows") {
            new_day_rows(day, samples, model)
        } else {
            new_day(day, &columns, model)
        });
        return;
    }
    println!("samples in the 1 Hz day: {}", with_accel.len());
    for (label, samples) in
        [("1 Hz day, with accelerometer features", &with_accel), ("1 Hz day, without", &without_accel)]
    {
        let columns = Columns::from_samples(samples);
        pair(
            &format!("{label}: analyse + summarise_day (columns)"),
            runs,
            || old_day(day, samples, model),
            || new_day(day, &columns, model),
        );
        pair(
            &format!("{label}: analyse + summarise_day (samples)"),
            runs,
            || old_day(day, samples, model),
            || new_day_rows(day, samples, model),
        );
        pair(
            &format!("{label}: analyse"),
            runs,
            || reference::analyse(samples, model, None),
            || segment::analyse_columns(&columns, model, None),
        );
        let episodes = segment::analyse(samples, model, None);
        pair(
            &format!("{label}: summarise_day"),
            runs,
            || reference::summarise_day(day, UtcOffset::UTC, samples, &episodes),
            || baselines::summarise_columns(day, UtcOffset::UTC, &columns, &episodes),
        );
        timed(&format!("{label}: Columns::from_samples"), runs, || Columns::from_samples(samples));
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
