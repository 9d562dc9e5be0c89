//! String commands over TCP: options, replies in both protocols, error texts,
//! and that a refused command changes nothing.

use std::time::Duration;

use crate::support::{Reply, Server, bulk, err, simple};

const SYNTAX: &str = "ERR syntax error";
const NOT_INT: &str = "ERR value is not an integer or out of range";

#[test]
fn set_options() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["SET", "k", "v1"]), simple("OK"));
    assert_eq!(c.cmd(&["SET", "k", "v2", "NX"]), Reply::Nil);
    assert_eq!(c.cmd(&["SET", "new", "v", "XX"]), Reply::Nil);
    assert_eq!(c.cmd(&["GET", "new"]), Reply::Nil);
    assert_eq!(c.cmd(&["SET", "k", "v3", "XX", "GET"]), bulk("v1"));
    assert_eq!(c.cmd(&["SET", "fresh", "v", "NX", "GET"]), Reply::Nil);
    assert_eq!(c.cmd(&["GET", "fresh"]), bulk("v"));
    assert_eq!(c.cmd(&["SET", "k", "v4", "EX", "100"]), simple("OK"));
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(100));
    assert_eq!(c.cmd(&["SET", "k", "v5", "KEEPTTL"]), simple("OK"));
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(100));
    assert_eq!(c.cmd(&["SET", "k", "v6", "px", "5000"]), simple("OK"));
    let Reply::Int(pttl) = c.cmd(&["PTTL", "k"]) else {
        panic!()
    };
    assert!(pttl > 4000 && pttl <= 5000);
    let Reply::Array(t) = c.cmd(&["TIME"]) else {
        panic!()
    };
    let now: i64 = t[0].text().parse().unwrap();
    assert_eq!(
        c.cmd(&["SET", "k", "v7", "EXAT", &(now + 50).to_string()]),
        simple("OK")
    );
    let Reply::Int(ttl) = c.cmd(&["TTL", "k"]) else {
        panic!()
    };
    assert!((48..=51).contains(&ttl), "{ttl}");
    assert_eq!(
        c.cmd(&["SET", "k", "v8", "PXAT", &((now + 60) * 1000).to_string()]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["SET", "k", "v9"]), simple("OK"));
    assert_eq!(
        c.cmd(&["TTL", "k"]),
        Reply::Int(-1),
        "plain SET clears the TTL"
    );
    assert_eq!(c.cmd(&["SET", "gone", "x", "PXAT", "1"]), simple("OK"));
    assert_eq!(c.cmd(&["GET", "gone"]), Reply::Nil, "deadline in the past");
}

#[test]
fn set_errors_change_nothing() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "k", "orig"]);
    for args in [
        vec!["SET", "k", "x", "NX", "XX"],
        vec!["SET", "k", "x", "EX", "10", "PX", "100"],
        vec!["SET", "k", "x", "EX", "10", "KEEPTTL"],
        vec!["SET", "k", "x", "EX"],
        vec!["SET", "k", "x", "BOGUS"],
    ] {
        assert_eq!(c.cmd(&args), err(SYNTAX), "{args:?}");
    }
    assert_eq!(c.cmd(&["SET", "k", "x", "EX", "abc"]), err(NOT_INT));
    for bad in ["0", "-5"] {
        assert_eq!(
            c.cmd(&["SET", "k", "x", "EX", bad]),
            err("ERR invalid expire time in 'set' command")
        );
    }
    assert_eq!(
        c.cmd(&["SET", "k", "x", "EX", "9223372036854775807"]),
        err("ERR invalid expire time in 'set' command")
    );
    assert_eq!(
        c.cmd(&["SETEX", "k", "0", "x"]),
        err("ERR invalid expire time in 'setex' command")
    );
    assert_eq!(
        c.cmd(&["PSETEX", "k", "-1", "x"]),
        err("ERR invalid expire time in 'psetex' command")
    );
    assert_eq!(
        c.cmd(&["GETEX", "k", "EX", "0"]),
        err("ERR invalid expire time in 'getex' command")
    );
    assert_eq!(c.cmd(&["GETEX", "k", "PERSIST", "EX", "1"]), err(SYNTAX));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("orig"));
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(-1));
}

