//! Files as people really send them (issue #14): each case of the issue's
//! table, end to end through the binary, with the message that names the
//! fix and the exit status.

use crate::errors::assert_refused;
use crate::util::{Workdir, case_inputs, fixtures};
use predicates::str::contains;

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const ROW: &str = "O2,P2,C2,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n";

fn p(path: &std::path::Path) -> String {
    path.display().to_string()
}

#[test]
fn an_unmapped_status_value_gets_the_mapping_to_add() {
    assert_refused(
        "bad/orders.csv",
        &format!("{OH}{}", ROW.replace("PAID", "已支付")),
        "orders",
        &[
            "orders.csv, line 2, column 'order_status'",
            "expected one of OPEN, PAID, CLOSED, CANCELLED",
            r#"map it in the config: [orders.order_status] "已支付" = "PAID""#,
        ],
    );
    assert_refused(
        "bad/orders.csv",
        &format!("{OH}{}", ROW.replace("SUCCESS", "Done?")),
        "orders",
        &[
            "column 'payment_status'",
            r#"[orders.payment_status] "Done?" = "<one of PROCESSING|SUCCESS|FAILED|CLOSED|UNKNOWN>""#,
        ],
    );
}

#[test]
fn a_missing_column_gets_the_mapping_with_the_closest_name() {
    assert_refused(
        "bad/orders.csv",
        &format!("{}{ROW}", OH.replace(",amount,", ",Amount (CNY),")),
        "orders",
        &[
            "orders.csv, line 1: missing column(s) amount",
            r#"map them in the config: [orders.columns] amount = "Amount (CNY)""#,
        ],
    );
    assert_refused(
        "bad/orders.csv",
        &format!("{}{ROW}", OH.replace(",amount,", ",x,")),
        "orders",
        &[r#"[orders.columns] amount = "<its name in the export>""#],
    );
}

#[test]
fn a_repeated_header_is_named() {
    let export = format!("{OH}{ROW}{OH}{}", ROW.replace("O2,P2,C2", "O3,P3,C3"));
    assert_refused(
        "bad/orders.csv",
        &export,
        "orders",
        &["orders.csv, line 3: line 3 repeats the header of line 1"],
    );
    let sh = "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";
    let bill = "wechat,T9,C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n";
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{sh}{bill}{sh}{bill}"),
        "settlement",
        &["line 3 repeats the header"],
    );
}

#[test]
fn a_bill_given_as_the_export_is_sent_to_settlement() {
    let work = Workdir::new();
    let bill = fixtures().join("formats/wechat/wechat-2026-11-21-all.csv");
    work.run("out", &["--orders", &p(&bill)])
        .assert()
        .code(1)
        .stderr(contains(
            "wechat-2026-11-21-all.csv: this is a WeChat Pay trade bill (交易账单), a settlement file, not the order export: pass it with --settlement",
        ));
}

#[test]
fn the_unionpay_summary_file_names_the_detail_to_load() {
    let work = Workdir::new();
    let rd = fixtures().join("formats/unionpay/RD201015090501_802310048993424");
    work.run("out", &["--settlement", &p(&rd)])
        .assert()
        .code(1)
        .stderr(contains(
            "this is UnionPay's daily summary (RD) file, a report for people, not the transaction detail: load the ZM detail file of the same day instead (INN15090588ZM_<merId>",
        ));
}

#[test]
fn a_forced_format_names_the_file_that_is_another() {
    let work = Workdir::new();
    let folder = work.path("bills");
    std::fs::create_dir_all(&folder).unwrap();
    for name in [
        "wechat-2026-11-21-all.csv",
        "../alipay/20880211096256330156_20261121.csv.zip",
    ] {
        let from = fixtures().join("formats/wechat").join(name);
        std::fs::copy(&from, folder.join(from.file_name().unwrap())).unwrap();
    }
    work.run("out", &["--settlement", &p(&folder), "--format", "wechat"])
        .assert()
        .code(1)
        .stderr(contains(
            "20880211096256330156_20261121.csv.zip/20880211096256330156_20261121_业务明细.csv: is an Alipay business detail (业务明细) (detected as the alipay format from its content), but --format wechat forces wechat: load it without --format",
        ));
}

#[test]
fn a_settlement_day_flag_another_source_overrides_says_so() {
    let (orders, settlement) = case_inputs("clean");
    let work = Workdir::new();
    work.run(
        "out",
        &[
            "--orders",
            &orders,
            "--settlement",
            &settlement,
            "--settlement-day",
            "2026-11-25",
        ],
    )
    .assert()
    .success()
    .stderr(contains(
        "wechat-2026-11-21.csv covers 2026-11-21 (from the file name); --settlement-day 2026-11-25 is used only for files whose day cannot be told otherwise, so it was not used here",
    ));
}

/// SQLite says "attempt to write a readonly database: Error code 8", no
/// path, no cause. Run as a user who may not write the file (root may write
/// anything, so as root the run drops to `nobody` through setpriv).
#[test]
#[cfg(unix)]
fn a_read_only_database_is_named_with_its_cause() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (orders, settlement) = case_inputs("clean");
    let work = Workdir::new();
    work.run("out", &["--orders", &orders, "--settlement", &settlement])
        .assert()
        .success();
    let db = work.db();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(work.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let root = std::fs::metadata(&db).unwrap().uid() == 0;
    let payrecon = assert_cmd::cargo::cargo_bin("payrecon");
    let mut cmd = if root {
        let mut cmd = assert_cmd::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&payrecon);
        cmd
    } else {
        assert_cmd::Command::new(&payrecon)
    };
    cmd.current_dir(work.dir.path())
        .args(["run", "--db", &p(&db), "--out", &p(&work.path("out2"))])
        .args(["--orders", &orders, "--settlement", &settlement])
        .assert()
        .code(1)
        .stderr(contains(format!(
            "database {} is read-only: this user may not write the file (its permissions)",
            db.display()
        )));
}
