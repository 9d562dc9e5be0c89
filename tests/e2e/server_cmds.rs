//! Server and introspection commands over TCP: INFO, CONFIG GET, COMMAND,
//! DBSIZE, FLUSHDB, FLUSHALL, TIME.

use crate::support::{Reply, Server, bulk, err, simple};

#[test]
fn info_sections() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "a", "1", "EX", "100"]);
    c.cmd(&["SET", "b", "1"]);
    c.cmd(&["GET", "a"]);
    c.cmd(&["GET", "nope"]);
    let all = c.cmd(&["INFO"]).text();
    for needle in [
        "# Server\r\n",
        "redis_version:8.4.0\r\n",
        "redis_mode:standalone\r\n",
        "arch_bits:64\r\n",
        &format!("tcp_port:{}\r\n", s.port),
        "# Clients\r\nconnected_clients:1\r\n",
        "# Memory\r\n",
        "# Persistence\r\n",
        "# Stats\r\n",
        "keyspace_hits:1\r\n",
        "keyspace_misses:1\r\n",
        "cluster_enabled:0\r\n",
        "db0:keys=2,expires=1,",
    ] {
        assert!(all.contains(needle), "{needle:?} missing from INFO");
    }
    let ks = c.cmd(&["INFO", "keyspace"]).text();
    assert!(
        ks.starts_with("# Keyspace\r\n") && !ks.contains("# Server"),
        "{ks}"
    );
    let two = c.cmd(&["INFO", "server", "CLIENTS"]).text();
    assert!(two.contains("# Server") && two.contains("# Clients") && !two.contains("# Memory"));
    assert_eq!(c.cmd(&["INFO", "nosuchsection"]), bulk(""));
    // RESP3: a verbatim string.
    c.send(&["HELLO", "3"]);
    c.resp3 = true;
    c.read();
    assert!(
        matches!(c.cmd(&["INFO", "server"]), Reply::Verbatim(t) if t.contains("redis_version"))
    );
}

#[test]
fn config_get() {
    let s = Server::with_args(&["--maxclients", "77"]);
    let mut c = s.client();
    let r = c.cmd(&["CONFIG", "GET", "maxclients"]);
    assert_eq!(r, Reply::Array(vec![bulk("maxclients"), bulk("77")]));
    let r = c.cmd(&["CONFIG", "GET", "port", "bind", "dir", "appendfsync"]);
    assert_eq!(r.get("port"), Some(bulk(&s.port.to_string())));
    assert_eq!(r.get("bind"), Some(bulk("127.0.0.1")));
    assert_eq!(
        r.get("dir"),
        Some(bulk(&s.dir.path().display().to_string()))
    );
    assert_eq!(r.get("appendfsync"), Some(bulk("always")));
    let r = c.cmd(&["CONFIG", "GET", "*"]);
    for name in [
        "requirepass",
        "storage",
        "s3-endpoint",
        "s3-region",
        "metrics-addr",
        "tls-port",
        "proto-max-bulk-len",
    ] {
        assert!(r.get(name).is_some(), "{name}");
    }
    assert_eq!(c.cmd(&["CONFIG", "GET", "nosuch"]), Reply::Array(vec![]));
    assert_eq!(
        c.cmd(&["CONFIG", "GET"]),
        err("ERR wrong number of arguments for 'config|get' command")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", "1"]),
        err(
            "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
        )
    );
    c.send(&["HELLO", "3"]);
    c.resp3 = true;
    c.read();
    assert!(matches!(c.cmd(&["CONFIG", "GET", "maxclients"]), Reply::Map(m) if m.len() == 1));
}

#[test]
fn command_introspection() {
    let s = Server::start();
    let mut c = s.client();
    let Reply::Int(n) = c.cmd(&["COMMAND", "COUNT"]) else {
        panic!()
    };
    let all = c.cmd(&["COMMAND"]).items();
    assert_eq!(all.len() as i64, n);
    assert!(n >= 50);
    let info = c
        .cmd(&["COMMAND", "INFO", "get", "nosuch", "client|setname"])
        .items();
    let get = info[0].items();
    assert_eq!(get[0], bulk("get"));
    assert_eq!(get[1], Reply::Int(2));
    assert_eq!(get[2].items(), vec![simple("readonly"), simple("fast")]);
    assert_eq!(
        (get[3].clone(), get[4].clone(), get[5].clone()),
        (Reply::Int(1), Reply::Int(1), Reply::Int(1))
    );
    assert!(get[6].items().contains(&simple("@read")));
    assert_eq!(info[1], Reply::Nil);
    assert_eq!(info[2].items()[1], Reply::Int(3));
    let mset = c.cmd(&["COMMAND", "INFO", "MSET"]).items()[0].items();
    assert_eq!(
        (mset[3].clone(), mset[4].clone(), mset[5].clone()),
        (Reply::Int(1), Reply::Int(-1), Reply::Int(2))
    );
    // DOCS: argument trees that redis-cli turns into hints.
    let docs = c.cmd(&["COMMAND", "DOCS", "set", "nosuch"]);
    let set = docs.get("set").expect("set documented");
    assert_eq!(set.get("group"), Some(bulk("string")));
    let args = set.get("arguments").unwrap().items();
    assert_eq!(args[0].get("name"), Some(bulk("key")));
    assert_eq!(args[0].get("type"), Some(bulk("key")));
    let cond = &args[2];
    assert_eq!(cond.get("type"), Some(bulk("oneof")));
    assert_eq!(
        cond.get("flags"),
        Some(Reply::Array(vec![simple("optional")]))
    );
    assert_eq!(
        cond.get("arguments").unwrap().items()[0].get("token"),
        Some(bulk("NX"))
    );
    let client = c.cmd(&["COMMAND", "DOCS", "client"]);
    let subs = client.get("client").unwrap().get("subcommands").unwrap();
    assert!(subs.get("client|setinfo").is_some());
    let Reply::Array(names) = c.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "client*"]) else {
        panic!()
    };
    assert!(names.contains(&bulk("client|list")) && names.contains(&bulk("client")));
    let Reply::Array(strs) = c.cmd(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "string"]) else {
        panic!()
    };
    assert!(strs.contains(&bulk("incrbyfloat")) && !strs.contains(&bulk("del")));
}

#[test]
fn dbsize_flush_time() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["MSET", "a", "1", "b", "2"]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["SET", "c", "3"]);
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(1));
    assert_eq!(c.cmd(&["FLUSHDB", "BOGUS"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["FLUSHDB", "ASYNC"]), simple("OK"));
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(0));
    c.cmd(&["SELECT", "0"]);
    assert_eq!(
        c.cmd(&["DBSIZE"]),
        Reply::Int(2),
        "FLUSHDB only empties the selected db"
    );
    assert_eq!(c.cmd(&["FLUSHALL", "SYNC"]), simple("OK"));
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(0));
    let t = c.cmd(&["TIME"]).items();
    let secs: u64 = t[0].text().parse().unwrap();
    let micros: u64 = t[1].text().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 2 && micros < 1_000_000);
}
