//! RESP benches: request parsing (VexLake's parser vs the `redis-protocol`
//! decoder on the same pipelined bytes) and reply encoding.
//!
//! Run: `cargo bench --bench resp`.

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vexlake_protocol::{Parsed, Protocol, ReplyBuf, RequestParser};

fn pipeline(n: usize, value_len: usize) -> Vec<u8> {
    let value = "x".repeat(value_len);
    let mut out = Vec::new();
    for i in 0..n {
        let key = format!("key:{i:08}");
        out.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
                key.len(),
                value.len()
            )
            .as_bytes(),
        );
    }
    out
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_pipeline");
    for value_len in [3usize, 1024] {
        let bytes = pipeline(1000, value_len);
        g.throughput(Throughput::Elements(1000));
        g.bench_with_input(
            BenchmarkId::new("vexlake", value_len),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    let mut buf = BytesMut::from(&bytes[..]);
                    let mut p = RequestParser::default();
                    let mut n = 0;
                    while let Ok(Parsed::Command(args)) = p.parse(&mut buf, true) {
                        n += args.len();
                    }
                    black_box(n)
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("redis_protocol", value_len),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    let mut buf = BytesMut::from(&bytes[..]);
                    let mut n = 0;
                    while let Ok(Some((frame, _, _))) =
                        redis_protocol::resp2::decode::decode_bytes_mut(&mut buf)
                    {
                        n += match frame {
                            redis_protocol::resp2::types::BytesFrame::Array(v) => v.len(),
                            _ => 0,
                        };
                    }
                    black_box(n)
                })
            },
        );
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode_replies");
    g.throughput(Throughput::Elements(1000));
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        g.bench_function(format!("{proto:?}"), |b| {
            let mut out = ReplyBuf::new(proto);
            b.iter(|| {
                out.clear();
                for i in 0..1000i64 {
                    match i % 4 {
                        0 => out.ok(),
                        1 => out.bulk(b"some value of moderate size"),
                        2 => out.int(i),
                        _ => out.double(i as f64 * 0.25),
                    }
                }
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse, encode);
criterion_main!(benches);
