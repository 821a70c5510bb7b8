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

/// Valid seed files: (name the parser sees, bytes, the format to force).
/// The native WeChat and Alipay bills are here (current and legacy layouts,
/// gzip, zip, GBK), with verbatim real files from public repositories
/// (fixtures/formats/real: a WeChat Pay merchant bill, and the personal
/// WeChat and Alipay exports a run must refuse; origins in
/// /work/shared/formats/samples/SOURCES.md).
fn seeds() -> Vec<(String, Vec<u8>, &'static str)> {
    let mut seeds = vec![(
        "wechat-2026-11-21.csv".to_string(),
        CANONICAL.as_bytes().to_vec(),
        "canonical",
    )];
    for (path, name, format) in [
        ("formats/stripe/stripe-2026-11-21.csv", None, "stripe"),
        (
            "formats/stripe/stripe-decimal-comma-2026-11-21.csv",
            None,
            "stripe",
        ),
        ("formats/stripe/stripe-jpy-2026-11-21.csv", None, "stripe"),
        (
            "formats/adyen/settlement_detail_report_batch_4.csv",
            Some("settlement_detail_report_batch_4-2026-11-21.csv"),
            "adyen",
        ),
        (
            "formats/adyen/settlement_detail_report_cst.csv",
            Some("settlement_detail_report_cst-2026-11-21.csv"),
            "adyen",
        ),
        (
            "formats/unionpay/INN26112188ZM_802310048993424",
            None,
            "unionpay",
        ),
        ("formats/wechat/wechat-2026-11-21-all.csv", None, "wechat"),
        (
            "formats/wechat/wechat-2026-11-21-legacy.csv",
            None,
            "wechat",
        ),
        (
            "formats/wechat/wechat-2026-11-21-success.csv",
            None,
            "wechat",
        ),
        (
            "formats/wechat/wechat-2026-11-21-all.csv.gz",
            None,
            "wechat",
        ),
        (
            "formats/real/wechatpay_merchant_tradebill_ALL.csv",
            Some("wechat-2019-02-19.csv"),
            "wechat",
        ),
        (
            "formats/real/wechat_USERSIDE_personal_export.csv",
            Some("wechat-2026-11-21-personal.csv"),
            "wechat",
        ),
        (
            "formats/alipay/20880211096256330156_20261121_业务明细.csv",
            None,
            "alipay",
        ),
        ("formats/alipay/alipay-2026-11-21-utf8.csv", None, "alipay"),
        (
            "formats/alipay/20880211096256330156_20261121.csv.zip",
            None,
            "alipay",
        ),
        (
            "formats/real/alipay_USERSIDE_personal_export_gbk.csv",
            Some("alipay-2026-11-21-personal.csv"),
            "alipay",
        ),
    ] {
        let full = fixtures().join(path);
        let name = name.map_or_else(
            || full.file_name().unwrap().to_string_lossy().into_owned(),
            String::from,
        );
        seeds.push((name, std::fs::read(&full).unwrap(), format));
    }
    seeds
}

/// The seeds a whole run should load as they are: the native bills parse
/// and the personal exports are refused (checked here, so a mutation that
/// loads means something).
#[test]
fn the_seeds_parse_as_expected() {
    for (name, bytes, format) in seeds() {
        let path = Path::new("fuzz").join(&name);
        let settings = Default::default();
        let cx = settlement::Context {
            path: &path,
            zone: chrono_tz::Asia::Shanghai,
            default_currency: "CNY",
            settings: &settings,
        };
        let parsed = settlement::read_file(&bytes[..], &cx, None, None, &mut |_| Ok(()));
        if name.contains("personal") {
            assert!(parsed.is_err(), "{name}: a personal export is refused");
        } else {
            let parsed = parsed.unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(parsed.rows > 0, "{name}");
            assert_eq!(parsed.format, format, "{name}");
        }
    }
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

const FORMATS: [Option<&str>; 7] = [
    None,
    Some("canonical"),
    Some("stripe"),
    Some("adyen"),
    Some("unionpay"),
    Some("wechat"),
    Some("alipay"),
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
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), which in 0..FORMATS.len()) {
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
    fn mutated_valid_files_never_panic(seed in 0..17usize, edits in prop::collection::vec(edit(), 1..6), forced in any::<bool>()) {
        let seeds = seeds();
        let (name, bytes, format) = &seeds[seed % seeds.len()];
        let mut bytes = bytes.clone();
        apply(&mut bytes, &edits);
        let format = forced.then_some(*format);
        parse_settlement(name, &bytes, format)?;
        let mut orders = ORDERS.as_bytes().to_vec();
        apply(&mut orders, &edits);
        parse_orders(&orders)?;
    }
}

