//! Bulk loading into the state database, inside the run's transaction.
//!
//! Rows go in through the batch tables of [`super::batch`], many per
//! statement: a settlement file's rows a parsed batch at a time, an export's
//! attempts a sorted chunk at a time ([`AttemptLoader`]).

use super::batch;
use crate::error::InputError;
use crate::ingest::settlement::ParsedFile;
use crate::model::{Attempt, SettlementRecord};
use anyhow::{Context, Result};
use rusqlite::vtab::Context as VTabContext;
use rusqlite::{Connection, OptionalExtension, Statement, params};
use sha2::{Digest, Sha256};
use std::ffi::c_int;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

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

/// Loads one export's attempts straight into `attempt`, a sorted chunk per
/// statement ([`super::batch`]). A row supersedes the stored one unless it
/// is less final: statuses move forward (UNKNOWN today, SUCCESS tomorrow), so
/// an older export loaded late cannot move them back. A channel_order_id
/// given twice in the same export makes the update write a NULL line, which
/// the NOT NULL constraint refuses: the chunk fails, and its rows go in one
/// by one, in file order, to name the line.
pub struct AttemptLoader<'c> {
    upsert_batch: Statement<'c>,
    /// Notes the chunk's attempts as changed, when the run tracks changes
    /// (`store::changes`).
    note_batch: Option<Statement<'c>>,
    file_id: i64,
    /// Parsed batches gathered for the next chunk.
    pending: Vec<Vec<(Attempt, u64)>>,
    pending_rows: usize,
}

/// Attempts gathered before they go in, then sorted by channel_order_id:
/// in key order each insert lands next to the previous one in the table's
/// B-tree, whatever order the export is in (a shuffled 10M-order export took
/// 66 s to load in file order, 5.8 times the sorted one). An export's
/// channel_order_ids are unique, so the order they go in changes nothing
/// else. 2^17 attempts hold about 28 MB; the parser runs a chunk ahead
/// (`pipeline::run_ahead`) so it never waits for the insert.
pub const SORT_CHUNK: usize = 1 << 17;

/// What an attempt given again does to the stored one.
const ATTEMPT_CONFLICT: &str = "
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

/// The batch table of attempts: [`Attempt`]'s fields in `attempt`'s order,
/// then the line.
const ATTEMPT_BATCH: batch::Shape = batch::Shape {
    schema: c"CREATE TABLE x(channel_order_id, order_id, payment_id, channel, amount_minor,
        currency, order_status, payment_status, created_at, created_day, expires_at,
        closed_at, paid_at, line, batch HIDDEN)",
    columns: 14,
};

/// The batch table of settlement rows: [`SettlementRecord`]'s fields in
/// `settlement_row`'s order, after the line.
const SETTLEMENT_BATCH: batch::Shape = batch::Shape {
    schema: c"CREATE TABLE x(line, channel, channel_txn_id, channel_order_id, kind,
        amount_minor, fee, currency, transacted_at, refund_id, batch HIDDEN)",
    columns: 10,
};

/// Makes the batch tables the loaders read from available on `conn`.
pub fn register_batch_tables(conn: &Connection) -> rusqlite::Result<()> {
    batch::register(conn, c"attempt_batch", ATTEMPT_BATCH)?;
    batch::register(conn, c"settlement_batch", SETTLEMENT_BATCH)
}

/// Parsed attempts with their lines, in batches as parsed, read in
/// channel_order_id order.
#[derive(Default)]
struct SortedAttempts {
    batches: Vec<Vec<(Attempt, u64)>>,
    /// (batch, row) of each attempt, in key order.
    order: Vec<(u32, u32)>,
}

