//! SQL and INGEST over TCP: the real redis-cli (`-x` sends a file as the
//! DATA argument), raw RESP2 and RESP3 reply shapes.

use std::io::Write;
use std::process::{Command, Stdio};

use super::support::{Reply, Server};

fn cli_stdin(s: &Server, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &s.port.to_string()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli is installed");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_ingests_a_file_and_queries_it() {
    let s = Server::start();
    let csv = b"city,pop\nOslo,700000\nBergen,290000\nTromso,77000\n";
    let out = cli_stdin(
        &s,
        &["-x", "INGEST", "cities", "FORMAT", "csv", "DATA"],
        csv,
    );
    assert!(out.contains("rows") && out.contains('3'), "{out}");
    let out = cli_stdin(
        &s,
        &[
            "--no-raw",
            "SQL",
            "SELECT city FROM cities WHERE pop > $1 ORDER BY pop DESC",
            "100000",
        ],
        b"",
    );
    assert!(
        out.contains("\"city\"") && out.contains("\"Oslo\"") && out.contains("\"Bergen\""),
        "{out}"
    );
    assert!(!out.contains("Tromso"), "{out}");
}

#[test]
fn reply_shapes_in_resp2_and_resp3() {
    let s = Server::start();
    let mut c = s.client();
    let r = c.cmd(&[
        "INGEST",
        "t",
        "FORMAT",
        "jsonl",
        "DATA",
        "{\"i\":1,\"f\":1.5,\"b\":true,\"s\":\"x\"}\n{\"i\":2}\n",
    ]);
    assert_eq!(r.items()[1], Reply::Int(2));
    let q = ["SQL", "SELECT i, f, b, s FROM t ORDER BY i"];
    let r2 = c.cmd(&q);
    assert_eq!(
        r2,
        Reply::Array(vec![
            Reply::Array(vec![
                Reply::Bulk(b"i".to_vec()),
                Reply::Bulk(b"f".to_vec()),
                Reply::Bulk(b"b".to_vec()),
                Reply::Bulk(b"s".to_vec()),
            ]),
            Reply::Array(vec![
                Reply::Int(1),
                Reply::Bulk(b"1.5".to_vec()),
                Reply::Int(1),
                Reply::Bulk(b"x".to_vec()),
            ]),
            Reply::Array(vec![Reply::Int(2), Reply::Nil, Reply::Nil, Reply::Nil]),
        ])
    );
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    let r3 = c.cmd(&q);
    let rows = r3.items();
    assert_eq!(
        rows[1],
        Reply::Array(vec![
            Reply::Int(1),
            Reply::Double(1.5),
            Reply::Bool(true),
            Reply::Bulk(b"x".to_vec()),
        ])
    );
    assert_eq!(rows[2].items()[1], Reply::Nil);
    // Bad SQL is an error reply; the connection and the data stay.
    assert!(matches!(
        c.cmd(&["SQL", "SELECT FROM WHERE"]),
        Reply::Error(_)
    ));
    assert!(matches!(
        c.cmd(&[
            "SQL",
            "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'"
        ]),
        Reply::Error(_)
    ));
    assert!(matches!(
        c.cmd(&["INGEST", "t", "FORMAT", "csv"]),
        Reply::Error(_)
    ));
    assert_eq!(
        c.cmd(&["SQL", "SELECT count(*) AS n FROM t"]).items()[1],
        Reply::Array(vec![Reply::Int(2)])
    );
}
