//! Issue 10, "Done means": the never-over-refund property under attack, and
//! one deterministic regression test per scenario of the issue.
//!
//! The property feeds a few small days (one export and one canonical WeChat
//! file per day, with duplicate payments, payments after close and partial
//! channel refunds) to ONE database as a sequence of separate `payrecon run`
//! processes, each over a subset of the files, in any order: corrected files
//! (a payment's amount or channel_txn_id changed, a payment removed, a
//! channel REFUND row added, the same file with a blank line more),
//! mislabeled files (another day's rows under a day's name), empty files and
//! reruns of earlier files. Checked:
//! - every run exits 0 or 1 (refused), and a refused run issues nothing;
//! - per run, for every payment (channel, channel_txn_id) and every attempt
//!   (channel_order_id) that run instructs a refund for: all of payrecon's
//!   instructions for it plus the channel's refunds in the files loaded (the
//!   latest version of each channel day) fit in what those files show was
//!   captured;
//! - at the end, over the union of the published refunds.csv files (per
//!   business day, every instruction any of its published copies listed; the
//!   days are summed, not de-duplicated by id, as a refund job would sum
//!   them): the same, per payment and per attempt, against the files
//!   loaded last; an excess is only accepted where a correction came after
//!   the instruction and the last report has a high-severity row naming it;
//! - no refund_request_id appears in two business days' refunds.csv (README:
//!   "an instruction first issued for day D only ever appears in D's
//!   refunds.csv").
//!
//! `PROPTEST_CASES=500 cargo test --test cli refund_attack` runs more (24 by
//! default: every case is a dozen processes).

use crate::util::parse_csv;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const SH: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";

/// A scratch folder (on tmpfs when there is one: every run syncs) holding
/// one database.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap_or_else(|_| tempfile::tempdir().unwrap())
        } else {
            tempfile::tempdir().unwrap()
        };
        Scratch { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// `payrecon run -q --db p.db --out OUT ARGS…`, run in the folder.
    fn run(&self, out: &str, args: &[&str], failpoint: Option<&str>) -> Output {
        let mut cmd = assert_cmd::Command::cargo_bin("payrecon").unwrap();
        cmd.current_dir(self.dir.path())
            .args(["run", "-q", "--db"])
            .arg(self.path("p.db"))
            .arg("--out")
            .arg(self.path(out))
            .args(args)
            .env_remove("PAYRECON_FAILPOINT");
        if let Some(point) = failpoint {
            cmd.env("PAYRECON_FAILPOINT", point);
        }
        cmd.output().unwrap()
    }

    /// Every instruction in the database: id -> (business day, channel,
    /// channel_txn_id, channel_order_id, amount).
    fn instructions(&self) -> BTreeMap<String, Instruction> {
        let Ok(conn) = rusqlite::Connection::open(self.path("p.db")) else {
            return BTreeMap::new();
        };
        let Ok(mut stmt) = conn.prepare(
            "SELECT refund_request_id, business_day, channel, channel_txn_id, channel_order_id,
                    amount_minor FROM refund_instruction",
        ) else {
            return BTreeMap::new(); // no schema yet
        };
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Instruction {
                    day: r.get(1)?,
                    txn: (r.get(2)?, r.get(3)?),
                    attempt: r.get(4)?,
                    amount: r.get(5)?,
                },
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Instruction {
    day: String,
    txn: (String, String),
    attempt: String,
    amount: i64,
}

/// "12.34" as minor units (CNY).
fn minor(amount: &str) -> i64 {
    let (units, cents) = amount.split_once('.').unwrap_or((amount, "0"));
    units.parse::<i64>().unwrap() * 100 + format!("{cents:0<2}")[..2].parse::<i64>().unwrap()
}

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// One row of a settlement file as the test wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    txn: String,
    attempt: String,
    refund: bool,
    amount: i64,
    at: String,
    refund_id: String,
}

impl Row {
    fn line(&self) -> String {
        format!(
            "wechat,{},{},{},{},,CNY,{},{}\n",
            self.txn,
            self.attempt,
            if self.refund { "REFUND" } else { "PAYMENT" },
            money(self.amount),
            self.at,
            self.refund_id
        )
    }
}

/// What the loaded settlement files say about money, per payment and per
/// attempt: captured, and refunded by the channel (each refund_id once).
#[derive(Debug, Default)]
struct Ledger {
    captured: BTreeMap<String, i64>,
    attempt_of: BTreeMap<String, String>,
    channel_refunds: BTreeMap<String, BTreeMap<String, i64>>,
}

impl Ledger {
    fn of<'r>(files: impl Iterator<Item = &'r Vec<Row>>) -> Ledger {
        let mut ledger = Ledger::default();
        for rows in files {
            for (n, row) in rows.iter().enumerate() {
                if row.refund {
                    let id = if row.refund_id.is_empty() {
                        format!("row {n}")
                    } else {
                        row.refund_id.clone()
                    };
                    ledger
                        .channel_refunds
                        .entry(row.txn.clone())
                        .or_default()
                        .insert(id, row.amount);
                } else {
                    let c = ledger.captured.entry(row.txn.clone()).or_default();
                    *c = (*c).max(row.amount);
                    ledger
                        .attempt_of
                        .insert(row.txn.clone(), row.attempt.clone());
                }
            }
        }
        ledger
    }

    fn refunded(&self, txn: &str) -> i64 {
        self.channel_refunds
            .get(txn)
            .map_or(0, |r| r.values().sum())
    }

    /// (what is refunded, what was captured) per payment and per attempt,
    /// given payrecon's instructions: the keys over their capture, with the
    /// instruction ids on them.
    fn excess(
        &self,
        instructions: &[(String, Instruction)],
    ) -> Vec<(String, i64, i64, Vec<String>)> {
        let mut per_txn: BTreeMap<String, (i64, Vec<String>)> = BTreeMap::new();
        let mut per_attempt: BTreeMap<String, (i64, Vec<String>)> = BTreeMap::new();
        for (id, i) in instructions {
            let t = per_txn.entry(i.txn.1.clone()).or_default();
            t.0 += i.amount;
            t.1.push(id.clone());
            let a = per_attempt.entry(i.attempt.clone()).or_default();
            a.0 += i.amount;
            a.1.push(id.clone());
        }
        let mut over = Vec::new();
        for (txn, (ours, ids)) in per_txn {
            // A payment no loaded file shows any more is judged per attempt.
            if let Some(&captured) = self.captured.get(&txn) {
                let refunded = ours + self.refunded(&txn);
                if refunded > captured {
                    over.push((format!("payment {txn}"), refunded, captured, ids));
                }
            }
        }
        for (attempt, (ours, ids)) in per_attempt {
            let txns: Vec<&String> = self
                .attempt_of
                .iter()
                .filter(|(_, a)| **a == attempt)
                .map(|(t, _)| t)
                .collect();
            let captured: i64 = txns.iter().map(|t| self.captured[*t]).sum();
            let theirs: i64 = txns.iter().map(|t| self.refunded(t)).sum();
            if ours + theirs > captured {
                over.push((format!("attempt {attempt}"), ours + theirs, captured, ids));
            }
        }
        over
    }
}

