//! summary.md for people and summary.json for machines: the same figures.
//!
//! Everything here is derived from the day's state (files first loaded for
//! the day, findings, the day's instructions), never from this process's
//! circumstances, so a rerun writes the same bytes.

use crate::money::format_minor;
use crate::reconcile::finding::{Finding, FindingKind};
use crate::reconcile::refunds::RefundInstruction;
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

/// Counts and amounts of findings per kind and channel, added up one
/// finding at a time.
#[derive(Debug, Default)]
pub struct Tally {
    /// By kind (in report order: `FindingKind`'s order) and channel.
    groups: BTreeMap<(FindingKind, String), (usize, BTreeMap<String, i64>)>,
    total: usize,
    needs_action: usize,
}

impl Tally {
    pub fn add(&mut self, f: &Finding) {
        let group = self.groups.entry((f.kind, f.channel.clone())).or_default();
        group.0 += 1;
        if let Some(minor) = f.channel_amount.or(f.internal_amount) {
            *group.1.entry(f.currency().to_string()).or_default() += minor;
        }
        self.total += 1;
        self.needs_action += usize::from(f.kind.needs_action());
    }
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub business_day: String,
    pub files: Vec<FileLine>,
    pub findings_total: usize,
    pub needs_action: usize,
    /// UNKNOWN_PENDING attempts, decided by a later run.
    pub carried_over: usize,
    pub findings: Vec<Group>,
    pub refunds: Refunds,
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
    /// Amount involved per currency (the channel's amount where there is one).
    pub amounts: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct Refunds {
    pub count: usize,
    pub totals: BTreeMap<String, String>,
}

impl Summary {
    pub fn new(
        business_day: &str,
        files: Vec<FileLine>,
        tally: Tally,
        refunds: &[RefundInstruction],
        refunds_without_payment: usize,
        unpublished_days: Vec<String>,
    ) -> Summary {
        let mut refund_totals: BTreeMap<String, i64> = BTreeMap::new();
        for r in refunds {
            *refund_totals.entry(r.currency.clone()).or_default() += r.amount_minor;
        }
        Summary {
            business_day: business_day.to_string(),
            files,
            findings_total: tally.total,
            needs_action: tally.needs_action,
            carried_over: tally.total - tally.needs_action,
            findings: tally
                .groups
                .into_iter()
                .map(|((kind, channel), (count, amounts))| Group {
                    kind: kind.code().to_string(),
                    channel,
                    count,
                    amounts: formatted(amounts),
                })
                .collect(),
            refunds: Refunds {
                count: refunds.len(),
                totals: formatted(refund_totals),
            },
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
            "- {} refund instruction(s) issued for this day{}\n",
            self.refunds.count, refund_totals
        );
        for day in &self.unpublished_days {
            let _ = writeln!(
                md,
                "**The refund instructions of {day} were committed but its refunds.csv was never written (a run was killed): rerun that day (`payrecon run --date {day}`).**\n"
            );
        }
        if !self.findings.is_empty() {
            md.push_str(
                "## Findings\n\n| kind | channel | count | amount |\n|---|---|---:|---:|\n",
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
