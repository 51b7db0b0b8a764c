//! Turns source text into a vector of tokens.

use crate::error::{Error, ErrorKind};
use std::fmt;

/// The kinds of token the language knows.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    Number(f64),
    Ident(String),
    Let,
    If,
    Then,
    Else,
    True,
    False,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    Assign,
    Bang,
    AndAnd,
    OrOr,
    LParen,
    RParen,
    Comma,
    Semicolon,
    Eof,
}

impl TokenKind {
    /// A short description used in parser error messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Number(n) => format!("number `{n}`"),
            TokenKind::Ident(name) => format!("identifier `{name}`"),
            TokenKind::Eof => "end of input".to_string(),
            other => format!("`{other}`"),
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            TokenKind::Number(n) => return write!(f, "{n}"),
            TokenKind::Ident(name) => return write!(f, "{name}"),
            TokenKind::Let => "let",
            TokenKind::If => "if",
            TokenKind::Then => "then",
            TokenKind::Else => "else",
            TokenKind::True => "true",
            TokenKind::False => "false",
            TokenKind::Plus => "+",
            TokenKind::Minus => "-",
            TokenKind::Star => "*",
            TokenKind::Slash => "/",
            TokenKind::Percent => "%",
            TokenKind::Caret => "^",
            TokenKind::Lt => "<",
            TokenKind::Le => "<=",
            TokenKind::Gt => ">",
            TokenKind::Ge => ">=",
            TokenKind::EqEq => "==",
            TokenKind::Ne => "!=",
            TokenKind::Assign => "=",
            TokenKind::Bang => "!",
            TokenKind::AndAnd => "&&",
            TokenKind::OrOr => "||",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::Comma => ",",
            TokenKind::Semicolon => ";",
            TokenKind::Eof => "<eof>",
        };
        f.write_str(text)
    }
}

/// A token and the character offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub pos: usize,
    /// Length in characters.
    pub len: usize,
}

