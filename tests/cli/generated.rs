//! A generated day (examples/support/generate_day.rs) with every finding
//! kind planted: payrecon must report exactly what was planted, with every
//! timestamp form and the midnight T+1 case mixed in.

#[path = "../../examples/support/generate_day.rs"]
#[allow(dead_code)]
pub mod generate_day;

use crate::util::Workdir;

#[test]
fn generated_day_findings_match_what_was_planted() {
    let work = Workdir::new();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let expected = generate_day::generate(&work.path("day"), day, 4000, 42, 0.01).unwrap();
    let orders = work.path("day/orders.csv");
    let settlement = work.path("day/settlement");
    let run = work
        .run(
            "out",
            &[
                "--orders",
                orders.to_str().unwrap(),
                "--settlement",
                settlement.to_str().unwrap(),
                "--date",
                "2026-11-21",
                "--timings",
            ],
        )
        .assert()
        .success();
    // The day is larger than the empty database, so the load went in with
    // the secondary indexes set aside; they must all be back.
    let timings = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(
        timings.contains("rebuild the indexes set aside for the load"),
        "{timings}"
    );
    let indexes: Vec<String> = rusqlite::Connection::open(work.db())
        .unwrap()
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('attempt', 'settlement_row') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        indexes,
        [
            "attempt_by_order",
            "attempt_undecided",
            "settlement_row_by_order",
            "settlement_row_by_txn",
            "settlement_row_refunds",
            "settlement_row_without_order"
        ]
    );
    let summary: serde_json::Value = serde_json::from_str(&work.read("out/summary.json")).unwrap();
    let mut found = std::collections::BTreeMap::new();
    for group in summary["findings"].as_array().unwrap() {
        *found
            .entry(group["kind"].as_str().unwrap().to_string())
            .or_insert(0u64) += group["count"].as_u64().unwrap();
    }
    let planted: std::collections::BTreeMap<String, u64> = expected
        .findings
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(planted.len(), 10, "every kind is planted: {planted:?}");
    pretty_assertions::assert_eq!(found, planted);
    assert_eq!(
        summary["refunds"]["count"].as_u64().unwrap(),
        expected.refunds
    );
    for (currency, minor) in &expected.refund_minor {
        let total = summary["refunds"]["totals"][*currency].as_str().unwrap();
        assert_eq!(
            total,
            format!("{}.{:02}", minor / 100, minor % 100),
            "{currency}"
        );
    }
    let rows: i64 = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rows"].as_i64().unwrap())
        .sum();
    assert_eq!(
        rows as u64,
        expected.attempts + expected.settlement_rows,
        "every input row is loaded"
    );
}
