//! report.xlsx: the day as an Excel workbook. A Summary sheet, one sheet
//! per finding kind, and Refunds. Amount cells are numbers with their
//! currency's format (`#,##0.00 "CNY"`); ids are text cells, so a 28-digit
//! WeChat id keeps every digit. Header rows are frozen and filtered.
//!
//! Written in rust_xlsxwriter's constant-memory mode: each finding's row
//! goes to its sheet's temporary file as it passes, so a day of 600,000
//! findings does not sit in memory. A sheet stops at Excel's row limit
//! and the Summary sheet says how many rows are only in discrepancies.csv.
//! The creation date is the business day, so a rerun writes the same bytes.
//!
//! Amount cells hold the exact decimal as an f64: a spreadsheet number by
//! nature, for display; the CSVs keep the exact text.

use super::day::DayReport;
use super::{Output, Sink};
use crate::money::exponent;
use crate::reconcile::finding::{Finding, FindingKind};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet};
use std::collections::BTreeMap;

/// Excel's rows per sheet, the header included.
pub const MAX_ROWS: u32 = 1_048_576;
/// Excel's most characters (UTF-16 units) in a cell.
const MAX_CELL: usize = 32_767;

/// Text as a cell can hold it. Ingest keeps ids and values far shorter, but
/// a detail or an explanation is built from several of them: past Excel's
/// limit the workbook could not be written at all, so the cell is cut with a
/// marker saying so (the CSVs keep the whole text).
fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    // UTF-16 units never outnumber bytes: a short text needs no count.
    if value.len() <= MAX_CELL || value.encode_utf16().count() <= MAX_CELL {
        return value.into();
    }
    let mark = format!(
        "… [cut at Excel's 32,767-character cell limit: {} characters in all, see the CSV]",
        value.chars().count()
    );
    let room = MAX_CELL - mark.encode_utf16().count();
    let (mut units, mut end) = (0, 0);
    for (i, c) in value.char_indices() {
        units += c.len_utf16();
        if units > room {
            break;
        }
        end = i + c.len_utf8();
    }
    format!("{}{mark}", &value[..end]).into()
}

const KIND_HEADER: [(&str, f64); 18] = [
    ("status", 9.0),
    ("finding_id", 20.0),
    ("order_id", 18.0),
    ("payment_id", 18.0),
    ("channel_order_id", 20.0),
    ("channel_txn_id", 30.0),
    ("channel", 10.0),
    ("internal_amount", 16.0),
    ("internal_currency", 9.0),
    ("channel_amount", 16.0),
    ("channel_currency", 9.0),
    ("amount_at_stake", 16.0),
    ("currency", 9.0),
    ("action", 40.0),
    ("detail", 50.0),
    ("first_seen", 11.0),
    ("age_days", 9.0),
    ("overdue", 8.0),
];

pub struct Xlsx {
    book: Workbook,
    /// Sheet index and rows written (the header included), per kind.
    sheets: BTreeMap<FindingKind, (usize, u32)>,
    /// Rows past Excel's limit, per kind: only in discrepancies.csv.
    cut: BTreeMap<FindingKind, u64>,
    header: Format,
    money: BTreeMap<String, Format>,
}

impl Xlsx {
    pub fn new() -> anyhow::Result<Xlsx> {
        let mut book = Workbook::new();
        // A faster deflate than the default 6: a day's 65K findings saved
        // in half the time, for a file a tenth larger (level 1 was a third
        // of the time for half as large again; docs/performance.md).
        book.set_zip_compression_level(3);
        book.add_worksheet_with_constant_memory()?
            .set_name("Summary")?;
        Ok(Xlsx {
            book,
            sheets: BTreeMap::new(),
            cut: BTreeMap::new(),
            header: Format::new().set_bold().set_background_color("#EEF1F5"),
            money: BTreeMap::new(),
        })
    }
}

/// The number format of `currency`'s amounts.
fn money_format<'a>(formats: &'a mut BTreeMap<String, Format>, currency: &str) -> &'a Format {
    if !formats.contains_key(currency) {
        let decimals = exponent(currency) as usize;
        let pattern = if decimals == 0 {
            "#,##0".to_string()
        } else {
            format!("#,##0.{}", "0".repeat(decimals))
        };
        // Currency codes are letters: safe inside the quotes.
        let format = Format::new().set_num_format(format!("{pattern} \"{currency}\""));
        formats.insert(currency.to_string(), format);
    }
    &formats[currency]
}

