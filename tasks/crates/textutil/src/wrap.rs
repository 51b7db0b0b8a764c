//! Word wrapping, justification, indentation and truncation by display width.

use crate::width::{char_width, str_width, take_width};

/// Splits `word` into pieces at most `width` columns wide. A character
/// wider than `width` gets a piece of its own.
pub fn break_word(word: &str, width: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut used = 0;
    for c in word.chars() {
        let w = char_width(c);
        if used + w > width && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
            used = 0;
        }
        current.push(c);
        used += w;
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Greedy word wrap to lines of at most `width` columns (a width of 0 is
/// treated as 1). Existing line breaks are kept, runs of whitespace
/// collapse to one space, and words longer than `width` are broken.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut current = String::new();
        let mut used = 0;
        for word in paragraph.split_whitespace() {
            let w = str_width(word);
            if used > 0 && used + 1 + w <= width {
                current.push(' ');
                current.push_str(word);
                used += 1 + w;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut current));
            }
            if w <= width {
                current.push_str(word);
                used = w;
                continue;
            }
            let mut pieces = break_word(word, width);
            let last = pieces.pop().unwrap_or_default();
            lines.extend(pieces);
            used = str_width(&last);
            current = last;
        }
        lines.push(current);
    }
    lines
}

/// [`wrap`] joined with newlines.
pub fn fill(text: &str, width: usize) -> String {
    wrap(text, width).join("\n")
}

/// Spreads the words of `line` over exactly `width` columns, giving extra
/// spaces to the leftmost gaps. A single word is padded on the right; a
/// line that does not fit is returned with single spaces.
pub fn justify(line: &str, width: usize) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.is_empty() {
        return " ".repeat(width);
    }
    let text_width: usize = words.iter().map(|w| str_width(w)).sum();
    let gaps = words.len() - 1;
    if text_width + gaps >= width || gaps == 0 {
        let joined = words.join(" ");
        let have = str_width(&joined);
        if gaps == 0 && have < width {
            return format!("{joined}{}", " ".repeat(width - have));
        }
        return joined;
    }
    let spaces = width - text_width;
    let base = spaces / gaps;
    let extra = spaces % gaps;
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        out.push_str(word);
        if i < gaps {
            let n = if i < extra { base + 1 } else { base };
            out.push_str(&" ".repeat(n));
        }
    }
    out
}