impl SortedAttempts {
    fn new(batches: Vec<Vec<(Attempt, u64)>>) -> SortedAttempts {
        let at = |&(b, r): &(u32, u32)| &batches[b as usize][r as usize];
        // The key's first 16 bytes as one number settle most comparisons.
        let prefix = |id: &str| {
            let mut bytes = [0u8; 16];
            let n = id.len().min(16);
            bytes[..n].copy_from_slice(&id.as_bytes()[..n]);
            u128::from_be_bytes(bytes)
        };
        let mut keyed: Vec<(u128, (u32, u32))> = batches
            .iter()
            .enumerate()
            .flat_map(|(b, rows)| {
                rows.iter()
                    .enumerate()
                    .map(move |(r, (a, _))| (prefix(&a.channel_order_id), (b as u32, r as u32)))
            })
            .collect();
        keyed.sort_unstable_by(|(pa, a), (pb, b)| {
            pa.cmp(pb).then_with(|| {
                let (a, b) = (at(a), at(b));
                (&a.0.channel_order_id, a.1).cmp(&(&b.0.channel_order_id, b.1))
            })
        });
        let order = keyed.into_iter().map(|(_, position)| position).collect();
        SortedAttempts { batches, order }
    }

    /// The attempt `row` places in key order, and its line.
    fn at(&self, row: usize) -> Option<&(Attempt, u64)> {
        let &(b, r) = self.order.get(row)?;
        Some(&self.batches[b as usize][r as usize])
    }

