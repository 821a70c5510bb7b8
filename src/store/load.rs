//! Bulk loading into the state database, inside the run's transaction.
//!
//! Attempts go through a staging table first, so a channel_order_id given
//! twice in one export is caught (with both lines) before anything merges,
//! and the merge into `attempt` is one set-based statement.

use crate::error::InputError;
use crate::ingest::settlement::ParsedFile;
use crate::model::{Attempt, SettlementRecord};
use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, Statement, params};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// SHA-256 of a file's bytes: the identity of a loaded file.
pub fn file_sha256(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("failed to read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What makes a loaded file the same file as another.
pub struct FileIdentity {
    pub sha256: String,
    pub key: String,
}

impl FileIdentity {
    /// An export is its bytes.
    pub fn of_orders(path: &Path) -> Result<FileIdentity> {
        let sha256 = file_sha256(path)?;
        Ok(FileIdentity {
            key: sha256.clone(),
            sha256,
        })
    }

    /// A settlement file is its bytes plus the channel day its name (or the
    /// `--settlement-day` flag) gives, so identical empty files for two days
    /// are two files.
    pub fn of_settlement(
        path: &Path,
        fallback_day: Option<chrono::NaiveDate>,
    ) -> Result<FileIdentity> {
        let sha256 = file_sha256(path)?;
        let day = crate::ingest::day::day_from_name(path)
            .ok()
            .flatten()
            .or(fallback_day);
        let channel = crate::ingest::day::channel_from_name(path);
        let key = format!(
            "{sha256}:{}:{}",
            day.map(|d| d.to_string()).unwrap_or_default(),
            channel.unwrap_or_default()
        );
        Ok(FileIdentity { sha256, key })
    }
}

/// A file already in the database.
#[derive(Debug, Clone)]
pub struct KnownFile {
    pub path: String,
    pub business_day: String,
}

pub fn known_file(conn: &Connection, identity: &str) -> Result<Option<KnownFile>> {
    Ok(conn
        .query_row(
            "SELECT path, business_day FROM loaded_file WHERE identity = ?1",
            [identity],
            |r| {
                Ok(KnownFile {
                    path: r.get(0)?,
                    business_day: r.get(1)?,
                })
            },
        )
        .optional()?)
}

/// Registers a file before its rows go in; the row count and what it
/// covers are set when it is finished.
pub fn register_file(
    conn: &Connection,
    identity: &FileIdentity,
    role: &str,
    path: &Path,
    business_day: &str,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO loaded_file (identity, sha256, role, path, format, rows, business_day)
         VALUES (?1, ?2, ?3, ?4, '', 0, ?5)",
        params![
            identity.key,
            identity.sha256,
            role,
            path.display().to_string(),
            business_day
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Loads one export's attempts straight into `attempt` (one B-tree insert
/// per row, no staging copy). A row supersedes the stored one unless it is
/// less final: statuses move forward (UNKNOWN today, SUCCESS tomorrow), so an
/// older export loaded late cannot move them back. A channel_order_id given
/// twice in the same export makes the update write a NULL line, which the
/// NOT NULL constraint refuses: the statement fails and the first line is
/// still there to name.
pub struct AttemptLoader<'c> {
    upsert: Statement<'c>,
    file_id: i64,
}

const UPSERT_ATTEMPT: &str = "
INSERT INTO attempt VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
ON CONFLICT (channel_order_id) DO UPDATE SET
    order_id = excluded.order_id, payment_id = excluded.payment_id,
    channel = excluded.channel, amount_minor = excluded.amount_minor,
    currency = excluded.currency, order_status = excluded.order_status,
    payment_status = excluded.payment_status, created_at = excluded.created_at,
    created_day = excluded.created_day, expires_at = excluded.expires_at,
    closed_at = excluded.closed_at, paid_at = excluded.paid_at,
    line = CASE WHEN attempt.file_id = excluded.file_id THEN NULL ELSE excluded.line END,
    file_id = excluded.file_id
WHERE attempt.file_id = excluded.file_id
   OR NOT ((excluded.payment_status IN ('PROCESSING', 'UNKNOWN')
            AND attempt.payment_status NOT IN ('PROCESSING', 'UNKNOWN'))
        OR (excluded.order_status = 'OPEN' AND attempt.order_status <> 'OPEN'))";

impl<'c> AttemptLoader<'c> {
    pub fn new(conn: &'c Connection, file_id: i64) -> Result<Self> {
        Ok(AttemptLoader {
            upsert: conn.prepare(UPSERT_ATTEMPT)?,
            file_id,
        })
    }

    pub fn add(&mut self, conn: &Connection, path: &Path, a: &Attempt, line: u64) -> Result<()> {
        let result = self.upsert.execute(params![
            a.channel_order_id,
            a.order_id,
            a.payment_id,
            a.channel,
            a.amount_minor,
            a.currency,
            a.order_status.as_str(),
            a.payment_status.as_str(),
            a.created_at,
            a.created_day,
            a.expires_at,
            a.closed_at,
            a.paid_at,
            self.file_id,
            line as i64,
        ]);
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                let first: i64 = conn.query_row(
                    "SELECT line FROM attempt WHERE channel_order_id = ?1 AND file_id = ?2",
                    params![a.channel_order_id, self.file_id],
                    |r| r.get(0),
                )?;
                Err(InputError {
                    path: path.to_path_buf(),
                    line,
                    column: Some("channel_order_id".into()),
                    problem: format!(
                        "'{}' was already given on line {first}; each channel attempt must appear once in an export",
                        a.channel_order_id
                    ),
                }
                .into())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Inserts a settlement file's rows.
pub struct SettlementLoader<'c> {
    insert: Statement<'c>,
    file_id: i64,
    line: i64,
}

impl<'c> SettlementLoader<'c> {
    pub fn new(conn: &'c Connection, file_id: i64) -> Result<Self> {
        let insert = conn.prepare(
            "INSERT INTO settlement_row VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        Ok(SettlementLoader {
            insert,
            file_id,
            line: 0,
        })
    }

    /// Rows are numbered in file order (native formats have no CSV line).
    pub fn add(&mut self, r: &SettlementRecord) -> Result<()> {
        self.line += 1;
        self.insert.execute(params![
            self.file_id,
            self.line,
            r.channel,
            r.channel_txn_id,
            r.channel_order_id,
            r.kind.as_str(),
            r.amount_minor,
            r.fee,
            r.currency,
            r.transacted_at,
            r.refund_id,
        ])?;
        Ok(())
    }
}

/// Records what a settlement file covers. If another file already covers
/// the same channel day, this one is a correction: the earlier file's rows
/// are deleted (replaced, never added to). Returns the replaced file's path.
pub fn finish_settlement_file(
    conn: &Connection,
    file_id: i64,
    parsed: &ParsedFile,
) -> Result<Option<String>> {
    let (channel, day) = (&parsed.channel, parsed.day.to_string());
    let previous: Option<(i64, String)> = conn
        .query_row(
            "SELECT file_id, path FROM loaded_file
             WHERE role = 'settlement' AND channel = ?1 AND day = ?2 AND replaced_by IS NULL",
            params![channel, day],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((old, _)) = &previous {
        conn.execute("DELETE FROM settlement_row WHERE file_id = ?1", [old])?;
        conn.execute(
            "UPDATE loaded_file SET replaced_by = ?1 WHERE file_id = ?2",
            params![file_id, old],
        )?;
    }
    conn.execute(
        "UPDATE loaded_file SET format = ?1, channel = ?2, day = ?3, rows = ?4, skipped = ?5
         WHERE file_id = ?6",
        params![
            parsed.format,
            channel,
            day,
            parsed.rows as i64,
            skipped_text(&parsed.skipped),
            file_id
        ],
    )?;
    Ok(previous.map(|(_, path)| path))
}

/// `payout 2; fee 1`: what a file had that is not order money.
pub fn skipped_text(skipped: &crate::ingest::settlement::Skipped) -> String {
    skipped
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn finish_orders_file(conn: &Connection, file_id: i64, rows: u64) -> Result<()> {
    conn.execute(
        "UPDATE loaded_file SET format = 'orders', rows = ?1 WHERE file_id = ?2",
        params![rows as i64, file_id],
    )?;
    Ok(())
}
