//! Ingest: every source format becomes canonical records here.
//!
//! Each module reads one format and hands records to a sink one at a time
//! (streaming: memory does not grow with the file). All CSV goes through
//! [`csv_reader`] and [`Header`], so every format reports a bad value the same
//! way: file, line, column, and what was expected.

pub mod adyen;
pub mod alipay;
pub mod canonical;
mod consumer;
mod container;
pub mod day;
#[cfg(test)]
mod fixture;
mod gbk;
pub mod guard;
pub mod layout;
pub mod mapped;
pub mod orders;
mod plain;
pub mod refund_results;
pub mod settlement;
pub mod small_csv;
#[cfg(test)]
mod speed;
pub mod stripe;
pub mod unionpay;
pub mod wechat;
pub mod workbook;

use crate::error::InputError;
use std::io::Read;
use std::path::Path;

/// The one CSV reader configuration: strict field counts (a ragged row is an
/// error, not a guess), no trimming (ids keep their spaces until a format
/// decides), a UTF-8 BOM is skipped by csv-core.
pub fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 16)
        .from_reader(input)
}

/// The reader for channel bills (WeChat, Alipay): a preamble and a summary
/// surround the table, so the format finds the header by content and checks
/// each row's field count itself. Records end at LF only: with CRLF the csv
/// crate reports a record's line one too low, and these bills are CRLF. A
/// CR stays at the end of the last field (trimmed with the padding), and a
/// blank line is a record of one blank field.
pub fn bill_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 16)
        .from_reader(input)
}

/// `str::trim` of a text already trimmed of ASCII whitespace: only a
/// non-ASCII end (a no-break or ideographic space) or a vertical tab, which
/// `trim_ascii` keeps, needs the Unicode-aware trim.
fn trim(text: &str) -> &str {
    let plain_end = |b: Option<&u8>| b.is_none_or(|&b| b.is_ascii() && b != 0x0b);
    let bytes = text.as_bytes();
    if plain_end(bytes.first()) && plain_end(bytes.last()) {
        text
    } else {
        text.trim()
    }
}

