//! Bad input (guarantee 5), the kinds issue 5 lists, end to end: each is
//! refused with exit status 1 and an error naming the file (and the line and
//! column where there is one), after which the database and outputs are as
//! the previous good run left them (`errors::assert_refused` checks that),
//! or is a documented tolerance tested here.

use crate::errors::assert_refused;
use crate::util::Workdir;

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const SH: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";
const ROW: &str = "O2,P2,C2,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,";
const BILL: &str = "wechat,T9,C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,";

fn orders(rows: &str) -> String {
    format!("{OH}{rows}\n")
}

fn bill(rows: &str) -> String {
    format!("{SH}{rows}\n")
}

#[test]
fn unbalanced_quote_is_refused() {
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &bill(&format!(
            "wechat,\"T9,C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n{BILL}"
        )),
        "settlement",
        &["wechat-2026-11-21.csv, line 2", "stray comma or quote"],
    );
    assert_refused(
        "bad/orders.csv",
        &orders(&format!(
            "{ROW}\nO3,\"P3,C3,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,"
        )),
        "orders",
        &["orders.csv, line 3", "fields, the header has 12"],
    );
}

#[test]
fn wrong_delimiter_is_refused() {
    // Since issue #14 an export's delimiter is told from its header.
    let work = Workdir::new();
    let semicolons = work.write("orders.csv", &orders(ROW).replace(',', ";"));
    work.run("out", &["--orders", semicolons.to_str().unwrap()])
        .assert()
        .success()
        .stderr(predicates::str::contains("read with the delimiter ';'"));
    // Forced to another, the error says what the header looks like.
    let work = Workdir::new();
    let semicolons = work.write("orders.csv", &orders(ROW).replace(',', ";"));
    let config = work.write("payrecon.toml", "[orders.layout]\ndelimiter = \"|\"\n");
    work.run(
        "out",
        &[
            "--config",
            config.to_str().unwrap(),
            "--orders",
            semicolons.to_str().unwrap(),
        ],
    )
    .assert()
    .code(1)
    .stderr(predicates::str::contains("missing column(s) order_id"))
    .stderr(predicates::str::contains("looks separated by ';'"));
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &bill(BILL).replace(',', ";"),
        "settlement",
        &["wechat-2026-11-21.csv", "not a settlement format"],
    );
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{SH}{}\n", BILL.replace(',', ";")),
        "settlement",
        &[
            "wechat-2026-11-21.csv, line 2",
            "1 fields, the header has 9",
        ],
    );
}

#[test]
fn binary_junk_is_refused() {
    let junk: String = (0u8..=255).map(char::from).cycle().take(5000).collect();
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &junk,
        "settlement",
        &["wechat-2026-11-21.csv", "not a settlement format"],
    );
    assert_refused(
        "bad/orders.csv",
        &junk,
        "orders",
        &["orders.csv, line 1", "missing column(s)"],
    );
    assert_refused(
        "bad/orders.csv",
        &orders(&ROW.replace("O2", "O\u{0}\u{1}\u{7f}")).replace("CNY", "\u{fffd}"),
        "orders",
        &["orders.csv, line 2, column 'currency'", "ISO 4217"],
    );
}

#[test]
fn truncated_last_line_names_the_missing_column() {
    assert_refused(
        "bad/orders.csv",
        &format!("{OH}{ROW}\nO3,P3,C3,wechat,1.0"),
        "orders",
        &["orders.csv, line 3, column 'currency'", "5 fields"],
    );
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{SH}{BILL}\nwechat,T8,C8,PAYM"),
        "settlement",
        &["line 3, column 'amount'"],
    );
}

#[test]
fn a_10_mb_field_gets_a_short_error() {
    let huge = "9".repeat(10 << 20);
    for (column, row) in [
        ("amount", ROW.replace("1.00", &format!("{huge}.001"))),
        ("currency", ROW.replace("CNY", &huge)),
        ("payment_status", ROW.replace("SUCCESS", &huge)),
        ("created_at", ROW.replace("2026-11-21 10:00:00", &huge)),
    ] {
        let work = Workdir::new();
        let bad = work.write("orders.csv", &orders(&row));
        let assert = work
            .run("out", &["--orders", bad.to_str().unwrap()])
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(
            stderr.len() < 1000,
            "{column}: {} bytes of error",
            stderr.len()
        );
        assert!(
            stderr.contains(&format!("orders.csv, line 2, column '{column}'")),
            "{stderr}"
        );
    }
    // A huge id is refused too (issue #10 §6: a field is capped at 64 KiB).
    let work = Workdir::new();
    let big = work.write("orders.csv", &orders(&ROW.replace("O2", &huge)));
    work.run("out", &["--orders", big.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "orders.csv, line 2, column 'order_id': the field is longer than 64 KiB",
        ));
}

