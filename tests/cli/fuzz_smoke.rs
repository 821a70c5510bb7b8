//! The fuzz smoke that runs in every `cargo test` (guarantee 5): proptest
//! feeds the parsers arbitrary bytes and mutated valid files (every
//! settlement format, detected and forced, and the order export), through
//! the same public ingest API the cargo-fuzz targets in fuzz/ use. No input
//! may panic, and every refusal is an [`InputError`] that names the file and,
//! when it is about a row, the line. Then a few mutated files go through a
//! whole run after a good one: a refused run leaves the database and the
//! outputs byte for byte as they were.
//!
//! `PROPTEST_CASES=100000 cargo test --test cli fuzz_smoke` runs longer
//! (256 cases per property by default).

use crate::util::{Workdir, fixtures};
use payrecon::error::InputError;
use payrecon::ingest::{orders, settlement};
use proptest::prelude::*;
use std::path::Path;

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const ORDERS: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at
O1,P1,C1,wechat,128.50,CNY,OPEN,SUCCESS,2026-11-21 23:59:59,,,2026-11-21T16:00:00Z
O1,P2,C2,alipay,128.50,,PAID,FAILED,2026-11-21T10:00:00+08:00,2026-11-21 10:15:00,,
\"O,2\",P3,C3,wechat,0.01,cny,CLOSED,UNKNOWN,2026/11/21 10:00:00.250,,2026-11-21 11:00:00,
";
const CANONICAL: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id
wechat,T1,C1,PAYMENT,128.50,0.77,CNY,2026-11-21 10:00:00,
wechat,T1,C1,REFUND,28.50,,,2026-11-21T03:00:00Z,R1
wechat,T2,\"C,2\",PAYMENT,1.00,,CNY,2026-11-21 10:00:00.5,
";

/// Valid seed files: (name the parser sees, bytes).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = vec![(
        "wechat-2026-11-21.csv".to_string(),
        CANONICAL.as_bytes().to_vec(),
    )];
    for path in [
        "formats/stripe/stripe-2026-11-21.csv",
        "formats/stripe/stripe-decimal-comma-2026-11-21.csv",
        "formats/stripe/stripe-jpy-2026-11-21.csv",
        "formats/adyen/settlement_detail_report_batch_4.csv",
        "formats/adyen/settlement_detail_report_cst.csv",
        "formats/unionpay/INN26112188ZM_802310048993424",
    ] {
        let full = fixtures().join(path);
        let name = full.file_name().unwrap().to_string_lossy().into_owned();
        seeds.push((name, std::fs::read(&full).unwrap()));
    }
    seeds
}

/// Checks what a parser returned for `path`.
fn judge(path: &Path, result: anyhow::Result<()>) -> Result<(), TestCaseError> {
    let Err(err) = result else { return Ok(()) };
    let text = format!("{err:#}");
    let input = err.downcast_ref::<InputError>();
    prop_assert!(input.is_some(), "not an InputError: {text}");
    let input = input.unwrap();
    prop_assert!(
        text.contains(&path.display().to_string()),
        "the error does not name the file: {text}"
    );
    if input.line > 0 {
        prop_assert!(
            text.contains(&format!(", line {}", input.line)),
            "the error does not name its line: {text}"
        );
    }
    prop_assert!(
        text.len() < 4096,
        "an error of {} bytes: {}…",
        text.len(),
        &text[..200]
    );
    Ok(())
}

fn parse_settlement(name: &str, bytes: &[u8], format: Option<&str>) -> Result<(), TestCaseError> {
    let path = Path::new("fuzz").join(name);
    let settings = Default::default();
    let cx = settlement::Context {
        path: &path,
        zone: chrono_tz::Asia::Shanghai,
        default_currency: "CNY",
        settings: &settings,
    };
    let mut rows = 0u64;
    let result = settlement::read_file(bytes, &cx, format, None, &mut |record| {
        assert!(record.amount_minor > 0, "{record:?}");
        rows += 1;
        Ok(())
    });
    if let Ok(parsed) = &result {
        prop_assert_eq!(parsed.rows, rows);
    }
    judge(&path, result.map(|_| ()))
}

fn parse_orders(bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = Path::new("fuzz/orders.csv");
    let mapping = orders::OrdersMapping::plain(chrono_tz::Asia::Shanghai);
    let opts = orders::OrdersOptions {
        day_zone: chrono_tz::Asia::Shanghai,
        default_currency: "CNY",
        mapping: &mapping,
    };
    let result = orders::read(path, bytes, &opts, |attempt, line| {
        assert!(attempt.amount_minor >= 0 && line >= 2, "{attempt:?} {line}");
        Ok(())
    });
    judge(path, result.map(|_| ()))
}

const FORMATS: [Option<&str>; 5] = [
    None,
    Some("canonical"),
    Some("stripe"),
    Some("adyen"),
    Some("unionpay"),
];

/// A few edits of the kinds that break CSV and fixed-width files.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, &'static [u8]),
    Delete(usize, usize),
    Truncate(usize),
    RepeatLine(usize),
    /// Every `\n` becomes this line end (CR-only files, CRLF files).
    LineEnds(&'static [u8]),
}

