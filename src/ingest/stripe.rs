//! Stripe itemised balance reports ("Balance change from activity, itemised"
//! and "Payout reconciliation, itemised", which share their columns) turned
//! into canonical settlement records for channel `stripe`.
//!
//! Stripe lets whoever runs the report choose and order the columns, so
//! columns are found by name. A report needs `reporting_category`,
//! `currency`, `gross`, a time (`created_utc`; else `created`, read in the
//! configured zone, since the file does not say which zone the report was
//! run in), an id (`charge_id` or `source_id`) and an order key (the
//! configured `stripe_order_column`, default `payment_metadata[order_id]`,
//! or `description`); every one that is missing is named at once.
//!
//! What each `reporting_category` becomes:
//! - `charge`: a PAYMENT. `channel_txn_id` is `charge_id`, else `source_id`
//!   (`ch_…`, `py_…`); the amount is `gross` (positive, major units, decimals
//!   by the currency's ISO exponent, so `1500` JPY is 1500 yen); the fee is
//!   `fee` as written (positive is a cost).
//! - `refund`: a REFUND of `charge_id`, which is required (without it the
//!   refund cannot be tied to its payment); the amount is `gross` without its
//!   minus sign; `refund_id` is the merchant's refund number from the
//!   configured `stripe_refund_id_column` (default
//!   `refund_metadata[refund_request_id]`: a refund job that stores
//!   payrecon's `refund_request_id` there lets payrecon recognise its own
//!   refunds), else `source_id` (`re_…`). A partial refund is one row per
//!   refund.
//! - Everything else is not order money and is skipped, counted by category
//!   in [`FileFacts::skipped`]. `payout`, `fee`, `transfer`, `tax`, `topup`,
//!   `other_adjustment`… move the balance, not an order. `refund_failure` (a
//!   refund that bounced: the money is back with the merchant) and
//!   `dispute`/`dispute_reversal` (chargebacks) do concern an order, but they
//!   are neither a payment nor a refund the order export knows; they are
//!   counted so a person follows them up in Stripe, and payrecon does not
//!   undo the earlier REFUND row. `partial_capture_reversal` releases the
//!   uncaptured part of an authorisation; the charge row shows the authorised
//!   amount, so such a payment can surface as an amount mismatch, which is the
//!   prompt to look. Categories Stripe adds later are skipped the same way.
//!
//! The order key (`channel_order_id`) is the order column's value. Where that
//! is empty or the column is absent, it is the row's `description`, whole
//! and trimmed; on a refund Stripe's `REFUND FOR CHARGE (…)` wrapper is
//! removed first, so a refund carries the same key as its charge. A row with
//! neither is refused.
//!
//! The report does not say its day: it comes from the file name or
//! `--settlement-day`. Decimal commas are handled per file (see
//! [`decimal`]).

mod decimal;

use super::settlement::{Context, FileFacts, Format, Sink};
use super::{Header, Row};
use crate::error::InputError;
use crate::model::{Kind, SettlementRecord};
use crate::{money, timestamp};
use decimal::Separator;
use std::io::Read;

pub const FORMAT: Format = Format {
    name: "stripe",
    hints: &[
        "balance_transaction_id",
        "reporting_category",
        "gross",
        "charge_id",
        "created_utc",
        "source_id",
    ],
    description: "Stripe itemised balance-change or payout-reconciliation report (snake_case header with reporting_category, gross, …)",
    sniff,
    parse,
};

const CHANNEL: &str = "stripe";

fn sniff(head: &[u8]) -> bool {
    super::first_line_has(head, &["reporting_category", "gross"])
}

fn parse(input: &mut dyn Read, cx: &Context, sink: &mut Sink) -> anyhow::Result<FileFacts> {
    let mut facts = FileFacts {
        channel: Some(CHANNEL.to_string()),
        ..FileFacts::default()
    };
    let Some(mut table) = super::CsvTable::open(cx.path, input)? else {
        return Ok(facts);
    };
    let cols = Columns::find(&table.header, cx)?;
    let mut separator = Separator::default();
    let skipped = &mut facts.skipped;
    table.for_each_row(cx.path, |row| {
        let kind = match row.required(cols.category)? {
            "charge" => Kind::Payment,
            "refund" => Kind::Refund,
            other => {
                *skipped.entry(other.to_string()).or_default() += 1;
                return Ok(());
            }
        };
        sink(cols.record(row, kind, &mut separator, cx)?)
    })?;
    Ok(facts)
}

/// Where the time is, and how to read it.
enum When {
    Utc(usize),
    /// `created`: in the zone the report was run in, which is taken to be
    /// the configured one.
    Local(usize),
}

/// Positions of the columns a record is made from.
struct Columns {
    category: usize,
    currency: usize,
    gross: usize,
    fee: Option<usize>,
    when: When,
    charge: Option<usize>,
    source: Option<usize>,
    /// The merchant refund number on refund rows, if the report has it.
    refund_number: Option<usize>,
    order: Option<usize>,
    description: Option<usize>,
}

