//! Distance kernels: SIMD through `simsimd` (runtime dispatch to AVX2,
//! AVX-512 or NEON), each with a scalar reference used by the tests.

use simsimd::{BinarySimilarity, SpatialSimilarity};

/// Dot product of two f32 vectors of equal length.
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    f32::dot(a, b).unwrap_or_else(|| dot_f32_scalar(a, b) as f64) as f32
}

/// Dot product of two i8 vectors of equal length (exact, as an integer).
///
/// On x86-64 with AVX2 our own kernel: Q8 vectors are short (50-300
/// bytes), where simsimd's dispatch and its scalar tail cost as much as
/// the products. Elsewhere simsimd (NEON, ...).
#[inline(always)]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { dot_i8_avx2(a, b) };
    }
    // simsimd sums in integers and returns the exact value as f64;
    // `f64::round` would be a libm call on every distance.
    i8::dot(a, b).map_or_else(|| dot_i8_scalar(a, b), |v| (v + 0.5f64.copysign(v)) as i64)
}

/// [`dot_i8`] with AVX2: 16 bytes at a time widened to i16, multiplied
/// and summed in pairs into eight i32 lanes (`vpmaddwd`), folded into an
/// i64 every 4,096 steps so no lane can overflow; the last < 16 in scalar.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i64 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let mut total = 0i64;
    let mut i = 0;
    while n - i >= 16 {
        let stop = i + ((n - i) / 16).min(4096) * 16;
        let mut acc = _mm256_setzero_si256();
        while i < stop {
            // SAFETY: i + 16 <= n, within both slices; unaligned loads.
            let (va, vb) = unsafe {
                (
                    _mm_loadu_si128(a.as_ptr().add(i).cast::<__m128i>()),
                    _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>()),
                )
            };
            let prod = _mm256_madd_epi16(_mm256_cvtepi8_epi16(va), _mm256_cvtepi8_epi16(vb));
            acc = _mm256_add_epi32(acc, prod);
            i += 16;
        }
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        total += i64::from(_mm_cvtsi128_si32(s));
    }
    total + dot_i8_scalar(&a[i..n], &b[i..n])
}

/// Number of differing bits between two packed bit vectors of equal length.
#[inline]
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    u8::hamming(a, b).map_or_else(|| hamming_scalar(a, b), |v| (v + 0.5) as u32)
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
        // Long enough to fold the lanes several times.
        let a = vec![-128i8; 16 * 4096 * 3 + 5];
        assert_eq!(dot_i8(&a, &a), 128 * 128 * a.len() as i64);
    }

    #[test]
    fn i8_kernel_matches_scalar_on_every_length() {
        let mut r = fastrand::Rng::with_seed(7);
        for n in 0..200 {
            let a: Vec<i8> = (0..n).map(|_| r.i8(..)).collect();
            let b: Vec<i8> = (0..n).map(|_| r.i8(..)).collect();
            assert_eq!(dot_i8(&a, &b), dot_i8_scalar(&a, &b), "n={n}");
        }
    }
}
