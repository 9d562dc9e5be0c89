//! Client-facing controls over TCP: CLIENT TRACKING (RESP3 pushes, BCAST,
//! NOLOOP, OPTIN, REDIRECT to a RESP2 subscriber, flushes), CLIENT KILL,
//! PAUSE/UNPAUSE, REPLY, NO-TOUCH, and MONITOR.

use std::time::{Duration, Instant};

use super::support::{Client, Reply, Server, bulk, err, simple};

fn resp3(s: &Server) -> Client {
    let mut c = s.client();
    c.send(&["HELLO", "3"]);
    c.resp3 = true;
    c.read();
    c
}

fn invalidate(keys: &[&str]) -> Reply {
    Reply::Push(vec![
        bulk("invalidate"),
        Reply::Array(keys.iter().map(|k| bulk(k)).collect()),
    ])
}

fn id(c: &mut Client) -> i64 {
    match c.cmd(&["CLIENT", "ID"]) {
        Reply::Int(n) => n,
        other => panic!("{other:?}"),
    }
}

#[test]
fn tracking_default_mode_tells_each_reader_once() {
    let s = Server::start();
    let mut reader = resp3(&s);
    let mut writer = s.client();
    assert_eq!(reader.cmd(&["CLIENT", "TRACKING", "ON"]), simple("OK"));
    writer.cmd(&["SET", "k", "1"]);
    assert_eq!(reader.cmd(&["GET", "k"]), bulk("1"));
    assert_eq!(reader.cmd(&["GET", "other"]), Reply::Nil);
    writer.cmd(&["SET", "k", "2"]);
    assert_eq!(reader.read(), invalidate(&["k"]));
    // Told once: the next write sends nothing until k is read again.
    writer.cmd(&["SET", "k", "3"]);
    assert_eq!(reader.cmd(&["PING"]), simple("PONG"));
    assert_eq!(reader.cmd(&["GET", "k"]), bulk("3"));
    writer.cmd(&["DEL", "k"]);
    assert_eq!(reader.read(), invalidate(&["k"]));
    // Expiry (active, here) invalidates too.
    writer.cmd(&["SET", "t", "v", "PX", "50"]);
    reader.cmd(&["GET", "t"]);
    assert_eq!(reader.read(), invalidate(&["t"]));
    // FLUSHALL: a null key list.
    reader.cmd(&["GET", "other"]);
    writer.cmd(&["FLUSHALL"]);
    assert_eq!(
        reader.read(),
        Reply::Push(vec![bulk("invalidate"), Reply::Nil])
    );
    let info = reader.cmd(&["CLIENT", "TRACKINGINFO"]);
    assert_eq!(info.get("flags"), Some(Reply::Set(vec![bulk("on")])));
    assert_eq!(info.get("redirect"), Some(Reply::Int(0)));
    assert_eq!(reader.cmd(&["CLIENT", "GETREDIR"]), Reply::Int(0));
    assert_eq!(reader.cmd(&["CLIENT", "TRACKING", "OFF"]), simple("OK"));
    assert_eq!(reader.cmd(&["CLIENT", "GETREDIR"]), Reply::Int(-1));
    reader.cmd(&["GET", "k"]);
    writer.cmd(&["SET", "k", "x"]);
    assert_eq!(
        reader.cmd(&["PING"]),
        simple("PONG"),
        "no tracking after OFF"
    );
}

#[test]
fn own_invalidation_follows_the_reply_that_caused_it() {
    // A client that changes a key it reads gets the invalidation after
    // that command's reply and before the next one's, even when both
    // commands arrive in one packet (redis-py's cache relies on it).
    let s = Server::start();
    let mut c = resp3(&s);
    assert_eq!(c.cmd(&["CLIENT", "TRACKING", "ON"]), simple("OK"));
    c.cmd(&["SET", "foo", "1"]);
    assert_eq!(c.cmd(&["MGET", "foo", "bar"]).items().len(), 2);
    for round in 0..20 {
        let v = round.to_string();
        let mut batch = Client::encode(&[b"SET", b"foo", v.as_bytes()]);
        batch.extend(Client::encode(&[b"GET", b"foo"]));
        c.send_raw(&batch);
        assert_eq!(c.read(), simple("OK"));
        assert_eq!(c.read(), invalidate(&["foo"]), "round {round}");
        assert_eq!(c.read(), bulk(&v));
    }
}

