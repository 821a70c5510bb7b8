//! Second attack round on the issue 10 fixes (branch attack10b): the
//! collision refusal under other spellings of one folder, refund ids,
//! results and reissue, the ledger. Each test runs the real binary in a
//! scratch folder. Each break it found is a test that failed before its fix; the
//! others are attacks that held and add coverage.

use crate::attack10::{SH, instruction_ids, ok, text, two_duplicate_days};
use crate::util::{Workdir, parse_csv};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

/// `payrecon run -q` with `--out` exactly as given (not made absolute),
/// from the scratch folder.
fn run(work: &Workdir, out: &str, args: &[&str], failpoint: Option<&str>) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("payrecon").unwrap();
    cmd.current_dir(work.dir.path())
        .args(["run", "-q", "--db"])
        .arg(work.db())
        .args(["--out", out])
        .args(args)
        .env_remove("PAYRECON_FAILPOINT");
    if let Some(point) = failpoint {
        cmd.env("PAYRECON_FAILPOINT", point);
    }
    cmd.output().unwrap()
}

/// Every refund file under the scratch folder now: (path, rows). Symlinks
/// are not followed (a folder reached twice is listed once).
fn refund_files_now(work: &Workdir) -> Vec<(String, Vec<Vec<String>>)> {
    fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(&path, found);
            } else if kind.is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("refunds") && name.ends_with(".csv") {
                    found.push(path);
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(work.dir.path(), &mut found);
    found.sort();
    found
        .into_iter()
        .map(|path| {
            let rows = parse_csv(&std::fs::read_to_string(&path).unwrap()).1;
            (path.display().to_string(), rows)
        })
        .collect()
}

/// Every refund_request_id seen in any refund file so far, gathered after
/// every run (what a refund job polling the folders could have read).
#[derive(Default)]
struct Seen {
    ids: BTreeSet<String>,
}

impl Seen {
    fn snap(&mut self, work: &Workdir) {
        for (_, rows) in refund_files_now(work) {
            for row in rows {
                self.ids.insert(row[0].clone());
            }
        }
    }
}

/// Day 14 publishes into `outbox`; the refund job has not taken its
/// refunds.csv yet. Day 15 is run with `--out` spelled `second` (another
/// name of the same folder). Either day 15 is refused, or day 14's
/// instruction is still in a refund file in place (the job has taken
/// nothing yet, so a file renamed over it took it away unread).
fn same_folder_under_another_name(second: &str, setup: impl Fn(&Workdir)) {
    let work = Workdir::new();
    two_duplicate_days(&work);
    std::fs::create_dir_all(work.path("outbox")).unwrap();
    setup(&work);
    ok(&run(
        &work,
        "outbox",
        &[
            "--orders",
            "orders.csv",
            "--settlement",
            "set/wechat-2024-03-14.csv",
            "--settlement",
            "set/wechat-2024-03-15.csv",
            "--date",
            "2024-03-14",
        ],
        None,
    ));
    let day14 = work.read("outbox/refunds.csv");
    assert_eq!(parse_csv(&day14).1.len(), 1, "day 14 instructs W1b");
    let next = run(
        &work,
        second,
        &[
            "--settlement",
            "set/wechat-2024-03-16.csv",
            "--date",
            "2024-03-15",
        ],
        None,
    );
    let mut now = Seen::default();
    now.snap(&work);
    let issued = instruction_ids(&work);
    if next.status.success() {
        assert_eq!(issued.len(), 2, "{issued:?}\n{}", text(&next));
    }
    let lost: Vec<_> = issued
        .iter()
        .filter(|(id, _)| !now.ids.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "day 15 with --out {second} renamed its refunds.csv over day 14's unread one: {lost:?} in no refund file in place\n{}\nrefund files now: {:?}",
        text(&next),
        refund_files_now(&work)
    );
}

/// Break: `--out` through a symlink to the outbox of the day before.
#[test]

fn a_symlinked_out_folder_does_not_overwrite_another_days_refund_file() {
    same_folder_under_another_name("link", |work| {
        std::os::unix::fs::symlink(work.path("outbox"), work.path("link")).unwrap();
    });
}

/// Break: `--out outbox/../outbox` (a `..` in the path).
#[test]

fn a_dotdot_out_folder_does_not_overwrite_another_days_refund_file() {
    same_folder_under_another_name("sub/../outbox", |work| {
        std::fs::create_dir_all(work.path("sub")).unwrap();
    });
}

