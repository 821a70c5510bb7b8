//! The state database's schema, as an append-only list of migrations tracked
//! by `PRAGMA user_version` (cargo's pattern). Never edit or remove an entry:
//! add a new one.

use anyhow::{Context, Result};
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r#"
-- Every input file ever loaded. `identity` is the content hash (plus, for a
-- settlement file, the channel and day its name gives: two header-only files
-- for different days have the same bytes but are not the same file).
-- Loading the same identity again is a no-op. A settlement file covers one
-- (channel, day); a corrected file for the same channel day replaces the
-- earlier one (replaced_by).
CREATE TABLE loaded_file (
    file_id      INTEGER PRIMARY KEY,
    identity     TEXT NOT NULL UNIQUE,
    sha256       TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('orders', 'settlement')),
    path         TEXT NOT NULL,
    format       TEXT NOT NULL,
    channel      TEXT,
    day          TEXT,
    rows         INTEGER NOT NULL,
    -- Rows read but deliberately not loaded (payouts, fees…), by type:
    -- 'payout 2; fee 1'.
    skipped      TEXT NOT NULL DEFAULT '',
    business_day TEXT NOT NULL,
    replaced_by  INTEGER REFERENCES loaded_file(file_id)
);
CREATE UNIQUE INDEX loaded_file_current_day ON loaded_file(channel, day)
    WHERE role = 'settlement' AND replaced_by IS NULL;

-- Channel attempts from the internal export, the latest known version of
-- each (a later export supersedes an earlier row). Times: UTC microseconds.
CREATE TABLE attempt (
    channel_order_id TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL,
    payment_id       TEXT NOT NULL,
    channel          TEXT NOT NULL,
    amount_minor     INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    order_status     TEXT NOT NULL,
    payment_status   TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    created_day      TEXT NOT NULL,
    expires_at       INTEGER,
    closed_at        INTEGER,
    paid_at          INTEGER,
    file_id          INTEGER NOT NULL REFERENCES loaded_file(file_id),
    line             INTEGER NOT NULL
) WITHOUT ROWID;
-- An order's status is the one on its most recently loaded row: this index
-- answers that without touching the table.
CREATE INDEX attempt_by_order ON attempt(order_id, file_id, line, order_status);
-- The few undecided attempts, for the UNKNOWN_* rules.
CREATE INDEX attempt_undecided ON attempt(channel, created_day)
    WHERE payment_status IN ('PROCESSING', 'UNKNOWN');

-- Rows of settlement files, canonical form. Rows of a replaced file are
-- deleted with it.
CREATE TABLE settlement_row (
    file_id          INTEGER NOT NULL REFERENCES loaded_file(file_id),
    line             INTEGER NOT NULL,
    channel          TEXT NOT NULL,
    channel_txn_id   TEXT NOT NULL,
    channel_order_id TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('PAYMENT', 'REFUND')),
    amount_minor     INTEGER NOT NULL CHECK (amount_minor > 0),
    fee              TEXT,
    currency         TEXT NOT NULL,
    transacted_at    INTEGER NOT NULL,
    refund_id        TEXT NOT NULL,
    PRIMARY KEY (file_id, line)
) WITHOUT ROWID;
CREATE INDEX settlement_row_by_txn ON settlement_row(channel, channel_txn_id, kind);

-- Refund instructions payrecon has issued, each once, for one business day.
CREATE TABLE refund_instruction (
    refund_request_id TEXT PRIMARY KEY,
    business_day      TEXT NOT NULL,
    channel           TEXT NOT NULL,
    channel_txn_id    TEXT NOT NULL,
    channel_order_id  TEXT NOT NULL,
    order_id          TEXT NOT NULL,
    payment_id        TEXT NOT NULL,
    amount_minor      INTEGER NOT NULL CHECK (amount_minor > 0),
    currency          TEXT NOT NULL,
    reason            TEXT NOT NULL
);
CREATE INDEX refund_instruction_by_txn ON refund_instruction(channel, channel_txn_id);
CREATE INDEX refund_instruction_by_day ON refund_instruction(business_day);

