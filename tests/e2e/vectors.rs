//! Vector-set commands over TCP: replies in RESP2 and RESP3, every error
//! text, FILTER, VREM and updates, key commands on vector-set keys, VSEARCH.

use crate::support::{Client, Reply, Server, bulk, err, simple};

fn vadd(c: &mut Client, key: &str, v: &[f32], elem: &str, extra: &[&str]) -> Reply {
    let n = v.len().to_string();
    let vals: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    let mut args = vec!["VADD", key, "VALUES", &n];
    args.extend(vals.iter().map(String::as_str));
    args.push(elem);
    args.extend_from_slice(extra);
    c.cmd(&args)
}

fn names(r: &Reply) -> Vec<String> {
    r.items().iter().map(Reply::text).collect()
}

#[test]
fn vadd_replies_and_errors() {
    let s = Server::start();
    let mut c = s.client();
    c.send_raw(b"*7\r\n$4\r\nVADD\r\n$1\r\nv\r\n$6\r\nVALUES\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n0\r\n$1\r\na\r\n");
    c.expect_bytes(b":1\r\n");
    assert_eq!(
        vadd(&mut c, "v", &[0.0, 1.0], "a", &[]),
        Reply::Int(0),
        "update"
    );
    let inv = err("ERR invalid vector specification");
    assert_eq!(c.cmd(&["VADD", "v", "VALUES", "2", "1", "x", "b"]), inv);
    assert_eq!(c.cmd(&["VADD", "v", "VALUES", "0", "b"]), inv);
    assert_eq!(c.cmd(&["VADD", "v", "VALUES", "5", "1", "2", "b"]), inv);
    assert_eq!(c.cmd_bin(&[b"VADD", b"v", b"FP32", b"abc", b"b"]), inv);
    assert_eq!(c.cmd(&["VADD", "v", "VECTOR", "1", "b"]), inv);
    assert_eq!(
        c.cmd(&["VADD", "v", "REDUCE", "0", "VALUES", "2", "1", "1", "b"]),
        inv
    );
    assert_eq!(
        c.cmd(&["VADD", "v", "VALUES", "2", "1", "1"]),
        err("ERR wrong number of arguments for 'vadd' command")
    );
    assert_eq!(
        c.cmd(&["VADD", "v"]),
        err("ERR wrong number of arguments for 'vadd' command")
    );
    assert_eq!(
        vadd(&mut c, "v", &[1.0, 1.0], "b", &["BOGUS"]),
        err("ERR invalid option after element")
    );
    assert_eq!(
        vadd(&mut c, "v", &[1.0, 1.0], "b", &["EF", "0"]),
        err("ERR invalid EF")
    );
    assert_eq!(
        vadd(&mut c, "v", &[1.0, 1.0], "b", &["M", "3"]),
        err("ERR invalid M")
    );
    assert_eq!(
        vadd(&mut c, "v", &[1.0, 1.0], "b", &["NOQUANT"]),
        err("ERR asked quantization mismatch with existing vector set")
    );
    assert_eq!(
        vadd(&mut c, "v", &[1.0, 1.0], "b", &["M", "32"]),
        err("ERR asked M value mismatch with existing vector set")
    );
    assert_eq!(
        vadd(&mut c, "v", &[1.0, 1.0, 1.0], "b", &[]),
        err("ERR Vector dimension mismatch - got 3 but set has 2")
    );
    assert_eq!(
        c.cmd(&["VCARD", "v"]),
        Reply::Int(1),
        "refused VADDs added nothing"
    );
    c.cmd(&["SET", "str", "x"]);
    let wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(vadd(&mut c, "str", &[1.0], "a", &[]), wrongtype);
    assert_eq!(c.cmd(&["GET", "v"]), wrongtype);
    assert_eq!(c.cmd(&["INCR", "v"]), wrongtype);
    assert_eq!(c.cmd(&["VCARD", "str"]), wrongtype);
    assert_eq!(c.cmd(&["VSIM", "str", "ELE", "a"]), wrongtype);
    assert_eq!(c.cmd(&["GET", "str"]), bulk("x"));
    // RESP3: booleans.
    c.send(&["HELLO", "3"]);
    c.resp3 = true;
    c.read();
    c.send(&["VADD", "v", "VALUES", "2", "0.5", "0.5", "c"]);
    c.expect_bytes(b"#t\r\n");
    c.send(&["VADD", "v", "VALUES", "2", "0.5", "0.5", "c"]);
    c.expect_bytes(b"#f\r\n");
}

