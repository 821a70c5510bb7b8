//! Issue 12: `status`, `explain` and `history` over the four mornings of
//! fixtures/multi-day (snapshots in each format), read-only while a run
//! holds the database, and the run history's record of a failed run.

use crate::util::{Workdir, fixtures};
use assert_cmd::Command;
use predicates::str::contains;
use std::path::Path;

const DAYS: [&str; 4] = ["2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"];

/// payrecon in fixtures/multi-day (so the paths the runs record, and the
/// snapshots, are relative and the same on every machine).
fn payrecon(work: &Workdir) -> Command {
    let mut cmd = Command::cargo_bin("payrecon").unwrap();
    cmd.current_dir(fixtures().join("multi-day"))
        .env_remove("PAYRECON_FAILPOINT");
    let _ = work;
    cmd
}

fn db(work: &Workdir) -> String {
    work.db().display().to_string()
}

/// The four mornings, as fixtures/multi-day/README.md tells them: the
/// people's resolutions and re-issues, then the day's run.
pub fn four_mornings(work: &Workdir) {
    let base = fixtures().join("multi-day");
    for (n, day) in DAYS.iter().enumerate() {
        let n = n + 1;
        let dir = format!("day-{n}/in");
        if base.join(&dir).join("resolve.csv").exists() {
            payrecon(work)
                .args([
                    "resolve",
                    "--from",
                    &format!("{dir}/resolve.csv"),
                    "--by",
                    "alice",
                    "--db",
                    &db(work),
                ])
                .assert()
                .success();
        }
        if let Ok(ids) = std::fs::read_to_string(base.join(&dir).join("reissue.txt")) {
            payrecon(work)
                .arg("reissue")
                .args(ids.split_whitespace())
                .args(["--db", &db(work)])
                .assert()
                .success();
        }
        let mut run = payrecon(work);
        run.args(["run", "-q", "--db", &db(work), "--date", day, "--out"])
            .arg(work.path(&format!("day-{n}")));
        let mut exports: Vec<String> = std::fs::read_dir(base.join(&dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("orders-"))
            .collect();
        exports.sort();
        for export in exports {
            run.args(["--orders", &format!("{dir}/{export}")]);
        }
        run.args(["--settlement", &format!("{dir}/settlement")]);
        if base.join(&dir).join("refund-results.csv").exists() {
            run.args(["--refund-results", &format!("{dir}/refund-results.csv")]);
        }
        run.assert().success();
    }
}

fn stdout(cmd: &mut Command) -> String {
    let output = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(output).unwrap()
}

/// Run times and process ids change from run to run.
macro_rules! redacted {
    ($($body:tt)*) => {
        insta::with_settings!({
            filters => vec![
                (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
                (r#""pid": \d+"#, r#""pid": [PID]"#),
                (env!("CARGO_PKG_VERSION"), "[VERSION]"),
            ]
        }, { $($body)* });
    };
}

#[test]
fn status_explain_and_history_over_four_mornings() {
    let work = Workdir::new();
    four_mornings(&work);
    for format in ["table", "json", "csv"] {
        let status = stdout(payrecon(&work).args([
            "status",
            "--as-of",
            "2026-11-24",
            "--format",
            format,
            "--db",
            &db(&work),
        ]));
        redacted!(insta::assert_snapshot!(format!("status_{format}"), status));
        let history =
            stdout(payrecon(&work).args(["history", "--format", format, "--db", &db(&work)]));
        redacted!(insta::assert_snapshot!(
            format!("history_{format}"),
            history
        ));
        // OD: a duplicate refunded, confirmed by the channel; OR: paid
        // after close, rejected, re-issued.
        for key in ["OD", "OR"] {
            let story = stdout(payrecon(&work).args([
                "explain",
                key,
                "--format",
                format,
                "--db",
                &db(&work),
            ]));
            redacted!(insta::assert_snapshot!(
                format!("explain_{key}_{format}"),
                story
            ));
        }
    }
    let table =
        stdout(payrecon(&work).args(["status", "--as-of", "2026-11-24", "--db", &db(&work)]));
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");
}

#[test]
fn explain_finds_an_order_by_any_of_its_keys_and_suggests_for_an_unknown_one() {
    let work = Workdir::new();
    four_mornings(&work);
    let by_order = stdout(payrecon(&work).args(["explain", "OD", "--db", &db(&work)]));
    // payment_id, channel_order_id, channel_txn_id: the same story.
    for key in ["PD", "CD2", "TD2"] {
        let story = stdout(payrecon(&work).args(["explain", key, "--db", &db(&work)]));
        assert_eq!(story, by_order, "explain {key}");
    }
    // A finding id and a refund id lead to their order too.
    let json: serde_json::Value = serde_json::from_str(&stdout(payrecon(&work).args([
        "explain",
        "OD",
        "--format",
        "json",
        "--db",
        &db(&work),
    ])))
    .unwrap();
    let text = json["timeline"].to_string();
    let refund_id = text
        .split("refund ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let story = stdout(payrecon(&work).args(["explain", &refund_id, "--db", &db(&work)]));
    assert_eq!(story, by_order, "explain {refund_id}");
    payrecon(&work)
        .args(["explain", "ODX", "--db", &db(&work)])
        .assert()
        .code(1)
        .stderr(contains(
            "no order, payment, attempt, channel transaction, finding or refund has the id 'ODX'",
        ))
        .stderr(contains("did you mean OD"));
}

/// `status` never takes the write lock: it answers while a run is parked
/// inside its transaction, just before its commit.
#[test]
fn status_answers_while_a_run_holds_the_write_lock() {
    let work = Workdir::new();
    four_mornings(&work);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_payrecon"))
        .current_dir(fixtures().join("multi-day"))
        .args(["run", "--db", &db(&work), "--out"])
        .arg(work.path("parked"))
        .args([
            "--orders",
            "day-1/in/orders-2026-11-21.csv",
            "--date",
            "2026-11-25",
            "--allow-empty-orders",
        ])
        .args(["--settlement", "day-4/in/settlement"])
        .env("PAYRECON_FAILPOINT", "before-commit:sleep")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_sleep(&mut child);
    let status = payrecon(&work)
        .args([
            "status",
            "--as-of",
            "2026-11-24",
            "--format",
            "json",
            "--db",
            &db(&work),
        ])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let status: serde_json::Value = serde_json::from_slice(&status).unwrap();
    assert_eq!(status["last_run"]["outcome"], "running", "{status:#}");
    payrecon(&work)
        .args(["history", "--db", &db(&work)])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .success();
    let _ = child.kill();
    let _ = child.wait();
    // Killed: its row is left 'running' with a gone process.
    let history = stdout(payrecon(&work).args([
        "history",
        "--last",
        "1",
        "--format",
        "json",
        "--db",
        &db(&work),
    ]));
    assert!(history.contains(r#""outcome": "interrupted""#), "{history}");
}

pub fn wait_for_sleep(child: &mut std::process::Child) {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    for line in std::io::BufReader::new(stderr).lines() {
        if line.unwrap().contains("sleeping") {
            return;
        }
    }
    panic!("the run never parked");
}

/// A failed run is in the history with its error, although everything
/// else it did rolled back.
#[test]
fn a_failed_run_is_recorded_and_changes_nothing_else() {
    let work = Workdir::new();
    four_mornings(&work);
    let before = crate::util::db_tables(&work.db(), &["run_log"]);
    let bad = work.write("bad/orders.csv", "order_id,payment_id\nO1,P1\n");
    payrecon(&work)
        .args(["run", "--db", &db(&work), "--out"])
        .arg(work.path("bad-out"))
        .arg("--orders")
        .arg(&bad)
        .assert()
        .code(1);
    assert_eq!(crate::util::db_tables(&work.db(), &["run_log"]), before);
    let history: serde_json::Value = serde_json::from_str(&stdout(payrecon(&work).args([
        "history",
        "--last",
        "1",
        "--format",
        "json",
        "--db",
        &db(&work),
    ])))
    .unwrap();
    let run = &history[0];
    assert_eq!(run["outcome"], "failed", "{history:#}");
    assert_eq!(run["exit_status"], 1);
    assert!(
        run["error"].as_str().unwrap().contains("orders.csv"),
        "{history:#}"
    );
    assert_eq!(run["inputs"][0]["role"], "orders");
}

/// The read commands neither create nor upgrade a database.
#[test]
fn read_commands_never_create_a_database() {
    let work = Workdir::new();
    for command in ["status", "history"] {
        payrecon(&work)
            .args([command, "--db", &db(&work)])
            .assert()
            .code(1)
            .stderr(contains("no state database at"));
    }
    assert!(!work.db().exists());
    // An older schema is said, not upgraded.
    let conn = rusqlite::Connection::open(work.db()).unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    drop(conn);
    payrecon(&work)
        .args(["status", "--db", &db(&work)])
        .assert()
        .code(1)
        .stderr(contains("older than this payrecon's"));
    let version: i64 = rusqlite::Connection::open(work.db())
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    let _ = Path::new("");
}
