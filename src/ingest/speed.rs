//! Throughput of the native parsers against the canonical one, which sets
//! the bar (a native format should read at least 70% as many rows a second).
//! Ignored by default; for the figures run it optimised, one test at a time:
//! `cargo test --release --lib -- --ignored --nocapture --test-threads=1 speed`
//! (`scripts/format_speed.sh` does that and tabulates the `speed:` lines).
//! Each measurement parses 200,000 rows, or `PAYRECON_SPEED_ROWS` of them.

use super::settlement::{Context, FileFacts, Format, FormatSettings, Sink};
use anyhow::Result;
use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

/// Rows each measurement parses: `PAYRECON_SPEED_ROWS`, else 200,000.
pub fn rows() -> usize {
    match std::env::var("PAYRECON_SPEED_ROWS") {
        Ok(text) => text
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("PAYRECON_SPEED_ROWS={text} is not a row count")),
        Err(_) => 200_000,
    }
}

fn canonical(rows: usize) -> Vec<u8> {
    let mut out = String::from(
        "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n",
    );
    for i in 0..rows {
        let _ = writeln!(
            out,
            "stripe,ch_3Q{i:08},ORD-{i:08},PAYMENT,128.50,4.03,USD,2026-11-21 08:15:02,"
        );
    }
    out.into_bytes()
}

fn stripe(rows: usize) -> Vec<u8> {
    let mut out = String::from(
        "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,description,charge_id,payment_intent_id,payment_metadata[order_id]\n",
    );
    for i in 0..rows {
        let _ = writeln!(
            out,
            "txn_{i:08},2026-11-21 08:15:02,2026-11-23 00:00:00,usd,128.50,4.03,124.47,charge,ch_3Q{i:08},\"Mug, large\",ch_3Q{i:08},pi_{i:08},ORD-{i:08}"
        );
    }
    out.into_bytes()
}

fn adyen(rows: usize) -> Vec<u8> {
    let mut out = String::from(
        "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),Payment Method Variant,Modification Merchant Reference,Batch Number,Reserved4,Reserved5,Reserved6,Reserved7,Reserved8,Reserved9,Reserved10\n",
    );
    for i in 0..rows {
        let _ = writeln!(
            out,
            "PayreconCo,PayreconEU,88163{i:011},ORD-{i:08},visa,2026-11-21 10:15:00,CET,Settled,88163{i:011},EUR,,100.00,1,EUR,,97.85,,0.15,0.20,1.80,visaclassic,,4,,,,,,,"
        );
    }
    out.into_bytes()
}

fn unionpay(rows: usize) -> Vec<u8> {
    let path = super::fixture::path("unionpay/INN26112188ZM_802310048993424");
    let file = std::fs::read(path).unwrap();
    let record = &file[..609];
    record.repeat(rows)
}

#[test]
#[ignore = "a measurement, not a check; run with --release"]
fn native_parsers_keep_up_with_canonical() {
    let rows = rows();
    let canonical = canonical(rows);
    for (format, input) in [
        (&super::stripe::FORMAT, stripe(rows)),
        (&super::adyen::FORMAT, adyen(rows)),
        (&super::unionpay::FORMAT, unionpay(rows)),
    ] {
        compare(format, &input, &canonical, rows);
    }
}

/// Prints rows per second of `format` over `text`, best of three, and as a
/// share of the canonical parser's over as many records (`canonical`), as
/// one `speed:` line.
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
        "speed: {} {rows} rows: {native:.0} rows/s, canonical {reference:.0} rows/s: {:.0}%",
        format.name,
        100.0 * native / reference
    );
}
