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

/// [`money::canonical_decimal`] (the exact text a fee is kept as) with a
/// fast path for the plain shape: the digits themselves, trimmed, instead of
/// a `Decimal` formatted through `Display`, which cost more than parsing the
/// row. Anything else takes the general path, so both give the same text.
pub fn decimal_text(text: &str) -> Result<String, money::AmountError> {
    let Some((negative, whole, fraction)) = plain_parts(text) else {
        return money::canonical_decimal(text);
    };
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let mut out = String::with_capacity(text.len() + 1);
    if whole.is_empty() && fraction.is_empty() {
        out.push('0');
        return Ok(out);
    }
    if negative {
        out.push('-');
    }
    out.push_str(if whole.is_empty() { "0" } else { whole });
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    Ok(out)
}

/// Sign, whole digits and fraction digits of a plain `-?digits(.digits)?`
/// of at most 18 digits, the shape [`decimal`] reads directly.
fn plain_parts(text: &str) -> Option<(bool, &str, &str)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    (!whole.is_empty() && whole.len() + fraction.len() <= 18 && plain(whole) && plain(fraction))
        .then_some((negative, whole, fraction))
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
            assert_eq!(decimal_text(text), money::canonical_decimal(text), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decimal_text_is_canonical_decimal(text in "-?[0-9]{0,12}(\\.[0-9]{0,9})?0{0,3}") {
            proptest::prop_assert_eq!(decimal_text(&text), money::canonical_decimal(&text));
        }
    }
}
