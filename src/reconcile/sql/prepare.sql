-- Working tables for one classification, rebuilt by every run from what it
-- judges: the `judged_*` views (reconcile/scope.rs) are everything loaded, or
-- the scope the run's changes reach, closed under the keys joined here. `paid` is the heart: one row per channel payment, joined to
-- its attempt (if any); `refundable` adds what is already refunded to the
-- few payments the refund rules judge.
DROP TABLE IF EXISTS temp.payment;
DROP TABLE IF EXISTS temp.channel_refund;
DROP TABLE IF EXISTS temp.refund_state;
DROP TABLE IF EXISTS temp.refundable;
DROP TABLE IF EXISTS temp.paid;
DROP TABLE IF EXISTS temp.closed_order;

-- The orders CLOSED or CANCELLED. An order's status is the one on its most
-- recently loaded row, except that a row still OPEN never masks a later
-- status: statuses move forward (as in the attempt merge), so an older
-- export loaded after a newer one cannot reopen a closed order. Only an
-- order with a closed or cancelled row can be closed, and the rules ask no
-- more of an order's status than whether it is, so only those few orders
-- are grouped.
CREATE TEMP TABLE closed_order (order_id TEXT PRIMARY KEY, order_status TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO closed_order
SELECT order_id, order_status
FROM (SELECT order_id, order_status,
             max((order_status <> 'OPEN') * 4611686018427387904 + file_id * 4294967296 + line)
      FROM judged_attempt
      WHERE order_id IN (SELECT order_id FROM judged_attempt
                         WHERE order_status IN ('CLOSED', 'CANCELLED'))
      GROUP BY order_id)
WHERE order_status IN ('CLOSED', 'CANCELLED');

-- One row per channel payment: a payment repeated in two files counts once.
-- A payment is its channel, transaction id and order key: a transaction id
-- repeated for another order is another payment (channels do repeat them),
-- which the CHANNEL_ID_CONFLICT rule reports. The amount and time are the
-- first row's (min() makes the other columns come from that row: it must
-- stay the only min() or max() here); `variants` counts the different
-- (amount, currency) pairs seen under the same key.
CREATE TEMP TABLE payment AS
SELECT channel, channel_txn_id, channel_order_id, amount_minor, currency, transacted_at,
       min(file_id * 4294967296 + line) AS first_position,
       payrecon_variants(amount_minor, currency) AS variants
FROM judged_settlement_row
WHERE kind = 'PAYMENT'
-- (+channel: sorted, not walked through an index and its table lookups.)
GROUP BY +channel, channel_txn_id, channel_order_id;
CREATE INDEX temp.payment_by_order ON payment(channel_order_id);

-- Refunds the channel reports, each refund once: by its refund_id, or for
-- a row without one by its amount, currency and time (`unnamed_refund`), so
-- the next day's file repeating it (the T+1 file) does not count it twice,
-- while two such rows in one file are two refunds (the k-th of them in one
-- file is the k-th in another).
CREATE TEMP TABLE channel_refund AS
SELECT channel, channel_txn_id, refund_id, currency, max(amount_minor) AS amount_minor,
       channel_order_id
FROM (SELECT *,
             CASE WHEN refund_id = '' THEN
                 transacted_at || ' ' || amount_minor || ' ' || currency || ' #'
                 || row_number() OVER (PARTITION BY channel, channel_txn_id, file_id,
                                                    transacted_at, amount_minor, currency
                                       ORDER BY line)
             END AS unnamed_refund
      FROM judged_settlement_row
      WHERE kind = 'REFUND')
GROUP BY +channel, channel_txn_id, refund_id, unnamed_refund;
CREATE INDEX temp.channel_refund_key ON channel_refund(channel, channel_txn_id, refund_id);
CREATE INDEX temp.channel_refund_by_order ON channel_refund(channel, channel_order_id);

-- What is already refunded, per payment, in one row (one lookup per
-- payment): the channel's refunds, the currencies they are in, and
-- payrecon's own instructions the channel has not reported yet (they count
-- as refunded, or a rerun would refund twice).
CREATE TEMP TABLE refund_state (
    channel TEXT, channel_txn_id TEXT, refunded INTEGER, currency_low TEXT, currency_high TEXT,
    pending INTEGER, PRIMARY KEY (channel, channel_txn_id)) WITHOUT ROWID;
