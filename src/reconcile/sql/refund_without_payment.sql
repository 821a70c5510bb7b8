-- REFUND_WITHOUT_PAYMENT: a refund instruction payrecon issued whose payment
-- no loaded file shows any more (a corrected file removed the payment, or
-- gave it another transaction id). The money may go back for nothing: stop
-- or recall the refund.
SELECT i.order_id, i.payment_id, i.channel_order_id, i.channel_txn_id, i.channel,
       NULL, NULL, i.amount_minor, i.currency, 0,
       'instruction ' || i.refund_request_id || ' of ' || i.business_day || ' refunds '
           || payrecon_money(i.amount_minor, i.currency) || ' ' || i.currency
           || ' of a payment no loaded file shows any more: stop or recall the refund',
       i.refund_request_id
FROM judged_instruction i
WHERE i.result IS NOT 'REJECTED' AND i.archived = 0
  AND NOT EXISTS (SELECT 1 FROM paid p
                  WHERE p.channel = i.channel AND p.channel_txn_id = i.channel_txn_id)
