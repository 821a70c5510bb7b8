//! How a configured CSV is laid out: encoding, delimiter, lines to skip at
//! the top and bottom, the time format and zone, the decimal separator.
//!
//! No two companies export alike, so the internal order export (`[orders]`)
//! and every mapped settlement format (`[formats.NAME]`) share this one
//! description and this one reader. The reader streams: the bottom lines to
//! skip are held back in a small queue, never the whole file.

use super::{Header, LineFix};
use crate::error::InputError;
use crate::money::{self, AmountError};
use crate::timestamp;
use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;

/// The TOML form (every key optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutConfig {
    /// One character; `\t` or `tab` for tab-separated files.
    pub delimiter: Option<String>,
    /// `utf-8` (a BOM is fine) or `gbk` (read as GB18030, its superset).
    pub encoding: Option<String>,
    /// Lines before the header row (titles, account numbers…).
    #[serde(default)]
    pub skip_top: usize,
    /// Lines after the last data row (totals, "exported at…").
    #[serde(default)]
    pub skip_bottom: usize,
    /// Zone for times without an offset; the run's `timezone` by default.
    pub timezone: Option<String>,
    /// chrono strftime format of the time columns (`%d/%m/%Y %H:%M`);
    /// `%z` or `%:z` in it reads an offset, `%Z` skips a zone name. It must
    /// read a date and a time of day. Default: RFC 3339 or
    /// `YYYY-MM-DD HH:MM:SS`.
    pub time_format: Option<String>,
    /// Amounts are written `1.234,50`: `,` is the decimal separator and a
    /// `.` may only group thousands (`1.500` is fifteen hundred); any other
    /// `.` is refused.
    #[serde(default)]
    pub decimal_comma: bool,
    /// A workbook's sheet to read, by name; the first sheet by default.
    pub sheet: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Gbk,
}

/// A validated layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `None`: told from the header line (`,` `;` tab `|`).
    pub delimiter: Option<u8>,
    /// `None`: UTF-8, unless the file is not UTF-8 but is GB18030.
    pub encoding: Option<Encoding>,
    /// The workbook sheet to read (a workbook's first one by default).
    pub sheet: Option<String>,
    pub skip_top: usize,
    pub skip_bottom: usize,
    pub zone: Tz,
    pub time_format: Option<String>,
    /// Whether `time_format` reads an offset (`%z`, `%:z`…): told when the
    /// config is read, by reading a time written in it.
    pub time_offset: bool,
    pub decimal_comma: bool,
}

impl Layout {
    pub fn plain(zone: Tz) -> Layout {
        Layout {
            delimiter: None,
            encoding: None,
            sheet: None,
            skip_top: 0,
            skip_bottom: 0,
            zone,
            time_format: None,
            time_offset: false,
            decimal_comma: false,
        }
    }

    pub fn resolve(config: &LayoutConfig, default_zone: Tz) -> Result<Layout> {
        let delimiter = match config.delimiter.as_deref() {
            None | Some("auto") => None,
            Some("\\t" | "tab" | "\t") => Some(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() && !matches!(d, "\"" | "\n" | "\r") => {
                Some(d.as_bytes()[0])
            }
            Some(d) => bail!("delimiter '{d}' must be one ASCII character (or \"tab\")"),
        };
        let encoding = match config
            .encoding
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("auto") => None,
            Some("utf-8" | "utf8") => Some(Encoding::Utf8),
            Some("gbk" | "gb18030" | "gb2312") => Some(Encoding::Gbk),
            Some(other) => bail!("encoding '{other}' is not supported (expected utf-8 or gbk)"),
        };
        let zone = match &config.timezone {
            Some(name) => name.parse::<Tz>().map_err(|_| {
                anyhow::anyhow!(
                    "timezone '{name}' is not an IANA zone name (like Asia/Shanghai or UTC)"
                )
            })?,
            None => default_zone,
        };
        let time_offset = match &config.time_format {
            Some(format) => reads_offset(format)?,
            None => false,
        };
        Ok(Layout {
            delimiter,
            encoding,
            sheet: config.sheet.clone(),
            skip_top: config.skip_top,
            skip_bottom: config.skip_bottom,
            zone,
            time_format: config.time_format.clone(),
            time_offset,
            decimal_comma: config.decimal_comma,
        })
    }

