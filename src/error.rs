//! Errors a caller must tell apart. Everything else travels as `anyhow`.

use std::fmt;
use std::path::PathBuf;

/// A value in an input file that payrecon cannot accept. It names the place
/// precisely (file, line, column) and says what was expected, so the person
/// fixing the file does not have to guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub path: PathBuf,
    /// 1-based line in the file; 0 when the problem is the file as a whole.
    pub line: u64,
    /// The column's header name, when the problem is one field.
    pub column: Option<String>,
    pub problem: String,
}

impl InputError {
    pub fn file(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        InputError {
            path: path.into(),
            line: 0,
            column: None,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ", line {}", self.line)?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column '{}'", clip(&escape(column)))?;
        }
        write!(f, ": {}", clip(&escape(&self.problem)))
    }
}

/// Control characters as `\u{…}` escapes: no message writes raw bytes
/// (a NUL, an escape sequence) to the terminal.
fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        crate::ingest::escape(text).into()
    } else {
        text.into()
    }
}

/// Keeps a message readable when it quotes a huge value (a 10 MB field):
/// its head and its tail (which says what was expected) around a count.
fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    const KEEP: usize = 160;
    if text.len() <= 3 * KEEP {
        return text.into();
    }
    let head = text.char_indices().nth(KEEP).map_or(text.len(), |(i, _)| i);
    let tail = text
        .char_indices()
        .rev()
        .nth(KEEP - 1)
        .map_or(0, |(i, _)| i)
        .max(head);
    format!(
        "{}… ({} bytes in all) …{}",
        &text[..head],
        text.len(),
        &text[tail..]
    )
    .into()
}

impl std::error::Error for InputError {}

/// Raised when `--fail-on-findings` is set and the run found something that
/// needs a person; the run itself completed and its outputs are written.
#[derive(Debug, thiserror::Error)]
#[error("{0} finding(s) need action")]
pub struct FindingsNeedAction(pub usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_values_are_clipped_in_the_middle() {
        let value = "9".repeat(10_000_000);
        let err = InputError {
            column: Some("amount".into()),
            line: 2,
            ..InputError::file(
                "orders.csv",
                format!("'{value}' has 3 decimals, CNY allows 2"),
            )
        };
        let text = err.to_string();
        assert!(text.len() < 600, "{} bytes", text.len());
        assert!(
            text.starts_with("orders.csv, line 2, column 'amount': '999"),
            "{text}"
        );
        assert!(text.ends_with("has 3 decimals, CNY allows 2"), "{text}");
        assert!(text.contains("10000031 bytes in all"), "{text}");
        let short = InputError::file("a.csv", "ü".repeat(200));
        assert_eq!(short.to_string(), format!("a.csv: {}", "ü".repeat(200)));
        let wide = InputError::file("a.csv", "ü".repeat(3000));
        assert!(wide.to_string().contains("6000 bytes in all"));
    }
}

/// The run committed its changes, but not every output could be put in
/// place. Its refund files that are out are recorded as published; running
/// the same command again writes the outputs still missing (exit status 5).
#[derive(Debug)]
pub struct PublishedInPart {
    pub business_day: String,
    pub out_dir: PathBuf,
    /// The refund files put in place before the failure.
    pub refund_files: Vec<String>,
    pub cause: String,
}

impl fmt::Display for PublishedInPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the run for {} committed its changes, but not every output is in {}: {}. ",
            self.business_day,
            self.out_dir.display(),
            self.cause
        )?;
        match self.refund_files.as_slice() {
            [] => write!(f, "No refund file was put in place")?,
            names => write!(
                f,
                "Its refund files are in place and recorded as published ({})",
                names.join(", ")
            )?,
        }
        write!(
            f,
            "; run the same command again to write the rest (it issues nothing twice)"
        )
    }
}

impl std::error::Error for PublishedInPart {}
