//! Built-in numeric functions callable from expressions.

use crate::error::{Error, ErrorKind};

/// Signature of a built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    pub name: &'static str,
    pub min_args: usize,
    /// `None` means variadic.
    pub max_args: Option<usize>,
}

const fn fixed(name: &'static str, n: usize) -> Builtin {
    Builtin {
        name,
        min_args: n,
        max_args: Some(n),
    }
}

const fn variadic(name: &'static str, min: usize) -> Builtin {
    Builtin {
        name,
        min_args: min,
        max_args: None,
    }
}

/// All built-ins, sorted by name.
pub const BUILTINS: &[Builtin] = &[
    fixed("abs", 1),
    variadic("avg", 1),
    fixed("ceil", 1),
    fixed("clamp", 3),
    fixed("floor", 1),
    fixed("hypot", 2),
    Builtin {
        name: "log",
        min_args: 1,
        max_args: Some(2),
    },
    variadic("max", 1),
    variadic("min", 1),
    fixed("pow", 2),
    fixed("round", 1),
    fixed("sign", 1),
    fixed("sqrt", 1),
];

/// Looks a built-in up by name.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS
        .binary_search_by(|b| b.name.cmp(name))
        .ok()
        .map(|i| &BUILTINS[i])
}

/// Checks that `got` arguments suit `builtin`.
pub fn check_arity(builtin: &Builtin, got: usize, pos: usize) -> Result<(), Error> {
    let too_few = got < builtin.min_args;
    let too_many = builtin.max_args.is_some_and(|max| got > max);
    if too_few || too_many {
        return Err(Error::new(
            ErrorKind::WrongArity {
                name: builtin.name.to_string(),
                min: builtin.min_args,
                max: builtin.max_args,
                got,
            },
            pos,
        ));
    }
    Ok(())
}

fn min_of(args: &[f64]) -> f64 {
    let mut best = args[0];
    for &x in &args[1..] {
        if x < best {
            best = x;
        }
    }
    best
}

