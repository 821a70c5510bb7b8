//! The lifecycle of findings: a ledger of lasting items.
//!
//! Every finding is an item with a stable id (from its kind and subject),
//! recorded in `finding_item` with the business days it was first and last
//! seen, its state and the facts it was last decided on; `finding_event`
//! keeps each change. A run's judgement (`temp.finding`, from the rules) is
//! compared with the ledger, and each transition is one set-based statement
//! written once here:
//!
//! - judged, not in the ledger: OPENED (first_seen = the run's day);
//! - judged, RESOLVED by the data: REOPENED; RESOLVED by a person: REOPENED
//!   only when its amounts changed (the person decided on other facts);
//! - judged, OPEN, other facts: CHANGED (the id and first_seen stay);
//! - OPEN, in the run's scope (`reconcile::scope`), no longer judged:
//!   RESOLVED by the data (an item out of scope keeps its state: nothing
//!   it was decided on changed);
//! - resolved by a person (`payrecon resolve`): reported by the next run.
//!
//! first_seen is set once and never moves, so rerunning an earlier day, or
//! loading days out of order, never rewrites what was recorded for others.

use anyhow::{Context, Result};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

/// A finding's stable id: `F` and 23 hex digits of a SHA-256 over its kind
/// and subject (the payment, attempt or instruction it is about).
pub fn finding_id(kind: &str, subject: &str) -> String {
    let digest = hex::encode(Sha256::digest(
        format!("payrecon-finding\u{1f}{kind}\u{1f}{subject}").as_bytes(),
    ));
    format!("F{}", &digest[..23])
}

/// The facts whose change reopens an item a person resolved.
const AMOUNTS_DIFFER: &str = "(i.internal_amount IS NOT j.internal_amount
    OR i.internal_currency IS NOT j.internal_currency
    OR i.channel_amount IS NOT j.channel_amount
    OR i.channel_currency IS NOT j.channel_currency)";

