//! Refund files: which batch of a day's instructions was staged where, and
//! whether it is known to be in place (see the `refund_file` table).
//!
//! The promise this serves: every committed instruction reaches a published
//! refund file exactly once. A run records each refund file it stages in its
//! own transaction; after the rename it marks them published. A run killed
//! in between leaves them unpublished, and the next run settles them
//! ([`crate::run`]): a file found in place with its recorded SHA-256 is
//! marked published; a missing one is written again from the database.

use anyhow::Result;
use rusqlite::{Connection, params};

/// The name of a day's refund file for `batch`: `refunds.csv` for the
/// first, `refunds-N.csv` for the ones after.
pub fn file_name(batch: i64) -> String {
    if batch <= 1 {
        "refunds.csv".to_string()
    } else {
        format!("refunds-{batch}.csv")
    }
}

/// The batch of a refund file's name, if it is one.
pub fn batch_of(name: &str) -> Option<i64> {
    if name == "refunds.csv" {
        return Some(1);
    }
    name.strip_prefix("refunds-")?
        .strip_suffix(".csv")?
        .parse()
        .ok()
        .filter(|b| *b >= 2)
}

/// One refund file a committed run staged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFile {
    pub business_day: String,
    pub batch: i64,
    /// Empty for a day committed before payrecon recorded paths.
    pub path: String,
    pub sha256: String,
    pub rows: i64,
}

/// The batch new instructions for `business_day` go into: the first one no
/// run has committed a file of (an empty file too: a refund job that took
/// an empty refunds.csv never reads it again).
pub fn open_batch(conn: &Connection, business_day: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT coalesce(max(batch), 0) + 1 FROM refund_file WHERE business_day = ?1",
        [business_day],
        |r| r.get(0),
    )?)
}

/// The batches `business_day` has instructions in (always batch 1, so a
/// day with none still gets an empty refunds.csv).
pub fn batches(conn: &Connection, business_day: &str) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 UNION SELECT DISTINCT batch FROM refund_instruction WHERE business_day = ?1
         ORDER BY 1",
    )?;
    let rows = stmt.query_map([business_day], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records a refund file staged by this run (inside its transaction).
pub fn record(conn: &Connection, file: &RefundFile) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO refund_file (business_day, batch, path, sha256, rows, published)
         VALUES (?1, ?2, ?3, ?4, ?5, 0)
         ON CONFLICT (business_day, batch, path)
         DO UPDATE SET sha256 = excluded.sha256, rows = excluded.rows, published = 0",
    )?
    .execute(params![
        file.business_day,
        file.batch,
        file.path,
        file.sha256,
        file.rows
    ])?;
    Ok(())
}

/// Refund files committed but not known to be in place, oldest first.
pub fn unpublished(conn: &Connection) -> Result<Vec<RefundFile>> {
    select(
        conn,
        "WHERE published = 0 ORDER BY business_day, batch, path",
        [],
    )
}

/// The refund files recorded with these bytes (`sha256`), anywhere.
pub fn with_sha(conn: &Connection, sha256: &str) -> Result<Vec<RefundFile>> {
    select(conn, "WHERE sha256 = ?1", [sha256])
}

fn select(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<RefundFile>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT business_day, batch, path, sha256, rows FROM refund_file {filter}"
    ))?;
    let rows = stmt.query_map(params, |r| {
        Ok(RefundFile {
            business_day: r.get(0)?,
            batch: r.get(1)?,
            path: r.get(2)?,
            sha256: r.get(3)?,
            rows: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Marks `batch` of `business_day` published: its instructions are in a
/// refund file in place (wherever else it was staged before).
pub fn mark_published(conn: &Connection, business_day: &str, batch: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE refund_file SET published = 1 WHERE business_day = ?1 AND batch = ?2",
    )?
    .execute(params![business_day, batch])?;
    Ok(())
}
