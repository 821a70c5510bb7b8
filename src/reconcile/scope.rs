//! What a run judges: everything loaded, or only what its changes can reach.
//!
//! The rules read their driving rows through `judged_attempt`,
//! `judged_settlement_row` and `judged_instruction`. A full judgement makes
//! them views of the whole tables. An incremental one makes them the rows
//! of a scope (the first two copied into temp tables, the rules scan them): the attempts, orders and transactions the run's
//! changes reach, closed under the keys the rules join on, so every row a
//! rule reads about an in-scope subject is in scope too:
//!
//! - an attempt brings its order, its settlement rows' transactions and its
//!   instructions' transactions;
//! - an order brings all its attempts;
//! - a transaction brings the attempts of its rows and instructions.
//!
//! The scope starts from the attempts and transactions the loads changed
//! (`store::changes`), those a command changed between runs (`rejudge`),
//! the attempts waiting for a day that this run covered
//! (`awaiting_coverage`), and the instructions whose confirmation deadline
//! falls between the last judged day and this one. Everything outside it
//! keeps its stored decision: the ledger only resolves items in scope.

use super::Judgement;
use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension};

/// How much a run judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Everything loaded: the first run, `run --full`, or a run whose rules
    /// or settings differ from the last judgement's.
    Everything,
    /// What the run's changes can reach.
    Changed,
}

/// Builds `temp.covered_before`: coverage as the run found it, before its
/// loads (the days they newly cover wake the attempts waiting for them).
/// Needs `reconcile::coverage` first.
pub fn remember_coverage(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.covered_before;
         CREATE TEMP TABLE covered_before AS SELECT channel, day FROM temp.covered_day;",
    )?;
    Ok(())
}

/// Whether any run has judged this database before (with any rules).
pub fn judged_before(conn: &Connection) -> Result<bool> {
    Ok(
        conn.query_row("SELECT EXISTS (SELECT 1 FROM judgement_basis)", [], |r| {
            r.get(0)
        })?,
    )
}

/// The clock day ([`clock_day`]) of the last judgement, if it was made with
/// these rules and settings (a run can then judge only what changed since).
pub fn last_judged_day(
    conn: &Connection,
    settle_lag_days: u32,
    refund_confirm_days: u32,
) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT business_day FROM judgement_basis
             WHERE rules = ?1 AND settle_lag_days = ?2 AND refund_confirm_days = ?3",
            rusqlite::params![super::rules_digest(), settle_lag_days, refund_confirm_days],
            |r| r.get(0),
        )
        .optional()?)
}

/// The day refund deadlines run on: the latest business day judged so far
/// (whatever the rules then), or `business_day` if it is later. It never
/// goes back, so a day judged again (a rerun, days out of order) sees the
/// deadlines a later day's judgement saw passed.
pub fn clock_day(conn: &Connection, business_day: &str) -> Result<String> {
    let judged: Option<String> = conn
        .query_row("SELECT business_day FROM judgement_basis", [], |r| r.get(0))
        .optional()?;
    Ok(judged.map_or(business_day.to_string(), |day| {
        day.max(business_day.to_string())
    }))
}

/// Builds the views the rules read: over everything without `last_day`,
/// else over what changed since the judgement made as of `last_day`
/// ([`last_judged_day`]; the run's loads were tracked by `store::changes`,
/// with [`remember_coverage`] before them and `reconcile::coverage` after).
pub fn prepare(
    conn: &Connection,
    judgement: &Judgement,
    last_day: Option<&str>,
    phases: &mut crate::phases::Phases,
) -> Result<Reach> {
    let Some(last_day) = last_day else {
        conn.execute_batch(EVERYTHING)
            .context("preparing a full judgement")?;
        return Ok(Reach::Everything);
    };
    conn.execute_batch(SCOPE_TABLES)?;
    conn.execute(
        SEEDS,
        rusqlite::named_params! {
            ":low": judgement.clock_day.min(last_day),
            ":high": judgement.clock_day.max(last_day),
            ":confirm": format!("-{} days", judgement.refund_confirm_days),
        },
    )
    .context("seeding the judgement's scope")?;
    phases.mark("scope: seeds");
    conn.execute_batch(
        "INSERT OR IGNORE INTO temp.scope_txn SELECT channel, channel_txn_id, 0 FROM temp.changed_txn;
         INSERT OR IGNORE INTO temp.scope_order
         SELECT order_id, 0 FROM temp.changed_attempt WHERE order_id IS NOT NULL
         UNION ALL
         SELECT order_id, 0 FROM temp.changed_order;",
    )?;
    close(conn, phases)?;
    conn.execute_batch(SCOPED_VIEWS)?;
    phases.mark("scope: its rows, and the open items about it");
    Ok(Reach::Changed)
}

/// How many attempts the judgement reads (all of them for a full one).
pub fn attempts_judged(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM temp.judged_attempt", [], |r| r.get(0))?)
}

