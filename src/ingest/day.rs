//! What a settlement file's name says: the channel day it covers.
//!
//! `wechat-2026-11-21.csv`, `alipay_20261121.csv`, `2088…0156_20261121_业务明细.csv`:
//! a date is eight digits (or `YYYY-MM-DD`, `YYYY_MM_DD`) not glued to other
//! digits, so a 16-digit merchant number is never mistaken for one.

use chrono::NaiveDate;
use std::path::Path;

/// The one date in the file name, `Ok(None)` if there is none, `Err` with the
/// dates found if there are several different ones.
pub fn day_from_name(path: &Path) -> Result<Option<NaiveDate>, Vec<NaiveDate>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut found: Vec<NaiveDate> = Vec::new();
    let bytes = name.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    for start in 0..bytes.len() {
        if !digit(start) || (start > 0 && digit(start - 1)) {
            continue;
        }
        for (len, sep) in [(10, Some(b'-')), (10, Some(b'_')), (8, None)] {
            let Some(candidate) = name.get(start..start + len) else {
                continue;
            };
            if digit(start + len) {
                continue;
            }
            let compact: String = match sep {
                Some(s) if candidate.as_bytes()[4] == s && candidate.as_bytes()[7] == s => {
                    candidate.chars().filter(char::is_ascii_digit).collect()
                }
                Some(_) => continue,
                None => candidate.to_string(),
            };
            if let Ok(day) = NaiveDate::parse_from_str(&compact, "%Y%m%d")
                && !found.contains(&day)
            {
                found.push(day);
            }
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        _ => Err(found),
    }
}

/// The leading word of a file name (`wechat` in `wechat-2026-11-21.csv`):
/// names the channel of a canonical file that has no rows to say it.
pub fn channel_from_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let word: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    (!word.is_empty()).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(name: &str) -> Result<Option<String>, usize> {
        day_from_name(Path::new(name))
            .map(|d| d.map(|d| d.to_string()))
            .map_err(|v| v.len())
    }

    #[test]
    fn finds_the_date_in_common_names() {
        assert_eq!(day("wechat-2026-11-21.csv"), Ok(Some("2026-11-21".into())));
        assert_eq!(
            day("bills/alipay_20261121.csv"),
            Ok(Some("2026-11-21".into()))
        );
        assert_eq!(
            day("20880211096256330156_20190916_业务明细.csv"),
            Ok(Some("2019-09-16".into()))
        );
        assert_eq!(day("stripe_2026_11_21.csv"), Ok(Some("2026-11-21".into())));
        assert_eq!(day("settlement.csv"), Ok(None));
        assert_eq!(day("batch_123456789.csv"), Ok(None));
        assert_eq!(day("wechat-2026-11-21-to-2026-11-22.csv"), Err(2));
    }

    #[test]
    fn channel_is_the_leading_word() {
        assert_eq!(
            channel_from_name(Path::new("x/WeChat-2026-11-21.csv")).as_deref(),
            Some("wechat")
        );
        assert_eq!(channel_from_name(Path::new("2026-11-21.csv")), None);
    }
}
