//! payrecon: daily payment reconciliation.
//!
//! The data flows one way: `ingest` turns the internal export and each
//! channel's settlement file into canonical records; `store` loads them into
//! the SQLite state database; `reconcile` classifies every discrepancy and
//! decides refunds; `emit` writes refunds.csv, discrepancies.csv and the
//! summaries. `run` strings them together in one transaction.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod emit;
pub mod error;
pub mod failpoint;
pub mod ingest;
pub mod inspect;
pub mod model;
pub mod money;
pub mod phases;
pub mod pipeline;
pub mod progress;
pub mod reconcile;
pub mod run;
pub mod store;
pub mod timestamp;

use cli::{Cli, Command};
use std::process::ExitCode;

/// Runs the parsed command line; returns the process exit status. Each
/// command lives in its own module under [`cmd`].
pub fn main_with(cli: Cli) -> anyhow::Result<ExitCode> {
    store::process_started();
    let printed = |text: String| {
        print!("{text}");
        ExitCode::SUCCESS
    };
    match cli.command {
        Command::Run(args) => cmd::run::exec(&args),
        Command::Inspect(args) => cmd::inspect::exec(&args).map(printed),
        Command::Resolve(args) => cmd::resolve::exec(&args).map(printed),
        Command::Reissue(args) => cmd::reissue::exec(&args).map(printed),
        Command::Status(args) => cmd::status::exec(&args).map(printed),
        Command::Explain(args) => cmd::explain::exec(&args).map(printed),
        Command::History(args) => cmd::history::exec(&args).map(printed),
        Command::Compact(args) => cmd::compact::exec(&args).map(printed),
    }
}
