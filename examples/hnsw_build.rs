//! Builds one HNSW graph in a single thread from raw f32 vectors and
//! reports the insert rate and recall@10 against an exact scan: the
//! engine's insert cost without the server, for comparing graph changes.
//!
//! ```text
//! cargo run --release --example hnsw_build -- \
//!     BASE.f32 QUERIES.f32 DIM [N] [Q8|NOQUANT|BIN] [EF_CONSTRUCTION] [RUN] [THREADS]
//! ```
//! With RUN > 1 the vectors go in as runs of RUN planned against the same
//! graph (on THREADS threads, 1 or 2, default 2), then resolved and applied one by one (pipelined VADDs planned
//! ahead), and the time of each step is reported.
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
        eprintln!(
            "usage: hnsw_build BASE.f32 QUERIES.f32 DIM [N] [Q8|NOQUANT|BIN] [EF] [RUN] [THREADS]"
        );
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
    let run: usize = args.get(6).map_or(1, |r| r.parse().expect("RUN"));
    let threads: usize = args.get(7).map_or(2, |r| r.parse().expect("THREADS"));
    let t = Instant::now();
    if run <= 1 {
        for v in &base {
            g.insert(v, 1.0, ef);
        }
    } else {
        let (mut plan_s, mut resolve_s, mut apply_s) = (0.0, 0.0, 0.0);
        for chunk in base.chunks(run) {
            let t = Instant::now();
            let graph = &g;
            let plan_part = |part: &[Vec<f32>]| -> Vec<_> {
                part.iter()
                    .map(|v| graph.plan(v, 1.0, graph.draw_level(), ef))
                    .collect()
            };
            let plans: Vec<_> = std::thread::scope(|scope| {
                let (mine, theirs) = chunk.split_at(chunk.len() / 2);
                let other = (threads > 1).then(|| scope.spawn(move || plan_part(theirs)));
                let mut plans = plan_part(mine);
                match other {
                    Some(h) => plans.extend(h.join().expect("planning thread")),
                    None => plans.extend(plan_part(theirs)),
                }
                plans
            });
            plan_s += t.elapsed().as_secs_f64();
            for (v, plan) in chunk.iter().zip(&plans) {
                let t = Instant::now();
                let rec = g.resolve(plan, ef);
                resolve_s += t.elapsed().as_secs_f64();
                let t = Instant::now();
                g.apply(v, 1.0, &rec)
                    .expect("a record resolved on this graph applies");
                apply_s += t.elapsed().as_secs_f64();
            }
        }
        println!(
            "runs of {run}: plan {plan_s:.2} s, resolve {resolve_s:.2} s, apply {apply_s:.2} s"
        );
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
