//! Refund instructions: issued once, ever, for what is still unrefunded.
//!
//! The amount comes from the rule (`unrefunded`: the payment's amount minus
//! the channel's refunds minus our earlier instructions), so it can never
//! exceed what was captured. The id is derived from what is refunded, so a
//! rerun computes the same id and the channel's own idempotency on the
//! merchant refund number protects a file submitted twice.

use anyhow::Result;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

/// One line of refunds.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundInstruction {
    pub refund_request_id: String,
    pub business_day: String,
    pub channel: String,
    pub channel_txn_id: String,
    pub channel_order_id: String,
    pub order_id: String,
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
    /// What explains the amount, as the rule saw it when issuing it (None
    /// for an instruction issued before payrecon kept it): the payment
    /// captured, the channel's refunds of it, and payrecon's earlier
    /// instructions the channel had not reported. `amount_minor` is what
    /// is refunded now: captured − both, or less when what is left of the
    /// payment's attempt is less.
    pub captured_minor: Option<i64>,
    pub channel_refunded_minor: Option<i64>,
    pub instructed_before_minor: Option<i64>,
}

/// The merchant refund number: `PR` and 30 hex digits of a SHA-256 over the
/// payment, the amount and what was refunded before. It fits every
/// channel's limit (WeChat out_refund_no and Alipay out_request_no: 64).
///
/// `shared_txn_order` is the payment's order key when its transaction id
/// also names another payment (CHANNEL_ID_CONFLICT), else empty: the two
/// payments then get distinct ids. `earlier` counts payrecon's earlier
/// instructions for the transaction: a second instruction for the same
/// amount after the same refunded total (a channel refund withdrawn by a
/// correction) gets an id of its own. Both add to the key only when set,
/// so every other id stays as it was.
pub fn refund_request_id(
    channel: &str,
    channel_txn_id: &str,
    shared_txn_order: &str,
    currency: &str,
    amount: i64,
    refunded_before: i64,
    earlier: i64,
) -> String {
    let mut key = format!(
        "payrecon-refund\u{1f}{channel}\u{1f}{channel_txn_id}\u{1f}{currency}\u{1f}{amount}\u{1f}{refunded_before}"
    );
    if !shared_txn_order.is_empty() {
        key.push_str(&format!("\u{1f}order\u{1f}{shared_txn_order}"));
    }
    if earlier > 0 {
        key.push_str(&format!("\u{1f}earlier\u{1f}{earlier}"));
    }
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    format!("PR{}", &digest[..30])
}

