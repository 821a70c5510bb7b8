//! Never over-refund (guarantee 4), as a property over simulated days.
//!
//! proptest draws a small world: 2-3 days, up to five orders of 1-4
//! attempts on two channels, random order and attempt statuses (an order may
//! move from OPEN to its final status on a later day), attempts paid or not
//! (several paid attempts of one order are duplicate payments), payment rows
//! repeated in the next day's file, attempts no export knows, and customer
//! service refunds (partial or full) on the payment's day or later. It also
//! draws how the days are run: files in random order, export and settlement
//! files in separate runs, exports delivered a day late, reruns, files given
//! again under another name, and day D-1 rerun after day D.
//!
//! The test plays the channel: each day's settlement files hold that day's
//! payments, then the refunds executed that day: payrecon's instructions of
//! the runs before (first), then customer service refunds, each capped at
//! what is left of the payment, as a channel does. The real pipeline runs
//! in-process (`payrecon::run::run`). Checked:
//! - at every run, for every payment: what this run instructs, plus the
//!   channel refunds in the files loaded so far, plus payrecon's earlier
//!   instructions the channel has not reported, never exceeds the payment;
//! - when every run saw every file that existed at the time: the channel
//!   never has to reject an instruction, and over all days payrecon's
//!   instructions plus the other refunds never exceed any payment;
//! - at the end, an order not closed that was paid two or more times keeps
//!   exactly one payment (none if every payment but one was fully refunded
//!   by customer service and that one too), a closed order keeps none, a
//!   single payment of an open order and a payment no export knows are
//!   never refunded;
//! - a further run over everything issues nothing;
//! - incremental judgement equals a full one (issue 11): every run is made
//!   twice, on two databases, the second with `--full` (everything loaded
//!   judged again); after each, the outputs and the ledgers must be equal.
//!
//! The refund job rejects some instructions (a day's `reject` plan), which
//! the next run loads as its results file; a person re-issues them on a
//! day whose plan says so, and at the end.
//!
//! `PROPTEST_CASES=2000 cargo test --test cli refund_properties` runs more
//! worlds (64 by default).

use payrecon::config::Config;
use proptest::prelude::*;
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CHANNELS: [&str; 2] = ["wechat", "alipay"];
const ORDER_STATUS: [&str; 4] = ["OPEN", "PAID", "CLOSED", "CANCELLED"];
const PAY_STATUS: [&str; 5] = ["SUCCESS", "FAILED", "CLOSED", "UNKNOWN", "PROCESSING"];
const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const SH: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";

#[derive(Debug, Clone)]
struct AttemptSpec {
    channel: usize,
    day: usize,
    status: usize,
    paid: bool,
    exported: bool,
    repeated_next_day: bool,
    /// Customer service refunds: (days after the payment, percent asked).
    service_refunds: Vec<(usize, i64)>,
}

#[derive(Debug, Clone)]
struct OrderSpec {
    final_status: usize,
    /// Exports of this day and later show `final_status`; earlier, OPEN.
    status_day: usize,
    amount: i64,
    attempts: Vec<AttemptSpec>,
}

#[derive(Debug, Clone)]
struct DayPlan {
    /// 0: one run; 1: the export, then the settlement files; 2: the reverse.
    split: u8,
    order_seed: u64,
    dated: bool,
    rerun: bool,
    rerun_previous: bool,
    reload_renamed: bool,
    export_late: bool,
    /// The refund job rejects the instructions it submits that day whose id
    /// hashes odd.
    reject: bool,
    /// A person re-issues the rejected instructions before the day's runs.
    reissue: bool,
}

#[derive(Debug, Clone)]
struct World {
    days: usize,
    orders: Vec<OrderSpec>,
    plans: Vec<DayPlan>,
    /// `retention_days`: 0 keeps everything, 1 compacts the days before
    /// yesterday whose findings are all closed after every run.
    retention_days: u32,
}

fn attempt(days: usize) -> impl Strategy<Value = AttemptSpec> {
    (
        0..2usize,
        0..days,
        0..PAY_STATUS.len(),
        prop::bool::weighted(0.75),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.2),
        prop::collection::vec((0..3usize, 1..=100i64), 0..=2),
    )
        .prop_map(
            |(channel, day, status, paid, exported, repeated_next_day, service_refunds)| {
                AttemptSpec {
                    channel,
                    day,
                    status,
                    paid,
                    exported,
                    repeated_next_day,
                    service_refunds,
                }
            },
        )
}

