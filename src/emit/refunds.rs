//! refunds.csv: what a refund job (or a person) submits to the channels.

use super::csv_safe::{text, writer};
use crate::money::format_minor;
use crate::reconcile::refunds::RefundInstruction;

pub const HEADER: [&str; 9] = [
    "refund_request_id",
    "channel",
    "channel_txn_id",
    "channel_order_id",
    "order_id",
    "payment_id",
    "amount",
    "currency",
    "reason",
];

pub fn to_csv(instructions: &[RefundInstruction]) -> anyhow::Result<Vec<u8>> {
    let mut out = writer();
    out.write_record(HEADER)?;
    for i in instructions {
        let amount = format_minor(i.amount_minor, &i.currency);
        out.write_record([
            text(&i.refund_request_id).as_ref(),
            &text(&i.channel),
            &text(&i.channel_txn_id),
            &text(&i.channel_order_id),
            &text(&i.order_id),
            &text(&i.payment_id),
            &amount,
            &text(&i.currency),
            &text(&i.reason),
        ])?;
    }
    Ok(out.into_inner()?)
}