/// The transitions, in order: each reads the ledger as the ones before it
/// left it. Parameters: `:day` (business day), `:now` (RFC 3339), `:confirm`
/// (`+N days`, N = refund_confirm_days). The
/// first [`OPENING_STEPS`] are all a ledger empty before the run needs: the
/// others act on items recorded by earlier runs (reopen, change, resolve).
const TRANSITIONS: &[(&str, &str)] = &[
    (
        "judged items",
        "DROP TABLE IF EXISTS temp.judged_item;
         CREATE TEMP TABLE judged_item AS
         SELECT payrecon_finding_id(kind, subject) AS finding_id, min(rowid) AS first_row,
                kind, subject, order_id, payment_id, channel_order_id, channel_txn_id, channel,
                internal_amount, internal_currency, channel_amount, channel_currency,
                refund_minor, detail
         FROM temp.finding GROUP BY kind, subject;
         CREATE UNIQUE INDEX temp.judged_item_id ON judged_item(finding_id);",
    ),
    (
        "opened",
        "INSERT INTO finding_event (finding_id, business_day, recorded_at, event, by_whom)
         SELECT j.finding_id, :day, :now, 'OPENED', 'data' FROM temp.judged_item j
         WHERE NOT EXISTS (SELECT 1 FROM finding_item i WHERE i.finding_id = j.finding_id);
         INSERT INTO finding_item
         SELECT j.finding_id, j.kind, j.subject, j.order_id, j.payment_id, j.channel_order_id,
                j.channel_txn_id, j.channel, j.internal_amount, j.internal_currency,
                j.channel_amount, j.channel_currency, j.refund_minor, j.detail,
                CASE WHEN j.kind = 'REFUND_NOT_CONFIRMED'
                     -- Due on its deadline: opened by an earlier day judged
                     -- after a later one (days out of order), it is first
                     -- seen when the daily flow would have seen it.
                     THEN max(:day, coalesce((SELECT date(r.business_day, :confirm)
                                              FROM refund_instruction r
                                              WHERE r.refund_request_id = j.subject), :day))
                     ELSE min(coalesce((SELECT s.first_seen FROM finding_seen s
                                        WHERE s.kind = j.kind AND s.subject = j.subject), :day),
                              :day)
                END,
                :day, 'OPEN', NULL, NULL, NULL, NULL
         FROM temp.judged_item j
         WHERE NOT EXISTS (SELECT 1 FROM finding_item i WHERE i.finding_id = j.finding_id);",
    ),
    // (The steps after OPENING_STEPS.)
    (
        "reopened",
        "DROP TABLE IF EXISTS temp.reopened;
         CREATE TEMP TABLE reopened AS
         -- (The day's judged items drive: the ledger only grows.)
         SELECT i.finding_id FROM temp.judged_item j CROSS JOIN finding_item i USING (finding_id)
         WHERE i.state = 'RESOLVED' AND (i.resolved_by = 'data' OR AMOUNTS_DIFFER);
         INSERT INTO finding_event (finding_id, business_day, recorded_at, event, by_whom)
         SELECT finding_id, :day, :now, 'REOPENED', 'data' FROM temp.reopened;
         UPDATE finding_item SET state = 'OPEN', resolved_on = NULL, resolved_by = NULL,
                                 resolved_at = NULL, note = NULL
         WHERE finding_id IN (SELECT finding_id FROM temp.reopened);",
    ),
    (
        "changed",
        "INSERT INTO finding_event (finding_id, business_day, recorded_at, event, by_whom, note)
         SELECT i.finding_id, :day, :now, 'CHANGED', 'data', j.detail
         FROM temp.judged_item j CROSS JOIN finding_item i USING (finding_id)
         WHERE i.state = 'OPEN'
           AND i.finding_id NOT IN (SELECT finding_id FROM temp.reopened)
           AND (AMOUNTS_DIFFER OR i.detail IS NOT j.detail);
         UPDATE finding_item AS i
         SET order_id = j.order_id, payment_id = j.payment_id,
             channel_order_id = j.channel_order_id, channel_txn_id = j.channel_txn_id,
             channel = j.channel, internal_amount = j.internal_amount,
             internal_currency = j.internal_currency, channel_amount = j.channel_amount,
             channel_currency = j.channel_currency, refund_minor = j.refund_minor,
             detail = j.detail, last_seen = max(i.last_seen, :day)
         FROM temp.judged_item j
         WHERE j.finding_id = i.finding_id AND i.state = 'OPEN'
           -- Only rows that change (an item opened just now is as judged).
           AND (AMOUNTS_DIFFER OR i.detail IS NOT j.detail OR i.refund_minor IS NOT j.refund_minor
                OR i.order_id IS NOT j.order_id OR i.payment_id IS NOT j.payment_id
                OR i.channel_order_id IS NOT j.channel_order_id
                OR i.channel_txn_id IS NOT j.channel_txn_id OR i.channel IS NOT j.channel
                OR i.last_seen < :day);",
    ),
    (
        "resolved by the data",
        "DROP TABLE IF EXISTS temp.resolved;
         CREATE TEMP TABLE resolved AS
         SELECT s.finding_id FROM temp.scoped_item s
         WHERE NOT EXISTS (SELECT 1 FROM temp.judged_item j WHERE j.finding_id = s.finding_id);
         INSERT INTO finding_event (finding_id, business_day, recorded_at, event, by_whom)
         SELECT i.finding_id, :day, :now, 'RESOLVED', 'data'
         FROM temp.resolved r JOIN finding_item i USING (finding_id)
         WHERE i.state = 'OPEN';
         UPDATE finding_item SET state = 'RESOLVED', resolved_on = :day, resolved_by = 'data',
                                 resolved_at = :now
         WHERE state = 'OPEN' AND finding_id IN (SELECT finding_id FROM temp.resolved);",
    ),
    (
        "resolved by a person, reported today",
        "UPDATE finding_item SET resolved_on = :day
         WHERE state = 'RESOLVED' AND resolved_on = '';",
    ),
];

/// How many of the [`TRANSITIONS`] record the day's items; the rest find
/// nothing to do in a ledger that was empty before the run (a database's
/// first day, where they would join its tens of thousands of new items to
/// themselves for nothing).
const OPENING_STEPS: usize = 2;

/// The SQL of every transition, for the digest that keys reusable outputs.
pub fn sql_text() -> String {
    TRANSITIONS
        .iter()
        .map(|(_, sql)| sql.replace("AMOUNTS_DIFFER", AMOUNTS_DIFFER))
        .collect()
}

/// Makes `payrecon_finding_id(kind, subject)` available on `conn`.
pub fn register_functions(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "payrecon_finding_id",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(finding_id(&ctx.get::<String>(0)?, &ctx.get::<String>(1)?)),
    )?;
    Ok(())
}

/// Records the run's judgement (`temp.finding`) in the ledger for
/// `business_day`, at `now`.
pub fn record(
    conn: &Connection,
    business_day: &str,
    now: &str,
    refund_confirm_days: u32,
    phases: &mut crate::phases::Phases,
) -> Result<()> {
    register_functions(conn)?;
    let recorded_before: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM finding_item)", [], |r| {
            r.get(0)
        })?;
    let steps = if recorded_before {
        TRANSITIONS.len()
    } else {
        OPENING_STEPS
    };
    let confirm = format!("+{refund_confirm_days} days");
    run_transitions(
        conn,
        &TRANSITIONS[..steps],
        business_day,
        now,
        &confirm,
        phases,
    )
}

