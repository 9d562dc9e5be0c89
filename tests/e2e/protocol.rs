//! Wire-level behaviour: inline commands, pipelining, concurrency, limits,
//! and malformed input (an error reply, the connection closed, the server
//! and its data unharmed).

use std::time::{Duration, Instant};

use crate::support::{Client, Reply, Server, bulk, err, simple};

/// Sends `bytes` on a fresh connection and expects `reply` then a close.
fn expect_protocol_error(s: &Server, bytes: &[u8], reply: &str) {
    let mut c = s.client();
    c.send_raw(bytes);
    c.expect_bytes(format!("-{reply}\r\n").as_bytes());
    assert!(c.is_closed(), "connection closed after {reply}");
}

#[test]
fn malformed_frames_close_only_that_connection() {
    let s = Server::start();
    let mut keeper = s.client();
    keeper.cmd(&["SET", "safe", "value"]);
    expect_protocol_error(
        &s,
        b"*x\r\n",
        "ERR Protocol error: invalid multibulk length",
    );
    expect_protocol_error(
        &s,
        b"*3000000000\r\n",
        "ERR Protocol error: invalid multibulk length",
    );
    expect_protocol_error(
        &s,
        b"*1\r\n+PING\r\n",
        "ERR Protocol error: expected '$', got '+'",
    );
    expect_protocol_error(
        &s,
        b"*1\r\n$abc\r\n",
        "ERR Protocol error: invalid bulk length",
    );
    expect_protocol_error(
        &s,
        b"*1\r\n$-5\r\n",
        "ERR Protocol error: invalid bulk length",
    );
    expect_protocol_error(
        &s,
        b"*1\r\n$536870913\r\n",
        "ERR Protocol error: invalid bulk length",
    );
    expect_protocol_error(
        &s,
        b"SET a \"unclosed\r\n",
        "ERR Protocol error: unbalanced quotes in request",
    );
    let mut long_count = b"*".to_vec();
    long_count.extend(std::iter::repeat_n(b'1', 70 * 1024));
    expect_protocol_error(
        &s,
        &long_count,
        "ERR Protocol error: too big mbulk count string",
    );
    let mut long_bulk = b"*1\r\n$".to_vec();
    long_bulk.extend(std::iter::repeat_n(b'1', 70 * 1024));
    expect_protocol_error(
        &s,
        &long_bulk,
        "ERR Protocol error: too big bulk count string",
    );
    expect_protocol_error(
        &s,
        &vec![b'a'; 70 * 1024],
        "ERR Protocol error: too big inline request",
    );
    // Commands before the bad frame are answered first.
    let mut c = s.client();
    c.send_raw(b"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n");
    c.expect_bytes(b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
    assert!(c.is_closed());
    // Random garbage never crashes the server.
    let mut seed = 0x9e3779b97f4a7c15u64;
    for _ in 0..50 {
        let mut c = s.client();
        let mut junk = b"*2\r\n$3\r\nGET\r\n".to_vec();
        for _ in 0..200 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            junk.push((seed & 0xff) as u8);
        }
        c.send_raw(&junk);
        drop(c);
    }
    assert_eq!(keeper.cmd(&["GET", "safe"]), bulk("value"));
    assert_eq!(s.client().cmd(&["PING"]), simple("PONG"));
}

