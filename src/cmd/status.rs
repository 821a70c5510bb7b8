//! `payrecon status`: what is open now. Open findings by kind and age
//! (overdue first) with the amounts at stake, where the refund
//! instructions stand, the settlement files expected but not loaded, and
//! the last run. Reads the database only.

use super::table::{Table, csv};
use super::{DbArgs, OutputFormat};
use crate::money::format_minor;
use crate::reconcile::finding::FindingKind;
use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use rusqlite::Connection;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The day ages and overdue refunds are counted to [default: today in
    /// the configured zone].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = super::parse_day)]
    pub as_of: Option<NaiveDate>,
    /// table (fits 100 columns), json or csv.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `status --format json` (stable field names).
#[derive(Debug, Serialize)]
pub struct Status {
    pub as_of: String,
    /// Open items grouped by overdue, kind, age bucket and currency;
    /// overdue groups first.
    pub open_findings: Vec<OpenGroup>,
    pub refunds: RefundCounts,
    /// Channel days whose settlement file is not loaded, from the
    /// channel's first day through as_of + settle lag.
    pub missing_files: Vec<MissingFile>,
    pub last_run: Option<super::history::RunEntry>,
}

#[derive(Debug, Serialize)]
pub struct OpenGroup {
    pub overdue: bool,
    pub kind: String,
    /// Days since first seen: "0-1", "2-3", "4-7" or "8+".
    pub age: String,
    pub count: i64,
    pub currency: String,
    /// Minor units of `currency`.
    pub amount_minor: i64,
    /// `amount_minor` as a decimal.
    pub amount: String,
}

#[derive(Debug, Default, Serialize)]
pub struct RefundCounts {
    /// Instructions filed under a business day up to as_of.
    pub issued: i64,
    /// A channel REFUND row confirms them.
    pub confirmed: i64,
    /// Not confirmed yet, within refund_confirm_days.
    pub awaiting: i64,
    /// Not confirmed after refund_confirm_days.
    pub overdue: i64,
    /// Rejected by the refund job, not re-issued.
    pub rejected: i64,
    /// Rejected and re-issued under a new id.
    pub reissued: i64,
}

#[derive(Debug, Serialize)]
pub struct MissingFile {
    pub channel: String,
    pub day: String,
}

fn bucket(age: i64) -> &'static str {
    match age {
        ..=1 => "0-1",
        2..=3 => "2-3",
        4..=7 => "4-7",
        _ => "8+",
    }
}

pub fn exec(args: &StatusArgs) -> Result<String> {
    let (config, conn) = args.db.open_read_only()?;
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(&config.zone).date_naive());
    let status = status(&conn, &config, as_of)?;
    match args.format {
        OutputFormat::Json => Ok(serde_json::to_string_pretty(&status)? + "\n"),
        OutputFormat::Csv => csv_text(&status),
        OutputFormat::Table => Ok(table_text(&status)),
    }
}

