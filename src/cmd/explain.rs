//! `payrecon explain KEY`: one order's whole story, in time order: its
//! attempts (the latest version of each, with the file and line it came
//! from), the channel's rows, every finding with its changes, every refund
//! instruction with its lifecycle, and the rule behind each decision in one
//! line of plain words. Reads the database only.

use super::table::{Table, csv};
use super::{DbArgs, OutputFormat};
use crate::money::format_minor;
use crate::timestamp;
use anyhow::Result;
use chrono_tz::Tz;
use clap::Args;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// An order_id, payment_id, channel_order_id, channel_txn_id,
    /// finding_id or refund_request_id.
    #[arg(value_name = "KEY")]
    pub key: String,
    /// table (fits 100 columns), json or csv.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `explain --format json` (stable field names).
#[derive(Debug, Serialize)]
pub struct Story {
    pub key: String,
    pub order_ids: Vec<String>,
    pub channel_order_ids: Vec<String>,
    /// In time order: the data's own times (attempts, channel rows) on
    /// their local day, then what runs recorded on each business day.
    pub timeline: Vec<Event>,
    /// Per channel payment: what was decided and the rule, in plain words.
    pub decisions: Vec<Decision>,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct Event {
    /// The local day (data) or business day (runs).
    pub day: String,
    /// The local time of a data event (RFC 3339), "" for run events.
    pub time: String,
    /// attempt, paid, closed, channel_row, finding, refund.
    pub event: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Decision {
    pub channel: String,
    pub channel_txn_id: String,
    pub decision: String,
}

/// Which ids a key is, for the unknown-key message.
const KEY_QUERIES: &[&str] = &[
    "SELECT order_id FROM attempt WHERE order_id = ?1 OR payment_id = ?1 OR channel_order_id = ?1",
    "SELECT a.order_id FROM settlement_row s JOIN attempt a ON a.channel_order_id = s.channel_order_id
     WHERE s.channel_txn_id = ?1 OR s.channel_order_id = ?1",
    "SELECT order_id FROM finding_item WHERE finding_id = ?1 AND order_id IS NOT NULL",
    "SELECT order_id FROM refund_instruction WHERE refund_request_id = ?1",
];

const CHANNEL_KEY_QUERIES: &[&str] = &[
    "SELECT channel_order_id FROM settlement_row WHERE channel_txn_id = ?1 OR channel_order_id = ?1",
    "SELECT channel_order_id FROM finding_item WHERE finding_id = ?1 AND channel_order_id IS NOT NULL",
    "SELECT channel_order_id FROM refund_instruction WHERE refund_request_id = ?1",
];

fn strings(conn: &Connection, sql: &str, param: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([param], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn exec(args: &ExplainArgs) -> Result<String> {
    let (config, conn) = args.db.open_read_only()?;
    let story = story(&conn, &args.key, config.zone)?;
    match args.format {
        OutputFormat::Json => Ok(serde_json::to_string_pretty(&story)? + "\n"),
        OutputFormat::Csv => {
            let mut rows: Vec<Vec<String>> = story
                .timeline
                .iter()
                .map(|e| {
                    vec![
                        "timeline".into(),
                        e.day.clone(),
                        e.time.clone(),
                        e.event.clone(),
                        e.text.clone(),
                    ]
                })
                .collect();
            for d in &story.decisions {
                rows.push(vec![
                    "decision".into(),
                    String::new(),
                    String::new(),
                    format!("{} {}", d.channel, d.channel_txn_id),
                    d.decision.clone(),
                ]);
            }
            csv(&["section", "day", "time", "event", "text"], &rows)
        }
        OutputFormat::Table => Ok(table_text(&story)),
    }
}

pub fn story(conn: &Connection, key: &str, zone: Tz) -> Result<Story> {
    let mut orders = BTreeSet::new();
    for sql in KEY_QUERIES {
        orders.extend(strings(conn, sql, key)?);
    }
    let mut attempts = BTreeSet::new();
    for sql in CHANNEL_KEY_QUERIES {
        attempts.extend(strings(conn, sql, key)?);
    }
    for order in &orders {
        attempts.extend(strings(
            conn,
            "SELECT channel_order_id FROM attempt WHERE order_id = ?1",
            order,
        )?);
    }
    if orders.is_empty() && attempts.is_empty() {
        return Err(unknown_key(conn, key)?);
    }
    let mut timeline = Vec::new();
    let mut decisions = Vec::new();
    let local = |micros: i64| {
        (
            timestamp::local_day(micros, zone),
            timestamp::format(micros, zone),
        )
    };
    for attempt in &attempts {
        let row = conn
            .query_row(
                "SELECT a.order_id, a.payment_id, a.channel, a.amount_minor, a.currency, a.order_status,
                        a.payment_status, a.created_at, a.closed_at, a.paid_at, f.path, a.line, f.business_day
                 FROM attempt a JOIN loaded_file f USING (file_id) WHERE a.channel_order_id = ?1",
                [attempt],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                        r.get::<_, Option<i64>>(9)?,
                        r.get::<_, String>(10)?,
                        r.get::<_, i64>(11)?,
                        r.get::<_, String>(12)?,
                    ))
                },
            )
            .ok();
        let Some((
            order,
            payment,
            channel,
            amount,
            currency,
            order_status,
            payment_status,
            created,
            closed,
            paid,
            path,
            line,
            loaded_for,
        )) = row
        else {
            continue;
        };
        let (day, time) = local(created);
        timeline.push(Event {
            day,
            time,
            event: "attempt".into(),
            text: format!(
                "attempt {attempt} of order {order} (payment {payment}, {channel}, {} {currency}): {payment_status}, order {order_status}; latest version from {}, line {line}, loaded for {loaded_for}",
                format_minor(amount, &currency),
                file_name(&path)
            ),
        });
        if let Some(paid) = paid {
            let (day, time) = local(paid);
            timeline.push(Event {
                day,
                time,
                event: "paid".into(),
                text: format!("attempt {attempt} paid (internal paid_at)"),
            });
        }
        if let Some(closed) = closed {
            let (day, time) = local(closed);
            timeline.push(Event {
                day,
                time,
                event: "closed".into(),
                text: format!("order {order} {order_status} (closed_at)"),
            });
        }
    }
    let mut rows = conn.prepare(
        "SELECT s.channel, s.channel_txn_id, s.channel_order_id, s.kind, s.amount_minor, s.currency,
                s.transacted_at, s.refund_id, f.path, s.line, f.day
         FROM settlement_row s JOIN loaded_file f USING (file_id)
         WHERE s.channel_order_id = ?1 ORDER BY s.transacted_at, s.kind, s.channel_txn_id",
    )?;
    for attempt in &attempts {
        let found = rows.query_map([attempt], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, i64>(9)?,
            ))
        })?;
        for row in found {
            let (channel, txn, kind, amount, currency, at, refund_id, path, line) = row?;
            let (day, time) = local(at);
            let refund = if refund_id.is_empty() {
                String::new()
            } else {
                format!(" refund {refund_id}")
            };
            timeline.push(Event {
                day,
                time,
                event: "channel_row".into(),
                text: format!(
                    "{channel} {kind} {txn} for {attempt}: {} {currency}{refund} ({}, line {line})",
                    format_minor(amount, &currency),
                    file_name(&path)
                ),
            });
            if kind == "PAYMENT" {
                decisions.push(Decision {
                    decision: decide(conn, &channel, &txn, attempt, at, zone)?,
                    channel,
                    channel_txn_id: txn,
                });
            }
        }
    }
    findings(conn, &orders, &attempts, &mut timeline)?;
    refunds(conn, &orders, &attempts, &mut timeline)?;
    timeline.sort_by(|a, b| {
        (&a.day, a.time.is_empty(), &a.time).cmp(&(&b.day, b.time.is_empty(), &b.time))
    });
    Ok(Story {
        key: key.to_string(),
        order_ids: orders.into_iter().collect(),
        channel_order_ids: attempts.into_iter().collect(),
        timeline,
        decisions,
        note: "the database keeps the latest version of each attempt (a later export replaces its row), so earlier versions are not shown; the refund job's answers and re-issues are shown on their instruction's day (their own day is not recorded)".into(),
    })
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or(path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The rule behind what became of one channel payment, in plain words.
fn decide(
    conn: &Connection,
    channel: &str,
    txn: &str,
    attempt: &str,
    paid: i64,
    zone: Tz,
) -> Result<String> {
    let refund: Option<(String, String)> = conn
        .query_row(
            "SELECT refund_request_id, reason FROM refund_instruction
             WHERE channel = ?1 AND channel_txn_id = ?2 AND reissued_as IS NULL
             ORDER BY business_day LIMIT 1",
            [channel, txn],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    let status: Option<(String, String, Option<i64>, String)> = conn
        .query_row(
            "SELECT payment_status, order_status, closed_at, order_id FROM attempt WHERE channel_order_id = ?1",
            [attempt],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .ok();
    let time = |micros: i64| {
        chrono::DateTime::from_timestamp_micros(micros)
            .map(|t| {
                t.with_timezone(&zone)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default()
    };
    Ok(match (refund, status) {
        (Some((id, reason)), Some((_, order_status, closed, _)))
            if reason == "PAID_AFTER_CLOSE" =>
        {
            format!(
                "refunded ({id}): order {order_status}{}, paid at {}",
                closed
                    .map(|at| format!(" at {}", time(at)))
                    .unwrap_or_else(|| " (no closed_at)".into()),
                time(paid)
            )
        }
        (Some((id, reason)), Some((_, _, _, order))) if reason == "DUPLICATE_PAYMENT" => {
            let kept: Option<(String, String, bool)> = conn
                .query_row(
                    "SELECT s.channel, s.channel_txn_id, a.payment_status = 'SUCCESS'
                     FROM settlement_row s JOIN attempt a ON a.channel_order_id = s.channel_order_id
                     WHERE a.order_id = ?1 AND s.kind = 'PAYMENT'
                     ORDER BY a.payment_status = 'SUCCESS' DESC, s.transacted_at, s.channel_txn_id
                     LIMIT 1",
                    [&order],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .ok();
            match kept {
                Some((channel, txn, success)) => format!(
                    "refunded ({id}): a second payment of order {order}, which keeps {channel} {txn} ({})",
                    if success {
                        "internally SUCCESS"
                    } else {
                        "the earliest, none internally SUCCESS"
                    }
                ),
                None => format!("refunded ({id}): a second payment of order {order}"),
            }
        }
        (Some((id, reason)), _) => format!("refunded ({id}): {reason}"),
        (None, None) => format!(
            "not refunded: no export has attempt {attempt} (UNMATCHED_CHANNEL is never refunded automatically)"
        ),
        (None, Some((payment_status, order_status, _, _))) => match payment_status.as_str() {
            "SUCCESS" => "kept: internally SUCCESS".into(),
            "PROCESSING" | "UNKNOWN" => format!(
                "kept: internally {payment_status}, the channel shows it paid (mark it paid)"
            ),
            _ if order_status == "CLOSED" || order_status == "CANCELLED" => {
                format!("not refunded yet: order {order_status}; refunded once its day is covered")
            }
            _ => format!(
                "kept: the order's payment, although internally {payment_status} (fix the internal state)"
            ),
        },
    })
}

fn findings(
    conn: &Connection,
    orders: &BTreeSet<String>,
    attempts: &BTreeSet<String>,
    timeline: &mut Vec<Event>,
) -> Result<()> {
    let mut ids = BTreeSet::new();
    for order in orders {
        ids.extend(strings(
            conn,
            "SELECT finding_id FROM finding_item WHERE order_id = ?1",
            order,
        )?);
    }
    for attempt in attempts {
        ids.extend(strings(
            conn,
            "SELECT finding_id FROM finding_item WHERE channel_order_id = ?1",
            attempt,
        )?);
    }
    let mut events = conn.prepare(
        "SELECT e.business_day, e.event, e.by_whom, e.note, i.kind, i.detail
         FROM finding_event e JOIN finding_item i USING (finding_id)
         WHERE e.finding_id = ?1 ORDER BY e.business_day, e.rowid",
    )?;
    for id in ids {
        let rows = events.query_map([&id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        for row in rows {
            let (day, event, by, note, kind, detail) = row?;
            let mut text = format!("{kind} {id} {event}");
            if event == "OPENED" && !detail.is_empty() {
                text.push_str(&format!(": {detail}"));
            }
            if by != "data" {
                text.push_str(&format!(" by {by}"));
            }
            if !note.is_empty() {
                text.push_str(&format!(" ({note})"));
            }
            timeline.push(Event {
                day,
                time: String::new(),
                event: "finding".into(),
                text,
            });
        }
    }
    Ok(())
}

fn refunds(
    conn: &Connection,
    orders: &BTreeSet<String>,
    attempts: &BTreeSet<String>,
    timeline: &mut Vec<Event>,
) -> Result<()> {
    let mut ids = BTreeSet::new();
    for order in orders {
        ids.extend(strings(
            conn,
            "SELECT refund_request_id FROM refund_instruction WHERE order_id = ?1",
            order,
        )?);
    }
    for attempt in attempts {
        ids.extend(strings(
            conn,
            "SELECT refund_request_id FROM refund_instruction WHERE channel_order_id = ?1",
            attempt,
        )?);
    }
    for id in ids {
        let Instruction {
            day,
            channel,
            txn,
            amount,
            currency,
            reason,
            batch,
            result,
            message,
            reissued_as,
            reissue_of,
            archived,
        } = conn.query_row(
            "SELECT business_day, channel, channel_txn_id, amount_minor, currency, reason, batch,
                    result, result_message, reissued_as, reissue_of, archived
             FROM refund_instruction WHERE refund_request_id = ?1",
            [&id],
            |r| {
                Ok(Instruction {
                    day: r.get(0)?,
                    channel: r.get(1)?,
                    txn: r.get(2)?,
                    amount: r.get(3)?,
                    currency: r.get(4)?,
                    reason: r.get(5)?,
                    batch: r.get(6)?,
                    result: r.get(7)?,
                    message: r.get(8)?,
                    reissued_as: r.get(9)?,
                    reissue_of: r.get(10)?,
                    archived: r.get(11)?,
                })
            },
        )?;
        let file = crate::store::refund_files::file_name(batch);
        let again = reissue_of
            .map(|old| format!(", re-issue of {old}"))
            .unwrap_or_default();
        let issued = if day.is_empty() {
            format!("refund {id} re-issued for {txn}: waits for the next run to file it")
        } else {
            format!(
                "refund {id} issued for {channel} {txn}: {} {currency}, {reason} ({file}{again})",
                format_minor(amount, &currency)
            )
        };
        timeline.push(Event {
            day: day.clone(),
            time: String::new(),
            event: "refund".into(),
            text: issued,
        });
        let rejected = result.as_deref() == Some("REJECTED");
        if let Some(result) = result {
            let message = message
                .filter(|m| !m.is_empty())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            timeline.push(Event {
                day: day.clone(),
                time: String::new(),
                event: "refund".into(),
                text: format!("refund {id} {result} by the refund job{message}"),
            });
        }
        if let Some(new) = reissued_as {
            timeline.push(Event {
                day: day.clone(),
                time: String::new(),
                event: "refund".into(),
                text: format!("refund {id} re-issued as {new}"),
            });
        }
        let confirmed: Option<(String, i64, String)> = conn
            .query_row(
                "SELECT f.path, s.line, f.day FROM settlement_row s JOIN loaded_file f USING (file_id)
                 WHERE s.kind = 'REFUND' AND s.channel = ?1 AND s.channel_txn_id = ?2
                   AND (s.refund_id = ?3 OR (s.refund_id = '' AND s.amount_minor = ?4))
                 ORDER BY s.transacted_at LIMIT 1",
                rusqlite::params![channel, txn, id, amount],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok();
        if let Some((path, line, file_day)) = confirmed {
            timeline.push(Event {
                day: file_day,
                time: String::new(),
                event: "refund".into(),
                text: format!(
                    "refund {id} confirmed by the channel ({}, line {line})",
                    file_name(&path)
                ),
            });
        } else if archived && !rejected {
            // Compaction archives only what the channel had confirmed.
            timeline.push(Event {
                day: day.clone(),
                time: String::new(),
                event: "refund".into(),
                text: format!(
                    "refund {id} confirmed by the channel; its rows were compacted away since (retention_days)"
                ),
            });
        }
    }
    Ok(())
}

/// One refund instruction as the story tells it.
struct Instruction {
    day: String,
    channel: String,
    txn: String,
    amount: i64,
    currency: String,
    reason: String,
    batch: i64,
    result: Option<String>,
    message: Option<String>,
    reissued_as: Option<String>,
    reissue_of: Option<String>,
    /// Its payment's rows were compacted away, once the channel confirmed it.
    archived: bool,
}

/// An unknown key: said so, with the closest ids payrecon knows.
fn unknown_key(conn: &Connection, key: &str) -> Result<anyhow::Error> {
    let mut stmt = conn.prepare(
        "SELECT order_id FROM attempt UNION SELECT payment_id FROM attempt
         UNION SELECT channel_order_id FROM attempt UNION SELECT channel_txn_id FROM settlement_row
         UNION SELECT finding_id FROM finding_item UNION SELECT refund_request_id FROM refund_instruction",
    )?;
    let mut close: Vec<(f64, String)> = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .filter_map(|id| id.ok())
        .map(|id| (strsim::jaro_winkler(key, &id), id))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let names: Vec<String> = close.into_iter().take(3).map(|(_, id)| id).collect();
    let hint = if names.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", names.join(", "))
    };
    Ok(anyhow::anyhow!(
        "no order, payment, attempt, channel transaction, finding or refund has the id '{key}'{hint}"
    ))
}

fn table_text(story: &Story) -> String {
    let mut text = format!(
        "Order {} (attempts {})\n\n",
        story.order_ids.join(", "),
        story.channel_order_ids.join(", ")
    );
    let mut table = Table::new(&["day", "time", "what"]);
    let width = super::table::WIDTH - 10 - 8 - 4;
    for event in &story.timeline {
        let time = event.time.get(11..19).unwrap_or("").to_string();
        let wrapped = super::table::wrap(&event.text, width, 2);
        for (i, line) in wrapped.lines().enumerate() {
            let (day, time) = if i == 0 {
                (event.day.clone(), time.clone())
            } else {
                (String::new(), String::new())
            };
            table.row(vec![day, time, line.to_string()]);
        }
    }
    text.push_str(&table.render());
    if !story.decisions.is_empty() {
        text.push_str("\nDecisions\n");
        for d in &story.decisions {
            text.push_str(&super::table::wrap(
                &format!("  {} {}: {}", d.channel, d.channel_txn_id, d.decision),
                super::table::WIDTH,
                4,
            ));
        }
    }
    text.push('\n');
    text.push_str(&super::table::wrap(
        &format!("Note: {}", story.note),
        super::table::WIDTH,
        6,
    ));
    text
}
