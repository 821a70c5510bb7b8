//! The resolved configuration of one run: TOML file, then flags on top.
//!
//! After this module nothing reads `Cli` or the environment; the pipeline
//! takes a `&Config`. Relative paths in the TOML file are relative to the
//! file's own folder, so a config works from any working directory.

use crate::cli::RunArgs;
use crate::ingest::mapped::{MappedConfig, MappedFormat};
use crate::ingest::orders::{OrdersConfig, OrdersMapping};
use crate::ingest::settlement::FormatSettings;
use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a TOML config may say. Every key is documented in sample-config.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub db: Option<PathBuf>,
    pub out_root: Option<PathBuf>,
    pub timezone: Option<String>,
    pub default_currency: Option<String>,
    pub settle_lag_days: Option<u32>,
    #[serde(default)]
    pub inputs: InputsConfig,
    /// How the internal export is laid out.
    #[serde(default)]
    pub orders: OrdersConfig,
    #[serde(default)]
    pub stripe: StripeConfig,
    /// Other settlement CSVs, read through a column mapping.
    #[serde(default)]
    pub formats: BTreeMap<String, MappedConfig>,
    /// Unix permission bits for refunds.csv, as an octal string.
    pub refund_file_mode: Option<String>,
    /// Unix permission bits for a new state database (and so its journal).
    pub db_file_mode: Option<String>,
    /// Seconds a run waits for another run holding the database.
    pub lock_timeout_secs: Option<u64>,
    /// Per format: hours a settlement file's rows may fall before and after
    /// the day it covers (`stripe = [14, 14]`).
    #[serde(default)]
    pub day_tolerance_hours: BTreeMap<String, [u32; 2]>,
    /// Days an instruction may wait for the channel's confirmation.
    pub refund_confirm_days: Option<u32>,
    /// The refund job's results file, loaded by every run.
    pub refund_results: Option<PathBuf>,
    /// discrepancies.csv's encoding: "utf-8", "utf-8-bom" or "gbk".
    pub csv_encoding: Option<String>,
    /// Per finding kind: days an open item may age before it is overdue.
    #[serde(default)]
    pub aging: BTreeMap<String, u32>,
}

/// `[inputs]`: the files every run loads.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsConfig {
    #[serde(default)]
    pub orders: Vec<PathBuf>,
    #[serde(default)]
    pub settlements: Vec<PathBuf>,
}

/// `[stripe]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeConfig {
    /// The report column holding the order key (the export's channel_order_id).
    pub order_column: Option<String>,
    /// The report column holding the merchant refund number on refund rows.
    pub refund_id_column: Option<String>,
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: PathBuf,
    /// Outputs go to `<out_root>/<business date>/` unless `out` names a folder.
    pub out_root: PathBuf,
    /// `--out`: the exact output folder.
    pub out: Option<PathBuf>,
    pub zone: Tz,
    pub default_currency: String,
    pub settle_lag_days: u32,
    pub business_date: Option<NaiveDate>,
    pub orders: Vec<PathBuf>,
    pub settlements: Vec<PathBuf>,
    pub settlement_day: Option<NaiveDate>,
    pub format: Option<String>,
    pub orders_mapping: OrdersMapping,
    pub format_settings: crate::ingest::settlement::FormatSettings,
    pub refund_file_mode: u32,
    /// Permission bits a new state database is created with.
    pub db_file_mode: u32,
    /// `[day_tolerance_hours]`: overrides of the formats' built-in ones.
    pub day_tolerance: BTreeMap<String, crate::ingest::day::DayTolerance>,
    pub refund_confirm_days: u32,
    /// `--refund-results` / `refund_results`.
    pub refund_results: Option<PathBuf>,
    /// `--csv-encoding` / `csv_encoding`: the human-facing CSVs' encoding.
    pub csv_encoding: crate::emit::encoding::CsvEncoding,
    pub aging: crate::reconcile::finding::Aging,
    pub lock_timeout_secs: u64,
    pub fail_on_findings: bool,
    pub quiet: bool,
    pub timings: bool,
    /// Which source won where a flag and the config both said something,
    /// for the run to say (nothing is silently ignored).
    pub notes: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            db: PathBuf::from("payrecon.db"),
            out_root: PathBuf::from("out"),
            out: None,
            zone: chrono_tz::Asia::Shanghai,
            default_currency: "CNY".into(),
            settle_lag_days: 1,
            business_date: None,
            orders: Vec::new(),
            settlements: Vec::new(),
            settlement_day: None,
            format: None,
            orders_mapping: OrdersMapping::plain(chrono_tz::Asia::Shanghai),
            format_settings: Default::default(),
            refund_file_mode: 0o600,
            db_file_mode: 0o600,
            day_tolerance: BTreeMap::new(),
            refund_confirm_days: 3,
            refund_results: None,
            csv_encoding: Default::default(),
            aging: Default::default(),
            lock_timeout_secs: 30,
            fail_on_findings: false,
            quiet: false,
            timings: false,
            notes: Vec::new(),
        }
    }
}

