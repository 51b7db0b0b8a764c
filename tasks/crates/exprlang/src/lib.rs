//! A small expression language: tokenizer, Pratt parser and evaluator.
//!
//! Programs are `;`-separated statements. A statement is either
//! `let name = expr` or an expression. Expressions have numbers, booleans,
//! variables, `+ - * / % ^`, comparisons, `&& || !`, unary minus,
//! parentheses, `if c then a else b` and calls to built-in functions such
//! as `min`, `max`, `abs`, `sqrt` and `clamp`. Errors carry the character
//! offset of the offending input.

pub mod ast;
pub mod builtins;
pub mod error;
pub mod eval;
pub mod lexer;
pub mod parser;

pub use ast::{Expr, Program, Stmt};
pub use error::{Error, ErrorKind};
pub use eval::{Env, Value};

/// Evaluates a program in a fresh environment holding `pi` and `e`.
///
/// An empty program is an error: there is no value to return.
pub fn eval(src: &str) -> Result<Value, Error> {
    let mut interp = Interpreter::new();
    match interp.run(src)? {
        Some(value) => Ok(value),
        None => Err(Error::new(
            ErrorKind::UnexpectedEof {
                expected: "expression".into(),
            },
            src.chars().count(),
        )),
    }
}

/// Evaluates `src` and requires a numeric result.
pub fn eval_number(src: &str) -> Result<f64, Error> {
    let value = eval(src)?;
    value.as_num(0)
}

/// An interpreter whose bindings persist across `run` calls.
#[derive(Debug, Clone)]
pub struct Interpreter {
    env: Env,
}

impl Default for Interpreter {
    fn default() -> Self {
        Interpreter::new()
    }
}

impl Interpreter {
    /// An interpreter with the constants `pi` and `e` bound.
    pub fn new() -> Self {
        Interpreter {
            env: Env::with_constants(),
        }
    }

    /// Binds a numeric variable (builder style).
    pub fn with_var(mut self, name: &str, value: f64) -> Self {
        self.env.set(name, Value::Num(value));
        self
    }

    /// Parses and runs `src`; see [`eval::exec`].
    pub fn run(&mut self, src: &str) -> Result<Option<Value>, Error> {
        let program = parser::parse_program(src)?;
        eval::exec(&program, &mut self.env)
    }

    pub fn get(&self, name: &str) -> Option<Value> {
        self.env.get(name)
    }

    pub fn env(&self) -> &Env {
        &self.env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_simple_program() {
        assert_eq!(eval("let r = 2; r * r + 1").unwrap(), Value::Num(5.0));
        assert_eq!(eval("3 > 2").unwrap(), Value::Bool(true));
    }

    #[test]
    fn eval_empty_program_is_error() {
        let err = eval("  # nothing\n").unwrap_err();
        assert_eq!(
            err,
            Error::new(
                ErrorKind::UnexpectedEof {
                    expected: "expression".into()
                },
                12
            )
        );
    }

    #[test]
    fn eval_number_rejects_booleans() {
        assert_eq!(eval_number("max(2, 9) - 1").unwrap(), 8.0);
        let err = eval_number("1 < 2").unwrap_err();
        assert_eq!(
            err,
            Error::new(
                ErrorKind::TypeMismatch {
                    expected: "number",
                    found: "boolean"
                },
                0
            )
        );
    }

    #[test]
    fn interpreter_keeps_state() {
        let mut interp = Interpreter::new().with_var("base", 10.0);
        assert_eq!(
            interp.run("let x = base / 4").unwrap(),
            Some(Value::Num(2.5))
        );
        assert_eq!(interp.run("x * 2").unwrap(), Some(Value::Num(5.0)));
        assert_eq!(interp.get("x"), Some(Value::Num(2.5)));
        assert_eq!(interp.env().names(), vec!["base", "e", "pi", "x"]);
    }
}
