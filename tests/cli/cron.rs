//! Issue 12 §3: a run that cron can own. Input patterns and --files-of, a
//! config's relative paths from another working directory, the database
//! guards (missing folder, require_db, the new-database notice), an empty
//! export, the lock holder's name, bad flag values (exit status 2), log
//! lines.

use crate::util::{Workdir, fixtures};
use assert_cmd::Command;
use predicates::str::contains;

const HEADER: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const BILL_HEADER: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";

fn payrecon(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("payrecon").unwrap();
    cmd.current_dir(dir).env_remove("PAYRECON_FAILPOINT");
    cmd
}

/// A day of one order and its payment under `conf/`, with a config whose
/// paths are all relative to its folder.
fn cron_setup(work: &Workdir, inputs: &str) -> String {
    work.write(
        "conf/exports/orders-2026-11-21.csv",
        &format!("{HEADER}O1,P1,C1,wechat,10.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,2026-11-21 10:00:05\n"),
    );
    work.write(
        "conf/bills/wechat/wechat-20261121-all.csv",
        &format!("{BILL_HEADER}wechat,T1,C1,PAYMENT,10.00,,CNY,2026-11-21 10:00:05,\n"),
    );
    work.write("conf/bills/wechat-2026-11-22.csv", BILL_HEADER);
    let config = work.write(
        "conf/payrecon.toml",
        &format!(
            "db = \"state.db\"\nout_root = \"out\"\nlock_timeout_secs = 1\n\n[inputs]\n{inputs}"
        ),
    );
    config.display().to_string()
}

const PATTERNS: &str = "orders = \"exports/orders-{date}.csv\"\nsettlement = [\"bills/wechat/*{date:%Y%m%d}*.csv\", { pattern = \"bills/wechat-{date}.csv\", optional = true }]\n";

#[test]
fn a_config_run_from_another_directory_resolves_its_paths_and_patterns() {
    let work = Workdir::new();
    let config = cron_setup(&work, PATTERNS);
    std::fs::create_dir_all(work.path("home")).unwrap();
    // cron starts jobs in $HOME: the config's paths are its folder's.
    payrecon(&work.path("home"))
        .args([
            "run",
            "-q",
            "--config",
            &config,
            "--files-of",
            "2026-11-21",
            "--date",
            "2026-11-21",
        ])
        .assert()
        .success();
    assert!(work.path("conf/state.db").is_file());
    assert!(work.path("conf/out/2026-11-21/summary.json").is_file());
    assert!(!work.path("home/state.db").exists() && !work.path("home/out").exists());
    let summary = work.read("conf/out/2026-11-21/summary.json");
    assert!(summary.contains("orders-2026-11-21.csv"), "{summary}");
    assert!(summary.contains("wechat-20261121-all.csv"), "{summary}");
}

#[test]
fn a_pattern_that_matches_nothing_names_the_pattern_and_the_path_tried() {
    let work = Workdir::new();
    let config = cron_setup(&work, PATTERNS);
    payrecon(&work.path("conf"))
        .args(["run", "--config", &config, "--files-of", "2026-11-20"])
        .assert()
        .code(1)
        .stderr(contains("[inputs] orders pattern"))
        .stderr(contains("exports/orders-{date}.csv"))
        .stderr(contains("exports/orders-2026-11-20.csv"));
    // The optional settlement pattern may match nothing: day 22 has no
    // wechat/ file but the run of 21 needs none of it.
    assert!(!work.path("conf/state.db").exists());
}

#[test]
fn files_of_comes_from_the_config_too() {
    let work = Workdir::new();
    let config = cron_setup(&work, PATTERNS);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("files_of = \"2026-11-21\"\n{text}")).unwrap();
    payrecon(&work.path("conf"))
        .args(["run", "-q", "--config", &config])
        .assert()
        .success();
}

#[test]
fn a_db_in_a_missing_folder_is_an_error_and_nothing_is_created() {
    let work = Workdir::new();
    let config = cron_setup(&work, PATTERNS);
    payrecon(work.dir.path())
        .args([
            "run",
            "--config",
            &config,
            "--files-of",
            "2026-11-21",
            "--db",
        ])
        .arg(work.path("typo/state.db"))
        .assert()
        .code(1)
        .stderr(contains("the folder of database"))
        .stderr(contains("does not exist"));
    assert!(!work.path("typo").exists());
}

