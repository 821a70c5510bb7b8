-- DROPPED_PAYMENT (掉单): the attempt is FAILED/CLOSED internally, the channel
-- shows it paid, and the order is not closed. Fix the internal state.
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       internal_amount, internal_currency, channel_amount, channel_currency, 0,
       'attempt is ' || payment_status || ' internally, the channel shows it paid'
FROM paid
WHERE payment_status IN ('FAILED', 'CLOSED')
  AND order_id NOT IN (SELECT order_id FROM closed_order)
