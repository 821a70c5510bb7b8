//! The seam every settlement format plugs into.
//!
//! A [`Format`] recognises its files from their first bytes and streams
//! canonical [`SettlementRecord`]s into a sink. [`read_file`] does the rest
//! the same way for all of them: opening (gzip and zip too), format
//! detection (content, not name; consumer exports are refused), and telling
//! the channel day the file covers.

use super::day;
use crate::error::InputError;
use crate::model::SettlementRecord;
use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::io::{BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

/// What a parser needs besides the bytes.
pub struct Context<'a> {
    pub path: &'a Path,
    /// Zone for times the file writes without an offset, unless the format
    /// fixes its own (WeChat and Alipay bills are Beijing time).
    pub zone: Tz,
    pub default_currency: &'a str,
    pub settings: &'a FormatSettings,
}

/// Per-format options from the config (`[formats]` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatSettings {
    /// Stripe: the column holding the merchant order key (the export's
    /// channel_order_id), e.g. `payment_metadata[order_id]`.
    pub stripe_order_column: String,
    /// Stripe: the column holding the merchant's refund number on refund
    /// rows (payrecon's `refund_request_id`, when the refund job stores it in
    /// the refund's metadata); `source_id` (`re_…`) where it is absent.
    pub stripe_refund_id_column: String,
    /// `[formats.NAME]` tables: CSVs read through a column mapping.
    pub mapped: Vec<super::mapped::MappedFormat>,
}

impl Default for FormatSettings {
    fn default() -> Self {
        FormatSettings {
            stripe_order_column: "payment_metadata[order_id]".into(),
            stripe_refund_id_column: "refund_metadata[refund_request_id]".into(),
            mapped: Vec::new(),
        }
    }
}

/// What a file says about itself, besides its rows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileFacts {
    pub channel: Option<String>,
    pub day: Option<NaiveDate>,
    /// Rows read on purpose but not turned into records (payouts, fees,
    /// disputes…), counted by the type the file gives them (`payout`,
    /// `MerchantPayout`), so a run can say what it left out.
    pub skipped: Skipped,
    /// What the rows were checked against, when the file carries its own
    /// totals (a bill's summary or footer), for `inspect` to say so.
    pub checked: Option<&'static str>,
    /// What was told rather than configured (an encoding, a delimiter).
    pub notes: Vec<String>,
}

/// Skipped row counts by the row type as the file writes it.
pub type Skipped = BTreeMap<String, u64>;

pub type Sink<'s> = dyn FnMut(SettlementRecord) -> Result<()> + 's;

/// One settlement file format.
pub struct Format {
    pub name: &'static str,
    pub description: &'static str,
    /// Column names typical of the format, to tell a person which format an
    /// unrecognised file resembles.
    pub hints: &'static [&'static str],
    /// Does this head of a file (first bytes, BOM included) look like ours?
    pub sniff: fn(head: &[u8]) -> bool,
    pub parse: fn(input: &mut dyn Read, cx: &Context, sink: &mut Sink) -> Result<FileFacts>,
}

/// Every format payrecon reads, most specific first.
pub const FORMATS: &[&Format] = &[
    &super::unionpay::FORMAT,
    &super::adyen::FORMAT,
    &super::stripe::FORMAT,
    &super::wechat::FORMAT,
    &super::alipay::FORMAT,
    &super::canonical::FORMAT,
];

/// How many bytes detection looks at.
const HEAD_LEN: usize = 64 * 1024;

pub fn format_named(name: &str) -> Result<&'static Format> {
    FORMATS
        .iter()
        .copied()
        .find(|f| f.name == name)
        .with_context(|| {
            format!(
                "unknown format '{name}' (known: {})",
                FORMATS
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// A settlement file after parsing: its format and the channel day it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFile {
    pub format: String,
    pub channel: String,
    pub day: NaiveDate,
    /// Where `day` was read.
    pub day_source: DaySource,
    pub rows: u64,
    /// See [`FileFacts::skipped`].
    pub skipped: Skipped,
    /// Things the person running should know (a flag another source
    /// overrode), one line each.
    pub notes: Vec<String>,
}

/// Where the day a file covers was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaySource {
    /// The format dates its files itself ([`FileFacts::day`]).
    Format,
    Name,
    /// `--settlement-day`.
    Flag,
}

impl DaySource {
    /// For people: where the day of a file of `format` came from.
    pub fn describe(self, format: &str) -> &'static str {
        match (self, format) {
            (DaySource::Format, "alipay") => "from the bill's #起始日期 line",
            (DaySource::Format, "unionpay") => "from the INN<yyMMdd> date UnionPay names it by",
            (DaySource::Format, _) => "stated by the file itself",
            (DaySource::Name, _) => "from the file name",
            (DaySource::Flag, _) => "from --settlement-day",
        }
    }
}

