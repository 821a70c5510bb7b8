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
    -- Looked up in the indexed table, not in `ours` (a materialized CTE
    -- has no index: each lookup would scan every instruction). The
    -- instructions of a judged refund's transaction or attempt are judged
    -- too (reconcile/scope.rs), so this finds what `ours` would.
    WHERE NOT EXISTS (SELECT 1 FROM refund_instruction i
                      WHERE i.refund_request_id = r.refund_id
                        AND i.result IS NOT 'REJECTED' AND i.archived = 0)
      AND (EXISTS (SELECT 1 FROM refund_instruction i
                   WHERE i.channel = r.channel AND i.channel_txn_id = r.channel_txn_id
                     AND i.result IS NOT 'REJECTED' AND i.archived = 0)
           OR EXISTS (SELECT 1 FROM refund_instruction i
                      WHERE i.channel = r.channel AND i.channel_order_id = r.channel_order_id
                        AND i.result IS NOT 'REJECTED' AND i.archived = 0))
),
-- Summed once per transaction and per attempt, then joined (a correlated
-- sum over `others` per instruction scanned it every time).
others_by_txn AS MATERIALIZED (
    SELECT channel, channel_txn_id, currency, sum(amount_minor) AS amount
    FROM others GROUP BY channel, channel_txn_id, currency
),
others_by_attempt AS MATERIALIZED (
    SELECT channel, channel_order_id, currency, sum(amount_minor) AS amount
    FROM others GROUP BY channel, channel_order_id, currency
),
instructed_by_txn AS MATERIALIZED (
    SELECT i.channel, i.channel_txn_id, i.currency, sum(i.amount_minor) AS instructed,
           group_concat(i.refund_request_id, ' ') AS ids,
           min(i.channel_order_id) AS channel_order_id, min(i.order_id) AS order_id,
           min(i.payment_id) AS payment_id
    FROM ours i
    WHERE EXISTS (SELECT 1 FROM paid p
                  WHERE p.channel = i.channel AND p.channel_txn_id = i.channel_txn_id)
    GROUP BY i.channel, i.channel_txn_id, i.currency
),
instructed_by_attempt AS MATERIALIZED (
    SELECT i.channel, i.channel_order_id, i.currency, sum(i.amount_minor) AS instructed,
           group_concat(i.refund_request_id, ' ') AS ids,
           min(i.channel_txn_id) AS channel_txn_id, min(i.order_id) AS order_id,
           min(i.payment_id) AS payment_id
    FROM ours i
    WHERE EXISTS (SELECT 1 FROM paid p
                  WHERE p.channel = i.channel AND p.channel_txn_id = i.channel_txn_id)
    GROUP BY i.channel, i.channel_order_id, i.currency
),
by_txn AS (
    SELECT g.*,
           (SELECT sum(p.channel_amount) FROM paid p
            WHERE p.channel = g.channel AND p.channel_txn_id = g.channel_txn_id
              AND p.channel_currency = g.currency) AS captured,
           coalesce(o.amount, 0) AS other_refunds
    FROM instructed_by_txn g
    LEFT JOIN others_by_txn o ON o.channel = g.channel AND o.channel_txn_id = g.channel_txn_id
                             AND o.currency = g.currency
),
by_attempt AS (
    SELECT g.*,
           coalesce((SELECT sum(q.amount_minor) FROM payment q
                     WHERE q.channel_order_id = g.channel_order_id AND q.channel = g.channel
                       AND q.currency = g.currency), 0) AS captured,
           coalesce(o.amount, 0) AS other_refunds
    FROM instructed_by_attempt g
    LEFT JOIN others_by_attempt o ON o.channel = g.channel
                                 AND o.channel_order_id = g.channel_order_id
                                 AND o.currency = g.currency
)
-- The refunds (ours and the channel's others) stand as the internal amount
-- against what was captured: the excess is what is at stake.
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       instructed + other_refunds, currency, captured, currency, 0,
       'instructions ' || ids || ' refund ' || payrecon_money(instructed, currency) || ' '
           || currency || '; with the channel''s other refunds ('
           || payrecon_money(other_refunds, currency) || ') that is more than transaction '
           || channel_txn_id || ' captured (' || payrecon_money(coalesce(captured, 0), currency)
           || ' ' || currency || '): stop or recall the excess'
FROM by_txn
WHERE captured IS NULL OR instructed + other_refunds > captured
UNION ALL
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       instructed + other_refunds, currency, captured, currency, 0,
       'instructions ' || ids || ' refund ' || payrecon_money(instructed, currency) || ' '
           || currency || '; with the channel''s other refunds ('
           || payrecon_money(other_refunds, currency) || ') that is more than attempt '
           || channel_order_id || ' captured (' || payrecon_money(captured, currency)
           || ' ' || currency || '): stop or recall the excess'
FROM by_attempt
WHERE instructed + other_refunds > captured
