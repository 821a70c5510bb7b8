//! Files as people really send them (issue #14): each case of the issue's
//! table, end to end through the binary, with the message that names the
//! fix and the exit status.

use crate::errors::assert_refused;
use crate::util::{Workdir, case_inputs, fixtures};
use predicates::prelude::*;
use predicates::str::contains;

const OH: &str = "order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";
const ROW: &str = "O2,P2,C2,wechat,1.00,CNY,PAID,SUCCESS,2026-11-21 10:00:00,,,\n";

fn p(path: &std::path::Path) -> String {
    path.display().to_string()
}

#[test]
fn an_unmapped_status_value_gets_the_mapping_to_add() {
    assert_refused(
        "bad/orders.csv",
        &format!("{OH}{}", ROW.replace("PAID", "已支付")),
        "orders",
        &[
            "orders.csv, line 2, column 'order_status'",
            "expected one of OPEN, PAID, CLOSED, CANCELLED",
            r#"map it in the config: [orders.order_status] "已支付" = "PAID""#,
        ],
    );
    assert_refused(
        "bad/orders.csv",
        &format!("{OH}{}", ROW.replace("SUCCESS", "Done?")),
        "orders",
        &[
            "column 'payment_status'",
            r#"[orders.payment_status] "Done?" = "<one of PROCESSING|SUCCESS|FAILED|CLOSED|UNKNOWN>""#,
        ],
    );
}

#[test]
fn a_missing_column_gets_the_mapping_with_the_closest_name() {
    assert_refused(
        "bad/orders.csv",
        &format!("{}{ROW}", OH.replace(",amount,", ",Amount (CNY),")),
        "orders",
        &[
            "orders.csv, line 1: missing column(s) amount",
            r#"map them in the config: [orders.columns] amount = "Amount (CNY)""#,
        ],
    );
    assert_refused(
        "bad/orders.csv",
        &format!("{}{ROW}", OH.replace(",amount,", ",x,")),
        "orders",
        &[r#"[orders.columns] amount = "<its name in the export>""#],
    );
}

#[test]
fn a_repeated_header_is_named() {
    let export = format!("{OH}{ROW}{OH}{}", ROW.replace("O2,P2,C2", "O3,P3,C3"));
    assert_refused(
        "bad/orders.csv",
        &export,
        "orders",
        &["orders.csv, line 3: line 3 repeats the header of line 1"],
    );
    let sh = "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";
    let bill = "wechat,T9,C9,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n";
    assert_refused(
        "bad/wechat-2026-11-21.csv",
        &format!("{sh}{bill}{sh}{bill}"),
        "settlement",
        &["line 3 repeats the header"],
    );
}

#[test]
fn a_bill_given_as_the_export_is_sent_to_settlement() {
    let work = Workdir::new();
    let bill = fixtures().join("formats/wechat/wechat-2026-11-21-all.csv");
    work.run("out", &["--orders", &p(&bill)])
        .assert()
        .code(1)
        .stderr(contains(
            "wechat-2026-11-21-all.csv: this is a WeChat Pay trade bill (交易账单), a settlement file, not the order export: pass it with --settlement",
        ));
}

#[test]
fn the_unionpay_summary_file_names_the_detail_to_load() {
    let work = Workdir::new();
    let rd = fixtures().join("formats/unionpay/RD201015090501_802310048993424");
    work.run("out", &["--settlement", &p(&rd)])
        .assert()
        .code(1)
        .stderr(contains(
            "this is UnionPay's daily summary (RD) file, a report for people, not the transaction detail: load the ZM detail file of the same day instead (INN15090588ZM_<merId>",
        ));
}

#[test]
fn a_forced_format_names_the_file_that_is_another() {
    let work = Workdir::new();
    let folder = work.path("bills");
    std::fs::create_dir_all(&folder).unwrap();
    for name in [
        "wechat-2026-11-21-all.csv",
        "../alipay/20880211096256330156_20261121.csv.zip",
    ] {
        let from = fixtures().join("formats/wechat").join(name);
        std::fs::copy(&from, folder.join(from.file_name().unwrap())).unwrap();
    }
    work.run("out", &["--settlement", &p(&folder), "--format", "wechat"])
        .assert()
        .code(1)
        .stderr(contains(
            "20880211096256330156_20261121.csv.zip/20880211096256330156_20261121_业务明细.csv",
        ))
        .stderr(contains(
            "is an Alipay business detail (业务明细) (detected as the alipay format from its content), but --format wechat forces wechat: load it without --format",
        ));
}

#[test]
fn a_settlement_day_flag_another_source_overrides_says_so() {
    let (orders, settlement) = case_inputs("clean");
    let work = Workdir::new();
    work.run(
        "out",
        &[
            "--orders",
            &orders,
            "--settlement",
            &settlement,
            "--settlement-day",
            "2026-11-25",
        ],
    )
    .assert()
    .success()
    .stderr(contains(
        "wechat-2026-11-21.csv covers 2026-11-21 (from the file name); --settlement-day 2026-11-25 is used only for files whose day cannot be told otherwise, so it was not used here",
    ));
}

/// SQLite says "attempt to write a readonly database: Error code 8", no
/// path, no cause. Run as a user who may not write the file (root may write
/// anything, so as root the run drops to `nobody` through setpriv).
#[test]
#[cfg(unix)]
fn a_read_only_database_is_named_with_its_cause() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (orders, settlement) = case_inputs("clean");
    let work = Workdir::new();
    work.run("out", &["--orders", &orders, "--settlement", &settlement])
        .assert()
        .success();
    let db = work.db();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(work.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let root = std::fs::metadata(&db).unwrap().uid() == 0;
    let payrecon = assert_cmd::cargo::cargo_bin("payrecon");
    let mut cmd = if root {
        let mut cmd = assert_cmd::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&payrecon);
        cmd
    } else {
        assert_cmd::Command::new(&payrecon)
    };
    cmd.current_dir(work.dir.path())
        .args(["run", "--db", &p(&db), "--out", &p(&work.path("out2"))])
        .args(["--orders", &orders, "--settlement", &settlement])
        .assert()
        .code(1)
        .stderr(contains(format!(
            "database {} is read-only: this user may not write the file (its permissions)",
            db.display()
        )));
}

