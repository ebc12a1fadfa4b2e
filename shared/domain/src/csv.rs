//! CSV files the way our exports write them (the audit log, a till's day): RFC 4180, every field
//! quoted with quotes doubled, CRLF line ends, a header row first.

/// The CSV text of `header` (plain names, written as they are) then `rows`.
pub fn write<R, F>(header: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<str>,
{
    let field = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&row.iter().map(|f| field(f.as_ref())).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// A cell of free text (a note, a reason, a reference someone typed) as a spreadsheet should
/// show it: text that a spreadsheet would read as a formula (starting `=`, `+`, `-`, `@`, a tab
/// or a carriage return) gets a leading `'`, so opening the export runs nothing (CSV injection).
/// Amounts are written as they are; they are ours.
pub fn text_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_a_spreadsheet_would_run_as_a_formula_is_written_as_text() {
        assert_eq!(super::text_cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(super::text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::text_cell("Drawer short, see note"), "Drawer short, see note");
    }

    #[test]
    fn every_field_is_quoted_and_quotes_are_doubled() {
        let text = super::write(&["a", "b"], vec![vec!["x, y", "say \"hi\"\nthere"]]);
        assert_eq!(text, "a,b\r\n\"x, y\",\"say \"\"hi\"\"\nthere\"\r\n");
    }
}
