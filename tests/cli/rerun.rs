//! Reruns, later days, corrected files and crashes: refunds are issued once,
//! ever, and a rerun reproduces a day byte for byte.

use crate::util::{Workdir, case_inputs as case, parse_csv};
use predicates::prelude::*;

const SH: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";
const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const OUTPUTS: [&str; 4] = [
    "refunds.csv",
    "discrepancies.csv",
    "summary.md",
    "summary.json",
];

fn outputs(work: &Workdir, out: &str) -> Vec<String> {
    OUTPUTS
        .iter()
        .map(|f| work.read(&format!("{out}/{f}")))
        .collect()
}

fn refund_rows(work: &Workdir, out: &str) -> Vec<Vec<String>> {
    parse_csv(&work.read(&format!("{out}/refunds.csv"))).1
}

#[test]
fn rerunning_a_day_reproduces_it_byte_for_byte() {
    let (orders, settlement) = case("duplicate_payment");
    let work = Workdir::new();
    let args = [
        "--orders",
        &orders,
        "--settlement",
        &settlement,
        "--date",
        "2026-11-22",
    ];
    work.run("first", &args).assert().success();
    work.run("second", &args)
        .assert()
        .success()
        .stderr(predicates::str::contains("already loaded"));
    assert_eq!(outputs(&work, "first"), outputs(&work, "second"));
    assert_eq!(refund_rows(&work, "second").len(), 2);
}

#[test]
fn a_later_day_never_repeats_an_instruction() {
    let (orders, settlement) = case("duplicate_payment");
    let work = Workdir::new();
    work.run_day("d1", &[&orders], &[&settlement], "2026-11-21")
        .assert()
        .success();
    let issued = refund_rows(&work, "d1");
    assert_eq!(issued.len(), 2);
    // Day 2: nothing new arrives; the findings stay open, nothing is re-issued.
    work.run("d2", &["--date", "2026-11-22"]).assert().success();
    assert!(refund_rows(&work, "d2").is_empty());
    let duplicates: Vec<_> = crate::util::report_rows(&work, "d2")
        .into_iter()
        .filter(|r| r["kind"] == "DUPLICATE_PAYMENT")
        .collect();
    assert!(!duplicates.is_empty());
    for row in &duplicates {
        assert_eq!(
            (
                row["first_seen"].as_str(),
                row["status"].as_str(),
                row["age_days"].as_str()
            ),
            ("2026-11-21", "OPEN", "1"),
            "{row:?}"
        );
    }
    // Rerunning day 1 afterwards still shows day 1's instructions, and only them.
    work.run("d1-again", &["--date", "2026-11-21"])
        .assert()
        .success();
    assert_eq!(refund_rows(&work, "d1-again"), issued);
}

#[test]
fn the_channel_reporting_our_refund_closes_the_finding() {
    let (orders, settlement) = case("duplicate_payment");
    let work = Workdir::new();
    work.run("d1", &["--orders", &orders, "--settlement", &settlement])
        .assert()
        .success();
    let mut later = String::from(SH);
    for row in refund_rows(&work, "d1") {
        // refund_request_id,channel,channel_txn_id,channel_order_id,order_id,payment_id,amount,currency,reason
        later += &format!(
            "{},{},{},REFUND,{},,{},2026-11-23 10:00:00,{}\n",
            row[1], row[2], row[3], row[6], row[7], row[0]
        );
    }
    let wechat: String = later
        .lines()
        .filter(|l| !l.starts_with("alipay"))
        .map(|l| format!("{l}\n"))
        .collect();
    let alipay: String = std::iter::once(SH.trim_end())
        .chain(later.lines().filter(|l| l.starts_with("alipay")))
        .map(|l| format!("{l}\n"))
        .collect();
    let w = work.write("bills/wechat-2026-11-23.csv", &wechat);
    let a = work.write("bills/alipay-2026-11-23.csv", &alipay);
    work.run(
        "d3",
        &[
            "--settlement",
            w.to_str().unwrap(),
            "--settlement",
            a.to_str().unwrap(),
        ],
    )
    .assert()
    .success();
    assert!(refund_rows(&work, "d3").is_empty());
    // The duplicate is resolved by the data that day (reported once, as
    // RESOLVED); the internal state is still wrong.
    let rows = crate::util::report_rows(&work, "d3");
    let duplicates: Vec<_> = rows
        .iter()
        .filter(|r| r["kind"] == "DUPLICATE_PAYMENT")
        .collect();
    assert!(!duplicates.is_empty());
    assert!(
        duplicates.iter().all(|r| r["status"] == "RESOLVED"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r["kind"] == "DROPPED_PAYMENT" && r["status"] == "OPEN"),
        "the internal state is still wrong: {rows:?}"
    );
    work.run("d4", &["--date", "2026-11-24"]).assert().success();
    let rows = crate::util::report_rows(&work, "d4");
    assert!(
        !rows.iter().any(|r| r["kind"] == "DUPLICATE_PAYMENT"),
        "a resolved item is reported once: {rows:?}"
    );
}

