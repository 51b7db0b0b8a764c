//! Linear systems, inverses and least squares.

use crate::approx::{approx_eq, EPSILON};
use crate::error::{require_square, MatrixError, Result};
use crate::gauss::{row_echelon, rref};
use crate::matrix::Matrix;
use crate::vector::Vector;

/// Solves `a x = b` for square, non-singular `a` by elimination with
/// partial pivoting and back substitution.
pub fn solve(a: &Matrix, b: &Vector) -> Result<Vector> {
    let n = require_square(a.shape())?;
    if b.len() != n {
        return Err(MatrixError::DimensionMismatch {
            op: "solve",
            left: a.shape(),
            right: (b.len(), 1),
        });
    }
    let augmented = a.hstack(&Matrix::column(b))?;
    let echelon = row_echelon(&augmented);
    let pivots_in_a = echelon.pivots.iter().filter(|&&(_, c)| c < n).count();
    if pivots_in_a < n {
        return Err(MatrixError::Singular);
    }
    let u = echelon.matrix;
    Ok(back_substitute(&u, n))
}

/// Back substitution on an upper triangular augmented matrix `[U | y]`
/// with `n` unknowns.
pub fn back_substitute(u: &Matrix, n: usize) -> Vector {
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut sum = u[(i, n)];
        for j in (i + 1)..n {
            sum -= u[(i, j)] * x[j];
        }
        x[i] = sum / u[(i, i)];
    }
    Vector::new(x)
}

/// The inverse of a square matrix, by Gauss-Jordan elimination on `[A | I]`.
pub fn inverse(a: &Matrix) -> Result<Matrix> {
    let n = require_square(a.shape())?;
    let reduced = rref(&a.hstack(&Matrix::identity(n))?);
    for i in 0..n {
        if !approx_eq(reduced[(i, i)], 1.0, EPSILON) {
            return Err(MatrixError::Singular);
        }
    }
    reduced.submatrix(0, n, n, n)
}

/// Length of the residual `a x - b`.
pub fn residual(a: &Matrix, x: &Vector, b: &Vector) -> Result<f64> {
    Ok(a.mul_vec(x)?.sub(b)?.norm())
}

/// The `x` minimising `|a x - b|` for a tall matrix with independent
/// columns, via the normal equations `aᵀa x = aᵀb`.
pub fn least_squares(a: &Matrix, b: &Vector) -> Result<Vector> {
    if a.rows() < a.cols() || b.len() != a.rows() {
        return Err(MatrixError::DimensionMismatch {
            op: "fit",
            left: a.shape(),
            right: (b.len(), 1),
        });
    }
    let at = a.transpose();
    let ata = at.mul(a)?;
    let atb = at.mul_vec(b)?;
    solve(&ata, &atb)
}