impl Config {
    /// Builds the run's configuration from `--config` (if any) and the flags.
    pub fn for_run(args: &RunArgs) -> Result<Config> {
        let mut config = match &args.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(db) = &args.db {
            config.db = db.clone();
        }
        if let Some(out) = &args.out {
            config.out = Some(out.clone());
        }
        if let Some(date) = &args.date {
            config.business_date = Some(parse_day_flag("--date", date)?);
        }
        if let Some(day) = &args.settlement_day {
            config.settlement_day = Some(parse_day_flag("--settlement-day", day)?);
        }
        // Files named on the command line replace the config's lists: a
        // person rerunning one day by hand means exactly those files.
        if !args.orders.is_empty() {
            if !config.orders.is_empty() {
                config.notes.push(format!(
                    "note: --orders replaces the {} export(s) the config's [inputs] orders lists",
                    config.orders.len()
                ));
            }
            config.orders = args.orders.clone();
        }
        if !args.settlements.is_empty() {
            if !config.settlements.is_empty() {
                config.notes.push(format!(
                    "note: --settlement replaces the {} path(s) the config's [inputs] settlements lists",
                    config.settlements.len()
                ));
            }
            config.settlements = args.settlements.clone();
        }
        if let Some(name) = &args.csv_encoding {
            config.csv_encoding = parse_csv_encoding(name)?;
        }
        if let Some(results) = &args.refund_results {
            config.refund_results = Some(results.clone());
        }
        config.format = args.format.clone();
        config.fail_on_findings = args.fail_on_findings;
        config.quiet = args.quiet;
        config.timings = args.timings;
        Ok(config)
    }