/// A mutated file in a whole run, after a good run: refused (with nothing
/// changed) or loaded, never half-loaded. When it loads, what was loaded is
/// checked for being whole ([`check_loaded_whole`]).
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
        return Ok(());
    }
    check_loaded_whole(work, role, &path, bytes)
}

/// A run that loaded a mutated file loaded all of it, and what it wrote
/// agrees with the database:
/// - the file's rows in loaded_file equal the records the parser yields for
///   the same bytes, and the rows in the database (settlement rows of the
///   file; attempts are at most that many, a later export supersedes);
/// - summary.json states the same row count for the file;
/// - every settlement file not replaced has all its rows in the database,
///   and a replaced one none;
/// - refunds.csv and discrepancies.csv parse, every refunds.csv row is an
///   instruction of the database with the same amount, summary.json counts
///   them, and per payment the instructions plus the channel's refunds
///   never exceed the captured amount.
fn check_loaded_whole(
    work: &Workdir,
    role: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let conn = rusqlite::Connection::open(work.db()).unwrap();
    let shown = path.display().to_string();
    let file: Option<(i64, i64, Option<i64>)> = conn
        .query_row(
            "SELECT file_id, rows, replaced_by FROM loaded_file WHERE path = ?1",
            [&shown],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ok();
    // None: the mutation left the bytes of a file loaded before (a no-op).
    let summary: serde_json::Value = serde_json::from_str(&work.read("out/summary.json")).unwrap();
    if let Some((file_id, rows, replaced_by)) = file {
        let mut parsed = 0i64;
        if role == "orders" {
            let mapping = orders::OrdersMapping::plain(chrono_tz::Asia::Shanghai);
            let opts = orders::OrdersOptions {
                day_zone: chrono_tz::Asia::Shanghai,
                default_currency: "CNY",
                mapping: &mapping,
            };
            orders::read(path, bytes, &opts, |_, _| {
                parsed += 1;
                Ok(())
            })
            .unwrap();
            let attempts: i64 = conn
                .query_row(
                    "SELECT count(*) FROM attempt WHERE file_id = ?1",
                    [file_id],
                    |r| r.get(0),
                )
                .unwrap();
            prop_assert!(attempts <= rows, "{attempts} attempts of {rows} rows");
        } else {
            let settings = Default::default();
            let cx = settlement::Context {
                path,
                zone: chrono_tz::Asia::Shanghai,
                default_currency: "CNY",
                settings: &settings,
            };
            settlement::read_file(bytes, &cx, None, None, &mut |_| {
                parsed += 1;
                Ok(())
            })
            .unwrap();
            let in_db: i64 = conn
                .query_row(
                    "SELECT count(*) FROM settlement_row WHERE file_id = ?1",
                    [file_id],
                    |r| r.get(0),
                )
                .unwrap();
            prop_assert_eq!(replaced_by, None, "the file just loaded is replaced");
            prop_assert_eq!(in_db, rows, "rows of {} in the database", shown);
        }
        prop_assert_eq!(rows, parsed, "loaded_file.rows against the parser");
        let listed: Vec<i64> = summary["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| shown.ends_with(f["path"].as_str().unwrap()))
            .map(|f| f["rows"].as_i64().unwrap())
            .collect();
        prop_assert_eq!(listed, vec![rows], "summary.json on {}", shown);
    }
    let files: Vec<(i64, i64, bool)> = conn
        .prepare("SELECT file_id, rows, replaced_by IS NOT NULL FROM loaded_file WHERE role = 'settlement'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (file_id, rows, replaced) in files {
        let in_db: i64 = conn
            .query_row(
                "SELECT count(*) FROM settlement_row WHERE file_id = ?1",
                [file_id],
                |r| r.get(0),
            )
            .unwrap();
        prop_assert_eq!(
            in_db,
            if replaced { 0 } else { rows },
            "settlement file {} (replaced: {})",
            file_id,
            replaced
        );
    }
    let strict = |name: &str| -> Result<Vec<csv::StringRecord>, TestCaseError> {
        let text = work.read(&format!("out/{name}"));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let width = reader.headers().unwrap().len();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            prop_assert_eq!(record.len(), width, "{}: a ragged row", name);
            rows.push(record);
        }
        Ok(rows)
    };
    strict("discrepancies.csv")?;
    // The day's instructions, in every batch: a run that issues after an
    // earlier run published the day's refunds.csv writes refunds-2.csv.
    let mut refunds = strict("refunds.csv")?;
    for batch in 2.. {
        let name = format!("refunds-{batch}.csv");
        if !work.path("out").join(&name).exists() {
            break;
        }
        refunds.extend(strict(&name)?);
    }
    prop_assert_eq!(
        summary["refunds"]["count"].as_u64().unwrap(),
        refunds.len() as u64,
        "summary.json counts the refund files"
    );
    for row in &refunds {
        let amount: i64 = conn
            .query_row(
                "SELECT amount_minor FROM refund_instruction WHERE refund_request_id = ?1",
                [&row[0]],
                |r| r.get(0),
            )
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", &row[0])))?;
        prop_assert_eq!(
            &row[6],
            &format!("{}.{:02}", amount / 100, amount % 100),
            "refunds.csv amount of {}",
            &row[0]
        );
    }
    let over: Vec<(String, String, i64, i64)> = conn
        .prepare(
            "WITH captured AS (
                 SELECT channel, channel_txn_id, max(amount_minor) AS amount
                 FROM settlement_row WHERE kind = 'PAYMENT' GROUP BY channel, channel_txn_id),
             theirs AS (
                 SELECT channel, channel_txn_id, max(amount_minor) AS amount
                 FROM settlement_row WHERE kind = 'REFUND'
                 GROUP BY channel, channel_txn_id, refund_id),
             refunded AS (
                 SELECT channel, channel_txn_id, sum(amount) AS amount FROM (
                     SELECT channel, channel_txn_id, amount FROM theirs
                     WHERE NOT EXISTS (SELECT 1 FROM refund_instruction i
                                       WHERE i.refund_request_id = theirs.channel_txn_id)
                     UNION ALL
                     SELECT channel, channel_txn_id, amount_minor FROM refund_instruction)
                 GROUP BY channel, channel_txn_id)
             SELECT r.channel, r.channel_txn_id, r.amount, c.amount
             FROM refunded r JOIN captured c USING (channel, channel_txn_id)
             WHERE r.amount > c.amount
               AND EXISTS (SELECT 1 FROM refund_instruction i
                           WHERE i.channel = r.channel AND i.channel_txn_id = r.channel_txn_id)",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    prop_assert!(over.is_empty(), "refunded beyond the capture: {over:?}");
    Ok(())
}

/// The files the whole-run property mutates: (role, name, fixture or text).
fn whole_run_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let native = |path: &str| std::fs::read(fixtures().join(path)).unwrap();
    vec![
        ("orders", "orders-2.csv".into(), ORDERS.as_bytes().to_vec()),
        (
            "settlement",
            "wechat-2026-11-22.csv".into(),
            CANONICAL.as_bytes().to_vec(),
        ),
        (
            "settlement",
            "wechat-2026-11-21-all.csv".into(),
            native("formats/wechat/wechat-2026-11-21-all.csv"),
        ),
        (
            "settlement",
            "wechat-2019-02-19.csv".into(),
            native("formats/real/wechatpay_merchant_tradebill_ALL.csv"),
        ),
        (
            "settlement",
            "20880211096256330156_20261121_业务明细.csv".into(),
            native("formats/alipay/20880211096256330156_20261121_业务明细.csv"),
        ),
        (
            "settlement",
            "alipay-2026-11-21-utf8.csv".into(),
            native("formats/alipay/alipay-2026-11-21-utf8.csv"),
        ),
    ]
}

