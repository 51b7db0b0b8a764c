//! Algebraic identities checked on deterministic pseudo-random matrices.

use matrix::{determinant, inverse, rank, rref, solve, Matrix, MatrixError, Vector};

/// A small linear congruential generator so tests need no dependencies.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // integers in -5..=5 keep products exact enough to compare tightly
        ((self.0 >> 33) % 11) as f64 - 5.0
    }

    fn matrix(&mut self, rows: usize, cols: usize) -> Matrix {
        Matrix::from_fn(rows, cols, |_, _| self.next())
    }
}

#[test]
fn determinant_is_multiplicative() {
    let mut rng = Lcg(7);
    for n in 1..=5 {
        let a = rng.matrix(n, n);
        let b = rng.matrix(n, n);
        let lhs = determinant(&a.mul(&b).unwrap()).unwrap();
        let rhs = determinant(&a).unwrap() * determinant(&b).unwrap();
        assert!(
            (lhs - rhs).abs() <= 1e-6 * rhs.abs().max(1.0),
            "n={n}: {lhs} vs {rhs}"
        );
    }
}

#[test]
fn inverse_times_matrix_is_identity() {
    let mut rng = Lcg(42);
    let mut checked = 0;
    for n in 2..=6 {
        let a = rng.matrix(n, n);
        match inverse(&a) {
            Ok(inv) => {
                let product = a.mul(&inv).unwrap();
                assert!(
                    product.approx_eq(&Matrix::identity(n), 1e-8),
                    "n={n}\n{product}"
                );
                checked += 1;
            }
            Err(err) => assert_eq!(err, MatrixError::Singular),
        }
    }
    assert!(checked >= 3);
}

#[test]
fn transpose_of_product_reverses_order() {
    let mut rng = Lcg(3);
    let a = rng.matrix(3, 4);
    let b = rng.matrix(4, 2);
    let left = a.mul(&b).unwrap().transpose();
    let right = b.transpose().mul(&a.transpose()).unwrap();
    assert_eq!(left, right);
}

#[test]
fn solve_recovers_known_solution() {
    let mut rng = Lcg(99);
    let a = Matrix::identity(5)
        .scale(20.0)
        .add(&rng.matrix(5, 5))
        .unwrap();
    let x = Vector::new(vec![1.0, -2.0, 0.5, 3.0, -1.5]);
    let b = a.mul_vec(&x).unwrap();
    let solved = solve(&a, &b).unwrap();
    assert!(solved.approx_eq(&x, 1e-10), "{solved}");
}

#[test]
fn rank_of_outer_products() {
    let u = Matrix::from_rows(&[vec![1.0], vec![2.0], vec![3.0]]).unwrap();
    let v = Matrix::from_rows(&[vec![4.0, 5.0, 6.0, 7.0]]).unwrap();
    let w = Matrix::from_rows(&[vec![0.0], vec![1.0], vec![-1.0]]).unwrap();
    let z = Matrix::from_rows(&[vec![1.0, 0.0, 0.0, 2.0]]).unwrap();
    let rank_one = u.mul(&v).unwrap();
    assert_eq!(rank(&rank_one), 1);
    let rank_two = rank_one.add(&w.mul(&z).unwrap()).unwrap();
    assert_eq!(rank(&rank_two), 2);
    let reduced = rref(&rank_two);
    assert_eq!(reduced.row(2), &[0.0, 0.0, 0.0, 0.0]);
    assert_eq!(determinant(&u.mul(&u.transpose()).unwrap()), Ok(0.0));
}

#[test]
fn hilbert_matrix_is_symmetric_and_invertible() {
    let h = Matrix::from_fn(4, 4, |r, c| 1.0 / (r + c + 1) as f64);
    assert!(h.is_symmetric(0.0));
    let inv = inverse(&h).unwrap();
    // The inverse of the 4x4 Hilbert matrix has integer entries.
    assert_eq!(inv[(0, 0)], 16.0);
    assert_eq!(inv[(3, 3)], 2800.0);
    assert_eq!(inv[(1, 2)], -2700.0);
    assert!(h.mul(&inv).unwrap().approx_eq(&Matrix::identity(4), 1e-8));
}
