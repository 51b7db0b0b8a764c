//! Splitting identifiers into words and re-joining them in a given case.

/// Splits `s` into words at non-alphanumeric characters and at case
/// changes: `fooBar` → `foo`, `Bar`; `HTTPServer` → `HTTP`, `Server`;
/// `version2Update` → `version2`, `Update`. Digits stay with the letters
/// before them.
pub fn split_words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() && is_boundary(&chars, i) {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// True when a new word starts at `chars[i]` (given `chars[i - 1]` is part
/// of the current word).
fn is_boundary(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    let prev = chars[i - 1];
    if !c.is_uppercase() {
        return false;
    }
    if prev.is_lowercase() || prev.is_numeric() {
        return true;
    }
    // An acronym ends where an uppercase letter is followed by lowercase:
    // the `S` in `HTTPServer`.
    prev.is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase())
}

/// First character uppercased, the rest lowercased.
pub fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

fn join_lower(s: &str, sep: &str) -> String {
    split_words(s)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(sep)
}

/// `Hello World` → `hello_world`.
pub fn to_snake_case(s: &str) -> String {
    join_lower(s, "_")
}

/// `Hello World` → `hello-world`.
pub fn to_kebab_case(s: &str) -> String {
    join_lower(s, "-")
}

/// `hello world` → `HELLO_WORLD`.
pub fn to_screaming_snake_case(s: &str) -> String {
    split_words(s)
        .iter()
        .map(|w| w.to_uppercase())
        .collect::<Vec<_>>()
        .join("_")
}

/// `hello_world` → `helloWorld`.
pub fn to_camel_case(s: &str) -> String {
    let mut out = String::new();
    for (i, word) in split_words(s).iter().enumerate() {
        if i == 0 {
            out.push_str(&word.to_lowercase());
        } else {
            out.push_str(&capitalize(word));
        }
    }
    out
}

/// `hello_world` → `HelloWorld`.
pub fn to_pascal_case(s: &str) -> String {
    split_words(s).iter().map(|w| capitalize(w)).collect()
}

/// `hello_world` → `Hello World`.
pub fn to_title_case(s: &str) -> String {
    split_words(s)
        .iter()
        .map(|w| capitalize(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// True for a valid snake_case identifier: lowercase letters, digits and
/// single underscores, starting with a letter and not ending with `_`.
pub fn is_snake_case(s: &str) -> bool {
    let mut prev: Option<char> = None;
    for c in s.chars() {
        let ok = match prev {
            None => c.is_lowercase(),
            Some('_') => c.is_lowercase() || c.is_ascii_digit(),
            Some(_) => c.is_lowercase() || c.is_ascii_digit() || c == '_',
        };
        if !ok {
            return false;
        }
        prev = Some(c);
    }
    prev.is_some() && prev != Some('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_on_separators() {
        assert_eq!(
            split_words("hello_world-foo bar"),
            vec!["hello", "world", "foo", "bar"]
        );
        assert_eq!(split_words("  __a--b  "), vec!["a", "b"]);
        assert!(split_words("-_ ").is_empty());
        assert!(split_words("").is_empty());
    }

    #[test]
    fn split_on_case_changes() {
        assert_eq!(split_words("fooBarBaz"), vec!["foo", "Bar", "Baz"]);
        assert_eq!(split_words("HTTPServer"), vec!["HTTP", "Server"]);
        assert_eq!(
            split_words("getHTTPResponse"),
            vec!["get", "HTTP", "Response"]
        );
        assert_eq!(split_words("ABC"), vec!["ABC"]);
        assert_eq!(split_words("Ab"), vec!["Ab"]);
    }

    #[test]
    fn split_with_digits() {
        assert_eq!(split_words("version2Update"), vec!["version2", "Update"]);
        assert_eq!(split_words("utf8"), vec!["utf8"]);
        assert_eq!(split_words("2fast"), vec!["2fast"]);
        assert_eq!(split_words("MP3Player"), vec!["MP3", "Player"]);
    }

    #[test]
    fn split_unicode_letters() {
        assert_eq!(split_words("ÉcoleNormale"), vec!["École", "Normale"]);
        assert_eq!(split_words("straßeÜber"), vec!["straße", "Über"]);
    }

    #[test]
    fn capitalize_words() {
        assert_eq!(capitalize("hELLO"), "Hello");
        assert_eq!(capitalize("é"), "É");
        assert_eq!(capitalize("ßa"), "SSa");
        assert_eq!(capitalize(""), "");
    }

    #[test]
    fn snake_and_kebab() {
        assert_eq!(to_snake_case("HelloWorld"), "hello_world");
        assert_eq!(to_snake_case("parseHTTPRequest2"), "parse_http_request2");
        assert_eq!(to_kebab_case("Hello World"), "hello-world");
        assert_eq!(to_kebab_case("already-kebab"), "already-kebab");
        assert_eq!(to_screaming_snake_case("maxRetryCount"), "MAX_RETRY_COUNT");
    }

    #[test]
    fn camel_pascal_title() {
        assert_eq!(to_camel_case("hello_world"), "helloWorld");
        assert_eq!(to_camel_case("Hello World"), "helloWorld");
        assert_eq!(to_camel_case("XML_http_REQUEST"), "xmlHttpRequest");
        assert_eq!(to_pascal_case("hello-world"), "HelloWorld");
        assert_eq!(to_pascal_case("x"), "X");
        assert_eq!(to_title_case("the_quick brownFox"), "The Quick Brown Fox");
        assert_eq!(to_camel_case(""), "");
    }

    #[test]
    fn conversions_round_trip() {
        for s in ["userId", "httpStatusCode", "a1B2"] {
            assert_eq!(to_camel_case(&to_snake_case(s)), s);
        }
        assert_eq!(to_snake_case(&to_pascal_case("max_value")), "max_value");
    }

    #[test]
    fn snake_case_validation() {
        assert!(is_snake_case("hello_world"));
        assert!(is_snake_case("a"));
        assert!(is_snake_case("v2_api"));
        assert!(is_snake_case("x_1"));
        assert!(!is_snake_case(""));
        assert!(!is_snake_case("_private"));
        assert!(!is_snake_case("trailing_"));
        assert!(!is_snake_case("double__under"));
        assert!(!is_snake_case("Hello"));
        assert!(!is_snake_case("9lives"));
        assert!(!is_snake_case("kebab-case"));
    }
}
