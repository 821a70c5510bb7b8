//! The day's report as one value: what every output file is made from.
//!
//! [`DayReport`] holds what is known before the findings are read (the
//! day's refund files, the control totals per channel, the 30-day trend)
//! and, once the findings have streamed past every output, the summary
//! figures. The findings themselves are not held here: a large day has
//! hundreds of thousands, so each output sees them one at a time
//! ([`super::Output::finding`]) and keeps what it needs.

use super::encoding::CsvEncoding;
use super::summary::Summary;
use crate::money::{exponent, format_minor};
use crate::reconcile::refunds::{self, RefundInstruction};
use crate::store::refund_files;
use anyhow::Result;
use rusqlite::Connection;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::Digest;
use std::collections::BTreeMap;

/// Everything the outputs are made from.
pub struct DayReport {
    pub business_day: String,
    pub refund_files: Vec<RefundBatch>,
    pub controls: Vec<ControlTotals>,
    pub trend: Vec<TrendDay>,
    /// How the human-facing CSVs are encoded.
    pub csv_encoding: CsvEncoding,
    /// Set once every finding has been read.
    pub summary: Option<Summary>,
}

impl DayReport {
    /// The summary figures: set by the run after the findings.
    pub fn summary(&self) -> &Summary {
        self.summary
            .as_ref()
            .expect("the summary is set before the outputs finish")
    }

    /// Every instruction issued for the day, over its refund files.
    pub fn instructions(&self) -> impl Iterator<Item = &RefundInstruction> {
        self.refund_files.iter().flat_map(|f| &f.instructions)
    }
}

/// One of the day's refund files, with its exact bytes.
pub struct RefundBatch {
    pub name: String,
    pub instructions: Vec<RefundInstruction>,
    pub bytes: Vec<u8>,
}

/// What summary.json and summary.md state of a refund file, so the refund
/// job can check the file it reads.
#[derive(Debug, Serialize)]
pub struct RefundFileFigures {
    pub name: String,
    pub rows: usize,
    pub totals: BTreeMap<String, String>,
    pub sha256: String,
}

impl RefundBatch {
    pub fn figures(&self) -> RefundFileFigures {
        let mut totals: BTreeMap<String, i64> = BTreeMap::new();
        for i in &self.instructions {
            *totals.entry(i.currency.clone()).or_default() += i.amount_minor;
        }
        RefundFileFigures {
            name: self.name.clone(),
            rows: self.instructions.len(),
            totals: totals
                .into_iter()
                .map(|(c, m)| (c.clone(), format_minor(m, &c)))
                .collect(),
            sha256: hex::encode(sha2::Sha256::digest(&self.bytes)),
        }
    }
}

/// One channel's settlement of the day in one currency, against the
/// internal export. Amounts in minor units of `currency`; fees exact in
/// major units (they may have more decimals than the currency).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlTotals {
    pub channel: String,
    pub currency: String,
    /// PAYMENT rows in the day's settlement files, and their sum (gross).
    pub payment_rows: i64,
    pub gross: i64,
    /// Those whose attempt has the same amount and currency.
    pub matched_rows: i64,
    pub matched_amount: i64,
    /// REFUND rows' sum.
    pub refunds: i64,
    pub fees: Decimal,
    /// Internal attempts of the day paid (SUCCESS) on this channel.
    pub internal_rows: i64,
    pub internal_total: i64,
}

impl ControlTotals {
    pub fn money(&self, minor: i64) -> Decimal {
        Decimal::new(minor, exponent(&self.currency))
    }

    /// An exact decimal in this currency, with at least its decimals.
    pub fn decimal(&self, value: Decimal) -> String {
        let mut value = value.normalize();
        let decimals = exponent(&self.currency);
        if value.scale() < decimals {
            value.rescale(decimals);
        }
        value.to_string()
    }

    /// Gross less refunds and fees.
    pub fn net(&self) -> Decimal {
        self.money(self.gross) - self.money(self.refunds) - self.fees
    }

    /// Gross settled less the internal total.
    pub fn difference(&self) -> i64 {
        self.gross - self.internal_total
    }

    /// Matched payment rows per payment row, in percent with one decimal
    /// (exact: rounded half up on the integer ratio).
    pub fn match_rate(&self) -> String {
        if self.payment_rows == 0 {
            return "-".to_string();
        }
        let per_mille = (self.matched_rows * 2000 + self.payment_rows) / (2 * self.payment_rows);
        format!("{}.{}%", per_mille / 10, per_mille % 10)
    }

