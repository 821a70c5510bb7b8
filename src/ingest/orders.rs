//! The internal order export: one CSV row per channel attempt -> [`Attempt`].
//!
//! No two companies export alike, so `[orders]` in the config can rename
//! columns (`[orders.columns]`), map status values (`[orders.order_status]`,
//! `[orders.payment_status]`: `"已支付" = "PAID"`) and describe the layout
//! (`[orders.layout]`: delimiter, encoding, lines to skip, time format and
//! zone, decimal comma). Timestamps without an offset are read in the
//! layout's zone (the run's by default); an attempt's day is the local date
//! of its created_at in the run's zone; an empty currency is the default.

use super::Row;
use super::layout::{Layout, LayoutConfig, Table};
use crate::error::InputError;
use crate::model::{Attempt, OrderStatus, PaymentStatus};
use crate::{money, timestamp};
use anyhow::{Result, bail};
use chrono_tz::Tz;
use serde::Deserialize;
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

/// How much of the file is kept to tell what it is.
const HEAD_LEN: usize = 64 * 1024;

/// Columns whose absence from the header is tolerated (their values may be
/// empty anyway).
const OPTIONAL: &[&str] = &["currency", "expires_at", "closed_at", "paid_at"];

/// `[orders]` as written in the config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    /// Contract column -> the header the export uses.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// The export's order status value -> OPEN, PAID, CLOSED or CANCELLED.
    #[serde(default)]
    pub order_status: BTreeMap<String, String>,
    /// The export's payment status value -> PROCESSING, SUCCESS, FAILED,
    /// CLOSED or UNKNOWN.
    #[serde(default)]
    pub payment_status: BTreeMap<String, String>,
    /// The export's channel name -> the name settlement files use
    /// (`"wxpay" = "wechat"`); unmapped names are used as they are.
    #[serde(default)]
    pub channel: BTreeMap<String, String>,
    #[serde(default)]
    pub layout: LayoutConfig,
}

/// How to read the export, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersMapping {
    pub columns: BTreeMap<String, String>,
    pub order_status: BTreeMap<String, OrderStatus>,
    pub payment_status: BTreeMap<String, PaymentStatus>,
    pub channel: BTreeMap<String, String>,
    pub layout: Layout,
}

impl OrdersMapping {
    pub fn plain(zone: Tz) -> OrdersMapping {
        OrdersMapping {
            columns: BTreeMap::new(),
            order_status: BTreeMap::new(),
            payment_status: BTreeMap::new(),
            channel: BTreeMap::new(),
            layout: Layout::plain(zone),
        }
    }

    pub fn resolve(config: &OrdersConfig, zone: Tz) -> Result<OrdersMapping> {
        for key in config.columns.keys() {
            if !COLUMNS.contains(&key.as_str()) {
                bail!(
                    "[orders.columns] has '{key}', which is not an export column (expected one of {})",
                    COLUMNS.join(", ")
                );
            }
        }
        Ok(OrdersMapping {
            columns: config.columns.clone(),
            order_status: value_map(&config.order_status, "order_status")?,
            payment_status: value_map(&config.payment_status, "payment_status")?,
            channel: config
                .channel
                .iter()
                .map(|(from, to)| (from.to_ascii_lowercase(), to.trim().to_ascii_lowercase()))
                .collect(),
            layout: Layout::resolve(&config.layout, zone)
                .map_err(|e| e.context("in [orders.layout]"))?,
        })
    }
}

fn value_map<T: std::str::FromStr>(
    map: &BTreeMap<String, String>,
    table: &str,
) -> Result<BTreeMap<String, T>> {
    map.iter()
        .map(|(from, to)| match to.parse::<T>() {
            Ok(value) => Ok((from.clone(), value)),
            Err(_) => bail!(
                "[orders.{table}] maps '{from}' to '{to}', which is not a {table} payrecon knows"
            ),
        })
        .collect()
}