/// Issues, for `business_day`, an instruction for every refund finding with
/// something left to refund: one set-based statement over the run's
/// findings. An id already issued is never issued again. New instructions
/// go into the day's open batch (`store::refund_files::open_batch`): never
/// into a refund file already committed with rows. With `judging_the_past`
/// (an earlier day judged after a later one), a rejected instruction a
/// person released is not re-issued yet: filed under that earlier day it
/// would land in an old folder, overdue at once. The next run of a current
/// day issues it (its attempt stays marked for re-judging until then).
pub fn issue(conn: &Connection, business_day: &str, judging_the_past: bool) -> Result<()> {
    let batch = crate::store::refund_files::open_batch(conn, business_day)?;
    let issued_before: i64 = conn.query_row(
        "SELECT coalesce(max(rowid), 0) FROM refund_instruction",
        [],
        |r| r.get(0),
    )?;
    conn.create_scalar_function(
        "payrecon_refund_id",
        7,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(refund_request_id(
                &ctx.get::<String>(0)?,
                &ctx.get::<String>(1)?,
                &ctx.get::<String>(2)?,
                &ctx.get::<String>(3)?,
                ctx.get(4)?,
                ctx.get(5)?,
                ctx.get(6)?,
            ))
        },
    )?;
    conn.execute(
        "INSERT INTO refund_instruction
             (refund_request_id, business_day, channel, channel_txn_id, channel_order_id,
              order_id, payment_id, amount_minor, currency, reason, batch,
              captured_minor, channel_refunded_minor, instructed_before_minor)
         SELECT payrecon_refund_id(f.channel, f.channel_txn_id,
                                   CASE WHEN EXISTS (SELECT 1 FROM temp.paid q
                                                     WHERE q.channel = f.channel
                                                       AND q.channel_txn_id = f.channel_txn_id
                                                       AND q.channel_order_id <> f.channel_order_id)
                                        THEN f.channel_order_id ELSE '' END,
                                   f.channel_currency, f.refund_minor,
                                   p.refunded_by_channel + p.pending_ours,
                                   (SELECT count(*) FROM refund_instruction e
                                    WHERE e.channel = f.channel
                                      AND e.channel_txn_id = f.channel_txn_id)),
                ?1, f.channel, f.channel_txn_id, f.channel_order_id, f.order_id, f.payment_id,
                f.refund_minor, f.channel_currency, f.kind, ?2,
                p.channel_amount, p.refunded_by_channel, p.pending_ours
         FROM temp.finding f
         JOIN temp.refundable p ON p.channel = f.channel AND p.channel_txn_id = f.channel_txn_id
                               AND p.channel_order_id = f.channel_order_id
         WHERE f.kind IN ('DUPLICATE_PAYMENT', 'PAID_AFTER_CLOSE') AND f.refund_minor > 0
           -- A payment (or attempt) whose instruction the refund job
           -- rejected waits for a person (`payrecon reissue`): never
           -- refunded again by itself, whatever its transaction id now.
           -- (Two lookups, one per index: an OR of the two keys scanned
           -- every instruction for every finding.)
           AND NOT EXISTS (SELECT 1 FROM refund_instruction r
                           WHERE r.channel = f.channel AND r.channel_txn_id = f.channel_txn_id
                             AND r.result = 'REJECTED' AND r.reissued_as IS NULL)
           AND NOT EXISTS (SELECT 1 FROM refund_instruction r
                           WHERE r.channel = f.channel AND r.channel_order_id = f.channel_order_id
                             AND r.result = 'REJECTED' AND r.reissued_as IS NULL)
           AND NOT (?3 AND (EXISTS (SELECT 1 FROM refund_instruction r
                                    WHERE r.channel = f.channel
                                      AND r.channel_txn_id = f.channel_txn_id
                                      AND r.reissued_as = '')
                            OR EXISTS (SELECT 1 FROM refund_instruction r
                                       WHERE r.channel = f.channel
                                         AND r.channel_order_id = f.channel_order_id
                                         AND r.reissued_as = '')))
         ON CONFLICT (refund_request_id) DO NOTHING",
        rusqlite::params![business_day, batch, judging_the_past],
    )?;
    // A rejected instruction a person released (`payrecon reissue`) is
    // re-issued as what the rules found still owed on its attempt now:
    // link the two.
    // Matched by transaction; by attempt only when a correction gave the
    // payment another transaction id.
    conn.execute(
        "UPDATE refund_instruction AS old
         SET reissued_as = coalesce(
                 (SELECT min(new.refund_request_id) FROM refund_instruction new
                  WHERE new.rowid > ?1 AND new.channel = old.channel
                    AND new.channel_txn_id = old.channel_txn_id),
                 (SELECT min(new.refund_request_id) FROM refund_instruction new
                  WHERE new.rowid > ?1 AND new.channel = old.channel
                    AND new.channel_order_id = old.channel_order_id
                    AND NOT EXISTS (SELECT 1 FROM refund_instruction taken
                                    WHERE taken.reissued_as = new.refund_request_id)))
         WHERE old.reissued_as = ''
           AND EXISTS (SELECT 1 FROM refund_instruction new
                       WHERE new.rowid > ?1 AND new.channel = old.channel
                         AND new.channel_order_id = old.channel_order_id)",
        [issued_before],
    )?;
    conn.execute(
        "UPDATE refund_instruction AS new SET reissue_of = old.refund_request_id
         FROM refund_instruction AS old
         WHERE new.rowid > ?1 AND old.reissued_as = new.refund_request_id",
        [issued_before],
    )?;
    // What the findings record is what is left to refund after this run:
    // the same whether the instruction was issued now or by a run that was
    // killed after its commit and is being resumed.
    conn.execute(
        "UPDATE temp.finding SET refund_minor = 0
         WHERE kind IN ('DUPLICATE_PAYMENT', 'PAID_AFTER_CLOSE') AND refund_minor > 0
           AND EXISTS (SELECT 1 FROM refund_instruction i
                       WHERE i.channel = finding.channel
                         AND i.channel_txn_id = finding.channel_txn_id
                         AND i.channel_order_id = finding.channel_order_id
                         AND i.business_day = ?1 AND i.amount_minor = finding.refund_minor)",
        [business_day],
    )?;
    Ok(())
}

