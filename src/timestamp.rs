//! Timestamps as they appear in exports and bills, read with explicit zones.
//!
//! Accepted: RFC 3339 with an offset (`2026-11-21T10:00:00+08:00`, `…Z`), and
//! naive `YYYY-MM-DD HH:MM:SS` (also with `T`, `/` dates or fractional
//! seconds), which is read in the zone the caller names. Everything is turned
//! into UTC microseconds at once, so comparisons never mix zones.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
];

/// What a timestamp field must look like, for error messages.
pub const EXPECTED: &str =
    "an RFC 3339 time with offset (2026-11-21T10:00:00+08:00) or YYYY-MM-DD HH:MM:SS";

/// Parses a timestamp to UTC microseconds; naive times are read in `zone`.
pub fn parse(text: &str, zone: Tz) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_micros());
    }
    let naive = NAIVE_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())?;
    from_local(naive, zone)
}

/// Reads a local wall-clock time in `zone`. In the hour a DST change repeats,
/// the earlier instant is taken; a time that does not exist (skipped by DST)
/// is refused rather than guessed.
pub fn from_local(naive: NaiveDateTime, zone: Tz) -> Option<i64> {
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.timestamp_micros()),
        LocalResult::Ambiguous(first, _) => Some(first.timestamp_micros()),
        LocalResult::None => None,
    }
}

/// The local calendar date of an instant in `zone`, as `YYYY-MM-DD`.
pub fn local_day(micros: i64, zone: Tz) -> String {
    local_date(micros, zone).format("%Y-%m-%d").to_string()
}

pub fn local_date(micros: i64, zone: Tz) -> NaiveDate {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.with_timezone(&zone).date_naive())
        .unwrap_or_default()
}

/// RFC 3339 in `zone`, seconds precision unless the instant has a fraction.
pub fn format(micros: i64, zone: Tz) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| {
            t.with_timezone(&zone)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
        })
        .unwrap_or_default()
}

/// Parses a `YYYY-MM-DD` day.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn naive_times_use_the_given_zone() {
        let naive = parse("2026-11-21 23:59:59", SHANGHAI).unwrap();
        let explicit = parse("2026-11-21T23:59:59+08:00", SHANGHAI).unwrap();
        assert_eq!(naive, explicit);
        assert_eq!(local_day(naive, SHANGHAI), "2026-11-21");
        assert_eq!(local_day(naive, chrono_tz::UTC), "2026-11-21");
        let utc_late = parse("2026-11-21T20:00:00Z", SHANGHAI).unwrap();
        assert_eq!(local_day(utc_late, SHANGHAI), "2026-11-22");
    }

    #[test]
    fn fractional_seconds_are_kept() {
        let a = parse("2026-11-21 10:00:00.250", SHANGHAI).unwrap();
        let b = parse("2026-11-21 10:00:00", SHANGHAI).unwrap();
        assert_eq!(a - b, 250_000);
    }

    #[test]
    fn refuses_impossible_times() {
        for bad in [
            "2026-02-30 10:00:00",
            "2026-11-21",
            "yesterday",
            "2026-11-21 25:00:00",
            "",
        ] {
            assert_eq!(parse(bad, SHANGHAI), None, "{bad}");
        }
        // 02:30 does not exist in New York on the day clocks spring forward.
        assert_eq!(
            parse("2026-03-08 02:30:00", chrono_tz::America::New_York),
            None
        );
    }
}
