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
        FindingKind::RefundWithoutPayment,
        include_str!("sql/refund_without_payment.sql"),
    ),
    (
        FindingKind::RefundExceedsPayment,
        include_str!("sql/refund_exceeds_payment.sql"),
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
        FindingKind::ChannelIdConflict,
        include_str!("sql/channel_id_conflict.sql"),
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

/// A digest of every rule's SQL: outputs stored by a payrecon whose rules
/// differ are never reused.
pub fn rules_digest() -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(include_str!("sql/prepare.sql"));
    hasher.update(include_str!("sql/covered_day.sql"));
    for (kind, sql) in RULES {
        hasher.update(kind.code());
        hasher.update(sql);
    }
    hex::encode(hasher.finalize())[..16].to_string()
}

/// Builds `temp.covered_day`: the (channel, day) pairs whose files through
/// day + lag are all loaded. Cheap (one row per loaded file); the business
/// day and the rules read it.
pub fn coverage(conn: &Connection, settle_lag_days: u32) -> Result<()> {
    let sql = include_str!("sql/covered_day.sql").replace("?lag", &settle_lag_days.to_string());
    conn.execute_batch(&sql)
        .context("computing which days are covered")
}

/// The working table of one run's findings, filled by the rules.
const FINDING_TABLE: &str = "
DROP TABLE IF EXISTS temp.finding;
CREATE TEMP TABLE finding (
    kind_order INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
    order_id TEXT, payment_id TEXT, channel_order_id TEXT, channel_txn_id TEXT, channel TEXT,
    internal_amount INTEGER, internal_currency TEXT, channel_amount INTEGER, channel_currency TEXT,
    refund_minor INTEGER NOT NULL, detail TEXT NOT NULL);";

/// Runs every rule over the loaded data into `temp.finding`, set-based: the
/// findings stay in SQLite, so memory does not grow with them. Needs
/// [`coverage`] first.
pub fn classify(conn: &Connection, settle_lag_days: u32, phases: &mut Phases) -> Result<()> {
    let lag = settle_lag_days.to_string();
    register_money_function(conn)?;
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
    conn.execute_batch(FINDING_TABLE)?;
    for (order, (kind, sql)) in RULES.iter().enumerate() {
        let insert = format!(
            "INSERT INTO temp.finding SELECT {order}, '{code}', '', * FROM ({rule})",
            code = kind.code(),
            rule = sql.replace("?lag", &lag)
        );
        conn.execute_batch(&insert)
            .with_context(|| format!("running rule {kind}"))?;
        phases.mark(format!("rule {kind}"));
    }
    // What first_seen is kept for: the payment, or the attempt.
    let by_attempt: Vec<String> = RULES
        .iter()
        .filter(|(kind, _)| !kind.is_about_payment())
        .map(|(kind, _)| format!("'{}'", kind.code()))
        .collect();
    conn.execute_batch(&format!(
        "UPDATE temp.finding SET subject = CASE WHEN kind IN ({}) THEN channel_order_id
                                               ELSE channel || '|' || channel_txn_id END",
        by_attempt.join(", ")
    ))?;
    Ok(())
}

/// `payrecon_money(minor, currency)`: an amount as the report writes it
/// (`137.37`), for the rules that name amounts in their detail.
fn register_money_function(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "payrecon_money",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let minor: Option<i64> = ctx.get(0)?;
            let currency: Option<String> = ctx.get(1)?;
            Ok(minor
                .map(|m| crate::money::format_minor(m, currency.as_deref().unwrap_or_default())))
        },
    )?;
    Ok(())
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

/// Records the business day each finding was first seen. A rerun of the
/// same day, or a rerun of an earlier day after a later one, keeps the
/// earliest day.
pub fn mark_first_seen(conn: &Connection, business_day: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO finding_seen (kind, subject, first_seen)
         SELECT kind, subject, ?1 FROM temp.finding WHERE true
         ON CONFLICT (kind, subject) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen)",
        [business_day],
    )?;
    Ok(())
}

/// Hands every finding to `each`, in report order (kind, channel,
/// channel_order_id, channel_txn_id), with its first_seen day and, for
/// refund kinds, the instructions issued for its payment or its attempt.
pub fn for_each_finding(
    conn: &Connection,
    mut each: impl FnMut(Finding) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT f.kind_order, f.order_id, f.payment_id, f.channel_order_id, f.channel_txn_id, f.channel,
                f.internal_amount, f.internal_currency, f.channel_amount, f.channel_currency,
                f.refund_minor, f.detail, s.first_seen,
                CASE WHEN f.kind IN ('DUPLICATE_PAYMENT', 'PAID_AFTER_CLOSE') THEN
                    (SELECT group_concat(refund_request_id || ' ' || amount_minor || ' ' || business_day, ';')
                     FROM (SELECT * FROM refund_instruction i
                           -- The attempt's too: a payment whose transaction id a
                           -- corrected file changed is refunded already.
                           WHERE i.channel = f.channel
                             AND (i.channel_txn_id = f.channel_txn_id
                                  OR i.channel_order_id = f.channel_order_id)
                           ORDER BY business_day, refund_request_id))
                END
         FROM temp.finding f
         JOIN finding_seen s ON s.kind = f.kind AND s.subject = f.subject
         ORDER BY f.kind_order, f.channel, f.channel_order_id, f.channel_txn_id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let order = r.get::<_, i64>(0)? as usize;
        each(Finding {
            kind: RULES[order].0,
            order_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            payment_id: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            channel_order_id: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            channel_txn_id: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            channel: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            internal_amount: r.get(6)?,
            internal_currency: r.get(7)?,
            channel_amount: r.get(8)?,
            channel_currency: r.get(9)?,
            refund_minor: r.get(10)?,
            detail: r.get(11)?,
            first_seen: r.get(12)?,
            refund_request_id: r.get(13)?,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report lists findings in `RULES`' order, the summary in
    /// `FindingKind`'s own: they must be the same, and name every kind once.
    #[test]
    fn the_rules_run_in_the_kinds_order() {
        let kinds: Vec<FindingKind> = RULES.iter().map(|(kind, _)| *kind).collect();
        assert!(kinds.is_sorted_by(|a, b| a < b), "{kinds:?}");
        assert_eq!(kinds.len(), 13);
    }
}
