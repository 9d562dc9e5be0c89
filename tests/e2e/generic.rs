//! Generic commands over TCP: CONFIG SET/RESETSTAT/REWRITE, DUMP/RESTORE
//! (across a restart), COPY, OBJECT, LCS, COMMAND GETKEYS, DEBUG, MEMORY,
//! LATENCY — replies and every error text.

use super::support::{Client, Reply, Server, bulk, err, info_field, simple};

fn get(c: &mut Client, name: &str) -> String {
    c.cmd(&["CONFIG", "GET", name]).get(name).unwrap().text()
}

fn failed(name: &str, why: &str) -> Reply {
    err(&format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
    ))
}

#[test]
fn config_set_changes_settings_all_or_nothing() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxclients", "50"]), simple("OK"));
    assert_eq!(get(&mut c, "maxclients"), "50");
    assert_eq!(info_field(&mut c, "clients", "maxclients"), "50");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", "1"]),
        failed("port", "can't set immutable config")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "nosuch", "1"]),
        err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxclients", "10", "MAXCLIENTS", "20"]),
        failed("maxclients", "duplicate parameter")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxclients", "10", "timeout"]),
        err("ERR wrong number of arguments for 'config|set' command")
    );
    let bad = c.cmd(&["CONFIG", "SET", "timeout", "5", "maxclients", "abc"]);
    assert!(
        bad.text()
            .starts_with("ERR CONFIG SET failed (possibly related to argument 'maxclients') - "),
        "{bad:?}"
    );
    assert_eq!(
        get(&mut c, "timeout"),
        "0",
        "nothing of a failed SET applies"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ex$g"]),
        simple("OK")
    );
    assert_eq!(get(&mut c, "notify-keyspace-events"), "g$xE");
    assert!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Z"])
            .text()
            .contains("Invalid event class")
    );
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "maxmemory-policy",
            "allkeys-lfu",
            "maxmemory",
            "1gb"
        ]),
        simple("OK")
    );
    assert_eq!(get(&mut c, "maxmemory"), (1u64 << 30).to_string());
    assert_eq!(
        info_field(&mut c, "memory", "maxmemory_policy"),
        "allkeys-lfu"
    );
    assert!(
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "lru"])
            .text()
            .contains("maxmemory-policy")
    );
    // appendfsync changes at run time and writes still work either way.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "appendfsync", "everysec"]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["SET", "k", "v"]), simple("OK"));
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "appendfsync", "always"]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["SET", "k", "w"]), simple("OK"));
    // requirepass: new connections must authenticate; "" turns it off.
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", "pw"]), simple("OK"));
    let mut other = s.client();
    assert_eq!(
        other.cmd(&["GET", "k"]),
        err("NOAUTH Authentication required.")
    );
    assert_eq!(other.cmd(&["AUTH", "pw"]), simple("OK"));
    assert_eq!(other.cmd(&["GET", "k"]), bulk("w"));
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", ""]), simple("OK"));
    assert_eq!(s.client().cmd(&["GET", "k"]), bulk("w"));
    // RESETSTAT zeroes the counters INFO shows.
    c.cmd(&["GET", "k"]);
    c.cmd(&["GET", "nope"]);
    assert_ne!(info_field(&mut c, "stats", "keyspace_hits"), "0");
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), simple("OK"));
    assert_eq!(info_field(&mut c, "stats", "keyspace_hits"), "0");
    assert_eq!(info_field(&mut c, "stats", "keyspace_misses"), "0");
    assert_eq!(
        c.cmd(&["CONFIG", "REWRITE"]),
        err("ERR The server is running without a config file")
    );
}

#[test]
fn config_rewrite_updates_the_file_in_place() {
    let mut s = Server::with_config_file("# my settings\nmaxclients 100\n\n# the end\n", &[]);
    let mut c = s.client();
    assert_eq!(get(&mut c, "maxclients"), "100");
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "maxclients",
            "77",
            "notify-keyspace-events",
            "KA"
        ]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), simple("OK"));
    let text = std::fs::read_to_string(s.conf().unwrap()).unwrap();
    assert!(
        text.starts_with("# my settings\nmaxclients 77\n\n# the end\n"),
        "{text}"
    );
    assert!(text.contains("notify-keyspace-events AK\n"), "{text}");
    s.stop();
    s.restart();
    let mut c = s.client();
    assert_eq!(get(&mut c, "maxclients"), "77");
    assert_eq!(get(&mut c, "notify-keyspace-events"), "AK");
}

