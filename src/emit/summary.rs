//! summary.md for people and summary.json for machines: the same figures.
//!
//! Everything here is derived from the day's state (files first loaded for
//! the day, findings, the day's instructions), never from this process's
//! circumstances, so a rerun writes the same bytes.

use super::day::{ControlShown, ControlTotals, DayReport, RefundBatch, RefundFileFigures};
use super::{Output, Sink};
use crate::money::format_minor;
use crate::reconcile::finding::{Finding, FindingKind, Status};
use crate::reconcile::refunds::RefundStates;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A file first loaded by a run for this business day.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileLine {
    pub path: String,
    pub role: String,
    pub format: String,
    pub channel: Option<String>,
    pub day: Option<String>,
    pub rows: i64,
    /// Set when a later corrected file for the same channel day replaced it.
    pub replaced: bool,
    /// Rows deliberately not loaded (payouts, fees…), by type.
    pub skipped: String,
}

/// A count of items and their amounts at stake per currency.
#[derive(Debug, Default, Clone)]
struct Bucket {
    count: usize,
    at_stake: BTreeMap<String, i64>,
}

impl Bucket {
    fn add(&mut self, f: &Finding) {
        self.count += 1;
        *self.at_stake.entry(f.currency().to_string()).or_default() += f.amount_at_stake();
    }

    fn shown(&self) -> Figures {
        Figures {
            count: self.count,
            at_stake: formatted(self.at_stake.clone()),
        }
    }
}

/// The age buckets of open items, in days since first seen.
const AGE_BUCKETS: [(&str, i64, i64); 4] = [
    ("0", 0, 0),
    ("1-2", 1, 2),
    ("3-7", 3, 7),
    (">7", 8, i64::MAX),
];

/// Counts and amounts at stake of the day's report, added up one finding at
/// a time: open items per kind and channel, new, by age, overdue, and the
/// items resolved this day.
#[derive(Debug, Default)]
pub struct Tally {
    /// Open items by shown kind (in report order: `FindingKind`'s order)
    /// and channel.
    groups: BTreeMap<(FindingKind, String), Bucket>,
    open: usize,
    needs_action: usize,
    carried_over: usize,
    new: Bucket,
    by_age: [Bucket; 4],
    overdue: Bucket,
    resolved: Bucket,
}

impl Tally {
    pub fn add(&mut self, f: &Finding) {
        if f.status == Status::Resolved {
            self.resolved.add(f);
            return;
        }
        self.groups
            .entry((f.shown_kind(), f.channel.clone()))
            .or_default()
            .add(f);
        self.open += 1;
        self.needs_action += usize::from(f.needs_action());
        self.carried_over += usize::from(!f.shown_kind().needs_action());
        if f.status == Status::New {
            self.new.add(f);
        }
        if let Some(bucket) = AGE_BUCKETS
            .iter()
            .position(|(_, low, high)| (*low..=*high).contains(&f.age_days))
        {
            self.by_age[bucket].add(f);
        }
        if f.overdue {
            self.overdue.add(f);
        }
    }
}

/// A count with its amounts at stake per currency.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub count: usize,
    pub at_stake: BTreeMap<String, String>,
}

/// The findings ledger as of the business day.
#[derive(Debug, Serialize)]
pub struct LedgerFigures {
    /// First seen this day.
    pub new: Figures,
    /// Open items by age in days: "0", "1-2", "3-7", ">7".
    pub open_by_age: BTreeMap<String, Figures>,
    /// Open past their kind's age limit.
    pub overdue: Figures,
    /// Resolved this day, by the data or by a person.
    pub resolved_today: Figures,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub business_day: String,
    pub files: Vec<FileLine>,
    /// Open findings (new and still open) as of this day.
    pub findings_total: usize,
    pub needs_action: usize,
    /// UNKNOWN_PENDING attempts, decided by a later run.
    pub carried_over: usize,
    pub findings: Vec<Group>,
    pub ledger: LedgerFigures,
    pub refunds: Refunds,
    /// Per channel and currency: the day's settlement files against the
    /// internal export.
    pub controls: Vec<ControlShown>,
    /// Channel refunds whose payment is in no file loaded yet: kept, and
    /// matched when the payment's file arrives.
    pub refunds_without_payment: usize,
    /// Earlier days whose refund instructions were committed but whose
    /// refunds.csv was never written (a run killed before publishing).
    pub unpublished_days: Vec<String>,
}

