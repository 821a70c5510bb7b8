-- UNKNOWN_RESOLVED_UNPAID: attempt PROCESSING/UNKNOWN, no channel payment,
-- and its day plus the settle lag is covered. Close the attempt.
SELECT a.order_id, a.payment_id, a.channel_order_id, '', a.channel,
       a.amount_minor, a.currency, NULL, NULL, 0,
       'attempt is ' || a.payment_status || '; no payment in the ' || a.channel || ' files from ' || a.created_day
FROM judged_attempt a
-- (+: the attempts drive; covered_day is looked up, not walked by day.)
JOIN covered_day c ON c.channel = +a.channel AND c.day = +a.created_day
WHERE a.payment_status IN ('PROCESSING', 'UNKNOWN')
  AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.channel_order_id = a.channel_order_id)
  -- An attempt loaded after its day was compacted is not judged (its
  -- payments may be gone with the day); those the compaction kept are.
  AND NOT EXISTS (SELECT 1 FROM compacted_day d
                  WHERE d.channel = a.channel AND d.day = a.created_day
                    AND a.file_id > d.through_file_id)
