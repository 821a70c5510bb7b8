//! Command-line definitions. The doc comments here are the `--help` text.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
published refund file (see its warning)."
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
files loaded), since a later file may still show a refund the channel made.")]
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
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// TOML config file (see sample-config.toml); flags override its keys.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State database that remembers loaded files and issued refunds
    /// [default: payrecon.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Output folder [default: out/<business date>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Business day of this run, YYYY-MM-DD [default: the latest day
    /// covered: its settlement files and the next settle_lag_days days' are
    /// loaded]. Refunds first issued now are filed under this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Internal order export (CSV, one row per channel attempt); repeatable.
    #[arg(long = "orders", value_name = "FILE")]
    pub orders: Vec<PathBuf>,
    /// Settlement file, or a folder of them; repeatable.
    #[arg(long = "settlement", value_name = "FILE|DIR")]
    pub settlements: Vec<PathBuf>,
    /// The channel day covered by settlement files whose name carries no date.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub settlement_day: Option<String>,
    /// Read every settlement file as this format instead of detecting it.
    #[arg(long, value_name = "NAME")]
    pub format: Option<String>,
    /// The refund job's results (CSV: refund_request_id, status ACCEPTED or
    /// REJECTED, message); a rejected instruction waits for `payrecon reissue`.
    #[arg(long, value_name = "FILE")]
    pub refund_results: Option<PathBuf>,
    /// How discrepancies.csv is encoded: utf-8 (the default), utf-8-bom or
    /// gbk, for Excel that opens CSV files in its locale's code page.
    /// refunds.csv is always plain UTF-8.
    #[arg(long, value_name = "ENCODING", value_parser = ["utf-8", "utf-8-bom", "gbk"])]
    pub csv_encoding: Option<String>,
    /// Exit with status 3 when any finding needs action (for cron alerts).
    #[arg(long)]
    pub fail_on_findings: bool,
    /// Print the time each phase took to stderr.
    #[arg(long)]
    pub timings: bool,
    /// Print nothing on success (errors still go to stderr).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The settlement file to look at.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// TOML config file, for mapped formats and the time zone.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read the file as this format instead of detecting it.
    #[arg(long, value_name = "NAME")]
    pub format: Option<String>,
    /// The day the file covers, when its name and content do not say.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub settlement_day: Option<String>,
    /// How many rows to show in canonical form.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub rows: usize,
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
