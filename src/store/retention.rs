//! Retention: the rows of old days whose findings are all closed are
//! compacted away, so the database holds what can still change plus the
//! ledgers (loaded-file hashes, refund instructions, findings), which are
//! kept forever: a re-sent old file is still recognised, and an old refund
//! is never issued twice.
//!
//! A settlement file older than the cutoff is compacted when none of its
//! rows belongs to an order with an open finding or an instruction the
//! channel has not confirmed; a whole order is kept while anything of it is
//! open, since the rules judge an order's payments together. Attempts of
//! compacted channel days go with them (those of kept orders stay).

use anyhow::{Context, Result};
use rusqlite::Connection;

/// What one compaction removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    pub files: usize,
    pub settlement_rows: usize,
    pub attempts: usize,
}

/// Compacts the settlement days before `cutoff` (YYYY-MM-DD) whose findings
/// are all closed. Runs in the caller's transaction.
pub fn compact(conn: &Connection, cutoff: &str) -> Result<Compacted> {
    // A database judged once may not have them yet; without them each
    // unarchived instruction would scan the compacted rows for its payment.
    super::schema::ensure_follow_indexes(conn)?;
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.refund_row;
         CREATE TEMP TABLE refund_row AS
         SELECT channel, channel_txn_id, refund_id, amount_minor FROM settlement_row
         WHERE kind = 'REFUND';
         CREATE INDEX temp.refund_row_key ON refund_row(channel, channel_txn_id);
         -- Orders with an open finding, or an instruction still in flight
         -- (not confirmed by a channel row, not rejected).
         DROP TABLE IF EXISTS temp.kept_order;
         CREATE TEMP TABLE kept_order (order_id TEXT PRIMARY KEY) WITHOUT ROWID;
         INSERT OR IGNORE INTO kept_order
         SELECT order_id FROM finding_item WHERE state = 'OPEN' AND coalesce(order_id, '') <> ''
         UNION
         SELECT i.order_id FROM refund_instruction i
         WHERE i.archived = 0 AND i.result IS NOT 'REJECTED'
           AND NOT EXISTS (SELECT 1 FROM temp.refund_row r
                           WHERE r.channel = i.channel AND r.channel_txn_id = i.channel_txn_id
                             AND (r.refund_id = i.refund_request_id
                                  OR (r.refund_id = '' AND r.amount_minor = i.amount_minor)));
         -- What is kept, by the keys settlement rows carry.
         DROP TABLE IF EXISTS temp.kept_attempt;
         CREATE TEMP TABLE kept_attempt (channel TEXT, channel_order_id TEXT,
                                         PRIMARY KEY (channel, channel_order_id)) WITHOUT ROWID;
         INSERT OR IGNORE INTO kept_attempt
         SELECT channel, channel_order_id FROM attempt
         WHERE order_id IN (SELECT order_id FROM temp.kept_order)
         UNION
         SELECT channel, channel_order_id FROM finding_item
         WHERE state = 'OPEN' AND coalesce(channel_order_id, '') <> '';
         DROP TABLE IF EXISTS temp.kept_txn;
         CREATE TEMP TABLE kept_txn (channel TEXT, channel_txn_id TEXT,
                                     PRIMARY KEY (channel, channel_txn_id)) WITHOUT ROWID;
         INSERT OR IGNORE INTO kept_txn
         SELECT channel, channel_txn_id FROM finding_item
         WHERE state = 'OPEN' AND coalesce(channel_txn_id, '') <> ''
         UNION
         SELECT channel, channel_txn_id FROM refund_instruction
         WHERE order_id IN (SELECT order_id FROM temp.kept_order);",
    )?;
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.compacting;
         CREATE TEMP TABLE compacting (file_id INTEGER PRIMARY KEY, channel TEXT, day TEXT);",
    )?;
    conn.execute(
        "INSERT INTO temp.compacting
         SELECT f.file_id, f.channel, f.day FROM loaded_file f
         WHERE f.role = 'settlement' AND f.replaced_by IS NULL AND f.day < ?1
           AND NOT EXISTS (SELECT 1 FROM compacted_day d
                           WHERE d.channel = f.channel AND d.day = f.day)
           AND NOT EXISTS (SELECT 1 FROM settlement_row s
                           WHERE s.file_id = f.file_id
                             AND (EXISTS (SELECT 1 FROM temp.kept_txn k
                                          WHERE k.channel = s.channel
                                            AND k.channel_txn_id = s.channel_txn_id)
                                  OR EXISTS (SELECT 1 FROM temp.kept_attempt k
                                             WHERE k.channel = s.channel
                                               AND k.channel_order_id = s.channel_order_id)))",
        [cutoff],
    )?;
    // A payment row goes only with its attempt, and an attempt with all of
    // its payment rows (else the next run would see a payment without its
    // attempt, UNMATCHED_CHANNEL, or an attempt without its payment,
    // MISSING_IN_CHANNEL). A file stays while a row of it belongs to an
    // attempt of a day that stays; the attempts of a compacted day take
    // their rows in later files with them (the T+1 payments in the next
    // day's file), so a day's spill into the next never keeps both.
    loop {
        let payment_kept_by_attempt = conn.execute(
            "DELETE FROM temp.compacting
             WHERE EXISTS (
                 SELECT 1 FROM settlement_row s
                 JOIN attempt a ON a.channel_order_id = s.channel_order_id
                 WHERE s.file_id = compacting.file_id
                   AND NOT EXISTS (SELECT 1 FROM temp.compacting c
                                   WHERE c.channel = a.channel AND c.day = a.created_day)
                   AND NOT EXISTS (SELECT 1 FROM compacted_day d
                                   WHERE d.channel = a.channel AND d.day = a.created_day))",
            [],
        )?;
        if payment_kept_by_attempt == 0 {
            break;
        }
    }
    let files: i64 = conn.query_row("SELECT count(*) FROM temp.compacting", [], |r| r.get(0))?;
    let files = files as usize;
    conn.execute_batch(
        "-- (The instructions not archived yet drive, each looked up by its
         -- transaction: there are fewer of them than rows compacted.)
         UPDATE refund_instruction SET archived = 1
         WHERE archived = 0
           AND EXISTS (SELECT 1 FROM settlement_row s
                       WHERE s.channel = refund_instruction.channel
                         AND s.channel_txn_id = refund_instruction.channel_txn_id
                         AND s.file_id IN (SELECT file_id FROM temp.compacting));
         INSERT OR IGNORE INTO compacted_day
         SELECT channel, day, (SELECT max(file_id) FROM loaded_file) FROM temp.compacting;",
    )?;
    let mut settlement_rows = conn.execute(
        "DELETE FROM settlement_row WHERE file_id IN (SELECT file_id FROM temp.compacting)",
        [],
    )?;
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS leaving (channel_order_id TEXT PRIMARY KEY) WITHOUT ROWID",
        [],
    )?;
    conn.execute("DELETE FROM temp.leaving", [])?;
    conn.execute(
        "INSERT INTO temp.leaving
         SELECT channel_order_id FROM attempt
         WHERE created_day < ?1
           AND EXISTS (SELECT 1 FROM compacted_day d
                       WHERE d.channel = attempt.channel AND d.day = attempt.created_day)
           AND NOT EXISTS (SELECT 1 FROM temp.kept_attempt k
                           WHERE k.channel = attempt.channel
                             AND k.channel_order_id = attempt.channel_order_id)",
        [cutoff],
    )?;
    // Their payments in files that stay (T+1 rows in the next day's file).
    settlement_rows += conn.execute(
        "DELETE FROM settlement_row
         WHERE channel_order_id IN (SELECT channel_order_id FROM temp.leaving)",
        [],
    )?;
    let attempts = conn.execute(
        "DELETE FROM attempt WHERE channel_order_id IN (SELECT channel_order_id FROM temp.leaving)",
        [],
    )?;
    Ok(Compacted {
        files,
        settlement_rows,
        attempts,
    })
}

/// Whether any settlement day before `cutoff` is not compacted yet (one
/// lookup in the small loaded_file table).
pub fn is_due(conn: &Connection, cutoff: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM loaded_file f
                        WHERE f.role = 'settlement' AND f.replaced_by IS NULL AND f.day < ?1
                          AND NOT EXISTS (SELECT 1 FROM compacted_day d
                                          WHERE d.channel = f.channel AND d.day = f.day))",
        [cutoff],
        |r| r.get(0),
    )?)
}

/// Whether a channel day was compacted: its files cannot be corrected any
/// more (their rows, and what the rules decided on them, are gone).
pub fn is_compacted(conn: &Connection, channel: &str, day: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM compacted_day WHERE channel = ?1 AND day = ?2)",
        [channel, day],
        |r| r.get(0),
    )?)
}

/// The first day kept: `retention_days` before `business_day`.
pub fn cutoff_day(business_day: &str, retention_days: u32) -> Result<String> {
    let day = crate::timestamp::parse_day(business_day)
        .with_context(|| format!("'{business_day}' is not a day"))?;
    Ok((day - chrono::Duration::days(i64::from(retention_days))).to_string())
}
