use clap::Parser;
use std::process::ExitCode;

/// Exit status: 0 completed, 1 could not run (bad input, I/O; nothing
/// changed), 2 bad usage (clap), 3 findings need action (--fail-on-findings).
fn main() -> ExitCode {
    let cli = payrecon::cli::Cli::parse();
    match payrecon::main_with(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