impl Columns {
    fn find(header: &Header, cx: &Context) -> Result<Columns, InputError> {
        let order_column = cx.settings.stripe_order_column.as_str();
        let mut missing: Vec<String> = Vec::new();
        let mut need = |name: &str| {
            header.position(name).unwrap_or_else(|| {
                missing.push(name.to_string());
                0
            })
        };
        let category = need("reporting_category");
        let currency = need("currency");
        let gross = need("gross");
        let when = match (header.position("created_utc"), header.position("created")) {
            (Some(i), _) => When::Utc(i),
            (None, Some(i)) => When::Local(i),
            (None, None) => {
                missing.push("created_utc or created".into());
                When::Utc(0)
            }
        };
        let charge = header.position("charge_id");
        let source = header.position("source_id");
        if charge.is_none() && source.is_none() {
            missing.push("charge_id or source_id".into());
        }
        let order = header.position(order_column);
        let description = header.position("description");
        if order.is_none() && description.is_none() {
            missing.push(format!("{order_column} or description"));
        }
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(String::as_str).collect();
            return Err(header.missing(cx.path, &names));
        }
        Ok(Columns {
            category,
            currency,
            gross,
            fee: header.position("fee"),
            when,
            charge,
            source,
            refund_number: header.position(&cx.settings.stripe_refund_id_column),
            order,
            description,
        })
    }

    fn record(
        &self,
        row: &Row,
        kind: Kind,
        separator: &mut Separator,
        cx: &Context,
    ) -> Result<SettlementRecord, InputError> {
        let currency = money::parse_currency(row.required(self.currency)?)
            .map_err(|e| row.error(self.currency, e))?;
        let gross = amount(row, self.gross, &currency, separator)?;
        let amount_minor = match kind {
            Kind::Payment if gross > 0 => gross,
            Kind::Refund if gross < 0 => -gross,
            Kind::Payment => return Err(row.bad_value(self.gross, "a positive gross on a charge")),
            Kind::Refund => return Err(row.bad_value(self.gross, "a negative gross on a refund")),
        };
        let fee = match self.fee.map(|i| (i, row.text(i))) {
            None | Some((_, Ok(""))) => None,
            Some((i, text)) => {
                let plain = separator
                    .plain(text?, row.line)
                    .map_err(|e| row.error(i, e))?;
                Some(money::canonical_decimal(plain).map_err(|e| row.error(i, e))?)
            }
        };
        let (at, zone) = match self.when {
            When::Utc(i) => (i, chrono_tz::UTC),
            When::Local(i) => (i, cx.zone),
        };
        let transacted_at = timestamp::parse(row.required(at)?, zone)
            .ok_or_else(|| row.bad_value(at, timestamp::EXPECTED))?;
        let charge = optional(row, self.charge)?;
        let source = optional(row, self.source)?;
        let (channel_txn_id, refund_id) = match kind {
            Kind::Payment if !charge.is_empty() => (charge, ""),
            Kind::Payment if !source.is_empty() => (source, ""),
            Kind::Payment => return Err(self.id_missing(row, "a charge needs its ch_/py_ id")),
            Kind::Refund if !charge.is_empty() => {
                let number = optional(row, self.refund_number)?;
                (charge, if number.is_empty() { source } else { number })
            }
            Kind::Refund => {
                return Err(
                    self.id_missing(row, "a refund needs the charge_id of the charge it refunds")
                );
            }
        };
        Ok(SettlementRecord {
            channel: CHANNEL.to_string(),
            channel_txn_id: channel_txn_id.to_string(),
            channel_order_id: self.order_key(row, kind, cx)?.to_string(),
            kind,
            amount_minor,
            fee,
            currency,
            transacted_at,
            refund_id: refund_id.to_string(),
        })
    }

    /// The order column's value, else the description (see the module doc).
    fn order_key<'r>(&self, row: &'r Row, kind: Kind, cx: &Context) -> Result<&'r str, InputError> {
        let value = optional(row, self.order)?;
        if !value.is_empty() {
            return Ok(value);
        }
        let mut description = optional(row, self.description)?;
        if kind == Kind::Refund {
            description = description
                .strip_prefix("REFUND FOR CHARGE (")
                .and_then(|d| d.strip_suffix(')'))
                .map_or(description, str::trim);
        }
        if !description.is_empty() {
            return Ok(description);
        }
        let problem = "is empty and so is the description: the row has no order key";
        Err(match (self.order, self.description) {
            (Some(i), _) => row.error(i, problem),
            (None, Some(i)) => row.error(
                i,
                format!(
                    "is empty and the report has no '{}' column: the row has no order key",
                    cx.settings.stripe_order_column
                ),
            ),
            (None, None) => unreachable!("Columns::find requires one of them"),
        })
    }

    /// The id column to blame: `charge_id` when the report has it.
    fn id_missing(&self, row: &Row, why: &str) -> InputError {
        match self.charge {
            Some(i) => row.error(i, format!("is empty: {why}")),
            None => InputError {
                path: row.path.to_path_buf(),
                line: row.line,
                column: Some("charge_id".into()),
                problem: format!("is not in the report: {why}"),
            },
        }
    }
}

/// A signed amount in minor units, after the file's decimal separator.
fn amount(
    row: &Row,
    index: usize,
    currency: &str,
    separator: &mut Separator,
) -> Result<i64, InputError> {
    let text = row.required(index)?;
    let plain = separator
        .plain(text, row.line)
        .map_err(|e| row.error(index, e))?;
    let value = money::parse_decimal(plain).map_err(|e| match e {
        money::AmountError::NotDecimal(_) => row.bad_value(index, "a decimal amount like 12.50"),
        other => row.error(index, other),
    })?;
    money::to_minor(value, text, currency).map_err(|e| row.error(index, e))
}

/// A column the report may leave out: empty when it does.
fn optional<'r>(row: &'r Row, index: Option<usize>) -> Result<&'r str, InputError> {
    index.map_or(Ok(""), |i| row.text(i))
}

#[cfg(test)]
mod tests;
