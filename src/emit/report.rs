//! discrepancies.csv: one row per finding, for people and spreadsheets
//! (text guarded against formulas; encoded as `csv_encoding` says). Each
//! amount has its own currency: `internal_amount` in `internal_currency`,
//! `channel_amount` in `channel_currency`, `amount_at_stake` in `currency`.

use super::csv_safe::{text, writer_to};
use super::day::DayReport;
use super::encoding::{CsvEncoding, Encoded};
use super::{Output, Sink, StagedFile};
use crate::money::format_minor;
use crate::reconcile::finding::Finding;

pub const HEADER: [&str; 20] = [
    "kind",
    "severity",
    "status",
    "finding_id",
    "order_id",
    "payment_id",
    "channel_order_id",
    "channel_txn_id",
    "channel",
    "internal_amount",
    "channel_amount",
    "currency",
    "amount_at_stake",
    "action",
    "detail",
    "first_seen",
    "age_days",
    "overdue",
    "internal_currency",
    "channel_currency",
];

/// Writes discrepancies.csv one finding at a time into `W` (the staged
/// file), so a large day holds neither its findings nor the file's bytes in
/// memory.
pub struct ReportWriter<W: std::io::Write> {
    out: csv::Writer<Encoded<W>>,
    encoding: CsvEncoding,
}

impl<W: std::io::Write> ReportWriter<W> {
    pub fn new(out: W) -> anyhow::Result<ReportWriter<W>> {
        ReportWriter::encoded(out, CsvEncoding::Utf8)
    }

    pub fn encoded(out: W, encoding: CsvEncoding) -> anyhow::Result<ReportWriter<W>> {
        let mut out = writer_to(encoding.writer(out)?);
        out.write_record(HEADER)?;
        Ok(ReportWriter { out, encoding })
    }

    pub fn push(&mut self, f: &Finding) -> anyhow::Result<()> {
        let internal = amount(f.internal_amount, f.internal_currency.as_deref());
        let channel = amount(f.channel_amount, f.channel_currency.as_deref());
        let shown = f.shown_kind();
        self.out.write_record([
            shown.code(),
            f.severity(),
            f.status.code(),
            &f.finding_id,
            &self.encoding.id(&f.order_id),
            &self.encoding.id(&f.payment_id),
            &self.encoding.id(&f.channel_order_id),
            &self.encoding.id(&f.channel_txn_id),
            &text(&f.channel),
            &internal,
            &channel,
            &text(f.currency()),
            &format_minor(f.amount_at_stake(), f.currency()),
            &text(&action(f)),
            &text(&f.detail),
            &f.first_seen,
            &f.age_days.to_string(),
            if f.overdue { "yes" } else { "" },
            &text(f.internal_currency.as_deref().unwrap_or_default()),
            &text(f.channel_currency.as_deref().unwrap_or_default()),
        ])?;
        Ok(())
    }

    /// Flushes the rows and gives the destination back.
    pub fn finish(self) -> anyhow::Result<W> {
        Ok(self
            .out
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))?
            .into_inner()?)
    }
}

/// discrepancies.csv as an output of the registry: streamed into its
/// staged file as the findings pass.
pub struct Discrepancies {
    writer: ReportWriter<StagedFile>,
}

impl Discrepancies {
    pub fn new(file: StagedFile, encoding: CsvEncoding) -> anyhow::Result<Discrepancies> {
        Ok(Discrepancies {
            writer: ReportWriter::encoded(file, encoding)?,
        })
    }
}

impl Output for Discrepancies {
    fn name(&self) -> &'static str {
        "discrepancies.csv"
    }

    fn finding(&mut self, finding: &Finding) -> anyhow::Result<()> {
        self.writer.push(finding)
    }

    fn finish(self: Box<Self>, _day: &DayReport, sink: &mut Sink) -> anyhow::Result<()> {
        sink.add(self.writer.finish()?)
    }
}

fn amount(minor: Option<i64>, currency: Option<&str>) -> String {
    match (minor, currency) {
        (Some(m), Some(c)) => format_minor(m, c),
        _ => String::new(),
    }
}

/// The kind's action, plus the refund instructions that carry it out.
pub fn action(f: &Finding) -> String {
    match &f.refund_request_id {
        Some(list) => {
            let refunds: Vec<String> = list
                .split(';')
                .filter_map(|item| {
                    let mut parts = item.split(' ');
                    let (id, minor, day) =
                        (parts.next()?, parts.next()?.parse().ok()?, parts.next()?);
                    Some(format!(
                        "{} {} as {id} (issued {day})",
                        format_minor(minor, f.currency()),
                        f.currency()
                    ))
                })
                .collect();
            format!("{}: {}", f.shown_kind().action(), refunds.join(", "))
        }
        None => f.shown_kind().action().to_string(),
    }
}
