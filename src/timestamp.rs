//! Timestamps as they appear in exports and bills, read with explicit zones.
//!
//! Accepted: RFC 3339 with an offset (`2026-11-21T10:00:00+08:00`, `…Z`), and
//! naive `YYYY-MM-DD HH:MM:SS` (also with `T`, `/` dates or fractional
//! seconds), which is read in the zone the caller names. Everything is turned
//! into UTC microseconds at once, so comparisons never mix zones.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike};
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
    match plain_local(text) {
        Some(naive) => from_local(naive, zone),
        None => parse_general(text, zone),
    }
}

/// The plain shape almost every export and bill writes,
/// `YYYY-MM-DD HH:MM:SS` (or with `T`, or with 1–9 fractional digits), read
/// digit by digit: chrono's `parse_from_str` interprets its format string on
/// every call, which cost more than the CSV reading around it. `None` means
/// "not this shape" (the general parser decides, so both accept and refuse
/// exactly the same texts), or an impossible date or time, which the
/// general parser refuses as well.
pub fn plain_local(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let shaped = b.len() >= 19
        && b[..19].iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ' || c == b'T',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    let number = |digits: &[u8]| {
        digits
            .iter()
            .fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'))
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..]
            if (1..=9).contains(&fraction.len()) && fraction.iter().all(u8::is_ascii_digit) =>
        {
            number(fraction) * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let (hour, minute, second) = (number(&b[11..13]), number(&b[14..16]), number(&b[17..19]));
    if second > 59 {
        return None; // a leap second: the general parser's rules apply
    }
    NaiveDate::from_ymd_opt(number(&b[..4]) as i32, number(&b[5..7]), number(&b[8..10]))?
        .and_hms_nano_opt(hour, minute, second, nanos)
}

/// Every accepted shape, through chrono. A leap second (`23:59:60`) is
/// read as the last instant of the second before it: chrono counts it into
/// the next minute, which put a payment of 23:59:60 on the next day.
fn parse_general(text: &str, zone: Tz) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(no_leap(t).timestamp_micros());
    }
    let naive = NAIVE_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())?;
    from_local(naive, zone)
}

/// A time with a leap second (chrono's nanosecond of 1e9 or more) as the
/// last instant of the second before it; any other time as it is.
pub fn no_leap<T: Timelike>(t: T) -> T {
    const LAST_NANO: u32 = 999_999_999;
    if t.nanosecond() > LAST_NANO {
        t.with_nanosecond(LAST_NANO).unwrap_or(t)
    } else {
        t
    }
}

/// Reads a local wall-clock time in `zone`. In the hour a DST change repeats,
/// the earlier instant is taken; a time that does not exist (skipped by DST)
/// is refused rather than guessed.
pub fn from_local(naive: NaiveDateTime, zone: Tz) -> Option<i64> {
    match zone.from_local_datetime(&no_leap(naive)) {
        LocalResult::Single(t) => Some(t.timestamp_micros()),
        LocalResult::Ambiguous(first, _) => Some(first.timestamp_micros()),
        LocalResult::None => None,
    }
}

/// The local calendar date of an instant in `zone`, as `YYYY-MM-DD` (one
/// per loaded attempt, so written directly rather than through a format
/// string; chrono's `%Y` only for years outside 0–9999).
pub fn local_day(micros: i64, zone: Tz) -> String {
    let date = local_date(micros, zone);
    if (0..=9999).contains(&date.year()) {
        format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
    } else {
        date.format("%Y-%m-%d").to_string()
    }
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

    /// The digit-by-digit path and chrono agree on every text, shaped or not.
    #[test]
    fn the_plain_shape_reads_as_chrono_reads_it() {
        for text in [
            "2026-11-21 00:00:05",
            "2026-11-21T23:59:59",
            "2026-11-21 10:00:00.5",
            "2026-11-21 10:00:00.123456",
            "2026-11-21 10:00:00.123456789",
            "2026-11-21 10:00:00.1234567891",
            "2026-11-21 10:00:00.",
            "2026-11-21 10:00:00.12a",
            "2026-11-21 10:00:60",
            "2026-11-21 24:00:00",
            "2026-11-21 23:60:00",
            "2026-02-29 10:00:00",
            "2028-02-29 10:00:00",
            "2026-13-01 10:00:00",
            "2026-00-10 10:00:00",
            "2026-11-00 10:00:00",
            "0000-01-01 00:00:00",
            "9999-12-31 23:59:59",
            "2026-11-21 10:00:00Z",
            "2026-11-21T10:00:00+08:00",
            "2026-11-21T10:00:00.250-05:00",
            "2026/11/21 10:00:00",
            "2026/11/21T10:00:00",
            "2026-11-21 10:00",
            "2026-1-21 10:00:00",
            "2026-11-21  10:00:00",
            "2026-03-08 02:30:00",
            "2026-11-01 01:30:00",
        ] {
            for zone in [SHANGHAI, chrono_tz::America::New_York, chrono_tz::UTC] {
                assert_eq!(
                    parse(text, zone),
                    parse_general(text.trim(), zone),
                    "{text} in {zone}"
                );
            }
        }
    }

    proptest::proptest! {
        /// Near-shaped texts (any digits, either separator, 0–11 fraction
        /// digits, stray characters) read the same on both paths.
        #[test]
        fn near_plain_texts_read_as_chrono_reads_them(
            text in "[0-9]{4}-[0-9]{2}-[0-3][0-9][ T][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,11})?[Z+ x]?"
        ) {
            for zone in [SHANGHAI, chrono_tz::America::New_York] {
                proptest::prop_assert_eq!(parse(&text, zone), parse_general(text.trim(), zone));
            }
        }
    }

    #[test]
    fn local_day_matches_chrono_formatting() {
        for micros in [
            0,
            1_779_000_000_000_000,
            -62_135_596_800_000_000,
            253_402_300_799_000_000,
        ] {
            for zone in [
                SHANGHAI,
                chrono_tz::America::New_York,
                chrono_tz::Pacific::Kiritimati,
            ] {
                assert_eq!(
                    local_day(micros, zone),
                    local_date(micros, zone).format("%Y-%m-%d").to_string()
                );
            }
        }
    }

    #[test]
    fn a_leap_second_stays_in_its_day() {
        for text in [
            "2026-11-21 23:59:60",
            "2026-11-21T23:59:60",
            "2026-11-21T23:59:60+08:00",
            "2026-11-21 23:59:60.5",
        ] {
            let at = parse(text, SHANGHAI).unwrap();
            assert_eq!(local_day(at, SHANGHAI), "2026-11-21", "{text}");
            assert_eq!(
                at,
                parse("2026-11-21 23:59:59.999999", SHANGHAI).unwrap(),
                "{text}"
            );
        }
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
