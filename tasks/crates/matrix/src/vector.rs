//! Dense column vectors.

use crate::approx::{approx_eq, format_num};
use crate::error::{MatrixError, Result};
use std::fmt;
use std::ops::Index;

/// A dense vector of `f64`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Vector {
    data: Vec<f64>,
}

impl Vector {
    pub fn new(data: Vec<f64>) -> Self {
        Vector { data }
    }

    pub fn zeros(len: usize) -> Self {
        Vector {
            data: vec![0.0; len],
        }
    }

    /// The unit vector of length `len` with a 1 at `axis`.
    pub fn unit(len: usize, axis: usize) -> Result<Self> {
        if axis >= len {
            return Err(MatrixError::OutOfBounds {
                index: (axis, 0),
                shape: (len, 1),
            });
        }
        let mut v = Vector::zeros(len);
        v.data[axis] = 1.0;
        Ok(v)
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    pub fn get(&self, i: usize) -> Option<f64> {
        self.data.get(i).copied()
    }

    fn check_len(&self, op: &'static str, other: &Vector) -> Result<()> {
        if self.len() != other.len() {
            return Err(MatrixError::DimensionMismatch {
                op,
                left: (self.len(), 1),
                right: (other.len(), 1),
            });
        }
        Ok(())
    }

    pub fn dot(&self, other: &Vector) -> Result<f64> {
        self.check_len("dot", other)?;
        Ok(self.data.iter().zip(&other.data).map(|(a, b)| a * b).sum())
    }

    pub fn add(&self, other: &Vector) -> Result<Vector> {
        self.check_len("add", other)?;
        Ok(Vector::new(
            self.data
                .iter()
                .zip(&other.data)
                .map(|(a, b)| a + b)
                .collect(),
        ))
    }

    pub fn sub(&self, other: &Vector) -> Result<Vector> {
        self.check_len("subtract", other)?;
        Ok(Vector::new(
            self.data
                .iter()
                .zip(&other.data)
                .map(|(a, b)| a - b)
                .collect(),
        ))
    }

    pub fn scale(&self, k: f64) -> Vector {
        Vector::new(self.data.iter().map(|x| x * k).collect())
    }

    /// Euclidean length.
    pub fn norm(&self) -> f64 {
        self.data.iter().map(|x| x * x).sum::<f64>().sqrt()
    }

    /// Sum of absolute values.
    pub fn norm_l1(&self) -> f64 {
        self.data.iter().map(|x| x.abs()).sum()
    }

    /// Largest absolute value (0 for an empty vector).
    pub fn norm_inf(&self) -> f64 {
        self.data
            .iter()
            .fold(0.0, |m, x| if x.abs() > m { x.abs() } else { m })
    }

    /// The vector scaled to length 1.
    pub fn normalize(&self) -> Result<Vector> {
        let n = self.norm();
        if n == 0.0 {
            return Err(MatrixError::ZeroVector);
        }
        Ok(self.scale(1.0 / n))
    }

    /// Cross product; both vectors must have length 3.
    pub fn cross(&self, other: &Vector) -> Result<Vector> {
        if self.len() != 3 || other.len() != 3 {
            return Err(MatrixError::DimensionMismatch {
                op: "cross",
                left: (self.len(), 1),
                right: (other.len(), 1),
            });
        }
        let (a, b) = (&self.data, &other.data);
        Ok(Vector::new(vec![
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]))
    }

    /// Euclidean distance between two points.
    pub fn distance(&self, other: &Vector) -> Result<f64> {
        Ok(self.sub(other)?.norm())
    }

    /// Angle between two vectors in radians.
    pub fn angle(&self, other: &Vector) -> Result<f64> {
        let denom = self.norm() * other.norm();
        if denom == 0.0 {
            return Err(MatrixError::ZeroVector);
        }
        let cos = (self.dot(other)? / denom).clamp(-1.0, 1.0);
        Ok(cos.acos())
    }

    /// Element-wise comparison with tolerance `eps`.
    pub fn approx_eq(&self, other: &Vector, eps: f64) -> bool {
        self.len() == other.len()
            && self
                .data
                .iter()
                .zip(&other.data)
                .all(|(a, b)| approx_eq(*a, *b, eps))
    }
}

impl Index<usize> for Vector {
    type Output = f64;

