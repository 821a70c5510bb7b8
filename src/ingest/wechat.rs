//! WeChat Pay merchant trade bill (微信支付 交易账单) -> canonical records.
//!
//! Reads the bill as the download API returns it: `bill_type` ALL, SUCCESS
//! or REFUND, current or pre-2018 column layout (columns are found by name,
//! under either generation's name), plain or gzip (`tar_type=GZIP`, opened by
//! `container`). UTF-8 with a BOM, CRLF or LF, every value prefixed with a
//! backtick, and at the end a summary caption (`总交易单数,…`) with a value
//! line. The summary is the file's checksum: its row count and amount totals
//! must equal the rows read, and a file without it was cut short. Both are
//! refused, so a truncated download never reconciles quietly. A GBK file
//! (a manual download re-saved by Excel) is refused rather than guessed at.
//! The API's "No Bill Exist" answer, saved as the day's file, is a day with
//! no rows.
//!
//! Mapping. Times are Beijing time whatever zone the config names.
//! - `SUCCESS` -> PAYMENT: channel_txn_id = 微信订单号, channel_order_id =
//!   商户订单号, amount = 订单金额 (legacy layout: 总金额), at 交易时间. Not
//!   应结订单金额: that is 订单金额 minus a merchant-funded (免充值) coupon, money
//!   the payer never paid, while the internal order and the refund API both
//!   work in 订单金额 (total_fee): a payment refunded in full is a refund of
//!   订单金额, and comparing 应结订单金额 would flag every couponed order.
//! - `REFUND` -> REFUND with the original payment's ids, refund_id =
//!   商户退款单号, amount = 申请退款金额 (legacy: 退款金额), the same basis as
//!   订单金额 (退款金额 is net of the coupon's share, as 应结订单金额 is), at
//!   退款申请时间 (REFUND bills, whose 交易时间 is the payment's) else 交易时间.
//!   退款状态 is a snapshot taken when the bill was made: SUCCESS, PROCESSING
//!   (accepted, money committed, still in flight) and CHANGE (abnormal: the
//!   money left the merchant but the card refused it; it is settled by hand)
//!   are refunds. REFUNDCLOSE and FAIL moved no money and are left out. Any
//!   other status is refused.
//! - `REVOKED` (a payment-code order reversed, 撤销) -> a PAYMENT and a REFUND
//!   of the same amount, refund_id `REVOKED`: the money came in and went back.
//!   Revoked the same day, the pair nets to zero; revoked on a later day, the
//!   PAYMENT repeats the earlier bill's (counted once by channel_txn_id) and
//!   the REFUND marks it returned. Skipping the row would leave that payment
//!   looking unrefunded, and payrecon could refund it a second time.
//! - fee = 手续费, exact (five decimals in the file), negative on refunds.
//!   currency = 货币种类.

use super::settlement::{Context, FileFacts, Format, Sink, Skipped};
use super::{Header, Row, bill_reader, gbk, next_record, plain};
use crate::error::InputError;
use crate::model::{Kind, SettlementRecord};
use crate::money;
use anyhow::{Context as _, Result};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub const FORMAT: Format = Format {
    name: "wechat",
    hints: &[
        "交易时间",
        "微信订单号",
        "商户订单号",
        "交易状态",
        "订单金额",
        "总交易单数",
    ],
    description: "WeChat Pay merchant trade bill (交易账单: 交易时间,…,微信订单号,商户订单号,…), also gzipped",
    sniff,
    parse,
};

const CHANNEL: &str = "wechat";
/// What a bill that parsed was checked against ([`FileFacts::checked`]).
const CHECKED: &str = "the bill's summary (总交易单数 and every amount total)";
const BEIJING: Tz = chrono_tz::Asia::Shanghai;
const SUMMARY: &str = "总交易单数";