INSERT INTO refund_state
SELECT channel, channel_txn_id, sum(refunded), min(currency), max(currency), sum(pending)
FROM (SELECT channel, channel_txn_id, amount_minor AS refunded, currency, 0 AS pending
      FROM channel_refund
      UNION ALL
      SELECT i.channel, i.channel_txn_id, 0, NULL, i.amount_minor
      FROM judged_instruction i
      -- A rejected instruction moved no money.
      WHERE i.result IS NOT 'REJECTED'
        AND NOT EXISTS (
          SELECT 1 FROM channel_refund r
          WHERE r.channel = i.channel AND r.channel_txn_id = i.channel_txn_id
            AND r.refund_id = i.refund_request_id))
GROUP BY channel, channel_txn_id;

-- Keyed by the payment: `payment` is read in that order (its GROUP BY), so
-- the rows go in appended, and refunds find their payment without a
-- separate index. What is refunded is not looked up here: only the refund
-- rules need it, for the few payments they judge (`refundable` below).
CREATE TEMP TABLE paid (
    channel TEXT NOT NULL, channel_txn_id TEXT NOT NULL, channel_order_id TEXT,
    transacted_at INTEGER, channel_amount INTEGER, channel_currency TEXT,
    order_id TEXT, payment_id TEXT, payment_status TEXT, internal_amount INTEGER,
    internal_currency TEXT, created_day TEXT, variants INTEGER,
    PRIMARY KEY (channel, channel_txn_id, channel_order_id)) WITHOUT ROWID;
INSERT INTO paid
SELECT p.channel, p.channel_txn_id, p.channel_order_id, p.transacted_at,
       p.amount_minor, p.currency,
       a.order_id, a.payment_id, a.payment_status, a.amount_minor, a.currency, a.created_day,
       p.variants
FROM payment p
LEFT JOIN attempt a ON a.channel_order_id = p.channel_order_id;
CREATE INDEX temp.paid_by_order ON paid(order_id);

-- The payments the refund rules judge, each with what is already refunded
-- of it: those of an order closed or cancelled (paid_after_close.sql) and
-- those of an order paid more than once (duplicate_payment.sql). Few
-- payments are either, so only they are looked up in refund_state.
CREATE TEMP TABLE refundable (
    channel TEXT NOT NULL, channel_txn_id TEXT NOT NULL, channel_order_id TEXT,
    transacted_at INTEGER, channel_amount INTEGER, channel_currency TEXT,
    order_id TEXT, payment_id TEXT, payment_status TEXT, internal_amount INTEGER,
    -- CLOSED or CANCELLED when the order is (closed_order), else NULL.
    internal_currency TEXT, closed_as TEXT, payments_of_order INTEGER,
    refunded_by_channel INTEGER, pending_ours INTEGER, unrefunded INTEGER, is_settled INTEGER,
    -- Its transaction id names other payment rows too (CHANNEL_ID_CONFLICT):
    -- which money a refund by that id would return is the channel's to say.
    txn_conflict INTEGER,
    PRIMARY KEY (channel, channel_txn_id, channel_order_id)) WITHOUT ROWID;
