-- CHANNEL_ID_CONFLICT: one channel transaction id on payment rows with
-- other content (another order key, amount or currency). Both rows are kept
-- and matched as payments of their own orders (a repeated id does not hide
-- a payment), but an id should name one payment: ask the channel. The same
-- row seen twice (a file and its T+1 neighbour) is not a conflict.
WITH conflicted AS MATERIALIZED (
    SELECT channel, channel_txn_id FROM paid
    GROUP BY channel, channel_txn_id
    HAVING count(*) > 1 OR max(variants) > 1
),
variant AS (
    SELECT s.channel, s.channel_txn_id, s.channel_order_id, s.amount_minor, s.currency,
           min(s.file_id * 4294967296 + s.line) AS position
    FROM settlement_row s
    -- Constant, so checked once: no scan at all when nothing conflicts.
    WHERE EXISTS (SELECT 1 FROM conflicted)
      AND s.kind = 'PAYMENT'
      AND (s.channel, s.channel_txn_id) IN (SELECT channel, channel_txn_id FROM conflicted)
    GROUP BY s.channel, s.channel_txn_id, s.channel_order_id, s.amount_minor, s.currency
),
shown AS (
    SELECT v.*, f.path || ' line ' || (v.position % 4294967296) || ' (order '
               || v.channel_order_id || ', ' || payrecon_money(v.amount_minor, v.currency)
               || ' ' || v.currency || ')' AS place
    FROM variant v
    JOIN loaded_file f ON f.file_id = v.position / 4294967296
    ORDER BY v.channel, v.channel_txn_id, v.position
)
SELECT min(p.order_id), min(p.payment_id), s.channel_order_id, s.channel_txn_id, s.channel,
       NULL, NULL, s.amount_minor, s.currency, 0,
       'transaction id ' || s.channel_txn_id || ' names ' || count(*)
           || ' different payment rows: ' || group_concat(s.place, '; ') || '; ask the channel'
FROM shown s
LEFT JOIN paid p ON p.channel = s.channel AND p.channel_txn_id = s.channel_txn_id
                AND p.channel_order_id = s.channel_order_id
GROUP BY s.channel, s.channel_txn_id
