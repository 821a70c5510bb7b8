//! Any bytes as an internal order export, with the contract's header in
//! front half of the time (so the fuzzer reaches the rows quickly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use payrecon::error::InputError;
use payrecon::ingest::orders;
use std::path::Path;

const HEADER: &[u8] = b"order_id,payment_id,channel_order_id,channel,amount,currency,order_status,payment_status,created_at,expires_at,closed_at,paid_at\n";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let bytes = if pick % 2 == 0 {
        [HEADER, rest].concat()
    } else {
        rest.to_vec()
    };
    let path = Path::new("orders.csv");
    let zone = payrecon::config::Config::default().zone;
    let mapping = orders::OrdersMapping::plain(zone);
    let opts = orders::OrdersOptions {
        day_zone: zone,
        default_currency: "CNY",
        mapping: &mapping,
    };
    let result = orders::read(path, &bytes[..], &opts, |attempt, line| {
        assert!(attempt.amount_minor >= 0 && line >= 2, "{attempt:?} {line}");
        Ok(())
    });
    if let Err(err) = result {
        let text = format!("{err:#}");
        let input = err
            .downcast_ref::<InputError>()
            .unwrap_or_else(|| panic!("not an InputError: {text}"));
        assert!(text.contains("orders.csv"), "{text}");
        if input.line > 0 {
            assert!(text.contains(&format!(", line {}", input.line)), "{text}");
        }
    }
});