/// The amount columns, by their names in either layout, and what the
/// summary calls their total. Every one the file has is summed and checked.
const AMOUNTS: [(&[&str], &[&str]); 5] = [
    (&["应结订单金额", "总金额"], &["应结订单总金额", "总交易额"]),
    (&["退款金额"], &["退款总金额", "总退款金额"]),
    (&["订单金额"], &["订单总金额"]),
    (&["申请退款金额"], &["申请退款总金额"]),
    (&["手续费"], &["手续费总金额"]),
];
const SETTLED: usize = 0;
const REFUNDED: usize = 1;
const ORDERED: usize = 2;
const REQUESTED: usize = 3;
const FEE: usize = 4;

fn sniff(head: &[u8]) -> bool {
    if is_api_response(head) {
        return true;
    }
    let first = gbk::text(head.split(|&b| b == b'\n').next().unwrap_or_default());
    ["交易时间", "微信订单号", "商户订单号"]
        .iter()
        .all(|n| first.contains(n))
}

fn parse(input: &mut dyn Read, cx: &Context, sink: &mut Sink) -> Result<FileFacts> {
    let path = cx.path;
    let mut facts = FileFacts {
        channel: Some(CHANNEL.into()),
        ..FileFacts::default()
    };
    let mut input = BufReader::with_capacity(1 << 16, input);
    let start = input
        .fill_buf()
        .with_context(|| format!("failed to read settlement file {}", path.display()))?;
    if is_api_response(start) {
        return api_response(&mut input, path).map(|()| facts);
    }
    // A bill downloaded by hand from the merchant platform, or re-saved by
    // Excel, may be GBK: the same columns and rows in another encoding.
    let (input, from_gbk) = gbk::decoding(input)
        .with_context(|| format!("failed to read settlement file {}", path.display()))?;
    let mut reader = bill_reader(input);
    let mut next = |record: &mut csv::ByteRecord| next_record(&mut reader, path, record);
    let mut record = csv::ByteRecord::new();
    if !next(&mut record)? {
        return Err(truncated(path, "is empty").into());
    }
    if std::str::from_utf8(record.as_slice()).is_err() {
        return Err(InputError {
            line: 1,
            ..InputError::file(path, "is neither UTF-8 nor GBK: download the bill again through the API (downloadbill, or /v3/bill/tradebill), or save it as UTF-8")
        }
        .into());
    }
    let header = Header::from_record(path, line_of(&record), &record)?;
    let cols = Columns::resolve(&header, path)?;
    let mut rows = 0u64;
    let mut totals = [Decimal::ZERO; AMOUNTS.len()];
    let mut repaired = Repair::default();
    loop {
        if !next(&mut record)? {
            return Err(truncated(path, "ends without its summary (总交易单数…)").into());
        }
        if value_of(record.get(0).unwrap_or_default()).starts_with(SUMMARY.as_bytes()) {
            break;
        }
        let row = Row::new(
            path,
            &header,
            repaired.fields(&record, header.column_count()),
            line_of(&record),
        )
        .decoded_from_gbk(from_gbk);
        if row.record.len() != header.column_count() {
            return Err(InputError {
                line: row.line,
                ..InputError::file(
                    path,
                    format!(
                        "row has {} fields, the header has {} (a line cut short: is the download truncated?)",
                        row.record.len(),
                        header.column_count()
                    ),
                )
            }
            .into());
        }
        let amounts = cols.amounts(&row)?;
        for ((total, amount), column) in totals.iter_mut().zip(amounts).zip(cols.amounts) {
            *total = total
                .checked_add(amount)
                .ok_or_else(|| row.error(column.unwrap_or_default(), "is too large to total"))?;
        }
        rows += 1;
        emit(&row, &cols, &amounts, sink, &mut facts.skipped)?;
    }
    let summary = Header::from_record(path, line_of(&record), &record)?;
    if !next(&mut record)? {
        return Err(truncated(path, "ends after the summary caption, without its values").into());
    }
    check_summary(path, &header, &summary, &record, &cols, rows, &totals)?;
    facts.checked = Some(CHECKED);
    if next(&mut record)? {
        return Err(InputError {
            line: line_of(&record),
            ..InputError::file(
                path,
                "has more lines after the summary, which ends the bill",
            )
        }
        .into());
    }
    Ok(facts)
}

