//! Syntax tree produced by the parser, with a fully parenthesised printer.

use std::collections::BTreeSet;
use std::fmt;

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

/// Infix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Pow => "^",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }

    /// True for operators whose result is a boolean.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne
        )
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Bool(bool),
    Var {
        name: String,
        pos: usize,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
        pos: usize,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        pos: usize,
    },
    Call {
        name: String,
        args: Vec<Expr>,
        pos: usize,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
        pos: usize,
    },
}

impl Expr {
    /// Number of nodes in the tree.
    pub fn node_count(&self) -> usize {
        match self {
            Expr::Num(_) | Expr::Bool(_) | Expr::Var { .. } => 1,
            Expr::Unary { expr, .. } => 1 + expr.node_count(),
            Expr::Binary { lhs, rhs, .. } => 1 + lhs.node_count() + rhs.node_count(),
            Expr::Call { args, .. } => 1 + args.iter().map(Expr::node_count).sum::<usize>(),
            Expr::If {
                cond,
                then,
                otherwise,
                ..
            } => 1 + cond.node_count() + then.node_count() + otherwise.node_count(),
        }
    }

    /// Height of the tree; a leaf has depth 1.
    pub fn depth(&self) -> usize {
        match self {
            Expr::Num(_) | Expr::Bool(_) | Expr::Var { .. } => 1,
            Expr::Unary { expr, .. } => 1 + expr.depth(),
            Expr::Binary { lhs, rhs, .. } => 1 + lhs.depth().max(rhs.depth()),
            Expr::Call { args, .. } => 1 + args.iter().map(Expr::depth).max().unwrap_or(0),
            Expr::If {
                cond,
                then,
                otherwise,
                ..
            } => 1 + cond.depth().max(then.depth()).max(otherwise.depth()),
        }
    }

    /// Adds every variable name referenced by this expression to `out`.
    pub fn collect_vars(&self, out: &mut BTreeSet<String>) {
        match self {
            Expr::Num(_) | Expr::Bool(_) => {}
            Expr::Var { name, .. } => {
                out.insert(name.clone());
            }
            Expr::Unary { expr, .. } => expr.collect_vars(out),
            Expr::Binary { lhs, rhs, .. } => {
                lhs.collect_vars(out);
                rhs.collect_vars(out);
            }
            Expr::Call { args, .. } => {
                for arg in args {
                    arg.collect_vars(out);
                }
            }
            Expr::If {
                cond,
                then,
                otherwise,
                ..
            } => {
                cond.collect_vars(out);
                then.collect_vars(out);
                otherwise.collect_vars(out);
            }
        }
    }
}

/// Formats a number without a trailing `.0` when it is integral.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(n) => f.write_str(&format_number(*n)),
            Expr::Bool(b) => write!(f, "{b}"),
            Expr::Var { name, .. } => f.write_str(name),
            Expr::Unary { op, expr, .. } => {
                let sym = match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "!",
                };
                write!(f, "({sym}{expr})")
            }
            Expr::Binary { op, lhs, rhs, .. } => write!(f, "({lhs} {} {rhs})", op.symbol()),
            Expr::Call { name, args, .. } => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
            Expr::If {
                cond,
                then,
                otherwise,
                ..
            } => write!(f, "(if {cond} then {then} else {otherwise})"),
        }
    }
}

/// A statement: a binding or a bare expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Let {
        name: String,
        value: Expr,
        pos: usize,
    },
    Expr(Expr),
}

impl fmt::Display for Stmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stmt::Let { name, value, .. } => write!(f, "let {name} = {value}"),
            Stmt::Expr(expr) => write!(f, "{expr}"),
        }
    }
}

/// A sequence of statements separated by `;`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}

