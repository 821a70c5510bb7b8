-- PAID_AFTER_CLOSE: a successful channel payment for an order CLOSED or
-- CANCELLED. Refund its unrefunded amount (every such payment).
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       internal_amount, internal_currency, channel_amount, channel_currency, unrefunded,
       'order is ' || order_status || ' but the channel took the payment'
FROM paid
WHERE order_status IN ('CLOSED', 'CANCELLED') AND refunded_by_channel < channel_amount
