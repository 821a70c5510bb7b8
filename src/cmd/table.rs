//! Plain-text tables for the read commands, at most [`WIDTH`] columns wide:
//! columns are as wide as their widest cell, and when the whole does not
//! fit, the widest columns are cut (with `…`) until it does.

use std::fmt::Write as _;

/// The width every table fits in.
pub const WIDTH: usize = 100;

pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = (0..columns)
            .map(|i| {
                std::iter::once(&self.header[i])
                    .chain(self.rows.iter().filter_map(|r| r.get(i)))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let gaps = 2 * columns.saturating_sub(1);
        while widths.iter().sum::<usize>() + gaps > WIDTH {
            let (widest, width) = widths
                .iter()
                .copied()
                .enumerate()
                .max_by_key(|(_, w)| *w)
                .unwrap_or_default();
            if width <= 8 {
                break;
            }
            widths[widest] = width - 1;
        }
        let mut text = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                if i > 0 {
                    line.push_str("  ");
                }
                let _ = write!(line, "{:<width$}", cut(cell, *width));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// `text` in at most `width` characters.
pub fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Writes `rows` as CSV with `header`.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(row)?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

/// Breaks `text` into lines of at most `width` characters at spaces, the
/// later lines indented by `indent` spaces.
pub fn wrap(text: &str, width: usize, indent: usize) -> String {
    let body = text.trim_start_matches(' ');
    let lead = text.len() - body.len();
    let mut out = String::new();
    let mut line = " ".repeat(lead);
    for word in body.split(' ') {
        let limit = if out.is_empty() {
            width
        } else {
            width - indent
        };
        if line.len() > lead && line.chars().count() + 1 + word.chars().count() > limit {
            if !out.is_empty() {
                out.push_str(&" ".repeat(indent));
            }
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.trim_start().is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !out.is_empty() {
        out.push_str(&" ".repeat(indent));
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_table_is_cut_to_fit() {
        let mut table = Table::new(&["a", "b"]);
        table.row(vec!["x".repeat(80), "y".repeat(80)]);
        let text = table.render();
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(text.contains('…'));
    }

    #[test]
    fn long_text_wraps_with_an_indent() {
        let text = wrap(&"word ".repeat(40), 30, 4);
        assert!(text.lines().all(|l| l.chars().count() <= 30), "{text}");
        assert!(text.lines().skip(1).all(|l| l.starts_with("    ")));
    }
}
