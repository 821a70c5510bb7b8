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
    // the secondary indexes set aside; they must all be back, but for those
    // only an incremental judgement reads (the next run builds them).
    let timings = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(
        timings.contains("rebuild the indexes set aside for the load"),
        "{timings}"
    );
    assert_eq!(
        loaded_indexes(&work.db()),
        [
            "attempt_undecided",
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

/// The indexes of the loaded tables, the follow indexes included: what a
/// database holds once a run after its first judgement, or a compaction,
/// built them.
const EVERY_LOADED_INDEX: [&str; 6] = [
    "attempt_by_order",
    "attempt_undecided",
    "settlement_row_by_order",
    "settlement_row_by_txn",
    "settlement_row_refunds",
    "settlement_row_without_order",
];

/// The indexes of the tables a load writes, by name.
fn loaded_indexes(db: &std::path::Path) -> Vec<String> {
    rusqlite::Connection::open(db)
        .unwrap()
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('attempt', 'settlement_row') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Two consecutive generated days of 3,000 orders (2026-11-21 in `day1`,
/// the 22nd in `day2`), with ids that do not overlap.
fn two_generated_days() -> Workdir {
    let data = Workdir::new();
    let first = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    generate_day::generate_from(&data.path("day1"), first, 0, 3000, 7, 0.01).unwrap();
    generate_day::generate_from(
        &data.path("day2"),
        first.succ_opt().unwrap(),
        3000,
        3000,
        8,
        0.01,
    )
    .unwrap();
    data
}

/// Two generated days, one morning each: the second judges incrementally,
/// so it first builds the indexes the first day's whole judgement left
/// aside, and decides what a database judged whole both mornings decides.
#[test]
fn a_second_generated_day_builds_the_follow_indexes_and_judges_as_a_full_run() {
    let data = two_generated_days();
    let morning = |work: &Workdir, day: &str, date: &str, extra: &[&str]| {
        let orders = data.path(&format!("{day}/orders.csv"));
        let settlement = data.path(&format!("{day}/settlement"));
        let mut args = vec![
            "--orders",
            orders.to_str().unwrap(),
            "--settlement",
            settlement.to_str().unwrap(),
            "--date",
            date,
            "--timings",
        ];
        args.extend_from_slice(extra);
        let run = work.run(day, &args).assert().success();
        String::from_utf8_lossy(&run.get_output().stderr).into_owned()
    };
    let incremental = Workdir::new();
    morning(&incremental, "day1", "2026-11-21", &[]);
    let first = loaded_indexes(&incremental.db());
    for follow in [
        "attempt_by_order",
        "settlement_row_by_order",
        "settlement_row_by_txn",
    ] {
        assert!(!first.contains(&follow.to_string()), "{first:?}");
    }
    let timings = morning(&incremental, "day2", "2026-11-22", &[]);
    assert!(
        timings.contains("build the indexes an incremental judgement follows"),
        "{timings}"
    );
    assert!(
        !timings.contains("(everything)"),
        "day 2 judged incrementally: {timings}"
    );
    assert_eq!(loaded_indexes(&incremental.db()), EVERY_LOADED_INDEX);
    let whole = Workdir::new();
    morning(&whole, "day1", "2026-11-21", &["--full"]);
    morning(&whole, "day2", "2026-11-22", &["--full"]);
    // Judged whole again, but not the database's first judgement: the
    // indexes are kept (explain and compaction look up by them).
    assert_eq!(
        loaded_indexes(&whole.db()),
        loaded_indexes(&incremental.db())
    );
    for file in ["discrepancies.csv", "refunds.csv"] {
        pretty_assertions::assert_eq!(
            incremental.read(&format!("day2/{file}")),
            whole.read(&format!("day2/{file}")),
            "{file}"
        );
    }
    let findings: usize = incremental.read("day2/discrepancies.csv").lines().count() - 1;
    assert!(findings > 50, "the days plant findings: {findings}");
}

/// A database's first run may hold days older than `retention_days` (a
/// team starting with a backlog): the compaction after it builds the
/// indexes the first judgement left aside, which it looks transactions and
/// attempts up by, instead of scanning the rows for each.
#[test]
fn a_first_run_that_compacts_builds_the_follow_indexes() {
    let work = two_generated_days();
    let config = work.write("payrecon.toml", "retention_days = 1\n");
    // One file per channel day, as a channel sends it: day 1's T+1 spill
    // is in day 2's file of the day after.
    let bills = work.path("backlog-bills");
    std::fs::create_dir_all(&bills).unwrap();
    for day in ["day1", "day2"] {
        for entry in std::fs::read_dir(work.path(&format!("{day}/settlement"))).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let to = bills.join(path.file_name().unwrap());
            match std::fs::read_to_string(&to) {
                Ok(held) => {
                    let rows = text.split_once('\n').map_or("", |(_, rows)| rows);
                    std::fs::write(&to, held + rows).unwrap();
                }
                Err(_) => std::fs::write(&to, text).unwrap(),
            }
        }
    }
    let mut args: Vec<String> = Vec::new();
    for day in ["day1", "day2"] {
        args.push("--orders".to_string());
        args.push(
            work.path(&format!("{day}/orders.csv"))
                .display()
                .to_string(),
        );
    }
    args.push("--settlement".to_string());
    args.push(bills.display().to_string());
    for extra in ["--date", "2026-11-23", "--config", config.to_str().unwrap()] {
        args.push(extra.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("backlog", &args).assert().success();
    assert_eq!(loaded_indexes(&work.db()), EVERY_LOADED_INDEX);
}
