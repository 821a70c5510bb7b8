//! Any bytes after the canonical settlement header, read as canonical: goes
//! straight to the rows (amounts, kinds, timestamps, quoting).
#![no_main]

use libfuzzer_sys::fuzz_target;
use payrecon::error::InputError;
use payrecon::ingest::settlement;
use std::path::Path;

const HEADER: &[u8] =
    b"channel,channel_txn_id,channel_order_id,kind,amount,fee,currency,transacted_at,refund_id\n";

fuzz_target!(|data: &[u8]| {
    let path = Path::new("wechat-2026-11-21.csv");
    let settings = Default::default();
    let cx = settlement::Context {
        path,
        zone: payrecon::config::Config::default().zone,
        default_currency: "CNY",
        settings: &settings,
    };
    let bytes = [HEADER, data].concat();
    let result = settlement::read_file(&bytes[..], &cx, Some("canonical"), None, &mut |record| {
        assert!(record.amount_minor > 0, "{record:?}");
        Ok(())
    });
    if let Err(err) = result {
        let text = format!("{err:#}");
        let input = err
            .downcast_ref::<InputError>()
            .unwrap_or_else(|| panic!("not an InputError: {text}"));
        assert!(text.contains("wechat-2026-11-21.csv"), "{text}");
        if input.line > 0 {
            assert!(text.contains(&format!(", line {}", input.line)), "{text}");
        }
    }
});
