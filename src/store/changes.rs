//! What a run's loads changed, for incremental judgement: the attempts (by
//! `channel_order_id`) and the channel transactions whose rows a load added,
//! superseded or deleted. Kept in temp tables for the run's transaction
//! (a failed run leaves nothing behind); `reconcile::scope` starts from
//! them. Changes made outside a run (a refund re-issued, a refund job's
//! results) go to the persistent `rejudge` table instead.

use anyhow::Result;
use rusqlite::Connection;

/// Creates the run's change tables (once per connection): from then on the
/// loaders note what they change. A run that judges everything does not
/// call it, and its loads note nothing.
pub fn track(conn: &Connection) -> Result<()> {
    // changed_attempt.order_id: the attempt's order after the load (NULL
    // for a key only a settlement row gave); changed_order: an order an
    // attempt left (an export that gives it another order_id).
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS changed_attempt (
             channel_order_id TEXT PRIMARY KEY, order_id TEXT) WITHOUT ROWID;
         CREATE TEMP TABLE IF NOT EXISTS changed_order (order_id TEXT PRIMARY KEY) WITHOUT ROWID;
         CREATE TEMP TABLE IF NOT EXISTS changed_txn (
             channel TEXT NOT NULL, channel_txn_id TEXT NOT NULL,
             PRIMARY KEY (channel, channel_txn_id)) WITHOUT ROWID;
         CREATE TEMP TRIGGER IF NOT EXISTS attempt_left_its_order
         AFTER UPDATE OF order_id ON main.attempt WHEN old.order_id <> new.order_id
         BEGIN INSERT OR IGNORE INTO changed_order VALUES (old.order_id); END;",
    )?;
    Ok(())
}

/// Whether the loads note what they change ([`track`]).
pub fn is_tracking(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_temp_schema WHERE name = 'changed_attempt')",
        [],
        |r| r.get(0),
    )?)
}

/// Notes the keys of a settlement file's rows: once loaded (rows added), and
/// before a correction deletes them (rows gone).
pub fn note_settlement_file(conn: &Connection, file_id: i64) -> Result<()> {
    if !is_tracking(conn)? {
        return Ok(());
    }
    conn.execute(
        "INSERT OR IGNORE INTO temp.changed_attempt
         SELECT channel_order_id, NULL FROM settlement_row
         WHERE file_id = ?1 AND channel_order_id <> ''",
        [file_id],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO temp.changed_txn
         SELECT channel, channel_txn_id FROM settlement_row WHERE file_id = ?1",
        [file_id],
    )?;
    Ok(())
}

/// The statement that notes a batch of attempts given by an export
/// (`attempt_batch(?1)`, just loaded): added or superseded, their judgement
/// may change. Their order as stored now (an older status given later does
/// not supersede). ?2 (the file) is bound by the loader and unused here.
pub const NOTE_ATTEMPT_BATCH: &str = "INSERT OR REPLACE INTO temp.changed_attempt
     SELECT b.channel_order_id, a.order_id FROM attempt_batch(?1) b
     CROSS JOIN main.attempt a ON a.channel_order_id = b.channel_order_id
     WHERE ?2 IS NOT NULL";

/// Marks attempts for the next run to judge again, from a command that
/// changed what they are judged on outside a run.
pub fn rejudge_instruction(conn: &Connection, refund_request_id: &str) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO rejudge
         SELECT channel_order_id FROM refund_instruction WHERE refund_request_id = ?1",
        [refund_request_id],
    )?;
    Ok(())
}
