//! Issue 13: the report finance staff open. report.html (parsed with an
//! HTML parser), report.xlsx (read back with calamine), figures that say
//! what is at stake, refunds that explain their amount, each amount with its
//! own currency, refunds.csv as an exact machine contract checked by
//! summary.json, and Excel-friendly CSV on request.

use crate::util::{Workdir, fixtures, parse_csv, report_rows};
use calamine::{Data, Reader, Xlsx, open_workbook};
use scraper::{Html, Selector};
use sha2::Digest;

/// The demo day (fixtures/demo) in a scratch folder; outputs in `out/`.
fn demo(extra: &[&str]) -> Workdir {
    let work = Workdir::new();
    let config = fixtures().join("demo/payrecon.toml");
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend(extra);
    work.run("out", &args).assert().success();
    work
}

fn select<'a>(page: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    page.select(&Selector::parse(css).unwrap()).collect()
}

fn text(e: &scraper::ElementRef) -> String {
    e.text().collect::<String>().trim().to_string()
}

fn summary(work: &Workdir) -> serde_json::Value {
    serde_json::from_str(&work.read("out/summary.json")).unwrap()
}

/// The rows of the HTML table of kind `kind`, as cell texts.
fn kind_rows(page: &Html, kind: &str) -> Vec<Vec<String>> {
    select(page, &format!("section#{kind} tbody tr"))
        .iter()
        .map(|tr| {
            tr.children()
                .filter_map(scraper::ElementRef::wrap)
                .map(|td| text(&td))
                .collect()
        })
        .collect()
}

#[test]
fn report_html_holds_the_days_figures_and_nothing_from_the_network() {
    let work = demo(&[]);
    let html = work.read("out/report.html");
    let page = Html::parse_document(&html);
    let summary = summary(&work);
    // The day at a glance.
    let needs = select(&page, "#needs-action .big");
    assert_eq!(
        text(&needs[0]),
        summary["needs_action"].as_u64().unwrap().to_string()
    );
    let refunds = select(&page, "#refunds-to-issue");
    assert_eq!(text(&select(&page, "#refunds-to-issue .big")[0]), "2");
    assert!(
        text(&refunds[0]).contains("total 775.60 CNY"),
        "{}",
        text(&refunds[0])
    );
    let ledger: Vec<Vec<String>> = select(&page, "#ledger tr")
        .iter()
        .map(select_cells)
        .collect();
    assert_eq!(
        ledger[0],
        ["new today", "25", "5,354.34 CNY + 3,753.82 USD"],
        "{ledger:?}"
    );
    assert_eq!(ledger.last().unwrap()[..2], ["resolved today", "0"]);
    // Control totals per channel, money right-aligned and grouped.
    let controls: Vec<Vec<String>> = select(&page, "table#controls tbody tr")
        .iter()
        .map(|tr| select_cells(tr))
        .collect();
    let alipay = controls.iter().find(|r| r[0] == "alipay").unwrap();
    assert_eq!(alipay[2], "130 / 133");
    assert_eq!(alipay[4], "70,221.82 CNY", "gross");
    assert_eq!(alipay[10], "97.7%");
    for cell in select(&page, "table#controls td.num") {
        assert!(cell.value().classes().any(|c| c == "num"));
    }
    // Charts: inline SVG.
    assert!(select(&page, "svg.chart").len() >= 6);
    // Findings by kind, largest first, with action, age and id.
    let duplicates = kind_rows(&page, "DUPLICATE_PAYMENT");
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates[0][6], "495.58 CNY");
    assert!(duplicates[0][7].starts_with("refund the duplicate"));
    assert_eq!(duplicates[0][8], "0");
    assert!(duplicates[0][9].starts_with('F'), "{:?}", duplicates[0]);
    let missing = kind_rows(&page, "MISSING_IN_CHANNEL");
    let stakes: Vec<&str> = missing.iter().map(|r| r[6].as_str()).collect();
    assert_eq!(stakes.len(), 4);
    let amount = |s: &str| -> f64 {
        s.split(' ')
            .next()
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap()
    };
    assert!(
        stakes.windows(2).all(|w| amount(w[0]) >= amount(w[1])),
        "largest first: {stakes:?}"
    );
    // Self-contained: no script, no external resource of any kind.
    assert!(select(&page, "script, link, img, iframe, object").is_empty());
    for element in select(&page, "*") {
        for (name, value) in element.value().attrs() {
            assert!(
                !value.contains("//") || name == "title",
                "<{}> {name}={value:?} points somewhere",
                element.value().name()
            );
        }
    }
    let style = text(&select(&page, "style")[0]);
    assert!(!style.contains("url(") && !style.contains("@import"));
    assert!(style.contains("Noto Sans CJK SC"), "a CJK fallback font");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains(r#"charset="utf-8""#));
}