pub fn status(
    conn: &Connection,
    config: &crate::config::Config,
    as_of: NaiveDate,
) -> Result<Status> {
    let day = as_of.to_string();
    let mut groups: std::collections::BTreeMap<(bool, String, &'static str, String), (i64, i64)> =
        Default::default();
    let mut stmt = conn.prepare(
        "SELECT kind, CAST(julianday(?1) - julianday(first_seen) AS INTEGER),
                coalesce(channel_currency, internal_currency, ''),
                CASE WHEN kind = 'AMOUNT_MISMATCH'
                          THEN abs(coalesce(channel_amount, 0) - coalesce(internal_amount, 0))
                     WHEN kind IN ('DUPLICATE_PAYMENT', 'PAID_AFTER_CLOSE') AND refund_minor > 0
                          THEN refund_minor
                     ELSE coalesce(channel_amount, internal_amount, 0) END
         FROM finding_item WHERE state = 'OPEN' AND first_seen <= ?1",
    )?;
    let rows = stmt.query_map([&day], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (kind, age, currency, amount) = row?;
        let limit = FindingKind::from_code(&kind).map_or(u32::MAX, |k| config.aging.limit(k));
        let overdue = age > i64::from(limit);
        let group = groups
            .entry((!overdue, kind, bucket(age), currency))
            .or_default();
        group.0 += 1;
        group.1 += amount;
    }
    let open_findings = groups
        .into_iter()
        .map(
            |((not_overdue, kind, age, currency), (count, amount_minor))| OpenGroup {
                overdue: !not_overdue,
                kind,
                age: age.into(),
                count,
                amount: format_minor(amount_minor, &currency),
                currency,
                amount_minor,
            },
        )
        .collect();
    Ok(Status {
        as_of: day.clone(),
        open_findings,
        refunds: refunds(conn, &day, config.refund_confirm_days)?,
        missing_files: missing_files(conn, &day, config.settle_lag_days)?,
        last_run: super::history::entries(conn, 1)?.pop(),
    })
}

/// Where the instructions filed up to `day` stand (`refunds::states`).
fn refunds(conn: &Connection, day: &str, confirm_days: u32) -> Result<RefundCounts> {
    let states = crate::reconcile::refunds::states(conn, day, confirm_days)?;
    let n = |count: usize| count as i64;
    Ok(RefundCounts {
        issued: n(states.confirmed
            + states.awaiting
            + states.overdue
            + states.rejected
            + states.reissued),
        confirmed: n(states.confirmed),
        awaiting: n(states.awaiting),
        overdue: n(states.overdue),
        rejected: n(states.rejected),
        reissued: n(states.reissued),
    })
}

/// Each channel's days, from its first (attempt or file) through
/// `day` + lag, with no current settlement file.
fn missing_files(conn: &Connection, day: &str, lag: u32) -> Result<Vec<MissingFile>> {
    let mut stmt = conn.prepare(
        "WITH RECURSIVE first_day(channel, day) AS (
             SELECT channel, min(day) FROM (
                 SELECT channel, min(created_day) AS day FROM attempt GROUP BY channel
                 UNION ALL
                 SELECT channel, min(day) FROM loaded_file
                 WHERE role = 'settlement' AND replaced_by IS NULL AND channel IS NOT NULL
                 GROUP BY channel)
             GROUP BY channel),
         expected(channel, day) AS (
             SELECT channel, day FROM first_day WHERE day <= date(?1, '+' || ?2 || ' days')
             UNION ALL
             SELECT channel, date(day, '+1 day') FROM expected
             WHERE day < date(?1, '+' || ?2 || ' days'))
         SELECT channel, day FROM expected e
         WHERE NOT EXISTS (SELECT 1 FROM loaded_file f
                           WHERE f.role = 'settlement' AND f.replaced_by IS NULL
                             AND f.channel = e.channel AND f.day = e.day)
         ORDER BY channel, day LIMIT 1000",
    )?;
    let rows = stmt.query_map(rusqlite::params![day, lag], |r| {
        Ok(MissingFile {
            channel: r.get(0)?,
            day: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn table_text(status: &Status) -> String {
    let mut text = format!("Status as of {}\n\n", status.as_of);
    if status.open_findings.is_empty() {
        text.push_str("Open findings: none\n");
    } else {
        text.push_str("Open findings (overdue first)\n");
        let mut table = Table::new(&["overdue", "kind", "age (days)", "count", "at stake"]);
        for group in &status.open_findings {
            table.row(vec![
                if group.overdue { "OVERDUE" } else { "" }.into(),
                group.kind.clone(),
                group.age.clone(),
                group.count.to_string(),
                format!("{} {}", group.amount, group.currency),
            ]);
        }
        text.push_str(&table.render());
    }
    let r = &status.refunds;
    text.push_str(&format!(
        "\nRefunds: {} issued: {} confirmed, {} awaiting, {} overdue, {} rejected, {} re-issued\n",
        r.issued, r.confirmed, r.awaiting, r.overdue, r.rejected, r.reissued
    ));
    if status.missing_files.is_empty() {
        text.push_str("\nExpected files missing: none\n");
    } else {
        let mut by_channel: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for missing in &status.missing_files {
            by_channel
                .entry(&missing.channel)
                .or_default()
                .push(&missing.day);
        }
        text.push_str("\nExpected files missing\n");
        for (channel, days) in by_channel {
            text.push_str(&super::table::wrap(
                &format!("  {channel}: {}", days.join(", ")),
                super::table::WIDTH,
                4,
            ));
        }
    }
    match &status.last_run {
        None => text.push_str("\nLast run: none recorded\n"),
        Some(run) => {
            text.push_str(&format!(
                "\nLast run: {} for {}: {}{}\n",
                run.started_at,
                run.business_day.as_deref().unwrap_or("-"),
                run.outcome,
                run.exit_status
                    .map(|s| format!(" (exit {s})"))
                    .unwrap_or_default()
            ));
            if let Some(error) = &run.error {
                text.push_str(&super::table::wrap(
                    &format!("  error: {error}"),
                    super::table::WIDTH,
                    4,
                ));
            }
        }
    }
    text
}

/// One CSV of every section: `section` says which (open, refunds,
/// missing_file, last_run).
fn csv_text(status: &Status) -> Result<String> {
    let mut rows = Vec::new();
    for g in &status.open_findings {
        rows.push(vec![
            "open".into(),
            g.kind.clone(),
            g.age.clone(),
            if g.overdue { "yes" } else { "no" }.into(),
            g.count.to_string(),
            g.amount.clone(),
            g.currency.clone(),
        ]);
    }
    let r = &status.refunds;
    for (name, n) in [
        ("issued", r.issued),
        ("confirmed", r.confirmed),
        ("awaiting", r.awaiting),
        ("overdue", r.overdue),
        ("rejected", r.rejected),
        ("reissued", r.reissued),
    ] {
        rows.push(vec![
            "refunds".into(),
            name.into(),
            String::new(),
            String::new(),
            n.to_string(),
            String::new(),
            String::new(),
        ]);
    }
    for m in &status.missing_files {
        rows.push(vec![
            "missing_file".into(),
            m.channel.clone(),
            m.day.clone(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    if let Some(run) = &status.last_run {
        rows.push(vec![
            "last_run".into(),
            run.outcome.clone(),
            run.business_day.clone().unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
            run.started_at.clone(),
        ]);
    }
    csv(
        &[
            "section",
            "name",
            "detail",
            "overdue",
            "count",
            "amount",
            "currency_or_time",
        ],
        &rows,
    )
}