/// Where each column the mapping reads is.
struct Columns {
    time: usize,
    txn: usize,
    order: usize,
    status: usize,
    currency: usize,
    /// Indexed like [`AMOUNTS`].
    amounts: [Option<usize>; AMOUNTS.len()],
    refund_no: Option<usize>,
    refund_status: Option<usize>,
    refund_time: Option<usize>,
}

impl Columns {
    fn resolve(header: &Header, path: &Path) -> Result<Columns, InputError> {
        let found = header.require_any(
            path,
            &[
                &["交易时间"],
                &["微信订单号"],
                &["商户订单号"],
                &["交易状态"],
                &["货币种类"],
                AMOUNTS[SETTLED].0,
                AMOUNTS[FEE].0,
            ],
        )?;
        let &[time, txn, order, status, currency, ..] = found.as_slice() else {
            unreachable!("seven columns were required")
        };
        Ok(Columns {
            time,
            txn,
            order,
            status,
            currency,
            amounts: AMOUNTS.map(|(names, _)| header.position_any(names)),
            refund_no: header.position("商户退款单号"),
            refund_status: header.position("退款状态"),
            refund_time: header.position("退款申请时间"),
        })
    }

    /// Every amount column of a row, exactly; an empty value is zero.
    fn amounts(&self, row: &Row) -> Result<[Decimal; AMOUNTS.len()], InputError> {
        let mut out = [Decimal::ZERO; AMOUNTS.len()];
        for (slot, index) in out.iter_mut().zip(self.amounts) {
            if let Some(i) = index {
                let text = value(row, i)?;
                if !text.is_empty() {
                    *slot = plain::decimal(text).map_err(|e| row.error(i, e))?;
                }
            }
        }
        Ok(out)
    }

    /// What a payment captured: 订单金额, or 总金额/应结订单金额 in the legacy
    /// layout, which has no coupon split. The column and its [`AMOUNTS`] slot.
    fn payment_amount(&self) -> (usize, usize) {
        [ORDERED, SETTLED]
            .into_iter()
            .find_map(|slot| self.amounts[slot].map(|i| (i, slot)))
            .unwrap_or_default()
    }

    /// What a refund returned, on the same basis: 申请退款金额, or 退款金额.
    fn refund_amount(&self) -> Option<(usize, usize)> {
        [REQUESTED, REFUNDED]
            .into_iter()
            .find_map(|slot| self.amounts[slot].map(|i| (i, slot)))
    }
}

/// Hands the row's records to `sink`; a refund that moved no money is
/// counted in `skipped` instead.
fn emit(
    row: &Row,
    cols: &Columns,
    amounts: &[Decimal],
    sink: &mut Sink,
    skipped: &mut Skipped,
) -> Result<()> {
    match required(row, cols.status)? {
        "SUCCESS" => sink(payment(row, cols, amounts)?),
        "REFUND" => match refund(row, cols, amounts)? {
            Some(record) => sink(record),
            None => {
                let status = cols
                    .refund_status
                    .map(|i| value(row, i))
                    .transpose()?
                    .unwrap_or_default();
                *skipped.entry(format!("refund {status}")).or_default() += 1;
                Ok(())
            }
        },
        "REVOKED" => {
            let paid = payment(row, cols, amounts)?;
            let revoked = SettlementRecord {
                kind: Kind::Refund,
                fee: None,
                refund_id: "REVOKED".into(),
                ..paid.clone()
            };
            sink(paid)?;
            sink(revoked)
        }
        _ => Err(bad_value(row, cols.status, "SUCCESS, REFUND or REVOKED").into()),
    }
}

fn payment(row: &Row, cols: &Columns, amounts: &[Decimal]) -> Result<SettlementRecord, InputError> {
    let (index, slot) = cols.payment_amount();
    record(
        row,
        cols,
        amounts,
        Kind::Payment,
        (index, slot),
        cols.time,
        String::new(),
    )
}

