//! Alipay merchant business detail (支付宝 业务明细, `bill_type=trade`) ->
//! canonical records.
//!
//! Reads the `*_业务明细.csv` of the daily `.csv.zip` (the zip is opened by
//! `container`): GBK, or UTF-8 after a re-save; a `#` preamble naming the day
//! (`#起始日期：[2019年09月16日 00:00:00]`); the header line starting
//! 支付宝交易号 (`（元）` or `(元)` in names); values with a trailing TAB
//! (stripped); and a `#` footer whose totals (`#交易合计：6笔，商家实收共0.06元…`,
//! `#退款合计：…`) must equal the rows'. A difference, or a file without the
//! footer (cut short), is refused, so a truncated download never reconciles
//! quietly. GBK is decoded as a stream: memory does not grow with the file.
//!
//! Mapping. Times are Beijing time whatever zone the config names; amounts
//! are yuan (the bill has no currency column: CNY).
//! - 业务类型 交易 -> PAYMENT, 退款 -> REFUND (its negative amounts made
//!   positive). Any other type is refused with its value: what it does to
//!   money is not documented, and a guess could misstate it.
//! - channel_txn_id = 支付宝交易号, channel_order_id = 商户订单号 (a refund row
//!   repeats its payment's), refund_id = 退款批次号/请求号 (out_request_no).
//! - amount = 订单金额（元）, the order total (total_amount). Not 商家实收（元）,
//!   the receipt after discounts: the internal order and the refund API
//!   (refund_amount ≤ total_amount) both work in the total. The footer totals
//!   商家实收, so that column is summed to check it.
//! - transacted_at = 完成时间: payment or refund completion (a refund row's
//!   创建时间 is still its order's).
//! - fee = 服务费（元）, exact, with the sign the file gives (Alipay does not
//!   document it).

use super::settlement::{Context, FileFacts, Format, Sink};
use super::{Header, Row, bill_reader, gbk, next_record, plain};
use crate::error::InputError;
use crate::model::{Kind, SettlementRecord};
use crate::money;
use anyhow::{Context as _, Result};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub const FORMAT: Format = Format {
    name: "alipay",
    hints: &[
        "支付宝交易号",
        "商户订单号",
        "业务类型",
        "订单金额（元）",
        "完成时间",
        "#支付宝业务明细查询",
    ],
    description: "Alipay merchant business detail (业务明细: #支付宝业务明细查询, 支付宝交易号,…), GBK, also the downloaded .csv.zip",
    sniff,
    parse,
};

const CHANNEL: &str = "alipay";
/// What a bill that parsed was checked against ([`FileFacts::checked`]).
const CHECKED: &str = "the footer (#交易合计 and #退款合计: rows and 商家实收)";
const CURRENCY: &str = "CNY";
const BEIJING: Tz = chrono_tz::Asia::Shanghai;
const FIRST_COLUMN: &str = "支付宝交易号";
/// The footer lines that total each kind of row.
const TOTALS: [(Kind, &str); 2] = [(Kind::Payment, "交易合计"), (Kind::Refund, "退款合计")];

fn sniff(head: &[u8]) -> bool {
    gbk::text(head).lines().take(20).any(|line| {
        line.starts_with("#支付宝业务明细查询") || line.trim_start().starts_with(FIRST_COLUMN)
    })
}

fn parse(input: &mut dyn Read, cx: &Context, sink: &mut Sink) -> Result<FileFacts> {
    let path = cx.path;
    let mut input = BufReader::with_capacity(1 << 16, input);
    let start = input
        .fill_buf()
        .with_context(|| format!("failed to read settlement file {}", path.display()))?;
    let input: Box<dyn Read + '_> = if gbk::is_utf8(start) {
        Box::new(input)
    } else {
        Box::new(gbk::reader(input))
    };
    let mut reader = bill_reader(input);
    let mut record = csv::ByteRecord::new();
    let (header, day) = preamble(&mut reader, path, &mut record)?;
    let cols = Columns::resolve(&header, path)?;
    let counted = rows(&mut reader, path, &header, &cols, &mut record, sink)?;
    let said = footer(&mut reader, path, &mut record)?;
    for (kind, label) in TOTALS {
        let Some((line, said)) = &said[kind as usize] else {
            return Err(truncated(path, &format!("has no #{label} line in its footer")).into());
        };
        counted[kind as usize]
            .check(said, label, cols.received_name(&header))
            .map_err(|problem| InputError {
                line: *line,
                ..InputError::file(path, problem)
            })?;
    }
    Ok(FileFacts {
        channel: Some(CHANNEL.into()),
        day,
        checked: Some(CHECKED),
        ..FileFacts::default()
    })
}

