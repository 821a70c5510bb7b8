//! Measures parsing alone (no database): rows per second of the export and
//! of each settlement file, to separate parse cost from load cost.
//!
//!     cargo run --release --example parse_only -- DAY_DIR

use payrecon::ingest::orders::{OrdersMapping, OrdersOptions};
use payrecon::ingest::settlement::{Context, FormatSettings, read_file};
use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).expect("usage: parse_only DAY_DIR");
    let dir = Path::new(&dir);
    let zone = chrono_tz::Asia::Shanghai;
    let mapping = OrdersMapping::plain(zone);
    let opts = OrdersOptions {
        day_zone: zone,
        default_currency: "CNY",
        mapping: &mapping,
    };
    let path = dir.join("orders.csv");
    let start = Instant::now();
    let rows =
        payrecon::ingest::orders::read(&path, std::fs::File::open(&path)?, &opts, |_, _| Ok(()))?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "orders.csv: {rows} rows in {secs:.3} s = {:.0} rows/s",
        rows as f64 / secs
    );
    let settings = FormatSettings::default();
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("settlement"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let cx = Context {
            path: &path,
            zone,
            default_currency: "CNY",
            settings: &settings,
        };
        let start = Instant::now();
        let parsed = read_file(
            std::fs::File::open(&path)?,
            &cx,
            None,
            None,
            &mut |_| Ok(()),
        )?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{}: {} rows in {secs:.3} s = {:.0} rows/s",
            path.display(),
            parsed.rows,
            parsed.rows as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}
