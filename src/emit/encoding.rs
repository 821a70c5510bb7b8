//! How the human-facing CSVs are encoded (`csv_encoding`, `--csv-encoding`).
//!
//! Plain UTF-8 by default. Excel opens a double-clicked CSV in the locale's
//! code page unless it starts with a BOM, so `utf-8-bom` adds one and `gbk`
//! writes GB18030 (GBK's superset, so no character is lost) for teams whose
//! Excel runs in a Chinese locale. In both Excel modes an id of 12 digits or
//! more is written `="…"`, which Excel keeps as text instead of turning a
//! 28-digit WeChat id into `4.2E+27`. refunds.csv, read by a refund job, is
//! always plain UTF-8 with its values exactly as issued.

use std::io::Write;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CsvEncoding {
    #[default]
    Utf8,
    Utf8Bom,
    Gbk,
}

impl CsvEncoding {
    pub const NAMES: [&str; 3] = ["utf-8", "utf-8-bom", "gbk"];

    pub fn parse(name: &str) -> Option<CsvEncoding> {
        match name.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(CsvEncoding::Utf8),
            "utf-8-bom" | "utf8-bom" | "excel" => Some(CsvEncoding::Utf8Bom),
            "gbk" | "gb18030" => Some(CsvEncoding::Gbk),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CsvEncoding::Utf8 => "utf-8",
            CsvEncoding::Utf8Bom => "utf-8-bom",
            CsvEncoding::Gbk => "gbk",
        }
    }

    /// Whether the file is meant for Excel (ids are then kept as text).
    pub fn for_excel(self) -> bool {
        self != CsvEncoding::Utf8
    }

    /// An id field: in Excel modes, a long run of digits becomes `="…"`.
    pub fn id(self, value: &str) -> std::borrow::Cow<'_, str> {
        if self.for_excel() && value.len() >= 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            format!("=\"{value}\"").into()
        } else {
            super::csv_safe::text(value)
        }
    }

    /// Wraps `out` so UTF-8 written to it arrives in this encoding.
    pub fn writer<W: Write>(self, mut out: W) -> std::io::Result<Encoded<W>> {
        if self == CsvEncoding::Utf8Bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        Ok(Encoded {
            out,
            gbk: self == CsvEncoding::Gbk,
            pending: Vec::new(),
        })
    }
}

/// A writer that transcodes UTF-8 to GB18030 when asked, keeping a
/// character split across two writes whole.
pub struct Encoded<W: Write> {
    out: W,
    gbk: bool,
    pending: Vec<u8>,
}

impl<W: Write> Encoded<W> {
    pub fn into_inner(mut self) -> std::io::Result<W> {
        if !self.pending.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "output ended inside a UTF-8 character",
            ));
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Encoded<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.gbk {
            return self.out.write(buf);
        }
        self.pending.extend_from_slice(buf);
        let whole = match std::str::from_utf8(&self.pending) {
            Ok(text) => text.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
            }
        };
        let text = std::str::from_utf8(&self.pending[..whole]).expect("checked");
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        self.out.write_all(&bytes)?;
        self.pending.drain(..whole);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_keeps_characters_split_across_writes() {
        let mut out = CsvEncoding::Gbk.writer(Vec::new()).unwrap();
        let text = "订单七号,x\n".as_bytes();
        out.write_all(&text[..2]).unwrap();
        out.write_all(&text[2..]).unwrap();
        let bytes = out.into_inner().unwrap();
        let (back, _, bad) = encoding_rs::GB18030.decode(&bytes);
        assert!(!bad);
        assert_eq!(back, "订单七号,x\n");
        assert_ne!(bytes, text);
    }

    #[test]
    fn bom_and_long_ids_for_excel() {
        let out = CsvEncoding::Utf8Bom.writer(Vec::new()).unwrap();
        assert_eq!(out.into_inner().unwrap(), "\u{feff}".as_bytes());
        let id = "4200001234202611210000000001";
        assert_eq!(CsvEncoding::Utf8Bom.id(id), format!("=\"{id}\""));
        assert_eq!(CsvEncoding::Utf8.id(id), id);
        assert_eq!(CsvEncoding::Gbk.id("=1+1"), "'=1+1");
        assert_eq!(CsvEncoding::Gbk.id("1234"), "1234");
    }
}
