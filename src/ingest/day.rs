//! What a settlement file's name says: the channel day it covers.
//!
//! `wechat-2026-11-21.csv`, `alipay_20261121.csv`, `2088…0156_20261121_业务明细.csv`:
//! a date is eight digits (or `YYYY-MM-DD`, `YYYY_MM_DD`) not glued to other
//! digits, so a 16-digit merchant number is never mistaken for one.

use chrono::NaiveDate;
use std::path::Path;

/// The one date in the file name, `Ok(None)` if there is none, `Err` with the
/// dates found if there are several different ones.
pub fn day_from_name(path: &Path) -> Result<Option<NaiveDate>, Vec<NaiveDate>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut found: Vec<NaiveDate> = Vec::new();
    let bytes = name.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    for start in 0..bytes.len() {
        if !digit(start) || (start > 0 && digit(start - 1)) {
            continue;
        }
        for (len, sep) in [(10, Some(b'-')), (10, Some(b'_')), (8, None)] {
            let Some(candidate) = name.get(start..start + len) else {
                continue;
            };
            if digit(start + len) {
                continue;
            }
            let compact: String = match sep {
                Some(s) if candidate.as_bytes()[4] == s && candidate.as_bytes()[7] == s => {
                    candidate.chars().filter(char::is_ascii_digit).collect()
                }
                Some(_) => continue,
                None => candidate.to_string(),
            };
            if let Ok(day) = NaiveDate::parse_from_str(&compact, "%Y%m%d")
                && !found.contains(&day)
            {
                found.push(day);
            }
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        _ => Err(found),
    }
}

/// The leading word of a file name (`wechat` in `wechat-2026-11-21.csv`):
/// names the channel of a canonical file that has no rows to say it.
pub fn channel_from_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let word: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    (!word.is_empty()).then_some(word)
}

/// How far a channel's rows may run past the day its file covers, in hours
/// (in the configured zone), and whether the file must show a row of its
/// own day. Rows dated before the day are normal: a T+1 file repeats
/// payments made the day before, refunds carry their payment's time, and a
/// settlement report lists what settled that day, created days before. Rows
/// dated after it are not: a file cannot show tomorrow. UnionPay clears
/// from 23:00 to 23:00 Beijing time and stamps records the day after its
/// file's name; Stripe and Adyen report in UTC or the account's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayTolerance {
    pub after_hours: u32,
    /// A trade bill (WeChat, Alipay) and a UnionPay ZM file list the
    /// transactions of their day: one whose rows all fall before it is
    /// another day's file.
    pub own_day: bool,
    /// The zone the channel cuts its day in: Beijing for WeChat, Alipay
    /// and UnionPay, whatever zone payrecon is configured with; else the
    /// configured zone (and UTC too, for reports that may be in either).
    pub day_zone: DayZone,
}

/// Where a channel's day starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayZone {
    Beijing,
    Configured,
    /// The configured zone or UTC, whichever is more lenient.
    ConfiguredOrUtc,
}

impl DayTolerance {
    /// The zones the channel's day may be cut in, given the configured one.
    fn zones(self, configured: chrono_tz::Tz) -> Vec<chrono_tz::Tz> {
        match self.day_zone {
            DayZone::Beijing => vec![chrono_tz::Asia::Shanghai],
            DayZone::Configured => vec![configured],
            DayZone::ConfiguredOrUtc => vec![configured, chrono_tz::UTC],
        }
    }

    /// The zone a file's times are shown in, for the error.
    pub fn shown_zone(self, configured: chrono_tz::Tz) -> chrono_tz::Tz {
        self.zones(configured)[0]
    }

    /// The built-in tolerance of a format (`[day_tolerance_hours]` in the
    /// config overrides the hours).
    pub fn of_format(format: &str) -> DayTolerance {
        let (after_hours, own_day, day_zone) = match format {
            "wechat" | "alipay" => (0, true, DayZone::Beijing),
            "unionpay" => (24, true, DayZone::Beijing),
            "stripe" | "adyen" => (14, false, DayZone::ConfiguredOrUtc),
            _ => (0, false, DayZone::Configured),
        };
        DayTolerance {
            after_hours,
            own_day,
            day_zone,
        }
    }
}

/// The span of a settlement file's row times, gathered as the rows stream
/// by, to check them against the day the file claims: a file of another
/// day loaded under this one would stand in for that day, and the right
/// file, arriving later, would be taken as a correction of it.
#[derive(Debug, Default)]
pub struct RowSpan {
    /// Earliest and latest payment (UTC microseconds).
    payments: Option<(i64, i64)>,
    /// Earliest and latest refund.
    refunds: Option<(i64, i64)>,
}

