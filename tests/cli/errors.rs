//! Bad input: a clear error naming file, line and column, exit status 1, and
//! nothing changed (database and output folder as before).

use crate::util::{Workdir, case_inputs};
use predicates::str::contains;

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const SH: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";

fn good_day(work: &Workdir) -> (String, String) {
    let orders = work.write(
        "good/orders.csv",
        &format!("{OH}O1,P1,C1,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n"),
    );
    let bill = work.write(
        "good/wechat-2026-11-21.csv",
        &format!("{SH}wechat,T1,C1,PAYMENT,1.00,,CNY,2026-11-21 10:00:01,\n"),
    );
    (orders.display().to_string(), bill.display().to_string())
}

/// Runs with one bad file after a good run, and checks the error and that
/// the database and outputs are exactly as the good run left them.
#[track_caller]
pub fn assert_refused(file: &str, content: &str, role: &str, expected: &[&str]) {
    let work = Workdir::new();
    let (orders, bill) = good_day(&work);
    work.run("out", &["--orders", &orders, "--settlement", &bill])
        .assert()
        .success();
    // run_log records the failed run on purpose (issue 12); nothing else.
    let db_before = crate::util::db_tables(&work.db(), &["run_log"]);
    let out_before = work.read("out/discrepancies.csv");
    let bad = work.write(file, content);
    let flag = if role == "orders" {
        "--orders"
    } else {
        "--settlement"
    };
    let assert = work
        .run("out", &[flag, bad.to_str().unwrap()])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for needle in expected {
        assert!(
            stderr.contains(needle),
            "stderr lacks {needle:?}:\n{stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        crate::util::db_tables(&work.db(), &["run_log"]),
        db_before,
        "database changed by a failed run"
    );
    assert_eq!(work.read("out/discrepancies.csv"), out_before);
    let names: Vec<_> = std::fs::read_dir(work.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), payrecon::emit::OUTPUT_NAMES.len(), "{names:?}");
}

#[test]
fn bad_amount_names_file_line_and_column() {
    assert_refused(
        "bad/orders.csv",
        &format!(
            "{OH}O2,P2,C2,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\nO3,P3,C3,wechat,12.345,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n"
        ),
        "orders",
        &[
            "orders.csv, line 3, column 'amount'",
            "12.345",
            "CNY allows 2",
        ],
    );
}

#[test]
fn unknown_status_is_refused() {
    assert_refused(
        "bad/orders.csv",
        &format!("{OH}O2,P2,C2,wechat,1.00,CNY,PAID,DONE,2026-11-21 10:00:00,,,\n"),
        "orders",
        &[
            "line 2, column 'payment_status'",
            "'DONE'",
            "PROCESSING, SUCCESS",
        ],
    );
}

#[test]
fn bad_timestamp_is_refused() {
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{SH}wechat,T9,C9,PAYMENT,1.00,,CNY,2026-02-30 10:00:00,\n"),
        "settlement",
        &["line 2, column 'transacted_at'", "2026-02-30", "RFC 3339"],
    );
}

#[test]
fn missing_columns_are_listed() {
    assert_refused(
        "bad/orders.csv",
        "order_id,amount\nO1,1.00\n",
        "orders",
        &["line 1", "payment_id", "created_at"],
    );
}

#[test]
fn duplicated_attempt_in_one_export_names_both_lines() {
    assert_refused(
        "bad/orders.csv",
        &format!(
            "{OH}O2,P2,C2,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\nO2,P2,C2,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n"
        ),
        "orders",
        &[
            "line 3, column 'channel_order_id'",
            "already given on line 2",
        ],
    );
}

#[test]
fn ragged_row_is_refused() {
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{SH}wechat,T9,C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00\n"),
        "settlement",
        &["line 2", "8 fields, the header has 9"],
    );
}

#[test]
fn settlement_day_must_be_known() {
    assert_refused(
        "bad/wechat-bill.csv",
        &format!("{SH}wechat,T9,C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n"),
        "settlement",
        &["wechat-bill.csv", "--settlement-day"],
    );
}

#[test]
fn unknown_format_says_what_is_known() {
    assert_refused(
        "bad/bank-2026-11-21.csv",
        "date;amount\n2026-11-21;1,00\n",
        "settlement",
        &["not a settlement format", "canonical", "--format"],
    );
}

#[test]
fn mixed_channels_in_one_file_are_refused() {
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!(
            "{SH}wechat,T8,C8,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\nalipay,T9,C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n"
        ),
        "settlement",
        &["line 3, column 'channel'", "one channel"],
    );
}

#[test]
fn empty_files_are_valid() {
    let work = Workdir::new();
    let orders = work.write("orders.csv", "");
    let bill = work.write("wechat-2026-11-21.csv", "");
    // An empty export needs --allow-empty-orders (issue 12: a failed export
    // job must not pass as a quiet day; tests/cli/cron.rs); a settlement
    // file may be empty.
    work.run(
        "out",
        &[
            "--orders",
            orders.to_str().unwrap(),
            "--settlement",
            bill.to_str().unwrap(),
            "--allow-empty-orders",
        ],
    )
    .assert()
    .success();
    assert_eq!(work.read("out/refunds.csv").lines().count(), 1);
}

#[test]
fn fail_on_findings_exits_3_and_still_writes() {
    let (orders, settlement) = case_inputs("duplicate_payment");
    let work = Workdir::new();
    work.run(
        "out",
        &[
            "--orders",
            &orders,
            "--settlement",
            &settlement,
            "--fail-on-findings",
        ],
    )
    .assert()
    .code(3)
    .stderr(contains("need action"));
    assert!(work.read("out/refunds.csv").lines().count() == 3);
}

#[test]
fn clean_day_with_fail_on_findings_exits_0() {
    let (orders, settlement) = case_inputs("clean");
    let work = Workdir::new();
    work.run(
        "out",
        &[
            "--orders",
            &orders,
            "--settlement",
            &settlement,
            "--fail-on-findings",
        ],
    )
    .assert()
    .code(0);
}

#[test]
fn bad_usage_exits_2() {
    let work = Workdir::new();
    work.run("out", &["--no-such-flag"]).assert().code(2);
    // A bad flag value is bad usage too (issue 12).
    work.run("out", &["--date", "21/11/2026"])
        .assert()
        .code(2)
        .stderr(contains("YYYY-MM-DD"));
}

#[test]
fn nothing_loaded_is_explained() {
    let work = Workdir::new();
    work.run("out", &[])
        .assert()
        .code(1)
        .stderr(contains("nothing is loaded yet"));
}

#[test]
#[cfg(unix)]
fn refund_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (orders, settlement) = case_inputs("duplicate_payment");
    let work = Workdir::new();
    work.run("out", &["--orders", &orders, "--settlement", &settlement])
        .assert()
        .success();
    let mode = std::fs::metadata(work.path("out/refunds.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