fn world() -> impl Strategy<Value = World> {
    (2..=3usize).prop_flat_map(|days| {
        let order = (
            0..ORDER_STATUS.len(),
            0..days,
            1..20_000i64,
            prop::collection::vec(attempt(days), 1..=4),
        )
            .prop_map(|(final_status, status_day, amount, attempts)| OrderSpec {
                final_status,
                status_day,
                amount,
                attempts,
            });
        let plan = (
            0..3u8,
            any::<u64>(),
            any::<bool>(),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.5),
        )
            .prop_map(
                |(
                    split,
                    order_seed,
                    dated,
                    rerun,
                    rerun_previous,
                    reload_renamed,
                    export_late,
                    reject,
                    reissue,
                )| {
                    DayPlan {
                        split,
                        order_seed,
                        dated,
                        rerun,
                        rerun_previous,
                        reload_renamed,
                        export_late,
                        reject,
                        reissue,
                    }
                },
            );
        (
            Just(days),
            prop::collection::vec(order, 1..=5),
            prop::collection::vec(plan, days),
            0..=1u32,
        )
            .prop_map(|(days, orders, plans, retention_days)| World {
                days,
                orders,
                plans,
                retention_days,
            })
    })
}

type Key = (String, String);

/// What the test knows about one channel payment.
#[derive(Debug, Clone)]
struct Payment {
    captured: i64,
    order: usize,
    attempt: usize,
    exported: bool,
}

/// One refund row of a settlement file.
#[derive(Debug, Clone)]
struct RefundRow {
    key: Key,
    refund_id: String,
    amount: i64,
}

#[derive(Debug, Clone)]
struct Instruction {
    key: Key,
    amount: i64,
}

struct Sim<'w> {
    world: &'w World,
    dir: PathBuf,
    db: PathBuf,
    /// The twin database every run is repeated on with `--full`.
    full_db: PathBuf,
    payments: BTreeMap<Key, Payment>,
    /// Refunds the channel executed, per payment (payrecon's and others').
    executed: BTreeMap<Key, i64>,
    service_executed: BTreeMap<Key, i64>,
    executed_ours: BTreeSet<String>,
    rejected: Vec<String>,
    /// Instructions the refund job rejected, and the day it did.
    job_rejected: BTreeMap<String, usize>,
    /// The job's rejections the runs have loaded (payrecon knows them).
    reported: BTreeSet<String>,
    /// The day's results file, once written.
    results: Option<PathBuf>,
    reissued: BTreeSet<String>,
    issued: BTreeMap<String, Instruction>,
    /// Refund rows of each settlement file written so far.
    file_refunds: BTreeMap<PathBuf, Vec<RefundRow>>,
    /// Payments (by key) of each settlement file written so far.
    file_payments: BTreeMap<PathBuf, Vec<Key>>,
    written: BTreeSet<PathBuf>,
    seen: BTreeSet<PathBuf>,
    /// Some run decided without a settlement file that already existed.
    stale: bool,
    runs: usize,
}

fn day_name(day: usize) -> String {
    format!("2026-11-{}", 21 + day)
}

/// The second of a payment's `transacted_at`: in a third of the orders
/// every payment of a day is at the same second, so the keep rule's tie
/// (the smallest channel_txn_id) decides.
fn paid_second(order: &OrderSpec, a: usize) -> usize {
    if order.amount % 3 == 0 { 5 } else { a + 5 }
}

fn key(o: usize, a: usize, channel: usize) -> Key {
    (CHANNELS[channel].to_string(), format!("T{o}x{a}"))
}

