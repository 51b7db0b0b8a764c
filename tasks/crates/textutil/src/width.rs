//! Display width of characters and strings, and padding by width.
//!
//! A simplified model of terminal width: control characters and combining
//! marks take no columns, East Asian wide characters and most emoji take
//! two, everything else one.

/// Zero width joiner, which glues emoji sequences together.
pub const ZWJ: char = '\u{200D}';

/// True for combining marks and other zero-width modifiers.
pub fn is_combining(c: char) -> bool {
    matches!(
        c as u32,
        0x0300..=0x036F
            | 0x1AB0..=0x1AFF
            | 0x1DC0..=0x1DFF
            | 0x20D0..=0x20FF
            | 0xFE00..=0xFE0F
            | 0xFE20..=0xFE2F
            | 0x200B..=0x200D
    )
}

/// True for characters that occupy two terminal columns.
pub fn is_wide(c: char) -> bool {
    matches!(
        c as u32,
        0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD
    )
}

/// Columns taken by `c`: 0, 1 or 2.
pub fn char_width(c: char) -> usize {
    if c.is_control() || is_combining(c) {
        0
    } else if is_wide(c) {
        2
    } else {
        1
    }
}

/// Columns taken by `s`.
pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Approximate count of user-perceived characters: combining marks attach
/// to the previous character, a zero width joiner glues the next character
/// to the previous one, and `\r\n` counts once.
pub fn grapheme_count(s: &str) -> usize {
    let mut count = 0;
    let mut join_next = false;
    let mut prev: Option<char> = None;
    for c in s.chars() {
        let after = prev.replace(c);
        if c == ZWJ {
            join_next = count > 0;
            continue;
        }
        if is_combining(c) && count > 0 {
            continue;
        }
        if join_next {
            join_next = false;
            continue;
        }
        if c == '\n' && after == Some('\r') {
            continue;
        }
        count += 1;
    }
    count
}

/// The longest prefix of `s` that fits in `max_width` columns.
pub fn take_width(s: &str, max_width: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = char_width(c);
        if used + w > max_width {
            return &s[..i];
        }
        used += w;
    }
    s
}

fn fill_str(fill: char, columns: usize) -> String {
    let w = char_width(fill).max(1);
    std::iter::repeat_n(fill, columns / w).collect()
}

/// `s` followed by `fill` up to `width` columns; unchanged if already as wide.
pub fn pad_right(s: &str, width: usize, fill: char) -> String {
    let have = str_width(s);
    if have >= width {
        return s.to_string();
    }
    format!("{s}{}", fill_str(fill, width - have))
}

/// `fill` followed by `s` up to `width` columns; unchanged if already as wide.
pub fn pad_left(s: &str, width: usize, fill: char) -> String {
    let have = str_width(s);
    if have >= width {
        return s.to_string();
    }
    format!("{}{s}", fill_str(fill, width - have))
}

/// `s` centred in `width` columns; an odd leftover column goes to the right.
pub fn center(s: &str, width: usize, fill: char) -> String {
    let have = str_width(s);
    if have >= width {
        return s.to_string();
    }
    let total = width - have;
    let left = total / 2;
    let right = total - left;
    format!("{}{s}{}", fill_str(fill, left), fill_str(fill, right))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_of_single_chars() {
        assert_eq!(char_width('a'), 1);
        assert_eq!(char_width('é'), 1);
        assert_eq!(char_width('\u{0301}'), 0);
        assert_eq!(char_width('\t'), 0);
        assert_eq!(char_width('中'), 2);
        assert_eq!(char_width('한'), 2);
        assert_eq!(char_width('🎉'), 2);
        assert_eq!(char_width('Ａ'), 2);
    }

    #[test]
    fn range_boundaries() {
        assert!(is_wide('\u{1100}'));
        assert!(is_wide('\u{115F}'));
        assert!(!is_wide('\u{1160}'));
        assert!(!is_wide('\u{10FF}'));
        assert!(is_combining('\u{0300}'));
        assert!(is_combining('\u{036F}'));
        assert!(!is_combining('\u{0370}'));
        assert!(!is_combining('\u{02FF}'));
    }

    #[test]
    fn every_wide_range_includes_its_last_char() {
        let last_chars = [
            0x115F, 0x303E, 0x33FF, 0x4DBF, 0x9FFF, 0xA4CF, 0xD7A3, 0xFAFF, 0xFE4F, 0xFF60, 0xFFE6,
            0x1F64F, 0x1F9FF, 0x3FFFD,
        ];
        for code in last_chars {
            let c = char::from_u32(code).unwrap();
            assert!(is_wide(c), "U+{code:04X} should be wide");
            assert_eq!(char_width(c), 2, "U+{code:04X}");
        }
        for code in [0x036F, 0x1AFF, 0x1DFF, 0x20FF, 0xFE0F, 0xFE2F, 0x200D] {
            let c = char::from_u32(code).unwrap();
            assert!(is_combining(c), "U+{code:04X} should be combining");
        }
    }

    #[test]
    fn string_width_mixes_widths() {
        assert_eq!(str_width(""), 0);
        assert_eq!(str_width("hello"), 5);
        assert_eq!(str_width("日本語"), 6);
        assert_eq!(str_width("e\u{0301}t\u{0301}e\u{0301}"), 3);
        assert_eq!(str_width("a中b"), 4);
    }

    #[test]
    fn grapheme_count_combining_and_joiners() {
        assert_eq!(grapheme_count("hello"), 5);
        assert_eq!(grapheme_count("e\u{0301}"), 1);
        assert_eq!(grapheme_count("cafe\u{0301}!"), 5);
        assert_eq!(grapheme_count("👨\u{200D}👩\u{200D}👧"), 1);
        assert_eq!(grapheme_count("👨\u{200D}👩x"), 2);
        assert_eq!(grapheme_count("a\r\nb"), 3);
        assert_eq!(grapheme_count("\n\n"), 2);
        assert_eq!(grapheme_count(""), 0);
    }

    #[test]
    fn grapheme_count_leading_marks_count() {
        assert_eq!(grapheme_count("\u{0301}a"), 2);
        assert_eq!(grapheme_count("\u{200D}a"), 1);
    }

    #[test]
    fn take_width_respects_columns() {
        assert_eq!(take_width("hello", 3), "hel");
        assert_eq!(take_width("hello", 5), "hello");
        assert_eq!(take_width("hello", 9), "hello");
        assert_eq!(take_width("日本語", 5), "日本");
        assert_eq!(take_width("日本語", 1), "");
        assert_eq!(take_width("e\u{0301}x", 1), "e\u{0301}");
    }

    #[test]
    fn padding() {
        assert_eq!(pad_right("ab", 5, '.'), "ab...");
        assert_eq!(pad_left("ab", 5, ' '), "   ab");
        assert_eq!(pad_left("7", 3, '0'), "007");
        assert_eq!(pad_right("abcdef", 3, '.'), "abcdef");
        assert_eq!(pad_left("abc", 3, '.'), "abc");
        assert_eq!(pad_right("中", 4, '-'), "中--");
    }

    #[test]
    fn wide_fill_never_overflows() {
        assert_eq!(pad_right("a", 4, '中'), "a中");
        assert_eq!(pad_left("ab", 6, '中'), "中中ab");
    }

    #[test]
    fn centering() {
        assert_eq!(center("ab", 6, '*'), "**ab**");
        assert_eq!(center("ab", 5, '*'), "*ab**");
        assert_eq!(center("ab", 3, ' '), "ab ");
        assert_eq!(center("abc", 2, ' '), "abc");
        assert_eq!(center("日本", 8, '.'), "..日本..");
    }
}