#[test]
fn getex_getdel_setex_setnx() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["GETEX", "k"]), bulk("v"));
    assert_eq!(c.cmd(&["GETEX", "k", "EX", "100"]), bulk("v"));
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(100));
    assert_eq!(c.cmd(&["GETEX", "k", "PERSIST"]), bulk("v"));
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(-1));
    assert_eq!(c.cmd(&["GETEX", "nokey", "EX", "5"]), Reply::Nil);
    assert_eq!(c.cmd(&["GETDEL", "k"]), bulk("v"));
    assert_eq!(c.cmd(&["EXISTS", "k"]), Reply::Int(0));
    assert_eq!(c.cmd(&["SETEX", "s", "10", "val"]), simple("OK"));
    assert_eq!(c.cmd(&["TTL", "s"]), Reply::Int(10));
    assert_eq!(c.cmd(&["PSETEX", "p", "10000", "val"]), simple("OK"));
    assert_eq!(c.cmd(&["TTL", "p"]), Reply::Int(10));
    assert_eq!(c.cmd(&["SETNX", "s", "other"]), Reply::Int(0));
    assert_eq!(c.cmd(&["SETNX", "n", "first"]), Reply::Int(1));
    assert_eq!(c.cmd(&["GET", "n"]), bulk("first"));
}

#[test]
fn multi_key() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["MSET", "a", "1", "b", "2"]), simple("OK"));
    assert_eq!(
        c.cmd(&["MGET", "a", "nope", "b"]),
        Reply::Array(vec![bulk("1"), Reply::Nil, bulk("2")])
    );
    assert_eq!(
        c.cmd(&["MSET", "a", "1", "b"]),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(c.cmd(&["MSETNX", "c", "3", "a", "x"]), Reply::Int(0));
    assert_eq!(c.cmd(&["GET", "c"]), Reply::Nil, "MSETNX is all or nothing");
    assert_eq!(c.cmd(&["MSETNX", "c", "3", "d", "4"]), Reply::Int(1));
    assert_eq!(
        c.cmd(&["MSETNX", "c"]),
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    assert_eq!(
        c.cmd(&["MGET", "c", "d"]),
        Reply::Array(vec![bulk("3"), bulk("4")])
    );
}

#[test]
fn counters() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["INCR", "n"]), Reply::Int(1));
    assert_eq!(c.cmd(&["INCRBY", "n", "10"]), Reply::Int(11));
    assert_eq!(c.cmd(&["DECR", "n"]), Reply::Int(10));
    assert_eq!(c.cmd(&["DECRBY", "n", "20"]), Reply::Int(-10));
    assert_eq!(c.cmd(&["INCRBY", "n", "x"]), err(NOT_INT));
    assert_eq!(c.cmd(&["INCRBY", "n", "1.5"]), err(NOT_INT));
    c.cmd(&["SET", "max", "9223372036854775807"]);
    assert_eq!(
        c.cmd(&["INCR", "max"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(c.cmd(&["GET", "max"]), bulk("9223372036854775807"));
    assert_eq!(
        c.cmd(&["DECRBY", "n", "-9223372036854775808"]),
        err("ERR decrement would overflow")
    );
    c.cmd(&["SET", "s", "hello"]);
    assert_eq!(c.cmd(&["INCR", "s"]), err(NOT_INT));
    assert_eq!(c.cmd(&["GET", "s"]), bulk("hello"));
    c.cmd(&["SET", "f", "10.50"]);
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "-5"]), bulk("5.6"));
    c.cmd(&["SET", "f", "5.0e3"]);
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "2.0e2"]), bulk("5200"));
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "f", "abc"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "f", "inf"]),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "s", "1"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(c.cmd(&["GET", "f"]), bulk("5200"));
}