    /// Parses a time field with this layout's format and zone. The plain
    /// `YYYY-MM-DD HH:MM:SS[.f]` shape is read whatever the format: it is
    /// unambiguous, and it is how a workbook's date cells are written.
    pub fn time(&self, text: &str) -> Option<i64> {
        match &self.time_format {
            None => timestamp::parse(text, self.zone),
            Some(format) if self.time_offset => DateTime::parse_from_str(text.trim(), format)
                .ok()
                .map(|t| timestamp::no_leap(t).timestamp_micros()),
            Some(format) => NaiveDateTime::parse_from_str(text.trim(), format)
                .ok()
                .or_else(|| timestamp::plain_local(text.trim()))
                .and_then(|t| timestamp::from_local(t, self.zone)),
        }
    }

    /// What a time field must look like, for error messages.
    pub fn time_expected(&self) -> String {
        match &self.time_format {
            None => timestamp::EXPECTED.to_string(),
            Some(format) => format!("a time like '{format}' (time_format in the config)"),
        }
    }

    /// An amount in minor units of `currency`, read with this layout's
    /// decimal separator.
    pub fn amount(&self, text: &str, currency: &str) -> Result<i64, AmountError> {
        if !self.decimal_comma {
            return money::parse_amount(text, currency);
        }
        let plain = comma_to_plain(text)?;
        money::parse_amount(&plain, currency).map_err(|e| e.in_decimal_comma(text))
    }

    /// A fee (any number of decimals) as an exact decimal string, read with
    /// this layout's decimal separator.
    pub fn fee(&self, text: &str) -> Result<String, AmountError> {
        if !self.decimal_comma {
            return money::canonical_decimal(text);
        }
        let plain = comma_to_plain(text)?;
        money::canonical_decimal(&plain).map_err(|e| e.in_decimal_comma(text))
    }
}

/// Checks a `time_format` when the config is read, and tells whether it
/// reads an offset. chrono finds a bad specifier (`%Q`) only when a time is
/// written with it, and then `to_string` panics; and a format without a time
/// of day (`%d/%m/%Y`) would refuse every value of the file, one run later.
fn reads_offset(format: &str) -> Result<bool> {
    use chrono::format::{Item, StrftimeItems};
    use std::fmt::Write;
    let invalid = || {
        anyhow::anyhow!(
            "time_format '{format}' is not a valid chrono format (like %d/%m/%Y %H:%M:%S; see the strftime specifiers in chrono's documentation)"
        )
    };
    if format.trim().is_empty() || StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return Err(invalid());
    }
    // A time written in the format must read back to the minute. The probe
    // has an offset, so `%z` and `%Z` can be written.
    let probe = chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|zone| zone.with_ymd_and_hms(2026, 11, 21, 13, 45, 30).single())
        .expect("a valid probe time");
    let mut text = String::new();
    write!(text, "{}", probe.format(format)).map_err(|_| invalid())?;
    let to_minute = |t: NaiveDateTime| t.and_utc().timestamp() / 60;
    if let Ok(read) = DateTime::parse_from_str(&text, format) {
        if read.timestamp() / 60 == probe.timestamp() / 60 {
            return Ok(true);
        }
    } else if NaiveDateTime::parse_from_str(&text, format)
        .is_ok_and(|read| to_minute(read) == to_minute(probe.naive_local()))
    {
        return Ok(false);
    }
    bail!(
        "time_format '{format}' does not read a whole date and time of day (it needs the day, month, year, hour and minute, like %d/%m/%Y %H:%M): payrecon orders payments, closes and refunds by their time, so a date alone is not read as midnight; map a column that holds the time too"
    )
}

/// A decimal-comma amount (`-1.234.567,89`) in the plain `-1234567.89` form
/// `money` reads. A `.` is a thousands separator only between groups of three
/// digits before the comma: `1.500` is fifteen hundred, and `1234.56` or
/// `1.5` are refused, since a reader could not tell which separator the
/// writer meant, and a guess would move the amount by a factor of 1000.
fn comma_to_plain(text: &str) -> Result<String, AmountError> {
    let text = text.trim();
    let refused = || AmountError::NotDecimalComma(text.to_string());
    let (whole, fraction) = match text.split_once(',') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = whole.strip_prefix(['-', '+']).unwrap_or(whole);
    if digits.contains('.') && !thousands(digits) {
        return Err(refused());
    }
    if fraction.is_some_and(|f| f.contains(['.', ','])) {
        return Err(refused());
    }
    let mut plain: String = whole.chars().filter(|&c| c != '.').collect();
    if let Some(fraction) = fraction {
        plain.push('.');
        plain.push_str(fraction);
    }
    Ok(plain)
}

