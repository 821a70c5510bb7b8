//! `payrecon history`: the runs, from `run_log`. A run is recorded at its
//! start in a small transaction of its own (before the run's one
//! transaction) and its outcome after it ends, so a failed run is in the
//! history although its data changes rolled back ([`RunRecord`]).

use super::table::{Table, csv};
use super::{DbArgs, OutputFormat};
use crate::config::Config;
use crate::run::RunOutcome;
use anyhow::Result;
use clap::Args;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Show the last N runs.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub last: usize,
    /// table (fits 100 columns), json or csv.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub db: DbArgs,
}

/// One input file of a run. `format`, `rows` and `sha256` (its first 12
/// hex digits) are known for a committed run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunInput {
    pub path: String,
    pub role: String,
    pub format: Option<String>,
    pub rows: Option<i64>,
    pub sha256: Option<String>,
}

/// What a run changed: items first seen, items open after it, items
/// resolved by it, refund instructions it issued.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunCounts {
    pub new: i64,
    pub open: i64,
    pub resolved: i64,
    pub refunds: i64,
}

/// One run, as `history --format json` prints it (stable field names).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RunEntry {
    pub run_id: i64,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub business_day: Option<String>,
    /// committed, failed, running, or interrupted (a running row whose
    /// process is gone: the run was killed; its changes rolled back).
    pub outcome: String,
    pub exit_status: Option<i64>,
    pub error: Option<String>,
    pub inputs: Vec<RunInput>,
    pub counts: Option<RunCounts>,
    pub version: String,
    pub pid: i64,
}

/// A run being recorded.
pub struct RunRecord {
    run_id: Option<i64>,
    started_at: String,
    inputs: Vec<RunInput>,
    ledger_before: Option<LedgerMark>,
}

/// Where the append-only ledgers ended when a run started: what it added
/// is what lies past these rowids (read by index, whatever the ledgers
/// hold).
#[derive(Clone, Copy)]
struct LedgerMark {
    last_event: i64,
    last_instruction: i64,
}

