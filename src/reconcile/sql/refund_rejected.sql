-- REFUND_REJECTED: the refund job reported the instruction REJECTED
-- (`--refund-results`). It no longer counts as refunded, and payrecon does
-- not issue it again by itself: a person re-issues it
-- (`payrecon reissue REFUND_ID`) or refunds by hand.
SELECT i.order_id, i.payment_id, i.channel_order_id, i.channel_txn_id, i.channel,
       NULL, NULL, i.amount_minor, i.currency, 0,
       'the refund job rejected instruction ' || i.refund_request_id || ' ('
           || payrecon_money(i.amount_minor, i.currency) || ' ' || i.currency || ')'
           || CASE WHEN coalesce(i.result_message, '') = '' THEN ''
                   ELSE ': ' || i.result_message END
           || '; re-issue it with: payrecon reissue ' || i.refund_request_id,
       i.refund_request_id
FROM judged_instruction i
WHERE i.result = 'REJECTED' AND i.reissued_as IS NULL