/// How to read the export, for one run.
pub struct OrdersOptions<'a> {
    /// The run's zone: an attempt's day is its local date there.
    pub day_zone: Tz,
    pub default_currency: &'a str,
    pub mapping: &'a OrdersMapping,
}

/// Column positions, resolved once from the header.
struct Columns {
    order_id: usize,
    payment_id: usize,
    channel_order_id: usize,
    channel: usize,
    amount: usize,
    currency: Option<usize>,
    order_status: usize,
    payment_status: usize,
    created_at: usize,
    expires_at: Option<usize>,
    closed_at: Option<usize>,
    paid_at: Option<usize>,
}

impl Columns {
    fn resolve(
        path: &Path,
        header: &super::Header,
        opts: &OrdersOptions,
    ) -> Result<Columns, InputError> {
        let file_name = |c: &str| {
            opts.mapping
                .columns
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
        let missing: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|c| !OPTIONAL.contains(c) && header.position(&file_name(c)).is_none())
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|c| file_name(c)).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut error = header.missing(path, &names);
            if !header.delimiter_hint().is_empty() {
                return Err(error);
            }
            let lines: Vec<String> = missing
                .iter()
                .map(|c| match header.closest(c) {
                    Some(close) => format!("{c} = \"{}\"", super::escape(close)),
                    None => format!("{c} = \"<its name in the export>\""),
                })
                .collect();
            error.problem += &format!(
                ". If the export names them otherwise, map them in the config: [orders.columns] {}",
                lines.join(", ")
            );
            return Err(error);
        }
        let required: Vec<&str> = required.iter().map(String::as_str).collect();
        header.require(path, &required)?;
        let optional = |c: &str| header.position(&file_name(c));
        let must = |c: &str| optional(c).expect("required columns are checked above");
        Ok(Columns {
            order_id: must("order_id"),
            payment_id: must("payment_id"),
            channel_order_id: must("channel_order_id"),
            channel: must("channel"),
            amount: must("amount"),
            currency: optional("currency"),
            order_status: must("order_status"),
            payment_status: must("payment_status"),
            created_at: must("created_at"),
            expires_at: optional("expires_at"),
            closed_at: optional("closed_at"),
            paid_at: optional("paid_at"),
        })
    }
}

/// Streams the export at `path` into `sink`, one attempt at a time with its
/// line number. Returns the number of rows read.
pub fn read(
    path: &Path,
    input: impl Read,
    opts: &OrdersOptions,
    sink: impl FnMut(Attempt, u64) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    read_noted(path, input, opts, &mut Vec::new(), sink)
}

/// [`read`], adding to `notes` what was told rather than configured (the
/// encoding, the delimiter, a workbook's sheet), for the run to say.
pub fn read_noted(
    path: &Path,
    input: impl Read,
    opts: &OrdersOptions,
    notes: &mut Vec<String>,
    mut sink: impl FnMut(Attempt, u64) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    // The head, to tell a settlement file handed over as the export.
    let mut input = input;
    let mut head = Vec::with_capacity(HEAD_LEN);
    input
        .by_ref()
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| anyhow::Error::new(e).context(format!("failed to read {}", path.display())))?;
    let input = std::io::Cursor::new(&head).chain(input);
    let Some(mut table) = Table::open(path, input, &opts.mapping.layout)
        .map_err(|e| super::settlement::limit_error(path, e))?
    else {
        return Ok(0);
    };
    notes.append(&mut table.notes);
    let columns = Columns::resolve(path, &table.header, opts).map_err(|err| {
        match super::settlement::settlement_kind(&head) {
            Some(kind) => InputError {
                line: 0,
                column: None,
                problem: format!(
                    "this is {kind}, a settlement file, not the order export: pass it with --settlement"
                ),
                ..err
            },
            None => err,
        }
    })?;
    let mut rows = 0;
    while let Some((record, line)) = table.next_row()? {
        let row = Row::new(path, &table.header, &record, line).decoded_from_gbk(table.gbk);
        sink(parse_row(&row, &columns, opts)?, line)?;
        table.give_back(record);
        rows += 1;
    }
    Ok(rows)
}