#[test]
fn tracking_bcast_noloop_optin_and_errors() {
    let s = Server::start();
    let mut a = resp3(&s);
    let mut w = s.client();
    assert_eq!(
        a.cmd(&[
            "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "NOLOOP"
        ]),
        simple("OK")
    );
    w.cmd(&["SET", "user:1", "x"]);
    w.cmd(&["SET", "order:1", "x"]);
    assert_eq!(a.read(), invalidate(&["user:1"]));
    a.cmd(&["SET", "user:2", "mine"]);
    assert_eq!(
        a.cmd(&["PING"]),
        simple("PONG"),
        "NOLOOP: not told of own writes"
    );
    assert_eq!(
        a.cmd(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:x"]),
        err(
            "ERR Prefix 'user:x' overlaps with an existing prefix 'user:'. Prefixes for a single client must not overlap."
        )
    );
    assert_eq!(
        a.cmd(&["CLIENT", "TRACKING", "ON"]),
        err(
            "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."
        )
    );
    let mut b = resp3(&s);
    assert_eq!(
        b.cmd(&["CLIENT", "TRACKING", "ON", "PREFIX", "a"]),
        err("ERR PREFIX option requires BCAST mode to be enabled")
    );
    assert_eq!(
        b.cmd(&["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"]),
        err("ERR You can't specify both OPTIN mode and OPTOUT mode")
    );
    assert_eq!(
        b.cmd(&["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"]),
        err("ERR OPTIN and OPTOUT are not compatible with BCAST")
    );
    assert_eq!(
        b.cmd(&["CLIENT", "TRACKING", "ON", "REDIRECT", "999999"]),
        err("ERR The client ID you want redirect to does not exist")
    );
    assert_eq!(
        b.cmd(&["CLIENT", "CACHING", "YES"]),
        err(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
        )
    );
    // OPTIN: only reads right after CLIENT CACHING YES are tracked.
    assert_eq!(b.cmd(&["CLIENT", "TRACKING", "ON", "OPTIN"]), simple("OK"));
    assert_eq!(
        b.cmd(&["CLIENT", "CACHING", "NO"]),
        err("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    );
    b.cmd(&["GET", "p"]);
    assert_eq!(b.cmd(&["CLIENT", "CACHING", "YES"]), simple("OK"));
    b.cmd(&["GET", "q"]);
    w.cmd(&["SET", "p", "1"]);
    w.cmd(&["SET", "q", "1"]);
    assert_eq!(b.read(), invalidate(&["q"]));
    assert_eq!(b.cmd(&["PING"]), simple("PONG"));
}

#[test]
fn tracking_redirect_to_a_resp2_subscriber() {
    let s = Server::start();
    let mut sink = s.client();
    let sink_id = id(&mut sink);
    sink.send(&["SUBSCRIBE", "__redis__:invalidate"]);
    sink.read();
    let mut reader = s.client();
    assert_eq!(
        reader.cmd(&["CLIENT", "TRACKING", "ON", "REDIRECT", &sink_id.to_string()]),
        simple("OK")
    );
    assert_eq!(reader.cmd(&["CLIENT", "GETREDIR"]), Reply::Int(sink_id));
    reader.cmd(&["GET", "k"]);
    s.client().cmd(&["SET", "k", "v"]);
    assert_eq!(
        sink.read(),
        Reply::Array(vec![
            bulk("message"),
            bulk("__redis__:invalidate"),
            Reply::Array(vec![bulk("k")])
        ])
    );
    // The redirect goes away: a RESP3 tracking client is told instead.
    let mut sink2 = s.client();
    let sink2_id = id(&mut sink2);
    let mut r3 = resp3(&s);
    assert_eq!(
        r3.cmd(&[
            "CLIENT",
            "TRACKING",
            "ON",
            "REDIRECT",
            &sink2_id.to_string()
        ]),
        simple("OK")
    );
    assert_eq!(r3.cmd(&["GET", "k2"]), Reply::Nil);
    drop(sink2);
    let start = Instant::now();
    while s
        .client()
        .cmd(&["CLIENT", "LIST", "ID", &sink2_id.to_string()])
        != bulk("")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the redirect never left"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    s.client().cmd(&["SET", "k2", "v"]);
    assert_eq!(
        r3.read(),
        Reply::Push(vec![bulk("tracking-redir-broken"), Reply::Int(sink2_id)])
    );
    let info = r3.cmd(&["CLIENT", "TRACKINGINFO"]);
    let flags = info.get("flags").unwrap().items();
    assert!(flags.contains(&bulk("broken_redirect")), "{flags:?}");
}

#[test]
fn client_kill_pause_reply_and_no_touch() {
    let s = Server::start();
    let mut admin = s.client();
    let mut victim = s.client();
    let victim_id = id(&mut victim);
    assert_eq!(
        admin.cmd(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
        Reply::Int(1)
    );
    // Closed at once, without waiting for its next command.
    assert!(victim.try_read().is_err(), "killed connection is closed");
    assert_eq!(
        admin.cmd(&["CLIENT", "KILL", "ID", "999999"]),
        Reply::Int(0)
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "KILL", "127.0.0.1:1"]),
        err("ERR No such client")
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "KILL", "TYPE", "bogus"]),
        err("ERR Unknown client type 'bogus'")
    );
    // SKIPME yes (default): the caller survives a kill of everyone.
    let mut other = s.client();
    assert_eq!(other.cmd(&["PING"]), simple("PONG"));
    let killed = admin.cmd(&["CLIENT", "KILL", "TYPE", "normal"]);
    assert!(matches!(killed, Reply::Int(n) if n >= 1), "{killed:?}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(other.try_cmd(&["PING"]).is_err());
    assert_eq!(admin.cmd(&["PING"]), simple("PONG"));

    // PAUSE WRITE holds writes, not reads; UNPAUSE releases them.
    let mut w = s.client();
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "400", "WRITE"]),
        simple("OK")
    );
    let t = Instant::now();
    assert_eq!(w.cmd(&["GET", "k"]), Reply::Nil);
    assert!(t.elapsed() < Duration::from_millis(300), "reads run");
    assert_eq!(w.cmd(&["SET", "k", "v"]), simple("OK"));
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "write waited: {:?}",
        t.elapsed()
    );
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "10000"]), simple("OK"));
    w.send(&["GET", "k"]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), simple("OK"));
    assert_eq!(w.read(), bulk("v"));
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "-1"]),
        err("ERR timeout is negative")
    );

    // REPLY OFF / SKIP / ON.
    let mut r = s.client();
    r.send(&["CLIENT", "REPLY", "OFF"]);
    r.send(&["SET", "quiet", "1"]);
    r.send(&["CLIENT", "REPLY", "SKIP"]);
    r.send(&["CLIENT", "REPLY", "ON"]);
    assert_eq!(r.read(), simple("OK"));
    r.send(&["CLIENT", "REPLY", "SKIP"]);
    r.send(&["GET", "quiet"]);
    assert_eq!(r.cmd(&["GET", "quiet"]), bulk("1"));

    // NO-TOUCH: reads leave the access counter alone.
    admin.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    admin.cmd(&["SET", "hot", "x"]);
    admin.cmd(&["SET", "cold", "x"]);
    let mut quiet = s.client();
    assert_eq!(quiet.cmd(&["CLIENT", "NO-TOUCH", "ON"]), simple("OK"));
    for _ in 0..300 {
        quiet.cmd(&["GET", "cold"]);
        admin.cmd(&["GET", "hot"]);
    }
    assert_eq!(admin.cmd(&["OBJECT", "FREQ", "cold"]), Reply::Int(5));
    assert!(matches!(admin.cmd(&["OBJECT", "FREQ", "hot"]), Reply::Int(n) if n > 5));
    assert_eq!(
        quiet.cmd(&["CLIENT", "NO-TOUCH", "MAYBE"]),
        err("ERR syntax error")
    );
    assert_eq!(quiet.cmd(&["CLIENT", "NO-EVICT", "ON"]), simple("OK"));
}