/// The `#` lines up to the header, and the day they name.
fn preamble<R: Read>(
    reader: &mut csv::Reader<R>,
    path: &Path,
    record: &mut csv::ByteRecord,
) -> Result<(Header, Option<NaiveDate>), InputError> {
    let mut day = None;
    loop {
        if !next_record(reader, path, record)? {
            return Err(truncated(path, "has no header line (支付宝交易号,…)"));
        }
        let line = line_of(record);
        let first = first_field(record);
        if first.starts_with(b"#") {
            let named = preamble_day(&joined(record)).map_err(|problem| InputError {
                line,
                ..InputError::file(path, problem)
            })?;
            day = day.or(named);
        } else if first == FIRST_COLUMN.as_bytes() {
            return Ok((Header::from_record(path, line, record)?, day));
        } else {
            return Err(InputError {
                line,
                ..InputError::file(
                    path,
                    format!(
                        "expected the header line starting with {FIRST_COLUMN}, found '{}'",
                        super::shorten(&joined(record))
                    ),
                )
            });
        }
    }
}

/// The rows, into `sink`, up to the first `#` line (left in `record`);
/// payments and refunds counted for the footer check.
fn rows<R: Read>(
    reader: &mut csv::Reader<R>,
    path: &Path,
    header: &Header,
    cols: &Columns,
    record: &mut csv::ByteRecord,
    sink: &mut Sink,
) -> Result<[Tally; 2]> {
    let mut tally = [Tally::default(), Tally::default()];
    loop {
        if !next_record(reader, path, record)? {
            return Err(truncated(path, "ends without its footer (#交易合计…)").into());
        }
        if first_field(record).starts_with(b"#") {
            return Ok(tally);
        }
        let row = Row::new(path, header, record, line_of(record));
        if record.len() != header.column_count() {
            return Err(InputError {
                line: row.line,
                ..InputError::file(
                    path,
                    format!(
                        "row has {} fields, the header has {} (a cut-off line, or a comma in a value?)",
                        record.len(),
                        header.column_count()
                    ),
                )
            }
            .into());
        }
        if memchr::memmem::find(record.as_slice(), gbk::REPLACEMENT.as_bytes()).is_some() {
            cols.refuse_damaged(&row)?;
        }
        let (parsed, received) = cols.record(&row)?;
        let t = &mut tally[parsed.kind as usize];
        t.rows += 1;
        t.received = t
            .received
            .checked_add(received)
            .ok_or_else(|| row.error(cols.received, "is too large to total"))?;
        sink(parsed)?;
    }
}

/// The footer from the `#` line in `record` to the end: what `#交易合计` and
/// `#退款合计` say, with their lines. Nothing but `#` lines may follow the rows.
fn footer<R: Read>(
    reader: &mut csv::Reader<R>,
    path: &Path,
    record: &mut csv::ByteRecord,
) -> Result<[Option<(u64, Tally)>; 2], InputError> {
    let mut said = [None, None];
    loop {
        let line = line_of(record);
        let text = joined(record);
        if !text.starts_with('#') {
            return Err(InputError {
                line,
                ..InputError::file(
                    path,
                    format!(
                        "has '{}' after the list's end, where only # lines belong",
                        super::shorten(&text)
                    ),
                )
            });
        }
        for (kind, label) in TOTALS {
            if text.contains(label) {
                let total = footer_total(&text).ok_or_else(|| InputError {
                    line,
                    ..InputError::file(path, format!("'{}' is not a total payrecon can read (expected like #{label}：6笔，商家实收共0.06元…)", super::shorten(&text)))
                })?;
                said[kind as usize] = Some((line, total));
            }
        }
        if !next_record(reader, path, record)? {
            return Ok(said);
        }
    }
}

