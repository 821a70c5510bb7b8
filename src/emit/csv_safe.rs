//! CSV a person may open in a spreadsheet: text that starts like a formula
//! (`=`, `+`, `-`, `@`, tab, carriage return) gets a leading `'`, so Excel
//! shows it instead of evaluating it. Amounts are never passed through here:
//! they are written by payrecon itself and must stay numbers.

/// Neutralises one text field.
pub fn text(value: &str) -> std::borrow::Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// A CSV writer into memory, with `\n` line ends.
pub fn writer() -> csv::Writer<Vec<u8>> {
    writer_to(Vec::new())
}

/// A CSV writer into `out`, with `\n` line ends.
pub fn writer_to<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_plain_text_kept() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("+1"), "'+1");
        assert_eq!(text("-2"), "'-2");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("\tx"), "'\tx");
        assert_eq!(text("O-123"), "O-123");
        assert_eq!(text(""), "");
    }
}