fn keyword(word: &str) -> Option<TokenKind> {
    match word {
        "let" => Some(TokenKind::Let),
        "if" => Some(TokenKind::If),
        "then" => Some(TokenKind::Then),
        "else" => Some(TokenKind::Else),
        "true" => Some(TokenKind::True),
        "false" => Some(TokenKind::False),
        _ => None,
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_digit_at(chars: &[char], i: usize) -> bool {
    chars.get(i).is_some_and(|c| c.is_ascii_digit())
}

/// Scans a number starting at `start`; returns its value and the end offset.
///
/// Accepts `12`, `1_000`, `3.25`, `.5`, `6.02e23`, `1E-3`. Rejects a
/// trailing dot (`1.`), a second dot (`1.2.3`) and an empty exponent (`2e`).
fn lex_number(chars: &[char], start: usize) -> Result<(f64, usize), Error> {
    let mut end = start;
    let mut seen_dot = false;
    while end < chars.len() {
        let c = chars[end];
        let separator = c == '_' && chars[end - 1].is_ascii_digit() && is_digit_at(chars, end + 1);
        if c.is_ascii_digit() || separator {
            end += 1;
        } else if c == '.' && !seen_dot {
            seen_dot = true;
            end += 1;
        } else {
            break;
        }
    }
    let invalid = |end: usize| {
        let text: String = chars[start..end].iter().collect();
        Error::new(ErrorKind::InvalidNumber(text), start)
    };
    if chars[end - 1] == '.' {
        return Err(invalid(end));
    }
    if end < chars.len() && chars[end] == '.' {
        return Err(invalid(end + 1));
    }
    if end < chars.len() && (chars[end] == 'e' || chars[end] == 'E') {
        let mut j = end + 1;
        if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
            j += 1;
        }
        let digits_start = j;
        while is_digit_at(chars, j) {
            j += 1;
        }
        if j == digits_start {
            return Err(invalid(j.min(chars.len())));
        }
        end = j;
    }
    let text: String = chars[start..end].iter().filter(|c| **c != '_').collect();
    match text.parse::<f64>() {
        Ok(value) => Ok((value, end)),
        Err(_) => Err(invalid(end)),
    }
}

/// Splits `src` into tokens. The result always ends with an `Eof` token.
///
/// `#` starts a comment that runs to the end of the line.
pub fn tokenize(src: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == '.' && is_digit_at(&chars, i + 1)) {
            let (value, end) = lex_number(&chars, start)?;
            tokens.push(Token {
                kind: TokenKind::Number(value),
                pos: start,
                len: end - start,
            });
            i = end;
            continue;
        }
        if is_ident_start(c) {
            let mut end = i + 1;
            while end < chars.len() && is_ident_continue(chars[end]) {
                end += 1;
            }
            let word: String = chars[start..end].iter().collect();
            let kind = keyword(&word).unwrap_or(TokenKind::Ident(word));
            tokens.push(Token {
                kind,
                pos: start,
                len: end - start,
            });
            i = end;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (kind, len) = match (c, next) {
            ('<', Some('=')) => (TokenKind::Le, 2),
            ('>', Some('=')) => (TokenKind::Ge, 2),
            ('=', Some('=')) => (TokenKind::EqEq, 2),
            ('!', Some('=')) => (TokenKind::Ne, 2),
            ('&', Some('&')) => (TokenKind::AndAnd, 2),
            ('|', Some('|')) => (TokenKind::OrOr, 2),
            ('<', _) => (TokenKind::Lt, 1),
            ('>', _) => (TokenKind::Gt, 1),
            ('=', _) => (TokenKind::Assign, 1),
            ('!', _) => (TokenKind::Bang, 1),
            ('+', _) => (TokenKind::Plus, 1),
            ('-', _) => (TokenKind::Minus, 1),
            ('*', _) => (TokenKind::Star, 1),
            ('/', _) => (TokenKind::Slash, 1),
            ('%', _) => (TokenKind::Percent, 1),
            ('^', _) => (TokenKind::Caret, 1),
            ('(', _) => (TokenKind::LParen, 1),
            (')', _) => (TokenKind::RParen, 1),
            (',', _) => (TokenKind::Comma, 1),
            (';', _) => (TokenKind::Semicolon, 1),
            _ => return Err(Error::new(ErrorKind::UnexpectedChar(c), i)),
        };
        tokens.push(Token {
            kind,
            pos: start,
            len,
        });
        i += len;
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        pos: chars.len(),
        len: 0,
    });
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn empty_input_is_just_eof() {
        assert_eq!(kinds(""), vec![TokenKind::Eof]);
        assert_eq!(kinds("  \n\t "), vec![TokenKind::Eof]);
    }

    #[test]
    fn integers_and_decimals() {
        assert_eq!(
            kinds("12 3.25 .5"),
            vec![
                TokenKind::Number(12.0),
                TokenKind::Number(3.25),
                TokenKind::Number(0.5),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn underscores_and_exponents() {
        assert_eq!(kinds("1_000")[0], TokenKind::Number(1000.0));
        assert_eq!(kinds("2.5e3")[0], TokenKind::Number(2500.0));
        assert_eq!(kinds("1E-3")[0], TokenKind::Number(0.001));
        assert_eq!(kinds("4e+2")[0], TokenKind::Number(400.0));
    }

    #[test]
    fn trailing_underscore_is_not_part_of_number() {
        assert_eq!(
            kinds("1_"),
            vec![
                TokenKind::Number(1.0),
                TokenKind::Ident("_".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn malformed_numbers() {
        let err = tokenize("x + 1.").unwrap_err();
        assert_eq!(err, Error::new(ErrorKind::InvalidNumber("1.".into()), 4));
        let err = tokenize("1.2.3").unwrap_err();
        assert_eq!(err, Error::new(ErrorKind::InvalidNumber("1.2.".into()), 0));
        let err = tokenize("1._5").unwrap_err();
        assert_eq!(err, Error::new(ErrorKind::InvalidNumber("1.".into()), 0));
        let err = tokenize("2e").unwrap_err();
        assert_eq!(err, Error::new(ErrorKind::InvalidNumber("2e".into()), 0));
        let err = tokenize("2e+").unwrap_err();
        assert_eq!(err, Error::new(ErrorKind::InvalidNumber("2e+".into()), 0));
    }

    #[test]
    fn identifiers_and_keywords() {
        assert_eq!(
            kinds("let x_1 = if then else true false"),
            vec![
                TokenKind::Let,
                TokenKind::Ident("x_1".into()),
                TokenKind::Assign,
                TokenKind::If,
                TokenKind::Then,
                TokenKind::Else,
                TokenKind::True,
                TokenKind::False,
                TokenKind::Eof
            ]
        );
        assert_eq!(kinds("letter")[0], TokenKind::Ident("letter".into()));
    }

    #[test]
    fn two_char_operators() {
        assert_eq!(
            kinds("<= >= == != && || < > = !"),
            vec![
                TokenKind::Le,
                TokenKind::Ge,
                TokenKind::EqEq,
                TokenKind::Ne,
                TokenKind::AndAnd,
                TokenKind::OrOr,
                TokenKind::Lt,
                TokenKind::Gt,
                TokenKind::Assign,
                TokenKind::Bang,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn positions_and_lengths() {
        let tokens = tokenize("ab <= 10").unwrap();
        let spans: Vec<(usize, usize)> = tokens.iter().map(|t| (t.pos, t.len)).collect();
        assert_eq!(spans, vec![(0, 2), (3, 2), (6, 2), (8, 0)]);
    }

    #[test]
    fn positions_count_chars() {
        let tokens = tokenize("é + ü").unwrap();
        assert_eq!(tokens[0].kind, TokenKind::Ident("é".into()));
        assert_eq!(tokens[1].pos, 2);
        assert_eq!(tokens[2].pos, 4);
        assert_eq!(tokens[3].pos, 5);
    }

    #[test]
    fn comments_run_to_end_of_line() {
        assert_eq!(
            kinds("1 # one\n+ 2 # two"),
            vec![
                TokenKind::Number(1.0),
                TokenKind::Plus,
                TokenKind::Number(2.0),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn lone_ampersand_is_rejected() {
        let err = tokenize("a & b").unwrap_err();
        assert_eq!(err, Error::new(ErrorKind::UnexpectedChar('&'), 2));
        let err = tokenize("1 @").unwrap_err();
        assert_eq!(err.pos, 2);
    }

    #[test]
    fn describe_tokens() {
        assert_eq!(TokenKind::Number(2.5).describe(), "number `2.5`");
        assert_eq!(TokenKind::Ident("x".into()).describe(), "identifier `x`");
        assert_eq!(TokenKind::Le.describe(), "`<=`");
        assert_eq!(TokenKind::Eof.describe(), "end of input");
        let shown: Vec<String> = [
            TokenKind::Let,
            TokenKind::True,
            TokenKind::False,
            TokenKind::Percent,
            TokenKind::Caret,
            TokenKind::Semicolon,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(shown, vec!["let", "true", "false", "%", "^", ";"]);
    }
}