/// Reads a bill's next record, skipping blank lines. `false` at the end.
pub fn next_record<R: Read>(
    reader: &mut csv::Reader<R>,
    path: &Path,
    record: &mut csv::ByteRecord,
) -> Result<bool, InputError> {
    while reader
        .read_byte_record(record)
        .map_err(|e| csv_error(path, e))?
    {
        if !record.iter().all(|f| f.trim_ascii().is_empty()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Does the first line of a CSV head (a BOM allowed) name every one of
/// `names` as a column? The sniff of every plain-CSV format.
pub fn first_line_has(head: &[u8], names: &[&str]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let columns: Vec<&str> = first
        .split(',')
        .map(|n| n.trim().trim_matches('"'))
        .collect();
    names.iter().all(|n| columns.contains(n))
}

/// [`csv_reader`] over a buffered input, with the [`LineFix`] its first
/// line ending calls for.
pub fn line_aware_reader<R: Read>(
    input: R,
) -> std::io::Result<(csv::Reader<std::io::BufReader<R>>, LineFix)> {
    use std::io::BufRead;
    let mut input = std::io::BufReader::with_capacity(1 << 16, input);
    let lines = LineFix::detect(input.fill_buf()?);
    Ok((csv_reader(input), lines))
}

/// A plain CSV file (header on line 1) read row by row with one reused
/// record: the loop every plain-CSV format shares.
pub struct CsvTable<R: Read> {
    reader: csv::Reader<std::io::BufReader<R>>,
    lines: LineFix,
    pub header: Header,
    /// The input was decoded from GBK: rows are read as
    /// [`Row::decoded_from_gbk`].
    gbk: bool,
}

impl<R: Read> CsvTable<R> {
    /// Opens the table; `None` for a file with nothing in it.
    pub fn open(path: &Path, input: R) -> anyhow::Result<Option<CsvTable<R>>> {
        let (mut reader, lines) = line_aware_reader(input)?;
        let Some(header) = Header::read(path, &mut reader)? else {
            return Ok(None);
        };
        Ok(Some(CsvTable {
            reader,
            lines,
            header,
            gbk: false,
        }))
    }

    /// Says the input was decoded from GBK (see [`gbk::decoding`]).
    pub fn decoded_from_gbk(mut self, decoded: bool) -> Self {
        self.gbk = decoded;
        self
    }

    /// Hands every data row, with its line, to `each`.
    pub fn for_each_row(
        &mut self,
        path: &Path,
        mut each: impl FnMut(&Row) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut record = csv::ByteRecord::new();
        while self
            .reader
            .read_byte_record(&mut record)
            .map_err(|e| self.lines.row_error(&self.header, path, e))?
        {
            let line = self.lines.line(&record);
            if self.header.repeated_by(&record) {
                return Err(self.header.repeated_error(path, line).into());
            }
            let row = Row::new(path, &self.header, &record, line).decoded_from_gbk(self.gbk);
            each(&row)?;
        }
        Ok(())
    }
}

/// Record line numbers that stay right in CRLF and CR-only files. csv
/// counts a line when it reads a `\n`, and hands a record over before reading
/// the `\n` of its `\r\n`, so in a CRLF file every record after the header
/// says one line too few (BurntSushi/rust-csv#395); in a file whose lines end
/// in a lone `\r` (Excel's "CSV (Macintosh)") it never counts a line at all,
/// so there a record's line is its record number (blank lines are not
/// counted). The first line ending of the file decides.
#[derive(Debug, Clone, Copy)]
pub enum LineFix {
    Lf,
    CrLf,
    Cr,
}

impl LineFix {
    pub fn detect(head: &[u8]) -> LineFix {
        match head.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) if head[i] == b'\n' => LineFix::Lf,
            Some(i) if head.get(i + 1) == Some(&b'\n') => LineFix::CrLf,
            Some(_) => LineFix::Cr,
            None => LineFix::Lf,
        }
    }

    fn of(self, position: &csv::Position) -> u64 {
        match self {
            LineFix::Lf => position.line(),
            LineFix::CrLf => position.line() + 1,
            LineFix::Cr => position.record() + 1,
        }
    }

    /// The line a data record starts on.
    pub fn line(self, record: &csv::ByteRecord) -> u64 {
        record.position().map_or(0, |p| self.of(p))
    }

    /// [`Header::row_error`], with the line corrected.
    pub fn row_error(self, header: &Header, path: &Path, err: csv::Error) -> InputError {
        let line = err.position().map(|p| self.of(p));
        let mut error = header.row_error(path, err);
        if let Some(line) = line.filter(|_| error.line > 0) {
            error.line = line;
        }
        error
    }
}

/// Does this start like UTF-16 (Excel's "Unicode Text" save)?
pub fn utf16_bom(head: &[u8]) -> bool {
    head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff")
}

pub const UTF16: &str =
    "is UTF-16 encoded (a byte order mark FF FE or FE FF); save it as UTF-8 CSV and load it again";

/// Turns a csv crate error into an [`InputError`] with its line.
pub fn csv_error(path: &Path, err: csv::Error) -> InputError {
    let line = err.position().map(|p| p.line()).unwrap_or(0);
    let problem = match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "row has {len} fields, the header has {expected_len} (a stray comma or quote, or the wrong delimiter?)"
        ),
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "field {} is not valid UTF-8 (is the file in another encoding, like GBK? encoding = \"gbk\" in its layout, [orders.layout] or [formats.NAME.layout], reads it)",
            err.field() + 1
        ),
        csv::ErrorKind::Io(io) => match guard::too_long(io) {
            Some(limit) => {
                return InputError {
                    path: path.to_path_buf(),
                    line: limit.line,
                    column: Some(format!("number {}", limit.field + 1))
                        .filter(|_| limit.limit == guard::Limit::Field),
                    problem: limit.to_string(),
                };
            }
            None => format!("could not be read: {io}"),
        },
        _ => err.to_string(),
    };
    InputError {
        path: path.to_path_buf(),
        line,
        column: None,
        problem,
    }
}

/// A header row resolved to the columns a reader needs. Lookups are by
/// position afterwards, so the hot loop never compares names.
pub struct Header {
    names: Vec<String>,
    /// The header's line in the file (1 unless a preamble precedes it).
    line: u64,
}