// ---------------------------------------------------------------------
// The property.

const DAY0: u32 = 14; // 2024-03-14

fn day_name(day: usize) -> String {
    format!("2024-03-{}", DAY0 as usize + day)
}

#[derive(Debug, Clone)]
struct AttemptSpec {
    day: usize,
    /// 0 SUCCESS, 1 FAILED, 2 UNKNOWN.
    status: usize,
    paid: bool,
    /// A partial channel refund: (days after the payment, percent).
    refund: Option<(usize, i64)>,
}

#[derive(Debug, Clone)]
struct OrderSpec {
    /// 0 PAID, 1 OPEN, 2 CLOSED.
    status: usize,
    amount: i64,
    attempts: Vec<AttemptSpec>,
}

#[derive(Debug, Clone)]
enum Change {
    /// A payment's amount becomes this percent of the order's.
    Amount(usize, i64),
    /// A payment's channel_txn_id gets an `X`.
    TxnId(usize),
    RemovePayment(usize),
    /// A channel REFUND row for a payment, this percent of it.
    AddRefund(usize, i64),
    /// Header only.
    Empty,
    /// Another day's rows under this day's name.
    Mislabel(usize),
    /// The same rows and a blank line: other bytes, same content.
    BlankLine,
}

#[derive(Debug, Clone)]
struct Correction {
    day: usize,
    change: Change,
}

#[derive(Debug, Clone)]
struct Step {
    files: Vec<prop::sample::Index>,
    date: Option<usize>,
}

#[derive(Debug, Clone)]
struct World {
    days: usize,
    orders: Vec<OrderSpec>,
    corrections: Vec<Correction>,
    steps: Vec<Step>,
}