fn select_cells(tr: &scraper::ElementRef) -> Vec<String> {
    tr.children()
        .filter_map(scraper::ElementRef::wrap)
        .map(|td| text(&td))
        .collect()
}

/// Bug: the summary's amount per kind was the sum of the payments
/// (`AMOUNT_MISMATCH | alipay | 3 | 1877.66 CNY`), not the 3 × 0.01 at stake.
#[test]
fn amount_at_stake_of_a_mismatch_is_the_gap() {
    let work = demo(&[]);
    let summary = summary(&work);
    let group = summary["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "AMOUNT_MISMATCH" && g["channel"] == "alipay")
        .unwrap();
    assert_eq!(group["count"], 3);
    assert_eq!(group["amounts"]["CNY"], "0.03");
    let page = Html::parse_document(&work.read("out/report.html"));
    let rows = kind_rows(&page, "AMOUNT_MISMATCH");
    assert!(
        rows.iter()
            .all(|r| r[6] == "0.01 CNY" || r[6] == "0.01 USD"),
        "{rows:?}"
    );
    assert!(
        work.read("out/summary.md")
            .contains("| AMOUNT_MISMATCH | alipay | 3 | 0.03 CNY |")
    );
}

/// Bug: a DUPLICATE_PAYMENT of 743.36 refunded 495.58 with nothing saying
/// that the channel had already refunded 247.78.
#[test]
fn every_refund_row_explains_its_amount() {
    let work = demo(&[]);
    let (header, rows) = parse_csv(&work.read("out/refunds.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let duplicate = rows
        .iter()
        .find(|r| r[col("reason")] == "DUPLICATE_PAYMENT")
        .unwrap();
    assert_eq!(duplicate[col("captured")], "743.36");
    assert_eq!(duplicate[col("refunded_by_channel")], "247.78");
    assert_eq!(duplicate[col("instructed_before")], "0.00");
    assert_eq!(duplicate[col("amount")], "495.58");
    let page = Html::parse_document(&work.read("out/report.html"));
    let refund_rows: Vec<Vec<String>> = select(&page, "section#refunds tbody tr")
        .iter()
        .map(select_cells)
        .collect();
    let shown = refund_rows
        .iter()
        .find(|r| r[2] == "DUPLICATE_PAYMENT")
        .unwrap();
    assert_eq!(
        shown[6..],
        ["743.36 CNY", "247.78 CNY", "0.00 CNY", "495.58 CNY"]
    );
}

/// Bug: CURRENCY_MISMATCH rows gave internal_amount 953.59 under currency
/// USD while the internal currency was EUR.
#[test]
fn each_amount_has_its_own_currency() {
    let work = demo(&[]);
    let row = report_rows(&work, "out")
        .into_iter()
        .find(|r| r["kind"] == "CURRENCY_MISMATCH" && r["order_id"] == "O000000233")
        .unwrap();
    assert_eq!(
        (
            row["internal_amount"].as_str(),
            row["internal_currency"].as_str()
        ),
        ("953.59", "EUR")
    );
    assert_eq!(
        (
            row["channel_amount"].as_str(),
            row["channel_currency"].as_str()
        ),
        ("953.59", "USD")
    );
    let page = Html::parse_document(&work.read("out/report.html"));
    let rows = kind_rows(&page, "CURRENCY_MISMATCH");
    let shown = rows.iter().find(|r| r[2] == "O000000233").unwrap();
    assert_eq!(
        (shown[4].as_str(), shown[5].as_str()),
        ("953.59 EUR", "953.59 USD")
    );
    let mut book: Xlsx<_> = open_workbook(work.path("out/report.xlsx")).unwrap();
    let sheet = book.worksheet_range("CURRENCY_MISMATCH").unwrap();
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = sheet
        .rows()
        .find(|r| r[at("order_id")] == Data::String("O000000233".into()))
        .unwrap();
    assert_eq!(row[at("internal_currency")], Data::String("EUR".into()));
    assert_eq!(row[at("channel_currency")], Data::String("USD".into()));
}

#[test]
fn refunds_csv_is_stated_in_the_summaries_for_the_refund_job() {
    let work = demo(&[]);
    let bytes = std::fs::read(work.path("out/refunds.csv")).unwrap();
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let summary = summary(&work);
    let file = &summary["refunds"]["files"][0];
    assert_eq!(file["name"], "refunds.csv");
    assert_eq!(file["rows"], 2);
    assert_eq!(file["totals"]["CNY"], "775.60");
    assert_eq!(file["sha256"], sha.as_str());
    assert!(
        work.read("out/summary.md")
            .contains(&format!("| refunds.csv | 2 | 775.60 CNY | `{sha}` |"))
    );
}

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const SH: &str =
    "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";
const WECHAT_ID: &str = "4200001234202611210000000001";

/// A day with a Chinese order id, a 28-digit WeChat transaction id paid
/// twice and a formula-looking id.
fn excel_day(work: &Workdir) -> Vec<String> {
    let orders = work.write(
        "orders.csv",
        &format!(
            "{OH}订单七号,P1,C1,wechat,1234567.89,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,2026-11-21 10:00:05\n\
             订单七号,P2,C2,wechat,1234567.89,CNY,PAID,FAILED,2026-11-21 10:01:00,,,\n"
        ),
    );
    let bill = work.write(
        "wechat-2026-11-21.csv",
        &format!(
            "{SH}wechat,4200001234202611210000000000,C1,PAYMENT,1234567.89,,CNY,2026-11-21 10:00:05,\n\
             wechat,{WECHAT_ID},C2,PAYMENT,1234567.89,,CNY,2026-11-21 10:01:05,\n\
             wechat,=1+2,=0+0,PAYMENT,3.00,,CNY,2026-11-21 11:00:00,\n"
        ),
    );
    let next = work.write("wechat-2026-11-22.csv", SH);
    [
        "--orders",
        orders.to_str().unwrap(),
        "--settlement",
        bill.to_str().unwrap(),
        "--settlement",
        next.to_str().unwrap(),
        "--date",
        "2026-11-21",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn report_xlsx_has_number_amounts_and_text_ids() {
    let work = Workdir::new();
    let args = excel_day(&work);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("out", &args).assert().success();
    let mut book: Xlsx<_> = open_workbook(work.path("out/report.xlsx")).unwrap();
    let names = book.sheet_names();
    assert_eq!(names.first().map(String::as_str), Some("Summary"));
    assert_eq!(names.last().map(String::as_str), Some("Refunds"));
    assert!(names.iter().any(|n| n == "DUPLICATE_PAYMENT"), "{names:?}");
    let sheet = book.worksheet_range("DUPLICATE_PAYMENT").unwrap();
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = sheet.rows().nth(1).unwrap();
    assert_eq!(row[at("channel_txn_id")], Data::String(WECHAT_ID.into()));
    assert_eq!(row[at("order_id")], Data::String("订单七号".into()));
    assert_eq!(row[at("channel_amount")], Data::Float(1234567.89));
    assert_eq!(row[at("amount_at_stake")], Data::Float(1234567.89));
    assert_eq!(row[at("age_days")], Data::Float(0.0));
    let refunds = book.worksheet_range("Refunds").unwrap();
    let header: Vec<String> = refunds
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = refunds.rows().nth(1).unwrap();
    assert_eq!(row[at("channel_txn_id")], Data::String(WECHAT_ID.into()));
    assert_eq!(row[at("refunded_now")], Data::Float(1234567.89));
    assert_eq!(row[at("captured")], Data::Float(1234567.89));
    // The unmatched formula-looking id is text, as it was given.
    let unmatched = book.worksheet_range("UNMATCHED_CHANNEL").unwrap();
    assert!(
        unmatched
            .rows()
            .any(|r| r.contains(&Data::String("=1+2".into())))
    );
}

#[test]
fn excel_friendly_csv_on_request_and_refunds_csv_never_altered() {
    let work = Workdir::new();
    let args = excel_day(&work);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("plain", &args).assert().success();
    let plain = std::fs::read(work.path("plain/discrepancies.csv")).unwrap();
    assert!(
        !plain.starts_with("\u{feff}".as_bytes()),
        "UTF-8 without BOM by default"
    );
    assert!(String::from_utf8(plain).unwrap().contains("订单七号"));
    let refunds = std::fs::read(work.path("plain/refunds.csv")).unwrap();
    args.extend(["--csv-encoding", "utf-8-bom"]);
    work.run("bom", &args).assert().success();
    let bom = work.read("bom/discrepancies.csv");
    let bom = bom.strip_prefix('\u{feff}').expect("a BOM");
    assert!(
        bom.contains(&format!("=\"\"{WECHAT_ID}\"\""))
            || bom.contains(&format!("\"=\"\"{WECHAT_ID}\"\"\"")),
        "{bom}"
    );
    assert!(
        bom.contains("'=1+2"),
        "the formula guard stays in people's CSV"
    );
    assert_eq!(
        std::fs::read(work.path("bom/refunds.csv")).unwrap(),
        refunds
    );
    // GBK from the config file.
    let config = work.write("gbk.toml", "csv_encoding = \"gbk\"\n");
    let mut gbk_args = vec!["--config", config.to_str().unwrap()];
    gbk_args.extend(&args[..args.len() - 2]);
    work.run("gbk", &gbk_args).assert().success();
    let bytes = std::fs::read(work.path("gbk/discrepancies.csv")).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");
    let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
    assert!(!bad && text.contains("订单七号"));
    assert_eq!(
        std::fs::read(work.path("gbk/refunds.csv")).unwrap(),
        refunds
    );
    // refunds.csv holds the ids exactly, formula-looking or long.
    let (_, rows) = parse_csv(&String::from_utf8(refunds).unwrap());
    assert_eq!(rows[0][2], WECHAT_ID);
    work.run(
        "bad",
        &[&args[..args.len() - 2], &["--csv-encoding", "latin1"]].concat(),
    )
    .assert()
    .code(2)
    .stderr(predicates::str::contains("utf-8-bom"));
}

/// `resolve --from` refused a discrepancies.csv payrecon wrote with
/// `--csv-encoding gbk` ("is not UTF-8 text"). It reads back every encoding
/// payrecon writes, as a reviewer saves it again (a resolution added).
#[test]
fn resolve_reads_back_every_csv_encoding_payrecon_writes() {
    for encoding in ["utf-8", "utf-8-bom", "gbk"] {
        let work = Workdir::new();
        let mut args = excel_day(&work);
        args.extend(["--csv-encoding".to_string(), encoding.to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        work.run("out", &args).assert().success();
        let bytes = std::fs::read(work.path("out/discrepancies.csv")).unwrap();
        // A UTF-8 BOM stays at the head of the first line, as saved again.
        let text = match encoding {
            "gbk" => encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(&bytes)
                .expect("GBK text")
                .into_owned(),
            _ => String::from_utf8(bytes).unwrap(),
        };
        let mut reviewed = String::new();
        for (n, line) in text.lines().enumerate() {
            let note = match n {
                0 => "resolution",
                1 => "已核对",
                _ => "",
            };
            reviewed.push_str(&format!("{line},{note}\r\n"));
        }
        let saved = match encoding {
            "gbk" => encoding_rs::GB18030.encode(&reviewed).0.into_owned(),
            _ => reviewed.into_bytes(),
        };
        let path = work.path("reviewed.csv");
        std::fs::write(&path, saved).unwrap();
        assert_cmd::Command::cargo_bin("payrecon")
            .unwrap()
            .args(["resolve", "--from", path.to_str().unwrap(), "--by", "alice"])
            .arg("--db")
            .arg(work.db())
            .env_remove("PAYRECON_FAILPOINT")
            .assert()
            .success()
            .stdout(predicates::str::contains("resolved 1 finding(s) by alice"));
    }
}

/// No output holds anything of the moment it was made: two runs over the
/// same inputs, a second apart, write the same bytes (the xlsx's creation
/// date is the business day); a rerun reuses them.
#[test]
fn report_files_are_deterministic() {
    let first = demo(&[]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = demo(&[]);
    for name in ["report.html", "report.xlsx", "summary.json", "refunds.csv"] {
        let a = std::fs::read(first.path(&format!("out/{name}"))).unwrap();
        let b = std::fs::read(second.path(&format!("out/{name}"))).unwrap();
        assert!(a == b, "{name} differs between two runs");
    }
    let config = fixtures().join("demo/payrecon.toml");
    first
        .run("again", &["--config", config.to_str().unwrap()])
        .assert()
        .success();
    for name in ["report.html", "report.xlsx"] {
        assert_eq!(
            std::fs::read(first.path(&format!("out/{name}"))).unwrap(),
            std::fs::read(first.path(&format!("again/{name}"))).unwrap(),
            "{name} of a rerun"
        );
    }
}

/// Chinese text arrives as text; big amounts get thousands separators and
/// keep every decimal.
#[test]
fn report_html_shows_chinese_ids_and_grouped_exact_money() {
    let work = Workdir::new();
    let args = excel_day(&work);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    work.run("out", &args).assert().success();
    let page = Html::parse_document(&work.read("out/report.html"));
    let rows = kind_rows(&page, "DUPLICATE_PAYMENT");
    assert_eq!(rows[0][2], "订单七号");
    assert_eq!(rows[0][3], WECHAT_ID);
    assert_eq!(rows[0][6], "1,234,567.89 CNY");
    let at_stake = select(&page, "section#DUPLICATE_PAYMENT td.at-stake");
    assert!(
        at_stake[0].value().classes().any(|c| c == "num"),
        "right-aligned"
    );
}
