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
    /// An instruction of ours whose reason no longer holds: its order is
    /// now neither closed nor paid more than once.
    RefundNotOwed,
    /// Our instructions plus the channel's other refunds exceed the payment.
    RefundExceedsPayment,
    /// An instruction no channel file confirms after `refund_confirm_days`.
    RefundNotConfirmed,
    /// The channel confirmed an instruction for another amount.
    RefundAmountDiffers,
    /// The refund job rejected an instruction, and nobody re-issued it.
    RefundRejected,
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
    /// An UNKNOWN_PENDING item past its age limit (`[aging]`): no rule
    /// finds it, the ledger shows it so.
    UnknownStale,
}

/// Every kind, in report order.
pub const ALL_KINDS: [FindingKind; 18] = [
    FindingKind::DuplicatePayment,
    FindingKind::PaidAfterClose,
    FindingKind::RefundWithoutPayment,
    FindingKind::RefundNotOwed,
    FindingKind::RefundExceedsPayment,
    FindingKind::RefundNotConfirmed,
    FindingKind::RefundAmountDiffers,
    FindingKind::RefundRejected,
    FindingKind::DroppedPayment,
    FindingKind::AmountMismatch,
    FindingKind::CurrencyMismatch,
    FindingKind::MissingInChannel,
    FindingKind::UnmatchedChannel,
    FindingKind::ChannelIdConflict,
    FindingKind::UnknownResolvedPaid,
    FindingKind::UnknownResolvedUnpaid,
    FindingKind::UnknownPending,
    FindingKind::UnknownStale,
];

impl FindingKind {
    pub fn code(self) -> &'static str {
        match self {
            FindingKind::DuplicatePayment => "DUPLICATE_PAYMENT",
            FindingKind::PaidAfterClose => "PAID_AFTER_CLOSE",
            FindingKind::RefundWithoutPayment => "REFUND_WITHOUT_PAYMENT",
            FindingKind::RefundNotOwed => "REFUND_NOT_OWED",
            FindingKind::RefundExceedsPayment => "REFUND_EXCEEDS_PAYMENT",
            FindingKind::RefundNotConfirmed => "REFUND_NOT_CONFIRMED",
            FindingKind::RefundAmountDiffers => "REFUND_AMOUNT_DIFFERS",
            FindingKind::RefundRejected => "REFUND_REJECTED",
            FindingKind::DroppedPayment => "DROPPED_PAYMENT",
            FindingKind::AmountMismatch => "AMOUNT_MISMATCH",
            FindingKind::CurrencyMismatch => "CURRENCY_MISMATCH",
            FindingKind::MissingInChannel => "MISSING_IN_CHANNEL",
            FindingKind::UnmatchedChannel => "UNMATCHED_CHANNEL",
            FindingKind::ChannelIdConflict => "CHANNEL_ID_CONFLICT",
            FindingKind::UnknownResolvedPaid => "UNKNOWN_RESOLVED_PAID",
            FindingKind::UnknownResolvedUnpaid => "UNKNOWN_RESOLVED_UNPAID",
            FindingKind::UnknownPending => "UNKNOWN_PENDING",
            FindingKind::UnknownStale => "UNKNOWN_STALE",
        }
    }

    pub fn from_code(code: &str) -> Option<FindingKind> {
        ALL_KINDS.iter().copied().find(|kind| kind.code() == code)
    }

    /// high: money must move or is at risk; medium: a person must look;
    /// low: a state to fix; info: nothing to do yet.
    pub fn severity(self) -> &'static str {
        match self {
            FindingKind::DuplicatePayment
            | FindingKind::PaidAfterClose
            | FindingKind::RefundWithoutPayment
            | FindingKind::RefundNotOwed
            | FindingKind::RefundExceedsPayment
            | FindingKind::RefundNotConfirmed
            | FindingKind::RefundAmountDiffers
            | FindingKind::RefundRejected
            | FindingKind::DroppedPayment
            | FindingKind::AmountMismatch
            | FindingKind::CurrencyMismatch
            | FindingKind::UnknownStale => "high",
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
            FindingKind::RefundNotOwed => {
                "stop or recall the refund: its order is no longer closed or paid twice"
            }
            FindingKind::RefundExceedsPayment => {
                "stop or recall the excess: more is refunded than was captured"
            }
            FindingKind::RefundNotConfirmed => {
                "chase the refund: ask the refund job and the channel where it is"
            }
            FindingKind::RefundAmountDiffers => {
                "find out which amount is right: the channel refunded another amount"
            }
            FindingKind::RefundRejected => {
                "re-issue it (payrecon reissue REFUND_ID) or refund by hand"
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
            FindingKind::UnknownStale => {
                "query the channel or close the payment order by hand: still unknown"
            }
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

    /// What a finding of this kind is about, which keys it in the ledger.
    pub fn subject(self) -> Subject {
        match self {
            FindingKind::MissingInChannel
            | FindingKind::UnknownResolvedUnpaid
            | FindingKind::UnknownPending => Subject::Attempt,
            FindingKind::RefundWithoutPayment
            | FindingKind::RefundNotOwed
            | FindingKind::RefundNotConfirmed
            | FindingKind::RefundAmountDiffers
            | FindingKind::RefundRejected => Subject::Instruction,
            _ => Subject::Payment,
        }
    }
}

/// What a finding is about: its subject in the ledger is that thing's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// `channel|channel_txn_id`.
    Payment,
    /// `channel_order_id`.
    Attempt,
    /// `refund_request_id`.
    Instruction,
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Where an item stands in a day's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// First seen this business day.
    New,
    /// Seen on an earlier day and still open.
    Open,
    /// Resolved this business day, by the data or by a person.
    Resolved,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::Open => "OPEN",
            Status::Resolved => "RESOLVED",
        }
    }
}