#[test]
fn a_corrected_settlement_file_replaces_its_day() {
    let work = Workdir::new();
    let orders = work.write(
        "orders.csv",
        &format!(
            "{OH}O1,P1,C1,wechat,90.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,2026-11-21 10:00:05\n"
        ),
    );
    let first = work.write(
        "v1/wechat-2026-11-21.csv",
        &format!("{SH}wechat,T1,C1,PAYMENT,100.00,,CNY,2026-11-21 10:00:05,\n"),
    );
    let next = work.write("v1/wechat-2026-11-22.csv", SH);
    let corrected = work.write(
        "v2/wechat-2026-11-21.csv",
        &format!("{SH}wechat,T1,C1,PAYMENT,90.00,,CNY,2026-11-21 10:00:05,\n"),
    );
    let p = |p: &std::path::Path| p.display().to_string();
    work.run(
        "a",
        &[
            "--orders",
            &p(&orders),
            "--settlement",
            &p(&first),
            "--settlement",
            &p(&next),
        ],
    )
    .assert()
    .success();
    assert!(work.read("a/discrepancies.csv").contains("AMOUNT_MISMATCH"));
    work.run("b", &["--settlement", &p(&corrected)])
        .assert()
        .success()
        .stderr(predicates::str::contains("replacing"));
    let rows = crate::util::report_rows(&work, "b");
    assert!(
        rows.iter().any(|r| r["kind"] == "AMOUNT_MISMATCH"),
        "the mismatch is reported resolved: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| r["status"] == "RESOLVED"),
        "no mismatch and no duplicate open after the correction: {rows:?}"
    );
}

#[test]
fn a_later_export_supersedes_and_an_older_one_cannot_move_status_back() {
    let work = Workdir::new();
    let day1 = work.write(
        "e1/orders-1.csv",
        &format!("{OH}O1,P1,C1,wechat,10.00,CNY,OPEN,UNKNOWN,2026-11-22 10:00:00,,,\n"),
    );
    let day2 = work.write(
        "e2/orders-2.csv",
        &format!(
            "{OH}O1,P1,C1,wechat,10.00,CNY,PAID,SUCCESS,2026-11-22 10:00:00,,,2026-11-22 10:00:09\n"
        ),
    );
    let bill = work.write(
        "bills/wechat-2026-11-22.csv",
        &format!("{SH}wechat,T1,C1,PAYMENT,10.00,,CNY,2026-11-22 10:00:09,\n"),
    );
    let p = |p: &std::path::Path| p.display().to_string();
    work.run("a", &["--orders", &p(&day1), "--settlement", &p(&bill)])
        .assert()
        .success();
    assert!(
        work.read("a/discrepancies.csv")
            .contains("UNKNOWN_RESOLVED_PAID")
    );
    work.run("b", &["--orders", &p(&day2)]).assert().success();
    let rows = crate::util::report_rows(&work, "b");
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r["status"] == "RESOLVED"),
        "the unknown status is resolved by the later export: {rows:?}"
    );
    // The old export again, under another name: still SUCCESS.
    let stale = work.write(
        "e3/orders-old.csv",
        &format!("{}\n", work.read("e1/orders-1.csv").trim_end()),
    );
    std::fs::write(
        &stale,
        format!(
            "{}O2,P2,C2,wechat,1.00,CNY,OPEN,UNKNOWN,2026-11-22 11:00:00,,,\n",
            work.read("e1/orders-1.csv")
        ),
    )
    .unwrap();
    work.run("c", &["--orders", &p(&stale)]).assert().success();
    let rows = crate::util::report_rows(&work, "c");
    assert!(
        rows.iter()
            .filter(|r| r["channel_order_id"] == "C1")
            .all(|r| r["status"] == "RESOLVED"),
        "the stale export reopened C1: {rows:?}"
    );
}

