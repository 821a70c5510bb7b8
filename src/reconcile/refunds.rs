//! Refund instructions: issued once, ever, for what is still unrefunded.
//!
//! The amount comes from the rule (`unrefunded`: the payment's amount minus
//! the channel's refunds minus our earlier instructions), so it can never
//! exceed what was captured. The id is derived from what is refunded, so a
//! rerun computes the same id and the channel's own idempotency on the
//! merchant refund number protects a file submitted twice.

use super::finding::Finding;
use anyhow::Result;
use rusqlite::{Connection, params};
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
pub fn refund_request_id(
    channel: &str,
    channel_txn_id: &str,
    currency: &str,
    amount: i64,
    refunded_before: i64,
) -> String {
    let key = format!(
        "payrecon-refund\u{1f}{channel}\u{1f}{channel_txn_id}\u{1f}{currency}\u{1f}{amount}\u{1f}{refunded_before}"
    );
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    format!("PR{}", &digest[..30])
}

/// Issues an instruction for every finding with something left to refund,
/// for `business_day`, and links each refund finding to its instruction(s).
pub fn issue(conn: &Connection, findings: &mut [Finding], business_day: &str) -> Result<()> {
    let mut refunded_before = conn.prepare_cached(
        "SELECT refunded_by_channel + pending_ours FROM temp.paid WHERE channel = ?1 AND channel_txn_id = ?2",
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO refund_instruction VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (refund_request_id) DO NOTHING",
    )?;
    let mut issued = conn.prepare_cached(
        "SELECT group_concat(refund_request_id || ' ' || amount_minor || ' ' || business_day, ';')
         FROM (SELECT * FROM refund_instruction WHERE channel = ?1 AND channel_txn_id = ?2
               ORDER BY business_day, refund_request_id)",
    )?;
    for f in findings.iter_mut().filter(|f| f.kind.is_refund()) {
        let currency = f.currency().to_string();
        if f.refund_minor > 0 {
            let before: i64 =
                refunded_before.query_row(params![f.channel, f.channel_txn_id], |r| r.get(0))?;
            let id = refund_request_id(
                &f.channel,
                &f.channel_txn_id,
                &currency,
                f.refund_minor,
                before,
            );
            insert.execute(params![
                id,
                business_day,
                f.channel,
                f.channel_txn_id,
                f.channel_order_id,
                f.order_id,
                f.payment_id,
                f.refund_minor,
                currency,
                f.kind.code(),
            ])?;
        }
        let list: Option<String> =
            issued.query_row(params![f.channel, f.channel_txn_id], |r| r.get(0))?;
        f.refund_request_id = list;
    }
    Ok(())
}

/// The instructions first issued for `business_day`: that day's refunds.csv.
pub fn for_day(conn: &Connection, business_day: &str) -> Result<Vec<RefundInstruction>> {
    let mut stmt = conn.prepare_cached(
        "SELECT refund_request_id, business_day, channel, channel_txn_id, channel_order_id,
                order_id, payment_id, amount_minor, currency, reason
         FROM refund_instruction WHERE business_day = ?1
         ORDER BY channel, channel_txn_id, refund_request_id",
    )?;
    let rows = stmt.query_map([business_day], |r| {
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
        let a = refund_request_id("wechat", "T1", "CNY", 100, 0);
        assert_eq!(a, refund_request_id("wechat", "T1", "CNY", 100, 0));
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("PR") && a[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, refund_request_id("wechat", "T1", "CNY", 100, 50));
        assert_ne!(a, refund_request_id("alipay", "T1", "CNY", 100, 0));
        assert_ne!(a, refund_request_id("wechat", "T2", "CNY", 100, 0));
    }
}