/// The case the export twins in fixtures/exports copy.
const TWIN_CASE: &str = "duplicate_payment";

/// Runs `orders` (a twin of the case's export) against the case's bills and
/// checks the outputs are the case's expected ones; returns stderr.
fn reconciles_like_its_csv_twin(orders: &std::path::Path, config: Option<&str>) -> String {
    let work = Workdir::new();
    let (_, settlement) = case_inputs(TWIN_CASE);
    let mut cmd = work.run(
        "out",
        &["--orders", &p(orders), "--settlement", &settlement],
    );
    if let Some(config) = config {
        cmd.arg("--config").arg(work.write("payrecon.toml", config));
    }
    let assert = cmd.assert().success();
    let expected = fixtures().join("cases").join(TWIN_CASE).join("expected");
    for name in ["refunds.csv", "discrepancies.csv"] {
        crate::util::assert_csv_matches(
            &work.read(&format!("out/{name}")),
            &std::fs::read_to_string(expected.join(name)).unwrap(),
            &format!("{} {name}", orders.display()),
        );
    }
    assert!(
        work.read("out/refunds.csv").lines().count() > 1,
        "the case issues refunds"
    );
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

#[test]
fn a_gbk_export_is_read_with_a_notice() {
    let stderr = reconciles_like_its_csv_twin(&fixtures().join("exports/orders-gbk.csv"), None);
    assert!(
        stderr.contains("orders-gbk.csv is not UTF-8 but reads as GBK (GB18030), so it was read as such; encoding = \"gbk\""),
        "{stderr}"
    );
    // Forced, the config wins: no detection, no notice (the GBK column is
    // one payrecon does not read).
    let work = Workdir::new();
    let config = work.write("payrecon.toml", "[orders.layout]\nencoding = \"utf-8\"\n");
    work.run(
        "out",
        &[
            "--config",
            &p(&config),
            "--orders",
            &p(&fixtures().join("exports/orders-gbk.csv")),
        ],
    )
    .assert()
    .success()
    .stderr(contains("reads as GBK").not());
}

#[test]
fn a_semicolon_export_is_read_with_a_notice() {
    let stderr =
        reconciles_like_its_csv_twin(&fixtures().join("exports/orders-semicolon.csv"), None);
    assert!(
        stderr.contains(
            "orders-semicolon.csv is read with the delimiter ';' (told from its header line)"
        ),
        "{stderr}"
    );
    // A forced delimiter wins: the header is then one name, and the error
    // names the delimiter setting.
    let work = Workdir::new();
    let config = work.write("payrecon.toml", "[orders.layout]\ndelimiter = \",\"\n");
    work.run(
        "out",
        &[
            "--config",
            &p(&config),
            "--orders",
            &p(&fixtures().join("exports/orders-semicolon.csv")),
        ],
    )
    .assert()
    .code(1)
    .stderr(contains("missing column(s)"))
    .stderr(contains(
        r#"The header line looks separated by ';': set delimiter = ";" in the layout"#,
    ));
}

/// The case's export as a workbook, the way a spreadsheet holds it: ids and
/// statuses as text cells, amounts as number cells, times as date cells.
/// `title` puts a title row above the header; `sheet` names the sheet, after
/// a first sheet of notes.
pub fn orders_workbook(path: &std::path::Path, title: bool, sheet: Option<&str>) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let csv = std::fs::read_to_string(
        fixtures()
            .join("cases")
            .join(TWIN_CASE)
            .join("in/orders.csv"),
    )
    .unwrap();
    let mut book = Workbook::new();
    if sheet.is_some() {
        let notes = book.add_worksheet();
        notes.set_name("Read me").unwrap();
        notes.write_string(0, 0, "Exported from the ERP").unwrap();
    }
    let ws = book.add_worksheet();
    if let Some(name) = sheet {
        ws.set_name(name).unwrap();
    }
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let money = Format::new().set_num_format("0.00");
    let top = u32::from(title);
    if title {
        ws.write_string(0, 0, "Order export 2026-11-21").unwrap();
    }
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for (c, name) in header.iter().enumerate() {
        ws.write_string(top, c as u16, *name).unwrap();
    }
    for (r, line) in lines.enumerate() {
        let row = top + 1 + r as u32;
        for (c, value) in line.split(',').enumerate() {
            let col = c as u16;
            match header[c] {
                _ if value.is_empty() => {}
                "amount" => {
                    ws.write_number_with_format(row, col, value.parse::<f64>().unwrap(), &money)
                        .unwrap();
                }
                "created_at" | "expires_at" | "closed_at" | "paid_at" => {
                    let at = ExcelDateTime::parse_from_str(value).unwrap();
                    ws.write_datetime_with_format(row, col, &at, &when).unwrap();
                }
                _ => {
                    ws.write_string(row, col, value).unwrap();
                }
            }
        }
    }
    book.save(path).unwrap();
}