/// The amount as a spreadsheet number (display only).
fn number(minor: i64, currency: &str) -> f64 {
    Decimal::new(minor, exponent(currency))
        .to_f64()
        .unwrap_or_default()
}

fn header_row(
    sheet: &mut Worksheet,
    header: &Format,
    columns: &[(&str, f64)],
) -> anyhow::Result<()> {
    for (col, (name, width)) in columns.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
        sheet.write_string_with_format(0, col as u16, *name, header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn write_amount(
    sheet: &mut Worksheet,
    formats: &mut BTreeMap<String, Format>,
    row: u32,
    col: u16,
    minor: Option<i64>,
    currency: Option<&str>,
) -> anyhow::Result<()> {
    if let (Some(minor), Some(currency)) = (minor, currency) {
        let format = money_format(formats, currency);
        sheet.write_number_with_format(row, col, number(minor, currency), format)?;
    }
    Ok(())
}

impl Output for Xlsx {
    fn name(&self) -> &'static str {
        "report.xlsx"
    }

    fn finding(&mut self, f: &Finding) -> anyhow::Result<()> {
        let kind = f.kind;
        let (index, rows) = match self.sheets.get(&kind) {
            Some(found) => *found,
            None => {
                let sheet = self.book.add_worksheet_with_constant_memory()?;
                sheet.set_name(kind.code())?;
                header_row(sheet, &self.header, &KIND_HEADER)?;
                let index = self.sheets.len() + 1;
                (index, 1)
            }
        };
        if rows >= MAX_ROWS {
            *self.cut.entry(kind).or_default() += 1;
            return Ok(());
        }
        let sheet = self.book.worksheet_from_index(index)?;
        let r = rows;
        let text = |sheet: &mut Worksheet, col: u16, value: &str| -> anyhow::Result<()> {
            if !value.is_empty() {
                sheet.write_string(r, col, cell(value))?;
            }
            Ok(())
        };
        text(sheet, 0, f.status.code())?;
        text(sheet, 1, &f.finding_id)?;
        text(sheet, 2, &f.order_id)?;
        text(sheet, 3, &f.payment_id)?;
        text(sheet, 4, &f.channel_order_id)?;
        text(sheet, 5, &f.channel_txn_id)?;
        text(sheet, 6, &f.channel)?;
        let money = &mut self.money;
        write_amount(
            sheet,
            money,
            r,
            7,
            f.internal_amount,
            f.internal_currency.as_deref(),
        )?;
        text(sheet, 8, f.internal_currency.as_deref().unwrap_or_default())?;
        write_amount(
            sheet,
            money,
            r,
            9,
            f.channel_amount,
            f.channel_currency.as_deref(),
        )?;
        text(sheet, 10, f.channel_currency.as_deref().unwrap_or_default())?;
        write_amount(
            sheet,
            money,
            r,
            11,
            Some(f.amount_at_stake()),
            Some(f.currency()),
        )?;
        text(sheet, 12, f.currency())?;
        text(sheet, 13, &super::report::action(f))?;
        text(sheet, 14, &f.detail)?;
        text(sheet, 15, &f.first_seen)?;
        sheet.write_number(r, 16, f.age_days as f64)?;
        text(sheet, 17, if f.overdue { "yes" } else { "" })?;
        self.sheets.insert(kind, (index, rows + 1));
        Ok(())
    }

    fn finish(mut self: Box<Self>, day: &DayReport, sink: &mut Sink) -> anyhow::Result<()> {
        for (index, rows) in self.sheets.values() {
            let sheet = self.book.worksheet_from_index(*index)?;
            sheet.autofilter(0, 0, rows - 1, KIND_HEADER.len() as u16 - 1)?;
        }
        self.summary_sheet(day)?;
        self.refunds_sheet(day)?;
        let created = chrono::NaiveDate::parse_from_str(&day.business_day, "%Y-%m-%d")
            .ok()
            .and_then(|d| {
                use chrono::Datelike;
                ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).ok()
            })
            .unwrap_or(ExcelDateTime::from_ymd(2000, 1, 1)?);
        self.book.set_properties(
            &DocProperties::new()
                .set_title(format!("payrecon report {}", day.business_day))
                .set_creation_datetime(&created),
        );
        let bytes = self.book.save_to_buffer()?;
        sink.bytes("report.xlsx", &bytes)
    }
}