/// Held: `./outbox/` (a `.` and a trailing slash) is recognised and
/// refused.
#[test]
fn a_dot_out_folder_does_not_overwrite_another_days_refund_file() {
    same_folder_under_another_name("./outbox/", |_| {});
}

/// `payrecon <args>` against the scratch database.
fn payrecon(work: &Workdir, args: &[&str]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("payrecon").unwrap();
    cmd.current_dir(work.dir.path())
        .args(args)
        .arg("--db")
        .arg(work.db())
        .env_remove("PAYRECON_FAILPOINT");
    cmd.output().unwrap()
}

/// Every refund row seen in any refund file so far: id -> (txn, amount).
fn published(work: &Workdir) -> BTreeMap<String, (String, i64)> {
    let mut rows = BTreeMap::new();
    for (path, file_rows) in refund_files_now(work) {
        let (header, _) = parse_csv(&std::fs::read_to_string(&path).unwrap());
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        for row in file_rows {
            let amount = row[at("amount")].replace('.', "").parse::<i64>().unwrap();
            rows.insert(
                row[at("refund_request_id")].clone(),
                (row[at("channel_txn_id")].clone(), amount),
            );
        }
    }
    rows
}

/// Day 14 instructs W1b's 10.00 back; the refund job rejects it; day 15's
/// bill shows the channel refunded W1b's 10.00 meanwhile (`refund_id` as
/// given: a refund made by hand in the channel's dashboard). A person then
/// re-issues the rejected instruction; the next run publishes what it
/// publishes. Returns the refunds published for W1b plus the channel's.
fn reissue_after_a_channel_refund(refund_id: &str) -> (i64, String) {
    reissue_after(
        &format!("{SH}wechat,W1b,C1b,REFUND,10.00,,CNY,2024-03-16 11:00:00,{refund_id}\n"),
        None,
        1000,
    )
}

/// The same flow, the day-15 run loading `day16` (the bill of the 16th)
/// and `fix14` (a corrected bill of the 14th) if given; `gone` is what the
/// channel returned or no longer holds of W1b's 10.00.
fn reissue_after(day16: &str, fix14: Option<&str>, gone: i64) -> (i64, String) {
    let work = Workdir::new();
    two_duplicate_days(&work);
    work.write("set/wechat-2024-03-16.csv", day16);
    if let Some(fix) = fix14 {
        work.write("fix/wechat-2024-03-14.csv", fix);
    }
    work.write("set/wechat-2024-03-17.csv", SH);
    ok(&run(
        &work,
        "d14",
        &[
            "--orders",
            "orders.csv",
            "--settlement",
            "set/wechat-2024-03-14.csv",
            "--settlement",
            "set/wechat-2024-03-15.csv",
            "--date",
            "2024-03-14",
        ],
        None,
    ));
    let first: Vec<String> = published(&work)
        .into_iter()
        .filter(|(_, (txn, _))| txn == "W1b")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(first.len(), 1, "{first:?}");
    let results = work.write(
        "results.csv",
        &format!(
            "refund_request_id,status,message\n{},REJECTED,closed\n",
            first[0]
        ),
    );
    let mut day15 = vec![
        "--settlement",
        "set/wechat-2024-03-16.csv",
        "--refund-results",
        results.to_str().unwrap(),
        "--date",
        "2024-03-15",
    ];
    if fix14.is_some() {
        day15.extend(["--settlement", "fix/wechat-2024-03-14.csv"]);
    }
    ok(&run(&work, "d15", &day15, None));
    let reissue = payrecon(&work, &["reissue", &first[0]]);
    let last = run(
        &work,
        "d16",
        &[
            "--settlement",
            "set/wechat-2024-03-17.csv",
            "--date",
            "2024-03-16",
        ],
        None,
    );
    let ours: i64 = published(&work)
        .values()
        .filter(|(txn, _)| txn == "W1b")
        .map(|(_, amount)| amount)
        .sum();
    // The first instruction was rejected: only the re-issue can pay out,
    // besides the channel's own 10.00.
    let first_rejected = 1000;
    (
        ours - first_rejected + gone,
        format!(
            "reissue: {}\nlast run: {}\nd16 discrepancies:\n{}",
            text(&reissue),
            text(&last),
            std::fs::read_to_string(work.path("d16/discrepancies.csv")).unwrap_or_default()
        ),
    )
}

/// Break (same cause): the refund job rejected W1b's instruction, then a
/// corrected bill of the 14th shows no W1b at all (the duplicate charge was
/// reversed by the channel); a person re-issues the rejected instruction
/// and the next run publishes 10.00 for a payment the channel no longer
/// holds.
#[test]

