//! Alipay bill tests: inline bills, one per quirk, then the fixtures in
//! `fixtures/formats/alipay/` read to exact canonical records.

use super::*;
use crate::ingest::settlement::{self, FormatSettings};
use pretty_assertions::assert_eq;

const HEADER: &str = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注";

/// A row as Alipay writes it: ids and some amounts padded with a TAB.
/// `what` is "业务类型 完成时间(date time) 订单金额 退款批次号 服务费"; 商家实收
/// equals 订单金额.
fn row(txn: &str, what: &str) -> String {
    let [kind, day, time, amount, refund_id, fee] = what.split(' ').collect::<Vec<_>>()[..] else {
        panic!("six parts: {what}")
    };
    let refund_id = refund_id.trim_matches('-');
    format!(
        "{txn}\t,O1\t,{kind}\t,商品,2026-11-21 10:55:16,{day} {time},store\t,store\t,op\t,\t,*津水(602***@qq.com)\t,{amount},{amount},0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,{refund_id}\t,{fee},0.00,备注"
    )
}

/// A whole bill: preamble, rows, footer with the given totals.
fn bill(rows: &[String], payments: &str, refunds: &str) -> String {
    let mut lines = vec![
        "#支付宝业务明细查询".to_string(),
        "#账号：[20880211096256330156]".into(),
        "#起始日期：[2026年11月21日 00:00:00]   终止日期：[2026年11月22日 00:00:00]".into(),
        "#-----------------------------------------业务明细列表----------------------------------------".into(),
        HEADER.into(),
    ];
    lines.extend(rows.iter().cloned());
    lines.push("#-----------------------------------------业务明细列表结束------------------------------------".into());
    lines.push(format!("#交易合计：{payments}，商家优惠共0.00元"));
    lines.push(format!("#退款合计：{refunds}，商家优惠退款共0.00元"));
    lines.push("#导出时间：[2026年11月22日 05:46:49]".into());
    lines.join("\r\n") + "\r\n"
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

fn parse_bytes(bytes: &[u8]) -> Result<(FileFacts, Vec<SettlementRecord>)> {
    let settings = FormatSettings::default();
    // The configured zone is not Beijing: the bill must not care.
    let cx = Context {
        path: Path::new("20880211096256330156_20261121_业务明细.csv"),
        zone: chrono_tz::America::New_York,
        default_currency: "USD",
        settings: &settings,
    };
    let mut rows = Vec::new();
    let facts = parse(&mut &bytes[..], &cx, &mut |r| {
        rows.push(r);
        Ok(())
    })?;
    Ok((facts, rows))
}

fn err(text: &str) -> String {
    format!("{:#}", parse_bytes(&gbk(text)).unwrap_err())
}

/// UTC microseconds of a Beijing wall-clock time.
fn beijing(text: &str) -> i64 {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
    naive.and_utc().timestamp_micros() - 8 * 3600 * 1_000_000
}

/// A canonical Alipay record; `ids` is "channel_txn_id channel_order_id".
fn rec(
    kind: Kind,
    ids: &str,
    minor: i64,
    fee: &str,
    at: &str,
    refund_id: &str,
) -> SettlementRecord {
    let (txn, order) = ids.split_once(' ').unwrap();
    SettlementRecord {
        channel: "alipay".into(),
        channel_txn_id: txn.into(),
        channel_order_id: order.into(),
        kind,
        amount_minor: minor,
        fee: Some(fee.into()),
        currency: "CNY".into(),
        transacted_at: beijing(at),
        refund_id: refund_id.into(),
    }
}

fn two_rows() -> Vec<String> {
    vec![
        row("2026112122001", "交易 2026-11-21 10:55:23 128.50 - 0.77"),
        row("2026112122001", "退款 2026-11-21 18:56:48 -28.50 RF1 -0.17"),
    ]
}

const TOTALS: (&str, &str) = ("1笔，商家实收共128.50元", "1笔，商家实收退款共-28.50元");

#[test]
fn reads_a_gbk_bill_to_exact_records() {
    let (facts, rows) = parse_bytes(&gbk(&bill(&two_rows(), TOTALS.0, TOTALS.1))).unwrap();
    assert_eq!(
        facts,
        FileFacts {
            channel: Some("alipay".into()),
            day: NaiveDate::from_ymd_opt(2026, 11, 21),
            checked: Some(super::CHECKED),
            ..FileFacts::default()
        }
    );
    assert_eq!(
        rows,
        vec![
            rec(
                Kind::Payment,
                "2026112122001 O1",
                12850,
                "0.77",
                "2026-11-21 10:55:23",
                ""
            ),
            rec(
                Kind::Refund,
                "2026112122001 O1",
                2850,
                "-0.17",
                "2026-11-21 18:56:48",
                "RF1"
            ),
        ]
    );
}

#[test]
fn utf8_lf_bom_and_ascii_parentheses_are_accepted() {
    let text = bill(&two_rows(), TOTALS.0, TOTALS.1)
        .replace("（元）", "(元)")
        .replace("\r\n", "\n");
    assert_eq!(parse_bytes(text.as_bytes()).unwrap().1.len(), 2);
    let with_bom = format!("\u{feff}{text}");
    assert_eq!(parse_bytes(with_bom.as_bytes()).unwrap().1.len(), 2);
}

#[test]
fn footer_totals_are_checked_with_both_figures() {
    let e = err(&bill(&two_rows(), "2笔，商家实收共128.50元", TOTALS.1));
    assert!(
        e.contains("line 9: #交易合计 counts 2 rows, but the file has 1 交易 rows"),
        "{e}"
    );
    let e = err(&bill(&two_rows(), TOTALS.0, "1笔，商家实收退款共-28.00元"));
    assert!(
        e.contains("line 10: #退款合计 says 商家实收 -28, but 商家实收（元） of the 1 退款 rows adds up to -28.5"),
        "{e}"
    );
    let e = err(&bill(&two_rows(), "一笔", TOTALS.1));
    assert!(
        e.contains("line 9: '#交易合计：一笔") && e.contains("not a total"),
        "{e}"
    );
}

#[test]
fn a_bill_without_its_footer_is_truncated() {
    let full = bill(&two_rows(), TOTALS.0, TOTALS.1);
    let cases = [
        (
            "#-----------------------------------------业务明细列表结束",
            "ends without its footer (#交易合计…): the download is truncated",
        ),
        ("#退款合计", "has no #退款合计 line in its footer"),
        ("#交易合计", "has no #交易合计 line in its footer"),
        ("支付宝交易号", "has no header line"),
    ];
    for (cut_at, expected) in cases {
        let e = err(&full[..full.find(cut_at).unwrap()]);
        assert!(e.contains(expected), "{e}");
    }
    let e = err(&format!("{full}2026112122002\t,O2\t,交易\r\n"));
    assert!(
        e.contains("line 12: has '2026112122002") && e.contains("only # lines"),
        "{e}"
    );
}

#[test]
fn other_business_types_are_refused_with_their_value() {
    let rows = [row("T1", "转账 2026-11-21 10:55:23 1.00 - 0.00")];
    let e = err(&bill(
        &rows,
        "0笔，商家实收共0.00元",
        "0笔，商家实收退款共0.00元",
    ));
    assert!(
        e.contains("line 6, column '业务类型': '转账' is not valid: expected 交易 (a payment) or 退款 (a refund)"),
        "{e}"
    );
}

#[test]
fn bad_rows_are_refused_precisely() {
    let cases = [
        (
            row("T1", "交易 2026-11-21 10:55:23 -1.00 - 0.00"),
            "订单金额（元）",
        ),
        (
            row("T1", "交易 2026-11-21 10:55:23 1.001 - 0.00"),
            "订单金额（元）",
        ),
        (
            row("T1", "退款 2026-11-21 10:55:23 0.00 R1 0.00"),
            "订单金额（元）",
        ),
        (
            row("T1", "交易 2026/13/21 10:55:23 1.00 - 0.00"),
            "完成时间",
        ),
        (
            row("", "交易 2026-11-21 10:55:23 1.00 - 0.00"),
            "支付宝交易号",
        ),
        (
            row("T1", "交易 2026-11-21 10:55:23 1.00 - x"),
            "服务费（元）",
        ),
    ];
    for (r, column) in cases {
        let e = err(&bill(
            &[r],
            "1笔，商家实收共1.00元",
            "0笔，商家实收退款共0.00元",
        ));
        assert!(
            e.contains(&format!("line 6, column '{column}'")),
            "{column}: {e}"
        );
    }
    let e = err(&bill(&["T1\t,O1\t,交易".into()], TOTALS.0, TOTALS.1));
    assert!(
        e.contains("line 6: row has 3 fields, the header has 25"),
        "{e}"
    );
    let mut damaged = gbk(&bill(&two_rows(), TOTALS.0, TOTALS.1));
    let at = damaged.windows(2).position(|w| w == b"O1").unwrap();
    damaged[at] = 0xff;
    let e = format!("{:#}", parse_bytes(&damaged).unwrap_err());
    assert!(
        e.contains("line 6, column '商户订单号'") && e.contains("neither GBK nor UTF-8"),
        "{e}"
    );
    // A column the mapping does not read (门店编号) may hold one.
    let mut unread = gbk(&bill(&two_rows(), TOTALS.0, TOTALS.1));
    let at = unread.windows(5).position(|w| w == b"store").unwrap();
    unread[at] = 0xff;
    let (_, rows) = parse_bytes(&unread).unwrap();
    assert_eq!(rows.len(), 2);
}

#[test]
fn missing_columns_are_listed_together() {
    let e = err("#支付宝业务明细查询\r\n支付宝交易号,商户订单号,业务类型\r\n");
    assert!(
        e.contains("line 2: missing column(s) 完成时间, 订单金额（元） or 订单金额(元), 商家实收（元） or 商家实收(元)"),
        "{e}"
    );
}

#[test]
fn the_preamble_must_name_one_day() {
    let text = bill(&[], "0笔，商家实收共0.00元", "0笔，商家实收退款共0.00元")
        .replace("终止日期：[2026年11月22日", "终止日期：[2026年12月01日");
    let e = err(&text);
    assert!(
        e.contains("line 3: covers 2026-11-21 00:00:00 to 2026-12-01 00:00:00, not one day"),
        "{e}"
    );
    assert_eq!(
        preamble_day("#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]"),
        Ok(NaiveDate::from_ymd_opt(2019, 9, 16))
    );
    assert_eq!(preamble_day("#账号：[2088]"), Ok(None));
    assert!(preamble_day("#起始日期：[2019-09-16]").is_err());
}

#[test]
fn reads_footer_totals() {
    let t = footer_total("#交易合计：6笔，商家实收共0.06元，商家优惠共0.00元").unwrap();
    assert_eq!((t.rows, t.received.to_string()), (6, "0.06".into()));
    let t = footer_total("#退款合计：4笔，商家实收退款共-0.04元，商家优惠退款共0.00元").unwrap();
    assert_eq!((t.rows, t.received.to_string()), (4, "-0.04".into()));
    assert!(footer_total("#交易合计：六笔").is_none());
    assert!(footer_total("#交易合计：1.5笔，商家实收共0.06元").is_none());
}

#[test]
fn sniffs_the_business_detail_only() {
    assert!(sniff(&gbk("#支付宝业务明细查询\n#账号：[1]\n")));
    assert!(sniff(format!("{HEADER}\n").as_bytes()));
    assert!(!sniff(&gbk("支付宝交易记录明细查询\n账号:[x]\n")));
    assert!(!sniff(&gbk("#支付宝业务汇总查询\n")));
    assert!(!sniff(&gbk("#支付宝账务明细查询\n")));
}

// Fixtures: read through `settlement::read_file`, as a run does (container,
// detection, day from the preamble), to exact records.

const ACCOUNT: &str = "20880211096256330156";

fn read_fixture(name: &str) -> Result<(settlement::ParsedFile, Vec<SettlementRecord>)> {
    crate::ingest::fixture::read_records(&format!("alipay/{name}"), None)
}

#[track_caller]
fn fixture_err(name: &str) -> String {
    crate::ingest::fixture::read_err(&format!("alipay/{name}"))
}

/// What the business-detail fixture holds, in canonical form.
fn detail_fixture_records() -> Vec<SettlementRecord> {
    use Kind::{Payment, Refund};
    vec![
        rec(
            Payment,
            "2026112122001458861000000001 ORD2001-A1",
            3000,
            "0.18",
            "2026-11-21 00:01:15",
            "",
        ),
        rec(
            Payment,
            "2026112122001458861000000002 ORD2002-A1",
            8800,
            "0.48",
            "2026-11-21 09:10:05",
            "",
        ),
        rec(
            Payment,
            "2026112122001458861000000003 ORD2003-A1",
            4500,
            "0.27",
            "2026-11-21 11:20:31",
            "",
        ),
        rec(
            Payment,
            "2026112122001458861000000004 ORD2003-A2",
            4500,
            "0.27",
            "2026-11-21 11:21:02",
            "",
        ),
        rec(
            Refund,
            "2026112122001458861000000001 ORD2001-A1",
            1000,
            "-0.06",
            "2026-11-21 15:30:45",
            "RF2001-1",
        ),
        rec(
            Refund,
            "2026112022001458861000000009 ORD1999-A1",
            1200,
            "0",
            "2026-11-21 23:59:59",
            "RF1999-1",
        ),
    ]
}

#[test]
fn fixture_gbk_business_detail() {
    let (parsed, rows) = read_fixture(&format!("{ACCOUNT}_20261121_业务明细.csv")).unwrap();
    assert_eq!(
        (
            parsed.format.as_str(),
            parsed.channel.as_str(),
            parsed.day.to_string(),
            parsed.rows
        ),
        ("alipay", "alipay", "2026-11-21".into(), 6)
    );
    assert_eq!(rows, detail_fixture_records());
}

#[test]
fn fixture_zip_as_downloaded() {
    let (parsed, rows) = read_fixture(&format!("{ACCOUNT}_20261121.csv.zip")).unwrap();
    assert_eq!(
        (parsed.format.as_str(), parsed.day.to_string()),
        ("alipay", "2026-11-21".into())
    );
    assert_eq!(rows, detail_fixture_records());
}

#[test]
fn fixture_utf8_business_detail() {
    let (_, rows) = read_fixture("alipay-2026-11-21-utf8.csv").unwrap();
    assert_eq!(rows, detail_fixture_records());
}

#[test]
fn fixture_malformed_bills_are_refused() {
    let e = fixture_err(&format!("bad/{ACCOUNT}_20261121_业务明细_truncated.csv"));
    assert!(
        e.contains("ends without its footer") && e.contains("truncated"),
        "{e}"
    );
    let e = fixture_err(&format!("bad/{ACCOUNT}_20261121_业务明细_totals-off.csv"));
    assert!(
        e.contains("line 13: #交易合计 says 商家实收 210, but 商家实收（元） of the 4 交易 rows adds up to 200"),
        "{e}"
    );
    let e = fixture_err(&format!("bad/{ACCOUNT}_20261121_summary-only.csv.zip"));
    assert!(
        e.contains("without one bill to read in it (members: 20880211096256330156_20261121_业务明细(汇总).csv)"),
        "{e}"
    );
}

#[test]
#[ignore = "a measurement: run in release"]
fn speed_against_canonical() {
    let n = crate::ingest::speed::rows();
    let mut rows = Vec::with_capacity(n);
    let mut canonical = String::from(
        "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n",
    );
    for i in 0..n {
        let time = format!("{:02}:{:02}:{:02}", i / 3600 % 24, i / 60 % 60, i % 60);
        let txn = format!("20261121220014588610{i:08}");
        rows.push(row(&txn, &format!("交易 2026-11-21 {time} 128.50 - 0.77")));
        canonical.push_str(&format!(
            "alipay,{txn},O1,PAYMENT,128.50,0.77,CNY,2026-11-21 {time},\n"
        ));
    }
    let amount = money::format_minor(12850 * n as i64, "CNY");
    let text = bill(
        &rows,
        &format!("{n}笔，商家实收共{amount}元"),
        "0笔，商家实收退款共0.00元",
    );
    crate::ingest::speed::compare(&FORMAT, &gbk(&text), canonical.as_bytes(), n);
}