fn parse_row(row: &Row, c: &Columns, opts: &OrdersOptions) -> Result<Attempt, InputError> {
    let layout = &opts.mapping.layout;
    let currency = match c.currency.map(|i| (i, row.text(i))).transpose_text()? {
        Some((_, "")) | None => opts.default_currency.to_string(),
        Some((i, code)) => money::parse_currency(code).map_err(|e| row.error(i, e))?,
    };
    let amount_minor = layout
        .amount(row.required(c.amount)?, &currency)
        .map_err(|e| row.error(c.amount, e))?;
    if amount_minor < 0 {
        return Err(row.bad_value(c.amount, "an amount of zero or more"));
    }
    let order_status = status(
        row,
        c.order_status,
        &opts.mapping.order_status,
        OrderStatus::EXPECTED,
    )?;
    let payment_status = status(
        row,
        c.payment_status,
        &opts.mapping.payment_status,
        PaymentStatus::EXPECTED,
    )?;
    let created_at = time(row, c.created_at, layout)?
        .ok_or_else(|| row.error(c.created_at, "is empty but a value is required"))?;
    let optional_time = |column: Option<usize>| match column {
        Some(i) => time(row, i, layout),
        None => Ok(None),
    };
    Ok(Attempt {
        order_id: row.required(c.order_id)?.to_string(),
        payment_id: row.required(c.payment_id)?.to_string(),
        channel_order_id: row.required(c.channel_order_id)?.to_string(),
        channel: {
            let name = row.required(c.channel)?.to_ascii_lowercase();
            opts.mapping.channel.get(&name).cloned().unwrap_or(name)
        },
        amount_minor,
        currency,
        order_status,
        payment_status,
        created_at,
        created_day: timestamp::local_day(created_at, opts.day_zone),
        expires_at: optional_time(c.expires_at)?,
        closed_at: optional_time(c.closed_at)?,
        paid_at: optional_time(c.paid_at)?,
    })
}

/// A status through the configured value map, else the contract's names.
fn status<T: std::str::FromStr + Copy>(
    row: &Row,
    index: usize,
    map: &BTreeMap<String, T>,
    expected: &str,
) -> Result<T, InputError> {
    let text = row.required(index)?;
    match map.get(text) {
        Some(value) => Ok(*value),
        None => text.parse::<T>().map_err(|_| {
            let mapped: Vec<&str> = map.keys().map(String::as_str).collect();
            let hint = if mapped.is_empty() {
                String::new()
            } else {
                format!(" or a mapped value ({})", mapped.join(", "))
            };
            let column = row.header.name(index);
            let table = COLUMNS
                .iter()
                .find(|c| **c == column)
                .copied()
                .unwrap_or(if expected.contains("PAID") {
                    "order_status"
                } else {
                    "payment_status"
                });
            let to = guess_status(text, expected).unwrap_or_else(|| {
                format!(
                    "<one of {}>",
                    expected.trim_start_matches("one of ").replace(", ", "|")
                )
            });
            row.bad_value(
                index,
                &format!(
                    "{expected}{hint}. If it means one of them, map it in the config: [orders.{table}] \"{}\" = \"{to}\"",
                    super::escape(text)
                ),
            )
        }),
    }
}

