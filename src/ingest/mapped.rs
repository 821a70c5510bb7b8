//! Any other settlement CSV (a bank, a regional wallet), read through a
//! `[formats.NAME]` table in the config: which column holds each canonical
//! field, how a row's kind is told, and the file's layout.
//!
//! ```toml
//! [formats.hsbc]
//! channel = "hsbc"
//! currency = "HKD"               # when the file has no currency column
//! kind = { column = "Type", payment = ["SALE"], refund = ["REFUND"], skip = ["FEE"] }
//! layout = { delimiter = ";", encoding = "utf-8", skip_top = 2, skip_bottom = 1,
//!            time_format = "%d/%m/%Y %H:%M:%S", timezone = "Asia/Hong_Kong", decimal_comma = true }
//! [formats.hsbc.columns]
//! channel_txn_id = "Txn Ref"
//! channel_order_id = "Merchant Ref"
//! amount = "Amount"
//! transacted_at = "Value Time"
//! refund_id = "Refund Ref"           # optional
//! original_txn_id = "Original Ref"   # optional: what a refund row refunds
//! fee = "Fee"                        # optional
//! ```
//!
//! `kind` is a column value (as above), the amount's sign
//! (`kind = { sign = true }`: positive pays, negative refunds) or a constant
//! (`kind = { constant = "PAYMENT" }`). A file is recognised as this format
//! when its header has every mapped column.

use super::Row;
use super::layout::{Layout, LayoutConfig, Table};
use super::settlement::{Context, FileFacts, Sink};
use crate::error::InputError;
use crate::model::{Kind, SettlementRecord};
use crate::money;
use anyhow::{Result, bail};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;

/// The TOML form of one `[formats.NAME]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedConfig {
    pub channel: String,
    pub currency: Option<String>,
    pub kind: KindConfig,
    #[serde(default)]
    pub layout: LayoutConfig,
    pub columns: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindConfig {
    pub column: Option<String>,
    #[serde(default)]
    pub payment: Vec<String>,
    #[serde(default)]
    pub refund: Vec<String>,
    #[serde(default)]
    pub skip: Vec<String>,
    #[serde(default)]
    pub sign: bool,
    pub constant: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum KindRule {
    Column {
        column: String,
        payment: Vec<String>,
        refund: Vec<String>,
        skip: Vec<String>,
    },
    Sign,
    Constant(Kind),
}

const REQUIRED: [&str; 4] = [
    "channel_txn_id",
    "channel_order_id",
    "amount",
    "transacted_at",
];
const OPTIONAL: [&str; 4] = ["currency", "fee", "refund_id", "original_txn_id"];

/// A validated mapped format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedFormat {
    pub name: String,
    pub channel: String,
    currency: Option<String>,
    kind: KindRule,
    pub layout: Layout,
    /// Canonical field -> header in the file.
    columns: BTreeMap<String, String>,
}

