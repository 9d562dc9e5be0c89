//! Keyspace notifications, ACL channel permissions and the Pub/Sub output
//! buffer limit, over TCP.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::support::{Client, Reply, Server, bulk, err, info_field, simple};

/// Reads the next `pmessage`: (channel, payload).
fn event(sub: &mut Client) -> (String, String) {
    let items = sub.read().items();
    assert_eq!(items[0], bulk("pmessage"), "{items:?}");
    (items[2].text(), items[3].text())
}

fn subscriber(s: &Server) -> Client {
    let mut sub = s.client();
    sub.send(&["PSUBSCRIBE", "__key*__:*"]);
    sub.read();
    sub
}

#[test]
fn keyspace_and_keyevent_messages_for_each_class() {
    let s = Server::start();
    let mut c = s.client();
    let mut sub = subscriber(&s);
    c.cmd(&["SET", "quiet", "1"]);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
        simple("OK")
    );
    c.cmd(&["SET", "k", "v", "EX", "100"]);
    let k = |e: &str| ("__keyspace@0__:k".to_string(), e.to_string());
    let e = |e: &str, key: &str| (format!("__keyevent@0__:{e}"), key.to_string());
    assert_eq!(event(&mut sub), k("set"));
    assert_eq!(event(&mut sub), e("set", "k"));
    assert_eq!(event(&mut sub), k("expire"));
    assert_eq!(event(&mut sub), e("expire", "k"));
    c.cmd(&["INCRBY", "n", "2"]);
    assert_eq!(event(&mut sub).1, "incrby");
    assert_eq!(event(&mut sub), e("incrby", "n"));
    c.cmd(&["APPEND", "k", "x"]);
    assert_eq!(event(&mut sub).1, "append");
    event(&mut sub);
    c.cmd(&["RENAME", "k", "k2"]);
    assert_eq!(event(&mut sub), k("rename_from"));
    event(&mut sub);
    assert_eq!(event(&mut sub).1, "rename_to");
    assert_eq!(event(&mut sub), e("rename_to", "k2"));
    c.cmd(&["PERSIST", "k2"]);
    assert_eq!(event(&mut sub).1, "persist");
    event(&mut sub);
    // DEL of two keys, one missing: one event.
    c.cmd(&["DEL", "k2", "missing"]);
    assert_eq!(event(&mut sub), ("__keyspace@0__:k2".into(), "del".into()));
    event(&mut sub);
    // A key in another database, and an expiry.
    c.cmd(&["SELECT", "5"]);
    c.cmd(&["SET", "t", "v", "PX", "30"]);
    assert_eq!(event(&mut sub), ("__keyspace@5__:t".into(), "set".into()));
    for _ in 0..3 {
        event(&mut sub);
    }
    assert_eq!(
        event(&mut sub),
        ("__keyspace@5__:t".into(), "expired".into())
    );
    assert_eq!(
        event(&mut sub),
        ("__keyevent@5__:expired".into(), "t".into())
    );
    // Only E and $: no keyspace channel, no generic events.
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "E$"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["DEL", "a"]);
    c.cmd(&["SET", "b", "1"]);
    assert_eq!(event(&mut sub), ("__keyevent@5__:set".into(), "a".into()));
    assert_eq!(event(&mut sub), ("__keyevent@5__:set".into(), "b".into()));
    // Off: nothing.
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    c.cmd(&["SET", "c", "1"]);
    sub.send(&["PING"]);
    assert_eq!(sub.read(), Reply::Array(vec![bulk("pong"), bulk("")]));
}

#[test]
fn acl_channel_patterns_are_enforced() {
    let s = Server::start();
    let mut admin = s.client();
    assert_eq!(
        admin.cmd(&[
            "ACL",
            "SETUSER",
            "u",
            "on",
            ">p",
            "~*",
            "+@all",
            "resetchannels",
            "&news.*"
        ]),
        simple("OK")
    );
    let mut c = s.client();
    assert_eq!(c.cmd(&["AUTH", "u", "p"]), simple("OK"));
    assert_eq!(c.cmd(&["PUBLISH", "news.1", "x"]), Reply::Int(0));
    let denied = err("NOPERM No permissions to access a channel");
    assert_eq!(c.cmd(&["PUBLISH", "sports", "x"]), denied);
    assert_eq!(c.cmd(&["SPUBLISH", "sports", "x"]), denied);
    assert_eq!(c.cmd(&["SUBSCRIBE", "news.1", "sports"]), denied);
    // A pattern must be one of the user's patterns, literally.
    assert_eq!(c.cmd(&["PSUBSCRIBE", "news.a*"]), denied);
    c.send(&["PSUBSCRIBE", "news.*"]);
    assert_eq!(
        c.read(),
        Reply::Array(vec![bulk("psubscribe"), bulk("news.*"), Reply::Int(1)])
    );
    assert_eq!(
        admin.cmd(&["ACL", "DRYRUN", "u", "PUBLISH", "sports", "x"]),
        bulk("User u has no permissions to access the 'sports' channel")
    );
    assert_eq!(
        info_field(&mut admin, "stats", "acl_access_denied_channel"),
        "4"
    );
}

#[test]
fn pubsub_output_limit_closes_a_subscriber_that_does_not_read() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 256kb 0 0"
        ]),
        simple("OK")
    );
    assert!(
        c.cmd(&["CONFIG", "GET", "client-output-buffer-limit"])
            .get("client-output-buffer-limit")
            .unwrap()
            .text()
            .contains("pubsub 262144 0 0")
    );
    let mut slow = s.client();
    slow.send(&["SUBSCRIBE", "ch"]);
    slow.read();
    let mut fast = s.client();
    fast.send(&["SUBSCRIBE", "ch"]);
    fast.read();
    let payload = "x".repeat(4096);
    // `fast` reads along; `slow` never reads: 40 MB is far past the
    // socket buffers and the 256 KB limit. The publisher stays at most
    // 16 messages (64 KB) ahead of `fast`, so only `slow` can pass the
    // limit however slowly the reader thread is scheduled.
    let read = Arc::new(AtomicUsize::new(0));
    let reader = std::thread::spawn({
        let read = read.clone();
        move || {
            for _ in 0..10_000 {
                fast.read();
                read.fetch_add(1, Ordering::Release);
            }
            fast
        }
    });
    for sent in 0..10_000 {
        while sent >= read.load(Ordering::Acquire) + 16 {
            std::thread::yield_now();
        }
        c.cmd(&["PUBLISH", "ch", &payload]);
    }
    let mut fast = reader.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.cmd(&["PUBSUB", "NUMSUB", "ch"]).items()[1] != Reply::Int(1) {
        assert!(
            Instant::now() < deadline,
            "slow subscriber still subscribed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        info_field(&mut c, "stats", "client_output_buffer_limit_disconnections"),
        "1"
    );
    fast.send(&["PING"]);
    assert_eq!(fast.read(), Reply::Array(vec![bulk("pong"), bulk("")]));
}
