//! Third attack round on the issue 10 fixes (branch attack10c): releasing
//! a rejected refund (`payrecon reissue`) against results that change their
//! mind and against retention. Each test runs the real binary in a scratch
//! folder. Each break it found is a test that failed before its fix; the
//! others are attacks that held.

use crate::attack10::{OH, SH, ok, text};
use crate::util::{Workdir, parse_csv};
use std::process::Output;

/// Order O1 paid twice on the 14th: attempt C1a kept, C1b (W1b) refunded.
fn duplicate_day(work: &Workdir) {
    work.write("payrecon.toml", "settle_lag_days = 0\n");
    work.write(
        "orders.csv",
        &format!(
            "{OH}O1,P1,C1a,wechat,10.00,CNY,PAID,SUCCESS,2024-03-14 10:00:00,,,2024-03-14 10:01:00\n\
             O1,P1,C1b,wechat,10.00,CNY,PAID,SUCCESS,2024-03-14 10:00:00,,,2024-03-14 10:02:00\n"
        ),
    );
    work.write(
        "set/wechat-2024-03-14.csv",
        &format!(
            "{SH}wechat,W1a,C1a,PAYMENT,10.00,,CNY,2024-03-14 10:01:00,\n\
             wechat,W1b,C1b,PAYMENT,10.00,,CNY,2024-03-14 10:02:00,\n"
        ),
    );
    for day in 15..=25 {
        work.write(&format!("set/wechat-2024-03-{day}.csv"), SH);
    }
}

fn payrecon(work: &Workdir, args: &[&str]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("payrecon").unwrap();
    cmd.current_dir(work.dir.path())
        .args(args)
        .arg("--db")
        .arg(work.db())
        .arg("--config")
        .arg(work.path("payrecon.toml"))
        .env_remove("PAYRECON_FAILPOINT");
    cmd.output().unwrap()
}

/// `payrecon run -q` of `day` (2024-03-DD) into out folder dDD, loading
/// that day's empty bill plus `extra` arguments.
fn run_day(work: &Workdir, day: u32, extra: &[&str]) -> Output {
    let mut cmd = work.run(&format!("d{day}"), &["-q"]);
    cmd.arg("--config")
        .arg(work.path("payrecon.toml"))
        .args(extra)
        .arg("--settlement")
        .arg(work.path(&format!("set/wechat-2024-03-{day}.csv")))
        .args(["--date", &format!("2024-03-{day}")]);
    cmd.output().unwrap()
}

/// One instruction: (id, txn, amount, result, reissued_as or '-').
type Instruction = (String, String, i64, String, String);

/// Every instruction, in the order issued.
fn instructions(work: &Workdir) -> Vec<Instruction> {
    let conn = rusqlite::Connection::open(work.db()).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT refund_request_id, channel_txn_id, amount_minor, coalesce(result, ''),
                    coalesce(reissued_as, '-')
             FROM refund_instruction ORDER BY rowid",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Day 14 instructs W1b's 10.00 back; day 15 loads the job's REJECTED.
/// Returns the rejected id.
fn rejected_on_day_15(work: &Workdir) -> String {
    duplicate_day(work);
    ok(&run_day(
        work,
        14,
        &["--orders", work.path("orders.csv").to_str().unwrap()],
    ));
    let first = instructions(work);
    assert_eq!(first.len(), 1, "{first:?}");
    let id = first[0].0.clone();
    let results = work.write(
        "results-15.csv",
        &format!("refund_request_id,status,message\n{id},REJECTED,closed\n"),
    );
    ok(&run_day(
        work,
        15,
        &["--refund-results", results.to_str().unwrap()],
    ));
    id
}

/// Every refund row in every folder under the scratch folder (symlinks
/// not followed): (id, txn, amount minor).
fn published(work: &Workdir) -> Vec<(String, String, i64)> {
    fn walk(dir: &std::path::Path, rows: &mut Vec<(String, String, i64)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let kind = entry.file_type().unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if kind.is_dir() {
                walk(&entry.path(), rows);
            } else if kind.is_file() && name.starts_with("refunds") && name.ends_with(".csv") {
                let (header, body) = parse_csv(&std::fs::read_to_string(entry.path()).unwrap());
                let at = |n: &str| header.iter().position(|h| h == n).unwrap();
                for row in body {
                    rows.push((
                        row[at("refund_request_id")].clone(),
                        row[at("channel_txn_id")].clone(),
                        row[at("amount")].replace('.', "").parse().unwrap(),
                    ));
                }
            }
        }
    }
    let mut rows = Vec::new();
    walk(work.dir.path(), &mut rows);
    rows
}

