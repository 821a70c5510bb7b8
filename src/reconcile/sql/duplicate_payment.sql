-- DUPLICATE_PAYMENT: an order not CLOSED/CANCELLED has 2+ successful channel
-- payments (over all its payment orders and channels). Keep one: the attempt
-- internally SUCCESS, else the earliest transacted_at, tie: smallest
-- channel_txn_id; refund each other its unrefunded amount.
-- Payments already fully refunded (by the channel or by an earlier
-- instruction of ours) are never the one kept: keeping a payment whose money
-- went back while refunding the live one would refund the whole order.
-- Nothing is refunded until every payment of the order is settled
-- (is_settled, see `refundable` in prepare.sql): the finding says it waits.
WITH live AS (
    SELECT * FROM refundable
    WHERE closed_as IS NULL AND payments_of_order >= 2
),
ranked AS (
    SELECT *,
           row_number() OVER keep_first AS keep_rank,
           first_value(channel || ' ' || channel_txn_id) OVER keep_first AS kept,
           min(is_settled) OVER whole_order AS all_settled
    FROM live
    -- One sort serves both windows: whole_order is keep_first's partition.
    WINDOW keep_first AS (
        PARTITION BY order_id
        ORDER BY unrefunded = 0, pending_ours > 0, payment_status = 'SUCCESS' DESC,
                 transacted_at, channel_txn_id, channel, channel_order_id),
    whole_order AS (keep_first ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       internal_amount, internal_currency, channel_amount, channel_currency,
       CASE WHEN all_settled THEN unrefunded ELSE 0 END,
       'order paid ' || payments_of_order || ' times; keeping ' || kept
           || CASE WHEN all_settled THEN '' ELSE
              '; the refund waits until the settlement files of every payment''s day and ?lag day(s) after are loaded' END
           || CASE WHEN txn_conflict THEN
              '; not refunded automatically: its transaction id names other payment rows (CHANNEL_ID_CONFLICT), ask the channel' ELSE '' END
FROM ranked
WHERE keep_rank > 1 AND refunded_by_channel < channel_amount
