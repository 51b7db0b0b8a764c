//! Errors returned by matrix and vector operations.

use std::fmt;

/// Why an operation could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatrixError {
    /// Operand shapes do not fit the operation.
    DimensionMismatch {
        op: &'static str,
        left: (usize, usize),
        right: (usize, usize),
    },
    /// The operation needs a square matrix.
    NotSquare { rows: usize, cols: usize },
    /// The matrix has no inverse (or the system no unique solution).
    Singular,
    /// Rows of different lengths given to a constructor.
    RaggedRows {
        row: usize,
        expected: usize,
        found: usize,
    },
    /// A row or column index outside the matrix.
    OutOfBounds {
        index: (usize, usize),
        shape: (usize, usize),
    },
    /// A zero-length vector where a direction is needed.
    ZeroVector,
}

impl fmt::Display for MatrixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatrixError::DimensionMismatch { op, left, right } => write!(
                f,
                "cannot {op} {}x{} and {}x{}",
                left.0, left.1, right.0, right.1
            ),
            MatrixError::NotSquare { rows, cols } => {
                write!(f, "expected a square matrix, got {rows}x{cols}")
            }
            MatrixError::Singular => write!(f, "matrix is singular"),
            MatrixError::RaggedRows {
                row,
                expected,
                found,
            } => write!(f, "row {row} has {found} columns, expected {expected}"),
            MatrixError::OutOfBounds { index, shape } => write!(
                f,
                "index ({}, {}) out of bounds for {}x{} matrix",
                index.0, index.1, shape.0, shape.1
            ),
            MatrixError::ZeroVector => write!(f, "vector has zero length"),
        }
    }
}

impl std::error::Error for MatrixError {}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, MatrixError>;

/// Checks that `(rows, cols)` is square.
pub fn require_square(shape: (usize, usize)) -> Result<usize> {
    if shape.0 != shape.1 {
        return Err(MatrixError::NotSquare {
            rows: shape.0,
            cols: shape.1,
        });
    }
    Ok(shape.0)
}

/// Checks that `left` and `right` are equal shapes.
pub fn require_same_shape(
    op: &'static str,
    left: (usize, usize),
    right: (usize, usize),
) -> Result<()> {
    if left != right {
        return Err(MatrixError::DimensionMismatch { op, left, right });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let e = MatrixError::DimensionMismatch {
            op: "multiply",
            left: (2, 3),
            right: (2, 3),
        };
        assert_eq!(e.to_string(), "cannot multiply 2x3 and 2x3");
        assert_eq!(
            MatrixError::NotSquare { rows: 2, cols: 5 }.to_string(),
            "expected a square matrix, got 2x5"
        );
        assert_eq!(
            MatrixError::RaggedRows {
                row: 1,
                expected: 3,
                found: 2
            }
            .to_string(),
            "row 1 has 2 columns, expected 3"
        );
        assert_eq!(
            MatrixError::OutOfBounds {
                index: (4, 0),
                shape: (2, 2)
            }
            .to_string(),
            "index (4, 0) out of bounds for 2x2 matrix"
        );
    }

    #[test]
    fn square_check() {
        assert_eq!(require_square((3, 3)), Ok(3));
        assert_eq!(require_square((0, 0)), Ok(0));
        assert_eq!(
            require_square((3, 2)),
            Err(MatrixError::NotSquare { rows: 3, cols: 2 })
        );
    }

    #[test]
    fn same_shape_check() {
        assert_eq!(require_same_shape("add", (2, 3), (2, 3)), Ok(()));
        assert_eq!(
            require_same_shape("add", (2, 3), (3, 2)),
            Err(MatrixError::DimensionMismatch {
                op: "add",
                left: (2, 3),
                right: (3, 2)
            })
        );
    }
}