impl<'w> Sim<'w> {
    fn new(world: &'w World, dir: &Path) -> Sim<'w> {
        Sim {
            world,
            dir: dir.to_path_buf(),
            db: dir.join("state.db"),
            full_db: dir.join("state-full.db"),
            payments: BTreeMap::new(),
            executed: BTreeMap::new(),
            service_executed: BTreeMap::new(),
            executed_ours: BTreeSet::new(),
            rejected: Vec::new(),
            job_rejected: BTreeMap::new(),
            reported: BTreeSet::new(),
            results: None,
            reissued: BTreeSet::new(),
            issued: BTreeMap::new(),
            file_refunds: BTreeMap::new(),
            file_payments: BTreeMap::new(),
            written: BTreeSet::new(),
            seen: BTreeSet::new(),
            stale: false,
            runs: 0,
        }
    }

    fn export_path(&self, day: usize) -> PathBuf {
        self.dir
            .join(format!("d{day}/orders-{}.csv", day_name(day)))
    }

    fn settlement_path(&self, day: usize, channel: usize) -> PathBuf {
        self.dir.join(format!(
            "d{day}/{}-{}.csv",
            CHANNELS[channel],
            day_name(day)
        ))
    }

    /// Writes the export and both settlement files of `day`; executes the
    /// refunds due that day, as the channel would.
    fn write_day(&mut self, day: usize) {
        std::fs::create_dir_all(self.dir.join(format!("d{day}"))).unwrap();
        let mut export = String::from(OH);
        for (o, order) in self.world.orders.iter().enumerate() {
            let status = if day >= order.status_day {
                ORDER_STATUS[order.final_status]
            } else {
                "OPEN"
            };
            for (a, at) in order.attempts.iter().enumerate() {
                if at.day != day || !at.exported {
                    continue;
                }
                let created = format!("{} 10:{o:02}:{a:02}", day_name(day));
                let paid_at = if PAY_STATUS[at.status] == "SUCCESS" {
                    format!("{} 10:{o:02}:{:02}", day_name(day), a + 5)
                } else {
                    String::new()
                };
                export += &format!(
                    "O{o},P{o}x{a},C{o}x{a},{},{}.{:02},CNY,{status},{},{created},,,{paid_at}\n",
                    CHANNELS[at.channel],
                    order.amount / 100,
                    order.amount % 100,
                    PAY_STATUS[at.status]
                );
            }
        }
        let path = self.export_path(day);
        std::fs::write(&path, export).unwrap();
        self.written.insert(path);

        for (channel, channel_name) in CHANNELS.iter().enumerate() {
            let mut text = String::from(SH);
            let mut payments = Vec::new();
            let mut refunds = Vec::new();
            for (o, order) in self.world.orders.iter().enumerate() {
                for (a, at) in order.attempts.iter().enumerate() {
                    let today = at.day == day || (at.repeated_next_day && at.day + 1 == day);
                    if at.channel != channel || !at.paid || !today {
                        continue;
                    }
                    let k = key(o, a, channel);
                    text += &format!(
                        "{},{},C{o}x{a},PAYMENT,{}.{:02},,CNY,{} 10:{o:02}:{:02},\n",
                        k.0,
                        k.1,
                        order.amount / 100,
                        order.amount % 100,
                        day_name(at.day),
                        paid_second(order, a)
                    );
                    payments.push(k.clone());
                    self.payments.insert(
                        k,
                        Payment {
                            captured: order.amount,
                            order: o,
                            attempt: a,
                            exported: at.exported,
                        },
                    );
                }
            }
            // payrecon's instructions first: they were submitted the
            // morning after the run that issued them.
            let mut row = 0;
            let pending: Vec<(String, Instruction)> = self
                .issued
                .iter()
                .filter(|(id, i)| {
                    i.key.0 == *channel_name
                        && !self.executed_ours.contains(*id)
                        && !self.rejected.contains(id)
                        && !self.job_rejected.contains_key(*id)
                })
                .map(|(id, i)| (id.clone(), i.clone()))
                .collect();
            let rejecting = day < self.world.days && self.world.plans[day].reject;
            for (id, instruction) in pending {
                if rejecting && id.bytes().map(u64::from).sum::<u64>() % 2 == 1 {
                    self.job_rejected.insert(id, day);
                    continue;
                }
                let captured = self.payments[&instruction.key].captured;
                let done = self.executed.entry(instruction.key.clone()).or_default();
                if *done + instruction.amount > captured {
                    self.rejected.push(id);
                    continue;
                }
                *done += instruction.amount;
                self.executed_ours.insert(id.clone());
                refunds.push(RefundRow {
                    key: instruction.key.clone(),
                    refund_id: id,
                    amount: instruction.amount,
                });
            }
            for (o, order) in self.world.orders.iter().enumerate() {
                for (a, at) in order.attempts.iter().enumerate() {
                    if at.channel != channel || !at.paid {
                        continue;
                    }
                    for (n, (after, percent)) in at.service_refunds.iter().enumerate() {
                        if at.day + after != day {
                            continue;
                        }
                        let k = key(o, a, channel);
                        let done = self.executed.entry(k.clone()).or_default();
                        let asked = (order.amount * percent / 100).max(1);
                        let amount = asked.min(order.amount - *done);
                        if amount <= 0 {
                            continue;
                        }
                        *done += amount;
                        *self.service_executed.entry(k.clone()).or_default() += amount;
                        refunds.push(RefundRow {
                            key: k,
                            refund_id: format!("CS{o}x{a}x{n}"),
                            amount,
                        });
                    }
                }
            }
            for r in &refunds {
                row += 1;
                text += &format!(
                    "{},{},C{},REFUND,{}.{:02},,CNY,{} 20:00:{row:02},{}\n",
                    r.key.0,
                    r.key.1,
                    &r.key.1[1..],
                    r.amount / 100,
                    r.amount % 100,
                    day_name(day),
                    r.refund_id
                );
            }
            let path = self.settlement_path(day, channel);
            std::fs::write(&path, text).unwrap();
            self.file_refunds.insert(path.clone(), refunds);
            self.file_payments.insert(path.clone(), payments);
            self.written.insert(path);
        }
        let rejected_today: Vec<&String> = self
            .job_rejected
            .iter()
            .filter(|(_, d)| **d == day)
            .map(|(id, _)| id)
            .collect();
        self.results = None;
        if !rejected_today.is_empty() {
            let mut text = String::from("refund_request_id,status,message\n");
            for id in rejected_today {
                text += &format!("{id},REJECTED,account closed\n");
            }
            let path = self.dir.join(format!("d{day}/results.csv"));
            std::fs::write(&path, text).unwrap();
            self.results = Some(path);
        }
    }

    /// A person re-issues every rejection payrecon knows of, on both
    /// databases.
    fn reissue_rejected(&mut self) {
        let ids: Vec<String> = self.reported.difference(&self.reissued).cloned().collect();
        for db in [&self.db, &self.full_db] {
            let conn = Connection::open(db).unwrap();
            for id in &ids {
                payrecon::reconcile::refunds::reissue(&conn, id).unwrap();
            }
        }
        self.reissued.extend(ids);
    }

    /// One in-process `payrecon run` over `files`, then the per-run check.
    fn run(&mut self, files: &[PathBuf], date: Option<usize>) -> Result<(), TestCaseError> {
        if files.is_empty() {
            return Ok(());
        }
        self.runs += 1;
        let (orders, settlements): (Vec<PathBuf>, Vec<PathBuf>) =
            files.iter().cloned().partition(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("orders")
            });
        let config = Config {
            db: self.db.clone(),
            out: Some(self.dir.join(format!("out/{}", self.runs))),
            business_date: date.map(|d| day_name(d).parse().unwrap()),
            orders,
            settlements,
            refund_results: self.results.clone(),
            quiet: true,
            // A simulated day may have no orders: its export is the
            // header only (issue 12 refuses that without the flag).
            allow_empty_orders: true,
            // Deadlines pass within the simulated days.
            refund_confirm_days: 1,
            retention_days: self.world.retention_days,
            ..Config::default()
        };
        let full = Config {
            db: self.full_db.clone(),
            out: Some(self.dir.join(format!("out-full/{}", self.runs))),
            full: true,
            ..config.clone()
        };
        let incremental = payrecon::run::run(&config);
        let everything = payrecon::run::run(&full);
        prop_assert_eq!(
            incremental.is_ok(),
            everything.is_ok(),
            "run {}: the incremental and the full run disagree on failing",
            self.runs
        );
        if let Err(e) = incremental {
            // Documented refusals: only header-only files and no --date,
            // or a --date before every day the run's files cover.
            let text = format!("{e:#}");
            let refused = text.contains("nothing is loaded yet")
                || text.contains("is before every day this run's settlement files cover");
            prop_assert!(refused, "run {} failed: {e:#}", self.runs);
            return Ok(());
        }
        self.same_as_full()?;
        if let Some(results) = &self.results {
            let text = std::fs::read_to_string(results).unwrap();
            self.reported.extend(
                text.lines()
                    .skip(1)
                    .map(|l| l.split(',').next().unwrap().to_string()),
            );
        }
        for f in files {
            let canonical = self.original(f);
            self.seen.insert(canonical);
        }
        let fresh = self.new_instructions();
        let unseen = self.file_refunds.keys().any(|p| !self.seen.contains(p));
        if unseen && !fresh.is_empty() {
            self.stale = true;
        }
        self.check_decision(&fresh)?;
        self.issued.extend(fresh);
        Ok(())
    }

