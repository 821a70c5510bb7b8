//! The seam every settlement format plugs into.
//!
//! A [`Format`] recognises its files from their first bytes and streams
//! canonical [`SettlementRecord`]s into a sink. [`read_file`] does the rest
//! the same way for all of them: opening, format detection (content, not
//! name), and telling the channel day the file covers.

use super::day;
use crate::error::InputError;
use crate::model::SettlementRecord;
use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::Path;

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
}

impl Default for FormatSettings {
    fn default() -> Self {
        FormatSettings {
            stripe_order_column: "payment_metadata[order_id]".into(),
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
}

/// Skipped row counts by the row type as the file writes it.
pub type Skipped = BTreeMap<String, u64>;

pub type Sink<'s> = dyn FnMut(SettlementRecord) -> Result<()> + 's;

/// One settlement file format.
pub struct Format {
    pub name: &'static str,
    pub description: &'static str,
    /// Does this head of a file (first bytes, BOM included) look like ours?
    pub sniff: fn(head: &[u8]) -> bool,
    pub parse: fn(input: &mut dyn Read, cx: &Context, sink: &mut Sink) -> Result<FileFacts>,
}

/// Every format payrecon reads, most specific first.
pub const FORMATS: &[&Format] = &[
    &super::unionpay::FORMAT,
    &super::adyen::FORMAT,
    &super::stripe::FORMAT,
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
    pub format: &'static str,
    pub channel: String,
    pub day: NaiveDate,
    pub rows: u64,
    /// See [`FileFacts::skipped`].
    pub skipped: Skipped,
}

/// Reads one settlement file into `sink`. The day comes from the file's own
/// header if it has one, else its name, else `fallback_day` (`--settlement-day`).
pub fn read_file(
    input: impl Read,
    cx: &Context,
    forced_format: Option<&str>,
    fallback_day: Option<NaiveDate>,
    sink: &mut Sink,
) -> Result<ParsedFile> {
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
    let format = match forced_format {
        Some(name) => format_named(name)?,
        None if blank => &super::canonical::FORMAT,
        None => detect(path, &head)?,
    };
    let mut rows = 0u64;
    let mut counting = |record: SettlementRecord| {
        rows += 1;
        sink(record)
    };
    let mut all = std::io::Cursor::new(head).chain(input);
    let facts = (format.parse)(&mut all, cx, &mut counting)?;
    let day = match facts.day {
        Some(day) => day,
        None => day_of(path, fallback_day)?,
    };
    let channel = facts
        .channel
        .or_else(|| day::channel_from_name(path))
        .ok_or_else(|| InputError::file(path, "has no rows and its name does not start with the channel (like wechat-2026-11-21.csv), so the channel it covers cannot be told"))?;
    Ok(ParsedFile {
        format: format.name,
        channel,
        day,
        rows,
        skipped: facts.skipped,
    })
}

fn read_head(input: &mut impl Read, path: &Path) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    input
        .by_ref()
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("failed to read settlement file {}", path.display()))?;
    Ok(head)
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
    let first_line =
        String::from_utf8_lossy(head.split(|&b| b == b'\n').next().unwrap_or_default())
            .trim()
            .to_string();
    Err(InputError::file(
        path,
        format!(
            "is not a settlement format payrecon knows (first line: '{}'). Known formats: {}. Use --format NAME to force one.",
            super::shorten(&first_line),
            FORMATS.iter().map(|f| format!("{} ({})", f.name, f.description)).collect::<Vec<_>>().join("; ")
        ),
    )
    .into())
}

fn day_of(path: &Path, fallback: Option<NaiveDate>) -> Result<NaiveDate> {
    match day::day_from_name(path) {
        Ok(Some(day)) => Ok(day),
        Ok(None) => fallback.ok_or_else(|| {
            InputError::file(path, "covers an unknown day: put the date in its name (wechat-2026-11-21.csv) or pass --settlement-day YYYY-MM-DD").into()
        }),
        Err(days) => Err(InputError::file(
            path,
            format!(
                "has several dates in its name ({}); rename it so it names the one day it covers",
                days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            ),
        )
        .into()),
    }
}
