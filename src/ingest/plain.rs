//! Fast paths for the plain shapes channel bills write amounts and times in.
//! A bill row carries several amounts and a time; the general parsers
//! ([`money::parse_decimal`], [`timestamp::parse`]) accept many shapes and
//! cost more than the CSV reading around them. These parse the plain shape
//! directly and hand anything else to the general parser, so they accept
//! and refuse exactly the same texts, with the same values.

use crate::{money, timestamp};
use chrono_tz::Tz;
use rust_decimal::Decimal;

/// [`money::parse_decimal`] with a fast path for the plain `-?digits.digits`
/// every bill amount is; anything else takes the general parser, so both
/// accept and refuse the same texts.
pub fn decimal(text: &str) -> Result<Decimal, money::AmountError> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[..0]),
    };
    let plain = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
    if whole.is_empty() || whole.len() + fraction.len() > 18 || !plain(whole) || !plain(fraction) {
        return money::parse_decimal(text);
    }
    let mantissa = whole
        .iter()
        .chain(fraction)
        .fold(0i64, |m, &b| m * 10 + i64::from(b - b'0'));
    let scale = fraction.len() as u32;
    Ok(Decimal::new(
        if negative { -mantissa } else { mantissa },
        scale,
    ))
}

/// [`timestamp::parse`] with a fast path for `YYYY-MM-DD HH:MM:SS`, the one
/// shape bills write; other shapes take the general parser.
pub fn local_time(text: &str, zone: Tz) -> Option<i64> {
    let b = text.as_bytes();
    let shaped = b.len() == 19
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shaped {
        return timestamp::parse(text, zone);
    }
    let n = |from: usize, to: usize| {
        b[from..to]
            .iter()
            .fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'))
    };
    let naive = chrono::NaiveDate::from_ymd_opt(n(0, 4) as i32, n(5, 7), n(8, 10))?.and_hms_opt(
        n(11, 13),
        n(14, 16),
        n(17, 19),
    )?;
    timestamp::from_local(naive, zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn fast_paths_agree_with_the_general_parsers() {
        for text in [
            "0",
            "0.00",
            "128.50",
            "-0.17000",
            "1.001",
            "999999999999999999",
            "9999999999999999999",
            "+1.00",
            ".5",
            "5.",
            "1e3",
            "",
            "-",
            "1.2.3",
            "１.00",
        ] {
            assert_eq!(decimal(text), money::parse_decimal(text), "{text}");
        }
        for text in [
            "2026-11-21 00:00:05",
            "2026-02-30 10:00:00",
            "2026-11-21 24:00:00",
            "2026-11-21T10:00:00+08:00",
            "2026/11/21 10:00:00",
            "2026-11-21 10:00",
            "1988-04-17 02:30:00",
        ] {
            assert_eq!(
                local_time(text, SHANGHAI),
                timestamp::parse(text, SHANGHAI),
                "{text}"
            );
        }
    }
}
