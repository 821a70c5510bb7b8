//! `payrecon inspect` over each native format's fixture (fixtures/formats/):
//! what a finance person checks a download by. The figures were worked out
//! from the fixture scripts (make_fixtures.py, make_intl_fixtures.py), not
//! copied from the output.

use crate::util::{Workdir, fixtures};

/// The output of `payrecon inspect ARGS… FIXTURE`, with runs of spaces
/// squeezed so tables compare by their cells.
fn inspect(fixture: &str, args: &[&str]) -> Vec<String> {
    let work = Workdir::new();
    let path = fixtures().join("formats").join(fixture);
    let mut all = vec![path.to_str().unwrap()];
    all.extend(args);
    let out = work.inspect(&all).assert().success().get_output().clone();
    assert!(
        std::fs::read_dir(work.dir.path()).unwrap().next().is_none(),
        "inspect writes nothing (no database, no outputs)"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The value after `label:`.
#[track_caller]
fn field<'a>(lines: &'a [String], label: &str) -> &'a str {
    let prefix = format!("{label}: ");
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {label}: line in\n{}", lines.join("\n")))
}

/// The lines from the totals table's header to the line before `until`.
#[track_caller]
fn table(lines: &[String], until: &str) -> Vec<String> {
    let start = lines
        .iter()
        .position(|l| l == "currency kind rows amount fees")
        .unwrap_or_else(|| panic!("no totals table in\n{}", lines.join("\n")));
    lines[start + 1..]
        .iter()
        .take_while(|l| !l.starts_with(until))
        .cloned()
        .collect()
}

#[test]
fn wechat_gzipped_bill() {
    let out = inspect("wechat/wechat-2026-11-21-all.csv.gz", &[]);
    assert!(field(&out, "format").starts_with("wechat (WeChat Pay merchant trade bill"));
    assert_eq!(field(&out, "channel"), "wechat");
    assert_eq!(field(&out, "day"), "2026-11-21 (from the file name)");
    assert!(field(&out, "checked").contains("the bill's summary"));
    // 8 bill rows; the revoked payment is a PAYMENT and a REFUND.
    assert_eq!(field(&out, "rows"), "9 to load");
    pretty_assertions::assert_eq!(
        table(&out, "first"),
        [
            "CNY PAYMENT 6 371.51 2.01",
            "CNY REFUND 3 68.50 -0.26",
            "CNY net 303.01 1.75",
        ]
    );
    assert!(!out.iter().any(|l| l.starts_with("skipped")));
    let first = out
        .iter()
        .position(|l| l == "first 5 row(s), canonical form:")
        .unwrap();
    assert_eq!(out.len(), first + 7, "a header and five rows");
}

#[test]
fn alipay_zip_as_downloaded() {
    let out = inspect(
        "alipay/20880211096256330156_20261121.csv.zip",
        &["--rows", "1"],
    );
    assert_eq!(
        field(&out, "member"),
        "20880211096256330156_20261121_业务明细.csv (read from the archive)"
    );
    assert!(field(&out, "format").starts_with("alipay (Alipay merchant business detail"));
    assert_eq!(field(&out, "channel"), "alipay");
    assert_eq!(
        field(&out, "day"),
        "2026-11-21 (from the bill's #起始日期 line)"
    );
    assert!(field(&out, "checked").contains("#交易合计 and #退款合计"));
    assert_eq!(field(&out, "rows"), "6 to load");
    // 订单金额 is the amount (88.00 with its 8.00 discount), fees as written.
    pretty_assertions::assert_eq!(
        table(&out, "first"),
        [
            "CNY PAYMENT 4 208.00 1.20",
            "CNY REFUND 2 22.00 -0.06",
            "CNY net 186.00 1.14",
        ]
    );
    assert_eq!(
        out[out.len() - 1],
        "alipay,2026112122001458861000000001,ORD2001-A1,PAYMENT,30.00,0.18,CNY,2026-11-21T00:01:15+08:00,"
    );
}

#[test]
fn stripe_report_with_skipped_categories() {
    let out = inspect("stripe/stripe-2026-11-21.csv", &["--rows", "0"]);
    assert!(field(&out, "format").starts_with("stripe (Stripe itemised"));
    assert_eq!(field(&out, "channel"), "stripe");
    assert_eq!(field(&out, "day"), "2026-11-21 (from the file name)");
    assert!(field(&out, "checked").starts_with("nothing"));
    assert_eq!(field(&out, "rows"), "5 to load");
    pretty_assertions::assert_eq!(
        table(&out, "skipped"),
        [
            "USD PAYMENT 4 248.48 8.41",
            "USD REFUND 1 28.50 0.00",
            "USD net 219.98 8.41",
        ]
    );
    let skipped = out.iter().position(|l| l.starts_with("skipped:")).unwrap();
    pretty_assertions::assert_eq!(
        out[skipped..],
        [
            "skipped: 2 row(s), not order money (not loaded):",
            "fee 1",
            "payout 1",
        ]
    );
}

