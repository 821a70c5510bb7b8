//! report.html: the day for finance staff, in a browser, offline.
//!
//! One self-contained page (inline CSS and SVG; no script, font or image
//! from anywhere), built from a maud template: the day at a glance (what
//! needs action and its total, refunds to issue, new / open by age /
//! resolved, control totals per channel), charts, the refunds with the
//! explanation of each amount, then the findings by kind, largest amount
//! first. A kind lists at most [`LIST_CAP`] findings; the page says how many
//! more are in discrepancies.csv and report.xlsx.

use super::day::{ControlTotals, DayReport};
use super::svg::{self, Bar};
use super::{Output, Sink};
use crate::money::{exponent, format_minor};
use crate::reconcile::finding::{ALL_KINDS, Finding, FindingKind, Status};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_decimal::Decimal;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// The most findings a kind lists on the page.
pub const LIST_CAP: usize = 200;

/// Amounts per currency, in minor units.
type Amounts = BTreeMap<String, i64>;

#[derive(Default)]
struct Count {
    count: usize,
    at_stake: Amounts,
}

impl Count {
    fn add(&mut self, f: &Finding) {
        self.count += 1;
        *self.at_stake.entry(f.currency().to_string()).or_default() += f.amount_at_stake();
    }
}

/// One listed finding, ranked by its amount at stake (then report order).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Ranked {
    amount: Decimal,
    order: Reverse<u64>,
    row: Row,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    status: &'static str,
    channel: String,
    order_id: String,
    channel_txn_id: String,
    internal: String,
    channel_amount: String,
    at_stake: String,
    action: String,
    detail: String,
    age_days: i64,
    overdue: bool,
    finding_id: String,
}

/// The page, gathered as the findings pass.
#[derive(Default)]
pub struct Html {
    seen: u64,
    needs_action: Count,
    by_kind: BTreeMap<FindingKind, Count>,
    by_channel: BTreeMap<String, Count>,
    /// Per shown kind, the largest [`LIST_CAP`] (a min-heap).
    lists: BTreeMap<FindingKind, BinaryHeap<Reverse<Ranked>>>,
}

impl Output for Html {
    fn name(&self) -> &'static str {
        "report.html"
    }

    fn finding(&mut self, f: &Finding) -> anyhow::Result<()> {
        if f.status == Status::Resolved {
            return Ok(());
        }
        self.seen += 1;
        if f.needs_action() {
            self.needs_action.add(f);
        }
        let kind = f.shown_kind();
        self.by_kind.entry(kind).or_default().add(f);
        self.by_channel.entry(f.channel.clone()).or_default().add(f);
        let amount = Decimal::new(f.amount_at_stake(), exponent(f.currency()));
        let list = self.lists.entry(kind).or_default();
        let order = Reverse(self.seen);
        if list.len() >= LIST_CAP
            && list
                .peek()
                .is_some_and(|Reverse(low)| (amount, order) <= (low.amount, low.order))
        {
            return Ok(());
        }
        list.push(Reverse(Ranked {
            amount,
            order,
            row: row(f),
        }));
        if list.len() > LIST_CAP {
            list.pop();
        }
        Ok(())
    }

    fn finish(self: Box<Self>, day: &DayReport, sink: &mut Sink) -> anyhow::Result<()> {
        let page = self.page(day);
        sink.bytes("report.html", page.into_string().as_bytes())
    }
}

fn row(f: &Finding) -> Row {
    let amount = |minor: Option<i64>, currency: Option<&str>| match (minor, currency) {
        (Some(m), Some(c)) => money(m, c),
        _ => String::new(),
    };
    Row {
        status: f.status.code(),
        channel: f.channel.clone(),
        order_id: f.order_id.clone(),
        channel_txn_id: f.channel_txn_id.clone(),
        internal: amount(f.internal_amount, f.internal_currency.as_deref()),
        channel_amount: amount(f.channel_amount, f.channel_currency.as_deref()),
        at_stake: money(f.amount_at_stake(), f.currency()),
        action: super::report::action(f),
        detail: f.detail.clone(),
        age_days: f.age_days,
        overdue: f.overdue,
        finding_id: f.finding_id.clone(),
    }
}

/// `1234567.5` -> `1,234,567.5`: thousands separators on exact text.
pub fn grouped(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (rest, None),
    };
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(frac) = frac {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// An amount with its currency: `1,877.66 CNY`.
pub fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", grouped(&format_minor(minor, currency)))
}