fn run_transitions(
    conn: &Connection,
    transitions: &[(&str, &str)],
    business_day: &str,
    now: &str,
    confirm: &str,
    phases: &mut crate::phases::Phases,
) -> Result<()> {
    for (name, sql) in transitions {
        let sql = sql.replace("AMOUNTS_DIFFER", AMOUNTS_DIFFER);
        for statement in sql.split_inclusive(';') {
            if statement.trim().is_empty() {
                continue;
            }
            let mut stmt = conn
                .prepare(statement)
                .with_context(|| format!("preparing the ledger step '{name}'"))?;
            for index in 1..=stmt.parameter_count() {
                let value = match stmt.parameter_name(index) {
                    Some(":day") => business_day,
                    Some(":now") => now,
                    Some(":confirm") => confirm,
                    other => anyhow::bail!("unknown parameter {other:?} in ledger step '{name}'"),
                };
                stmt.raw_bind_parameter(index, value)?;
            }
            stmt.raw_execute()
                .with_context(|| format!("recording the ledger step '{name}'"))?;
        }
        phases.mark(format!("ledger: {name}"));
    }
    Ok(())
}

/// What `payrecon resolve` did.
#[derive(Debug, Default)]
pub struct Resolved {
    pub resolved: usize,
    /// Ids that were resolved already (left as they were).
    pub already: Vec<String>,
}