/// Findings of one kind on one channel.
#[derive(Debug, Serialize)]
pub struct Group {
    pub kind: String,
    pub channel: String,
    pub count: usize,
    /// Amount at stake per currency: the difference for a mismatch, the
    /// refund for a refund finding, the payment otherwise.
    pub amounts: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct Refunds {
    /// Issued for this day (in its refund files).
    pub count: usize,
    pub totals: BTreeMap<String, String>,
    /// Each refund file of the day: rows, amount per currency, SHA-256.
    pub files: Vec<RefundFileFigures>,
    /// Every instruction issued up to this day, by where it stands.
    pub states: RefundStates,
}

impl Summary {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        business_day: &str,
        files: Vec<FileLine>,
        tally: Tally,
        refund_files: &[RefundBatch],
        refund_states: RefundStates,
        refunds_without_payment: usize,
        unpublished_days: Vec<String>,
        controls: &[ControlTotals],
    ) -> Summary {
        let mut refund_totals: BTreeMap<String, i64> = BTreeMap::new();
        let mut count = 0;
        for r in refund_files.iter().flat_map(|f| &f.instructions) {
            *refund_totals.entry(r.currency.clone()).or_default() += r.amount_minor;
            count += 1;
        }
        Summary {
            business_day: business_day.to_string(),
            files,
            findings_total: tally.open,
            needs_action: tally.needs_action,
            carried_over: tally.carried_over,
            ledger: LedgerFigures {
                new: tally.new.shown(),
                open_by_age: AGE_BUCKETS
                    .iter()
                    .zip(&tally.by_age)
                    .map(|((name, _, _), bucket)| (name.to_string(), bucket.shown()))
                    .collect(),
                overdue: tally.overdue.shown(),
                resolved_today: tally.resolved.shown(),
            },
            findings: tally
                .groups
                .into_iter()
                .map(|((kind, channel), bucket)| Group {
                    kind: kind.code().to_string(),
                    channel,
                    count: bucket.count,
                    amounts: formatted(bucket.at_stake),
                })
                .collect(),
            refunds: Refunds {
                count,
                totals: formatted(refund_totals),
                files: refund_files.iter().map(RefundBatch::figures).collect(),
                states: refund_states,
            },
            controls: controls.iter().map(ControlTotals::shown).collect(),
            refunds_without_payment,
            unpublished_days,
        }
    }

