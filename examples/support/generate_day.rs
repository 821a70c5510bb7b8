//! A seeded, deterministic generator of one business day: an internal order
//! export and the channels' settlement files (day D and its T+1 file), with
//! every finding kind planted at a known rate, and the findings it expects.
//!
//! Shared by `examples/generate.rs` (benchmarks, demo data) and the
//! end-to-end test that checks payrecon finds exactly what was planted.

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// splitmix64: tiny, fast, good enough, and the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What an order of the day turns out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Plan {
    Clean,
    RetryThenPaid,
    Duplicate,
    DuplicatePartlyRefunded,
    PaidAfterClose,
    UnknownPaid,
    UnknownUnpaid,
    UnknownPending,
    Dropped,
    Missing,
    Unmatched,
    AmountMismatch,
    CurrencyMismatch,
    MidnightClean,
}

const ANOMALIES: [Plan; 11] = [
    Plan::Duplicate,
    Plan::DuplicatePartlyRefunded,
    Plan::PaidAfterClose,
    Plan::UnknownPaid,
    Plan::UnknownUnpaid,
    Plan::UnknownPending,
    Plan::Dropped,
    Plan::Missing,
    Plan::Unmatched,
    Plan::AmountMismatch,
    Plan::CurrencyMismatch,
];

/// What payrecon should report for the generated day.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Expected {
    pub findings: BTreeMap<&'static str, u64>,
    pub refunds: u64,
    pub refund_minor: BTreeMap<&'static str, i64>,
    pub attempts: u64,
    pub settlement_rows: u64,
}

struct Channel {
    name: &'static str,
    currency: &'static str,
}

const CHANNELS: [Channel; 3] = [
    Channel {
        name: "wechat",
        currency: "CNY",
    },
    Channel {
        name: "alipay",
        currency: "CNY",
    },
    Channel {
        name: "stripe",
        currency: "USD",
    },
];

/// Output files: one export, and per channel the day D and D+1 files.
struct Writers {
    orders: std::io::BufWriter<std::fs::File>,
    bills: Vec<[std::io::BufWriter<std::fs::File>; 2]>,
}

const ORDERS_HEADER: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const BILL_HEADER: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";

/// Generates `orders` business orders for `day` into `dir`, with each
/// anomaly at `rate` (e.g. 0.005). Returns what a correct run finds.
// The tests include this file too and call this; the example calls
// `generate_from`.
#[allow(dead_code)]
pub fn generate(
    dir: &Path,
    day: NaiveDate,
    orders: u64,
    seed: u64,
    rate: f64,
) -> std::io::Result<Expected> {
    generate_from(dir, day, 0, orders, seed, rate)
}

/// [`generate`] with ids numbered from `first_id`, so consecutive days
/// generated for one database do not share ids.
pub fn generate_from(
    dir: &Path,
    day: NaiveDate,
    first_id: u64,
    orders: u64,
    seed: u64,
    rate: f64,
) -> std::io::Result<Expected> {
    std::fs::create_dir_all(dir.join("settlement"))?;
    let file = |p: &Path| -> std::io::Result<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(p)?,
        ))
    };
    let next = day + Duration::days(1);
    let mut w = Writers {
        orders: file(&dir.join("orders.csv"))?,
        bills: CHANNELS
            .iter()
            .map(|c| {
                Ok([
                    file(&dir.join(format!("settlement/{}-{day}.csv", c.name)))?,
                    file(&dir.join(format!("settlement/{}-{next}.csv", c.name)))?,
                ])
            })
            .collect::<std::io::Result<_>>()?,
    };
    w.orders.write_all(ORDERS_HEADER.as_bytes())?;
    for pair in &mut w.bills {
        for f in pair.iter_mut() {
            f.write_all(BILL_HEADER.as_bytes())?;
        }
    }
    let mut rng = Rng::new(seed);
    let mut expected = Expected::default();
    let threshold = (rate * 1_000_000.0) as u64;
    let mut line = String::with_capacity(256);
    for i in first_id..first_id + orders {
        let roll = rng.below(1_000_000);
        let plan = if roll < threshold * ANOMALIES.len() as u64 {
            ANOMALIES[(roll / threshold.max(1)) as usize % ANOMALIES.len()]
        } else if roll % 10 < 2 {
            Plan::RetryThenPaid
        } else if roll % 1000 < 3 {
            Plan::MidnightClean
        } else {
            Plan::Clean
        };
        emit_order(&mut w, &mut rng, &mut expected, &mut line, day, i, plan)?;
    }
    w.orders.flush()?;
    for pair in &mut w.bills {
        for f in pair.iter_mut() {
            f.flush()?;
        }
    }
    Ok(expected)
}