/// Prefixes every non-blank line of `text` with `prefix`.
pub fn indent(text: &str, prefix: &str) -> String {
    text.split('\n')
        .map(|line| {
            if line.trim().is_empty() {
                line.to_string()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Removes the longest run of leading spaces and tabs shared by all
/// non-blank lines. Blank lines become empty.
pub fn dedent(text: &str) -> String {
    let margin = text
        .split('\n')
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    text.split('\n')
        .map(|line| {
            if line.trim().is_empty() {
                ""
            } else {
                &line[margin..]
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Shortens `s` to at most `max_width` columns, ending with `ellipsis`
/// when something was cut. If even the ellipsis does not fit, the plain
/// prefix is returned.
pub fn truncate(s: &str, max_width: usize, ellipsis: &str) -> String {
    if str_width(s) <= max_width {
        return s.to_string();
    }
    let ellipsis_width = str_width(ellipsis);
    if ellipsis_width > max_width {
        return take_width(s, max_width).to_string();
    }
    let kept = take_width(s, max_width - ellipsis_width);
    format!("{}{ellipsis}", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn break_long_words() {
        assert_eq!(break_word("abcdefg", 3), vec!["abc", "def", "g"]);
        assert_eq!(break_word("abcdef", 3), vec!["abc", "def"]);
        assert_eq!(break_word("ab", 5), vec!["ab"]);
        assert_eq!(break_word("日本語", 3), vec!["日", "本", "語"]);
        assert_eq!(break_word("日本語", 1), vec!["日", "本", "語"]);
        assert!(break_word("", 3).is_empty());
    }

    #[test]
    fn wrap_greedy() {
        assert_eq!(
            wrap("the quick brown fox jumps over the lazy dog", 10),
            vec!["the quick", "brown fox", "jumps over", "the lazy", "dog"]
        );
    }

    #[test]
    fn wrap_counts_separating_spaces() {
        assert_eq!(wrap("a b c d", 5), vec!["a b c", "d"]);
        assert_eq!(wrap("a bc", 10), vec!["a bc"]);
        assert_eq!(wrap("a bc", 3), vec!["a", "bc"]);
    }

    #[test]
    fn wrap_exact_fit_and_one_over() {
        assert_eq!(wrap("aaa bbb", 7), vec!["aaa bbb"]);
        assert_eq!(wrap("aaa bbb", 6), vec!["aaa", "bbb"]);
        assert_eq!(wrap("aaa", 3), vec!["aaa"]);
    }

    #[test]
    fn wrap_breaks_long_words_and_continues() {
        assert_eq!(wrap("a abcdefgh b", 3), vec!["a", "abc", "def", "gh", "b"]);
        assert_eq!(wrap("abcdefgh xy", 4), vec!["abcd", "efgh", "xy"]);
        assert_eq!(wrap("abcdef g", 4), vec!["abcd", "ef g"]);
    }

    #[test]
    fn wrap_keeps_paragraphs_and_blank_lines() {
        assert_eq!(wrap("one two\n\nthree", 20), vec!["one two", "", "three"]);
        assert_eq!(wrap("", 5), vec![""]);
        assert_eq!(wrap("  spaced   out  ", 20), vec!["spaced out"]);
    }

    #[test]
    fn wrap_counts_display_width() {
        assert_eq!(wrap("日本 語", 4), vec!["日本", "語"]);
        assert_eq!(wrap("日本 語", 6), vec!["日本", "語"]);
        assert_eq!(wrap("日本 語", 7), vec!["日本 語"]);
        assert_eq!(wrap("ab cd", 0), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn fill_joins_lines() {
        assert_eq!(fill("aa bb cc", 5), "aa bb\ncc");
    }

    #[test]
    fn justify_distributes_spaces_left_first() {
        assert_eq!(justify("a b c", 10), "a    b   c");
        assert_eq!(justify("a b c", 9), "a   b   c");
        assert_eq!(justify("a b c", 8), "a   b  c");
        assert_eq!(justify("ab cd", 6), "ab  cd");
        assert_eq!(justify("ab cd", 5), "ab cd");
        assert_eq!(justify("ab cd", 3), "ab cd");
    }

    #[test]
    fn justify_single_word_and_empty() {
        assert_eq!(justify("word", 7), "word   ");
        assert_eq!(justify("word", 4), "word");
        assert_eq!(justify("word", 2), "word");
        assert_eq!(justify("   ", 3), "   ");
    }

    #[test]
    fn indent_skips_blank_lines() {
        assert_eq!(indent("a\n\n  b\n", "> "), "> a\n\n>   b\n");
        assert_eq!(indent("", "--"), "");
    }

    #[test]
    fn dedent_common_margin() {
        assert_eq!(dedent("    a\n      b\n    c"), "a\n  b\nc");
        assert_eq!(dedent("  a\n\n    b\n  "), "a\n\n  b\n");
        assert_eq!(dedent("\tx\n\ty"), "x\ny");
        assert_eq!(dedent("a\n  b"), "a\n  b");
        assert_eq!(dedent(""), "");
    }

    #[test]
    fn truncate_with_ellipsis() {
        assert_eq!(truncate("hello world", 11, "…"), "hello world");
        assert_eq!(truncate("hello world", 10, "…"), "hello wor…");
        assert_eq!(truncate("hello world", 7, "..."), "hell...");
        assert_eq!(truncate("hello world", 9, "..."), "hello...");
        assert_eq!(truncate("hello", 2, "..."), "he");
        assert_eq!(truncate("hello", 3, "..."), "...");
        assert_eq!(truncate("日本語テキスト", 7, "…"), "日本語…");
    }
}
