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

/// The plan text of `EXPLAIN [ANALYZE] q`.
fn plan(c: &mut super::support::Client, explain: &str) -> String {
    let r = c.cmd(&["SQL", explain]);
    assert!(!matches!(r, Reply::Error(_)), "{r:?}");
    r.items()[1..]
        .iter()
        .map(|row| row.items()[1].text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A join's dynamic filter that reaches a scan through an aggregation (the
/// correlated average of TPC-H Q17) drops the scan's rows right after
/// decoding; one whose join is right above the scan is left to the join;
/// the answers are those of the query.
#[test]
fn join_filters_drop_scanned_rows_early_where_an_aggregation_is_between() {
    let s = Server::start();
    let mut c = s.client();
    for q in [
        "CREATE TABLE part AS SELECT value AS p_partkey, value % 20 AS p_brand \
         FROM generate_series(0, 1999)",
        "CREATE TABLE line AS SELECT value % 2000 AS l_partkey, \
         (value / 2000) % 50 AS l_qty FROM generate_series(0, 199999)",
    ] {
        let r = c.cmd(&["SQL", q]);
        assert!(!matches!(r, Reply::Error(_)), "{r:?}");
    }
    // Each of the 100 parts of brand 3 has 100 lines, quantities 0..49
    // twice (average 24.5): the 26 lines under 12.25 sum to 156.
    let q17 = "SELECT sum(l_qty) AS s FROM line, part \
               WHERE p_partkey = l_partkey AND p_brand = 3 \
               AND l_qty < (SELECT 0.5 * avg(l_qty) FROM line WHERE l_partkey = p_partkey)";
    assert_eq!(
        c.cmd(&["SQL", q17]).items()[1],
        Reply::Array(vec![Reply::Int(15_600)])
    );
    let analyzed = plan(&mut c, &format!("EXPLAIN ANALYZE {q17}"));
    let dropped: Vec<&str> = analyzed
        .split("early_filtered_rows=")
        .skip(1)
        .map(|rest| rest.split([',', ']']).next().unwrap())
        .collect();
    assert!(
        dropped.iter().any(|n| n.trim() != "0"),
        "no rows dropped early:\n{analyzed}"
    );
    // A join right above its probe scan keeps its filter to itself.
    let direct = "SELECT count(*) AS n FROM line JOIN part ON l_partkey = p_partkey \
                  WHERE p_brand = 3";
    assert_eq!(
        c.cmd(&["SQL", direct]).items()[1],
        Reply::Array(vec![Reply::Int(10_000)])
    );
    let planned = plan(&mut c, &format!("EXPLAIN {direct}"));
    assert!(planned.contains("DynamicFilter"), "{planned}");
    assert!(!planned.contains("dynamic filters=1"), "{planned}");
}
