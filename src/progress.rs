//! The progress bar for long loads: shown on a terminal, never in a pipe or
//! in cron (where stderr is not a terminal), never with `--quiet`, and only
//! for a file large enough to take a while (a bar that flashes for a
//! fraction of a second is noise).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Files smaller than this load in about a second or less: no bar.
const WORTH_A_BAR: u64 = 64 << 20;

/// A byte-count bar for reading one file of `len` bytes, named in full.
pub fn file_bar(len: u64, label: &str, quiet: bool) -> ProgressBar {
    if quiet || len < WORTH_A_BAR || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg}\n[{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small file, or a quiet run, never draws a bar.
    #[test]
    fn short_loads_get_no_bar() {
        assert!(file_bar(1 << 20, "orders.csv", false).is_hidden());
        assert!(file_bar(1 << 30, "orders.csv", true).is_hidden());
    }
}