#[test]
fn require_db_refuses_a_missing_database() {
    let work = Workdir::new();
    let config = cron_setup(&work, PATTERNS);
    payrecon(work.dir.path())
        .args([
            "run",
            "--require-db",
            "--config",
            &config,
            "--files-of",
            "2026-11-21",
        ])
        .assert()
        .code(1)
        .stderr(contains("no state database at"))
        .stderr(contains("require_db"));
    assert!(!work.path("conf/state.db").exists());
    // The same from the config; the first run (without it) announces the
    // new database even under -q.
    payrecon(work.dir.path())
        .args(["run", "-q", "--config", &config, "--files-of", "2026-11-21"])
        .assert()
        .success()
        .stderr(contains("notice: creating a new state database at"));
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("require_db = true\n{text}")).unwrap();
    payrecon(work.dir.path())
        .args(["run", "-q", "--config", &config, "--files-of", "2026-11-21"])
        .assert()
        .success()
        .stderr(contains("creating").not());
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn an_empty_export_is_an_error_unless_allowed() {
    for content in ["", HEADER] {
        let work = Workdir::new();
        let orders = work.write("orders.csv", content);
        let bill = work.write("bills/wechat-2026-11-21.csv", BILL_HEADER);
        let args = [
            "--orders",
            orders.to_str().unwrap(),
            "--settlement",
            bill.to_str().unwrap(),
        ];
        work.run("out", &args)
            .assert()
            .code(1)
            .stderr(contains("has no order rows"))
            .stderr(contains("--allow-empty-orders"));
        let mut allowed = args.to_vec();
        allowed.push("--allow-empty-orders");
        work.run("out", &allowed).assert().success();
    }
}

#[test]
fn the_lock_message_names_the_holder() {
    let work = Workdir::new();
    let config = cron_setup(&work, PATTERNS);
    let conf = work.path("conf");
    payrecon(&conf)
        .args(["run", "-q", "--config", &config, "--files-of", "2026-11-21"])
        .assert()
        .success();
    // Something other than payrecon: an sqlite3 shell in a transaction.
    let holder = rusqlite::Connection::open(conf.join("state.db")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    payrecon(&conf)
        .args(["run", "--config", &config, "--files-of", "2026-11-21"])
        .assert()
        .code(1)
        .stderr(contains("another reader or writer is using database"));
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    // A payrecon run parked inside its transaction: named with its pid.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_payrecon"))
        .current_dir(&conf)
        .args([
            "run",
            "--config",
            &config,
            "--files-of",
            "2026-11-21",
            "--date",
            "2026-11-22",
        ])
        .env("PAYRECON_FAILPOINT", "after-begin:sleep")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::commands::wait_for_sleep(&mut child);
    payrecon(&conf)
        .args(["run", "--config", &config, "--files-of", "2026-11-21"])
        .assert()
        .code(1)
        .stderr(contains("another payrecon run is using database"))
        .stderr(contains(format!("pid {}", child.id())));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn bad_flag_values_exit_2() {
    let work = Workdir::new();
    let config = cron_setup(&work, PATTERNS);
    let dir = work.dir.path();
    for args in [
        vec!["run", "--date", "2026-13-01"],
        vec!["run", "--date", "yesterday"],
        vec!["run", "--settlement-day", "21/11/2026"],
        vec!["run", "--files-of", "tomorrow"],
        vec![
            "run",
            "--format",
            "nosuch",
            "--config",
            &config,
            "--files-of",
            "2026-11-21",
        ],
        vec!["run", "--config", &config],
        vec!["status", "--as-of", "2026-02-30"],
        vec!["status", "--format", "xml"],
        vec!["history", "--last", "many"],
        vec!["explain", "OD", "--format", "yaml"],
        vec!["inspect", "x.csv", "--settlement-day", "x"],
    ] {
        payrecon(dir).args(&args).assert().code(2);
    }
    for (inputs, said) in [
        ("orders = \"exports/orders-{date:%Y\"\n", "not closed"),
        (
            "orders = \"exports/[orders-{date}.csv\"\n",
            "not a valid pattern",
        ),
    ] {
        let config = cron_setup(&work, inputs);
        payrecon(dir)
            .args(["run", "--config", &config, "--files-of", "2026-11-21"])
            .assert()
            .code(2)
            .stderr(contains(said));
    }
    payrecon(dir)
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(contains("Exit status:"))
        .stdout(contains("2  bad usage"));
}

/// In a pipe (as under cron) every stderr line starts with an RFC 3339
/// timestamp.
#[test]
fn log_lines_carry_a_timestamp() {
    let work = Workdir::new();
    let config = cron_setup(&work, PATTERNS);
    let output = payrecon(work.dir.path())
        .args(["run", "--config", &config, "--files-of", "2026-11-21"])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(output).unwrap();
    assert!(stderr.lines().count() >= 3, "{stderr}");
    for line in stderr.lines() {
        let stamp = line.split(' ').next().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "no timestamp: {line}"
        );
    }
    let _ = fixtures();
}

/// The shipped cron config is valid, and its patterns are kept as given.
#[test]
fn the_contrib_config_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/payrecon.toml");
    let config = payrecon::config::Config::from_file(&path).unwrap();
    assert!(config.require_db);
    assert_eq!(config.settlement_inputs.len(), 3);
    assert!(config.settlement_inputs[2].optional);
    assert_eq!(
        config.order_inputs[0].pattern,
        std::path::Path::new("/srv/exports/orders-{date}.csv")
    );
}
