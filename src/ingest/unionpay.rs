//! UnionPay online-payment (全渠道/ACP) merchant reconciliation detail file,
//! "ZM" (`INN<yyMMdd>88ZM_<merId>` inside the daily zip), turned into
//! canonical settlement records for channel `unionpay`.
//!
//! The file is fixed width, not CSV, and has no header: it is recognised by
//! its record shape (see [`layout`]). Amounts are fen (CNY minor units,
//! twelve zero-padded digits); times are Beijing time.
//!
//! What each 交易类型 (the API's txnType codes, which the file is taken to
//! reuse) becomes:
//! - `01` 消费 (consume): a PAYMENT. `channel_txn_id` is 查询流水号 (queryId),
//!   `channel_order_id` is 商户订单号 (orderId, padding trimmed); the amount
//!   is 交易金额.
//! - `04` 退货 (refund) and `31` 消费撤销 (void of a consume): a REFUND of the
//!   payment 原交易查询流水号 for order 原始交易订单号; the amount is 交易金额.
//!   `refund_id` is the refund's own 商户订单号 (the merchant's refund order
//!   number, which is what payrecon's refund instructions are matched by),
//!   else its own 查询流水号.
//! - Any other code is refused: a pre-authorisation family or a code the
//!   file uses differently must not be read as money by guesswork.
//!
//! The fee is 商户手续费: `D` (debited, a cost) is positive, `C` (credited
//! back, as on a refund) negative, a blank sign is read as `D`.
//!
//! 交易传输时间 is `MMDDhhmmss` without a year. The year is the one that
//! puts the time nearest the file's date (from `INN<yyMMdd>` in its name,
//! else a date in its name like `unionpay-2026-11-21.txt`): a December time
//! in a file dated January belongs to the previous year, a January time in a
//! late-December file to the next. That date is also the day the file covers
//! ([`FileFacts::day`]). `--settlement-day` cannot stand in for it, since
//! the parser does not see the flag.

mod layout;

use super::day;
use super::settlement::{Context, FileFacts, Format, Sink};
use crate::error::InputError;
use crate::model::{Kind, SettlementRecord};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use layout::Field;
use rust_decimal::Decimal;
use std::io::{BufReader, Read};
use std::path::Path;

pub const FORMAT: Format = Format {
    name: "unionpay",
    hints: &[],
    description: "UnionPay ACP ZM reconciliation file (INN<yyMMdd>88ZM_<merId>, fixed-width 607-byte records)",
    sniff,
    parse,
};

const CHANNEL: &str = "unionpay";
const CURRENCY: &str = "CNY";
const BEIJING_SECONDS: i64 = 8 * 3600;
/// A time further than this from the file's date is refused, not placed.
const MAX_DAYS_FROM_FILE: i64 = 183;

fn sniff(head: &[u8]) -> bool {
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    layout::fits(first)
        && [layout::AMOUNT, layout::TIME, layout::TXN_TYPE]
            .iter()
            .all(|f| f.of(first).iter().all(u8::is_ascii_digit))
}

fn parse(input: &mut dyn Read, cx: &Context, sink: &mut Sink) -> anyhow::Result<FileFacts> {
    let file_day = inn_date(cx.path);
    let year_from = file_day.or_else(|| day::day_from_name(cx.path).ok().flatten());
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut buffer = Vec::with_capacity(layout::RECORD_LEN + 2);
    let mut line = 0u64;
    loop {
        buffer.clear();
        let read = super::guard::read_line(&mut reader, &mut buffer).map_err(|e| {
            match super::guard::too_long(&e) {
                Some(limit) => anyhow::Error::new(InputError {
                    line: line + 1,
                    ..InputError::file(cx.path, limit.to_string())
                }),
                None => anyhow::Error::new(e).context(format!(
                    "failed to read settlement file {}",
                    cx.path.display()
                )),
            }
        })?;
        if read == 0 {
            break;
        }
        line += 1;
        let record = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
        let record = record.strip_suffix(b"\r").unwrap_or(record);
        if record.is_empty() {
            continue;
        }
        let at = Place {
            path: cx.path,
            line,
            record,
        };
        sink(at.settlement(year_from)?)?;
    }
    Ok(FileFacts {
        channel: Some(CHANNEL.to_string()),
        day: file_day,
        ..FileFacts::default()
    })
}

