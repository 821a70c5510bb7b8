//! Limits on hostile input, enforced while the bytes stream past.
//!
//! A CSV reader holds a whole record in memory before anyone can look at
//! it, so a 50 MB field (or a line of a million columns) would be buffered
//! first and refused after. [`Guard`] sits under the reader and follows the
//! CSV structure byte by byte (quotes, delimiters, line ends, as the csv
//! crate reads them): a field longer than [`MAX_FIELD`] or a record longer
//! than [`MAX_RECORD`] fails the read at once, so memory stays bounded by
//! the limits, whatever the file holds.

use memchr::{memchr, memchr2, memchr3};
use std::fmt;
use std::io::{self, Read};

/// The longest field payrecon reads: no id, amount or name comes near it.
pub const MAX_FIELD: usize = 64 * 1024;
/// The longest value payrecon takes from a field it reads (an id, an
/// amount, a status, a time), in characters. Channel ids are 16 to 64
/// characters; one of kilobytes is a damaged file or the wrong column, and
/// would not fit a spreadsheet cell (32,767 characters) in report.xlsx.
pub const MAX_VALUE: usize = 1024;
/// The longest record (line) payrecon reads.
pub const MAX_RECORD: usize = 1024 * 1024;
/// The most columns a header may have.
pub const MAX_COLUMNS: usize = 1000;

/// Which limit a read crossed, and where (for the error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong {
    /// The line the field or record starts on (1-based, as the guard counts
    /// lines: LF ends a line).
    pub line: u64,
    /// The field's position in its record (0-based).
    pub field: usize,
    pub limit: Limit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Field,
    Record,
    Columns,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            Limit::Record => write!(
                f,
                "the line is longer than {} KiB, the most payrecon reads in one record (a damaged file, or not an export?)",
                MAX_RECORD / 1024
            ),
            Limit::Field => write!(
                f,
                "the field is longer than {} KiB, the most payrecon reads in one field (a damaged file, or not an export?)",
                MAX_FIELD / 1024
            ),
            Limit::Columns => write!(
                f,
                "the line has more than {MAX_COLUMNS} columns; payrecon reads at most {MAX_COLUMNS} columns (is this the right file, and the right delimiter?)"
            ),
        }
    }
}

impl std::error::Error for TooLong {}

/// The limit an I/O error from a [`Guard`] reports, if it is one.
pub fn too_long(err: &io::Error) -> Option<&TooLong> {
    err.get_ref().and_then(|e| e.downcast_ref::<TooLong>())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the end of it, or the first of `""`.
    QuoteInQuoted,
}

/// A reader that fails once a field or record passes its limit.
pub struct Guard<R> {
    inner: R,
    delimiter: u8,
    state: State,
    field_len: usize,
    record_len: usize,
    /// The line being read, and the line the current field and record
    /// started on.
    line: u64,
    field_line: u64,
    field: usize,
}

impl<R: Read> Guard<R> {
    pub fn new(inner: R, delimiter: u8) -> Guard<R> {
        Guard {
            inner,
            delimiter,
            state: State::FieldStart,
            field_len: 0,
            record_len: 0,
            line: 1,
            field_line: 1,
            field: 0,
        }
    }

    fn end_field(&mut self) {
        self.state = State::FieldStart;
        self.field_len = 0;
        self.field += 1;
        self.field_line = self.line;
    }

    fn end_record(&mut self, byte: u8) {
        self.state = State::FieldStart;
        self.field_len = 0;
        self.record_len = 0;
        self.field = 0;
        if byte == b'\n' {
            self.line += 1;
        }
        self.field_line = self.line;
    }

    fn scan(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        let d = self.delimiter;
        let mut i = 0;
        // The next quote at or after `i` (None: there is none).
        let mut next_quote = memchr(b'"', bytes);
        while i < bytes.len() {
            // Fast path: at a record's start, a whole line with no quote and
            // fewer bytes than any limit needs no byte-by-byte look.
            if self.state == State::FieldStart && self.field == 0 && self.record_len == 0 {
                if next_quote.is_some_and(|q| q < i) {
                    next_quote = memchr(b'"', &bytes[i..]).map(|q| q + i);
                }
                if let Some(n) = memchr2(b'\n', b'\r', &bytes[i..])
                    && n < MAX_COLUMNS
                    && next_quote.is_none_or(|q| q > i + n)
                {
                    if bytes[i + n] == b'\n' {
                        self.line += 1;
                    }
                    self.field_line = self.line;
                    i += n + 1;
                    continue;
                }
            }
            // The bytes up to the next one that matters in this state.
            let (skip, special) = match self.state {
                State::Unquoted => match memchr3(d, b'\n', b'\r', &bytes[i..]) {
                    Some(n) => (n, true),
                    None => (bytes.len() - i, false),
                },
                State::Quoted => match memchr2(b'"', b'\n', &bytes[i..]) {
                    Some(n) => (n, true),
                    None => (bytes.len() - i, false),
                },
                State::FieldStart | State::QuoteInQuoted => (0, true),
            };
            self.field_len += skip;
            self.record_len += skip;
            self.check()?;
            i += skip;
            if !special {
                break;
            }
            let b = bytes[i];
            i += 1;
            match self.state {
                State::FieldStart | State::Unquoted | State::QuoteInQuoted
                    if b == b'\n' || b == b'\r' =>
                {
                    self.end_record(b)
                }
                State::FieldStart | State::Unquoted | State::QuoteInQuoted if b == d => {
                    self.record_len += 1;
                    self.end_field()
                }
                State::FieldStart if b == b'"' => {
                    self.record_len += 1;
                    self.state = State::Quoted;
                }
                State::Quoted if b == b'"' => {
                    self.record_len += 1;
                    self.state = State::QuoteInQuoted;
                }
                State::QuoteInQuoted if b == b'"' => {
                    self.grow();
                    self.state = State::Quoted;
                }
                State::Quoted => {
                    // A line end inside quotes belongs to the field.
                    self.line += 1;
                    self.grow();
                }
                _ => {
                    self.grow();
                    self.state = State::Unquoted;
                }
            }
            self.check()?;
        }
        Ok(())
    }