    /// Reads and validates a TOML config file.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read config file {}", path.display()))?;
        let file: ConfigFile = toml::from_str(&text)
            .with_context(|| format!("config file {} is not valid", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        Config::resolve(file, base).with_context(|| format!("in config file {}", path.display()))
    }

    fn resolve(file: ConfigFile, base: &Path) -> Result<Config> {
        let defaults = Config::default();
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let zone = match file.timezone {
            Some(name) => name.parse::<Tz>().map_err(|_| {
                anyhow::anyhow!(
                    "timezone '{name}' is not an IANA zone name (like Asia/Shanghai or UTC)"
                )
            })?,
            None => defaults.zone,
        };
        let default_currency = match file.default_currency {
            Some(code) => crate::money::parse_currency(&code)?,
            None => defaults.default_currency,
        };
        let refund_file_mode = match file.refund_file_mode {
            Some(mode) => parse_mode("refund_file_mode", &mode)?,
            None => defaults.refund_file_mode,
        };
        let db_file_mode = match file.db_file_mode {
            Some(mode) => parse_mode("db_file_mode", &mode)?,
            None => defaults.db_file_mode,
        };
        let mut format_settings = FormatSettings::default();
        if let Some(column) = file.stripe.order_column {
            format_settings.stripe_order_column = column;
        }
        if let Some(column) = file.stripe.refund_id_column {
            format_settings.stripe_refund_id_column = column;
        }
        for (name, mapped) in &file.formats {
            if crate::ingest::settlement::FORMATS
                .iter()
                .any(|f| f.name == name)
            {
                bail!("[formats.{name}] has the name of a built-in format; choose another name");
            }
            format_settings
                .mapped
                .push(MappedFormat::resolve(name, mapped, zone)?);
        }
        Ok(Config {
            db: file.db.map(rel).unwrap_or(defaults.db),
            out_root: file.out_root.map(rel).unwrap_or(defaults.out_root),
            zone,
            default_currency,
            settle_lag_days: file.settle_lag_days.unwrap_or(defaults.settle_lag_days),
            orders: file.inputs.orders.into_iter().map(rel).collect(),
            settlements: file.inputs.settlements.into_iter().map(rel).collect(),
            orders_mapping: OrdersMapping::resolve(&file.orders, zone)?,
            format_settings,
            refund_file_mode,
            db_file_mode,
            day_tolerance: file
                .day_tolerance_hours
                .into_iter()
                .map(|(format, [before_hours, after_hours])| {
                    let builtin = crate::ingest::day::DayTolerance::of_format(&format);
                    let tolerance = crate::ingest::day::DayTolerance {
                        before_hours,
                        after_hours,
                        ..builtin
                    };
                    (format, tolerance)
                })
                .collect(),
            lock_timeout_secs: file.lock_timeout_secs.unwrap_or(defaults.lock_timeout_secs),
            refund_confirm_days: file
                .refund_confirm_days
                .unwrap_or(defaults.refund_confirm_days),
            refund_results: file.refund_results.map(rel),
            csv_encoding: match &file.csv_encoding {
                Some(name) => parse_csv_encoding(name)?,
                None => defaults.csv_encoding,
            },
            aging: aging(&file.aging)?,
            ..defaults
        })
    }
}

impl Config {
    /// How far the rows of a file of `format` may stray from its day.
    pub fn day_tolerance(&self, format: &str) -> crate::ingest::day::DayTolerance {
        self.day_tolerance
            .get(format)
            .copied()
            .unwrap_or_else(|| crate::ingest::day::DayTolerance::of_format(format))
    }
}

/// `[aging]`: finding kinds (their codes) and days.
fn aging(table: &BTreeMap<String, u32>) -> Result<crate::reconcile::finding::Aging> {
    use crate::reconcile::finding::{ALL_KINDS, Aging, FindingKind};
    let mut aging = Aging::default();
    for (code, days) in table {
        let kind = FindingKind::from_code(code).with_context(|| {
            let known: Vec<&str> = ALL_KINDS.iter().map(|k| k.code()).collect();
            format!(
                "[aging] {code} is no finding kind; the kinds are {}",
                known.join(", ")
            )
        })?;
        aging.overrides.insert(kind, *days);
    }
    Ok(aging)
}

/// Permission bits written as an octal string (`"0600"`).
fn parse_mode(key: &str, mode: &str) -> Result<u32> {
    u32::from_str_radix(mode.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .with_context(|| format!("{key} '{mode}' is not octal permission bits like \"0600\""))
}

fn parse_day_flag(flag: &str, text: &str) -> Result<NaiveDate> {
    crate::timestamp::parse_day(text)
        .with_context(|| format!("{flag} '{text}' is not a date (expected YYYY-MM-DD)"))
}

/// `csv_encoding` / `--csv-encoding`.
fn parse_csv_encoding(name: &str) -> Result<crate::emit::encoding::CsvEncoding> {
    crate::emit::encoding::CsvEncoding::parse(name).ok_or_else(|| {
        anyhow::anyhow!(
            "csv_encoding '{name}' is not one of {}",
            crate::emit::encoding::CsvEncoding::NAMES.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_config_is_valid_and_complete() {
        let text = include_str!("../sample-config.toml");
        let file: ConfigFile = toml::from_str(text).expect("sample-config.toml parses");
        let config = Config::resolve(file, Path::new("/base")).unwrap();
        assert_eq!(config.zone, chrono_tz::Asia::Shanghai);
        assert_eq!(config.db, Path::new("/base/payrecon.db"));
        // Every key of ConfigFile is documented (present) in the sample.
        for key in [
            "db =",
            "out_root =",
            "timezone =",
            "default_currency =",
            "settle_lag_days =",
            "[inputs]",
            "orders =",
            "settlements =",
            "[orders.columns]",
            "[orders.order_status]",
            "[orders.payment_status]",
            "[orders.channel]",
            "[orders.layout]",
            "sheet =",
            "[stripe]",
            "order_column =",
            "refund_id_column =",
            "[formats.",
            "refund_file_mode =",
            "db_file_mode =",
            "[day_tolerance_hours]",
            "refund_confirm_days =",
            "refund_results =",
            "csv_encoding =",
            "[aging]",
            "lock_timeout_secs =",
        ] {
            assert!(text.contains(key), "{key} undocumented");
        }
        assert_eq!(config.format_settings.mapped.len(), 1);
        assert_eq!(config.format_settings.mapped[0].channel, "examplebank");
    }

    #[test]
    fn bad_values_are_explained() {
        let file: ConfigFile = toml::from_str("timezone = \"Mars/Base\"").unwrap();
        let err = Config::resolve(file, Path::new("")).unwrap_err();
        assert!(err.to_string().contains("IANA"), "{err}");
        let file: ConfigFile = toml::from_str("[orders.columns]\nsku = \"x\"").unwrap();
        assert!(Config::resolve(file, Path::new("")).is_err());
        assert!(toml::from_str::<ConfigFile>("colour = 1").is_err());
    }
}
