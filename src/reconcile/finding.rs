//! What a run reports: one [`Finding`] per discrepancy, of ten kinds.

use std::fmt;

/// The contract's finding kinds, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// 重复支付: one order charged twice or more; all but one are refunded.
    DuplicatePayment,
    /// 关单后支付: money taken for a closed or cancelled order; refunded.
    PaidAfterClose,
    /// An instruction of ours whose payment no loaded file shows any more.
    RefundWithoutPayment,
    /// Our instructions plus the channel's other refunds exceed the payment.
    RefundExceedsPayment,
    /// 掉单: the channel took the money, the internal record says it failed.
    DroppedPayment,
    AmountMismatch,
    CurrencyMismatch,
    /// Internal SUCCESS with no channel record although the day is covered.
    MissingInChannel,
    /// A channel payment for an attempt no export knows.
    UnmatchedChannel,
    /// One channel transaction id on payment rows with other content.
    ChannelIdConflict,
    UnknownResolvedPaid,
    UnknownResolvedUnpaid,
    /// Not decidable yet: carried to the next run.
    UnknownPending,
}

impl FindingKind {
    pub fn code(self) -> &'static str {
        match self {
            FindingKind::DuplicatePayment => "DUPLICATE_PAYMENT",
            FindingKind::PaidAfterClose => "PAID_AFTER_CLOSE",
            FindingKind::RefundWithoutPayment => "REFUND_WITHOUT_PAYMENT",
            FindingKind::RefundExceedsPayment => "REFUND_EXCEEDS_PAYMENT",
            FindingKind::DroppedPayment => "DROPPED_PAYMENT",
            FindingKind::AmountMismatch => "AMOUNT_MISMATCH",
            FindingKind::CurrencyMismatch => "CURRENCY_MISMATCH",
            FindingKind::MissingInChannel => "MISSING_IN_CHANNEL",
            FindingKind::UnmatchedChannel => "UNMATCHED_CHANNEL",
            FindingKind::ChannelIdConflict => "CHANNEL_ID_CONFLICT",
            FindingKind::UnknownResolvedPaid => "UNKNOWN_RESOLVED_PAID",
            FindingKind::UnknownResolvedUnpaid => "UNKNOWN_RESOLVED_UNPAID",
            FindingKind::UnknownPending => "UNKNOWN_PENDING",
        }
    }

    /// high: money must move or is at risk; medium: a person must look;
    /// low: a state to fix; info: nothing to do yet.
    pub fn severity(self) -> &'static str {
        match self {
            FindingKind::DuplicatePayment
            | FindingKind::PaidAfterClose
            | FindingKind::RefundWithoutPayment
            | FindingKind::RefundExceedsPayment
            | FindingKind::DroppedPayment
            | FindingKind::AmountMismatch
            | FindingKind::CurrencyMismatch => "high",
            FindingKind::MissingInChannel
            | FindingKind::UnmatchedChannel
            | FindingKind::ChannelIdConflict => "medium",
            FindingKind::UnknownResolvedPaid | FindingKind::UnknownResolvedUnpaid => "low",
            FindingKind::UnknownPending => "info",
        }
    }

    /// What a person (or job) should do.
    pub fn action(self) -> &'static str {
        match self {
            FindingKind::DuplicatePayment => "refund the duplicate",
            FindingKind::PaidAfterClose => "refund the payment",
            FindingKind::RefundWithoutPayment => {
                "stop or recall the refund: its payment is in no loaded file any more"
            }
            FindingKind::RefundExceedsPayment => {
                "stop or recall the excess: more is refunded than was captured"
            }
            FindingKind::DroppedPayment => "fix the internal state: the channel was paid",
            FindingKind::AmountMismatch => "investigate the amount",
            FindingKind::CurrencyMismatch => "investigate the currency",
            FindingKind::MissingInChannel => "investigate: paid internally, absent at the channel",
            FindingKind::UnmatchedChannel => {
                "investigate: channel payment unknown internally (no automatic refund)"
            }
            FindingKind::ChannelIdConflict => {
                "ask the channel: one transaction id names payment rows with other content"
            }
            FindingKind::UnknownResolvedPaid => "mark the attempt paid",
            FindingKind::UnknownResolvedUnpaid => "close the attempt",
            FindingKind::UnknownPending => "query the channel; carried to the next run",
        }
    }

    /// Does it need a person or job now (for --fail-on-findings)? Only a
    /// pending unknown, which the next run decides, does not.
    pub fn needs_action(self) -> bool {
        self != FindingKind::UnknownPending
    }

    /// Does the finding move money back to the customer?
    pub fn is_refund(self) -> bool {
        matches!(
            self,
            FindingKind::DuplicatePayment | FindingKind::PaidAfterClose
        )
    }

    /// Findings about one payment row are keyed by it; the others by attempt.
    pub fn is_about_payment(self) -> bool {
        !matches!(
            self,
            FindingKind::MissingInChannel
                | FindingKind::UnknownResolvedUnpaid
                | FindingKind::UnknownPending
        )
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One discrepancy. Amounts are minor units of their own currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub order_id: String,
    pub payment_id: String,
    pub channel_order_id: String,
    pub channel_txn_id: String,
    pub channel: String,
    pub internal_amount: Option<i64>,
    pub internal_currency: Option<String>,
    pub channel_amount: Option<i64>,
    pub channel_currency: Option<String>,
    /// What still has to be refunded now (refund findings only).
    pub refund_minor: i64,
    pub detail: String,
    /// Set by the run: the business day it was first reported.
    pub first_seen: String,
    /// Set by the run when an instruction exists for this payment.
    pub refund_request_id: Option<String>,
}

impl Finding {
    /// The currency the report shows: the channel's if it has one.
    pub fn currency(&self) -> &str {
        self.channel_currency
            .as_deref()
            .or(self.internal_currency.as_deref())
            .unwrap_or_default()
    }
}