fn world() -> impl Strategy<Value = World> {
    (2..=3usize).prop_flat_map(|days| {
        let attempt = (
            0..days,
            0..3usize,
            prop::bool::weighted(0.85),
            prop::option::weighted(0.3, (0..2usize, 1..=100i64)),
        )
            .prop_map(|(day, status, paid, refund)| AttemptSpec {
                day,
                status,
                paid,
                refund,
            });
        let order = (
            prop::sample::select(vec![0usize, 0, 1, 2]),
            100..5000i64,
            prop::collection::vec(attempt, 1..=3),
        )
            .prop_map(|(status, amount, attempts)| OrderSpec {
                status,
                amount,
                attempts,
            });
        let change = prop_oneof![
            (any::<usize>(), 1..=150i64).prop_map(|(p, pct)| Change::Amount(p, pct)),
            any::<usize>().prop_map(Change::TxnId),
            any::<usize>().prop_map(Change::RemovePayment),
            (any::<usize>(), 1..=100i64).prop_map(|(p, pct)| Change::AddRefund(p, pct)),
            Just(Change::Empty),
            (0..=days).prop_map(Change::Mislabel),
            Just(Change::BlankLine),
        ];
        let correction = (0..days, change).prop_map(|(day, change)| Correction { day, change });
        let step = (
            prop::collection::vec(any::<prop::sample::Index>(), 1..=3),
            prop::option::of(0..=days),
        )
            .prop_map(|(files, date)| Step { files, date });
        (
            Just(days),
            prop::collection::vec(order, 1..=4),
            prop::collection::vec(correction, 1..=3),
            prop::collection::vec(step, 3..=8),
        )
            .prop_map(|(days, orders, corrections, steps)| World {
                days,
                orders,
                corrections,
                steps,
            })
    })
}

/// A file the runs may be given.
#[derive(Debug, Clone)]
struct File {
    path: PathBuf,
    /// The channel day its name claims; None for an export.
    day: Option<usize>,
    /// Its rows (settlement files).
    rows: Vec<Row>,
    bytes: Vec<u8>,
}

fn bill_rows(world: &World, day: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut refunds = Vec::new();
    for (o, order) in world.orders.iter().enumerate() {
        for (a, at) in order.attempts.iter().enumerate() {
            if !at.paid {
                continue;
            }
            let txn = format!("T{o}x{a}");
            let attempt = format!("C{o}x{a}");
            if at.day == day {
                rows.push(Row {
                    txn: txn.clone(),
                    attempt: attempt.clone(),
                    refund: false,
                    amount: order.amount,
                    at: format!("{} 10:{o:02}:{a:02}", day_name(day)),
                    refund_id: String::new(),
                });
            }
            if let Some((after, pct)) = at.refund
                && at.day + after == day
            {
                refunds.push(Row {
                    txn,
                    attempt,
                    refund: true,
                    amount: (order.amount * pct / 100).max(1),
                    at: format!("{} 20:{o:02}:{a:02}", day_name(day)),
                    refund_id: format!("CS{o}x{a}"),
                });
            }
        }
    }
    rows.extend(refunds);
    rows
}

fn bill_text(rows: &[Row]) -> String {
    let mut text = String::from(SH);
    for r in rows {
        text += &r.line();
    }
    text
}

fn export_text(world: &World, day: usize) -> String {
    let mut text = String::from(OH);
    for (o, order) in world.orders.iter().enumerate() {
        let status = ["PAID", "OPEN", "CLOSED"][order.status];
        for (a, at) in order.attempts.iter().enumerate() {
            if at.day != day {
                continue;
            }
            let closed = if status == "CLOSED" {
                format!("{} 12:00:00", day_name(day))
            } else {
                String::new()
            };
            text += &format!(
                "O{o},P{o}x{a},C{o}x{a},wechat,{},CNY,{status},{},{} 09:{o:02}:{a:02},,{closed},\n",
                money(order.amount),
                ["SUCCESS", "FAILED", "UNKNOWN"][at.status],
                day_name(day)
            );
        }
    }
    text
}

/// Every file: the exports, the original bills (days 0..=days: the last
/// one settles the last day), and the corrections.
fn files(world: &World, scratch: &Scratch) -> Vec<File> {
    let mut files = Vec::new();
    for day in 0..world.days {
        let text = export_text(world, day);
        files.push(File {
            path: scratch.write(&format!("orders/orders-{}.csv", day_name(day)), &text),
            day: None,
            rows: Vec::new(),
            bytes: text.into_bytes(),
        });
    }
    for day in 0..=world.days {
        let rows = bill_rows(world, day);
        let text = bill_text(&rows);
        files.push(File {
            path: scratch.write(&format!("bills/wechat-{}.csv", day_name(day)), &text),
            day: Some(day),
            rows,
            bytes: text.into_bytes(),
        });
    }
    for (k, c) in world.corrections.iter().enumerate() {
        let mut rows = bill_rows(world, c.day);
        let payments: Vec<usize> = (0..rows.len()).filter(|i| !rows[*i].refund).collect();
        let pick = |p: usize| payments.get(p % payments.len().max(1)).copied();
        let mut extra = "";
        match c.change {
            Change::Amount(p, pct) => {
                if let Some(i) = pick(p) {
                    rows[i].amount = (rows[i].amount * pct / 100).max(1);
                }
            }
            Change::TxnId(p) => {
                if let Some(i) = pick(p) {
                    let old = rows[i].txn.clone();
                    for r in rows.iter_mut().filter(|r| r.txn == old) {
                        r.txn = format!("{old}X");
                    }
                }
            }
            Change::RemovePayment(p) => {
                if let Some(i) = pick(p) {
                    rows.remove(i);
                }
            }
            Change::AddRefund(p, pct) => {
                if let Some(i) = pick(p) {
                    let mut refund = rows[i].clone();
                    refund.refund = true;
                    refund.amount = (refund.amount * pct / 100).max(1);
                    refund.at = format!("{} 21:00:00", day_name(c.day));
                    refund.refund_id = format!("CR{k}");
                    rows.push(refund);
                }
            }
            Change::Empty => rows.clear(),
            Change::Mislabel(other) => rows = bill_rows(world, other),
            Change::BlankLine => extra = "\n",
        }
        let text = bill_text(&rows) + extra;
        files.push(File {
            path: scratch.write(&format!("fix{k}/wechat-{}.csv", day_name(c.day)), &text),
            day: Some(c.day),
            rows,
            bytes: text.into_bytes(),
        });
    }
    files
}

