//! Small CSV files people edit by hand (the refund job's results, a
//! reviewed discrepancies.csv): read whole, UTF-8 with or without a BOM
//! (Excel writes one), any line ends, header names trimmed.

use crate::error::InputError;
use std::path::Path;

/// The header (trimmed, as written) and the records of a small CSV file.
pub fn read(path: &Path) -> Result<(Vec<String>, Vec<csv::StringRecord>), InputError> {
    let bytes =
        std::fs::read(path).map_err(|e| InputError::file(path, format!("cannot be read: {e}")))?;
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes))
        .map_err(|_| InputError::file(path, "is not UTF-8 text (save it as CSV UTF-8)"))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| InputError::file(path, format!("has no readable header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let records = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| InputError::file(path, format!("is not valid CSV: {e}")))?;
    Ok((header, records))
}
