-- UNKNOWN_RESOLVED_PAID: attempt PROCESSING/UNKNOWN, the channel shows it
-- paid. Mark it paid (duplicate and paid-after-close rules still apply).
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       internal_amount, internal_currency, channel_amount, channel_currency, 0,
       'attempt is ' || payment_status || ' internally, the channel shows it paid'
FROM paid
WHERE payment_status IN ('PROCESSING', 'UNKNOWN')
