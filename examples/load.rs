//! Mixed-workload load tool: GET/SET, VADD, VSIM with and without FILTER,
//! small SQL queries and INGEST, one request in flight per client, at each
//! of several concurrency levels. Reports RPS, p50/p99/p99.9 latency, error
//! replies and the server's RSS per level.
//!
//! ```text
//! cargo run --release --example load -- --port 6379 --clients 10,50,100,200 --requests 2500000
//! ```
//!
//! Options: `--host` (127.0.0.1), `--port` (6379), `--clients` (10,50,100,200),
//! `--requests` per level (1000000), `--keys` (100000), `--vectors` in the
//! set (10000), `--dim` (32), `--mix` (`get=60,set=30,vsim=7,vsimf=2,vadd=0.7,sql=0.29,ingest=0.01`).
//! Everything it creates has the `load:` prefix or is the `load_t` table
//! (queried) or `load_in` (appended to), so queries keep their cached table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Get,
    Set,
    Vsim,
    VsimFilter,
    Vadd,
    Sql,
    Ingest,
}

const OPS: [(Op, &str); 7] = [
    (Op::Get, "get"),
    (Op::Set, "set"),
    (Op::Vsim, "vsim"),
    (Op::VsimFilter, "vsimf"),
    (Op::Vadd, "vadd"),
    (Op::Sql, "sql"),
    (Op::Ingest, "ingest"),
];

struct Options {
    host: String,
    port: u16,
    clients: Vec<usize>,
    requests: u64,
    keys: u64,
    vectors: u64,
    dim: usize,
    mix: Vec<(Op, f64)>,
}