/// A settlement file read through, before a run insists on knowing which
/// channel day it covers: `inspect` shows a file whose day or channel cannot
/// be told (with why), a run refuses it ([`Scanned::into_parsed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub format: String,
    /// What was read: the file itself, or `archive.zip/member.csv`.
    pub source: PathBuf,
    pub channel: Result<String, InputError>,
    pub day: Result<(NaiveDate, DaySource), InputError>,
    pub rows: u64,
    /// See [`FileFacts::skipped`].
    pub skipped: Skipped,
    /// See [`FileFacts::checked`].
    pub checked: Option<&'static str>,
    /// See [`ParsedFile::notes`].
    pub notes: Vec<String>,
}

impl Scanned {
    pub fn into_parsed(self) -> Result<ParsedFile> {
        let (day, day_source) = self.day?;
        Ok(ParsedFile {
            format: self.format,
            day,
            day_source,
            channel: self.channel?,
            rows: self.rows,
            skipped: self.skipped,
            notes: self.notes,
        })
    }
}

/// Reads one settlement file into `sink`. The day comes from the file's own
/// header if it has one, else its name, else `fallback_day` (`--settlement-day`).
/// A gzip or zip file is read as the bill inside it.
pub fn read_file(
    input: impl Read,
    cx: &Context,
    forced_format: Option<&str>,
    fallback_day: Option<NaiveDate>,
    sink: &mut Sink,
) -> Result<ParsedFile> {
    scan(input, cx, forced_format, fallback_day, sink)?.into_parsed()
}

/// [`read_file`], leaving an unknown channel or day for the caller to judge.
pub fn scan(
    input: impl Read,
    cx: &Context,
    forced_format: Option<&str>,
    fallback_day: Option<NaiveDate>,
    sink: &mut Sink,
) -> Result<Scanned> {
    let sheets: Vec<&str> = cx
        .settings
        .mapped
        .iter()
        .filter_map(|m| m.layout.sheet.as_deref())
        .collect();
    let mut notes = Vec::new();
    let mut scanned =
        super::container::open_with_sheets(input, cx.path, &sheets, &mut notes, |plain, path| {
            let cx = Context { path, ..*cx };
            read_plain(plain, &cx, forced_format, fallback_day, sink)
        })?;
    notes.append(&mut scanned.notes);
    scanned.notes = notes;
    Ok(scanned)
}