fn good_run(work: &Workdir) {
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
}

/// Each whole-run seed as it is loads, and passes the checks of a loaded
/// file: the property's "loaded" branch is reachable for every seed.
#[test]
fn the_whole_run_seeds_load_whole() {
    for (role, name, bytes) in whole_run_seeds() {
        let work = Workdir::new();
        good_run(&work);
        let path = work.path(&format!("bad/{name}"));
        run_with(&work, role, &name, &bytes).unwrap();
        let conn = rusqlite::Connection::open(work.db()).unwrap();
        let loaded: i64 = conn
            .query_row(
                "SELECT count(*) FROM loaded_file WHERE path = ?1",
                [path.display().to_string()],
                |r| r.get(0),
            )
            .unwrap();
        // The export is the good run's own: a no-op reload. (The canonical
        // bill is the good one's bytes for another day: a file of its own.)
        let same_as_good = bytes == ORDERS.as_bytes();
        assert_eq!(loaded, i64::from(!same_as_good), "{name} loads");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_mutated_file_is_refused_whole_or_loaded(edits in prop::collection::vec(edit(), 1..3), which in 0..6usize) {
        let work = Workdir::new();
        good_run(&work);
        let seeds = whole_run_seeds();
        let (role, name, bytes) = &seeds[which % seeds.len()];
        let mut bytes = bytes.clone();
        apply(&mut bytes, &edits);
        run_with(&work, role, name, &bytes)?;
    }
}
