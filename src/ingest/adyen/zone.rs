//! Adyen's `TimeZone` column: the account's zone as an abbreviation (`CET`,
//! `CEST`, `BST`), one per row, saying which offset `Creation Date` was
//! written in.
//!
//! Abbreviations are not a standard, so each one payrecon accepts on its own
//! is listed here with the one offset it means. Four are used by several
//! zones: `CST` (US Central −6, China +8, Cuba −5), `IST` (India +5:30,
//! Ireland +1, Israel +2), `AST` (Atlantic −4, Arabia +3) and `GST` (Gulf +4,
//! South Georgia −2). For those, and for any abbreviation not listed, the
//! configured zone decides: if it calls its own standard or summer time by
//! that name (America/Chicago says `CST` in winter, Asia/Shanghai all year),
//! that offset is taken; otherwise the row is refused with a message saying
//! which zone to configure. `BST` is British Summer Time (+1), as in Adyen's
//! own samples. A full IANA name (`Europe/Amsterdam`) is accepted too.

use chrono::{NaiveDateTime, Offset, TimeZone};
use chrono_tz::{OffsetName, Tz};

const HOUR: i32 = 3600;

/// Offsets east of UTC, in seconds, of the abbreviations with one meaning.
fn fixed(abbreviation: &str) -> Option<i32> {
    Some(match abbreviation {
        "UTC" | "GMT" | "WET" => 0,
        "BST" | "WEST" | "CET" | "MET" | "WAT" => HOUR,
        "CEST" | "MEST" | "EET" | "SAST" | "CAT" => 2 * HOUR,
        "EEST" | "MSK" | "EAT" | "TRT" => 3 * HOUR,
        "PKT" => 5 * HOUR,
        "WIB" | "ICT" => 7 * HOUR,
        "SGT" | "HKT" | "MYT" | "PHT" | "AWST" | "WITA" => 8 * HOUR,
        "JST" | "KST" | "WIT" => 9 * HOUR,
        "ACST" => 9 * HOUR + HOUR / 2,
        "AEST" => 10 * HOUR,
        "ACDT" => 10 * HOUR + HOUR / 2,
        "AEDT" => 11 * HOUR,
        "NZST" => 12 * HOUR,
        "NZDT" => 13 * HOUR,
        "BRT" | "ART" => -3 * HOUR,
        "EDT" | "ADT" => -4 * HOUR,
        "EST" | "CDT" => -5 * HOUR,
        "MDT" => -6 * HOUR,
        "MST" | "PDT" => -7 * HOUR,
        "PST" | "AKDT" => -8 * HOUR,
        "AKST" => -9 * HOUR,
        "HST" => -10 * HOUR,
        _ => return None,
    })
}

/// The abbreviations several zones use, with each candidate's offset.
fn ambiguous(abbreviation: &str) -> Option<&'static [(i32, &'static str)]> {
    Some(match abbreviation {
        "CST" => &[
            (-6 * HOUR, "US Central"),
            (8 * HOUR, "China"),
            (-5 * HOUR, "Cuba"),
        ],
        "IST" => &[
            (5 * HOUR + HOUR / 2, "India"),
            (HOUR, "Ireland"),
            (2 * HOUR, "Israel"),
        ],
        "AST" => &[(-4 * HOUR, "Atlantic"), (3 * HOUR, "Arabia")],
        "GST" => &[(4 * HOUR, "Gulf"), (-2 * HOUR, "South Georgia")],
        _ => return None,
    })
}

/// UTC microseconds of `local`, written in the zone `name`; `configured` is
/// the run's zone, which settles ambiguous abbreviations. The error says what
/// was wrong with `name`.
pub fn to_utc(local: NaiveDateTime, name: &str, configured: Tz) -> Result<i64, String> {
    let local = crate::timestamp::no_leap(local);
    let ambiguous = ambiguous(name);
    let offset = match fixed(name) {
        Some(seconds) => seconds,
        _ => match configured_meaning(name, local, configured) {
            Some(seconds) => seconds,
            None => {
                if let Ok(zone) = name.parse::<Tz>() {
                    return crate::timestamp::from_local(local, zone).ok_or_else(|| {
                        format!("{local} does not exist in {zone} (skipped by a clock change)")
                    });
                }
                return Err(refusal(name, ambiguous, configured));
            }
        },
    };
    let seconds = local.and_utc().timestamp() - i64::from(offset);
    Ok(seconds * 1_000_000 + i64::from(local.and_utc().timestamp_subsec_micros()))
}

