//! Parse errors with byte positions.

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    Empty,
    UnexpectedChar(char),
    LeadingZero,
    Overflow,
    /// A version core needs exactly three numbers.
    WrongPartCount(usize),
    EmptyIdentifier,
    /// A number after a wildcard (`1.*.3`), or a wildcard after `>`, `<`, `~` or `^`.
    MisplacedWildcard,
    /// A pre-release in a requirement that does not give all three numbers.
    PreReleaseNeedsPatch,
}

/// A parse failure at byte offset `pos` of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub pos: usize,
}

impl ParseError {
    pub fn new(kind: ErrorKind, pos: usize) -> Self {
        ParseError { kind, pos }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            ErrorKind::Empty => "empty input".to_string(),
            ErrorKind::UnexpectedChar(c) => format!("unexpected character {c:?}"),
            ErrorKind::LeadingZero => "number with a leading zero".to_string(),
            ErrorKind::Overflow => "number too large".to_string(),
            ErrorKind::WrongPartCount(n) => format!("expected 3 version numbers, found {n}"),
            ErrorKind::EmptyIdentifier => "empty identifier".to_string(),
            ErrorKind::MisplacedWildcard => "misplaced wildcard".to_string(),
            ErrorKind::PreReleaseNeedsPatch => {
                "a pre-release needs major, minor and patch".to_string()
            }
        };
        write!(f, "{what} at position {}", self.pos)
    }
}

impl std::error::Error for ParseError {}

/// Parses a decimal number without sign or leading zeros; `offset` is the position of
/// `text` in the whole input.
pub fn parse_number(text: &str, offset: usize) -> Result<u64, ParseError> {
    if text.is_empty() {
        return Err(ParseError::new(ErrorKind::Empty, offset));
    }
    let mut value: u64 = 0;
    for (i, ch) in text.char_indices() {
        let Some(digit) = ch.to_digit(10) else {
            return Err(ParseError::new(ErrorKind::UnexpectedChar(ch), offset + i));
        };
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or(ParseError::new(ErrorKind::Overflow, offset))?;
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(ParseError::new(ErrorKind::LeadingZero, offset));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_numbers() {
        assert_eq!(parse_number("0", 0), Ok(0));
        assert_eq!(parse_number("42", 0), Ok(42));
        assert_eq!(parse_number("18446744073709551615", 0), Ok(u64::MAX));
    }

    #[test]
    fn number_errors_carry_positions() {
        assert_eq!(
            parse_number("", 3),
            Err(ParseError::new(ErrorKind::Empty, 3))
        );
        assert_eq!(
            parse_number("12a", 4),
            Err(ParseError::new(ErrorKind::UnexpectedChar('a'), 6))
        );
        assert_eq!(
            parse_number("01", 2),
            Err(ParseError::new(ErrorKind::LeadingZero, 2))
        );
        assert_eq!(
            parse_number("18446744073709551616", 1),
            Err(ParseError::new(ErrorKind::Overflow, 1))
        );
    }

    #[test]
    fn display_includes_position() {
        let err = ParseError::new(ErrorKind::WrongPartCount(2), 0);
        assert_eq!(
            err.to_string(),
            "expected 3 version numbers, found 2 at position 0"
        );
    }
}