    /// Key order reads the chunk out of parse order, and every attempt (and
    /// each of its strings) would be a cache miss: ask for the ones a few
    /// rows ahead early, the attempt itself first, its strings once it is
    /// there.
    fn prefetch(&self, row: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            // SAFETY: a prefetch is only a hint; it reads nothing and never
            // faults, whatever the address.
            let hint = |p: *const u8| unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
            if let Some((a, _)) = self.at(row + 32) {
                hint((a as *const Attempt).cast());
            }
            if let Some((a, _)) = self.at(row + 16) {
                for text in [
                    &a.channel_order_id,
                    &a.order_id,
                    &a.payment_id,
                    &a.created_day,
                ] {
                    hint(text.as_ptr());
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = row;
    }
}

impl batch::Rows for SortedAttempts {
    fn count(&self) -> usize {
        self.order.len()
    }

    fn column(&self, row: usize, column: c_int, ctx: &mut VTabContext) -> rusqlite::Result<()> {
        let Some((a, line)) = self.at(row) else {
            return Ok(());
        };
        match column {
            0 => {
                self.prefetch(row);
                ctx.set_result(&a.channel_order_id)
            }
            1 => ctx.set_result(&a.order_id),
            2 => ctx.set_result(&a.payment_id),
            3 => ctx.set_result(&a.channel),
            4 => ctx.set_result(a.amount_minor),
            5 => ctx.set_result(&a.currency),
            6 => ctx.set_result(a.order_status.as_str()),
            7 => ctx.set_result(a.payment_status.as_str()),
            8 => ctx.set_result(a.created_at),
            9 => ctx.set_result(&a.created_day),
            10 => ctx.set_result(a.expires_at),
            11 => ctx.set_result(a.closed_at),
            12 => ctx.set_result(a.paid_at),
            _ => ctx.set_result(*line as i64),
        }
    }
}

impl<'c> AttemptLoader<'c> {
    pub fn new(conn: &'c Connection, file_id: i64) -> Result<Self> {
        let note_batch = match crate::store::changes::is_tracking(conn)? {
            true => Some(conn.prepare(crate::store::changes::NOTE_ATTEMPT_BATCH)?),
            false => None,
        };
        Ok(AttemptLoader {
            note_batch,
            pending: Vec::new(),
            pending_rows: 0,
            upsert_batch: conn.prepare(&format!(
                "INSERT INTO attempt
                 SELECT channel_order_id, order_id, payment_id, channel, amount_minor, currency,
                        order_status, payment_status, created_at, created_day, expires_at,
                        closed_at, paid_at, ?2, line
                 FROM attempt_batch(?1) WHERE true {ATTEMPT_CONFLICT}"
            ))?,
            file_id,
        })
    }

    /// Takes a batch of parsed attempts (in file order); once a chunk is
    /// gathered, loads it and gives its batches back.
    pub fn add_batch(
        &mut self,
        conn: &Connection,
        path: &Path,
        rows: Vec<(Attempt, u64)>,
    ) -> Result<Vec<Vec<(Attempt, u64)>>> {
        self.pending_rows += rows.len();
        self.pending.push(rows);
        if self.pending_rows < SORT_CHUNK {
            return Ok(Vec::new());
        }
        self.load_pending(conn, path)
    }

    /// Loads what is still gathered, once the export is read.
    pub fn finish(mut self, conn: &Connection, path: &Path) -> Result<()> {
        self.load_pending(conn, path).map(drop)
    }

    fn load_pending(&mut self, conn: &Connection, path: &Path) -> Result<Vec<Vec<(Attempt, u64)>>> {
        self.pending_rows = 0;
        let chunk = SortedAttempts::new(std::mem::take(&mut self.pending));
        let (result, chunk) = run_batch(&mut self.upsert_batch, chunk, self.file_id);
        match result {
            Ok(_) => match &mut self.note_batch {
                Some(note) => {
                    let (noted, chunk) = run_batch(note, chunk, self.file_id);
                    noted?;
                    Ok(chunk.batches)
                }
                None => Ok(chunk.batches),
            },
            Err(e) if is_constraint(&e) => {
                // The failed statement changed nothing: row by row in file
                // order, the first bad row names itself.
                for row in chunk.batches.into_iter().flatten() {
                    self.load_one(conn, path, row)?;
                }
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One attempt alone, through the same statement: only when a chunk
    /// failed, to name the bad line.
    fn load_one(&mut self, conn: &Connection, path: &Path, row: (Attempt, u64)) -> Result<()> {
        let (result, alone) = run_batch(
            &mut self.upsert_batch,
            SortedAttempts::new(vec![vec![row]]),
            self.file_id,
        );
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_constraint(&e) => {
                let (a, line) = alone.at(0).context("the attempt came back")?;
                let first: i64 = conn.query_row(
                    "SELECT line FROM attempt WHERE channel_order_id = ?1 AND file_id = ?2",
                    params![a.channel_order_id, self.file_id],
                    |r| r.get(0),
                )?;
                Err(InputError {
                    path: path.to_path_buf(),
                    line: *line,
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

/// Runs a load statement with `rows` as its batch (?1) and the file (?2),
/// and gives the rows back once the statement is done with them.
fn run_batch<R: batch::Rows + Default>(
    statement: &mut Statement,
    rows: R,
    file_id: i64,
) -> (rusqlite::Result<usize>, R) {
    let rows = Rc::new(rows);
    let result = statement.execute(params![batch::Batch::new(rows.clone()), file_id]);
    statement.clear_bindings();
    (result, batch::take_back(rows))
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
}

/// Parsed settlement rows, numbered from `first_line`.
#[derive(Default)]
struct SettlementRows {
    first_line: i64,
    rows: Vec<SettlementRecord>,
}

impl batch::Rows for SettlementRows {
    fn count(&self) -> usize {
        self.rows.len()
    }

    fn column(&self, row: usize, column: c_int, ctx: &mut VTabContext) -> rusqlite::Result<()> {
        let r = &self.rows[row];
        match column {
            0 => ctx.set_result(self.first_line + row as i64),
            1 => ctx.set_result(&r.channel),
            2 => ctx.set_result(&r.channel_txn_id),
            3 => ctx.set_result(&r.channel_order_id),
            4 => ctx.set_result(r.kind.as_str()),
            5 => ctx.set_result(r.amount_minor),
            6 => ctx.set_result(&r.fee),
            7 => ctx.set_result(&r.currency),
            8 => ctx.set_result(r.transacted_at),
            _ => ctx.set_result(&r.refund_id),
        }
    }
}

/// Inserts a settlement file's rows, a batch per statement.
pub struct SettlementLoader<'c> {
    insert: Statement<'c>,
    file_id: i64,
    line: i64,
}

impl<'c> SettlementLoader<'c> {
    pub fn new(conn: &'c Connection, file_id: i64) -> Result<Self> {
        let insert = conn.prepare(
            "INSERT INTO settlement_row
             SELECT ?2, line, channel, channel_txn_id, channel_order_id, kind, amount_minor, fee,
                    currency, transacted_at, refund_id
             FROM settlement_batch(?1)",
        )?;
        Ok(SettlementLoader {
            insert,
            file_id,
            line: 0,
        })
    }

    /// Rows are numbered in file order (native formats have no CSV line).
    /// Gives the batch back.
    pub fn add_batch(&mut self, rows: Vec<SettlementRecord>) -> Result<Vec<SettlementRecord>> {
        let first_line = self.line + 1;
        self.line += rows.len() as i64;
        let (result, rows) = run_batch(
            &mut self.insert,
            SettlementRows { first_line, rows },
            self.file_id,
        );
        result?;
        Ok(rows.rows)
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
        crate::store::changes::note_settlement_file(conn, *old)?;
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
    crate::store::changes::note_settlement_file(conn, file_id)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrderStatus, PaymentStatus};

    fn attempt(channel_order_id: &str) -> Attempt {
        Attempt {
            order_id: format!("O-{channel_order_id}"),
            payment_id: format!("P-{channel_order_id}"),
            channel_order_id: channel_order_id.to_string(),
            channel: "wechat".into(),
            amount_minor: 100,
            currency: "CNY".into(),
            order_status: OrderStatus::Paid,
            payment_status: PaymentStatus::Success,
            created_at: 1_779_000_000_000_000,
            created_day: "2026-11-21".into(),
            expires_at: None,
            closed_at: None,
            paid_at: None,
        }
    }

    fn loader_database() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        register_batch_tables(&conn).unwrap();
        conn.execute(
            "INSERT INTO loaded_file (file_id, identity, sha256, role, path, format, rows, business_day)
             VALUES (1, 'x', 'x', 'orders', 'orders.csv', 'orders', 0, '')",
            [],
        )
        .unwrap();
        conn
    }

    /// Rows go in sorted by key, but a repeated channel_order_id is named
    /// where a reader of the file meets it first: the earliest second
    /// occurrence, with the line it repeats.
    #[test]
    fn a_repeated_attempt_is_named_at_its_first_repeat_in_file_order() {
        let conn = loader_database();
        let mut loader = AttemptLoader::new(&conn, 1).unwrap();
        let rows = [("Z1", 2), ("A1", 3), ("Z1", 4), ("A1", 5)]
            .map(|(id, line)| (attempt(id), line))
            .to_vec();
        let given_back = loader
            .add_batch(&conn, Path::new("orders.csv"), rows)
            .unwrap();
        assert!(given_back.is_empty(), "a chunk is not full yet");
        let err = loader
            .finish(&conn, Path::new("orders.csv"))
            .unwrap_err()
            .downcast::<InputError>()
            .unwrap();
        assert_eq!(err.line, 4);
        assert!(
            err.problem.contains("already given on line 2"),
            "{}",
            err.problem
        );
    }

    /// A full chunk goes in sorted and comes back whole, in its batches.
    #[test]
    fn a_full_chunk_is_loaded_and_its_batches_given_back() {
        let conn = loader_database();
        let mut loader = AttemptLoader::new(&conn, 1).unwrap();
        let half = SORT_CHUNK / 2;
        let batch = |from: usize| -> Vec<(Attempt, u64)> {
            (from..from + half)
                .rev()
                .map(|i| (attempt(&format!("C{i:07}")), i as u64 + 2))
                .collect()
        };
        let path = Path::new("orders.csv");
        assert!(loader.add_batch(&conn, path, batch(0)).unwrap().is_empty());
        let back = loader.add_batch(&conn, path, batch(half)).unwrap();
        assert_eq!(back.iter().map(Vec::len).collect::<Vec<_>>(), [half, half]);
        let (count, lowest): (i64, String) = conn
            .query_row(
                "SELECT count(*), min(channel_order_id) FROM attempt",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(count as usize, SORT_CHUNK);
        assert_eq!(lowest, "C0000000");
    }
}
