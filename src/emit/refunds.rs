//! refunds.csv (and refunds-N.csv): what a refund job submits to the
//! channels. A machine contract: every value exactly as issued, never
//! altered for spreadsheets (no formula guard; the CSV quoting keeps each
//! field whole), plain UTF-8. summary.json states each file's rows, amount
//! per currency and SHA-256 so the job can check what it reads.
//!
//! The columns after `reason` explain the amount: the payment `captured`,
//! what the channel had `refunded_by_channel`, what payrecon had
//! `instructed_before` (not yet reported by the channel); `amount` is what
//! is refunded now. Empty for an instruction issued before payrecon kept
//! them.

use super::csv_safe::writer;
use super::day::DayReport;
use super::{Output, Sink};
use crate::money::format_minor;
use crate::reconcile::refunds::RefundInstruction;

pub const HEADER: [&str; 12] = [
    "refund_request_id",
    "channel",
    "channel_txn_id",
    "channel_order_id",
    "order_id",
    "payment_id",
    "amount",
    "currency",
    "reason",
    "captured",
    "refunded_by_channel",
    "instructed_before",
];

pub fn to_csv(instructions: &[RefundInstruction]) -> anyhow::Result<Vec<u8>> {
    let mut out = writer();
    out.write_record(HEADER)?;
    for i in instructions {
        let amount = format_minor(i.amount_minor, &i.currency);
        let explained = |minor: Option<i64>| {
            minor
                .map(|m| format_minor(m, &i.currency))
                .unwrap_or_default()
        };
        out.write_record([
            i.refund_request_id.as_str(),
            &i.channel,
            &i.channel_txn_id,
            &i.channel_order_id,
            &i.order_id,
            &i.payment_id,
            &amount,
            &i.currency,
            &i.reason,
            &explained(i.captured_minor),
            &explained(i.channel_refunded_minor),
            &explained(i.instructed_before_minor),
        ])?;
    }
    Ok(out.into_inner()?)
}

/// The day's refund files, as [`DayReport::refund_files`] holds them.
pub struct RefundFiles;

impl Output for RefundFiles {
    fn name(&self) -> &'static str {
        "refunds.csv"
    }

    fn finish(self: Box<Self>, day: &DayReport, sink: &mut Sink) -> anyhow::Result<()> {
        for file in &day.refund_files {
            sink.bytes(&file.name, &file.bytes)?;
        }
        Ok(())
    }
}

/// How an instruction's amount came about, in words.
pub fn explanation(i: &RefundInstruction) -> String {
    let m = |minor: i64| format!("{} {}", format_minor(minor, &i.currency), i.currency);
    match (
        i.captured_minor,
        i.channel_refunded_minor,
        i.instructed_before_minor,
    ) {
        (Some(captured), Some(channel), Some(ours)) => {
            let mut text = format!("captured {}", m(captured));
            if channel > 0 {
                text.push_str(&format!(", already refunded by the channel {}", m(channel)));
            }
            if ours > 0 {
                text.push_str(&format!(", already instructed by payrecon {}", m(ours)));
            }
            text.push_str(&format!(": refunded now {}", m(i.amount_minor)));
            if captured - channel - ours > i.amount_minor {
                text.push_str(" (capped by what is left of the payment's attempt)");
            }
            text
        }
        _ => format!("refunded now {}", m(i.amount_minor)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instruction() -> RefundInstruction {
        RefundInstruction {
            refund_request_id: "PR1".into(),
            business_day: "2026-11-21".into(),
            channel: "wechat".into(),
            channel_txn_id: "=1+2".into(),
            channel_order_id: "-C1".into(),
            order_id: "@O1".into(),
            payment_id: "+P1".into(),
            amount_minor: 49_558,
            currency: "CNY".into(),
            reason: "DUPLICATE_PAYMENT".into(),
            captured_minor: Some(74_336),
            channel_refunded_minor: Some(24_778),
            instructed_before_minor: Some(0),
        }
    }

    /// The machine contract: values exactly as issued.
    #[test]
    fn values_are_never_altered() {
        let text = String::from_utf8(to_csv(&[instruction()]).unwrap()).unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "PR1,wechat,=1+2,-C1,@O1,+P1,495.58,CNY,DUPLICATE_PAYMENT,743.36,247.78,0.00"
        );
    }

    #[test]
    fn the_amount_is_explained() {
        assert_eq!(
            explanation(&instruction()),
            "captured 743.36 CNY, already refunded by the channel 247.78 CNY: refunded now 495.58 CNY"
        );
    }
}
