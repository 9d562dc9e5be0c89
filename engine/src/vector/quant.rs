//! Vector encodings (Redis's quantization types) and the cosine distance
//! between encoded vectors.
//!
//! Every vector is L2-normalized before it is encoded; its norm is kept
//! beside it so the original scale can be given back (VEMB).
//!
//! | type | bytes | encoding | distance |
//! |---|---|---|---|
//! | `NoQuant` (`f32`) | 4·dim | little-endian f32 | 1 − a·b |
//! | `Q8` (`int8`, default) | dim | `round(v / range · 127)` with `range = max|v|` kept per vector | 1 − (a·b)·(ra/127)·(rb/127) |
//! | `Bin` (`bin`) | ⌈dim/8⌉ | bit i set when v_i > 0 | 1 − (dim − 2·hamming)/dim |
//!
//! Distances are cosine distances in [0, 2]; the similarity score shown to
//! users is `1 − distance/2`.

use super::distance::{dot_f32, dot_i8, hamming};

/// How vectors of a set are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// Full precision (`NOQUANT`).
    NoQuant,
    /// Signed 8-bit per component (`Q8`, the default).
    Q8,
    /// One bit per component (`BIN`).
    Bin,
}

impl Quant {
    /// Byte code in files and WAL records (0 f32, 1 int8, 2 bin).
    pub fn code(self) -> u8 {
        match self {
            Quant::NoQuant => 0,
            Quant::Q8 => 1,
            Quant::Bin => 2,
        }
    }

    /// The quantization of a byte code.
    pub fn from_code(c: u8) -> Option<Quant> {
        match c {
            0 => Some(Quant::NoQuant),
            1 => Some(Quant::Q8),
            2 => Some(Quant::Bin),
            _ => None,
        }
    }

    /// Name VINFO and VEMB RAW report.
    pub fn name(self) -> &'static str {
        match self {
            Quant::NoQuant => "f32",
            Quant::Q8 => "int8",
            Quant::Bin => "bin",
        }
    }

    /// Bytes one encoded vector of `dim` components takes.
    pub fn bytes(self, dim: usize) -> usize {
        match self {
            Quant::NoQuant => dim * 4,
            Quant::Q8 => dim,
            Quant::Bin => dim.div_ceil(8),
        }
    }
}

/// Scales `v` to unit length in place; returns the original norm.
pub fn normalize(v: &mut [f32]) -> f32 {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in v.iter_mut() {
            *x /= norm;
        }
    }
    norm
}

/// Encodes a normalized vector into `out` (exactly `quant.bytes(dim)`
/// bytes); returns the Q8 range (0 for the other types).
pub fn encode(quant: Quant, v: &[f32], out: &mut [u8]) -> f32 {
    match quant {
        Quant::NoQuant => {
            for (chunk, x) in out.chunks_exact_mut(4).zip(v) {
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            0.0
        }
        Quant::Q8 => {
            let range = v.iter().fold(0f32, |m, x| m.max(x.abs()));
            let scale = if range > 0.0 { 127.0 / range } else { 0.0 };
            for (o, x) in out.iter_mut().zip(v) {
                *o = ((x * scale).round().clamp(-127.0, 127.0) as i8) as u8;
            }
            range
        }
        Quant::Bin => {
            out.fill(0);
            for (i, x) in v.iter().enumerate() {
                if *x > 0.0 {
                    out[i / 8] |= 1 << (i % 8);
                }
            }
            0.0
        }
    }
}

/// Decodes an encoded vector back to (normalized) floats.
pub fn decode(quant: Quant, data: &[u8], range: f32, dim: usize) -> Vec<f32> {
    match quant {
        Quant::NoQuant => as_f32(data).to_vec(),
        Quant::Q8 => as_i8(data)
            .iter()
            .map(|&q| f32::from(q) * range / 127.0)
            .collect(),
        Quant::Bin => (0..dim)
            .map(|i| {
                if data[i / 8] >> (i % 8) & 1 == 1 {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect(),
    }
}

/// How two vectors are compared (VexLake's `METRIC` extension; Redis has
/// only cosine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metric {
    /// Cosine distance in [0, 2] on normalized vectors; score `1 - d/2`.
    #[default]
    Cosine,
    /// Euclidean distance on the raw vectors; score `1 / (1 + d)`.
    L2,
    /// Negative inner product of the raw vectors; score = inner product.
    Ip,
}

impl Metric {
    /// Byte code in files and WAL records (0 cosine, 1 l2, 2 ip).
    pub fn code(self) -> u8 {
        match self {
            Metric::Cosine => 0,
            Metric::L2 => 1,
            Metric::Ip => 2,
        }
    }

    /// The metric of a byte code.
    pub fn from_code(c: u8) -> Option<Metric> {
        match c {
            0 => Some(Metric::Cosine),
            1 => Some(Metric::L2),
            2 => Some(Metric::Ip),
            _ => None,
        }
    }

    /// Name VINFO reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
            Metric::Ip => "ip",
        }
    }

    /// Whether vectors are normalized before they are stored.
    pub fn normalizes(self) -> bool {
        self == Metric::Cosine
    }

    /// The similarity score shown to users for a distance.
    pub fn score(self, d: f32) -> f64 {
        let d = f64::from(d);
        match self {
            Metric::Cosine => 1.0 - d / 2.0,
            Metric::L2 => 1.0 / (1.0 + d),
            Metric::Ip => -d,
        }
    }
}

/// Distance between two encoded vectors with stored norms `na`, `nb`
/// (1 for normalized vectors). Cosine distances are in [0, 2].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn distance(
    quant: Quant,
    metric: Metric,
    dim: usize,
    a: &[u8],
    ra: f32,
    na: f32,
    b: &[u8],
    rb: f32,
    nb: f32,
) -> f32 {
    let dot = match quant {
        Quant::NoQuant => dot_f32(as_f32(a), as_f32(b)),
        Quant::Q8 => dot_i8(as_i8(a), as_i8(b)) as f32 * (ra / 127.0) * (rb / 127.0),
        Quant::Bin => {
            let h = hamming(a, b) as f32;
            (dim as f32 - 2.0 * h) / dim as f32
        }
    };
    match metric {
        Metric::Cosine => (1.0 - dot).clamp(0.0, 2.0),
        Metric::Ip => -dot,
        Metric::L2 => (na * na + nb * nb - 2.0 * dot).max(0.0).sqrt(),
    }
}