/// Records the refund job's results (all or nothing: an id payrecon never
/// issued is an error naming its line). A REJECTED instruction no longer
/// counts as refunded; an ACCEPTED one still waits for the channel's
/// confirmation.
pub fn apply_results(
    conn: &Connection,
    path: &std::path::Path,
    results: &[crate::ingest::refund_results::RefundResult],
) -> Result<usize> {
    let mut update = conn.prepare_cached(
        "UPDATE refund_instruction SET result = ?2, result_message = ?3
         WHERE refund_request_id = ?1",
    )?;
    for r in results {
        let status = if r.rejected { "REJECTED" } else { "ACCEPTED" };
        crate::store::changes::rejudge_instruction(conn, &r.refund_request_id)?;
        if update.execute(rusqlite::params![r.refund_request_id, status, r.message])? == 0 {
            return Err(crate::error::InputError {
                path: path.to_path_buf(),
                line: r.line,
                column: Some("refund_request_id".into()),
                problem: format!(
                    "'{}' is no refund instruction payrecon issued (is it another database's results file?)",
                    r.refund_request_id
                ),
            }
            .into());
        }
    }
    Ok(results.len())
}

/// Why an instruction cannot be re-issued.
#[derive(Debug, thiserror::Error)]
pub enum ReissueError {
    #[error("no refund instruction has the id {0}")]
    Unknown(String),
    #[error("{0} was not rejected by the refund job (only a REJECTED instruction is re-issued)")]
    NotRejected(String),
    #[error("{0} was re-issued already ({1})")]
    AlreadyReissued(String, String),
}

