//! Crash safety (guarantee 1): a real `payrecon run` over a generated day is
//! killed at many points, by failpoint (`PAYRECON_FAILPOINT`, which aborts
//! the process there) and by SIGKILL at measured times. After every kill:
//! each output file is absent or complete; the next run over the same inputs
//! succeeds and leaves exactly what an uninterrupted run leaves (outputs byte
//! for byte, refund instructions, loaded files, findings), the database
//! passes `PRAGMA integrity_check`, and no temporary file is left.

use crate::generated::generate_day;
use crate::util::Workdir;
use predicates::prelude::*;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every output of a run (issue 13 added report.html and report.xlsx).
const OUTPUTS: [&str; 6] = payrecon::emit::OUTPUT_NAMES;

/// The generated day's size: about 3,600 attempts and 3,000 settlement rows
/// in one export and six settlement files (7 files in all).
const ORDERS: u64 = 3000;

/// One generated day and the outputs and state of an uninterrupted run.
struct Day {
    _inputs: Workdir,
    args: Vec<String>,
    clean: Snapshot,
    clean_time: Duration,
}

#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    outputs: BTreeMap<&'static str, Vec<u8>>,
    /// Every row of the tables a run writes for good (the attempt and
    /// settlement rows by count and sum, they are many).
    tables: BTreeMap<&'static str, Vec<String>>,
}

impl Day {
    fn new() -> Day {
        let inputs = Workdir::new();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        generate_day::generate(&inputs.path("day"), day, ORDERS, 7, 0.01).unwrap();
        let args = vec![
            "--orders".to_string(),
            inputs.path("day/orders.csv").display().to_string(),
            "--settlement".to_string(),
            inputs.path("day/settlement").display().to_string(),
            "--date".to_string(),
            "2026-11-21".to_string(),
            "--quiet".to_string(),
        ];
        let work = Workdir::new();
        let started = Instant::now();
        work.run("out", &strs(&args)).assert().success();
        let clean_time = started.elapsed();
        let clean = snapshot(&work);
        assert!(
            clean.tables["refund_instruction"].len() > 10,
            "the day has refunds to protect"
        );
        Day {
            _inputs: inputs,
            args,
            clean,
            clean_time,
        }
    }