fn edit() -> impl Strategy<Value = Edit> {
    let special: &'static [&'static [u8]] = &[
        b"\"",
        b",",
        b";",
        b"\n",
        b"\r\n",
        b"\r",
        b"\0",
        b"\xff\xfe",
        b"\xef\xbb\xbf",
        b"\xe4\xb8",
        b"-",
        b"1e30",
        b"NaN",
        b".999",
        b"99999999999999999999999",
        b"2026-02-30 10:00:00",
        b"=HYPERLINK(\"x\")",
        b"REFUND",
        b"PAYMENT",
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), prop::sample::select(special)).prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<usize>(), 1..40usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        any::<usize>().prop_map(Edit::RepeatLine),
        prop::sample::select(vec![&b"\r"[..], &b"\r\n"[..]]).prop_map(Edit::LineEnds),
    ]
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        let len = bytes.len().max(1);
        match *e {
            Edit::Flip(i, b) => {
                if !bytes.is_empty() {
                    bytes[i % len] = b;
                }
            }
            Edit::Insert(i, s) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, s.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Edit::Truncate(i) => bytes.truncate(i % len),
            Edit::LineEnds(end) => {
                let mut out = Vec::with_capacity(bytes.len());
                for &b in bytes.iter() {
                    if b == b'\n' {
                        out.extend_from_slice(end);
                    } else {
                        out.push(b);
                    }
                }
                *bytes = out;
            }
            Edit::RepeatLine(i) => {
                let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
                if !lines.is_empty() {
                    let line = lines[i % lines.len()].to_vec();
                    bytes.extend_from_slice(&line);
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), which in 0..5usize) {
        parse_settlement("wechat-2026-11-21.csv", &bytes, FORMATS[which])?;
        parse_settlement("INN26112188ZM_802310048993424", &bytes, FORMATS[which])?;
        parse_orders(&bytes)?;
    }

    #[test]
    fn arbitrary_rows_under_a_valid_header_never_panic(body in prop::collection::vec(any::<u8>(), 0..1024)) {
        let mut bytes = CANONICAL.lines().next().unwrap().as_bytes().to_vec();
        bytes.push(b'\n');
        bytes.extend_from_slice(&body);
        parse_settlement("wechat-2026-11-21.csv", &bytes, None)?;
        let mut bytes = OH.as_bytes().to_vec();
        bytes.extend_from_slice(&body);
        parse_orders(&bytes)?;
    }

    #[test]
    fn mutated_valid_files_never_panic(seed in 0..7usize, edits in prop::collection::vec(edit(), 1..6), forced in any::<bool>()) {
        let seeds = seeds();
        let (name, bytes) = &seeds[seed % seeds.len()];
        let mut bytes = bytes.clone();
        apply(&mut bytes, &edits);
        let format = if forced {
            ["canonical", "stripe", "stripe", "stripe", "adyen", "adyen", "unionpay"].get(seed).copied()
        } else {
            None
        };
        parse_settlement(name, &bytes, format)?;
        let mut orders = ORDERS.as_bytes().to_vec();
        apply(&mut orders, &edits);
        parse_orders(&orders)?;
    }
}

/// A mutated file in a whole run, after a good run: refused (with nothing
/// changed) or loaded, never half-loaded.
fn run_with(work: &Workdir, role: &str, name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let db_before = std::fs::read(work.db()).unwrap();
    let outputs_before: Vec<Vec<u8>> = ["refunds.csv", "discrepancies.csv"]
        .iter()
        .map(|f| std::fs::read(work.path("out").join(f)).unwrap())
        .collect();
    let path = work.path(&format!("bad/{name}"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let config = payrecon::config::Config {
        db: work.db(),
        out: Some(work.path("out")),
        orders: if role == "orders" {
            vec![path.clone()]
        } else {
            vec![]
        },
        settlements: if role == "orders" {
            vec![]
        } else {
            vec![path.clone()]
        },
        business_date: Some("2026-11-21".parse().unwrap()),
        quiet: true,
        ..Default::default()
    };
    if let Err(err) = payrecon::run::run(&config) {
        let text = format!("{err:#}");
        prop_assert!(text.contains(&path.display().to_string()), "{text}");
        prop_assert!(
            std::fs::read(work.db()).unwrap() == db_before,
            "database changed by a refused run: {text}"
        );
        for (f, before) in ["refunds.csv", "discrepancies.csv"]
            .iter()
            .zip(&outputs_before)
        {
            prop_assert!(
                &std::fs::read(work.path("out").join(f)).unwrap() == before,
                "{f} changed: {text}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_mutated_file_is_refused_whole_or_loaded(edits in prop::collection::vec(edit(), 1..4), orders in any::<bool>()) {
        let work = Workdir::new();
        let good_orders = work.write("good/orders.csv", ORDERS);
        let good_bill = work.write("good/wechat-2026-11-21.csv", CANONICAL);
        let config = payrecon::config::Config {
            db: work.db(),
            out: Some(work.path("out")),
            orders: vec![good_orders],
            settlements: vec![good_bill],
            quiet: true,
            ..Default::default()
        };
        payrecon::run::run(&config).unwrap();
        let (role, name, seed) = if orders {
            ("orders", "orders-2.csv", ORDERS)
        } else {
            ("settlement", "wechat-2026-11-22.csv", CANONICAL)
        };
        let mut bytes = seed.as_bytes().to_vec();
        apply(&mut bytes, &edits);
        run_with(&work, role, name, &bytes)?;
    }
}
