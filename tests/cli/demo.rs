//! The bundled demo day (fixtures/demo): its config loads the channels' own
//! downloads, which make_native.py writes from the generator's canonical
//! files. Both must give the same findings, and the ones the generator
//! planted (expected.txt).

use crate::util::{Workdir, fixtures};
use std::collections::BTreeMap;

/// Runs the demo config, with `settlement` replacing its settlement folder
/// if given; returns the scratch folder (outputs in `out/`).
fn run_demo(settlement: Option<&str>) -> Workdir {
    let demo = fixtures().join("demo");
    let work = Workdir::new();
    let config = demo.join("payrecon.toml");
    let mut args = vec!["--config".to_string(), config.display().to_string()];
    if let Some(folder) = settlement {
        args.push("--settlement".into());
        args.push(demo.join(folder).display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("out", &args).assert().success();
    work
}

#[test]
fn demo_native_files_give_the_canonical_findings() {
    let native = run_demo(None);
    let canonical = run_demo(Some("canonical"));
    for file in ["refunds.csv", "discrepancies.csv"] {
        pretty_assertions::assert_eq!(
            native.read(&format!("out/{file}")),
            canonical.read(&format!("out/{file}")),
            "{file}"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(&native.read("out/summary.json")).unwrap();
    let formats: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats,
        [
            "orders", "alipay", "alipay", "stripe", "stripe", "wechat", "wechat"
        ],
        "the config loads the native files, not the canonical ones"
    );
}

#[test]
fn demo_finds_what_was_planted() {
    let work = run_demo(None);
    let summary: serde_json::Value = serde_json::from_str(&work.read("out/summary.json")).unwrap();
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    for group in summary["findings"].as_array().unwrap() {
        *found
            .entry(group["kind"].as_str().unwrap().to_string())
            .or_default() += group["count"].as_u64().unwrap();
    }
    let rows = |role: &str| -> i64 {
        summary["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["role"] == role)
            .map(|f| f["rows"].as_i64().unwrap())
            .sum()
    };
    let mut actual = format!(
        "attempts {}\nsettlement_rows {}\n",
        rows("orders"),
        rows("settlement")
    );
    for (kind, n) in &found {
        actual.push_str(&format!("finding {kind} {n}\n"));
    }
    actual.push_str(&format!(
        "refunds {}\n",
        summary["refunds"]["count"].as_u64().unwrap()
    ));
    for (currency, total) in summary["refunds"]["totals"].as_object().unwrap() {
        let minor = total.as_str().unwrap().replace('.', "");
        actual.push_str(&format!(
            "refund_total {currency} {}\n",
            minor.trim_start_matches('0')
        ));
    }
    let expected = std::fs::read_to_string(fixtures().join("demo/expected.txt")).unwrap();
    pretty_assertions::assert_eq!(actual, expected);
}
