use super::*;
use crate::ingest::fixture::{self, assert_refused, micros};
use Kind::{Payment, Refund};
use pretty_assertions::assert_eq;

fn rec(
    kind: Kind,
    (txn, order): (&str, &str),
    amount_minor: i64,
    fee: &str,
    at: &str,
    refund_id: &str,
) -> SettlementRecord {
    SettlementRecord {
        channel: "unionpay".into(),
        channel_txn_id: txn.into(),
        channel_order_id: order.into(),
        kind,
        amount_minor,
        fee: Some(fee.into()),
        currency: "CNY".into(),
        transacted_at: micros(at),
        refund_id: refund_id.into(),
    }
}

const ZM: &str = "INN26112188ZM_802310048993424";

#[test]
fn zm_file_becomes_payments_and_refunds() {
    let (facts, records) = fixture::parse(&FORMAT, &format!("unionpay/{ZM}")).unwrap();
    let p1 = ("202611211015301000011", "20261121000001");
    let p2 = ("202611211130001000022", "20261121000002");
    assert_eq!(
        records,
        vec![
            rec(Payment, p1, 12850, "0.77", "2026-11-21T10:15:30+08:00", ""),
            rec(Payment, p2, 4999, "0.3", "2026-11-21T11:30:00+08:00", ""),
            rec(
                Refund,
                p1,
                2850,
                "-0.17",
                "2026-11-21T14:00:00+08:00",
                "R20261121000001"
            ),
            rec(
                Refund,
                p2,
                4999,
                "-0.3",
                "2026-11-21T11:45:00+08:00",
                "V20261121000002"
            ),
            rec(
                Payment,
                ("202611212359591000055", "20261121000005"),
                100,
                "0.01",
                "2026-11-21T23:59:59+08:00",
                ""
            ),
            rec(
                Payment,
                ("202611220005011000066", "20261121000006"),
                100000,
                "6",
                "2026-11-22T00:05:01+08:00",
                ""
            ),
        ]
    );
    assert_eq!(facts.channel.as_deref(), Some("unionpay"));
    assert_eq!(facts.day, NaiveDate::from_ymd_opt(2026, 11, 21));
    assert!(facts.skipped.is_empty());
}

#[test]
fn the_year_comes_from_the_file_date() {
    let (facts, records) =
        fixture::parse(&FORMAT, "unionpay/INN27010488ZM_802310048993424").unwrap();
    assert_eq!(
        records,
        vec![
            rec(
                Payment,
                ("202612312355001000011", "20261231000001"),
                500,
                "0.03",
                "2026-12-31T23:55:00+08:00",
                ""
            ),
            rec(
                Payment,
                ("202701040930001000022", "20270104000002"),
                600,
                "0.04",
                "2027-01-04T09:30:00+08:00",
                ""
            ),
        ]
    );
    assert_eq!(facts.day, NaiveDate::from_ymd_opt(2027, 1, 4));
}

#[test]
fn nearest_year_either_side_of_new_year() {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(
        nearest_date(day(2027, 1, 4), 12, 31),
        Some(day(2026, 12, 31))
    );
    assert_eq!(nearest_date(day(2026, 12, 31), 1, 1), Some(day(2027, 1, 1)));
    assert_eq!(nearest_date(day(2015, 9, 5), 9, 6), Some(day(2015, 9, 6)));
    assert_eq!(nearest_date(day(2028, 3, 1), 2, 29), Some(day(2028, 2, 29)));
    // 29 February is a year and more away from a 2027 file.
    assert_eq!(nearest_date(day(2027, 3, 1), 2, 29), None);
}

#[test]
fn the_date_is_read_from_the_inn_name() {
    let name = |n: &str| inn_date(Path::new(n));
    assert_eq!(
        name("x/INN15090588ZM_802310048993424"),
        NaiveDate::from_ymd_opt(2015, 9, 5)
    );
    assert_eq!(
        name("INN15090588ZME_802310048993424"),
        NaiveDate::from_ymd_opt(2015, 9, 5)
    );
    assert_eq!(name("RD201015090501_802310048993424"), None);
    assert_eq!(name("INN15139988ZM_1"), None);
}

#[test]
fn malformed_files_are_refused_precisely() {
    let bad = |name: &str| format!("unionpay/malformed/{name}_{ZM}");
    assert_refused(
        &FORMAT,
        &bad("wrong-length"),
        2,
        Some("查询流水号"),
        "606 bytes",
    );
    assert_refused(
        &FORMAT,
        &bad("bad-amount"),
        2,
        Some("交易金额"),
        "'0000000049O9' is not valid",
    );
    assert_refused(
        &FORMAT,
        &bad("bad-fee"),
        1,
        Some("商户手续费"),
        "'X000000000077'",
    );
    assert_refused(
        &FORMAT,
        &bad("unknown-type"),
        2,
        Some("交易类型"),
        "'99' is not valid",
    );
    assert_refused(
        &FORMAT,
        &bad("bad-time"),
        1,
        Some("交易传输时间"),
        "'1131101530'",
    );
    assert_refused(&FORMAT, &bad("truncated"), 3, Some("商户代码"), "300 bytes");
    assert_refused(
        &FORMAT,
        "unionpay/malformed/no-date-in-name.txt",
        1,
        Some("交易传输时间"),
        "has no year",
    );
}

#[test]
fn sniffs_the_record_shape() {
    let zm = std::fs::read(fixture::path(&format!("unionpay/{ZM}"))).unwrap();
    assert!(sniff(&zm));
    assert!(sniff(&zm[..layout::RECORD_LEN]));
    assert!(!sniff(&zm[1..]));
    assert!(!sniff(b"reporting_category,gross\n"));
}

#[test]
fn a_run_detects_the_file_and_takes_the_day_from_its_name() {
    let parsed = fixture::read(&format!("unionpay/{ZM}"), None);
    assert_eq!(parsed.format, "unionpay");
    assert_eq!(parsed.channel, "unionpay");
    assert_eq!(parsed.day.to_string(), "2026-11-21");
    assert_eq!(parsed.rows, 6);
}