impl Xlsx {
    fn summary_sheet(&mut self, day: &DayReport) -> anyhow::Result<()> {
        let summary = day.summary();
        let bold = self.header.clone();
        let money = &mut self.money;
        let sheet = self.book.worksheet_from_index(0)?;
        sheet.set_column_width(0, 34)?;
        for col in 1..12 {
            sheet.set_column_width(col, 16)?;
        }
        let mut r = 0u32;
        sheet.write_string_with_format(
            r,
            0,
            format!("payrecon report {}", day.business_day),
            &bold,
        )?;
        r += 2;
        let line =
            |sheet: &mut Worksheet, r: &mut u32, label: &str, count: f64| -> anyhow::Result<()> {
                sheet.write_string(*r, 0, label)?;
                sheet.write_number(*r, 1, count)?;
                *r += 1;
                Ok(())
            };
        line(
            sheet,
            &mut r,
            "open findings",
            summary.findings_total as f64,
        )?;
        line(sheet, &mut r, "needing action", summary.needs_action as f64)?;
        line(
            sheet,
            &mut r,
            "carried to the next run",
            summary.carried_over as f64,
        )?;
        line(
            sheet,
            &mut r,
            "refund instructions for this day",
            summary.refunds.count as f64,
        )?;
        for (currency, total) in &summary.refunds.totals {
            if let Ok(minor) = crate::money::parse_amount(total, currency) {
                sheet.write_string(r, 0, format!("refund total {currency}"))?;
                let format = money_format(money, currency);
                sheet.write_number_with_format(r, 1, number(minor, currency), format)?;
                r += 1;
            }
        }
        line(sheet, &mut r, "new today", summary.ledger.new.count as f64)?;
        for (age, f) in &summary.ledger.open_by_age {
            line(
                sheet,
                &mut r,
                &format!("open, {age} day(s) old"),
                f.count as f64,
            )?;
        }
        line(
            sheet,
            &mut r,
            "overdue",
            summary.ledger.overdue.count as f64,
        )?;
        line(
            sheet,
            &mut r,
            "resolved today",
            summary.ledger.resolved_today.count as f64,
        )?;
        r += 1;
        let cols = [
            "channel",
            "currency",
            "rows matched",
            "payment rows",
            "amount matched",
            "gross",
            "refunds",
            "fees",
            "net settled",
            "internal total",
            "difference",
            "match rate",
        ];
        sheet.write_string_with_format(r, 0, "Control totals", &bold)?;
        r += 1;
        for (c, name) in cols.iter().enumerate() {
            sheet.write_string_with_format(r, c as u16, *name, &bold)?;
        }
        r += 1;
        for c in &day.controls {
            let format = money_format(money, &c.currency);
            sheet.write_string(r, 0, cell(&c.channel))?;
            sheet.write_string(r, 1, &c.currency)?;
            sheet.write_number(r, 2, c.matched_rows as f64)?;
            sheet.write_number(r, 3, c.payment_rows as f64)?;
            for (col, minor) in [(4, c.matched_amount), (5, c.gross), (6, c.refunds)] {
                sheet.write_number_with_format(r, col, number(minor, &c.currency), format)?;
            }
            sheet.write_number(r, 7, c.fees.to_f64().unwrap_or_default())?;
            sheet.write_number(r, 8, c.net().to_f64().unwrap_or_default())?;
            sheet.write_number_with_format(r, 9, number(c.internal_total, &c.currency), format)?;
            sheet.write_number_with_format(r, 10, number(c.difference(), &c.currency), format)?;
            sheet.write_string(r, 11, c.match_rate())?;
            r += 1;
        }
        r += 1;
        sheet.write_string_with_format(r, 0, "Open findings by kind and channel", &bold)?;
        r += 1;
        for (c, name) in ["kind", "channel", "count", "at stake", "currency"]
            .iter()
            .enumerate()
        {
            sheet.write_string_with_format(r, c as u16, *name, &bold)?;
        }
        r += 1;
        for g in &summary.findings {
            for (currency, amount) in &g.amounts {
                sheet.write_string(r, 0, &g.kind)?;
                sheet.write_string(r, 1, cell(&g.channel))?;
                sheet.write_number(r, 2, g.count as f64)?;
                if let Ok(minor) =
                    crate::money::parse_amount(amount.trim_start_matches('-'), currency)
                {
                    let format = money_format(money, currency);
                    sheet.write_number_with_format(r, 3, number(minor, currency), format)?;
                }
                sheet.write_string(r, 4, currency)?;
                r += 1;
            }
        }
        r += 1;
        sheet.write_string_with_format(r, 0, "Refund files", &bold)?;
        r += 1;
        for (c, name) in ["file", "rows", "sha256"].iter().enumerate() {
            sheet.write_string_with_format(r, c as u16, *name, &bold)?;
        }
        r += 1;
        for f in &summary.refunds.files {
            sheet.write_string(r, 0, &f.name)?;
            sheet.write_number(r, 1, f.rows as f64)?;
            sheet.write_string(r, 2, &f.sha256)?;
            r += 1;
        }
        for (kind, n) in &self.cut {
            r += 1;
            sheet.write_string(
                r,
                0,
                format!("{kind}: {n} more row(s) than a sheet holds; all are in discrepancies.csv"),
            )?;
        }
        Ok(())
    }

