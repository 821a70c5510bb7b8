-- REFUND_NOT_CONFIRMED: an instruction issued ?confirm_days or more days
-- before the latest business day judged (this one, or a later one judged
-- before: a day judged again keeps what was due) that no channel file
-- confirms yet: no REFUND row
-- carries its refund_request_id, nor (where a row carries no merchant
-- refund number) refunds the same transaction by the same amount. Chase the
-- refund job and the channel. (One whose payment is gone is
-- REFUND_WITHOUT_PAYMENT instead; a rejected one REFUND_REJECTED.)
SELECT i.order_id, i.payment_id, i.channel_order_id, i.channel_txn_id, i.channel,
       NULL, NULL, i.amount_minor, i.currency, 0,
       'instruction ' || i.refund_request_id || ' of ' || i.business_day || ' ('
           || payrecon_money(i.amount_minor, i.currency) || ' ' || i.currency
           || ') is not confirmed by any channel file after ?confirm_days day(s)',
       i.refund_request_id
FROM judged_instruction i
WHERE i.business_day <> '' AND i.business_day <= date('?clock', '-?confirm_days days')
  AND i.result IS NOT 'REJECTED' AND i.reissued_as IS NULL AND i.archived = 0
  AND NOT EXISTS (SELECT 1 FROM channel_refund r
                  WHERE r.channel = i.channel AND r.channel_txn_id = i.channel_txn_id
                    AND (r.refund_id = i.refund_request_id
                         OR (r.refund_id = '' AND r.amount_minor = i.amount_minor)))
  AND EXISTS (SELECT 1 FROM paid p
              WHERE p.channel = i.channel AND p.channel_txn_id = i.channel_txn_id)
