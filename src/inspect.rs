//! `payrecon inspect FILE`: what payrecon would make of a settlement file,
//! without touching the database. For finance staff checking a download:
//! which format it was taken for, the channel and day it covers and where
//! that came from, what the bill's own totals were checked against, rows and
//! totals per currency and kind (to hold against the channel's portal), what
//! was skipped as not order money, and the first rows in canonical form.
//!
//! A file whose day or channel cannot be told is still shown, with the
//! reason in place of the value: a run would refuse it until it is renamed
//! or given `--settlement-day`.

use crate::cli::InspectArgs;
use crate::config::Config;
use crate::ingest::settlement::{self, Scanned};
use crate::model::{Kind, SettlementRecord};
use crate::money::{self, format_minor};
use crate::timestamp;
use anyhow::{Context, Result};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The report, and why a run would refuse the file when it would (its rows
/// fall outside the day it claims).
pub fn inspect(args: &InspectArgs) -> Result<(String, Option<String>)> {
    let config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    let fallback_day = match &args.settlement_day {
        Some(text) => Some(timestamp::parse_day(text).with_context(|| {
            format!("--settlement-day '{text}' is not a date (expected YYYY-MM-DD)")
        })?),
        None => None,
    };
    let path = args.file.as_path();
    let input =
        std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    let cx = settlement::Context {
        path,
        zone: config.zone,
        default_currency: &config.default_currency,
        settings: &config.format_settings,
    };
    let mut first: Vec<SettlementRecord> = Vec::new();
    let mut totals = Totals::default();
    let mut span = crate::ingest::day::RowSpan::default();
    let scanned = settlement::scan(
        input,
        &cx,
        args.format.as_deref(),
        fallback_day,
        &mut |record| {
            totals.add(&record)?;
            span.add(&record);
            if first.len() < args.rows {
                first.push(record);
            }
            Ok(())
        },
    )?;
    let refusal = scanned.day.as_ref().ok().and_then(|(day, source)| {
        span.refusal(
            *day,
            source.describe(&scanned.format),
            &scanned.format,
            config.zone,
            config.day_tolerance(&scanned.format),
        )
    });
    let mut out = String::new();
    header(&mut out, args, &scanned);
    totals.write(&mut out);
    skipped(&mut out, &scanned);
    if !first.is_empty() {
        let _ = writeln!(out, "first {} row(s), canonical form:", first.len());
        let _ = writeln!(
            out,
            "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id"
        );
        for r in &first {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{}",
                r.channel,
                r.channel_txn_id,
                r.channel_order_id,
                r.kind,
                format_minor(r.amount_minor, &r.currency),
                r.fee.as_deref().unwrap_or(""),
                r.currency,
                timestamp::format(r.transacted_at, config.zone),
                r.refund_id
            );
        }
    }
    let refusal =
        refusal.map(|problem| format!("a run refuses {}: it {problem}", args.file.display()));
    Ok((out, refusal))
}

/// File, member, format, channel, day, and what the rows were checked
/// against.
fn header(out: &mut String, args: &InspectArgs, scanned: &Scanned) {
    let _ = writeln!(out, "file:     {}", args.file.display());
    if let Ok(member) = scanned.source.strip_prefix(&args.file)
        && !member.as_os_str().is_empty()
    {
        let _ = writeln!(
            out,
            "member:   {} (read from the archive)",
            member.display()
        );
    }
    let description = settlement::format_named(&scanned.format)
        .map(|f| f.description)
        .unwrap_or("mapped in the config");
    let _ = writeln!(out, "format:   {} ({description})", scanned.format);
    let _ = match &scanned.channel {
        Ok(channel) => writeln!(out, "channel:  {channel}"),
        Err(e) => writeln!(out, "channel:  unknown: the file {}", e.problem),
    };
    let _ = match &scanned.day {
        Ok((day, source)) => writeln!(
            out,
            "day:      {day} ({})",
            source.describe(&scanned.format)
        ),
        Err(e) => writeln!(out, "day:      unknown: the file {}", e.problem),
    };
    let _ = match scanned.checked {
        Some(against) => writeln!(out, "checked:  the rows add up to {against}"),
        None => writeln!(
            out,
            "checked:  nothing (the file has no totals of its own to check against)"
        ),
    };
    let _ = writeln!(out, "rows:     {} to load", scanned.rows);
    for note in &scanned.notes {
        let _ = writeln!(out, "{note}");
    }
}

