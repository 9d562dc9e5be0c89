//! Load tool for vector sets over RESP: pipelined VADD loading, then VSIM
//! from many client threads, reporting QPS, latency percentiles and
//! recall@k against a ground-truth file. Raw RESP over std TCP, so the
//! client costs little next to the server.
//!
//! ```text
//! cargo run --release --example vsim_load -- --port 6379 --key bench \
//!     --dim 50 --base base.f32 --queries queries.f32 --truth truth.i32 \
//!     --quant Q8 --clients 1,32 --efs 50,100,200 [--count 10] [--rounds 3] \
//!     [--loaders 4] [--probe-ef 100]
//! ```
//! `--loaders N` loads from N connections at once (rows interleaved);
//! `--probe-ef E` measures VSIM latency (one client, VSIM ELE) during the load.
//! `base.f32` / `queries.f32`: row-major little-endian f32; `truth.i32`:
//! `count` little-endian i32 ids per query (element names are the row
//! numbers). Without `--base`, the set is assumed loaded.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn arg(args: &HashMap<String, String>, name: &str) -> Option<String> {
    args.get(name).cloned()
}

fn read_f32(path: &str, dim: usize) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).expect("read vectors");
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect::<Vec<_>>()
        .chunks(dim)
        .map(<[f32]>::to_vec)
        .collect()
}

