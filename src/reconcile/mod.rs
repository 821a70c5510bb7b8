//! The rules: judge everything loaded so far and decide what to refund.
//!
//! `sql/prepare.sql` builds one working table of channel payments joined to
//! their attempts; each finding kind is then one query in `sql/`, readable on
//! its own with the contract's rule quoted at its top. [`refunds`] turns the
//! refund findings into instructions, each issued once, ever.

pub mod finding;
pub mod refunds;

use crate::phases::Phases;
use anyhow::{Context, Result};
use finding::{Finding, FindingKind};
use rusqlite::Connection;

/// Each kind and the query that finds it; all return the same columns.
const RULES: &[(FindingKind, &str)] = &[
    (
        FindingKind::DuplicatePayment,
        include_str!("sql/duplicate_payment.sql"),
    ),
    (
        FindingKind::PaidAfterClose,
        include_str!("sql/paid_after_close.sql"),
    ),
    (
        FindingKind::DroppedPayment,
        include_str!("sql/dropped_payment.sql"),
    ),
    (
        FindingKind::AmountMismatch,
        include_str!("sql/amount_mismatch.sql"),
    ),
    (
        FindingKind::CurrencyMismatch,
        include_str!("sql/currency_mismatch.sql"),
    ),
    (
        FindingKind::MissingInChannel,
        include_str!("sql/missing_in_channel.sql"),
    ),
    (
        FindingKind::UnmatchedChannel,
        include_str!("sql/unmatched_channel.sql"),
    ),
    (
        FindingKind::UnknownResolvedPaid,
        include_str!("sql/unknown_resolved_paid.sql"),
    ),
    (
        FindingKind::UnknownResolvedUnpaid,
        include_str!("sql/unknown_resolved_unpaid.sql"),
    ),
    (
        FindingKind::UnknownPending,
        include_str!("sql/unknown_pending.sql"),
    ),
];

/// Runs every rule over the loaded data, in report order.
pub fn classify(
    conn: &Connection,
    settle_lag_days: u32,
    phases: &mut Phases,
) -> Result<Vec<Finding>> {
    let lag = settle_lag_days.to_string();
    for statement in include_str!("sql/prepare.sql").split_inclusive(";\n") {
        conn.execute_batch(statement)
            .context("preparing the classification")?;
        let first_line = statement
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with("--"));
        phases.mark(format!(
            "prepare: {}",
            first_line.unwrap_or_default().trim()
        ));
    }
    conn.execute_batch(&include_str!("sql/covered_day.sql").replace("?lag", &lag))
        .context("computing which days are covered")?;
    let mut findings = Vec::new();
    for (kind, sql) in RULES {
        let sql = sql.replace("?lag", &lag);
        let mut stmt = conn
            .prepare(&sql)
            .with_context(|| format!("preparing rule {kind}"))?;
        let rows = stmt.query_map([], |r| {
            Ok(Finding {
                kind: *kind,
                order_id: r.get(0)?,
                payment_id: r.get(1)?,
                channel_order_id: r.get(2)?,
                channel_txn_id: r.get(3)?,
                channel: r.get(4)?,
                internal_amount: r.get(5)?,
                internal_currency: r.get(6)?,
                channel_amount: r.get(7)?,
                channel_currency: r.get(8)?,
                refund_minor: r.get(9)?,
                detail: r.get(10)?,
                first_seen: String::new(),
                refund_request_id: None,
            })
        })?;
        for finding in rows {
            findings.push(finding.with_context(|| format!("running rule {kind}"))?);
        }
        phases.mark(format!("rule {kind}"));
    }
    findings.sort_by(|a, b| {
        (a.kind, &a.channel, &a.channel_order_id, &a.channel_txn_id).cmp(&(
            b.kind,
            &b.channel,
            &b.channel_order_id,
            &b.channel_txn_id,
        ))
    });
    Ok(findings)
}

/// Channel refunds (each once) whose payment is in no loaded file: they
/// wait for it, and the summary says how many.
pub fn refunds_without_payment(conn: &Connection) -> Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM temp.channel_refund r
         WHERE NOT EXISTS (SELECT 1 FROM temp.paid p
                           WHERE p.channel = r.channel AND p.channel_txn_id = r.channel_txn_id)",
        [],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

/// Records the business day each finding was first seen, and fills
/// `first_seen`. A rerun of the same day, or a rerun of an earlier day after a
/// later one, keeps the earliest day.
pub fn mark_first_seen(
    conn: &Connection,
    findings: &mut [Finding],
    business_day: &str,
) -> Result<()> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO finding_seen (kind, subject, first_seen) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind, subject) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen)
         RETURNING first_seen",
    )?;
    for finding in findings {
        finding.first_seen = upsert.query_row(
            rusqlite::params![finding.kind.code(), finding.subject(), business_day],
            |r| r.get(0),
        )?;
    }
    Ok(())
}
