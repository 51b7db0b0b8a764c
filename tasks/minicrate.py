"""A tiny std-only crate for fast tests of anything that builds and mutates Rust.

``write_mini_crate(dest)`` writes ``minicalc``: four modules (stats, text, grid, parse) with unit
tests, an integration test file, ~25 tests in all; a cold build takes a couple of seconds. Its
code exercises every mutation operator at least once.
"""

from __future__ import annotations

from pathlib import Path

MINI_CRATE: dict[str, str] = {
    "Cargo.toml": """[package]
name = "minicalc"
version = "0.1.0"
edition = "2021"

[lib]
doctest = false

[workspace]
""",
    "src/lib.rs": """//! minicalc: small numeric and text helpers.

pub mod grid;
pub mod parse;
pub mod stats;
pub mod text;

/// Version of the crate's data format.
pub const FORMAT_VERSION: u32 = 3;
""",
    "src/stats.rs": """//! Summary statistics over slices of integers.

/// The largest value allowed in a bucket.
pub const BUCKET_LIMIT: i64 = 100;

/// Arithmetic mean, `None` for an empty slice.
#[allow(clippy::len_zero)]
pub fn mean(values: &[i64]) -> Option<f64> {
    if values.len() == 0 {
        return None;
    }
    let mut total = 0;
    for v in values {
        total += *v;
    }
    Some(total as f64 / values.len() as f64)
}

/// Number of values strictly above `threshold`.
pub fn count_above(values: &[i64], threshold: i64) -> usize {
    values.iter().filter(|v| **v > threshold).count()
}

/// Clamp `value` into `lo..=hi`.
pub fn clamp(value: i64, lo: i64, hi: i64) -> i64 {
    if value < lo {
        lo
    } else if value > hi {
        hi
    } else {
        value
    }
}

/// The spread (max - min) of the values; 0 for an empty slice.
pub fn spread(values: &[i64]) -> i64 {
    let lo = values.iter().copied().fold(i64::MAX, |a, b| a.min(b));
    let hi = values.iter().copied().fold(i64::MIN, |a, b| a.max(b));
    if values.is_empty() {
        0
    } else {
        hi - lo
    }
}

/// Values scaled by `factor` and capped at [`BUCKET_LIMIT`].
pub fn scaled(values: &[i64], factor: f64) -> Vec<i64> {
    let mut out = Vec::new();
    for &v in values {
        let s = (v as f64 * factor * 1.0) as i64;
        out.push(s.min(BUCKET_LIMIT));
    }
    out
}

/// Mean of the values of both slices together.
pub fn mean_of_both(a: &[i64], b: &[i64]) -> Option<f64> {
    let mut all = a.to_vec();
    all.extend_from_slice(b);
    mean(&all)
}

/// Whether every value is even.
pub fn all_even(values: &[i64]) -> bool {
    values.iter().all(|v| v % 2 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_values() {
        assert_eq!(mean(&[1, 2, 3, 6]), Some(3.0));
    }

    #[test]
    fn mean_of_nothing() {
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn counts_strictly_above() {
        assert_eq!(count_above(&[1, 5, 5, 9], 5), 1);
    }

    #[test]
    fn clamps_both_ends() {
        assert_eq!(clamp(-3, 0, 10), 0);
        assert_eq!(clamp(30, 0, 10), 10);
        assert_eq!(clamp(7, 0, 10), 7);
    }

    #[test]
    fn spread_of_values() {
        assert_eq!(spread(&[4, -2, 9]), 11);
        assert_eq!(spread(&[]), 0);
    }

    #[test]
    fn scaled_is_capped() {
        assert_eq!(scaled(&[10, 80], 2.0), vec![20, 100]);
    }

    #[test]
    fn mean_of_two_slices() {
        assert_eq!(mean_of_both(&[1], &[2, 3, 6]), Some(3.0));
    }

    #[test]
    fn evenness() {
        assert!(all_even(&[2, 4, 0]));
        assert!(!all_even(&[2, 3]));
    }
}
""",
    "src/text.rs": """//! Text helpers.

/// Number of whitespace-separated words.
pub fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

/// The first character upper-cased, the rest unchanged.
pub fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => {
            let mut out = first.to_uppercase().collect::<String>();
            out.push_str(chars.as_str());
            out
        }
        None => String::new(),
    }
}

/// Whether `s` reads the same backwards, ignoring ASCII case and non-letters.
pub fn is_palindrome(s: &str) -> bool {
    let letters: Vec<char> = s
        .chars()
        .filter(|c| c.is_alphabetic())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let n = letters.len();
    for i in 0..n / 2 {
        if letters[i] != letters[n - 1 - i] {
            return false;
        }
    }
    true
}

/// `s` repeated `times` times, separated by `sep`.
pub fn repeat_join(s: &str, times: usize, sep: &str) -> String {
    let mut out = String::new();
    for i in 0..times {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(s);
    }
    out
}

/// The longest word (the first one on ties).
pub fn longest_word(s: &str) -> Option<&str> {
    let mut best: Option<&str> = None;
    for w in s.split_whitespace() {
        match best {
            Some(b) if b.len() >= w.len() => {}
            _ => best = Some(w),
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words() {
        assert_eq!(word_count("  a bb  ccc "), 3);
    }

    #[test]
    fn capitalizes() {
        assert_eq!(capitalize("rust"), "Rust");
        assert_eq!(capitalize(""), "");
    }

    #[test]
    fn palindromes() {
        assert!(is_palindrome("A man, a plan, a canal: Panama"));
        assert!(!is_palindrome("rust"));
    }

    #[test]
    fn joins_repeats() {
        assert_eq!(repeat_join("ab", 3, "-"), "ab-ab-ab");
        assert_eq!(repeat_join("ab", 0, "-"), "");
    }

    #[test]
    fn longest_first_on_ties() {
        assert_eq!(longest_word("aa bb c"), Some("aa"));
        assert_eq!(longest_word("a bbb cc"), Some("bbb"));
    }
}
""",
    "src/grid.rs": """//! A small 2-D grid of bytes.

/// A `width` x `height` grid, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    width: usize,
    height: usize,
    cells: Vec<u8>,
}

impl Grid {
    /// A grid filled with zeros.
    pub fn new(width: usize, height: usize) -> Self {
        Grid { width, height, cells: vec![0; width * height] }
    }

    /// The cell at (x, y), `None` outside the grid.
    pub fn get(&self, x: usize, y: usize) -> Option<u8> {
        if x >= self.width || y >= self.height {
            return None;
        }
        Some(self.cells[y * self.width + x])
    }

    /// Set the cell at (x, y); returns false outside the grid.
    pub fn set(&mut self, x: usize, y: usize, value: u8) -> bool {
        if x < self.width && y < self.height {
            self.cells[y * self.width + x] = value;
            true
        } else {
            false
        }
    }

    /// Number of non-zero cells among the (up to 8) neighbours of (x, y).
    pub fn live_neighbours(&self, x: usize, y: usize) -> usize {
        let mut n = 0;
        for dy in 0..=2 {
            for dx in 0..=2 {
                if dx == 1 && dy == 1 {
                    continue;
                }
                if x + dx < 1 || y + dy < 1 {
                    continue;
                }
                if let Some(v) = self.get(x + dx - 1, y + dy - 1) {
                    if v != 0 {
                        n += 1;
                    }
                }
            }
        }
        n
    }

    /// Sum of a row, `None` for a row outside the grid.
    pub fn row_sum(&self, y: usize) -> Option<u32> {
        if y >= self.height {
            return None;
        }
        let start = y * self.width;
        Some(self.cells[start..start + self.width].iter().map(|&c| c as u32).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_set() {
        let mut g = Grid::new(3, 2);
        assert!(g.set(2, 1, 7));
        assert_eq!(g.get(2, 1), Some(7));
        assert_eq!(g.get(3, 0), None);
        assert!(!g.set(0, 2, 1));
    }

    #[test]
    fn neighbours_in_corner() {
        let mut g = Grid::new(3, 3);
        g.set(1, 0, 1);
        g.set(1, 1, 1);
        g.set(0, 1, 1);
        assert_eq!(g.live_neighbours(0, 0), 3);
        assert_eq!(g.live_neighbours(2, 2), 1);
    }

    #[test]
    fn row_sums() {
        let mut g = Grid::new(2, 2);
        g.set(0, 1, 4);
        g.set(1, 1, 5);
        assert_eq!(g.row_sum(1), Some(9));
        assert_eq!(g.row_sum(0), Some(0));
        assert_eq!(g.row_sum(2), None);
    }
}
""",
    "src/parse.rs": """//! Parsing of `key=value` settings and bit flags.

use std::collections::HashMap;

/// An error of [`parse_settings`].
#[derive(Debug, PartialEq)]
pub enum ParseError {
    MissingEquals(usize),
    EmptyKey(usize),
    BadNumber(String),
}

/// Parse `key=value` lines (blank lines and `#` comments skipped) into a map.
pub fn parse_settings(text: &str) -> Result<HashMap<String, String>, ParseError> {
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or(ParseError::MissingEquals(i + 1))?;
        if key.trim().is_empty() {
            return Err(ParseError::EmptyKey(i + 1));
        }
        out.insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(out)
}

/// The numeric value of `key`, or an error when it is not a number.
pub fn number(settings: &HashMap<String, String>, key: &str) -> Result<Option<u32>, ParseError> {
    match settings.get(key) {
        Some(v) => {
            let n = v.parse::<u32>().map_err(|_| ParseError::BadNumber(v.clone()))?;
            Ok(Some(n))
        }
        None => Ok(None),
    }
}

/// Flags packed into a byte: bit `i` set for every `i` in `bits` (bits >= 8 ignored).
pub fn pack_flags(bits: &[u8]) -> u8 {
    let mut flags = 0u8;
    for &b in bits {
        if b < 8 {
            flags |= 1 << b;
        }
    }
    flags
}

/// Whether bit `i` of `flags` is set.
pub fn has_flag(flags: u8, i: u8) -> bool {
    i < 8 && (flags >> i) & 1 == 1
}

/// Classify a number: "zero", "small" (< 10), "even" or "odd".
pub fn classify(n: u32) -> &'static str {
    match n {
        0 => "zero",
        x if x < 10 => "small",
        x if x % 2 == 0 => "even",
        _ => "odd",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_settings() {
        let s = parse_settings("# c\\na = 1\\n\\nb=two\\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s["a"], "1");
        assert_eq!(s["b"], "two");
    }

    #[test]
    fn reports_missing_equals() {
        assert_eq!(parse_settings("a=1\\noops").unwrap_err(), ParseError::MissingEquals(2));
        assert_eq!(parse_settings(" = 3").unwrap_err(), ParseError::EmptyKey(1));
    }

    #[test]
    fn numbers() {
        let s = parse_settings("n=42\\nx=abc").unwrap();
        assert_eq!(number(&s, "n"), Ok(Some(42)));
        assert_eq!(number(&s, "m"), Ok(None));
        assert_eq!(number(&s, "x"), Err(ParseError::BadNumber("abc".into())));
    }

    #[test]
    fn flags_round_trip() {
        let f = pack_flags(&[0, 3, 9]);
        assert_eq!(f, 0b1001);
        assert!(has_flag(f, 3));
        assert!(!has_flag(f, 1));
    }

    #[test]
    fn classifies() {
        assert_eq!(classify(0), "zero");
        assert_eq!(classify(7), "small");
        assert_eq!(classify(12), "even");
        assert_eq!(classify(13), "odd");
    }
}
""",
    "tests/api.rs": """use minicalc::{grid::Grid, parse, stats, text};

#[test]
fn stats_pipeline() {
    let v = [3, 9, 4, 10];
    assert_eq!(stats::count_above(&v, 4), 2);
    assert_eq!(stats::spread(&v), 7);
    assert_eq!(stats::mean(&v), Some(6.5));
}

#[test]
fn text_pipeline() {
    assert_eq!(text::capitalize(text::longest_word("hi there you").unwrap()), "There");
    assert_eq!(text::word_count(&text::repeat_join("x y", 2, " ")), 4);
}

#[test]
fn grid_pipeline() {
    let mut g = Grid::new(4, 4);
    for i in 0..4 {
        g.set(i, i, 1);
    }
    assert_eq!(g.live_neighbours(1, 2), 2);
    assert_eq!(g.row_sum(3), Some(1));
}

#[test]
fn settings_pipeline() {
    let s = parse::parse_settings("level = 7").unwrap();
    let n = parse::number(&s, "level").unwrap().unwrap();
    assert_eq!(parse::classify(n), "small");
    assert_eq!(minicalc::FORMAT_VERSION, 3);
}
""",
}


def write_mini_crate(dest: str | Path, files: dict[str, str] | None = None) -> Path:
    """Write the mini crate (or ``files``, e.g. a modified copy of :data:`MINI_CRATE`) to ``dest``."""
    root = Path(dest)
    for rel, text in (files or MINI_CRATE).items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root