/// Days up to the 22nd pass and the days before the 20th are compacted
/// (retention), then a person releases the rejected instruction: either the
/// release is refused, or the next run re-issues the 10.00 still owed on
/// W1b (a refund lost otherwise: the release is recorded and nothing ever
/// pays).
fn compacted_then_released() -> (Vec<Instruction>, String) {
    let work = Workdir::new();
    let rejected = rejected_on_day_15(&work);
    for day in 16..=22 {
        ok(&run_day(&work, day, &[]));
    }
    let compact = payrecon(
        &work,
        &["compact", "--retention-days", "2", "--as-of", "2024-03-22"],
    );
    let conn = rusqlite::Connection::open(work.db()).unwrap();
    let compacted: Vec<String> = conn
        .prepare("SELECT channel || ' ' || day FROM compacted_day ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    drop(conn);
    let release = payrecon(&work, &["reissue", &rejected]);
    let last = run_day(&work, 23, &[]);
    ok(&last);
    let detail = format!(
        "compact: {}\ncompacted: {compacted:?}\nrelease: {}\nlast: {}\nd23 report:\n{}",
        text(&compact),
        text(&release),
        text(&last),
        std::fs::read_to_string(work.path("d23/discrepancies.csv")).unwrap_or_default()
    );
    if !release.status.success() {
        return (Vec::new(), format!("REFUSED\n{detail}"));
    }
    (instructions(&work), detail)
}

/// Held: retention does not let a released refund vanish (the rejected
/// order's DUPLICATE_PAYMENT stays open, so its day is kept whole; the
/// release is re-issued for the 10.00 owed).
#[test]
fn a_released_refund_of_a_compacted_order_is_reissued_or_refused() {
    let (all, detail) = compacted_then_released();
    if detail.starts_with("REFUSED") {
        return;
    }
    let later: i64 = all.iter().skip(1).map(|i| i.2).sum();
    assert_eq!(later, 1000, "{all:?}\n{detail}");
}

/// Released, re-issued by the next run; then a late results file says the
/// ORIGINAL was ACCEPTED after all (the job had timed out). Both are now
/// live instructions for a 10.00 charge: payrecon must not stay silent.
#[test]
fn a_late_acceptance_of_a_released_refund_is_flagged() {
    let work = Workdir::new();
    let rejected = rejected_on_day_15(&work);
    ok(&payrecon(&work, &["reissue", &rejected]));
    ok(&run_day(&work, 16, &[]));
    let all = instructions(&work);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1].2, 1000, "{all:?}");
    let results = work.write(
        "results-17.csv",
        &format!("refund_request_id,status,message\n{rejected},ACCEPTED,late\n"),
    );
    let late = run_day(&work, 17, &["--refund-results", results.to_str().unwrap()]);
    let report = std::fs::read_to_string(work.path("d17/discrepancies.csv")).unwrap_or_default();
    assert!(
        !late.status.success() || report.contains("REFUND_EXCEEDS_PAYMENT"),
        "20.00 live against a 10.00 charge, unflagged: {:?}\n{}\n{report}",
        instructions(&work),
        text(&late)
    );
}

/// Released twice: the second release is refused; once re-issued, a third
/// release is refused too, and nothing is issued a third time.
#[test]
fn a_release_twice_issues_once() {
    let work = Workdir::new();
    let rejected = rejected_on_day_15(&work);
    ok(&payrecon(&work, &["reissue", &rejected]));
    let again = payrecon(&work, &["reissue", &rejected]);
    assert!(!again.status.success(), "{}", text(&again));
    ok(&run_day(&work, 16, &[]));
    let third = payrecon(&work, &["reissue", &rejected]);
    assert!(!third.status.success(), "{}", text(&third));
    ok(&run_day(&work, 17, &[]));
    let all = instructions(&work);
    assert_eq!(all.len(), 2, "{all:?}");
    let w1b: i64 = published(&work)
        .iter()
        .filter(|r| r.1 == "W1b")
        .map(|r| r.2)
        .sum();
    assert_eq!(w1b, 2000, "rejected + one re-issue: {:?}", published(&work));
}

