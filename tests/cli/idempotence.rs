//! Idempotent across runs and days (guarantee 3): a generated day (its
//! export cut in three, and the settlement files of day D and D+1) loaded
//! in one clean pass, and again file by file in shuffled orders, with
//! reloads under other names, reruns, and day D+1 run before day D. Every
//! way issues exactly the refunds of the clean pass: the same payments, the
//! same amounts and the same refund_request_id, each once.

use crate::generated::generate_day;
use crate::util::Workdir;
use rusqlite::Connection;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// A refund as refunds.csv states it: id, channel, txn, order keys, amount…
type Refund = Vec<String>;

struct Day {
    work: Workdir,
    /// The export in three parts, then the settlement files of D and D+1.
    exports: Vec<PathBuf>,
    day_d: Vec<PathBuf>,
    day_next: Vec<PathBuf>,
    runs: usize,
}

impl Day {
    fn new() -> Day {
        let work = Workdir::new();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        generate_day::generate(&work.path("in"), day, 1500, 11, 0.02).unwrap();
        let text = work.read("in/orders.csv");
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let rows: Vec<&str> = lines.collect();
        let exports = rows
            .chunks(rows.len().div_ceil(3))
            .enumerate()
            .map(|(i, chunk)| {
                work.write(
                    &format!("in/exports/orders-{i}.csv"),
                    &format!("{header}\n{}\n", chunk.join("\n")),
                )
            })
            .collect();
        let settlement = |d: &str| -> Vec<PathBuf> {
            ["wechat", "alipay", "stripe"]
                .iter()
                .map(|c| work.path(&format!("in/settlement/{c}-{d}.csv")))
                .collect()
        };
        Day {
            exports,
            day_d: settlement("2026-11-21"),
            day_next: settlement("2026-11-22"),
            work,
            runs: 0,
        }
    }

    fn all(&self) -> Vec<PathBuf> {
        self.exports
            .iter()
            .chain(&self.day_d)
            .chain(&self.day_next)
            .cloned()
            .collect()
    }

    /// One run over `files`; returns the rows of its refunds.csv.
    fn run(&mut self, files: &[PathBuf], date: Option<&str>) -> BTreeSet<Refund> {
        self.runs += 1;
        let out = format!("out-{}", self.runs);
        let mut args: Vec<String> = Vec::new();
        for f in files {
            let flag = if f.to_string_lossy().contains("orders-") {
                "--orders"
            } else {
                "--settlement"
            };
            args.push(flag.into());
            args.push(f.display().to_string());
        }
        if let Some(date) = date {
            args.push("--date".into());
            args.push(date.into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.work.run(&out, &args).assert().success();
        crate::util::refund_rows(&self.work, &out)
            .into_iter()
            .collect()
    }

    /// Every instruction in the database, without the day it was issued.
    fn issued(&self) -> BTreeSet<Refund> {
        let conn = Connection::open(self.work.db()).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT refund_request_id, channel, channel_txn_id, amount_minor, reason
                 FROM refund_instruction",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(vec![
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, i64>(3)?.to_string(),
                    r.get(4)?,
                ])
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }
}

fn shuffled(mut files: Vec<PathBuf>, seed: u64) -> Vec<PathBuf> {
    let mut state = seed;
    for i in (1..files.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        files.swap(i, (state >> 33) as usize % (i + 1));
    }
    files
}

/// The refunds of one clean pass over everything, from its refunds.csv and
/// from its database.
fn clean_pass() -> (BTreeSet<Refund>, BTreeSet<Refund>) {
    let mut day = Day::new();
    let all = day.all();
    let csv = day.run(&all, Some("2026-11-21"));
    assert!(csv.len() > 20, "the day has refunds: {}", csv.len());
    (csv, day.issued())
}

#[track_caller]
fn assert_same_refunds(
    day: &Day,
    union: &BTreeSet<Refund>,
    clean: &(BTreeSet<Refund>, BTreeSet<Refund>),
) {
    pretty_assertions::assert_eq!(union, &clean.0, "refunds.csv over all runs");
    pretty_assertions::assert_eq!(day.issued(), clean.1, "instructions in the database");
}

#[test]
fn file_by_file_in_any_order_issues_what_one_clean_pass_issues() {
    let clean = clean_pass();
    for seed in [1u64, 2, 3] {
        let mut day = Day::new();
        let mut union = BTreeSet::new();
        for file in shuffled(day.all(), seed) {
            union.extend(day.run(&[file], None));
        }
        // Everything again, and then a rerun of the day: nothing new.
        let all = day.all();
        let again = day.run(&all, Some("2026-11-21"));
        assert!(again.is_subset(&union), "seed {seed}: a rerun issued more");
        union.extend(again);
        assert_same_refunds(&day, &union, &clean);
    }
}

#[test]
fn reloads_under_other_names_and_reruns_issue_nothing_more() {
    let clean = clean_pass();
    let mut day = Day::new();
    let all = day.all();
    let mut union = day.run(&all, Some("2026-11-21"));
    // The same files under other names, in another order, twice.
    let mut copies = Vec::new();
    for f in shuffled(all.clone(), 9) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let copy = day.work.path(&format!("copies/{name}"));
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(&f, &copy).unwrap();
        copies.push(copy);
    }
    for _ in 0..2 {
        let rerun = day.run(&copies, Some("2026-11-21"));
        assert_eq!(rerun, union, "a rerun of the day shows the same refunds");
        union.extend(rerun);
    }
    assert!(day.run(&copies, Some("2026-11-22")).is_empty());
    assert_same_refunds(&day, &union, &clean);
}

#[test]
fn day_after_before_the_day_then_rerun_issues_what_one_clean_pass_issues() {
    let clean = clean_pass();
    let mut day = Day::new();
    let mut union = BTreeSet::new();
    // D+1 first: the export and D+1's settlement files only.
    let next: Vec<PathBuf> = day.exports.iter().chain(&day.day_next).cloned().collect();
    union.extend(day.run(&next, Some("2026-11-22")));
    // Then day D, late, with its own files in reverse order.
    let mut late: Vec<PathBuf> = day.day_d.clone();
    late.reverse();
    union.extend(day.run(&late, Some("2026-11-21")));
    // D+1 rerun, then D rerun with everything.
    let all = day.all();
    union.extend(day.run(&all, Some("2026-11-22")));
    union.extend(day.run(&all, Some("2026-11-21")));
    assert_same_refunds(&day, &union, &clean);
}
