//! Pratt parser from tokens to the syntax tree.
//!
//! Precedence, loosest first: `||`, `&&`, `== !=`, `< <= > >=`, `+ -`,
//! `* / %`, prefix `-` and `!`, then `^` (right associative, so `-2^2` is
//! `-(2^2)` and `2^3^2` is `2^(3^2)`).

use crate::ast::{BinOp, Expr, Program, Stmt, UnaryOp};
use crate::error::{Error, ErrorKind};
use crate::lexer::{tokenize, Token, TokenKind};

/// Maximum nesting of parentheses.
pub const MAX_DEPTH: usize = 64;

/// Binding power of the prefix operators.
const PREFIX_BP: u8 = 13;

/// Left and right binding powers of an infix operator.
fn binding_power(op: BinOp) -> (u8, u8) {
    match op {
        BinOp::Or => (1, 2),
        BinOp::And => (3, 4),
        BinOp::Eq | BinOp::Ne => (5, 6),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => (7, 8),
        BinOp::Add | BinOp::Sub => (9, 10),
        BinOp::Mul | BinOp::Div | BinOp::Rem => (11, 12),
        BinOp::Pow => (15, 14),
    }
}

fn infix_op(kind: &TokenKind) -> Option<BinOp> {
    let op = match kind {
        TokenKind::Plus => BinOp::Add,
        TokenKind::Minus => BinOp::Sub,
        TokenKind::Star => BinOp::Mul,
        TokenKind::Slash => BinOp::Div,
        TokenKind::Percent => BinOp::Rem,
        TokenKind::Caret => BinOp::Pow,
        TokenKind::Lt => BinOp::Lt,
        TokenKind::Le => BinOp::Le,
        TokenKind::Gt => BinOp::Gt,
        TokenKind::Ge => BinOp::Ge,
        TokenKind::EqEq => BinOp::Eq,
        TokenKind::Ne => BinOp::Ne,
        TokenKind::AndAnd => BinOp::And,
        TokenKind::OrOr => BinOp::Or,
        _ => return None,
    };
    Some(op)
}