fn amounts(a: &Amounts) -> String {
    if a.is_empty() {
        return "0".to_string();
    }
    a.iter()
        .map(|(c, m)| money(*m, c))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Bars of amounts at stake, one chart per currency (amounts in two
/// currencies are not drawn on one scale).
fn amount_bars(groups: &[(String, &Count)]) -> BTreeMap<String, Vec<Bar>> {
    let mut charts: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    for (label, count) in groups {
        for (currency, minor) in &count.at_stake {
            let value = Decimal::new(*minor, exponent(currency));
            charts.entry(currency.clone()).or_default().push(Bar {
                label: label.clone(),
                value: value.try_into().unwrap_or(0.0),
                shown: money(*minor, currency),
            });
        }
    }
    charts
}

fn count_bars(groups: &[(String, &Count)]) -> Vec<Bar> {
    groups
        .iter()
        .map(|(label, count)| Bar {
            label: label.clone(),
            value: count.count as f64,
            shown: count.count.to_string(),
        })
        .collect()
}

const CSS: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #f4f5f7; color: #1d2430;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC",
    "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif;
  font-size: 14px; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; border-bottom: 1px solid #d5d9e0; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 22px 0 6px; }
.sub { color: #5b6472; margin: 0 0 18px; }
.cards { display: grid; grid-template-columns: 1fr 1fr 1.6fr; gap: 12px; }
@media (max-width: 800px) { .cards { grid-template-columns: 1fr; } }
.card { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; padding: 12px 14px; }
.card .label { color: #5b6472; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .big { font-size: 26px; font-weight: 600; }
.card .amount { font-variant-numeric: tabular-nums; }
.card.action { border-left: 4px solid #c0392b; }
.card.refund { border-left: 4px solid #e08a1e; }
.card.ledger { border-left: 4px solid #2f6fb0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 12px; }
figure { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; margin: 0; padding: 10px 12px; overflow-x: auto; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg.chart { font: inherit; font-size: 12px; max-width: 100%; height: auto; }
svg.chart .num { font-variant-numeric: tabular-nums; }
svg.chart .muted { fill: #5b6472; }
table { border-collapse: collapse; background: #fff; width: 100%; border: 1px solid #d5d9e0; font-size: 13px; }
th, td { padding: 5px 8px; border-bottom: 1px solid #e6e9ee; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td.fid { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; word-break: break-all; min-width: 9em; }
td.id { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Noto Sans Mono CJK SC", monospace; font-size: 12px; white-space: nowrap; }
table.mini { border: 0; background: transparent; width: auto; margin-top: 4px; }
table.mini td { border: 0; padding: 1px 10px 1px 0; }
td.detail { color: #5b6472; font-size: 12px; max-width: 320px; }
tr.overdue td.age { color: #c0392b; font-weight: 600; }
.neg { color: #c0392b; }
.more { color: #5b6472; font-style: italic; margin: 6px 0 0; }
.wide { overflow-x: auto; }
"#;

impl Html {
    fn page(&self, day: &DayReport) -> Markup {
        let summary = day.summary();
        let ledger = &summary.ledger;
        let kinds: Vec<(String, &Count)> = ALL_KINDS
            .iter()
            .filter_map(|k| self.by_kind.get(k).map(|c| (k.code().to_string(), c)))
            .collect();
        let channels: Vec<(String, &Count)> = self
            .by_channel
            .iter()
            .map(|(ch, c)| (ch.clone(), c))
            .collect();
        let ages: Vec<Bar> = ledger
            .open_by_age
            .iter()
            .map(|(age, f)| Bar {
                label: format!("{age} day(s)"),
                value: f.count as f64,
                shown: f.count.to_string(),
            })
            .collect();
        let refund_totals: Amounts = day.instructions().fold(Amounts::new(), |mut a, i| {
            *a.entry(i.currency.clone()).or_default() += i.amount_minor;
            a
        });
        let figures = |f: &super::summary::Figures| {
            let minor: Amounts = f
                .at_stake
                .iter()
                .filter_map(|(c, v)| Some((c.clone(), to_minor(v, c)?)))
                .collect();
            if minor.values().all(|m| *m == 0) {
                String::new()
            } else {
                amounts(&minor)
            }
        };
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { "payrecon report " (day.business_day) }
                    style { (PreEscaped(CSS)) }
                }
                body { main {
                    h1 { "Reconciliation report " (day.business_day) }
                    p.sub { (summary.findings_total) " open finding(s), " (summary.carried_over) " carried to the next run. Files: discrepancies.csv (every finding), report.xlsx, refunds*.csv (for the refund job)." }
                    section #glance {
                        h2 { "The day at a glance" }
                        div.cards {
                            div.card.action #needs-action {
                                div.label { "Needs action today" }
                                div.big { (self.needs_action.count) }
                                div.amount { "at stake " (amounts(&self.needs_action.at_stake)) }
                            }
                            div.card.refund #refunds-to-issue {
                                div.label { "Refunds to issue" }
                                div.big { (summary.refunds.count) }
                                div.amount { "total " (amounts(&refund_totals)) }
                            }
                            div.card.ledger #ledger {
                                div.label { "Ledger: items (at stake)" }
                                table.mini { tbody {
                                    tr { td { "new today" } td.num { (ledger.new.count) } td.num { (figures(&ledger.new)) } }
                                    @for (age, f) in &ledger.open_by_age {
                                        tr { td { "open, " (age) " day(s) old" } td.num { (f.count) } td.num { (figures(f)) } }
                                    }
                                    tr { td { "overdue" } td.num { (ledger.overdue.count) } td.num { (figures(&ledger.overdue)) } }
                                    tr { td { "resolved today" } td.num { (ledger.resolved_today.count) } td.num { (figures(&ledger.resolved_today)) } }
                                } }
                            }
                        }
                        h3 { "Control totals per channel" }
                        (controls(&day.controls))
                    }
                    section #charts {
                        h2 { "Charts" }
                        div.charts {
                            figure { figcaption { "Open findings by kind" } (PreEscaped(svg::bars("Open findings by kind", &count_bars(&kinds)))) }
                            @for (currency, bars) in amount_bars(&kinds) {
                                @let title = format!("Amount at stake by kind, {currency}");
                                figure { figcaption { (title) } (PreEscaped(svg::bars(&title, &bars))) }
                            }
                            figure { figcaption { "Open findings by channel" } (PreEscaped(svg::bars("Open findings by channel", &count_bars(&channels)))) }
                            @for (currency, bars) in amount_bars(&channels) {
                                @let title = format!("Amount at stake by channel, {currency}");
                                figure { figcaption { (title) } (PreEscaped(svg::bars(&title, &bars))) }
                            }
                            figure { figcaption { "Open items by age" } (PreEscaped(svg::bars("Open items by age", &ages))) }
                            figure { figcaption { "Last 30 days" } (PreEscaped(svg::trend(&day.trend))) }
                        }
                    }
                    section #refunds {
                        h2 { "Refunds to issue (" (summary.refunds.count) "), largest first" }
                        @if summary.refunds.count == 0 {
                            p { "None for this day." }
                        } @else {
                            div.wide { table {
                                thead { tr {
                                    th { "refund_request_id" } th { "file" } th { "reason" } th { "channel" } th { "order_id" } th { "channel_txn_id" }
                                    th.num { "captured" } th.num { "already refunded by the channel" } th.num { "already instructed by payrecon" } th.num { "refunded now" }
                                } }
                                tbody {
                                    @for (file, i) in largest_refunds(day) {
                                        @let m = |minor: Option<i64>| minor.map(|m| money(m, &i.currency)).unwrap_or_default();
                                        tr title=(super::refunds::explanation(i)) {
                                            td.id { (i.refund_request_id) } td { (file) } td { (i.reason) } td { (i.channel) }
                                            td.id { (i.order_id) } td.id { (i.channel_txn_id) }
                                            td.num { (m(i.captured_minor)) } td.num { (m(i.channel_refunded_minor)) }
                                            td.num { (m(i.instructed_before_minor)) } td.num { strong { (money(i.amount_minor, &i.currency)) } }
                                        }
                                    }
                                }
                            } }
                            @if summary.refunds.count > LIST_CAP {
                                p.more { (summary.refunds.count - LIST_CAP) " more, smaller, in the refund files and report.xlsx." }
                            }
                        }
                    }
                    section #findings {
                        h2 { "Findings by kind" }
                        @if self.lists.is_empty() { p { "No open findings." } }
                        @for kind in ALL_KINDS {
                            @if let Some(list) = self.lists.get(&kind) {
                                @let count = self.by_kind.get(&kind).map_or(0, |c| c.count);
                                @let rows = sorted(list);
                                section.kind id=(kind.code()) {
                                    h3 { (kind.code()) " — " (count) " open, at stake " (amounts(&self.by_kind[&kind].at_stake)) }
                                    p.sub { (kind.action()) }
                                    div.wide { table {
                                        thead { tr {
                                            th { "status" } th { "channel" } th { "order_id" } th { "channel_txn_id" }
                                            th.num { "internal amount" } th.num { "channel amount" } th.num { "at stake" }
                                            th { "action" } th.num { "age (days)" } th { "finding_id" }
                                        } }
                                        tbody {
                                            @for r in &rows {
                                                tr.overdue[r.overdue] {
                                                    td { (r.status) } td { (r.channel) } td.id { (r.order_id) } td.id { (r.channel_txn_id) }
                                                    td.num { (r.internal) } td.num { (r.channel_amount) } td.num.at-stake { (r.at_stake) }
                                                    td { (r.action) @if !r.detail.is_empty() { div.detail { (r.detail) } } }
                                                    td.num.age { (r.age_days) @if r.overdue { " overdue" } }
                                                    td.fid { (r.finding_id) }
                                                }
                                            }
                                        }
                                    } }
                                    @if count > rows.len() {
                                        p.more { (count - rows.len()) " more, smaller, in discrepancies.csv and report.xlsx." }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// The day's [`LIST_CAP`] largest instructions, largest first (then in
/// file order), each with its file's name.
fn largest_refunds(day: &DayReport) -> Vec<(&str, &crate::reconcile::refunds::RefundInstruction)> {
    let mut all: Vec<(&str, &crate::reconcile::refunds::RefundInstruction)> = day
        .refund_files
        .iter()
        .flat_map(|f| f.instructions.iter().map(move |i| (f.name.as_str(), i)))
        .collect();
    all.sort_by_key(|(_, i)| Reverse(Decimal::new(i.amount_minor, exponent(&i.currency))));
    all.truncate(LIST_CAP);
    all
}

fn sorted(list: &BinaryHeap<Reverse<Ranked>>) -> Vec<&Row> {
    let mut ranked: Vec<&Ranked> = list.iter().map(|Reverse(r)| r).collect();
    ranked.sort_by_key(|r| Reverse((r.amount, r.order)));
    ranked.into_iter().map(|r| &r.row).collect()
}

fn to_minor(text: &str, currency: &str) -> Option<i64> {
    crate::money::parse_amount(text, currency).ok().or_else(|| {
        text.strip_prefix('-')
            .and_then(|t| crate::money::parse_amount(t, currency).ok())
            .map(|m| -m)
    })
}

fn controls(controls: &[ControlTotals]) -> Markup {
    html! {
        @if controls.is_empty() {
            p { "No settlement file covers this day." }
        } @else {
            div.wide { table #controls {
                thead { tr {
                    th { "channel" } th { "currency" } th.num { "rows matched" } th.num { "amount matched" }
                    th.num { "gross" } th.num { "refunds" } th.num { "fees" } th.num { "net settled" }
                    th.num { "internal total" } th.num { "difference" } th.num { "match rate" }
                } }
                tbody {
                    @for c in controls {
                        @let m = |minor: i64| money(minor, &c.currency);
                        tr {
                            td { (c.channel) } td { (c.currency) }
                            td.num { (c.matched_rows) " / " (c.payment_rows) }
                            td.num { (m(c.matched_amount)) } td.num { (m(c.gross)) } td.num { (m(c.refunds)) }
                            td.num { (grouped(&c.decimal(c.fees))) " " (c.currency) }
                            td.num { (grouped(&c.decimal(c.net()))) " " (c.currency) }
                            td.num { (m(c.internal_total)) }
                            td.num.neg[c.difference() != 0] { (m(c.difference())) }
                            td.num { (c.match_rate()) }
                        }
                    }
                }
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(n: i64) -> Finding {
        Finding {
            kind: FindingKind::MissingInChannel,
            finding_id: format!("F{n:05}"),
            status: Status::New,
            age_days: 0,
            overdue: false,
            order_id: format!("O{n}"),
            payment_id: String::new(),
            channel_order_id: format!("C{n}"),
            channel_txn_id: String::new(),
            channel: "wechat".into(),
            internal_amount: Some(n),
            internal_currency: Some("CNY".into()),
            channel_amount: None,
            channel_currency: None,
            refund_minor: 0,
            detail: String::new(),
            first_seen: "2026-11-21".into(),
            refund_request_id: None,
        }
    }

    /// A large day lists the largest LIST_CAP of a kind and says how many
    /// more there are, whatever order the findings come in.
    #[test]
    fn a_kind_lists_its_largest_and_counts_the_rest() {
        let mut html = Html::default();
        for n in (1..=250).rev().chain(251..=300) {
            html.finding(&finding(n)).unwrap();
        }
        let list = sorted(&html.lists[&FindingKind::MissingInChannel]);
        assert_eq!(list.len(), LIST_CAP);
        assert_eq!(list[0].at_stake, "3.00 CNY");
        assert_eq!(list[LIST_CAP - 1].at_stake, "1.01 CNY");
        assert_eq!(html.by_kind[&FindingKind::MissingInChannel].count, 300);
    }

    #[test]
    fn thousands_are_grouped_on_exact_text() {
        assert_eq!(grouped("1234567.50"), "1,234,567.50");
        assert_eq!(grouped("-1000"), "-1,000");
        assert_eq!(grouped("999.999"), "999.999");
        assert_eq!(grouped("0.01"), "0.01");
        assert_eq!(money(187766, "CNY"), "1,877.66 CNY");
    }
}
