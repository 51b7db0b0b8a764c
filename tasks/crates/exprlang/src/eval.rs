//! Tree-walking evaluator.

use crate::ast::{format_number, BinOp, Expr, Program, Stmt, UnaryOp};
use crate::builtins;
use crate::error::{Error, ErrorKind};
use std::collections::HashMap;
use std::fmt;

/// Relative tolerance used by `==` and `!=` on numbers.
pub const EPSILON: f64 = 1e-9;

/// A runtime value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Num(f64),
    Bool(bool),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Num(_) => "number",
            Value::Bool(_) => "boolean",
        }
    }

    /// The number inside, or a type error located at `pos`.
    pub fn as_num(&self, pos: usize) -> Result<f64, Error> {
        match self {
            Value::Num(n) => Ok(*n),
            Value::Bool(_) => Err(mismatch("number", self, pos)),
        }
    }

    /// The boolean inside, or a type error located at `pos`.
    pub fn as_bool(&self, pos: usize) -> Result<bool, Error> {
        match self {
            Value::Bool(b) => Ok(*b),
            Value::Num(_) => Err(mismatch("boolean", self, pos)),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(n) => f.write_str(&format_number(*n)),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

fn mismatch(expected: &'static str, found: &Value, pos: usize) -> Error {
    Error::new(
        ErrorKind::TypeMismatch {
            expected,
            found: found.type_name(),
        },
        pos,
    )
}

/// True when `a` and `b` differ by at most `EPSILON` relative to the larger
/// magnitude (absolute for magnitudes below 1).
pub fn approx_eq(a: f64, b: f64) -> bool {
    let scale = a.abs().max(b.abs()).max(1.0);
    (a - b).abs() <= EPSILON * scale
}

/// Variable bindings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Env {
    vars: HashMap<String, Value>,
}

impl Env {
    pub fn new() -> Self {
        Env::default()
    }

    /// An environment with `pi` and `e` bound.
    pub fn with_constants() -> Self {
        let mut env = Env::new();
        env.set("pi", Value::Num(std::f64::consts::PI));
        env.set("e", Value::Num(std::f64::consts::E));
        env
    }

    pub fn get(&self, name: &str) -> Option<Value> {
        self.vars.get(name).copied()
    }

    /// Binds `name`, returning the previous value if there was one.
    pub fn set(&mut self, name: &str, value: Value) -> Option<Value> {
        self.vars.insert(name.to_string(), value)
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.vars.remove(name)
    }

    pub fn len(&self) -> usize {
        self.vars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Bound names in sorted order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.vars.keys().cloned().collect();
        names.sort();
        names
    }
}

fn finite(value: f64, pos: usize) -> Result<Value, Error> {
    if value.is_finite() {
        Ok(Value::Num(value))
    } else {
        Err(Error::new(ErrorKind::NonFinite, pos))
    }
}

fn arithmetic(op: BinOp, a: f64, b: f64, pos: usize) -> Result<Value, Error> {
    let result = match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div | BinOp::Rem if b == 0.0 => {
            return Err(Error::new(ErrorKind::DivisionByZero, pos));
        }
        BinOp::Div => a / b,
        BinOp::Rem => a.rem_euclid(b),
        BinOp::Pow => a.powf(b),
        BinOp::Lt => return Ok(Value::Bool(a < b)),
        BinOp::Le => return Ok(Value::Bool(a <= b)),
        BinOp::Gt => return Ok(Value::Bool(a > b)),
        BinOp::Ge => return Ok(Value::Bool(a >= b)),
        BinOp::Eq | BinOp::Ne | BinOp::And | BinOp::Or => {
            unreachable!("{op:?} is not arithmetic")
        }
    };
    finite(result, pos)
}

fn equality(op: BinOp, lhs: Value, rhs: Value, pos: usize) -> Result<Value, Error> {
    let equal = match (lhs, rhs) {
        (Value::Num(a), Value::Num(b)) => approx_eq(a, b),
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Num(_), other) => return Err(mismatch("number", &other, pos)),
        (Value::Bool(_), other) => return Err(mismatch("boolean", &other, pos)),
    };
    Ok(Value::Bool(if op == BinOp::Eq { equal } else { !equal }))
}

