use clap::Parser;
use std::process::ExitCode;

/// Exit status: 0 completed, 1 could not run (bad input, I/O; nothing
/// changed), 2 bad usage (clap's errors and bad flag values), 3 findings
/// need action (--fail-on-findings), 4 an earlier run's refund file could
/// not be published, 5 the run committed but not every output could be put
/// in place.
fn main() -> ExitCode {
    let cli = payrecon::cli::Cli::parse();
    match payrecon::main_with(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "{}",
                payrecon::cmd::run::stamped(&format!("error: {err:#}"))
            );
            ExitCode::from(payrecon::cmd::exit_status_of(&err))
        }
    }
}