/// `None` for a refund that moved no money (closed or failed).
fn refund(
    row: &Row,
    cols: &Columns,
    amounts: &[Decimal],
) -> Result<Option<SettlementRecord>, InputError> {
    let (Some(refund_no), Some(status), Some((index, slot))) =
        (cols.refund_no, cols.refund_status, cols.refund_amount())
    else {
        return Err(row.error(cols.status, "is REFUND, but the header has no refund columns (商户退款单号, 退款金额, 退款状态): a SUCCESS bill cannot hold refunds"));
    };
    match value(row, status)? {
        "SUCCESS" | "PROCESSING" | "CHANGE" => {}
        "REFUNDCLOSE" | "FAIL" => return Ok(None),
        _ => {
            return Err(bad_value(
                row,
                status,
                "SUCCESS, PROCESSING, CHANGE, REFUNDCLOSE or FAIL",
            ));
        }
    }
    let at = match cols.refund_time {
        Some(i) if !value(row, i)?.is_empty() => i,
        _ => cols.time,
    };
    let refund_id = required(row, refund_no)?.to_string();
    record(
        row,
        cols,
        amounts,
        Kind::Refund,
        (index, slot),
        at,
        refund_id,
    )
    .map(Some)
}

/// The canonical record of a row; its amount is in column `index`, parsed
/// into `amounts[slot]`.
fn record(
    row: &Row,
    cols: &Columns,
    amounts: &[Decimal],
    kind: Kind,
    (index, slot): (usize, usize),
    at: usize,
    refund_id: String,
) -> Result<SettlementRecord, InputError> {
    let currency = money::parse_currency(required(row, cols.currency)?)
        .map_err(|e| row.error(cols.currency, e))?;
    let amount_minor = money::to_minor(amounts[slot], value(row, index)?, &currency)
        .map_err(|e| row.error(index, e))?;
    if amount_minor <= 0 {
        return Err(bad_value(row, index, "a positive amount"));
    }
    let fee = match cols.amounts[FEE] {
        // Exactly canonical_decimal's text (the value parsed, so it is plain
        // or general-but-valid).
        Some(i) if !value(row, i)?.is_empty() => {
            Some(plain::decimal_text(value(row, i)?).map_err(|e| row.error(i, e))?)
        }
        _ => None,
    };
    let transacted_at = crate::timestamp::parse(required(row, at)?, BEIJING)
        .ok_or_else(|| bad_value(row, at, "a time like 2026-11-21 10:00:00 (Beijing time)"))?;
    Ok(SettlementRecord {
        channel: CHANNEL.into(),
        channel_txn_id: required(row, cols.txn)?.to_string(),
        channel_order_id: required(row, cols.order)?.to_string(),
        kind,
        amount_minor,
        fee,
        currency,
        transacted_at,
        refund_id,
    })
}

/// The summary's count and totals against the rows: any difference means the
/// file is not the bill WeChat made (cut short, or edited).
fn check_summary(
    path: &Path,
    header: &Header,
    caption: &Header,
    values: &csv::ByteRecord,
    cols: &Columns,
    rows: u64,
    totals: &[Decimal],
) -> Result<(), InputError> {
    let line = line_of(values);
    if values.len() != caption.column_count() {
        return Err(InputError {
            line,
            ..InputError::file(
                path,
                format!(
                    "the summary has {} values for {} captions (a cut-off line?)",
                    values.len(),
                    caption.column_count()
                ),
            )
        });
    }
    let summary = Row::new(path, caption, values, line);
    let figure = |i: usize| -> Result<Decimal, InputError> {
        money::parse_decimal(value(&summary, i)?).map_err(|e| summary.error(i, e))
    };
    let count_col = caption.position_any(&[SUMMARY]).unwrap_or_default();
    let count = figure(count_col)?;
    if count != Decimal::from(rows) {
        return Err(summary.error(
            count_col,
            format!("the summary counts {} rows, but the file has {rows}: the bill is incomplete or was edited; download it again", count.normalize()),
        ));
    }
    for (i, (_, total_names)) in AMOUNTS.iter().enumerate() {
        let (Some(detail_col), Some(total_col)) =
            (cols.amounts[i], caption.position_any(total_names))
        else {
            continue;
        };
        let said = figure(total_col)?;
        if said != totals[i] {
            return Err(summary.error(
                total_col,
                format!(
                    "the summary total is {}, but {} of the {rows} rows adds up to {}: the bill is incomplete or was edited; download it again",
                    said.normalize(),
                    header.name(detail_col),
                    totals[i].normalize()
                ),
            ));
        }
    }
    Ok(())
}

