//! Money as integer minor units of an ISO 4217 currency.
//!
//! Every amount that enters payrecon goes through [`parse_amount`], which
//! refuses floats' habits: it parses exactly (`Decimal::from_str_exact`), and
//! refuses more decimals than the currency has. Inside the pipeline and in
//! SQLite, money is an `i64` count of minor units (fen, cents), so sums are
//! exact; [`format_minor`] turns it back into a decimal string for people.

use rust_decimal::Decimal;

/// Why an amount was refused. The messages are written for the person who
/// has to fix the input file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("'{0}' is not a decimal amount (expected digits with an optional '.', like 128.50)")]
    NotDecimal(String),
    #[error("'{value}' has {scale} decimals, {currency} allows {allowed}")]
    TooManyDecimals {
        value: String,
        scale: u32,
        currency: String,
        allowed: u32,
    },
    #[error("'{0}' is too large for an amount")]
    TooLarge(String),
    /// Under a layout's `decimal_comma`: a `.` that is not thousands
    /// grouping, or a second `,`.
    #[error(
        "'{0}' is not valid: expected an amount with a decimal comma, like 1.234,56 ('.' only between groups of three digits)"
    )]
    NotDecimalComma(String),
}

impl AmountError {
    /// The error for a decimal-comma layout's amount: it quotes `written`
    /// (the value as the file has it), not the normalised text that was
    /// parsed, and a malformed value is told what a decimal comma looks like.
    pub fn in_decimal_comma(self, written: &str) -> AmountError {
        let written = written.trim().to_string();
        match self {
            AmountError::NotDecimal(_) | AmountError::NotDecimalComma(_) => {
                AmountError::NotDecimalComma(written)
            }
            AmountError::TooManyDecimals {
                scale,
                currency,
                allowed,
                ..
            } => AmountError::TooManyDecimals {
                value: written,
                scale,
                currency,
                allowed,
            },
            AmountError::TooLarge(_) => AmountError::TooLarge(written),
        }
    }
}

/// Why a currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an ISO 4217 currency code (expected three letters, like CNY or USD)")]
pub struct CurrencyError(pub String);

/// The number of decimals (ISO 4217 minor-unit exponent) of a currency.
/// Currencies not listed have two, which is what ISO 4217 gives most codes.
pub fn exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// Normalises a currency code (`usd` -> `USD`) and checks its shape.
pub fn parse_currency(raw: &str) -> Result<String, CurrencyError> {
    let code = raw.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(CurrencyError(raw.to_string()))
    }
}

/// Parses a decimal amount in major units into minor units of `currency`.
///
/// Trailing zeros beyond the currency's decimals are accepted (`12.500` CNY is
/// 1250 fen: some exports pad amounts), any other extra digit is an error:
/// rounding money silently is how ledgers drift.
pub fn parse_amount(raw: &str, currency: &str) -> Result<i64, AmountError> {
    let text = raw.trim();
    let value = parse_decimal(text)?;
    to_minor(value, text, currency)
}

/// Parses a decimal exactly; no exponent notation, no `NaN`, no rounding.
pub fn parse_decimal(text: &str) -> Result<Decimal, AmountError> {
    let plain = text.strip_prefix('+').unwrap_or(text);
    let well_formed = !plain.is_empty()
        && plain
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || b == b'.' || (i == 0 && b == b'-'))
        && plain.bytes().filter(|&b| b == b'.').count() <= 1
        && plain.bytes().any(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(AmountError::NotDecimal(text.to_string()));
    }
    Decimal::from_str_exact(plain).map_err(|_| AmountError::TooLarge(text.to_string()))
}

/// Converts an exact decimal in major units to minor units of `currency`.
pub fn to_minor(value: Decimal, text: &str, currency: &str) -> Result<i64, AmountError> {
    let allowed = exponent(currency);
    let value = value.normalize();
    if value.scale() > allowed {
        return Err(AmountError::TooManyDecimals {
            value: text.to_string(),
            scale: value.scale(),
            currency: currency.to_string(),
            allowed,
        });
    }
    let minor = value
        .checked_mul(Decimal::from(10i64.pow(allowed)))
        .ok_or_else(|| AmountError::TooLarge(text.to_string()))?;
    i64::try_from(minor.mantissa() / 10i128.pow(minor.scale()))
        .ok()
        .filter(|m| m.unsigned_abs() < MAX_MINOR)
        .ok_or_else(|| AmountError::TooLarge(text.to_string()))
}

/// Amounts at or above this many minor units are refused as absurd: it is
/// 10^15, a quadrillion fen, and keeps every sum far from `i64` overflow.
const MAX_MINOR: u64 = 1_000_000_000_000_000;

/// Formats minor units with exactly the currency's decimals: `12850` CNY ->
/// `128.50`, `500` JPY -> `500`.
pub fn format_minor(minor: i64, currency: &str) -> String {
    Decimal::new(minor, exponent(currency)).to_string()
}

/// Parses an amount that has no currency attached yet (fees with five
/// decimals, say) and keeps it as an exact decimal string.
pub fn canonical_decimal(raw: &str) -> Result<String, AmountError> {
    Ok(parse_decimal(raw.trim())?.normalize().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_major_units_exactly() {
        assert_eq!(parse_amount("128.50", "CNY"), Ok(12850));
        assert_eq!(parse_amount("0.01", "CNY"), Ok(1));
        assert_eq!(parse_amount("12.500", "CNY"), Ok(1250));
        assert_eq!(parse_amount("500", "JPY"), Ok(500));
        assert_eq!(parse_amount("1.234", "KWD"), Ok(1234));
        assert_eq!(parse_amount("-3.10", "USD"), Ok(-310));
    }

    #[test]
    fn refuses_what_is_not_money() {
        for bad in [
            "", "1e30", "NaN", "12,50", "1.2.3", "--1", "12.5x", "inf", ".",
        ] {
            assert!(parse_amount(bad, "CNY").is_err(), "{bad} should be refused");
        }
        assert!(matches!(
            parse_amount("12.345", "CNY"),
            Err(AmountError::TooManyDecimals { allowed: 2, .. })
        ));
        assert!(matches!(
            parse_amount("5.5", "JPY"),
            Err(AmountError::TooManyDecimals { allowed: 0, .. })
        ));
        assert!(matches!(
            parse_amount("100000000000000000000", "CNY"),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn formats_with_the_currency_decimals() {
        assert_eq!(format_minor(12850, "CNY"), "128.50");
        assert_eq!(format_minor(5, "USD"), "0.05");
        assert_eq!(format_minor(-5, "USD"), "-0.05");
        assert_eq!(format_minor(500, "JPY"), "500");
        assert_eq!(format_minor(1234, "BHD"), "1.234");
    }

    #[test]
    fn currency_codes_are_normalised() {
        assert_eq!(parse_currency("usd"), Ok("USD".to_string()));
        assert!(parse_currency("US").is_err());
        assert!(parse_currency("U$D").is_err());
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in -10_000_000_000i64..10_000_000_000, cur in prop::sample::select(vec!["CNY", "JPY", "KWD", "USD"])) {
            prop_assert_eq!(parse_amount(&format_minor(minor, cur), cur), Ok(minor));
        }

        #[test]
        fn too_many_decimals_always_errors(minor in 1i64..10_000_000, digit in 1u8..10) {
            let text = format!("{}{}", format_minor(minor, "CNY"), digit);
            prop_assert!(parse_amount(&text, "CNY").is_err());
        }
    }
}