    /// The incremental run decided what the full one did: the same outputs
    /// and the same ledgers.
    fn same_as_full(&self) -> Result<(), TestCaseError> {
        let out = self.dir.join(format!("out/{}", self.runs));
        let full = self.dir.join(format!("out-full/{}", self.runs));
        for name in ["discrepancies.csv", "refunds.csv", "summary.json"] {
            let a = std::fs::read_to_string(out.join(name)).unwrap_or_default();
            let b = std::fs::read_to_string(full.join(name)).unwrap_or_default();
            prop_assert_eq!(
                a,
                b,
                "run {}: {} differs from a full judgement's",
                self.runs,
                name
            );
        }
        prop_assert_eq!(
            ledger(&self.db),
            ledger(&self.full_db),
            "run {}: the ledgers differ from a full judgement's",
            self.runs
        );
        Ok(())
    }

    /// A renamed copy stands for the file it copies.
    fn original(&self, path: &Path) -> PathBuf {
        let name = path.file_name().unwrap();
        let day_dir = path.parent().unwrap();
        let day_dir = if day_dir.file_name().unwrap() == "copy" {
            day_dir.parent().unwrap()
        } else {
            day_dir
        };
        day_dir.join(name)
    }

    fn new_instructions(&self) -> BTreeMap<String, Instruction> {
        let conn = Connection::open(&self.db).unwrap();
        let mut stmt = conn
            .prepare("SELECT refund_request_id, channel, channel_txn_id, amount_minor FROM refund_instruction")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Instruction {
                    key: (r.get(1)?, r.get(2)?),
                    amount: r.get(3)?,
                },
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .filter(|(id, _)| !self.issued.contains_key(id))
        .collect()
    }

