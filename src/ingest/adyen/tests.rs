use super::*;
use crate::ingest::fixture::{self, assert_refused, micros};
use crate::ingest::settlement::FormatSettings;
use Kind::{Payment, Refund};
use pretty_assertions::assert_eq;

#[allow(clippy::too_many_arguments)]
fn rec(
    kind: Kind,
    psp: &str,
    order: &str,
    amount_minor: i64,
    fee: Option<&str>,
    currency: &str,
    at: &str,
    refund_id: &str,
) -> SettlementRecord {
    SettlementRecord {
        channel: "adyen".into(),
        channel_txn_id: psp.into(),
        channel_order_id: order.into(),
        kind,
        amount_minor,
        fee: fee.map(Into::into),
        currency: currency.into(),
        transacted_at: micros(at),
        refund_id: refund_id.into(),
    }
}

#[test]
fn settlement_details_become_payments_and_refunds() {
    let (facts, records) =
        fixture::parse(&FORMAT, "adyen/settlement_detail_report_batch_4.csv").unwrap();
    let (p1, p2) = ("8816370000000001", "8816370000000002");
    assert_eq!(
        records,
        vec![
            rec(
                Payment,
                p1,
                "ORD-5001",
                10000,
                Some("2.15"),
                "EUR",
                "2026-11-21T09:15:00Z",
                ""
            ),
            rec(
                Payment,
                p2,
                "ORD-5002",
                2500,
                Some("0.5"),
                "GBP",
                "2026-11-21T08:00:00Z",
                ""
            ),
            rec(
                Payment,
                "8816370000000003",
                "ORD-5003",
                4000,
                Some("0.6"),
                "EUR",
                "2026-10-20T21:30:00Z",
                ""
            ),
            rec(
                Payment,
                "8816370000000004",
                "ORD-5004",
                1500,
                None,
                "JPY",
                "2026-11-21T09:00:00Z",
                ""
            ),
            rec(
                Refund,
                p1,
                "ORD-5001",
                3000,
                None,
                "EUR",
                "2026-11-21T14:00:00Z",
                "REF-5001-1"
            ),
            rec(
                Refund,
                p2,
                "ORD-5002",
                500,
                Some("0.1"),
                "GBP",
                "2026-11-21T09:30:00Z",
                "8826370000009002"
            ),
        ]
    );
    assert_eq!(facts.channel.as_deref(), Some("adyen"));
    assert_eq!(facts.day, None);
    let skipped: Vec<(&str, u64)> = facts
        .skipped
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    assert_eq!(
        skipped,
        [("Chargeback", 1), ("Fee", 1), ("MerchantPayout", 1)]
    );
}

#[test]
fn columns_are_found_by_name() {
    let (_, records) =
        fixture::parse(&FORMAT, "adyen/settlement_detail_report_reordered.csv").unwrap();
    let p = "8816370000000101";
    assert_eq!(
        records,
        vec![
            rec(
                Payment,
                p,
                "ORD-6001",
                1234,
                Some("0.4"),
                "USD",
                "2026-11-21T17:00:00Z",
                ""
            ),
            rec(
                Payment,
                "8816370000000102",
                "ORD-6002",
                8800,
                None,
                "SGD",
                "2026-11-21T01:00:00Z",
                ""
            ),
            rec(
                Refund,
                p,
                "ORD-6001",
                234,
                None,
                "USD",
                "2026-11-21T18:00:00Z",
                "8826370000009101"
            ),
        ]
    );
}

#[test]
fn ambiguous_cst_follows_the_configured_zone() {
    let rel = "adyen/settlement_detail_report_cst.csv";
    let settings = FormatSettings::default();
    let (_, records) =
        fixture::parse_in(&FORMAT, rel, chrono_tz::Asia::Shanghai, &settings).unwrap();
    assert_eq!(
        records,
        vec![rec(
            Payment,
            "8816370000000201",
            "ORD-7001",
            8800,
            None,
            "CNY",
            "2026-11-21T01:00:00Z",
            ""
        )]
    );
    assert_refused(&FORMAT, rel, 2, Some("TimeZone"), "'CST' is ambiguous");
}

#[test]
fn malformed_reports_are_refused_precisely() {
    let bad = |name: &str| format!("adyen/malformed/{name}.csv");
    assert_refused(
        &FORMAT,
        &bad("unknown-type"),
        4,
        Some("Type"),
        "'SettledMystery' is not valid",
    );
    assert_refused(
        &FORMAT,
        &bad("unknown-timezone"),
        4,
        Some("TimeZone"),
        "'XYZT'",
    );
    assert_refused(
        &FORMAT,
        &bad("bad-amount"),
        2,
        Some("Gross Credit (GC)"),
        "'1O0.00'",
    );
    assert_refused(
        &FORMAT,
        &bad("missing-columns"),
        1,
        None,
        "missing column(s) Psp Reference, TimeZone",
    );
    assert_refused(
        &FORMAT,
        &bad("truncated"),
        4,
        Some("Gross Currency"),
        "row has 9 fields",
    );
    assert_refused(
        &FORMAT,
        &bad("refund-without-reference"),
        2,
        Some("Modification Reference"),
        "a refund needs its reference",
    );
}

#[test]
fn sniffs_the_header() {
    assert!(sniff(
        b"Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,Type\r\n"
    ));
    assert!(!sniff(b"reporting_category,gross\n"));
}

#[test]
fn a_run_detects_the_report_and_takes_the_day_from_the_flag() {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21);
    let parsed = fixture::read("adyen/settlement_detail_report_batch_4.csv", day);
    assert_eq!(parsed.format, "adyen");
    assert_eq!(parsed.channel, "adyen");
    assert_eq!(Some(parsed.day), day);
    assert_eq!(parsed.rows, 6);
    assert_eq!(parsed.skipped.values().sum::<u64>(), 3);
}