fn read_plain(
    input: &mut dyn Read,
    cx: &Context,
    forced_format: Option<&str>,
    fallback_day: Option<NaiveDate>,
    sink: &mut Sink,
) -> Result<Scanned> {
    let path = cx.path;
    let mut input = BufReader::with_capacity(1 << 16, input);
    let head = read_head(&mut input, path)?;
    // An empty file is a valid day with no rows (a channel with nothing to
    // settle may deliver one); any format reads it as such.
    let blank = head
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(&head)
        .iter()
        .all(u8::is_ascii_whitespace);
    let mapped = &cx.settings.mapped;
    let chosen = match forced_format {
        Some(name) => match mapped.iter().find(|m| m.name == name) {
            Some(m) => Chosen::Mapped(m),
            None => Chosen::Builtin(format_named(name)?),
        },
        None if blank => Chosen::Builtin(&super::canonical::FORMAT),
        None => match mapped.iter().find(|m| m.sniff(&head)) {
            Some(m) => Chosen::Mapped(m),
            None => Chosen::Builtin(detect(path, &head)?),
        },
    };
    // A format forced on a file that is plainly another: said with the
    // error, since the forced format's own advice would mislead.
    let other = forced_format
        .filter(|name| !forced_fits(name, &head, mapped))
        .and_then(|_| detect(path, &head).ok())
        .filter(|f| Some(f.name) != forced_format);
    let mismatch = |err: anyhow::Error| match (other, forced_format) {
        (Some(format), Some(forced)) => {
            let (line, column) = err
                .downcast_ref::<InputError>()
                .map_or((0, None), |e| (e.line, e.column.clone()));
            anyhow::Error::new(InputError {
                line,
                column,
                ..InputError::file(
                    path,
                    format!(
                        "is {} (detected as the {} format from its content), but --format {forced} forces {forced}: load it without --format, or keep it apart from the {forced} files (read as {forced}, it failed with: {err:#})",
                        kind_of(format),
                        format.name
                    ),
                )
            })
        }
        _ => err,
    };
    let mut rows = 0u64;
    let mut counting = |record: SettlementRecord| {
        rows += 1;
        printable_ids(path, rows, &record)?;
        sink(record)
    };
    let mut all = std::io::Cursor::new(head).chain(input);
    let (facts, format) = match chosen {
        // Every built-in format is comma-separated (UnionPay's fixed-width
        // records have no commas: a line is one field to the guard); a
        // mapped format's table guards itself with its own delimiter.
        Chosen::Builtin(f) => (
            (f.parse)(&mut super::guard::Guard::new(all, b','), cx, &mut counting)
                .map_err(|e| mismatch(limit_error(path, e)))?,
            f.name.to_string(),
        ),
        Chosen::Mapped(m) => (
            m.parse(&mut all, cx, &mut counting)
                .map_err(|e| mismatch(limit_error(path, e)))?,
            m.name.clone(),
        ),
    };
    let day = match facts.day {
        // A file that dates itself and a name that says another day: one
        // of them is wrong, and loading it under either could stand in for
        // (or replace) the other day's file.
        Some(day) => match day::day_from_name(path) {
            Ok(Some(named)) if named != day => Err(InputError::file(
                path,
                format!(
                    "its name says {named}, but the file itself says {day} ({}): is it the wrong file, or misnamed? Rename it for the day it covers",
                    DaySource::Format.describe(&format)
                ),
            )),
            _ => Ok((day, DaySource::Format)),
        },
        None => day_of(path, fallback_day),
    };
    let mut notes = facts.notes;
    if let (Some(flag), Ok((day, source))) = (fallback_day, &day)
        && *source != DaySource::Flag
    {
        notes.push(format!(
            "note: {} covers {day} ({}); --settlement-day {flag} is used only for files whose day cannot be told otherwise{}",
            path.display(),
            source.describe(&format),
            if *day == flag { "" } else { ", so it was not used here" }
        ));
    }
    let channel = facts
        .channel
        .or_else(|| day::channel_from_name(path))
        .ok_or_else(|| InputError::file(path, "has no rows and its name does not start with the channel (like wechat-2026-11-21.csv), so the channel it covers cannot be told"));
    Ok(Scanned {
        format,
        source: path.to_path_buf(),
        channel,
        day,
        rows,
        skipped: facts.skipped,
        checked: facts.checked,
        notes,
    })
}

/// A read the guard stopped (outside a CSV record, which names its own
/// place) as the input error it is.
pub fn limit_error(path: &Path, err: anyhow::Error) -> anyhow::Error {
    let limit = err
        .downcast_ref::<std::io::Error>()
        .and_then(super::guard::too_long)
        .cloned();
    match limit {
        Some(limit) => InputError {
            line: limit.line,
            ..InputError::file(path, limit.to_string())
        }
        .into(),
        None => err,
    }
}

/// The last line of defence for ids (each format refuses a control
/// character in its required fields with the line and column): no id with
/// a control character reaches the database, and so refunds.csv.
fn printable_ids(path: &Path, row: u64, record: &SettlementRecord) -> Result<(), InputError> {
    for (name, id) in [
        ("channel_txn_id", &record.channel_txn_id),
        ("channel_order_id", &record.channel_order_id),
        ("refund_id", &record.refund_id),
    ] {
        // Every format reads its fields through `Row::text`, which names
        // the line; this is the net for one that does not.
        if let Some(problem) = super::too_long(id) {
            return Err(InputError::file(
                path,
                format!("record {row}: its {name} {problem}"),
            ));
        }
        if let Some(c) = id.chars().find(|c| c.is_control()) {
            return Err(InputError::file(
                path,
                format!(
                    "record {row}: its {name} '{}' contains the control character {}: ids must be printable text (a damaged file?)",
                    super::shorten(id),
                    c.escape_unicode()
                ),
            ));
        }
    }
    Ok(())
}

/// Does the head fit the forced format's own signature?
fn forced_fits(name: &str, head: &[u8], mapped: &[super::mapped::MappedFormat]) -> bool {
    match mapped.iter().find(|m| m.name == name) {
        Some(m) => m.sniff(head),
        None => FORMATS.iter().any(|f| f.name == name && (f.sniff)(head)),
    }
}

