//! Progress bars for the long commands (`backup`, `restore`, `import`, `train`): on stderr, with a rate
//! and the time left, drawn only on a terminal (indicatif draws nothing otherwise), so scripts
//! and logs stay quiet.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` bytes, labelled `what`; hidden when `quiet` (a scheduled job among the
/// server's logs).
pub(crate) fn bytes(total: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_owned());
    bar
}

/// A bar over `total` of `unit` (`dog-days`), labelled `what`, with their rate.
pub(crate) fn count(total: u64, what: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template = format!("{{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} {{eta}}");
    let style = ProgressStyle::with_template(&template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_owned());
    bar
}
