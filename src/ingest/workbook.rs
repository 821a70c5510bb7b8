//! Spreadsheet workbooks (`.xlsx`, `.xls`, `.xlsb`, `.ods`), read directly
//! with calamine: finance staff save exports and bills as workbooks more
//! often than as CSV.
//!
//! A workbook is recognised by its content (a zip holding `xl/` or an
//! OpenDocument spreadsheet, or an OLE compound file), never its name. One
//! sheet is read (the first, or the one a layout's `sheet` names) and turned
//! into CSV text, one sheet row per line (row 5 of the sheet is line 5), so
//! everything after (header, column mapping, skip_top/skip_bottom, the caps,
//! the formats' own checks) is the CSV path unchanged. A workbook is read
//! into memory whole, as calamine needs; exports sent as workbooks are far
//! below the sizes where that matters.
//!
//! Cells keep their text form, and numbers never pass through a rounding:
//! - a text cell is its text (ids belong in text cells);
//! - a number cell is the shortest decimal that is exactly the number the
//!   workbook holds (`128.5` for a cell showing 128.50). An amount a
//!   formula left as 12.850000000000001 is then refused by the amount's own
//!   check (too many decimals), never rounded. A whole number of 15 digits
//!   or more is refused: a spreadsheet keeps 15 significant digits, so a long
//!   id typed as a number (4200001234567890123456789012) has already lost
//!   its last digits, and the error says to format that column as Text;
//! - a date cell (an Excel serial date) is its local date and time to the
//!   millisecond, `YYYY-MM-DD HH:MM:SS[.fff]`, read in the layout's zone
//!   like any naive time (a layout's `time_format` reads this shape too);
//! - a spreadsheet error (`#N/A`, `#REF!`) is refused with its cell.

use crate::error::InputError;
use calamine::{Data, Reader};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

const ZIP: &[u8] = b"PK\x03\x04";
const OLE: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
/// The largest whole number a cell may hold (exclusive): a spreadsheet keeps
/// 15 significant digits.
const EXACT_DIGITS: f64 = 1e15;

/// Could these first bytes start a workbook? (A zip may also be another
/// archive: [`is_workbook`] decides.)
pub fn may_be(head: &[u8]) -> bool {
    head.starts_with(ZIP) || head.starts_with(OLE)
}

/// Is this whole file a workbook?
pub fn is_workbook(bytes: &[u8]) -> bool {
    if bytes.starts_with(OLE) {
        return true;
    }
    if !bytes.starts_with(ZIP) {
        return false;
    }
    match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => {
            let has = |name: &str| archive.index_for_name(name).is_some();
            has("xl/workbook.xml")
                || has("xl/workbook.bin")
                || (has("content.xml") && has("mimetype"))
        }
        Err(_) => false,
    }
}

/// Is this zip an Apple Numbers document (which calamine does not read)?
pub fn is_numbers(bytes: &[u8]) -> bool {
    bytes.starts_with(ZIP)
        && zip::ZipArchive::new(Cursor::new(bytes))
            .is_ok_and(|a| a.index_for_name("Index/Document.iwa").is_some())
}

/// A sheet as CSV text, with the name of the sheet read.
#[derive(Debug)]
pub struct Converted {
    pub csv: Vec<u8>,
    pub sheet: String,
    pub sheets: usize,
}

