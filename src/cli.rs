//! Command-line definitions. The doc comments here are the `--help` text.

use clap::{Parser, Subcommand};

pub use crate::cmd::inspect::InspectArgs;
pub use crate::cmd::run::RunArgs;

/// Daily payment reconciliation: match the internal order export against the
/// payment channels' settlement files and say where money went wrong.
#[derive(Debug, Parser)]
#[command(
    name = "payrecon",
    version,
    propagate_version = true,
    help_expected = true
)]
#[command(
    after_help = "Exit status: 0 the run completed (with or without findings), \
1 it could not (bad input, I/O; nothing was changed), 2 bad usage, \
3 --fail-on-findings was given and a finding needs action, \
4 the run completed but refund instructions of an earlier run are in no \
published refund file (see its warning), 5 the run committed but not every \
output could be put in place (run it again to write the rest)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load today's files and reconcile: writes refunds.csv, discrepancies.csv,
    /// summary.md and summary.json into the output folder.
    #[command(after_help = "Examples:
  payrecon run --orders orders.csv --settlement bills/
  payrecon run --config payrecon.toml --date 2026-11-21 --fail-on-findings

Files already loaded (same content) are skipped; a settlement file for a
channel day already loaded but with other content replaces that day. Refund
instructions are remembered in the database and never issued twice; a
duplicate or paid-after-close is refunded once its day is covered (its T+1
files loaded), since a later file may still show a refund the channel made.

Exit status:
  0  the run completed (with or without findings)
  1  it could not (bad input, a missing file, I/O, database busy): nothing
     was changed (the failure is recorded in `payrecon history`)
  2  bad usage (an unknown flag, a bad --date, --format, --files-of or
     input pattern)
  3  --fail-on-findings was given and a finding needs action
  4  the run completed but refund instructions of an earlier run are in no
     published refund file (see its warning)
  5  the run committed its changes but could not put every output in place
     (the error names the refund files that are out); run it again to write
     the rest, nothing is issued twice")]
    Run(RunArgs),
    /// Check one settlement file before a run: its format, the channel and
    /// day it covers (and where the day came from), what its own totals were
    /// checked against, rows, amounts and fees per currency and kind, the rows
    /// skipped as not order money, and the first rows in canonical form.
    #[command(after_help = "Example:\n  payrecon inspect wechat-2026-11-21.csv

Nothing is written. A file whose day cannot be told is still shown, with the
day marked unknown and why: a run refuses it until it is renamed or given
--settlement-day.")]
    Inspect(InspectArgs),
    /// Close findings the data cannot close, with a note: by id, or from a
    /// discrepancies.csv whose `resolution` column the team filled.
    #[command(after_help = "Examples:
  payrecon resolve F3c1d… F9a20… --note \"bank confirmed the fee\" --by alice --db payrecon.db
  payrecon resolve --from out/2026-11-21/discrepancies-reviewed.csv --by alice --config payrecon.toml

All or nothing: an unknown id is an error and nothing is closed. The next
run reports them RESOLVED once, with who and the note; a closed item whose
amounts change later is reopened.")]
    Resolve(crate::cmd::resolve::ResolveArgs),
    /// Re-issue refund instructions the refund job rejected, under new ids;
    /// the next run files them and writes them to its refund file.
    #[command(after_help = "Example:\n  payrecon reissue PR1f0c… --config payrecon.toml")]
    Reissue(crate::cmd::reissue::ReissueArgs),
    /// What is open now: findings by kind and age (overdue first) with the
    /// amounts at stake, where the refunds stand, expected files missing,
    /// and the last run. Reads the database only.
    #[command(after_help = "Examples:
  payrecon status --config payrecon.toml
  payrecon status --db payrecon.db --as-of 2026-11-24 --format json")]
    Status(crate::cmd::status::StatusArgs),
    /// One order's whole story: its attempts, the channel's rows, every
    /// finding with its changes, every refund with its lifecycle, and the
    /// rule behind each decision. Reads the database only.
    #[command(
        after_help = "Example:\n  payrecon explain ORD-1001 --config payrecon.toml

KEY is an order_id, payment_id, channel_order_id, channel_txn_id,
finding_id or refund_request_id."
    )]
    Explain(crate::cmd::explain::ExplainArgs),
    /// The runs: when, for which business day, which inputs, what they
    /// found and refunded, and whether they committed or failed (with the
    /// error). Reads the database only.
    #[command(after_help = "Example:\n  payrecon history --last 5 --config payrecon.toml")]
    History(crate::cmd::history::HistoryArgs),
    /// Compact old days now: remove the rows of settlement days before the
    /// retention window whose findings are all closed (a run does it after
    /// its commit; the ledgers are kept forever).
    #[command(
        after_help = "Example:\n  payrecon compact --config payrecon.toml --retention-days 30"
    )]
    Compact(crate::cmd::compact::CompactArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
