//! Dense row-major matrices.

use crate::approx::{approx_eq, format_num};
use crate::error::{require_same_shape, require_square, MatrixError, Result};
use crate::vector::Vector;
use std::fmt;
use std::ops::{Index, IndexMut};

/// A dense `rows x cols` matrix of `f64`, stored row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    pub fn identity(n: usize) -> Self {
        let mut m = Matrix::zeros(n, n);
        for i in 0..n {
            m.data[i * n + i] = 1.0;
        }
        m
    }

    /// A square matrix with `values` on the diagonal.
    pub fn diagonal(values: &[f64]) -> Self {
        let n = values.len();
        let mut m = Matrix::zeros(n, n);
        for (i, &v) in values.iter().enumerate() {
            m.data[i * n + i] = v;
        }
        m
    }

    /// Builds a matrix from rows, which must all have the same length.
    /// No rows gives the 0x0 matrix.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self> {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, row) in rows.iter().enumerate() {
            if row.len() != cols {
                return Err(MatrixError::RaggedRows {
                    row: i,
                    expected: cols,
                    found: row.len(),
                });
            }
            data.extend_from_slice(row);
        }
        Ok(Matrix {
            rows: rows.len(),
            cols,
            data,
        })
    }

    /// Builds a matrix from row-major `data` of length `rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(MatrixError::DimensionMismatch {
                op: "reshape",
                left: (rows, cols),
                right: (data.len(), 1),
            });
        }
        Ok(Matrix { rows, cols, data })
    }

    pub fn from_fn<F: FnMut(usize, usize) -> f64>(rows: usize, cols: usize, mut f: F) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                data.push(f(r, c));
            }
        }
        Matrix { rows, cols, data }
    }

    /// A one-column matrix holding `v`.
    pub fn column(v: &Vector) -> Self {
        Matrix {
            rows: v.len(),
            cols: 1,
            data: v.as_slice().to_vec(),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    pub fn is_square(&self) -> bool {
        self.rows == self.cols
    }

    fn check_index(&self, r: usize, c: usize) -> Result<usize> {
        if r >= self.rows || c >= self.cols {
            return Err(MatrixError::OutOfBounds {
                index: (r, c),
                shape: self.shape(),
            });
        }
        Ok(r * self.cols + c)
    }

    pub fn get(&self, r: usize, c: usize) -> Option<f64> {
        self.check_index(r, c).ok().map(|i| self.data[i])
    }

    pub fn set(&mut self, r: usize, c: usize, value: f64) -> Result<()> {
        let i = self.check_index(r, c)?;
        self.data[i] = value;
        Ok(())
    }

    /// Row `r` as a slice. Panics if `r` is out of range.
    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Column `c` as a vector. Panics if `c` is out of range.
    pub fn col(&self, c: usize) -> Vector {
        assert!(c < self.cols, "column {c} out of range");
        Vector::new(
            (0..self.rows)
                .map(|r| self.data[r * self.cols + c])
                .collect(),
        )
    }

    pub fn swap_rows(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        for c in 0..self.cols {
            self.data.swap(a * self.cols + c, b * self.cols + c);
        }
    }

    pub fn transpose(&self) -> Matrix {
        Matrix::from_fn(self.cols, self.rows, |r, c| self[(c, r)])
    }

    pub fn add(&self, other: &Matrix) -> Result<Matrix> {
        require_same_shape("add", self.shape(), other.shape())?;
        let data = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| a + b)
            .collect();
        Ok(Matrix { data, ..*self })
    }

    pub fn sub(&self, other: &Matrix) -> Result<Matrix> {
        require_same_shape("subtract", self.shape(), other.shape())?;
        let data = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| a - b)
            .collect();
        Ok(Matrix { data, ..*self })
    }

    pub fn scale(&self, k: f64) -> Matrix {
        let data = self.data.iter().map(|x| x * k).collect();
        Matrix { data, ..*self }
    }

    /// Matrix product `self * other`.
    pub fn mul(&self, other: &Matrix) -> Result<Matrix> {
        if self.cols != other.rows {
            return Err(MatrixError::DimensionMismatch {
                op: "multiply",
                left: self.shape(),
                right: other.shape(),
            });
        }
        let mut out = Matrix::zeros(self.rows, other.cols);
        for i in 0..self.rows {
            for k in 0..self.cols {
                let a = self[(i, k)];
                if a == 0.0 {
                    continue;
                }
                for j in 0..other.cols {
                    out.data[i * other.cols + j] += a * other[(k, j)];
                }
            }
        }
        Ok(out)
    }

    /// Matrix-vector product `self * v`.
    pub fn mul_vec(&self, v: &Vector) -> Result<Vector> {
        if self.cols != v.len() {
            return Err(MatrixError::DimensionMismatch {
                op: "multiply",
                left: self.shape(),
                right: (v.len(), 1),
            });
        }
        let data = (0..self.rows)
            .map(|r| {
                self.row(r)
                    .iter()
                    .zip(v.as_slice())
                    .map(|(a, b)| a * b)
                    .sum()
            })
            .collect();
        Ok(Vector::new(data))
    }

    /// `self` raised to the power `n` by repeated squaring; `n = 0` gives
    /// the identity.
    pub fn pow(&self, n: u32) -> Result<Matrix> {
        let size = require_square(self.shape())?;
        let mut result = Matrix::identity(size);
        let mut base = self.clone();
        let mut exp = n;
        while exp > 0 {
            if exp % 2 == 1 {
                result = result.mul(&base)?;
            }
            exp /= 2;
            if exp > 0 {
                base = base.mul(&base)?;
            }
        }
        Ok(result)
    }

    /// Sum of the diagonal.
    pub fn trace(&self) -> Result<f64> {
        let n = require_square(self.shape())?;
        Ok((0..n).map(|i| self[(i, i)]).sum())
    }

    /// Square root of the sum of squared entries.
    pub fn frobenius_norm(&self) -> f64 {
        self.data.iter().map(|x| x * x).sum::<f64>().sqrt()
    }

    /// True for a square matrix equal to its transpose within `eps`.
    pub fn is_symmetric(&self, eps: f64) -> bool {
        if !self.is_square() {
            return false;
        }
        for r in 0..self.rows {
            for c in (r + 1)..self.cols {
                if !approx_eq(self[(r, c)], self[(c, r)], eps) {
                    return false;
                }
            }
        }
        true
    }

    /// True when every entry below the diagonal is within `eps` of zero.
    pub fn is_upper_triangular(&self, eps: f64) -> bool {
        for r in 1..self.rows {
            for c in 0..r.min(self.cols) {
                if self[(r, c)].abs() > eps {
                    return false;
                }
            }
        }
        true
    }

    /// Same shape and every entry within `eps`.
    pub fn approx_eq(&self, other: &Matrix, eps: f64) -> bool {
        self.shape() == other.shape()
            && self
                .data
                .iter()
                .zip(&other.data)
                .all(|(a, b)| approx_eq(*a, *b, eps))
    }

    /// The matrix without row `r` and column `c`.
    pub fn minor(&self, r: usize, c: usize) -> Result<Matrix> {
        self.check_index(r, c)?;
        let mut data = Vec::with_capacity((self.rows - 1) * (self.cols - 1));
        for i in 0..self.rows {
            if i == r {
                continue;
            }
            for j in 0..self.cols {
                if j != c {
                    data.push(self[(i, j)]);
                }
            }
        }
        Ok(Matrix {
            rows: self.rows - 1,
            cols: self.cols - 1,
            data,
        })
    }

    /// The block of `rows x cols` entries starting at `(r0, c0)`.
    pub fn submatrix(&self, r0: usize, c0: usize, rows: usize, cols: usize) -> Result<Matrix> {
        if r0 + rows > self.rows || c0 + cols > self.cols {
            return Err(MatrixError::OutOfBounds {
                index: (r0 + rows, c0 + cols),
                shape: self.shape(),
            });
        }
        Ok(Matrix::from_fn(rows, cols, |r, c| self[(r0 + r, c0 + c)]))
    }

    /// `[self | other]`: the columns of `other` appended to `self`.
    pub fn hstack(&self, other: &Matrix) -> Result<Matrix> {
        if self.rows != other.rows {
            return Err(MatrixError::DimensionMismatch {
                op: "stack",
                left: self.shape(),
                right: other.shape(),
            });
        }
        let cols = self.cols + other.cols;
        Ok(Matrix::from_fn(self.rows, cols, |r, c| {
            if c < self.cols {
                self[(r, c)]
            } else {
                other[(r, c - self.cols)]
            }
        }))
    }
}