/// Evaluates `expr` in `env`.
pub fn eval_expr(expr: &Expr, env: &Env) -> Result<Value, Error> {
    match expr {
        Expr::Num(n) => Ok(Value::Num(*n)),
        Expr::Bool(b) => Ok(Value::Bool(*b)),
        Expr::Var { name, pos } => env
            .get(name)
            .ok_or_else(|| Error::new(ErrorKind::UnknownVariable(name.clone()), *pos)),
        Expr::Unary { op, expr, pos } => {
            let value = eval_expr(expr, env)?;
            match op {
                UnaryOp::Neg => Ok(Value::Num(-value.as_num(*pos)?)),
                UnaryOp::Not => Ok(Value::Bool(!value.as_bool(*pos)?)),
            }
        }
        Expr::Binary { op, lhs, rhs, pos } => match op {
            BinOp::And => {
                if !eval_expr(lhs, env)?.as_bool(*pos)? {
                    return Ok(Value::Bool(false));
                }
                Ok(Value::Bool(eval_expr(rhs, env)?.as_bool(*pos)?))
            }
            BinOp::Or => {
                if eval_expr(lhs, env)?.as_bool(*pos)? {
                    return Ok(Value::Bool(true));
                }
                Ok(Value::Bool(eval_expr(rhs, env)?.as_bool(*pos)?))
            }
            BinOp::Eq | BinOp::Ne => {
                let l = eval_expr(lhs, env)?;
                let r = eval_expr(rhs, env)?;
                equality(*op, l, r, *pos)
            }
            _ => {
                let a = eval_expr(lhs, env)?.as_num(*pos)?;
                let b = eval_expr(rhs, env)?.as_num(*pos)?;
                arithmetic(*op, a, b, *pos)
            }
        },
        Expr::Call { name, args, pos } => {
            if builtins::lookup(name).is_none() {
                return Err(Error::new(ErrorKind::UnknownFunction(name.clone()), *pos));
            }
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(eval_expr(arg, env)?.as_num(*pos)?);
            }
            finite(builtins::call(name, &values, *pos)?, *pos)
        }
        Expr::If {
            cond,
            then,
            otherwise,
            pos,
        } => {
            if eval_expr(cond, env)?.as_bool(*pos)? {
                eval_expr(then, env)
            } else {
                eval_expr(otherwise, env)
            }
        }
    }
}