/// A timestamp in one of the accepted forms, chosen by the row number.
fn stamp(local: NaiveDateTime, form: u64) -> String {
    let shanghai = chrono_tz::Asia::Shanghai;
    let t = shanghai
        .from_local_datetime(&local)
        .single()
        .expect("Shanghai has no DST");
    match form % 4 {
        0 => local.format("%Y-%m-%d %H:%M:%S").to_string(),
        1 => t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        2 => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        _ => local.format("%Y-%m-%d %H:%M:%S.000").to_string(),
    }
}

fn money(minor: i64, currency: &str) -> String {
    if currency == "JPY" {
        minor.to_string()
    } else {
        format!("{}.{:02}", minor / 100, minor % 100)
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_order(
    w: &mut Writers,
    rng: &mut Rng,
    expected: &mut Expected,
    line: &mut String,
    day: NaiveDate,
    i: u64,
    plan: Plan,
) -> std::io::Result<()> {
    let ch = (i % 3) as usize;
    let channel = &CHANNELS[ch];
    let amount = 100 + rng.below(99_900) as i64;
    let order_id = format!("O{i:09}");
    let start = day.and_hms_opt(0, 0, 0).unwrap();
    let mut created = start + Duration::seconds(rng.below(86_000) as i64);
    if plan == Plan::MidnightClean {
        created = start + Duration::seconds(86_400 - 5);
    }
    if plan == Plan::UnknownPending {
        created = start + Duration::seconds(86_400 + 3_600);
    }
    let paid = created + Duration::seconds(3 + rng.below(40) as i64);
    let mut attempt = |w: &mut Writers,
                       line: &mut String,
                       n: u32,
                       status: &str,
                       order_status: &str,
                       currency: &str,
                       paid_at: bool|
     -> std::io::Result<String> {
        let cid = format!("{}{i:09}A{n}", &channel.name[..1].to_ascii_uppercase());
        line.clear();
        let _ = writeln!(
            line,
            "{order_id},{order_id}P{n},{cid},{},{},{currency},{order_status},{status},{},,,{}",
            channel.name,
            money(amount, currency),
            stamp(created, i),
            if paid_at {
                stamp(paid, i + 1)
            } else {
                String::new()
            }
        );
        w.orders.write_all(line.as_bytes())?;
        expected.attempts += 1;
        Ok(cid)
    };
    let mut pay = |w: &mut Writers,
                   line: &mut String,
                   cid: &str,
                   txn: &str,
                   minor: i64,
                   currency: &str,
                   at: NaiveDateTime|
     -> std::io::Result<()> {
        let file = usize::from(at.date() > day);
        line.clear();
        let _ = writeln!(
            line,
            "{},{txn},{cid},PAYMENT,{},,{currency},{},",
            channel.name,
            money(minor, currency),
            stamp(at, i + 2)
        );
        w.bills[ch][file].write_all(line.as_bytes())?;
        expected.settlement_rows += 1;
        Ok(())
    };
    let txn = |n: u32| format!("{}T{i:010}{n}", channel.name.len());
    let cur = channel.currency;
    let mut found = |kind: &'static str| *expected.findings.entry(kind).or_default() += 1;
    let refund = |expected: &mut Expected, minor: i64, currency: &'static str| {
        expected.refunds += 1;
        *expected.refund_minor.entry(currency).or_default() += minor;
    };
    match plan {
        Plan::Clean | Plan::MidnightClean => {
            let c = attempt(w, line, 1, "SUCCESS", "PAID", cur, true)?;
            pay(w, line, &c, &txn(1), amount, cur, paid)?;
        }
        Plan::RetryThenPaid => {
            attempt(w, line, 1, "FAILED", "PAID", cur, false)?;
            let c = attempt(w, line, 2, "SUCCESS", "PAID", cur, true)?;
            pay(w, line, &c, &txn(2), amount, cur, paid)?;
        }
        Plan::Duplicate | Plan::DuplicatePartlyRefunded => {
            let first = attempt(w, line, 1, "SUCCESS", "PAID", cur, true)?;
            let second = attempt(w, line, 2, "FAILED", "PAID", cur, false)?;
            pay(w, line, &first, &txn(1), amount, cur, paid)?;
            pay(
                w,
                line,
                &second,
                &txn(2),
                amount,
                cur,
                paid + Duration::seconds(20),
            )?;
            found("DUPLICATE_PAYMENT");
            found("DROPPED_PAYMENT");
            let mut remaining = amount;
            if plan == Plan::DuplicatePartlyRefunded {
                let part = amount / 3;
                remaining -= part;
                line.clear();
                let _ = writeln!(
                    line,
                    "{},{},{second},REFUND,{},,{cur},{},RCS{i}",
                    channel.name,
                    txn(2),
                    money(part, cur),
                    stamp(paid + Duration::seconds(60), i)
                );
                let file = usize::from((paid + Duration::seconds(60)).date() > day);
                w.bills[ch][file].write_all(line.as_bytes())?;
                expected.settlement_rows += 1;
            }
            refund(expected, remaining, cur);
        }
        Plan::PaidAfterClose => {
            let c = attempt(w, line, 1, "CLOSED", "CLOSED", cur, false)?;
            pay(w, line, &c, &txn(1), amount, cur, paid)?;
            found("PAID_AFTER_CLOSE");
            refund(expected, amount, cur);
        }
        Plan::UnknownPaid => {
            let c = attempt(w, line, 1, "UNKNOWN", "OPEN", cur, false)?;
            pay(w, line, &c, &txn(1), amount, cur, paid)?;
            found("UNKNOWN_RESOLVED_PAID");
        }
        Plan::UnknownUnpaid => {
            attempt(w, line, 1, "PROCESSING", "OPEN", cur, false)?;
            found("UNKNOWN_RESOLVED_UNPAID");
        }
        Plan::UnknownPending => {
            attempt(w, line, 1, "UNKNOWN", "OPEN", cur, false)?;
            found("UNKNOWN_PENDING");
        }
        Plan::Dropped => {
            let c = attempt(w, line, 1, "FAILED", "OPEN", cur, false)?;
            pay(w, line, &c, &txn(1), amount, cur, paid)?;
            found("DROPPED_PAYMENT");
        }
        Plan::Missing => {
            attempt(w, line, 1, "SUCCESS", "PAID", cur, true)?;
            found("MISSING_IN_CHANNEL");
        }
        Plan::Unmatched => {
            pay(w, line, &format!("X{i:09}"), &txn(9), amount, cur, paid)?;
            found("UNMATCHED_CHANNEL");
        }
        Plan::AmountMismatch => {
            let c = attempt(w, line, 1, "SUCCESS", "PAID", cur, true)?;
            pay(w, line, &c, &txn(1), amount + 1, cur, paid)?;
            found("AMOUNT_MISMATCH");
        }
        Plan::CurrencyMismatch => {
            let c = attempt(w, line, 1, "SUCCESS", "PAID", "EUR", true)?;
            pay(w, line, &c, &txn(1), amount, cur, paid)?;
            found("CURRENCY_MISMATCH");
        }
    }
    Ok(())
}