    fn refunds_sheet(&mut self, day: &DayReport) -> anyhow::Result<()> {
        const COLUMNS: [(&str, f64); 14] = [
            ("file", 14.0),
            ("refund_request_id", 36.0),
            ("reason", 20.0),
            ("channel", 10.0),
            ("channel_txn_id", 30.0),
            ("channel_order_id", 20.0),
            ("order_id", 18.0),
            ("payment_id", 18.0),
            ("captured", 16.0),
            ("refunded_by_channel", 18.0),
            ("instructed_before", 18.0),
            ("refunded_now", 16.0),
            ("currency", 9.0),
            ("explanation", 70.0),
        ];
        let header = self.header.clone();
        let money = &mut self.money;
        let sheet = self.book.add_worksheet_with_constant_memory()?;
        sheet.set_name("Refunds")?;
        header_row(sheet, &header, &COLUMNS)?;
        let mut r = 1u32;
        for file in &day.refund_files {
            for i in &file.instructions {
                for (col, value) in [
                    (0, file.name.as_str()),
                    (1, &i.refund_request_id),
                    (2, &i.reason),
                    (3, &i.channel),
                    (4, &i.channel_txn_id),
                    (5, &i.channel_order_id),
                    (6, &i.order_id),
                    (7, &i.payment_id),
                    (12, &i.currency),
                ] {
                    sheet.write_string(r, col, cell(value))?;
                }
                let c = Some(i.currency.as_str());
                write_amount(sheet, money, r, 8, i.captured_minor, c)?;
                write_amount(sheet, money, r, 9, i.channel_refunded_minor, c)?;
                write_amount(sheet, money, r, 10, i.instructed_before_minor, c)?;
                write_amount(sheet, money, r, 11, Some(i.amount_minor), c)?;
                sheet.write_string(r, 13, cell(&super::refunds::explanation(i)))?;
                r += 1;
            }
        }
        sheet.autofilter(0, 0, r - 1, COLUMNS.len() as u16 - 1)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 60 KiB value failed the run late ("String exceeds Excel's limit
    /// of 32,767 characters"), naming no file or line.
    #[test]
    fn text_past_the_cell_limit_is_cut_with_a_marker() {
        assert_eq!(cell("T1"), "T1");
        let fits = "é".repeat(MAX_CELL);
        assert_eq!(cell(&fits), fits.as_str());
        for long in ["x".repeat(60_000), "😀".repeat(20_000)] {
            let cut = cell(&long);
            assert!(cut.encode_utf16().count() <= MAX_CELL, "{}", cut.len());
            assert!(cut.ends_with(&format!(
                "cut at Excel's 32,767-character cell limit: {} characters in all, see the CSV]",
                long.chars().count()
            )));
            let mut book = Workbook::new();
            book.add_worksheet().write_string(0, 0, cut).unwrap();
        }
    }
}
