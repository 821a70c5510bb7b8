//! Settlement files and exports read through the config's mappings
//! (`[formats.NAME]`, `[orders]`), and what an unknown file is told.

use crate::util::{Workdir, assert_csv_matches};
use predicates::str::contains;

const CONFIG: &str = r#"
timezone = "Asia/Hong_Kong"
default_currency = "HKD"

[orders.columns]
order_id = "Order No"
payment_id = "Payment No"
channel_order_id = "Merchant Ref"
channel = "Channel"
amount = "Amount"
order_status = "Order Status"
payment_status = "Payment Status"
created_at = "Created"

[orders.order_status]
"Paid" = "PAID"
"Cancelled" = "CANCELLED"

[orders.payment_status]
"OK" = "SUCCESS"
"Failed" = "FAILED"

[orders.layout]
delimiter = "tab"
time_format = "%d/%m/%Y %H:%M"

[formats.hkbank]
channel = "hkbank"
currency = "HKD"
kind = { column = "Type", payment = ["SALE"], refund = ["REFUND"], skip = ["FEE"] }
layout = { delimiter = ";", skip_top = 2, skip_bottom = 1, time_format = "%d/%m/%Y %H:%M:%S", decimal_comma = true }

[formats.hkbank.columns]
channel_txn_id = "Txn Ref"
channel_order_id = "Merchant Ref"
amount = "Amount"
transacted_at = "Value Time"
original_txn_id = "Original Ref"
fee = "Fee"
"#;

const ORDERS: &str = "Order No\tPayment No\tMerchant Ref\tChannel\tAmount\tOrder Status\tPayment Status\tCreated\n\
O1\tP1\tM1\thkbank\t100.00\tPaid\tOK\t21/11/2026 10:00\n\
O1\tP2\tM2\thkbank\t100.00\tPaid\tFailed\t21/11/2026 10:01\n\
O2\tP3\tM3\thkbank\t50.00\tCancelled\tFailed\t21/11/2026 11:00\n\
O3\tP4\tM4\thkbank\t20.00\tPaid\tOK\t21/11/2026 12:00\n";

const BANK_DAY: &str = "HK Bank merchant statement\nAccount 012-345678-001\n\
Txn Ref;Merchant Ref;Type;Amount;Fee;Value Time;Original Ref\n\
B1;M1;SALE;100,00;0,80;21/11/2026 10:00:30;\n\
B2;M2;SALE;100,00;0,80;21/11/2026 10:01:40;\n\
B3;M3;SALE;50,00;0,40;21/11/2026 11:05:00;\n\
B4;M4;SALE;20,00;0,16;21/11/2026 12:00:10;\n\
R9;M2;REFUND;30,00;;21/11/2026 18:00:00;B2\n\
F1;-;FEE;2,16;;21/11/2026 23:59:00;\n\
Total;;;270,00;;;\n";

const BANK_NEXT: &str = "HK Bank merchant statement\nAccount 012-345678-001\n\
Txn Ref;Merchant Ref;Type;Amount;Fee;Value Time;Original Ref\n\
Total;;;0,00;;;\n";

#[test]
fn a_mapped_bank_and_a_mapped_export_reconcile() {
    let work = Workdir::new();
    work.write("payrecon.toml", CONFIG);
    let orders = work.write("orders.tsv", ORDERS);
    let day = work.write("bills/statement_20261121.csv", BANK_DAY);
    let next = work.write("bills/statement_20261122.csv", BANK_NEXT);
    let p = |p: &std::path::Path| p.display().to_string();
    work.run(
        "out",
        &[
            "--config",
            &p(&work.path("payrecon.toml")),
            "--orders",
            &p(&orders),
            "--settlement",
            &p(&day),
            "--settlement",
            &p(&next),
        ],
    )
    .assert()
    .success()
    .stderr(contains("hkbank format; skipped (not order money): FEE 1"));
    assert_csv_matches(
        &work.read("out/refunds.csv"),
        "channel,channel_txn_id,channel_order_id,order_id,payment_id,amount,currency,reason\n\
         hkbank,B2,M2,O1,P2,70.00,HKD,DUPLICATE_PAYMENT\n\
         hkbank,B3,M3,O2,P3,50.00,HKD,PAID_AFTER_CLOSE\n",
        "refunds.csv",
    );
    assert_csv_matches(
        &work.read("out/discrepancies.csv"),
        "kind,order_id,channel_order_id,channel_txn_id,channel,internal_amount,channel_amount,currency\n\
         DUPLICATE_PAYMENT,O1,M2,B2,hkbank,100.00,100.00,HKD\n\
         PAID_AFTER_CLOSE,O2,M3,B3,hkbank,50.00,50.00,HKD\n\
         DROPPED_PAYMENT,O1,M2,B2,hkbank,100.00,100.00,HKD\n",
        "discrepancies.csv",
    );
}

#[test]
fn a_bad_value_in_a_mapped_file_names_its_real_line() {
    let work = Workdir::new();
    work.write("payrecon.toml", CONFIG);
    let bad = BANK_DAY.replace("B3;M3;SALE;50,00", "B3;M3;SALE;5O,00");
    let day = work.write("bills/statement_20261121.csv", &bad);
    work.run(
        "out",
        &[
            "--config",
            work.path("payrecon.toml").to_str().unwrap(),
            "--settlement",
            day.to_str().unwrap(),
        ],
    )
    .assert()
    .code(1)
    .stderr(contains("statement_20261121.csv, line 6, column 'Amount'"));
}

#[test]
fn an_unknown_file_is_told_what_it_resembles_and_how_to_map_it() {
    let work = Workdir::new();
    let file = work.write(
        "stripe-2026-11-21.csv",
        "balance_transaction_id,created_utc,gross,currency,description\ntxn_1,2026-11-21 10:00:00,10.00,usd,x\n",
    );
    work.run("out", &["--settlement", file.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(contains("looks most like stripe (has balance_transaction_id, gross, created_utc; lacks reporting_category"))
        .stderr(contains("[formats.NAME]"));
}

#[test]
fn a_mapped_column_renamed_in_the_file_gets_the_line_to_fix() {
    let work = Workdir::new();
    work.write("payrecon.toml", CONFIG);
    let renamed = BANK_DAY.replace("Txn Ref;", "Txn Reference;");
    // Still recognised by a forced format: the header lacks a mapped column.
    let day = work.write("bills/statement_20261121.csv", &renamed);
    work.run(
        "out",
        &[
            "--config",
            work.path("payrecon.toml").to_str().unwrap(),
            "--settlement",
            day.to_str().unwrap(),
            "--format",
            "hkbank",
        ],
    )
    .assert()
    .code(1)
    .stderr(contains(
        "statement_20261121.csv, line 3: missing column(s) Txn Ref",
    ))
    .stderr(contains(
        r#"[formats.hkbank.columns] channel_txn_id = "Txn Reference""#,
    ));
}