impl Header {
    /// Reads the header; refuses a blank header or a name given twice.
    /// `None` for a file with no bytes at all (an empty file is valid).
    pub fn read<R: Read>(
        path: &Path,
        reader: &mut csv::Reader<R>,
    ) -> Result<Option<Header>, InputError> {
        let record = reader.byte_headers().map_err(|e| csv_error(path, e))?;
        if record.is_empty() {
            return Ok(None);
        }
        if record.get(0).is_some_and(utf16_bom) {
            return Err(InputError {
                line: 1,
                ..InputError::file(path, UTF16)
            });
        }
        Header::from_record(path, 1, record).map(Some)
    }

    /// A header found by content at `line` (after a preamble), with the same
    /// checks as [`Header::read`].
    pub fn from_record(
        path: &Path,
        line: u64,
        record: &csv::ByteRecord,
    ) -> Result<Header, InputError> {
        if record.len() > guard::MAX_COLUMNS {
            return Err(InputError {
                line,
                ..InputError::file(
                    path,
                    format!(
                        "the header has {} columns; payrecon reads at most {} columns (is this the right file, and the right delimiter?)",
                        record.len(),
                        guard::MAX_COLUMNS
                    ),
                )
            });
        }
        let names: Vec<String> = record
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect();
        if names.iter().all(|n| n.is_empty()) {
            return Err(InputError {
                line,
                ..InputError::file(path, "has no header row")
            });
        }
        let mut seen = std::collections::HashSet::with_capacity(names.len());
        for name in &names {
            if !name.is_empty() && !seen.insert(name.as_str()) {
                return Err(InputError {
                    line,
                    column: Some(name.clone()),
                    ..InputError::file(path, "this column appears twice in the header")
                });
            }
        }
        Ok(Header { names, line })
    }

    /// [`csv_error`], naming the first missing column when a row is cut
    /// short (a truncated last line, most often).
    pub fn row_error(&self, path: &Path, err: csv::Error) -> InputError {
        let short = match err.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } if len < expected_len => Some(*len as usize),
            _ => None,
        };
        let field = match err.kind() {
            csv::ErrorKind::Io(io) => guard::too_long(io)
                .filter(|l| l.limit == guard::Limit::Field)
                .map(|l| l.field),
            _ => None,
        };
        let mut error = csv_error(path, err);
        if let Some(len) = short.or(field) {
            error.column = self.names.get(len).cloned().or(error.column);
        }
        error
    }

    /// Where the header sits when lines precede it.
    pub fn set_line(&mut self, line: u64) {
        self.line = line;
    }

    pub fn column_count(&self) -> usize {
        self.names.len()
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The first of `names` the header has: for columns that go by several
    /// names (bill generations, `（元）` vs `(元)`).
    pub fn position_any(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.position(n))
    }

    pub fn name(&self, index: usize) -> &str {
        &self.names[index]
    }

    /// Finds every required column at once, so the error lists all that are
    /// missing rather than one per attempt. `names[i]` is what the file should
    /// call canonical column `required[i]`.
    pub fn require(&self, path: &Path, names: &[&str]) -> Result<Vec<usize>, InputError> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.position(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(self.missing(path, &missing));
        }
        Ok(names
            .iter()
            .map(|n| self.position(n).unwrap_or_default())
            .collect())
    }

    /// [`Header::require`] for columns with several names: `names[i]` lists
    /// what the file may call column `i`; a missing one is reported under
    /// all its names.
    pub fn require_any(&self, path: &Path, names: &[&[&str]]) -> Result<Vec<usize>, InputError> {
        let missing: Vec<String> = names
            .iter()
            .filter(|aliases| self.position_any(aliases).is_none())
            .map(|aliases| aliases.join(" or "))
            .collect();
        if !missing.is_empty() {
            let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
            return Err(self.missing(path, &missing));
        }
        Ok(names
            .iter()
            .map(|aliases| self.position_any(aliases).unwrap_or_default())
            .collect())
    }

    /// The error for a header that lacks `missing` (names, or descriptions
    /// like `created_utc or created`).
    pub fn missing(&self, path: &Path, missing: &[&str]) -> InputError {
        InputError {
            line: self.line,
            ..InputError::file(
                path,
                format!(
                    "missing column(s) {} (the header has: {}){}",
                    missing.join(", "),
                    self.shown_names(),
                    self.delimiter_hint()
                ),
            )
        }
    }

    /// When the header is one name holding another delimiter, what to set.
    pub fn delimiter_hint(&self) -> String {
        let [only] = self.names.as_slice() else {
            return String::new();
        };
        match [';', '\t', '|'].into_iter().find(|d| only.contains(*d)) {
            Some(d) => format!(
                ". The header line looks separated by '{}': set delimiter = \"{}\" in the layout ([orders.layout] or [formats.NAME.layout]), or leave delimiter out to have it told from the header",
                d.escape_default(),
                d.escape_default()
            ),
            None => String::new(),
        }
    }

    /// The header's names for a message: escaped, each cut short, at most
    /// 30 of them.
    pub fn shown_names(&self) -> String {
        const MAX: usize = 30;
        let mut shown: Vec<String> = self.names.iter().take(MAX).map(|n| shorten(n)).collect();
        if self.names.len() > MAX {
            shown.push(format!("… {} columns in all", self.names.len()));
        }
        shown.join(", ")
    }

    /// The header name most like `wanted` (a contract column missing from
    /// the file), if one is close enough to suggest.
    pub fn closest(&self, wanted: &str) -> Option<&str> {
        let plain = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect()
        };
        let want = plain(wanted);
        self.names
            .iter()
            .filter(|n| !n.is_empty() && n.chars().count() <= 2 * wanted.len() + 12)
            .map(|name| {
                let have = plain(name);
                let score = if !have.is_empty() && (have.contains(&want) || want.contains(&have)) {
                    0.9
                } else {
                    strsim::normalized_damerau_levenshtein(&want, &have)
                };
                (score, name)
            })
            .filter(|(score, _)| *score >= 0.6)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, name)| name.as_str())
    }

    /// Does this record repeat the header (two exports joined with `cat`)?
    pub fn repeated_by(&self, record: &csv::ByteRecord) -> bool {
        record.len() == self.names.len()
            && record
                .iter()
                .zip(&self.names)
                .all(|(field, name)| field.trim_ascii() == name.as_bytes())
    }

    /// The error for a row that repeats the header.
    pub fn repeated_error(&self, path: &Path, line: u64) -> InputError {
        InputError {
            line,
            ..InputError::file(
                path,
                format!(
                    "line {line} repeats the header of line {} (two files joined into one?): remove it, or give each file on its own",
                    self.line
                ),
            )
        }
    }
}