/// The format a file is read as.
enum Chosen<'m> {
    Builtin(&'static Format),
    Mapped(&'m super::mapped::MappedFormat),
}

/// The first bytes of a file. Data that cannot be decoded (a damaged or
/// cut-short gzip) is bad input naming the file; anything else is I/O.
fn read_head(input: &mut impl Read, path: &Path) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    match input.by_ref().take(HEAD_LEN as u64).read_to_end(&mut head) {
        Ok(_) => Ok(head),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::UnexpectedEof
            ) =>
        {
            Err(InputError::file(path, e.to_string()).into())
        }
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("failed to read settlement file {}", path.display()))),
    }
}

/// What a person calls a file of this format.
fn kind_of(format: &Format) -> &'static str {
    match format.name {
        "wechat" => "a WeChat Pay trade bill (交易账单)",
        "alipay" => "an Alipay business detail (业务明细)",
        "stripe" => "a Stripe balance report",
        "unionpay" => "a UnionPay ZM reconciliation file",
        "adyen" => "an Adyen settlement details report",
        _ => "a settlement file in payrecon's canonical form",
    }
}

/// What a person would call the settlement file this head starts, if it is
/// one: for an order export that turns out to be a bill.
pub fn settlement_kind(head: &[u8]) -> Option<&'static str> {
    if let Some(format) = FORMATS.iter().find(|f| (f.sniff)(head)) {
        return Some(kind_of(format));
    }
    if super::unionpay::is_summary(head) {
        return Some("UnionPay's daily summary (RD) file");
    }
    super::consumer::refusal(head).map(|_| "a personal (consumer) payment export")
}

/// Picks the format from the content; an unknown file gets an error that
/// says what payrecon reads.
pub fn detect(path: &Path, head: &[u8]) -> Result<&'static Format> {
    if let Some(format) = FORMATS.iter().copied().find(|f| (f.sniff)(head)) {
        return Ok(format);
    }
    if super::utf16_bom(head) {
        return Err(InputError::file(path, super::UTF16).into());
    }
    if let Some(problem) = super::consumer::refusal(head) {
        return Err(InputError::file(path, problem).into());
    }
    if super::unionpay::is_summary(head) {
        return Err(InputError::file(path, super::unionpay::summary_refusal(head)).into());
    }
    let text = super::gbk::text(head);
    let first_line = text.lines().next().unwrap_or_default().trim().to_string();
    Err(InputError::file(
        path,
        format!(
            "is not a settlement format payrecon knows (first line: '{}'). {} Known: {}. Force one with --format NAME, or map the file in a [formats.NAME] config table (see sample-config.toml).",
            super::shorten(&first_line),
            resemblance(&text),
            FORMATS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
        ),
    )
    .into())
}

/// Which formats the file's first lines resemble, by the typical column
/// names they contain: "It looks most like stripe (has gross, source_id;
/// lacks reporting_category, …)."
fn resemblance(text: &str) -> String {
    let words: Vec<&str> = text
        .lines()
        .take(30)
        .flat_map(|l| l.split([',', ';', '\t']))
        .map(|w| w.trim().trim_matches(['"', '`', '#']).trim())
        .filter(|w| !w.is_empty())
        .collect();
    let mut scored: Vec<(usize, &Format)> = FORMATS
        .iter()
        .map(|f| {
            (
                f.hints
                    .iter()
                    .filter(|h| words.contains(&h.trim_start_matches('#')))
                    .count(),
                *f,
            )
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    scored.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    if scored.is_empty() {
        return "It resembles none of them.".to_string();
    }
    let parts: Vec<String> = scored
        .iter()
        .take(1)
        .map(|(_, f)| {
            let (has, lacks): (Vec<&str>, Vec<&str>) = f
                .hints
                .iter()
                .partition(|h| words.contains(&h.trim_start_matches('#')));
            format!(
                "{} (has {}; lacks {})",
                f.name,
                has.join(", "),
                lacks.join(", ")
            )
        })
        .collect();
    format!("It looks most like {}.", parts.join(""))
}

fn day_of(path: &Path, fallback: Option<NaiveDate>) -> Result<(NaiveDate, DaySource), InputError> {
    match day::day_from_name(path) {
        Ok(Some(day)) => Ok((day, DaySource::Name)),
        Ok(None) => fallback.map(|day| (day, DaySource::Flag)).ok_or_else(|| {
            InputError::file(path, "covers an unknown day: put the date in its name (wechat-2026-11-21.csv) or pass --settlement-day YYYY-MM-DD")
        }),
        Err(days) => Err(InputError::file(
            path,
            format!(
                "has several dates in its name ({}); rename it so it names the one day it covers",
                days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}