/// `1.234` or `12.345.678`: groups of three digits after a first of one to
/// three.
fn thousands(digits: &str) -> bool {
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mut groups = digits.split('.');
    let first = groups.next().unwrap_or_default();
    (1..=3).contains(&first.len())
        && is_digits(first)
        && groups.all(|g| g.len() == 3 && is_digits(g))
}

/// Streams the data rows of a laid-out table, each with its line in the
/// original file; the header is resolved first.
pub struct Table<'a> {
    reader: csv::Reader<super::guard::Guard<BufReader<Box<dyn Read + 'a>>>>,
    pub header: Header,
    path: std::path::PathBuf,
    lines: LineFix,
    skip_top: u64,
    held: VecDeque<(csv::ByteRecord, u64)>,
    skip_bottom: usize,
    /// A record given back by the caller, read into next instead of a new
    /// one: allocating and growing a record per row was a fifth of parsing.
    spare: Option<csv::ByteRecord>,
    /// What was told rather than configured (an encoding, a delimiter), for
    /// the run to say.
    pub notes: Vec<String>,
    /// The file is decoded from GBK: rows are read with
    /// [`super::Row::decoded_from_gbk`].
    pub gbk: bool,
}

/// The delimiters a header line is tried with, in order of preference.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The delimiter a file's header line (the first line of `start`) uses:
/// the candidate found most often outside quotes; `,` when none is.
pub fn delimiter_of(start: &[u8]) -> u8 {
    let line = start.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
            counts[i] += 1;
        }
    }
    let mut best = 0;
    for i in 1..DELIMITERS.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    DELIMITERS[best]
}

