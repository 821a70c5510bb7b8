//! Naive local times in a zone with daylight saving time, end to end (the
//! README, "Choices where the rules are silent": a local time that occurs
//! twice takes the earlier instant; one that does not exist is an error).
//! Every other fixture is in Asia/Shanghai, which has no DST.

use crate::util::{Workdir, parse_csv};

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const SH: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";

/// A zone, the day its clocks go back, a naive time in the repeated hour,
/// and an instant (with offset) between its two readings.
struct FallBack {
    zone: &'static str,
    day: &'static str,
    next: &'static str,
    repeated: &'static str,
    between: &'static str,
}

const FALL_BACKS: [FallBack; 2] = [
    // 02:30 is 00:30Z (CEST) and again 01:30Z (CET).
    FallBack {
        zone: "Europe/Berlin",
        day: "2026-10-25",
        next: "2026-10-26",
        repeated: "2026-10-25 02:30:00",
        between: "2026-10-25T01:00:00Z",
    },
    // 01:30 is 05:30Z (EDT) and again 06:30Z (EST).
    FallBack {
        zone: "America/New_York",
        day: "2026-11-01",
        next: "2026-11-02",
        repeated: "2026-11-01 01:30:00",
        between: "2026-11-01T01:00:00-05:00",
    },
];

fn zone_config(work: &Workdir, zone: &str) -> String {
    work.write("payrecon.toml", &format!("timezone = \"{zone}\"\n"))
        .display()
        .to_string()
}

/// An order paid twice, both attempts SUCCESS: the keep rule falls to the
/// earliest transacted_at. TA's is a naive time in the repeated hour, TB's
/// an instant between its two readings. Read as the earlier instant, TA is
/// first and kept, TB refunded; read as the later instant, TA would be
/// refunded.
#[test]
fn a_repeated_local_hour_takes_the_earlier_instant() {
    for f in &FALL_BACKS {
        let work = Workdir::new();
        let config = zone_config(&work, f.zone);
        let orders = work.write(
            "orders.csv",
            &format!(
                "{OH}O1,P1,CA,wechat,10.00,CNY,PAID,SUCCESS,{r},,,{r}\n\
                 O1,P2,CB,wechat,10.00,CNY,PAID,SUCCESS,{r},,,{b}\n",
                r = f.repeated,
                b = f.between
            ),
        );
        let bill = work.write(
            &format!("bills/wechat-{}.csv", f.day),
            &format!(
                "{SH}wechat,TA,CA,PAYMENT,10.00,,CNY,{},\n\
                 wechat,TB,CB,PAYMENT,10.00,,CNY,{},\n",
                f.repeated, f.between
            ),
        );
        let next = work.write(&format!("bills/wechat-{}.csv", f.next), SH);
        let mut run = work.run_day("out", &[&orders], &[&bill, &next], f.day);
        run.arg("--config").arg(&config).assert().success();
        let refunds = parse_csv(&work.read("out/refunds.csv")).1;
        let refunded: Vec<&str> = refunds.iter().map(|r| r[2].as_str()).collect();
        assert_eq!(
            refunded,
            ["TB"],
            "{}: {} is the earlier instant, so TA is the first payment and kept\n{}",
            f.zone,
            f.repeated,
            work.read("out/discrepancies.csv")
        );
        let report = work.read("out/discrepancies.csv");
        assert!(report.contains("keeping wechat TA"), "{}: {report}", f.zone);
        // The attempt's day is the repeated hour's own date, covered by
        // the day's file and the next: nothing is missing or pending.
        assert!(!report.contains("UNKNOWN_PENDING"), "{report}");
        assert!(!report.contains("MISSING_IN_CHANNEL"), "{report}");
    }
}