/// Released; the next run loads a corrected bill of the 14th adding a
/// partial channel refund of 4.00 on W1b: the re-issue is 6.00 at most.
#[test]
fn a_release_then_a_partial_channel_refund_reissues_only_what_is_owed() {
    let work = Workdir::new();
    let rejected = rejected_on_day_15(&work);
    ok(&payrecon(&work, &["reissue", &rejected]));
    work.write(
        "fix/wechat-2024-03-14.csv",
        &format!(
            "{SH}wechat,W1a,C1a,PAYMENT,10.00,,CNY,2024-03-14 10:01:00,\n\
             wechat,W1b,C1b,PAYMENT,10.00,,CNY,2024-03-14 10:02:00,\n\
             wechat,W1b,C1b,REFUND,4.00,,CNY,2024-03-14 12:00:00,\n"
        ),
    );
    ok(&run_day(
        &work,
        16,
        &[
            "--settlement",
            work.path("fix/wechat-2024-03-14.csv").to_str().unwrap(),
        ],
    ));
    ok(&run_day(&work, 17, &[]));
    let all = instructions(&work);
    let later: i64 = all.iter().skip(1).map(|i| i.2).sum();
    assert!(later <= 600, "{all:?}");
}

/// Break (audit trail): attempt C1b charged twice (W1b, W1c): both
/// refunded, both rejected. A person releases W1b, then W1c; the amounts
/// re-issued are right (10.00 each), but both released instructions are
/// linked (`reissued_as`) to the same new instruction, W1c's: the link is
/// made by attempt (`min(new id)` on the channel_order_id), not by
/// transaction, and W1b's re-issue is `reissue_of` nothing.
#[test]

fn two_rejections_on_one_attempt_one_released() {
    let work = Workdir::new();
    duplicate_day(&work);
    work.write(
        "set/wechat-2024-03-14.csv",
        &format!(
            "{SH}wechat,W1a,C1a,PAYMENT,10.00,,CNY,2024-03-14 10:01:00,\n\
             wechat,W1b,C1b,PAYMENT,10.00,,CNY,2024-03-14 10:02:00,\n\
             wechat,W1c,C1b,PAYMENT,10.00,,CNY,2024-03-14 10:03:00,\n"
        ),
    );
    ok(&run_day(
        &work,
        14,
        &["--orders", work.path("orders.csv").to_str().unwrap()],
    ));
    let first = instructions(&work);
    let on = |txn: &str| first.iter().find(|i| i.1 == txn).map(|i| i.0.clone());
    let (Some(b), Some(c)) = (on("W1b"), on("W1c")) else {
        panic!("both charges of C1b refunded? {first:?}")
    };
    let results = work.write(
        "results-15.csv",
        &format!("refund_request_id,status,message\n{b},REJECTED,x\n{c},REJECTED,x\n"),
    );
    ok(&run_day(
        &work,
        15,
        &["--refund-results", results.to_str().unwrap()],
    ));
    ok(&payrecon(&work, &["reissue", &b]));
    ok(&run_day(&work, 16, &[]));
    let after_one = instructions(&work);
    ok(&payrecon(&work, &["reissue", &c]));
    ok(&run_day(&work, 17, &[]));
    ok(&run_day(&work, 18, &[]));
    let all = instructions(&work);
    let later = |txn: &str| -> i64 {
        all.iter()
            .skip(first.len())
            .filter(|i| i.1 == txn)
            .map(|i| i.2)
            .sum()
    };
    assert_eq!(
        (later("W1b"), later("W1c")),
        (1000, 1000),
        "after releasing W1b only: {after_one:?}\nall: {all:?}"
    );
    let new_ids: Vec<&String> = all.iter().skip(first.len()).map(|i| &i.0).collect();
    let linked: Vec<&String> = all.iter().take(first.len()).map(|i| &i.4).collect();
    assert!(
        new_ids.iter().all(|id| linked.contains(id)) && linked[0] != linked[1],
        "each released instruction linked to its own re-issue: {all:?}"
    );
}

