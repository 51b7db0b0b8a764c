//! Edit distances and fuzzy matching over Unicode scalar values.

/// Minimum number of single-character insertions, deletions and
/// substitutions turning `a` into `b`.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() {
        return b.len();
    }
    if b.is_empty() {
        return a.len();
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut curr = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        curr[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            curr[j] = (prev[j] + 1).min(curr[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut curr);
    }
    prev[b.len()]
}

/// Like [`levenshtein`] but a swap of two adjacent characters also costs
/// one (optimal string alignment distance).
pub fn damerau_levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

/// Number of positions at which equal-length strings differ; `None` when
/// the lengths (in characters) differ.
pub fn hamming(a: &str, b: &str) -> Option<usize> {
    if a.chars().count() != b.chars().count() {
        return None;
    }
    Some(a.chars().zip(b.chars()).filter(|(x, y)| x != y).count())
}

/// Similarity in `[0, 1]`: `1 - levenshtein / longer length`. Two empty
/// strings are identical (1.0).
pub fn similarity(a: &str, b: &str) -> f64 {
    let longest = a.chars().count().max(b.chars().count());
    if longest == 0 {
        return 1.0;
    }
    1.0 - levenshtein(a, b) as f64 / longest as f64
}

/// The candidate closest to `word` by Levenshtein distance, if within
/// `max_distance`. Ties go to the earliest candidate. Comparison ignores
/// case.
pub fn closest<'a>(word: &str, candidates: &[&'a str], max_distance: usize) -> Option<&'a str> {
    let target = word.to_lowercase();
    let mut best: Option<(&'a str, usize)> = None;
    for &candidate in candidates {
        let d = levenshtein(&target, &candidate.to_lowercase());
        if d > max_distance {
            continue;
        }
        match best {
            Some((_, best_d)) if best_d <= d => {}
            _ => best = Some((candidate, d)),
        }
    }
    best.map(|(c, _)| c)
}

/// The longest common prefix of `a` and `b`, on character boundaries.
pub fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let mut end = 0;
    for ((i, x), y) in a.char_indices().zip(b.chars()) {
        if x != y {
            return &a[..i];
        }
        end = i + x.len_utf8();
    }
    &a[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_classics() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
        assert_eq!(levenshtein("saturday", "sunday"), 3);
        assert_eq!(levenshtein("abc", "abc"), 0);
    }

    #[test]
    fn levenshtein_empty_and_symmetric() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("abcd", ""), 4);
        assert_eq!(levenshtein("ab", "ba"), 2);
        assert_eq!(
            levenshtein("gumbo", "gambol"),
            levenshtein("gambol", "gumbo")
        );
    }

    #[test]
    fn levenshtein_counts_chars_not_bytes() {
        assert_eq!(levenshtein("café", "cafe"), 1);
        assert_eq!(levenshtein("日本", "日本語"), 1);
        assert_eq!(levenshtein("ñ", "n"), 1);
    }

    #[test]
    fn damerau_counts_transpositions_once() {
        assert_eq!(damerau_levenshtein("ab", "ba"), 1);
        assert_eq!(damerau_levenshtein("abcd", "acbd"), 1);
        assert_eq!(damerau_levenshtein("ca", "abc"), 3);
        assert_eq!(damerau_levenshtein("kitten", "sitting"), 3);
        assert_eq!(damerau_levenshtein("", "xy"), 2);
        assert_eq!(damerau_levenshtein("xy", ""), 2);
    }

    #[test]
    fn hamming_distance() {
        assert_eq!(hamming("karolin", "kathrin"), Some(3));
        assert_eq!(hamming("", ""), Some(0));
        assert_eq!(hamming("abc", "ab"), None);
        assert_eq!(hamming("日本", "日木"), Some(1));
    }

    #[test]
    fn similarity_ratio() {
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("abc", "abc"), 1.0);
        assert_eq!(similarity("abcd", "abcf"), 0.75);
        assert_eq!(similarity("ab", "abcd"), 0.5);
        assert_eq!(similarity("abc", "xyz"), 0.0);
    }

    #[test]
    fn closest_candidate() {
        let commands = ["commit", "checkout", "cherry-pick", "clone"];
        assert_eq!(closest("comit", &commands, 2), Some("commit"));
        assert_eq!(closest("CLONE", &commands, 0), Some("clone"));
        assert_eq!(closest("xyz", &commands, 2), None);
        assert_eq!(closest("chekout", &commands, 1), Some("checkout"));
        assert_eq!(closest("anything", &[], 5), None);
    }

    #[test]
    fn closest_ties_prefer_first() {
        assert_eq!(closest("cat", &["bat", "cap", "cat"], 1), Some("cat"));
        assert_eq!(closest("cat", &["bat", "cap"], 1), Some("bat"));
        assert_eq!(closest("cat", &["cap", "bat"], 1), Some("cap"));
        assert_eq!(closest("ab", &["abcd", "xb"], 2), Some("xb"));
    }

    #[test]
    fn common_prefixes() {
        assert_eq!(common_prefix("interstellar", "internet"), "inter");
        assert_eq!(common_prefix("abc", "abc"), "abc");
        assert_eq!(common_prefix("abc", "abcdef"), "abc");
        assert_eq!(common_prefix("abcdef", "abc"), "abc");
        assert_eq!(common_prefix("abc", "xyz"), "");
        assert_eq!(common_prefix("日本語", "日本人"), "日本");
        assert_eq!(common_prefix("", "abc"), "");
    }
}