    /// What this run instructs for a payment fits in what payrecon could
    /// know was left of it.
    fn check_decision(&self, fresh: &BTreeMap<String, Instruction>) -> Result<(), TestCaseError> {
        let mut per_payment: BTreeMap<&Key, i64> = BTreeMap::new();
        for i in fresh.values() {
            *per_payment.entry(&i.key).or_default() += i.amount;
        }
        for (k, amount) in per_payment {
            let payment = &self.payments[k];
            prop_assert!(
                self.seen
                    .iter()
                    .any(|f| self.file_payments.get(f).is_some_and(|p| p.contains(k))),
                "run {}: refunded {k:?}, a payment it has not seen",
                self.runs
            );
            let mut channel_refunds: BTreeMap<&str, i64> = BTreeMap::new();
            for f in &self.seen {
                for r in self.file_refunds.get(f).into_iter().flatten() {
                    if &r.key == k {
                        channel_refunds.insert(&r.refund_id, r.amount);
                    }
                }
            }
            let pending: i64 = self
                .issued
                .iter()
                .filter(|(id, i)| {
                    &i.key == k
                        && !channel_refunds.contains_key(id.as_str())
                        && !self.reported.contains(*id)
                })
                .map(|(_, i)| i.amount)
                .sum();
            let seen: i64 = channel_refunds.values().sum();
            prop_assert!(
                amount + seen + pending <= payment.captured,
                "run {}: {k:?} instructed {amount} with {seen} refunded by the channel and {pending} pending, captured {}",
                self.runs,
                payment.captured
            );
        }
        Ok(())
    }

    /// What payrecon's instructions the refund job did not reject refund.
    fn instructed(&self, k: &Key) -> i64 {
        self.issued
            .iter()
            .filter(|(id, i)| &i.key == k && !self.job_rejected.contains_key(*id))
            .map(|(_, i)| i)
            .map(|i| i.amount)
            .sum()
    }
}

/// The findings ledger (but when an item was last re-judged, and the clock
/// times) and the refund instructions, as text.
fn ledger(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut rows = Vec::new();
    for sql in [
        "SELECT finding_id, kind, subject, order_id, payment_id, channel_order_id, channel_txn_id,
                channel, internal_amount, internal_currency, channel_amount, channel_currency,
                refund_minor, detail, first_seen, state, resolved_on, resolved_by
         FROM finding_item ORDER BY finding_id",
        "SELECT finding_id, business_day, event, by_whom, note FROM finding_event
         ORDER BY finding_id, rowid",
        "SELECT refund_request_id, business_day, channel, channel_txn_id, channel_order_id,
                amount_minor, result, reissued_as, reissue_of, batch
         FROM refund_instruction ORDER BY refund_request_id",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let columns = stmt.column_count();
        rows.extend(
            stmt.query_map([], |r| {
                (0..columns)
                    .map(|i| Ok(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?)))
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map(|v| v.join("|"))
            })
            .unwrap()
            .map(Result::unwrap),
        );
    }
    rows
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

