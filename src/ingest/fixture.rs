//! Test support for the native formats: runs a parser over a committed file
//! under `fixtures/formats/` and checks refusals field by field, so every
//! format's tests read the same way and compare whole records.

use super::settlement::{Context, FileFacts, Format, FormatSettings};
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

/// The fixture through [`read_file`](super::settlement::read_file), format
/// detection included, as a run reads it.
pub fn read(rel: &str, fallback_day: Option<chrono::NaiveDate>) -> super::settlement::ParsedFile {
    let path = path(rel);
    let settings = FormatSettings::default();
    let cx = Context {
        path: &path,
        zone: chrono_tz::UTC,
        default_currency: "CNY",
        settings: &settings,
    };
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    super::settlement::read_file(file, &cx, None, fallback_day, &mut |_| Ok(()))
        .unwrap_or_else(|e| panic!("{rel}: {e:#}"))
}
