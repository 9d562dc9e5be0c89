//! Load tool for the Redis-compatibility paths redis-benchmark cannot drive:
//! MULTI/EXEC of 3 commands, EVALSHA of a small script, and PUBLISH to
//! subscribers. `--clients` connections each keep one request (or one
//! whole transaction) in flight; prints requests/s and p50/p99 latency.
//! Works against any Redis-protocol server, so the same run measures
//! VexLake and redis-server.
//!
//! ```text
//! rustc --edition 2024 -O -o compat_load examples/compat_load.rs   # std only
//! ./compat_load --port 6379 --mode multi --clients 50 --requests 200000
//! ```
//!
//! (`benches/compat_bench.sh` builds it this way and runs it side by side.)
//!
//! Modes: `multi` (MULTI; SET k v; INCR n; GET k; EXEC: one request),
//! `evalsha` (a script doing GET + SET on one key, loaded with SCRIPT LOAD),
//! `publish` (PUBLISH to a channel with `--subscribers` readers, 10 by
//! default; the readers must see every message).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Options {
    port: u16,
    mode: String,
    clients: usize,
    requests: u64,
    subscribers: usize,
}

fn options() -> Options {
    let mut o = Options {
        port: 6379,
        mode: "multi".into(),
        clients: 50,
        requests: 200_000,
        subscribers: 10,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--port" => o.port = v.parse().expect("port"),
            "--mode" => o.mode = v,
            "--clients" => o.clients = v.parse().expect("clients"),
            "--requests" => o.requests = v.parse().expect("requests"),
            "--subscribers" => o.subscribers = v.parse().expect("subscribers"),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one RESP2 reply; returns its first line (errors start with `-`).
fn read_reply(r: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    r.read_line(&mut line).expect("read");
    match line.as_bytes().first() {
        Some(b'$') => {
            let n: i64 = line[1..].trim().parse().expect("bulk length");
            if n >= 0 {
                let mut buf = vec![0u8; n as usize + 2];
                std::io::Read::read_exact(r, &mut buf).expect("bulk");
            }
        }
        Some(b'*') => {
            let n: i64 = line[1..].trim().parse().expect("array length");
            for _ in 0..n.max(0) {
                let inner = read_reply(r);
                assert!(!inner.starts_with('-'), "error in reply: {inner}");
            }
        }
        None => panic!("connection closed"),
        _ => {}
    }
    line
}

fn connect(port: u16) -> (TcpStream, BufReader<TcpStream>) {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).unwrap();
    let r = BufReader::with_capacity(1 << 16, s.try_clone().unwrap());
    (s, r)
}

fn main() {
    let o = options();
    let (mut s, mut r) = connect(o.port);
    const SCRIPT: &[u8] =
        b"local v = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) return v";
    s.write_all(&encode(&[b"SCRIPT", b"LOAD", SCRIPT])).unwrap();
    let sha = {
        // SCRIPT LOAD's reply: `$40\r\n<sha>\r\n`.
        let mut header = String::new();
        r.read_line(&mut header).unwrap();
        assert!(header.starts_with("$40"), "SCRIPT LOAD: {header}");
        let mut sha = String::new();
        r.read_line(&mut sha).unwrap();
        sha.trim().to_string()
    };
    let published = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    if o.mode == "publish" {
        for _ in 0..o.subscribers {
            let (mut s, mut r) = connect(o.port);
            s.write_all(&encode(&[b"SUBSCRIBE", b"bench"])).unwrap();
            read_reply(&mut r);
            let received = received.clone();
            readers.push(std::thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    // Each message is a 3-element array: count the headers.
                    match r.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line.starts_with("*3") => {
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                    }
                }
            }));
        }
    }
    let per_client = o.requests / o.clients as u64;
    let start = Instant::now();
    let workers: Vec<_> = (0..o.clients)
        .map(|c| {
            let mode = o.mode.clone();
            let sha = sha.clone();
            let published = published.clone();
            let port = o.port;
            std::thread::spawn(move || {
                let (mut s, mut r) = connect(port);
                let key = format!("compat:{c}");
                let mut lat = Vec::with_capacity(per_client as usize);
                for i in 0..per_client {
                    let t = Instant::now();
                    match mode.as_str() {
                        "multi" => {
                            let mut req = encode(&[b"MULTI"]);
                            req.extend(encode(&[b"SET", key.as_bytes(), b"v"]));
                            req.extend(encode(&[b"INCR", b"compat:n"]));
                            req.extend(encode(&[b"GET", key.as_bytes()]));
                            req.extend(encode(&[b"EXEC"]));
                            s.write_all(&req).unwrap();
                            for _ in 0..5 {
                                let l = read_reply(&mut r);
                                assert!(!l.starts_with('-'), "{l}");
                            }
                        }
                        "evalsha" => {
                            let v = i.to_string();
                            s.write_all(&encode(&[
                                b"EVALSHA",
                                sha.as_bytes(),
                                b"1",
                                key.as_bytes(),
                                v.as_bytes(),
                            ]))
                            .unwrap();
                            let l = read_reply(&mut r);
                            assert!(!l.starts_with('-'), "{l}");
                        }
                        "publish" => {
                            s.write_all(&encode(&[b"PUBLISH", b"bench", b"hello world"]))
                                .unwrap();
                            let l = read_reply(&mut r);
                            assert!(!l.starts_with('-'), "{l}");
                            published.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("unknown mode {other}"),
                    }
                    lat.push(t.elapsed().as_micros() as u64);
                }
                lat
            })
        })
        .collect();
    let mut all: Vec<u64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "mode={} clients={} requests={} rps={:.0} p50_us={} p99_us={}",
        o.mode,
        o.clients,
        all.len(),
        all.len() as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
    if o.mode == "publish" {
        let want = published.load(Ordering::Relaxed) * o.subscribers as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while received.load(Ordering::Relaxed) < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        println!(
            "delivered={} of {} ({} subscribers), all by {:.2}s",
            received.load(Ordering::Relaxed),
            want,
            o.subscribers,
            start.elapsed().as_secs_f64()
        );
        std::process::exit(0);
    }
}
