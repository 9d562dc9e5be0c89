//! Recall over TCP: 20,000 random unit vectors of dimension 64 (a hard case
//! for any HNSW), recall@10 of VSIM against VSIM TRUTH (exact scan).

use std::collections::HashSet;

use crate::support::{Client, Reply, Server};

const N: usize = 20_000;
const DIM: usize = 64;
const QUERIES: usize = 100;

fn unit(rng: &mut u64) -> Vec<f32> {
    // Box-Muller on an xorshift generator: Gaussian components, then normalized.
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        (*rng >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut v: Vec<f32> = (0..DIM)
        .map(|_| {
            let (u1, u2) = (next().max(1e-12), next());
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
        })
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn values_args(v: &[f32]) -> Vec<String> {
    let mut a = vec!["VALUES".to_string(), DIM.to_string()];
    a.extend(v.iter().map(|x| x.to_string()));
    a
}

fn load(
    c: &mut Client,
    key: &str,
    vecs: &[Vec<f32>],
    ids: impl Iterator<Item = usize>,
    quant: &str,
) {
    let mut batch = Vec::new();
    let mut pending = 0;
    for i in ids {
        let mut args = vec!["VADD".to_string(), key.to_string()];
        args.extend(values_args(&vecs[i]));
        args.push(format!("e{i}"));
        args.push(quant.to_string());
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        batch.extend(Client::encode(&refs));
        pending += 1;
        if pending == 500 {
            c.send_raw(&batch);
            for _ in 0..pending {
                assert!(matches!(c.read(), Reply::Int(_)));
            }
            batch.clear();
            pending = 0;
        }
    }
    c.send_raw(&batch);
    for _ in 0..pending {
        assert!(matches!(c.read(), Reply::Int(_)));
    }
}

fn top10(c: &mut Client, key: &str, q: &[f32], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["VSIM".to_string(), key.to_string()];
    args.extend(values_args(q));
    args.extend(["COUNT".to_string(), "10".to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    c.cmd(&refs).items().iter().map(Reply::text).collect()
}

fn recall(c: &mut Client, key: &str, queries: &[Vec<f32>], ef: Option<&str>) -> (f64, Vec<String>) {
    let (mut hit, mut seen) = (0, Vec::new());
    for q in queries {
        let truth: HashSet<String> = top10(c, key, q, &["TRUTH"]).into_iter().collect();
        let got = match ef {
            Some(ef) => top10(c, key, q, &["EF", ef]),
            None => top10(c, key, q, &[]),
        };
        hit += got.iter().filter(|g| truth.contains(*g)).count();
        seen.extend(got);
    }
    (hit as f64 / (queries.len() * 10) as f64, seen)
}

#[test]
fn recall_of_random_unit_vectors() {
    let s = Server::start();
    let mut c = s.client();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let vecs: Vec<Vec<f32>> = (0..N).map(|_| unit(&mut rng)).collect();
    let queries: Vec<Vec<f32>> = (0..QUERIES).map(|_| unit(&mut rng)).collect();
    for (key, quant, floor_500, floor_100) in
        [("q8", "Q8", 0.97, 0.84), ("f32", "NOQUANT", 0.98, 0.84)]
    {
        load(&mut c, key, &vecs, 0..N, quant);
        let (r500, _) = recall(&mut c, key, &queries, Some("500"));
        let (r100, _) = recall(&mut c, key, &queries, None);
        eprintln!("{key}: recall@10 EF 500 = {r500:.3}, default EF = {r100:.3}");
        assert!(r500 >= floor_500, "{key} recall@10 at EF 500: {r500}");
        assert!(
            r100 >= floor_100,
            "{key} recall@10 at the default EF: {r100}"
        );
    }
    // Remove 20%, re-add half of them (10%): recall holds, removed ones never return.
    let removed: HashSet<String> = (0..N)
        .filter(|i| i % 5 == 0)
        .map(|i| format!("e{i}"))
        .collect();
    let mut batch = Vec::new();
    for e in &removed {
        batch.extend(Client::encode(&[b"VREM", b"q8", e.as_bytes()]));
    }
    c.send_raw(&batch);
    for _ in 0..removed.len() {
        assert_eq!(c.read(), Reply::Int(1));
    }
    load(&mut c, "q8", &vecs, (0..N).filter(|i| i % 10 == 0), "Q8");
    let gone: HashSet<String> = removed
        .into_iter()
        .filter(|e| e[1..].parse::<usize>().unwrap() % 10 != 0)
        .collect();
    assert_eq!(c.cmd(&["VCARD", "q8"]), Reply::Int((N - gone.len()) as i64));
    let (r, seen) = recall(&mut c, "q8", &queries, Some("500"));
    eprintln!("q8 after churn: recall@10 EF 500 = {r:.3}");
    assert!(
        r >= 0.95,
        "recall after removing 20% and re-adding 10%: {r}"
    );
    assert!(
        seen.iter().all(|e| !gone.contains(e)),
        "a removed element was returned"
    );
}