#[test]
fn configured_bulk_limit() {
    let s = Server::with_args(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.client();
    let ok = vec![b'x'; 1024 * 1024];
    assert_eq!(c.cmd_bin(&[b"SET", b"k", &ok]), simple("OK"));
    expect_protocol_error(
        &s,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n",
        "ERR Protocol error: invalid bulk length",
    );
    assert_eq!(c.cmd(&["STRLEN", "k"]), Reply::Int(1024 * 1024));
    assert_eq!(
        c.cmd(&["APPEND", "k", "y"]),
        err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    );
}

#[test]
fn unauthenticated_clients_get_small_limits() {
    let s = Server::with_args(&["--requirepass", "pw"]);
    expect_protocol_error(
        &s,
        b"*11\r\n",
        "ERR Protocol error: unauthenticated multibulk length",
    );
    expect_protocol_error(
        &s,
        b"*2\r\n$4\r\nAUTH\r\n$20000\r\n",
        "ERR Protocol error: unauthenticated bulk length",
    );
    let mut c = s.client();
    assert_eq!(c.cmd(&["AUTH", "pw"]), simple("OK"));
    let big = vec![b'v'; 100_000];
    assert_eq!(c.cmd_bin(&[b"SET", b"k", &big]), simple("OK"));
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let s = Server::with_args(&[
        "--proto-max-bulk-len",
        "16mb",
        "--client-query-buffer-limit",
        "1mb",
    ]);
    let mut c = s.client();
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$8000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    let mut closed = false;
    for _ in 0..64 {
        if c.try_send(&chunk).is_err() {
            closed = true;
            break;
        }
    }
    assert!(
        closed || c.is_closed(),
        "client over the query buffer limit is dropped"
    );
    assert_eq!(s.client().cmd(&["EXISTS", "k"]), Reply::Int(0));
}

#[test]
fn inline_commands() {
    let s = Server::start();
    let mut c = s.client();
    c.send_raw(b"PING\r\nSET k \"hello world\"\r\n\r\nGET k\nECHO 'it''s'\r\n");
    c.expect_bytes(b"+PONG\r\n+OK\r\n$11\r\nhello world\r\n");
    c.expect_bytes(b"-ERR Protocol error: unbalanced quotes in request\r\n");
}

#[test]
fn pipeline_of_ten_thousand() {
    let s = Server::start();
    let mut c = s.client();
    let mut batch = Vec::new();
    for i in 0..10_000 {
        batch.extend(Client::encode(&[
            b"SET",
            format!("k{i}").as_bytes(),
            i.to_string().as_bytes(),
        ]));
        batch.extend(Client::encode(&[b"INCR", b"counter"]));
    }
    batch.extend(Client::encode(&[b"DBSIZE"]));
    c.send_raw(&batch);
    for i in 0..10_000 {
        assert_eq!(c.read(), simple("OK"));
        assert_eq!(c.read(), Reply::Int(i + 1), "replies in order");
    }
    assert_eq!(c.read(), Reply::Int(10_001));
    let mut get = Vec::new();
    for i in (0..10_000).step_by(997) {
        get.extend(Client::encode(&[b"GET", format!("k{i}").as_bytes()]));
    }
    c.send_raw(&get);
    for i in (0..10_000).step_by(997) {
        assert_eq!(c.read(), bulk(&i.to_string()));
    }
}

#[test]
fn two_hundred_concurrent_clients() {
    let s = Server::start();
    let port = s.port;
    let threads: Vec<_> = (0..200)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                for i in 0..50 {
                    let key = format!("c{t}:{i}");
                    assert_eq!(c.cmd(&["SET", &key, &format!("{t}-{i}")]), simple("OK"));
                    assert!(matches!(c.cmd(&["INCR", "shared"]), Reply::Int(n) if (1..=10_000).contains(&n)));
                    assert_eq!(c.cmd(&["GET", &key]), bulk(&format!("{t}-{i}")));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = s.client();
    assert_eq!(c.cmd(&["GET", "shared"]), bulk("10000"));
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(10_001));
}

#[test]
fn maxclients_is_enforced() {
    let s = Server::with_args(&["--maxclients", "5"]);
    let mut held: Vec<Client> = (0..5).map(|_| s.client()).collect();
    for c in &mut held {
        assert_eq!(c.cmd(&["PING"]), simple("PONG"));
    }
    let mut extra = s.client();
    extra.expect_bytes(b"-ERR max number of clients reached\r\n");
    assert!(extra.is_closed());
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = s.client();
        c.send(&["PING"]);
        match c.read() {
            Reply::Simple(p) if p == "PONG" => break,
            Reply::Error(_) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => panic!("{other:?}"),
        }
    }
    let info = held[0].cmd(&["INFO", "stats"]).text();
    assert!(!info.contains("rejected_connections:0\r\n"), "{info}");
}