impl LedgerMark {
    /// Where the ledgers end now.
    fn now(conn: &Connection) -> rusqlite::Result<LedgerMark> {
        conn.query_row(
            "SELECT (SELECT coalesce(max(rowid), 0) FROM finding_event),
                    (SELECT coalesce(max(rowid), 0) FROM refund_instruction)",
            [],
            |r| {
                Ok(LedgerMark {
                    last_event: r.get(0)?,
                    last_instruction: r.get(1)?,
                })
            },
        )
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How long the history's own small writes wait for the database: never
/// long (a run busy elsewhere must not be held up twice).
fn log_timeout(config: &Config) -> Duration {
    Duration::from_secs(config.lock_timeout_secs.min(2))
}

impl RunRecord {
    /// Records the run's start; a database busy or unwritable now only
    /// means the row is written at the end instead.
    pub fn start(config: &Config) -> RunRecord {
        let mut record = RunRecord {
            run_id: None,
            started_at: now(),
            inputs: given_inputs(config),
            ledger_before: None,
        };
        let started = (|| -> Result<(i64, LedgerMark)> {
            let store =
                crate::store::Store::open(&config.db, log_timeout(config), config.db_file_mode)?;
            let conn = store.conn();
            let mark = LedgerMark::now(conn)?;
            insert(conn, &record, config)?;
            Ok((conn.last_insert_rowid(), mark))
        })();
        if let Ok((run_id, mark)) = started {
            record.run_id = Some(run_id);
            record.ledger_before = Some(mark);
        }
        record
    }

    /// The run's row in the history, when its start could be recorded.
    pub fn run_id(&self) -> Option<i64> {
        self.run_id
    }

    /// Records how the run ended; returns a warning when that could not be
    /// written.
    pub fn finish(
        &self,
        config: &Config,
        result: std::result::Result<(&RunOutcome, u8), &anyhow::Error>,
    ) -> Option<String> {
        let written = (|| -> Result<()> {
            let store =
                crate::store::Store::open(&config.db, log_timeout(config), config.db_file_mode)?;
            let conn = store.conn();
            let run_id = match self.run_id {
                Some(id) => id,
                None => {
                    insert(conn, self, config)?;
                    conn.last_insert_rowid()
                }
            };
            match result {
                Ok((outcome, status)) => {
                    let inputs = described_inputs(conn, &self.inputs)?;
                    let counts = counts(
                        conn,
                        &self.started_at,
                        &outcome.business_day,
                        self.ledger_before,
                    )?;
                    conn.execute(
                        "UPDATE run_log SET ended_at = ?2, business_day = ?3, outcome = 'committed',
                                exit_status = ?4, inputs = ?5, counts = ?6 WHERE run_id = ?1",
                        rusqlite::params![
                            run_id,
                            now(),
                            outcome.business_day,
                            status,
                            serde_json::to_string(&inputs)?,
                            serde_json::to_string(&counts)?
                        ],
                    )?;
                }
                Err(err) => {
                    // A run that committed before it failed stays committed.
                    conn.execute(
                        "UPDATE run_log SET ended_at = ?2, exit_status = ?3, error = ?4,
                                outcome = CASE outcome WHEN 'committed' THEN 'committed'
                                                       ELSE 'failed' END
                         WHERE run_id = ?1",
                        rusqlite::params![
                            run_id,
                            now(),
                            super::exit_status_of(err),
                            format!("{err:#}")
                        ],
                    )?;
                }
            }
            Ok(())
        })();
        written.err().map(|e| {
            format!(
                "warning: this run could not be recorded in the history of {} ({e:#})",
                config.db.display()
            )
        })
    }
}

fn insert(conn: &Connection, record: &RunRecord, config: &Config) -> Result<()> {
    conn.execute(
        "INSERT INTO run_log (started_at, pid, version, business_day, outcome, inputs)
         VALUES (?1, ?2, ?3, ?4, 'running', ?5)",
        rusqlite::params![
            record.started_at,
            std::process::id(),
            env!("CARGO_PKG_VERSION"),
            config.business_date.map(|d| d.to_string()),
            serde_json::to_string(&record.inputs)?
        ],
    )?;
    Ok(())
}

/// The files given to the run (a settlement folder's files, as the run
/// reads them: hidden files skipped, in name order).
fn given_inputs(config: &Config) -> Vec<RunInput> {
    let input = |path: &PathBuf, role: &str| RunInput {
        path: path.display().to_string(),
        role: role.into(),
        format: None,
        rows: None,
        sha256: None,
    };
    let mut inputs: Vec<RunInput> = config.orders.iter().map(|p| input(p, "orders")).collect();
    for path in &config.settlements {
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.is_file()
                            && !p
                                .file_name()
                                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    })
                    .collect();
                files.sort();
                inputs.extend(files.iter().map(|p| input(p, "settlement")));
            }
            Err(_) => inputs.push(input(path, "settlement")),
        }
    }
    if let Some(results) = &config.refund_results {
        inputs.push(input(results, "refund_results"));
    }
    inputs
}

