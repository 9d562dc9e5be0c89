//! Builds one HNSW graph in a single thread from raw f32 vectors and
//! reports the insert rate and recall@10 against an exact scan: the
//! engine's insert cost without the server, for comparing graph changes.
//!
//! ```text
//! cargo run --release --example hnsw_build -- \
//!     BASE.f32 QUERIES.f32 DIM [N] [Q8|NOQUANT|BIN] [EF_CONSTRUCTION]
//! ```
//! BASE and QUERIES are little-endian f32 rows of DIM components.

use std::time::Instant;

use vexlake_engine::vector::Quant;
use vexlake_engine::vector::hnsw::Hnsw;
use vexlake_engine::vector::quant::normalize;

fn read_rows(path: &str, dim: usize) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect::<Vec<_>>()
        .chunks_exact(dim)
        .map(<[f32]>::to_vec)
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: hnsw_build BASE.f32 QUERIES.f32 DIM [N] [Q8|NOQUANT|BIN] [EF]");
        std::process::exit(2);
    }
    let dim: usize = args[2].parse().expect("DIM");
    let mut base = read_rows(&args[0], dim);
    if let Some(n) = args.get(3) {
        base.truncate(n.parse().expect("N"));
    }
    let quant = match args.get(4).map(String::as_str) {
        None | Some("Q8") => Quant::Q8,
        Some("NOQUANT") => Quant::NoQuant,
        Some("BIN") => Quant::Bin,
        Some(q) => panic!("unknown quantization {q}"),
    };
    let ef: usize = args.get(5).map_or(200, |e| e.parse().expect("EF"));
    let queries = read_rows(&args[1], dim);
    for v in base.iter_mut() {
        normalize(v);
    }
    let mut g = Hnsw::new(dim, quant, 16);
    let t = Instant::now();
    for v in &base {
        g.insert(v, 1.0, ef);
    }
    let took = t.elapsed().as_secs_f64();
    println!(
        "insert {} vectors ({quant:?}, M 16, EF {ef}): {took:.2} s, {:.0} vectors/s",
        base.len(),
        base.len() as f64 / took
    );
    let truth: Vec<Vec<usize>> = queries
        .iter()
        .map(|q| {
            let mut q = q.clone();
            normalize(&mut q);
            let mut d: Vec<(f32, usize)> = base
                .iter()
                .enumerate()
                .map(|(i, v)| (-v.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>(), i))
                .collect();
            d.select_nth_unstable_by(10, |a, b| a.0.total_cmp(&b.0));
            d[..10].iter().map(|x| x.1).collect()
        })
        .collect();
    for search_ef in [50, 100, 200] {
        let t = Instant::now();
        let mut hits = 0;
        for (q, truth) in queries.iter().zip(&truth) {
            let mut q = q.clone();
            normalize(&mut q);
            let found = g.search(&g.query(&q), search_ef);
            // Slots are assigned in insert order (no removals here).
            hits += found
                .iter()
                .take(10)
                .filter(|(_, s)| truth.contains(&(*s as usize)))
                .count();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "EF {search_ef}: recall@10 {:.4}, {:.0} queries/s",
            hits as f64 / (10 * queries.len()) as f64,
            queries.len() as f64 / secs
        );
    }
}
