-- REFUND_EXCEEDS_PAYMENT: payrecon's instructions for a transaction, plus
-- the channel's refunds of it that are not ours, are more than the channel
-- captured under that transaction id (whatever order key the rows carry
-- now), or more than was captured for the attempt (channel_order_id) the
-- instructions were issued for: a corrected file lowered the amount, moved
-- the payment to another order key, or showed a refund the instruction did
-- not know. Stop or recall the excess. (An instruction whose transaction is
-- in no loaded file at all is REFUND_WITHOUT_PAYMENT instead.)
WITH ours AS MATERIALIZED (
    SELECT * FROM judged_instruction WHERE result IS NOT 'REJECTED' AND archived = 0
),
-- The channel's refunds that are not instructions of ours, of the
-- transactions and attempts we instructed.
others AS MATERIALIZED (
    SELECT r.channel, r.channel_txn_id, r.channel_order_id, r.currency, r.amount_minor
    FROM channel_refund r
    WHERE NOT EXISTS (SELECT 1 FROM ours i WHERE i.refund_request_id = r.refund_id)
      AND EXISTS (SELECT 1 FROM ours i
                  WHERE i.channel = r.channel
                    AND (i.channel_txn_id = r.channel_txn_id OR i.channel_order_id = r.channel_order_id))
),
by_txn AS (
    SELECT i.channel, i.channel_txn_id, i.currency, sum(i.amount_minor) AS instructed,
           group_concat(i.refund_request_id, ' ') AS ids,
           min(i.channel_order_id) AS channel_order_id, min(i.order_id) AS order_id,
           min(i.payment_id) AS payment_id,
           (SELECT sum(p.channel_amount) FROM paid p
            WHERE p.channel = i.channel AND p.channel_txn_id = i.channel_txn_id
              AND p.channel_currency = i.currency) AS captured,
           coalesce((SELECT sum(o.amount_minor) FROM others o
                     WHERE o.channel = i.channel AND o.channel_txn_id = i.channel_txn_id
                       AND o.currency = i.currency), 0) AS other_refunds
    FROM ours i
    WHERE EXISTS (SELECT 1 FROM paid p
                  WHERE p.channel = i.channel AND p.channel_txn_id = i.channel_txn_id)
    GROUP BY i.channel, i.channel_txn_id, i.currency
),
by_attempt AS (
    SELECT i.channel, i.channel_order_id, i.currency, sum(i.amount_minor) AS instructed,
           group_concat(i.refund_request_id, ' ') AS ids,
           min(i.channel_txn_id) AS channel_txn_id, min(i.order_id) AS order_id,
           min(i.payment_id) AS payment_id,
           coalesce((SELECT sum(q.amount_minor) FROM payment q
                     WHERE q.channel_order_id = i.channel_order_id AND q.channel = i.channel
                       AND q.currency = i.currency), 0) AS captured,
           coalesce((SELECT sum(o.amount_minor) FROM others o
                     WHERE o.channel = i.channel AND o.channel_order_id = i.channel_order_id
                       AND o.currency = i.currency), 0) AS other_refunds
    FROM ours i
    WHERE EXISTS (SELECT 1 FROM paid p
                  WHERE p.channel = i.channel AND p.channel_txn_id = i.channel_txn_id)
    GROUP BY i.channel, i.channel_order_id, i.currency
)
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       NULL, NULL, captured, currency, 0,
       'instructions ' || ids || ' refund ' || payrecon_money(instructed, currency) || ' '
           || currency || '; with the channel''s other refunds ('
           || payrecon_money(other_refunds, currency) || ') that is more than transaction '
           || channel_txn_id || ' captured (' || payrecon_money(coalesce(captured, 0), currency)
           || ' ' || currency || '): stop or recall the excess'
FROM by_txn
WHERE captured IS NULL OR instructed + other_refunds > captured
UNION ALL
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       NULL, NULL, captured, currency, 0,
       'instructions ' || ids || ' refund ' || payrecon_money(instructed, currency) || ' '
           || currency || '; with the channel''s other refunds ('
           || payrecon_money(other_refunds, currency) || ') that is more than attempt '
           || channel_order_id || ' captured (' || payrecon_money(captured, currency)
           || ' ' || currency || '): stop or recall the excess'
FROM by_attempt
WHERE instructed + other_refunds > captured