/// Views f32 bytes as floats. Encoded f32 vectors are always 4-byte aligned
/// slices of a `Vec<f32>`-backed arena, so no copy is needed.
#[inline]
pub fn as_f32(data: &[u8]) -> &[f32] {
    // SAFETY: callers pass slices taken from `VectorArena`, whose storage is
    // a `Vec<u32>` (4-byte aligned) and whose slot size is a multiple of 4 for
    // f32 vectors; any bit pattern is a valid f32.
    let (head, body, tail) = unsafe { data.align_to::<f32>() };
    debug_assert!(head.is_empty() && tail.is_empty(), "unaligned f32 vector");
    body
}

/// Views bytes as signed bytes.
#[inline]
pub fn as_i8(data: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have the same size and alignment, and every bit
    // pattern is valid for both.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<i8>(), data.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(quant: Quant, v: &[f32]) -> (Vec<u8>, f32) {
        let mut words = vec![0u32; quant.bytes(v.len()).div_ceil(4)];
        let bytes: &mut [u8] = bytemuck_bytes(&mut words);
        let n = quant.bytes(v.len());
        let range = encode(quant, v, &mut bytes[..n]);
        (bytes[..n].to_vec(), range)
    }

    fn bytemuck_bytes(w: &mut [u32]) -> &mut [u8] {
        // SAFETY: u32 storage reinterpreted as bytes, lengths multiplied by 4.
        unsafe { std::slice::from_raw_parts_mut(w.as_mut_ptr().cast::<u8>(), w.len() * 4) }
    }

    #[test]
    fn q8_round_trip_and_distance() {
        let mut v = vec![1.0, 10.32, 0.0, 2.05, -12.5];
        let norm = normalize(&mut v);
        assert!((norm - 16.374).abs() < 0.01);
        let (q, range) = enc(Quant::Q8, &v);
        let back = decode(Quant::Q8, &q, range, v.len());
        for (a, b) in v.iter().zip(&back) {
            assert!((a - b).abs() < 0.01, "{a} vs {b}");
        }
        assert!(distance(Quant::Q8, Metric::Cosine, 5, &q, range, 1.0, &q, range, 1.0) < 0.01);
    }

    #[test]
    fn bin_encoding_matches_redis_signs() {
        let (q, _) = enc(Quant::Bin, &[1.0, 4.32, 0.0, 0.05, -2.9]);
        assert_eq!(
            decode(Quant::Bin, &q, 0.0, 5),
            vec![1.0, 1.0, -1.0, 1.0, -1.0]
        );
        let (neg, _) = enc(Quant::Bin, &[-1.0, -4.32, 1.0, -0.05, 2.9]);
        assert_eq!(
            distance(Quant::Bin, Metric::Cosine, 5, &q, 0.0, 1.0, &neg, 0.0, 1.0),
            2.0
        );
    }

    #[test]
    fn l2_and_ip_on_raw_vectors() {
        let a = [3.0f32, 4.0];
        let b = [0.0f32, 1.0];
        for quant in [Quant::NoQuant, Quant::Q8] {
            let (ea, ra) = enc(quant, &a);
            let (eb, rb) = enc(quant, &b);
            let l2 = distance(quant, Metric::L2, 2, &ea, ra, 5.0, &eb, rb, 1.0);
            assert!((l2 - 18f32.sqrt()).abs() < 0.05, "{quant:?} {l2}");
            let ip = distance(quant, Metric::Ip, 2, &ea, ra, 5.0, &eb, rb, 1.0);
            assert!((ip + 4.0).abs() < 0.05, "{quant:?} {ip}");
        }
        assert!((Metric::L2.score(0.0) - 1.0).abs() < 1e-9);
        assert!((Metric::Ip.score(-4.0) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn f32_distances() {
        let mut a = vec![1.0, 0.0, 0.0];
        let mut b = vec![0.0, 2.0, 0.0];
        normalize(&mut a);
        normalize(&mut b);
        let (ea, _) = enc(Quant::NoQuant, &a);
        let (eb, _) = enc(Quant::NoQuant, &b);
        assert!(
            (distance(
                Quant::NoQuant,
                Metric::Cosine,
                3,
                &ea,
                0.0,
                1.0,
                &eb,
                0.0,
                1.0
            ) - 1.0)
                .abs()
                < 1e-6
        );
        let neg: Vec<f32> = a.iter().map(|x| -x).collect();
        let (en, _) = enc(Quant::NoQuant, &neg);
        assert!(
            (distance(
                Quant::NoQuant,
                Metric::Cosine,
                3,
                &ea,
                0.0,
                1.0,
                &en,
                0.0,
                1.0
            ) - 2.0)
                .abs()
                < 1e-6
        );
    }
}
