//! Adyen's Settlement details report (one CSV per payout batch, e.g.
//! `settlement_detail_report_batch_4.csv`) turned into canonical settlement
//! records for channel `adyen`.
//!
//! Merchants can add and reorder columns, so they are found by name. Needed:
//! `Psp Reference`, `Merchant Reference`, `Creation Date`, `TimeZone`,
//! `Type`, `Gross Currency`, `Gross Debit (GC)`, `Gross Credit (GC)`.
//!
//! What each `Type` (Adyen's journal type) becomes:
//! - `Settled`: a PAYMENT. `channel_txn_id` is `Psp Reference`,
//!   `channel_order_id` is `Merchant Reference` (the merchant's order key);
//!   the amount is `Gross Credit (GC)` in `Gross Currency`.
//! - `Refunded`: a REFUND of the payment `Psp Reference` (Adyen repeats the
//!   original payment's reference there) for order `Merchant Reference`; the
//!   amount is `Gross Debit (GC)`. `refund_id` is `Modification Merchant
//!   Reference` (the merchant's own refund reference, which is what payrecon's
//!   refund instructions are matched by) when set, else `Modification
//!   Reference` (Adyen's reference for the refund); a refund with neither is
//!   refused.
//! - The types in [`SKIPPED`] are not order money (fees, payouts, deposit
//!   corrections), or concern an order without being a payment or refund the
//!   order export knows (chargebacks and their reversals, a refund the
//!   scheme returned): they are skipped, counted by type in
//!   [`FileFacts::skipped`], for a person to follow up in Adyen.
//! - Any other type is refused: Adyen's list is long, and a type that moves
//!   order money must not vanish silently.
//!
//! The fee is the sum of `Commission (NC)`, `Markup (NC)`, `Scheme Fees (NC)`
//! and `Interchange (NC)` (whichever the report has; blended pricing fills
//! the first, Interchange++ the others). They are in the net currency, so
//! when `Net Currency` differs from `Gross Currency` no fee is given.
//! `Creation Date` is read in the zone its row's `TimeZone` names (see
//! [`zone`]). The report does not say its day: it comes from the file name
//! or `--settlement-day`.

mod zone;

use super::settlement::{Context, FileFacts, Format, Sink};
use super::{Header, Row, plain};
use crate::error::InputError;
use crate::model::{Kind, SettlementRecord};
use crate::money;
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use std::io::Read;

pub const FORMAT: Format = Format {
    name: "adyen",
    hints: &[
        "Psp Reference",
        "Merchant Reference",
        "Type",
        "Gross Credit (GC)",
        "Gross Debit (GC)",
        "Creation Date",
        "TimeZone",
    ],
    description: "Adyen Settlement details report (Company Account,…,Psp Reference,Merchant Reference,…,Type,…)",
    sniff,
    parse,
};

const CHANNEL: &str = "adyen";

const REQUIRED: &[&str] = &[
    "Psp Reference",
    "Merchant Reference",
    "Creation Date",
    "TimeZone",
    "Type",
    "Gross Currency",
    "Gross Debit (GC)",
    "Gross Credit (GC)",
];

const FEES: &[&str] = &[
    "Commission (NC)",
    "Markup (NC)",
    "Scheme Fees (NC)",
    "Interchange (NC)",
];

/// Journal types that are read and counted but give no record.
pub const SKIPPED: &[&str] = &[
    "Fee",
    "MiscCosts",
    "MerchantPayout",
    "Chargeback",
    "SecondChargeback",
    "ChargebackReversed",
    "RefundedReversed",
    "DepositCorrection",
    "InvoiceDeduction",
    "MatchedStatement",
    "ManualCorrected",
    "AuthorisationSchemeFee",
    "BankInstructionReturned",
    "InternalCompanyPayout",
    "PaymentCost",
    "PaidOut",
    "PaidOutReversed",
    "Balancetransfer",
];

fn sniff(head: &[u8]) -> bool {
    super::first_line_has(head, &["Psp Reference", "Merchant Reference", "Type"])
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
    let skipped = &mut facts.skipped;
    table.for_each_row(cx.path, |row| {
        let kind = match row.required(cols.kind)? {
            "Settled" => Kind::Payment,
            "Refunded" => Kind::Refund,
            other if SKIPPED.contains(&other) => {
                *skipped.entry(other.to_string()).or_default() += 1;
                return Ok(());
            }
            _ => return Err(row.bad_value(cols.kind, &unknown_type()).into()),
        };
        sink(cols.record(row, kind, cx)?)
    })?;
    Ok(facts)
}

fn unknown_type() -> String {
    format!(
        "a Type payrecon knows: Settled (payment), Refunded (refund), or one it skips ({}). A new type that moves order money needs support in payrecon",
        SKIPPED.join(", ")
    )
}

