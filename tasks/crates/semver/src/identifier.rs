//! Pre-release identifiers and their precedence rules.

use std::cmp::Ordering;
use std::fmt;

use crate::error::{parse_number, ErrorKind, ParseError};

/// One dot-separated pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    Numeric(u64),
    Alpha(String),
}

impl Ord for Identifier {
    /// Numeric identifiers compare numerically, alphanumeric ones in ASCII order, and
    /// numeric identifiers always have lower precedence than alphanumeric ones.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => a.cmp(b),
            (Identifier::Alpha(a), Identifier::Alpha(b)) => a.cmp(b),
            (Identifier::Numeric(_), Identifier::Alpha(_)) => Ordering::Less,
            (Identifier::Alpha(_), Identifier::Numeric(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Numeric(n) => write!(f, "{n}"),
            Identifier::Alpha(s) => f.write_str(s),
        }
    }
}

fn is_identifier_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '-'
}

/// Checks one dot-separated segment list and returns the segments with their offsets.
fn segments(text: &str, offset: usize) -> Result<Vec<(&str, usize)>, ParseError> {
    let mut out = Vec::new();
    let mut start = 0;
    for part in text.split('.') {
        let pos = offset + start;
        if part.is_empty() {
            return Err(ParseError::new(ErrorKind::EmptyIdentifier, pos));
        }
        if let Some((i, ch)) = part.char_indices().find(|&(_, c)| !is_identifier_char(c)) {
            return Err(ParseError::new(ErrorKind::UnexpectedChar(ch), pos + i));
        }
        out.push((part, pos));
        start += part.len() + 1;
    }
    Ok(out)
}

/// Parses a pre-release (`alpha.1`); numeric identifiers may not have leading zeros.
pub fn parse_pre(text: &str, offset: usize) -> Result<Vec<Identifier>, ParseError> {
    let mut ids = Vec::new();
    for (part, pos) in segments(text, offset)? {
        if part.bytes().all(|b| b.is_ascii_digit()) {
            ids.push(Identifier::Numeric(parse_number(part, pos)?));
        } else {
            ids.push(Identifier::Alpha(part.to_string()));
        }
    }
    Ok(ids)
}

/// Parses build metadata (`build.007`); identifiers are kept as text.
pub fn parse_build(text: &str, offset: usize) -> Result<Vec<String>, ParseError> {
    Ok(segments(text, offset)?
        .into_iter()
        .map(|(part, _)| part.to_string())
        .collect())
}

/// Precedence of two pre-release lists: no pre-release ranks above any pre-release;
/// otherwise identifiers compare left to right and a longer list wins a shared prefix.
pub fn compare_pre(a: &[Identifier], b: &[Identifier]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    for (x, y) in a.iter().zip(b) {
        let ord = x.cmp(y);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

/// Joins identifiers with dots.
pub fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pre(text: &str) -> Vec<Identifier> {
        parse_pre(text, 0).unwrap()
    }

    #[test]
    fn parses_numeric_and_alpha() {
        assert_eq!(
            pre("alpha.1.x-y"),
            vec![
                Identifier::Alpha("alpha".into()),
                Identifier::Numeric(1),
                Identifier::Alpha("x-y".into())
            ]
        );
        assert_eq!(pre("0a"), vec![Identifier::Alpha("0a".into())]);
    }

    #[test]
    fn pre_release_errors() {
        assert_eq!(
            parse_pre("a..b", 6),
            Err(ParseError::new(ErrorKind::EmptyIdentifier, 8))
        );
        assert_eq!(
            parse_pre("", 6),
            Err(ParseError::new(ErrorKind::EmptyIdentifier, 6))
        );
        assert_eq!(
            parse_pre("rc.01", 6),
            Err(ParseError::new(ErrorKind::LeadingZero, 9))
        );
        assert_eq!(
            parse_pre("rc.1_2", 6),
            Err(ParseError::new(ErrorKind::UnexpectedChar('_'), 10))
        );
    }

    #[test]
    fn build_keeps_leading_zeros() {
        assert_eq!(parse_build("build.007", 0).unwrap(), vec!["build", "007"]);
        assert_eq!(
            parse_build("x.", 4),
            Err(ParseError::new(ErrorKind::EmptyIdentifier, 6))
        );
    }

    #[test]
    fn identifier_ordering() {
        use Identifier::*;
        assert!(Numeric(2) < Numeric(11));
        assert!(Alpha("11".into()) < Alpha("2".into()));
        assert!(Numeric(99) < Alpha("a".into()));
        assert!(Alpha("a".into()) > Numeric(0));
        assert!(Alpha("B".into()) < Alpha("a".into()));
    }

    #[test]
    fn compare_pre_follows_semver_rules() {
        assert_eq!(compare_pre(&[], &[]), Ordering::Equal);
        assert_eq!(compare_pre(&[], &pre("alpha")), Ordering::Greater);
        assert_eq!(compare_pre(&pre("alpha"), &[]), Ordering::Less);
        assert_eq!(compare_pre(&pre("alpha"), &pre("alpha.1")), Ordering::Less);
        assert_eq!(
            compare_pre(&pre("alpha.1"), &pre("alpha.beta")),
            Ordering::Less
        );
        assert_eq!(
            compare_pre(&pre("beta.11"), &pre("beta.2")),
            Ordering::Greater
        );
        assert_eq!(compare_pre(&pre("rc.1"), &pre("rc.1")), Ordering::Equal);
    }

    #[test]
    fn join_uses_dots() {
        assert_eq!(join(&pre("rc.1")), "rc.1");
        assert_eq!(join::<String>(&[]), "");
    }
}