/// With `encoding = "gbk"` forced, bytes that are not GBK became U+FFFD
/// and were loaded as such; the Alipay reader refused the same bytes.
#[test]
fn bytes_that_are_not_gbk_are_refused_in_a_forced_gbk_export() {
    let mut bytes = OH.as_bytes().to_vec();
    bytes.extend_from_slice(ROW.replace("C2", "C\u{1}").as_bytes());
    let at = bytes.iter().position(|&b| b == 1).unwrap();
    bytes.splice(at..=at, *b"\xff\xfe");
    bytes.push(b'\n');
    let work = Workdir::new();
    let bad = work.path("orders.csv");
    std::fs::write(&bad, &bytes).unwrap();
    let config = work.write("payrecon.toml", "[orders.layout]\nencoding = \"gbk\"\n");
    let assert = work
        .run(
            "out",
            &[
                "--config",
                config.to_str().unwrap(),
                "--orders",
                bad.to_str().unwrap(),
            ],
        )
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains(
            "orders.csv, line 2, column 'channel_order_id': holds bytes that are neither GBK nor UTF-8"
        ),
        "{stderr}"
    );
    assert!(!work.path("out").exists(), "{stderr}");
}

#[test]
fn wrong_encodings_are_refused() {
    // GBK bytes of 微信 in a field: UTF-8 is what payrecon reads.
    let mut gbk = OH.as_bytes().to_vec();
    gbk.extend_from_slice(b"O\xce\xa2\xd0\xc5");
    gbk.extend_from_slice(&ROW.as_bytes()[2..]);
    let work = Workdir::new();
    let bad = work.path("orders.csv");
    std::fs::write(&bad, &gbk).unwrap();
    // Since issue #14 a file that is GB18030 throughout is read as such.
    work.run("out", &["--orders", bad.to_str().unwrap()])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "orders.csv is not UTF-8 but reads as GBK (GB18030)",
        ));
    // Past the first 64 KiB, the error says which key reads it.
    let mut late = OH.as_bytes().to_vec();
    for i in 0..2000 {
        late.extend_from_slice(
            ROW.replace("O2,P2,C2", &format!("O{i},P{i},C{i}"))
                .as_bytes(),
        );
        late.push(b'\n');
    }
    late.extend_from_slice(&gbk[OH.len()..]);
    let bad = work.path("late.csv");
    std::fs::write(&bad, &late).unwrap();
    work.run("out", &["--orders", bad.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "late.csv, line 2002, column 'order_id'",
        ))
        .stderr(predicates::str::contains(
            r#"encoding = "gbk" in its layout"#,
        ));
    // UTF-16 (Excel's "Unicode Text"): said so, for both kinds of file.
    let utf16: Vec<u8> = b"\xff\xfe"
        .iter()
        .copied()
        .chain(orders(ROW).encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    for (name, flag) in [
        ("orders.csv", "--orders"),
        ("wechat-2026-11-21.csv", "--settlement"),
    ] {
        let path = work.path(name);
        std::fs::write(&path, &utf16).unwrap();
        work.run("out", &[flag, path.to_str().unwrap()])
            .assert()
            .code(1)
            .stderr(predicates::str::contains(name))
            .stderr(predicates::str::contains("UTF-16"));
    }
}

#[test]
fn absurd_amounts_are_refused() {
    for (amount, says) in [
        ("-1.00", "zero or more"),
        ("1.001", "3 decimals, CNY allows 2"),
        ("1e30", "not a decimal amount"),
        ("NaN", "not a decimal amount"),
        ("inf", "not a decimal amount"),
        ("\"1,00\"", "not a decimal amount"),
        ("100000000000000000000", "too large"),
        ("99999999999999999999999999999999", "too large"),
    ] {
        assert_refused(
            "bad/orders.csv",
            &orders(&ROW.replace("1.00", amount)),
            "orders",
            &["orders.csv, line 2, column 'amount'", says],
        );
    }
    for (amount, says) in [
        ("0", "positive amount"),
        ("-5.00", "positive amount"),
        ("1e30", "not a decimal amount"),
        ("12.345", "3 decimals"),
    ] {
        assert_refused(
            "bad/wechat-2026-11-21.csv",
            &bill(&BILL.replace("1.00", amount)),
            "settlement",
            &["line 2, column 'amount'", says],
        );
    }
}