/// Rows of one 业务类型 and their 商家实收, as counted or as the footer says.
#[derive(Debug, Default)]
struct Tally {
    rows: u64,
    received: Decimal,
}

impl Tally {
    fn check(&self, said: &Tally, label: &str, received_column: &str) -> Result<(), String> {
        let kind = &label[..label.len() - "合计".len()];
        if said.rows != self.rows {
            return Err(format!(
                "#{label} counts {} rows, but the file has {} {kind} rows: the bill is incomplete or was edited; download it again",
                said.rows, self.rows
            ));
        }
        if said.received != self.received {
            return Err(format!(
                "#{label} says 商家实收 {}, but {received_column} of the {} {kind} rows adds up to {}: the bill is incomplete or was edited; download it again",
                said.received.normalize(),
                self.rows,
                self.received.normalize()
            ));
        }
        Ok(())
    }
}

/// `#交易合计：6笔，商家实收共0.06元，…` or `#退款合计：4笔，商家实收退款共-0.04元，…`.
fn footer_total(text: &str) -> Option<Tally> {
    let after_label = text.split_once("合计")?.1;
    let count = after_label
        .trim_start_matches(['：', ':'])
        .split_once('笔')?
        .0
        .trim();
    let after_received = after_label.split_once("实收")?.1;
    let sum = after_received
        .split_once('共')?
        .1
        .split_once('元')?
        .0
        .trim();
    Some(Tally {
        rows: money::parse_decimal(count)
            .ok()
            .filter(|c| c.fract().is_zero())?
            .try_into()
            .ok()?,
        received: money::parse_decimal(sum).ok()?,
    })
}

/// The day a daily bill covers, from `#起始日期：[…]   终止日期：[…]`.
fn preamble_day(text: &str) -> Result<Option<NaiveDate>, String> {
    let Some(start) = bracketed(text, "起始日期") else {
        return Ok(None);
    };
    let time = |t: &str| {
        NaiveDateTime::parse_from_str(t.trim(), "%Y年%m月%d日 %H:%M:%S")
            .map_err(|_| format!("'{t}' is not a time like 2019年09月16日 00:00:00"))
    };
    let start = time(start)?;
    let end = bracketed(text, "终止日期").map(time).transpose()?;
    let daily = start.time() == chrono::NaiveTime::MIN
        && end.is_none_or(|end| end - start == TimeDelta::days(1));
    if !daily {
        return Err(format!(
            "covers {} to {}, not one day: payrecon reconciles daily bills (bill_date=yyyy-MM-dd)",
            start,
            end.map(|e| e.to_string()).unwrap_or_default()
        ));
    }
    Ok(Some(start.date()))
}

fn bracketed<'t>(text: &'t str, label: &str) -> Option<&'t str> {
    let rest = text.split_once(label)?.1;
    let open = rest.split_once('[')?.1;
    Some(open.split_once(']')?.0)
}

/// Where each column the mapping reads is.
struct Columns {
    txn: usize,
    order: usize,
    kind: usize,
    done_at: usize,
    amount: usize,
    received: usize,
    refund_id: Option<usize>,
    fee: Option<usize>,
}

impl Columns {
    fn resolve(header: &Header, path: &Path) -> Result<Columns, InputError> {
        let found = header.require_any(
            path,
            &[
                &[FIRST_COLUMN],
                &["商户订单号"],
                &["业务类型"],
                &["完成时间"],
                &["订单金额（元）", "订单金额(元)"],
                &["商家实收（元）", "商家实收(元)"],
            ],
        )?;
        let &[txn, order, kind, done_at, amount, received] = found.as_slice() else {
            unreachable!("six columns were required")
        };
        Ok(Columns {
            txn,
            order,
            kind,
            done_at,
            amount,
            received,
            refund_id: header.position_any(&["退款批次号/请求号", "退款批次号"]),
            fee: header.position_any(&["服务费（元）", "服务费(元)"]),
        })
    }

