//! Distance kernels: SIMD through `simsimd` (runtime dispatch to AVX2,
//! AVX-512 or NEON), each with a scalar reference used by the tests.

use simsimd::{BinarySimilarity, SpatialSimilarity};

/// Dot product of two f32 vectors of equal length.
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    f32::dot(a, b).unwrap_or_else(|| dot_f32_scalar(a, b) as f64) as f32
}

/// Dot product of two i8 vectors of equal length (exact, as an integer).
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i64 {
    i8::dot(a, b).map_or_else(|| dot_i8_scalar(a, b), |v| v.round() as i64)
}

/// Number of differing bits between two packed bit vectors of equal length.
#[inline]
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    u8::hamming(a, b).map_or_else(|| hamming_scalar(a, b), |v| v.round() as u32)
}

/// Scalar reference for [`dot_f32`].
pub fn dot_f32_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Scalar reference for [`dot_i8`].
pub fn dot_i8_scalar(a: &[i8], b: &[i8]) -> i64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i64::from(x) * i64::from(y))
        .sum()
}

/// Scalar reference for [`hamming`].
pub fn hamming_scalar(a: &[u8], b: &[u8]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng_f32(n: usize, seed: u64) -> Vec<f32> {
        let mut r = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| r.f32() * 2.0 - 1.0).collect()
    }

    #[test]
    fn simd_matches_scalar_on_odd_lengths() {
        for n in [1usize, 3, 7, 15, 17, 31, 33, 63, 65, 127, 301, 1023] {
            let (a, b) = (rng_f32(n, n as u64), rng_f32(n, 1000 + n as u64));
            let (simd, scalar) = (dot_f32(&a, &b), dot_f32_scalar(&a, &b));
            assert!(
                (simd - scalar).abs() < 1e-3 * (1.0 + scalar.abs()),
                "f32 n={n}: {simd} vs {scalar}"
            );
            let qa: Vec<i8> = a.iter().map(|v| (v * 127.0) as i8).collect();
            let qb: Vec<i8> = b.iter().map(|v| (v * 127.0) as i8).collect();
            assert_eq!(dot_i8(&qa, &qb), dot_i8_scalar(&qa, &qb), "i8 n={n}");
            let ba: Vec<u8> = qa.iter().map(|&v| v as u8).collect();
            let bb: Vec<u8> = qb.iter().map(|&v| v as u8).collect();
            assert_eq!(hamming(&ba, &bb), hamming_scalar(&ba, &bb), "bits n={n}");
        }
    }

    #[test]
    fn extreme_i8_values() {
        let a = vec![-127i8; 1001];
        let b = vec![127i8; 1001];
        assert_eq!(dot_i8(&a, &b), -127 * 127 * 1001);
    }
}
