//! Test-only: a parser's throughput against the canonical CSV parser, the
//! yardstick native formats are held to (at least 70% of its rows/second).
//! The measurements are ignored tests; run them in release:
//! `cargo test --release --lib -- --ignored --nocapture speed`.

use super::settlement::{Context, FileFacts, Format, FormatSettings, Sink};
use anyhow::Result;
use std::io::Read;
use std::path::Path;

/// Prints rows per second of `format` over `text`, best of three, and as a
/// share of the canonical parser's over the same records (`canonical`).
pub fn compare(format: &Format, text: &[u8], canonical: &[u8], rows: usize) {
    let settings = FormatSettings::default();
    let cx = Context {
        path: Path::new("speed-2026-11-21.csv"),
        zone: chrono_tz::Asia::Shanghai,
        default_currency: "CNY",
        settings: &settings,
    };
    let rate = |parse: fn(&mut dyn Read, &Context, &mut Sink) -> Result<FileFacts>,
                bytes: &[u8]| {
        (0..3)
            .map(|_| {
                let mut n = 0usize;
                let start = std::time::Instant::now();
                parse(&mut &bytes[..], &cx, &mut |_| {
                    n += 1;
                    Ok(())
                })
                .unwrap();
                assert_eq!(n, rows);
                rows as f64 / start.elapsed().as_secs_f64()
            })
            .fold(0.0, f64::max)
    };
    let native = rate(format.parse, text);
    let reference = rate(super::canonical::FORMAT.parse, canonical);
    println!(
        "{}: {native:.0} rows/s, canonical {reference:.0} rows/s: {:.0}%",
        format.name,
        100.0 * native / reference
    );
}
