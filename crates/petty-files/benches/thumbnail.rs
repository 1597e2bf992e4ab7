//! Times `petty_files::images::thumbnail` (and, with `--process`, the whole of what confirming
//! an image does: the optimized copy and the thumbnail) on one file, the way
//! `xtask/bench/thumbnail.sh` compares it with Pillow and vipsthumbnail.
//!
//!   cargo bench -p petty-files --bench thumbnail -- FILE [RUNS] [--process]
//!
//! Prints one line: `petty <what> runs=N median_ms=M min_ms=M out=WxH bytes=B`.

use std::time::Instant;

use petty_core::files::{ContentType, THUMBNAIL_MAX_SIDE};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--") && a.parse::<usize>().is_err()) else {
        eprintln!("usage: thumbnail FILE [RUNS] [--process]");
        std::process::exit(2);
    };
    let runs: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(20);
    let process = args.iter().any(|a| a == "--process");
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let content_type = ContentType::sniff(&bytes).unwrap_or_else(|| panic!("{path}: not an image Petty stores"));
    let mut times = Vec::with_capacity(runs);
    let mut last = (0, 0, 0);
    for _ in 0..runs {
        let started = Instant::now();
        if process {
            let done = petty_files::images::process(&bytes, content_type).expect("processed");
            last = (done.width, done.height, done.optimized.len() + done.thumbnail.len());
        } else {
            let (out, w, h) =
                petty_files::images::thumbnail(&bytes, content_type, THUMBNAIL_MAX_SIDE).expect("a thumbnail");
            last = (w, h, out.len());
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "petty {} runs={runs} median_ms={:.2} min_ms={:.2} out={}x{} bytes={}",
        if process { "process" } else { "thumbnail" },
        times[times.len() / 2],
        times[0],
        last.0,
        last.1,
        last.2
    );
}
