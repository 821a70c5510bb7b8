//! Nothing is silently dropped (guarantee 7): for every file the summary
//! lists, the rows it loaded plus the rows it skipped (and why) add up to
//! the data records in the file, counted here independently; a channel
//! refund whose payment is not loaded is counted in the summary, not lost.

use crate::generated::generate_day;
use crate::util::{Workdir, fixtures};
use std::path::Path;

/// Data records in a file, counted without payrecon: CSV records after the
/// header, or the non-blank lines of a fixed-width file (no header).
fn records(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    if path.to_string_lossy().contains("INN") {
        return bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .count() as u64;
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&bytes[..]);
    reader.byte_records().map(Result::unwrap).count() as u64
}

fn skipped_total(text: &str) -> u64 {
    text.split("; ")
        .filter(|s| !s.is_empty())
        .map(|s| s.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
fn loaded_plus_skipped_rows_add_up_to_every_file() {
    let work = Workdir::new();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    generate_day::generate(&work.path("day"), day, 2000, 5, 0.01).unwrap();
    // Native formats with rows that are not order money.
    let formats = fixtures().join("formats");
    let native = [
        (
            "stripe/stripe-2026-11-21.csv",
            "native/stripe-2026-11-21.csv",
        ),
        (
            "adyen/settlement_detail_report_batch_4.csv",
            "native/adyen-2026-11-21.csv",
        ),
        (
            "unionpay/INN26112188ZM_802310048993424",
            "native/INN26112188ZM_802310048993424",
        ),
    ];
    // The native Stripe report covers the generated day's Stripe day: one
    // file per channel day in a run.
    std::fs::remove_file(work.path("day/settlement/stripe-2026-11-21.csv")).unwrap();
    let mut args = vec![
        "--orders".to_string(),
        work.path("day/orders.csv").display().to_string(),
        "--settlement".to_string(),
        work.path("day/settlement").display().to_string(),
    ];
    for (from, to) in native {
        let to = work.path(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(formats.join(from), &to).unwrap();
        args.push("--settlement".into());
        args.push(to.display().to_string());
    }
    args.extend(["--date".into(), "2026-11-21".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("out", &args).assert().success();

    let summary: serde_json::Value = serde_json::from_str(&work.read("out/summary.json")).unwrap();
    let files = summary["files"].as_array().unwrap();
    assert_eq!(files.len(), 1 + 5 + 3, "every file is listed");
    let markdown = work.read("out/summary.md");
    let mut skipped_somewhere = 0;
    for f in files {
        let path = Path::new(f["path"].as_str().unwrap());
        let loaded = f["rows"].as_u64().unwrap();
        let skipped = f["skipped"].as_str().unwrap();
        assert_eq!(
            loaded + skipped_total(skipped),
            records(path),
            "{}: {loaded} loaded + '{skipped}' skipped",
            path.display()
        );
        if !skipped.is_empty() {
            skipped_somewhere += 1;
            assert!(
                markdown.contains(&format!(
                    "- skipped, because not order money (payouts, fees…): {skipped} in {}",
                    path.display()
                )),
                "{markdown}"
            );
        }
    }
    assert!(skipped_somewhere >= 2, "the fixtures have skipped rows");
    assert_eq!(summary["refunds_without_payment"], 0);
}

#[test]
fn a_refund_whose_payment_is_not_loaded_is_counted_until_it_is() {
    const SH: &str = "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";
    let work = Workdir::new();
    let refund = work.write(
        "b/wechat-2026-11-22.csv",
        &format!("{SH}wechat,T1,C1,REFUND,1.00,,CNY,2026-11-22 09:00:00,R1\n"),
    );
    work.run("d2", &["--settlement", refund.to_str().unwrap()])
        .assert()
        .success();
    let md = work.read("d2/summary.md");
    assert!(
        md.contains(
            "- waiting, because their payment is in no file loaded yet: 1 channel refund(s)"
        ),
        "{md}"
    );
    let payment = work.write(
        "b/wechat-2026-11-21.csv",
        &format!("{SH}wechat,T1,C1,PAYMENT,1.00,,CNY,2026-11-21 09:00:00,\n"),
    );
    work.run(
        "d1",
        &[
            "--settlement",
            payment.to_str().unwrap(),
            "--date",
            "2026-11-21",
        ],
    )
    .assert()
    .success();
    let summary: serde_json::Value = serde_json::from_str(&work.read("d1/summary.json")).unwrap();
    assert_eq!(summary["refunds_without_payment"], 0);
    // A database's first judgement counts them from its working tables (it
    // has no index by transaction yet): the refund and its payment loaded
    // together wait for nothing; a refund of another transaction does.
    let fresh = Workdir::new();
    let both = fresh.write(
        "b/wechat-2026-11-21.csv",
        &format!(
            "{SH}wechat,T1,C1,PAYMENT,1.00,,CNY,2026-11-21 09:00:00,\n\
             wechat,T1,C1,REFUND,1.00,,CNY,2026-11-21 10:00:00,R1\n\
             wechat,T2,C2,REFUND,1.00,,CNY,2026-11-21 10:00:00,R2\n"
        ),
    );
    fresh
        .run(
            "d1",
            &[
                "--settlement",
                both.to_str().unwrap(),
                "--date",
                "2026-11-21",
            ],
        )
        .assert()
        .success();
    let summary: serde_json::Value = serde_json::from_str(&fresh.read("d1/summary.json")).unwrap();
    assert_eq!(summary["refunds_without_payment"], 1);
}

/// Tolerance: blank lines are not rows (and not errors); a BOM is skipped.
#[test]
fn blank_lines_are_not_rows() {
    const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
    const ROW: &str = "wechat,1.00,CNY,PAID,FAILED,2026-11-21 10:00:00,,,\n";
    let work = Workdir::new();
    let orders = work.write(
        "orders.csv",
        &format!("\u{feff}{OH}\nO1,P1,C1,{ROW}\n\n\r\nO2,P2,C2,{ROW}\n"),
    );
    work.run("out", &["--orders", orders.to_str().unwrap()])
        .assert()
        .success();
    let summary: serde_json::Value = serde_json::from_str(&work.read("out/summary.json")).unwrap();
    assert_eq!(summary["files"][0]["rows"], 2);
}