fn a_reissue_after_the_payment_was_corrected_away_is_not_published() {
    let (refunded, detail) = reissue_after(
        SH,
        Some(&format!(
            "{SH}wechat,W1a,C1a,PAYMENT,10.00,,CNY,2024-03-14 10:01:00,\n"
        )),
        1000,
    );
    assert!(
        refunded <= 1000,
        "W1b is gone from the channel; published re-issue + what is gone = {refunded}\n{detail}"
    );
}

/// Break: re-issuing a rejected instruction after the channel refunded the
/// payment by hand publishes a second 10.00 for a 10.00 payment.
#[test]

fn a_reissue_after_a_manual_channel_refund_never_over_refunds() {
    let (refunded, detail) = reissue_after_a_channel_refund("");
    assert!(
        refunded <= 1000,
        "W1b captured 10.00; published re-issue + channel refund = {refunded}\n{detail}"
    );
}

/// Break (other half): the refund job answered REJECTED, but the channel
/// did refund (its REFUND row carries the rejected instruction's own
/// merchant refund number). The re-issue is still published.
#[test]

fn a_reissue_of_an_instruction_the_channel_confirmed_never_over_refunds() {
    let rejected = "PR80ff8d0fc1f9f50f3f84a81f357a7f";
    let (refunded, detail) = reissue_after_a_channel_refund(rejected);
    assert!(
        refunded <= 1000,
        "W1b captured 10.00; published re-issue + channel refund = {refunded}\n{detail}"
    );
}

/// Runs one real-looking bill (`rel` under fixtures/formats, `edit`ed)
/// alone, in `zone`, into a fresh database.
fn bill_in_zone(rel: &str, name: &str, zone: &str, edit: impl Fn(String) -> String) -> Output {
    let work = Workdir::new();
    let config = work.write("payrecon.toml", &format!("timezone = \"{zone}\"\n"));
    let bytes = std::fs::read(crate::util::fixtures().join("formats").join(rel)).unwrap();
    let bill = work.path(name);
    // Bills in GBK are written as shipped.
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => edit(text).into_bytes(),
        Err(e) => e.into_bytes(),
    };
    std::fs::write(&bill, bytes).unwrap();
    run(
        &work,
        "out",
        &[
            "--config",
            config.to_str().unwrap(),
            "--settlement",
            bill.to_str().unwrap(),
        ],
        None,
    )
}

/// Break (false alarm): the shipped WeChat and Alipay bills of 2026-11-21
/// (Beijing days, refund rows at 23:59) are refused when the merchant's
/// zone is east of Beijing (Asia/Tokyo): their last hour is the 22nd there.
/// The bill's day is a Beijing day whatever the merchant's zone.
#[test]

fn real_wechat_and_alipay_bills_load_in_tokyo() {
    for (rel, name) in [
        ("wechat/wechat-2026-11-21-all.csv", "wechat-2026-11-21.csv"),
        (
            "alipay/20880211096256330156_20261121_业务明细.csv",
            "20880211096256330156_20261121_业务明细.csv",
        ),
    ] {
        let out = bill_in_zone(rel, name, "Asia/Tokyo", |s| s);
        assert!(out.status.success(), "{rel} in Asia/Tokyo: {}", text(&out));
    }
}

/// Break (false alarm): a WeChat bill of the 21st whose trades all fall in
/// the Beijing morning (before 13:00) is refused as "no row of that day"
/// when the merchant's zone is America/New_York: every row is the 20th in
/// New York. It is the 21st's bill (every row says 2026-11-21).
#[test]

