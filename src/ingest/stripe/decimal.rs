//! Which decimal separator a Stripe report uses.
//!
//! A report requested with `decimal_separator=","` writes `"12,50"` (quoted,
//! since it holds a comma) and nothing in the file says so. The file decides
//! on its first amount that holds a separator: `12,50` (a comma and no dot)
//! makes it a comma file, `12.50` a dot file. After that an amount in the
//! other style is refused instead of guessed, naming the line that decided.
//! Amounts without a separator (`500` yen) fit both. A dot file may group
//! thousands the way a spreadsheet re-save does (`"1,234.56"`); a comma file
//! may not group at all, so `1,234` there is 1.234, which the currency's
//! exponent then refuses for yen or cents.

/// The separator a file has shown so far, and the line that showed it.
#[derive(Debug, Default)]
pub struct Separator {
    decided: Option<(Style, u64)>,
    scratch: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Dot,
    Comma,
}

impl Style {
    fn example(self) -> &'static str {
        match self {
            Style::Dot => "'.' (12.50)",
            Style::Comma => "',' (12,50)",
        }
    }
}

impl Separator {
    /// `text` in the plain `-1234.56` form `money::parse_decimal` reads, or
    /// why it cannot be read in this file.
    pub fn plain<'a>(&'a mut self, text: &'a str, line: u64) -> Result<&'a str, String> {
        let comma = text.contains(',');
        let dot = text.contains('.');
        let style = match (comma, dot) {
            (false, false) => return Ok(text),
            (false, true) => Style::Dot,
            (true, false) => Style::Comma,
            (true, true) => {
                if !grouped(text) {
                    return Err(format!(
                        "'{text}' mixes ',' and '.' but is not thousands grouping like 1,234.56"
                    ));
                }
                Style::Dot
            }
        };
        match self.decided {
            None => self.decided = Some((style, line)),
            Some((seen, at)) if seen != style => {
                return Err(format!(
                    "'{text}' uses {}, but line {at} used {} as the decimal separator; a report has one",
                    style.example(),
                    seen.example()
                ));
            }
            Some(_) => {}
        }
        if !comma {
            return Ok(text);
        }
        self.scratch.clear();
        match style {
            Style::Comma => self.scratch.extend(text.chars().map(|c| match c {
                ',' => '.',
                c => c,
            })),
            Style::Dot => self.scratch.extend(text.chars().filter(|&c| c != ',')),
        }
        Ok(&self.scratch)
    }
}

/// `1,234.56` or `-12,345,678.9`: commas only between groups of three digits
/// before the one dot.
fn grouped(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let Some((whole, fraction)) = digits.split_once('.') else {
        return false;
    };
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mut groups = whole.split(',');
    let first = groups.next().unwrap_or_default();
    (1..=3).contains(&first.len())
        && is_digits(first)
        && is_digits(fraction)
        && groups.all(|g| g.len() == 3 && is_digits(g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comma_file_stays_a_comma_file() {
        let mut sep = Separator::default();
        assert_eq!(sep.plain("500", 2), Ok("500"));
        assert_eq!(sep.plain("12,50", 3), Ok("12.50"));
        assert_eq!(sep.plain("-0,61", 4), Ok("-0.61"));
        let err = sep.plain("1.50", 5).unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn a_dot_file_may_group_thousands() {
        let mut sep = Separator::default();
        assert_eq!(sep.plain("12.50", 2), Ok("12.50"));
        assert_eq!(sep.plain("-1,234.56", 3), Ok("-1234.56"));
        assert!(sep.plain("12,50", 4).unwrap_err().contains("line 2"));
        assert!(Separator::default().plain("1,23.4", 2).is_err());
        assert!(Separator::default().plain("1.234,56", 2).is_err());
    }
}