    /// Refuses a row whose columns the mapping reads hold a U+FFFD: a byte
    /// GBK could not decode (the file is damaged or in yet another
    /// encoding). Called only for a row holding one somewhere, so clean rows
    /// pay one byte search for the whole record instead of one per field.
    fn refuse_damaged(&self, row: &Row) -> Result<(), InputError> {
        let read = [self.kind, self.amount, self.received]
            .into_iter()
            .chain(self.fee)
            .chain(self.refund_id)
            .chain([self.done_at, self.txn, self.order]);
        for index in read {
            if row.text(index)?.contains(gbk::REPLACEMENT) {
                return Err(row.error(index, gbk::DAMAGED));
            }
        }
        Ok(())
    }

    fn received_name<'h>(&self, header: &'h Header) -> &'h str {
        header.name(self.received)
    }

    /// A row's record and its 商家实收 (for the footer check).
    fn record(&self, row: &Row) -> Result<(SettlementRecord, Decimal), InputError> {
        let kind = match required(row, self.kind)? {
            "交易" => Kind::Payment,
            "退款" => Kind::Refund,
            _ => {
                return Err(bad_value(
                    row,
                    self.kind,
                    "交易 (a payment) or 退款 (a refund)",
                ));
            }
        };
        let amount_text = required(row, self.amount)?;
        let amount = plain::decimal(amount_text).map_err(|e| row.error(self.amount, e))?;
        if amount.is_zero() || (kind == Kind::Payment && amount.is_sign_negative()) {
            return Err(bad_value(
                row,
                self.amount,
                "a non-zero amount, positive on a 交易 row (negative on a 退款 row)",
            ));
        }
        let amount_minor = money::to_minor(amount.abs(), amount_text, CURRENCY)
            .map_err(|e| row.error(self.amount, e))?;
        let received = plain::decimal(required(row, self.received)?)
            .map_err(|e| row.error(self.received, e))?;
        let fee = match self.fee {
            Some(i) if !value(row, i)?.is_empty() => Some(fee(row, i)?),
            _ => None,
        };
        let refund_id = match (kind, self.refund_id) {
            (Kind::Refund, Some(i)) => value(row, i)?.to_string(),
            _ => String::new(),
        };
        let transacted_at = crate::timestamp::parse(required(row, self.done_at)?, BEIJING)
            .ok_or_else(|| {
                bad_value(
                    row,
                    self.done_at,
                    "a time like 2019-09-16 10:55:23 (Beijing time)",
                )
            })?;
        let record = SettlementRecord {
            channel: CHANNEL.into(),
            channel_txn_id: required(row, self.txn)?.to_string(),
            channel_order_id: required(row, self.order)?.to_string(),
            kind,
            amount_minor,
            fee,
            currency: CURRENCY.into(),
            transacted_at,
            refund_id,
        };
        Ok((record, received))
    }
}

/// 服务费 as exact text, [`money::canonical_decimal`]'s form.
fn fee(row: &Row, index: usize) -> Result<String, InputError> {
    plain::decimal_text(value(row, index)?).map_err(|e| row.error(index, e))
}

fn truncated(path: &Path, what: &str) -> InputError {
    InputError::file(
        path,
        format!("{what}: the download is truncated or the file was cut; download the bill again"),
    )
}

fn line_of(record: &csv::ByteRecord) -> u64 {
    record.position().map(|p| p.line()).unwrap_or(0)
}

fn first_field(record: &csv::ByteRecord) -> &[u8] {
    record.get(0).unwrap_or_default().trim_ascii()
}

/// A whole `#` line (comment lines hold no quoted commas).
fn joined(record: &csv::ByteRecord) -> String {
    let fields: Vec<_> = record.iter().map(String::from_utf8_lossy).collect();
    fields.join(",").trim_end_matches(',').trim().to_string()
}

/// A field without its padding TAB ([`Columns::refuse_damaged`] has
/// checked it for undecodable bytes).
fn value<'r>(row: &'r Row, index: usize) -> Result<&'r str, InputError> {
    row.text(index)
}

/// [`Row::bad_value`], quoting the value without its padding TAB.
fn bad_value(row: &Row, index: usize, expected: &str) -> InputError {
    let raw = row.record.get(index).unwrap_or_default().trim_ascii();
    row.bad_value_shown(index, raw, expected)
}

fn required<'r>(row: &'r Row, index: usize) -> Result<&'r str, InputError> {
    row.non_empty(index, value(row, index)?)
}

#[cfg(test)]
mod tests;
