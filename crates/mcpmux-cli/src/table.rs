//! Plain-text tables for people: aligned columns, long cells cut with `…`, control characters
//! escaped (cells come from servers).

use std::io::{self, Write};

/// A table: a header and rows of cells.
#[derive(Debug)]
pub struct Table {
    header: Vec<&'static str>,
    /// The widest each column may be (`None`: no limit).
    limits: Vec<Option<usize>>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles and width limits.
    pub fn new(columns: &[(&'static str, Option<usize>)]) -> Self {
        Table {
            header: columns.iter().map(|(h, _)| *h).collect(),
            limits: columns.iter().map(|(_, l)| *l).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty).
    pub fn row(&mut self, cells: Vec<String>) {
        let cells = cells
            .into_iter()
            .zip(&self.limits)
            .map(|(c, limit)| fit(&clean(&c), *limit))
            .collect();
        self.rows.push(cells);
    }

    /// Writes the table; the last column is not padded.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: Vec<&str>, out: &mut dyn Write| -> io::Result<()> {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
                }
            }
            writeln!(out, "{}", s.trim_end())
        };
        line(self.header.clone(), out)?;
        for row in &self.rows {
            let mut cells: Vec<&str> = row.iter().map(String::as_str).collect();
            cells.resize(n, "");
            line(cells, out)?;
        }
        out.flush()
    }
}

/// The first line of `s`, with control characters escaped.
pub fn clean(s: &str) -> String {
    let first = s.lines().next().unwrap_or("").trim();
    let more = s.trim().lines().nth(1).is_some();
    let mut out: String = first
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if more {
        out.push_str(" …");
    }
    out
}

/// `s` cut to `limit` characters, ending in `…` when cut.
fn fit(s: &str, limit: Option<usize>) -> String {
    match limit {
        Some(l) if s.chars().count() > l && l > 1 => {
            let mut cut: String = s.chars().take(l - 1).collect();
            cut.push('…');
            cut
        }
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_cells_are_cut() {
        let mut t = Table::new(&[("NAME", None), ("DESCRIPTION", Some(8))]);
        t.row(vec!["a".into(), "short".into()]);
        t.row(vec![
            "longer_name".into(),
            "a very long text\nsecond line".into(),
        ]);
        t.row(vec!["esc\u{1b}[31m".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME           DESCRIPTION\n\
             a              short\n\
             longer_name    a very …\n\
             esc\\u{1b}[31m\n"
        );
    }
}
