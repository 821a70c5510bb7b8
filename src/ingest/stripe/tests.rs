use super::*;
use crate::ingest::fixture::{self, assert_refused, micros};
use crate::ingest::settlement::FormatSettings;
use pretty_assertions::assert_eq;

#[allow(clippy::too_many_arguments)]
fn rec(
    kind: Kind,
    txn: &str,
    order: &str,
    amount_minor: i64,
    fee: Option<&str>,
    currency: &str,
    at: &str,
    refund_id: &str,
) -> SettlementRecord {
    SettlementRecord {
        channel: "stripe".into(),
        channel_txn_id: txn.into(),
        channel_order_id: order.into(),
        kind,
        amount_minor,
        fee: fee.map(Into::into),
        currency: currency.into(),
        transacted_at: micros(at),
        refund_id: refund_id.into(),
    }
}

use Kind::{Payment, Refund};

fn skipped(pairs: &[(&str, u64)]) -> crate::ingest::settlement::Skipped {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

#[test]
fn itemised_report_becomes_payments_and_refunds() {
    let (facts, records) = fixture::parse(&FORMAT, "stripe/stripe-2026-11-21.csv").unwrap();
    let usd = "USD";
    assert_eq!(
        records,
        vec![
            rec(
                Payment,
                "ch_3Q1001",
                "ORD-1001",
                12850,
                Some("4.03"),
                usd,
                "2026-11-21T08:15:02Z",
                ""
            ),
            rec(
                Payment,
                "ch_3Q1002",
                "ORD-1002",
                4999,
                Some("1.75"),
                usd,
                "2026-11-21T09:00:00Z",
                ""
            ),
            rec(
                Payment,
                "ch_3Q1003",
                "ORD-1002",
                4999,
                Some("1.75"),
                usd,
                "2026-11-21T09:00:41Z",
                ""
            ),
            rec(
                Refund,
                "ch_3Q1001",
                "ORD-1001",
                2850,
                Some("0"),
                usd,
                "2026-11-21T12:30:00Z",
                "re_3Q2001"
            ),
            rec(
                Payment,
                "py_3Q1005",
                "ORD-1005",
                2000,
                Some("0.88"),
                usd,
                "2026-11-21T13:05:10Z",
                ""
            ),
        ]
    );
    assert_eq!(facts.channel.as_deref(), Some("stripe"));
    assert_eq!(facts.day, None);
    assert_eq!(facts.skipped, skipped(&[("fee", 1), ("payout", 1)]));
}

#[test]
fn reordered_subset_reads_created_in_the_configured_zone() {
    let (facts, records) = fixture::parse_in(
        &FORMAT,
        "stripe/stripe-reordered-2026-11-21.csv",
        chrono_tz::America::New_York,
        &FormatSettings::default(),
    )
    .unwrap();
    assert_eq!(
        records,
        vec![
            rec(
                Payment,
                "ch_3R2001",
                "ORD-2001",
                7500,
                Some("2.48"),
                "USD",
                "2026-11-22T00:30:00Z",
                ""
            ),
            rec(
                Refund,
                "ch_3R2001",
                "ORD-2001",
                7500,
                None,
                "USD",
                "2026-11-22T01:00:00Z",
                "re_3R2002"
            ),
        ]
    );
    assert_eq!(
        facts.skipped,
        skipped(&[
            ("dispute", 1),
            ("partial_capture_reversal", 1),
            ("refund_failure", 1)
        ])
    );
}

#[test]
fn decimal_comma_report() {
    let (_, records) =
        fixture::parse(&FORMAT, "stripe/stripe-decimal-comma-2026-11-21.csv").unwrap();
    assert_eq!(
        records,
        vec![
            rec(
                Payment,
                "ch_3E1",
                "ORD-3001",
                1250,
                Some("0.61"),
                "EUR",
                "2026-11-21T10:00:00Z",
                ""
            ),
            rec(
                Payment,
                "ch_3E2",
                "ORD-3002",
                10000,
                Some("1.75"),
                "EUR",
                "2026-11-21T11:00:00Z",
                ""
            ),
            rec(
                Refund,
                "ch_3E1",
                "ORD-3001",
                250,
                Some("0"),
                "EUR",
                "2026-11-21T12:00:00Z",
                "re_3E1"
            ),
        ]
    );
}

#[test]
fn zero_decimal_currency() {
    let (_, records) = fixture::parse(&FORMAT, "stripe/stripe-jpy-2026-11-21.csv").unwrap();
    assert_eq!(
        records,
        vec![
            rec(
                Payment,
                "ch_3J1",
                "ORD-4001",
                1500,
                Some("54"),
                "JPY",
                "2026-11-21T01:02:03Z",
                ""
            ),
            rec(
                Refund,
                "ch_3J1",
                "ORD-4001",
                500,
                Some("0"),
                "JPY",
                "2026-11-21T02:00:00Z",
                "re_3J1"
            ),
        ]
    );
}

#[test]
fn the_order_column_is_configurable() {
    let settings = FormatSettings {
        stripe_order_column: "payment_intent_id".into(),
        ..FormatSettings::default()
    };
    let (_, records) = fixture::parse_in(
        &FORMAT,
        "stripe/stripe-2026-11-21.csv",
        chrono_tz::UTC,
        &settings,
    )
    .unwrap();
    let orders: Vec<&str> = records
        .iter()
        .map(|r| r.channel_order_id.as_str())
        .collect();
    // The last charge has no payment intent: its description stands in.
    assert_eq!(
        orders,
        ["pi_1001", "pi_1002", "pi_1003", "pi_1001", "ORD-1005"]
    );
}

#[test]
fn malformed_reports_are_refused_precisely() {
    let bad = |name: &str| format!("stripe/malformed/stripe-{name}-2026-11-21.csv");
    assert_refused(
        &FORMAT,
        &bad("truncated"),
        10,
        Some("fee"),
        "row has 5 fields",
    );
    assert_refused(
        &FORMAT,
        &bad("bad-amount"),
        3,
        Some("gross"),
        "'49.9O' is not valid",
    );
    assert_refused(
        &FORMAT,
        &bad("jpy-decimals"),
        2,
        Some("gross"),
        "JPY allows 0",
    );
    assert_refused(
        &FORMAT,
        &bad("missing-columns"),
        1,
        None,
        "missing column(s) currency, gross, payment_metadata[order_id] or description",
    );
    assert_refused(
        &FORMAT,
        &bad("refund-without-charge"),
        2,
        Some("charge_id"),
        "a refund needs the charge_id",
    );
    assert_refused(
        &FORMAT,
        &bad("mixed-separators"),
        3,
        Some("gross"),
        "line 2 used ','",
    );
}

#[test]
fn sniffs_the_snake_case_header() {
    assert!(sniff(
        b"balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\n"
    ));
    assert!(sniff(b"\xef\xbb\xbf\"reporting_category\",\"gross\"\r\n"));
    assert!(!sniff(b"channel,channel_txn_id,channel_order_id,kind\n"));
    assert!(!sniff(
        b"\"id\",\"Created date (UTC)\",\"Amount\",\"Amount Refunded\"\n"
    ));
}

#[test]
fn a_run_detects_the_report_and_takes_the_day_from_its_name() {
    let parsed = fixture::read("stripe/stripe-2026-11-21.csv", None);
    assert_eq!(parsed.format, "stripe");
    assert_eq!(parsed.channel, "stripe");
    assert_eq!(parsed.day.to_string(), "2026-11-21");
    assert_eq!(parsed.rows, 5);
    assert_eq!(parsed.skipped, skipped(&[("fee", 1), ("payout", 1)]));
}

#[test]
fn a_refund_carries_the_merchant_refund_number_when_the_report_has_it() {
    let report = "balance_transaction_id,created_utc,currency,gross,fee,reporting_category,source_id,charge_id,description,payment_metadata[order_id],refund_metadata[refund_request_id]\n\
txn_1,2026-11-21 08:00:00,usd,-10.00,0.00,refund,re_1,ch_1,x,ORD-1,PR0123456789abcdef0123456789abcd\n\
txn_2,2026-11-21 09:00:00,usd,-5.00,0.00,refund,re_2,ch_2,x,ORD-2,\n";
    let settings = FormatSettings::default();
    let path = std::path::Path::new("stripe-2026-11-21.csv");
    let cx = Context {
        path,
        zone: chrono_tz::UTC,
        default_currency: "USD",
        settings: &settings,
    };
    let mut records = Vec::new();
    (FORMAT.parse)(&mut report.as_bytes(), &cx, &mut |r| {
        records.push(r);
        Ok(())
    })
    .unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.refund_id.as_str()).collect();
    assert_eq!(ids, ["PR0123456789abcdef0123456789abcd", "re_2"]);
}