/// Parser state over a token vector that ends with `Eof`.
pub struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    /// Creates a parser; an `Eof` token is appended if `tokens` lacks one.
    pub fn new(mut tokens: Vec<Token>) -> Self {
        if tokens.last().map(|t| &t.kind) != Some(&TokenKind::Eof) {
            let end = tokens.last().map_or(0, |t| t.pos + t.len);
            tokens.push(Token {
                kind: TokenKind::Eof,
                pos: end,
                len: 0,
            });
        }
        Parser {
            tokens,
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn advance(&mut self) -> Token {
        let tok = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn unexpected(&self, expected: &str) -> Error {
        let tok = self.peek();
        let kind = if tok.kind == TokenKind::Eof {
            ErrorKind::UnexpectedEof {
                expected: expected.to_string(),
            }
        } else {
            ErrorKind::UnexpectedToken {
                found: tok.kind.describe(),
                expected: expected.to_string(),
            }
        };
        Error::new(kind, tok.pos)
    }

    fn expect(&mut self, kind: TokenKind, what: &str) -> Result<Token, Error> {
        if self.peek().kind == kind {
            Ok(self.advance())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// Parses statements separated by `;` until the end of input.
    /// Empty statements (`;;`) are skipped.
    pub fn parse_program(&mut self) -> Result<Program, Error> {
        let mut stmts = Vec::new();
        loop {
            while self.peek().kind == TokenKind::Semicolon {
                self.advance();
            }
            if self.peek().kind == TokenKind::Eof {
                break;
            }
            stmts.push(self.parse_stmt()?);
            match self.peek().kind {
                TokenKind::Semicolon => {
                    self.advance();
                }
                TokenKind::Eof => break,
                _ => return Err(self.unexpected("`;` or end of input")),
            }
        }
        Ok(Program { stmts })
    }

    fn parse_stmt(&mut self) -> Result<Stmt, Error> {
        if self.peek().kind != TokenKind::Let {
            return Ok(Stmt::Expr(self.parse_expr(0)?));
        }
        let pos = self.advance().pos;
        let name = match &self.peek().kind {
            TokenKind::Ident(name) => name.clone(),
            _ => return Err(self.unexpected("identifier")),
        };
        self.advance();
        self.expect(TokenKind::Assign, "`=`")?;
        let value = self.parse_expr(0)?;
        Ok(Stmt::Let { name, value, pos })
    }

    /// Parses an expression whose operators bind at least as tightly as `min_bp`.
    pub fn parse_expr(&mut self, min_bp: u8) -> Result<Expr, Error> {
        let mut lhs = self.parse_prefix()?;
        loop {
            let tok = self.peek();
            let Some(op) = infix_op(&tok.kind) else {
                break;
            };
            let pos = tok.pos;
            let (l_bp, r_bp) = binding_power(op);
            if l_bp < min_bp {
                break;
            }
            self.advance();
            let rhs = self.parse_expr(r_bp)?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                pos,
            };
        }
        Ok(lhs)
    }

    fn parse_prefix(&mut self) -> Result<Expr, Error> {
        let tok = self.peek().clone();
        match tok.kind {
            TokenKind::Number(n) => {
                self.advance();
                Ok(Expr::Num(n))
            }
            TokenKind::True | TokenKind::False => {
                self.advance();
                Ok(Expr::Bool(tok.kind == TokenKind::True))
            }
            TokenKind::Ident(name) => {
                self.advance();
                if self.peek().kind == TokenKind::LParen {
                    self.advance();
                    let args = self.parse_args()?;
                    Ok(Expr::Call {
                        name,
                        args,
                        pos: tok.pos,
                    })
                } else {
                    Ok(Expr::Var { name, pos: tok.pos })
                }
            }
            TokenKind::Minus | TokenKind::Bang => {
                self.advance();
                let op = if tok.kind == TokenKind::Minus {
                    UnaryOp::Neg
                } else {
                    UnaryOp::Not
                };
                let expr = self.parse_expr(PREFIX_BP)?;
                Ok(Expr::Unary {
                    op,
                    expr: Box::new(expr),
                    pos: tok.pos,
                })
            }
            TokenKind::LParen => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(Error::new(ErrorKind::TooDeep { limit: MAX_DEPTH }, tok.pos));
                }
                self.advance();
                let inner = self.parse_expr(0)?;
                self.expect(TokenKind::RParen, "`)`")?;
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::If => {
                self.advance();
                let cond = self.parse_expr(0)?;
                self.expect(TokenKind::Then, "`then`")?;
                let then = self.parse_expr(0)?;
                self.expect(TokenKind::Else, "`else`")?;
                let otherwise = self.parse_expr(0)?;
                Ok(Expr::If {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    otherwise: Box::new(otherwise),
                    pos: tok.pos,
                })
            }
            _ => Err(self.unexpected("expression")),
        }
    }

    /// Parses call arguments after the opening parenthesis.
    fn parse_args(&mut self) -> Result<Vec<Expr>, Error> {
        let mut args = Vec::new();
        if self.peek().kind == TokenKind::RParen {
            self.advance();
            return Ok(args);
        }
        loop {
            args.push(self.parse_expr(0)?);
            match self.peek().kind {
                TokenKind::Comma => {
                    self.advance();
                }
                TokenKind::RParen => {
                    self.advance();
                    return Ok(args);
                }
                _ => return Err(self.unexpected("`,` or `)`")),
            }
        }
    }
}

/// Parses a whole program.
pub fn parse_program(src: &str) -> Result<Program, Error> {
    Parser::new(tokenize(src)?).parse_program()
}

/// Parses exactly one expression; trailing tokens are an error.
pub fn parse_expr(src: &str) -> Result<Expr, Error> {
    let mut parser = Parser::new(tokenize(src)?);
    let expr = parser.parse_expr(0)?;
    if parser.peek().kind != TokenKind::Eof {
        return Err(parser.unexpected("end of input"));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(src: &str) -> String {
        parse_expr(src).unwrap().to_string()
    }

    #[test]
    fn multiplication_binds_tighter_than_addition() {
        assert_eq!(show("1 + 2 * 3"), "(1 + (2 * 3))");
        assert_eq!(show("1 * 2 + 3"), "((1 * 2) + 3)");
        assert_eq!(show("8 % 3 - 1"), "((8 % 3) - 1)");
    }

    #[test]
    fn left_associative_subtraction_and_division() {
        assert_eq!(show("1 - 2 - 3"), "((1 - 2) - 3)");
        assert_eq!(show("8 / 4 / 2"), "((8 / 4) / 2)");
    }

    #[test]
    fn power_is_right_associative_and_tighter_than_negation() {
        assert_eq!(show("2 ^ 3 ^ 2"), "(2 ^ (3 ^ 2))");
        assert_eq!(show("-2 ^ 2"), "(-(2 ^ 2))");
        assert_eq!(show("2 ^ -1"), "(2 ^ (-1))");
        assert_eq!(show("-2 * 3"), "((-2) * 3)");
    }

    #[test]
    fn comparison_and_logic_precedence() {
        assert_eq!(
            show("a < b + 1 && b == c || !d"),
            "(((a < (b + 1)) && (b == c)) || (!d))"
        );
        assert_eq!(show("1 < 2 == true"), "((1 < 2) == true)");
        assert_eq!(show("a || b && c"), "(a || (b && c))");
    }

    #[test]
    fn parentheses_override_precedence() {
        assert_eq!(show("(1 + 2) * 3"), "((1 + 2) * 3)");
        assert_eq!(show("((x))"), "x");
    }

    #[test]
    fn calls_with_zero_one_and_many_args() {
        assert_eq!(show("f()"), "f()");
        assert_eq!(show("abs(-x)"), "abs((-x))");
        assert_eq!(show("max(1, 2 + 3, y)"), "max(1, (2 + 3), y)");
    }

    #[test]
    fn if_expression() {
        assert_eq!(
            show("if x > 0 then x else -x"),
            "(if (x > 0) then x else (-x))"
        );
        assert_eq!(
            show("1 + if c then 2 else 3 * 4"),
            "(1 + (if c then 2 else (3 * 4)))"
        );
    }

    #[test]
    fn positions_of_nodes() {
        let expr = parse_expr("a + foo(b)").unwrap();
        match expr {
            Expr::Binary { pos, lhs, rhs, .. } => {
                assert_eq!(pos, 2);
                assert_eq!(
                    *lhs,
                    Expr::Var {
                        name: "a".into(),
                        pos: 0
                    }
                );
                assert!(matches!(*rhs, Expr::Call { pos: 4, .. }));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn program_with_lets_and_empty_statements() {
        let program = parse_program(";let x = 1;; x * 2;").unwrap();
        assert_eq!(program.stmts.len(), 2);
        assert_eq!(program.to_string(), "let x = 1; (x * 2)");
        assert!(matches!(program.stmts[0], Stmt::Let { pos: 1, .. }));
        assert_eq!(parse_program("").unwrap(), Program::default());
    }

    #[test]
    fn missing_operand_reports_eof() {
        let err = parse_expr("1 +").unwrap_err();
        assert_eq!(
            err,
            Error::new(
                ErrorKind::UnexpectedEof {
                    expected: "expression".into()
                },
                3
            )
        );
    }

    #[test]
    fn unclosed_paren_and_stray_token() {
        let err = parse_expr("(1 + 2").unwrap_err();
        assert_eq!(err.pos, 6);
        assert_eq!(
            err.to_string(),
            "expected `)`, found end of input at position 6"
        );
        let err = parse_expr("1 2").unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::UnexpectedToken {
                found: "number `2`".into(),
                expected: "end of input".into()
            }
        );
        assert_eq!(err.pos, 2);
    }

    #[test]
    fn statements_need_separators() {
        let err = parse_program("let x = 1 x").unwrap_err();
        assert_eq!(err.pos, 10);
        assert_eq!(
            err.kind,
            ErrorKind::UnexpectedToken {
                found: "identifier `x`".into(),
                expected: "`;` or end of input".into()
            }
        );
    }

    #[test]
    fn bad_let_and_bad_args() {
        let err = parse_program("let 3 = 4").unwrap_err();
        assert_eq!(err.pos, 4);
        let err = parse_program("let x 4").unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected `=`, found number `4` at position 6"
        );
        let err = parse_expr("max(1 2)").unwrap_err();
        assert_eq!(err.pos, 6);
        let err = parse_expr("max(1,)").unwrap_err();
        assert_eq!(err.pos, 6);
    }

    #[test]
    fn if_requires_then_and_else() {
        let err = parse_expr("if x 1 else 2").unwrap_err();
        assert_eq!(err.pos, 5);
        let err = parse_expr("if x then 1").unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::UnexpectedEof {
                expected: "`else`".into()
            }
        );
    }

    #[test]
    fn nesting_limit_is_exact() {
        let ok = format!("{}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse_expr(&ok).unwrap(), Expr::Num(1.0));
        let deep = format!(
            "{}1{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let err = parse_expr(&deep).unwrap_err();
        assert_eq!(
            err,
            Error::new(ErrorKind::TooDeep { limit: MAX_DEPTH }, MAX_DEPTH)
        );
    }

    #[test]
    fn sibling_parentheses_do_not_accumulate_depth() {
        let many = vec!["(1)"; MAX_DEPTH + 5].join(" + ");
        assert!(parse_expr(&many).is_ok());
    }

    #[test]
    fn parser_appends_missing_eof() {
        let tokens = vec![Token {
            kind: TokenKind::Number(7.0),
            pos: 0,
            len: 1,
        }];
        let mut parser = Parser::new(tokens);
        assert_eq!(parser.parse_program().unwrap().to_string(), "7");
        let tokens = tokenize("10 +").unwrap();
        let without_eof = tokens[..tokens.len() - 1].to_vec();
        let err = Parser::new(without_eof).parse_expr(0).unwrap_err();
        assert_eq!(err.pos, 4);
        let err = Parser::new(Vec::new()).parse_expr(0).unwrap_err();
        assert_eq!(err.pos, 0);
    }
}
