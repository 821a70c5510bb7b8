-- UNMATCHED_CHANNEL: a channel payment whose channel_order_id is in no
-- export. Investigate; never refunded automatically (it may be another
-- system's money).
SELECT '', '', channel_order_id, channel_txn_id, channel,
       NULL, NULL, channel_amount, channel_currency, 0,
       'no export has this channel_order_id'
FROM paid
WHERE order_id IS NULL