/// Is this head UnionPay's human-readable daily summary (the `RD…` member
/// of the same zip, 中国银联全渠道商户交易汇总表), not the ZM detail?
pub fn is_summary(head: &[u8]) -> bool {
    let text = super::gbk::text(head);
    text.contains("商户交易汇总表") || (text.contains("清算日期") && text.contains("交易笔数"))
}

/// Why a UnionPay summary file is not read, naming the ZM file to load.
pub fn summary_refusal(head: &[u8]) -> String {
    let text = super::gbk::text(head);
    let day = text.split("清算日期").nth(1).and_then(|rest| {
        let digits: String = rest
            .trim_start_matches([':', '：', ' '])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (digits.len() == 8).then(|| digits[2..].to_string())
    });
    format!(
        "this is UnionPay's daily summary (RD) file, a report for people, not the transaction detail: load the ZM detail file of the same day instead ({}, in the same zip)",
        match day {
            Some(day) => format!("INN{day}88ZM_<merId>"),
            None => "INN<yyMMdd>88ZM_<merId>".to_string(),
        }
    )
}

/// The date in `INN<yyMMdd>88ZM`, the name UnionPay gives the file.
fn inn_date(path: &Path) -> Option<NaiveDate> {
    let name = path.file_name()?.to_str()?;
    name.match_indices("INN").find_map(|(i, _)| {
        let digits = name.get(i + 3..i + 9)?;
        let zm = name.get(i + 11..i + 13)?;
        let all_digits = digits.bytes().all(|b| b.is_ascii_digit());
        (all_digits && zm == "ZM")
            .then(|| NaiveDate::parse_from_str(&format!("20{digits}"), "%Y%m%d").ok())
            .flatten()
    })
}

/// One record and where it is, for errors that name the field.
struct Place<'a> {
    path: &'a Path,
    line: u64,
    record: &'a [u8],
}

