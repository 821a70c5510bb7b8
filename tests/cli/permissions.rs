//! The state database holds every refund instruction: it is created
//! owner-only (0600, `db_file_mode`), and SQLite gives its rollback journal
//! the same bits.

use crate::util::{Workdir, case_inputs};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_state_database_and_its_journal_are_created_owner_only() {
    let (orders, bills) = case_inputs("duplicate_payment");
    let work = Workdir::new();
    // Park a run just before its commit: its journal is on disk then.
    let mut child = Command::new(env!("CARGO_BIN_EXE_payrecon"))
        .current_dir(work.dir.path())
        .args(["run", "--db"])
        .arg(work.db())
        .arg("--out")
        .arg(work.path("out"))
        .args(["--orders", &orders, "--settlement", &bills])
        .env("PAYRECON_FAILPOINT", "before-commit:sleep")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first lines may be notices (a new database is announced).
    let mut line = String::new();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    while reader.read_line(&mut line).unwrap() > 0 && !line.contains("sleeping") {
        line.clear();
    }
    assert!(line.contains("sleeping"), "{line}");
    let journal = work.path("state.db-journal");
    let journal_mode = journal.exists().then(|| mode(&journal));
    let db_mode = mode(&work.db());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(db_mode, 0o600, "database mode {db_mode:o}");
    assert_eq!(journal_mode, Some(0o600), "journal mode {journal_mode:?}");
}

#[test]
fn db_file_mode_in_the_config_is_honoured() {
    let (orders, bills) = case_inputs("duplicate_payment");
    let work = Workdir::new();
    let config = work.write("payrecon.toml", "db_file_mode = \"0640\"\n");
    work.run(
        "out",
        &[
            "--config",
            &config.display().to_string(),
            "--orders",
            &orders,
            "--settlement",
            &bills,
        ],
    )
    .assert()
    .success();
    assert_eq!(mode(&work.db()), 0o640);
}
