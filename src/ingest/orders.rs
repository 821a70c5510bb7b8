//! The internal order export: one CSV row per channel attempt -> [`Attempt`].
//!
//! Columns may come in any order and, through `[orders_columns]` in the
//! config, under other names. Timestamps without an offset are read in the
//! configured zone; an empty currency is the configured default.

use super::{Header, Row, line_aware_reader};
use crate::error::InputError;
use crate::model::{Attempt, OrderStatus, PaymentStatus};
use crate::{money, timestamp};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The export's columns, in the contract's order.
pub const COLUMNS: &[&str] = &[
    "order_id",
    "payment_id",
    "channel_order_id",
    "channel",
    "amount",
    "currency",
    "order_status",
    "payment_status",
    "created_at",
    "expires_at",
    "closed_at",
    "paid_at",
];

/// Columns whose absence from the header is tolerated (their values may be
/// empty anyway).
const OPTIONAL: &[&str] = &["currency", "expires_at", "closed_at", "paid_at"];

/// How to read the export.
pub struct OrdersOptions<'a> {
    pub zone: Tz,
    pub default_currency: &'a str,
    /// Canonical column -> header used by this export.
    pub columns: &'a BTreeMap<String, String>,
}

/// Column positions, resolved once from the header.
struct Columns {
    index: [Option<usize>; 12],
}

impl Columns {
    fn resolve(path: &Path, header: &Header, opts: &OrdersOptions) -> Result<Columns, InputError> {
        let file_name = |c: &str| {
            opts.columns
                .get(c)
                .map(String::as_str)
                .unwrap_or(c)
                .to_string()
        };
        let required: Vec<String> = COLUMNS
            .iter()
            .filter(|c| !OPTIONAL.contains(c))
            .map(|c| file_name(c))
            .collect();
        let required: Vec<&str> = required.iter().map(String::as_str).collect();
        header.require(path, &required)?;
        let mut index = [None; 12];
        for (slot, column) in index.iter_mut().zip(COLUMNS) {
            *slot = header.position(&file_name(column));
        }
        Ok(Columns { index })
    }

    fn get(&self, column: &str) -> Option<usize> {
        COLUMNS
            .iter()
            .position(|c| *c == column)
            .and_then(|i| self.index[i])
    }

    fn must(&self, column: &str) -> usize {
        self.get(column).expect("required columns are resolved")
    }
}

/// Streams the export at `path` into `sink`, one attempt at a time with its
/// line number. Returns the number of rows read.
pub fn read(
    path: &Path,
    input: impl Read,
    opts: &OrdersOptions,
    mut sink: impl FnMut(Attempt, u64) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let (mut reader, lines) = line_aware_reader(input)?;
    let Some(header) = Header::read(path, &mut reader)? else {
        return Ok(0);
    };
    let columns = Columns::resolve(path, &header, opts)?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| lines.row_error(&header, path, e))?
    {
        let line = lines.line(&record);
        let row = Row {
            path,
            header: &header,
            record: &record,
            line,
        };
        sink(parse_row(&row, &columns, opts)?, line)?;
        rows += 1;
    }
    Ok(rows)
}

fn parse_row(row: &Row, c: &Columns, opts: &OrdersOptions) -> Result<Attempt, InputError> {
    let currency = match c
        .get("currency")
        .map(|i| (i, row.text(i)))
        .transpose_text()?
    {
        Some((_, "")) | None => opts.default_currency.to_string(),
        Some((i, code)) => money::parse_currency(code).map_err(|e| row.error(i, e))?,
    };
    let amount_col = c.must("amount");
    let amount_minor = money::parse_amount(row.required(amount_col)?, &currency)
        .map_err(|e| row.error(amount_col, e))?;
    if amount_minor < 0 {
        return Err(row.bad_value(amount_col, "an amount of zero or more"));
    }
    let status_col = c.must("order_status");
    let order_status = row
        .required(status_col)?
        .parse::<OrderStatus>()
        .map_err(|_| row.bad_value(status_col, OrderStatus::EXPECTED))?;
    let pay_col = c.must("payment_status");
    let payment_status = row
        .required(pay_col)?
        .parse::<PaymentStatus>()
        .map_err(|_| row.bad_value(pay_col, PaymentStatus::EXPECTED))?;
    let created_at = time(row, c.must("created_at"), opts.zone)?
        .ok_or_else(|| row.error(c.must("created_at"), "is empty but a value is required"))?;
    let optional_time = |name: &str| match c.get(name) {
        Some(i) => time(row, i, opts.zone),
        None => Ok(None),
    };
    Ok(Attempt {
        order_id: row.required(c.must("order_id"))?.to_string(),
        payment_id: row.required(c.must("payment_id"))?.to_string(),
        channel_order_id: row.required(c.must("channel_order_id"))?.to_string(),
        channel: row.required(c.must("channel"))?.to_ascii_lowercase(),
        amount_minor,
        currency,
        order_status,
        payment_status,
        created_at,
        created_day: timestamp::local_day(created_at, opts.zone),
        expires_at: optional_time("expires_at")?,
        closed_at: optional_time("closed_at")?,
        paid_at: optional_time("paid_at")?,
    })
}

