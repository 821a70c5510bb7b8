-- MISSING_IN_CHANNEL: attempt SUCCESS internally, no channel payment
-- although its day (plus the settle lag) is covered. Investigate.
SELECT a.order_id, a.payment_id, a.channel_order_id, '', a.channel,
       a.amount_minor, a.currency, NULL, NULL, 0,
       'SUCCESS internally; no payment in the ' || a.channel || ' files from ' || a.created_day
FROM attempt a
JOIN covered_day c ON c.channel = a.channel AND c.day = a.created_day
WHERE a.payment_status = 'SUCCESS'
  AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.channel_order_id = a.channel_order_id)
  -- An attempt re-sent for a day whose rows were compacted away is not judged.
  AND NOT EXISTS (SELECT 1 FROM compacted_day d WHERE d.channel = a.channel AND d.day = a.created_day)
