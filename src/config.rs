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
    /// Refuse to run when the state database does not exist.
    pub require_db: Option<bool>,
    /// The file day the `[inputs]` patterns name: "yesterday", "today" or
    /// a date (`--files-of` overrides it).
    pub files_of: Option<String>,
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
    /// Per format: hours a settlement file's rows may run past the day it
    /// covers (`stripe = 14`).
    #[serde(default)]
    pub day_tolerance_hours: BTreeMap<String, u32>,
    /// Days an instruction may wait for the channel's confirmation.
    pub refund_confirm_days: Option<u32>,
    /// The refund job's results file, loaded by every run.
    pub refund_results: Option<PathBuf>,
    /// discrepancies.csv's encoding: "utf-8", "utf-8-bom" or "gbk".
    pub csv_encoding: Option<String>,
    /// Per finding kind: days an open item may age before it is overdue.
    #[serde(default)]
    pub aging: BTreeMap<String, u32>,
    /// Days of rows kept before closed days are compacted (0: keep all).
    pub retention_days: Option<u32>,
}

/// `[inputs]`: the files every run loads: paths, folders (settlement
/// files) or patterns (`{date}` or `{date:%Y%m%d}` is the file day,
/// `*`, `?` and `[…]` match as in a shell), one or a list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsConfig {
    #[serde(default)]
    pub orders: OneOrMany,
    #[serde(default, alias = "settlement")]
    pub settlements: OneOrMany,
}

/// One input entry or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(InputEntry),
    Many(Vec<InputEntry>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl OneOrMany {
    fn into_vec(self) -> Vec<InputEntry> {
        match self {
            OneOrMany::One(entry) => vec![entry],
            OneOrMany::Many(entries) => entries,
        }
    }
}

/// A path or pattern, or `{ pattern = "…", optional = true }` for an input
/// that may be absent (a channel that sends no file on a quiet day).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum InputEntry {
    Path(PathBuf),
    Pattern {
        pattern: PathBuf,
        #[serde(default)]
        optional: bool,
    },
}

