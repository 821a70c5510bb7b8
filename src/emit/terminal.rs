//! The short summary printed at the end of a run on a terminal: the
//! figures that matter, coloured (red: action needed; yellow: refunds to
//! issue; green: nothing to do) unless `NO_COLOR` is set. When stdout is
//! not a terminal (a pipe, cron) summary.md is printed as it always was.

use serde_json::Value;

/// Whether to colour: a terminal, and no `NO_COLOR` (any value but empty).
pub fn use_colour(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// A few lines from summary.json's figures, coloured if `colour`.
pub fn short(json: &[u8], out_dir: &std::path::Path, colour: bool) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(json) else {
        return String::new();
    };
    let (red, yellow, green, bold, reset) = if colour {
        ("\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    let totals = |t: &Value| {
        t.as_object()
            .map(|m| {
                m.iter()
                    .map(|(c, a)| format!("{} {c}", a.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .unwrap_or_default()
    };
    let needs = v["needs_action"].as_u64().unwrap_or(0);
    let refunds = v["refunds"]["count"].as_u64().unwrap_or(0);
    let mut text = format!(
        "{bold}payrecon {}{reset}\n",
        v["business_day"].as_str().unwrap_or_default()
    );
    let colour = if needs > 0 { red } else { green };
    text.push_str(&format!(
        "  {colour}{needs} finding(s) need action{reset}, {} open, {} new today, {} resolved today\n",
        v["findings_total"].as_u64().unwrap_or(0),
        v["ledger"]["new"]["count"].as_u64().unwrap_or(0),
        v["ledger"]["resolved_today"]["count"].as_u64().unwrap_or(0),
    ));
    if refunds > 0 {
        text.push_str(&format!(
            "  {yellow}{refunds} refund(s) to issue: {}{reset}\n",
            totals(&v["refunds"]["totals"])
        ));
    }
    for c in v["controls"].as_array().into_iter().flatten() {
        let difference = c["difference"].as_str().unwrap_or("0");
        let shade = if difference.trim_start_matches(['-', '0', '.']).is_empty() {
            green
        } else {
            red
        };
        text.push_str(&format!(
            "  {}: {} {} settled, {shade}difference {}{reset}, match rate {}\n",
            c["channel"].as_str().unwrap_or_default(),
            c["gross"].as_str().unwrap_or_default(),
            c["currency"].as_str().unwrap_or_default(),
            difference,
            c["match_rate"].as_str().unwrap_or_default(),
        ));
    }
    text.push_str(&format!(
        "  open {}\n",
        out_dir.join("report.html").display()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_and_pipes_are_respected() {
        assert!(use_colour(true, None));
        assert!(!use_colour(false, None));
        assert!(!use_colour(true, Some(std::ffi::OsStr::new("1"))));
        assert!(use_colour(true, Some(std::ffi::OsStr::new(""))));
    }

    #[test]
    fn the_short_summary_names_what_needs_action() {
        let json = br#"{"business_day":"2026-11-21","needs_action":2,"findings_total":3,
            "ledger":{"new":{"count":1},"resolved_today":{"count":0}},
            "refunds":{"count":1,"totals":{"CNY":"495.58"}},"controls":[]}"#;
        let text = short(json, std::path::Path::new("out"), true);
        assert!(text.contains("\x1b[31m2 finding(s) need action"), "{text}");
        assert!(text.contains("1 refund(s) to issue: 495.58 CNY"), "{text}");
        let plain = short(json, std::path::Path::new("out"), false);
        assert!(!plain.contains('\x1b') && plain.contains("2 finding(s) need action"));
    }
}