#[test]
fn adyen_batch_report_needs_its_day() {
    // A payout batch report says no day and its name has none: shown, with
    // why a run would refuse it.
    let out = inspect(
        "adyen/settlement_detail_report_batch_4.csv",
        &["--rows", "0"],
    );
    assert_eq!(
        field(&out, "day"),
        "unknown: the file covers an unknown day: put the date in its name (wechat-2026-11-21.csv) or pass --settlement-day YYYY-MM-DD"
    );
    let out = inspect(
        "adyen/settlement_detail_report_batch_4.csv",
        &["--rows", "0", "--settlement-day", "2026-11-21"],
    );
    assert!(field(&out, "format").starts_with("adyen (Adyen Settlement details report"));
    assert_eq!(field(&out, "channel"), "adyen");
    assert_eq!(field(&out, "day"), "2026-11-21 (from --settlement-day)");
    assert_eq!(field(&out, "rows"), "6 to load");
    // Three currencies; the yen payment settled in euros has no fee in yen,
    // the EUR refund none at all.
    pretty_assertions::assert_eq!(
        table(&out, "skipped"),
        [
            "EUR PAYMENT 2 140.00 2.75",
            "EUR REFUND 1 30.00 -",
            "EUR net 110.00 2.75",
            "GBP PAYMENT 1 25.00 0.50",
            "GBP REFUND 1 5.00 0.10",
            "GBP net 20.00 0.60",
            "JPY PAYMENT 1 1500 -",
            "JPY net 1500 -",
        ]
    );
    let skipped = out.iter().position(|l| l.starts_with("skipped:")).unwrap();
    pretty_assertions::assert_eq!(
        out[skipped..],
        [
            "skipped: 3 row(s), not order money (not loaded):",
            "Chargeback 1",
            "Fee 1",
            "MerchantPayout 1",
        ]
    );
}

#[test]
fn unionpay_zm_file() {
    let out = inspect("unionpay/INN26112188ZM_802310048993424", &["--rows", "0"]);
    assert!(field(&out, "format").starts_with("unionpay (UnionPay ACP ZM"));
    assert_eq!(field(&out, "channel"), "unionpay");
    assert_eq!(
        field(&out, "day"),
        "2026-11-21 (from the INN<yyMMdd> date UnionPay names it by)"
    );
    assert_eq!(field(&out, "rows"), "6 to load");
    // Amounts in fen, fees with their C/D sign (credited back on refunds).
    pretty_assertions::assert_eq!(
        table(&out, "~"),
        [
            "CNY PAYMENT 4 1179.49 7.08",
            "CNY REFUND 2 78.49 -0.47",
            "CNY net 1101.00 6.61",
        ]
    );
}

#[test]
fn a_bill_whose_totals_are_off_is_refused() {
    let work = Workdir::new();
    let path = fixtures().join("formats/wechat/bad/wechat-2026-11-21-totals-off.csv");
    work.inspect(&[path.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains(
            "the summary total is 361.51, but 应结订单金额 of the 8 rows adds up to 360.51",
        ));
}

/// A file whose rows fall outside the day it claims: `inspect` still shows
/// it, and fails (exit status 1) saying why a run refuses it, in the run's
/// words. It said the day was fine, and the morning's run then refused
/// the file. (Found by a helper's attack.)
#[test]
fn inspect_says_a_run_refuses_a_file_of_another_day() {
    let work = Workdir::new();
    let file = work.write(
        "wechat-2026-11-21.csv",
        "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n\
         wechat,T9,W9,PAYMENT,1.00,,CNY,2026-11-21T16:30:00Z,\n",
    );
    let out = work
        .inspect(&[file.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("a run refuses"))
        .stderr(predicates::str::contains("claims day 2026-11-21"))
        .get_output()
        .clone();
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("day:      2026-11-21"), "{report}");
    let orders = work.write(
        "orders.csv",
        "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n\
         O9,P9,W9,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 23:00:00,,,2026-11-21 23:00:05\n",
    );
    work.run_day("d", &[&orders], &[&file], "2026-11-21")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("claims day 2026-11-21"));
}
