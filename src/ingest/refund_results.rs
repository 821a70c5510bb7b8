//! The refund job's results: `refund_request_id, status, message`, one row
//! per instruction it submitted (status ACCEPTED or REJECTED).

use crate::error::InputError;
use std::collections::HashMap;
use std::path::Path;

/// What the refund job said of one instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResult {
    pub refund_request_id: String,
    pub rejected: bool,
    pub message: String,
    /// 1-based line in the file.
    pub line: u64,
}

/// Reads a results file whole (it holds one row per instruction: small).
pub fn read(path: &Path) -> Result<Vec<RefundResult>, InputError> {
    let (header, records) = super::small_csv::read(path)?;
    let header: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    let column = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            InputError::file(
                path,
                format!(
                    "has no '{name}' column: a refund results file has the columns refund_request_id, status (ACCEPTED or REJECTED), message (the header has: {})",
                    header.join(", ")
                ),
            )
        })
    };
    let (id_at, status_at) = (column("refund_request_id")?, column("status")?);
    let message_at = header.iter().position(|h| h == "message");
    let mut results = Vec::new();
    // The status each id was given, and on which line: one file may repeat
    // an id, but not contradict itself (a later file may: a refund the job
    // saw accepted can fail afterwards).
    let mut said: HashMap<String, (bool, u64)> = HashMap::new();
    for record in records {
        let line = record.position().map_or(0, |p| p.line());
        let field = |at: usize| record.get(at).unwrap_or_default().trim().to_string();
        let at = |name: &str, problem: String| InputError {
            path: path.to_path_buf(),
            line,
            column: Some(name.to_string()),
            problem,
        };
        let id = field(id_at);
        if id.is_empty() {
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            return Err(at("refund_request_id", "is empty".into()));
        }
        if let Some(problem) = super::too_long(&id) {
            return Err(at("refund_request_id", problem));
        }
        let status = field(status_at).to_ascii_uppercase();
        let rejected = match status.as_str() {
            "ACCEPTED" => false,
            "REJECTED" => true,
            other => {
                return Err(at(
                    "status",
                    format!("'{other}' is not a status: expected ACCEPTED or REJECTED"),
                ));
            }
        };
        match said.get(&id) {
            Some(&(before, first)) if before != rejected => {
                return Err(at(
                    "status",
                    format!(
                        "refund_request_id '{}' is {status} here but {} on line {first}: one results file cannot say both; correct the line that is wrong",
                        super::shorten(&id),
                        if before { "REJECTED" } else { "ACCEPTED" },
                    ),
                ));
            }
            Some(_) => {}
            None => {
                said.insert(id.clone(), (rejected, line));
            }
        }
        results.push(RefundResult {
            refund_request_id: id,
            rejected,
            message: message_at.map(field).unwrap_or_default(),
            line,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Vec<RefundResult>, InputError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.csv");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    /// ACCEPTED on one line and REJECTED on another of the same file was
    /// taken silently, the last line winning.
    #[test]
    fn one_file_may_not_contradict_itself() {
        let err = read_text(
            "refund_request_id,status,message\nPR1,ACCEPTED,ok\nPR2,ACCEPTED,ok\nPR1,REJECTED,no\n",
        )
        .unwrap_err();
        assert_eq!((err.line, err.column.as_deref()), (4, Some("status")));
        assert!(
            err.to_string().ends_with(
                "line 4, column 'status': refund_request_id 'PR1' is REJECTED here but ACCEPTED on line 2: one results file cannot say both; correct the line that is wrong"
            ),
            "{err}"
        );
        // The same status twice is one answer repeated.
        let same = read_text("refund_request_id,status,message\nPR1,REJECTED,a\nPR1,rejected,b\n")
            .unwrap();
        assert_eq!(same.len(), 2);
    }
}