/// Closes the items `closing` (id and note) by a person, `by`, at `now`:
/// all or nothing (an unknown id is an error naming every unknown one).
/// The next run reports them RESOLVED on its business day.
pub fn resolve_by_person(
    conn: &Connection,
    closing: &[(String, String)],
    by: &str,
    now: &str,
) -> Result<Resolved> {
    let mut state_of = conn.prepare("SELECT state FROM finding_item WHERE finding_id = ?1")?;
    let mut unknown = Vec::new();
    let mut outcome = Resolved::default();
    let mut open: Vec<(&String, &String)> = Vec::new();
    // The same id twice (two rows of a reviewed file): closed once. (A set:
    // a reviewed file holds a day's findings, tens of thousands.)
    let mut seen = std::collections::HashSet::new();
    for (id, note) in closing {
        if !seen.insert(id.as_str()) {
            continue;
        }
        match state_of
            .query_row([id], |r| r.get::<_, String>(0))
            .optional()?
        {
            None => unknown.push(id.as_str()),
            Some(state) if state == "RESOLVED" => outcome.already.push(id.clone()),
            Some(_) => open.push((id, note)),
        }
    }
    if !unknown.is_empty() {
        anyhow::bail!(
            "no finding has the id {} (ids are in the finding_id column of discrepancies.csv); nothing was resolved",
            unknown.join(", ")
        );
    }
    let mut event = conn.prepare(
        "INSERT INTO finding_event (finding_id, business_day, recorded_at, event, by_whom, note)
         SELECT finding_id, last_seen, ?2, 'RESOLVED', ?3, ?4 FROM finding_item WHERE finding_id = ?1",
    )?;
    let mut close = conn.prepare(
        "UPDATE finding_item SET state = 'RESOLVED', resolved_on = '', resolved_by = ?3,
                                 resolved_at = ?2, note = ?4
         WHERE finding_id = ?1 AND state = 'OPEN'",
    )?;
    for (id, note) in open {
        event.execute(rusqlite::params![id, now, by, note])?;
        outcome.resolved += close.execute(rusqlite::params![id, now, by, note])?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_ids_are_stable_and_distinct() {
        let a = finding_id("DUPLICATE_PAYMENT", "wechat|T1");
        assert_eq!(a, finding_id("DUPLICATE_PAYMENT", "wechat|T1"));
        assert_eq!(a.len(), 24);
        assert!(a.starts_with('F'));
        assert_ne!(a, finding_id("PAID_AFTER_CLOSE", "wechat|T1"));
        assert_ne!(a, finding_id("DUPLICATE_PAYMENT", "wechat|T2"));
    }

    /// SQLite's virtual-machine steps (its unit of work, whatever the
    /// machine's speed) of recording a day of 30 findings in a ledger that
    /// holds `old_items` resolved items, and of reading the day's trend and
    /// state key.
    fn work_of_a_day(old_items: i64) -> i64 {
        use rusqlite::trace::{TraceEvent, TraceEventCodes};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicI64, Ordering};
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        register_functions(&conn).unwrap();
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO finding_item (finding_id, kind, subject, order_id, channel_order_id,
                 channel_txn_id, channel, refund_minor, detail, first_seen, last_seen, state,
                 resolved_on, resolved_by)
             SELECT payrecon_finding_id('AMOUNT_MISMATCH', 'old' || i), 'AMOUNT_MISMATCH',
                    'old' || i, 'O' || i, 'C' || i, 'T' || i, 'wechat', 0, '', '2026-01-01',
                    '2026-01-01', 'RESOLVED', '2026-01-02', 'data'
             FROM n",
            [old_items],
        )
        .unwrap();
        conn.execute_batch(super::super::FINDING_TABLE).unwrap();
        // The day: 25 new items, 5 old ones found again (reopened).
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
             INSERT INTO temp.finding
             SELECT 0, 'AMOUNT_MISMATCH', CASE WHEN i <= 5 THEN 'old' ELSE 'new' END || i,
                    'O' || i, NULL, 'C' || i, 'T' || i, 'wechat', 100, 'CNY', 90, 'CNY', 0, ''
             FROM n;
             CREATE TEMP TABLE scoped_item (finding_id TEXT PRIMARY KEY) WITHOUT ROWID;",
        )
        .unwrap();
        let steps = Arc::new(AtomicI64::new(0));
        let counted = Arc::clone(&steps);
        conn.trace_v2(
            TraceEventCodes::SQLITE_TRACE_PROFILE,
            Some(move |event: TraceEvent<'_>| {
                if let TraceEvent::Profile(statement, _) = event {
                    let n = statement.get_status(rusqlite::StatementStatus::VmStep);
                    counted.fetch_add(i64::from(n), Ordering::Relaxed);
                }
            }),
        )
        .unwrap();
        let day = "2026-11-29";
        record(
            &conn,
            day,
            "2026-11-29T08:00:00Z",
            3,
            &mut Default::default(),
        )
        .unwrap();
        crate::emit::day::trend(&conn, day).unwrap();
        crate::store::cache::state_key(&conn, day, 1).unwrap();
        let reopened: i64 = conn
            .query_row(
                "SELECT count(*) FROM finding_event WHERE event = 'REOPENED'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(reopened, 5);
        steps.load(Ordering::Relaxed)
    }

    /// The ledger after a first day recorded into an empty ledger, with
    /// every transition run (`all`) or only the opening ones (as `record`
    /// does there): items and events as text.
    fn first_day_ledger(all: bool) -> (Vec<String>, Vec<String>) {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        register_functions(&conn).unwrap();
        conn.execute_batch(super::super::FINDING_TABLE).unwrap();
        // 30 findings, two of them about the same subject (one item).
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
             INSERT INTO temp.finding
             SELECT 0, CASE WHEN min(i, 29) % 3 = 0 THEN 'MISSING_IN_CHANNEL' ELSE 'AMOUNT_MISMATCH' END,
                    'S' || min(i, 29), 'O' || i, NULL, 'C' || i, 'T' || i, 'wechat', 100, 'CNY',
                    90 + i, 'CNY', i % 2, 'detail ' || i
             FROM n;
             CREATE TEMP VIEW scoped_item AS SELECT finding_id FROM main.finding_item
             WHERE state = 'OPEN';",
        )
        .unwrap();
        let (day, now) = ("2026-11-29", "2026-11-29T08:00:00Z");
        if all {
            run_transitions(
                &conn,
                TRANSITIONS,
                day,
                now,
                "+3 days",
                &mut Default::default(),
            )
            .unwrap();
        } else {
            record(&conn, day, now, 3, &mut Default::default()).unwrap();
        }
        let dump = |sql: &str| -> Vec<String> {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        (
            dump(
                "SELECT finding_id || kind || subject || detail || refund_minor || first_seen
                        || last_seen || state || coalesce(resolved_on, '-')
                 FROM finding_item ORDER BY finding_id",
            ),
            dump(
                "SELECT finding_id || business_day || event || by_whom || coalesce(note, '-')
                 FROM finding_event ORDER BY finding_id, event",
            ),
        )
    }

    /// A ledger empty before the run needs only the opening steps: the
    /// others would leave it exactly as they found it.
    #[test]
    fn an_empty_ledger_is_only_opened() {
        let (items, events) = first_day_ledger(false);
        assert_eq!(items.len(), 29);
        assert_eq!(events.len(), 29);
        assert_eq!((items, events), first_day_ledger(true));
    }

    /// A team runs payrecon every morning for years: recording a day must
    /// not walk the whole ledger (a scan of it cost a 1M-order morning
    /// seconds more every week).
    #[test]
    fn recording_a_day_costs_the_same_whatever_the_ledger_holds() {
        let small = work_of_a_day(1_000);
        let large = work_of_a_day(30_000);
        assert!(
            large < small + small / 4,
            "a day's work grew with the ledger: {small} steps with 1,000 old items, {large} with 30,000"
        );
    }
}