#[test]
fn dump_restore_round_trip_across_restart() {
    let mut s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "k", "hello world"]);
    let payload = match c.cmd(&["DUMP", "k"]) {
        Reply::Bulk(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.cmd(&["DUMP", "missing"]), Reply::Nil);
    let restore = |c: &mut Client, extra: &[&[u8]]| {
        let mut args: Vec<&[u8]> = vec![b"RESTORE", b"k2", b"0", &payload];
        args.extend_from_slice(extra);
        c.cmd_bin(&args)
    };
    assert_eq!(restore(&mut c, &[]), simple("OK"));
    assert_eq!(c.cmd(&["GET", "k2"]), bulk("hello world"));
    assert_eq!(c.cmd(&["TTL", "k2"]), Reply::Int(-1));
    assert_eq!(
        restore(&mut c, &[]),
        err("BUSYKEY Target key name already exists.")
    );
    assert_eq!(
        restore(&mut c, &[b"REPLACE", b"IDLETIME", b"1000"]),
        simple("OK")
    );
    let idle = match c.cmd(&["OBJECT", "IDLETIME", "k2"]) {
        Reply::Int(n) => n,
        other => panic!("{other:?}"),
    };
    assert!(idle >= 1000, "{idle}");
    // Corrupt payloads and bad options change nothing.
    for i in [0, payload.len() / 2, payload.len() - 1] {
        let mut bad = payload.clone();
        bad[i] ^= 1;
        assert_eq!(
            c.cmd_bin(&[b"RESTORE", b"k3", b"0", &bad]),
            err("ERR DUMP payload version or checksum are wrong")
        );
    }
    assert_eq!(
        c.cmd_bin(&[b"RESTORE", b"k3", b"-1", &payload]),
        err("ERR Invalid TTL value, must be >= 0")
    );
    assert_eq!(
        c.cmd_bin(&[b"RESTORE", b"k3", b"0", &payload, b"FREQ", b"300"]),
        err("ERR Invalid FREQ value, must be >= 0 and <= 255")
    );
    assert_eq!(
        c.cmd_bin(&[b"RESTORE", b"k3", b"0", &payload, b"BOGUS"]),
        err("ERR syntax error")
    );
    assert_eq!(c.cmd(&["EXISTS", "k3"]), Reply::Int(0));
    // A TTL, and an absolute TTL already past (nothing stored).
    assert_eq!(
        c.cmd_bin(&[b"RESTORE", b"t", b"100000", &payload]),
        simple("OK")
    );
    let pttl = match c.cmd(&["PTTL", "t"]) {
        Reply::Int(n) => n,
        other => panic!("{other:?}"),
    };
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
    assert_eq!(
        c.cmd_bin(&[b"RESTORE", b"gone", b"1000", &payload, b"ABSTTL"]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["EXISTS", "gone"]), Reply::Int(0));
    // A vector set dumps whole and restores as a new set.
    c.cmd(&["VADD", "vs", "VALUES", "2", "1", "2", "e"]);
    let vpayload = match c.cmd(&["DUMP", "vs"]) {
        Reply::Bulk(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        c.cmd_bin(&[b"RESTORE", b"vs2", b"0", &vpayload]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["VCARD", "vs2"]), Reply::Int(1));
    // Restored keys are durable: kill -9 and restart.
    s.kill9();
    s.restart();
    let mut c = s.client();
    assert_eq!(c.cmd(&["GET", "k2"]), bulk("hello world"));
    assert_eq!(c.cmd(&["GET", "t"]), bulk("hello world"));
    assert_eq!(c.cmd(&["VCARD", "vs2"]), Reply::Int(1));
    assert_eq!(c.cmd(&["VEMB", "vs2", "e"]), c.cmd(&["VEMB", "vs", "e"]));
    assert_eq!(
        c.cmd_bin(&[b"RESTORE", b"k4", b"0", &payload]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["GET", "k4"]), bulk("hello world"));
}

#[test]
fn copy_object_lcs_and_getkeys() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "src", "12345"]);
    c.cmd(&["PEXPIRE", "src", "100000"]);
    assert_eq!(c.cmd(&["COPY", "src", "dst"]), Reply::Int(1));
    assert_eq!(c.cmd(&["GET", "dst"]), bulk("12345"));
    assert!(matches!(c.cmd(&["PTTL", "dst"]), Reply::Int(n) if n > 0));
    assert_eq!(c.cmd(&["COPY", "src", "dst"]), Reply::Int(0));
    c.cmd(&["SET", "src", "new"]);
    assert_eq!(c.cmd(&["COPY", "src", "dst", "REPLACE"]), Reply::Int(1));
    assert_eq!(c.cmd(&["GET", "dst"]), bulk("new"));
    assert_eq!(c.cmd(&["COPY", "missing", "x"]), Reply::Int(0));
    assert_eq!(c.cmd(&["COPY", "src", "dst", "DB", "3"]), Reply::Int(1));
    c.cmd(&["SELECT", "3"]);
    assert_eq!(c.cmd(&["GET", "dst"]), bulk("new"));
    c.cmd(&["SELECT", "0"]);
    assert_eq!(
        c.cmd(&["COPY", "src", "src"]),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(
        c.cmd(&["COPY", "src", "x", "DB", "99"]),
        err("ERR DB index is out of range")
    );
    assert_eq!(
        c.cmd(&["COPY", "src", "x", "NOPE"]),
        err("ERR syntax error")
    );
    c.cmd(&["VADD", "vs", "VALUES", "2", "1", "2", "e"]);
    assert_eq!(
        c.cmd(&["COPY", "vs", "vs2"]),
        err("ERR Copying module type object is not supported")
    );
    // OBJECT.
    c.cmd(&["SET", "i", "12345"]);
    c.cmd(&["SET", "e", "short"]);
    c.cmd(&["SET", "r", &"x".repeat(100)]);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "i"]), bulk("int"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "e"]), bulk("embstr"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "r"]), bulk("raw"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "nope"]), Reply::Nil);
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "i"]), Reply::Int(1));
    assert!(matches!(
        c.cmd(&["OBJECT", "IDLETIME", "i"]),
        Reply::Int(0..=2)
    ));
    assert!(
        c.cmd(&["OBJECT", "FREQ", "i"])
            .text()
            .starts_with("ERR An LFU maxmemory policy is not selected")
    );
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "i"]), Reply::Int(5));
    assert!(
        c.cmd(&["OBJECT", "IDLETIME", "i"])
            .text()
            .starts_with("ERR An LFU maxmemory policy is selected")
    );
    assert_eq!(
        c.cmd(&["OBJECT", "NOPE", "i"]),
        err("ERR unknown subcommand 'NOPE'. Try OBJECT HELP.")
    );
    // LCS, Redis's documented example.
    c.cmd(&["MSET", "key1", "ohmytext", "key2", "mynewtext"]);
    assert_eq!(c.cmd(&["LCS", "key1", "key2"]), bulk("mytext"));
    assert_eq!(c.cmd(&["LCS", "key1", "key2", "LEN"]), Reply::Int(6));
    let idx = c.cmd(&[
        "LCS",
        "key1",
        "key2",
        "IDX",
        "MINMATCHLEN",
        "4",
        "WITHMATCHLEN",
    ]);
    assert_eq!(idx.get("len"), Some(Reply::Int(6)));
    let pair = |a: i64, b: i64| Reply::Array(vec![Reply::Int(a), Reply::Int(b)]);
    assert_eq!(
        idx.get("matches"),
        Some(Reply::Array(vec![Reply::Array(vec![
            pair(4, 7),
            pair(5, 8),
            Reply::Int(4)
        ])]))
    );
    assert_eq!(
        c.cmd(&["LCS", "key1", "key2", "LEN", "IDX"]),
        err("ERR If you want both the length and indexes, please just use IDX.")
    );
    assert_eq!(
        c.cmd(&["LCS", "key1", "vs"]),
        err("ERR The specified keys must contain string values")
    );
    assert_eq!(c.cmd(&["LCS", "nokey", "key2"]), bulk(""));
    // COMMAND GETKEYS.
    let keys = |r: Reply| r.items().iter().map(|k| k.text()).collect::<Vec<_>>();
    assert_eq!(
        keys(c.cmd(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"])),
        ["a", "b"]
    );
    assert_eq!(
        keys(c.cmd(&[
            "COMMAND", "GETKEYS", "EVAL", "return 1", "2", "x", "y", "arg"
        ])),
        ["x", "y"]
    );
    assert_eq!(
        keys(c.cmd(&["COMMAND", "GETKEYS", "OBJECT", "ENCODING", "k"])),
        ["k"]
    );
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "PING"]),
        err("ERR The command has no key arguments")
    );
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "NOPE", "x"]),
        err("ERR Invalid command specified")
    );
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "GET"]),
        err("ERR Invalid number of arguments specified for command")
    );
}

