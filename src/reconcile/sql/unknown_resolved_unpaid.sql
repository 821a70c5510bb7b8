-- UNKNOWN_RESOLVED_UNPAID: attempt PROCESSING/UNKNOWN, no channel payment,
-- and its day plus the settle lag is covered. Close the attempt.
SELECT a.order_id, a.payment_id, a.channel_order_id, '', a.channel,
       a.amount_minor, a.currency, NULL, NULL, 0,
       'attempt is ' || a.payment_status || '; no payment in the ' || a.channel || ' files from ' || a.created_day
FROM attempt a
JOIN covered_day c ON c.channel = a.channel AND c.day = a.created_day
WHERE a.payment_status IN ('PROCESSING', 'UNKNOWN')
  AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.channel_order_id = a.channel_order_id)
  AND NOT EXISTS (SELECT 1 FROM compacted_day d WHERE d.channel = a.channel AND d.day = a.created_day)