/// Day 14 refunds W1b; the bill of the 15th confirms it (its REFUND row
/// carries our id); days 16 to 22 pass; days before the 20th are compacted.
fn confirmed_and_compacted() -> Workdir {
    let work = Workdir::new();
    duplicate_day(&work);
    ok(&run_day(
        &work,
        14,
        &["--orders", work.path("orders.csv").to_str().unwrap()],
    ));
    let id = instructions(&work)[0].0.clone();
    work.write(
        "set/wechat-2024-03-15.csv",
        &format!("{SH}wechat,W1b,C1b,REFUND,10.00,,CNY,2024-03-15 09:00:00,{id}\n"),
    );
    for day in 15..=22 {
        ok(&run_day(&work, day, &[]));
    }
    let compact = payrecon(
        &work,
        &["compact", "--retention-days", "2", "--as-of", "2024-03-22"],
    );
    ok(&compact);
    let conn = rusqlite::Connection::open(work.db()).unwrap();
    let open: Vec<String> = conn
        .prepare(
            "SELECT kind || ' ' || state || ' ' || coalesce(channel_txn_id, '') FROM finding_item",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM compacted_day WHERE day = '2024-03-14'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        n,
        1,
        "the 14th compacted: {}\n{open:?}\n{}",
        text(&compact),
        work.read("d22/discrepancies.csv")
    );
    work
}

fn findings_of(work: &Workdir, out: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(work.path(&format!("{out}/discrepancies.csv"))).unwrap_or_default();
    let (header, rows) = parse_csv(&text);
    let Some(kind) = header.iter().position(|h| h == "kind" || h == "type") else {
        return vec![text];
    };
    rows.into_iter().map(|r| r[kind].clone()).collect()
}

/// Held? After compaction: the export re-sent, a rerun of the compacted
/// 14th, and the next day: no refund re-issued, no false alarm.
#[test]
fn compacted_then_resent_and_rerun_changes_nothing() {
    let work = confirmed_and_compacted();
    let before = instructions(&work);
    let resent = run_day(
        &work,
        23,
        &["--orders", work.path("orders.csv").to_str().unwrap()],
    );
    let rerun = work
        .run("r14", &["-q", "--date", "2024-03-14", "--config"])
        .arg(work.path("payrecon.toml"))
        .output()
        .unwrap();
    ok(&run_day(&work, 24, &[]));
    let after = instructions(&work);
    assert_eq!(before, after, "{}\n{}", text(&resent), text(&rerun));
    for out in ["d23", "r14", "d24"] {
        let found = findings_of(&work, out);
        assert!(
            !found.iter().any(|k| k.contains("MISSING")
                || k.contains("UNMATCHED")
                || k.contains("WITHOUT_PAYMENT")
                || k.contains("DUPLICATE")),
            "{out}: {found:?}\nresent: {}\nrerun: {}",
            text(&resent),
            text(&rerun)
        );
    }
}