/// Positions of the columns a record is made from.
struct Columns {
    psp: usize,
    order: usize,
    created: usize,
    zone: usize,
    kind: usize,
    currency: usize,
    debit: usize,
    credit: usize,
    modification: Option<usize>,
    merchant_modification: Option<usize>,
    net_currency: Option<usize>,
    fees: Vec<usize>,
}

impl Columns {
    fn find(header: &Header, cx: &Context) -> Result<Columns, InputError> {
        let [psp, order, created, zone, kind, currency, debit, credit] =
            header.require(cx.path, REQUIRED)?[..]
        else {
            unreachable!("REQUIRED has eight columns")
        };
        Ok(Columns {
            psp,
            order,
            created,
            zone,
            kind,
            currency,
            debit,
            credit,
            modification: header.position("Modification Reference"),
            merchant_modification: header.position("Modification Merchant Reference"),
            net_currency: header.position("Net Currency"),
            fees: FEES.iter().filter_map(|n| header.position(n)).collect(),
        })
    }

    fn record(&self, row: &Row, kind: Kind, cx: &Context) -> Result<SettlementRecord, InputError> {
        let currency = money::parse_currency(row.required(self.currency)?)
            .map_err(|e| row.error(self.currency, e))?;
        let (amount, other) = match kind {
            Kind::Payment => (self.credit, self.debit),
            Kind::Refund => (self.debit, self.credit),
        };
        if !row.text(other)?.is_empty() {
            return Err(row.error(
                other,
                format!(
                    "is set, but a {} row has its amount in '{}' only",
                    row.text(self.kind)?,
                    row.header.name(amount)
                ),
            ));
        }
        let amount_text = row.required(amount)?;
        let amount_minor = plain::decimal(amount_text)
            .and_then(|value| money::to_minor(value, amount_text, &currency))
            .map_err(|e| row.error(amount, e))?;
        if amount_minor <= 0 {
            return Err(row.bad_value(amount, "a positive amount"));
        }
        let refund_id = match kind {
            Kind::Payment => "",
            Kind::Refund => self.refund_id(row)?,
        };
        Ok(SettlementRecord {
            channel: CHANNEL.to_string(),
            channel_txn_id: row.required(self.psp)?.to_string(),
            channel_order_id: row.required(self.order)?.to_string(),
            kind,
            amount_minor,
            fee: self.fee(row, &currency)?,
            currency,
            transacted_at: self.time(row, cx)?,
            refund_id: refund_id.to_string(),
        })
    }

    fn time(&self, row: &Row, cx: &Context) -> Result<i64, InputError> {
        let text = row.required(self.created)?;
        // The exact 19-byte shape digit by digit; chrono decides the rest.
        let plain = (text.len() == 19 && text.as_bytes()[10] == b' ')
            .then(|| crate::timestamp::plain_local(text))
            .flatten();
        let local = plain
            .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok())
            .ok_or_else(|| row.bad_value(self.created, "YYYY-MM-DD HH:MM:SS"))?;
        zone::to_utc(local, row.required(self.zone)?, cx.zone).map_err(|e| row.error(self.zone, e))
    }

    /// The sum of the cost columns, when they are in the gross currency.
    fn fee(&self, row: &Row, currency: &str) -> Result<Option<String>, InputError> {
        if let Some(i) = self.net_currency {
            let net = row.text(i)?;
            if !net.is_empty() && !net.eq_ignore_ascii_case(currency) {
                return Ok(None);
            }
        }
        let mut total: Option<Decimal> = None;
        for &i in &self.fees {
            let text = row.text(i)?;
            if text.is_empty() {
                continue;
            }
            let value = plain::decimal(text).map_err(|e| row.error(i, e))?;
            let sum = total.unwrap_or_default().checked_add(value);
            total = Some(sum.ok_or_else(|| row.bad_value(i, "a fee that fits"))?);
        }
        Ok(total.map(|t| t.normalize().to_string()))
    }

    fn refund_id<'r>(&self, row: &'r Row) -> Result<&'r str, InputError> {
        for index in [self.merchant_modification, self.modification]
            .into_iter()
            .flatten()
        {
            let value = row.text(index)?;
            if !value.is_empty() {
                return Ok(value);
            }
        }
        let problem = "a refund needs its reference (Modification Merchant Reference or Modification Reference)";
        Err(match self.modification {
            Some(i) => row.error(i, format!("is empty: {problem}")),
            None => InputError {
                path: row.path.to_path_buf(),
                line: row.line,
                column: Some("Modification Reference".into()),
                problem: format!("is not in the report: {problem}"),
            },
        })
    }
}

#[cfg(test)]
mod tests;