/// One data row with its line number, for field-level errors.
pub struct Row<'a> {
    pub path: &'a Path,
    pub header: &'a Header,
    pub record: &'a csv::ByteRecord,
    pub line: u64,
    /// The whole record as text when it is valid UTF-8: checked once per
    /// row rather than once per field read.
    utf8: Option<&'a str>,
    /// The record was decoded from GBK and holds a replacement character
    /// somewhere (see [`Row::decoded_from_gbk`]).
    damaged: bool,
}

impl<'a> Row<'a> {
    pub fn new(path: &'a Path, header: &'a Header, record: &'a csv::ByteRecord, line: u64) -> Self {
        Row {
            path,
            header,
            record,
            line,
            utf8: std::str::from_utf8(record.as_slice()).ok(),
            damaged: false,
        }
    }

    /// Marks a row decoded from GBK (when `decoded`): a field read from it that
    /// holds the decoder's replacement character is refused, as the Alipay
    /// reader refuses it, instead of passing on a '�' for bytes that were
    /// not GBK. One byte search per row; fields are searched only then.
    pub fn decoded_from_gbk(mut self, decoded: bool) -> Self {
        self.damaged = decoded
            && memchr::memmem::find(self.record.as_slice(), gbk::REPLACEMENT.as_bytes()).is_some();
        self
    }