fn scratch() -> tempfile::TempDir {
    // A run syncs its commit and outputs to disk; on tmpfs that costs nothing.
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

fn simulate(world: &World) -> Result<(), TestCaseError> {
    let dir = scratch();
    let mut sim = Sim::new(world, dir.path());
    let mut late_exports: Vec<PathBuf> = Vec::new();
    for day in 0..world.days {
        let plan = &world.plans[day];
        if plan.reissue {
            sim.reissue_rejected();
        }
        sim.write_day(day);
        let mut exports = std::mem::take(&mut late_exports);
        if plan.export_late && day + 1 < world.days {
            late_exports.push(sim.export_path(day));
        } else {
            exports.push(sim.export_path(day));
        }
        let settlements: Vec<PathBuf> = (0..CHANNELS.len())
            .map(|c| sim.settlement_path(day, c))
            .collect();
        let date = plan.dated.then_some(day);
        let all: Vec<PathBuf> = exports.iter().chain(&settlements).cloned().collect();
        match plan.split {
            1 => {
                sim.run(&shuffled(exports.clone(), plan.order_seed), date)?;
                sim.run(&shuffled(settlements.clone(), plan.order_seed), date)?;
            }
            2 => {
                sim.run(&shuffled(settlements.clone(), plan.order_seed), date)?;
                sim.run(&shuffled(exports.clone(), plan.order_seed), date)?;
            }
            _ => sim.run(&shuffled(all.clone(), plan.order_seed), date)?,
        }
        if plan.rerun {
            sim.run(&shuffled(all.clone(), plan.order_seed ^ 1), date)?;
        }
        if plan.reload_renamed {
            let copy_dir = dir.path().join(format!("d{day}/copy"));
            std::fs::create_dir_all(&copy_dir).unwrap();
            let original = &all[plan.order_seed as usize % all.len()];
            let copy = copy_dir.join(original.file_name().unwrap());
            std::fs::copy(original, &copy).unwrap();
            sim.run(&[copy], date)?;
        }
        if plan.rerun_previous && day > 0 {
            let previous: Vec<PathBuf> = std::iter::once(sim.export_path(day - 1))
                .chain((0..CHANNELS.len()).map(|c| sim.settlement_path(day - 1, c)))
                .filter(|p| !late_exports.contains(p))
                .collect();
            sim.run(&previous, Some(day - 1))?;
        }
    }
    // One more day of files, so the last day's payments are settled too;
    // every rejection is re-issued first.
    sim.reissue_rejected();
    sim.write_day(world.days);
    let everything: Vec<PathBuf> = sim.written.iter().cloned().collect();
    sim.run(&everything, None)?;
    let before = sim.issued.len();
    sim.run(&everything, None)?;
    prop_assert_eq!(
        sim.issued.len(),
        before,
        "a rerun over everything issued more"
    );
    final_checks(&sim)
}

fn final_checks(sim: &Sim) -> Result<(), TestCaseError> {
    if !sim.stale {
        prop_assert!(
            sim.rejected.is_empty(),
            "the channel had to reject {:?}",
            sim.rejected
        );
    }
    for (k, p) in &sim.payments {
        let ours = sim.instructed(k);
        let others = sim.service_executed.get(k).copied().unwrap_or(0);
        if !sim.stale {
            prop_assert!(
                ours + others <= p.captured,
                "{k:?}: payrecon {ours} + others {others} > captured {}",
                p.captured
            );
        }
        if !p.exported {
            prop_assert_eq!(ours, 0, "{:?} is known to no export but was refunded", k);
        }
    }
    for (o, order) in sim.world.orders.iter().enumerate() {
        let matched: Vec<&Key> = sim
            .payments
            .iter()
            .filter(|(_, p)| p.order == o && p.exported)
            .map(|(k, _)| k)
            .collect();
        if matched.is_empty() {
            continue;
        }
        // The status payrecon can know: the one on the order's rows in the
        // latest export that has any.
        let last_day = order
            .attempts
            .iter()
            .filter(|a| a.exported)
            .map(|a| a.day)
            .max()
            .unwrap_or(0);
        let status = if last_day >= order.status_day {
            ORDER_STATUS[order.final_status]
        } else {
            "OPEN"
        };
        let left = |k: &Key| {
            let captured = sim.payments[k].captured;
            captured - sim.instructed(k) - sim.service_executed.get(k).copied().unwrap_or(0)
        };
        let kept: Vec<&&Key> = matched.iter().filter(|k| left(k) > 0).collect();
        let first_day = order.attempts.iter().map(|a| a.day).min().unwrap_or(0);
        let spans_days =
            order.status_day > first_day || order.attempts.iter().any(|a| a.day != first_day);
        if sim.world.retention_days > 0 && spans_days {
            // Retention (README): once an order's day is compacted (nothing
            // open on it then), a later payment or a later export closing
            // it is judged without the rows compacted away: not a
            // duplicate, not paid after close. Never over-refunded all the
            // same (checked above).
            continue;
        }
        if matches!(status, "CLOSED" | "CANCELLED") {
            prop_assert!(kept.is_empty(), "order O{o} is {status} but keeps {kept:?}");
        } else if matched.len() == 1 {
            prop_assert_eq!(
                sim.instructed(matched[0]),
                0,
                "order O{} was paid once and is {}, yet refunded",
                o,
                status
            );
        } else {
            prop_assert!(
                kept.len() <= 1,
                "order O{o} paid {} times keeps {kept:?}",
                matched.len()
            );
            let service_emptied = matched.iter().any(|k| {
                sim.service_executed.get(*k).copied().unwrap_or(0) == sim.payments[*k].captured
            });
            if !service_emptied {
                prop_assert_eq!(
                    kept.len(),
                    1,
                    "order O{} paid {} times keeps none",
                    o,
                    matched.len()
                );
                // Which one (README, "Which duplicate is kept"): the
                // payment whose attempt is internally SUCCESS, else the
                // earliest transacted_at, tie: the smallest channel_txn_id
                // (as text), then the channel.
                let rank = |k: &Key| {
                    let a = sim.payments[k].attempt;
                    let at = &order.attempts[a];
                    (
                        PAY_STATUS[at.status] != "SUCCESS",
                        at.day,
                        paid_second(order, a),
                        k.1.clone(),
                        k.0.clone(),
                    )
                };
                let expected = matched.iter().min_by_key(|k| rank(k)).unwrap();
                prop_assert_eq!(
                    *kept[0],
                    *expected,
                    "order O{} paid {} times keeps the wrong payment",
                    o,
                    matched.len()
                );
            }
        }
    }
    Ok(())
}

fn cases() -> u32 {
    cases_or(64)
}

/// PROPTEST_CASES, else `default`.
fn cases_or(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn refunds_never_exceed_what_is_left_of_a_payment(world in world()) {
        simulate(&world)?;
    }
}

/// Idempotent in any order (guarantee 3), as a property: the same world with
/// every file written at once (customer service refunds in their payment's
/// own file, so no order of loading can hide one from a decision) is loaded
/// in one clean pass, and again in a random order cut into random runs with
/// reruns and random dates. Both issue exactly the same instructions: the
/// same refund_request_id for the same payment and amount, each once.
fn clean_and_shuffled(
    world: &World,
    seed: u64,
    chunks: &[usize],
    reruns: &[bool],
) -> Result<(), TestCaseError> {
    let mut world = world.clone();
    // Compaction depends on which days a run reaches first: another order
    // of the files compacts other days (the property is about the rules).
    world.retention_days = 0;
    for order in &mut world.orders {
        for attempt in &mut order.attempts {
            for refund in &mut attempt.service_refunds {
                refund.0 = 0;
            }
        }
    }
    let write_all = |sim: &mut Sim| {
        for day in 0..=world.days {
            sim.write_day(day);
        }
        let mut files: Vec<PathBuf> = sim.written.iter().cloned().collect();
        files.sort_by_key(|p| !p.to_string_lossy().contains("orders-"));
        files
    };
    let clean_dir = scratch();
    let mut clean = Sim::new(&world, clean_dir.path());
    let all = write_all(&mut clean);
    clean.run(&all, None)?;

    let dir = scratch();
    let mut sim = Sim::new(&world, dir.path());
    let all = write_all(&mut sim);
    let order = shuffled(all.clone(), seed);
    let mut given: Vec<PathBuf> = Vec::new();
    let mut rest = &order[..];
    for (i, size) in chunks.iter().cycle().enumerate() {
        if rest.is_empty() {
            break;
        }
        let (run, left) = rest.split_at((*size).min(rest.len()));
        rest = left;
        let date = (seed >> i) as usize % (world.days + 1);
        sim.run(run, (date < world.days).then_some(date))?;
        given.extend_from_slice(run);
        if reruns[i % reruns.len()] {
            sim.run(&given, None)?;
        }
    }
    sim.run(&all, None)?;
    let ids = |s: &Sim| -> BTreeMap<String, (Key, i64)> {
        s.issued
            .iter()
            .map(|(id, i)| (id.clone(), (i.key.clone(), i.amount)))
            .collect()
    };
    prop_assert_eq!(ids(&sim), ids(&clean));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn any_order_issues_what_one_clean_pass_issues(
        world in world(),
        seed in any::<u64>(),
        chunks in prop::collection::vec(1..=3usize, 1..=6),
        reruns in prop::collection::vec(any::<bool>(), 1..=4),
    ) {
        clean_and_shuffled(&world, seed, &chunks, &reruns)?;
    }
}

/// The T+1 wait (README, "A refund waits until the money is settled"), as a
/// property: an open order paid 2-4 times on day D, one of whose payments
/// customer service refunded in full on day D, late, so that the refund
/// first shows in the channel's D+1 file. The day is run through the binary
/// as cron runs it: day D's run (export and D's file), then D+1's, then
/// D+2's. A refund decided before D+1's file is loaded refunds either that
/// same payment a second time or the payment the order should keep. After
/// the three runs: no payment is refunded beyond its capture (payrecon's
/// instructions plus the channel's refunds), the order keeps exactly one
/// payment, and it is the one the keep rule picks among the payments the
/// channel did not refund.
#[derive(Debug, Clone)]
struct LateRefundDay {
    /// Per payment: its attempt is internally SUCCESS, the second of its
    /// transacted_at.
    payments: Vec<(bool, u32)>,
    /// The payment customer service refunded in full.
    refunded: usize,
    /// D+1's file repeats D's payment rows too.
    repeated: bool,
    /// The refund row's time: D 23:59:30 or D+1 00:00:30.
    after_midnight: bool,
    /// Run D+1 with --date, or with the default business day.
    dated: bool,
}

fn late_refund_day() -> impl Strategy<Value = LateRefundDay> {
    prop::collection::vec((any::<bool>(), 0..3u32), 2..=4).prop_flat_map(|payments| {
        let n = payments.len();
        (
            Just(payments),
            0..n,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(payments, refunded, repeated, after_midnight, dated)| {
                LateRefundDay {
                    payments,
                    refunded,
                    repeated,
                    after_midnight,
                    dated,
                }
            })
    })
}

fn binary_run(dir: &Path, out: &str, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("payrecon")
        .unwrap()
        .current_dir(dir)
        .arg("run")
        .arg("--quiet")
        .arg("--db")
        .arg(dir.join("state.db"))
        .arg("--out")
        .arg(dir.join(out))
        .args(args)
        .env_remove("PAYRECON_FAILPOINT")
        .output()
        .unwrap()
}

fn late_refund(case: &LateRefundDay) -> Result<(), TestCaseError> {
    let scratch = scratch();
    let dir = scratch.path();
    let mut export = String::from(OH);
    let mut day = String::from(SH);
    for (i, (success, second)) in case.payments.iter().enumerate() {
        let status = if *success { "SUCCESS" } else { "FAILED" };
        export +=
            &format!("O1,P{i},C{i},wechat,10.00,CNY,PAID,{status},2026-11-21 10:00:0{i},,,\n");
        day += &format!("wechat,T{i},C{i},PAYMENT,10.00,,CNY,2026-11-21 10:01:0{second},\n");
    }
    let mut next = String::from(SH);
    if case.repeated {
        next += &day[SH.len()..];
    }
    let when = if case.after_midnight {
        "2026-11-22 00:00:30"
    } else {
        "2026-11-21 23:59:30"
    };
    let r = case.refunded;
    next += &format!("wechat,T{r},C{r},REFUND,10.00,,CNY,{when},CS1\n");
    std::fs::write(dir.join("orders.csv"), export).unwrap();
    std::fs::write(dir.join("wechat-2026-11-21.csv"), day).unwrap();
    std::fs::write(dir.join("wechat-2026-11-22.csv"), next).unwrap();
    std::fs::write(dir.join("wechat-2026-11-23.csv"), SH).unwrap();
    let runs: [(&str, Vec<&str>); 3] = [
        (
            "d1",
            vec![
                "--orders",
                "orders.csv",
                "--settlement",
                "wechat-2026-11-21.csv",
                "--date",
                "2026-11-21",
            ],
        ),
        (
            "d2",
            if case.dated {
                vec![
                    "--settlement",
                    "wechat-2026-11-22.csv",
                    "--date",
                    "2026-11-22",
                ]
            } else {
                vec!["--settlement", "wechat-2026-11-22.csv"]
            },
        ),
        ("d3", vec!["--settlement", "wechat-2026-11-23.csv"]),
    ];
    for (out, args) in &runs {
        let output = binary_run(dir, out, args);
        prop_assert!(
            output.status.success(),
            "run {out} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Every instruction, from every published refund file (refunds.csv,
    // refunds-2.csv…).
    let mut ours: BTreeMap<String, i64> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for (out, _) in &runs {
        for row in crate::util::refund_rows_in(&dir.join(out)) {
            if ids.insert(row[0].clone()) {
                *ours.entry(row[2].clone()).or_default() += minor(&row[6]);
            }
        }
    }
    let mut left = Vec::new();
    for i in 0..case.payments.len() {
        let txn = format!("T{i}");
        let refunded = ours.get(&txn).copied().unwrap_or(0) + if i == r { 1000 } else { 0 };
        prop_assert!(
            refunded <= 1000,
            "{txn}: refunded {refunded} of 1000 (payrecon {:?})",
            ours
        );
        if refunded < 1000 {
            left.push(i);
        }
    }
    let rank = |i: &usize| {
        let (success, second) = case.payments[*i];
        (!success, second, *i)
    };
    let expected = (0..case.payments.len())
        .filter(|i| *i != r)
        .min_by_key(rank)
        .unwrap();
    prop_assert_eq!(
        left,
        vec![expected],
        "the order keeps the wrong payments (payrecon refunded {:?})",
        ours
    );
    Ok(())
}

/// "12.34" as minor units.
fn minor(amount: &str) -> i64 {
    let (units, cents) = amount.split_once('.').unwrap_or((amount, "0"));
    units.parse::<i64>().unwrap() * 100 + format!("{cents:0<2}")[..2].parse::<i64>().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases_or(32), ..ProptestConfig::default() })]

    #[test]
    fn a_full_refund_first_shown_in_the_next_days_file_is_waited_for(case in late_refund_day()) {
        late_refund(&case)?;
    }
}