/// Releases a rejected instruction for re-issue. Nothing is issued here:
/// the next run refunds what its rules find still owed on that payment now
/// (after any refund the channel made by hand, a correction, or a payment
/// gone), under a new deterministic id filed under its business day, and
/// links the two (`reissued_as`, `reissue_of`).
pub fn reissue(conn: &Connection, refund_request_id: &str) -> Result<()> {
    let found: Option<(Option<String>, Option<String>)> = conn
        .query_row(
            "SELECT result, reissued_as FROM refund_instruction WHERE refund_request_id = ?1",
            [refund_request_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match found {
        None => return Err(ReissueError::Unknown(refund_request_id.into()).into()),
        Some((_, Some(new))) => {
            let what = if new.is_empty() {
                "released, waiting for the next run".to_string()
            } else {
                format!("as {new}")
            };
            return Err(ReissueError::AlreadyReissued(refund_request_id.into(), what).into());
        }
        Some((result, None)) if result.as_deref() != Some("REJECTED") => {
            return Err(ReissueError::NotRejected(refund_request_id.into()).into());
        }
        Some(_) => {}
    }
    conn.execute(
        "UPDATE refund_instruction SET reissued_as = '' WHERE refund_request_id = ?1",
        [refund_request_id],
    )?;
    crate::store::changes::rejudge_instruction(conn, refund_request_id)?;
    Ok(())
}

/// Where every instruction issued up to a business day stands.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RefundStates {
    /// Confirmed by a channel file (its refund_request_id on a REFUND row,
    /// or the same transaction and amount on a row without one).
    pub confirmed: usize,
    /// Not confirmed yet, within `refund_confirm_days`.
    pub awaiting: usize,
    /// Not confirmed after `refund_confirm_days`: REFUND_NOT_CONFIRMED.
    pub overdue: usize,
    /// Rejected by the refund job and not re-issued: REFUND_REJECTED.
    pub rejected: usize,
    /// Rejected, then re-issued by a person under a new id.
    pub reissued: usize,
}

/// Counts the instructions issued up to `business_day` by where they stand,
/// against every loaded refund row (whatever the run judged).
pub fn states(conn: &Connection, business_day: &str, confirm_days: u32) -> Result<RefundStates> {
    let refunds = "main.settlement_row r WHERE r.kind = 'REFUND'";
    // Archived instructions are settled and counted in a tally (schema
    // migration 13); only those still in flight are read one by one.
    let mut stmt = conn.prepare(&format!(
        "SELECT state, sum(n) FROM (
             SELECT state, n FROM refund_archive_tally
             WHERE business_day <> '' AND business_day <= ?1
             UNION ALL
             SELECT CASE
                      WHEN i.reissued_as IS NOT NULL THEN 'reissued'
                      WHEN i.result IS 'REJECTED' THEN 'rejected'
                      WHEN EXISTS (SELECT 1 FROM {refunds}
                                     AND r.channel = i.channel AND r.channel_txn_id = i.channel_txn_id
                                     AND (r.refund_id = i.refund_request_id
                                          OR (r.refund_id = '' AND r.amount_minor = i.amount_minor)))
                           THEN 'confirmed'
                      WHEN i.business_day <= date(?1, '-' || ?2 || ' days') THEN 'overdue'
                      ELSE 'awaiting' END,
                    1
             FROM refund_instruction i
             WHERE i.archived = 0 AND i.business_day <> '' AND i.business_day <= ?1)
         GROUP BY state"
    ))?;
    let mut states = RefundStates::default();
    let rows = stmt.query_map(rusqlite::params![business_day, confirm_days], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize))
    })?;
    for row in rows {
        let (state, n) = row?;
        match state.as_str() {
            "confirmed" => states.confirmed = n,
            "overdue" => states.overdue = n,
            "rejected" => states.rejected = n,
            "reissued" => states.reissued = n,
            _ => states.awaiting = n,
        }
    }
    Ok(states)
}

/// How many instructions `business_day`'s `batch` holds.
pub fn count_in_batch(conn: &Connection, business_day: &str, batch: i64) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM refund_instruction WHERE business_day = ?1 AND batch = ?2",
        rusqlite::params![business_day, batch],
        |r| r.get(0),
    )?)
}