/// An optional timestamp field: empty is `None`, anything else must parse.
fn time(row: &Row, index: usize, zone: Tz) -> Result<Option<i64>, InputError> {
    let text = row.text(index)?;
    if text.is_empty() {
        return Ok(None);
    }
    timestamp::parse(text, zone)
        .map(Some)
        .ok_or_else(|| row.bad_value(index, timestamp::EXPECTED))
}

/// `Option<(usize, Result<&str>)>` -> `Result<Option<(usize, &str)>>`.
trait TransposeText<'a> {
    fn transpose_text(self) -> Result<Option<(usize, &'a str)>, InputError>;
}

impl<'a> TransposeText<'a> for Option<(usize, Result<&'a str, InputError>)> {
    fn transpose_text(self) -> Result<Option<(usize, &'a str)>, InputError> {
        match self {
            None => Ok(None),
            Some((i, r)) => r.map(|t| Some((i, t))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(csv: &str) -> anyhow::Result<Vec<Attempt>> {
        let columns = BTreeMap::new();
        let opts = OrdersOptions {
            zone: chrono_tz::Asia::Shanghai,
            default_currency: "CNY",
            columns: &columns,
        };
        let mut out = Vec::new();
        read(Path::new("orders.csv"), csv.as_bytes(), &opts, |a, _| {
            out.push(a);
            Ok(())
        })?;
        Ok(out)
    }

    const HEADER: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";

    #[test]
    fn reads_a_row_with_bom_and_defaults() {
        let csv = format!(
            "\u{feff}{HEADER}O1,P1,C1,WeChat,128.50,,OPEN,success,2026-11-21 23:59:59,,,2026-11-21T16:00:00Z\n"
        );
        let rows = parse(&csv).unwrap();
        assert_eq!(rows.len(), 1);
        let a = &rows[0];
        assert_eq!(
            (a.amount_minor, a.currency.as_str(), a.channel.as_str()),
            (12850, "CNY", "wechat")
        );
        assert_eq!(a.payment_status, PaymentStatus::Success);
        assert_eq!(a.created_day, "2026-11-21");
        assert_eq!(a.paid_at, Some(a.created_at + 1_000_000));
    }

    #[test]
    fn errors_name_line_and_column() {
        let csv = format!(
            "{HEADER}O1,P1,C1,wechat,1.00,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\nO2,P2,C2,wechat,1.00,,OPEN,MAYBE,2026-11-21 10:00:00,,,\n"
        );
        let err = parse(&csv).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("payment_status") && err.contains("MAYBE"),
            "{err}"
        );
        let csv = format!("{HEADER}O1,P1,C1,wechat,1.005,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\n");
        let err = parse(&csv).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("'amount'") && err.contains("3 decimals"),
            "{err}"
        );
    }

    #[test]
    fn crlf_files_report_the_right_line() {
        let csv = format!("{HEADER}O1,P1,C1,wechat,1.00,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\nO2,P2,C2,wechat,x,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\n")
            .replace('\n', "\r\n");
        let err = parse(&csv).unwrap_err().to_string();
        assert!(err.contains("line 3, column 'amount'"), "{err}");
        let csv =
            format!("{HEADER}O1,P1,C1,wechat,1.00,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\nO2,P2\n")
                .replace('\n', "\r\n");
        let err = parse(&csv).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
    }

    /// Found by `cargo fuzz run orders`: in a file whose lines end in a lone
    /// CR every row said line 1.
    #[test]
    fn cr_only_files_report_the_right_line() {
        let csv = format!("{HEADER}O1,P1,C1,wechat,1.00,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\nO2,P2,C2,wechat,x,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\n")
            .replace('\n', "\r");
        let err = parse(&csv).unwrap_err().to_string();
        assert!(err.contains("line 3, column 'amount'"), "{err}");
        let csv =
            format!("{HEADER}O1,P1,C1,wechat,1.00,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\nO2,P2\n")
                .replace('\n', "\r");
        let err = parse(&csv).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        let columns = BTreeMap::new();
        let opts = OrdersOptions {
            zone: chrono_tz::Asia::Shanghai,
            default_currency: "CNY",
            columns: &columns,
        };
        let csv = format!("{HEADER}O1,P1,C1,wechat,1.00,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\nO2,P2,C2,wechat,1.00,,OPEN,SUCCESS,2026-11-21 10:00:00,,,\n")
            .replace('\n', "\r");
        let mut lines = Vec::new();
        read(Path::new("orders.csv"), csv.as_bytes(), &opts, |_, line| {
            lines.push(line);
            Ok(())
        })
        .unwrap();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn missing_columns_are_listed_together() {
        let err = parse("order_id,amount\n").unwrap_err().to_string();
        assert!(
            err.contains("payment_id") && err.contains("created_at"),
            "{err}"
        );
    }

    #[test]
    fn empty_file_is_valid() {
        assert!(parse(HEADER).unwrap().is_empty());
        assert!(parse("").unwrap().is_empty());
    }
}