/// One published refunds.csv.
struct Published {
    run: usize,
    day: String,
    rows: Vec<Vec<String>>,
}

fn attack(world: &World) -> Result<(), TestCaseError> {
    let scratch = Scratch::new();
    let files = files(world, &scratch);
    // The bill each channel day currently has in the database, as the
    // test tracks it: a file loaded by a run that succeeded, unless the
    // same bytes for the same day were loaded before (a no-op).
    let mut current: BTreeMap<usize, usize> = BTreeMap::new();
    let mut loaded: BTreeSet<(usize, Vec<u8>)> = BTreeSet::new();
    let mut issued_before: BTreeMap<String, Instruction> = BTreeMap::new();
    // The run each instruction was issued by, and the last run that
    // changed each channel day.
    let mut issued_at: BTreeMap<String, usize> = BTreeMap::new();
    let mut changed_at: BTreeMap<usize, usize> = BTreeMap::new();
    let mut published: Vec<Published> = Vec::new();
    let mut last_report = String::new();
    let mut steps = world.steps.clone();
    // Last: every export and the original bills, as a catch-up run.
    steps.push(Step {
        files: Vec::new(),
        date: None,
    });
    for (n, step) in steps.iter().enumerate() {
        let mut chosen: Vec<usize> = if step.files.is_empty() {
            (0..=world.days * 2).collect()
        } else {
            step.files.iter().map(|i| i.index(files.len())).collect()
        };
        // One file per channel day in a run, each file once.
        let mut days = BTreeSet::new();
        let mut seen = BTreeSet::new();
        chosen.retain(|&f| seen.insert(f) && files[f].day.is_none_or(|d| days.insert(d)));
        let mut args: Vec<String> = Vec::new();
        for &f in &chosen {
            let flag = if files[f].day.is_some() {
                "--settlement"
            } else {
                "--orders"
            };
            args.push(flag.into());
            args.push(files[f].path.display().to_string());
        }
        if let Some(d) = step.date {
            args.push("--date".into());
            args.push(day_name(d));
        }
        let out = format!("out/run{n}");
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = scratch.run(&out, &argv, None);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let after = scratch.instructions();
        match output.status.code() {
            Some(0) => {}
            Some(1) => {
                prop_assert_eq!(
                    &after,
                    &issued_before,
                    "run {} was refused but issued: {}",
                    n,
                    stderr
                );
                continue;
            }
            other => prop_assert!(false, "run {n} ({argv:?}) exited {other:?}: {stderr}"),
        }
        for &f in &chosen {
            if let Some(d) = files[f].day
                && loaded.insert((d, files[f].bytes.clone()))
            {
                current.insert(d, f);
                changed_at.insert(d, n);
            }
        }
        // Per run: what this run instructs fits in what the loaded files
        // show of each payment and attempt.
        let ledger = Ledger::of(current.values().map(|&f| &files[f].rows));
        let fresh: BTreeSet<&String> = after
            .keys()
            .filter(|id| !issued_before.contains_key(*id))
            .collect();
        for id in &fresh {
            issued_at.insert((*id).clone(), n);
        }
        let all: Vec<(String, Instruction)> = after
            .iter()
            .map(|(id, i)| (id.clone(), i.clone()))
            .collect();
        for (key, refunded, captured, ids) in ledger.excess(&all) {
            prop_assert!(
                !ids.iter().any(|id| fresh.contains(id)),
                "run {n} ({argv:?}): {key} refunded {refunded} of {captured} captured by {ids:?}; loaded bills: {:?}",
                current
                    .values()
                    .map(|&f| files[f].path.display().to_string())
                    .collect::<Vec<_>>()
            );
        }
        issued_before = after;
        let summary: serde_json::Value =
            serde_json::from_str(&scratch.read(&format!("{out}/summary.json"))).unwrap();
        published.push(Published {
            run: n,
            day: summary["business_day"].as_str().unwrap().to_string(),
            rows: published_rows(&scratch, &[out.as_str()])
                .into_iter()
                .map(|(_, row)| row)
                .collect(),
        });
        last_report = scratch.read(&format!("{out}/discrepancies.csv"));
    }
    // No instruction in two business days' files.
    let mut day_of: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for p in &published {
        for row in &p.rows {
            if let Some((day, run)) = day_of.insert(row[0].clone(), (p.day.clone(), p.run)) {
                prop_assert_eq!(
                    &day,
                    &p.day,
                    "{} is in the refunds.csv of {} (run {}) and of {} (run {})",
                    &row[0],
                    &day,
                    run,
                    &p.day,
                    p.run
                );
            }
        }
    }
    // The union: per business day every instruction its copies listed,
    // summed over the days.
    let mut union: BTreeMap<(String, String), Instruction> = BTreeMap::new();
    for p in &published {
        for row in &p.rows {
            let instruction = Instruction {
                day: p.day.clone(),
                txn: (row[1].clone(), row[2].clone()),
                attempt: row[3].clone(),
                amount: minor(&row[6]),
            };
            if let Some(earlier) =
                union.insert((p.day.clone(), row[0].clone()), instruction.clone())
            {
                prop_assert_eq!(earlier, instruction, "{} changed between copies", &row[0]);
            }
        }
    }
    let union: Vec<(String, Instruction)> = union.into_iter().map(|((_, id), i)| (id, i)).collect();
    let ledger = Ledger::of(current.values().map(|&f| &files[f].rows));
    for (key, refunded, captured, ids) in ledger.excess(&union) {
        // Excusable only when a bill loaded after the instruction changed
        // what it could know, and the last report says so, loudly.
        let corrected_later = ids.iter().all(|id| {
            let at = issued_at.get(id).copied().unwrap_or(0);
            changed_at.values().any(|&c| c > at)
        });
        // A last run that reran an earlier business day reports only what
        // was first seen by then: the flag may be on a later day, open in
        // the ledger.
        let flagged = last_report
            .lines()
            .any(|l| l.contains(",high,") && ids.iter().any(|id| l.contains(id.as_str())))
            || ids
                .iter()
                .any(|id| open_refund_finding_names(&scratch.path("p.db"), id));
        prop_assert!(
            corrected_later && flagged,
            "{key}: refunded {refunded} of {captured} captured (payrecon: {ids:?}; corrected after issue: {corrected_later}, flagged high: {flagged})\nlast report:\n{last_report}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(24),
        ..ProptestConfig::default()
    })]

    #[test]
    fn corrected_mislabeled_and_reordered_files_never_over_refund(world in world()) {
        attack(&world)?;
    }
}