/// Runs `program`, updating `env` with its bindings.
///
/// Returns the value of the last statement (a `let` yields the bound
/// value), or `None` for an empty program. On error, bindings made by
/// earlier statements stay in `env`.
pub fn exec(program: &Program, env: &mut Env) -> Result<Option<Value>, Error> {
    let mut last = None;
    for stmt in &program.stmts {
        let value = match stmt {
            Stmt::Let { name, value, .. } => {
                let v = eval_expr(value, env)?;
                env.set(name, v);
                v
            }
            Stmt::Expr(expr) => eval_expr(expr, env)?,
        };
        last = Some(value);
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::{parse_expr, parse_program};

    fn eval(src: &str) -> Result<Value, Error> {
        eval_expr(&parse_expr(src).unwrap(), &Env::with_constants())
    }

    fn num(src: &str) -> f64 {
        match eval(src).unwrap() {
            Value::Num(n) => n,
            other => panic!("expected number, got {other:?}"),
        }
    }

    fn boolean(src: &str) -> bool {
        eval(src).unwrap().as_bool(0).unwrap()
    }

    #[test]
    fn arithmetic_operators() {
        assert_eq!(num("7 + 3"), 10.0);
        assert_eq!(num("7 - 3"), 4.0);
        assert_eq!(num("7 * 3"), 21.0);
        assert_eq!(num("7 / 2"), 3.5);
        assert_eq!(num("2 ^ 10"), 1024.0);
        assert_eq!(num("2 + 3 * 4 - 6 / 2"), 11.0);
    }

    #[test]
    fn remainder_is_euclidean() {
        assert_eq!(num("7 % 3"), 1.0);
        assert_eq!(num("-7 % 3"), 2.0);
        assert_eq!(num("7.5 % 2"), 1.5);
    }

    #[test]
    fn unary_minus_and_power() {
        assert_eq!(num("-2 ^ 2"), -4.0);
        assert_eq!(num("(-2) ^ 2"), 4.0);
        assert_eq!(num("2 ^ 3 ^ 2"), 512.0);
        assert_eq!(num("2 ^ -1"), 0.5);
        assert_eq!(num("--3"), 3.0);
    }

    #[test]
    fn comparisons() {
        assert!(boolean("1 < 2"));
        assert!(!boolean("2 < 2"));
        assert!(boolean("2 <= 2"));
        assert!(!boolean("3 <= 2"));
        assert!(boolean("3 > 2"));
        assert!(!boolean("2 > 2"));
        assert!(boolean("2 >= 2"));
        assert!(!boolean("1 >= 2"));
    }

    #[test]
    fn equality_uses_tolerance() {
        assert!(boolean("0.1 + 0.2 == 0.3"));
        assert!(!boolean("0.1 + 0.2 != 0.3"));
        assert!(boolean("1 != 1.001"));
        assert!(boolean("true == true"));
        assert!(boolean("true != false"));
        assert!(approx_eq(1e12, 1e12 + 1e-1));
        assert!(approx_eq(0.0, EPSILON));
        assert!(!approx_eq(0.0, 2.0 * EPSILON));
        assert!(!approx_eq(1e-3, 2e-3));
        assert!(!approx_eq(1.0, 1.0 + 1e-8));
    }

    #[test]
    fn logic_short_circuits() {
        assert!(!boolean("false && 1 / 0 > 0"));
        assert!(boolean("true || 1 / 0 > 0"));
        assert!(boolean("true && !false"));
        assert!(!boolean("false || false"));
        assert_eq!(
            eval("true && 1 / 0 > 0").unwrap_err().kind,
            ErrorKind::DivisionByZero
        );
    }

    #[test]
    fn division_by_zero_position() {
        assert_eq!(
            eval("1 + 4 / 0").unwrap_err(),
            Error::new(ErrorKind::DivisionByZero, 6)
        );
        assert_eq!(
            eval("5 % 0").unwrap_err(),
            Error::new(ErrorKind::DivisionByZero, 2)
        );
        assert_eq!(num("0 / 5"), 0.0);
    }

    #[test]
    fn non_finite_results_are_errors() {
        assert_eq!(
            eval("10 ^ 400").unwrap_err(),
            Error::new(ErrorKind::NonFinite, 3)
        );
        assert_eq!(eval("(-8) ^ 0.5").unwrap_err().kind, ErrorKind::NonFinite);
    }

    #[test]
    fn type_errors() {
        assert_eq!(
            eval("1 + true").unwrap_err(),
            Error::new(
                ErrorKind::TypeMismatch {
                    expected: "number",
                    found: "boolean"
                },
                2
            )
        );
        assert_eq!(
            eval("!3").unwrap_err().kind,
            ErrorKind::TypeMismatch {
                expected: "boolean",
                found: "number"
            }
        );
        assert!(eval("1 == true").is_err());
        assert!(eval("false == 0").is_err());
        assert!(eval("if 1 then 2 else 3").is_err());
        assert!(eval("-true").is_err());
    }

    #[test]
    fn if_selects_branch_lazily() {
        assert_eq!(num("if 1 < 2 then 10 else 1 / 0"), 10.0);
        assert_eq!(num("if 1 > 2 then 1 / 0 else 20"), 20.0);
    }

    #[test]
    fn variables_and_constants() {
        assert!((num("2 * pi") - std::f64::consts::TAU).abs() < 1e-12);
        let err = eval("x + 1").unwrap_err();
        assert_eq!(err, Error::new(ErrorKind::UnknownVariable("x".into()), 0));
    }

    #[test]
    fn calls_evaluate_arguments() {
        assert_eq!(num("max(1, 2 * 4, 3)"), 8.0);
        assert_eq!(num("min(4, -2 + 1)"), -1.0);
        assert_eq!(num("abs(-3) + sqrt(16)"), 7.0);
        assert_eq!(
            eval("nope(1 / 0)").unwrap_err(),
            Error::new(ErrorKind::UnknownFunction("nope".into()), 0)
        );
        assert!(eval("abs(true)").is_err());
    }

    #[test]
    fn exec_binds_in_order() {
        let mut env = Env::new();
        let program = parse_program("let a = 2; let b = a * 5; b - a").unwrap();
        assert_eq!(exec(&program, &mut env).unwrap(), Some(Value::Num(8.0)));
        assert_eq!(env.get("a"), Some(Value::Num(2.0)));
        assert_eq!(env.get("b"), Some(Value::Num(10.0)));
        assert_eq!(env.names(), vec!["a", "b"]);
    }

    #[test]
    fn exec_let_returns_value_and_rebinds() {
        let mut env = Env::new();
        env.set("x", Value::Num(1.0));
        let program = parse_program("let x = x + 1; let x = x * 10").unwrap();
        assert_eq!(exec(&program, &mut env).unwrap(), Some(Value::Num(20.0)));
        assert_eq!(env.len(), 1);
        let empty = parse_program("").unwrap();
        assert_eq!(exec(&empty, &mut env).unwrap(), None);
    }

    #[test]
    fn exec_keeps_bindings_made_before_error() {
        let mut env = Env::new();
        let program = parse_program("let a = 1; let b = a / 0; let c = 3").unwrap();
        assert!(exec(&program, &mut env).is_err());
        assert_eq!(env.get("a"), Some(Value::Num(1.0)));
        assert_eq!(env.get("b"), None);
        assert_eq!(env.get("c"), None);
    }

    #[test]
    fn env_set_and_remove() {
        let mut env = Env::new();
        assert!(env.is_empty());
        assert_eq!(env.set("k", Value::Bool(true)), None);
        assert_eq!(env.set("k", Value::Num(2.0)), Some(Value::Bool(true)));
        assert_eq!(env.remove("k"), Some(Value::Num(2.0)));
        assert_eq!(env.remove("k"), None);
        assert_eq!(Env::with_constants().names(), vec!["e", "pi"]);
    }

    #[test]
    fn value_display() {
        assert_eq!(Value::Num(42.0).to_string(), "42");
        assert_eq!(Value::Num(-0.5).to_string(), "-0.5");
        assert_eq!(Value::Bool(false).to_string(), "false");
    }
}