/// Reads `sheet` (else the first of `preferred` the workbook has, else its
/// first sheet) and writes it as CSV. With `decimal_comma`, number cells
/// are written `1234,5`: a layout that reads decimal commas refuses
/// `1234.5`, and a number cell has no separator of its own to keep.
pub fn to_csv(
    path: &Path,
    bytes: Vec<u8>,
    sheet: Option<&str>,
    preferred: &[&str],
    decimal_comma: bool,
) -> Result<Converted, InputError> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        InputError::file(
            path,
            format!(
                "is a spreadsheet workbook payrecon cannot read ({e}): open it and save it as CSV (UTF-8), or as .xlsx, and load that"
            ),
        )
    })?;
    let names = book.sheet_names();
    let chosen = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .cloned()
            .ok_or_else(|| {
                InputError::file(
                    path,
                    format!(
                        "is a workbook without a sheet named '{}' (sheet in its layout); its sheets: {}",
                        super::escape(wanted),
                        names.iter().map(|n| super::shorten(n)).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?,
        None => preferred
            .iter()
            .find_map(|p| names.iter().find(|n| n.as_str() == *p))
            .or(names.first())
            .cloned()
            .ok_or_else(|| InputError::file(path, "is a workbook without any sheet"))?,
    };
    let unreadable = |e: &dyn std::fmt::Display| {
        InputError::file(
            path,
            format!(
                "sheet '{}' cannot be read ({e}): save it as CSV (UTF-8) and load that",
                super::escape(&chosen)
            ),
        )
    };
    // Cells by row, each row's cells by column: only the cells the sheet
    // has. An .xlsx sheet is streamed cell by cell (calamine's Range would
    // allocate its whole bounding box: two cells at A1 and XFD1048576 ask
    // for 17 billion), and a cell past the column limit is refused as it
    // comes; other workbooks come as a Range.
    let mut rows: BTreeMap<u32, Vec<(u32, Data)>> = BTreeMap::new();
    let mut keep = |row: u32, col: u32, cell: Data| -> Result<(), InputError> {
        if matches!(cell, Data::Empty) {
            return Ok(());
        }
        if col as usize >= super::guard::MAX_COLUMNS {
            return Err(Place {
                path,
                line: u64::from(row) + 1,
                column: col as usize,
            }
            .error(format!(
                "the sheet has a value in column {}, past the {} columns payrecon reads (is this the right sheet?)",
                col + 1,
                super::guard::MAX_COLUMNS
            )));
        }
        rows.entry(row).or_default().push((col, cell));
        Ok(())
    };
    match &mut book {
        calamine::Sheets::Xlsx(xlsx) => {
            let mut cells = xlsx
                .worksheet_cells_reader(&chosen)
                .map_err(|e| unreadable(&e))?;
            while let Some(cell) = cells.next_cell().map_err(|e| unreadable(&e))? {
                let (row, col) = cell.get_position();
                keep(row, col, Data::from(cell.get_value().clone()))?;
            }
        }
        book => {
            let range = book.worksheet_range(&chosen).map_err(|e| unreadable(&e))?;
            let (top, left) = range.start().unwrap_or((0, 0));
            for (r, row) in range.rows().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    keep(top + r as u32, left + c as u32, cell.clone())?;
                }
            }
        }
    }
    let width = rows
        .values()
        .flat_map(|cells| cells.iter().map(|(col, _)| *col as usize + 1))
        .max()
        .unwrap_or(0);
    let mut csv = Vec::new();
    // Row N of the sheet is line N: rows without values are blank lines.
    let mut next_line = 0u32;
    for (row, mut cells) in rows {
        csv.resize(csv.len() + (row - next_line) as usize, b'\n');
        next_line = row + 1;
        cells.sort_by_key(|(col, _)| *col);
        let mut fields = vec![String::new(); width];
        for (col, cell) in cells {
            let place = Place {
                path,
                line: u64::from(row) + 1,
                column: col as usize,
            };
            let mut field = text(&cell).map_err(|problem| place.error(problem))?;
            if decimal_comma && matches!(cell, Data::Float(_)) {
                field = field.replace('.', ",");
            }
            fields[col as usize] = field;
        }
        write_row(&mut csv, &fields);
    }
    Ok(Converted {
        csv,
        sheet: chosen,
        sheets: names.len(),
    })
}

/// A cell's text, or why it cannot be read.
fn text(cell: &Data) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::Float(f) => number(*f)?,
        // A serial below 1 is a time of day alone: Excel's day 0 would read
        // as 1899-12-31.
        Data::DateTime(d) if d.is_datetime() && d.as_f64() < 1.0 => {
            return Err(format!(
                "holds a time of day without its date (the cell's value is {}): write the date and the time",
                d.as_f64()
            ));
        }
        Data::DateTime(d) if d.is_datetime() => {
            let (y, mo, day, h, mi, s, ms) = d.to_ymd_hms_milli();
            let at = chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(day))
                .and_then(|date| {
                    date.and_hms_milli_opt(u32::from(h), u32::from(mi), u32::from(s), u32::from(ms))
                })
                .ok_or_else(|| {
                    format!(
                        "holds the date serial {}, which is no real date (Excel's 1900-02-29?)",
                        d.as_f64()
                    )
                })?;
            if ms == 0 {
                at.format("%Y-%m-%d %H:%M:%S").to_string()
            } else {
                at.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
            }
        }
        Data::DateTime(d) => number(d.as_f64())?,
        Data::Error(e) => return Err(format!("holds the spreadsheet error {e}, not a value")),
    })
}

/// A number cell as the shortest decimal that is exactly its value.
fn number(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!("holds the number {f}, which is not a value"));
    }
    if f.fract() == 0.0 && f.abs() >= EXACT_DIGITS {
        return Err(format!(
            "holds the number {f:e}, not text: a spreadsheet keeps only 15 significant digits, so an id typed as a number has lost its last digits. Format the column as Text in the workbook and enter the values again (or export them as text)"
        ));
    }
    // Rust's Display for f64 is the shortest text that reads back as the
    // same number, never in exponent form.
    Ok(format!("{f}"))
}