/// The instructions issued for `business_day` in `batch`: one of that
/// day's refund files (`store::refund_files::file_name`).
pub fn for_batch(
    conn: &Connection,
    business_day: &str,
    batch: i64,
) -> Result<Vec<RefundInstruction>> {
    let mut stmt = conn.prepare_cached(
        "SELECT refund_request_id, business_day, channel, channel_txn_id, channel_order_id,
                order_id, payment_id, amount_minor, currency, reason,
                captured_minor, channel_refunded_minor, instructed_before_minor
         FROM refund_instruction WHERE business_day = ?1 AND batch = ?2
         ORDER BY channel, channel_txn_id, refund_request_id",
    )?;
    let rows = stmt.query_map(rusqlite::params![business_day, batch], |r| {
        Ok(RefundInstruction {
            refund_request_id: r.get(0)?,
            business_day: r.get(1)?,
            channel: r.get(2)?,
            channel_txn_id: r.get(3)?,
            channel_order_id: r.get(4)?,
            order_id: r.get(5)?,
            payment_id: r.get(6)?,
            amount_minor: r.get(7)?,
            currency: r.get(8)?,
            reason: r.get(9)?,
            captured_minor: r.get(10)?,
            channel_refunded_minor: r.get(11)?,
            instructed_before_minor: r.get(12)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = refund_request_id("wechat", "T1", "", "CNY", 100, 0, 0);
        assert_eq!(a, refund_request_id("wechat", "T1", "", "CNY", 100, 0, 0));
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("PR") && a[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, refund_request_id("wechat", "T1", "", "CNY", 100, 50, 0));
        assert_ne!(a, refund_request_id("alipay", "T1", "", "CNY", 100, 0, 0));
        assert_ne!(a, refund_request_id("wechat", "T2", "", "CNY", 100, 0, 0));
        assert_ne!(a, refund_request_id("wechat", "T1", "C1", "CNY", 100, 0, 0));
        assert_ne!(a, refund_request_id("wechat", "T1", "", "CNY", 100, 0, 1));
    }

    /// Where each instruction stands, read one by one (what [`states`]
    /// computed before archived instructions were tallied).
    fn states_one_by_one(conn: &Connection, day: &str) -> RefundStates {
        let mut states = RefundStates::default();
        let mut stmt = conn
            .prepare(
                "SELECT CASE WHEN reissued_as IS NOT NULL THEN 'reissued'
                             WHEN result IS 'REJECTED' THEN 'rejected'
                             WHEN archived = 1 THEN 'confirmed'
                             WHEN business_day <= date(?1, '-3 days') THEN 'overdue'
                             ELSE 'awaiting' END
                 FROM refund_instruction WHERE business_day <= ?1",
            )
            .unwrap();
        let rows = stmt.query_map([day], |r| r.get::<_, String>(0)).unwrap();
        for state in rows {
            match state.unwrap().as_str() {
                "confirmed" => states.confirmed += 1,
                "overdue" => states.overdue += 1,
                "rejected" => states.rejected += 1,
                "reissued" => states.reissued += 1,
                _ => states.awaiting += 1,
            }
        }
        states
    }

    fn ledger(days: i64) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        crate::store::work::long_history(&conn, days, 100);
        conn
    }

    /// The tally of archived instructions follows every change to them
    /// (archiving, a late answer of the refund job, a re-issue, a removal),
    /// and is counted with the instructions in flight as they were when
    /// each was read one by one.
    #[test]
    fn archived_refunds_are_tallied_as_they_stand() {
        let conn = ledger(5);
        let check = |what: &str| {
            for day in ["2025-01-02", "2025-01-04", "2026-11-29"] {
                assert_eq!(
                    states(&conn, day, 3).unwrap(),
                    states_one_by_one(&conn, day),
                    "{what}, as of {day}"
                );
            }
        };
        check("as migrated");
        for (what, sql) in [
            (
                "in flight again",
                "UPDATE refund_instruction SET archived = 0 WHERE rowid % 5 = 0",
            ),
            (
                "archived again",
                "UPDATE refund_instruction SET archived = 1 WHERE rowid % 10 = 0",
            ),
            (
                "a late rejection",
                "UPDATE refund_instruction SET result = 'REJECTED' WHERE rowid % 7 = 0",
            ),
            (
                "re-issued",
                "UPDATE refund_instruction SET reissued_as = '' WHERE rowid % 11 = 1",
            ),
            (
                "issued later",
                "UPDATE refund_instruction SET business_day = '2025-01-04' WHERE rowid % 13 = 0",
            ),
            (
                "removed",
                "DELETE FROM refund_instruction WHERE rowid % 17 = 0",
            ),
        ] {
            conn.execute_batch(sql).unwrap();
            check(what);
        }
        let states = states(&conn, "2026-11-29", 3).unwrap();
        assert!(states.confirmed > 0 && states.rejected > 0 && states.reissued > 0);
        assert!(states.overdue > 0, "{states:?}");
    }

    /// A team runs payrecon every morning for years: where the refunds
    /// stand is read from the instructions in flight and a tally of the
    /// settled ones, not from every instruction ever issued.
    #[test]
    fn refund_states_read_the_same_whatever_the_ledger_holds() {
        let read = |days| {
            let conn = ledger(days);
            crate::store::work::pages_read(&conn, || {
                states(&conn, "2026-11-29", 3).unwrap();
            })
        };
        let (short, long) = (read(10), read(300));
        assert!(
            long <= short + 8,
            "the refund states read {short} pages after 10 days of history, {long} after 300"
        );
    }
}
