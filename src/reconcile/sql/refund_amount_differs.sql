-- REFUND_AMOUNT_DIFFERS: the channel confirms an instruction (a REFUND row
-- carrying its refund_request_id) for another amount or currency than was
-- instructed. Find out which is right before anything else moves.
SELECT i.order_id, i.payment_id, i.channel_order_id, i.channel_txn_id, i.channel,
       i.amount_minor, i.currency, r.amount_minor, r.currency, 0,
       'instruction ' || i.refund_request_id || ' refunds '
           || payrecon_money(i.amount_minor, i.currency) || ' ' || i.currency
           || ', the channel refunded ' || payrecon_money(r.amount_minor, r.currency) || ' '
           || r.currency,
       i.refund_request_id
FROM judged_instruction i
JOIN channel_refund r ON r.channel = i.channel AND r.channel_txn_id = i.channel_txn_id
                     AND r.refund_id = i.refund_request_id
WHERE (r.amount_minor <> i.amount_minor OR r.currency <> i.currency) AND i.archived = 0
