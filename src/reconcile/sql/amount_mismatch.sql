-- AMOUNT_MISMATCH: a matched attempt whose amount differs from the channel's
-- (in the same currency; a different currency is a CURRENCY_MISMATCH).
SELECT order_id, payment_id, channel_order_id, channel_txn_id, channel,
       internal_amount, internal_currency, channel_amount, channel_currency, 0,
       'internal amount differs from the channel amount'
FROM paid
WHERE order_id IS NOT NULL AND internal_currency = channel_currency
  AND internal_amount <> channel_amount