/// Rows, amount and fees per currency and kind.
#[derive(Default)]
struct Totals {
    groups: BTreeMap<(String, &'static str), Group>,
}

#[derive(Default)]
struct Group {
    rows: u64,
    minor: i64,
    /// `None` until a row of the group has a fee.
    fees: Option<Decimal>,
}

impl Totals {
    fn add(&mut self, r: &SettlementRecord) -> Result<()> {
        let group = self
            .groups
            .entry((r.currency.clone(), r.kind.as_str()))
            .or_default();
        group.rows += 1;
        group.minor = group
            .minor
            .checked_add(r.amount_minor)
            .context("the amounts are too large to total")?;
        if let Some(fee) = &r.fee {
            let fee = money::parse_decimal(fee)
                .with_context(|| format!("fee '{fee}' of {} is not a decimal", r.channel_txn_id))?;
            let sum = group.fees.unwrap_or_default().checked_add(fee);
            group.fees = Some(sum.context("the fees are too large to total")?);
        }
        Ok(())
    }

    /// One line per currency and kind, then the currency's net (payments
    /// less refunds), as a channel's portal shows them.
    fn write(&self, out: &mut String) {
        if self.groups.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "  {:<8} {:<8} {:>8} {:>16} {:>12}",
            "currency", "kind", "rows", "amount", "fees"
        );
        let currencies: Vec<&String> = {
            let mut c: Vec<&String> = self.groups.keys().map(|(c, _)| c).collect();
            c.dedup();
            c
        };
        for currency in currencies {
            let mut net = 0i64;
            let mut net_fees: Option<Decimal> = None;
            for kind in [Kind::Payment, Kind::Refund] {
                let Some(g) = self.groups.get(&(currency.clone(), kind.as_str())) else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "  {currency:<8} {:<8} {:>8} {:>16} {:>12}",
                    kind.as_str(),
                    g.rows,
                    format_minor(g.minor, currency),
                    fee_text(g.fees, currency)
                );
                net = match kind {
                    Kind::Payment => net.saturating_add(g.minor),
                    Kind::Refund => net.saturating_sub(g.minor),
                };
                if let Some(f) = g.fees {
                    net_fees = Some(net_fees.unwrap_or_default().saturating_add(f));
                }
            }
            let _ = writeln!(
                out,
                "  {currency:<8} {:<8} {:>8} {:>16} {:>12}",
                "net",
                "",
                format_minor(net, currency),
                fee_text(net_fees, currency)
            );
        }
    }
}

/// Fees to at least the currency's decimals (WeChat's have five).
fn fee_text(fees: Option<Decimal>, currency: &str) -> String {
    let Some(fees) = fees else {
        return "-".to_string();
    };
    let mut fees = fees.normalize();
    let decimals = money::exponent(currency);
    if fees.scale() < decimals {
        fees.rescale(decimals);
    }
    fees.to_string()
}

/// Rows read but not loaded, by the type the file gives them.
fn skipped(out: &mut String, scanned: &Scanned) {
    if scanned.skipped.is_empty() {
        return;
    }
    let total: u64 = scanned.skipped.values().sum();
    let _ = writeln!(
        out,
        "skipped:  {total} row(s), not order money (not loaded):"
    );
    for (kind, n) in &scanned.skipped {
        let _ = writeln!(out, "  {kind:<26} {n:>8}");
    }
}