/// The API's XML answer instead of a bill (`<xml><return_code>…`).
fn is_api_response(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    head.trim_ascii_start().starts_with(b"<xml>") && head.windows(11).any(|w| w == b"return_code")
}

/// "No Bill Exist" is a day without payments; any other answer is an error.
fn api_response(input: &mut impl Read, path: &Path) -> Result<()> {
    let mut bytes = Vec::new();
    input
        .take(64 * 1024)
        .read_to_end(&mut bytes)
        .with_context(|| format!("failed to read settlement file {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("No Bill Exist") {
        return Ok(());
    }
    let message = text
        .split_once("<return_msg>")
        .and_then(|(_, rest)| rest.split_once("</return_msg>"))
        .map(|(msg, _)| msg.trim_start_matches("<![CDATA[").trim_end_matches("]]>"))
        .unwrap_or("no return_msg");
    Err(InputError::file(
        path,
        format!(
            "is a WeChat Pay API error answer ('{}'), not a bill: download the bill again",
            super::shorten(message)
        ),
    )
    .into())
}

fn truncated(path: &Path, what: &str) -> InputError {
    InputError::file(
        path,
        format!("{what}: the download is truncated or the file was cut; download the bill again"),
    )
}

/// Rows whose 商品名称 or 商户数据包 hold a comma come out with extra
/// fields. Every value of a row starts with a backtick, so a field that does
/// not is the rest of the one before it: glue them back (WeChat's own SDKs
/// split on "," followed by a backtick for the same reason).
#[derive(Default)]
struct Repair {
    record: csv::ByteRecord,
    field: Vec<u8>,
}

impl Repair {
    fn fields<'r>(&'r mut self, raw: &'r csv::ByteRecord, expected: usize) -> &'r csv::ByteRecord {
        if raw.len() <= expected || !raw.get(0).unwrap_or_default().starts_with(b"`") {
            return raw;
        }
        self.record.clear();
        self.field.clear();
        for (i, field) in raw.iter().enumerate() {
            if i > 0 && field.starts_with(b"`") {
                self.record.push_field(&self.field);
                self.field.clear();
            } else if i > 0 {
                self.field.push(b',');
            }
            self.field.extend_from_slice(field);
        }
        self.record.push_field(&self.field);
        self.record.set_position(raw.position().cloned());
        &self.record
    }
}

fn line_of(record: &csv::ByteRecord) -> u64 {
    record.position().map(|p| p.line()).unwrap_or(0)
}

/// A raw field without its backtick.
fn value_of(field: &[u8]) -> &[u8] {
    let field = field.trim_ascii();
    field.strip_prefix(b"`").unwrap_or(field)
}

/// A field as text, without its backtick.
fn value<'r>(row: &'r Row, index: usize) -> Result<&'r str, InputError> {
    let text = row.text(index)?;
    // `Row::text` has trimmed the field; only what follows a backtick may
    // still carry spaces.
    Ok(match text.strip_prefix('`') {
        Some(rest) => super::trim(rest.trim_ascii()),
        None => text,
    })
}

/// [`Row::bad_value`], quoting the value without its backtick.
fn bad_value(row: &Row, index: usize, expected: &str) -> InputError {
    row.bad_value_shown(
        index,
        value_of(row.record.get(index).unwrap_or_default()),
        expected,
    )
}

fn required<'r>(row: &'r Row, index: usize) -> Result<&'r str, InputError> {
    row.non_empty(index, value(row, index)?)
}

#[cfg(test)]
mod tests;
