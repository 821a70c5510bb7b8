//! `payrecon run`: its arguments and the guards a scheduled run needs
//! around [`crate::run::run`] (which does the work in one transaction):
//! the database's folder must exist, a new database is announced, the run
//! is recorded in the history (`run_log`), and each step is one log line.

use crate::cmd::history::RunRecord;
use crate::config::Config;
use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// TOML config file (see sample-config.toml); flags override its keys.
    /// Relative paths in it are relative to its own folder.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State database that remembers loaded files and issued refunds
    /// [default: payrecon.db]. Its folder must exist; a new database is
    /// announced on stderr.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Refuse to start when the state database does not exist (for cron:
    /// a wrong path must not start from a blank state).
    #[arg(long)]
    pub require_db: bool,
    /// Output folder [default: out/<business date>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Business day of this run, YYYY-MM-DD [default: the latest day
    /// covered: its settlement files and the next settle_lag_days days' are
    /// loaded]. Refunds first issued now are filed under this day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = super::parse_day)]
    pub date: Option<NaiveDate>,
    /// The file day whose inputs the config's [inputs] patterns name
    /// (`{date}` in them): yesterday, today (in the configured zone) or
    /// YYYY-MM-DD.
    #[arg(long, value_name = "DAY", value_parser = FilesOf::parse)]
    pub files_of: Option<FilesOf>,
    /// Internal order export (CSV, one row per channel attempt); repeatable.
    #[arg(long = "orders", value_name = "FILE")]
    pub orders: Vec<PathBuf>,
    /// Accept an order export with no rows (0 bytes, or the header only);
    /// without it such an export is an error: a failed export job must not
    /// pass as a quiet day.
    #[arg(long)]
    pub allow_empty_orders: bool,
    /// Settlement file, or a folder of them; repeatable.
    #[arg(long = "settlement", value_name = "FILE|DIR")]
    pub settlements: Vec<PathBuf>,
    /// The channel day covered by settlement files whose name carries no date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = super::parse_day)]
    pub settlement_day: Option<NaiveDate>,
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
    /// Judge everything loaded again, not only what this run's files (and
    /// the day's deadlines) can change. The outputs are the same; use it to
    /// check, or after restoring a database by hand.
    #[arg(long)]
    pub full: bool,
    /// Print the time each phase took to stderr.
    #[arg(long)]
    pub timings: bool,
    /// Print more detail (each phase's time).
    #[arg(long, short, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print nothing on success: only errors, warnings and notices (a new
    /// database) go to stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The file day of `--files-of` / `files_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesOf {
    Yesterday,
    Today,
    Day(NaiveDate),
}

impl FilesOf {
    pub fn parse(text: &str) -> Result<FilesOf, String> {
        match text.trim() {
            "yesterday" => Ok(FilesOf::Yesterday),
            "today" => Ok(FilesOf::Today),
            day => crate::timestamp::parse_day(day)
                .map(FilesOf::Day)
                .ok_or_else(|| format!("'{text}' is not yesterday, today or a date (YYYY-MM-DD)")),
        }
    }

    /// The day, with today taken in `zone`.
    pub fn day(self, zone: chrono_tz::Tz) -> NaiveDate {
        let today = chrono::Utc::now().with_timezone(&zone).date_naive();
        match self {
            FilesOf::Yesterday => today.pred_opt().unwrap_or(today),
            FilesOf::Today => today,
            FilesOf::Day(day) => day,
        }
    }
}

/// Lines on stderr: plain on a terminal; in a pipe or under cron, each
/// starts with an RFC 3339 timestamp. `-q` keeps back all but errors,
/// warnings and notices; `-v` adds detail.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    quiet: bool,
    verbose: bool,
}

impl Log {
    pub fn new(quiet: bool, verbose: bool) -> Log {
        Log { quiet, verbose }
    }

