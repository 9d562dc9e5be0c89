//! Pub/Sub over TCP: subscribe/publish in RESP2 (arrays, subscribed mode)
//! and RESP3 (push frames, other commands allowed), patterns, shard
//! channels, PUBSUB introspection, 1,000 subscribers, and subscriptions
//! ending with their connection.

use std::time::{Duration, Instant};

use super::support::{Client, Reply, Server, bulk, err, simple};

fn msg(items: &[&str]) -> Vec<Reply> {
    items.iter().map(|s| bulk(s)).collect()
}

#[test]
fn subscribe_publish_resp2() {
    let s = Server::start();
    let mut sub = s.client();
    let mut pubc = s.client();
    sub.send(&["SUBSCRIBE", "a", "b"]);
    assert_eq!(
        sub.read(),
        Reply::Array(vec![bulk("subscribe"), bulk("a"), Reply::Int(1)])
    );
    assert_eq!(
        sub.read(),
        Reply::Array(vec![bulk("subscribe"), bulk("b"), Reply::Int(2)])
    );
    assert_eq!(pubc.cmd(&["PUBLISH", "a", "hello"]), Reply::Int(1));
    assert_eq!(pubc.cmd(&["PUBLISH", "nobody", "x"]), Reply::Int(0));
    assert_eq!(sub.read(), Reply::Array(msg(&["message", "a", "hello"])));
    // Patterns: a channel matching both counts twice.
    sub.send(&["PSUBSCRIBE", "a*"]);
    assert_eq!(
        sub.read(),
        Reply::Array(vec![bulk("psubscribe"), bulk("a*"), Reply::Int(3)])
    );
    assert_eq!(pubc.cmd(&["PUBLISH", "a", "two"]), Reply::Int(2));
    assert_eq!(sub.read(), Reply::Array(msg(&["message", "a", "two"])));
    assert_eq!(
        sub.read(),
        Reply::Array(msg(&["pmessage", "a*", "a", "two"]))
    );
    // Subscribed mode: only the subscription commands, PING, QUIT, RESET.
    assert_eq!(
        sub.cmd(&["GET", "k"]),
        err(
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        )
    );
    assert_eq!(sub.cmd(&["PING"]), Reply::Array(msg(&["pong", ""])));
    assert_eq!(sub.cmd(&["PING", "x"]), Reply::Array(msg(&["pong", "x"])));
    // Introspection.
    let mut chans: Vec<String> = pubc
        .cmd(&["PUBSUB", "CHANNELS"])
        .items()
        .iter()
        .map(|c| c.text())
        .collect();
    chans.sort();
    assert_eq!(chans, ["a", "b"]);
    assert_eq!(
        pubc.cmd(&["PUBSUB", "CHANNELS", "b*"]),
        Reply::Array(vec![bulk("b")])
    );
    assert_eq!(
        pubc.cmd(&["PUBSUB", "NUMSUB", "a", "zz"]),
        Reply::Array(vec![bulk("a"), Reply::Int(1), bulk("zz"), Reply::Int(0)])
    );
    assert_eq!(pubc.cmd(&["PUBSUB", "NUMPAT"]), Reply::Int(1));
    // UNSUBSCRIBE without arguments leaves every channel.
    sub.send(&["UNSUBSCRIBE"]);
    assert_eq!(
        sub.read(),
        Reply::Array(vec![bulk("unsubscribe"), bulk("a"), Reply::Int(2)])
    );
    assert_eq!(
        sub.read(),
        Reply::Array(vec![bulk("unsubscribe"), bulk("b"), Reply::Int(1)])
    );
    sub.send(&["PUNSUBSCRIBE"]);
    assert_eq!(
        sub.read(),
        Reply::Array(vec![bulk("punsubscribe"), bulk("a*"), Reply::Int(0)])
    );
    // Out of subscribed mode: normal commands again.
    assert_eq!(sub.cmd(&["PING"]), simple("PONG"));
    sub.send(&["UNSUBSCRIBE"]);
    assert_eq!(
        sub.read(),
        Reply::Array(vec![bulk("unsubscribe"), Reply::Nil, Reply::Int(0)])
    );
    assert_eq!(pubc.cmd(&["PUBLISH", "a", "x"]), Reply::Int(0));
    // Shard channels are their own namespace.
    sub.send(&["SSUBSCRIBE", "s1"]);
    assert_eq!(
        sub.read(),
        Reply::Array(vec![bulk("ssubscribe"), bulk("s1"), Reply::Int(1)])
    );
    assert_eq!(pubc.cmd(&["PUBLISH", "s1", "x"]), Reply::Int(0));
    assert_eq!(pubc.cmd(&["SPUBLISH", "s1", "y"]), Reply::Int(1));
    assert_eq!(sub.read(), Reply::Array(msg(&["smessage", "s1", "y"])));
    assert_eq!(
        pubc.cmd(&["PUBSUB", "SHARDNUMSUB", "s1"]),
        Reply::Array(vec![bulk("s1"), Reply::Int(1)])
    );
    // RESET leaves every subscription.
    assert_eq!(sub.cmd(&["RESET"]), simple("RESET"));
    assert_eq!(pubc.cmd(&["SPUBLISH", "s1", "y"]), Reply::Int(0));
    assert_eq!(sub.cmd(&["GET", "k"]), Reply::Nil);
}

#[test]
fn subscribe_publish_resp3_push_frames() {
    let s = Server::start();
    let mut sub = s.client();
    sub.send(&["HELLO", "3"]);
    sub.resp3 = true;
    sub.read();
    sub.send(&["SUBSCRIBE", "news"]);
    assert_eq!(
        sub.read(),
        Reply::Push(vec![bulk("subscribe"), bulk("news"), Reply::Int(1)])
    );
    // RESP3 clients may run any command while subscribed.
    assert_eq!(sub.cmd(&["SET", "k", "v"]), simple("OK"));
    assert_eq!(sub.cmd(&["PING"]), simple("PONG"));
    assert_eq!(s.client().cmd(&["PUBLISH", "news", "hi"]), Reply::Int(1));
    assert_eq!(sub.read(), Reply::Push(msg(&["message", "news", "hi"])));
}

/// 1,000 subscribers on one channel all get every message; closing them
/// ends their subscriptions.
#[test]
fn a_thousand_subscribers() {
    let s = Server::start();
    let mut subs: Vec<Client> = (0..1000)
        .map(|_| {
            let mut c = s.client();
            c.send(&["SUBSCRIBE", "fan"]);
            c
        })
        .collect();
    for c in subs.iter_mut() {
        assert_eq!(c.read().items()[0], bulk("subscribe"));
    }
    let mut p = s.client();
    for i in 0..3 {
        assert_eq!(
            p.cmd(&["PUBLISH", "fan", &format!("m{i}")]),
            Reply::Int(1000)
        );
    }
    for c in subs.iter_mut() {
        for i in 0..3 {
            assert_eq!(
                c.read(),
                Reply::Array(msg(&["message", "fan", &format!("m{i}")]))
            );
        }
    }
    drop(subs);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = p.cmd(&["PUBSUB", "NUMSUB", "fan"]).items()[1].clone();
        if n == Reply::Int(0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "closed subscribers still counted: {n:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(p.cmd(&["PUBLISH", "fan", "x"]), Reply::Int(0));
}