#[test]
fn monitor_streams_every_command() {
    let s = Server::start();
    let mut m = s.client();
    assert_eq!(m.cmd(&["MONITOR"]), simple("OK"));
    let mut c = s.client();
    c.cmd(&["SET", "a", "b c"]);
    c.cmd(&["SELECT", "2"]);
    c.cmd(&["GET", "a"]);
    let lines: Vec<String> = (0..3).map(|_| m.read().text()).collect();
    assert!(lines[0].ends_with(r#""SET" "a" "b c""#), "{lines:?}");
    assert!(lines[0].contains(" [0 127.0.0.1:"), "{lines:?}");
    assert!(lines[2].contains(" [2 127.0.0.1:"), "{lines:?}");
    assert!(lines[2].ends_with(r#""GET" "a""#), "{lines:?}");
    // Inside a script: [db lua], shown before the EVAL (as in Redis 7,
    // commands are shown once they ran).
    c.cmd(&["EVAL", "return redis.call('GET', 'a')", "0"]);
    let inner = m.read().text();
    let eval = m.read().text();
    assert!(eval.contains(r#""EVAL""#), "{eval}");
    assert!(
        inner.contains(" lua]") && inner.ends_with(r#""GET" "a""#),
        "{inner}"
    );
    // Admin commands are not shown.
    c.cmd(&["CONFIG", "GET", "maxclients"]);
    c.cmd(&["PING"]);
    assert!(m.read().text().ends_with(r#""PING""#));
    assert_eq!(m.cmd(&["RESET"]), simple("RESET"));
    c.cmd(&["PING"]);
    assert_eq!(m.cmd(&["PING"]), simple("PONG"), "RESET ends MONITOR");
}