    pub fn shown(&self) -> ControlShown {
        let m = |minor| format_minor(minor, &self.currency);
        ControlShown {
            channel: self.channel.clone(),
            currency: self.currency.clone(),
            payment_rows: self.payment_rows,
            matched_rows: self.matched_rows,
            gross: m(self.gross),
            matched_amount: m(self.matched_amount),
            refunds: m(self.refunds),
            fees: self.decimal(self.fees),
            net_settled: self.decimal(self.net()),
            internal_rows: self.internal_rows,
            internal_total: m(self.internal_total),
            difference: m(self.difference()),
            match_rate: self.match_rate(),
        }
    }
}

/// [`ControlTotals`] as summary.json states them: exact decimal text.
#[derive(Debug, Serialize)]
pub struct ControlShown {
    pub channel: String,
    pub currency: String,
    pub payment_rows: i64,
    pub matched_rows: i64,
    pub gross: String,
    pub matched_amount: String,
    pub refunds: String,
    pub fees: String,
    pub net_settled: String,
    pub internal_rows: i64,
    pub internal_total: String,
    pub difference: String,
    pub match_rate: String,
}

/// One day of the ledger's last 30.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrendDay {
    pub day: String,
    /// Items first seen that day.
    pub new: i64,
    /// Items resolved that day.
    pub resolved: i64,
    /// Items open at the end of that day.
    pub open: i64,
    /// Refund instructions issued for that day.
    pub refunds: i64,
}

/// The day's refund files, each with its bytes (from the database, so a
/// rerun writes the same).
pub fn refund_batches(conn: &Connection, business_day: &str) -> Result<Vec<RefundBatch>> {
    let mut files = Vec::new();
    for batch in refund_files::batches(conn, business_day)? {
        let instructions = refunds::for_batch(conn, business_day, batch)?;
        files.push(RefundBatch {
            name: refund_files::file_name(batch),
            bytes: super::refunds::to_csv(&instructions)?,
            instructions,
        });
    }
    Ok(files)
}

/// Control totals per channel and currency of the settlement files that
/// cover `business_day`, against the day's paid internal attempts.
///
/// Summed here, not by SQL's GROUP BY: SQLite sorts every row it groups,
/// and a day's million rows fall into a handful of groups. (Fees are exact
/// decimals, which SQL would sum as floats.)
pub fn control_totals(conn: &Connection, business_day: &str) -> Result<Vec<ControlTotals>> {
    let mut totals = Totals::default();
    // CROSS JOIN: the day's few files drive, their rows read by primary
    // key; left to itself SQLite walked every row ever loaded through an
    // index ordered by channel, with a table lookup per row.
    let mut stmt = conn.prepare(
        "SELECT s.channel, s.currency, s.kind = 'PAYMENT', s.fee, s.amount_minor,
                a.channel_order_id IS NOT NULL
         FROM loaded_file f
         CROSS JOIN settlement_row s ON s.file_id = f.file_id
         LEFT JOIN attempt a ON s.kind = 'PAYMENT' AND a.channel_order_id = s.channel_order_id
                            AND a.channel = s.channel AND a.currency = s.currency
                            AND a.amount_minor = s.amount_minor
         WHERE f.role = 'settlement' AND f.day = ?1 AND f.replaced_by IS NULL",
    )?;
    let mut rows = stmt.query([business_day])?;
    while let Some(r) = rows.next()? {
        let t = totals.entry(r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?);
        let amount: i64 = r.get(4)?;
        if r.get(2)? {
            t.payment_rows += 1;
            t.gross = sum(t, t.gross, amount)?;
            if r.get(5)? {
                t.matched_rows += 1;
                t.matched_amount = sum(t, t.matched_amount, amount)?;
            }
        } else {
            t.refunds = sum(t, t.refunds, amount)?;
        }
        if let Some(Ok(fee)) = r
            .get_ref(3)?
            .as_str_or_null()?
            .map(crate::money::parse_decimal)
        {
            t.fees += fee;
        }
    }
    // Only channels with a settlement file for the day are controlled.
    let covered: Vec<String> = totals.0.iter().map(|t| t.channel.clone()).collect();
    let mut stmt = conn.prepare(
        "SELECT channel, currency, amount_minor FROM attempt
         WHERE created_day = ?1 AND payment_status = 'SUCCESS'",
    )?;
    let mut rows = stmt.query([business_day])?;
    while let Some(r) = rows.next()? {
        let channel = r.get_ref(0)?.as_str()?;
        if !covered.iter().any(|c| c == channel) {
            continue;
        }
        let t = totals.entry(channel, r.get_ref(1)?.as_str()?);
        t.internal_rows += 1;
        t.internal_total = sum(t, t.internal_total, r.get(2)?)?;
    }
    let mut totals = totals.0;
    totals.sort_by(|a, b| (&a.channel, &a.currency).cmp(&(&b.channel, &b.currency)));
    Ok(totals)
}