#[test]
fn impossible_dates_are_refused() {
    for date in [
        "2026-02-30 10:00:00",
        "2026-11-31 10:00:00",
        "2026-11-21 24:00:01",
        "0000-00-00 00:00:00",
        "2026-11-21T10:00:00+25:00",
    ] {
        assert_refused(
            "bad/orders.csv",
            &orders(&ROW.replace("2026-11-21 10:00:00", date)),
            "orders",
            &["orders.csv, line 2, column 'created_at'", "RFC 3339"],
        );
    }
    assert_refused(
        "bad/wechat-2026-02-30.csv",
        &bill(BILL),
        "settlement",
        &["wechat-2026-02-30.csv", "--settlement-day"],
    );
}

#[test]
fn missing_and_duplicate_headers_are_refused() {
    // No header at all: the first data row is read as one, and lacks columns.
    assert_refused(
        "bad/orders.csv",
        &format!("{ROW}\n"),
        "orders",
        &["orders.csv, line 1", "missing column(s)"],
    );
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{BILL}\n"),
        "settlement",
        &["wechat-2026-11-21.csv", "not a settlement format"],
    );
    assert_refused(
        "bad/orders.csv",
        &format!("{},amount\n{ROW},2.00\n", OH.trim_end()),
        "orders",
        &["orders.csv, line 1, column 'amount'", "appears twice"],
    );
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{},kind\n{BILL},PAYMENT\n", SH.trim_end()),
        "settlement",
        &["line 1, column 'kind'", "appears twice"],
    );
}

#[test]
fn a_settlement_file_for_the_wrong_channel_is_refused() {
    let work = Workdir::new();
    let export = work.write(
        "orders.csv",
        &orders(&format!(
            "{ROW}\nO3,P3,C3,alipay,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,"
        )),
    );
    let wechat = work.write(
        "bills/wechat-2026-11-21.csv",
        &bill("wechat,T2,C2,PAYMENT,1.00,,CNY,2026-11-21 10:00:01,"),
    );
    work.run(
        "out",
        &[
            "--orders",
            export.to_str().unwrap(),
            "--settlement",
            wechat.to_str().unwrap(),
        ],
    )
    .assert()
    .success();
    // run_log records the failed run on purpose (issue 12); nothing else.
    let db_before = crate::util::db_tables(&work.db(), &["run_log"]);
    // WeChat's rows in a file named for Alipay.
    let misnamed = work.write(
        "bills/alipay-2026-11-21.csv",
        &bill("wechat,T2,C2,PAYMENT,1.00,,CNY,2026-11-21 10:00:01,"),
    );
    work.run("out", &["--settlement", misnamed.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("alipay-2026-11-21.csv"))
        .stderr(predicates::str::contains(
            "its name says channel 'alipay', but its rows are channel 'wechat'",
        ));
    assert_eq!(crate::util::db_tables(&work.db(), &["run_log"]), db_before);
    // Tolerated: a name whose leading word is no known channel.
    let neutral = work.write(
        "bills/bill-2026-11-22.csv",
        &bill("wechat,T5,C5,PAYMENT,1.00,,CNY,2026-11-22 10:00:01,"),
    );
    work.run("out2", &["--settlement", neutral.to_str().unwrap()])
        .assert()
        .success();
    assert!(
        crate::util::report_rows(&work, "out2")
            .iter()
            .any(|r| r["kind"] == "UNMATCHED_CHANNEL" && r["channel_txn_id"] == "T5")
    );
}

/// A `--date` before every day the run's files cover (a typo for the 21st)
/// would file the day's refunds, and date its findings, before the
/// payments were made: refused, the database as it was. The earliest day
/// a file of the 21st helps cover (the 20th, a day's lag) is accepted.
#[test]
fn a_date_before_the_days_of_the_files_is_refused() {
    let work = Workdir::new();
    let export = work.write("orders.csv", &orders(ROW));
    let wechat = work.write(
        "bills/wechat-2026-11-21.csv",
        &bill("wechat,T2,C2,PAYMENT,1.00,,CNY,2026-11-21 10:00:01,"),
    );
    let files = [
        "--orders",
        export.to_str().unwrap(),
        "--settlement",
        wechat.to_str().unwrap(),
    ];
    // A database to compare with (a day with no files is fine).
    work.run("first", &["--date", "2026-11-19"])
        .assert()
        .success();
    let db_before = crate::util::db_tables(&work.db(), &["run_log"]);
    work.run("out", &[&files[..], &["--date", "2026-11-12"]].concat())
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "--date 2026-11-12 is before every day this run's settlement files cover (wechat's file of 2026-11-21 covers 2026-11-20 onward",
        ));
    assert_eq!(crate::util::db_tables(&work.db(), &["run_log"]), db_before);
    assert!(!work.path("out").exists());
    work.run("out", &[&files[..], &["--date", "2026-11-20"]].concat())
        .assert()
        .success();
}
