-- REFUND_NOT_OWED: a refund instruction payrecon issued whose reason no
-- longer holds: a later export or a corrected file shows its payment's
-- order neither closed nor paid more than once (the order was paid after
-- all, or the other payment belongs to another order). The customer paid
-- once for what the order holds: stop or recall the refund. (A payment no
-- loaded file shows any more is REFUND_WITHOUT_PAYMENT instead.)
SELECT p.order_id, p.payment_id, i.channel_order_id, i.channel_txn_id, i.channel,
       NULL, NULL, i.amount_minor, i.currency, 0,
       'instruction ' || i.refund_request_id || ' of ' || i.business_day || ' refunds '
           || payrecon_money(i.amount_minor, i.currency) || ' ' || i.currency || ' as '
           || i.reason || ', but order ' || p.order_id
           || ' is now neither closed nor paid more than once: stop or recall the refund',
       i.refund_request_id
FROM judged_instruction i
JOIN paid p ON p.channel = i.channel AND p.channel_txn_id = i.channel_txn_id
           AND p.channel_order_id = i.channel_order_id
WHERE i.result IS NOT 'REJECTED' AND i.reissued_as IS NULL AND i.archived = 0
  AND p.order_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM closed_order c WHERE c.order_id = p.order_id)
  AND (SELECT count(*) FROM paid q WHERE q.order_id = p.order_id) < 2
