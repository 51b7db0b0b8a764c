//! Unicode-aware text utilities: display width and padding, word
//! wrapping and justification, case conversion, edit distances, slugs,
//! word frequencies and palindromes. Everything works on `char`s, never on
//! raw bytes.

pub mod analysis;
pub mod case;
pub mod distance;
pub mod width;
pub mod wrap;

pub use analysis::{is_palindrome, slugify, word_frequency, words};
pub use case::{to_camel_case, to_kebab_case, to_pascal_case, to_snake_case};
pub use distance::{closest, levenshtein};
pub use width::{center, grapheme_count, pad_left, pad_right, str_width};
pub use wrap::{fill, truncate, wrap};

/// Number of Unicode scalar values in `s` (not bytes, not graphemes).
pub fn char_count(s: &str) -> usize {
    s.chars().count()
}

/// Lays out `rows` as a table with columns padded to their widest cell,
/// separated by `" | "`. Rows may have different lengths.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(str_width(cell));
        }
    }
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, cell)| pad_right(cell, widths[i], ' '))
                .collect();
            cells.join(" | ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_count_vs_bytes() {
        assert_eq!(char_count("héllo"), 5);
        assert_eq!("héllo".len(), 6);
        assert_eq!(char_count("日本"), 2);
        assert_eq!(char_count(""), 0);
    }

    #[test]
    fn table_aligns_by_display_width() {
        let rows = vec![
            vec!["name".to_string(), "qty".to_string()],
            vec!["日本".to_string(), "12".to_string()],
            vec!["apple".to_string()],
        ];
        assert_eq!(table(&rows), "name  | qty\n日本  | 12\napple");
        assert_eq!(table(&[]), "");
        let empty_first = vec![
            vec![String::new(), "x".to_string()],
            vec![String::new(), "yy".to_string()],
        ];
        assert_eq!(table(&empty_first), " | x\n | yy");
    }
}
