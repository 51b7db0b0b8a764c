//! Gaussian elimination with partial pivoting: echelon forms, rank and
//! determinants.

use crate::approx::{snap, EPSILON};
use crate::error::{require_square, Result};
use crate::matrix::Matrix;

/// Entries with magnitude at or below this are treated as zero pivots.
pub const PIVOT_EPS: f64 = 1e-10;

/// The outcome of forward elimination.
#[derive(Debug, Clone, PartialEq)]
pub struct Echelon {
    /// The matrix in row echelon form.
    pub matrix: Matrix,
    /// `(row, column)` of each pivot, top to bottom.
    pub pivots: Vec<(usize, usize)>,
    /// How many row swaps were made.
    pub swaps: usize,
}

/// Index of the row in `from..` with the largest magnitude in column `c`
/// (the first such row on ties).
pub fn pivot_row(m: &Matrix, c: usize, from: usize) -> usize {
    let mut best = from;
    for i in (from + 1)..m.rows() {
        if m[(i, c)].abs() > m[(best, c)].abs() {
            best = i;
        }
    }
    best
}

/// Brings `m` to row echelon form, choosing in each column the row with
/// the largest magnitude as pivot. Columns without a usable pivot are
/// skipped.
pub fn row_echelon(m: &Matrix) -> Echelon {
    let mut a = m.clone();
    let (rows, cols) = a.shape();
    let mut pivots = Vec::new();
    let mut swaps = 0;
    let mut r = 0;
    for c in 0..cols {
        if r >= rows {
            break;
        }
        let best = pivot_row(&a, c, r);
        if a[(best, c)].abs() <= PIVOT_EPS {
            continue;
        }
        if best != r {
            a.swap_rows(best, r);
            swaps += 1;
        }
        for i in (r + 1)..rows {
            let factor = a[(i, c)] / a[(r, c)];
            if factor == 0.0 {
                continue;
            }
            for j in c..cols {
                a[(i, j)] -= factor * a[(r, j)];
            }
            a[(i, c)] = 0.0;
        }
        pivots.push((r, c));
        r += 1;
    }
    Echelon {
        matrix: a,
        pivots,
        swaps,
    }
}

/// Number of linearly independent rows.
pub fn rank(m: &Matrix) -> usize {
    row_echelon(m).pivots.len()
}

/// Reduced row echelon form; entries within `EPSILON` of an integer are
/// snapped to it.
pub fn rref(m: &Matrix) -> Matrix {
    let Echelon {
        matrix: mut a,
        pivots,
        ..
    } = row_echelon(m);
    let cols = a.cols();
    for &(r, c) in pivots.iter().rev() {
        let p = a[(r, c)];
        for j in c..cols {
            a[(r, j)] /= p;
        }
        for i in 0..r {
            let factor = a[(i, c)];
            if factor == 0.0 {
                continue;
            }
            for j in c..cols {
                a[(i, j)] -= factor * a[(r, j)];
            }
        }
    }
    Matrix::from_fn(a.rows(), cols, |r, c| snap(a[(r, c)], EPSILON))
}

/// Determinant via elimination: the product of the pivots, negated once
/// per row swap. The 0x0 matrix has determinant 1.
pub fn determinant(m: &Matrix) -> Result<f64> {
    let n = require_square(m.shape())?;
    let e = row_echelon(m);
    if e.pivots.len() < n {
        return Ok(0.0);
    }
    let mut det = if e.swaps % 2 == 1 { -1.0 } else { 1.0 };
    for i in 0..n {
        det *= e.matrix[(i, i)];
    }
    Ok(det)
}

