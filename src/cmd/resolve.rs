//! `payrecon resolve`: a person closes findings the data cannot close (a
//! mismatch explained by the bank, a duplicate refunded by hand…), with a
//! note. Recorded with who and when; the next run reports them RESOLVED
//! once. All or nothing: an unknown id is an error naming it, and nothing
//! is applied.

use super::DbArgs;
use crate::error::InputError;
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The findings to close (finding_id, from discrepancies.csv).
    #[arg(value_name = "FINDING_ID", required_unless_present = "from")]
    pub ids: Vec<String>,
    /// Why they are closed (required with ids; with --from, each row's
    /// `resolution` is its note).
    #[arg(long, value_name = "TEXT", required_unless_present = "from")]
    pub note: Option<String>,
    /// A discrepancies.csv in which the team filled a `resolution` column:
    /// every row with one is closed, with it as the note.
    #[arg(long, value_name = "FILE.csv", conflicts_with = "ids")]
    pub from: Option<PathBuf>,
    /// Who closes them [default: $USER].
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn exec(args: &ResolveArgs) -> Result<String> {
    let closing: Vec<(String, String)> = match &args.from {
        Some(path) => read_resolutions(path)?,
        None => {
            let note = args.note.clone().unwrap_or_default();
            anyhow::ensure!(!note.trim().is_empty(), "--note must say why");
            args.ids
                .iter()
                .map(|id| (id.clone(), note.clone()))
                .collect()
        }
    };
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|by| !by.trim().is_empty() && by != "data")
        .context("say who closes them with --by NAME")?;
    let (config, mut store) = args.db.open()?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let tx = store.begin(
        &config.db,
        std::time::Duration::from_secs(config.lock_timeout_secs),
    )?;
    let outcome = crate::reconcile::lifecycle::resolve_by_person(&tx, &closing, &by, &now)?;
    tx.commit()?;
    let mut text = format!(
        "resolved {} finding(s) by {by}; the next run reports them RESOLVED",
        outcome.resolved
    );
    if !outcome.already.is_empty() {
        text.push_str(&format!(
            "\nalready resolved, left as they were: {}",
            outcome.already.join(", ")
        ));
    }
    text.push('\n');
    Ok(text)
}

/// The rows of a discrepancies.csv whose `resolution` is filled: their
/// finding_id and that note.
fn read_resolutions(path: &Path) -> Result<Vec<(String, String)>> {
    let (header, records) = crate::ingest::small_csv::read(path)?;
    let position = |name: &str| header.iter().position(|h| h == name);
    let (Some(id_at), Some(note_at)) = (position("finding_id"), position("resolution")) else {
        return Err(InputError::file(
            path,
            "needs the columns finding_id and resolution: add a resolution column to the day's discrepancies.csv and fill it for the rows to close",
        )
        .into());
    };
    let mut closing = Vec::new();
    for record in records {
        let note = record.get(note_at).unwrap_or_default().trim();
        if note.is_empty() {
            continue;
        }
        let id = record.get(id_at).unwrap_or_default().trim();
        if id.is_empty() {
            return Err(InputError {
                path: path.to_path_buf(),
                line: record.position().map_or(0, |p| p.line()),
                column: Some("finding_id".into()),
                problem: "is empty on a row with a resolution".into(),
            }
            .into());
        }
        closing.push((id.to_string(), note.to_string()));
    }
    anyhow::ensure!(
        !closing.is_empty(),
        "{}: no row has a resolution: fill the resolution column of the rows to close",
        path.display()
    );
    Ok(closing)
}
