//! Hostile input (issue #10 §6): the caps on columns, field and line length,
//! and control characters in ids, end to end. Each is refused with exit
//! status 1, an error naming the place, and nothing changed.

use crate::errors::assert_refused;
use std::time::{Duration, Instant};

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at";
const SH: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id";

fn wide_header(base: &str, extra: usize) -> String {
    let mut header = base.to_string();
    for i in 0..extra {
        header.push_str(&format!(",extra_column_{i}"));
    }
    header
}

/// 100,000 distinct column names took 12 s to parse (a quadratic check for
/// repeated names); a header is now capped at 1,000 columns, quickly.
#[test]
fn a_header_of_100000_columns_is_refused_quickly() {
    let start = Instant::now();
    assert_refused(
        "bad/orders.csv",
        &format!("{}\n", wide_header(OH, 100_000)),
        "orders",
        &[
            "orders.csv, line 1",
            "more than 1000 columns; payrecon reads at most 1000 columns",
        ],
    );
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{}\n", wide_header(SH, 100_000)),
        "settlement",
        &[
            "wechat-2026-11-21.csv, line 1",
            "more than 1000 columns; payrecon reads at most 1000 columns",
        ],
    );
    // A native format (a WeChat bill's header found by content) and a
    // mapped one are held to the same cap.
    let wechat = std::fs::read_to_string(
        crate::util::fixtures().join("formats/wechat/wechat-2026-11-21-all.csv"),
    )
    .unwrap();
    let (first, rest) = wechat.split_once('\n').unwrap();
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{}\n{rest}", wide_header(first, 100_000)),
        "settlement",
        &["line 1", "more than 1000 columns"],
    );
    let work = crate::util::Workdir::new();
    let config = work.write(
        "payrecon.toml",
        "[formats.bank]\nchannel = \"bank\"\ncurrency = \"CNY\"\nkind = { constant = \"PAYMENT\" }\n[formats.bank.columns]\nchannel_txn_id = \"ref\"\nchannel_order_id = \"order\"\namount = \"amount\"\ntransacted_at = \"at\"\n",
    );
    let bank = work.write(
        "bank-2026-11-21.csv",
        &format!(
            "{}\n",
            wide_header("ref;order;amount;at", 100_000).replace(',', ";")
        ),
    );
    work.run(
        "out",
        &[
            "--config",
            config.to_str().unwrap(),
            "--settlement",
            bank.to_str().unwrap(),
        ],
    )
    .assert()
    .code(1)
    .stderr(predicates::str::contains(
        "bank-2026-11-21.csv, line 1: the line has more than 1000 columns",
    ));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
}

/// A 2 MB channel_txn_id was read whole (50 MB took 1.8 GB of memory); a
/// field is capped at 64 KiB while the file streams.
#[test]
fn a_huge_id_is_refused_with_its_place() {
    let huge = "7".repeat(2_000_000);
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!(
            "{SH}\nwechat,T8,C8,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\nwechat,{huge},C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n"
        ),
        "settlement",
        &[
            "wechat-2026-11-21.csv, line 3, column 'channel_txn_id'",
            "longer than 64 KiB",
        ],
    );
    assert_refused(
        "bad/orders.csv",
        &format!("{OH}\r\nO2,P2,{huge},wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\r\n"),
        "orders",
        &[
            "orders.csv, line 2, column 'channel_order_id'",
            "longer than 64 KiB",
        ],
    );
    // A quoted field full of commas is one field all the same.
    let commas = "1,".repeat(1_000_000);
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{SH}\nwechat,\"{commas}\",C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n"),
        "settlement",
        &["line 2, column 'channel_txn_id'", "longer than 64 KiB"],
    );
    // A line of many short fields is capped too.
    let wide = format!("{},", "9".repeat(60_000)).repeat(20);
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{SH}\nwechat,T9,C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,{wide}\n"),
        "settlement",
        &["line 2", "the line is longer than 1024 KiB"],
    );
}

/// An id of 33 to 64 KiB passed ingest, then failed the run when
/// report.xlsx was written ("String exceeds Excel's limit of 32,767
/// characters"), naming no file, line or column. Values past 1024
/// characters are refused where they are read, in every kind of file.
#[test]
fn an_id_past_1024_characters_is_refused_where_it_is_read() {
    let long = "7".repeat(60_000);
    assert_refused(
        "bad/orders.csv",
        &format!(
            "{OH}\nO2,P2,C2,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n{long},P3,C3,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n"
        ),
        "orders",
        &[
            "orders.csv, line 3, column 'order_id': '777",
            "is 60000 characters long: ids and the other values payrecon reads are at most 1024 characters",
        ],
    );
    let just_over = "R".repeat(1025);
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{SH}\nwechat,T9,C9,REFUND,1.00,,CNY,2026-11-21 10:00:00,{just_over}\n"),
        "settlement",
        &[
            "wechat-2026-11-21.csv, line 2, column 'refund_id'",
            "is 1025 characters long",
        ],
    );
    // 1024 characters (of two bytes each) are read.
    let work = crate::util::Workdir::new();
    let fits = "é".repeat(1024);
    let orders = work.write(
        "orders.csv",
        &format!("{OH}\n{fits},P1,C1,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n"),
    );
    work.run("out", &["--orders", orders.to_str().unwrap()])
        .assert()
        .success();
}

/// A NUL in an id was written raw into refunds.csv.
#[test]
fn control_characters_in_ids_are_refused() {
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{SH}\nwechat,T\u{0}9,C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n"),
        "settlement",
        &[
            "wechat-2026-11-21.csv, line 2, column 'channel_txn_id'",
            "control character \\u{0}",
        ],
    );
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{SH}\nwechat,T9,C9,REFUND,1.00,,CNY,2026-11-21 10:00:00,R\u{1b}[31m\n"),
        "settlement",
        &["line 2, column 'refund_id'", "control character \\u{1b}"],
    );
    assert_refused(
        "bad/orders.csv",
        &format!("{OH}\nO\u{0}2,P2,C2,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n"),
        "orders",
        &["orders.csv, line 2, column 'order_id'", "\\u{0}"],
    );
    assert_refused(
        "bad/orders.csv",
        &format!("{OH}\nO2,P\u{7}2,C2,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n"),
        "orders",
        &["line 2, column 'payment_id'", "\\u{7}"],
    );
}

/// A workbook of two cells, A1 and XFD1048576 (a few KB), made the reader
/// allocate their whole bounding box (17 billion cells) and abort; cells
/// are now streamed and one past the column limit is refused.
#[test]
fn a_sparse_workbook_cannot_exhaust_memory() {
    let work = crate::util::Workdir::new();
    let path = work.path("orders.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.write_string(0, 0, "order_id").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    book.save(&path).unwrap();
    work.run("out", &["--orders", path.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "orders.xlsx, line 1048576, column 'XFD (cell XFD1048576)': the sheet has a value in column 16384, past the 1000 columns payrecon reads",
        ));
}