impl Program {
    /// Variables read before any `let` in the program binds them, sorted.
    ///
    /// A `let` binds its name only for the statements after it, so
    /// `let x = x + 1` reads a free `x`.
    pub fn free_vars(&self) -> Vec<String> {
        let mut bound = BTreeSet::new();
        let mut free = BTreeSet::new();
        for stmt in &self.stmts {
            let mut used = BTreeSet::new();
            let expr = match stmt {
                Stmt::Let { value, .. } => value,
                Stmt::Expr(expr) => expr,
            };
            expr.collect_vars(&mut used);
            for name in used {
                if !bound.contains(&name) {
                    free.insert(name);
                }
            }
            if let Stmt::Let { name, .. } = stmt {
                bound.insert(name.clone());
            }
        }
        free.into_iter().collect()
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, stmt) in self.stmts.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{stmt}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str) -> Expr {
        Expr::Var {
            name: name.to_string(),
            pos: 0,
        }
    }

    fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            pos: 0,
        }
    }

    #[test]
    fn format_number_integral_and_fractional() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-12.0), "-12");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(1e20), "100000000000000000000");
        assert_eq!(format_number(999_999_999_999_999.0), "999999999999999");
    }

    #[test]
    fn display_nested() {
        let e = bin(
            BinOp::Mul,
            bin(BinOp::Add, Expr::Num(1.0), var("x")),
            Expr::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(Expr::Num(2.5)),
                pos: 0,
            },
        );
        assert_eq!(e.to_string(), "((1 + x) * (-2.5))");
    }

    #[test]
    fn display_call_and_if() {
        let call = Expr::Call {
            name: "max".into(),
            args: vec![Expr::Num(1.0), var("y"), Expr::Bool(true)],
            pos: 0,
        };
        assert_eq!(call.to_string(), "max(1, y, true)");
        let empty = Expr::Call {
            name: "f".into(),
            args: vec![],
            pos: 0,
        };
        assert_eq!(empty.to_string(), "f()");
        let cond = Expr::If {
            cond: Box::new(bin(BinOp::Le, var("a"), Expr::Num(0.0))),
            then: Box::new(Expr::Num(1.0)),
            otherwise: Box::new(Expr::Unary {
                op: UnaryOp::Not,
                expr: Box::new(Expr::Bool(false)),
                pos: 0,
            }),
            pos: 0,
        };
        assert_eq!(cond.to_string(), "(if (a <= 0) then 1 else (!false))");
        assert_eq!(cond.depth(), 3);
        assert_eq!(cond.node_count(), 7);
    }

    #[test]
    fn node_count_and_depth() {
        let e = bin(
            BinOp::Add,
            Expr::Num(1.0),
            bin(BinOp::Mul, var("x"), var("y")),
        );
        assert_eq!(e.node_count(), 5);
        assert_eq!(e.depth(), 3);
        let call = Expr::Call {
            name: "abs".into(),
            args: vec![e.clone(), Expr::Num(2.0)],
            pos: 0,
        };
        assert_eq!(call.node_count(), 7);
        assert_eq!(call.depth(), 4);
        let empty = Expr::Call {
            name: "f".into(),
            args: vec![],
            pos: 0,
        };
        assert_eq!(empty.depth(), 1);
        let neg = Expr::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(var("x")),
            pos: 0,
        };
        assert_eq!(neg.node_count(), 2);
        assert_eq!(neg.depth(), 2);
    }

    #[test]
    fn comparison_operators() {
        assert!(BinOp::Lt.is_comparison());
        assert!(BinOp::Ne.is_comparison());
        assert!(!BinOp::And.is_comparison());
        assert!(!BinOp::Pow.is_comparison());
    }

    #[test]
    fn free_vars_respects_let_order() {
        let program = Program {
            stmts: vec![
                Stmt::Let {
                    name: "x".into(),
                    value: bin(BinOp::Add, var("x"), var("a")),
                    pos: 0,
                },
                Stmt::Expr(bin(BinOp::Mul, var("x"), var("b"))),
                Stmt::Let {
                    name: "b".into(),
                    value: Expr::Num(1.0),
                    pos: 0,
                },
                Stmt::Expr(var("b")),
            ],
        };
        assert_eq!(program.free_vars(), vec!["a", "b", "x"]);
        assert_eq!(
            program.to_string(),
            "let x = (x + a); (x * b); let b = 1; b"
        );
    }

    #[test]
    fn free_vars_of_bound_program_is_empty() {
        let program = Program {
            stmts: vec![
                Stmt::Let {
                    name: "n".into(),
                    value: Expr::Num(4.0),
                    pos: 0,
                },
                Stmt::Expr(bin(BinOp::Pow, var("n"), var("n"))),
            ],
        };
        assert!(program.free_vars().is_empty());
    }
}