impl RowSpan {
    pub fn add(&mut self, record: &crate::model::SettlementRecord) {
        let at = record.transacted_at;
        match record.kind {
            crate::model::Kind::Payment => {
                self.payments = Some(match self.payments {
                    Some((low, high)) => (low.min(at), high.max(at)),
                    None => (at, at),
                });
            }
            crate::model::Kind::Refund => {
                self.refunds = Some(match self.refunds {
                    Some((low, high)) => (low.min(at), high.max(at)),
                    None => (at, at),
                });
            }
        }
    }

    /// Why a run refuses a file of `format` that claims `day` (`source`
    /// says where the day came from) for these rows, if it does: the rows
    /// do not fit the day within `tolerance`. One text for `run`, which
    /// refuses the file, and `inspect`, which says a run would.
    pub fn refusal(
        &self,
        day: NaiveDate,
        source: &str,
        format: &str,
        zone: chrono_tz::Tz,
        tolerance: DayTolerance,
    ) -> Option<String> {
        let shown = self.check(day, zone, tolerance).err()?;
        Some(format!(
            "claims day {day} ({source}), but its rows show {shown} ({} time; {format} rows may run {} h past the day). Is it another day's file, or misnamed? Rename it for the day its rows show, or set [day_tolerance_hours] {format} = HOURS in the config if the channel cuts its day otherwise",
            tolerance.shown_zone(zone),
            tolerance.after_hours,
        ))
    }

    /// Whether the rows fit `day` within `tolerance`; if not, what they
    /// show instead, for the error. `zone` is the configured zone.
    pub fn check(
        &self,
        day: NaiveDate,
        zone: chrono_tz::Tz,
        tolerance: DayTolerance,
    ) -> Result<(), String> {
        const HOUR: i64 = 3_600_000_000;
        let zones = tolerance.zones(zone);
        let next = day.succ_opt().unwrap_or(day);
        // The most lenient reading over the zones the day may be cut in.
        let start = zones
            .iter()
            .map(|z| day_start(day, *z))
            .min()
            .unwrap_or_default();
        let end = zones
            .iter()
            .map(|z| day_start(next, *z))
            .max()
            .unwrap_or_default();
        let late_end = end + i64::from(tolerance.after_hours) * HOUR;
        let earliest = self
            .payments
            .map(|(low, _)| low)
            .into_iter()
            .chain(self.refunds.map(|(low, _)| low))
            .min();
        let latest = self
            .payments
            .map(|(_, high)| high)
            .max(self.refunds.map(|(_, high)| high));
        let shown = |at: i64| crate::timestamp::format(at, tolerance.shown_zone(zone));
        let rows = || {
            let mut parts = Vec::new();
            if let Some((low, high)) = self.payments {
                parts.push(format!("payments from {} to {}", shown(low), shown(high)));
            }
            if let Some((low, high)) = self.refunds {
                parts.push(format!("refunds from {} to {}", shown(low), shown(high)));
            }
            parts.join(", ")
        };
        match (earliest, latest) {
            (_, Some(at)) if at >= late_end => Err(format!("a row at {} ({})", shown(at), rows())),
            (Some(at), _) if at >= end => Err(format!("every row after that day ({})", rows())),
            (_, Some(at)) if tolerance.own_day && at < start => {
                Err(format!("no row of that day ({})", rows()))
            }
            _ => Ok(()),
        }
    }
}

/// The instant `day` starts in `zone` (an hour later where DST skips
/// midnight).
fn day_start(day: NaiveDate, zone: chrono_tz::Tz) -> i64 {
    [0, 1]
        .into_iter()
        .find_map(|hour| {
            crate::timestamp::from_local(day.and_hms_opt(hour, 0, 0).unwrap_or_default(), zone)
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(name: &str) -> Result<Option<String>, usize> {
        day_from_name(Path::new(name))
            .map(|d| d.map(|d| d.to_string()))
            .map_err(|v| v.len())
    }

    #[test]
    fn finds_the_date_in_common_names() {
        assert_eq!(day("wechat-2026-11-21.csv"), Ok(Some("2026-11-21".into())));
        assert_eq!(
            day("bills/alipay_20261121.csv"),
            Ok(Some("2026-11-21".into()))
        );
        assert_eq!(
            day("20880211096256330156_20190916_业务明细.csv"),
            Ok(Some("2019-09-16".into()))
        );
        assert_eq!(day("stripe_2026_11_21.csv"), Ok(Some("2026-11-21".into())));
        assert_eq!(day("settlement.csv"), Ok(None));
        assert_eq!(day("batch_123456789.csv"), Ok(None));
        assert_eq!(day("wechat-2026-11-21-to-2026-11-22.csv"), Err(2));
    }

    #[test]
    fn channel_is_the_leading_word() {
        assert_eq!(
            channel_from_name(Path::new("x/WeChat-2026-11-21.csv")).as_deref(),
            Some("wechat")
        );
        assert_eq!(channel_from_name(Path::new("2026-11-21.csv")), None);
    }
}
