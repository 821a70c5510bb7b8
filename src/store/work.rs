//! Test support: how much of the database a piece of code reads, and a
//! ledger with a long history behind it, to check that what a run reads of
//! the ledgers does not grow with them.

use rusqlite::Connection;

/// The database pages `f` asked SQLite for (from its cache or not): the
/// work of reading, whatever the machine's speed. Unlike virtual-machine
/// steps it counts what a `count(*)` walks (one step for a whole table).
pub fn pages_read(conn: &Connection, f: impl FnOnce()) -> i64 {
    let read = |reset: bool| -> i64 {
        let mut total = 0;
        for op in [
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_HIT,
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS,
        ] {
            let (mut current, mut highest) = (0, 0);
            // SAFETY: the handle is this open connection's, and the call
            // only reads its counters into the two integers given.
            let status = unsafe {
                rusqlite::ffi::sqlite3_db_status(
                    conn.handle(),
                    op,
                    &mut current,
                    &mut highest,
                    i32::from(reset),
                )
            };
            assert_eq!(status, rusqlite::ffi::SQLITE_OK);
            total += i64::from(current);
        }
        total
    };
    read(true);
    f();
    read(false)
}

/// `days` days of history before 2026: each with `per_day` findings found
/// and resolved (two events each) and as many refund instructions, the
/// channel's rows long compacted (archived): confirmed, rejected, or
/// rejected and re-issued.
pub fn long_history(conn: &Connection, days: i64, per_day: i64) {
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1 * ?2),
         old(i, day) AS (SELECT i, date('2025-01-01', '+' || (i / ?2) || ' days') FROM n)
         INSERT INTO finding_item (finding_id, kind, subject, order_id, channel_order_id,
             channel_txn_id, channel, refund_minor, detail, first_seen, last_seen, state,
             resolved_on, resolved_by)
         SELECT 'FOLD' || i, 'AMOUNT_MISMATCH', 'old' || i, 'O' || i, 'C' || i, 'T' || i,
                'wechat', 0, '', day, day, 'RESOLVED', day, 'data'
         FROM old",
        [days, per_day],
    )
    .unwrap();
    conn.execute_batch(
        "INSERT INTO finding_event (finding_id, business_day, recorded_at, event, by_whom)
         SELECT finding_id, first_seen, first_seen || 'T08:00:00Z', event, 'data'
         FROM finding_item, (SELECT 'OPENED' AS event UNION ALL SELECT 'RESOLVED')
         WHERE finding_id LIKE 'FOLD%';
         INSERT INTO refund_instruction (refund_request_id, business_day, channel,
             channel_txn_id, channel_order_id, order_id, payment_id, amount_minor, currency,
             reason, result, reissued_as, archived)
         SELECT 'ROLD' || rowid, first_seen, 'wechat', 'T' || rowid, 'C' || rowid, 'O' || rowid,
                'P' || rowid, 100, 'CNY', 'DUPLICATE_PAYMENT',
                CASE rowid % 3 WHEN 0 THEN 'ACCEPTED' WHEN 1 THEN 'REJECTED' END,
                CASE WHEN rowid % 6 = 1 THEN 'ROLD' || rowid || 'B' END, 1
         FROM finding_item WHERE finding_id LIKE 'FOLD%';",
    )
    .unwrap();
}
