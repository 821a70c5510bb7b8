//! Generates a synthetic business day for benchmarks and demos.
//!
//!     cargo run --release --example generate -- DIR [ORDERS] [SEED] [RATE] [DAY] [FIRST_ID]
//!
//! Writes DIR/orders.csv, DIR/settlement/<channel>-<day>.csv (and the T+1
//! files) and DIR/expected.txt: the finding counts and refund totals a
//! correct run reports.

#[path = "support/generate_day.rs"]
mod generate_day;

use std::fmt::Write as _;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!(
            "usage: generate DIR [ORDERS=100000] [SEED=1] [RATE=0.005] [DAY=2026-11-21] [FIRST_ID=0]"
        );
        std::process::exit(2);
    };
    let orders = args
        .get(1)
        .map_or(Ok(100_000), |s| s.parse())
        .expect("ORDERS is a number");
    let seed = args
        .get(2)
        .map_or(Ok(1), |s| s.parse())
        .expect("SEED is a number");
    let rate = args
        .get(3)
        .map_or(Ok(0.005), |s| s.parse())
        .expect("RATE is a number");
    let day = args
        .get(4)
        .map_or(
            Ok(chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()),
            |s| s.parse(),
        )
        .expect("DAY is YYYY-MM-DD");
    let first_id = args
        .get(5)
        .map_or(Ok(0), |s| s.parse())
        .expect("FIRST_ID is a number");
    let dir = std::path::Path::new(dir);
    let expected = generate_day::generate_from(dir, day, first_id, orders, seed, rate)?;
    let mut text = String::new();
    let _ = writeln!(text, "attempts {}", expected.attempts);
    let _ = writeln!(text, "settlement_rows {}", expected.settlement_rows);
    for (kind, n) in &expected.findings {
        let _ = writeln!(text, "finding {kind} {n}");
    }
    let _ = writeln!(text, "refunds {}", expected.refunds);
    for (currency, minor) in &expected.refund_minor {
        let _ = writeln!(text, "refund_total {currency} {minor}");
    }
    std::fs::write(dir.join("expected.txt"), &text)?;
    eprint!("{text}");
    Ok(())
}