    /// A line every mode prints (errors, warnings, notices).
    pub fn always(&self, text: &str) {
        eprintln!("{}", stamped(text));
    }

    /// A step of the run (kept back by `-q`, except warnings).
    pub fn step(&self, text: &str) {
        if !self.quiet || text.starts_with("warning:") {
            self.always(text);
        }
    }

    /// Detail shown with `-v`.
    pub fn detail(&self, text: &str) {
        if self.verbose {
            self.always(text);
        }
    }
}

/// `text` with an RFC 3339 timestamp in front when stderr is no terminal.
pub fn stamped(text: &str) -> String {
    if std::io::stderr().is_terminal() {
        text.to_string()
    } else {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        format!("{now} {}", text.replace('\n', " "))
    }
}

pub fn exec(args: &RunArgs) -> Result<ExitCode> {
    let config = Config::for_run(args)?;
    let log = Log::new(config.quiet, config.verbose);
    for note in &config.notes {
        log.step(note);
    }
    check_database(&config, &log)?;
    if let Some(files_of) = config.files_of {
        log.step(&format!(
            "inputs of file day {}: {} export(s), {} settlement path(s)",
            files_of.day(config.zone),
            config.orders.len(),
            config.settlements.len()
        ));
    }
    for path in config.orders.iter().chain(&config.settlements) {
        log.detail(&format!("input {}", path.display()));
    }
    let record = RunRecord::start(&config);
    let result = crate::run::run_logged(&config, record.run_id())
        .map_err(|e| crate::store::readonly_error(e, &config.db));
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(err) => {
            if let Some(warning) = record.finish(&config, Err(&err)) {
                log.always(&warning);
            }
            return Err(err);
        }
    };
    if config.timings {
        eprint!("{}", outcome.phases.report());
    } else {
        for line in outcome.phases.report().lines() {
            log.detail(line);
        }
    }
    for notice in &outcome.notices {
        log.step(notice);
    }
    if !config.quiet {
        // On a terminal, a short coloured summary (NO_COLOR respected); in a
        // pipe or cron, summary.md as written.
        if std::io::stdout().is_terminal() {
            let colour =
                crate::emit::terminal::use_colour(true, std::env::var_os("NO_COLOR").as_deref());
            print!(
                "{}",
                crate::emit::terminal::short(&outcome.summary_json, &outcome.out_dir, colour)
            );
        } else {
            print!("{}", outcome.summary_markdown);
        }
        log.step(&format!(
            "wrote {} (business day {})",
            outcome.out_dir.display(),
            outcome.business_day
        ));
    }
    let status: u8 = if !outcome.unpublished.is_empty() {
        log.always(&format!(
            "error: refund instructions of {} were committed but are in no published refund file (see the warnings above)",
            outcome.unpublished.join(", ")
        ));
        4
    } else if config.fail_on_findings && outcome.needs_action > 0 {
        log.always(&crate::error::FindingsNeedAction(outcome.needs_action).to_string());
        3
    } else {
        0
    };
    if let Some(warning) = record.finish(&config, Ok((&outcome, status))) {
        log.always(&warning);
    }
    Ok(ExitCode::from(status))
}

/// The database guards of a scheduled run: its folder must exist (nothing
/// is created in a mistyped place); with `require_db` it must exist
/// itself; a new one is announced, even under `-q`.
fn check_database(config: &Config, log: &Log) -> Result<()> {
    let db = &config.db;
    if db.exists() {
        return Ok(());
    }
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        anyhow::ensure!(
            parent.is_dir(),
            "the folder of database {} does not exist: check --db (or db = … in the config); nothing was created",
            db.display()
        );
    }
    anyhow::ensure!(
        !config.require_db,
        "no state database at {} and require_db is set: check --db (or db = … in the config); nothing was created",
        db.display()
    );
    log.always(&format!(
        "notice: creating a new state database at {} (everything loaded before is elsewhere if this is not the first run)",
        db.display()
    ));
    Ok(())
}
