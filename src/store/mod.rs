//! The state database: what was loaded, what was found, what was refunded.
//!
//! SQLite, one file. A run holds one `BEGIN IMMEDIATE` transaction from its
//! first load to its last decision, so a failed or killed run changes
//! nothing, and a second run waits (bounded) for the first.

pub mod batch;
pub mod bulk;
pub mod cache;
pub mod load;
pub mod refund_files;
pub mod retention;
pub mod schema;

use anyhow::{Context, Result};
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed, with permission bits `mode`) the database
    /// and brings its schema up to date.
    pub fn open(path: &Path, lock_timeout: Duration, mode: u32) -> Result<Store> {
        Store::open_writable(path, lock_timeout, mode).map_err(|e| readonly_error(e, path))
    }

    fn open_writable(path: &Path, lock_timeout: Duration, mode: u32) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| {
                format!("failed to create the folder of database {}", path.display())
            })?;
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
        load::register_batch_tables(&conn)?;
        schema::migrate(&mut conn)
            .map_err(|e| match e.downcast::<rusqlite::Error>() {
                Ok(e) => busy_error(e, path, lock_timeout),
                Err(e) => e,
            })
            .with_context(|| format!("failed to prepare database {}", path.display()))?;
        Ok(Store { conn })
    }

    /// Starts the run's one write transaction; waits for another run's lock
    /// at most `lock_timeout`, then refuses.
    pub fn begin(&mut self, path: &Path, lock_timeout: Duration) -> Result<Transaction<'_>> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| readonly_error(busy_error(e, path, lock_timeout), path))
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
        anyhow::anyhow!(
            "another payrecon run is using database {} (waited {} s); try again when it has finished",
            path.display(),
            timeout.as_secs()
        )
    } else {
        anyhow::Error::new(err).context(format!("database {}", path.display()))
    }
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
