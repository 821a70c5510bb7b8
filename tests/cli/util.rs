//! The test harness: a scratch folder per test and the real binary.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The export and the settlement folder of scenario `name` under
/// fixtures/cases, as command-line arguments.
pub fn case_inputs(name: &str) -> (String, String) {
    let dir = fixtures().join("cases").join(name).join("in");
    (
        dir.join("orders.csv").display().to_string(),
        dir.join("settlement").display().to_string(),
    )
}

/// A scratch folder with its own database and output folder.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("state.db")
    }

    /// `payrecon run` against this folder's database, writing to `out`.
    pub fn run(&self, out: &str, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("payrecon").expect("binary");
        cmd.current_dir(self.dir.path())
            .arg("run")
            .arg("--db")
            .arg(self.db())
            .arg("--out")
            .arg(self.path(out))
            .args(args)
            .env_remove("PAYRECON_FAILPOINT");
        cmd
    }

    /// [`Workdir::run`] over these exports, then these bills, in the order
    /// given, for `date`.
    pub fn run_day(
        &self,
        out: &str,
        exports: &[impl AsRef<Path>],
        bills: &[impl AsRef<Path>],
        date: &str,
    ) -> Command {
        let mut cmd = self.run(out, &[]);
        for path in exports {
            cmd.arg("--orders").arg(path.as_ref());
        }
        for path in bills {
            cmd.arg("--settlement").arg(path.as_ref());
        }
        cmd.arg("--date").arg(date);
        cmd
    }

    /// This folder's run history, as `payrecon history --format json`
    /// gives it (oldest first).
    pub fn history(&self) -> serde_json::Value {
        let out = Command::cargo_bin("payrecon")
            .expect("binary")
            .args(["history", "--format", "json", "--db"])
            .arg(self.db())
            .output()
            .expect("history");
        serde_json::from_slice(&out.stdout).expect("history as JSON")
    }

    /// `payrecon inspect` run in this folder.
    pub fn inspect(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("payrecon").expect("binary");
        cmd.current_dir(self.dir.path())
            .arg("inspect")
            .args(args)
            .env_remove("PAYRECON_FAILPOINT");
        cmd
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// Reads a CSV into its header and rows.
/// The rows of every refund file in output folder `out` (refunds.csv, then
/// refunds-2.csv, refunds-3.csv… a day's later batches), in that order.
pub fn refund_rows(work: &Workdir, out: &str) -> Vec<Vec<String>> {
    refund_rows_in(&work.path(out))
}

/// [`refund_rows`] of any folder.
pub fn refund_rows_in(folder: &Path) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for batch in 1.. {
        let name = if batch == 1 {
            "refunds.csv".to_string()
        } else {
            format!("refunds-{batch}.csv")
        };
        let Ok(text) = std::fs::read_to_string(folder.join(name)) else {
            break;
        };
        rows.extend(parse_csv(&text).1);
    }
    rows
}

/// The rows of a discrepancies.csv in output folder `out`, each a map from
/// column name to value.
pub fn report_rows(work: &Workdir, out: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let (header, rows) = parse_csv(&work.read(&format!("{out}/discrepancies.csv")));
    rows.into_iter()
        .map(|row| header.iter().cloned().zip(row).collect())
        .collect()
}

pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Keeps only the columns of `expected`'s header, in its order, so an
/// expected file states exactly the columns it means to check.
pub fn project(actual: &str, columns: &[String]) -> Vec<Vec<String>> {
    let (header, rows) = parse_csv(actual);
    let index: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .iter()
                .position(|h| h == c)
                .unwrap_or_else(|| panic!("output has no column {c}"))
        })
        .collect();
    rows.iter()
        .map(|row| index.iter().map(|&i| row[i].clone()).collect())
        .collect()
}

/// Asserts that the output CSV has the expected rows on the expected columns.
#[track_caller]
pub fn assert_csv_matches(actual: &str, expected: &str, what: &str) {
    let (columns, expected_rows) = parse_csv(expected);
    let actual_rows = project(actual, &columns);
    pretty_assertions::assert_eq!(
        actual_rows,
        expected_rows,
        "{what}: columns {columns:?}\nfull output:\n{actual}"
    );
}

/// Every row of every table of the database at `path`, but those of
/// `except` (the run history, which records a failed run on purpose), for
/// "a failed run changes nothing" checks.
pub fn db_tables(path: &Path, except: &[&str]) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .filter(|name: &String| !except.contains(&name.as_str()))
        .collect();
    let mut dump = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut row = vec![table.clone()];
                for i in 0..columns {
                    row.push(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?));
                }
                Ok(row.join("|"))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        rows.sort();
        dump.extend(rows);
    }
    dump
}
