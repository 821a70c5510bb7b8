//! Issue 11: four business days fed one morning at a time
//! (fixtures/multi-day, see its README): the findings ledger and the refund
//! lifecycle day by day against hand-written outputs, and the same final
//! ledger whether the days come in order, out of order, partly at once, or
//! with an earlier day rerun in between.

use crate::attack10::{OH, SH};
use crate::util::{Workdir, assert_csv_matches, fixtures, parse_csv};
use rusqlite::Connection;
use std::collections::BTreeSet;
use std::path::PathBuf;

const DAYS: [&str; 4] = ["2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"];

fn day_dir(n: usize) -> PathBuf {
    fixtures().join(format!("multi-day/day-{n}"))
}

/// The data files of day `n`: its exports, then its settlement files.
fn data_args(n: usize) -> Vec<String> {
    let dir = day_dir(n).join("in");
    let mut args = Vec::new();
    let mut exports: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("orders-")
        })
        .collect();
    exports.sort();
    for export in exports {
        args.extend(["--orders".to_string(), export.display().to_string()]);
    }
    args.extend([
        "--settlement".to_string(),
        dir.join("settlement").display().to_string(),
    ]);
    args
}

fn run(work: &Workdir, out: &str, date: &str, mut args: Vec<String>) {
    args.extend([
        "--date".to_string(),
        date.to_string(),
        "--quiet".to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run(out, &args).assert().success();
}

fn payrecon(work: &Workdir, args: &[&str]) -> assert_cmd::assert::Assert {
    assert_cmd::Command::cargo_bin("payrecon")
        .unwrap()
        .current_dir(work.dir.path())
        .args(args)
        .arg("--db")
        .arg(work.db())
        .assert()
}

/// The people and the refund job of day `n`, before its run: the reviewed
/// discrepancies to close, the instructions to re-issue.
fn people_act(work: &Workdir, n: usize) {
    let resolve = day_dir(n).join("in/resolve.csv");
    if resolve.exists() {
        payrecon(
            work,
            &[
                "resolve",
                "--from",
                resolve.to_str().unwrap(),
                "--by",
                "alice",
            ],
        )
        .success();
    }
    let reissue = day_dir(n).join("in/reissue.txt");
    if reissue.exists() {
        let ids = std::fs::read_to_string(&reissue).unwrap();
        let mut args = vec!["reissue"];
        args.extend(ids.split_whitespace());
        payrecon(work, &args).success();
    }
}

fn results_args(n: usize) -> Vec<String> {
    let results = day_dir(n).join("in/refund-results.csv");
    if results.exists() {
        vec!["--refund-results".into(), results.display().to_string()]
    } else {
        Vec::new()
    }
}

/// Day `n` as its morning run sees it.
fn morning(work: &Workdir, n: usize, out: &str) {
    people_act(work, n);
    let mut args = data_args(n);
    args.extend(results_args(n));
    run(work, out, DAYS[n - 1], args);
}

fn refund_files(work: &Workdir, out: &str) -> String {
    let rows = crate::util::refund_rows(work, out);
    let mut text = payrecon::emit::refunds::HEADER.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

/// What must end the same whatever the order: the open items (id, kind,
/// facts) and every instruction (what it refunds, the refund job's answer,
/// its re-issue).
fn final_ledger(work: &Workdir) -> BTreeSet<String> {
    let conn = Connection::open(work.db()).unwrap();
    let mut ledger = BTreeSet::new();
    let mut items = conn
        .prepare(
            "SELECT finding_id, kind, channel_txn_id, channel_order_id, channel_amount, internal_amount
             FROM finding_item WHERE state = 'OPEN'",
        )
        .unwrap();
    for row in items
        .query_map([], |r| {
            Ok(format!(
                "item {} {} {:?} {:?} {:?} {:?}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<i64>>(5)?
            ))
        })
        .unwrap()
    {
        ledger.insert(row.unwrap());
    }
    let mut refunds = conn
        .prepare(
            "SELECT refund_request_id, channel_txn_id, amount_minor, result, reissued_as, reissue_of
             FROM refund_instruction",
        )
        .unwrap();
    for row in refunds
        .query_map([], |r| {
            Ok(format!(
                "refund {} {} {} {:?} {:?} {:?}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?
            ))
        })
        .unwrap()
    {
        ledger.insert(row.unwrap());
    }
    ledger
}

/// The four mornings in order; returns the scratch folder.
fn in_order() -> Workdir {
    let work = Workdir::new();
    for n in 1..=4 {
        morning(&work, n, &format!("day-{n}"));
    }
    work
}

#[test]
fn each_morning_gives_the_hand_written_outputs() {
    let work = Workdir::new();
    for n in 1..=4 {
        morning(&work, n, &format!("day-{n}"));
        let expected =
            |name: &str| std::fs::read_to_string(day_dir(n).join("expected").join(name)).unwrap();
        assert_csv_matches(
            &work.read(&format!("day-{n}/discrepancies.csv")),
            &expected("discrepancies.csv"),
            &format!("day {n} discrepancies.csv"),
        );
        assert_csv_matches(
            &refund_files(&work, &format!("day-{n}")),
            &expected("refunds.csv"),
            &format!("day {n} refund files"),
        );
    }
    // Day 3's summary: the refund confirmed by the channel, the rejected
    // one re-issued; day 4's: one overdue.
    let summary = |n: usize| -> serde_json::Value {
        serde_json::from_str(&work.read(&format!("day-{n}/summary.json"))).unwrap()
    };
    let states = &summary(3)["refunds"]["states"];
    assert_eq!(
        (
            states["confirmed"].as_u64(),
            states["reissued"].as_u64(),
            states["awaiting"].as_u64()
        ),
        (Some(1), Some(1), Some(3)),
        "{states}"
    );
    let day4 = summary(4);
    // RC (never confirmed) and RE (its payment gone) are past 3 days.
    assert_eq!(
        day4["refunds"]["states"]["overdue"].as_u64(),
        Some(2),
        "{day4}"
    );
    assert_eq!(
        day4["ledger"]["overdue"]["count"].as_u64(),
        Some(2),
        "{day4}"
    );
    assert_eq!(day4["ledger"]["new"]["count"].as_u64(), Some(1), "{day4}");
    assert_eq!(
        day4["ledger"]["open_by_age"]["3-7"]["count"].as_u64(),
        Some(4),
        "{day4}"
    );
}

#[test]
fn a_rerun_of_an_earlier_day_rewrites_nothing() {
    let clean = in_order();
    let work = Workdir::new();
    for n in 1..=3 {
        morning(&work, n, &format!("day-{n}"));
    }
    // Day 2 again, over the same files, after day 3.
    let mut args = data_args(2);
    args.extend(results_args(2));
    run(&work, "day-2-again", DAYS[1], args);
    morning(&work, 4, "day-4");
    assert_eq!(final_ledger(&work), final_ledger(&clean));
    for name in ["discrepancies.csv", "summary.json", "refunds.csv"] {
        assert_eq!(
            work.read(&format!("day-4/{name}")),
            clean.read(&format!("day-4/{name}")),
            "day 4's {name}"
        );
    }
}

/// Data first in another order (a correction still after what it
/// corrects, and the channel's refund row after the instruction it
/// confirms: they cannot come before), the people and the refund job's
/// answers after, then the last morning.
#[test]
fn days_out_of_order_end_in_the_same_ledger() {
    let clean = in_order();
    let work = Workdir::new();
    for n in [2, 4, 1, 3] {
        run(&work, &format!("data-{n}"), DAYS[n - 1], data_args(n));
    }
    people_act(&work, 2);
    run(&work, "answers", DAYS[1], results_args(2));
    people_act(&work, 3);
    run(&work, "last", DAYS[3], Vec::new());
    assert_eq!(final_ledger(&work), final_ledger(&clean));
}

/// Days 1 and 2 loaded in one run (for the 22nd), then the rest morning by
/// morning. The refunds are issued by that run, so filed under the 22nd,
/// and their confirmation clock starts a day later than in the daily flow:
/// the ledgers agree from the morning both clocks have run out (the 25th).
#[test]
fn two_days_at_once_end_in_the_same_ledger() {
    let clean = in_order();
    run(&clean, "day-5", "2026-11-25", Vec::new());
    let work = Workdir::new();
    let mut args = data_args(1);
    args.extend(data_args(2));
    run(&work, "both", DAYS[1], args);
    people_act(&work, 2);
    run(&work, "answers", DAYS[1], results_args(2));
    morning(&work, 3, "day-3");
    morning(&work, 4, "day-4");
    run(&work, "day-5", "2026-11-25", Vec::new());
    assert_eq!(final_ledger(&work), final_ledger(&clean));
}

/// `resolve` is all or nothing: an unknown id names itself and closes
/// nothing; a closed item shows who closed it and why, once.
#[test]
fn resolving_an_unknown_id_closes_nothing() {
    let work = Workdir::new();
    morning(&work, 1, "day-1");
    let rows = crate::util::report_rows(&work, "day-1");
    let mismatch = rows
        .iter()
        .find(|r| r["kind"] == "AMOUNT_MISMATCH")
        .unwrap()["finding_id"]
        .clone();
    payrecon(
        &work,
        &[
            "resolve",
            &mismatch,
            "Fnot-a-finding",
            "--note",
            "fee",
            "--by",
            "bob",
        ],
    )
    .code(1)
    .stderr(predicates::str::contains("Fnot-a-finding"));
    payrecon(
        &work,
        &["resolve", &mismatch, "--note", "fee", "--by", "bob"],
    )
    .success();
    run(&work, "day-2", DAYS[1], Vec::new());
    let row = crate::util::report_rows(&work, "day-2")
        .into_iter()
        .find(|r| r["finding_id"] == mismatch)
        .unwrap();
    assert_eq!(row["status"], "RESOLVED");
    assert!(row["detail"].contains("resolved by bob: fee"), "{row:?}");
    run(&work, "day-3", DAYS[2], Vec::new());
    assert!(
        !crate::util::report_rows(&work, "day-3")
            .iter()
            .any(|r| r["finding_id"] == mismatch)
    );
}

/// A rejected instruction is never issued again by itself, and re-issuing
/// it twice is refused; a results file naming an id payrecon never issued
/// is refused with its line.
#[test]
fn a_rejected_refund_waits_for_a_person() {
    let work = Workdir::new();
    morning(&work, 1, "day-1");
    let results = work.write(
        "results.csv",
        "refund_request_id,status,message\nPRcd7cc40842ef5a603040d81be04706,REJECTED,closed\n",
    );
    run(
        &work,
        "day-2",
        DAYS[1],
        vec!["--refund-results".into(), results.display().to_string()],
    );
    run(&work, "day-3", DAYS[2], Vec::new());
    assert!(crate::util::refund_rows(&work, "day-3").is_empty());
    payrecon(&work, &["reissue", "PRcd7cc40842ef5a603040d81be04706"]).success();
    payrecon(&work, &["reissue", "PRcd7cc40842ef5a603040d81be04706"])
        .code(1)
        .stderr(predicates::str::contains("re-issued already"));
    let bad = work.write(
        "bad-results.csv",
        "refund_request_id,status,message\nPRnot-ours,ACCEPTED,\n",
    );
    work.run("bad", &["--refund-results", bad.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("line 2"))
        .stderr(predicates::str::contains("PRnot-ours"));
    let (_, rows) = parse_csv(&work.read("day-3/refunds.csv"));
    assert!(rows.is_empty());
}

/// Retention (issue 11): with `retention_days = 1`, the days whose findings
/// are all closed are compacted away after the run, and nothing the ledger
/// says changes: the same open items and instructions as without retention,
/// on the last day and on the day after. A re-sent compacted file is still
/// recognised; a corrected one is refused.
#[test]
fn compacted_days_change_nothing_the_ledger_says() {
    let clean = in_order();
    run(&clean, "day-5", "2026-11-25", Vec::new());
    let work = Workdir::new();
    let config = work.write("payrecon.toml", "retention_days = 1\n");
    let with_config = |mut args: Vec<String>| {
        args.extend(["--config".to_string(), config.display().to_string()]);
        args
    };
    for n in 1..=4 {
        people_act(&work, n);
        let mut args = data_args(n);
        args.extend(results_args(n));
        run(&work, &format!("day-{n}"), DAYS[n - 1], with_config(args));
    }
    run(&work, "day-5", "2026-11-25", with_config(Vec::new()));
    let conn = Connection::open(work.db()).unwrap();
    let compacted: Vec<String> = conn
        .prepare("SELECT channel || ' ' || day FROM compacted_day ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // The 21st holds rows of orders still open, so it stays whole; so does
    // the 22nd, whose one payment (TT, at 23:59:30) belongs to an attempt
    // of the 21st. The 23rd goes (the 24th and later are in the window).
    assert_eq!(compacted, ["wechat 2026-11-23"]);
    let rows_of = |txn: &str| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM settlement_row WHERE channel_txn_id = ?1",
            [txn],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!((rows_of("TT"), rows_of("TC")), (1, 1));
    assert_eq!(final_ledger(&work), final_ledger(&clean));
    for name in ["discrepancies.csv", "summary.json"] {
        assert_eq!(
            work.read(&format!("day-5/{name}")),
            clean.read(&format!("day-5/{name}")),
            "day 5's {name}"
        );
    }
    // The same file again: recognised. Another file for that day: refused.
    let again = day_dir(2).join("in/settlement/wechat-2026-11-23.csv");
    work.run(
        "again",
        &[
            "--settlement",
            again.to_str().unwrap(),
            "--date",
            "2026-11-25",
        ],
    )
    .assert()
    .success()
    .stderr(predicates::str::contains("already loaded"));
    let corrected = work.write(
        "fix/wechat-2026-11-23.csv",
        "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n\
         wechat,TZ,CZ,PAYMENT,31.00,,CNY,2026-11-23 10:00:00,\n",
    );
    work.run("fix", &["--settlement", corrected.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("compacted away"));
}

/// The summary counts every instruction issued so far by where it stands.
/// A confirmed refund whose days were compacted (its payment's rows and the
/// channel's refund row gone, the instruction archived) stays confirmed:
/// it is not overdue because the row that confirmed it is no longer held.
#[test]
fn a_confirmed_refund_stays_confirmed_once_its_days_are_compacted() {
    let work = Workdir::new();
    let config = work.write("payrecon.toml", "retention_days = 2\n");
    let config = config.to_str().unwrap();
    let export = work.write(
        "orders.csv",
        &format!(
            "{OH}O1,P1,C1,wechat,10.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,2026-11-21 10:00:05\n\
             O1,P2,C2,wechat,10.00,CNY,PAID,SUCCESS,2026-11-21 10:01:00,,,2026-11-21 10:01:05\n"
        ),
    );
    let day21 = work.write(
        "b/wechat-2026-11-21.csv",
        &format!(
            "{SH}wechat,T1,C1,PAYMENT,10.00,,CNY,2026-11-21 10:00:05,\n\
             wechat,T2,C2,PAYMENT,10.00,,CNY,2026-11-21 10:01:05,\n"
        ),
    );
    let empty22 = work.write("b/wechat-2026-11-22.csv", SH);
    let run = |out: &str, files: &[&std::path::Path]| {
        let mut args = vec!["--config", config];
        for file in files {
            args.extend(["--settlement", file.to_str().unwrap()]);
        }
        work.run(out, &args).assert().success();
    };
    let mut first = vec!["--config", config, "--orders", export.to_str().unwrap()];
    first.extend(["--settlement", day21.to_str().unwrap()]);
    first.extend(["--settlement", empty22.to_str().unwrap()]);
    work.run("d21", &first).assert().success();
    let (header, rows) = crate::util::parse_csv(&work.read("d21/refunds.csv"));
    assert_eq!(rows.len(), 1, "the second payment is refunded");
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, txn) = (
        &rows[0][column("refund_request_id")],
        &rows[0][column("channel_txn_id")],
    );
    // The channel executes it the next day.
    let day23 = work.write(
        "b/wechat-2026-11-23.csv",
        &format!("{SH}wechat,{txn},C2,REFUND,10.00,,CNY,2026-11-23 09:00:00,{id}\n"),
    );
    run("d23", &[&day23]);
    for day in ["2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"] {
        let file = work.write(&format!("b/wechat-{day}.csv"), SH);
        run(&format!("d-{day}"), &[&file]);
    }
    let conn = Connection::open(work.db()).unwrap();
    let archived: i64 = conn
        .query_row("SELECT archived FROM refund_instruction", [], |r| r.get(0))
        .unwrap();
    assert_eq!(archived, 1, "the refund's days were compacted");
    let summary: serde_json::Value =
        serde_json::from_str(&work.read("d-2026-11-27/summary.json")).unwrap();
    let states = &summary["refunds"]["states"];
    assert_eq!(
        (&states["confirmed"], &states["overdue"]),
        (&1.into(), &0.into()),
        "{states}"
    );
    // `explain` tells the same, though the row that confirmed it is gone.
    let story = assert_cmd::Command::cargo_bin("payrecon")
        .unwrap()
        .args(["explain", id.as_str(), "--db"])
        .arg(work.db())
        .assert()
        .success();
    let story = String::from_utf8_lossy(&story.get_output().stdout).into_owned();
    assert!(
        story.contains(&format!("refund {id} confirmed by the channel; its rows")),
        "{story}"
    );
}

/// Retention on days with nothing open: their settlement rows and attempts
/// go, the reports stay as they were, and an attempt re-sent in a later
/// export for a compacted day is not judged missing.
#[test]
fn closed_days_are_compacted_away() {
    let work = Workdir::new();
    let config = work.write("payrecon.toml", "retention_days = 2\n");
    let config = config.to_str().unwrap();
    let export = work.write(
        "orders.csv",
        "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n\
         O1,P1,C1,wechat,10.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,2026-11-21 10:00:05\n\
         O2,P2,C2,wechat,20.00,CNY,PAID,SUCCESS,2026-11-21 23:59:00,,,2026-11-21 23:59:50\n",
    );
    let day21 = work.write(
        "b/wechat-2026-11-21.csv",
        &format!("{SH}wechat,T1,C1,PAYMENT,10.00,,CNY,2026-11-21 10:00:05,\n"),
    );
    let day22 = work.write(
        "b/wechat-2026-11-22.csv",
        &format!("{SH}wechat,T2,C2,PAYMENT,20.00,,CNY,2026-11-21 23:59:50,\n"),
    );
    work.run(
        "d21",
        &[
            "--config",
            config,
            "--orders",
            export.to_str().unwrap(),
            "--settlement",
            day21.to_str().unwrap(),
            "--settlement",
            day22.to_str().unwrap(),
        ],
    )
    .assert()
    .success();
    for day in ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"] {
        let file = work.write(&format!("b/wechat-{day}.csv"), SH);
        work.run(
            &format!("d-{day}"),
            &["--config", config, "--settlement", file.to_str().unwrap()],
        )
        .assert()
        .success();
    }
    let conn = Connection::open(work.db()).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM settlement_row"),
        0,
        "the old rows are gone"
    );
    assert_eq!(
        count("SELECT count(*) FROM attempt"),
        0,
        "and their attempts"
    );
    // The last run's business day is the 25th: the days before the 23rd go.
    assert_eq!(
        count("SELECT count(*) FROM compacted_day WHERE day IN ('2026-11-21', '2026-11-22')"),
        2
    );
    assert_eq!(count("SELECT count(*) FROM compacted_day"), 2);
    assert_eq!(
        count("SELECT count(*) FROM loaded_file"),
        7,
        "every loaded file is still known"
    );
    // The export again, under another name: its attempts are of compacted
    // days, so nothing is missing at the channel.
    let resent = work.write(
        "again/orders-resent.csv",
        &format!("{}\n", work.read("orders.csv")),
    );
    work.run(
        "resent",
        &[
            "--config",
            config,
            "--orders",
            resent.to_str().unwrap(),
            "--date",
            "2026-11-26",
        ],
    )
    .assert()
    .success();
    assert!(
        crate::util::report_rows(&work, "resent").is_empty(),
        "{:?}",
        crate::util::report_rows(&work, "resent")
    );
}

/// Found by the incremental-equals-full property: a rerun whose only change
/// since the last one is a compaction (after that run's commit) reused the
/// outputs of before it. Here the compaction took a payment whose channel
/// refund arrived later: the rerun must count that refund as waiting for
/// its payment, as a run judging everything again does.
#[test]
fn a_rerun_after_a_compaction_reports_what_it_removed() {
    let work = Workdir::new();
    let config = work.write("payrecon.toml", "retention_days = 1\n");
    let mut files = Vec::new();
    for (n, day) in DAYS.iter().enumerate() {
        let (order, payment, refund) = match n {
            0 => (
                "O0,P0,C0,wechat,0.01,CNY,OPEN,SUCCESS,2026-11-21 10:00:00,,,2026-11-21 10:00:05\n",
                "wechat,T0,C0,PAYMENT,0.01,,CNY,2026-11-21 10:00:05,\n",
                "",
            ),
            2 => (
                // A refund row under another order key: it stays when its payment
                // and attempt are compacted away.
                "",
                "",
                "wechat,T0,R0,REFUND,0.01,,CNY,2026-11-23 20:00:01,CS1\n",
            ),
            _ => ("", "", ""),
        };
        let orders = work.write(&format!("d{n}/orders-{day}.csv"), &format!("{OH}{order}"));
        let wechat = work.write(
            &format!("d{n}/wechat-{day}.csv"),
            &format!("{SH}{payment}{refund}"),
        );
        let alipay = work.write(&format!("d{n}/alipay-{day}.csv"), SH);
        files.extend([
            ("--orders", orders),
            ("--settlement", wechat),
            ("--settlement", alipay),
        ]);
    }
    let everything = |out: &str| {
        let mut cmd = work.run(
            out,
            &["--config", config.to_str().unwrap(), "--allow-empty-orders"],
        );
        for (flag, path) in &files {
            cmd.arg(flag).arg(path);
        }
        cmd.assert().success();
        serde_json::from_str::<serde_json::Value>(&work.read(&format!("{out}/summary.json")))
            .unwrap()["refunds_without_payment"]
            .clone()
    };
    // The first run compacts 2026-11-21 (its payment included) after its
    // commit; the payment's refund is loaded and still there.
    assert_eq!(everything("first"), 0);
    let compacted: i64 = Connection::open(work.db())
        .unwrap()
        .query_row("SELECT count(*) FROM compacted_day", [], |r| r.get(0))
        .unwrap();
    assert!(compacted > 0, "nothing was compacted");
    assert_eq!(everything("again"), 1);
}

/// Found by the 30-day bench: every day's T+1 payments are in the next
/// day's file, so a file stayed while the next day stayed, back to the
/// first day, and nothing was ever compacted. The attempts of a compacted
/// day now take their rows in later files with them.
#[test]
fn days_whose_payments_spill_into_the_next_are_compacted() {
    let work = Workdir::new();
    let config = work.write("payrecon.toml", "retention_days = 1\n");
    for (n, day) in DAYS.iter().enumerate() {
        // Order n is created at 23:59 and paid on day n; its channel row is
        // in day n's file, and a second, T+1 payment row of order n-1 too.
        let orders = work.write(
            &format!("d{n}/orders-{day}.csv"),
            &format!(
                "{OH}O{n},P{n},C{n},wechat,1.00,CNY,OPEN,SUCCESS,{day} 10:00:00,,,{day} 10:00:05\n"
            ),
        );
        let mut rows = format!("{SH}wechat,T{n},C{n},PAYMENT,1.00,,CNY,{day} 10:00:05,\n");
        if n > 0 {
            let previous = n - 1;
            rows +=
                &format!("wechat,T{previous}b,C{previous}b,PAYMENT,1.00,,CNY,{day} 00:00:05,\n");
        }
        let wechat = work.write(&format!("d{n}/wechat-{day}.csv"), &rows);
        // The T+1 payment's attempt, created late on the day before.
        let late = work.write(
            &format!("d{n}/orders-late-{day}.csv"),
            &format!("{OH}O{n}b,P{n}b,C{n}b,wechat,1.00,CNY,OPEN,SUCCESS,{day} 23:59:00,,,{day} 23:59:50\n"),
        );
        work.run(&format!("out{n}"), &["--config", config.to_str().unwrap()])
            .arg("--orders")
            .arg(&orders)
            .arg("--orders")
            .arg(&late)
            .arg("--settlement")
            .arg(&wechat)
            .assert()
            .success();
    }
    let conn = Connection::open(work.db()).unwrap();
    let compacted: Vec<String> = conn
        .prepare("SELECT day FROM compacted_day ORDER BY day")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!compacted.is_empty(), "nothing was compacted");
    // Nothing the compaction left behind is a payment without its attempt.
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM settlement_row s
             WHERE NOT EXISTS (SELECT 1 FROM attempt a WHERE a.channel_order_id = s.channel_order_id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    let open: i64 = conn
        .query_row(
            "SELECT count(*) FROM finding_item WHERE state = 'OPEN'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0, "compaction opened findings");
}

/// Five days of one payment each; the first day's order is also paid twice,
/// and its refund is never confirmed, so it is overdue from the 24th
/// (refund_confirm_days 3). Each day is its export and its WeChat file.
fn unconfirmed_refund_days(work: &Workdir) -> Vec<(PathBuf, PathBuf)> {
    (21..=25)
        .map(|d| {
            let mut orders = format!(
                "{OH}O{d},P{d},C{d},wechat,10.00,CNY,PAID,SUCCESS,2026-11-{d} 10:00:00,,,2026-11-{d}T10:01:00+08:00\n"
            );
            let mut bill = format!("{SH}wechat,T{d},C{d},PAYMENT,10.00,,CNY,2026-11-{d}T10:01:00+08:00,\n");
            if d == 21 {
                orders += "O21,P21b,C21b,wechat,10.00,CNY,PAID,SUCCESS,2026-11-21 10:02:00,,,2026-11-21T10:03:00+08:00\n";
                bill += "wechat,T21b,C21b,PAYMENT,10.00,,CNY,2026-11-21T10:03:00+08:00,\n";
            }
            (
                work.write(&format!("in/orders-2026-11-{d}.csv"), &orders),
                work.write(&format!("in/wechat-2026-11-{d}.csv"), &bill),
            )
        })
        .collect()
}

/// Each row of `sql` as its columns (text) joined by spaces.
fn text_rows(work: &Workdir, sql: &str) -> Vec<String> {
    let conn = Connection::open(work.db()).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |r| {
        (0..columns)
            .map(|i| r.get::<_, String>(i))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(|values| values.join(" "))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Every item of the ledger: kind, subject, state, first_seen.
fn items(work: &Workdir) -> Vec<String> {
    text_rows(
        work,
        "SELECT kind, subject, state, first_seen FROM finding_item ORDER BY kind, subject",
    )
}

/// One morning of [`unconfirmed_refund_days`]: day `d`'s export and bill.
fn unconfirmed_refund_morning(
    work: &Workdir,
    days: &[(PathBuf, PathBuf)],
    d: usize,
    extra: &[&str],
) {
    let (orders, bill) = &days[d - 21];
    work.run(
        &format!("out{d}-{}", extra.len()),
        &[&["--quiet"], extra].concat(),
    )
    .arg("--orders")
    .arg(orders)
    .arg("--settlement")
    .arg(bill)
    .assert()
    .success();
}

/// The confirmation deadline runs on the latest day judged, not on the day
/// a run reports: rerunning an earlier day resolved an overdue refund (as
/// if the clock went back), and days fed in reverse never found it overdue
/// (its instruction is issued by the last run, of the earliest day). Both
/// now end with the ledger of the daily flow, first_seen included.
#[test]
fn an_overdue_refund_stays_overdue_whatever_the_order_of_the_days() {
    let feed = |order: &[usize]| {
        let work = Workdir::new();
        let days = unconfirmed_refund_days(&work);
        for &d in order {
            unconfirmed_refund_morning(&work, &days, d, &[]);
        }
        items(&work)
    };
    let daily = feed(&[21, 22, 23, 24, 25]);
    assert!(
        daily
            .iter()
            .any(|i| i.starts_with("REFUND_NOT_CONFIRMED PR") && i.ends_with(" OPEN 2026-11-24")),
        "{daily:?}"
    );
    assert_eq!(feed(&[25, 24, 23, 22, 21]), daily, "days in reverse");
    assert_eq!(
        feed(&[21, 22, 23, 24, 25, 22]),
        daily,
        "an earlier day again"
    );
}

/// A refund the job rejected and a person released (`payrecon reissue`) is
/// re-issued by the next run of a current day. A rerun of an earlier day in
/// between filed it under that earlier day (an old folder, overdue at once,
/// first seen before the rejection); now it waits for the current day.
/// Found by a helper's attack.
#[test]
fn a_released_refund_waits_for_a_current_day_not_a_rerun() {
    let feed = |rerun_first: bool| {
        let work = Workdir::new();
        let days = unconfirmed_refund_days(&work);
        let day = |d: usize, extra: &[&str]| unconfirmed_refund_morning(&work, &days, d, extra);
        for d in 21..=24 {
            day(d, &[]);
        }
        let conn = Connection::open(work.db()).unwrap();
        let rejected: String = conn
            .query_row(
                "SELECT refund_request_id FROM refund_instruction",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let results = work.write(
            "in/results.csv",
            &format!("refund_request_id,status,message\n{rejected},REJECTED,no balance\n"),
        );
        day(25, &["--refund-results", results.to_str().unwrap()]);
        payrecon(&work, &["reissue", &rejected]).success();
        if rerun_first {
            work.run("again-22", &["--quiet", "--date", "2026-11-22"])
                .assert()
                .success();
            let waiting: String = conn
                .query_row(
                    "SELECT reissued_as FROM refund_instruction WHERE refund_request_id = ?1",
                    [&rejected],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(waiting, "", "re-issued by the rerun of an earlier day");
        }
        work.run("next", &["--quiet"]).assert().success();
        let instructions = text_rows(
            &work,
            "SELECT refund_request_id, business_day, coalesce(reissue_of, '')
             FROM refund_instruction ORDER BY 1",
        );
        (instructions, items(&work))
    };
    let daily = feed(false);
    assert_eq!(daily.0.len(), 2, "{daily:?}");
    assert!(
        daily.0.iter().any(|i| i.contains(" 2026-11-24 PR")),
        "{daily:?}"
    );
    assert_eq!(feed(true), daily);
}
