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
            write!(f, ", column '{column}'")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for InputError {}

/// Raised when `--fail-on-findings` is set and the run found something that
/// needs a person; the run itself completed and its outputs are written.
#[derive(Debug, thiserror::Error)]
#[error("{0} finding(s) need action")]
pub struct FindingsNeedAction(pub usize);
