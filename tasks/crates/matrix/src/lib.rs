//! Dense `f64` linear algebra: vectors, matrices, Gaussian elimination with
//! partial pivoting (rank, determinant, reduced row echelon form), linear
//! solves, inverses and least squares. Comparisons use tolerances from
//! [`approx`].

pub mod approx;
pub mod error;
pub mod gauss;
pub mod matrix;
pub mod solve;
pub mod vector;

pub use error::{MatrixError, Result};
pub use gauss::{determinant, rank, rref};
pub use matrix::Matrix;
pub use solve::{inverse, least_squares, solve};
pub use vector::Vector;

/// Rotation by `theta` radians counter-clockwise in the plane.
pub fn rotation2d(theta: f64) -> Matrix {
    let (s, c) = theta.sin_cos();
    Matrix::from_fn(2, 2, |r, col| match (r, col) {
        (0, 0) | (1, 1) => c,
        (0, 1) => -s,
        _ => s,
    })
}

/// True when the square matrix `m` is invertible (non-zero determinant
/// beyond tolerance).
pub fn is_invertible(m: &Matrix) -> bool {
    m.is_square() && rank(m) == m.rows()
}

/// `a` is orthogonal when `aᵀ a = I` within `eps`.
pub fn is_orthogonal(a: &Matrix, eps: f64) -> bool {
    if !a.is_square() {
        return false;
    }
    match a.transpose().mul(a) {
        Ok(product) => product.approx_eq(&Matrix::identity(a.rows()), eps),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::FRAC_PI_2;

    #[test]
    fn rotation_quarter_turn() {
        let r = rotation2d(FRAC_PI_2);
        let p = r.mul_vec(&Vector::new(vec![1.0, 0.0])).unwrap();
        assert!(p.approx_eq(&Vector::new(vec![0.0, 1.0]), 1e-12), "{p}");
        let q = r.mul_vec(&Vector::new(vec![0.0, 1.0])).unwrap();
        assert!(q.approx_eq(&Vector::new(vec![-1.0, 0.0]), 1e-12), "{q}");
    }

    #[test]
    fn rotations_are_orthogonal() {
        assert!(is_orthogonal(&rotation2d(0.3), 1e-12));
        assert!((determinant(&rotation2d(1.1)).unwrap() - 1.0).abs() < 1e-12);
        assert!(!is_orthogonal(&Matrix::diagonal(&[1.0, 2.0]), 1e-12));
        assert!(!is_orthogonal(&Matrix::zeros(2, 3), 1e-12));
    }

    #[test]
    fn invertibility() {
        assert!(is_invertible(&Matrix::identity(3)));
        assert!(!is_invertible(&Matrix::zeros(2, 2)));
        assert!(!is_invertible(&Matrix::zeros(2, 3)));
        let a = Matrix::from_rows(&[vec![1.0, 2.0], vec![2.0, 4.0001]]).unwrap();
        assert!(is_invertible(&a));
    }
}
