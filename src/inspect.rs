//! `payrecon inspect FILE`: what payrecon would make of a settlement file,
//! without touching the database. For finance staff checking a download.

use crate::cli::InspectArgs;
use crate::config::Config;
use crate::ingest::settlement;
use crate::model::{Kind, SettlementRecord};
use crate::money::format_minor;
use crate::timestamp;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub fn inspect(args: &InspectArgs) -> Result<String> {
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
    let mut totals: BTreeMap<(&'static str, String), (u64, i64)> = BTreeMap::new();
    let parsed = settlement::read_file(
        input,
        &cx,
        args.format.as_deref(),
        fallback_day,
        &mut |record| {
            let entry = totals
                .entry((record.kind.as_str(), record.currency.clone()))
                .or_default();
            entry.0 += 1;
            entry.1 += record.amount_minor;
            if first.len() < args.rows {
                first.push(record);
            }
            Ok(())
        },
    )?;
    let mut out = String::new();
    let _ = writeln!(out, "file:    {}", path.display());
    let _ = writeln!(out, "format:  {}", parsed.format);
    let _ = writeln!(out, "channel: {}", parsed.channel);
    let _ = writeln!(out, "day:     {}", parsed.day);
    let _ = writeln!(out, "rows:    {}", parsed.rows);
    for kind in [Kind::Payment, Kind::Refund] {
        for ((k, currency), (count, minor)) in
            totals.iter().filter(|((k, _), _)| *k == kind.as_str())
        {
            let _ = writeln!(
                out,
                "  {k:<8} {count:>8} row(s)  {} {currency}",
                format_minor(*minor, currency)
            );
        }
    }
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
    Ok(out)
}