/// Views over everything loaded.
const EVERYTHING: &str = "
DROP VIEW IF EXISTS temp.judged_attempt;
DROP VIEW IF EXISTS temp.judged_settlement_row;
DROP VIEW IF EXISTS temp.judged_instruction;
CREATE TEMP VIEW judged_attempt AS SELECT * FROM main.attempt;
CREATE TEMP VIEW judged_settlement_row AS SELECT * FROM main.settlement_row;
CREATE TEMP VIEW judged_instruction AS SELECT * FROM main.refund_instruction;
DROP VIEW IF EXISTS temp.scoped_item;
CREATE TEMP VIEW scoped_item AS SELECT finding_id FROM main.finding_item WHERE state = 'OPEN';";

/// The scope's keys; `round` is the closure round that added a key.
const SCOPE_TABLES: &str = "
DROP TABLE IF EXISTS temp.scope_attempt;
DROP TABLE IF EXISTS temp.scope_order;
DROP TABLE IF EXISTS temp.scope_txn;
-- order_known: its order is in scope_order already (an attempt an export
-- gave: the loader noted its order), so round 0 need not look it up.
CREATE TEMP TABLE scope_attempt (channel_order_id TEXT PRIMARY KEY, round INTEGER NOT NULL,
    order_known INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE INDEX temp.scope_attempt_round ON scope_attempt(round, order_known);
CREATE TEMP TABLE scope_order (order_id TEXT PRIMARY KEY, round INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX temp.scope_order_round ON scope_order(round);
CREATE TEMP TABLE scope_txn (channel TEXT NOT NULL, channel_txn_id TEXT NOT NULL,
    round INTEGER NOT NULL, PRIMARY KEY (channel, channel_txn_id)) WITHOUT ROWID;
CREATE INDEX temp.scope_txn_round ON scope_txn(round);";

/// Round 0: what changed. The deadline window: an instruction is overdue
/// once its day is `refund_confirm_days` before the clock day, so those
/// whose day lies between the last judgement's deadline and this one's
/// change (the clock only moves forward; min and max keep a database whose
/// last judgement recorded its business day instead, before the clock).
const SEEDS: &str = "
INSERT OR IGNORE INTO temp.scope_attempt (channel_order_id, round, order_known)
SELECT channel_order_id, 0, order_id IS NOT NULL FROM temp.changed_attempt
UNION ALL
SELECT channel_order_id, 0, 0 FROM main.rejudge
UNION ALL
SELECT w.channel_order_id, 0, 0 FROM main.awaiting_coverage w
WHERE w.created_day IN (SELECT day FROM (SELECT channel, day FROM temp.covered_day
                                         EXCEPT SELECT channel, day FROM temp.covered_before))
UNION ALL
SELECT channel_order_id, 0, 0 FROM main.refund_instruction
WHERE business_day BETWEEN date(:low, :confirm) AND date(:high, :confirm)";

/// One closure round (:round): from the attempts the previous round added
/// to their orders and transactions, and from those back to attempts (added
/// with :round + 1). An empty channel_order_id is no key (refund rows
/// without one are reached by their transaction).
const CLOSURE_ROUND: &[&str] = &[
    "INSERT OR IGNORE INTO temp.scope_order
     SELECT a.order_id, :round FROM temp.scope_attempt k
     CROSS JOIN main.attempt a ON a.channel_order_id = k.channel_order_id
     WHERE k.round = :round AND k.order_known = 0",
    "INSERT OR IGNORE INTO temp.scope_txn
     SELECT s.channel, s.channel_txn_id, :round FROM temp.scope_attempt k
     CROSS JOIN main.settlement_row s ON s.channel_order_id = k.channel_order_id
     WHERE k.round = :round",
    "INSERT OR IGNORE INTO temp.scope_txn
     SELECT i.channel, i.channel_txn_id, :round FROM temp.scope_attempt k
     CROSS JOIN main.refund_instruction i ON i.channel_order_id = k.channel_order_id
     WHERE k.round = :round",
    "INSERT OR IGNORE INTO temp.scope_attempt (channel_order_id, round)
     SELECT a.channel_order_id, :round + 1 FROM temp.scope_order o
     CROSS JOIN main.attempt a ON a.order_id = o.order_id
     WHERE o.round = :round",
    "INSERT OR IGNORE INTO temp.scope_attempt (channel_order_id, round)
     SELECT s.channel_order_id, :round + 1 FROM temp.scope_txn t
     CROSS JOIN main.settlement_row s ON s.channel = t.channel AND s.channel_txn_id = t.channel_txn_id
     WHERE t.round = :round AND s.channel_order_id <> ''",
    "INSERT OR IGNORE INTO temp.scope_attempt (channel_order_id, round)
     SELECT i.channel_order_id, :round + 1 FROM temp.scope_txn t
     CROSS JOIN main.refund_instruction i ON i.channel = t.channel AND i.channel_txn_id = t.channel_txn_id
     WHERE t.round = :round",
];

/// Rounds until one adds no attempt: the scope is then closed.
fn close(conn: &Connection, phases: &mut crate::phases::Phases) -> Result<()> {
    let mut statements = CLOSURE_ROUND
        .iter()
        .map(|sql| conn.prepare(sql))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for round in 0i64.. {
        let mut added = 0;
        for (step, statement) in statements.iter_mut().enumerate() {
            let n = statement
                .execute(rusqlite::named_params! {":round": round})
                .with_context(|| format!("closing the judgement's scope (round {round})"))?;
            if step >= 3 {
                added += n;
            }
            phases.mark(format!("scope: round {round} step {step}: {n} key(s)"));
        }
        if added == 0 {
            return Ok(());
        }
    }
    Ok(())
}

/// The scope's rows (CROSS JOIN: the scope drives, the tables are looked up
/// by their indexes). Attempts and settlement rows are copied once: the
/// rules then scan them, as a full judgement scans the tables. A
/// transaction's rows with a channel_order_id are reached through it (the
/// closure put it in scope); the others by the transaction.
const SCOPED_VIEWS: &str = "
DROP TABLE IF EXISTS temp.judged_attempt;
DROP TABLE IF EXISTS temp.judged_settlement_row;
DROP VIEW IF EXISTS temp.judged_instruction;
CREATE TEMP TABLE judged_attempt AS
SELECT a.* FROM temp.scope_attempt k CROSS JOIN main.attempt a ON a.channel_order_id = k.channel_order_id;
CREATE TEMP TABLE judged_settlement_row AS
SELECT s.* FROM temp.scope_attempt k
CROSS JOIN main.settlement_row s ON s.channel_order_id = k.channel_order_id
UNION ALL
SELECT s.* FROM main.settlement_row s INDEXED BY settlement_row_without_order
CROSS JOIN temp.scope_txn t ON t.channel = s.channel AND t.channel_txn_id = s.channel_txn_id
WHERE s.channel_order_id = '';
CREATE TEMP VIEW judged_instruction AS
SELECT i.* FROM temp.scope_attempt k
CROSS JOIN main.refund_instruction i ON i.channel_order_id = k.channel_order_id;
-- The open ledger items about the scope: only they can be resolved by it.
-- (Driven by the open items, each looked up in the scope: there are fewer
-- of them than keys in a day's scope once a team works its queue.)
DROP TABLE IF EXISTS temp.scoped_item;
CREATE TEMP TABLE scoped_item (finding_id TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO scoped_item
SELECT i.finding_id FROM main.finding_item i
WHERE i.state = 'OPEN'
  AND (EXISTS (SELECT 1 FROM temp.scope_attempt k WHERE k.channel_order_id = i.channel_order_id)
       OR (i.channel_txn_id <> ''
           AND EXISTS (SELECT 1 FROM temp.scope_txn t
                       WHERE t.channel = i.channel AND t.channel_txn_id = i.channel_txn_id)));";

/// After the rules: records what the next incremental run starts from. The
/// judged attempts whose decision waits for their day to be covered (no
/// payment yet, or a refund waiting for the day) replace what was recorded
/// for them; the re-judge marks are consumed, but those of a released
/// instruction not re-issued yet (`refunds::issue` waits for a current
/// day); the basis is this judgement.
pub fn record(conn: &Connection, judgement: &Judgement, reach: Reach) -> Result<()> {
    let forget = match reach {
        Reach::Everything => "DELETE FROM awaiting_coverage",
        Reach::Changed => {
            "DELETE FROM awaiting_coverage
             WHERE EXISTS (SELECT 1 FROM temp.scope_attempt k
                           WHERE k.channel_order_id = awaiting_coverage.channel_order_id)"
        }
    };
    conn.execute_batch(&format!(
        "{forget};
         INSERT OR IGNORE INTO awaiting_coverage
         SELECT a.channel_order_id, a.created_day FROM temp.judged_attempt a
         WHERE a.payment_status IN ('SUCCESS', 'PROCESSING', 'UNKNOWN')
           AND NOT EXISTS (SELECT 1 FROM temp.covered_day c
                           WHERE c.channel = a.channel AND c.day = a.created_day)
           AND NOT EXISTS (SELECT 1 FROM temp.payment p
                           WHERE p.channel_order_id = a.channel_order_id);
         INSERT OR IGNORE INTO awaiting_coverage
         SELECT r.channel_order_id, a.created_day FROM temp.refundable r
         CROSS JOIN main.attempt a ON a.channel_order_id = r.channel_order_id
         WHERE NOT r.is_settled;
         DELETE FROM rejudge
         WHERE NOT EXISTS (SELECT 1 FROM refund_instruction r
                           WHERE r.channel_order_id = rejudge.channel_order_id
                             AND r.reissued_as = '');"
    ))
    .context("recording what waits for coverage")?;
    conn.execute(
        "INSERT OR REPLACE INTO judgement_basis VALUES (1, ?1, ?2, ?3, ?4)",
        rusqlite::params![
            super::rules_digest(),
            judgement.settle_lag_days,
            judgement.refund_confirm_days,
            judgement.clock_day
        ],
    )?;
    Ok(())
}
