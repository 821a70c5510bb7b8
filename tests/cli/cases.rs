//! One folder per scenario under fixtures/cases: `in/orders.csv`,
//! `in/settlement/*`, and the hand-written expected outputs in `expected/`.
//! Expected files name the columns they check; refund ids are checked for
//! shape and uniqueness here, and for determinism in rerun.rs.

use crate::util::{Workdir, assert_csv_matches, fixtures, parse_csv};
use std::path::Path;

fn check_case(name: &str) {
    check_case_in(&fixtures().join("cases").join(name));
}

/// Runs the case in folder `case` and compares its outputs to `expected/`;
/// returns the scratch folder, whose `out/` holds the outputs.
pub fn check_case_in(case: &Path) -> Workdir {
    let name = case.file_name().unwrap().to_string_lossy();
    let work = Workdir::new();
    let orders = case.join("in/orders.csv");
    let settlement = case.join("in/settlement");
    work.run(
        "out",
        &[
            "--orders",
            orders.to_str().unwrap(),
            "--settlement",
            settlement.to_str().unwrap(),
        ],
    )
    .assert()
    .success();
    let refunds = work.read("out/refunds.csv");
    let expected = |file: &str| std::fs::read_to_string(case.join("expected").join(file)).unwrap();
    assert_csv_matches(
        &refunds,
        &expected("refunds.csv"),
        &format!("{name} refunds.csv"),
    );
    assert_csv_matches(
        &work.read("out/discrepancies.csv"),
        &expected("discrepancies.csv"),
        &format!("{name} discrepancies.csv"),
    );
    let (_, rows) = parse_csv(&refunds);
    let mut ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert!(
        ids.iter().all(|id| id.len() == 32 && id.starts_with("PR")),
        "{ids:?}"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), rows.len(), "refund ids are unique");
    work
}

macro_rules! cases {
    ($($name:ident),+ $(,)?) => { $(#[test] fn $name() { check_case(stringify!($name)); })+ };
}

cases!(
    clean,
    duplicate_payment,
    duplicate_tie,
    duplicate_partly_refunded,
    paid_after_close,
    unknown_status,
    dropped_payment,
    missing_in_channel,
    unmatched_channel,
    mismatch,
    midnight_t_plus_1,
);

#[test]
fn every_case_folder_is_tested() {
    let source = include_str!("cases.rs");
    for entry in std::fs::read_dir(fixtures().join("cases")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            continue;
        }
        assert!(
            source.contains(&format!("    {name},")),
            "fixtures/cases/{name} has no test"
        );
    }
}

#[test]
fn default_day_is_the_latest_covered_day_and_output_goes_under_out() {
    let case = fixtures().join("cases/duplicate_payment/in");
    let work = Workdir::new();
    let mut cmd = assert_cmd::Command::cargo_bin("payrecon").unwrap();
    cmd.current_dir(work.dir.path())
        .args(["run", "--db", "state.db", "--orders"])
        .arg(case.join("orders.csv"))
        .arg("--settlement")
        .arg(case.join("settlement"))
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "# payrecon summary for 2026-11-21",
        ));
    // Files for the 21st and 22nd are loaded: with a settle lag of one day
    // only the 21st is covered.
    assert!(work.path("out/2026-11-21/refunds.csv").exists());
}
