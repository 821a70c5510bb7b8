-- Working tables for one classification, rebuilt by every run from what is
-- loaded so far. `paid` is the heart: one row per channel payment, joined to
-- its attempt (if any), with what is already refunded.
DROP TABLE IF EXISTS temp.payment;
DROP TABLE IF EXISTS temp.channel_refund;
DROP TABLE IF EXISTS temp.refund_total;
DROP TABLE IF EXISTS temp.pending_total;
DROP TABLE IF EXISTS temp.paid;
DROP TABLE IF EXISTS temp.order_state;

-- An order's status is the one on its most recently loaded row, except
-- that a row still OPEN never masks a later status: statuses move forward
-- (as in the attempt merge), so an older export loaded after a newer one
-- cannot reopen a closed order. One pass over the covering index
-- attempt_by_order, written out in key order.
CREATE TEMP TABLE order_state (order_id TEXT PRIMARY KEY, order_status TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO order_state
SELECT order_id, order_status
FROM (SELECT order_id, order_status,
             max((order_status <> 'OPEN') * 4611686018427387904 + file_id * 4294967296 + line)
      FROM attempt GROUP BY order_id);

-- One row per channel payment: a payment repeated in two files counts once.
CREATE TEMP TABLE payment AS
SELECT channel, channel_txn_id, channel_order_id, amount_minor, currency, transacted_at,
       min(file_id * 4294967296 + line) AS first_position
FROM settlement_row
WHERE kind = 'PAYMENT'
GROUP BY channel, channel_txn_id;
CREATE INDEX temp.payment_by_order ON payment(channel_order_id);

-- Refunds the channel reports, each refund once (by its refund_id; a row
-- without one stands alone).
CREATE TEMP TABLE channel_refund AS
SELECT channel, channel_txn_id, refund_id, currency, max(amount_minor) AS amount_minor
FROM settlement_row
WHERE kind = 'REFUND'
GROUP BY channel, channel_txn_id,
         CASE WHEN refund_id = '' THEN 'row ' || file_id || ':' || line ELSE refund_id END;
CREATE INDEX temp.channel_refund_key ON channel_refund(channel, channel_txn_id, refund_id);

CREATE TEMP TABLE refund_total AS
SELECT channel, channel_txn_id, currency, sum(amount_minor) AS refunded
FROM channel_refund
GROUP BY channel, channel_txn_id, currency;

-- payrecon's own instructions that the channel has not reported yet: they
-- count as refunded, or a rerun would refund twice.
CREATE TEMP TABLE pending_total AS
SELECT i.channel, i.channel_txn_id, sum(i.amount_minor) AS pending
FROM refund_instruction i
WHERE NOT EXISTS (
    SELECT 1 FROM channel_refund r
    WHERE r.channel = i.channel AND r.channel_txn_id = i.channel_txn_id AND r.refund_id = i.refund_request_id)
GROUP BY i.channel, i.channel_txn_id;

CREATE TEMP TABLE paid AS
SELECT p.channel, p.channel_txn_id, p.channel_order_id, p.transacted_at,
       p.amount_minor AS channel_amount, p.currency AS channel_currency,
       coalesce(rt.refunded, 0) AS refunded_by_channel,
       coalesce(pt.pending, 0) AS pending_ours,
       -- A channel refund in another currency than its payment cannot be
       -- subtracted from it: nothing is refunded automatically then.
       CASE WHEN EXISTS (
                SELECT 1 FROM channel_refund x
                WHERE x.channel = p.channel AND x.channel_txn_id = p.channel_txn_id
                  AND x.currency <> p.currency)
            THEN 0
            ELSE max(0, p.amount_minor - coalesce(rt.refunded, 0) - coalesce(pt.pending, 0))
       END AS unrefunded,
       a.order_id, a.payment_id, a.payment_status,
       a.amount_minor AS internal_amount, a.currency AS internal_currency,
       o.order_status,
       -- A payment is settled when its attempt's day is covered on its
       -- channel (covered_day.sql): only then are the refunds the channel
       -- made that day or within the lag known (a T+1 file may repeat a
       -- payment without its refund), so only then is a refund decided for
       -- it or for its order.
       EXISTS (SELECT 1 FROM covered_day c WHERE c.channel = p.channel AND c.day = a.created_day)
           AS is_settled
FROM payment p
LEFT JOIN attempt a ON a.channel_order_id = p.channel_order_id
LEFT JOIN order_state o ON o.order_id = a.order_id
LEFT JOIN refund_total rt
       ON rt.channel = p.channel AND rt.channel_txn_id = p.channel_txn_id AND rt.currency = p.currency
LEFT JOIN pending_total pt ON pt.channel = p.channel AND pt.channel_txn_id = p.channel_txn_id;
CREATE INDEX temp.paid_by_order ON paid(order_id);
CREATE INDEX temp.paid_by_txn ON paid(channel, channel_txn_id);
