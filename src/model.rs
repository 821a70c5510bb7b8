//! The contract's vocabulary: what every source format is turned into.
//!
//! Ingest modules produce [`Attempt`]s (internal order export) and
//! [`SettlementRecord`]s (channel files); the store and the rules only ever
//! see these. Field names are the contract's column names.

use std::fmt;
use std::str::FromStr;

/// Business order status (订单状态) in the internal export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Open,
    Paid,
    Closed,
    Cancelled,
}

/// Payment status of one channel attempt (支付状态) in the internal export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Processing,
    Success,
    Failed,
    Closed,
    Unknown,
}

/// Direction of a settlement row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Payment,
    Refund,
}

macro_rules! text_enum {
    ($ty:ident, $expected:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
            /// What a file may say, for error messages.
            pub const EXPECTED: &'static str = $expected;
        }
        impl FromStr for $ty {
            type Err = ();
            /// Case-insensitive: exports disagree on `Success` vs `SUCCESS`.
            fn from_str(s: &str) -> Result<Self, ()> {
                $(if s.trim().eq_ignore_ascii_case($text) { return Ok($ty::$variant); })+
                Err(())
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(OrderStatus, "one of OPEN, PAID, CLOSED, CANCELLED", {
    Open => "OPEN", Paid => "PAID", Closed => "CLOSED", Cancelled => "CANCELLED",
});
text_enum!(PaymentStatus, "one of PROCESSING, SUCCESS, FAILED, CLOSED, UNKNOWN", {
    Processing => "PROCESSING", Success => "SUCCESS", Failed => "FAILED",
    Closed => "CLOSED", Unknown => "UNKNOWN",
});
text_enum!(Kind, "PAYMENT or REFUND", { Payment => "PAYMENT", Refund => "REFUND" });

impl PaymentStatus {
    /// PROCESSING and UNKNOWN: the payment system never learned the outcome.
    pub fn is_undecided(self) -> bool {
        matches!(self, PaymentStatus::Processing | PaymentStatus::Unknown)
    }
}

impl OrderStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, OrderStatus::Closed | OrderStatus::Cancelled)
    }
}

/// One row of the internal order export: a channel attempt (渠道请求) under a
/// payment order under a business order. Times are UTC microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub order_id: String,
    pub payment_id: String,
    pub channel_order_id: String,
    pub channel: String,
    pub amount_minor: i64,
    pub currency: String,
    pub order_status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub created_at: i64,
    /// Local date (configured zone) of `created_at`: the attempt's day.
    pub created_day: String,
    pub expires_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub paid_at: Option<i64>,
}

/// One money movement in a channel's settlement file, in canonical form.
/// A REFUND carries the `channel_txn_id` and `channel_order_id` of the payment
/// it refunds, and its own merchant refund number in `refund_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRecord {
    pub channel: String,
    pub channel_txn_id: String,
    pub channel_order_id: String,
    pub kind: Kind,
    /// Always positive; the direction is `kind`.
    pub amount_minor: i64,
    /// Exact decimal text; fees may have more decimals than the currency.
    pub fee: Option<String>,
    pub currency: String,
    /// UTC microseconds.
    pub transacted_at: i64,
    pub refund_id: String,
}