fn max_of(args: &[f64]) -> f64 {
    let mut best = args[0];
    for &x in &args[1..] {
        if x > best {
            best = x;
        }
    }
    best
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn clamp(x: f64, lo: f64, hi: f64, pos: usize) -> Result<f64, Error> {
    if lo > hi {
        return Err(Error::new(
            ErrorKind::Domain(format!("clamp bounds out of order: {lo} > {hi}")),
            pos,
        ));
    }
    if x < lo {
        Ok(lo)
    } else if x > hi {
        Ok(hi)
    } else {
        Ok(x)
    }
}

/// Logarithm of `x`, natural by default or in `base`.
fn log(args: &[f64], pos: usize) -> Result<f64, Error> {
    let x = args[0];
    if x <= 0.0 {
        return Err(Error::new(
            ErrorKind::Domain("log of a non-positive number".into()),
            pos,
        ));
    }
    match args.get(1) {
        None => Ok(x.ln()),
        Some(&base) if base <= 0.0 || base == 1.0 => Err(Error::new(
            ErrorKind::Domain(format!("invalid logarithm base {base}")),
            pos,
        )),
        Some(&base) => Ok(x.ln() / base.ln()),
    }
}

/// Calls the built-in `name` with numeric `args`; `pos` locates the call.
pub fn call(name: &str, args: &[f64], pos: usize) -> Result<f64, Error> {
    let builtin =
        lookup(name).ok_or_else(|| Error::new(ErrorKind::UnknownFunction(name.into()), pos))?;
    check_arity(builtin, args.len(), pos)?;
    let value = match name {
        "abs" => args[0].abs(),
        "avg" => args.iter().sum::<f64>() / args.len() as f64,
        "ceil" => args[0].ceil(),
        "clamp" => clamp(args[0], args[1], args[2], pos)?,
        "floor" => args[0].floor(),
        "hypot" => (args[0] * args[0] + args[1] * args[1]).sqrt(),
        "log" => log(args, pos)?,
        "max" => max_of(args),
        "min" => min_of(args),
        "pow" => args[0].powf(args[1]),
        "round" => args[0].round(),
        "sign" => sign(args[0]),
        "sqrt" => {
            if args[0] < 0.0 {
                return Err(Error::new(
                    ErrorKind::Domain("square root of a negative number".into()),
                    pos,
                ));
            }
            args[0].sqrt()
        }
        _ => return Err(Error::new(ErrorKind::UnknownFunction(name.into()), pos)),
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str, args: &[f64]) -> f64 {
        call(name, args, 0).unwrap()
    }

    #[test]
    fn table_is_sorted_for_binary_search() {
        for pair in BUILTINS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} >= {}",
                pair[0].name,
                pair[1].name
            );
        }
        assert_eq!(lookup("abs").unwrap().min_args, 1);
        assert_eq!(lookup("sqrt").unwrap().name, "sqrt");
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn min_max_avg() {
        assert_eq!(ok("min", &[3.0, -1.0, 2.0]), -1.0);
        assert_eq!(ok("min", &[-4.0, 5.0]), -4.0);
        assert_eq!(ok("max", &[3.0, -1.0, 7.0, 2.0]), 7.0);
        assert_eq!(ok("max", &[9.0, 1.0]), 9.0);
        assert_eq!(ok("max", &[5.0]), 5.0);
        assert_eq!(ok("avg", &[1.0, 2.0, 6.0]), 3.0);
    }

    #[test]
    fn sign_abs_rounding() {
        assert_eq!(ok("sign", &[-3.5]), -1.0);
        assert_eq!(ok("sign", &[0.0]), 0.0);
        assert_eq!(ok("sign", &[0.25]), 1.0);
        assert_eq!(ok("abs", &[-2.5]), 2.5);
        assert_eq!(ok("floor", &[-1.5]), -2.0);
        assert_eq!(ok("ceil", &[-1.5]), -1.0);
        assert_eq!(ok("round", &[2.5]), 3.0);
    }

    #[test]
    fn clamp_bounds() {
        assert_eq!(ok("clamp", &[5.0, 0.0, 10.0]), 5.0);
        assert_eq!(ok("clamp", &[-5.0, 0.0, 10.0]), 0.0);
        assert_eq!(ok("clamp", &[15.0, 0.0, 10.0]), 10.0);
        assert_eq!(ok("clamp", &[3.0, 3.0, 3.0]), 3.0);
        let err = call("clamp", &[1.0, 4.0, 2.0], 7).unwrap_err();
        assert_eq!(
            err,
            Error::new(
                ErrorKind::Domain("clamp bounds out of order: 4 > 2".into()),
                7
            )
        );
    }

    #[test]
    fn pow_hypot_sqrt() {
        assert_eq!(ok("pow", &[2.0, 10.0]), 1024.0);
        assert_eq!(ok("pow", &[9.0, 0.5]), 3.0);
        assert_eq!(ok("hypot", &[3.0, 4.0]), 5.0);
        assert_eq!(ok("sqrt", &[0.0]), 0.0);
        assert_eq!(ok("sqrt", &[16.0]), 4.0);
        let err = call("sqrt", &[-1.0], 2).unwrap_err();
        assert_eq!(err.pos, 2);
        assert!(matches!(err.kind, ErrorKind::Domain(_)));
    }

    #[test]
    fn logarithms() {
        assert!((ok("log", &[std::f64::consts::E]) - 1.0).abs() < 1e-12);
        assert!((ok("log", &[1000.0, 10.0]) - 3.0).abs() < 1e-12);
        assert!((ok("log", &[8.0, 2.0]) - 3.0).abs() < 1e-12);
        assert!(call("log", &[0.0], 0).is_err());
        assert!(call("log", &[-2.0], 0).is_err());
        assert!(call("log", &[8.0, 1.0], 0).is_err());
        assert!(call("log", &[8.0, 0.0], 0).is_err());
        assert!(call("log", &[8.0, 0.5], 0).is_ok());
    }

    #[test]
    fn arity_is_checked() {
        let err = call("pow", &[1.0], 3).unwrap_err();
        assert_eq!(
            err,
            Error::new(
                ErrorKind::WrongArity {
                    name: "pow".into(),
                    min: 2,
                    max: Some(2),
                    got: 1
                },
                3
            )
        );
        assert!(call("pow", &[1.0, 2.0, 3.0], 0).is_err());
        assert!(call("min", &[], 0).is_err());
        assert!(call("max", &[], 0).is_err());
        assert!(call("avg", &[], 0).is_err());
        assert!(call("log", &[], 0).is_err());
        assert!(call("log", &[1.0, 2.0, 3.0], 0).is_err());
        assert!(call("max", &[1.0; 20], 0).is_ok());
    }

    #[test]
    fn unknown_function() {
        let err = call("frobnicate", &[1.0], 11).unwrap_err();
        assert_eq!(
            err,
            Error::new(ErrorKind::UnknownFunction("frobnicate".into()), 11)
        );
    }
}
