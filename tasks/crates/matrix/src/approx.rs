//! Floating point comparison and formatting helpers.

/// Default tolerance for comparisons.
pub const EPSILON: f64 = 1e-9;

/// True when `a` and `b` are within `eps`, relative to the larger
/// magnitude once that exceeds 1 (absolute below that).
pub fn approx_eq(a: f64, b: f64, eps: f64) -> bool {
    let scale = a.abs().max(b.abs()).max(1.0);
    (a - b).abs() <= eps * scale
}

/// True when `x` is within `eps` of zero.
pub fn is_zero(x: f64, eps: f64) -> bool {
    x.abs() <= eps
}

/// Snaps values within `eps` of an integer to that integer (and `-0.0`
/// to `0.0`), leaving everything else unchanged.
pub fn snap(x: f64, eps: f64) -> f64 {
    let nearest = x.round();
    if (x - nearest).abs() <= eps {
        if nearest == 0.0 {
            0.0
        } else {
            nearest
        }
    } else {
        x
    }
}

/// Formats a number with at most 4 decimals, trailing zeros removed:
/// `2` → `"2"`, `0.5` → `"0.5"`, `1/3` → `"0.3333"`, `-1e-12` → `"0"`.
pub fn format_num(x: f64) -> String {
    let x = snap(x, EPSILON);
    let text = format!("{x:.4}");
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approx_eq_absolute_near_zero() {
        assert!(approx_eq(0.0, 1e-10, 1e-9));
        assert!(approx_eq(0.0, 1e-9, 1e-9));
        assert!(!approx_eq(0.0, 2e-9, 1e-9));
        assert!(approx_eq(-0.5, -0.5, 0.0));
    }

    #[test]
    fn approx_eq_relative_for_large_values() {
        assert!(approx_eq(1e6, 1e6 + 1e-4, 1e-9));
        assert!(!approx_eq(1e6, 1e6 + 1e-2, 1e-9));
        assert!(!approx_eq(1.0, -1.0, 1e-9));
    }

    #[test]
    fn is_zero_boundary() {
        assert!(is_zero(0.0, 1e-9));
        assert!(is_zero(-1e-9, 1e-9));
        assert!(!is_zero(1.1e-9, 1e-9));
    }

    #[test]
    fn snap_to_integers() {
        assert_eq!(snap(2.000_000_000_1, 1e-9), 2.0);
        assert_eq!(snap(1.999_999_999_9, 1e-9), 2.0);
        assert_eq!(snap(2.1, 1e-9), 2.1);
        assert_eq!(snap(2.5, 0.5), 3.0);
        assert!(snap(-1e-12, 1e-9).is_sign_positive());
        assert!(snap(-0.0, 1e-9).is_sign_positive());
    }

    #[test]
    fn format_numbers() {
        assert_eq!(format_num(2.0), "2");
        assert_eq!(format_num(-3.0), "-3");
        assert_eq!(format_num(0.5), "0.5");
        assert_eq!(format_num(1.0 / 3.0), "0.3333");
        assert_eq!(format_num(-2.0 / 3.0), "-0.6667");
        assert_eq!(format_num(-1e-12), "0");
        assert_eq!(format_num(-0.00001), "0");
        assert_eq!(format_num(10.25), "10.25");
        assert_eq!(format_num(100.0), "100");
    }
}
