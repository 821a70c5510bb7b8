-- CURRENCY_MISMATCH: a matched attempt whose currency differs from the
-- channel's. Amounts in two currencies are not compared.
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       internal_amount, internal_currency, channel_amount, channel_currency, 0,
       'internal currency ' || internal_currency || ', channel currency ' || channel_currency
FROM paid
WHERE order_id IS NOT NULL AND internal_currency <> channel_currency