#[test]
fn vsim_shapes_options_and_errors() {
    let s = Server::start();
    let mut c = s.client();
    vadd(
        &mut c,
        "v",
        &[1.0, 0.0, 0.0],
        "a",
        &["SETATTR", r#"{"year": 1950}"#],
    );
    vadd(&mut c, "v", &[0.0, 1.0, 0.0], "b", &[]);
    vadd(
        &mut c,
        "v",
        &[-1.0, 0.0, 0.0],
        "c",
        &["SETATTR", r#"{"year": 2000}"#],
    );
    assert_eq!(
        c.cmd(&["VSIM", "missing", "ELE", "a"]),
        Reply::Array(vec![])
    );
    assert_eq!(names(&c.cmd(&["VSIM", "v", "ELE", "a"])), ["a", "b", "c"]);
    let r = c.cmd(&["VSIM", "v", "VALUES", "3", "1", "0", "0", "WITHSCORES"]);
    assert_eq!(
        r,
        Reply::Array(vec![
            bulk("a"),
            bulk("1"),
            bulk("b"),
            bulk("0.5"),
            bulk("c"),
            bulk("0")
        ])
    );
    let r = c.cmd(&["VSIM", "v", "ELE", "a", "WITHATTRIBS", "COUNT", "2"]);
    assert_eq!(
        r,
        Reply::Array(vec![
            bulk("a"),
            bulk(r#"{"year": 1950}"#),
            bulk("b"),
            Reply::Nil
        ])
    );
    assert_eq!(
        names(&c.cmd(&["VSIM", "v", "ELE", "a", "EPSILON", "0.4"])),
        ["a"]
    );
    assert_eq!(
        names(&c.cmd(&["VSIM", "v", "ELE", "a", "TRUTH", "NOTHREAD", "EF", "5"])),
        ["a", "b", "c"]
    );
    let blob: Vec<u8> = [1.0f32, 0.0, 0.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    assert_eq!(
        names(&c.cmd_bin(&[b"VSIM", b"v", b"FP32", &blob, b"COUNT", b"1"])),
        ["a"]
    );
    for (opt, val, msg) in [
        ("COUNT", "0", "ERR invalid COUNT"),
        ("COUNT", "x", "ERR invalid COUNT"),
        ("EF", "0", "ERR invalid EF"),
        ("EPSILON", "-1", "ERR invalid EPSILON"),
        ("FILTER-EF", "0", "ERR invalid FILTER-EF"),
    ] {
        assert_eq!(c.cmd(&["VSIM", "v", "ELE", "a", opt, val]), err(msg));
    }
    assert_eq!(
        c.cmd(&["VSIM", "v", "ELE", "a", "BOGUS"]),
        err("ERR syntax error in VSIM command")
    );
    assert_eq!(
        c.cmd(&["VSIM", "v", "ELE", "zz"]),
        err("ERR element not found in set")
    );
    assert_eq!(
        c.cmd(&["VSIM", "v", "VALUES", "2", "1", "0"]),
        err("ERR Vector dimension mismatch - got 2 but set has 3")
    );
    assert_eq!(
        c.cmd(&["VSIM", "v", "VALUES", "3", "1", "0"]),
        err("ERR invalid vector specification")
    );
    assert_eq!(
        c.cmd(&["VSIM", "v", "ELE", "a", "FILTER", ".year > > 3"]),
        err("ERR syntax error in FILTER expression near: > 3")
    );
    // RESP3 maps.
    c.send(&["HELLO", "3"]);
    c.resp3 = true;
    c.read();
    // (The test decoder keeps RESP3 maps unordered, so look entries up.)
    let r = c.cmd(&["VSIM", "v", "ELE", "a", "WITHSCORES"]);
    assert!(matches!(&r, Reply::Map(m) if m.len() == 3), "{r:?}");
    assert_eq!(r.get("a"), Some(Reply::Double(1.0)));
    assert_eq!(r.get("b"), Some(Reply::Double(0.5)));
    assert_eq!(r.get("c"), Some(Reply::Double(0.0)));
    let r = c.cmd(&[
        "VSIM",
        "v",
        "ELE",
        "a",
        "WITHSCORES",
        "WITHATTRIBS",
        "COUNT",
        "1",
    ]);
    assert_eq!(
        r,
        Reply::Map(vec![(
            bulk("a"),
            Reply::Array(vec![Reply::Double(1.0), bulk(r#"{"year": 1950}"#)])
        )])
    );
    assert_eq!(
        names(&c.cmd(&["VSIM", "v", "ELE", "a", "COUNT", "2"])),
        ["a", "b"],
        "plain list without options"
    );
}

#[test]
fn filter_expressions_over_tcp() {
    let s = Server::start();
    let mut c = s.client();
    for i in 0..1000 {
        let attrs = match i % 4 {
            0 => format!(r#"{{"n": {i}, "kind": "even", "tags": ["x", "y{i}"]}}"#),
            1 => format!(r#"{{"n": {i}, "kind": "odd"}}"#),
            2 => "not json at all".to_string(),
            _ => r#"{"other": true}"#.to_string(),
        };
        let v = [(i as f32).sin(), (i as f32).cos(), 0.5];
        vadd(&mut c, "f", &v, &format!("e{i}"), &["SETATTR", &attrs]);
    }
    let hits = |c: &mut Client, expr: &str| {
        names(&c.cmd(&[
            "VSIM", "f", "VALUES", "3", "1", "0", "0.5", "COUNT", "1000", "FILTER", expr,
        ]))
    };
    let evens = hits(&mut c, ".kind == 'even'");
    assert_eq!(evens.len(), 250);
    assert_eq!(
        hits(&mut c, ".n >= 100 and .n < 200 and .kind == \"odd\"").len(),
        25
    );
    assert_eq!(
        hits(&mut c, ".missing > 0 || .n == 5"),
        ["e5"],
        "missing field is no match, not an error"
    );
    assert_eq!(hits(&mut c, "'y4' in .tags"), ["e4"]);
    assert_eq!(
        hits(&mut c, "(.n % 100) ** 2 == 0 and !(.n > 500)").len(),
        6
    );
    let mut small = hits(&mut c, ".n in [1, 2, 3, 4, 5]");
    small.sort();
    assert_eq!(
        small,
        ["e1", "e4", "e5"],
        "e2 has invalid JSON, e3 has no field n"
    );
    assert!(hits(&mut c, ".other == 1").len() == 250, "booleans are 1/0");
    // A selective filter still returns COUNT results when they exist.
    let r = names(&c.cmd(&[
        "VSIM",
        "f",
        "VALUES",
        "3",
        "1",
        "0",
        "0.5",
        "COUNT",
        "10",
        "FILTER",
        ".n % 100 == 0",
    ]));
    assert_eq!(r.len(), 10);
    // FILTER-EF bounds the effort.
    let r = names(&c.cmd(&[
        "VSIM",
        "f",
        "VALUES",
        "3",
        "1",
        "0",
        "0.5",
        "COUNT",
        "10",
        "FILTER",
        ".n % 100 == 0",
        "FILTER-EF",
        "1",
    ]));
    assert!(r.len() <= 1);
}

#[test]
fn vrem_and_updates_change_results() {
    let s = Server::start();
    let mut c = s.client();
    for i in 0..300 {
        let v = [
            (i as f32 * 0.37).sin(),
            (i as f32 * 0.91).cos(),
            (i as f32 * 0.13).sin(),
        ];
        vadd(&mut c, "r", &v, &format!("e{i}"), &[]);
    }
    for i in (0..300).step_by(3) {
        assert_eq!(c.cmd(&["VREM", "r", &format!("e{i}")]), Reply::Int(1));
    }
    assert_eq!(c.cmd(&["VREM", "r", "e0"]), Reply::Int(0));
    assert_eq!(c.cmd(&["VREM", "nokey", "e0"]), Reply::Int(0));
    assert_eq!(c.cmd(&["VCARD", "r"]), Reply::Int(200));
    for probe in ["e1", "e50", "e299"] {
        let got = names(&c.cmd(&["VSIM", "r", "ELE", probe, "COUNT", "300", "EF", "300"]));
        assert_eq!(got.len(), 200);
        assert!(
            got.iter()
                .all(|n| n[1..].parse::<usize>().unwrap() % 3 != 0),
            "removed elements never return"
        );
    }
    // Update moves the element to its new vector.
    vadd(&mut c, "r", &[0.0, 0.0, -50.0], "e1", &[]);
    assert_eq!(
        names(&c.cmd(&["VSIM", "r", "VALUES", "3", "0", "0", "-1", "COUNT", "1"])),
        ["e1"]
    );
    let emb = c.cmd(&["VEMB", "r", "e1"]).items();
    assert!((emb[2].text().parse::<f64>().unwrap() + 50.0).abs() < 0.5);
    // Removing the last element deletes the key.
    vadd(&mut c, "one", &[1.0, 2.0], "x", &[]);
    assert_eq!(c.cmd(&["VREM", "one", "x"]), Reply::Int(1));
    assert_eq!(c.cmd(&["EXISTS", "one"]), Reply::Int(0));
    assert_eq!(
        vadd(&mut c, "one", &[1.0, 2.0, 3.0], "y", &[]),
        Reply::Int(1),
        "a new set of another dimension"
    );
}

#[test]
fn introspection_commands() {
    let s = Server::start();
    let mut c = s.client();
    vadd(&mut c, "q", &[1.0, 10.32, 0.0, 2.05, -12.5], "e", &[]);
    vadd(
        &mut c,
        "q",
        &[1.0, 1.0, 1.0, 1.0, 1.0],
        "f",
        &["SETATTR", r#"{"a":1}"#],
    );
    let emb = c.cmd(&["VEMB", "q", "e"]).items();
    let expected = [1.0, 10.32, 0.0, 2.05, -12.5];
    for (got, want) in emb.iter().zip(expected) {
        assert!(
            (got.text().parse::<f64>().unwrap() - want).abs() < 0.2,
            "{got:?} vs {want}"
        );
    }
    let raw = c.cmd(&["VEMB", "q", "e", "RAW"]).items();
    assert_eq!(raw.len(), 4);
    assert_eq!(raw[0], simple("int8"));
    assert!(matches!(&raw[1], Reply::Bulk(b) if b.len() == 5));
    assert_eq!(
        c.cmd(&["VEMB", "q", "e", "BOGUS"]),
        err("ERR invalid option")
    );
    assert_eq!(c.cmd(&["VEMB", "q", "nope"]), Reply::Nil);
    assert_eq!(c.cmd(&["VEMB", "nokey", "e"]), Reply::Nil);
    assert_eq!(c.cmd(&["VDIM", "q"]), Reply::Int(5));
    assert_eq!(c.cmd(&["VDIM", "nokey"]), err("ERR key does not exist"));
    assert_eq!(c.cmd(&["VCARD", "nokey"]), Reply::Int(0));
    assert_eq!(c.cmd(&["VISMEMBER", "q", "e"]), Reply::Int(1));
    assert_eq!(c.cmd(&["VISMEMBER", "q", "zz"]), Reply::Int(0));
    assert_eq!(c.cmd(&["VISMEMBER", "nokey", "e"]), Reply::Int(0));
    let info = c.cmd(&["VINFO", "q"]);
    assert_eq!(info.get("quant-type"), Some(simple("int8")));
    assert_eq!(info.get("vector-dim"), Some(Reply::Int(5)));
    assert_eq!(info.get("size"), Some(Reply::Int(2)));
    assert_eq!(info.get("attributes-count"), Some(Reply::Int(1)));
    assert_eq!(info.get("hnsw-max-node-uid"), Some(Reply::Int(2)));
    assert_eq!(info.get("hnsw-m"), Some(Reply::Int(16)));
    c.send(&["VINFO", "nokey"]);
    c.expect_bytes(b"*-1\r\n");
    assert_eq!(c.cmd(&["VGETATTR", "q", "f"]), bulk(r#"{"a":1}"#));
    assert_eq!(c.cmd(&["VGETATTR", "q", "e"]), Reply::Nil);
    assert_eq!(c.cmd(&["VSETATTR", "q", "e", r#"{"b":2}"#]), Reply::Int(1));
    assert_eq!(c.cmd(&["VSETATTR", "q", "e", ""]), Reply::Int(1));
    assert_eq!(c.cmd(&["VGETATTR", "q", "e"]), Reply::Nil);
    assert_eq!(c.cmd(&["VSETATTR", "q", "zz", "{}"]), Reply::Int(0));
    assert_eq!(c.cmd(&["VSETATTR", "nokey", "e", "{}"]), Reply::Int(0));
    let links = c.cmd(&["VLINKS", "q", "e"]).items();
    assert_eq!(links.last().unwrap().items(), vec![bulk("f")]);
    assert_eq!(
        c.cmd(&["VLINKS", "q", "e", "BOGUS"]),
        err("ERR wrong number of arguments for 'vlinks' command")
    );
    assert_eq!(c.cmd(&["VLINKS", "q", "zz"]), Reply::Nil);
    assert!(matches!(c.cmd(&["VRANDMEMBER", "q"]), Reply::Bulk(_)));
    assert_eq!(c.cmd(&["VRANDMEMBER", "q", "5"]).items().len(), 2);
    assert_eq!(c.cmd(&["VRANDMEMBER", "q", "-5"]).items().len(), 5);
    assert_eq!(c.cmd(&["VRANDMEMBER", "q", "0"]), Reply::Array(vec![]));
    assert_eq!(
        c.cmd(&["VRANDMEMBER", "q", "x"]),
        err("ERR COUNT value is not an integer")
    );
    assert_eq!(c.cmd(&["VRANDMEMBER", "nokey"]), Reply::Nil);
    assert_eq!(c.cmd(&["VRANDMEMBER", "nokey", "3"]), Reply::Array(vec![]));
    assert_eq!(names(&c.cmd(&["VRANGE", "q", "-", "+"])), ["e", "f"]);
    assert_eq!(names(&c.cmd(&["VRANGE", "q", "(e", "+"])), ["f"]);
    assert_eq!(names(&c.cmd(&["VRANGE", "q", "-", "+", "1"])), ["e"]);
    assert_eq!(
        c.cmd(&["VRANGE", "q", "x", "+"]),
        err("ERR invalid start range format")
    );
    assert_eq!(
        c.cmd(&["VRANGE", "q", "-", "["]),
        err("ERR invalid end range format")
    );
    assert_eq!(
        c.cmd(&["VRANGE", "q", "+", "-"]),
        err("ERR '-' can only be used as first argument, '+' only as second")
    );
    assert_eq!(
        c.cmd(&["VRANGE", "q", "-", "+", "x"]),
        err("ERR invalid COUNT value")
    );
    assert_eq!(c.cmd(&["VRANGE", "nokey", "-", "+"]), Reply::Array(vec![]));
}

#[test]
fn vector_sets_are_keys() {
    let s = Server::start();
    let mut c = s.client();
    vadd(&mut c, "vs", &[1.0, 2.0], "a", &[]);
    c.cmd(&["SET", "str", "1"]);
    assert_eq!(c.cmd(&["TYPE", "vs"]), simple("vectorset"));
    assert_eq!(c.cmd(&["EXISTS", "vs"]), Reply::Int(1));
    assert_eq!(names(&c.cmd(&["KEYS", "v*"])), ["vs"]);
    let scan = c
        .cmd(&["SCAN", "0", "TYPE", "vectorset", "COUNT", "100"])
        .items();
    assert_eq!(names(&scan[1]), ["vs"]);
    assert_eq!(c.cmd(&["RENAME", "vs", "moved"]), simple("OK"));
    assert_eq!(c.cmd(&["VCARD", "moved"]), Reply::Int(1));
    assert_eq!(c.cmd(&["PEXPIRE", "moved", "100"]), Reply::Int(1));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(c.cmd(&["VCARD", "moved"]), Reply::Int(0), "expired");
    vadd(&mut c, "vs2", &[1.0, 2.0], "a", &[]);
    assert_eq!(c.cmd(&["DEL", "vs2"]), Reply::Int(1));
    assert_eq!(c.cmd(&["VSIM", "vs2", "ELE", "a"]), Reply::Array(vec![]));
    let info = c.cmd(&["INFO", "keyspace"]).text();
    assert!(info.contains("db0:keys=1,"), "{info}");
}

#[test]
fn vsearch_forms() {
    let s = Server::with_args(&["--default-vset", "docs"]);
    let mut c = s.client();
    vadd(
        &mut c,
        "docs",
        &[0.1, 0.2, 0.3],
        "d1",
        &["SETATTR", r#"{"lang":"en"}"#],
    );
    vadd(
        &mut c,
        "docs",
        &[-0.3, 0.2, -0.1],
        "d2",
        &["SETATTR", r#"{"lang":"fr"}"#],
    );
    vadd(&mut c, "docs", &[0.3, 0.2, 0.1], "d3", &[]);
    assert_eq!(
        names(&c.cmd(&["VSEARCH", "[0.1, 0.2, 0.3]", "2"])),
        ["d1", "d3"],
        "seed form uses the default set"
    );
    assert_eq!(
        names(&c.cmd(&["VSEARCH", "docs", "[0.1, 0.2, 0.3]", "1"])),
        ["d1"]
    );
    assert_eq!(
        names(&c.cmd(&["VSEARCH", "docs", "VALUES", "3", "-0.3", "0.2", "-0.1", "1"])),
        ["d2"]
    );
    let blob: Vec<u8> = [0.3f32, 0.2, 0.1]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    assert_eq!(
        names(&c.cmd_bin(&[b"VSEARCH", b"docs", b"FP32", &blob, b"1"])),
        ["d3"]
    );
    let r = c.cmd(&[
        "VSEARCH",
        "docs",
        "[0.1, 0.2, 0.3]",
        "3",
        "FILTER",
        ".lang == 'fr'",
        "WITHSCORES",
    ]);
    assert_eq!(r.items().len(), 2);
    assert_eq!(r.items()[0], bulk("d2"));
    let vsim = c.cmd(&[
        "VSIM",
        "docs",
        "VALUES",
        "3",
        "0.1",
        "0.2",
        "0.3",
        "WITHSCORES",
    ]);
    let vsearch = c.cmd(&["VSEARCH", "[0.1, 0.2, 0.3]", "10", "WITHSCORES"]);
    assert_eq!(vsim, vsearch, "same scores as VSIM");
    assert_eq!(
        c.cmd(&["VSEARCH", "docs", "[0.1, oops]", "1"]),
        err("ERR invalid vector specification")
    );
    assert_eq!(
        c.cmd(&["VSEARCH", "docs", "[0.1, 0.2, 0.3]", "0"]),
        err("ERR K must be a positive integer")
    );
    assert_eq!(
        c.cmd(&["VSEARCH", "docs", "[0.1, 0.2]", "1"]),
        err("ERR Vector dimension mismatch - got 2 but set has 3")
    );
    assert_eq!(
        c.cmd(&["VSEARCH", "nokey", "[1]", "1"]),
        Reply::Array(vec![])
    );
    assert_eq!(
        c.cmd(&["VSEARCH", "docs", "[0.1, 0.2, 0.3]"]),
        err("ERR wrong number of arguments for 'vsearch' command")
    );
}

#[test]
fn metric_extension() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(
        vadd(&mut c, "l2", &[1.0, 1.0], "near", &["METRIC", "L2"]),
        Reply::Int(1)
    );
    vadd(&mut c, "l2", &[10.0, 10.0], "far", &["METRIC", "L2"]);
    vadd(&mut c, "l2", &[3.0, 3.0], "mid", &["METRIC", "l2"]);
    assert_eq!(
        names(&c.cmd(&["VSIM", "l2", "VALUES", "2", "0", "0"])),
        ["near", "mid", "far"]
    );
    let r = c
        .cmd(&[
            "VSIM",
            "l2",
            "VALUES",
            "2",
            "0",
            "0",
            "WITHSCORES",
            "COUNT",
            "1",
        ])
        .items();
    let score: f64 = r[1].text().parse().unwrap();
    assert!(
        (score - 1.0 / (1.0 + 2f64.sqrt())).abs() < 0.02,
        "score 1/(1+d): {score}"
    );
    assert_eq!(c.cmd(&["VINFO", "l2"]).get("metric"), Some(simple("l2")));
    assert_eq!(
        vadd(&mut c, "l2", &[1.0, 2.0], "x", &[]),
        err("ERR asked metric mismatch with existing vector set")
    );
    assert_eq!(
        vadd(&mut c, "l2", &[1.0, 2.0], "x", &["METRIC", "HAMMING"]),
        err("ERR invalid METRIC (COSINE, L2 or IP)")
    );
    assert_eq!(
        vadd(&mut c, "b", &[1.0, 2.0], "x", &["BIN", "METRIC", "IP"]),
        err("ERR BIN quantization works with the COSINE metric only")
    );
    let emb = c.cmd(&["VEMB", "l2", "far"]).items();
    assert!((emb[0].text().parse::<f64>().unwrap() - 10.0).abs() < 0.1);
    vadd(
        &mut c,
        "ip",
        &[1.0, 0.0],
        "small",
        &["METRIC", "IP", "NOQUANT"],
    );
    vadd(
        &mut c,
        "ip",
        &[5.0, 0.0],
        "big",
        &["METRIC", "IP", "NOQUANT"],
    );
    vadd(
        &mut c,
        "ip",
        &[-5.0, 0.0],
        "neg",
        &["METRIC", "IP", "NOQUANT"],
    );
    let r = c.cmd(&["VSIM", "ip", "VALUES", "2", "1", "0", "WITHSCORES"]);
    assert_eq!(
        r,
        Reply::Array(vec![
            bulk("big"),
            bulk("5"),
            bulk("small"),
            bulk("1"),
            bulk("neg"),
            bulk("-5")
        ])
    );
    assert_eq!(
        c.cmd(&["VINFO", "b"]),
        Reply::Nil,
        "refused VADD created nothing"
    );
}

#[test]
fn vaddbatch_inserts_many_at_once() {
    let s = Server::start();
    let mut c = s.client();
    let blob = |v: [f32; 3]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let (a, b) = (blob([1.0, 0.0, 0.0]), blob([0.0, 1.0, 0.0]));
    let r = c.cmd_bin(&[
        b"VADDBATCH",
        b"bb",
        b"FP32",
        b"3",
        b"NOQUANT",
        b"ELEMENTS",
        b"a",
        &a,
        b"b",
        &b,
    ]);
    assert_eq!(r, Reply::Int(2));
    let r = c.cmd(&[
        "VADDBATCH",
        "bb",
        "VALUES",
        "3",
        "NOQUANT",
        "WITHATTRIBS",
        "ELEMENTS",
        "a",
        "1",
        "1",
        "0",
        "{\"k\":1}",
        "c",
        "0",
        "0",
        "1",
        "",
    ]);
    assert_eq!(r, Reply::Int(1), "a updated, c new");
    assert_eq!(c.cmd(&["VCARD", "bb"]), Reply::Int(3));
    assert_eq!(c.cmd(&["VGETATTR", "bb", "a"]), bulk("{\"k\":1}"));
    assert_eq!(
        c.cmd(&["VINFO", "bb"]).get("quant-type"),
        Some(simple("f32"))
    );
    // One bad vector refuses the whole batch.
    let r = c.cmd(&[
        "VADDBATCH",
        "bb",
        "VALUES",
        "3",
        "NOQUANT",
        "ELEMENTS",
        "x",
        "1",
        "2",
        "3",
        "y",
        "1",
        "oops",
        "3",
    ]);
    assert_eq!(r, err("ERR invalid vector specification"));
    assert_eq!(c.cmd(&["VISMEMBER", "bb", "x"]), Reply::Int(0));
    assert_eq!(
        c.cmd(&["VADDBATCH", "bb", "VALUES", "3", "ELEMENTS", "x", "1", "2"]),
        err("ERR wrong number of arguments for 'vaddbatch' command")
    );
    assert_eq!(
        c.cmd(&[
            "VADDBATCH",
            "bb",
            "VALUES",
            "3",
            "NOQUANT",
            "FOO",
            "ELEMENTS",
            "x",
            "1",
            "2",
            "3"
        ]),
        err("ERR syntax error")
    );
    assert_eq!(
        c.cmd(&[
            "VADDBATCH",
            "bb",
            "VALUES",
            "3",
            "ELEMENTS",
            "x",
            "1",
            "2",
            "3"
        ]),
        err("ERR asked quantization mismatch with existing vector set")
    );
    assert_eq!(
        c.cmd(&[
            "VADDBATCH",
            "bb",
            "VALUES",
            "2",
            "NOQUANT",
            "ELEMENTS",
            "x",
            "1",
            "2"
        ]),
        err("ERR Vector dimension mismatch - got 2 but set has 3")
    );
    assert_eq!(
        c.cmd_bin(&[
            b"VADDBATCH",
            b"bb",
            b"FP32",
            b"3",
            b"NOQUANT",
            b"ELEMENTS",
            b"x",
            b"short"
        ]),
        err("ERR invalid vector specification")
    );
    assert_eq!(
        c.cmd(&["VCARD", "bb"]),
        Reply::Int(3),
        "refused batches added nothing"
    );
}

#[test]
fn concurrent_vadd_vrem_and_vsim_on_one_set() {
    let s = Server::start();
    let port = s.port;
    let mut c = s.client();
    for i in 0..200 {
        vadd(
            &mut c,
            "cc",
            &[(i as f32).sin(), (i as f32).cos(), 1.0],
            &format!("base{i}"),
            &[],
        );
    }
    let writer = std::thread::spawn(move || {
        let mut w = Client::connect(port);
        for i in 0..1500 {
            let v = [(i as f32 * 0.7).sin(), (i as f32 * 0.3).cos(), 0.5];
            assert_eq!(vadd(&mut w, "cc", &v, &format!("w{i}"), &[]), Reply::Int(1));
            if i % 3 == 0 {
                assert_eq!(
                    w.cmd(&["VREM", "cc", &format!("w{}", i / 3)]),
                    Reply::Int(1)
                );
            }
        }
    });
    let readers: Vec<_> = (0..4)
        .map(|r| {
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                for q in 0..300 {
                    let x = ((q * 7 + r) as f32).to_string();
                    let got = c
                        .cmd(&[
                            "VSIM",
                            "cc",
                            "VALUES",
                            "3",
                            &x,
                            "1",
                            "0.5",
                            "COUNT",
                            "5",
                            "WITHSCORES",
                        ])
                        .items();
                    assert_eq!(
                        got.len(),
                        10,
                        "five results with scores while the set changes"
                    );
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(c.cmd(&["VCARD", "cc"]), Reply::Int(200 + 1500 - 500));
    let all = names(&c.cmd(&[
        "VSIM", "cc", "VALUES", "3", "0", "1", "0.5", "COUNT", "2000", "EF", "2000",
    ]));
    assert_eq!(all.len(), 1200);
    assert!(
        all.iter()
            .all(|n| !(n.starts_with('w') && n[1..].parse::<usize>().unwrap() < 500))
    );
}

#[test]
fn hostile_vector_arguments_keep_the_server_up() {
    let s = Server::start();
    let mut c = s.client();
    vadd(&mut c, "h", &[1.0, 0.0], "a", &["SETATTR", r#"{"n": 1}"#]);
    let deep = format!("{}.n{}", "(".repeat(200_000), ")".repeat(200_000));
    let Reply::Error(e) = c.cmd(&["VSIM", "h", "ELE", "a", "FILTER", &deep]) else {
        panic!()
    };
    assert!(e.starts_with("ERR syntax error in FILTER expression near: "));
    let long = vec![".n"; 100_000].join(" + ");
    assert!(matches!(
        c.cmd(&["VSIM", "h", "ELE", "a", "FILTER", &long]),
        Reply::Error(_)
    ));
    assert_eq!(
        c.cmd(&["VRANDMEMBER", "h", "-9223372036854775808"]),
        err("ERR value is out of range")
    );
    assert_eq!(c.cmd(&["VRANDMEMBER", "h", "-3"]).items().len(), 3);
    assert_eq!(
        names(&c.cmd(&["VSIM", "h", "ELE", "a", "COUNT", "9223372036854775807"])),
        ["a"]
    );
    assert_eq!(c.cmd(&["PING"]), simple("PONG"));
}

/// A pipeline of VADDs planned ahead (`cmd::vectors::ahead`) answers and
/// stores exactly what the same commands sent one at a time do: updates
/// and duplicates inside a run, another EF, errors, another key, SETATTR,
/// runs longer than one planning batch, SELECT, MULTI; a protocol error
/// after a run still answers the VADDs before it.
#[test]
fn pipelined_vadds_planned_ahead_answer_as_sent_one_by_one() {
    let v = |i: usize| -> Vec<String> {
        let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (0..3)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{:.4}", (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
            })
            .collect()
    };
    let vadd_args = |key: &str, i: usize, name: &str, extra: &[&str]| -> Vec<String> {
        let mut a = vec!["VADD".into(), key.into(), "VALUES".into(), "3".into()];
        a.extend(v(i));
        a.push(name.into());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let words = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let mut cmds: Vec<Vec<String>> = vec![
        vadd_args("p", 100, "n100", &[]),
        vadd_args("p", 101, "n101", &[]),
        vadd_args("p", 102, "n100", &[]), // the same name again: an update
        vadd_args("p", 103, "n103", &["EF", "50"]),
        words(&["VADD", "p", "VALUES", "2", "1", "2", "n104"]),
        vadd_args("p", 105, "n105", &["NOQUANT"]),
        words(&["VADD", "p", "VALUES", "3", "1", "x", "2", "n106"]),
        vadd_args("p", 107, "n107", &["SETATTR", r#"{"a":1}"#]),
        vadd_args("other", 200, "n200", &[]),
    ];
    for i in 108..180 {
        cmds.push(vadd_args("p", i, &format!("n{i}"), &[]));
    }
    cmds.push(vadd_args("p", 300, "n150", &[])); // an update after a long run
    cmds.push(words(&["SELECT", "1"]));
    for i in 300..305 {
        cmds.push(vadd_args("p", i, &format!("n{i}"), &[]));
    }
    cmds.push(words(&["SELECT", "0"]));
    cmds.push(words(&["MULTI"]));
    cmds.push(vadd_args("p", 400, "n400", &[]));
    cmds.push(vadd_args("p", 401, "n401", &[]));
    cmds.push(words(&["EXEC"]));
    cmds.push(words(&["VCARD", "p"]));

    let seed = |c: &mut Client| {
        for i in 0..40 {
            let a = vadd_args("p", i, &format!("n{i}"), &[]);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            assert_eq!(c.cmd(&a), Reply::Int(1));
        }
        let a = vadd_args("p", 1000, "n1000", &[]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        assert_eq!(c.cmd(&["SELECT", "1"]), simple("OK"));
        assert_eq!(c.cmd(&a), Reply::Int(1));
        assert_eq!(c.cmd(&["SELECT", "0"]), simple("OK"));
    };
    let (piped, single) = (Server::start(), Server::start());
    let mut cp = piped.client();
    let mut cs = single.client();
    seed(&mut cp);
    seed(&mut cs);
    let mut batch = Vec::new();
    for a in &cmds {
        let a: Vec<&[u8]> = a.iter().map(|s| s.as_bytes()).collect();
        batch.extend(Client::encode(&a));
    }
    cp.send_raw(&batch);
    let got: Vec<Reply> = cmds.iter().map(|_| cp.read()).collect();
    let want: Vec<Reply> = cmds
        .iter()
        .map(|a| cs.cmd(&a.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got[2], Reply::Int(0), "update inside a run");
    assert!(matches!(&got[4], Reply::Error(e) if e.contains("dimension mismatch")));
    // The stored sets are the same, element by element.
    for db in ["0", "1"] {
        for c in [&mut cp, &mut cs] {
            assert_eq!(c.cmd(&["SELECT", db]), simple("OK"));
        }
        let mut names_p = names(&cp.cmd(&["VRANGE", "p", "-", "+"]));
        let mut names_s = names(&cs.cmd(&["VRANGE", "p", "-", "+"]));
        names_p.sort();
        names_s.sort();
        assert_eq!(names_p, names_s);
        for n in &names_p {
            assert_eq!(cp.cmd(&["VEMB", "p", n]), cs.cmd(&["VEMB", "p", n]), "{n}");
            assert_eq!(cp.cmd(&["VGETATTR", "p", n]), cs.cmd(&["VGETATTR", "p", n]));
        }
    }
    let used = |c: &mut Client| {
        crate::support::info_field(c, "vectorsets", "vadd_planned_ahead")
            .parse::<u64>()
            .unwrap()
    };
    // 72 new elements in runs of up to 32, plus the first run's 3 and
    // db 1's 5: most VADDs took a plan made ahead; one at a time, none.
    let planned = used(&mut cp);
    assert!(planned >= 60, "VADDs planned ahead: {planned}");
    assert_eq!(used(&mut cs), 0);

    // A protocol error after a run: the VADDs before it are answered and
    // kept, then the connection closes.
    let mut c = piped.client();
    let mut raw = Vec::new();
    for i in 500..510 {
        let a = vadd_args("p", i, &format!("n{i}"), &[]);
        let a: Vec<&[u8]> = a.iter().map(|s| s.as_bytes()).collect();
        raw.extend(Client::encode(&a));
    }
    raw.extend_from_slice(b"*1\r\n$x\r\n");
    c.send_raw(&raw);
    for _ in 500..510 {
        assert_eq!(c.read(), Reply::Int(1));
    }
    assert!(matches!(c.read(), Reply::Error(e) if e.starts_with("ERR Protocol error")));
    assert!(c.is_closed());
    let mut c = piped.client();
    assert_eq!(c.cmd(&["VISMEMBER", "p", "n509"]), Reply::Int(1));
}
