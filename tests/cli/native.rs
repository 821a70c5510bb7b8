//! Days whose settlement arrives as the channels' own downloads (a gzipped
//! WeChat Pay bill, an Alipay zip in GBK, a Stripe report), not canonical
//! CSV. One folder per day under fixtures/cases_native/, laid out like
//! fixtures/cases/; the bills are written by fixtures/cases_native/make.py
//! and the README there says what each row is for.

use crate::cases::check_case_in;
use crate::util::{Workdir, fixtures, project};
use std::path::PathBuf;

fn case(name: &str) -> PathBuf {
    fixtures().join("cases_native").join(name)
}

#[test]
fn three_channels() {
    let work = check_case_in(&case("three_channels"));
    // Each bill was read as its own format, for the day it covers, with the
    // rows that are not order money counted rather than loaded.
    let summary: serde_json::Value = serde_json::from_str(&work.read("out/summary.json")).unwrap();
    let files: Vec<String> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["role"] == "settlement")
        .map(|f| {
            let name = f["path"].as_str().unwrap().rsplit('/').next().unwrap();
            format!(
                "{name} {} {} {} {} [{}]",
                f["format"].as_str().unwrap(),
                f["channel"].as_str().unwrap(),
                f["day"].as_str().unwrap(),
                f["rows"],
                f["skipped"].as_str().unwrap()
            )
        })
        .collect();
    pretty_assertions::assert_eq!(
        files,
        [
            "20880211096256330156_20261121.csv.zip alipay alipay 2026-11-21 3 []",
            "20880211096256330156_20261122.csv.zip alipay alipay 2026-11-22 1 []",
            "stripe-balance-2026-11-21.csv stripe stripe 2026-11-21 4 [fee 1; payout 1]",
            "stripe-balance-2026-11-22.csv stripe stripe 2026-11-22 0 []",
            "wechat-tradebill-2026-11-21-ALL.csv.gz wechat wechat 2026-11-21 4 [refund REFUNDCLOSE 1]",
            "wechat-tradebill-2026-11-22-ALL.csv wechat wechat 2026-11-22 0 []",
        ]
    );
    assert_eq!(summary["business_day"], "2026-11-21");
    assert_eq!(summary["refunds"]["totals"]["CNY"], "129.00");
    assert_eq!(summary["refunds"]["totals"]["USD"], "75.00");
}

/// Without the T+1 files the day is not covered: nothing is declared missing
/// or unpaid yet, and the refunds wait (a T+1 file may still show a refund
/// the channel made), though the findings are reported already.
#[test]
fn three_channels_without_the_t_plus_1_files() {
    let dir = case("three_channels");
    let work = Workdir::new();
    let mut args = vec![
        "--orders".to_string(),
        dir.join("in/orders.csv").display().to_string(),
        "--date".into(),
        "2026-11-21".into(),
    ];
    for entry in std::fs::read_dir(dir.join("in/settlement")).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().contains("1122") && !path.to_string_lossy().contains("11-22") {
            args.push("--settlement".into());
            args.push(path.display().to_string());
        }
    }
    assert_eq!(args.len(), 10, "three bills of the day: {args:?}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("out", &args).assert().success();
    assert_eq!(
        work.read("out/refunds.csv").lines().count(),
        1,
        "no refund before the day is covered"
    );
    let report = work.read("out/discrepancies.csv");
    assert_eq!(
        report.matches("the refund waits until").count(),
        3,
        "{report}"
    );
    let found = project(
        &work.read("out/discrepancies.csv"),
        &["kind".into(), "channel_order_id".into()],
    );
    let found: Vec<String> = found.iter().map(|r| r.join(" ")).collect();
    pretty_assertions::assert_eq!(
        found,
        [
            "DUPLICATE_PAYMENT S3002-A1",
            "DUPLICATE_PAYMENT W1002-A1",
            "PAID_AFTER_CLOSE W1003-A1",
            "DROPPED_PAYMENT W1002-A1",
            "UNKNOWN_PENDING S3003-A1",
        ]
    );
}

/// A WeChat bill downloaded by hand or re-saved by Excel on a Chinese
/// Windows is GBK: the same day reconciles to the same findings and refunds
/// as with the bill the API sent.
#[test]
fn a_wechat_bill_in_gbk_reconciles_as_the_api_one() {
    use std::io::Read;
    let dir = case("three_channels");
    let work = Workdir::new();
    let bills = work.path("bills");
    std::fs::create_dir(&bills).unwrap();
    for entry in std::fs::read_dir(dir.join("in/settlement")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(plain) = name.strip_suffix(".gz") {
            let mut text = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
                .read_to_string(&mut text)
                .unwrap();
            let (gbk, _, unmappable) =
                encoding_rs::GB18030.encode(text.trim_start_matches('\u{feff}'));
            assert!(!unmappable);
            std::fs::write(bills.join(plain), gbk).unwrap();
        } else {
            std::fs::copy(&path, bills.join(&name)).unwrap();
        }
    }
    let orders = dir.join("in/orders.csv");
    work.run_day("out", &[&orders], &[&bills], "2026-11-21")
        .assert()
        .success();
    let expected = dir.join("expected");
    for file in ["discrepancies.csv", "refunds.csv"] {
        crate::util::assert_csv_matches(
            &work.read(&format!("out/{file}")),
            &std::fs::read_to_string(expected.join(file)).unwrap(),
            file,
        );
    }
}

#[test]
fn every_native_case_folder_is_tested() {
    let source = include_str!("native.rs");
    for entry in std::fs::read_dir(fixtures().join("cases_native")).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            source.contains(&format!("fn {name}()")),
            "fixtures/cases_native/{name} has no test"
        );
    }
}
