//! A fast path for the plain shape channel bills write amounts in. A bill
//! row carries several amounts; the general parser
//! ([`money::parse_decimal`]) accepts many shapes and costs more than the
//! CSV reading around it. This parses the plain shape directly and hands
//! anything else to the general parser, so both accept and refuse exactly
//! the same texts, with the same values. (Times have theirs in
//! [`crate::timestamp::parse`] itself.)

use crate::money;
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