#[test]
fn debug_memory_and_latency() {
    let mut s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["VADD", "vs", "VALUES", "2", "1", "2", "e1"]);
    c.cmd(&["VADD", "vs", "VALUES", "2", "3", "4", "e2"]);
    let digest = c.cmd(&["DEBUG", "DIGEST"]).text();
    assert_eq!(digest.len(), 40);
    assert_ne!(digest, "0".repeat(40));
    let values = c.cmd(&["DEBUG", "DIGEST-VALUE", "a", "missing"]).items();
    assert_eq!(values[1], simple(&"0".repeat(40)));
    // RELOAD: commit, rebuild memory from the lake; same data after.
    assert_eq!(c.cmd(&["DEBUG", "RELOAD"]), simple("OK"));
    assert_eq!(c.cmd(&["DEBUG", "DIGEST"]).text(), digest);
    assert_eq!(c.cmd(&["GET", "a"]), bulk("1"));
    assert_eq!(c.cmd(&["VCARD", "vs"]), Reply::Int(2));
    assert_eq!(c.cmd(&["SET", "b", "2"]), simple("OK"));
    s.kill9();
    s.restart();
    let mut c = s.client();
    assert_eq!(c.cmd(&["GET", "b"]), bulk("2"));
    assert_eq!(c.cmd(&["VCARD", "vs"]), Reply::Int(2));
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0"]), simple("OK"));
    assert_eq!(
        c.cmd(&["DEBUG", "JMAP"]),
        err("ERR DEBUG JMAP is not supported: VexLake has no JVM")
    );
    assert!(
        c.cmd(&["DEBUG", "OBJECT", "a"])
            .text()
            .contains("encoding:int")
    );
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), simple("OK"));
    c.cmd(&["SET", "t", "v", "PX", "30"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(
        info_field(&mut c, "stats", "expired_keys"),
        "0",
        "active expiry is off"
    );
    assert_eq!(
        c.cmd(&["EXISTS", "t"]),
        Reply::Int(0),
        "lazy expiry still works"
    );
    c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    assert!(c.cmd(&["DEBUG", "NOPE"]).text().contains("Try DEBUG HELP"));
    // MEMORY STATS has Redis's fields; LATENCY has no events.
    let stats = c.cmd(&["MEMORY", "STATS"]);
    for f in [
        "peak.allocated",
        "total.allocated",
        "keys.count",
        "dataset.bytes",
    ] {
        assert!(stats.get(f).is_some(), "{f} in {stats:?}");
    }
    assert_eq!(stats.get("keys.count"), Some(Reply::Int(3)));
    assert!(stats.get("db.0").is_some());
    let used: u64 = info_field(&mut c, "memory", "used_memory").parse().unwrap();
    assert!(used > 1 << 20, "heap accounting counts the process: {used}");
    assert_eq!(c.cmd(&["LATENCY", "LATEST"]), Reply::Array(vec![]));
    assert_eq!(c.cmd(&["LATENCY", "RESET"]), Reply::Int(0));
    assert_eq!(
        c.cmd(&["LATENCY", "GRAPH", "command"]),
        err("ERR No samples available for event 'command'")
    );
}

#[test]
fn debug_is_refused_when_disabled() {
    let s = Server::with_args(&["--enable-debug-command", "no"]);
    let mut c = s.client();
    assert!(
        c.cmd(&["DEBUG", "SLEEP", "0"])
            .text()
            .starts_with("ERR DEBUG command not allowed.")
    );
}