    pub fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# payrecon summary for {}\n", self.business_day);
        let refund_totals = totals_text(&self.refunds.totals);
        let _ = writeln!(
            md,
            "- {} finding(s), {} needing action, {} carried to the next run",
            self.findings_total, self.needs_action, self.carried_over
        );
        let _ = writeln!(
            md,
            "- {} refund instruction(s) issued for this day{}",
            self.refunds.count, refund_totals
        );
        let states = &self.refunds.states;
        let _ = writeln!(
            md,
            "- refunds so far: {} confirmed by the channel, {} awaiting confirmation, {} overdue, {} rejected, {} re-issued\n",
            states.confirmed, states.awaiting, states.overdue, states.rejected, states.reissued
        );
        if !self.refunds.files.is_empty() {
            md.push_str(
                "## Refund files (check before submitting)\n\n| file | rows | amount | SHA-256 |\n|---|---:|---:|---|\n",
            );
            for f in &self.refunds.files {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | `{}` |",
                    f.name,
                    f.rows,
                    totals_text(&f.totals).trim_start_matches(": "),
                    f.sha256
                );
            }
            md.push('\n');
        }
        if !self.controls.is_empty() {
            md.push_str("## Control totals\n\n| channel | currency | rows matched | amount matched | gross | fees | net settled | internal total | difference | match rate |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for c in &self.controls {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} / {} | {} | {} | {} | {} | {} | {} | {} |",
                    c.channel,
                    c.currency,
                    c.matched_rows,
                    c.payment_rows,
                    c.matched_amount,
                    c.gross,
                    c.fees,
                    c.net_settled,
                    c.internal_total,
                    c.difference,
                    c.match_rate
                );
            }
            md.push('\n');
        }
        let ledger = &self.ledger;
        let figures = |f: &Figures| format!("{}{}", f.count, totals_text(&f.at_stake));
        md.push_str("## Ledger\n\n| | items (at stake) |\n|---|---|\n");
        let _ = writeln!(md, "| new today | {} |", figures(&ledger.new));
        for (age, f) in &ledger.open_by_age {
            let _ = writeln!(md, "| open, {age} day(s) old | {} |", figures(f));
        }
        let _ = writeln!(md, "| overdue | {} |", figures(&ledger.overdue));
        let _ = writeln!(
            md,
            "| resolved today | {} |\n",
            figures(&ledger.resolved_today)
        );
        for day in &self.unpublished_days {
            let _ = writeln!(
                md,
                "**The refund instructions of {day} were committed but its refunds.csv was never written (a run was killed): rerun that day (`payrecon run --date {day}`).**\n"
            );
        }
        if !self.findings.is_empty() {
            md.push_str(
                "## Open findings\n\n| kind | channel | count | at stake |\n|---|---|---:|---:|\n",
            );
            for g in &self.findings {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    g.kind,
                    g.channel,
                    g.count,
                    totals_text(&g.amounts).trim_start_matches(": ")
                );
            }
            md.push('\n');
        }
        let skipped: Vec<&FileLine> = self
            .files
            .iter()
            .filter(|f| !f.skipped.is_empty())
            .collect();
        if !skipped.is_empty() || self.refunds_without_payment > 0 {
            md.push_str("## Rows not reconciled\n\n");
            for f in skipped {
                let _ = writeln!(
                    md,
                    "- skipped, because not order money (payouts, fees…): {} in {}",
                    f.skipped, f.path
                );
            }
            if self.refunds_without_payment > 0 {
                let _ = writeln!(
                    md,
                    "- waiting, because their payment is in no file loaded yet: {} channel refund(s)",
                    self.refunds_without_payment
                );
            }
            md.push('\n');
        }
        md.push_str("## Files loaded for this day\n\n");
        if self.files.is_empty() {
            md.push_str("None (everything given was loaded by an earlier run).\n");
        } else {
            md.push_str(
                "| file | role | format | channel | day | rows | skipped (not order money) |\n|---|---|---|---|---|---:|---|\n",
            );
            for f in &self.files {
                let replaced = if f.replaced {
                    " (replaced by a corrected file)"
                } else {
                    ""
                };
                let _ = writeln!(
                    md,
                    "| {}{replaced} | {} | {} | {} | {} | {} | {} |",
                    f.path,
                    f.role,
                    f.format,
                    f.channel.as_deref().unwrap_or("-"),
                    f.day.as_deref().unwrap_or("-"),
                    f.rows,
                    f.skipped
                );
            }
        }
        md
    }
}

fn formatted(minor: BTreeMap<String, i64>) -> BTreeMap<String, String> {
    minor
        .into_iter()
        .map(|(c, m)| {
            let v = format_minor(m, &c);
            (c, v)
        })
        .collect()
}

fn totals_text(totals: &BTreeMap<String, String>) -> String {
    if totals.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = totals.iter().map(|(c, v)| format!("{v} {c}")).collect();
    format!(": {}", parts.join(", "))
}

/// summary.md.
pub struct Markdown;

impl Output for Markdown {
    fn name(&self) -> &'static str {
        "summary.md"
    }

    fn finish(self: Box<Self>, day: &DayReport, sink: &mut Sink) -> anyhow::Result<()> {
        sink.bytes("summary.md", day.summary().to_markdown().as_bytes())
    }
}

/// summary.json.
pub struct Json;

impl Output for Json {
    fn name(&self) -> &'static str {
        "summary.json"
    }

    fn finish(self: Box<Self>, day: &DayReport, sink: &mut Sink) -> anyhow::Result<()> {
        sink.bytes("summary.json", &day.summary().to_json()?)
    }
}