/// Determinant by cofactor expansion along the first row. Exponential
/// time; meant for cross-checking small matrices.
pub fn determinant_cofactor(m: &Matrix) -> Result<f64> {
    let n = require_square(m.shape())?;
    match n {
        0 => Ok(1.0),
        1 => Ok(m[(0, 0)]),
        2 => Ok(m[(0, 0)] * m[(1, 1)] - m[(0, 1)] * m[(1, 0)]),
        _ => {
            let mut total = 0.0;
            for c in 0..n {
                let sign = if c % 2 == 0 { 1.0 } else { -1.0 };
                total += sign * m[(0, c)] * determinant_cofactor(&m.minor(0, c)?)?;
            }
            Ok(total)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MatrixError;

    fn m(rows: &[&[f64]]) -> Matrix {
        Matrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn pivot_row_picks_largest_magnitude() {
        let a = m(&[&[1.0, 0.0], &[-5.0, 0.0], &[3.0, 0.0], &[5.0, 0.0]]);
        assert_eq!(pivot_row(&a, 0, 0), 1);
        assert_eq!(pivot_row(&a, 0, 2), 3);
        assert_eq!(pivot_row(&a, 0, 3), 3);
        assert_eq!(pivot_row(&a, 1, 0), 0);
    }

    #[test]
    fn echelon_form_with_swap() {
        let a = m(&[&[0.0, 2.0, 1.0], &[1.0, 1.0, 1.0], &[2.0, 2.0, 4.0]]);
        let e = row_echelon(&a);
        assert!(e.matrix.is_upper_triangular(0.0));
        assert_eq!(e.pivots, vec![(0, 0), (1, 1), (2, 2)]);
        assert_eq!(e.swaps, 2);
        assert_eq!(e.matrix.row(0), &[2.0, 2.0, 4.0]);
    }

    #[test]
    fn echelon_skips_zero_columns() {
        let a = m(&[&[0.0, 1.0, 2.0], &[0.0, 2.0, 4.0], &[0.0, 0.0, 1.0]]);
        let e = row_echelon(&a);
        assert_eq!(e.pivots, vec![(0, 1), (1, 2)]);
    }

    #[test]
    fn rank_of_various_shapes() {
        assert_eq!(rank(&Matrix::identity(4)), 4);
        assert_eq!(rank(&Matrix::zeros(3, 5)), 0);
        assert_eq!(rank(&m(&[&[1.0, 2.0], &[2.0, 4.0]])), 1);
        assert_eq!(
            rank(&m(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &[7.0, 8.0, 9.0]])),
            2
        );
        assert_eq!(rank(&m(&[&[1.0, 0.0, 2.0, 1.0], &[0.0, 1.0, 1.0, 0.0]])), 2);
        assert_eq!(rank(&m(&[&[1.0], &[2.0], &[3.0]])), 1);
        assert_eq!(rank(&m(&[&[1e-12, 0.0], &[0.0, 1e-12]])), 0);
    }

    #[test]
    fn rref_examples() {
        let a = m(&[
            &[1.0, 2.0, -1.0, -4.0],
            &[2.0, 3.0, -1.0, -11.0],
            &[-2.0, 0.0, -3.0, 22.0],
        ]);
        assert_eq!(
            rref(&a),
            m(&[
                &[1.0, 0.0, 0.0, -8.0],
                &[0.0, 1.0, 0.0, 1.0],
                &[0.0, 0.0, 1.0, -2.0]
            ])
        );
        let dependent = m(&[&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]]);
        assert_eq!(rref(&dependent), m(&[&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0]]));
    }

    #[test]
    fn rref_with_free_column() {
        let a = m(&[&[1.0, 2.0, 1.0], &[2.0, 4.0, 3.0]]);
        assert_eq!(rref(&a), m(&[&[1.0, 2.0, 0.0], &[0.0, 0.0, 1.0]]));
    }

    #[test]
    fn determinants_small() {
        assert_eq!(determinant(&Matrix::zeros(0, 0)), Ok(1.0));
        assert_eq!(determinant(&m(&[&[-3.5]])), Ok(-3.5));
        assert_eq!(determinant(&m(&[&[1.0, 2.0], &[3.0, 4.0]])), Ok(-2.0));
        assert_eq!(determinant(&m(&[&[0.0, 1.0], &[1.0, 0.0]])), Ok(-1.0));
        assert_eq!(determinant(&Matrix::diagonal(&[2.0, 3.0, 4.0])), Ok(24.0));
    }

    #[test]
    fn determinant_sign_follows_swaps() {
        let a = m(&[&[0.0, 0.0, 1.0], &[0.0, 1.0, 0.0], &[1.0, 0.0, 0.0]]);
        assert_eq!(determinant(&a), Ok(-1.0));
        let b = m(&[&[0.0, 1.0, 0.0], &[0.0, 0.0, 1.0], &[1.0, 0.0, 0.0]]);
        assert_eq!(determinant(&b), Ok(1.0));
    }

    #[test]
    fn determinant_singular_and_non_square() {
        let s = m(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &[7.0, 8.0, 9.0]]);
        assert_eq!(determinant(&s), Ok(0.0));
        assert_eq!(
            determinant(&Matrix::zeros(2, 3)),
            Err(MatrixError::NotSquare { rows: 2, cols: 3 })
        );
    }

    #[test]
    fn elimination_matches_cofactor_expansion() {
        let a = m(&[
            &[2.0, -1.0, 0.0, 3.0],
            &[1.0, 4.0, -2.0, 0.0],
            &[0.0, 5.0, 1.0, -1.0],
            &[3.0, 0.0, 2.0, 1.0],
        ]);
        let by_cofactor = determinant_cofactor(&a).unwrap();
        assert_eq!(by_cofactor, -103.0);
        assert!((determinant(&a).unwrap() - by_cofactor).abs() < 1e-9);
        assert_eq!(
            determinant_cofactor(&m(&[&[1.0, 2.0], &[3.0, 4.0]])),
            Ok(-2.0)
        );
        assert_eq!(determinant_cofactor(&m(&[&[6.0]])), Ok(6.0));
        let three = m(&[&[2.0, 0.0, 1.0], &[1.0, 3.0, 2.0], &[1.0, 1.0, 2.0]]);
        assert_eq!(determinant_cofactor(&three), Ok(6.0));
        assert_eq!(determinant_cofactor(&Matrix::zeros(0, 0)), Ok(1.0));
        assert!(determinant_cofactor(&Matrix::zeros(1, 2)).is_err());
    }
}
