//! Whole-text helpers: words, frequencies, palindromes, slugs, whitespace.

use std::collections::HashMap;

/// Lowercased words of `text`. A word is a run of alphanumeric characters;
/// an apostrophe between two letters stays inside it (`don't`).
pub fn words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let inner_apostrophe = (c == '\'' || c == '’')
            && !current.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        if c.is_alphanumeric() || inner_apostrophe {
            current.extend(c.to_lowercase());
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Word counts, most frequent first; equal counts in alphabetical order.
pub fn word_frequency(text: &str) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in words(text) {
        *counts.entry(word).or_insert(0) += 1;
    }
    let mut sorted: Vec<(String, usize)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted
}

/// The `n` most frequent words (see [`word_frequency`]).
pub fn top_words(text: &str, n: usize) -> Vec<(String, usize)> {
    let mut freq = word_frequency(text);
    freq.truncate(n);
    freq
}

/// True when the letters and digits of `s` read the same both ways,
/// ignoring case, spaces and punctuation. The empty string is a palindrome.
pub fn is_palindrome(s: &str) -> bool {
    let cleaned: Vec<char> = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let n = cleaned.len();
    for i in 0..n / 2 {
        if cleaned[i] != cleaned[n - 1 - i] {
            return false;
        }
    }
    true
}

/// ASCII replacement for common accented Latin letters.
pub fn fold_accent(c: char) -> Option<&'static str> {
    let folded = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
        'ç' | 'č' | 'ć' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => "e",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'ñ' | 'ń' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' => "u",
        'ý' | 'ÿ' => "y",
        'ł' => "l",
        'š' | 'ś' => "s",
        'ž' | 'ź' | 'ż' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => return None,
    };
    Some(folded)
}

/// URL slug: lowercase ASCII letters and digits separated by single
/// hyphens. Accented Latin letters are folded to ASCII, other characters
/// become separators, and the result is cut to at most `max_len` bytes
/// without leaving a trailing hyphen.
pub fn slugify(s: &str, max_len: usize) -> String {
    let mut slug = String::new();
    let mut pending_sep = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        let piece: Option<String> = if c.is_ascii_alphanumeric() {
            Some(c.to_string())
        } else {
            fold_accent(c).map(str::to_string)
        };
        match piece {
            Some(p) => {
                if pending_sep && !slug.is_empty() {
                    slug.push('-');
                }
                pending_sep = false;
                slug.push_str(&p);
            }
            None => pending_sep = true,
        }
    }
    if slug.len() > max_len {
        slug.truncate(max_len);
        while slug.ends_with('-') {
            slug.pop();
        }
    }
    slug
}

/// Trims `s` and collapses every run of whitespace into one space.
pub fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Removes trailing whitespace from each line and drops blank lines at the
/// end of the text.
pub fn trim_lines(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// The words of `s` in reverse order, separated by single spaces.
pub fn reverse_words(s: &str) -> String {
    s.split_whitespace().rev().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_and_lowercase() {
        assert_eq!(
            words("Hello, World! 42 times"),
            vec!["hello", "world", "42", "times"]
        );
        assert_eq!(words("don't stop"), vec!["don't", "stop"]);
        assert_eq!(words("'quoted' rock'n'roll"), vec!["quoted", "rock'n'roll"]);
        assert_eq!(words("it's 90's"), vec!["it's", "90's"]);
        assert_eq!(words("Ünïcödé wörds"), vec!["ünïcödé", "wörds"]);
        assert!(words(" ... ").is_empty());
    }

    #[test]
    fn frequency_sorted_by_count_then_word() {
        let freq = word_frequency("b a c b a b");
        assert_eq!(
            freq,
            vec![
                ("b".to_string(), 3),
                ("a".to_string(), 2),
                ("c".to_string(), 1)
            ]
        );
        let ties = word_frequency("pear apple fig");
        let order: Vec<&str> = ties.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(order, vec!["apple", "fig", "pear"]);
    }

    #[test]
    fn frequency_ignores_case() {
        assert_eq!(
            word_frequency("The the THE end"),
            vec![("the".to_string(), 3), ("end".to_string(), 1)]
        );
        assert!(word_frequency("").is_empty());
    }

    #[test]
    fn top_n_words() {
        let text = "a b c a b a d";
        assert_eq!(
            top_words(text, 2),
            vec![("a".to_string(), 3), ("b".to_string(), 2)]
        );
        assert_eq!(top_words(text, 0), vec![]);
        assert_eq!(top_words(text, 10).len(), 4);
    }

    #[test]
    fn palindromes() {
        assert!(is_palindrome("A man, a plan, a canal: Panama"));
        assert!(is_palindrome("racecar"));
        assert!(is_palindrome("abba"));
        assert!(is_palindrome(""));
        assert!(is_palindrome("x"));
        assert!(is_palindrome("Ésé"));
        assert!(!is_palindrome("ab"));
        assert!(!is_palindrome("abca"));
        assert!(!is_palindrome("abcxba"));
    }

    #[test]
    fn accent_folding() {
        assert_eq!(fold_accent('é'), Some("e"));
        assert_eq!(fold_accent('ß'), Some("ss"));
        assert_eq!(fold_accent('ø'), Some("o"));
        assert_eq!(fold_accent('e'), None);
        assert_eq!(fold_accent('中'), None);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Hello, World!", 100), "hello-world");
        assert_eq!(
            slugify("  Crème Brûlée  recipe ", 100),
            "creme-brulee-recipe"
        );
        assert_eq!(slugify("Straße 42", 100), "strasse-42");
        assert_eq!(slugify("--already--slugged--", 100), "already-slugged");
        assert_eq!(slugify("日本語", 100), "");
        assert_eq!(slugify("a日b", 100), "a-b");
    }

    #[test]
    fn slug_length_limit() {
        assert_eq!(slugify("one two three", 7), "one-two");
        assert_eq!(slugify("one two three", 8), "one-two");
        assert_eq!(slugify("one two three", 9), "one-two-t");
        assert_eq!(slugify("one two three", 13), "one-two-three");
        assert_eq!(slugify("abc", 0), "");
    }

    #[test]
    fn whitespace_helpers() {
        assert_eq!(collapse_whitespace("  a \t b\n\nc  "), "a b c");
        assert_eq!(collapse_whitespace(""), "");
        assert_eq!(trim_lines("a  \nb\t\n\n  \n"), "a\nb");
        assert_eq!(trim_lines("\n  x\n"), "\n  x");
        assert_eq!(reverse_words(" one  two three "), "three two one");
    }
}