/// A corrected bill of the compacted 14th that drops W1b is refused (its
/// rows are gone, a correction cannot be judged).
#[test]
fn a_correction_of_a_compacted_day_is_refused() {
    let work = confirmed_and_compacted();
    work.write(
        "fix/wechat-2024-03-14.csv",
        &format!("{SH}wechat,W1a,C1a,PAYMENT,10.00,,CNY,2024-03-14 10:01:00,\n"),
    );
    let fix = run_day(
        &work,
        23,
        &[
            "--settlement",
            work.path("fix/wechat-2024-03-14.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(fix.status.code(), Some(1), "{}", text(&fix));
}

/// Break (stale report, invites a double refund): two duplicates refunded
/// on the 14th (W1b of O1, W2b of O2). The day-15 run loads W1b REJECTED,
/// W2b ACCEPTED; a rerun of the 15th loads the job's corrected answer, W1b
/// ACCEPTED and W2b REJECTED. The database records the new results, but
/// the rerun's report is the cached one: it still tells a person to
/// "re-issue it or refund by hand" for W1b (which the job accepted: a
/// refund by hand pays 10.00 twice), and says nothing of W2b's rejection.
/// Cause: the state key counts results (ACCEPTED/REJECTED sums), so a
/// swap between two instructions leaves it unchanged and the outputs are
/// reused.
#[test]

fn swapped_results_on_a_rerun_are_reported() {
    let work = Workdir::new();
    duplicate_day(&work);
    work.write(
        "orders.csv",
        &format!(
            "{OH}O1,P1,C1a,wechat,10.00,CNY,PAID,SUCCESS,2024-03-14 10:00:00,,,2024-03-14 10:01:00\n\
             O1,P1,C1b,wechat,10.00,CNY,PAID,SUCCESS,2024-03-14 10:00:00,,,2024-03-14 10:02:00\n\
             O2,P2,C2a,wechat,7.00,CNY,PAID,SUCCESS,2024-03-14 11:00:00,,,2024-03-14 11:01:00\n\
             O2,P2,C2b,wechat,7.00,CNY,PAID,SUCCESS,2024-03-14 11:00:00,,,2024-03-14 11:02:00\n"
        ),
    );
    work.write(
        "set/wechat-2024-03-14.csv",
        &format!(
            "{SH}wechat,W1a,C1a,PAYMENT,10.00,,CNY,2024-03-14 10:01:00,\n\
             wechat,W1b,C1b,PAYMENT,10.00,,CNY,2024-03-14 10:02:00,\n\
             wechat,W2a,C2a,PAYMENT,7.00,,CNY,2024-03-14 11:01:00,\n\
             wechat,W2b,C2b,PAYMENT,7.00,,CNY,2024-03-14 11:02:00,\n"
        ),
    );
    ok(&run_day(
        &work,
        14,
        &["--orders", work.path("orders.csv").to_str().unwrap()],
    ));
    let all = instructions(&work);
    let id = |txn: &str| all.iter().find(|i| i.1 == txn).unwrap().0.clone();
    let (b1, b2) = (id("W1b"), id("W2b"));
    let first = work.write(
        "results-a.csv",
        &format!("refund_request_id,status,message\n{b1},REJECTED,x\n{b2},ACCEPTED,\n"),
    );
    ok(&run_day(
        &work,
        15,
        &["--refund-results", first.to_str().unwrap()],
    ));
    let second = work.write(
        "results-b.csv",
        &format!("refund_request_id,status,message\n{b1},ACCEPTED,\n{b2},REJECTED,y\n"),
    );
    let mut cmd = work.run("r15", &["-q", "--config"]);
    cmd.arg(work.path("payrecon.toml"))
        .args(["--refund-results", second.to_str().unwrap()])
        .args(["--date", "2024-03-15"]);
    let rerun = cmd.output().unwrap();
    ok(&rerun);
    let report = work.read("r15/discrepancies.csv");
    let rejected_open: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("REFUND_REJECTED") && !l.contains("RESOLVED"))
        .collect();
    assert!(
        rejected_open.len() == 1 && rejected_open[0].contains("W2b"),
        "after the swap, W2b is the one rejected: {rejected_open:?}\n{report}\n{:?}",
        instructions(&work)
    );
}

/// Held: released, then the next run loads the job's late answer that the
/// original was ACCEPTED after all: nothing is re-issued (the accepted
/// original covers the charge).
#[test]
fn a_release_then_a_late_acceptance_in_the_same_run_reissues_nothing() {
    let work = Workdir::new();
    let rejected = rejected_on_day_15(&work);
    ok(&payrecon(&work, &["reissue", &rejected]));
    let results = work.write(
        "results-16.csv",
        &format!("refund_request_id,status,message\n{rejected},ACCEPTED,late\n"),
    );
    ok(&run_day(
        &work,
        16,
        &["--refund-results", results.to_str().unwrap()],
    ));
    ok(&run_day(&work, 17, &[]));
    let all = instructions(&work);
    assert_eq!(all.len(), 1, "{all:?}");
}

/// Day 14 refunds W1b (10.00), the job ACCEPTS; the bill of the 15th shows
/// a 10.00 REFUND of W1b without a refund number (taken as ours). The 14th
/// is compacted (`compact` if `compact`); then the bill of the 23rd shows
/// a second 10.00 REFUND of W1b, carrying our refund number: 20.00 went
/// back of a 10.00 charge. Returns the d23 report.
fn second_refund_after(compact: bool) -> String {
    let work = Workdir::new();
    duplicate_day(&work);
    ok(&run_day(
        &work,
        14,
        &["--orders", work.path("orders.csv").to_str().unwrap()],
    ));
    let id = instructions(&work)[0].0.clone();
    let results = work.write(
        "results-15.csv",
        &format!("refund_request_id,status,message\n{id},ACCEPTED,\n"),
    );
    work.write(
        "set/wechat-2024-03-15.csv",
        &format!("{SH}wechat,W1b,C1b,REFUND,10.00,,CNY,2024-03-15 09:00:00,\n"),
    );
    ok(&run_day(
        &work,
        15,
        &["--refund-results", results.to_str().unwrap()],
    ));
    for day in 16..=22 {
        ok(&run_day(&work, day, &[]));
    }
    if compact {
        ok(&payrecon(
            &work,
            &["compact", "--retention-days", "2", "--as-of", "2024-03-22"],
        ));
    }
    work.write(
        "set/wechat-2024-03-23.csv",
        &format!("{SH}wechat,W1b,C1b,REFUND,10.00,,CNY,2024-03-23 09:00:00,{id}\n"),
    );
    ok(&run_day(&work, 23, &[]));
    work.read("d23/discrepancies.csv")
}

/// Held: the second refund is flagged (REFUND_EXCEEDS_PAYMENT is open from
/// the 15th on, as a refund without a number is not taken as ours, which
/// also keeps the order from compaction).
#[test]
fn a_second_channel_refund_of_a_refunded_payment_is_flagged() {
    let report = second_refund_after(false);
    assert!(report.contains("W1b"), "{report}");
}

/// Held: the run after a release is killed at every crash point, then
/// rerun: the release is re-issued exactly once, for 10.00, and every
/// refund file of the day holds it at most once.
#[test]
fn a_run_after_a_release_killed_anywhere_reissues_once() {
    for point in [
        "after-begin",
        "after-classify",
        "after-refunds",
        "after-ledger",
        "staged-1",
        "before-commit",
        "after-commit",
        "published-1",
        "after-publish",
    ] {
        let work = Workdir::new();
        let rejected = rejected_on_day_15(&work);
        ok(&payrecon(&work, &["reissue", &rejected]));
        let mut cmd = work.run("d16", &["-q", "--config"]);
        cmd.arg(work.path("payrecon.toml"))
            .arg("--settlement")
            .arg(work.path("set/wechat-2024-03-16.csv"))
            .args(["--date", "2024-03-16"])
            .env("PAYRECON_FAILPOINT", point);
        let killed = cmd.output().unwrap();
        assert!(!killed.status.success(), "{point}: {}", text(&killed));
        ok(&run_day(&work, 16, &[]));
        ok(&run_day(&work, 17, &[]));
        let all = instructions(&work);
        let later: Vec<_> = all.iter().skip(1).collect();
        assert!(
            later.len() == 1 && later[0].2 == 1000 && all[0].4 == later[0].0,
            "{point}: {all:?}"
        );
        let rows = published(&work);
        let mut ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(n, ids.len(), "{point}: an id in two refund files: {rows:?}");
        assert!(
            ids.contains(&&later[0].0),
            "{point}: re-issue never published: {rows:?}"
        );
    }
}

/// Two duplicates, one a day: W1b refunded on the 14th, W2b on the 15th.
fn two_days(work: &Workdir) {
    duplicate_day(work);
    work.write(
        "orders.csv",
        &format!(
            "{OH}O1,P1,C1a,wechat,10.00,CNY,PAID,SUCCESS,2024-03-14 10:00:00,,,2024-03-14 10:01:00\n\
             O1,P1,C1b,wechat,10.00,CNY,PAID,SUCCESS,2024-03-14 10:00:00,,,2024-03-14 10:02:00\n\
             O2,P2,C2a,wechat,7.00,CNY,PAID,SUCCESS,2024-03-15 11:00:00,,,2024-03-15 11:01:00\n\
             O2,P2,C2b,wechat,7.00,CNY,PAID,SUCCESS,2024-03-15 11:00:00,,,2024-03-15 11:02:00\n"
        ),
    );
    work.write(
        "set/wechat-2024-03-15.csv",
        &format!(
            "{SH}wechat,W2a,C2a,PAYMENT,7.00,,CNY,2024-03-15 11:01:00,\n\
             wechat,W2b,C2b,PAYMENT,7.00,,CNY,2024-03-15 11:02:00,\n"
        ),
    );
}

/// Break (refund lost): day 14 publishes W1b's refund into outbox/; before
/// the refund job takes it, the operators move the whole folder (outbox ->
/// moved) and point the next run at its new place. Day 15 publishes its
/// own refunds.csv there, renaming over day 14's unread file: W1b's 10.00
/// is in no refund file any more. The collision check looks the place up
/// by the canonical path recorded when day 14 published (outbox/), so a
/// file that moved with its folder is not recognised.
#[test]

fn an_unread_refund_file_moved_with_its_folder_is_not_overwritten() {
    moved_outbox("moved", |work| {
        std::fs::rename(work.path("outbox"), work.path("moved")).unwrap();
    });
}

/// Break (same cause): the folder is moved and a symlink is left at its
/// old name (outbox -> disk2/outbox); the next run, with the same --out,
/// writes through the symlink over day 14's unread file.
#[test]

fn an_unread_refund_file_behind_a_new_symlink_is_not_overwritten() {
    moved_outbox("outbox", |work| {
        std::fs::create_dir_all(work.path("disk2")).unwrap();
        std::fs::rename(work.path("outbox"), work.path("disk2/outbox")).unwrap();
        std::os::unix::fs::symlink(work.path("disk2/outbox"), work.path("outbox")).unwrap();
    });
}

/// Day 14 publishes into outbox/; `mv` moves it; day 15 publishes into
/// `second`. Either day 15 is refused or W1b's refund is still in a file.
fn moved_outbox(second: &str, mv: impl Fn(&Workdir)) {
    let work = Workdir::new();
    two_days(&work);
    let mut cmd = work.run("outbox", &["-q", "--config"]);
    cmd.arg(work.path("payrecon.toml"))
        .arg("--orders")
        .arg(work.path("orders.csv"))
        .arg("--settlement")
        .arg(work.path("set/wechat-2024-03-14.csv"))
        .args(["--date", "2024-03-14"]);
    ok(&cmd.output().unwrap());
    let w1b = instructions(&work)[0].0.clone();
    mv(&work);
    let mut cmd = work.run(second, &["-q", "--config"]);
    cmd.arg(work.path("payrecon.toml"))
        .arg("--settlement")
        .arg(work.path("set/wechat-2024-03-15.csv"))
        .args(["--date", "2024-03-15"]);
    let day15 = cmd.output().unwrap();
    let rows = published(&work);
    assert!(
        !day15.status.success() || rows.iter().any(|r| r.0 == w1b),
        "day 14's unread W1b refund is gone: {rows:?}\n{}",
        text(&day15)
    );
}

/// Held: released, then the day of the rejection (the 15th) is rerun into
/// its own folder: the re-issue is published once, and the refund file the
/// 15th published before is not replaced by it.
#[test]
fn a_release_then_a_rerun_of_the_rejection_day_publishes_once() {
    let work = Workdir::new();
    let rejected = rejected_on_day_15(&work);
    let before = std::fs::read_to_string(work.path("d15/refunds.csv")).unwrap_or_default();
    ok(&payrecon(&work, &["reissue", &rejected]));
    ok(&run_day(&work, 15, &[]));
    ok(&run_day(&work, 16, &[]));
    let all = instructions(&work);
    assert_eq!(all.len(), 2, "{all:?}");
    if !before.is_empty() {
        assert_eq!(
            std::fs::read_to_string(work.path("d15/refunds.csv")).unwrap(),
            before
        );
    }
    let rows = published(&work);
    let n = rows.iter().filter(|r| r.0 == all[1].0).count();
    assert_eq!(n, 1, "{rows:?}");
}
