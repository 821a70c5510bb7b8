//! Inline SVG charts for report.html: horizontal bars and a 30-day trend.
//!
//! Small and dependency-free on purpose: two chart shapes, drawn with text
//! the browser lays out (so CJK labels use the page's font stack). Bar
//! lengths are floats, for drawing only; every figure printed is the exact
//! text the caller gives.

use super::day::TrendDay;
use std::fmt::Write as _;

/// One bar: its label, its length (any unit, drawn relative to the
/// largest) and the exact text shown at its end.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

const BAR_COLOUR: &str = "#2f6fb0";
const NEW_COLOUR: &str = "#e08a1e";
const RESOLVED_COLOUR: &str = "#3a9a5b";
const OPEN_COLOUR: &str = "#2f6fb0";

/// A horizontal bar chart, one row per bar, `title` for screen readers.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let row = 24.0;
    let label_width = 210.0;
    let bar_width = 250.0;
    let value_width = 170.0;
    let width = label_width + bar_width + value_width;
    let height = row * bars.len().max(1) as f64 + 8.0;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    if bars.is_empty() {
        let _ = write!(svg, r#"<text x="0" y="18" class="muted">none</text>"#);
    }
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let length = if max > 0.0 {
            (b.value / max * bar_width).max(2.0)
        } else {
            2.0
        };
        let _ = write!(
            svg,
            r#"<text x="{x}" y="{ty}" text-anchor="end">{label}</text><rect x="{bx}" y="{y}" width="{length:.1}" height="{h}" rx="2" fill="{BAR_COLOUR}"/><text x="{vx:.1}" y="{ty}" class="num">{shown}</text>"#,
            x = label_width - 8.0,
            ty = y + 15.0,
            label = escape(&shorten(&b.label, 28)),
            bx = label_width,
            h = row - 6.0,
            vx = label_width + length + 6.0,
            shown = escape(&b.shown),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The last days' ledger: new and resolved items as bars, open items as a
/// line, with the first and last day named.
pub fn trend(days: &[TrendDay]) -> String {
    let (width, height) = (630.0, 210.0);
    let (left, right, top, bottom) = (40.0, 10.0, 24.0, 36.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max = days
        .iter()
        .map(|d| d.open.max(d.new).max(d.resolved))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = plot_w / days.len().max(1) as f64;
    let y = |v: i64| top + plot_h - v as f64 / max * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="Findings over the last 30 days"><title>Findings over the last 30 days</title>"#
    );
    // Axis and gridlines at 0, half and the maximum.
    for v in [0, (max as i64) / 2, max as i64] {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{x2}" y1="{yv:.1}" y2="{yv:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="num">{v}</text>"##,
            x2 = width - right,
            yv = y(v),
            tx = left - 6.0,
            ty = y(v) + 4.0,
        );
    }
    let bar = (step / 2.0 - 1.0).max(1.0);
    let mut line = String::new();
    for (i, d) in days.iter().enumerate() {
        let x = left + step * i as f64;
        for (value, colour, offset) in [
            (d.new, NEW_COLOUR, 1.0),
            (d.resolved, RESOLVED_COLOUR, bar + 1.0),
        ] {
            if value > 0 {
                let _ = write!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="{colour}"><title>{}: {value}</title></rect>"#,
                    x + offset,
                    y(value),
                    top + plot_h - y(value),
                    d.day
                );
            }
        }
        let _ = write!(
            line,
            "{}{:.1},{:.1}",
            if i == 0 { "M" } else { " L" },
            x + step / 2.0,
            y(d.open)
        );
    }
    let _ = write!(
        svg,
        r#"<path d="{line}" fill="none" stroke="{OPEN_COLOUR}" stroke-width="2"/>"#
    );
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let _ = write!(
            svg,
            r#"<text x="{left}" y="{ly}">{}</text><text x="{rx}" y="{ly}" text-anchor="end">{}</text>"#,
            first.day,
            last.day,
            ly = height - bottom + 16.0,
            rx = width - right,
        );
    }
    // Legend.
    let ly = height - 6.0;
    let _ = write!(
        svg,
        r#"<rect x="{left}" y="{ry}" width="10" height="10" fill="{NEW_COLOUR}"/><text x="{a}" y="{ly}">new</text><rect x="{b}" y="{ry}" width="10" height="10" fill="{RESOLVED_COLOUR}"/><text x="{c}" y="{ly}">resolved</text><line x1="{d}" x2="{e}" y1="{my}" y2="{my}" stroke="{OPEN_COLOUR}" stroke-width="2"/><text x="{f}" y="{ly}">open at day end</text></svg>"#,
        ry = ly - 9.0,
        my = ly - 4.0,
        a = left + 14.0,
        b = left + 60.0,
        c = left + 74.0,
        d = left + 140.0,
        e = left + 160.0,
        f = left + 164.0,
    );
    svg
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('…');
        short
    }
}

/// Text for SVG (XML) content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_values_shown_exactly() {
        let svg = bars(
            "t",
            &[Bar {
                label: "<b>&".into(),
                value: 0.03,
                shown: "0.03 CNY".into(),
            }],
        );
        assert!(svg.contains("&lt;b&gt;&amp;"));
        assert!(svg.contains(">0.03 CNY</text>"));
        assert!(!svg.contains("<b>"));
    }
}
