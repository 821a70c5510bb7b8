//! The state database: what was loaded, what was found, what was refunded.
//!
//! SQLite, one file. A run holds one `BEGIN IMMEDIATE` transaction from its
//! first load to its last decision, so a failed or killed run changes
//! nothing, and a second run waits (bounded) for the first.

pub mod batch;
pub mod bulk;
pub mod cache;
pub mod changes;
pub mod load;
pub mod refund_files;
pub mod retention;
pub mod schema;
#[cfg(test)]
pub mod work;

use anyhow::{Context, Result};
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

pub struct Store {
    conn: Connection,
    /// The lock-info file this process wrote when it took the write lock
    /// (removed when the store is dropped).
    lock_info: Option<std::path::PathBuf>,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(path) = &self.lock_info
            && LockHolder::read(path).is_some_and(|h| h.pid == std::process::id())
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Store {
    /// Opens (creating if needed, with permission bits `mode`) the database
    /// and brings its schema up to date.
    pub fn open(path: &Path, lock_timeout: Duration, mode: u32) -> Result<Store> {
        Store::open_writable(path, lock_timeout, mode).map_err(|e| readonly_error(e, path))
    }

    fn open_writable(path: &Path, lock_timeout: Duration, mode: u32) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // A mistyped path must not quietly start from a blank state in
            // a new folder.
            anyhow::ensure!(
                parent.is_dir(),
                "the folder of database {} does not exist: check the path (nothing was created)",
                path.display()
            );
        }
        create_with_mode(path, mode)
            .with_context(|| format!("failed to create database {}", path.display()))?;
        let mut conn = Connection::open(path)
            .with_context(|| format!("failed to open database {}", path.display()))?;
        // SQLite falls back to reading a file it may not write, and says so
        // only at the first write, without the path.
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(readonly_error(
                anyhow::Error::new(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
                    None,
                )),
                path,
            ));
        }
        conn.busy_timeout(lock_timeout)?;
        tune(&conn, lock_timeout).map_err(|e| busy_error(e, path, lock_timeout))?;
        trace_slow_statements(&mut conn)?;
        load::register_batch_tables(&conn)?;
        schema::migrate(&mut conn)
            .map_err(|e| match e.downcast::<rusqlite::Error>() {
                Ok(e) => busy_error(e, path, lock_timeout),
                Err(e) => e,
            })
            .with_context(|| format!("failed to prepare database {}", path.display()))?;
        Ok(Store {
            conn,
            lock_info: None,
        })
    }

    /// Starts the run's one write transaction; waits for another run's lock
    /// at most `lock_timeout`, then refuses.
    /// While it holds the lock, a lock-info file beside the database
    /// (`<db>.run`) names this process, for the message of another run
    /// that waits for it.
    pub fn begin(&mut self, path: &Path, lock_timeout: Duration) -> Result<Transaction<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| readonly_error(busy_error(e, path, lock_timeout), path))?;
        let info = LockHolder::path_for(path);
        if LockHolder::write(&info).is_ok() {
            self.lock_info = Some(info);
        }
        Ok(tx)
    }
}

/// Creates an empty database file with `mode` if there is none: SQLite
/// would create it with the process's umask (usually world-readable), and
/// gives its rollback journal the database file's own permission bits.
fn create_with_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Settings chosen for a bulk load whose durability comes from the final
/// commit. A rollback journal (`DELETE`): pages new to the file, which a
/// large load mostly writes, need no journal entry, so the data is written
/// once, into the database, and the commit syncs it. (A write-ahead log
/// writes everything twice, into the log and at the checkpoint into the
/// database: at 10M orders its commit took 6–9 s against 1–2 s.)
/// `synchronous = FULL`: the journal is on disk before any page it protects
/// is overwritten, and the commit before any output file is renamed into
/// place; a crash at any point leaves a hot journal that the next open rolls
/// back, so the database is as it was before the run. Page caches sized on
/// purpose (192 MiB for the database, 128 MiB for the working tables, which
/// otherwise get SQLite's 2 MiB default), and temporary tables on disk so
/// memory does not grow with the input. Sorts (index builds, GROUP BY) use a
/// second thread. 16 KiB pages (for a new database) halve the per-page work
/// of the bulk load.
fn tune(conn: &Connection, lock_timeout: Duration) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA page_size = 16384;")?;
    // Leaving WAL (a database made by an earlier payrecon) needs the
    // database to itself, and SQLite does not wait for that: retry while
    // another run holds it, up to the lock timeout.
    let start = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
            r.get::<_, String>(0)
        }) {
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && start.elapsed() < lock_timeout =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => {
                result?;
                break;
            }
        }
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = OFF;
         PRAGMA main.cache_size = -196608;
         PRAGMA temp.cache_size = -131072;
         PRAGMA temp_store = FILE;
         PRAGMA threads = 2;",
    )
}

