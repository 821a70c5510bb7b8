//! Reusing a day's outputs when nothing has changed since they were made.
//!
//! Everything a run's outputs depend on is in the database: the loaded
//! files, the issued instructions and the refund job's results, the findings
//! ledger, plus the settle lag and this program's version. The state key
//! summarises the parts a run can change (files, instructions and ledger
//! events only ever grow; a replaced file adds a file; a person's
//! resolution waits with resolved_on '' until a run reports it). A run whose key equals the one stored with a day's
//! outputs would compute the same bytes. The outputs themselves are files:
//! the database keeps their SHA-256, and such a run reuses the published
//! files when they are intact (copying them if it writes to another folder),
//! at the cost of hashing them.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::PathBuf;

/// The state key for `business_day` now. Every part is an index lookup or
/// a count of a small table: the ledgers grow every day, forever.
pub fn state_key(conn: &Connection, business_day: &str, settle_lag_days: u32) -> Result<String> {
    let state: String = conn.query_row(
        "SELECT (SELECT count(*) || '/' || coalesce(max(file_id), 0) FROM loaded_file)
             -- Instructions and events are only appended (a removal ticks
             -- the clock), so their last rowids say whether any was added.
             || ';' || (SELECT coalesce(max(rowid), 0) FROM refund_instruction)
             || ';' || (SELECT coalesce(max(rowid), 0) FROM finding_event)
             || ';' || (SELECT count(*) FROM finding_item WHERE state = 'RESOLVED' AND resolved_on = '')
             -- Compaction removes rows without loading a file.
             || ';' || (SELECT count(*) FROM compacted_day)
             -- Every change to an instruction: the refund job's answers
             -- (two answers swapped too), a re-issue, archiving.
             || ';' || (SELECT ticks FROM ledger_clock)",
        [],
        |r| r.get(0),
    )?;
    Ok(format!(
        "{} rules {};{business_day};lag {settle_lag_days};{state}",
        env!("CARGO_PKG_VERSION"),
        crate::reconcile::rules_digest(),
    ))
}

/// The SHA-256 of each of `business_day`'s outputs, by name, if they were
/// made from `key`.
pub fn digests(
    conn: &Connection,
    business_day: &str,
    key: &str,
) -> Result<Option<Vec<(String, String)>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, sha256, state_key = ?2 FROM day_output WHERE business_day = ?1 ORDER BY name",
    )?;
    let rows: Vec<(String, String, bool)> = stmt
        .query_map(params![business_day, key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if rows.is_empty() || rows.iter().any(|(_, _, same)| !same) {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .map(|(name, digest, _)| (name, digest))
            .collect(),
    ))
}

/// Records the digests of a day's outputs with the key of the state they
/// leave behind.
pub fn store(
    conn: &Connection,
    business_day: &str,
    key: &str,
    digests: &[(String, String)],
) -> Result<()> {
    conn.execute(
        "DELETE FROM day_output WHERE business_day = ?1",
        [business_day],
    )?;
    let mut insert = conn.prepare_cached("INSERT INTO day_output VALUES (?1, ?2, ?3, ?4)")?;
    for (name, digest) in digests {
        insert.execute(params![business_day, name, key, digest])?;
    }
    Ok(())
}

/// The first of `folders` holding every output with its recorded digest:
/// outputs that can be reused as they are.
pub fn intact_outputs(folders: &[PathBuf], digests: &[(String, String)]) -> Option<PathBuf> {
    folders
        .iter()
        .find(|folder| {
            digests.iter().all(|(name, digest)| {
                super::load::file_sha256(&folder.join(name)).ok().as_ref() == Some(digest)
            })
        })
        .cloned()
}

/// The folder `business_day`'s outputs were last published to, if known.
pub fn published_folder(conn: &Connection, business_day: &str) -> Result<Option<PathBuf>> {
    let folder: Option<String> = conn
        .query_row(
            "SELECT out_dir FROM published_day WHERE business_day = ?1",
            [business_day],
            |r| r.get(0),
        )
        .optional()?;
    Ok(folder.filter(|f| !f.is_empty()).map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::work::{long_history, pages_read};

    fn ledger(days: i64) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        long_history(&conn, days, 100);
        conn
    }

    /// A team runs payrecon every morning for years: telling whether a
    /// day's outputs can be reused must not read the whole ledgers
    /// (counting every event and hashing every answered instruction did,
    /// twice a run).
    #[test]
    fn the_state_key_reads_the_same_whatever_the_ledgers_hold() {
        let read = |days| {
            let conn = ledger(days);
            pages_read(&conn, || {
                state_key(&conn, "2026-11-29", 1).unwrap();
            })
        };
        let (short, long) = (read(10), read(300));
        assert!(
            long <= short + 8,
            "the state key read {short} pages after 10 days of history, {long} after 300"
        );
    }

    /// Every change to an instruction changes the key (two answers of the
    /// refund job swapped too); an update that changes nothing does not.
    #[test]
    fn the_state_key_follows_every_change_to_an_instruction() {
        let conn = ledger(2);
        let key = || state_key(&conn, "2026-11-29", 1).unwrap();
        let mut seen = vec![key()];
        let mut changed = |sql: &str| {
            conn.execute_batch(sql).unwrap();
            let now = key();
            assert!(!seen.contains(&now), "no new key after: {sql}");
            seen.push(now);
        };
        changed(
            "UPDATE refund_instruction SET result = 'REJECTED' WHERE refund_request_id = 'ROLD3'",
        );
        changed(
            "UPDATE refund_instruction SET result = CASE refund_request_id
                 WHEN 'ROLD3' THEN 'ACCEPTED' ELSE 'REJECTED' END
             WHERE refund_request_id IN ('ROLD3', 'ROLD6')",
        );
        changed(
            "UPDATE refund_instruction SET result_message = 'no such account' WHERE refund_request_id = 'ROLD6'",
        );
        changed("UPDATE refund_instruction SET reissued_as = '' WHERE refund_request_id = 'ROLD6'");
        changed("UPDATE refund_instruction SET archived = 0 WHERE refund_request_id = 'ROLD9'");
        changed("DELETE FROM refund_instruction WHERE refund_request_id = 'ROLD12'");
        changed("DELETE FROM finding_event WHERE rowid = 5");
        changed(
            "INSERT INTO finding_event (finding_id, business_day, recorded_at, event, by_whom)
             VALUES ('FOLD1', '2026-11-29', '2026-11-29T08:00:00Z', 'REOPENED', 'data')",
        );
        let before = key();
        conn.execute_batch(
            "UPDATE refund_instruction SET result = result, archived = archived;
             UPDATE finding_item SET last_seen = last_seen;",
        )
        .unwrap();
        assert_eq!(
            key(),
            before,
            "an update that changed nothing changed the key"
        );
    }
}