/// Coefficients `c0, c1, ..., c_degree` of the least squares polynomial
/// `c0 + c1 x + ... ` through the points `(xs[i], ys[i])`.
pub fn polyfit(xs: &[f64], ys: &[f64], degree: usize) -> Result<Vector> {
    if xs.len() != ys.len() {
        return Err(MatrixError::DimensionMismatch {
            op: "fit",
            left: (xs.len(), 1),
            right: (ys.len(), 1),
        });
    }
    let vandermonde = Matrix::from_fn(xs.len(), degree + 1, |r, c| xs[r].powi(c as i32));
    least_squares(&vandermonde, &Vector::new(ys.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rows: &[&[f64]]) -> Matrix {
        Matrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
    }

    fn v(data: &[f64]) -> Vector {
        Vector::new(data.to_vec())
    }

    #[test]
    fn solve_three_by_three() {
        let a = m(&[&[2.0, 1.0, -1.0], &[-3.0, -1.0, 2.0], &[-2.0, 1.0, 2.0]]);
        let b = v(&[8.0, -11.0, -3.0]);
        let x = solve(&a, &b).unwrap();
        assert!(x.approx_eq(&v(&[2.0, 3.0, -1.0]), 1e-12), "{x}");
        assert!(residual(&a, &x, &b).unwrap() < 1e-12);
    }

    #[test]
    fn solve_needs_pivoting() {
        let a = m(&[&[0.0, 1.0], &[1.0, 0.0]]);
        assert_eq!(solve(&a, &v(&[3.0, 4.0])).unwrap(), v(&[4.0, 3.0]));
        let tiny = m(&[&[1e-20, 1.0], &[1.0, 1.0]]);
        let x = solve(&tiny, &v(&[1.0, 2.0])).unwrap();
        assert!(x.approx_eq(&v(&[1.0, 1.0]), 1e-12), "{x}");
    }

    #[test]
    fn solve_errors() {
        let singular = m(&[&[1.0, 2.0], &[2.0, 4.0]]);
        assert_eq!(
            solve(&singular, &v(&[1.0, 2.0])),
            Err(MatrixError::Singular)
        );
        assert_eq!(
            solve(&singular, &v(&[1.0, 3.0])),
            Err(MatrixError::Singular)
        );
        assert_eq!(
            solve(&Matrix::identity(2), &v(&[1.0, 2.0, 3.0])),
            Err(MatrixError::DimensionMismatch {
                op: "solve",
                left: (2, 2),
                right: (3, 1)
            })
        );
        assert!(solve(&Matrix::zeros(2, 3), &v(&[1.0, 2.0])).is_err());
    }

    #[test]
    fn back_substitution() {
        let u = m(&[&[2.0, 1.0, 5.0], &[0.0, 4.0, 8.0]]);
        assert_eq!(back_substitute(&u, 2), v(&[1.5, 2.0]));
        let one = m(&[&[4.0, 2.0]]);
        assert_eq!(back_substitute(&one, 1), v(&[0.5]));
    }

    #[test]
    fn inverse_two_by_two() {
        let a = m(&[&[4.0, 7.0], &[2.0, 6.0]]);
        let inv = inverse(&a).unwrap();
        assert!(
            inv.approx_eq(&m(&[&[0.6, -0.7], &[-0.2, 0.4]]), 1e-12),
            "{inv}"
        );
        assert!(a.mul(&inv).unwrap().approx_eq(&Matrix::identity(2), 1e-12));
    }

    #[test]
    fn inverse_three_by_three_round_trip() {
        let a = m(&[&[1.0, 2.0, 3.0], &[0.0, 1.0, 4.0], &[5.0, 6.0, 0.0]]);
        let inv = inverse(&a).unwrap();
        assert_eq!(
            inv,
            m(&[&[-24.0, 18.0, 5.0], &[20.0, -15.0, -4.0], &[-5.0, 4.0, 1.0]])
        );
        assert_eq!(inverse(&inv).unwrap(), a);
    }

    #[test]
    fn inverse_errors() {
        let singular = m(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &[7.0, 8.0, 9.0]]);
        assert_eq!(inverse(&singular), Err(MatrixError::Singular));
        assert_eq!(inverse(&Matrix::zeros(1, 1)), Err(MatrixError::Singular));
        assert_eq!(
            inverse(&Matrix::zeros(3, 2)),
            Err(MatrixError::NotSquare { rows: 3, cols: 2 })
        );
        assert_eq!(inverse(&Matrix::zeros(0, 0)), Ok(Matrix::zeros(0, 0)));
    }

    #[test]
    fn least_squares_line() {
        let a = m(&[&[1.0, 0.0], &[1.0, 1.0], &[1.0, 2.0], &[1.0, 3.0]]);
        let b = v(&[1.0, 2.0, 2.0, 4.0]);
        let x = least_squares(&a, &b).unwrap();
        assert!(x.approx_eq(&v(&[0.9, 0.9]), 1e-12), "{x}");
        assert!(least_squares(&a.transpose(), &v(&[1.0, 2.0])).is_err());
        assert!(least_squares(&a, &v(&[1.0, 2.0])).is_err());
    }

    #[test]
    fn polyfit_exact_quadratic() {
        let xs = [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0];
        let ys: Vec<f64> = xs.iter().map(|x| 3.0 - 2.0 * x + 0.5 * x * x).collect();
        let c = polyfit(&xs, &ys, 2).unwrap();
        assert!(c.approx_eq(&v(&[3.0, -2.0, 0.5]), 1e-9), "{c}");
        assert_eq!(polyfit(&xs, &ys, 0).unwrap().len(), 1);
        assert_eq!(
            polyfit(&xs, &ys[..5], 1),
            Err(MatrixError::DimensionMismatch {
                op: "fit",
                left: (6, 1),
                right: (5, 1)
            })
        );
        assert!(polyfit(&[1.0, 2.0], &[1.0, 2.0], 2).is_err());
    }
}
