//! What the benches share: the run count from the command line and a timer that prints the
//! median and the fastest run.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The first number on the command line (`cargo bench ... -- 30`), else 30.
pub(crate) fn runs() -> usize {
    std::env::args().skip(1).filter(|a| !a.starts_with('-')).find_map(|a| a.parse().ok()).unwrap_or(30)
}

/// Times `f` `runs` times after 3 warm-ups; prints and answers the median.
pub(crate) fn timed<T>(label: &str, runs: usize, mut f: impl FnMut() -> T) -> Duration {
    for _ in 0..3 {
        black_box(f());
    }
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!("{label:<60} median {:>10.3} ms   fastest {:>10.3} ms", ms(median), ms(times[0]));
    median
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