/// `total + amount`, or an error past what 64 bits hold (as SQLite's sum()
/// fails there): a control figure is never a wrapped number.
fn sum(t: &ControlTotals, total: i64, amount: i64) -> Result<i64> {
    total.checked_add(amount).ok_or_else(|| {
        anyhow::anyhow!(
            "the control totals of {} {} are beyond what payrecon can add up (more than {} in minor units)",
            t.channel,
            t.currency,
            i64::MAX
        )
    })
}

/// The control totals being summed: a handful, so a list searched in turn
/// (no key allocated per row).
#[derive(Default)]
struct Totals(Vec<ControlTotals>);

impl Totals {
    fn entry(&mut self, channel: &str, currency: &str) -> &mut ControlTotals {
        let found = self
            .0
            .iter()
            .position(|t| t.channel == channel && t.currency == currency);
        let at = found.unwrap_or_else(|| {
            self.0.push(ControlTotals {
                channel: channel.to_string(),
                currency: currency.to_string(),
                ..Default::default()
            });
            self.0.len() - 1
        });
        &mut self.0[at]
    }
}

/// The ledger's last 30 days up to `business_day`, oldest first.
pub fn trend(conn: &Connection, business_day: &str) -> Result<Vec<TrendDay>> {
    let Ok(end) = chrono::NaiveDate::parse_from_str(business_day, "%Y-%m-%d") else {
        return Ok(Vec::new());
    };
    let start = end - chrono::Days::new(29);
    let start_text = start.format("%Y-%m-%d").to_string();
    let counts = |sql: &str| -> Result<BTreeMap<String, i64>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([&start_text, business_day], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let new = counts(
        "SELECT first_seen, count(*) FROM finding_item
         WHERE first_seen BETWEEN ?1 AND ?2 GROUP BY first_seen",
    )?;
    let resolved = counts(
        "SELECT resolved_on, count(*) FROM finding_item
         WHERE state = 'RESOLVED' AND resolved_on BETWEEN ?1 AND ?2 GROUP BY resolved_on",
    )?;
    let issued = counts(
        "SELECT business_day, count(*) FROM refund_instruction
         WHERE business_day BETWEEN ?1 AND ?2 GROUP BY business_day",
    )?;
    // Open at the start: first seen before the window, not resolved before
    // it (still open, resolved since, or by a person not reported yet).
    // Three index ranges, none over the whole ledger.
    let mut open: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM finding_item
                 WHERE state = 'OPEN' AND first_seen < ?1)
              + (SELECT count(*) FROM finding_item
                 WHERE state = 'RESOLVED' AND resolved_on >= ?1 AND first_seen < ?1)
              + (SELECT count(*) FROM finding_item
                 WHERE state = 'RESOLVED' AND resolved_on = '' AND first_seen < ?1)",
        [&start_text],
        |r| r.get(0),
    )?;
    let mut days = Vec::with_capacity(30);
    for day in start.iter_days().take(30) {
        let day = day.format("%Y-%m-%d").to_string();
        let n = new.get(&day).copied().unwrap_or_default();
        let r = resolved.get(&day).copied().unwrap_or_default();
        open += n - r;
        days.push(TrendDay {
            new: n,
            resolved: r,
            open,
            refunds: issued.get(&day).copied().unwrap_or_default(),
            day,
        });
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trend counts the items open at its window's start from three
    /// index ranges; they must count what the plain definition counts
    /// (first seen before the window, not resolved before it), over items
    /// in every state: open, resolved before, in or after the window, and
    /// resolved by a person not reported yet ('').
    #[test]
    fn the_trend_starts_from_the_items_open_then() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        let days = [
            "2026-09-01",
            "2026-10-15",
            "2026-10-31",
            "2026-11-01",
            "2026-11-20",
        ];
        let mut n = 0;
        for first_seen in days {
            for (state, resolved_on) in [
                ("OPEN", None),
                ("RESOLVED", Some("")),
                ("RESOLVED", Some("2026-10-20")),
                ("RESOLVED", Some("2026-10-31")),
                ("RESOLVED", Some("2026-11-01")),
                ("RESOLVED", Some("2026-11-25")),
            ] {
                if resolved_on.is_some_and(|r| !r.is_empty() && r < first_seen) {
                    continue;
                }
                n += 1;
                conn.execute(
                    "INSERT INTO finding_item (finding_id, kind, subject, refund_minor, detail,
                         first_seen, last_seen, state, resolved_on)
                     VALUES (?1, 'AMOUNT_MISMATCH', ?1, 0, '', ?2, ?2, ?3, ?4)",
                    rusqlite::params![format!("F{n}"), first_seen, state, resolved_on],
                )
                .unwrap();
            }
        }
        // The window of 2026-11-30 starts on 2026-11-01.
        let plain: i64 = conn
            .query_row(
                "SELECT count(*) FROM finding_item
                 WHERE first_seen < '2026-11-01'
                   AND NOT (state = 'RESOLVED' AND resolved_on <> ''
                            AND resolved_on < '2026-11-01')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let days = trend(&conn, "2026-11-30").unwrap();
        assert_eq!(days[0].day, "2026-11-01");
        // Per day before the window: open, a person's not reported yet, resolved
        // on or after its first day.
        assert_eq!(plain, 12);
        assert_eq!(days[0].open, plain + days[0].new - days[0].resolved);
    }

    /// Summed in Rust, the control totals equal SQL's plain GROUP BY over
    /// the day's current files: several channels and currencies, payments
    /// matched or not (other amount, other currency, no attempt), refunds,
    /// fees with more decimals than the currency, missing and unreadable
    /// fees, a replaced file, another day, and internal attempts of other
    /// statuses, days and uncovered channels.
    #[test]
    fn control_totals_sum_what_a_grouping_sums() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        let files = [
            (1, "wechat", "2026-11-21", None),
            (4, "alipay", "2026-11-21", None),
            (2, "alipay", "2026-11-21", Some(4)),
            (3, "stripe", "2026-11-20", None),
        ];
        for (id, channel, day, replaced_by) in files {
            conn.execute(
                "INSERT INTO loaded_file (file_id, identity, sha256, role, path, format, channel,
                     day, rows, business_day, replaced_by)
                 VALUES (?1, ?1, '', 'settlement', '', 'csv', ?2, ?3, 0, ?3, ?4)",
                rusqlite::params![id, channel, day, replaced_by],
            )
            .unwrap();
        }
        let fees = [Some("0.06"), None, Some("0.0125"), Some("n/a"), Some("1")];
        let mut line = 0;
        for (file, channel) in [(1, "wechat"), (2, "alipay"), (3, "stripe"), (4, "alipay")] {
            for i in 0..40_i64 {
                line += 1;
                let currency = if i % 7 == 0 { "USD" } else { "CNY" };
                let kind = if i % 5 == 0 { "REFUND" } else { "PAYMENT" };
                conn.execute(
                    "INSERT INTO settlement_row (file_id, line, channel, channel_txn_id,
                         channel_order_id, kind, amount_minor, fee, currency, transacted_at,
                         refund_id)
                     VALUES (?1, ?2, ?3, ?2, ?4, ?5, ?6, ?7, ?8, 0, '')",
                    rusqlite::params![
                        file,
                        line,
                        channel,
                        format!("A{}", i % 30),
                        kind,
                        100 + i,
                        fees[i as usize % fees.len()],
                        currency
                    ],
                )
                .unwrap();
            }
        }
        for i in 0..30_i64 {
            let channel = ["wechat", "alipay", "stripe", "bank"][i as usize % 4];
            let status = if i % 6 == 0 { "FAILED" } else { "SUCCESS" };
            let day = if i % 11 == 0 {
                "2026-11-20"
            } else {
                "2026-11-21"
            };
            let amount = if i % 3 == 0 { 100 + i + 1 } else { 100 + i };
            conn.execute(
                "INSERT INTO attempt (channel_order_id, order_id, payment_id, channel,
                     amount_minor, currency, order_status, payment_status, created_at,
                     created_day, file_id, line)
                 VALUES (?1, ?1, ?1, ?2, ?3, 'CNY', 'PAID', ?4, 0, ?5, 1, 0)",
                rusqlite::params![format!("A{i}"), channel, amount, status, day],
            )
            .unwrap();
        }
        type Group = (String, String, String, String, i64, i64, i64, i64);
        let grouped: Vec<Group> = conn
            .prepare(
                "SELECT s.channel, s.currency, s.kind, coalesce(s.fee, ''), count(*),
                        sum(s.amount_minor), sum(a.channel_order_id IS NOT NULL),
                        sum(CASE WHEN a.channel_order_id IS NOT NULL THEN s.amount_minor
                                 ELSE 0 END)
                 FROM loaded_file f JOIN settlement_row s ON s.file_id = f.file_id
                 LEFT JOIN attempt a ON s.kind = 'PAYMENT'
                      AND a.channel_order_id = s.channel_order_id AND a.channel = s.channel
                      AND a.currency = s.currency AND a.amount_minor = s.amount_minor
                 WHERE f.role = 'settlement' AND f.day = '2026-11-21'
                   AND f.replaced_by IS NULL
                 GROUP BY 1, 2, 3, 4",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut expected: BTreeMap<(String, String), ControlTotals> = BTreeMap::new();
        for (channel, currency, kind, fee, count, sum, matched, matched_sum) in grouped {
            let t = expected
                .entry((channel.clone(), currency.clone()))
                .or_insert_with(|| ControlTotals {
                    channel,
                    currency,
                    ..Default::default()
                });
            if kind == "PAYMENT" {
                t.payment_rows += count;
                t.gross += sum;
                t.matched_rows += matched;
                t.matched_amount += matched_sum;
            } else {
                t.refunds += sum;
            }
            if let Ok(fee) = crate::money::parse_decimal(&fee) {
                t.fees += fee * Decimal::from(count);
            }
        }
        let internal: Vec<(String, String, i64, i64)> = conn
            .prepare(
                "SELECT channel, currency, count(*), sum(amount_minor) FROM attempt
                 WHERE created_day = '2026-11-21' AND payment_status = 'SUCCESS'
                   AND channel IN ('wechat', 'alipay')
                 GROUP BY channel, currency",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for (channel, currency, rows, total) in internal {
            let t = expected.get_mut(&(channel, currency)).unwrap();
            t.internal_rows += rows;
            t.internal_total += total;
        }
        let expected: Vec<ControlTotals> = expected.into_values().collect();
        let summed = control_totals(&conn, "2026-11-21").unwrap();
        assert_eq!(summed, expected);
        // The case is not empty: both channels, matched and unmatched
        // payments, refunds, fees and internal attempts all counted.
        assert_eq!(summed.len(), 4);
        let wechat = summed
            .iter()
            .find(|t| t.channel == "wechat" && t.currency == "CNY");
        let wechat = wechat.unwrap();
        assert!(wechat.matched_rows > 0 && wechat.matched_rows < wechat.payment_rows);
        assert!(wechat.refunds > 0 && wechat.fees > Decimal::ZERO && wechat.internal_rows > 0);
    }

    /// A sum past 64 bits fails the run (as SQLite's sum() did), never a
    /// wrapped, negative figure in the report.
    #[test]
    fn control_totals_past_64_bits_are_an_error() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO loaded_file (file_id, identity, sha256, role, path, format, channel,
                 day, rows, business_day)
             VALUES (1, 'f', '', 'settlement', '', 'csv', 'wechat', '2026-11-21', 2,
                     '2026-11-21');
             INSERT INTO settlement_row (file_id, line, channel, channel_txn_id,
                 channel_order_id, kind, amount_minor, currency, transacted_at, refund_id)
             VALUES (1, 2, 'wechat', 'T1', 'C1', 'PAYMENT', 6000000000000000000, 'CNY', 0, ''),
                    (1, 3, 'wechat', 'T2', 'C2', 'PAYMENT', 6000000000000000000, 'CNY', 0, '');",
        )
        .unwrap();
        let err = control_totals(&conn, "2026-11-21").unwrap_err();
        assert!(err.to_string().contains("wechat CNY"), "{err}");
    }

    #[test]
    fn control_figures_are_exact() {
        let t = ControlTotals {
            channel: "wechat".into(),
            currency: "CNY".into(),
            payment_rows: 3,
            gross: 30_000,
            matched_rows: 2,
            matched_amount: 20_000,
            refunds: 1_000,
            fees: "1.806".parse().unwrap(),
            internal_rows: 3,
            internal_total: 29_999,
        };
        assert_eq!(t.net().to_string(), "288.194");
        assert_eq!(t.match_rate(), "66.7%");
        assert_eq!(t.shown().difference, "0.01");
    }
}