fn a_morning_only_wechat_bill_loads_in_new_york() {
    let out = bill_in_zone(
        "wechat/wechat-2026-11-21-all.csv",
        "wechat-2026-11-21.csv",
        "America/New_York",
        |s| {
            s.replace("2026-11-21 12:30:00", "2026-11-21 11:30:00")
                .replace("2026-11-21 14:20:00", "2026-11-21 11:20:00")
                .replace("2026-11-21 16:45:09", "2026-11-21 11:45:09")
                .replace("2026-11-21 23:59:58", "2026-11-21 11:59:58")
        },
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// Held: the same real bills load in UTC and in America/New_York as
/// shipped, and a bill of the 20th named for the 21st is still refused in
/// UTC.
#[test]
fn real_wechat_and_alipay_bills_load_west_of_beijing() {
    for zone in ["UTC", "America/New_York"] {
        for (rel, name) in [
            ("wechat/wechat-2026-11-21-all.csv", "wechat-2026-11-21.csv"),
            (
                "alipay/20880211096256330156_20261121_业务明细.csv",
                "20880211096256330156_20261121_业务明细.csv",
            ),
        ] {
            let out = bill_in_zone(rel, name, zone, |s| s);
            assert!(out.status.success(), "{rel} in {zone}: {}", text(&out));
        }
    }
    let out = bill_in_zone(
        "wechat/wechat-2026-11-21-all.csv",
        "wechat-2026-11-21.csv",
        "UTC",
        |s| s.replace("`2026-11-21 ", "`2026-11-20 "),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// Break (the first round's break again, through a symlink): day 14 is run
/// with `--out link` (a symlink to `outbox`) and killed after its commit;
/// day 15 is run with `--out outbox`. Its settle step writes day 14's
/// refunds.csv at link/refunds.csv, which is outbox/refunds.csv ("submit
/// it"), and the same run then renames day 15's refunds.csv over it: the
/// collision check compares path strings, not files. W1b's committed
/// instruction was never readable, and the database marks it published.
#[test]

fn a_refund_file_republished_through_a_symlink_is_not_overwritten() {
    let work = Workdir::new();
    two_duplicate_days(&work);
    std::fs::create_dir_all(work.path("outbox")).unwrap();
    std::os::unix::fs::symlink(work.path("outbox"), work.path("link")).unwrap();
    let mut seen = Seen::default();
    let first = run(
        &work,
        "link",
        &[
            "--orders",
            "orders.csv",
            "--settlement",
            "set/wechat-2024-03-14.csv",
            "--settlement",
            "set/wechat-2024-03-15.csv",
            "--date",
            "2024-03-14",
        ],
        Some("after-commit"),
    );
    assert_eq!(first.status.code(), None, "killed: {}", text(&first));
    seen.snap(&work);
    let next = run(
        &work,
        "outbox",
        &[
            "--settlement",
            "set/wechat-2024-03-16.csv",
            "--date",
            "2024-03-15",
        ],
        None,
    );
    seen.snap(&work);
    let issued = instruction_ids(&work);
    let lost: Vec<_> = issued
        .iter()
        .filter(|(id, _)| !seen.ids.contains(*id))
        .collect();
    let stderr = String::from_utf8_lossy(&next.stderr);
    assert!(
        lost.is_empty() || (next.status.code() == Some(4) && stderr.contains("2024-03-14")),
        "committed instructions in no refund file ever readable, and no exit 4: {lost:?}\n{}\nrefund files now: {:?}",
        text(&next),
        refund_files_now(&work)
    );
}

/// Break: the refund job first answers ACCEPTED for W1b's instruction, then
/// (a later results file) REJECTED. The run that loads the rejection keeps
/// the same count of answered instructions, so the state key is unchanged
/// and the run reuses the outputs of the ACCEPTED state: its
/// discrepancies.csv has no REFUND_REJECTED and the ledger does not record
/// it, although the database now says REJECTED (the customer's refund
/// waits for a person nobody told).
#[test]

fn a_rejection_after_acceptance_is_reported_by_the_run_that_loads_it() {
    let work = Workdir::new();
    two_duplicate_days(&work);
    let day = [
        "--settlement",
        "set/wechat-2024-03-14.csv",
        "--settlement",
        "set/wechat-2024-03-15.csv",
        "--date",
        "2024-03-14",
    ];
    let mut first = vec!["--orders", "orders.csv"];
    first.extend(day);
    ok(&run(&work, "d14", &first, None));
    let ids = instruction_ids(&work);
    let w1b = ids
        .iter()
        .find(|(_, (_, txn, _))| txn == "W1b")
        .map(|(id, _)| id.clone())
        .unwrap();
    for (name, status) in [("accepted.csv", "ACCEPTED"), ("rejected.csv", "REJECTED")] {
        let results = work.write(
            name,
            &format!("refund_request_id,status,message\n{w1b},{status},job\n"),
        );
        let mut args = day.to_vec();
        args.extend(["--refund-results", results.to_str().unwrap()]);
        ok(&run(&work, "d14", &args, None));
    }
    let conn = rusqlite::Connection::open(work.db()).unwrap();
    let result: String = conn
        .query_row(
            "SELECT result FROM refund_instruction WHERE refund_request_id = ?1",
            [&w1b],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(result, "REJECTED");
    let report = work.read("d14/discrepancies.csv");
    assert!(
        report.contains("REFUND_REJECTED"),
        "the database says {w1b} was REJECTED; the day's report does not:\n{report}"
    );
}

/// `resolve --from` a discrepancies.csv saved by Excel (BOM, CRLF, a
/// `resolution` column added after an extra column of the team's), one
/// finding resolved (on a second row too, its id padded, if `twice`); a
/// second resolve of the same id; the next run. Returns the RESOLVED
/// events the ledger holds for that finding.
fn resolve_from_an_excel_edited_report(twice: bool) -> i64 {
    let work = Workdir::new();
    two_duplicate_days(&work);
    ok(&run(
        &work,
        "d14",
        &[
            "--orders",
            "orders.csv",
            "--settlement",
            "set/wechat-2024-03-14.csv",
            "--settlement",
            "set/wechat-2024-03-15.csv",
            "--date",
            "2024-03-14",
        ],
        None,
    ));
    let rows = crate::util::report_rows(&work, "d14");
    let dropped = rows
        .iter()
        .find(|r| r["kind"] == "DROPPED_PAYMENT" && r["channel_txn_id"] == "W1b")
        .unwrap()["finding_id"]
        .clone();
    let report = work.read("d14/discrepancies.csv");
    let mut edited = String::from("\u{feff}");
    for (n, line) in report.lines().enumerate() {
        let extra = if n == 0 {
            "owner,resolution".to_string()
        } else if line.contains(&dropped) {
            "bob,\"fixed in the OMS, ticket 42\"".to_string()
        } else {
            "bob,".to_string()
        };
        edited.push_str(&format!("{line},{extra}\r\n"));
    }
    // The same row twice, its id padded.
    let again = edited
        .lines()
        .find(|l| l.contains(&dropped))
        .unwrap()
        .replace(&dropped, &format!(" {dropped} "));
    if twice {
        edited.push_str(&format!("{again}\r\n"));
    }
    let path = work.write("reviewed.csv", &edited);
    let first = payrecon(
        &work,
        &["resolve", "--from", path.to_str().unwrap(), "--by", "alice"],
    );
    ok(&first);
    let second = payrecon(
        &work,
        &["resolve", &dropped, "--note", "again", "--by", "bob"],
    );
    ok(&second);
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("already resolved"),
        "{}",
        text(&second)
    );
    ok(&run(
        &work,
        "d15",
        &[
            "--settlement",
            "set/wechat-2024-03-16.csv",
            "--date",
            "2024-03-15",
        ],
        None,
    ));
    let rows = crate::util::report_rows(&work, "d15");
    let mine: Vec<_> = rows.iter().filter(|r| r["finding_id"] == dropped).collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["status"], "RESOLVED", "{mine:?}");
    assert!(mine[0]["detail"].contains("ticket 42"), "{mine:?}");
    let conn = rusqlite::Connection::open(work.db()).unwrap();
    let events: i64 = conn
        .query_row(
            "SELECT count(*) FROM finding_event WHERE finding_id = ?1 AND event = 'RESOLVED'",
            [&dropped],
            |r| r.get(0),
        )
        .unwrap();
    events
}

/// Held: Excel's BOM, CRLF and extra columns are read; the next run reports
/// the finding RESOLVED once, with the note; resolving it again says it was
/// already resolved.
#[test]
fn resolve_from_an_excel_edited_report_closes_once() {
    assert_eq!(resolve_from_an_excel_edited_report(false), 1);
}

/// Break (ledger history): the same finding on two rows of the reviewed
/// file (a row copied in Excel) records two RESOLVED events by the person
/// for one closing: `resolve_by_person` reads every state before closing
/// any, and inserts the event unconditionally.
#[test]

fn a_finding_listed_twice_in_resolve_from_is_closed_once() {
    assert_eq!(
        resolve_from_an_excel_edited_report(true),
        1,
        "one RESOLVED event for one closing"
    );
}

const POINTS: &[&str] = &[
    "after-begin",
    "after-load-1",
    "after-load-2",
    "after-classify",
    "after-refunds",
    "after-ledger",
    "staged-1",
    "staged-2",
    "staged-3",
    "staged-4",
    "before-commit",
    "after-commit",
    "published-1",
    "published-2",
    "published-3",
    "after-publish",
];

/// The ledger without timestamps: items, then events in order.
fn ledger(work: &Workdir) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let conn = rusqlite::Connection::open(work.db()).unwrap();
    let all = |sql: &str| -> Vec<Vec<String>> {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| format!("{v:?}"))
                })
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    };
    (
        all(
            "SELECT finding_id, kind, subject, state, first_seen, last_seen, resolved_on,
                    resolved_by, refund_minor, detail, internal_amount, channel_amount
             FROM finding_item ORDER BY finding_id",
        ),
        all(
            "SELECT finding_id, business_day, event, by_whom, note FROM finding_event
             ORDER BY finding_id, business_day, event, rowid",
        ),
    )
}