impl Index<(usize, usize)> for Matrix {
    type Output = f64;

    fn index(&self, (r, c): (usize, usize)) -> &f64 {
        assert!(
            r < self.rows && c < self.cols,
            "index ({r}, {c}) out of range"
        );
        &self.data[r * self.cols + c]
    }
}

impl IndexMut<(usize, usize)> for Matrix {
    fn index_mut(&mut self, (r, c): (usize, usize)) -> &mut f64 {
        assert!(
            r < self.rows && c < self.cols,
            "index ({r}, {c}) out of range"
        );
        &mut self.data[r * self.cols + c]
    }
}

impl fmt::Display for Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in 0..self.rows {
            if r > 0 {
                writeln!(f)?;
            }
            let cells: Vec<String> = self.row(r).iter().map(|x| format_num(*x)).collect();
            write!(f, "[{}]", cells.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rows: &[&[f64]]) -> Matrix {
        Matrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn constructors() {
        let i = Matrix::identity(3);
        assert_eq!(
            i,
            m(&[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0], &[0.0, 0.0, 1.0]])
        );
        assert_eq!(
            Matrix::diagonal(&[2.0, 5.0]),
            m(&[&[2.0, 0.0], &[0.0, 5.0]])
        );
        assert_eq!(Matrix::zeros(2, 3).shape(), (2, 3));
        let f = Matrix::from_fn(2, 3, |r, c| (r * 10 + c) as f64);
        assert_eq!(f.row(1), &[10.0, 11.0, 12.0]);
        assert_eq!(Matrix::from_rows(&[]).unwrap().shape(), (0, 0));
    }