#[test]
fn an_xlsx_export_is_read_directly() {
    let work = Workdir::new();
    let book = work.path("orders.xlsx");
    orders_workbook(&book, false, None);
    reconciles_like_its_csv_twin(&book, None);
    // Date cells keep their seconds whatever time_format text cells use.
    reconciles_like_its_csv_twin(
        &book,
        Some("[orders.layout]\ntime_format = \"%d/%m/%Y %H:%M\"\n"),
    );
    // The layout options apply: a title row to skip, a named sheet.
    let titled = work.path("orders-titled.xlsx");
    orders_workbook(&titled, true, Some("Orders"));
    let stderr = reconciles_like_its_csv_twin(
        &titled,
        Some("[orders.layout]\nskip_top = 1\nsheet = \"Orders\"\n"),
    );
    assert!(!stderr.contains("note: "), "{stderr}");
    // Without the sheet named, the first sheet is read.
    let work = Workdir::new();
    work.run("out", &["--orders", &p(&titled)])
        .assert()
        .code(1)
        .stderr(contains("orders-titled.xlsx, line 1: missing column(s)"))
        .stderr(contains("the header has: Exported from the ERP"));
}

#[test]
fn a_long_id_in_a_number_cell_is_refused() {
    use rust_xlsxwriter::Workbook;
    let work = Workdir::new();
    let path = work.path("orders.xlsx");
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, name) in OH.trim_end().split(',').enumerate() {
        ws.write_string(0, c as u16, name).unwrap();
    }
    for (c, value) in ROW.trim_end().split(',').enumerate() {
        ws.write_string(1, c as u16, value).unwrap();
    }
    ws.write_number(1, 2, 4200001234567890123456789012.0)
        .unwrap();
    book.save(&path).unwrap();
    work.run("out", &["--orders", &p(&path)])
        .assert()
        .code(1)
        .stderr(contains("orders.xlsx, line 2, column 'C (cell C2)'"))
        .stderr(contains("Format the column as Text"));
}