// ---------------------------------------------------------------------
// The scenarios of issue 10, one test each, with the issue's inputs.

const ISSUE_ORDERS: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at
O1,P1,C1,wechat,10.00,CNY,PAID,SUCCESS,2024-03-14 10:00:00,,,2024-03-14 10:01:00
O1,P1,C2,wechat,10.00,CNY,PAID,FAILED,2024-03-14 10:00:00,,,
";
const ISSUE_DAY: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id
wechat,W1,C1,PAYMENT,10.00,0.06,CNY,2024-03-14 10:01:00,
wechat,W2,C2,PAYMENT,10.00,0.06,CNY,2024-03-14 10:02:00,
";

/// Every row of every published refunds.csv of these runs (a missing file
/// is no rows), with the run's business day.
fn published_rows(scratch: &Scratch, outs: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut rows = Vec::new();
    for out in outs {
        // Every refund file of the folder: refunds.csv, refunds-2.csv…
        let found = crate::util::refund_rows_in(&scratch.path(out));
        if !scratch.path(&format!("{out}/refunds.csv")).exists() {
            continue;
        }
        let day = std::fs::read_to_string(scratch.path(&format!("{out}/summary.json")))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v["business_day"].as_str().map(String::from))
            .unwrap_or_default();
        for row in found {
            rows.push((day.clone(), row));
        }
    }
    rows
}

