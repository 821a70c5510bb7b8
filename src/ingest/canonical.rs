//! The canonical settlement CSV: payrecon's own form, and the target every
//! native format converts to.
//!
//! `channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id`
//! One file holds one channel's day; `amount` is positive, `kind` says the
//! direction.

use super::settlement::{Context, FileFacts, Format, Sink};
use super::{CsvTable, Row, gbk};
use crate::error::InputError;
use crate::model::{Kind, SettlementRecord};
use crate::{money, timestamp};
use anyhow::Context as _;
use std::io::{BufReader, Read};

pub const FORMAT: Format = Format {
    name: "canonical",
    hints: &[
        "channel",
        "channel_txn_id",
        "channel_order_id",
        "kind",
        "amount",
        "currency",
        "transacted_at",
    ],
    description: "payrecon's settlement CSV: channel,channel_txn_id,channel_order_id,kind,amount,…",
    sniff,
    parse,
};

const REQUIRED: &[&str] = &[
    "channel",
    "channel_txn_id",
    "channel_order_id",
    "kind",
    "amount",
    "currency",
    "transacted_at",
];

fn sniff(head: &[u8]) -> bool {
    super::first_line_has(head, &["channel_txn_id", "channel_order_id", "kind"])
}

fn parse(input: &mut dyn Read, cx: &Context, sink: &mut Sink) -> anyhow::Result<FileFacts> {
    let (input, from_gbk) = gbk::decoding(BufReader::with_capacity(1 << 16, input))
        .with_context(|| format!("failed to read settlement file {}", cx.path.display()))?;
    let Some(table) = CsvTable::open(cx.path, input)? else {
        return Ok(FileFacts::default());
    };
    let mut table = table.decoded_from_gbk(from_gbk);
    let cols = table.header.require(cx.path, REQUIRED)?;
    let fee = table.header.position("fee");
    let refund_id = table.header.position("refund_id");
    let mut channel: Option<String> = None;
    table.for_each_row(cx.path, |row| {
        let parsed = parse_row(row, &cols, fee, refund_id, cx)?;
        match &channel {
            None => channel = Some(parsed.channel.clone()),
            Some(first) if *first != parsed.channel => {
                return Err(row
                    .error(cols[0], format!("is '{}', but the rows above are '{first}': a settlement file covers one channel", parsed.channel))
                    .into());
            }
            Some(_) => {}
        }
        sink(parsed)
    })?;
    Ok(FileFacts {
        channel,
        ..FileFacts::default()
    })
}

