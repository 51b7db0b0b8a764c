//! End-to-end tests through the public API.

use exprlang::{eval, eval_number, parser, ErrorKind, Interpreter, Value};

#[test]
fn quadratic_roots() {
    let src = "let a = 1; let b = -3; let c = 2;\n\
               let d = b ^ 2 - 4 * a * c;\n\
               let r1 = (-b + sqrt(d)) / (2 * a);\n\
               let r2 = (-b - sqrt(d)) / (2 * a);\n\
               r1 * 10 + r2";
    assert_eq!(eval_number(src).unwrap(), 21.0);
}

#[test]
fn piecewise_function_with_if() {
    let mut interp = Interpreter::new();
    interp
        .run("let lo = 0; let hi = 100")
        .expect("bindings succeed");
    let cases = [
        (-5.0, 0.0),
        (0.0, 0.0),
        (42.0, 42.0),
        (100.0, 100.0),
        (250.0, 100.0),
    ];
    for (input, expected) in cases {
        let mut local = interp.clone().with_var("x", input);
        let got = local
            .run("if x < lo then lo else if x > hi then hi else x")
            .unwrap();
        assert_eq!(got, Some(Value::Num(expected)), "input {input}");
        let builtin = local.run("clamp(x, lo, hi)").unwrap();
        assert_eq!(builtin, got, "input {input}");
    }
}

#[test]
fn error_render_points_into_multiline_source() {
    let src = "let total = 10;\nlet share = total / count;\nshare";
    let err = eval(src).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnknownVariable("count".into()));
    assert_eq!(err.line_col(src), (2, 21));
    assert_eq!(
        err.render(src),
        "line 2, column 21: unknown variable `count`\nlet share = total / count;\n                    ^"
    );
}

#[test]
fn free_variables_of_a_program() {
    let program = parser::parse_program("let y = x * 2; let z = y + w; max(z, v, y)").unwrap();
    assert_eq!(program.free_vars(), vec!["v", "w", "x"]);
}

#[test]
fn booleans_compose() {
    let src = "let n = 15; (n % 3 == 0) && (n % 5 == 0) && !(n % 2 == 0)";
    assert_eq!(eval(src).unwrap(), Value::Bool(true));
    let src = "let n = 10; n % 3 == 0 || n % 4 == 0";
    assert_eq!(eval(src).unwrap(), Value::Bool(false));
}

#[test]
fn wrong_arity_message() {
    let err = eval("1 + hypot(3)").unwrap_err();
    assert_eq!(err.pos, 4);
    assert_eq!(
        err.to_string(),
        "function `hypot` expects 2 arguments, got 1 at position 4"
    );
    let err = eval("min()").unwrap_err();
    assert_eq!(
        err.to_string(),
        "function `min` expects at least 1 argument, got 0 at position 0"
    );
}

#[test]
fn printed_program_reparses_to_same_tree() {
    let src = "let q = -a ^ 2 * (b - c) / d % 3; if q >= 1 && !flag then log(q, 2) else 0";
    let program = parser::parse_program(src).unwrap();
    let printed = program.to_string();
    let reparsed = parser::parse_program(&printed).unwrap();
    assert_eq!(printed, reparsed.to_string());
    assert_eq!(
        printed,
        "let q = ((((-(a ^ 2)) * (b - c)) / d) % 3); (if ((q >= 1) && (!flag)) then log(q, 2) else 0)"
    );
}