fn encode(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len()).into_bytes();
    for p in parts {
        out.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one RESP2 reply; returns the bulk strings of an array reply (or
/// one element for scalars). Panics on error replies.
fn read_reply(r: &mut BufReader<TcpStream>) -> Vec<Vec<u8>> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).expect("read");
    let head = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    match line[0] {
        b'*' => {
            let n: i64 = head.parse().unwrap();
            (0..n.max(0)).flat_map(|_| read_reply(r)).collect()
        }
        b'$' => {
            let n: i64 = head.parse().unwrap();
            if n < 0 {
                return vec![];
            }
            let mut buf = vec![0; n as usize + 2];
            r.read_exact(&mut buf).unwrap();
            buf.truncate(n as usize);
            vec![buf]
        }
        b'-' => panic!("server error: {head}"),
        _ => vec![head.into_bytes()],
    }
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let args: HashMap<String, String> = raw
        .chunks(2)
        .map(|p| {
            (
                p[0].trim_start_matches("--").to_string(),
                p.get(1).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let port: u16 = arg(&args, "port").unwrap_or("6379".into()).parse().unwrap();
    let key = arg(&args, "key").unwrap_or("bench".into());
    let dim: usize = arg(&args, "dim").expect("--dim").parse().unwrap();
    let count: usize = arg(&args, "count").unwrap_or("10".into()).parse().unwrap();
    let rounds: usize = arg(&args, "rounds").unwrap_or("1".into()).parse().unwrap();
    let quant = arg(&args, "quant").unwrap_or("Q8".into());

    if let Some(base) = arg(&args, "base") {
        let base = std::sync::Arc::new(read_f32(&base, dim));
        let loaders: usize = arg(&args, "loaders").unwrap_or("1".into()).parse().unwrap();
        let probe_ef = arg(&args, "probe-ef");
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let loaded = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // While loading, one client sends VSIM ELE (an element already
        // loaded) in a loop and records each latency.
        let probe = probe_ef.map(|ef| {
            let (key, done, loaded) = (key.clone(), done.clone(), loaded.clone());
            std::thread::spawn(move || {
                let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_nodelay(true).unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let mut lat = Vec::new();
                let mut rng = 0x2545_f491_4f6c_dd1du64;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let have = loaded.load(std::sync::atomic::Ordering::Relaxed);
                    if have < 1000 {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    // Rows below `have / 2` are loaded (loaders go in order).
                    let name = (rng as usize % (have / 2)).to_string();
                    let req = encode(&[
                        b"VSIM",
                        key.as_bytes(),
                        b"ELE",
                        name.as_bytes(),
                        b"COUNT",
                        b"10",
                        b"EF",
                        ef.as_bytes(),
                    ]);
                    let t0 = Instant::now();
                    w.write_all(&req).unwrap();
                    read_reply(&mut r);
                    lat.push(t0.elapsed());
                }
                lat
            })
        });
        let t = Instant::now();
        let handles: Vec<_> = (0..loaders)
            .map(|k| {
                let (base, key, quant, loaded) =
                    (base.clone(), key.clone(), quant.clone(), loaded.clone());
                std::thread::spawn(move || {
                    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    s.set_nodelay(true).unwrap();
                    let mut w = s.try_clone().unwrap();
                    let mut r = BufReader::new(s);
                    // Loader k sends rows k, k + loaders, ... in pipelines
                    // of up to 1000 / loaders commands.
                    let rows: Vec<usize> = (k..base.len()).step_by(loaders).collect();
                    for chunk in rows.chunks((1000 / loaders).max(1)) {
                        let mut batch = Vec::new();
                        for &i in chunk {
                            let blob: Vec<u8> =
                                base[i].iter().flat_map(|x| x.to_le_bytes()).collect();
                            let name = i.to_string();
                            batch.extend(encode(&[
                                b"VADD",
                                key.as_bytes(),
                                b"FP32",
                                &blob,
                                name.as_bytes(),
                                quant.as_bytes(),
                            ]));
                        }
                        w.write_all(&batch).unwrap();
                        for _ in chunk {
                            read_reply(&mut r);
                        }
                        loaded.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let el = t.elapsed().as_secs_f64();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        println!(
            "load {} vectors ({quant}, {loaders} loaders): {el:.1}s, {:.0} vectors/s",
            base.len(),
            base.len() as f64 / el
        );
        if let Some(p) = probe {
            let mut lat = p.join().unwrap();
            lat.sort();
            if !lat.is_empty() {
                let pct = |p: f64| {
                    lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0
                };
                println!(
                    "VSIM during load: {} queries, {:.0} qps, p50={:.2}ms p99={:.2}ms max={:.2}ms",
                    lat.len(),
                    lat.len() as f64 / el,
                    pct(0.5),
                    pct(0.99),
                    pct(1.0)
                );
            }
        }
    }

    let Some(qpath) = arg(&args, "queries") else {
        return;
    };
    let queries = read_f32(&qpath, dim);
    let truth: Option<Vec<Vec<i32>>> = arg(&args, "truth").map(|p| {
        let b = std::fs::read(p).unwrap();
        b.chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<_>>()
            .chunks(count)
            .map(<[i32]>::to_vec)
            .collect()
    });
    let blobs: Vec<Vec<u8>> = queries
        .iter()
        .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    for clients in arg(&args, "clients")
        .unwrap_or("1".into())
        .split(',')
        .map(|c| c.parse::<usize>().unwrap())
    {
        for ef in arg(&args, "efs").unwrap_or("100".into()).split(',') {
            let t = Instant::now();
            let handles: Vec<_> = (0..clients)
                .map(|c| {
                    let (blobs, key, ef) = (blobs.clone(), key.clone(), ef.to_string());
                    std::thread::spawn(move || {
                        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                        s.set_nodelay(true).unwrap();
                        let mut w = s.try_clone().unwrap();
                        let mut r = BufReader::new(s);
                        let mut lat = Vec::new();
                        let mut found = Vec::new();
                        let cnt = count.to_string();
                        for _ in 0..rounds {
                            for q in (c..blobs.len()).step_by(clients) {
                                let req = encode(&[
                                    b"VSIM",
                                    key.as_bytes(),
                                    b"FP32",
                                    &blobs[q],
                                    b"COUNT",
                                    cnt.as_bytes(),
                                    b"EF",
                                    ef.as_bytes(),
                                ]);
                                let t0 = Instant::now();
                                w.write_all(&req).unwrap();
                                let ids = read_reply(&mut r);
                                lat.push(t0.elapsed());
                                found.push((q, ids));
                            }
                        }
                        (lat, found)
                    })
                })
                .collect();
            let mut lat: Vec<Duration> = Vec::new();
            let mut hits = 0usize;
            let mut total = 0usize;
            for h in handles {
                let (l, f) = h.join().unwrap();
                lat.extend(l);
                if let Some(truth) = &truth {
                    for (q, ids) in f {
                        let ids: Vec<i32> = ids
                            .iter()
                            .map(|b| String::from_utf8_lossy(b).parse().unwrap())
                            .collect();
                        hits += truth[q].iter().filter(|t| ids.contains(t)).count();
                        total += count;
                    }
                }
            }
            let el = t.elapsed().as_secs_f64();
            lat.sort();
            let pct = |p: f64| {
                lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0
            };
            let recall = if total > 0 {
                format!("{:.3}", hits as f64 / total as f64)
            } else {
                "-".into()
            };
            println!(
                "clients={clients:3} ef={ef:>4} recall@{count}={recall} qps={:8.0} p50={:.2}ms p99={:.2}ms",
                lat.len() as f64 / el,
                pct(0.5),
                pct(0.99)
            );
        }
    }
}
