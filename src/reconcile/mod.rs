//! The rules: judge everything loaded so far and decide what to refund.
//!
//! `sql/prepare.sql` builds one working table of channel payments joined to
//! their attempts; each finding kind is then one query in `sql/`, readable on
//! its own with the contract's rule quoted at its top. [`refunds`] turns the
//! refund findings into instructions, each issued once, ever.

pub mod finding;
pub mod lifecycle;
pub mod refunds;
pub mod scope;

use crate::phases::Phases;
use anyhow::{Context, Result};
use finding::{Finding, FindingKind, Subject};
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
        FindingKind::RefundNotOwed,
        include_str!("sql/refund_not_owed.sql"),
    ),
    (
        FindingKind::RefundExceedsPayment,
        include_str!("sql/refund_exceeds_payment.sql"),
    ),
    (
        FindingKind::RefundNotConfirmed,
        include_str!("sql/refund_not_confirmed.sql"),
    ),
    (
        FindingKind::RefundAmountDiffers,
        include_str!("sql/refund_amount_differs.sql"),
    ),
    (
        FindingKind::RefundRejected,
        include_str!("sql/refund_rejected.sql"),
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
    hasher.update(lifecycle::sql_text());
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

/// The columns every rule returns, in order; rules about an instruction
/// add its refund_request_id.
const RULE_COLUMNS: &str = "order_id, payment_id, channel_order_id, channel_txn_id, channel, \
    internal_amount, internal_currency, channel_amount, channel_currency, refund_minor, detail";

/// What a judgement depends on besides the loaded data.
#[derive(Debug, Clone, Copy)]
pub struct Judgement<'a> {
    pub settle_lag_days: u32,
    /// The business day judged as of.
    pub business_day: &'a str,
    /// The latest business day judged so far, or `business_day` if later
    /// ([`scope::clock_day`]): refund confirmation deadlines run on it, so
    /// judging an earlier day again, or days out of order, never takes back
    /// an overdue that a later day's judgement found.
    pub clock_day: &'a str,
    /// Days an instruction may wait for the channel's confirmation.
    pub refund_confirm_days: u32,
}

impl Judgement<'_> {
    /// An earlier day judged after a later one: the clock is past it.
    pub fn judges_the_past(&self) -> bool {
        self.business_day < self.clock_day
    }

    /// A rule's SQL with this judgement's values in its placeholders.
    fn bind(&self, sql: &str) -> String {
        sql.replace("?lag", &self.settle_lag_days.to_string())
            .replace("?confirm_days", &self.refund_confirm_days.to_string())
            .replace("?clock", self.clock_day)
            .replace("?day", self.business_day)
    }
}

/// Runs every rule over the loaded data into `temp.finding`, set-based: the
/// findings stay in SQLite, so memory does not grow with them. Needs
/// [`coverage`] first.
pub fn classify(conn: &Connection, judgement: &Judgement, phases: &mut Phases) -> Result<()> {
    register_money_function(conn)?;
    register_variants_function(conn)?;
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
        run_rule(conn, judgement, order, *kind, sql, "")?;
        phases.mark(format!("rule {kind}"));
    }
    Ok(())
}

/// One rule's findings into `temp.finding`, those that pass `filter` (a
/// WHERE clause over the rule's columns, or nothing).
fn run_rule(
    conn: &Connection,
    judgement: &Judgement,
    order: usize,
    kind: FindingKind,
    sql: &str,
    filter: &str,
) -> Result<()> {
    let (columns, subject) = match kind.subject() {
        Subject::Payment => (RULE_COLUMNS.to_string(), "channel || '|' || channel_txn_id"),
        Subject::Attempt => (RULE_COLUMNS.to_string(), "channel_order_id"),
        Subject::Instruction => (format!("{RULE_COLUMNS}, instruction"), "instruction"),
    };
    let insert = format!(
        "WITH judged({columns}) AS ({rule})
         INSERT INTO temp.finding
         SELECT {order}, '{code}', {subject}, {RULE_COLUMNS} FROM judged {filter}",
        code = kind.code(),
        rule = judgement.bind(sql)
    );
    conn.execute_batch(&insert)
        .with_context(|| format!("running rule {kind}"))
}

