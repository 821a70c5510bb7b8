-- REFUND_EXCEEDS_PAYMENT: payrecon's instructions for a payment, plus the
-- channel's refunds of it that are not ours, are more than the channel
-- captured for that payment or for its attempt (channel_order_id): a
-- corrected file lowered the amount or showed a refund the instruction did
-- not know. Stop or recall the excess.
WITH instructed AS MATERIALIZED (
    SELECT channel, channel_txn_id, channel_order_id, currency,
           sum(amount_minor) AS ours, group_concat(refund_request_id, ' ') AS ids
    FROM refund_instruction
    WHERE result IS NOT 'REJECTED'
    GROUP BY channel, channel_txn_id, channel_order_id, currency
),
-- The channel's refunds that are not instructions of ours, by transaction
-- and by attempt.
others AS MATERIALIZED (
    SELECT r.channel, r.channel_txn_id, r.channel_order_id, r.currency, r.amount_minor
    FROM channel_refund r
    WHERE NOT EXISTS (SELECT 1 FROM refund_instruction i WHERE i.refund_request_id = r.refund_id)
      AND EXISTS (SELECT 1 FROM refund_instruction i
                  WHERE i.channel = r.channel
                    AND (i.channel_txn_id = r.channel_txn_id OR i.channel_order_id = r.channel_order_id))
),
judged AS (
    SELECT p.*, i.ours, i.ids, i.currency AS ours_currency,
           coalesce((SELECT sum(o.amount_minor) FROM others o
                     WHERE o.channel = p.channel AND o.channel_txn_id = p.channel_txn_id
                       AND o.currency = i.currency), 0) AS txn_others,
           (SELECT sum(q.amount_minor) FROM payment q
            WHERE q.channel_order_id = p.channel_order_id AND q.channel = p.channel
              AND q.currency = i.currency) AS attempt_captured,
           (SELECT sum(j.amount_minor) FROM refund_instruction j
            WHERE j.channel = p.channel AND j.channel_order_id = p.channel_order_id
              AND j.currency = i.currency AND j.result IS NOT 'REJECTED') AS attempt_ours,
           coalesce((SELECT sum(o.amount_minor) FROM others o
                     WHERE o.channel = p.channel AND o.channel_order_id = p.channel_order_id
                       AND o.currency = i.currency), 0) AS attempt_others
    FROM instructed i
    JOIN paid p ON p.channel = i.channel AND p.channel_txn_id = i.channel_txn_id
               AND p.channel_order_id = i.channel_order_id
)
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       internal_amount, internal_currency, channel_amount, channel_currency, 0,
       'instructions ' || ids || ' refund ' || payrecon_money(ours, ours_currency) || ' '
           || ours_currency || '; with the channel''s other refunds ('
           || payrecon_money(txn_others, ours_currency) || ') that is more than '
           || CASE WHEN ours + txn_others > channel_amount OR channel_currency <> ours_currency
                   THEN 'the payment captured (' || payrecon_money(channel_amount, channel_currency)
                        || ' ' || channel_currency || ')'
                   ELSE 'its attempt captured (' || payrecon_money(attempt_captured, ours_currency)
                        || ' ' || ours_currency || ')' END
           || ': stop or recall the excess'
FROM judged
WHERE channel_currency <> ours_currency
   OR ours + txn_others > channel_amount
   OR attempt_ours + attempt_others > attempt_captured
