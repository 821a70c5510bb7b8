//! Small CSV files people edit by hand (the refund job's results, a
//! reviewed discrepancies.csv): read whole, in any encoding payrecon writes
//! its CSVs in (`--csv-encoding`: UTF-8, UTF-8 with a BOM as Excel saves it,
//! GBK), any line ends, header names trimmed.

use crate::error::InputError;
use encoding_rs::GB18030;
use std::borrow::Cow;
use std::path::Path;

/// The header (trimmed, as written) and the records of a small CSV file.
pub fn read(path: &Path) -> Result<(Vec<String>, Vec<csv::StringRecord>), InputError> {
    let bytes =
        std::fs::read(path).map_err(|e| InputError::file(path, format!("cannot be read: {e}")))?;
    let text = decode(&bytes).ok_or_else(|| {
        InputError::file(path, "is neither UTF-8 nor GBK text (save it as CSV UTF-8)")
    })?;
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

/// The text of a file: after a UTF-8 BOM, UTF-8; else UTF-8 if it is valid
/// (GBK text with Chinese in it practically never is), else GBK read as
/// GB18030, without replacing a byte. `None` for neither.
fn decode(bytes: &[u8]) -> Option<Cow<'_, str>> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return std::str::from_utf8(rest).ok().map(Cow::Borrowed);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(Cow::Borrowed(text)),
        Err(_) => GB18030.decode_without_bom_handling_and_without_replacement(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_encoding_payrecon_writes() {
        let text = "finding_id,resolution\nF1,已退款\n";
        let (gbk, _, _) = GB18030.encode(text);
        let bom = format!("\u{feff}{text}");
        for bytes in [text.as_bytes(), bom.as_bytes(), &gbk[..]] {
            assert_eq!(decode(bytes).as_deref(), Some(text));
        }
        assert_eq!(decode(b"F1,\xff\xff\n"), None);
        assert_eq!(decode(b"\xef\xbb\xbfF1,\xd2\xd1\n"), None);
    }
}