/// How many days an open item of each kind may age before it is overdue
/// (`[aging]` in the config overrides these).
#[derive(Debug, Clone, Default)]
pub struct Aging {
    pub overrides: std::collections::BTreeMap<FindingKind, u32>,
}

impl Aging {
    /// The built-in limits: an unknown payment is stale after 2 days; a
    /// wrong internal state should be fixed within 2; a refund confirmed
    /// within 3 (the channel's T+1 file, then a day); an instruction in
    /// trouble looked at within 2; anything to investigate within 5.
    pub fn default_limit(kind: FindingKind) -> u32 {
        match kind {
            FindingKind::DuplicatePayment | FindingKind::PaidAfterClose => 3,
            FindingKind::RefundWithoutPayment
            | FindingKind::RefundNotOwed
            | FindingKind::RefundExceedsPayment
            | FindingKind::RefundNotConfirmed
            | FindingKind::RefundAmountDiffers
            | FindingKind::RefundRejected
            | FindingKind::DroppedPayment
            | FindingKind::UnknownResolvedPaid
            | FindingKind::UnknownResolvedUnpaid
            | FindingKind::UnknownPending
            | FindingKind::UnknownStale => 2,
            FindingKind::AmountMismatch
            | FindingKind::CurrencyMismatch
            | FindingKind::MissingInChannel
            | FindingKind::UnmatchedChannel
            | FindingKind::ChannelIdConflict => 5,
        }
    }

    pub fn limit(&self, kind: FindingKind) -> u32 {
        self.overrides
            .get(&kind)
            .copied()
            .unwrap_or_else(|| Aging::default_limit(kind))
    }
}

/// One discrepancy: a ledger item as a day's report shows it. Amounts are
/// minor units of their own currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// Stable across runs (`lifecycle::finding_id`).
    pub finding_id: String,
    pub status: Status,
    /// Days from first_seen to the business day (to the day it was resolved).
    pub age_days: i64,
    /// Open past its kind's age limit.
    pub overdue: bool,
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
    /// The kind the report shows: an UNKNOWN_PENDING item past its limit is
    /// UNKNOWN_STALE.
    pub fn shown_kind(&self) -> FindingKind {
        if self.kind == FindingKind::UnknownPending && self.overdue {
            FindingKind::UnknownStale
        } else {
            self.kind
        }
    }

    /// high for an overdue item, else its kind's.
    pub fn severity(&self) -> &'static str {
        if self.overdue {
            "high"
        } else {
            self.shown_kind().severity()
        }
    }

    /// Counts for --fail-on-findings: open, and needing a person now.
    pub fn needs_action(&self) -> bool {
        self.status != Status::Resolved && self.shown_kind().needs_action()
    }

    /// What is at risk, in [`Finding::currency`]: the difference for an
    /// amount mismatch; for a refund finding what it refunds now, else what
    /// its instructions refunded; the payment (or attempt) otherwise.
    pub fn amount_at_stake(&self) -> i64 {
        match self.kind {
            FindingKind::AmountMismatch => match (self.internal_amount, self.channel_amount) {
                (Some(internal), Some(channel)) => (channel - internal).abs(),
                _ => 0,
            },
            // What is refunded beyond what was captured (none captured in
            // the refunds' currency: all of it).
            FindingKind::RefundExceedsPayment => (self.internal_amount.unwrap_or_default()
                - self.channel_amount.unwrap_or_default())
            .max(0),
            FindingKind::DuplicatePayment | FindingKind::PaidAfterClose
                if self.refund_minor > 0 =>
            {
                self.refund_minor
            }
            FindingKind::DuplicatePayment | FindingKind::PaidAfterClose => {
                let instructed: i64 = self
                    .refund_request_id
                    .iter()
                    .flat_map(|list| list.split(';'))
                    .filter_map(|item| item.split(' ').nth(1)?.parse::<i64>().ok())
                    .sum();
                if instructed > 0 {
                    instructed
                } else {
                    self.channel_amount
                        .or(self.internal_amount)
                        .unwrap_or_default()
                }
            }
            _ => self
                .channel_amount
                .or(self.internal_amount)
                .unwrap_or_default(),
        }
    }

    /// The currency the report shows: the channel's if it has one.
    pub fn currency(&self) -> &str {
        self.channel_currency
            .as_deref()
            .or(self.internal_currency.as_deref())
            .unwrap_or_default()
    }
}