-- The outputs of the last run for each business day, and the state they
-- were computed from (state_key): a rerun over a state nothing has changed
-- since writes these bytes again instead of classifying everything anew.
CREATE TABLE day_output (
    business_day TEXT NOT NULL,
    name         TEXT NOT NULL,
    state_key    TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    PRIMARY KEY (business_day, name)
) WITHOUT ROWID;

-- The business day each finding was first reported, so the report can tell
-- new findings from ones still open.
CREATE TABLE finding_seen (
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (kind, subject)
) WITHOUT ROWID;
"#,
    r#"
-- Business days whose outputs a run renamed into place after its commit.
-- A day with refund instructions and no row here was committed by a run
-- killed before it published: its refunds.csv was never written, and later
-- runs say so until the day is rerun. Days already in the database when this
-- table was added are taken as published.
CREATE TABLE published_day (
    business_day TEXT PRIMARY KEY,
    out_dir      TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO published_day SELECT DISTINCT business_day, '' FROM refund_instruction;
"#,
    r#"
-- Classification reads every attempt and every settlement row on each run:
-- one scan and a sort (on the sorter's threads) is cheaper than walking
-- these indexes, which also had to be written for every loaded row and were
-- 30 % of the database.
DROP INDEX attempt_by_order;
DROP INDEX settlement_row_by_txn;
"#,
    r#"
-- A day's outputs are no longer kept here, only their SHA-256: the bytes
-- grew the database by every day's report, forever, and were held in memory.
-- A rerun over an unchanged state reuses the published files when they are
-- intact. (Dropping the old rows only means the next run of those days
-- computes their outputs again, with the same bytes.)
DROP TABLE day_output;
CREATE TABLE day_output (
    business_day TEXT NOT NULL,
    name         TEXT NOT NULL,
    state_key    TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    PRIMARY KEY (business_day, name)
) WITHOUT ROWID;
"#,
    r#"
-- A day's instructions are published in batches: batch 1 is the day's
-- refunds.csv, batch N its refunds-N.csv. A batch is closed once a run has
-- committed a file of it (even an empty one): instructions issued later for
-- the same day go into the next batch, so a refund file, once out, never
-- changes (a refund job that read it never sees its rows again elsewhere).
ALTER TABLE refund_instruction ADD COLUMN batch INTEGER NOT NULL DEFAULT 1;
-- Refunds are capped per attempt too: its instructions, by its order key.
CREATE INDEX refund_instruction_by_attempt ON refund_instruction(channel, channel_order_id);

-- Each refund file a committed run staged: where, with which bytes, and
-- whether it is known to be in place. A run killed between its commit and
-- the rename leaves `published = 0`; the next run finds the file missing
-- and writes it (its bytes follow from the database), or says loudly that
-- it could not. Days from before this table: published when published_day
-- says so, else unpublished with no known path.
CREATE TABLE refund_file (
    business_day TEXT NOT NULL,
    batch        INTEGER NOT NULL,
    path         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    rows         INTEGER NOT NULL,
    published    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (business_day, batch, path)
) WITHOUT ROWID;
INSERT INTO refund_file
SELECT business_day, 1, '', '', count(*),
       business_day IN (SELECT business_day FROM published_day)
FROM refund_instruction GROUP BY business_day;
"#,
    r#"
-- The findings ledger: each finding is a lasting item with a stable id
-- (from its kind and subject), the business days it was first and last
-- seen, its state (OPEN, or RESOLVED by the data or by a person) and the
-- facts it was last decided on. `finding_seen` stays for upgrades: an item
-- first recorded now keeps a first_seen from it.
CREATE TABLE finding_item (
    finding_id        TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    subject           TEXT NOT NULL,
    order_id          TEXT,
    payment_id        TEXT,
    channel_order_id  TEXT,
    channel_txn_id    TEXT,
    channel           TEXT,
    internal_amount   INTEGER,
    internal_currency TEXT,
    channel_amount    INTEGER,
    channel_currency  TEXT,
    refund_minor      INTEGER NOT NULL,
    detail            TEXT NOT NULL,
    first_seen        TEXT NOT NULL,
    last_seen         TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('OPEN', 'RESOLVED')),
    -- The business day it was resolved ('' while a person's resolution
    -- waits for the next run to report it), by 'data' or a person's name.
    resolved_on       TEXT,
    resolved_by       TEXT,
    resolved_at       TEXT,
    note              TEXT
) WITHOUT ROWID;
CREATE INDEX finding_item_by_state ON finding_item(state, resolved_on);

-- Every change of an item, in order: OPENED, CHANGED (other facts),
-- RESOLVED (by the data or a person), REOPENED.
CREATE TABLE finding_event (
    finding_id   TEXT NOT NULL,
    business_day TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    event        TEXT NOT NULL,
    by_whom      TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX finding_event_by_item ON finding_event(finding_id);

-- The refund job's answer for an instruction (ACCEPTED or REJECTED, with its
-- message), and the instruction a person re-issued it as. A REJECTED
-- instruction no longer counts as refunded, and is not issued again by
-- itself. A re-issued instruction waits with business_day '' until the
-- next run files it.
ALTER TABLE refund_instruction ADD COLUMN result TEXT;
ALTER TABLE refund_instruction ADD COLUMN result_message TEXT;
ALTER TABLE refund_instruction ADD COLUMN reissued_as TEXT;
ALTER TABLE refund_instruction ADD COLUMN reissue_of TEXT;
"#,
    r#"
-- Retention: the channel days whose rows were compacted away (every finding
-- on them closed, every instruction on them settled). Their loaded_file
-- rows stay (a re-sent file is still recognised), and the ledgers stay
-- whole; an instruction whose payment's rows are gone is archived, so no
-- rule takes it for a refund without a payment.
CREATE TABLE compacted_day (
    channel TEXT NOT NULL,
    day     TEXT NOT NULL,
    PRIMARY KEY (channel, day)
) WITHOUT ROWID;
ALTER TABLE refund_instruction ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- Every `payrecon run` (issue 12, `payrecon history`): recorded at its
-- start in a small transaction of its own, before the run's one
-- transaction, and its outcome after it ends, so a failed run (whose data
-- changes roll back) is still in the history. outcome: 'running' (a row
-- left so by a killed run: its pid is gone), 'committed' or 'failed'.
-- inputs: JSON array of the files given (path, role, and for a committed
-- run format, rows, sha256); counts: JSON object (new, open, resolved,
-- refunds).
CREATE TABLE run_log (
    run_id       INTEGER PRIMARY KEY,
    started_at   TEXT NOT NULL,
    ended_at     TEXT,
    pid          INTEGER NOT NULL,
    version      TEXT NOT NULL,
    business_day TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('running', 'committed', 'failed')),
    exit_status  INTEGER,
    error        TEXT,
    inputs       TEXT NOT NULL DEFAULT '[]',
    counts       TEXT NOT NULL DEFAULT '{}'
);
"#,
    r#"