/// The rules run before the day's refunds are issued, so an instruction
/// this run issues is judged by the next run whose deadline window reaches
/// it. When an earlier day is judged after a later one (days out of
/// order), no later run may: the clock is already past this day, and the
/// instruction may be overdue the moment it is issued. Then
/// REFUND_NOT_CONFIRMED is judged again, over the instructions as issued.
pub fn judge_issued_instructions(conn: &Connection, judgement: &Judgement) -> Result<()> {
    if !judgement.judges_the_past() {
        return Ok(());
    }
    let (order, (kind, sql)) = RULES
        .iter()
        .enumerate()
        .find(|(_, (kind, _))| *kind == FindingKind::RefundNotConfirmed)
        .context("REFUND_NOT_CONFIRMED has a rule")?;
    // (The few instructions judged already are not found twice.)
    let filter = format!(
        "WHERE instruction NOT IN (SELECT subject FROM temp.finding WHERE kind = '{}')",
        kind.code()
    );
    run_rule(conn, judgement, order, *kind, sql, &filter)
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

/// `payrecon_variants(amount_minor, currency)`: how many different
/// (amount, currency) pairs a group of payment rows holds. What
/// `count(DISTINCT amount_minor || ' ' || currency)` counts, without a text
/// built and a distinct-set probed for each of a day's million rows: a
/// payment's rows nearly always agree, so the pairs seen are a list of one.
fn register_variants_function(conn: &Connection) -> Result<()> {
    use rusqlite::functions::{Aggregate, Context, FunctionFlags};
    struct Variants;
    impl Aggregate<Vec<(i64, String)>, i64> for Variants {
        fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Vec<(i64, String)>> {
            Ok(Vec::with_capacity(1))
        }
        fn step(
            &self,
            ctx: &mut Context<'_>,
            seen: &mut Vec<(i64, String)>,
        ) -> rusqlite::Result<()> {
            let amount: i64 = ctx.get(0)?;
            let currency = ctx.get_raw(1).as_str().map_err(rusqlite::Error::from)?;
            if !seen.iter().any(|(a, c)| *a == amount && c == currency) {
                seen.push((amount, currency.to_string()));
            }
            Ok(())
        }
        fn finalize(
            &self,
            _: &mut Context<'_>,
            seen: Option<Vec<(i64, String)>>,
        ) -> rusqlite::Result<i64> {
            Ok(seen.map_or(0, |seen| seen.len() as i64))
        }
    }
    conn.create_aggregate_function(
        "payrecon_variants",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        Variants,
    )?;
    Ok(())
}

/// Channel refunds (each once) whose payment is in no loaded file: they
/// wait for it, and the summary says how many. Over everything loaded,
/// whatever the run judged: the refunds are few (a partial index), each
/// looked up among the payments. A judgement of everything has every
/// payment in `temp.paid` already, and is the one run that may go without
/// `settlement_row_by_txn` (a database's first: `schema::FOLLOW_INDEXES`).
pub fn refunds_without_payment(conn: &Connection, reach: scope::Reach) -> Result<usize> {
    let payments = match reach {
        scope::Reach::Everything => "temp.paid",
        scope::Reach::Changed => "main.settlement_row",
    };
    let n: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM (
                 -- Each refund once, as prepare.sql's channel_refund counts.
                 SELECT DISTINCT r.channel, r.channel_txn_id, r.refund_id,
                        CASE WHEN r.refund_id = '' THEN
                            r.transacted_at || ' ' || r.amount_minor || ' ' || r.currency || ' #'
                            || row_number() OVER (PARTITION BY r.channel, r.channel_txn_id,
                                                               r.file_id, r.transacted_at,
                                                               r.amount_minor, r.currency
                                                  ORDER BY r.line)
                        END
                 FROM main.settlement_row r INDEXED BY settlement_row_refunds
                 WHERE r.kind = 'REFUND'
                   AND NOT EXISTS (SELECT 1 FROM {payments} p
                                   WHERE p.channel = r.channel
                                     AND p.channel_txn_id = r.channel_txn_id
                                     AND {payment}))",
            payment = match reach {
                scope::Reach::Everything => "1",
                scope::Reach::Changed => "p.kind = 'PAYMENT'",
            }
        ),
        [],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

/// The report order of each kind, as an SQL expression over `kind`.
fn kind_order_sql() -> String {
    let arms: String = RULES
        .iter()
        .enumerate()
        .map(|(order, (kind, _))| format!(" WHEN '{}' THEN {order}", kind.code()))
        .collect();
    format!("CASE kind{arms} END")
}

/// Hands `business_day`'s report to `each`, from the ledger, in report
/// order (kind, channel, channel_order_id, channel_txn_id): the items open
/// on that day (NEW when first seen that day) and those resolved that day,
/// each with its age and, for refund kinds, the instructions issued for its
/// payment or its attempt.
pub fn for_each_finding(
    conn: &Connection,
    business_day: &str,
    aging: &finding::Aging,
    mut each: impl FnMut(Finding) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare(&format!(
        "SELECT kind, finding_id, state, order_id, payment_id, channel_order_id, channel_txn_id,
                channel, internal_amount, internal_currency, channel_amount, channel_currency,
                refund_minor, detail, first_seen,
                CAST(julianday(CASE WHEN state = 'OPEN' THEN ?1 ELSE resolved_on END)
                     - julianday(first_seen) AS INTEGER),
                resolved_by, note,
                CASE WHEN kind IN ('DUPLICATE_PAYMENT', 'PAID_AFTER_CLOSE') THEN
                    (SELECT group_concat(refund_request_id || ' ' || amount_minor || ' ' || business_day, ';')
                     FROM (SELECT refund_request_id, amount_minor, business_day
                           FROM refund_instruction i
                           WHERE i.channel = f.channel AND i.channel_txn_id = f.channel_txn_id
                             AND i.result IS NOT 'REJECTED'
                           -- The attempt's too: a payment whose transaction id a
                           -- corrected file changed is refunded already. (A
                           -- UNION, so each side is one index lookup.)
                           UNION
                           SELECT refund_request_id, amount_minor, business_day
                           FROM refund_instruction i
                           WHERE i.channel = f.channel AND i.channel_order_id = f.channel_order_id
                             AND i.result IS NOT 'REJECTED'
                           ORDER BY business_day, refund_request_id))
                END
         FROM finding_item f
         WHERE (state = 'OPEN' AND first_seen <= ?1) OR (state = 'RESOLVED' AND resolved_on = ?1)
         ORDER BY {}, channel, channel_order_id, channel_txn_id, finding_id",
        kind_order_sql()
    ))?;
    let mut rows = stmt.query([business_day])?;
    while let Some(r) = rows.next()? {
        let code: String = r.get(0)?;
        let Some(kind) = FindingKind::from_code(&code) else {
            anyhow::bail!("the ledger holds a finding of unknown kind {code}");
        };
        let first_seen: String = r.get(14)?;
        let age_days: i64 = r.get(15)?;
        let status = match (r.get::<_, String>(2)?.as_str(), first_seen == business_day) {
            ("RESOLVED", _) => finding::Status::Resolved,
            (_, true) => finding::Status::New,
            _ => finding::Status::Open,
        };
        let resolution = match (
            r.get::<_, Option<String>>(16)?,
            r.get::<_, Option<String>>(17)?,
        ) {
            (Some(by), _) if by == "data" => None,
            (Some(by), note) => Some(format!("resolved by {by}: {}", note.unwrap_or_default())),
            _ => None,
        };
        each(Finding {
            kind,
            finding_id: r.get(1)?,
            status,
            overdue: status != finding::Status::Resolved && age_days > aging.limit(kind) as i64,
            age_days,
            order_id: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            payment_id: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            channel_order_id: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            channel_txn_id: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            channel: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
            internal_amount: r.get(8)?,
            internal_currency: r.get(9)?,
            channel_amount: r.get(10)?,
            channel_currency: r.get(11)?,
            refund_minor: r.get(12)?,
            detail: match resolution {
                Some(resolution) => format!("{}; {resolution}", r.get::<_, String>(13)?),
                None => r.get(13)?,
            },
            first_seen,
            refund_request_id: r.get(18)?,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `payrecon_variants` counts what `count(DISTINCT amount || ' ' ||
    /// currency)` counts, over groups of one row, of repeats, of other
    /// amounts, of other currencies and of both.
    #[test]
    fn variants_count_the_different_amount_and_currency_pairs() {
        let conn = Connection::open_in_memory().unwrap();
        register_variants_function(&conn).unwrap();
        conn.execute_batch("CREATE TABLE r (k INTEGER, amount INTEGER, currency TEXT)")
            .unwrap();
        let groups: &[&[(i64, &str)]] = &[
            &[(100, "CNY")],
            &[(100, "CNY"), (100, "CNY"), (100, "CNY")],
            &[(100, "CNY"), (101, "CNY"), (100, "CNY")],
            &[(100, "CNY"), (100, "USD")],
            &[
                (100, "CNY"),
                (101, "USD"),
                (101, "CNY"),
                (100, "USD"),
                (100, "CNY"),
            ],
            &[(1, "CNY"), (11, "CNY")],
        ];
        for (k, rows) in groups.iter().enumerate() {
            for (amount, currency) in rows.iter() {
                conn.execute(
                    "INSERT INTO r VALUES (?1, ?2, ?3)",
                    rusqlite::params![k as i64, amount, currency],
                )
                .unwrap();
            }
        }
        let counts: Vec<(i64, i64)> = conn
            .prepare(
                "SELECT payrecon_variants(amount, currency),
                        count(DISTINCT amount || ' ' || currency)
                 FROM r GROUP BY k ORDER BY k",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let ours: Vec<i64> = counts.iter().map(|c| c.0).collect();
        let distinct: Vec<i64> = counts.iter().map(|c| c.1).collect();
        assert_eq!(ours, distinct);
        assert_eq!(ours, [1, 1, 2, 2, 4, 2]);
    }

    /// The report lists findings in `RULES`' order, the summary in
    /// `FindingKind`'s own: they must be the same, and name every kind once.
    #[test]
    fn the_rules_run_in_the_kinds_order() {
        let kinds: Vec<FindingKind> = RULES.iter().map(|(kind, _)| *kind).collect();
        assert!(kinds.is_sorted_by(|a, b| a < b), "{kinds:?}");
        // Every kind has its rule, but UNKNOWN_STALE: an UNKNOWN_PENDING
        // item past its age limit, shown under that name.
        let ruled: Vec<FindingKind> = finding::ALL_KINDS
            .iter()
            .copied()
            .filter(|k| *k != FindingKind::UnknownStale)
            .collect();
        assert_eq!(kinds, ruled);
    }
}
