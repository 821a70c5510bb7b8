-- PAID_AFTER_CLOSE: a successful channel payment for an order CLOSED or
-- CANCELLED. Refund its unrefunded amount (every such payment).
-- Nothing is refunded until the payment is settled (is_settled, see
-- `refundable` in prepare.sql).
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       internal_amount, internal_currency, channel_amount, channel_currency,
       CASE WHEN is_settled THEN unrefunded ELSE 0 END,
       'order is ' || closed_as || ' but the channel took the payment'
           || CASE WHEN NOT is_settled THEN
              '; the refund waits until the settlement files of its day and ?lag day(s) after are loaded' ELSE '' END
           || CASE WHEN txn_conflict THEN
              '; not refunded automatically: its transaction id names other payment rows (CHANNEL_ID_CONFLICT), ask the channel' ELSE '' END
FROM refundable
WHERE closed_as IS NOT NULL AND refunded_by_channel < channel_amount