#[test]
fn an_xlsx_bill_is_read_directly() {
    use rust_xlsxwriter::Workbook;
    let work = Workdir::new();
    let (orders, _) = case_inputs(TWIN_CASE);
    let case = fixtures()
        .join("cases")
        .join(TWIN_CASE)
        .join("in/settlement");
    let folder = work.path("bills");
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(&case).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().replace(".csv", ".xlsx");
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        for (r, line) in text.lines().enumerate() {
            for (c, value) in line.split(',').enumerate() {
                match value.parse::<f64>() {
                    Ok(n) if r > 0 && value.contains('.') => {
                        ws.write_number(r as u32, c as u16, n).unwrap();
                    }
                    _ => {
                        ws.write_string(r as u32, c as u16, value).unwrap();
                    }
                }
            }
        }
        book.save(folder.join(name)).unwrap();
    }
    work.run("out", &["--orders", &orders, "--settlement", &p(&folder)])
        .assert()
        .success();
    let expected = fixtures().join("cases").join(TWIN_CASE).join("expected");
    crate::util::assert_csv_matches(
        &work.read("out/refunds.csv"),
        &std::fs::read_to_string(expected.join("refunds.csv")).unwrap(),
        "refunds.csv from xlsx bills",
    );
}

/// A workbook calamine cannot read is named as a workbook, with what to do,
/// and no binary bytes reach the terminal (it used to print the zip's
/// bytes as the header).
#[test]
fn an_unreadable_workbook_says_to_save_it_as_csv() {
    use std::io::Write;
    let work = Workdir::new();
    let path = work.path("orders.xlsx");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("xl/workbook.xml", options).unwrap();
    zip.write_all(b"\x00\x01 not xml \x1b[31m").unwrap();
    zip.finish().unwrap();
    let assert = work
        .run("out", &["--orders", &p(&path)])
        .assert()
        .code(1)
        .stderr(contains(
            "orders.xlsx: is a spreadsheet workbook payrecon cannot read",
        ))
        .stderr(contains("save it as CSV (UTF-8)"));
    let stderr = &assert.get_output().stderr;
    assert!(
        !stderr.iter().any(|&b| b < 0x20 && b != b'\n'),
        "{}",
        String::from_utf8_lossy(stderr)
    );
    // Apple Numbers keeps its sheets in its own format: said so.
    let path = work.path("orders.numbers");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file("Index/Document.iwa", options).unwrap();
    zip.write_all(b"\x00\x01").unwrap();
    zip.finish().unwrap();
    work.run("out", &["--orders", &p(&path)])
        .assert()
        .code(1)
        .stderr(contains(
            "orders.numbers: is an Apple Numbers document: export it as CSV",
        ));
}

/// No error puts raw bytes on the terminal: binary junk, a zip that is not
/// a workbook, NULs and escape sequences all come out escaped and cut.
#[test]
fn binary_input_never_reaches_the_terminal() {
    let work = Workdir::new();
    let junk: Vec<u8> = (0u8..=255).cycle().take(20_000).collect();
    let mut zipped = Vec::new();
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut zipped));
        zip.start_file("orders.csv", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(OH.as_bytes()).unwrap();
        zip.finish().unwrap();
    }
    let mut escapes = OH
        .replace("order_id", "order\u{1b}[2J_id\u{0}")
        .into_bytes();
    escapes.extend_from_slice(ROW.as_bytes());
    for (name, bytes, expected) in [
        ("junk.csv", junk.clone(), "missing column(s)"),
        (
            "orders.zip",
            zipped,
            "is a zip archive, not a CSV file or a workbook: unzip it",
        ),
        ("escapes.csv", escapes, "order\\u{1b}[2J_id\\u{0}"),
    ] {
        let path = work.path(name);
        std::fs::write(&path, &bytes).unwrap();
        for flag in ["--orders", "--settlement"] {
            let assert = work.run("out", &[flag, &p(&path)]).assert().code(1);
            let stderr = &assert.get_output().stderr;
            let text = String::from_utf8_lossy(stderr);
            assert!(
                !stderr
                    .iter()
                    .any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f),
                "{flag} {name}: {text}"
            );
            assert!(text.len() < 2000, "{flag} {name}: {} bytes", text.len());
            if flag == "--orders" {
                assert!(text.contains(expected), "{name}: {text}");
            }
        }
    }
}

/// Files on the command line replace the config's lists: said, not silent.
#[test]
fn flags_that_replace_the_config_say_so() {
    let (orders, settlement) = case_inputs("clean");
    let work = Workdir::new();
    let config = work.write(
        "payrecon.toml",
        &format!("[inputs]\norders = [{orders:?}]\nsettlements = [{settlement:?}]\n"),
    );
    work.run(
        "out",
        &[
            "--config",
            &p(&config),
            "--orders",
            &orders,
            "--settlement",
            &settlement,
        ],
    )
    .assert()
    .success()
    .stderr(contains(
        "note: --orders replaces the 1 export(s) the config's [inputs] orders lists",
    ))
    .stderr(contains(
        "note: --settlement replaces the 1 path(s) the config's [inputs] settlements lists",
    ));
}
