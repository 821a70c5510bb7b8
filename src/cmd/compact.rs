//! `payrecon compact`: compacts old days now (a run does it after its
//! commit): the rows of settlement days before the retention window whose
//! findings are all closed (docs/lifecycle.md, "Retention").

use super::DbArgs;
use anyhow::{Context, Result};
use clap::Args;

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Days of rows kept before the business day [default: the config's
    /// retention_days, else 90].
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u32>,
    /// The business day to count back from [default: the latest business
    /// day a run published].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn exec(args: &CompactArgs) -> Result<String> {
    let (config, mut store) = args.db.open()?;
    let retention = args.retention_days.unwrap_or(config.retention_days);
    anyhow::ensure!(
        retention > 0,
        "retention_days is 0: nothing is ever compacted"
    );
    let as_of = match &args.as_of {
        Some(day) => day.clone(),
        None => store
            .conn()
            .query_row("SELECT max(business_day) FROM published_day", [], |r| {
                r.get::<_, Option<String>>(0)
            })?
            .context("no run has published a day yet: give --as-of YYYY-MM-DD")?,
    };
    let cutoff = crate::store::retention::cutoff_day(&as_of, retention)?;
    let tx = store.begin(
        &config.db,
        std::time::Duration::from_secs(config.lock_timeout_secs),
    )?;
    let done = crate::store::retention::compact(&tx, &cutoff)?;
    tx.commit()?;
    Ok(format!(
        "compacted the days before {cutoff}: {} settlement file(s), {} row(s), {} attempt(s)\n",
        done.files, done.settlement_rows, done.attempts
    ))
}