    #[test]
    fn ragged_rows_rejected() {
        let err = Matrix::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0]]).unwrap_err();
        assert_eq!(
            err,
            MatrixError::RaggedRows {
                row: 2,
                expected: 2,
                found: 1
            }
        );
    }

    #[test]
    fn from_vec_checks_length() {
        let a = Matrix::from_vec(2, 2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(a[(1, 0)], 3.0);
        assert!(Matrix::from_vec(2, 2, vec![1.0; 5]).is_err());
        assert!(Matrix::from_vec(2, 3, vec![1.0; 4]).is_err());
    }

    #[test]
    fn get_set_bounds() {
        let mut a = Matrix::zeros(2, 3);
        assert_eq!(a.set(1, 2, 7.5), Ok(()));
        assert_eq!(a.get(1, 2), Some(7.5));
        assert_eq!(a.get(2, 0), None);
        assert_eq!(a.get(0, 3), None);
        assert_eq!(
            a.set(0, 3, 1.0),
            Err(MatrixError::OutOfBounds {
                index: (0, 3),
                shape: (2, 3)
            })
        );
        a[(0, 0)] = -1.0;
        assert_eq!(a.row(0), &[-1.0, 0.0, 0.0]);
    }

    #[test]
    fn rows_columns_and_swaps() {
        let mut a = m(&[&[1.0, 2.0], &[3.0, 4.0], &[5.0, 6.0]]);
        assert_eq!(a.col(1), Vector::new(vec![2.0, 4.0, 6.0]));
        a.swap_rows(0, 2);
        assert_eq!(a, m(&[&[5.0, 6.0], &[3.0, 4.0], &[1.0, 2.0]]));
        a.swap_rows(1, 1);
        assert_eq!(a.row(1), &[3.0, 4.0]);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn index_past_last_column_panics() {
        let a = Matrix::zeros(2, 3);
        let _ = a[(0, 3)];
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn index_past_last_row_panics() {
        let a = Matrix::zeros(2, 3);
        let _ = a[(2, 0)];
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn index_mut_past_last_column_panics() {
        let mut a = Matrix::zeros(2, 3);
        a[(1, 3)] = 1.0;
    }

    #[test]
    fn transpose_rectangular() {
        let a = m(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]]);
        let t = a.transpose();
        assert_eq!(t, m(&[&[1.0, 4.0], &[2.0, 5.0], &[3.0, 6.0]]));
        assert_eq!(t.transpose(), a);
    }

    #[test]
    fn add_sub_scale() {
        let a = m(&[&[1.0, 2.0], &[3.0, 4.0]]);
        let b = m(&[&[0.5, -1.0], &[2.0, 0.0]]);
        assert_eq!(a.add(&b).unwrap(), m(&[&[1.5, 1.0], &[5.0, 4.0]]));
        assert_eq!(a.sub(&b).unwrap(), m(&[&[0.5, 3.0], &[1.0, 4.0]]));
        assert_eq!(a.scale(2.0), m(&[&[2.0, 4.0], &[6.0, 8.0]]));
        assert!(a.add(&Matrix::zeros(2, 3)).is_err());
        assert!(a.sub(&Matrix::zeros(3, 2)).is_err());
    }

    #[test]
    fn multiply() {
        let a = m(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]]);
        let b = m(&[&[7.0, 8.0], &[9.0, 10.0], &[11.0, 12.0]]);
        assert_eq!(a.mul(&b).unwrap(), m(&[&[58.0, 64.0], &[139.0, 154.0]]));
        assert_eq!(b.mul(&a).unwrap().shape(), (3, 3));
        assert_eq!(a.mul(&Matrix::identity(3)).unwrap(), a);
        assert_eq!(
            a.mul(&a),
            Err(MatrixError::DimensionMismatch {
                op: "multiply",
                left: (2, 3),
                right: (2, 3)
            })
        );
    }

    #[test]
    fn multiply_vector() {
        let a = m(&[&[1.0, 2.0], &[3.0, 4.0], &[0.0, -1.0]]);
        let v = Vector::new(vec![5.0, 6.0]);
        assert_eq!(a.mul_vec(&v).unwrap(), Vector::new(vec![17.0, 39.0, -6.0]));
        assert_eq!(
            a.mul_vec(&Vector::new(vec![1.0, 2.0, 3.0])),
            Err(MatrixError::DimensionMismatch {
                op: "multiply",
                left: (3, 2),
                right: (3, 1)
            })
        );
        assert_eq!(Matrix::column(&v).shape(), (2, 1));
    }

    #[test]
    fn powers() {
        let fib = m(&[&[1.0, 1.0], &[1.0, 0.0]]);
        assert_eq!(fib.pow(0).unwrap(), Matrix::identity(2));
        assert_eq!(fib.pow(1).unwrap(), fib);
        assert_eq!(fib.pow(2).unwrap(), m(&[&[2.0, 1.0], &[1.0, 1.0]]));
        assert_eq!(fib.pow(10).unwrap()[(0, 1)], 55.0);
        assert_eq!(fib.pow(7).unwrap()[(0, 0)], 21.0);
        assert!(Matrix::zeros(2, 3).pow(2).is_err());
    }

    #[test]
    fn trace_and_norm() {
        let a = m(&[&[1.0, 2.0], &[3.0, 4.0]]);
        assert_eq!(a.trace(), Ok(5.0));
        assert_eq!(Matrix::identity(4).trace(), Ok(4.0));
        assert_eq!(
            Matrix::zeros(2, 3).trace(),
            Err(MatrixError::NotSquare { rows: 2, cols: 3 })
        );
        assert_eq!(m(&[&[3.0, 0.0], &[0.0, 4.0]]).frobenius_norm(), 5.0);
    }

    #[test]
    fn symmetry_and_triangularity() {
        let s = m(&[&[1.0, 7.0, 3.0], &[7.0, 4.0, -5.0], &[3.0, -5.0, 6.0]]);
        assert!(s.is_symmetric(1e-12));
        let mut t = s.clone();
        t[(2, 0)] = 3.1;
        assert!(!t.is_symmetric(1e-12));
        t[(2, 0)] = 3.0;
        t[(1, 2)] = 5.0;
        assert!(!t.is_symmetric(1e-12));
        assert!(!Matrix::zeros(2, 3).is_symmetric(1e-12));
        let u = m(&[&[1.0, 2.0, 3.0], &[0.0, 4.0, 5.0], &[0.0, 0.0, 6.0]]);
        assert!(u.is_upper_triangular(1e-12));
        assert!(!u.transpose().is_upper_triangular(1e-12));
        let mut v = u.clone();
        v[(2, 1)] = 1e-3;
        assert!(!v.is_upper_triangular(1e-12));
    }

    #[test]
    fn minors_and_blocks() {
        let a = m(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &[7.0, 8.0, 9.0]]);
        assert_eq!(a.minor(1, 1).unwrap(), m(&[&[1.0, 3.0], &[7.0, 9.0]]));
        assert_eq!(a.minor(0, 2).unwrap(), m(&[&[4.0, 5.0], &[7.0, 8.0]]));
        assert!(a.minor(3, 0).is_err());
        assert_eq!(
            a.submatrix(1, 1, 2, 2).unwrap(),
            m(&[&[5.0, 6.0], &[8.0, 9.0]])
        );
        assert_eq!(a.submatrix(0, 0, 3, 3).unwrap(), a);
        assert!(a.submatrix(2, 0, 2, 1).is_err());
        assert!(a.submatrix(0, 1, 1, 3).is_err());
    }

    #[test]
    fn hstack_appends_columns() {
        let a = m(&[&[1.0], &[2.0]]);
        let b = m(&[&[3.0, 4.0], &[5.0, 6.0]]);
        assert_eq!(
            a.hstack(&b).unwrap(),
            m(&[&[1.0, 3.0, 4.0], &[2.0, 5.0, 6.0]])
        );
        assert!(a.hstack(&Matrix::zeros(3, 1)).is_err());
    }

    #[test]
    fn approx_eq_and_display() {
        let a = m(&[&[1.0, 0.5], &[-2.0, 1.0 / 3.0]]);
        let mut b = a.clone();
        b[(0, 0)] += 1e-12;
        assert!(a.approx_eq(&b, 1e-9));
        b[(1, 1)] = 0.34;
        assert!(!a.approx_eq(&b, 1e-9));
        assert!(!a.approx_eq(&a.transpose().submatrix(0, 0, 2, 1).unwrap(), 1e-9));
        assert_eq!(a.to_string(), "[1, 0.5]\n[-2, 0.3333]");
    }
}
