//! `payrecon reissue`: a person re-issues refund instructions the refund
//! job rejected. Each gets a new id (derived from the old one) and waits
//! for the next run, which files it under its business day and writes it
//! into that day's refund file. payrecon never does this by itself.

use super::DbArgs;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct ReissueArgs {
    /// The rejected instructions (refund_request_id).
    #[arg(value_name = "REFUND_ID", required = true)]
    pub ids: Vec<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn exec(args: &ReissueArgs) -> Result<String> {
    let (config, mut store) = args.db.open()?;
    let tx = store.begin(
        &config.db,
        std::time::Duration::from_secs(config.lock_timeout_secs),
    )?;
    let mut text = String::new();
    for id in &args.ids {
        let new_id = crate::reconcile::refunds::reissue(&tx, id)?;
        text.push_str(&format!(
            "{id} re-issued as {new_id}: the next run files it and writes it to its refund file\n"
        ));
    }
    tx.commit()?;
    Ok(text)
}