/// Three days into one shared outbox, a refund job taking every refund file
/// out of it after each run (into taken/, numbered). The day `kill.0`
/// (0, 1, 2) run is killed at `kill.1` and rerun. Returns, per refund id,
/// the (file name, business day) it was taken in, the instructions, and
/// the ledger.
#[allow(clippy::type_complexity)]
fn shared_outbox_days(
    kill: Option<(usize, &str)>,
    rerun_killed: bool,
) -> (
    BTreeMap<String, BTreeSet<(String, String)>>,
    BTreeMap<String, (String, String, i64)>,
    (Vec<Vec<String>>, Vec<Vec<String>>),
) {
    let work = Workdir::new();
    two_duplicate_days(&work);
    work.write(
        "set/wechat-2024-03-16.csv",
        &format!("{SH}wechat,W2b,C2b,REFUND,2.00,,CNY,2024-03-16 09:00:00,HAND1\n"),
    );
    work.write("set/wechat-2024-03-17.csv", SH);
    let days: [Vec<&str>; 3] = [
        vec![
            "--orders",
            "orders.csv",
            "--settlement",
            "set/wechat-2024-03-14.csv",
            "--date",
            "2024-03-14",
        ],
        vec![
            "--settlement",
            "set/wechat-2024-03-15.csv",
            "--settlement",
            "set/wechat-2024-03-16.csv",
            "--date",
            "2024-03-15",
        ],
        vec![
            "--settlement",
            "set/wechat-2024-03-17.csv",
            "--date",
            "2024-03-16",
        ],
    ];
    let mut taken = 0;
    let mut take = |work: &Workdir| {
        let mut names: Vec<_> = std::fs::read_dir(work.path("outbox"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        names.sort();
        for name in names {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("refunds") && name.ends_with(".csv") {
                taken += 1;
                std::fs::create_dir_all(work.path("taken")).unwrap();
                std::fs::rename(
                    work.path(&format!("outbox/{name}")),
                    work.path(&format!("taken/{taken:03}-{name}")),
                )
                .unwrap();
            }
        }
    };
    for (n, args) in days.iter().enumerate() {
        if let Some((day, point)) = kill
            && day == n
        {
            let out = run(&work, "outbox", args, Some(point));
            assert!(
                out.status.code().is_none() || out.status.success(),
                "day {n} at {point}: {}",
                text(&out)
            );
            take(&work);
            if !rerun_killed {
                continue;
            }
        }
        let mut out = run(&work, "outbox", args, None);
        if out.status.code() == Some(1) && !rerun_killed {
            // Refused: another day's refund file is in place. The job
            // takes it; the run is repeated.
            take(&work);
            out = run(&work, "outbox", args, None);
        }
        assert!(
            out.status.success() || (!rerun_killed && out.status.code() == Some(4)),
            "day {n}: {}",
            text(&out)
        );
        take(&work);
    }
    let issued = instruction_ids(&work);
    let mut seen: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for entry in std::fs::read_dir(work.path("taken")).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let name = file[4..].to_string();
        let (_, rows) = parse_csv(&std::fs::read_to_string(entry.path()).unwrap());
        for row in rows {
            let day = issued
                .get(&row[0])
                .map(|(d, _, _)| d.clone())
                .unwrap_or_else(|| "not in the database".into());
            seen.entry(row[0].clone())
                .or_default()
                .insert((name.clone(), day));
        }
    }
    (seen, issued, ledger(&work))
}

/// Held: killed at every failpoint on each of three days sharing one
/// outbox (a refund job emptying it after every run), then rerun: every
/// instruction is taken in exactly one (file name, business day), none is
/// lost, the instructions are those of a clean run, and so is the ledger.
#[test]
fn killed_anywhere_in_three_days_sharing_an_outbox_the_result_is_a_clean_runs() {
    let (clean_seen, clean_issued, clean_ledger) = shared_outbox_days(None, true);
    assert_eq!(clean_issued.len(), 2, "{clean_issued:?}");
    for day in 0..3 {
        for point in POINTS {
            let (seen, issued, ledger) = shared_outbox_days(Some((day, point)), true);
            let at = format!("day {day} killed at {point}");
            assert_eq!(issued, clean_issued, "{at}: instructions");
            for id in issued.keys() {
                let places = seen.get(id).cloned().unwrap_or_default();
                assert_eq!(places.len(), 1, "{at}: {id} taken in {places:?}");
            }
            assert_eq!(seen, clean_seen, "{at}: refund files taken");
            pretty_assertions::assert_eq!(ledger.0, clean_ledger.0, "{at}: finding_item");
            pretty_assertions::assert_eq!(ledger.1, clean_ledger.1, "{at}: finding_event");
        }
    }
}

/// Held: the same, but the killed day is never rerun by hand: the next
/// day's run settles what it committed (refused while that file is still
/// in the outbox, then repeated once the job took it). Every instruction is
/// taken in exactly one (file name, business day), none is lost, and no
/// transaction gets more than it captured (W1b 10.00; W2b 7.00 of which the
/// channel refunded 2.00 by hand).
#[test]
fn killed_anywhere_and_never_rerun_the_next_day_publishes_what_was_committed() {
    for day in 0..3 {
        for point in POINTS {
            let (seen, issued, _) = shared_outbox_days(Some((day, point)), false);
            let at = format!("day {day} killed at {point}, not rerun");
            for id in issued.keys() {
                let places = seen.get(id).cloned().unwrap_or_default();
                assert_eq!(places.len(), 1, "{at}: {id} taken in {places:?}");
            }
            let mut per_txn: BTreeMap<&str, i64> = BTreeMap::new();
            for (_, txn, amount) in issued.values() {
                *per_txn.entry(txn).or_default() += amount;
            }
            assert!(
                per_txn.get("W1b").copied().unwrap_or(0) <= 1000
                    && per_txn.get("W2b").copied().unwrap_or(0) <= 500,
                "{at}: over-refund {issued:?}"
            );
        }
    }
}

/// Break (wrong-day file accepted): the shipped Stripe report of 2026-11-21
/// (balance transactions 08:15–13:05 UTC that day), renamed for the 20th,
/// loads as the 20th in zone UTC (and America/Los_Angeles): the 14 h
/// Stripe tolerance, meant for a UTC report read in a zone east of UTC,
/// also admits the next UTC day's morning whole. Stripe's created_utc
/// already says which UTC day each row is; in UTC no tolerance is needed.
/// Loaded as the 20th it stands in for that day, and the right file of the
/// 20th later becomes its "correction".
#[test]

fn a_stripe_report_of_the_next_day_is_refused_in_utc() {
    for zone in ["UTC", "America/Los_Angeles"] {
        let out = bill_in_zone(
            "stripe/stripe-2026-11-21.csv",
            "stripe-2026-11-20.csv",
            zone,
            |s| s,
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "the 21st's Stripe report loaded as the 20th in {zone}: {}",
            text(&out)
        );
    }
}

/// Day 14 instructs W1b's 10.00 (attempt C1b) back; the refund job answers
/// REJECTED; the day-15 run loads that answer, `day16` (the bill of the
/// 16th) and a corrected bill of the 14th that gives the duplicate charge
/// of attempt C1b another transaction id (W1c). Returns the instructions
/// for attempt C1b issued after the rejected one, and the day-15 report.
fn rejected_then_moved_to_another_txn(day16: &str) -> (Vec<(String, i64)>, String) {
    let work = Workdir::new();
    two_duplicate_days(&work);
    ok(&run(
        &work,
        "d14",
        &[
            "--orders",
            "orders.csv",
            "--settlement",
            "set/wechat-2024-03-14.csv",
            "--settlement",
            "set/wechat-2024-03-15.csv",
            "--date",
            "2024-03-14",
        ],
        None,
    ));
    let rejected = published(&work)
        .into_iter()
        .find(|(_, (txn, _))| txn == "W1b")
        .map(|(id, _)| id)
        .unwrap();
    let results = work.write(
        "results.csv",
        &format!("refund_request_id,status,message\n{rejected},REJECTED,timeout\n"),
    );
    work.write(
        "fix/wechat-2024-03-16.csv",
        &day16.replace("{rejected}", &rejected),
    );
    work.write(
        "fix/wechat-2024-03-14.csv",
        &format!(
            "{SH}wechat,W1a,C1a,PAYMENT,10.00,,CNY,2024-03-14 10:01:00,\n\
             wechat,W1c,C1b,PAYMENT,10.00,,CNY,2024-03-14 10:02:00,\n"
        ),
    );
    ok(&run(
        &work,
        "d15",
        &[
            "--settlement",
            "fix/wechat-2024-03-16.csv",
            "--settlement",
            "fix/wechat-2024-03-14.csv",
            "--refund-results",
            results.to_str().unwrap(),
            "--date",
            "2024-03-15",
        ],
        None,
    ));
    let conn = rusqlite::Connection::open(work.db()).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT channel_txn_id, amount_minor FROM refund_instruction
             WHERE channel_order_id = 'C1b' AND refund_request_id <> ?1",
        )
        .unwrap();
    let later = stmt
        .query_map([&rejected], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    (later, work.read("d15/discrepancies.csv"))
}

/// Break (over-refund): the job answered REJECTED, but the channel did
/// refund W1b (its REFUND row carries the rejected instruction's merchant
/// refund number: the job timed out). A corrected bill then gives attempt
/// C1b's charge the transaction id W1c. payrecon issues a new 10.00 for W1c
/// automatically: the attempt cap leaves the channel's refund out of both
/// "ours" (rejected) and "the channel's others" (it carries an id of ours),
/// and the "a rejected instruction blocks re-issue" rule looks at the
/// transaction id only. 20.00 back of a 10.00 charge, and no
/// REFUND_EXCEEDS_PAYMENT names it.
#[test]

fn a_refund_the_channel_made_under_a_rejected_id_caps_the_attempt() {
    let (later, report) = rejected_then_moved_to_another_txn(&format!(
        "{SH}wechat,W1b,C1b,REFUND,10.00,,CNY,2024-03-16 11:00:00,{{rejected}}\n"
    ));
    assert!(
        later.is_empty() || report.contains("REFUND_EXCEEDS_PAYMENT"),
        "attempt C1b captured 10.00 and the channel refunded 10.00; issued again: {later:?}\n{report}"
    );
}

/// Break (a rejected refund re-issued by itself): the job rejected W1b's
/// instruction and the channel shows no refund; a corrected bill gives the
/// same attempt's charge the transaction id W1c, and payrecon issues a new
/// 10.00 instruction for it automatically, although docs say a rejected
/// instruction waits for a person (`payrecon reissue`).
#[test]

fn a_rejected_refund_is_not_reissued_automatically_under_a_corrected_txn_id() {
    let (later, report) = rejected_then_moved_to_another_txn(SH);
    assert!(
        later.is_empty(),
        "attempt C1b's refund was rejected; issued again without a person: {later:?}\n{report}"
    );
}

/// Held: `payrecon resolve` while a run holds the database (parked after
/// writing its ledger, before its commit) waits `lock_timeout_secs` and
/// refuses, changing nothing; once the run is gone (killed: its ledger
/// rolled back) the resolve goes through, and the next run reports the
/// finding RESOLVED with the note.
#[test]
fn resolve_racing_a_run_waits_for_the_lock_and_changes_nothing() {
    use std::io::BufRead;
    let work = Workdir::new();
    two_duplicate_days(&work);
    let day = [
        "--settlement",
        "set/wechat-2024-03-14.csv",
        "--settlement",
        "set/wechat-2024-03-15.csv",
        "--date",
        "2024-03-14",
    ];
    let mut first = vec!["--orders", "orders.csv"];
    first.extend(day);
    ok(&run(&work, "d14", &first, None));
    let dropped = crate::util::report_rows(&work, "d14")
        .into_iter()
        .find(|r| r["kind"] == "DROPPED_PAYMENT" && r["channel_txn_id"] == "W1b")
        .unwrap()["finding_id"]
        .clone();
    let config = work.write("payrecon.toml", "lock_timeout_secs = 1\n");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_payrecon"))
        .current_dir(work.dir.path())
        .args(["run", "--db"])
        .arg(work.db())
        .args([
            "--out",
            "parked",
            "--settlement",
            "set/wechat-2024-03-16.csv",
        ])
        .env("PAYRECON_FAILPOINT", "after-ledger:sleep")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("sleeping"), "{line}");
    let before = ledger(&work);
    let config = config.to_str().unwrap();
    let raced = payrecon(
        &work,
        &[
            "resolve", &dropped, "--note", "fixed", "--by", "bob", "--config", config,
        ],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(raced.status.code(), Some(1), "{}", text(&raced));
    assert_eq!(
        ledger(&work),
        before,
        "a refused resolve changed the ledger"
    );
    ok(&payrecon(
        &work,
        &[
            "resolve", &dropped, "--note", "fixed", "--by", "bob", "--config", config,
        ],
    ));
    ok(&run(&work, "d14b", &day, None));
    let row = crate::util::report_rows(&work, "d14b")
        .into_iter()
        .find(|r| r["finding_id"] == dropped)
        .unwrap();
    assert_eq!(row["status"], "RESOLVED", "{row:?}");
    assert!(row["detail"].contains("fixed"), "{row:?}");
}