    /// The field at `index` as trimmed UTF-8, at most
    /// [`guard::MAX_VALUE`] characters: every field a format reads is an id
    /// or a value matched on, and refusing a huge one here names its place
    /// (a 60 KiB id failed only when report.xlsx was written).
    pub fn text(&self, index: usize) -> Result<&'a str, InputError> {
        let text = self.utf8_text(index)?;
        if self.damaged && text.contains(gbk::REPLACEMENT) {
            return Err(self.error(index, gbk::DAMAGED));
        }
        if let Some(problem) = too_long(text) {
            return Err(self.error(index, problem));
        }
        Ok(text)
    }

    fn utf8_text(&self, index: usize) -> Result<&'a str, InputError> {
        let checked = self
            .utf8
            .zip(self.record.range(index))
            .and_then(|(text, range)| text.get(range));
        if let Some(field) = checked {
            return Ok(trim(field.trim_ascii()));
        }
        let raw = self.record.get(index).unwrap_or_default();
        std::str::from_utf8(raw.trim_ascii())
            .map(trim)
            .map_err(|_| {
                self.error(
                    index,
                    "is not valid UTF-8 (is the file in another encoding, like GBK? encoding = \"gbk\" in its layout, [orders.layout] or [formats.NAME.layout], reads it)",
                )
            })
    }

    /// The field, refusing an empty value.
    pub fn required(&self, index: usize) -> Result<&str, InputError> {
        self.non_empty(index, self.text(index)?)
    }

    /// `text` (the field at `index`, as a format cleaned it), refusing empty
    /// and, since required fields are ids, statuses, amounts and times,
    /// control characters ([`Row::printable`]).
    pub fn non_empty<'t>(&self, index: usize, text: &'t str) -> Result<&'t str, InputError> {
        if text.is_empty() {
            return Err(self.error(index, "is empty but a value is required"));
        }
        self.printable(index, text)
    }

    /// Refuses a value with a control character (a NUL, a line break): an
    /// id holding one would be written raw into refunds.csv and submitted.
    pub fn printable<'t>(&self, index: usize, text: &'t str) -> Result<&'t str, InputError> {
        // Control characters are C0, DEL and C1 (U+0080–U+009F, led by 0xC2
        // in UTF-8): a byte scan clears almost every value at once.
        if !text.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2) {
            return Ok(text);
        }
        match text.chars().position(char::is_control) {
            None => Ok(text),
            Some(at) => Err(self.error(
                index,
                format!(
                    "'{}' contains the control character {} (character {}): ids and values must be printable text (a damaged file?)",
                    shorten(text),
                    text.chars().nth(at).unwrap_or_default().escape_unicode(),
                    at + 1
                ),
            )),
        }
    }

    pub fn error(&self, index: usize, problem: impl std::fmt::Display) -> InputError {
        InputError {
            path: self.path.to_path_buf(),
            line: self.line,
            column: Some(self.header.name(index).to_string()),
            problem: problem.to_string(),
        }
    }

    /// `value` quoted, then what was wrong or expected.
    pub fn bad_value(&self, index: usize, expected: &str) -> InputError {
        self.bad_value_shown(index, self.record.get(index).unwrap_or_default(), expected)
    }

    /// [`Row::bad_value`], quoting `shown` (the field without a format's
    /// decorations: a WeChat backtick, an Alipay padding TAB).
    pub fn bad_value_shown(&self, index: usize, shown: &[u8], expected: &str) -> InputError {
        let value = String::from_utf8_lossy(shown);
        self.error(
            index,
            format!("'{}' is not valid: expected {expected}", shorten(&value)),
        )
    }
}

/// Why a value read from a file is refused for its length, if it is.
pub fn too_long(value: &str) -> Option<String> {
    // Bytes bound characters: only a long value is counted.
    if value.len() <= guard::MAX_VALUE {
        return None;
    }
    let chars = value.chars().count();
    (chars > guard::MAX_VALUE).then(|| {
        format!(
            "'{}' is {chars} characters long: ids and the other values payrecon reads are at most {} characters (a damaged file, or the wrong column?)",
            shorten(value),
            guard::MAX_VALUE
        )
    })
}

/// Keeps error messages readable when a field is huge or binary: control
/// characters escaped (`\u{0}`), the value cut after 60 characters.
pub fn shorten(value: &str) -> String {
    const MAX: usize = 60;
    let head = escape(&value.chars().take(MAX).collect::<String>());
    if value.chars().nth(MAX).is_none() {
        head
    } else {
        format!("{head}… ({} bytes)", value.len())
    }
}

/// Text with its control characters written as `\u{…}` escapes, so no
/// message puts raw bytes on a terminal.
pub fn escape(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// The two-step trim is `str::trim`, whatever the ends hold.
        #[test]
        fn trim_is_str_trim(text in "[ \t\n\r\x0b\x0c\u{a0}\u{3000}a-z,]{0,8}") {
            let ascii_trimmed = std::str::from_utf8(text.as_bytes().trim_ascii()).unwrap();
            proptest::prop_assert_eq!(super::trim(ascii_trimmed), text.trim());
        }
    }
}