impl<'a> Table<'a> {
    /// Opens the table. `None` for a file with nothing in it.
    pub fn open(path: &Path, input: impl Read + 'a, layout: &Layout) -> Result<Option<Table<'a>>> {
        let mut notes = Vec::new();
        let mut raw: BufReader<Box<dyn Read + 'a>> =
            BufReader::with_capacity(1 << 16, Box::new(input));
        let failed = |e: std::io::Error| {
            anyhow::Error::new(e).context(format!("failed to read {}", path.display()))
        };
        let mut head = raw.fill_buf().map_err(failed)?;
        let mut workbook = false;
        if super::workbook::may_be(head) {
            let mut bytes = Vec::new();
            raw.read_to_end(&mut bytes).map_err(failed)?;
            if super::workbook::is_numbers(&bytes) {
                bail!(InputError::file(
                    path,
                    "is an Apple Numbers document: export it as CSV (File → Export To → CSV, UTF-8) or as Excel, and load that"
                ));
            }
            if !super::workbook::is_workbook(&bytes) {
                bail!(InputError::file(
                    path,
                    "is a zip archive, not a CSV file or a workbook: unzip it and load the file inside"
                ));
            }
            let converted = super::workbook::to_csv(
                path,
                bytes,
                layout.sheet.as_deref(),
                &[],
                layout.decimal_comma,
            )?;
            if converted.sheets > 1 && layout.sheet.is_none() {
                notes.push(format!(
                    "note: {} is a workbook of {} sheets: read its sheet '{}' (sheet = \"…\" in its layout reads another)",
                    path.display(),
                    converted.sheets,
                    super::escape(&converted.sheet)
                ));
            }
            raw = BufReader::with_capacity(1 << 16, Box::new(Cursor::new(converted.csv)));
            head = raw.fill_buf().map_err(failed)?;
            workbook = true;
        }
        let encoding = match layout.encoding {
            _ if workbook => Encoding::Utf8,
            Some(forced) => forced,
            None if !super::gbk::is_utf8(head) && super::gbk::is_gb18030(head) => {
                notes.push(format!(
                    "note: {} is not UTF-8 but reads as GBK (GB18030), so it was read as such; encoding = \"gbk\" (or \"utf-8\") in its layout settles it",
                    path.display()
                ));
                Encoding::Gbk
            }
            None => Encoding::Utf8,
        };
        // Line ends and the delimiter are told from the raw bytes: a decoder's
        // first buffer may hold only part of the header line, and in GBK every
        // ASCII byte (`,` `;` CR LF) is itself.
        let mut start = head;
        // A skip_top past the end of the file stops there (a huge one spun).
        for _ in 0..layout.skip_top {
            match memchr::memchr(b'\n', start) {
                Some(i) => start = &start[i + 1..],
                None => {
                    start = &[];
                    break;
                }
            }
        }
        let lines = LineFix::detect(start);
        let told = delimiter_of(start);
        let decoded: Box<dyn Read + 'a> = match encoding {
            Encoding::Utf8 => Box::new(raw),
            Encoding::Gbk => Box::new(super::gbk::reader(raw)),
        };
        let mut buffered = BufReader::with_capacity(1 << 16, decoded);
        let mut skipped = Vec::new();
        for line in 1..=layout.skip_top {
            skipped.clear();
            let read = super::guard::read_line(&mut buffered, &mut skipped).map_err(|e| {
                match super::guard::too_long(&e) {
                    Some(limit) => anyhow::Error::new(InputError {
                        line: line as u64,
                        ..InputError::file(path, limit.to_string())
                    }),
                    None => {
                        anyhow::Error::new(e).context(format!("failed to read {}", path.display()))
                    }
                }
            })?;
            if read == 0 {
                if line > 1 {
                    bail!(InputError::file(
                        path,
                        format!(
                            "has only {} line(s), but its layout skips {} (skip_top): is skip_top right, or is the file cut short?",
                            line - 1,
                            layout.skip_top
                        )
                    ));
                }
                break;
            }
        }
        let delimiter = match layout.delimiter {
            _ if workbook => b',',
            Some(forced) => forced,
            None => {
                let found = told;
                if found != b',' {
                    notes.push(format!(
                        "note: {} is read with the delimiter '{}' (told from its header line); delimiter = \"…\" in its layout settles it",
                        path.display(),
                        super::escape(&char::from(found).to_string())
                    ));
                }
                found
            }
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(1 << 16)
            .from_reader(super::guard::Guard::new(buffered, delimiter));
        let Some(mut header) =
            Header::read(path, &mut reader).map_err(|e| shift(e, layout.skip_top as u64))?
        else {
            return Ok(None);
        };
        header.set_line(1 + layout.skip_top as u64);
        Ok(Some(Table {
            reader,
            header,
            path: path.to_path_buf(),
            lines,
            skip_top: layout.skip_top as u64,
            // Grows with the rows held, never to skip_bottom up front: a
            // huge skip_bottom asked for terabytes at once.
            held: VecDeque::new(),
            skip_bottom: layout.skip_bottom,
            spare: None,
            notes,
            gbk: encoding == Encoding::Gbk,
        }))
    }

    /// The next data row and its line; `None` at the end. The last
    /// `skip_bottom` rows are never returned, and are not checked.
    pub fn next_row(&mut self) -> Result<Option<(csv::ByteRecord, u64)>, InputError> {
        loop {
            let mut record = self.spare.take().unwrap_or_default();
            let more = self.reader.read_byte_record(&mut record).map_err(|e| {
                shift(
                    self.lines.row_error(&self.header, &self.path, e),
                    self.skip_top,
                )
            })?;
            if !more {
                return Ok(None);
            }
            let line = self.lines.line(&record) + self.skip_top;
            self.held.push_back((record, line));
            if self.held.len() > self.skip_bottom {
                let (record, line) = self.held.pop_front().expect("held is not empty");
                if self.header.repeated_by(&record) {
                    return Err(self.header.repeated_error(&self.path, line));
                }
                if record.len() != self.header.column_count() {
                    // A short row (a truncated last line, most often) names
                    // the first column it lacks.
                    let column = (record.len() < self.header.column_count())
                        .then(|| self.header.name(record.len()).to_string());
                    return Err(InputError {
                        line,
                        column,
                        ..InputError::file(
                            &self.path,
                            format!(
                                "row has {} fields, the header has {} (a stray delimiter or quote, the wrong delimiter, or footer lines not covered by skip_bottom?)",
                                record.len(),
                                self.header.column_count()
                            ),
                        )
                    });
                }
                return Ok(Some((record, line)));
            }
        }
    }

    /// Gives a record from [`Table::next_row`] back, to be read into again.
    pub fn give_back(&mut self, record: csv::ByteRecord) {
        self.spare = Some(record);
    }
}

fn shift(mut err: InputError, by: u64) -> InputError {
    if err.line > 0 {
        err.line += by;
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[u8], layout: &Layout) -> Result<Vec<(Vec<String>, u64)>> {
        let mut table = Table::open(Path::new("bank.csv"), text, layout)?.expect("not empty");
        let mut out = Vec::new();
        while let Some((record, line)) = table.next_row()? {
            out.push((
                record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
                line,
            ));
        }
        Ok(out)
    }

    #[test]
    fn skips_preamble_and_footer_and_keeps_lines() {
        let mut layout = Layout::plain(chrono_tz::UTC);
        layout.skip_top = 2;
        layout.skip_bottom = 1;
        layout.delimiter = Some(b';');
        let text = b"Bank statement\nAccount 123\nref;amount\nA;1,00\nB;2,50\nTotal 3,50\n";
        let got = rows(text, &layout).unwrap();
        assert_eq!(
            got,
            vec![
                (vec!["A".into(), "1,00".into()], 4),
                (vec!["B".into(), "2,50".into()], 5)
            ]
        );
    }

    #[test]
    fn ragged_rows_name_their_line() {
        let layout = Layout::plain(chrono_tz::UTC);
        let err = rows(b"a,b\r\n1,2\r\n3\r\n", &layout)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3") && err.contains("1 fields"), "{err}");
    }

    #[test]
    fn gbk_is_decoded() {
        let layout = Layout {
            encoding: Some(Encoding::Gbk),
            ..Layout::plain(chrono_tz::UTC)
        };
        let (bytes, _, _) = encoding_rs::GBK.encode("交易号,金额\nT1,1.00\n");
        let mut table = Table::open(Path::new("x.csv"), &bytes[..], &layout)
            .unwrap()
            .unwrap();
        assert_eq!(table.header.position("金额"), Some(1));
        assert!(table.next_row().unwrap().is_some());
    }

    /// `1.500` was read as 1.50 and `1234.56` as 1234.56 under
    /// decimal_comma: a '.' now only groups thousands, and errors quote the
    /// value as written (they quoted `1.234.56` for `1.234,56`).
    #[test]
    fn decimal_comma_reads_dots_only_as_thousands() {
        let layout = Layout {
            decimal_comma: true,
            ..Layout::plain(chrono_tz::UTC)
        };
        assert_eq!(layout.amount("1.500", "CNY"), Ok(150_000));
        assert_eq!(layout.amount("1.234,56", "CNY"), Ok(123_456));
        assert_eq!(layout.amount("-1.234.567,8", "EUR"), Ok(-123_456_780));
        assert_eq!(layout.amount("12,50", "CNY"), Ok(1250));
        assert_eq!(layout.amount("500", "JPY"), Ok(500));
        assert_eq!(layout.fee("0,615").as_deref(), Ok("0.615"));
        for bad in [
            "1234.56", "1.5", "1.50", "12.34,5", "1.2345", ".500", "1,2,3", "1,234.5",
        ] {
            let err = layout.amount(bad, "CNY").unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "'{bad}' is not valid: expected an amount with a decimal comma, like 1.234,56"
                )),
                "{err}"
            );
        }
        let err = layout.amount("1.234,567", "CNY").unwrap_err().to_string();
        assert!(err.starts_with("'1.234,567' has 3 decimals"), "{err}");
        let err = layout.amount("12,5x", "CNY").unwrap_err().to_string();
        assert!(err.starts_with("'12,5x' is not valid"), "{err}");
        // Without decimal_comma a '.' is the decimal point, as ever.
        let plain = Layout::plain(chrono_tz::UTC);
        assert_eq!(plain.amount("1.50", "CNY"), Ok(150));
        assert!(plain.amount("1,50", "CNY").is_err());
    }

    #[test]
    fn a_workbook_number_keeps_its_value_under_decimal_comma() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "amount").unwrap();
        sheet.write_number(1, 0, 1234.5).unwrap();
        let layout = Layout {
            decimal_comma: true,
            ..Layout::plain(chrono_tz::UTC)
        };
        let bytes = book.save_to_buffer().unwrap();
        let got = rows(&bytes, &layout).unwrap();
        assert_eq!(got, vec![(vec!["1234,5".to_string()], 2)]);
        assert_eq!(layout.amount(&got[0].0[0], "CNY"), Ok(123_450));
    }

    /// skip_top = 99999999999999999 spun for ever past the end of the file;
    /// skip_bottom = 1000000000000 aborted on allocating its queue up front.
    #[test]
    fn huge_skips_end_with_the_file() {
        let text = b"title\nref,amount\nA,1.00\n";
        let mut layout = Layout::plain(chrono_tz::UTC);
        layout.skip_top = 99_999_999_999_999_999;
        let err = rows(text, &layout).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "bank.csv: has only 3 line(s), but its layout skips 99999999999999999 (skip_top)"
            ),
            "{err}"
        );
        layout.skip_top = 1;
        layout.skip_bottom = 1_000_000_000_000;
        assert_eq!(rows(text, &layout).unwrap(), vec![]);
        layout.skip_bottom = usize::MAX;
        assert_eq!(rows(text, &layout).unwrap(), vec![]);
    }

    /// `%Q`, `%` and `%:` panicked ("a Display implementation returned an
    /// error"), formats with `%z` or `%Z` were refused, and `%d/%m/%Y` was
    /// accepted and then refused every value.
    #[test]
    fn time_formats_are_checked_when_the_config_is_read() {
        let resolve = |format: &str| {
            let config = LayoutConfig {
                time_format: Some(format.into()),
                timezone: Some("Europe/Berlin".into()),
                ..Default::default()
            };
            Layout::resolve(&config, chrono_tz::UTC)
        };
        for bad in ["%Q", "%", "%:", "%Y-%m-%d %", "", "  "] {
            let err = resolve(bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("time_format '{bad}' is not a valid chrono format")),
                "{err}"
            );
        }
        for partial in ["%d/%m/%Y", "%Y-%m-%d", "%H:%M:%S", "%d/%m/%Y %H", "hello"] {
            let err = resolve(partial).unwrap_err().to_string();
            assert!(
                err.contains("does not read a whole date and time of day"),
                "{partial}: {err}"
            );
        }
        let utc_1030 = timestamp::parse("2026-11-21T10:30:00Z", chrono_tz::UTC);
        let offset = resolve("%d/%m/%Y %H:%M:%S %z").unwrap();
        assert!(offset.time_offset);
        assert_eq!(offset.time("21/11/2026 11:30:00 +0100"), utc_1030);
        let colon = resolve("%Y-%m-%dT%H:%M:%S%:z").unwrap();
        assert_eq!(colon.time("2026-11-21T18:30:00+08:00"), utc_1030);
        // A zone name is read past; the layout's zone places the time.
        let named = resolve("%d/%m/%Y %H:%M %Z").unwrap();
        assert!(!named.time_offset);
        assert_eq!(named.time("21/11/2026 11:30 CET"), utc_1030);
    }

    #[test]
    fn configured_time_formats() {
        let config = LayoutConfig {
            time_format: Some("%d/%m/%Y %H:%M".into()),
            timezone: Some("Europe/Berlin".into()),
            ..Default::default()
        };
        let layout = Layout::resolve(&config, chrono_tz::UTC).unwrap();
        let t = layout.time("21/11/2026 10:30").unwrap();
        assert_eq!(
            t,
            timestamp::parse("2026-11-21T09:30:00Z", chrono_tz::UTC).unwrap()
        );
        assert!(layout.time("2026-11-21 10:30").is_none());
        // The plain shape workbook dates are written in is read all the same.
        assert_eq!(layout.time("2026-11-21 10:30:00"), Some(t));
        let bad = LayoutConfig {
            delimiter: Some(";;".into()),
            ..Default::default()
        };
        assert!(Layout::resolve(&bad, chrono_tz::UTC).is_err());
    }
}
