//! `payrecon reissue`: a person releases refund instructions the refund
//! job rejected. The next run refunds what is still owed on each payment
//! then (nothing, if the channel refunded it by hand meanwhile, or a
//! correction removed it), under a new id filed under its business day.
//! payrecon never does this by itself.

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
        crate::reconcile::refunds::reissue(&tx, id)?;
        text.push_str(&format!(
            "{id} released for re-issue: the next run refunds what is still owed on its payment (if anything) under a new id, in its refund file\n"
        ));
    }
    tx.commit()?;
    Ok(text)
}