/// With `PAYRECON_SLOW_SQL_MS=N` in the environment, every statement that
/// runs N ms or longer is written to stderr with its time: where a slow run
/// spends its time, statement by statement (docs/performance.md).
fn trace_slow_statements(conn: &mut Connection) -> Result<()> {
    let Some(limit) = std::env::var("PAYRECON_SLOW_SQL_MS")
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok())
    else {
        return Ok(());
    };
    let limit = Duration::from_millis(limit);
    conn.trace_v2(
        rusqlite::trace::TraceEventCodes::SQLITE_TRACE_PROFILE,
        Some(move |event: rusqlite::trace::TraceEvent<'_>| {
            if let rusqlite::trace::TraceEvent::Profile(statement, took) = event
                && took >= limit
            {
                let sql = statement.sql();
                let sql: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
                eprintln!(
                    "sql {:8.3} s  {}",
                    took.as_secs_f64(),
                    &sql[..sql.floor_char_boundary(160)]
                );
            }
        }),
    )?;
    Ok(())
}

impl Store {
    /// The connection, for reads after the run's transaction.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Records that `business_day`'s outputs are in place in `out_dir`,
    /// with its refund files of `batches` (after the run's commit, in a
    /// transaction of its own).
    pub fn mark_published(
        &mut self,
        business_day: &str,
        out_dir: &Path,
        batches: &[i64],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO published_day (business_day, out_dir) VALUES (?1, ?2)",
            [business_day, &out_dir.display().to_string()],
        )?;
        for batch in batches {
            refund_files::mark_published(&tx, business_day, *batch)?;
        }
        tx.commit()
            .context("recording that the outputs were published")?;
        Ok(())
    }
}

/// A database SQLite may not write, said with its path and the likely
/// cause (SQLite says only "attempt to write a readonly database").
pub fn readonly_error(err: anyhow::Error, path: &Path) -> anyhow::Error {
    let readonly = err.chain().any(|cause| {
        cause
            .downcast_ref::<rusqlite::Error>()
            .is_some_and(|e| e.sqlite_error_code() == Some(ErrorCode::ReadOnly))
    });
    if !readonly {
        return err;
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let cause = match std::fs::OpenOptions::new().write(true).open(path) {
        Err(e) if e.raw_os_error() == Some(30) => "it is on a read-only file system".to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            "this user may not write the file (its permissions)".to_string()
        }
        _ => format!(
            "this user may not create files in its folder {} (SQLite writes its journal there)",
            folder.display()
        ),
    };
    anyhow::anyhow!(
        "database {} is read-only: {cause}. Give this user write access to the file and its folder, or choose another database with --db (or db = … in the config)",
        path.display()
    )
}

fn busy_error(err: rusqlite::Error, path: &Path, timeout: Duration) -> anyhow::Error {
    if err.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
        || err.sqlite_error_code() == Some(ErrorCode::DatabaseLocked)
    {
        let waited = timeout.as_secs();
        match LockHolder::read(&LockHolder::path_for(path)).filter(LockHolder::alive) {
            Some(holder) => anyhow::anyhow!(
                "another payrecon run is using database {} (payrecon {}, pid {}, started {}; waited {waited} s); try again when it has finished",
                path.display(),
                holder.command,
                holder.pid,
                holder.since,
            ),
            None => anyhow::anyhow!(
                "another reader or writer is using database {} (not a payrecon run: an sqlite3 shell, a backup, another program; waited {waited} s); close it, or try again when it has finished",
                path.display(),
            ),
        }
    } else {
        anyhow::Error::new(err).context(format!("database {}", path.display()))
    }
}