fn parse_options() -> Options {
    let mut o = Options {
        host: "127.0.0.1".into(),
        port: 6379,
        clients: vec![10, 50, 100, 200],
        requests: 1_000_000,
        keys: 100_000,
        vectors: 10_000,
        dim: 32,
        mix: Vec::new(),
    };
    let mut mix = "get=60,set=30,vsim=7,vsimf=2,vadd=0.7,sql=0.29,ingest=0.01".to_string();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i + 1 < args.len() {
        let v = &args[i + 1];
        match args[i].as_str() {
            "--host" => o.host = v.clone(),
            "--port" => o.port = v.parse().expect("--port"),
            "--clients" => {
                o.clients = v
                    .split(',')
                    .map(|c| c.parse().expect("--clients"))
                    .collect()
            }
            "--requests" => o.requests = v.parse().expect("--requests"),
            "--keys" => o.keys = v.parse().expect("--keys"),
            "--vectors" => o.vectors = v.parse().expect("--vectors"),
            "--dim" => o.dim = v.parse().expect("--dim"),
            "--mix" => mix = v.clone(),
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    for part in mix.split(',') {
        let (name, w) = part.split_once('=').expect("--mix name=weight,...");
        let op = OPS
            .iter()
            .find(|(_, n)| *n == name)
            .unwrap_or_else(|| panic!("unknown op {name}"))
            .0;
        o.mix.push((op, w.parse().expect("weight")));
    }
    o
}

/// One RESP2 connection with one request in flight.
struct Conn {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
    out: Vec<u8>,
    line: Vec<u8>,
}

impl Conn {
    async fn connect(host: &str, port: u16) -> Conn {
        let s = TcpStream::connect((host, port)).await.expect("connect");
        s.set_nodelay(true).unwrap();
        let (r, w) = s.into_split();
        Conn {
            r: BufReader::with_capacity(64 * 1024, r),
            w,
            out: Vec::with_capacity(1024),
            line: Vec::with_capacity(256),
        }
    }

    /// Sends a command and reads its whole reply; `Ok(false)` for an error
    /// reply (its text goes to `err`).
    async fn call(&mut self, args: &[&[u8]], err: &mut String) -> std::io::Result<bool> {
        self.out.clear();
        self.out
            .extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            self.out
                .extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            self.out.extend_from_slice(a);
            self.out.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&self.out).await?;
        let mut pending = 1u64;
        let mut ok = true;
        while pending > 0 {
            pending -= 1;
            self.line.clear();
            if self.r.read_until(b'\n', &mut self.line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let body = &self.line[1..self.line.len().saturating_sub(2)];
            match self.line[0] {
                b'-' => {
                    ok = false;
                    if err.is_empty() {
                        *err = String::from_utf8_lossy(body).into_owned();
                    }
                }
                b'$' => {
                    let n: i64 = std::str::from_utf8(body).unwrap().parse().unwrap();
                    if n >= 0 {
                        let mut skip = vec![0u8; n as usize + 2];
                        self.r.read_exact(&mut skip).await?;
                    }
                }
                b'*' => {
                    let n: i64 = std::str::from_utf8(body).unwrap().parse().unwrap();
                    pending += n.max(0) as u64;
                }
                _ => {}
            }
        }
        Ok(ok)
    }
}

impl Conn {
    /// Replaces table `name` with the CSV `csv` (header line first).
    async fn overwrite_table(&mut self, name: &str, csv: &str, err: &mut String) {
        let args: [&[u8]; 10] = [
            b"INGEST",
            name.as_bytes(),
            b"FORMAT",
            b"csv",
            b"MODE",
            b"overwrite",
            b"HEADER",
            b"yes",
            b"DATA",
            csv.as_bytes(),
        ];
        self.call(&args, err).await.unwrap();
    }
}

fn vector(rng: &mut fastrand::Rng, dim: usize) -> Vec<String> {
    (0..dim)
        .map(|_| format!("{:.4}", rng.f32() * 2.0 - 1.0))
        .collect()
}

async fn rss(host: &str, port: u16) -> u64 {
    let mut c = Conn::connect(host, port).await;
    c.out.clear();
    c.w.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n")
        .await
        .unwrap();
    c.line.clear();
    c.r.read_until(b'\n', &mut c.line).await.unwrap();
    let n: usize = std::str::from_utf8(&c.line[1..c.line.len() - 2])
        .unwrap()
        .parse()
        .unwrap();
    let mut body = vec![0u8; n + 2];
    c.r.read_exact(&mut body).await.unwrap();
    let text = String::from_utf8_lossy(&body);
    text.lines()
        .find_map(|l| l.strip_prefix("used_memory_rss:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn prepare(o: &Options) {
    let mut c = Conn::connect(&o.host, o.port).await;
    let mut err = String::new();
    let mut rng = fastrand::Rng::with_seed(1);
    let t = Instant::now();
    for k in 0..o.keys {
        let key = format!("load:k{k}");
        c.call(
            &[b"SET", key.as_bytes(), b"initial-value-0123456789"],
            &mut err,
        )
        .await
        .unwrap();
    }
    let batch = 500;
    let mut k = 0;
    while k < o.vectors {
        let mut args: Vec<Vec<u8>> = vec![
            b"VADDBATCH".to_vec(),
            b"load:vs".to_vec(),
            b"VALUES".to_vec(),
            o.dim.to_string().into_bytes(),
            b"Q8".to_vec(),
            b"WITHATTRIBS".to_vec(),
            b"ELEMENTS".to_vec(),
        ];
        for i in k..(k + batch).min(o.vectors) {
            args.push(format!("e{i}").into_bytes());
            for x in vector(&mut rng, o.dim) {
                args.push(x.into_bytes());
            }
            args.push(format!("{{\"cat\":{},\"n\":{i}}}", i % 10).into_bytes());
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        assert!(c.call(&refs, &mut err).await.unwrap(), "VADDBATCH: {err}");
        k += batch;
    }
    c.overwrite_table("load_in", "id,cat,price\n0,0,0.5\n", &mut err)
        .await;
    let mut csv = String::from("id,cat,price\n");
    for i in 0..1000 {
        csv.push_str(&format!("{i},{},{}.5\n", i % 10, i * 3 % 997));
    }
    c.overwrite_table("load_t", &csv, &mut err).await;
    assert!(err.is_empty(), "prepare: {err}");
    eprintln!(
        "prepared {} keys, {} vectors (dim {}), table load_t (1000 rows) in {:.1} s",
        o.keys,
        o.vectors,
        o.dim,
        t.elapsed().as_secs_f64()
    );
}

struct Shared {
    remaining: AtomicU64,
    errors: AtomicU64,
    per_op: [AtomicU64; 7],
}

async fn client(o: Arc<Options>, shared: Arc<Shared>, seed: u64) -> (Vec<u32>, String) {
    let mut c = Conn::connect(&o.host, o.port).await;
    let mut rng = fastrand::Rng::with_seed(seed);
    let total: f64 = o.mix.iter().map(|(_, w)| w).sum();
    let mut lat = Vec::new();
    let mut first_error = String::new();
    let mut err = String::new();
    loop {
        if shared
            .remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
            .is_err()
        {
            break;
        }
        let mut pick = rng.f64() * total;
        let mut op = o.mix[0].0;
        for (candidate, w) in &o.mix {
            if pick < *w {
                op = *candidate;
                break;
            }
            pick -= w;
        }
        let key = format!("load:k{}", rng.u64(0..o.keys));
        let v = vector(&mut rng, o.dim);
        let vrefs: Vec<&[u8]> = v.iter().map(|x| x.as_bytes()).collect();
        let dim = o.dim.to_string();
        let k = format!("e{}", o.vectors + rng.u64(0..o.vectors));
        let value = format!("value-{}", rng.u64(..));
        let row = format!(
            "id,cat,price\n{},{},{}.5\n",
            rng.u32(..),
            rng.u8(0..10),
            rng.u16(..)
        );
        let threshold = rng.u32(0..1000).to_string();
        let mut args: Vec<&[u8]> = Vec::with_capacity(48);
        match op {
            Op::Get => args.extend([b"GET".as_slice(), key.as_bytes()]),
            Op::Set => args.extend([b"SET".as_slice(), key.as_bytes(), value.as_bytes()]),
            Op::Vsim | Op::VsimFilter => {
                args.extend([b"VSIM".as_slice(), b"load:vs", b"VALUES", dim.as_bytes()]);
                args.extend(&vrefs);
                args.extend([b"COUNT".as_slice(), b"10", b"WITHSCORES"]);
                if op == Op::VsimFilter {
                    args.extend([b"FILTER".as_slice(), b".cat == 3 and .n > 100"]);
                }
            }
            Op::Vadd => {
                args.extend([b"VADD".as_slice(), b"load:vs", b"VALUES", dim.as_bytes()]);
                args.extend(&vrefs);
                args.extend([k.as_bytes(), b"Q8", b"SETATTR", b"{\"cat\":1,\"n\":1}"]);
            }
            Op::Sql => args.extend([
                b"SQL".as_slice(),
                b"SELECT cat, count(*), avg(price) FROM load_t WHERE id < $1 GROUP BY cat ORDER BY cat",
                threshold.as_bytes(),
            ]),
            Op::Ingest => args.extend([
                b"INGEST".as_slice(),
                b"load_in",
                b"FORMAT",
                b"csv",
                b"MODE",
                b"append",
                b"HEADER",
                b"yes",
                b"DATA",
                row.as_bytes(),
            ]),
        }
        let t = Instant::now();
        err.clear();
        let ok = match c.call(&args, &mut err).await {
            Ok(ok) => ok,
            Err(e) => {
                err = format!("connection: {e}");
                shared.errors.fetch_add(1, Ordering::Relaxed);
                if first_error.is_empty() {
                    first_error = err.clone();
                }
                c = Conn::connect(&o.host, o.port).await;
                continue;
            }
        };
        lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        shared.per_op[op as usize].fetch_add(1, Ordering::Relaxed);
        if !ok {
            shared.errors.fetch_add(1, Ordering::Relaxed);
            if first_error.is_empty() {
                first_error = format!("{op:?}: {err}");
            }
        }
    }
    (lat, first_error)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let o = Arc::new(parse_options());
    prepare(&o).await;
    println!(
        "| clients | requests | seconds | RPS | p50 ms | p99 ms | p99.9 ms | errors | server RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut grand = 0u64;
    for &n in &o.clients {
        let shared = Arc::new(Shared {
            remaining: AtomicU64::new(o.requests),
            errors: AtomicU64::new(0),
            per_op: Default::default(),
        });
        let t = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|i| tokio::spawn(client(o.clone(), shared.clone(), (n * 1000 + i) as u64)))
            .collect();
        let mut all = Vec::with_capacity(o.requests as usize);
        let mut first_error = String::new();
        for t in tasks {
            let (lat, e) = t.await.unwrap();
            all.extend(lat);
            if first_error.is_empty() {
                first_error = e;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        all.sort_unstable();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rss = rss(&o.host, o.port).await;
        let errors = shared.errors.load(Ordering::Relaxed);
        grand += all.len() as u64;
        println!(
            "| {n} | {} | {secs:.1} | {:.0} | {:.3} | {:.3} | {:.3} | {errors} | {} |",
            all.len(),
            all.len() as f64 / secs,
            pct(&all, 50.0),
            pct(&all, 99.0),
            pct(&all, 99.9),
            rss / (1024 * 1024)
        );
        let counts: Vec<String> = OPS
            .iter()
            .map(|(op, name)| {
                format!(
                    "{name}={}",
                    shared.per_op[*op as usize].load(Ordering::Relaxed)
                )
            })
            .collect();
        eprintln!("  ops: {}", counts.join(" "));
        if !first_error.is_empty() {
            eprintln!("  first error: {first_error}");
        }
    }
    eprintln!("total requests: {grand}");
}