/// What a status value the export writes most likely means, when it is one
/// of the common spellings (Chinese or English), for the mapping an error
/// suggests. Only a suggestion: the person adds the line.
fn guess_status(text: &str, expected: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let guess = if expected.contains("PAID") {
        if has(&["取消", "cancel"]) {
            "CANCELLED"
        } else if has(&["关闭", "close"]) {
            "CLOSED"
        } else if has(&[
            "未支付",
            "待支付",
            "未付",
            "待付",
            "unpaid",
            "open",
            "pending",
            "new",
        ]) {
            "OPEN"
        } else if has(&["已支付", "已付", "支付成功", "付款成功", "paid", "完成"]) {
            "PAID"
        } else {
            return None;
        }
    } else if has(&["失败", "fail", "declin", "reject"]) {
        "FAILED"
    } else if has(&["关闭", "close", "取消", "cancel"]) {
        "CLOSED"
    } else if has(&["处理中", "支付中", "processing", "pending"]) {
        "PROCESSING"
    } else if has(&["成功", "已支付", "success", "succeed", "paid", "ok"]) {
        "SUCCESS"
    } else if has(&["未知", "unknown"]) {
        "UNKNOWN"
    } else {
        return None;
    };
    Some(guess.to_string())
}

/// An optional timestamp field: empty is `None`, anything else must parse.
fn time(row: &Row, index: usize, layout: &Layout) -> Result<Option<i64>, InputError> {
    let text = row.text(index)?;
    if text.is_empty() {
        return Ok(None);
    }
    layout
        .time(text)
        .map(Some)
        .ok_or_else(|| row.bad_value(index, &layout.time_expected()))
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
        parse_with(csv, &OrdersMapping::plain(chrono_tz::Asia::Shanghai))
    }

    fn parse_with(csv: &str, mapping: &OrdersMapping) -> anyhow::Result<Vec<Attempt>> {
        let opts = OrdersOptions {
            day_zone: chrono_tz::Asia::Shanghai,
            default_currency: "CNY",
            mapping,
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
        let mapping = OrdersMapping::plain(chrono_tz::Asia::Shanghai);
        let opts = OrdersOptions {
            day_zone: chrono_tz::Asia::Shanghai,
            default_currency: "CNY",
            mapping: &mapping,
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
    fn mapped_export_with_its_own_names_layout_and_values() {
        let config: OrdersConfig = toml::from_str(
            r#"
            [columns]
            order_id = "订单号"
            payment_id = "支付单号"
            channel_order_id = "商户订单号"
            channel = "渠道"
            amount = "金额"
            order_status = "订单状态"
            payment_status = "支付状态"
            created_at = "创建时间"
            [order_status]
            "已支付" = "PAID"
            [payment_status]
            "成功" = "SUCCESS"
            [channel]
            "WXPAY" = "wechat"
            [layout]
            delimiter = ";"
            encoding = "gbk"
            skip_top = 1
            skip_bottom = 1
            time_format = "%d/%m/%Y %H:%M"
            decimal_comma = true
            "#,
        )
        .unwrap();
        let mapping = OrdersMapping::resolve(&config, chrono_tz::Asia::Shanghai).unwrap();
        let text = "导出: 2026-11-21\n订单号;支付单号;商户订单号;渠道;金额;订单状态;支付状态;创建时间\nO1;P1;C1;wxpay;12,50;已支付;成功;21/11/2026 23:30\n合计 1\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let opts = OrdersOptions {
            day_zone: chrono_tz::Asia::Shanghai,
            default_currency: "CNY",
            mapping: &mapping,
        };
        let mut rows = Vec::new();
        read(Path::new("orders.csv"), &gbk[..], &opts, |a, line| {
            rows.push((a, line));
            Ok(())
        })
        .unwrap();
        assert_eq!(rows.len(), 1);
        let (a, line) = &rows[0];
        assert_eq!(*line, 3);
        assert_eq!(
            (a.amount_minor, a.order_status, a.payment_status),
            (1250, OrderStatus::Paid, PaymentStatus::Success)
        );
        assert_eq!(a.created_day, "2026-11-21");
        assert_eq!(a.channel, "wechat");
        let bad = OrdersConfig {
            order_status: [("x".to_string(), "DONE".to_string())].into(),
            ..Default::default()
        };
        assert!(OrdersMapping::resolve(&bad, chrono_tz::UTC).is_err());
    }

    #[test]
    fn empty_file_is_valid() {
        assert!(parse(HEADER).unwrap().is_empty());
        assert!(parse("").unwrap().is_empty());
    }
}