-- What explains an instruction's amount, as the rule saw it when issuing
-- it: the payment captured, what the channel had refunded of it, and what
-- payrecon had instructed for it that the channel had not reported yet.
-- NULL for instructions issued before payrecon kept them.
ALTER TABLE refund_instruction ADD COLUMN captured_minor INTEGER;
ALTER TABLE refund_instruction ADD COLUMN channel_refunded_minor INTEGER;
ALTER TABLE refund_instruction ADD COLUMN instructed_before_minor INTEGER;
"#,
    r#"
-- Incremental judgement (issue 11): a run judges only what its changes can
-- reach. The keys it follows from a changed row to everything judged with
-- it: an attempt's order, an order's attempts, an attempt's settlement rows
-- and instructions, a transaction's rows and instructions.
CREATE INDEX attempt_by_order ON attempt(order_id);
-- Each with the other key, so following one key to the other reads the
-- index alone.
CREATE INDEX settlement_row_by_order ON settlement_row(channel_order_id, channel, channel_txn_id);
CREATE INDEX settlement_row_by_txn ON settlement_row(channel, channel_txn_id, channel_order_id);
-- The few rows no attempt key reaches (refunds without an order id).
CREATE INDEX settlement_row_without_order ON settlement_row(channel, channel_txn_id)
    WHERE channel_order_id = '';
