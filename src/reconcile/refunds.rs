//! Refund instructions: issued once, ever, for what is still unrefunded.
//!
//! The amount comes from the rule (`unrefunded`: the payment's amount minus
//! the channel's refunds minus our earlier instructions), so it can never
//! exceed what was captured. The id is derived from what is refunded, so a
//! rerun computes the same id and the channel's own idempotency on the
//! merchant refund number protects a file submitted twice.

use anyhow::Result;
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use sha2::{Digest, Sha256};

/// One line of refunds.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundInstruction {
    pub refund_request_id: String,
    pub business_day: String,
    pub channel: String,
    pub channel_txn_id: String,
    pub channel_order_id: String,
    pub order_id: String,
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
}

/// The merchant refund number: `PR` and 30 hex digits of a SHA-256 over the
/// payment, the amount and what was refunded before. It fits every
/// channel's limit (WeChat out_refund_no and Alipay out_request_no: 64).
///
/// `shared_txn_order` is the payment's order key when its transaction id
/// also names another payment (CHANNEL_ID_CONFLICT), else empty: the two
/// payments then get distinct ids, and every other id stays as it was.
pub fn refund_request_id(
    channel: &str,
    channel_txn_id: &str,
    shared_txn_order: &str,
    currency: &str,
    amount: i64,
    refunded_before: i64,
) -> String {
    let mut key = format!(
        "payrecon-refund\u{1f}{channel}\u{1f}{channel_txn_id}\u{1f}{currency}\u{1f}{amount}\u{1f}{refunded_before}"
    );
    if !shared_txn_order.is_empty() {
        key.push_str(&format!("\u{1f}order\u{1f}{shared_txn_order}"));
    }
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    format!("PR{}", &digest[..30])
}

/// Issues, for `business_day`, an instruction for every refund finding with
/// something left to refund: one set-based statement over the run's
/// findings. An id already issued is never issued again. New instructions
/// go into the day's open batch (`store::refund_files::open_batch`): never
/// into a refund file already committed with rows.
pub fn issue(conn: &Connection, business_day: &str) -> Result<()> {
    let batch = crate::store::refund_files::open_batch(conn, business_day)?;
    conn.create_scalar_function(
        "payrecon_refund_id",
        6,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(refund_request_id(
                &ctx.get::<String>(0)?,
                &ctx.get::<String>(1)?,
                &ctx.get::<String>(2)?,
                &ctx.get::<String>(3)?,
                ctx.get(4)?,
                ctx.get(5)?,
            ))
        },
    )?;
    conn.execute(
        "INSERT INTO refund_instruction
         SELECT payrecon_refund_id(f.channel, f.channel_txn_id,
                                   CASE WHEN EXISTS (SELECT 1 FROM temp.paid q
                                                     WHERE q.channel = f.channel
                                                       AND q.channel_txn_id = f.channel_txn_id
                                                       AND q.channel_order_id <> f.channel_order_id)
                                        THEN f.channel_order_id ELSE '' END,
                                   f.channel_currency, f.refund_minor,
                                   p.refunded_by_channel + p.pending_ours),
                ?1, f.channel, f.channel_txn_id, f.channel_order_id, f.order_id, f.payment_id,
                f.refund_minor, f.channel_currency, f.kind, ?2
         FROM temp.finding f
         JOIN temp.refundable p ON p.channel = f.channel AND p.channel_txn_id = f.channel_txn_id
                               AND p.channel_order_id = f.channel_order_id
         WHERE f.kind IN ('DUPLICATE_PAYMENT', 'PAID_AFTER_CLOSE') AND f.refund_minor > 0
         ON CONFLICT (refund_request_id) DO NOTHING",
        rusqlite::params![business_day, batch],
    )?;
    Ok(())
}

/// The instructions issued for `business_day` in `batch`: one of that
/// day's refund files (`store::refund_files::file_name`).
pub fn for_batch(
    conn: &Connection,
    business_day: &str,
    batch: i64,
) -> Result<Vec<RefundInstruction>> {
    let mut stmt = conn.prepare_cached(
        "SELECT refund_request_id, business_day, channel, channel_txn_id, channel_order_id,
                order_id, payment_id, amount_minor, currency, reason
         FROM refund_instruction WHERE business_day = ?1 AND batch = ?2
         ORDER BY channel, channel_txn_id, refund_request_id",
    )?;
    let rows = stmt.query_map(rusqlite::params![business_day, batch], |r| {
        Ok(RefundInstruction {
            refund_request_id: r.get(0)?,
            business_day: r.get(1)?,
            channel: r.get(2)?,
            channel_txn_id: r.get(3)?,
            channel_order_id: r.get(4)?,
            order_id: r.get(5)?,
            payment_id: r.get(6)?,
            amount_minor: r.get(7)?,
            currency: r.get(8)?,
            reason: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = refund_request_id("wechat", "T1", "", "CNY", 100, 0);
        assert_eq!(a, refund_request_id("wechat", "T1", "", "CNY", 100, 0));
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("PR") && a[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, refund_request_id("wechat", "T1", "", "CNY", 100, 50));
        assert_ne!(a, refund_request_id("alipay", "T1", "", "CNY", 100, 0));
        assert_ne!(a, refund_request_id("wechat", "T2", "", "CNY", 100, 0));
        assert_ne!(a, refund_request_id("wechat", "T1", "C1", "CNY", 100, 0));
    }
}
