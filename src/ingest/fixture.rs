//! Test support for the native formats: runs a parser over a committed file
//! under `fixtures/formats/` and checks refusals field by field, so every
//! format's tests read the same way and compare whole records.

use super::settlement::{self, Context, FileFacts, Format, FormatSettings, ParsedFile};
use crate::error::InputError;
use crate::model::SettlementRecord;
use chrono_tz::Tz;
use std::path::PathBuf;

/// A fixture's path, from the crate root so tests run from anywhere.
pub fn path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/formats")
        .join(rel)
}

/// Every record `format` makes of the fixture, with the file's facts.
pub fn parse_in(
    format: &Format,
    rel: &str,
    zone: Tz,
    settings: &FormatSettings,
) -> anyhow::Result<(FileFacts, Vec<SettlementRecord>)> {
    let path = path(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cx = Context {
        path: &path,
        zone,
        default_currency: "CNY",
        settings,
    };
    let mut records = Vec::new();
    let facts = (format.parse)(&mut bytes.as_slice(), &cx, &mut |r| {
        records.push(r);
        Ok(())
    })?;
    Ok((facts, records))
}

/// [`parse_in`] with default settings, reading naive times as UTC.
pub fn parse(format: &Format, rel: &str) -> anyhow::Result<(FileFacts, Vec<SettlementRecord>)> {
    parse_in(format, rel, chrono_tz::UTC, &FormatSettings::default())
}

/// The fixture is refused with an [`InputError`] naming it, `line` and
/// `column` (a field name; `None` for a header problem), and saying
/// `problem` (a fragment of the message).
#[track_caller]
pub fn assert_refused(format: &Format, rel: &str, line: u64, column: Option<&str>, problem: &str) {
    let err = match parse(format, rel) {
        Ok((_, records)) => panic!("{rel} was accepted: {records:#?}"),
        Err(err) => err,
    };
    let Some(input) = err.downcast_ref::<InputError>() else {
        panic!("{rel}: not an InputError: {err:#}");
    };
    assert_eq!(input.path, path(rel), "{input}");
    assert_eq!(input.line, line, "{input}");
    assert_eq!(input.column.as_deref(), column, "{input}");
    assert!(input.problem.contains(problem), "{input}");
}

/// UTC microseconds of an RFC 3339 time, for writing expectations.
pub fn micros(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .timestamp_micros()
}

/// The fixture read the way a run reads it (container opened, format
/// detected, day told), with its records. Naive times are read in
/// Europe/London and the default currency is GBP, so a format that fixes its
/// own zone or currency cannot pass by accident of the defaults.
pub fn read_records(
    rel: &str,
    fallback_day: Option<chrono::NaiveDate>,
) -> anyhow::Result<(ParsedFile, Vec<SettlementRecord>)> {
    let path = path(rel);
    let settings = FormatSettings::default();
    let cx = Context {
        path: &path,
        zone: chrono_tz::Europe::London,
        default_currency: "GBP",
        settings: &settings,
    };
    let file = std::fs::File::open(&path)?;
    let mut rows = Vec::new();
    let parsed = settlement::read_file(file, &cx, None, fallback_day, &mut |r| {
        rows.push(r);
        Ok(())
    })?;
    Ok((parsed, rows))
}

/// [`read_records`] of a fixture that must be read: what the run learns.
#[track_caller]
pub fn read(rel: &str, fallback_day: Option<chrono::NaiveDate>) -> ParsedFile {
    read_records(rel, fallback_day)
        .unwrap_or_else(|e| panic!("{rel}: {e:#}"))
        .0
}

/// [`read_records`]' error for a fixture that must be refused; it names
/// the file.
#[track_caller]
pub fn read_err(rel: &str) -> String {
    let e = format!("{:#}", read_records(rel, None).unwrap_err());
    assert!(e.contains(rel), "the error names the file: {e}");
    e
}