/// The same two payments read in UTC: the naive time is then 02:30Z, after
/// TB, so TA is refunded; in Berlin TB is. The configured zone really is
/// what reads naive settlement times.
#[test]
fn the_configured_zone_reads_naive_settlement_times() {
    let f = &FALL_BACKS[0];
    for (zone, refunded) in [("UTC", "TA"), ("Europe/Berlin", "TB")] {
        let work = Workdir::new();
        let config = zone_config(&work, zone);
        let orders = work.write(
            "orders.csv",
            &format!(
                "{OH}O1,P1,CA,wechat,10.00,CNY,PAID,SUCCESS,{r},,,\n\
                 O1,P2,CB,wechat,10.00,CNY,PAID,SUCCESS,{r},,,\n",
                r = f.repeated
            ),
        );
        let bill = work.write(
            &format!("bills/wechat-{}.csv", f.day),
            &format!(
                "{SH}wechat,TA,CA,PAYMENT,10.00,,CNY,{},\n\
                 wechat,TB,CB,PAYMENT,10.00,,CNY,{},\n",
                f.repeated, f.between
            ),
        );
        let next = work.write(&format!("bills/wechat-{}.csv", f.next), SH);
        let mut run = work.run_day("out", &[&orders], &[&bill, &next], f.day);
        run.arg("--config").arg(&config).assert().success();
        let refunds = parse_csv(&work.read("out/refunds.csv")).1;
        let got: Vec<&str> = refunds.iter().map(|r| r[2].as_str()).collect();
        assert_eq!(got, [refunded], "{zone}");
    }
}

/// A local time the spring change skips (02:30 on 2026-03-29 in Berlin,
/// 2026-03-08 in New York) is refused, in a settlement file and in the
/// export, with the file and line named, and nothing is loaded. The same
/// files load in Asia/Shanghai.
#[test]
fn a_skipped_local_hour_is_refused() {
    for (zone, day, next, skipped) in [
        (
            "Europe/Berlin",
            "2026-03-29",
            "2026-03-30",
            "2026-03-29 02:30:00",
        ),
        (
            "America/New_York",
            "2026-03-08",
            "2026-03-09",
            "2026-03-08 02:30:00",
        ),
    ] {
        let work = Workdir::new();
        let good_orders = work.write(
            "orders.csv",
            &format!("{OH}O1,P1,C1,wechat,10.00,CNY,PAID,SUCCESS,{day} 10:00:00,,,\n"),
        );
        let bad_orders = work.write(
            "bad/orders.csv",
            &format!("{OH}O1,P1,C1,wechat,10.00,CNY,PAID,SUCCESS,{skipped},,,\n"),
        );
        let good_bill = work.write(
            &format!("bills/wechat-{day}.csv"),
            &format!("{SH}wechat,T1,C1,PAYMENT,10.00,,CNY,{day} 10:00:00,\n"),
        );
        let bad_bill = work.write(
            &format!("bad/wechat-{day}.csv"),
            &format!(
                "{SH}wechat,T1,C1,PAYMENT,10.00,,CNY,{day} 10:00:00,\n\
                 wechat,T2,C2,PAYMENT,10.00,,CNY,{skipped},\n"
            ),
        );
        let next = work.write(&format!("bills/wechat-{next}.csv"), SH);
        let config = zone_config(&work, zone);
        for (orders, bill, line, file) in [
            (&good_orders, &bad_bill, 3, &bad_bill),
            (&bad_orders, &good_bill, 2, &bad_orders),
        ] {
            let mut run = work.run_day("out", &[orders], &[bill, &next], day);
            let output = run.arg("--config").arg(&config).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{zone} {skipped}: {stderr}");
            assert!(
                stderr.contains(&file.display().to_string())
                    && stderr.contains(&format!("line {line}"))
                    && stderr.contains(skipped),
                "{zone}: the error names the file, line and time: {stderr}"
            );
            assert!(!work.path("out/refunds.csv").exists());
        }
        let conn = rusqlite::Connection::open(work.db()).unwrap();
        let loaded: i64 = conn
            .query_row("SELECT count(*) FROM loaded_file", [], |r| r.get(0))
            .unwrap_or(0);
        assert_eq!(loaded, 0, "{zone}: a refused run loads nothing");
        // In a zone without DST the same files are fine.
        let shanghai = zone_config(&work, "Asia/Shanghai");
        let mut run = work.run_day("out", &[&bad_orders], &[&bad_bill, &next], day);
        run.arg("--config").arg(&shanghai).assert().success();
    }
}