/// What each refund id instructs, over published files (each id once per
/// business day; the days summed).
fn instructed_per(rows: &[(String, Vec<String>)], column: usize) -> BTreeMap<String, i64> {
    let mut seen = BTreeSet::new();
    let mut per = BTreeMap::new();
    for (day, row) in rows {
        if seen.insert((day.clone(), row[0].clone())) {
            *per.entry(row[column].clone()).or_default() += minor(&row[6]);
        }
    }
    per
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Scenario 1: a run killed after its commit (PAYRECON_FAILPOINT=
/// after-commit) committed W2's refund under day 14, which an earlier run
/// had already published (with no refunds). The next day's run must not
/// leave that instruction silently unpublished: either it reaches a
/// published refunds.csv, or the run says loudly (non-zero exit, a warning
/// naming "unpublished" instructions) that it has not.
#[test]
fn issue10_scenario1_an_instruction_committed_by_a_killed_run_is_published_or_announced() {
    let s = Scratch::new();
    s.write("orders.csv", ISSUE_ORDERS);
    s.write("set/wechat-2024-03-14.csv", ISSUE_DAY);
    s.write("set/wechat-2024-03-15.csv", SH);
    s.write("set/wechat-2024-03-16.csv", SH);
    let first = s.run(
        "out1",
        &[
            "--orders",
            "orders.csv",
            "--settlement",
            "set/wechat-2024-03-14.csv",
        ],
        None,
    );
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        published_rows(&s, &["out1"]).is_empty(),
        "day 14 first has no refunds"
    );
    let killed = s.run(
        "out2",
        &["--settlement", "set/wechat-2024-03-15.csv"],
        Some("after-commit"),
    );
    assert_eq!(killed.status.code(), None, "killed: {}", text(&killed));
    let committed: Vec<Instruction> = s.instructions().into_values().collect();
    assert!(
        committed
            .iter()
            .any(|i| i.txn.1 == "W2" && i.amount == 1000),
        "the killed run committed W2's refund: {committed:?}"
    );
    let today = s.run("out3", &["--settlement", "set/wechat-2024-03-16.csv"], None);
    let published = published_rows(&s, &["out1", "out2", "out3"]);
    let reached = published
        .iter()
        .any(|(_, r)| r[2] == "W2" && r[6] == "10.00");
    let stderr = String::from_utf8_lossy(&today.stderr).to_lowercase();
    let announced = !today.status.success() && stderr.contains("unpublished");
    assert!(
        reached || announced,
        "W2's committed refund is in no published refunds.csv ({published:?}) and the next run says nothing: {}",
        text(&today)
    );
}

/// Scenario 2: a file named for the 15th whose rows are the 16th's (the
/// wrong file) is refused, saying which file, the day its name claims and
/// the day its rows show; the right file for the 15th then loads, and W2 is
/// never refunded beyond its 10.00 (the channel refunded 4.00 of it).
#[test]
fn issue10_scenario2_a_mislabeled_file_is_refused_and_never_causes_an_over_refund() {
    let s = Scratch::new();
    s.write("orders.csv", ISSUE_ORDERS);
    s.write("set/wechat-2024-03-14.csv", ISSUE_DAY);
    s.write("set/wechat-2024-03-16.csv", SH);
    s.write(
        "wrong/wechat-2024-03-15.csv",
        &format!("{SH}wechat,W9,C9,PAYMENT,5.00,0.03,CNY,2024-03-16 09:00:00,\n"),
    );
    s.write(
        "right/wechat-2024-03-15.csv",
        &format!("{SH}wechat,W2,C2,REFUND,4.00,,CNY,2024-03-15 09:00:00,CSR1\n"),
    );
    let first = s.run(
        "out1",
        &["--orders", "orders.csv", "--settlement", "set"],
        None,
    );
    assert!(first.status.success(), "{}", text(&first));
    let wrong = s.run(
        "out2",
        &["--settlement", "wrong/wechat-2024-03-15.csv"],
        None,
    );
    let right = s.run(
        "out3",
        &["--settlement", "right/wechat-2024-03-15.csv"],
        None,
    );
    let mut problems = Vec::new();
    let published = published_rows(&s, &["out1", "out2", "out3"]);
    let ours = instructed_per(&published, 2);
    let w2 = ours.get("W2").copied().unwrap_or(0) + 400;
    if w2 > 1000 {
        problems.push(format!(
            "W2 over-refunded: {} instructed + 4.00 by the channel > 10.00 captured ({published:?})",
            money(w2 - 400)
        ));
    }
    if ours.get("W1").copied().unwrap_or(0) > 0 {
        problems.push(format!("W1, the payment kept, was refunded: {published:?}"));
    }
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    if wrong.status.code() != Some(1)
        || !stderr.contains("wrong/wechat-2024-03-15.csv")
        || !stderr.contains("2024-03-15")
        || !stderr.contains("2024-03-16")
        || !stderr.to_lowercase().contains("name")
    {
        problems.push(format!(
            "the wrong file was not refused naming the file, the day its name claims and the day its rows show: {}",
            text(&wrong)
        ));
    }
    if !right.status.success() {
        problems.push(format!("the right file was refused: {}", text(&right)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Scenario 3: day 14's refund of the duplicate T…0422 is issued; then a
/// corrected day-14 file where only that payment's channel_txn_id is now
/// T…0422X. No second instruction for the same attempt (C2); what is
/// instructed for C2 stays within its 10.00; the old instruction, whose
/// payment no longer exists, is a high finding. Reloading the original
/// file (a blank line more, so other bytes) issues nothing either.
#[test]
fn issue10_scenario3_a_changed_txn_id_does_not_refund_the_attempt_again() {
    let s = Scratch::new();
    s.write("orders.csv", ISSUE_ORDERS);
    let original = format!(
        "{SH}wechat,T4200000001202403140421,C1,PAYMENT,10.00,0.06,CNY,2024-03-14 10:01:00,\n\
         wechat,T4200000001202403140422,C2,PAYMENT,10.00,0.06,CNY,2024-03-14 10:02:00,\n"
    );
    s.write("set/wechat-2024-03-14.csv", &original);
    s.write("set/wechat-2024-03-15.csv", SH);
    s.write(
        "fix/wechat-2024-03-14.csv",
        &original.replace("0422,", "0422X,"),
    );
    s.write("again/wechat-2024-03-14.csv", &format!("{original}\n"));
    let date = ["--date", "2024-03-14"];
    let first = s.run(
        "out1",
        &[
            "--orders",
            "orders.csv",
            "--settlement",
            "set",
            date[0],
            date[1],
        ],
        None,
    );
    assert!(first.status.success(), "{}", text(&first));
    let issued = s.instructions();
    assert_eq!(issued.len(), 1, "day 14 refunds the duplicate: {issued:?}");
    let (old_id, old) = issued.iter().next().unwrap();
    assert_eq!(
        (old.txn.1.as_str(), old.amount),
        ("T4200000001202403140422", 1000)
    );
    let fix = s.run(
        "out2",
        &[
            "--settlement",
            "fix/wechat-2024-03-14.csv",
            date[0],
            date[1],
        ],
        None,
    );
    let mut problems = Vec::new();
    if !fix.status.success() {
        problems.push(format!("the corrected file was refused: {}", text(&fix)));
    }
    let after_fix = s.instructions();
    if after_fix.len() != 1 {
        problems.push(format!(
            "the corrected file issued a second instruction for C2: {after_fix:?}"
        ));
    }
    let report = std::fs::read_to_string(s.path("out2/discrepancies.csv")).unwrap_or_default();
    if !report
        .lines()
        .any(|l| l.contains(",high,") && l.contains(old_id.as_str()))
    {
        problems.push(format!(
            "no high finding names {old_id}, the instruction whose payment is gone:\n{report}"
        ));
    }
    let again = s.run(
        "out3",
        &[
            "--settlement",
            "again/wechat-2024-03-14.csv",
            date[0],
            date[1],
        ],
        None,
    );
    if !again.status.success() {
        problems.push(format!(
            "the original reloaded was refused: {}",
            text(&again)
        ));
    }
    let after_again = s.instructions();
    if after_again != after_fix {
        problems.push(format!(
            "reloading the original issued more: {after_fix:?} -> {after_again:?}"
        ));
    }
    let published = published_rows(&s, &["out1", "out2", "out3"]);
    let per_attempt = instructed_per(&published, 3);
    if per_attempt.get("C2").copied().unwrap_or(0) > 1000 {
        problems.push(format!(
            "C2 (10.00 captured) instructed {} over the published files: {published:?}",
            money(per_attempt["C2"])
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

const CONFLICT_ORDERS: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at
O1,P1,C1,wechat,10.00,CNY,PAID,SUCCESS,2024-03-14 10:00:00,,,2024-03-14 10:01:00
O2,P2,C2,wechat,20.00,CNY,PAID,SUCCESS,2024-03-14 11:00:00,,,2024-03-14 11:01:00
";

/// Scenario 4: one file with two PAYMENT rows under the same
/// channel_txn_id for two attempts, both SUCCESS internally. Both are
/// matched (no MISSING_IN_CHANNEL), and a CHANNEL_ID_CONFLICT names both.
#[test]
fn issue10_scenario4_a_txn_id_repeated_with_other_content_is_a_conflict() {
    let s = Scratch::new();
    s.write("orders.csv", CONFLICT_ORDERS);
    s.write(
        "set/wechat-2024-03-14.csv",
        &format!(
            "{SH}wechat,T1,C1,PAYMENT,10.00,0.06,CNY,2024-03-14 10:01:00,\n\
             wechat,T1,C2,PAYMENT,20.00,0.12,CNY,2024-03-14 11:01:00,\n"
        ),
    );
    s.write("set/wechat-2024-03-15.csv", SH);
    let run = s.run(
        "out",
        &[
            "--orders",
            "orders.csv",
            "--settlement",
            "set",
            "--date",
            "2024-03-14",
        ],
        None,
    );
    assert!(run.status.success(), "{}", text(&run));
    let report = s.read("out/discrepancies.csv");
    let (_, rows) = parse_csv(&report);
    let mut problems = Vec::new();
    if rows.iter().any(|r| r[0] == "MISSING_IN_CHANNEL") {
        problems.push("an attempt the channel paid is MISSING_IN_CHANNEL".to_string());
    }
    let conflict: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[0] == "CHANNEL_ID_CONFLICT")
        .collect();
    let names = |what: &str| conflict.iter().any(|r| r.join(",").contains(what));
    if !(names("T1") && names("C1") && names("C2")) {
        problems.push("no CHANNEL_ID_CONFLICT naming T1 with C1 and C2".to_string());
    }
    if !parse_csv(&s.read("out/refunds.csv")).1.is_empty() {
        problems.push("a refund was issued".to_string());
    }
    assert!(problems.is_empty(), "{}\n{report}", problems.join("\n"));
}

/// Scenario 4, the other half: the exact same payment row twice in one
/// file, or in a file and its next-day file, is one payment: no finding at
/// all (no duplicate, no conflict), nothing refunded.
#[test]
fn issue10_scenario4_the_same_row_twice_counts_once() {
    let row = "wechat,T1,C1,PAYMENT,10.00,0.06,CNY,2024-03-14 10:01:00,\n";
    for (day, next) in [
        (format!("{SH}{row}{row}"), SH.to_string()),
        (format!("{SH}{row}"), format!("{SH}{row}")),
        (format!("{SH}{row}{row}"), format!("{SH}{row}")),
    ] {
        let s = Scratch::new();
        s.write(
            "orders.csv",
            &CONFLICT_ORDERS
                .lines()
                .take(2)
                .collect::<Vec<_>>()
                .join("\n"),
        );
        s.write("set/wechat-2024-03-14.csv", &day);
        s.write("set/wechat-2024-03-15.csv", &next);
        let run = s.run(
            "out",
            &[
                "--orders",
                "orders.csv",
                "--settlement",
                "set",
                "--date",
                "2024-03-14",
            ],
            None,
        );
        assert!(run.status.success(), "{}", text(&run));
        let report = s.read("out/discrepancies.csv");
        assert!(
            parse_csv(&report).1.is_empty(),
            "one payment, no finding:\n{day}\n{next}\n{report}"
        );
        assert!(parse_csv(&s.read("out/refunds.csv")).1.is_empty());
    }
}

/// Scenario 5: three consecutive days, each with a duplicate payment, run
/// in reverse order (day 3's files first, then day 2's, then day 1's; one
/// run each, with --date of that day or the default): each duplicate is
/// refunded once, and no refund_request_id is in two days' refunds.csv.
#[test]
fn issue10_scenario5_days_in_reverse_order_never_repeat_an_instruction() {
    for dated in [true, false] {
        let s = Scratch::new();
        for d in 0..3 {
            let day = day_name(d);
            s.write(
                &format!("e{d}/orders-{day}.csv"),
                &format!(
                    "{OH}O{d},P{d},C{d}a,wechat,10.00,CNY,PAID,SUCCESS,{day} 10:00:00,,,{day} 10:01:00\n\
                     O{d},P{d},C{d}b,wechat,10.00,CNY,PAID,FAILED,{day} 10:00:00,,,\n"
                ),
            );
            s.write(
                &format!("d{d}/wechat-{day}.csv"),
                &format!(
                    "{SH}wechat,T{d}a,C{d}a,PAYMENT,10.00,,CNY,{day} 10:01:00,\n\
                     wechat,T{d}b,C{d}b,PAYMENT,10.00,,CNY,{day} 10:02:00,\n"
                ),
            );
        }
        s.write(&format!("d2/wechat-{}.csv", day_name(3)), SH);
        let mut outs = Vec::new();
        for d in (0..3).rev() {
            let out = format!("out{d}");
            let mut args = vec![
                "--orders".to_string(),
                format!("e{d}/orders-{}.csv", day_name(d)),
                "--settlement".to_string(),
                format!("d{d}"),
            ];
            if dated {
                args.push("--date".into());
                args.push(day_name(d));
            }
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = s.run(&out, &argv, None);
            assert!(run.status.success(), "{}", text(&run));
            outs.push(out);
        }
        let outs: Vec<&str> = outs.iter().map(String::as_str).collect();
        let published = published_rows(&s, &outs);
        let mut day_of: BTreeMap<&str, &str> = BTreeMap::new();
        for (day, row) in &published {
            if let Some(other) = day_of.insert(&row[0], day) {
                assert_eq!(
                    other, day,
                    "dated {dated}: {} is in two days' refunds.csv: {published:?}",
                    row[0]
                );
            }
        }
        let refunded: BTreeSet<&str> = published.iter().map(|(_, r)| r[2].as_str()).collect();
        assert_eq!(
            refunded,
            BTreeSet::from(["T0b", "T1b", "T2b"]),
            "dated {dated}: each day's duplicate refunded once: {published:?}"
        );
        assert_eq!(s.instructions().len(), 3, "dated {dated}");
    }
}

/// Whether an open REFUND_* finding (all of high severity) names
/// instruction `id`.
fn open_refund_finding_names(db: &Path, id: &str) -> bool {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM finding_item
                        WHERE state = 'OPEN' AND kind LIKE 'REFUND!_%' ESCAPE '!'
                          AND instr(detail, ?1) > 0)",
        [id],
        |r| r.get(0),
    )
    .unwrap()
}
