//! One module per subcommand that works on the ledger: its arguments and
//! its entry point (`exec`). Settings shared by every command (the
//! database, the lock timeout) come from [`DbArgs`] through
//! [`crate::config::Config`], resolved the same way as for `run`.

pub mod compact;
pub mod reissue;
pub mod resolve;

use crate::config::Config;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

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
}