impl Place<'_> {
    fn settlement(&self, year_from: Option<NaiveDate>) -> Result<SettlementRecord, InputError> {
        if !layout::fits(self.record) {
            let field = layout::broken_field(self.record);
            return Err(self.error(
                field,
                format!(
                    "the record is {} bytes where a ZM record has {} (each field followed by one space); its layout breaks at this field (byte {})",
                    self.record.len(),
                    layout::RECORD_LEN,
                    field.start() + 1
                ),
            ));
        }
        let kind = match layout::TXN_TYPE.of(self.record) {
            b"01" => Kind::Payment,
            b"04" | b"31" => Kind::Refund,
            _ => {
                return Err(self.bad(
                    layout::TXN_TYPE,
                    "01 (消费, a payment), 04 (退货) or 31 (消费撤销), the refunds",
                ));
            }
        };
        let amount_minor = self.fen(layout::AMOUNT)?;
        if amount_minor == 0 {
            return Err(self.bad(layout::AMOUNT, "a positive amount"));
        }
        let own_order = self.text(layout::ORDER_ID)?;
        let query_id = self.required(layout::QUERY_ID)?;
        let (channel_txn_id, channel_order_id, refund_id) = match kind {
            Kind::Payment => (query_id, self.required(layout::ORDER_ID)?, ""),
            Kind::Refund => (
                self.required(layout::ORIGINAL_QUERY_ID)?,
                self.required(layout::ORIGINAL_ORDER_ID)?,
                if own_order.is_empty() {
                    query_id
                } else {
                    own_order
                },
            ),
        };
        Ok(SettlementRecord {
            channel: CHANNEL.to_string(),
            channel_txn_id: channel_txn_id.to_string(),
            channel_order_id: channel_order_id.to_string(),
            kind,
            amount_minor,
            fee: Some(self.fee()?),
            currency: CURRENCY.to_string(),
            transacted_at: self.time(year_from)?,
            refund_id: refund_id.to_string(),
        })
    }

    /// An ASCII field without its padding.
    fn text(&self, field: Field) -> Result<&str, InputError> {
        let raw = field.of(self.record);
        if !raw.is_ascii() {
            return Err(self.bad(field, "ASCII text"));
        }
        Ok(std::str::from_utf8(raw).unwrap_or_default().trim())
    }

    fn required(&self, field: Field) -> Result<&str, InputError> {
        let text = self.text(field)?;
        if text.is_empty() {
            return Err(self.error(field, "is blank but a value is required".into()));
        }
        if let Some(c) = text.chars().find(char::is_ascii_control) {
            return Err(self.error(
                field,
                format!(
                    "contains the control character {}: ids must be printable text (a damaged file?)",
                    c.escape_unicode()
                ),
            ));
        }
        Ok(text)
    }

    /// A zero-padded count of fen.
    fn fen(&self, field: Field) -> Result<i64, InputError> {
        digits(field.of(self.record)).ok_or_else(|| self.bad(field, "12 digits of fen"))
    }

    /// 商户手续费: a `C`/`D`/blank sign, then twelve digits of fen.
    fn fee(&self) -> Result<String, InputError> {
        let raw = layout::FEE.of(self.record);
        let expected = "C or D and 12 digits of fen, like D000000002861";
        let sign = match raw[0] {
            b'D' | b' ' => 1,
            b'C' => -1,
            _ => return Err(self.bad(layout::FEE, expected)),
        };
        let fen = digits(&raw[1..]).ok_or_else(|| self.bad(layout::FEE, expected))?;
        Ok(Decimal::new(sign * fen, 2).normalize().to_string())
    }

    /// 交易传输时间 in UTC microseconds; see the module doc for the year.
    fn time(&self, year_from: Option<NaiveDate>) -> Result<i64, InputError> {
        let field = layout::TIME;
        let Some(file_day) = year_from else {
            return Err(self.error(field, "has no year, and the file name has no date to take it from: keep UnionPay's name (INN<yyMMdd>88ZM_<merId>) or put the day in it (unionpay-2026-11-21.txt)".into()));
        };
        let expected = "MMDDhhmmss (month, day, time)";
        let raw = field.of(self.record);
        let part = |i: usize| digits(&raw[i..i + 2]).map(|n| n as u32);
        let (Some(month), Some(day), Some(h), Some(m), Some(s)) =
            (part(0), part(2), part(4), part(6), part(8))
        else {
            return Err(self.bad(field, expected));
        };
        let time = NaiveTime::from_hms_opt(h, m, s).ok_or_else(|| self.bad(field, expected))?;
        let date = nearest_date(file_day, month, day).ok_or_else(|| {
            self.bad(
                field,
                &format!("{expected} within half a year of the file's date {file_day}"),
            )
        })?;
        let local = NaiveDateTime::new(date, time).and_utc().timestamp();
        Ok((local - BEIJING_SECONDS) * 1_000_000)
    }

    fn bad(&self, field: Field, expected: &str) -> InputError {
        let value = String::from_utf8_lossy(field.of(self.record)).into_owned();
        self.error(
            field,
            format!("'{value}' is not valid: expected {expected}"),
        )
    }

    fn error(&self, field: Field, problem: String) -> InputError {
        InputError {
            path: self.path.to_path_buf(),
            line: self.line,
            column: Some(field.name().to_string()),
            problem,
        }
    }
}

/// The date with this month and day nearest `file_day` (the year before,
/// the same or the next), if one lies within [`MAX_DAYS_FROM_FILE`].
fn nearest_date(file_day: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    [-1, 0, 1]
        .into_iter()
        .filter_map(|d| NaiveDate::from_ymd_opt(file_day.year() + d, month, day))
        .min_by_key(|date| (*date - file_day).num_days().abs())
        .filter(|date| (*date - file_day).num_days().abs() <= MAX_DAYS_FROM_FILE)
}

/// All-digit bytes as a number (at most 18 digits, so it fits).
fn digits(raw: &[u8]) -> Option<i64> {
    if raw.is_empty() || raw.len() > 18 || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(raw.iter().fold(0, |n, b| n * 10 + i64::from(b - b'0')))
}

#[cfg(test)]
mod tests;
