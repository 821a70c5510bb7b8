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

/// The state key for `business_day` now.
pub fn state_key(conn: &Connection, business_day: &str, settle_lag_days: u32) -> Result<String> {
    let state: String = conn.query_row(
        "SELECT (SELECT count(*) || '/' || coalesce(max(file_id), 0) FROM loaded_file)
             || ';' || (SELECT count(*) || '/' || coalesce(max(rowid), 0) FROM refund_instruction)
             || ';' || (SELECT count(*) || '/' || coalesce(max(rowid), 0) FROM finding_event)
             || ';' || (SELECT count(*) FROM finding_item WHERE state = 'RESOLVED' AND resolved_on = '')
             -- Compaction removes rows without loading a file.
             || ';' || (SELECT count(*) FROM compacted_day)
             || ';' || (SELECT count(*) || '/' || coalesce(sum(result = 'ACCEPTED'), 0)
                               || '/' || coalesce(sum(result = 'REJECTED'), 0)
                               || '/' || coalesce(sum(reissued_as IS NOT NULL), 0)
                               || '/' || coalesce(sum(reissued_as = ''), 0)
                        FROM refund_instruction)",
        [],
        |r| r.get(0),
    )?;
    // Which instruction has which answer from the refund job (counts alone
    // miss two answers swapped).
    let answers: String = conn.query_row(
        "SELECT coalesce(group_concat(refund_request_id || '=' || coalesce(result, '')
                                      || '>' || coalesce(reissued_as, '-'), ','), '')
         FROM (SELECT * FROM refund_instruction
               WHERE result IS NOT NULL OR reissued_as IS NOT NULL
               ORDER BY refund_request_id)",
        [],
        |r| r.get(0),
    )?;
    use sha2::Digest;
    let answers = hex::encode(sha2::Sha256::digest(answers.as_bytes()));
    Ok(format!(
        "{} rules {};{business_day};lag {settle_lag_days};{state};answers {}",
        env!("CARGO_PKG_VERSION"),
        crate::reconcile::rules_digest(),
        &answers[..16]
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