/// The offset `configured` calls `name`, looking at `local` and half a year
/// either side, so both its standard and its summer name are seen.
fn configured_meaning(name: &str, local: NaiveDateTime, configured: Tz) -> Option<i32> {
    [0, -183, 183].into_iter().find_map(|days| {
        let probe = local + chrono::Duration::days(days);
        let offset = configured.offset_from_local_datetime(&probe).earliest()?;
        (offset.abbreviation() == Some(name)).then(|| offset.fix().local_minus_utc())
    })
}

fn refusal(name: &str, ambiguous: Option<&[(i32, &str)]>, configured: Tz) -> String {
    match ambiguous {
        Some(candidates) => {
            let list: Vec<String> = candidates
                .iter()
                .map(|(s, place)| format!("{} {place}", utc_offset(*s)))
                .collect();
            format!(
                "'{name}' is ambiguous ({}) and the configured zone {configured} does not use it: set the run's zone to the Adyen account's zone",
                list.join(", ")
            )
        }
        None => format!(
            "'{name}' is not a time zone abbreviation payrecon knows (like CET, CEST, BST, GMT, EST, SGT, AEST) or an IANA name (like Europe/Amsterdam)"
        ),
    }
}

fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn utc(text: &str) -> i64 {
        at(text).and_utc().timestamp_micros()
    }

    #[test]
    fn a_leap_second_stays_in_its_minute() {
        let leap = at("2026-11-21 23:59:60");
        let last = utc("2026-11-21 23:59:59") + 999_999;
        assert_eq!(to_utc(leap, "UTC", chrono_tz::UTC), Ok(last));
        assert_eq!(to_utc(leap, "Etc/UTC", chrono_tz::UTC), Ok(last));
    }

    #[test]
    fn fixed_abbreviations() {
        let local = at("2026-11-21 10:00:00");
        let utc_zone = chrono_tz::UTC;
        assert_eq!(
            to_utc(local, "CET", utc_zone),
            Ok(utc("2026-11-21 09:00:00"))
        );
        assert_eq!(
            to_utc(local, "CEST", utc_zone),
            Ok(utc("2026-11-21 08:00:00"))
        );
        assert_eq!(
            to_utc(local, "PST", utc_zone),
            Ok(utc("2026-11-21 18:00:00"))
        );
        assert_eq!(
            to_utc(local, "ACST", utc_zone),
            Ok(utc("2026-11-21 00:30:00"))
        );
        assert_eq!(
            to_utc(local, "Europe/Amsterdam", utc_zone),
            Ok(utc("2026-11-21 09:00:00"))
        );
        assert!(
            to_utc(local, "XYZT", utc_zone)
                .unwrap_err()
                .contains("'XYZT'")
        );
    }

    #[test]
    fn the_configured_zone_settles_cst() {
        let local = at("2026-11-21 10:00:00");
        assert_eq!(
            to_utc(local, "CST", chrono_tz::Asia::Shanghai),
            Ok(utc("2026-11-21 02:00:00"))
        );
        assert_eq!(
            to_utc(local, "CST", chrono_tz::America::Chicago),
            Ok(utc("2026-11-21 16:00:00"))
        );
        let err = to_utc(local, "CST", chrono_tz::Europe::Berlin).unwrap_err();
        assert!(
            err.contains("UTC+08:00 China") && err.contains("Europe/Berlin"),
            "{err}"
        );
        // Chicago calls −6 CST even when a July row is labelled so.
        assert_eq!(
            to_utc(
                at("2026-07-01 10:00:00"),
                "CST",
                chrono_tz::America::Chicago
            ),
            Ok(utc("2026-07-01 16:00:00"))
        );
        // Not listed, but the configured zone uses it.
        assert_eq!(
            to_utc(at("2026-07-01 10:00:00"), "IDT", chrono_tz::Asia::Jerusalem),
            Ok(utc("2026-07-01 07:00:00"))
        );
    }
}