#[test]
fn append_strlen_ranges() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["APPEND", "k", "Hello"]), Reply::Int(5));
    assert_eq!(c.cmd(&["APPEND", "k", " World"]), Reply::Int(11));
    assert_eq!(c.cmd(&["STRLEN", "k"]), Reply::Int(11));
    assert_eq!(c.cmd(&["STRLEN", "nokey"]), Reply::Int(0));
    assert_eq!(c.cmd(&["GETRANGE", "k", "0", "4"]), bulk("Hello"));
    assert_eq!(c.cmd(&["GETRANGE", "k", "-5", "-1"]), bulk("World"));
    // Redis clamps an out-of-range negative end to 0 (a change to this was reverted upstream).
    assert_eq!(c.cmd(&["GETRANGE", "k", "0", "-100"]), bulk("H"));
    assert_eq!(c.cmd(&["GETRANGE", "k", "-1", "-100"]), bulk(""));
    assert_eq!(c.cmd(&["GETRANGE", "k", "x", "1"]), err(NOT_INT));
    assert_eq!(c.cmd(&["SETRANGE", "k", "6", "Redis"]), Reply::Int(11));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("Hello Redis"));
    assert_eq!(c.cmd(&["SETRANGE", "pad", "2", "x"]), Reply::Int(3));
    assert_eq!(c.cmd(&["GET", "pad"]), Reply::Bulk(b"\0\0x".to_vec()));
    assert_eq!(
        c.cmd(&["SETRANGE", "k", "-1", "x"]),
        err("ERR offset is out of range")
    );
    assert_eq!(
        c.cmd(&["SETRANGE", "k", "536870911", "xx"]),
        err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    );
    assert_eq!(c.cmd(&["GET", "k"]), bulk("Hello Redis"));
}

#[test]
fn binary_safe_and_large_values() {
    let s = Server::start();
    let mut c = s.client();
    let bin: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    assert_eq!(c.cmd_bin(&[b"SET", b"\x00k\r\n", &bin]), simple("OK"));
    assert_eq!(c.cmd_bin(&[b"GET", b"\x00k\r\n"]), Reply::Bulk(bin));
    let big = vec![b'z'; 8 * 1024 * 1024];
    assert_eq!(c.cmd_bin(&[b"SET", b"big", &big]), simple("OK"));
    assert_eq!(c.cmd(&["STRLEN", "big"]), Reply::Int(big.len() as i64));
    assert_eq!(c.cmd_bin(&[b"GET", b"big"]), Reply::Bulk(big));
}

#[test]
fn expiry_is_enforced_in_real_time() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "long", "v", "EX", "100"]);
    for i in 0..200 {
        c.cmd(&["SET", &format!("bulk{i}"), "v", "PX", "100"]);
    }
    // Set last, so the time the 200 fsynced SETs take (long on a loaded
    // machine) does not count against its TTL.
    c.cmd(&["SET", "short", "v", "PX", "300"]);
    assert_eq!(c.cmd(&["GET", "short"]), bulk("v"));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(c.cmd(&["GET", "short"]), Reply::Nil, "lazy expiry");
    // The 200 keys were never read again: the background sweep removed them.
    assert_eq!(
        c.cmd(&["DBSIZE"]),
        Reply::Int(1),
        "active expiry reclaimed untouched keys"
    );
    let info = c.cmd(&["INFO", "stats"]).text();
    assert!(info.contains("expired_keys:201"), "{info}");
}