    fn index(&self, i: usize) -> &f64 {
        &self.data[i]
    }
}

impl From<Vec<f64>> for Vector {
    fn from(data: Vec<f64>) -> Self {
        Vector::new(data)
    }
}

impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.data.iter().map(|x| format_num(*x)).collect();
        write!(f, "[{}]", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(data: &[f64]) -> Vector {
        Vector::new(data.to_vec())
    }

    #[test]
    fn dot_and_mismatch() {
        assert_eq!(v(&[1.0, 2.0, 3.0]).dot(&v(&[4.0, -5.0, 6.0])), Ok(12.0));
        assert_eq!(v(&[]).dot(&v(&[])), Ok(0.0));
        assert_eq!(
            v(&[1.0]).dot(&v(&[1.0, 2.0])),
            Err(MatrixError::DimensionMismatch {
                op: "dot",
                left: (1, 1),
                right: (2, 1)
            })
        );
    }

    #[test]
    fn add_sub_scale() {
        let a = v(&[1.0, 2.0]);
        let b = v(&[0.5, -4.0]);
        assert_eq!(a.add(&b).unwrap(), v(&[1.5, -2.0]));
        assert_eq!(a.sub(&b).unwrap(), v(&[0.5, 6.0]));
        assert_eq!(b.sub(&a).unwrap(), v(&[-0.5, -6.0]));
        assert_eq!(a.scale(-3.0), v(&[-3.0, -6.0]));
        assert_eq!(
            a.add(&v(&[1.0])),
            Err(MatrixError::DimensionMismatch {
                op: "add",
                left: (2, 1),
                right: (1, 1)
            })
        );
        assert!(a.sub(&v(&[1.0, 2.0, 3.0])).is_err());
    }

    #[test]
    fn norms() {
        let a = v(&[3.0, -4.0]);
        assert_eq!(a.norm(), 5.0);
        assert_eq!(a.norm_l1(), 7.0);
        assert_eq!(a.norm_inf(), 4.0);
        assert_eq!(v(&[-9.0, 2.0, 5.0]).norm_inf(), 9.0);
        assert_eq!(v(&[]).norm_inf(), 0.0);
    }

    #[test]
    fn normalize_and_zero_vector() {
        let n = v(&[0.0, 3.0, 4.0]).normalize().unwrap();
        assert!(n.approx_eq(&v(&[0.0, 0.6, 0.8]), 1e-12));
        assert_eq!(v(&[0.0, 0.0]).normalize(), Err(MatrixError::ZeroVector));
    }

    #[test]
    fn cross_product() {
        let x = Vector::unit(3, 0).unwrap();
        let y = Vector::unit(3, 1).unwrap();
        let z = Vector::unit(3, 2).unwrap();
        assert_eq!(x.cross(&y).unwrap(), z);
        assert_eq!(y.cross(&x).unwrap(), z.scale(-1.0));
        assert_eq!(
            v(&[1.0, 2.0, 3.0]).cross(&v(&[4.0, 5.0, 6.0])).unwrap(),
            v(&[-3.0, 6.0, -3.0])
        );
        assert!(v(&[1.0, 2.0]).cross(&v(&[1.0, 2.0])).is_err());
        assert!(x.cross(&v(&[1.0, 2.0])).is_err());
    }

    #[test]
    fn unit_vectors() {
        assert_eq!(Vector::unit(3, 2).unwrap(), v(&[0.0, 0.0, 1.0]));
        assert_eq!(Vector::unit(1, 0).unwrap(), v(&[1.0]));
        assert!(Vector::unit(3, 3).is_err());
    }

    #[test]
    fn distance_and_angle() {
        assert_eq!(v(&[1.0, 1.0]).distance(&v(&[4.0, 5.0])), Ok(5.0));
        let right = v(&[1.0, 0.0]).angle(&v(&[0.0, 2.0])).unwrap();
        assert!((right - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
        let diagonal = v(&[3.0, 0.0]).angle(&v(&[2.0, 2.0])).unwrap();
        assert!((diagonal - std::f64::consts::FRAC_PI_4).abs() < 1e-12);
        let opposite = v(&[1.0, 1.0]).angle(&v(&[-2.0, -2.0])).unwrap();
        assert!((opposite - std::f64::consts::PI).abs() < 1e-7);
        assert!(v(&[1.0, 1.0]).angle(&v(&[3.0, 3.0])).unwrap() < 1e-7);
        assert_eq!(v(&[2.0, 0.0]).angle(&v(&[5.0, 0.0])), Ok(0.0));
        assert_eq!(
            v(&[0.0, 0.0]).angle(&v(&[1.0, 0.0])),
            Err(MatrixError::ZeroVector)
        );
    }

    #[test]
    fn approx_eq_and_display() {
        assert!(v(&[1.0, 2.0]).approx_eq(&v(&[1.0 + 1e-12, 2.0]), 1e-9));
        assert!(!v(&[1.0, 2.0]).approx_eq(&v(&[1.0, 2.1]), 1e-9));
        assert!(!v(&[1.0]).approx_eq(&v(&[1.0, 0.0]), 1e-9));
        assert_eq!(v(&[1.0, -0.5, 1.0 / 3.0]).to_string(), "[1, -0.5, 0.3333]");
        assert_eq!(Vector::zeros(0).to_string(), "[]");
        assert_eq!(v(&[7.0, 8.0])[1], 8.0);
        assert_eq!(v(&[7.0]).get(1), None);
    }
}