/// The inputs with what the database knows of them (the latest file loaded
/// from that path).
fn described_inputs(conn: &Connection, inputs: &[RunInput]) -> Result<Vec<RunInput>> {
    let mut stmt = conn.prepare(
        "SELECT format, rows, sha256 FROM loaded_file WHERE path = ?1 ORDER BY file_id DESC LIMIT 1",
    )?;
    let mut described = Vec::new();
    for input in inputs {
        let known = stmt
            .query_row([&input.path], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        let mut input = input.clone();
        if let Some((format, rows, sha256)) = known {
            input.format = Some(format);
            input.rows = Some(rows);
            input.sha256 = Some(sha256.chars().take(12).collect());
        }
        described.push(input);
    }
    Ok(described)
}

/// What the run changed, from the findings ledger's events since it
/// started and the instructions it added. Without a mark (the database was
/// busy when the run started) events are told by their time, and refunds
/// are not counted.
fn counts(
    conn: &Connection,
    started_at: &str,
    business_day: &str,
    before: Option<LedgerMark>,
) -> Result<RunCounts> {
    let events = |event: &str| -> rusqlite::Result<i64> {
        conn.query_row(
            "SELECT count(*) FROM finding_event
             WHERE rowid > ?4 AND event = ?1 AND by_whom = 'data' AND recorded_at >= ?2
               AND business_day = ?3",
            rusqlite::params![
                event,
                started_at,
                business_day,
                before.map_or(0, |m| m.last_event)
            ],
            |r| r.get(0),
        )
    };
    let refunds = match before {
        Some(mark) => conn.query_row(
            "SELECT count(*) FROM refund_instruction WHERE rowid > ?1 AND business_day <> ''",
            [mark.last_instruction],
            |r| r.get(0),
        )?,
        None => 0,
    };
    Ok(RunCounts {
        new: events("OPENED")?,
        open: conn.query_row(
            "SELECT count(*) FROM finding_item WHERE state = 'OPEN'",
            [],
            |r| r.get(0),
        )?,
        resolved: events("RESOLVED")?,
        refunds,
    })
}

/// Records, in the run's own transaction, that run `run_id` committed its
/// changes for `business_day` (how it ended is recorded after).
pub fn mark_committed(conn: &Connection, run_id: i64, business_day: &str) -> Result<()> {
    conn.execute(
        "UPDATE run_log SET outcome = 'committed', business_day = ?2 WHERE run_id = ?1",
        rusqlite::params![run_id, business_day],
    )?;
    Ok(())
}

/// The last `last` runs, oldest first.
pub fn entries(conn: &Connection, last: usize) -> Result<Vec<RunEntry>> {
    let mut stmt = conn.prepare(
        "SELECT run_id, started_at, ended_at, business_day, outcome, exit_status, error, inputs,
                counts, version, pid
         FROM (SELECT * FROM run_log ORDER BY run_id DESC LIMIT ?1) ORDER BY run_id",
    )?;
    let rows = stmt.query_map([last as i64], |r| {
        let inputs: String = r.get(7)?;
        let counts: String = r.get(8)?;
        let outcome: String = r.get(4)?;
        let pid: i64 = r.get(10)?;
        let ended_at: Option<String> = r.get(2)?;
        let alive = crate::store::LockHolder {
            pid: pid as u32,
            since: String::new(),
            command: String::new(),
        }
        .alive();
        let mut error: Option<String> = r.get(6)?;
        let outcome = if outcome == "running" && !alive {
            "interrupted".to_string()
        } else {
            if outcome == "committed" && ended_at.is_none() && !alive {
                error = Some(
                    "killed after its commit, before it finished putting its outputs in place; the next run writes what is missing"
                        .to_string(),
                );
            }
            outcome
        };
        Ok(RunEntry {
            run_id: r.get(0)?,
            started_at: r.get(1)?,
            ended_at,
            business_day: r.get(3)?,
            outcome,
            exit_status: r.get(5)?,
            error,
            inputs: serde_json::from_str(&inputs).unwrap_or_default(),
            counts: serde_json::from_str(&counts).ok(),
            version: r.get(9)?,
            pid,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn exec(args: &HistoryArgs) -> Result<String> {
    let (_, conn) = args.db.open_read_only()?;
    let runs = entries(&conn, args.last)?;
    match args.format {
        OutputFormat::Json => Ok(serde_json::to_string_pretty(&runs)? + "\n"),
        OutputFormat::Csv => {
            let rows: Vec<Vec<String>> = runs
                .iter()
                .map(|run| {
                    let counts = run.counts.clone().unwrap_or_default();
                    let inputs: Vec<String> = run
                        .inputs
                        .iter()
                        .map(|i| {
                            format!(
                                "{} {} {}",
                                i.role,
                                i.path,
                                i.sha256.as_deref().unwrap_or("")
                            )
                            .trim_end()
                            .to_string()
                        })
                        .collect();
                    vec![
                        run.run_id.to_string(),
                        run.started_at.clone(),
                        run.ended_at.clone().unwrap_or_default(),
                        run.business_day.clone().unwrap_or_default(),
                        run.outcome.clone(),
                        run.exit_status.map(|s| s.to_string()).unwrap_or_default(),
                        counts.new.to_string(),
                        counts.open.to_string(),
                        counts.resolved.to_string(),
                        counts.refunds.to_string(),
                        inputs.join("; "),
                        run.error.clone().unwrap_or_default(),
                        run.version.clone(),
                    ]
                })
                .collect();
            csv(
                &[
                    "run_id",
                    "started_at",
                    "ended_at",
                    "business_day",
                    "outcome",
                    "exit_status",
                    "new",
                    "open",
                    "resolved",
                    "refunds",
                    "inputs",
                    "error",
                    "version",
                ],
                &rows,
            )
        }
        OutputFormat::Table => Ok(table(&runs)),
    }
}

fn table(runs: &[RunEntry]) -> String {
    if runs.is_empty() {
        return "no run recorded yet\n".into();
    }
    let mut text = String::new();
    for run in runs {
        let counts = run.counts.clone().unwrap_or_default();
        text.push_str(&format!(
            "run {}  {}  day {}  {}{}  payrecon {}\n",
            run.run_id,
            run.started_at,
            run.business_day.as_deref().unwrap_or("-"),
            run.outcome,
            run.exit_status
                .map(|s| format!(" (exit {s})"))
                .unwrap_or_default(),
            run.version
        ));
        text.push_str(&format!(
            "  ended {}  new {}  open {}  resolved {}  refunds {}\n",
            run.ended_at.as_deref().unwrap_or("-"),
            counts.new,
            counts.open,
            counts.resolved,
            counts.refunds
        ));
        if let Some(error) = &run.error {
            text.push_str(&super::table::wrap(
                &format!("  error: {error}"),
                super::table::WIDTH,
                4,
            ));
        }
        let mut inputs = Table::new(&["  role", "format", "rows", "sha256", "file"]);
        for input in &run.inputs {
            inputs.row(vec![
                format!("  {}", input.role),
                input.format.clone().unwrap_or_else(|| "-".into()),
                input
                    .rows
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into()),
                input.sha256.clone().unwrap_or_else(|| "-".into()),
                input.path.clone(),
            ]);
        }
        if !inputs.is_empty() {
            text.push_str(&inputs.render());
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::work::{long_history, pages_read};

    /// What a run added is counted past its starting mark: the same work
    /// after ten days of history as after three hundred.
    #[test]
    fn a_runs_counts_read_only_what_it_added() {
        let counted = |days| {
            let mut conn = Connection::open_in_memory().unwrap();
            crate::store::schema::migrate(&mut conn).unwrap();
            long_history(&conn, days, 100);
            let mark = LedgerMark::now(&conn).unwrap();
            // The run: two items opened, one resolved, one refund issued;
            // and an event of another day.
            conn.execute_batch(
                "INSERT INTO finding_event (finding_id, business_day, recorded_at, event, by_whom)
                 VALUES ('FNEW1', '2026-11-29', '2026-11-30T07:00:00Z', 'OPENED', 'data'),
                        ('FNEW2', '2026-11-29', '2026-11-30T07:00:00Z', 'OPENED', 'data'),
                        ('FOLD1', '2026-11-29', '2026-11-30T07:00:00Z', 'RESOLVED', 'data'),
                        ('FOLD2', '2026-11-28', '2026-11-30T07:00:00Z', 'OPENED', 'data');
                 INSERT INTO refund_instruction (refund_request_id, business_day, channel,
                     channel_txn_id, channel_order_id, order_id, payment_id, amount_minor,
                     currency, reason)
                 VALUES ('RNEW', '2026-11-29', 'wechat', 'T', 'C', 'O', 'P', 100, 'CNY',
                         'DUPLICATE_PAYMENT');",
            )
            .unwrap();
            let mut counts_now = None;
            let pages = pages_read(&conn, || {
                counts_now =
                    Some(counts(&conn, "2026-11-30T06:59:00Z", "2026-11-29", Some(mark)).unwrap());
            });
            (counts_now.unwrap(), pages)
        };
        let ((short, short_pages), (long, long_pages)) = (counted(10), counted(300));
        for c in [&short, &long] {
            assert_eq!((c.new, c.resolved, c.refunds), (2, 1, 1));
        }
        assert!(
            long_pages <= short_pages + 8,
            "a run's counts read {short_pages} pages after 10 days of history, {long_pages} after 300"
        );
    }
}