fn parse_row(
    row: &Row,
    cols: &[usize],
    fee: Option<usize>,
    refund_id: Option<usize>,
    cx: &Context,
) -> Result<SettlementRecord, InputError> {
    let [channel, txn, order, kind, amount, currency, at] = cols else {
        unreachable!("REQUIRED has seven columns")
    };
    let currency_text = row.text(*currency)?;
    let currency_code = if currency_text.is_empty() {
        cx.default_currency.to_string()
    } else {
        money::parse_currency(currency_text).map_err(|e| row.error(*currency, e))?
    };
    let amount_minor = money::parse_amount(row.required(*amount)?, &currency_code)
        .map_err(|e| row.error(*amount, e))?;
    if amount_minor <= 0 {
        return Err(row.bad_value(*amount, "a positive amount (the direction is in 'kind')"));
    }
    let kind_value = row
        .required(*kind)?
        .parse::<Kind>()
        .map_err(|_| row.bad_value(*kind, Kind::EXPECTED))?;
    let fee = match fee.map(|i| (i, row.text(i))) {
        None => None,
        Some((_, Ok(""))) => None,
        Some((i, text)) => Some(money::canonical_decimal(text?).map_err(|e| row.error(i, e))?),
    };
    let transacted_at = timestamp::parse(row.required(*at)?, cx.zone)
        .ok_or_else(|| row.bad_value(*at, timestamp::EXPECTED))?;
    let refund = match refund_id {
        Some(i) => row.printable(i, row.text(i)?)?.to_string(),
        None => String::new(),
    };
    Ok(SettlementRecord {
        channel: row.required(*channel)?.to_ascii_lowercase(),
        channel_txn_id: row.required(*txn)?.to_string(),
        channel_order_id: row.required(*order)?.to_string(),
        kind: kind_value,
        amount_minor,
        fee,
        currency: currency_code,
        transacted_at,
        refund_id: refund,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse_str(csv: &str) -> anyhow::Result<(FileFacts, Vec<SettlementRecord>)> {
        parse_bytes(csv.as_bytes())
    }

    fn parse_bytes(mut csv: &[u8]) -> anyhow::Result<(FileFacts, Vec<SettlementRecord>)> {
        let settings = Default::default();
        let cx = Context {
            path: Path::new("wechat-2026-11-21.csv"),
            zone: chrono_tz::Asia::Shanghai,
            default_currency: "CNY",
            settings: &settings,
        };
        let mut rows = Vec::new();
        let facts = parse(&mut csv, &cx, &mut |r| {
            rows.push(r);
            Ok(())
        })?;
        Ok((facts, rows))
    }

    const HEADER: &str = "channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";

    #[test]
    fn reads_payments_and_refunds() {
        let csv = format!(
            "{HEADER}wechat,T1,C1,PAYMENT,128.50,0.77000,CNY,2026-11-21 10:00:00,\nwechat,T1,C1,REFUND,28.50,,cny,2026-11-21T03:00:00Z,R1\n"
        );
        let (facts, rows) = parse_str(&csv).unwrap();
        assert_eq!(facts.channel.as_deref(), Some("wechat"));
        assert_eq!(rows[0].amount_minor, 12850);
        assert_eq!(rows[0].fee.as_deref(), Some("0.77"));
        assert_eq!(rows[1].kind, Kind::Refund);
        assert_eq!(rows[1].refund_id, "R1");
        assert_eq!(
            rows[1].transacted_at - rows[0].transacted_at,
            3600 * 1_000_000
        );
    }

    #[test]
    fn refuses_bad_rows_precisely() {
        let cases = [
            (
                "wechat,T1,C1,PAYMENT,-1.00,,CNY,2026-11-21 10:00:00,",
                "amount",
            ),
            ("wechat,T1,C1,CHARGE,1.00,,CNY,2026-11-21 10:00:00,", "kind"),
            (
                "wechat,T1,C1,PAYMENT,1.00,,CNY,2026-13-21 10:00:00,",
                "transacted_at",
            ),
            (
                "wechat,,C1,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,",
                "channel_txn_id",
            ),
        ];
        for (row, column) in cases {
            let err = parse_str(&format!("{HEADER}{row}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("line 2") && err.contains(&format!("'{column}'")),
                "{err}"
            );
        }
        let err = parse_str(&format!("{HEADER}wechat,T1,C1,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\nalipay,T2,C2,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 3") && err.contains("one channel"),
            "{err}"
        );
    }

    #[test]
    fn a_file_re_saved_as_gbk_reads_as_its_utf8_twin() {
        let csv = format!(
            "{HEADER}wechat,T1,订单C1,PAYMENT,128.50,,CNY,2026-11-21 10:00:00,\nwechat,T1,订单C1,REFUND,28.50,,CNY,2026-11-21 11:00:00,退款1\n"
        );
        let (gbk, _, _) = encoding_rs::GB18030.encode(&csv);
        let (_, from_gbk) = parse_bytes(&gbk).unwrap();
        assert_eq!(from_gbk[1].refund_id, "退款1");
        assert_eq!(from_gbk, parse_str(&csv).unwrap().1);
    }

    #[test]
    fn a_gbk_file_behind_a_utf8_bom_reads_as_gbk() {
        let csv = format!("{HEADER}wechat,T1,订单C1,PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n");
        let (gbk, _, _) = encoding_rs::GB18030.encode(&csv);
        let with_bom = [&b"\xef\xbb\xbf"[..], &gbk].concat();
        assert_eq!(
            parse_bytes(&with_bom).unwrap().1,
            parse_str(&csv).unwrap().1
        );
    }

    #[test]
    fn a_byte_that_is_not_gbk_past_the_head_is_refused_on_its_row() {
        let mut csv = HEADER.to_string();
        for i in 0..3000 {
            csv += &format!("wechat,T{i},订单C{i},PAYMENT,1.00,,CNY,2026-11-21 10:00:00,\n");
        }
        let (gbk, _, _) = encoding_rs::GB18030.encode(&csv);
        let (id, _, _) = encoding_rs::GB18030.encode("订单C2999");
        let at = memchr::memmem::rfind(&gbk, &id).unwrap();
        let mut damaged = gbk.to_vec();
        damaged.insert(at + 4, 0xff);
        let err = parse_bytes(&damaged).unwrap_err().to_string();
        assert!(
            err.contains("line 3001, column 'channel_order_id'")
                && err.contains("neither GBK nor UTF-8"),
            "{err}"
        );
    }

    #[test]
    fn sniffs_its_header() {
        assert!(sniff(HEADER.as_bytes()));
        assert!(sniff(format!("\u{feff}{HEADER}").as_bytes()));
        assert!(!sniff(b"order_id,amount\n"));
    }
}