/// One CSV line: fields quoted when they hold a comma, quote or line break.
fn write_row(out: &mut Vec<u8>, fields: &[String]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(field.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(field.as_bytes());
        }
    }
    out.push(b'\n');
}

struct Place<'a> {
    path: &'a Path,
    line: u64,
    column: usize,
}

impl Place<'_> {
    fn error(&self, problem: String) -> InputError {
        let mut letters = String::new();
        let mut n = self.column + 1;
        while n > 0 {
            letters.insert(0, char::from(b'A' + ((n - 1) % 26) as u8));
            n = (n - 1) / 26;
        }
        InputError {
            line: self.line,
            column: Some(format!("{letters} (cell {letters}{})", self.line)),
            ..InputError::file(self.path, problem)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_exact_text() {
        assert_eq!(number(128.5).unwrap(), "128.5");
        assert_eq!(number(100.0).unwrap(), "100");
        assert_eq!(number(0.1 + 0.2).unwrap(), "0.30000000000000004");
        assert_eq!(number(123456789012345.0).unwrap(), "123456789012345");
        let err = number(4200001234567890123456789012.0).unwrap_err();
        assert!(
            err.contains("format the column as Text") || err.contains("Format the column as Text"),
            "{err}"
        );
        assert!(number(f64::NAN).is_err());
    }

    #[test]
    fn cells_become_exact_text_in_sheet_rows() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        let when = Format::new().set_num_format("dd/mm/yyyy hh:mm");
        ws.write_string(1, 1, "id").unwrap();
        ws.write_string(1, 2, "amount").unwrap();
        ws.write_string(1, 3, "at").unwrap();
        ws.write_string(2, 1, "4200001234567890123456789012")
            .unwrap();
        ws.write_number(2, 2, 128.5).unwrap();
        let at = ExcelDateTime::parse_from_str("2026-11-21 23:59:59.250").unwrap();
        ws.write_datetime_with_format(2, 3, &at, &when).unwrap();
        ws.write_number(4, 2, 0.1 + 0.2).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        assert!(is_workbook(&bytes));
        let csv = to_csv(Path::new("x.xlsx"), bytes, None, &[], false).unwrap();
        assert_eq!(
            String::from_utf8(csv.csv).unwrap(),
            "\n,id,amount,at\n,4200001234567890123456789012,128.5,2026-11-21 23:59:59.250\n\n,,0.30000000000000004,\n"
        );
        let mut book = Workbook::new();
        book.add_worksheet()
            .write_number(0, 0, 4200001234567890123456789012.0)
            .unwrap();
        let err = refusal(book);
        assert!(
            err.starts_with("x.xlsx, line 1, column 'A (cell A1)'"),
            "{err}"
        );
    }

    /// Why `to_csv` refuses this workbook (saved as `x.xlsx`).
    fn refusal(mut book: rust_xlsxwriter::Workbook) -> String {
        to_csv(
            Path::new("x.xlsx"),
            book.save_to_buffer().unwrap(),
            None,
            &[],
            false,
        )
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn a_time_of_day_without_its_date_is_refused() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.write_string(0, 0, "paid_at").unwrap();
        let time = ExcelDateTime::from_hms(10, 30, 0).unwrap();
        ws.write_datetime_with_format(1, 0, &time, &Format::new().set_num_format("hh:mm:ss"))
            .unwrap();
        let err = refusal(book);
        assert!(
            err.starts_with("x.xlsx, line 2, column 'A (cell A2)'")
                && err.contains("without its date"),
            "{err}"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Damaged workbooks are refused, never a panic.
        #[test]
        fn damaged_workbooks_never_panic(edits in proptest::collection::vec((0usize..1 << 20, 0u8..=255), 1..8)) {
            let mut book = rust_xlsxwriter::Workbook::new();
            let ws = book.add_worksheet();
            ws.write_string(0, 0, "order_id").unwrap();
            ws.write_number(1, 0, 12.5).unwrap();
            let mut bytes = book.save_to_buffer().unwrap();
            for (at, byte) in edits {
                let len = bytes.len();
                bytes[at % len] = byte;
            }
            let _ = to_csv(Path::new("x.xlsx"), bytes, None, &[], false);
        }
    }

    #[test]
    fn rows_are_csv_lines() {
        let mut out = Vec::new();
        write_row(
            &mut out,
            &["a".into(), "b,c".into(), "say \"hi\"".into(), String::new()],
        );
        assert_eq!(out, b"a,\"b,c\",\"say \"\"hi\"\"\",\n");
    }
}