    fn grow(&mut self) {
        self.field_len += 1;
        self.record_len += 1;
    }

    fn check(&self) -> Result<(), TooLong> {
        let limit = if self.field_len > MAX_FIELD {
            Limit::Field
        } else if self.field >= MAX_COLUMNS {
            Limit::Columns
        } else if self.record_len > MAX_RECORD {
            Limit::Record
        } else {
            return Ok(());
        };
        Err(TooLong {
            line: self.field_line,
            field: self.field,
            limit,
        })
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(n)
    }
}

/// Reads one line (up to and with its `\n`) into `buffer`, refusing one
/// longer than [`MAX_RECORD`] before buffering more of it. The byte count
/// read, 0 at the end.
pub fn read_line(input: &mut impl io::BufRead, buffer: &mut Vec<u8>) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(total);
        }
        let (take, done) = match memchr(b'\n', available) {
            Some(n) => (n + 1, true),
            None => (available.len(), false),
        };
        if buffer.len() + take > MAX_RECORD + 2 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TooLong {
                    line: 0,
                    field: 0,
                    limit: Limit::Record,
                },
            ));
        }
        buffer.extend_from_slice(&available[..take]);
        input.consume(take);
        total += take;
        if done {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(bytes: &[u8]) -> Result<(), TooLong> {
        let mut out = Vec::new();
        Guard::new(bytes, b',')
            .read_to_end(&mut out)
            .map(|_| ())
            .map_err(|e| too_long(&e).cloned().expect("a limit"))
    }

    #[test]
    fn long_fields_are_refused_with_their_place() {
        let long = "x".repeat(MAX_FIELD + 1);
        assert!(scan(format!("a,b\n1,{}\n", "y".repeat(MAX_FIELD)).as_bytes()).is_ok());
        let err = scan(format!("a,b\r\n1,2\r\n3,{long}\n").as_bytes()).unwrap_err();
        assert_eq!((err.line, err.field, err.limit), (3, 1, Limit::Field));
        let err = scan(format!("a,b\n\"1\n2\",\"{long}\"\n").as_bytes()).unwrap_err();
        assert_eq!((err.line, err.field), (3, 1));
        // Quoted commas and doubled quotes stay inside the field.
        let quoted = format!("\"{}\"", "a,\"\"".repeat(MAX_FIELD / 2));
        assert!(scan(quoted.as_bytes()).is_err());
        let many = "y,".repeat(MAX_COLUMNS + 1);
        assert_eq!(scan(many.as_bytes()).unwrap_err().limit, Limit::Columns);
        let wide = format!("{},", "y".repeat(MAX_RECORD / 500)).repeat(600);
        assert_eq!(scan(wide.as_bytes()).unwrap_err().limit, Limit::Record);
    }

    #[test]
    fn the_same_bytes_pass_through() {
        let text = b"a,\"b\"\"c\",d\r\n1,2,3\n";
        let mut out = Vec::new();
        Guard::new(&text[..], b',').read_to_end(&mut out).unwrap();
        assert_eq!(out, text);
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    /// `cargo test --release --lib -- --ignored --nocapture guard_speed`
    #[test]
    #[ignore = "a measurement, not a check; run with --release"]
    fn guard_speed() {
        let row = "O000000001,O000000001P1,W000000001A1,wechat,836.01,CNY,PAID,SUCCESS,2026-11-21 10:45:34,,,2026-11-21T10:46:03+08:00\n";
        let text = row.repeat(1_000_000);
        let start = std::time::Instant::now();
        let mut guard = Guard::new(text.as_bytes(), b',');
        std::io::copy(&mut guard, &mut std::io::sink()).unwrap();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "guard: {} MB in {secs:.3} s = {:.0} MB/s",
            text.len() / 1_000_000,
            text.len() as f64 / secs / 1e6
        );
    }
}