/// When this process started (the first call: `main_with` makes it early),
/// RFC 3339 UTC, for the lock-info file.
pub fn process_started() -> String {
    static STARTED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    STARTED
        .get_or_init(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .clone()
}

/// What holds a database's write lock, as the lock-info file beside it
/// (`<db>.run`) says: written by a payrecon command when it takes the lock,
/// removed when it lets go; stale when its process is gone (a killed run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: u32,
    pub since: String,
    pub command: String,
}

impl LockHolder {
    pub fn path_for(db: &Path) -> std::path::PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(".run");
        name.into()
    }

    fn write(path: &Path) -> std::io::Result<()> {
        let command = std::env::args().nth(1).unwrap_or_default();
        let since = process_started();
        std::fs::write(
            path,
            format!(
                "pid={}\nsince={since}\ncommand={command}\n",
                std::process::id()
            ),
        )
    }

    pub fn read(path: &Path) -> Option<LockHolder> {
        let text = std::fs::read_to_string(path).ok()?;
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_string)
        };
        Some(LockHolder {
            pid: value("pid")?.parse().ok()?,
            since: value("since").unwrap_or_default(),
            command: value("command").unwrap_or_else(|| "run".into()),
        })
    }

    /// Whether its process still exists (where that can be told: Linux's
    /// /proc; elsewhere it is taken as alive).
    pub fn alive(&self) -> bool {
        let proc = Path::new("/proc");
        !proc.is_dir() || proc.join(self.pid.to_string()).exists()
    }
}

/// Opens an existing database to read only: never creates, migrates or
/// takes the write lock, so it answers while a run is going (a busy timeout
/// covers the moment a writer commits). A database of an older schema than
/// this payrecon's is refused with what to do.
pub fn open_read_only(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    use rusqlite::OpenFlags;
    anyhow::ensure!(
        path.is_file(),
        "no state database at {}: give the one your runs use with --db or --config",
        path.display()
    );
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("failed to open database {} to read it", path.display()))?;
    conn.busy_timeout(busy_timeout)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| busy_error(e, path, busy_timeout))
        .with_context(|| format!("reading database {}", path.display()))?;
    let known = schema::version() as i64;
    anyhow::ensure!(
        version <= known,
        "database {} has schema version {version}, newer than this payrecon knows ({known}); use a newer payrecon",
        path.display()
    );
    anyhow::ensure!(
        version == known,
        "database {} has schema version {version}, older than this payrecon's ({known}): the next `payrecon run` upgrades it (this command only reads)",
        path.display()
    );
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two runs starting at once on a new database both prepare its schema:
    /// one migrates, the other waits and finds it done.
    #[test]
    fn runs_opening_a_new_database_at_once_both_succeed() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("state.db");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        Store::open(&path, Duration::from_secs(10), 0o600).map(|_| ())
                    })
                })
                .collect();
            for handle in handles {
                handle.join().unwrap().unwrap();
            }
        }
    }

    /// A database an earlier payrecon left in write-ahead-log mode is taken
    /// over: nothing is lost, and it runs with a rollback journal from then
    /// on.
    #[test]
    fn a_write_ahead_log_database_is_taken_over_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
            schema::migrate(&mut conn).unwrap();
            conn.execute(
                "INSERT INTO published_day VALUES ('2026-11-20', 'out/2026-11-20')",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&path, Duration::from_secs(5), 0o600).unwrap();
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let days: i64 = store
            .conn
            .query_row("SELECT count(*) FROM published_day", [], |r| r.get(0))
            .unwrap();
        assert_eq!(days, 1);
        assert!(!dir.path().join("state.db-wal").exists());
    }
}