#[test]
fn getset_touch_and_wait() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["GETSET", "g", "1"]), Reply::Nil);
    c.cmd(&["EXPIRE", "g", "100"]);
    assert_eq!(c.cmd(&["GETSET", "g", "2"]), bulk("1"));
    // Like SET: the TTL is gone.
    assert_eq!(c.cmd(&["TTL", "g"]), Reply::Int(-1));
    assert_eq!(c.cmd(&["GET", "g"]), bulk("2"));
    c.cmd(&["VADD", "vs", "VALUES", "2", "1", "0", "a"]);
    assert_eq!(
        c.cmd(&["GETSET", "vs", "x"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(
        c.cmd(&["GETSET", "g"]),
        err("ERR wrong number of arguments for 'getset' command")
    );
    assert_eq!(c.cmd(&["TOUCH", "g", "vs", "nosuch", "g"]), Reply::Int(3));
    assert_eq!(c.cmd(&["WAIT", "1", "100"]), Reply::Int(0));
    assert_eq!(c.cmd(&["WAIT", "1", "-1"]), err("ERR timeout is negative"));
    assert_eq!(
        c.cmd(&["WAIT", "x", "0"]),
        err("ERR value is not an integer or out of range")
    );
}

/// Redis 8.4's conditional writes: SET IFEQ/IFNE/IFDEQ/IFDNE, DELEX,
/// DIGEST (XXH3-64; the vectors are the reference implementation's, as
/// Python's xxhash computes them), MSETEX.
#[test]
fn conditional_sets_delex_digest_and_msetex() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["SET", "e", ""]), simple("OK"));
    assert_eq!(c.cmd(&["DIGEST", "e"]), bulk("2d06800538d394c2"));
    assert_eq!(c.cmd(&["SET", "k", "abc"]), simple("OK"));
    assert_eq!(c.cmd(&["DIGEST", "k"]), bulk("78af5f94892f3950"));
    assert_eq!(c.cmd(&["DIGEST", "missing"]), Reply::Nil);
    // IFEQ / IFNE compare the value; a missing key fails IFEQ, passes IFNE.
    assert_eq!(c.cmd(&["SET", "k", "v2", "IFEQ", "nope"]), Reply::Nil);
    assert_eq!(
        c.cmd(&["SET", "k", "v2", "IFEQ", "abc", "GET"]),
        bulk("abc")
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v3", "IFEQ", "abc", "GET"]),
        bulk("v2"),
        "GET returns the value even when nothing is set"
    );
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v2"));
    assert_eq!(c.cmd(&["SET", "k", "v3", "IFNE", "v2"]), Reply::Nil);
    assert_eq!(c.cmd(&["SET", "k", "v3", "IFNE", "x"]), simple("OK"));
    assert_eq!(c.cmd(&["SET", "new1", "x", "IFEQ", "x"]), Reply::Nil);
    assert_eq!(c.cmd(&["EXISTS", "new1"]), Reply::Int(0));
    assert_eq!(
        c.cmd(&["SET", "new2", "x", "IFNE", "x", "PX", "100000"]),
        simple("OK")
    );
    assert!(matches!(c.cmd(&["PTTL", "new2"]), Reply::Int(t) if t > 90_000));
    // IFDEQ / IFDNE compare the digest, in any case.
    assert_eq!(c.cmd(&["SET", "k", "abc"]), simple("OK"));
    assert_eq!(
        c.cmd(&["SET", "k", "x", "IFDEQ", "0000000000000000"]),
        Reply::Nil
    );
    assert_eq!(
        c.cmd(&["SET", "k", "x", "IFDEQ", "78AF5F94892F3950"]),
        simple("OK")
    );
    assert_eq!(
        c.cmd(&["SET", "k", "y", "IFDNE", "78af5f94892f3950"]),
        simple("OK")
    );
    assert_eq!(
        c.cmd(&["SET", "k", "z", "IFDEQ", "abc"]),
        err("ERR must be exactly 16 hexadecimal characters")
    );
    assert_eq!(
        c.cmd(&["SET", "nokey", "z", "IFDEQ", "abc"]),
        Reply::Nil,
        "checked only against a key"
    );
    // One condition at most, and none with NX/XX.
    for bad in [
        &["SET", "k", "v", "NX", "IFEQ", "y"][..],
        &["SET", "k", "v", "XX", "IFEQ", "y"],
        &["SET", "k", "v", "IFEQ", "y", "IFNE", "z"],
        &["SET", "k", "v", "IFEQ"],
    ] {
        assert_eq!(c.cmd(bad), err(SYNTAX), "{bad:?}");
    }
    assert_eq!(c.cmd(&["GET", "k"]), bulk("y"));
    // DELEX.
    assert_eq!(c.cmd(&["DELEX", "k", "IFEQ", "no"]), Reply::Int(0));
    assert_eq!(c.cmd(&["DELEX", "k", "IFNE", "y"]), Reply::Int(0));
    assert_eq!(
        c.cmd(&["DELEX", "k", "IFDEQ", "1234"]),
        err("ERR must be exactly 16 hexadecimal characters")
    );
    assert_eq!(
        c.cmd(&["DELEX", "k", "IFXX", "y"]),
        err("ERR Invalid condition. Use IFEQ, IFNE, IFDEQ, or IFDNE")
    );
    assert_eq!(
        c.cmd(&["DELEX", "k", "IFEQ"]),
        err("ERR wrong number of arguments for 'delex' command")
    );
    assert_eq!(c.cmd(&["DELEX", "k", "IFEQ", "y"]), Reply::Int(1));
    assert_eq!(c.cmd(&["DELEX", "k", "IFEQ", "y"]), Reply::Int(0));
    assert_eq!(c.cmd(&["DELEX", "e"]), Reply::Int(1), "no condition: DEL");
    assert_eq!(
        c.cmd(&["VADD", "vs", "VALUES", "2", "1", "0", "a"]),
        Reply::Int(1)
    );
    assert_eq!(
        c.cmd(&["DELEX", "vs", "IFEQ", "a"]),
        err("ERR Key should be of string type if conditions are specified")
    );
    assert!(matches!(c.cmd(&["DIGEST", "vs"]), Reply::Error(e) if e.starts_with("WRONGTYPE")));
    assert!(
        matches!(c.cmd(&["SET", "vs", "x", "IFEQ", "a"]), Reply::Error(e) if e.starts_with("WRONGTYPE"))
    );
    // XX after a condition is accepted, as in Redis (not before one).
    assert!(
        matches!(c.cmd(&["SET", "vs", "x", "IFNE", "a", "XX"]), Reply::Error(e) if e.starts_with("WRONGTYPE"))
    );
    // MSETEX: all or nothing, one TTL for all.
    assert_eq!(
        c.cmd(&["MSETEX", "2", "m1", "a", "m2", "b", "EX", "100"]),
        Reply::Int(1)
    );
    assert!(matches!(c.cmd(&["TTL", "m2"]), Reply::Int(t) if (90..=100).contains(&t)));
    assert_eq!(
        c.cmd(&["MSETEX", "2", "m1", "x", "m3", "c", "NX"]),
        Reply::Int(0)
    );
    assert_eq!(c.cmd(&["EXISTS", "m3"]), Reply::Int(0));
    assert_eq!(
        c.cmd(&["MSETEX", "2", "m1", "x", "m3", "c", "XX"]),
        Reply::Int(0)
    );
    assert_eq!(
        c.cmd(&["MSETEX", "2", "m1", "x", "m2", "y", "XX", "KEEPTTL"]),
        Reply::Int(1)
    );
    assert!(
        matches!(c.cmd(&["TTL", "m1"]), Reply::Int(t) if t > 0),
        "KEEPTTL kept it"
    );
    assert_eq!(
        c.cmd(&["MGET", "m1", "m2"]).items(),
        vec![bulk("x"), bulk("y")]
    );
    assert_eq!(c.cmd(&["MSETEX", "1", "m1", "z"]), Reply::Int(1));
    assert_eq!(
        c.cmd(&["TTL", "m1"]),
        Reply::Int(-1),
        "no TTL option clears it"
    );
    assert_eq!(
        c.cmd(&["MSETEX", "0", "a", "b"]),
        err("ERR invalid numkeys value")
    );
    assert_eq!(
        c.cmd(&["MSETEX", "x", "a", "b"]),
        err("ERR invalid numkeys value")
    );
    assert_eq!(
        c.cmd(&["MSETEX", "2", "a", "b", "c"]),
        err("ERR wrong number of key-value pairs")
    );
    assert_eq!(
        c.cmd(&["MSETEX", "1", "a", "b", "EX", "0"]),
        err("ERR invalid expire time in 'msetex' command")
    );
    assert_eq!(c.cmd(&["MSETEX", "1", "a", "b", "GET"]), err(SYNTAX));
    assert_eq!(c.cmd(&["MSETEX", "1", "a", "b", "NX", "XX"]), err(SYNTAX));
    assert_eq!(
        c.cmd(&["EXISTS", "a"]),
        Reply::Int(0),
        "refused commands change nothing"
    );
    assert_eq!(
        c.cmd(&[
            "COMMAND", "GETKEYS", "MSETEX", "2", "k1", "v1", "k2", "v2", "PX", "5"
        ])
        .items(),
        vec![bulk("k1"), bulk("k2")]
    );
}
