//! `maxmemory` over TCP: eviction keeps `used_memory` under the limit
//! during a write flood, each policy takes the keys it should, `-OOM` when
//! nothing may go, evictions are counted, announced and durable.

use super::support::{Client, Reply, Server, bulk, err, info_field, simple};

fn used(c: &mut Client) -> u64 {
    info_field(c, "memory", "used_memory").parse().unwrap()
}

/// Sets `maxmemory` to what is used now plus `headroom` bytes.
fn limit_above_now(c: &mut Client, headroom: u64, policy: &str) -> u64 {
    let limit = used(c) + headroom;
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "maxmemory",
            &limit.to_string(),
            "maxmemory-policy",
            policy
        ]),
        simple("OK")
    );
    limit
}

#[test]
fn allkeys_lru_keeps_memory_under_the_limit_during_a_flood() {
    let mut s = Server::start();
    let mut c = s.client();
    let limit = limit_above_now(&mut c, 16 << 20, "allkeys-lru");
    let mut sub = s.client();
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ee"]);
    sub.send(&["SUBSCRIBE", "__keyevent@0__:evicted"]);
    sub.read();
    let value = "v".repeat(10_000);
    // 60 MB of writes into a 16 MB headroom.
    let mut over = 0;
    for i in 0..6000 {
        assert_eq!(c.cmd(&["SET", &format!("key:{i}"), &value]), simple("OK"));
        if i % 500 == 0 && used(&mut c) > limit + (4 << 20) {
            over += 1;
        }
    }
    assert_eq!(over, 0, "used_memory stayed near maxmemory");
    let evicted: u64 = info_field(&mut c, "stats", "evicted_keys").parse().unwrap();
    let keys = match c.cmd(&["DBSIZE"]) {
        Reply::Int(n) => n as u64,
        other => panic!("{other:?}"),
    };
    assert!(evicted > 3000, "{evicted}");
    assert_eq!(keys + evicted, 6000);
    // The newest keys survive an LRU policy.
    assert_eq!(c.cmd(&["EXISTS", "key:5999"]), Reply::Int(1));
    let items = sub.read().items();
    assert_eq!(items[1], bulk("__keyevent@0__:evicted"));
    // Evictions are deletes in the WAL: gone after kill -9 too.
    let gone = items[2].text();
    s.kill9();
    s.restart();
    let mut c = s.client();
    assert_eq!(c.cmd(&["EXISTS", &gone]), Reply::Int(0));
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(keys as i64));
}

#[test]
fn noeviction_and_volatile_policies_answer_oom() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "keep", "x"]);
    c.cmd(&["SET", "ttl", "x", "EX", "1000"]);
    let oom = err("OOM command not allowed when used memory > 'maxmemory'.");
    // A limit below what is used: every denyoom command is refused.
    let half = (used(&mut c) / 2).to_string();
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "maxmemory",
            &half,
            "maxmemory-policy",
            "noeviction"
        ]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["SET", "k", "v"]), oom);
    assert_eq!(c.cmd(&["APPEND", "keep", "v"]), oom);
    // Reads and deletes still run.
    assert_eq!(c.cmd(&["GET", "keep"]), bulk("x"));
    assert_eq!(c.cmd(&["DEL", "nothing"]), Reply::Int(0));
    // volatile-ttl evicts the key with a TTL, then has nothing left.
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-ttl"]);
    assert_eq!(c.cmd(&["SET", "k", "v"]), oom);
    assert_eq!(c.cmd(&["EXISTS", "ttl", "keep"]), Reply::Int(1));
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), "1");
    // No limit again: writes run.
    c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    assert_eq!(c.cmd(&["SET", "k", "v"]), simple("OK"));
}

#[test]
fn volatile_lru_spares_keys_without_ttl() {
    let s = Server::start();
    let mut c = s.client();
    let value = "p".repeat(10_000);
    for i in 0..200 {
        c.cmd(&["SET", &format!("persistent:{i}"), &value]);
    }
    let limit = limit_above_now(&mut c, 8 << 20, "volatile-lru");
    for i in 0..2000 {
        let r = c.cmd(&["SET", &format!("session:{i}"), &value, "EX", "3600"]);
        assert_eq!(r, simple("OK"), "at {i}");
    }
    assert!(used(&mut c) < limit + (4 << 20));
    let persistent = c.cmd(&["KEYS", "persistent:*"]).items().len();
    assert_eq!(persistent, 200, "keys without a TTL are never evicted");
    let sessions = c.cmd(&["KEYS", "session:*"]).items().len();
    assert!(sessions < 2000, "{sessions}");
}
