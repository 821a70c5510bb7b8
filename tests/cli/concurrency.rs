//! One run at a time (guarantee 2): while another run (or anything else)
//! holds the database's write lock, a run waits at most `lock_timeout_secs`
//! and then refuses with exit status 1, "another payrecon run", changing
//! nothing; once the lock is released it runs normally.

use crate::util::{Workdir, fixtures};
use predicates::str::contains;
use rusqlite::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn case_args() -> Vec<String> {
    let dir = fixtures().join("cases/duplicate_payment/in");
    vec![
        "--orders".into(),
        dir.join("orders.csv").display().to_string(),
        "--settlement".into(),
        dir.join("settlement").display().to_string(),
        "--date".into(),
        "2026-11-22".into(),
    ]
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn config(work: &Workdir, secs: u64) -> String {
    work.write("payrecon.toml", &format!("lock_timeout_secs = {secs}\n"))
        .display()
        .to_string()
}

/// A run parked at a failpoint (holding what it holds there) until killed;
/// killed on drop too, so a failing test leaves no process behind.
struct Parked(Child);

impl Parked {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        self.kill();
    }
}

fn parked_run(work: &Workdir, point: &str) -> Parked {
    let mut child = Command::new(env!("CARGO_BIN_EXE_payrecon"))
        .current_dir(work.dir.path())
        .args(["run", "--db"])
        .arg(work.db())
        .arg("--out")
        .arg(work.path("parked"))
        .args(case_args())
        .env("PAYRECON_FAILPOINT", format!("{point}:sleep"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // The first lines may be notices (a new database is announced).
    let mut line = String::new();
    let mut reader = BufReader::new(stderr);
    while reader.read_line(&mut line).unwrap() > 0 && !line.contains("sleeping") {
        line.clear();
    }
    let parked = Parked(child);
    assert!(line.contains("sleeping"), "{point}: {line}");
    parked
}

#[track_caller]
fn assert_refused_in_time(work: &Workdir, timeout: u64, holder: &str) {
    let config = config(work, timeout);
    let mut args = vec!["--config".to_string(), config];
    args.extend(case_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    work.run("second", &args)
        .assert()
        .code(1)
        .stderr(contains(holder))
        .stderr(contains(format!("waited {timeout} s")));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(timeout) && waited < Duration::from_secs(timeout + 10),
        "waited {waited:?}"
    );
    assert!(
        !work.path("second/refunds.csv").exists(),
        "a refused run writes nothing"
    );
}

#[test]
fn a_run_refuses_while_another_holds_the_database_then_succeeds() {
    let work = Workdir::new();
    // A first run creates the database; then something holds its write lock.
    work.run("first", &strs(&case_args())).assert().success();
    let db_before = std::fs::read(work.db()).unwrap();
    let holder = Connection::open(work.db()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    // Not a payrecon run: said so (issue 12).
    assert_refused_in_time(&work, 1, "another reader or writer is using database");
    assert_eq!(std::fs::read(work.db()).unwrap(), db_before);
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    let config = config(&work, 1);
    let mut args = vec!["--config".to_string(), config];
    args.extend(case_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("second", &args).assert().success();
    assert_eq!(
        work.read("second/refunds.csv"),
        work.read("first/refunds.csv")
    );
}

#[test]
fn a_second_run_never_interleaves_with_a_running_one() {
    for point in [
        "after-begin",
        "load-row-3",
        "after-refunds",
        "before-commit",
    ] {
        let work = Workdir::new();
        let mut first = parked_run(&work, point);
        assert_refused_in_time(&work, 1, "another payrecon run is using database");
        first.kill();
        // The killed run's transaction is rolled back; a run now succeeds
        // and issues the day's refunds once.
        work.run("after", &strs(&case_args())).assert().success();
        let refunds = work.read("after/refunds.csv");
        assert_eq!(refunds.lines().count(), 3, "{point}: {refunds}");
        assert!(!work.path("parked/refunds.csv").exists());
    }
}

#[test]
fn a_waiting_run_proceeds_when_the_lock_is_released_in_time() {
    let work = Workdir::new();
    let mut first = parked_run(&work, "after-classify");
    let config = config(&work, 20);
    let mut args = vec!["--config".to_string(), config];
    args.extend(case_args());
    let args: Vec<String> = args;
    let second = {
        let work_dir = work.dir.path().to_path_buf();
        let db = work.db();
        let out = work.path("second");
        std::thread::spawn(move || {
            let started = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_payrecon"))
                .current_dir(work_dir)
                .args(["run", "--db"])
                .arg(db)
                .arg("--out")
                .arg(out)
                .args(&args)
                .env_remove("PAYRECON_FAILPOINT")
                .output()
                .unwrap();
            (output, started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    first.kill();
    let (output, waited) = second.join().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        waited >= Duration::from_millis(1000),
        "it did wait: {waited:?}"
    );
    assert_eq!(work.read("second/refunds.csv").lines().count(), 3);
}

/// Something reading the database (an `sqlite3` shell in a long query)
/// holds up a run's commit past the lock timeout: the run fails, changes
/// nothing, and leaves no output folder of its own behind (issue 10: it used
/// to leave an empty new one).
#[test]
fn a_run_held_up_by_a_reader_past_the_timeout_leaves_no_folder() {
    let work = Workdir::new();
    work.run("first", &strs(&case_args())).assert().success();
    let db_before = std::fs::read(work.db()).unwrap();
    let reader = Connection::open(work.db()).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM loaded_file", [], |r| r.get(0))
        .unwrap();
    let config = config(&work, 1);
    let mut args = vec!["--config".to_string(), config];
    args.extend(case_args());
    // A new file, so the run has something to write.
    let extra = work.write(
        "extra/wechat-2026-11-23.csv",
        "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n",
    );
    args.extend(["--settlement".to_string(), extra.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("new/day", &args).assert().code(1);
    assert!(
        !work.path("new").exists(),
        "the failed run left its output folder"
    );
    reader.execute_batch("ROLLBACK").unwrap();
    drop(reader);
    assert_eq!(std::fs::read(work.db()).unwrap(), db_before);
}
