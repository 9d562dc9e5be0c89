//! Generic key commands over TCP.

use std::collections::HashSet;

use crate::support::{Reply, Server, bulk, err, simple};

#[test]
fn del_exists_type() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(c.cmd(&["EXISTS", "a", "a", "zz"]), Reply::Int(2));
    assert_eq!(c.cmd(&["TYPE", "a"]), simple("string"));
    assert_eq!(c.cmd(&["TYPE", "zz"]), simple("none"));
    assert_eq!(c.cmd(&["DEL", "a", "zz"]), Reply::Int(1));
    assert_eq!(c.cmd(&["UNLINK", "b", "c", "b"]), Reply::Int(2));
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(0));
    assert_eq!(
        c.cmd(&["DEL"]),
        err("ERR wrong number of arguments for 'del' command")
    );
}

#[test]
fn expire_family() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(-1));
    assert_eq!(c.cmd(&["TTL", "none"]), Reply::Int(-2));
    assert_eq!(c.cmd(&["PTTL", "none"]), Reply::Int(-2));
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "XX"]), Reply::Int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "NX"]), Reply::Int(1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "200", "NX"]), Reply::Int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "50", "GT"]), Reply::Int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "150", "GT"]), Reply::Int(1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "120", "lt"]), Reply::Int(1));
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(120));
    assert_eq!(c.cmd(&["PEXPIRE", "k", "90000"]), Reply::Int(1));
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(90));
    let Reply::Array(t) = c.cmd(&["TIME"]) else {
        panic!()
    };
    let now: i64 = t[0].text().parse().unwrap();
    assert_eq!(
        c.cmd(&["EXPIREAT", "k", &(now + 1000).to_string()]),
        Reply::Int(1)
    );
    assert_eq!(c.cmd(&["EXPIRETIME", "k"]), Reply::Int(now + 1000));
    assert_eq!(
        c.cmd(&["PEXPIREAT", "k", &((now + 2000) * 1000).to_string()]),
        Reply::Int(1)
    );
    assert_eq!(
        c.cmd(&["PEXPIRETIME", "k"]),
        Reply::Int((now + 2000) * 1000)
    );
    assert_eq!(c.cmd(&["EXPIRETIME", "none"]), Reply::Int(-2));
    assert_eq!(c.cmd(&["PERSIST", "k"]), Reply::Int(1));
    assert_eq!(c.cmd(&["PERSIST", "k"]), Reply::Int(0));
    assert_eq!(c.cmd(&["EXPIRETIME", "k"]), Reply::Int(-1));
    assert_eq!(c.cmd(&["EXPIRE", "none", "10"]), Reply::Int(0));
    // Errors leave the key untouched.
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "10", "NX", "XX"]),
        err("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "10", "GT", "LT"]),
        err("ERR GT and LT options at the same time are not compatible")
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "10", "FOO"]),
        err("ERR Unsupported option FOO")
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "9223372036854775807"]),
        err("ERR invalid expire time in 'expire' command")
    );
    assert_eq!(
        c.cmd(&["PEXPIRE", "k", "9223372036854775807"]),
        err("ERR invalid expire time in 'pexpire' command")
    );
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(-1));
    // A non-positive TTL deletes.
    assert_eq!(c.cmd(&["EXPIRE", "k", "-1"]), Reply::Int(1));
    assert_eq!(c.cmd(&["EXISTS", "k"]), Reply::Int(0));
}

#[test]
fn keys_and_scan() {
    let s = Server::start();
    let mut c = s.client();
    for i in 0..500 {
        c.cmd(&["SET", &format!("user:{i}"), "x"]);
        c.cmd(&["SET", &format!("item:{i}"), "y"]);
    }
    let Reply::Array(users) = c.cmd(&["KEYS", "user:*"]) else {
        panic!()
    };
    assert_eq!(users.len(), 500);
    let Reply::Array(some) = c.cmd(&["KEYS", "user:1?"]) else {
        panic!()
    };
    assert_eq!(some.len(), 10);
    assert_eq!(c.cmd(&["KEYS", "nomatch*"]), Reply::Array(vec![]));
    // Full SCAN iteration with MATCH returns each matching key.
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c
            .cmd(&["SCAN", &cursor, "MATCH", "item:*", "COUNT", "20"])
            .items();
        cursor = r[0].text();
        for k in r[1].items() {
            let k = k.text();
            assert!(k.starts_with("item:"));
            seen.insert(k);
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert!(calls > 10, "COUNT bounds each call ({calls} calls)");
    let r = c
        .cmd(&["SCAN", "0", "TYPE", "string", "COUNT", "100000"])
        .items();
    assert_eq!(r[0], bulk("0"));
    assert_eq!(r[1].items().len(), 1000);
    let r = c
        .cmd(&["SCAN", "0", "TYPE", "vectorset", "COUNT", "100000"])
        .items();
    assert!(r[1].items().is_empty());
    assert_eq!(c.cmd(&["SCAN", "abc"]), err("ERR invalid cursor"));
    assert_eq!(c.cmd(&["SCAN", "0", "COUNT", "0"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["SCAN", "0", "COUNT"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["SCAN", "0", "FOO", "bar"]), err("ERR syntax error"));
}

#[test]
fn rename_and_randomkey() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["RANDOMKEY"]), Reply::Nil);
    c.cmd(&["SET", "a", "1", "EX", "100"]);
    c.cmd(&["SET", "b", "2"]);
    assert_eq!(c.cmd(&["RANDOMKEY"]).text().len(), 1);
    assert_eq!(c.cmd(&["RENAMENX", "a", "b"]), Reply::Int(0));
    assert_eq!(c.cmd(&["RENAME", "a", "b"]), simple("OK"));
    assert_eq!(c.cmd(&["GET", "b"]), bulk("1"));
    assert_eq!(
        c.cmd(&["TTL", "b"]),
        Reply::Int(100),
        "TTL moves with the key"
    );
    assert_eq!(c.cmd(&["RENAME", "a", "c"]), err("ERR no such key"));
    assert_eq!(c.cmd(&["RENAMENX", "a", "c"]), err("ERR no such key"));
    assert_eq!(c.cmd(&["RENAMENX", "b", "c"]), Reply::Int(1));
    assert_eq!(c.cmd(&["RENAME", "c", "c"]), simple("OK"));
    assert_eq!(c.cmd(&["GET", "c"]), bulk("1"));
}