-- The channel refunds, for the count of those still waiting for their payment.
CREATE INDEX settlement_row_refunds ON settlement_row(channel, channel_txn_id, refund_id)
    WHERE kind = 'REFUND';
CREATE INDEX refund_instruction_by_order ON refund_instruction(channel_order_id);
-- What the last judgement was made with: a run whose rules or settings
-- differ judges everything again. business_day: the day it judged as of.
CREATE TABLE judgement_basis (
    one                 INTEGER PRIMARY KEY CHECK (one = 1),
    rules               TEXT NOT NULL,
    settle_lag_days     INTEGER NOT NULL,
    refund_confirm_days INTEGER NOT NULL,
    business_day        TEXT NOT NULL
);
-- Attempts whose judgement changes when their day becomes covered (no
-- payment yet, or a refund that waits for the day): judged again then.
CREATE TABLE awaiting_coverage (
    channel_order_id TEXT PRIMARY KEY,
    created_day      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX awaiting_coverage_by_day ON awaiting_coverage(created_day);
-- Attempts a command outside a run changed (a refund re-issued, a refund
-- job's results): the next run judges them again.
CREATE TABLE rejudge (channel_order_id TEXT PRIMARY KEY) WITHOUT ROWID;
-- The last file loaded when a day was compacted: attempts loaded later for
-- that day are not judged (their payments may be compacted away); those it
-- kept are judged as before, so compacting changes no decision. Days
-- compacted before this column: every attempt counts as later, as then.
ALTER TABLE compacted_day ADD COLUMN through_file_id INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- A run's cost must not grow with the findings ledger. Items are stored in
-- the order they are recorded (a rowid table; the id is a unique index), so
-- a day's new items are appended instead of scattered by their hashed ids
-- across every page of the ledger; and the trend (the last 30 days of new,
-- resolved and open items) counts from indexes alone.
CREATE TABLE finding_item_in_order (
    finding_id        TEXT NOT NULL PRIMARY KEY,
    kind              TEXT NOT NULL,
    subject           TEXT NOT NULL,
    order_id          TEXT,
    payment_id        TEXT,
    channel_order_id  TEXT,
    channel_txn_id    TEXT,
    channel           TEXT,
    internal_amount   INTEGER,
    internal_currency TEXT,
    channel_amount    INTEGER,
    channel_currency  TEXT,
    refund_minor      INTEGER NOT NULL,
    detail            TEXT NOT NULL,
    first_seen        TEXT NOT NULL,
    last_seen         TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('OPEN', 'RESOLVED')),
    resolved_on       TEXT,
    resolved_by       TEXT,
    resolved_at       TEXT,
    note              TEXT
);
INSERT INTO finding_item_in_order SELECT * FROM finding_item ORDER BY first_seen, finding_id;
DROP TABLE finding_item;
ALTER TABLE finding_item_in_order RENAME TO finding_item;
CREATE INDEX finding_item_by_state ON finding_item(state, resolved_on, first_seen);
CREATE INDEX finding_item_by_first_seen ON finding_item(first_seen);
"#,
    r#"
-- Nothing to change in the tables: from here a database's first judgement
-- may leave settlement_row_by_txn aside too (FOLLOW_INDEXES), and only a
-- payrecon that knows so builds it before judging by it. The version says
-- so: an older payrecon refuses this database rather than judge it by a
-- scan of every settlement row per transaction.
"#,
    r#"
-- The ledgers are kept forever, so what a run reads of them must not grow
-- with them (a year of mornings would pay for every row each time).
--
-- Whether anything changed since a day's outputs were made (store::cache)
-- is the ledgers' last rowids (instructions and events are only appended)
-- plus this clock, which ticks at every change to an instruction (the
-- refund job's results, a re-issue, archiving) and at any removal.
CREATE TABLE ledger_clock (id INTEGER PRIMARY KEY CHECK (id = 1), ticks INTEGER NOT NULL);
INSERT INTO ledger_clock VALUES (1, 0);
CREATE TRIGGER refund_instruction_changed AFTER UPDATE ON refund_instruction
WHEN OLD.refund_request_id IS NOT NEW.refund_request_id
  OR OLD.business_day IS NOT NEW.business_day OR OLD.batch IS NOT NEW.batch
  OR OLD.channel IS NOT NEW.channel OR OLD.channel_txn_id IS NOT NEW.channel_txn_id
  OR OLD.channel_order_id IS NOT NEW.channel_order_id OR OLD.order_id IS NOT NEW.order_id
  OR OLD.payment_id IS NOT NEW.payment_id OR OLD.amount_minor IS NOT NEW.amount_minor
  OR OLD.currency IS NOT NEW.currency OR OLD.reason IS NOT NEW.reason
  OR OLD.result IS NOT NEW.result OR OLD.result_message IS NOT NEW.result_message
  OR OLD.reissued_as IS NOT NEW.reissued_as OR OLD.reissue_of IS NOT NEW.reissue_of
  OR OLD.archived IS NOT NEW.archived OR OLD.captured_minor IS NOT NEW.captured_minor
  OR OLD.channel_refunded_minor IS NOT NEW.channel_refunded_minor
  OR OLD.instructed_before_minor IS NOT NEW.instructed_before_minor
BEGIN
    UPDATE ledger_clock SET ticks = ticks + 1;
END;
CREATE TRIGGER refund_instruction_removed AFTER DELETE ON refund_instruction
BEGIN
    UPDATE ledger_clock SET ticks = ticks + 1;
END;
CREATE TRIGGER finding_event_removed AFTER DELETE ON finding_event
BEGIN
    UPDATE ledger_clock SET ticks = ticks + 1;
END;
CREATE TRIGGER finding_event_changed AFTER UPDATE ON finding_event
BEGIN
    UPDATE ledger_clock SET ticks = ticks + 1;
END;

-- Where the refunds stand (refunds::states): an archived instruction's
-- state is settled (compaction archives only confirmed or rejected ones),
-- so archived instructions are counted once, here, per issue day and
-- state, and only the instructions still in flight are read each time.
CREATE TABLE refund_archive_tally (
    business_day TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('confirmed', 'rejected', 'reissued')),
    n            INTEGER NOT NULL,
    PRIMARY KEY (business_day, state)
) WITHOUT ROWID;
INSERT INTO refund_archive_tally
SELECT business_day,
       CASE WHEN reissued_as IS NOT NULL THEN 'reissued'
            WHEN result IS 'REJECTED' THEN 'rejected'
            ELSE 'confirmed' END,
       count(*)
FROM refund_instruction WHERE archived = 1 GROUP BY 1, 2;
CREATE TRIGGER refund_archive_tally_out AFTER UPDATE ON refund_instruction
WHEN OLD.archived = 1
BEGIN
    UPDATE refund_archive_tally SET n = n - 1
    WHERE business_day = OLD.business_day
      AND state = CASE WHEN OLD.reissued_as IS NOT NULL THEN 'reissued'
                       WHEN OLD.result IS 'REJECTED' THEN 'rejected'
                       ELSE 'confirmed' END;
END;
CREATE TRIGGER refund_archive_tally_in AFTER UPDATE ON refund_instruction
WHEN NEW.archived = 1
BEGIN
    INSERT INTO refund_archive_tally
    SELECT NEW.business_day,
           CASE WHEN NEW.reissued_as IS NOT NULL THEN 'reissued'
                WHEN NEW.result IS 'REJECTED' THEN 'rejected'
                ELSE 'confirmed' END,
           1
    WHERE true
    ON CONFLICT (business_day, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER refund_archive_tally_gone AFTER DELETE ON refund_instruction
WHEN OLD.archived = 1
BEGIN
    UPDATE refund_archive_tally SET n = n - 1
    WHERE business_day = OLD.business_day
      AND state = CASE WHEN OLD.reissued_as IS NOT NULL THEN 'reissued'
                       WHEN OLD.result IS 'REJECTED' THEN 'rejected'
                       ELSE 'confirmed' END;
END;
CREATE TRIGGER refund_archive_tally_new AFTER INSERT ON refund_instruction
WHEN NEW.archived = 1
BEGIN
    INSERT INTO refund_archive_tally
    SELECT NEW.business_day,
           CASE WHEN NEW.reissued_as IS NOT NULL THEN 'reissued'
                WHEN NEW.result IS 'REJECTED' THEN 'rejected'
                ELSE 'confirmed' END,
           1
    WHERE true
    ON CONFLICT (business_day, state) DO UPDATE SET n = n + 1;
END;
CREATE INDEX refund_instruction_in_flight ON refund_instruction(business_day)
    WHERE archived = 0;
-- A run links the instructions a person released for re-issue
-- (reissued_as = '') to what it issued: the few released ones drive.
CREATE INDEX refund_instruction_released ON refund_instruction(channel, channel_order_id)
    WHERE reissued_as = '';
"#,
];

/// The indexes only an incremental judgement reads: they follow a changed
/// row's keys to everything judged with it (`reconcile::scope`). A one-off
/// day does without them: the first judgement of a database leaves them
/// aside ([`super::bulk::SetAside`]), and the next run builds them
/// ([`ensure_follow_indexes`]), which costs what keeping them up to date
/// during its load would have. (`explain` and compaction use them too, and
/// scan without them: on a one-day database, a scan of one day; compaction
/// builds them first, as it looks a transaction's rows up per instruction.)
/// A full judgement asks what they answer of its working tables instead
/// (`reconcile::refunds_without_payment`). Each is created with the text
/// migration 10 created it with, so the stored definition is the same
/// however the index came to be.
pub const FOLLOW_INDEXES: &[(&str, &str)] = &[
    (
        "attempt_by_order",
        "CREATE INDEX attempt_by_order ON attempt(order_id)",
    ),
    (
        "settlement_row_by_order",
        "CREATE INDEX settlement_row_by_order ON settlement_row(channel_order_id, channel, channel_txn_id)",
    ),
    (
        "settlement_row_by_txn",
        "CREATE INDEX settlement_row_by_txn ON settlement_row(channel, channel_txn_id, channel_order_id)",
    ),
];

/// Builds the [`FOLLOW_INDEXES`] that are missing; says whether it built any.
pub fn ensure_follow_indexes(conn: &Connection) -> Result<bool> {
    let mut built = false;
    for (name, sql) in FOLLOW_INDEXES {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if !exists {
            conn.execute_batch(sql)
                .with_context(|| format!("building index {name}"))?;
            built = true;
        }
    }
    Ok(built)
}

/// The schema version this payrecon writes (its number of migrations).
pub fn version() -> usize {
    MIGRATIONS.len()
}

/// Brings the database to the newest schema, one transaction per migration.
/// Each takes the write lock first and reads the version under it, so two
/// runs opening a new database at once never apply the same migration twice.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: usize = tx
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .context("reading the schema version")? as usize;
        anyhow::ensure!(
            current <= MIGRATIONS.len(),
            "the database has schema version {current}, newer than this payrecon knows ({}); use a newer payrecon",
            MIGRATIONS.len()
        );
        let Some(sql) = MIGRATIONS.get(current) else {
            return Ok(());
        };
        tx.execute_batch(sql)
            .with_context(|| format!("applying schema migration {}", current + 1))?;
        tx.pragma_update(None, "user_version", (current + 1) as i64)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database from before `published_day` takes its days as published:
    /// upgrading raises no warning for days a person already handled; a day
    /// whose instructions were committed but never published stays so.
    #[test]
    fn upgrading_takes_earlier_days_as_published() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO refund_instruction VALUES ('PR1', '2026-11-20', 'wechat', 'T1', 'C1', 'O1', 'P1', 100, 'CNY', 'DUPLICATE_PAYMENT')",
            [],
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO refund_instruction VALUES ('PR2', '2026-11-21', 'wechat', 'T2', 'C2', 'O2', 'P2', 100, 'CNY', 'DUPLICATE_PAYMENT')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let unpublished = crate::store::refund_files::unpublished(&conn).unwrap();
        assert_eq!(unpublished.len(), 1, "{unpublished:?}");
        assert_eq!(unpublished[0].business_day, "2026-11-21");
        assert_eq!(unpublished[0].path, "");
    }
}
