//! `payrecon inspect FILE`: its arguments; the work is
//! [`crate::inspect::inspect`].

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

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
    /// (Kept as text: `crate::inspect` reads it; clap checks it is a day.)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = valid_day)]
    pub settlement_day: Option<String>,
    /// How many rows to show in canonical form.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub rows: usize,
}

pub fn exec(args: &InspectArgs) -> Result<String> {
    if let Some(format) = &args.format {
        let config = match &args.config {
            Some(path) => crate::config::Config::from_file(path)?,
            None => crate::config::Config::default(),
        };
        crate::config::check_format_name(&config, format)?;
    }
    let (report, refusal) = crate::inspect::inspect(args)?;
    match refusal {
        // The report still shows what the file holds; the error (exit
        // status 1) says that a run would not take it.
        Some(problem) => {
            print!("{report}");
            anyhow::bail!(problem)
        }
        None => Ok(report),
    }
}

/// A day as text, checked by clap (a bad one is bad usage, exit status 2).
fn valid_day(text: &str) -> Result<String, String> {
    super::parse_day(text).map(|_| text.to_string())
}