impl MappedFormat {
    pub fn resolve(name: &str, config: &MappedConfig, default_zone: Tz) -> Result<MappedFormat> {
        for key in config.columns.keys() {
            if !REQUIRED.contains(&key.as_str()) && !OPTIONAL.contains(&key.as_str()) {
                bail!(
                    "[formats.{name}.columns] has '{key}', which is not a canonical field (expected {} or {})",
                    REQUIRED.join(", "),
                    OPTIONAL.join(", ")
                );
            }
        }
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|k| !config.columns.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            bail!("[formats.{name}.columns] must map {}", missing.join(", "));
        }
        let currency = config
            .currency
            .as_deref()
            .map(money::parse_currency)
            .transpose()?;
        if currency.is_none() && !config.columns.contains_key("currency") {
            bail!(
                "[formats.{name}] needs a currency column in columns, or a constant currency = \"CNY\""
            );
        }
        let k = &config.kind;
        let kind = match (&k.column, k.sign, &k.constant) {
            (Some(column), false, None) => {
                if k.payment.is_empty() && k.refund.is_empty() {
                    bail!(
                        "[formats.{name}] kind.column needs the values that mean payment and refund (kind.payment, kind.refund)"
                    );
                }
                KindRule::Column {
                    column: column.clone(),
                    payment: k.payment.clone(),
                    refund: k.refund.clone(),
                    skip: k.skip.clone(),
                }
            }
            (None, true, None) => KindRule::Sign,
            (None, false, Some(c)) => KindRule::Constant(c.parse().map_err(|_| {
                anyhow::anyhow!("[formats.{name}] kind.constant '{c}' is not PAYMENT or REFUND")
            })?),
            _ => bail!(
                "[formats.{name}] kind must be exactly one of column = \"…\" (with payment/refund values), sign = true, or constant = \"PAYMENT\""
            ),
        };
        let layout = Layout::resolve(&config.layout, default_zone)
            .map_err(|e| e.context(format!("in [formats.{name}.layout]")))?;
        Ok(MappedFormat {
            name: name.to_string(),
            channel: config.channel.trim().to_ascii_lowercase(),
            currency,
            kind,
            layout,
            columns: config.columns.clone(),
        })
    }

    /// Every header name this format needs.
    fn signature(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.columns.values().map(String::as_str).collect();
        if let KindRule::Column { column, .. } = &self.kind {
            names.push(column);
        }
        names
    }

    /// Does this head of a file have every column the mapping names, on the
    /// header line (after `skip_top` lines)?
    pub fn sniff(&self, head: &[u8]) -> bool {
        let text = super::gbk::text(head);
        let Some(header) = text.lines().nth(self.layout.skip_top) else {
            return false;
        };
        let delimiters = match self.layout.delimiter {
            Some(d) => vec![d],
            None => super::layout::DELIMITERS.to_vec(),
        };
        delimiters.iter().any(|&d| {
            let names: Vec<&str> = header
                .split(char::from(d))
                .map(|n| n.trim().trim_matches('"').trim())
                .collect();
            self.signature().iter().all(|n| names.contains(n))
        })
    }

    pub fn parse(&self, input: &mut dyn Read, cx: &Context, sink: &mut Sink) -> Result<FileFacts> {
        let mut facts = FileFacts {
            channel: Some(self.channel.clone()),
            ..FileFacts::default()
        };
        let Some(mut table) = Table::open(cx.path, input, &self.layout)? else {
            return Ok(facts);
        };
        facts.notes = std::mem::take(&mut table.notes);
        let column = |name: &str| {
            self.columns
                .get(name)
                .and_then(|h| table.header.position(h))
        };
        let wanted: Vec<&str> = self.signature();
        table
            .header
            .require(cx.path, &wanted)
            .map_err(|mut error| {
                // The config line that would fix each missing mapped column.
                let fixes: Vec<String> = self
                    .columns
                    .iter()
                    .filter(|(_, name)| table.header.position(name).is_none())
                    .filter_map(|(key, name)| {
                        table
                            .header
                            .closest(name)
                            .or_else(|| table.header.closest(key))
                            .map(|close| format!("{key} = \"{}\"", super::escape(close)))
                    })
                    .collect();
                if !fixes.is_empty() && table.header.delimiter_hint().is_empty() {
                    error.problem += &format!(
                        ". If the file names them otherwise: [formats.{}.columns] {}",
                        self.name,
                        fixes.join(", ")
                    );
                }
                error
            })?;
        let cols = Columns {
            txn: column("channel_txn_id").unwrap_or_default(),
            order: column("channel_order_id").unwrap_or_default(),
            amount: column("amount").unwrap_or_default(),
            at: column("transacted_at").unwrap_or_default(),
            currency: column("currency"),
            fee: column("fee"),
            refund_id: column("refund_id"),
            original: column("original_txn_id"),
            kind: match &self.kind {
                KindRule::Column { column, .. } => table.header.position(column),
                _ => None,
            },
        };
        while let Some((record, line)) = table.next_row()? {
            let row = Row::new(cx.path, &table.header, &record, line).decoded_from_gbk(table.gbk);
            match self.record(&row, &cols)? {
                Parsed::Record(r) => sink(r)?,
                Parsed::Skipped(value) => *facts.skipped.entry(value).or_default() += 1,
            }
            table.give_back(record);
        }
        Ok(facts)
    }

    fn record(&self, row: &Row, c: &Columns) -> Result<Parsed, InputError> {
        let currency = match (c.currency, &self.currency) {
            (Some(i), fallback) => match row.text(i)? {
                "" => fallback
                    .clone()
                    .ok_or_else(|| row.error(i, "is empty but a value is required"))?,
                code => money::parse_currency(code).map_err(|e| row.error(i, e))?,
            },
            (None, Some(constant)) => constant.clone(),
            (None, None) => unreachable!("resolve requires a currency"),
        };
        let signed = self
            .layout
            .amount(row.required(c.amount)?, &currency)
            .map_err(|e| row.error(c.amount, e))?;
        let kind = match &self.kind {
            KindRule::Constant(kind) => *kind,
            KindRule::Sign if signed < 0 => Kind::Refund,
            KindRule::Sign => Kind::Payment,
            KindRule::Column {
                payment,
                refund,
                skip,
                ..
            } => {
                let i = c.kind.unwrap_or_default();
                let value = row.text(i)?;
                if payment.iter().any(|v| v == value) {
                    Kind::Payment
                } else if refund.iter().any(|v| v == value) {
                    Kind::Refund
                } else if skip.iter().any(|v| v == value) {
                    return Ok(Parsed::Skipped(value.to_string()));
                } else {
                    let known: Vec<&str> = payment
                        .iter()
                        .chain(refund)
                        .chain(skip)
                        .map(String::as_str)
                        .collect();
                    return Err(row.bad_value(
                        i,
                        &format!(
                            "one of {} (kind in [formats.{}])",
                            known.join(", "),
                            self.name
                        ),
                    ));
                }
            }
        };
        let amount_minor = signed.abs();
        if amount_minor == 0 {
            return Err(row.bad_value(c.amount, "a non-zero amount"));
        }
        let txn = row.required(c.txn)?.to_string();
        let (channel_txn_id, refund_id) = match (kind, c.original) {
            (Kind::Refund, Some(original)) => {
                let own = c
                    .refund_id
                    .map(|i| row.text(i).and_then(|t| row.printable(i, t)))
                    .transpose()?
                    .filter(|t| !t.is_empty());
                (
                    row.required(original)?.to_string(),
                    own.unwrap_or(&txn).to_string(),
                )
            }
            _ => (
                txn,
                c.refund_id
                    .map(|i| row.text(i).and_then(|t| row.printable(i, t)))
                    .transpose()?
                    .unwrap_or_default()
                    .to_string(),
            ),
        };
        let fee = match c.fee.map(|i| (i, row.text(i))) {
            None => None,
            Some((_, Ok(""))) => None,
            Some((i, text)) => Some(self.layout.fee(text?).map_err(|e| row.error(i, e))?),
        };
        let at_text = row.required(c.at)?;
        let transacted_at = self
            .layout
            .time(at_text)
            .ok_or_else(|| row.bad_value(c.at, &self.layout.time_expected()))?;
        Ok(Parsed::Record(SettlementRecord {
            channel: self.channel.clone(),
            channel_txn_id,
            channel_order_id: row.required(c.order)?.to_string(),
            kind,
            amount_minor,
            fee,
            currency,
            transacted_at,
            refund_id,
        }))
    }
}

struct Columns {
    txn: usize,
    order: usize,
    amount: usize,
    at: usize,
    currency: Option<usize>,
    fee: Option<usize>,
    refund_id: Option<usize>,
    original: Option<usize>,
    kind: Option<usize>,
}

enum Parsed {
    Record(SettlementRecord),
    Skipped(String),
}
