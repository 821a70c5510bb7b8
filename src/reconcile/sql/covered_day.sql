-- An attempt of day D on channel C is covered when C's settlement files for
-- D through D + settle lag (?lag days) are all loaded: only then can its
-- absence from the channel's files mean anything.
CREATE TEMP TABLE covered_day AS
WITH loaded AS (
    SELECT DISTINCT channel, day FROM loaded_file
    WHERE role = 'settlement' AND replaced_by IS NULL
)
SELECT l.channel, l.day
FROM loaded l
WHERE (SELECT count(*) FROM loaded m
       WHERE m.channel = l.channel AND m.day BETWEEN l.day AND date(l.day, '+?lag days')) = ?lag + 1;

-- A channel payment is settled when its attempt's day is covered on its
-- channel: only then are the refunds the channel made that day or within
-- the lag known (a T+1 file may repeat a payment without its refund), so
-- only then is a refund decided for it or for its order.
DROP TABLE IF EXISTS temp.settled;
CREATE TEMP TABLE settled AS
SELECT p.channel, p.channel_txn_id
FROM paid p
JOIN attempt a ON a.channel_order_id = p.channel_order_id
JOIN covered_day c ON c.channel = p.channel AND c.day = a.created_day;
CREATE INDEX temp.settled_key ON settled(channel, channel_txn_id);
