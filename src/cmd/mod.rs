//! One module per subcommand: its arguments and its entry point (`exec`),
//! as cargo's `commands/` (the work itself lives in the library: `run`,
//! `inspect`, `reconcile`…). Settings shared by every command (the
//! database, the zone, the currency, the settle lag, the formats, the lock
//! timeout) come from [`DbArgs`] through [`crate::config::Config`],
//! resolved the same way as for `run`.

pub mod compact;
pub mod explain;
pub mod history;
pub mod inspect;
pub mod reissue;
pub mod resolve;
pub mod run;
pub mod status;
pub mod table;

use crate::config::Config;
use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use std::path::PathBuf;

/// Bad usage: a flag value (or a config value standing for one) that
/// cannot be used. `main` exits with status 2 for it, as for clap's own
/// errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Whether `err` is bad usage (exit status 2).
pub fn is_usage_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<UsageError>())
}

/// The exit status of a command that failed with `err`: 2 bad usage, 5 a
/// run that committed but could not put every output in place, else 1
/// (nothing changed but the run history).
pub fn exit_status_of(err: &anyhow::Error) -> u8 {
    if is_usage_error(err) {
        2
    } else if err
        .chain()
        .any(|cause| cause.is::<crate::error::PublishedInPart>())
    {
        5
    } else {
        1
    }
}

/// `--date`, `--settlement-day`, `--as-of`: a day, `YYYY-MM-DD` (clap
/// reports a bad one as bad usage, exit status 2).
pub fn parse_day(text: &str) -> Result<NaiveDate, String> {
    crate::timestamp::parse_day(text)
        .ok_or_else(|| format!("'{text}' is not a date (expected YYYY-MM-DD)"))
}

/// How `status`, `explain` and `history` print: a table for people (fits
/// 100 columns), JSON or CSV for scripts (field names documented in the
/// README and stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Csv,
}

/// Where the state database is: `--db`, else the config's `db`, else
/// payrecon.db.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// TOML config file (see sample-config.toml) naming the database.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State database [default: the config's db, else payrecon.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

impl DbArgs {
    pub fn config(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(db) = &self.db {
            config.db = db.clone();
        }
        Ok(config)
    }

    /// Opens the existing database for a change: a command that changes
    /// the ledger never starts a blank one (a wrong path is an error).
    pub fn open(&self) -> Result<(Config, crate::store::Store)> {
        let config = self.config()?;
        anyhow::ensure!(
            config.db.is_file(),
            "no state database at {}: give the one your runs use with --db or --config",
            config.db.display()
        );
        let store = crate::store::Store::open(
            &config.db,
            std::time::Duration::from_secs(config.lock_timeout_secs),
            config.db_file_mode,
        )?;
        Ok((config, store))
    }

    /// Opens the existing database to read it only: no write lock, no
    /// migration, works while a run holds the database.
    pub fn open_read_only(&self) -> Result<(Config, rusqlite::Connection)> {
        let config = self.config()?;
        let conn = crate::store::open_read_only(
            &config.db,
            std::time::Duration::from_secs(config.lock_timeout_secs),
        )?;
        Ok((config, conn))
    }
}