    /// A `payrecon run` child for `work`, not yet started.
    fn command(&self, work: &Workdir) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_payrecon"));
        cmd.current_dir(work.dir.path())
            .arg("run")
            .arg("--db")
            .arg(work.db())
            .arg("--out")
            .arg(work.path("out"))
            .args(&self.args)
            .env_remove("PAYRECON_FAILPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// Runs until the failpoint kills the process.
    #[track_caller]
    fn crash_at(&self, work: &Workdir, point: &str) {
        let status = self
            .command(work)
            .env("PAYRECON_FAILPOINT", point)
            .status()
            .unwrap();
        assert!(
            !status.success() && status.code().is_none(),
            "{point}: the run was not killed ({status})"
        );
        self.assert_outputs_whole(work, point);
    }

    /// SIGKILLs the run after `after`; false if it had already finished.
    fn kill_after(&self, work: &Workdir, after: Duration) -> bool {
        let mut child = self.command(work).spawn().unwrap();
        std::thread::sleep(after);
        let running = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        self.assert_outputs_whole(work, &format!("SIGKILL after {after:?}"));
        running
    }

    /// No half-written output: each is absent or equals the complete file.
    #[track_caller]
    fn assert_outputs_whole(&self, work: &Workdir, when: &str) {
        for name in OUTPUTS {
            if let Ok(bytes) = std::fs::read(work.path("out").join(name)) {
                assert!(
                    bytes == self.clean.outputs[name],
                    "{when}: {name} is visible but not the complete file"
                );
            }
        }
    }

    /// Reruns over the same inputs and checks the end state.
    #[track_caller]
    fn resume_and_check(&self, work: &Workdir, what: &str) {
        let status = self.command(work).status().unwrap();
        assert!(status.success(), "{what}: the resumed run failed");
        let after = snapshot(work);
        for name in OUTPUTS {
            assert!(
                after.outputs[name] == self.clean.outputs[name],
                "{what}: {name} differs from an uninterrupted run"
            );
        }
        for (table, rows) in &self.clean.tables {
            pretty_assertions::assert_eq!(&after.tables[table], rows, "{what}: table {table}");
        }
        let conn = Connection::open(work.db()).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{what}: integrity_check");
        let twice: i64 = conn
            .query_row(
                "SELECT count(*) FROM (SELECT channel, channel_txn_id FROM refund_instruction
                 GROUP BY channel, channel_txn_id HAVING count(*) > 1)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(twice, 0, "{what}: a payment was refunded twice");
        let mut left: Vec<String> = std::fs::read_dir(work.path("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut expected: Vec<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(left, expected, "{what}: temporary files left behind");
        assert!(
            !Path::new(&format!("{}-journal", work.db().display())).exists(),
            "{what}: a rollback journal is left"
        );
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn snapshot(work: &Workdir) -> Snapshot {
    let outputs = OUTPUTS
        .iter()
        .map(|name| {
            let bytes = std::fs::read(work.path("out").join(name)).unwrap_or_default();
            (*name, bytes)
        })
        .collect();
    let conn = Connection::open(work.db()).unwrap();
    let queries: [(&'static str, &str); 9] = [
        // A run killed while the load's indexes are set aside must leave
        // them in place (the day is larger than an empty database). Those
        // only later judgements read are left aside by a database's first
        // judgement and built by the run after it (a rerun of the day,
        // here), whatever the kills before it: their presence says which
        // runs happened, not what a kill left.
        (
            "schema",
            "SELECT type, name, sql FROM sqlite_schema
             WHERE name NOT IN ('attempt_by_order', 'settlement_row_by_order',
                                'settlement_row_by_txn') ORDER BY name",
        ),
        (
            "refund_instruction",
            "SELECT * FROM refund_instruction ORDER BY refund_request_id",
        ),
        ("loaded_file", "SELECT * FROM loaded_file ORDER BY file_id"),
        (
            "finding_seen",
            "SELECT * FROM finding_seen ORDER BY kind, subject",
        ),
        // The findings ledger, but for the wall-clock times it records.
        (
            "finding_item",
            "SELECT finding_id, kind, subject, order_id, payment_id, channel_order_id,
                    channel_txn_id, channel, internal_amount, internal_currency, channel_amount,
                    channel_currency, refund_minor, detail, first_seen, last_seen, state,
                    resolved_on, resolved_by, note
             FROM finding_item ORDER BY finding_id",
        ),
        (
            "finding_event",
            "SELECT finding_id, business_day, event, by_whom, note FROM finding_event
             ORDER BY finding_id, rowid",
        ),
        (
            "refund_file",
            "SELECT business_day, batch, sha256, rows, published FROM refund_file
             ORDER BY business_day, batch, sha256",
        ),
        (
            "attempt",
            "SELECT count(*), total(amount_minor), group_concat(payment_status, '') FROM attempt",
        ),
        (
            "settlement_row",
            "SELECT count(*), total(amount_minor), count(DISTINCT channel_txn_id) FROM settlement_row",
        ),
    ];
    let tables = queries
        .iter()
        .map(|(table, sql)| (*table, rows(&conn, sql)))
        .collect();
    Snapshot { outputs, tables }
}

fn rows(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |r| {
        let mut row = Vec::new();
        for i in 0..columns {
            row.push(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?));
        }
        Ok(row.join("|"))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Every failpoint of a run, in the order a run passes them: while loading
/// (after the lock, inside the export, inside settlement files, after each
/// of the 7 files), while deciding, while staging, around the commit, and
/// between the renames that publish the outputs.
const POINTS: &[&str] = &[
    "after-begin",
    "load-row-1",
    "load-row-1500",
    "load-row-3500",
    "load-row-4500",
    "load-row-6000",
    "after-load-1",
    "after-load-2",
    "after-load-3",
    "after-load-4",
    "after-load-5",
    "after-load-6",
    "after-load-7",
    "after-classify",
    "after-refunds",
    "after-ledger",
    "staged-1",
    "staged-2",
    "staged-3",
    "staged-4",
    "before-commit",
    "after-commit",
    "published-1",
    "published-2",
    "published-3",
    "after-publish",
];

#[test]
fn killed_at_every_failpoint_a_rerun_completes_the_day_exactly() {
    let day = Day::new();
    for point in POINTS {
        let work = Workdir::new();
        day.crash_at(&work, point);
        day.resume_and_check(&work, point);
    }
}

/// Every failpoint call in src/ (`failpoint::hit`, `hit_n`, `hit_range`),
/// with the file and line it is on and the name or prefix it passes.
fn failpoints_in_source() -> Vec<(String, &'static str, String)> {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    let mut calls = Vec::new();
    for file in files {
        if file.ends_with("failpoint.rs") {
            continue; // the definitions
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            for function in ["hit_range", "hit_n", "hit"] {
                let call = format!("{function}(");
                let mut rest = code;
                while let Some(at) = rest.find(&call) {
                    let before = rest[..at].chars().next_back();
                    let after = rest[at + call.len()..].trim_start();
                    rest = &rest[at + call.len()..];
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue; // another function's name ends in `hit`
                    }
                    let place = format!("{}:{}", file.display(), n + 1);
                    let name = after
                        .strip_prefix('"')
                        .and_then(|s| s.split('"').next())
                        .unwrap_or_else(|| {
                            panic!("{place}: a failpoint whose name is not a literal: {line}")
                        });
                    calls.push((place, function, name.to_string()));
                }
            }
        }
    }
    calls
}

/// The crash tests kill a run at every point the source has: a point added
/// to src/ and not to POINTS (or renamed) fails here. Each point in POINTS
/// is checked to fire by `crash_at`, which asserts the run was killed.
#[test]
fn every_failpoint_in_the_source_is_crashed_at() {
    let calls = failpoints_in_source();
    let names: std::collections::BTreeSet<&str> =
        calls.iter().map(|(_, _, name)| name.as_str()).collect();
    for expected in ["after-begin", "after-commit", "load-row", "published"] {
        assert!(
            names.contains(expected),
            "the source scan found no {expected}: {calls:?}"
        );
    }
    for (place, function, name) in &calls {
        let covered = if *function == "hit" {
            POINTS.contains(&name.as_str())
        } else {
            POINTS.iter().any(|p| {
                p.strip_prefix(name.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|n| n.parse::<u64>().is_ok())
            })
        };
        assert!(
            covered,
            "{place}: failpoint {function}(\"{name}\") is in no crash test: add it to POINTS"
        );
    }
    // And no point in POINTS is one the source has lost.
    for point in POINTS {
        let known = calls.iter().any(|(_, function, name)| {
            if *function == "hit" {
                name == point
            } else {
                point
                    .strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
            }
        });
        assert!(
            known,
            "POINTS has {point}, which no failpoint call in src/ passes"
        );
    }
}

#[test]
fn killed_twice_then_resumed() {
    let day = Day::new();
    for (first, second) in [
        ("load-row-3500", "after-commit"),
        ("published-2", "staged-3"),
        ("after-commit", "published-1"),
        ("after-refunds", "load-row-6000"),
    ] {
        let work = Workdir::new();
        day.crash_at(&work, first);
        day.crash_at(&work, second);
        day.resume_and_check(&work, &format!("{first} then {second}"));
    }
}

#[test]
fn sigkilled_at_measured_times_a_rerun_completes_the_day_exactly() {
    let day = Day::new();
    let slices = 10u32;
    let mut killed = 0;
    for k in 1..slices {
        let work = Workdir::new();
        let after = day.clean_time * k / slices;
        if day.kill_after(&work, after) {
            killed += 1;
        }
        day.resume_and_check(&work, &format!("SIGKILL after {after:?}"));
    }
    eprintln!(
        "{killed} of {} SIGKILLs landed during a {:?} run",
        slices - 1,
        day.clean_time
    );
    assert!(
        killed >= (slices - 1) / 2,
        "only {killed} kills landed while the run was going: the day is too small to time"
    );
}

/// The fixture day with a duplicate payment (two refund rows), as the
/// arguments of `payrecon run`.
fn duplicate_payment_day() -> Vec<String> {
    let (orders, bills) = crate::util::case_inputs("duplicate_payment");
    [
        "--orders",
        &orders,
        "--settlement",
        &bills,
        "--date",
        "2026-11-21",
    ]
    .map(String::from)
    .to_vec()
}

/// A run killed after its commit but before publishing leaves its day's
/// refund instructions in the database only. The next run, for any day,
/// finds the refund file missing and writes it where the killed run would
/// have (its bytes follow from the database), saying so even with --quiet;
/// later runs have nothing more to say.
#[test]
fn a_refund_file_committed_but_never_published_is_written_by_the_next_run() {
    let work = Workdir::new();
    let day = duplicate_payment_day();
    let day: Vec<&str> = day.iter().map(String::as_str).collect();
    work.run("d1", &day)
        .env("PAYRECON_FAILPOINT", "after-commit")
        .assert()
        .failure();
    assert!(!work.path("d1/refunds.csv").exists());
    let notice = "refund instruction(s) of 2026-11-21 that a run killed right after its commit did not record as published";
    work.run("d2", &["--date", "2026-11-22", "--quiet"])
        .assert()
        .success()
        .stderr(predicates::str::contains(notice));
    assert_eq!(crate::util::refund_rows(&work, "d1").len(), 2);
    assert_eq!(
        crate::util::refund_rows(&work, "d2").len(),
        0,
        "day 2 issues nothing new"
    );
    work.run("d3", &["--date", "2026-11-23"])
        .assert()
        .success()
        .stderr(predicates::str::contains(notice).not());
    // The rerun of day 1 writes the same refunds again, nothing more.
    let written = work.read("d1/refunds.csv");
    work.run("d1", &day).assert().success();
    assert_eq!(work.read("d1/refunds.csv"), written);
}

/// When the next run cannot write the missing refund file (its folder is
/// gone and a file stands in its place), it says so loudly: a warning on
/// stderr even with --quiet, the day in summary.md and summary.json, and
/// exit status 4, on every run until the day is published.
#[test]
fn a_refund_file_that_cannot_be_written_again_fails_every_later_run_loudly() {
    let work = Workdir::new();
    let day = duplicate_payment_day();
    let day: Vec<&str> = day.iter().map(String::as_str).collect();
    work.run("d1", &day)
        .env("PAYRECON_FAILPOINT", "after-commit")
        .assert()
        .failure();
    std::fs::remove_dir_all(work.path("d1")).unwrap();
    std::fs::write(work.path("d1"), "not a folder").unwrap();
    let warning = "refund instruction(s) of 2026-11-21 were committed but";
    for out in ["d2", "d3"] {
        work.run(out, &["--date", "2026-11-22", "--quiet"])
            .assert()
            .code(4)
            .stderr(predicates::str::contains(warning));
        assert!(
            work.read(&format!("{out}/summary.md"))
                .contains("2026-11-21")
        );
        let summary: serde_json::Value =
            serde_json::from_str(&work.read(&format!("{out}/summary.json"))).unwrap();
        assert_eq!(summary["unpublished_days"][0], "2026-11-21");
    }
    // Rerunning the day elsewhere publishes it; the alarm stops.
    work.run("d1b", &day).assert().success();
    assert_eq!(crate::util::refund_rows(&work, "d1b").len(), 2);
    work.run("d4", &["--date", "2026-11-22"])
        .assert()
        .success()
        .stderr(predicates::str::contains(warning).not());
}

/// A refund file is recorded as published the moment it is renamed into
/// place, before the other outputs move: a run killed while they move
/// leaves it out and known to be out. When the refund job has taken it, the
/// next run does not write it again inviting a second submission; the
/// history shows the killed run as committed (its changes did not roll
/// back), and a rerun of the day completes the folder.
#[test]
fn a_refund_file_out_before_a_kill_is_never_written_again_for_resubmission() {
    let work = Workdir::new();
    let day = duplicate_payment_day();
    let day: Vec<&str> = day.iter().map(String::as_str).collect();
    work.run("d1", &day)
        .env("PAYRECON_FAILPOINT", "published-1")
        .assert()
        .failure();
    assert!(
        work.path("d1/refunds.csv").exists(),
        "the refund file goes first"
    );
    assert!(!work.path("d1/summary.json").exists());
    // The refund job takes the file.
    std::fs::rename(work.path("d1/refunds.csv"), work.path("taken.csv")).unwrap();
    let history = work.history();
    assert_eq!(history[0]["outcome"], "committed", "{history}");
    assert!(
        history[0]["error"]
            .as_str()
            .unwrap()
            .contains("killed after its commit")
    );
    work.run("d2", &["--date", "2026-11-22", "--quiet"])
        .assert()
        .success()
        .stderr(predicates::str::contains("refunds.csv").not());
    assert!(
        !work.path("d1/refunds.csv").exists(),
        "written again for a second submission"
    );
    assert_eq!(crate::util::refund_rows(&work, "d2").len(), 0);
    let taken = std::fs::read_to_string(work.path("taken.csv")).unwrap();
    assert_eq!(taken.lines().count(), 3, "{taken}");
}

/// An output that cannot be put in place after the commit: the run says it
/// committed (exit status 5, not 1 "nothing changed"), its refund file is
/// out and recorded as published, no temporary file is left, the history
/// shows it committed, and running the same command again completes the
/// folder without issuing anything twice.
#[test]
fn an_output_that_cannot_be_put_in_place_after_the_commit_is_said_so() {
    let work = Workdir::new();
    let day = duplicate_payment_day();
    let day: Vec<&str> = day.iter().map(String::as_str).collect();
    std::fs::create_dir_all(work.path("d1/summary.json/blocked")).unwrap();
    work.run("d1", &day)
        .assert()
        .code(5)
        .stderr(predicates::str::contains("committed its changes"))
        .stderr(predicates::str::contains("refunds.csv"));
    assert_eq!(crate::util::refund_rows(&work, "d1").len(), 2);
    let leftovers: Vec<String> = std::fs::read_dir(work.path("d1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let history = work.history();
    assert_eq!(history[0]["outcome"], "committed", "{history}");
    assert_eq!(history[0]["exit_status"], 5);
    std::fs::remove_dir_all(work.path("d1/summary.json")).unwrap();
    let refunds = work.read("d1/refunds.csv");
    work.run("d1", &day)
        .assert()
        .success()
        .stderr(predicates::str::contains("did not record as published").not());
    assert!(work.path("d1/summary.json").exists());
    assert_eq!(work.read("d1/refunds.csv"), refunds);
}