/// An `[inputs]` entry, resolved against the config's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputPattern {
    pub pattern: PathBuf,
    pub optional: bool,
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
    /// Rows of settlement days older than this many days before the
    /// business day, whose findings are all closed, are compacted after a
    /// run (0: never).
    pub retention_days: u32,
    pub lock_timeout_secs: u64,
    pub fail_on_findings: bool,
    /// `--full`: judge everything loaded, not only what the run's files can
    /// change.
    pub full: bool,
    pub quiet: bool,
    pub verbose: bool,
    pub timings: bool,
    /// `--require-db` / `require_db`: a missing database is an error.
    pub require_db: bool,
    /// `--allow-empty-orders`: an export with no rows is accepted.
    pub allow_empty_orders: bool,
    /// `--files-of` / `files_of`: the day the input patterns name.
    pub files_of: Option<crate::cmd::run::FilesOf>,
    /// The config's `[inputs]`, before expansion (patterns, optional ones).
    pub order_inputs: Vec<InputPattern>,
    pub settlement_inputs: Vec<InputPattern>,
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
            retention_days: 90,
            lock_timeout_secs: 30,
            fail_on_findings: false,
            full: false,
            quiet: false,
            verbose: false,
            timings: false,
            require_db: false,
            allow_empty_orders: false,
            files_of: None,
            order_inputs: Vec::new(),
            settlement_inputs: Vec::new(),
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
        if let Some(date) = args.date {
            config.business_date = Some(date);
        }
        if let Some(day) = args.settlement_day {
            config.settlement_day = Some(day);
        }
        if let Some(files_of) = args.files_of {
            config.files_of = Some(files_of);
        }
        config.require_db |= args.require_db;
        config.allow_empty_orders = args.allow_empty_orders;
        // Files named on the command line replace the config's lists: a
        // person rerunning one day by hand means exactly those files.
        if !args.orders.is_empty() {
            if !config.order_inputs.is_empty() {
                config.notes.push(format!(
                    "note: --orders replaces the {} export(s) the config's [inputs] orders lists",
                    config.order_inputs.len()
                ));
            }
            config.orders = args.orders.clone();
        }
        if !args.settlements.is_empty() {
            if !config.settlement_inputs.is_empty() {
                config.notes.push(format!(
                    "note: --settlement replaces the {} path(s) the config's [inputs] settlements lists",
                    config.settlement_inputs.len()
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
        if args.orders.is_empty() {
            config.orders = expand_inputs(&config, "orders", &config.order_inputs)?;
        }
        if args.settlements.is_empty() {
            config.settlements = expand_inputs(&config, "settlement", &config.settlement_inputs)?;
        }
        if let Some(format) = &args.format {
            check_format_name(&config, format)?;
        }
        config.format = args.format.clone();
        config.fail_on_findings = args.fail_on_findings;
        config.full = args.full;
        config.quiet = args.quiet;
        config.verbose = args.verbose;
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
        let inputs = |entries: OneOrMany| -> Vec<InputPattern> {
            entries
                .into_vec()
                .into_iter()
                .map(|entry| match entry {
                    InputEntry::Path(path) => InputPattern {
                        pattern: rel(path),
                        optional: false,
                    },
                    InputEntry::Pattern { pattern, optional } => InputPattern {
                        pattern: rel(pattern),
                        optional,
                    },
                })
                .collect()
        };
        let files_of = match file.files_of {
            Some(text) => Some(
                crate::cmd::run::FilesOf::parse(&text)
                    .map_err(|e| crate::cmd::UsageError(format!("files_of: {e}")))?,
            ),
            None => None,
        };
        Ok(Config {
            require_db: file.require_db.unwrap_or_default(),
            files_of,
            order_inputs: inputs(file.inputs.orders),
            settlement_inputs: inputs(file.inputs.settlements),
            db: file.db.map(rel).unwrap_or(defaults.db),
            out_root: file.out_root.map(rel).unwrap_or(defaults.out_root),
            zone,
            default_currency,
            settle_lag_days: file.settle_lag_days.unwrap_or(defaults.settle_lag_days),
            orders_mapping: OrdersMapping::resolve(&file.orders, zone)?,
            format_settings,
            refund_file_mode,
            db_file_mode,
            day_tolerance: file
                .day_tolerance_hours
                .into_iter()
                .map(|(format, after_hours)| {
                    let builtin = crate::ingest::day::DayTolerance::of_format(&format);
                    let tolerance = crate::ingest::day::DayTolerance {
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
            retention_days: file.retention_days.unwrap_or(defaults.retention_days),
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

/// A settlement format name: a built-in one or a `[formats.NAME]` of the
/// config; another is bad usage.
pub fn check_format_name(config: &Config, name: &str) -> Result<()> {
    let builtin = crate::ingest::settlement::FORMATS.iter().map(|f| f.name);
    let mapped = config
        .format_settings
        .mapped
        .iter()
        .map(|m| m.name.as_str());
    let known: Vec<&str> = builtin.chain(mapped).collect();
    if known.contains(&name) {
        return Ok(());
    }
    Err(crate::cmd::UsageError(format!(
        "--format '{name}' is no settlement format; the formats are {} (or a [formats.NAME] of the config)",
        known.join(", ")
    ))
    .into())
}

/// The files the config's `[inputs]` name for this run: a plain path as it
/// is; `{date}` / `{date:FORMAT}` replaced by the file day (`--files-of`);
/// a glob expanded (in name order). A pattern that matches nothing is an
/// error naming it and the path tried, unless it is optional. A malformed
/// pattern, or `{date}` without a file day, is bad usage.
fn expand_inputs(config: &Config, role: &str, inputs: &[InputPattern]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for input in inputs {
        let text = input.pattern.to_string_lossy().into_owned();
        let tried = if text.contains("{date") {
            let day = config.files_of.map(|f| f.day(config.zone)).ok_or_else(|| {
                crate::cmd::UsageError(format!(
                    "[inputs] {role} '{text}' names {{date}}: give --files-of yesterday|today|YYYY-MM-DD (or files_of in the config)"
                ))
            })?;
            substitute_date(&text, day)
                .map_err(|e| crate::cmd::UsageError(format!("[inputs] {role} '{text}': {e}")))?
        } else {
            text.clone()
        };
        if !tried.contains(['*', '?', '[']) {
            let path = PathBuf::from(&tried);
            if path.exists() || (!input.optional && tried == text) {
                // A plain path: a missing one is said when it is opened.
                paths.push(path);
            } else if !input.optional {
                bail!(
                    "[inputs] {role} pattern '{text}' matches no file (tried {tried}); is the file late, or the pattern wrong? Mark it {{ pattern = \"…\", optional = true }} if it may be absent"
                );
            }
            continue;
        }
        let matches = glob::glob(&tried).map_err(|e| {
            crate::cmd::UsageError(format!(
                "[inputs] {role} '{text}' is not a valid pattern: {e}"
            ))
        })?;
        let mut found: Vec<PathBuf> = matches
            .filter_map(|m| m.ok())
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        if found.is_empty() && !input.optional {
            bail!(
                "[inputs] {role} pattern '{text}' matches no file (tried {tried}); is the file late, or the pattern wrong? Mark it {{ pattern = \"…\", optional = true }} if it may be absent"
            );
        }
        paths.extend(found);
    }
    Ok(paths)
}

/// `{date}` as `YYYY-MM-DD`, `{date:FORMAT}` as chrono's strftime FORMAT.
fn substitute_date(text: &str, day: NaiveDate) -> Result<String, String> {
    use chrono::format::{Item, StrftimeItems};
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("{date") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 5..];
        let end = after.find('}').ok_or("'{date' is not closed with '}'")?;
        let spec = &after[..end];
        let format = match spec.strip_prefix(':') {
            Some(format) => format,
            None if spec.is_empty() => "%Y-%m-%d",
            None => {
                return Err(format!(
                    "'{{date{spec}}}' is not {{date}} or {{date:FORMAT}}"
                ));
            }
        };
        let items: Vec<Item> = StrftimeItems::new(format).collect();
        if items.iter().any(|i| matches!(i, Item::Error)) {
            return Err(format!("'{format}' is not a date format (like %Y%m%d)"));
        }
        out.push_str(&day.format_with_items(items.into_iter()).to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
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
            "retention_days =",
            "lock_timeout_secs =",
            "require_db =",
            "files_of =",
        ] {
            assert!(text.contains(key), "{key} undocumented");
        }
        assert_eq!(config.format_settings.mapped.len(), 1);
        assert_eq!(config.format_settings.mapped[0].channel, "examplebank");
    }

    #[test]
    fn date_placeholders_take_the_file_day() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert_eq!(
            substitute_date("bills/*{date:%Y%m%d}*-{date}.csv", day).unwrap(),
            "bills/*20261121*-2026-11-21.csv"
        );
        assert!(substitute_date("a-{date:%Y", day).is_err());
        assert!(substitute_date("a-{dated}", day).is_err());
        assert!(substitute_date("a-{date:%Q}", day).is_err());
        assert_eq!(substitute_date("plain.csv", day).unwrap(), "plain.csv");
    }

    #[test]
    fn inputs_take_one_entry_or_a_list_and_optional_patterns() {
        let file: ConfigFile = toml::from_str(
            "[inputs]\norders = \"o-{date}.csv\"\nsettlement = [\"a/*.csv\", { pattern = \"b.csv\", optional = true }]",
        )
        .unwrap();
        let config = Config::resolve(file, Path::new("/base")).unwrap();
        assert_eq!(
            config.order_inputs[0].pattern,
            Path::new("/base/o-{date}.csv")
        );
        assert_eq!(config.settlement_inputs.len(), 2);
        assert!(!config.settlement_inputs[0].optional && config.settlement_inputs[1].optional);
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
