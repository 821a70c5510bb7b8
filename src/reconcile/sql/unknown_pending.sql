-- UNKNOWN_PENDING: attempt PROCESSING/UNKNOWN, no channel payment yet, and
-- its day is not covered yet. Query the channel; carried to the next run.
SELECT a.order_id, a.payment_id, a.channel_order_id, '', a.channel,
       a.amount_minor, a.currency, NULL, NULL, 0,
       'attempt is ' || a.payment_status || '; waiting for the ' || a.channel || ' files of '
           || a.created_day || ' through ' || date(a.created_day, '+?lag days')
FROM judged_attempt a
WHERE a.payment_status IN ('PROCESSING', 'UNKNOWN')
  AND NOT EXISTS (SELECT 1 FROM covered_day c WHERE c.channel = a.channel AND c.day = a.created_day)
  AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.channel_order_id = a.channel_order_id)