INSERT INTO refundable
WITH multi AS MATERIALIZED (
    SELECT order_id, count(*) AS payments FROM paid WHERE order_id IS NOT NULL
    GROUP BY order_id HAVING count(*) >= 2
),
chosen_payment AS MATERIALIZED (
    SELECT p.*, m.payments FROM multi m JOIN paid p ON p.order_id = m.order_id
    UNION ALL
    -- CROSS JOIN keeps the few closed orders as the outer loop.
    SELECT p.*, 1 FROM closed_order c CROSS JOIN paid p ON p.order_id = c.order_id
    WHERE c.order_id NOT IN (SELECT order_id FROM multi)
),
chosen AS MATERIALIZED (
    SELECT p.*,
           p.variants > 1 OR EXISTS (SELECT 1 FROM paid q
                                     WHERE q.channel = p.channel
                                       AND q.channel_txn_id = p.channel_txn_id
                                       AND q.channel_order_id <> p.channel_order_id)
               AS txn_conflict
    FROM chosen_payment p
),
-- What is left of each chosen payment's attempt (channel_order_id), in the
-- payment's currency: its payments, less every instruction of ours for the
-- attempt (reported by the channel or not) and every channel refund of the
-- attempt that is not ours (found by the refund row's order key or by the
-- transaction it refunds). A refund is capped by this as well as by what is
-- left of its transaction: a corrected file that gives a refunded payment
-- another transaction id cannot have it refunded twice.
attempt AS MATERIALIZED (
    SELECT DISTINCT channel, channel_order_id, order_id, channel_currency FROM chosen
),
attempt_captured AS (
    SELECT a.channel, a.channel_order_id, a.channel_currency, sum(q.channel_amount) AS captured
    FROM attempt a
    JOIN paid q ON q.order_id = a.order_id AND q.channel = a.channel
               AND q.channel_order_id = a.channel_order_id
               AND q.channel_currency = a.channel_currency
    GROUP BY a.channel, a.channel_order_id, a.channel_currency
),
attempt_ours AS (
    SELECT a.channel, a.channel_order_id, a.channel_currency, sum(i.amount_minor) AS ours
    FROM attempt a
    JOIN refund_instruction i ON i.channel = a.channel AND i.channel_order_id = a.channel_order_id
                             AND i.currency = a.channel_currency
                             AND i.result IS NOT 'REJECTED'
    GROUP BY a.channel, a.channel_order_id, a.channel_currency
),
attempt_channel_refund AS (
    SELECT a.channel, a.channel_order_id, a.channel_currency, r.channel_txn_id, r.refund_id,
           r.amount_minor, r.currency
    FROM attempt a
    JOIN channel_refund r ON r.channel = a.channel AND r.channel_order_id = a.channel_order_id
    UNION
    SELECT a.channel, a.channel_order_id, a.channel_currency, r.channel_txn_id, r.refund_id,
           r.amount_minor, r.currency
    FROM attempt a
    JOIN paid q ON q.order_id = a.order_id AND q.channel = a.channel
               AND q.channel_order_id = a.channel_order_id
    JOIN channel_refund r ON r.channel = q.channel AND r.channel_txn_id = q.channel_txn_id
),
attempt_others AS (
    SELECT channel, channel_order_id, channel_currency,
           -- A refund in another currency cannot be compared: nothing is left.
           sum(CASE WHEN currency = channel_currency THEN amount_minor ELSE 1e18 END) AS others
    FROM attempt_channel_refund r
    -- Ours are counted above, but for a rejected one: a refund the channel
    -- made under its id is money gone all the same.
    WHERE NOT EXISTS (SELECT 1 FROM refund_instruction i
                      WHERE i.refund_request_id = r.refund_id AND i.result IS NOT 'REJECTED')
    GROUP BY channel, channel_order_id, channel_currency
),
attempt_left AS (
    SELECT a.channel, a.channel_order_id, a.channel_currency,
           coalesce(c.captured, 0) - coalesce(o.ours, 0) - coalesce(x.others, 0) AS left_of_attempt
    FROM attempt a
    LEFT JOIN attempt_captured c USING (channel, channel_order_id, channel_currency)
    LEFT JOIN attempt_ours o USING (channel, channel_order_id, channel_currency)
    LEFT JOIN attempt_others x USING (channel, channel_order_id, channel_currency)
)
SELECT p.channel, p.channel_txn_id, p.channel_order_id, p.transacted_at,
       p.channel_amount, p.channel_currency, p.order_id, p.payment_id, p.payment_status,
       p.internal_amount, p.internal_currency, closed.order_status, p.payments,
       CASE WHEN rs.currency_low = p.channel_currency AND rs.currency_high = p.channel_currency
            THEN rs.refunded ELSE 0 END,
       coalesce(rs.pending, 0),
       -- A channel refund in another currency than its payment cannot be
       -- subtracted from it: nothing is refunded automatically then.
       CASE WHEN rs.currency_low <> p.channel_currency OR rs.currency_high <> p.channel_currency
            THEN 0
            -- Nor for a payment whose transaction id is in conflict: a
            -- refund job refunds by that id, which may name the payment
            -- kept, or a row seen with another amount.
            WHEN p.txn_conflict THEN 0
            ELSE max(0, min(p.channel_amount - coalesce(rs.refunded, 0) - coalesce(rs.pending, 0),
                            CAST(al.left_of_attempt AS INTEGER)))
       END,
       -- A payment is settled when its attempt's day is covered on its
       -- channel (covered_day.sql): only then are the refunds the channel
       -- made that day or within the lag known (a T+1 file may repeat a
       -- payment without its refund), so only then is a refund decided for
       -- it or for its order.
       EXISTS (SELECT 1 FROM covered_day c WHERE c.channel = p.channel AND c.day = p.created_day),
       p.txn_conflict
FROM chosen p
JOIN attempt_left al ON al.channel = p.channel AND al.channel_order_id = p.channel_order_id
                    AND al.channel_currency = p.channel_currency
LEFT JOIN closed_order closed ON closed.order_id = p.order_id
LEFT JOIN refund_state rs ON rs.channel = p.channel AND rs.channel_txn_id = p.channel_txn_id
ORDER BY p.channel, p.channel_txn_id, p.channel_order_id;
