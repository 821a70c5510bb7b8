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

/// Runs the parsed command line; returns the process exit status.
pub fn main_with(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => {
            let config = config::Config::for_run(&args)?;
            if !config.quiet {
                for note in &config.notes {
                    eprintln!("{note}");
                }
            }
            let outcome = run::run(&config).map_err(|e| store::readonly_error(e, &config.db))?;
            if config.timings {
                eprint!("{}", outcome.phases.report());
            }
            for notice in &outcome.notices {
                if !config.quiet || notice.starts_with("warning:") {
                    eprintln!("{notice}");
                }
            }
            if !config.quiet {
                eprintln!("wrote {}", outcome.out_dir.display());
                if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                    let colour =
                        emit::terminal::use_colour(true, std::env::var_os("NO_COLOR").as_deref());
                    print!(
                        "{}",
                        emit::terminal::short(&outcome.summary_json, &outcome.out_dir, colour)
                    );
                } else {
                    print!("{}", outcome.summary_markdown);
                }
            }
            if !outcome.unpublished.is_empty() {
                eprintln!(
                    "error: refund instructions of {} were committed but are in no published refund file (see the warnings above)",
                    outcome.unpublished.join(", ")
                );
                return Ok(ExitCode::from(4));
            }
            if config.fail_on_findings && outcome.needs_action > 0 {
                eprintln!("{}", error::FindingsNeedAction(outcome.needs_action));
                return Ok(ExitCode::from(3));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect(args) => {
            print!("{}", inspect::inspect(&args)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Resolve(args) => {
            print!("{}", cmd::resolve::exec(&args)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Reissue(args) => {
            print!("{}", cmd::reissue::exec(&args)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
