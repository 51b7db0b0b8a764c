//! Error type shared by the lexer, parser and evaluator.
//!
//! Every error carries the character offset (not byte offset) of the
//! offending input so that callers can point at it.

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    /// A character that starts no token.
    UnexpectedChar(char),
    /// A malformed numeric literal such as `1.` or `2e`.
    InvalidNumber(String),
    /// The parser found a token it did not expect.
    UnexpectedToken { found: String, expected: String },
    /// The input ended while the parser still expected something.
    UnexpectedEof { expected: String },
    /// Parentheses nested deeper than the parser allows.
    TooDeep { limit: usize },
    /// A variable that is not bound in the environment.
    UnknownVariable(String),
    /// A call to a function that does not exist.
    UnknownFunction(String),
    /// A call with the wrong number of arguments.
    WrongArity {
        name: String,
        min: usize,
        max: Option<usize>,
        got: usize,
    },
    /// Division or remainder by zero.
    DivisionByZero,
    /// An operand had the wrong type.
    TypeMismatch {
        expected: &'static str,
        found: &'static str,
    },
    /// A function argument outside the function's domain.
    Domain(String),
    /// A result that is infinite or not a number.
    NonFinite,
}

/// Formats `n` followed by `word`, pluralised when `n != 1`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Describes how many arguments a function accepts.
pub(crate) fn describe_arity(min: usize, max: Option<usize>) -> String {
    match max {
        Some(max) if max == min => plural(min, "argument"),
        Some(max) => format!("{min} to {max} arguments"),
        None => format!("at least {}", plural(min, "argument")),
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnexpectedChar(c) => write!(f, "unexpected character `{c}`"),
            ErrorKind::InvalidNumber(text) => write!(f, "invalid number `{text}`"),
            ErrorKind::UnexpectedToken { found, expected } => {
                write!(f, "expected {expected}, found {found}")
            }
            ErrorKind::UnexpectedEof { expected } => {
                write!(f, "expected {expected}, found end of input")
            }
            ErrorKind::TooDeep { limit } => {
                write!(f, "expression nested deeper than {limit} levels")
            }
            ErrorKind::UnknownVariable(name) => write!(f, "unknown variable `{name}`"),
            ErrorKind::UnknownFunction(name) => write!(f, "unknown function `{name}`"),
            ErrorKind::WrongArity {
                name,
                min,
                max,
                got,
            } => write!(
                f,
                "function `{name}` expects {}, got {got}",
                describe_arity(*min, *max)
            ),
            ErrorKind::DivisionByZero => write!(f, "division by zero"),
            ErrorKind::TypeMismatch { expected, found } => {
                write!(f, "type mismatch: expected {expected}, found {found}")
            }
            ErrorKind::Domain(msg) => write!(f, "domain error: {msg}"),
            ErrorKind::NonFinite => write!(f, "result is not a finite number"),
        }
    }
}

/// An error with the character offset where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    /// Character offset into the source text.
    pub pos: usize,
}

impl Error {
    pub fn new(kind: ErrorKind, pos: usize) -> Self {
        Error { kind, pos }
    }

    /// One-based line and column of the error in `src`.
    ///
    /// A position past the end of `src` maps to the column just after the
    /// last character.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        let mut line = 1;
        let mut col = 1;
        for (i, c) in src.chars().enumerate() {
            if i == self.pos {
                break;
            }
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        (line, col)
    }

    /// A human readable report: location, message, the source line and a caret.
    pub fn render(&self, src: &str) -> String {
        let (line, col) = self.line_col(src);
        let text = src.lines().nth(line - 1).unwrap_or("");
        let caret = " ".repeat(col - 1);
        format!("line {line}, column {col}: {}\n{text}\n{caret}^", self.kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.kind, self.pos)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_singular_and_many() {
        assert_eq!(plural(0, "argument"), "0 arguments");
        assert_eq!(plural(1, "argument"), "1 argument");
        assert_eq!(plural(2, "argument"), "2 arguments");
    }

    #[test]
    fn arity_messages() {
        assert_eq!(describe_arity(1, Some(1)), "1 argument");
        assert_eq!(describe_arity(2, Some(2)), "2 arguments");
        assert_eq!(describe_arity(1, Some(3)), "1 to 3 arguments");
        assert_eq!(describe_arity(1, None), "at least 1 argument");
        assert_eq!(describe_arity(2, None), "at least 2 arguments");
    }

    #[test]
    fn wrong_arity_display() {
        let kind = ErrorKind::WrongArity {
            name: "pow".into(),
            min: 2,
            max: Some(2),
            got: 3,
        };
        assert_eq!(
            kind.to_string(),
            "function `pow` expects 2 arguments, got 3"
        );
    }

    #[test]
    fn error_display_includes_position() {
        let err = Error::new(ErrorKind::UnexpectedChar('$'), 4);
        assert_eq!(err.to_string(), "unexpected character `$` at position 4");
    }

    #[test]
    fn line_col_first_line() {
        let err = Error::new(ErrorKind::DivisionByZero, 0);
        assert_eq!(err.line_col("1 / 0"), (1, 1));
        let err = Error::new(ErrorKind::DivisionByZero, 2);
        assert_eq!(err.line_col("1 / 0"), (1, 3));
    }

    #[test]
    fn line_col_after_newlines() {
        let src = "let a = 1;\nlet b = 2;\n  c";
        let err = Error::new(ErrorKind::UnknownVariable("c".into()), 24);
        assert_eq!(err.line_col(src), (3, 3));
        let at_newline = Error::new(ErrorKind::NonFinite, 10);
        assert_eq!(at_newline.line_col(src), (1, 11));
    }

    #[test]
    fn line_col_counts_chars_not_bytes() {
        let err = Error::new(ErrorKind::UnexpectedChar('$'), 3);
        assert_eq!(err.line_col("éé $"), (1, 4));
    }

    #[test]
    fn render_points_at_column() {
        let src = "1 +\n2 $ 3";
        let err = Error::new(ErrorKind::UnexpectedChar('$'), 6);
        assert_eq!(
            err.render(src),
            "line 2, column 3: unexpected character `$`\n2 $ 3\n  ^"
        );
    }
}