#[test]
fn a_crash_before_commit_changes_nothing_and_a_rerun_completes() {
    let (orders, settlement) = case("duplicate_payment");
    let args = [
        "--orders",
        orders.as_str(),
        "--settlement",
        settlement.as_str(),
        "--date",
        "2026-11-22",
    ];
    let clean = Workdir::new();
    clean.run("out", &args).assert().success();

    for point in ["before-commit", "after-commit"] {
        let work = Workdir::new();
        work.run("out", &args)
            .env("PAYRECON_FAILPOINT", point)
            .assert()
            .failure();
        assert!(
            !work.path("out/refunds.csv").exists(),
            "{point}: no output before publishing"
        );
        work.run("out", &args).assert().success();
        assert_eq!(
            outputs(&work, "out"),
            outputs(&clean, "out"),
            "{point}: resumed run equals a clean run"
        );
        let leftovers: Vec<_> = std::fs::read_dir(work.path("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            payrecon::emit::OUTPUT_NAMES.len(),
            "{point}: {leftovers:?}"
        );
    }
}

/// Arguments running case `name` with per-phase timings, which say whether
/// a run reused the outputs or classified anew.
fn timed_case(name: &str) -> Vec<String> {
    let (orders, settlement) = case(name);
    [
        "--orders",
        &orders,
        "--settlement",
        &settlement,
        "--timings",
    ]
    .map(String::from)
    .to_vec()
}

/// Runs into `out` and checks the outputs were reused.
fn run_reusing(work: &Workdir, out: &str, args: &[&str]) {
    work.run(out, args)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "reuse the outputs of an unchanged state",
        ));
}

#[test]
fn reused_outputs_equal_a_fresh_computation() {
    let args = timed_case("duplicate_partly_refunded");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let work = Workdir::new();
    work.run("first", &args).assert().success();
    run_reusing(&work, "reused", &args);
    // Forget the stored outputs: the next run must classify everything anew.
    let db = rusqlite::Connection::open(work.db()).unwrap();
    db.execute("DELETE FROM day_output", []).unwrap();
    drop(db);
    work.run("fresh", &args)
        .assert()
        .success()
        .stderr(predicates::str::contains("rule DUPLICATE_PAYMENT"));
    assert_eq!(outputs(&work, "first"), outputs(&work, "reused"));
    assert_eq!(outputs(&work, "first"), outputs(&work, "fresh"));
}

/// Only the outputs' SHA-256 is kept: a published file changed or deleted
/// by hand is not reused but computed again, byte for byte as before, and
/// intact files in the run's own folder are left as they are.
#[test]
fn outputs_are_reused_only_while_the_published_files_are_intact() {
    let args = timed_case("duplicate_partly_refunded");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let work = Workdir::new();
    work.run("out", &args).assert().success();
    let first = outputs(&work, "out");
    run_reusing(&work, "out", &args);
    assert_eq!(outputs(&work, "out"), first);
    work.write("out/discrepancies.csv", "edited by hand\n");
    std::fs::remove_file(work.path("out/refunds.csv")).unwrap();
    work.run("out", &args)
        .assert()
        .success()
        .stderr(predicates::str::contains("rule DUPLICATE_PAYMENT"))
        .stderr(predicates::str::contains("reuse the outputs").not());
    assert_eq!(outputs(&work, "out"), first);
}

/// Issue 11: rerunning an earlier day after a later one never rewrites
/// what the later day recorded: first_seen stays, the earlier day's report
/// holds only what was known on it, and the later day reruns byte for byte.
#[test]
fn an_earlier_day_run_after_a_later_one_rewrites_nothing_of_the_later_day() {
    let (orders, settlement) = case("duplicate_payment");
    let work = Workdir::new();
    work.run_day("d22", &[&orders], &[&settlement], "2026-11-22")
        .assert()
        .success();
    let first_seen = |out: &str| -> Vec<String> {
        crate::util::report_rows(&work, out)
            .into_iter()
            .map(|r| format!("{} {} {}", r["finding_id"], r["first_seen"], r["status"]))
            .collect()
    };
    let recorded = first_seen("d22");
    assert!(!recorded.is_empty());
    assert!(
        recorded.iter().all(|r| r.ends_with(" 2026-11-22 NEW")),
        "{recorded:?}"
    );
    work.run("d21", &["--date", "2026-11-21"])
        .assert()
        .success();
    assert!(
        crate::util::report_rows(&work, "d21").is_empty(),
        "nothing was known on the 21st"
    );
    work.run("d22-again", &["--date", "2026-11-22"])
        .assert()
        .success();
    assert_eq!(first_seen("d22-again"), recorded);
    assert_eq!(outputs(&work, "d22-again"), outputs(&work, "d22"));
}
