//! Any bytes as a settlement file: the first byte picks the format (detected,
//! or one forced) and the file name (a canonical-style name, or UnionPay's
//! INN name that carries the year). No input may panic; every refusal is an
//! InputError naming the file, and the line when it has one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payrecon::error::InputError;
use payrecon::ingest::settlement;
use std::path::Path;

const FORMATS: [Option<&str>; 5] = [
    None,
    Some("canonical"),
    Some("stripe"),
    Some("adyen"),
    Some("unionpay"),
];
const NAMES: [&str; 2] = ["wechat-2026-11-21.csv", "INN26112188ZM_802310048993424"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(pick) % FORMATS.len()];
    let path = Path::new(NAMES[usize::from(pick / 8) % NAMES.len()]);
    let settings = Default::default();
    let cx = settlement::Context {
        path,
        zone: payrecon::config::Config::default().zone,
        default_currency: "CNY",
        settings: &settings,
    };
    let mut rows = 0u64;
    let result = settlement::read_file(bytes, &cx, format, None, &mut |record| {
        assert!(record.amount_minor > 0, "{record:?}");
        rows += 1;
        Ok(())
    });
    match result {
        Ok(parsed) => assert_eq!(parsed.rows, rows),
        Err(err) => judge(path, &err),
    }
});

fn judge(path: &Path, err: &anyhow::Error) {
    let text = format!("{err:#}");
    let input = err
        .downcast_ref::<InputError>()
        .unwrap_or_else(|| panic!("not an InputError: {text}"));
    assert!(text.contains(&path.display().to_string()), "{text}");
    if input.line > 0 {
        assert!(text.contains(&format!(", line {}", input.line)), "{text}");
    }
}
