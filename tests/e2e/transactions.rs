//! MULTI/EXEC/DISCARD/WATCH over TCP: replies and error texts as Redis
//! gives them, atomicity for other clients under concurrent writers, WATCH
//! races, and a transaction surviving `kill -9` whole or not at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::support::{Client, Reply, Server, bulk, err, simple};

fn queued() -> Reply {
    simple("QUEUED")
}

#[test]
fn queue_exec_discard_and_error_texts() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["EXEC"]), err("ERR EXEC without MULTI"));
    assert_eq!(c.cmd(&["DISCARD"]), err("ERR DISCARD without MULTI"));
    assert_eq!(c.cmd(&["MULTI"]), simple("OK"));
    assert_eq!(c.cmd(&["MULTI"]), err("ERR MULTI calls can not be nested"));
    assert_eq!(
        c.cmd(&["WATCH", "k"]),
        err("ERR WATCH inside MULTI is not allowed")
    );
    assert_eq!(c.cmd(&["SET", "k", "v"]), queued());
    assert_eq!(c.cmd(&["INCR", "k"]), queued());
    assert_eq!(c.cmd(&["APPEND", "k", "w"]), queued());
    assert_eq!(c.cmd(&["GET", "k"]), queued());
    // Nothing ran yet.
    assert_eq!(s.client().cmd(&["GET", "k"]), Reply::Nil);
    // A runtime error is reported in its place; the others still ran.
    assert_eq!(
        c.cmd(&["EXEC"]),
        Reply::Array(vec![
            simple("OK"),
            err("ERR value is not an integer or out of range"),
            Reply::Int(2),
            bulk("vw"),
        ])
    );
    // DISCARD drops the queue.
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "k", "discarded"]);
    assert_eq!(c.cmd(&["DISCARD"]), simple("OK"));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("vw"));
    // An empty transaction.
    c.cmd(&["MULTI"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Array(vec![]));
}

#[test]
fn commands_refused_while_queueing_abort_the_transaction() {
    let s = Server::start();
    let mut c = s.client();
    for bad in [
        vec!["NOSUCHCOMMAND", "x"],
        vec!["GET"],
        vec!["SAVE"],
        vec!["CLIENT", "NOSUCH"],
    ] {
        assert_eq!(c.cmd(&["MULTI"]), simple("OK"));
        assert_eq!(c.cmd(&["SET", "a", "1"]), queued());
        match c.cmd(&bad) {
            Reply::Error(_) => {}
            other => panic!("{bad:?} was accepted in MULTI: {other:?}"),
        }
        assert_eq!(c.cmd(&["SET", "b", "1"]), queued());
        assert_eq!(
            c.cmd(&["EXEC"]),
            err("EXECABORT Transaction discarded because of previous errors.")
        );
        assert_eq!(c.cmd(&["EXISTS", "a", "b"]), Reply::Int(0));
    }
    c.cmd(&["MULTI"]);
    assert_eq!(
        c.cmd(&["SAVE"]),
        err("ERR Command not allowed inside a transaction")
    );
    c.cmd(&["DISCARD"]);
    // The connection is usable and out of MULTI afterwards.
    assert_eq!(c.cmd(&["SET", "a", "2"]), simple("OK"));
    // RESET leaves MULTI too.
    c.cmd(&["MULTI"]);
    assert_eq!(c.cmd(&["RESET"]), simple("RESET"));
    assert_eq!(c.cmd(&["GET", "a"]), bulk("2"));
}

#[test]
fn vector_set_commands_and_select_run_inside_exec() {
    let mut s = Server::with_args(&["--appendfsync", "always"]);
    let mut c = s.client();
    c.cmd(&["MULTI"]);
    c.cmd(&["VADD", "vs", "VALUES", "2", "1", "0", "a"]);
    c.cmd(&["VADD", "vs", "VALUES", "2", "0", "1", "b"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["SET", "in3", "x"]);
    c.cmd(&["VCARD", "vs"]);
    let r = c.cmd(&["EXEC"]);
    assert_eq!(
        r,
        Reply::Array(vec![
            Reply::Int(1),
            Reply::Int(1),
            simple("OK"),
            simple("OK"),
            Reply::Int(0),
        ])
    );
    // SELECT inside EXEC stays in effect, as in Redis.
    assert_eq!(c.cmd(&["GET", "in3"]), bulk("x"));
    drop(c);
    s.kill9();
    s.restart();
    let mut c = s.client();
    assert_eq!(c.cmd(&["VCARD", "vs"]), Reply::Int(2));
    c.cmd(&["SELECT", "3"]);
    assert_eq!(c.cmd(&["GET", "in3"]), bulk("x"));
    c.cmd(&["SELECT", "0"]);
    assert_eq!(c.cmd(&["EXISTS", "in3"]), Reply::Int(0));
}

#[test]
fn watch_aborts_exec_when_a_watched_key_changes() {
    let s = Server::start();
    let mut c = s.client();
    let mut other = s.client();
    // Unchanged: EXEC runs.
    c.cmd(&["SET", "w", "1"]);
    assert_eq!(c.cmd(&["WATCH", "w", "w2"]), simple("OK"));
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "w", "2"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Array(vec![simple("OK")]));
    // Written by another client: null reply, nothing runs.
    c.cmd(&["WATCH", "w"]);
    other.cmd(&["SET", "w", "other"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "w", "mine"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Nil);
    assert_eq!(c.cmd(&["GET", "w"]), bulk("other"));
    // EXEC unwatched: the next transaction runs.
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "w", "mine"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Array(vec![simple("OK")]));
    // Other ways a key changes: DEL, EXPIRE, RENAME onto it, FLUSHALL,
    // a vector-set write, and expiry.
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["SET", "w", "1"], vec!["DEL", "w"]),
        (vec!["SET", "w", "1"], vec!["EXPIRE", "w", "100"]),
        (vec!["SET", "src", "1"], vec!["RENAME", "src", "w"]),
        (vec!["SET", "w", "1"], vec!["FLUSHALL"]),
        (
            vec!["VADD", "w", "VALUES", "2", "1", "1", "a"],
            vec!["VADD", "w", "VALUES", "2", "1", "2", "b"],
        ),
    ];
    for (setup, change) in cases {
        c.cmd(&["DEL", "w"]);
        c.cmd(&setup);
        c.cmd(&["WATCH", "w"]);
        other.cmd(&change);
        c.cmd(&["MULTI"]);
        c.cmd(&["PING"]);
        assert_eq!(c.cmd(&["EXEC"]), Reply::Nil, "{change:?}");
    }
    c.cmd(&["SET", "w", "1", "PX", "50"]);
    c.cmd(&["WATCH", "w"]);
    std::thread::sleep(Duration::from_millis(120));
    c.cmd(&["MULTI"]);
    c.cmd(&["PING"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Nil, "expired watched key");
    // UNWATCH and DISCARD forget the watched keys.
    c.cmd(&["WATCH", "w"]);
    assert_eq!(c.cmd(&["UNWATCH"]), simple("OK"));
    other.cmd(&["SET", "w", "x"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["PING"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Array(vec![simple("PONG")]));
    // Another database's key of the same name is another key.
    c.cmd(&["WATCH", "w"]);
    other.cmd(&["SELECT", "1"]);
    other.cmd(&["SET", "w", "elsewhere"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["PING"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Array(vec![simple("PONG")]));
    // RESP3: the aborted EXEC is a null.
    let mut c3 = s.client();
    c3.send(&["HELLO", "3"]);
    c3.resp3 = true;
    c3.read();
    c3.cmd(&["WATCH", "w"]);
    other.cmd(&["SELECT", "0"]);
    other.cmd(&["SET", "w", "again"]);
    c3.cmd(&["MULTI"]);
    c3.cmd(&["PING"]);
    assert_eq!(c3.cmd(&["EXEC"]), Reply::Nil);
}

/// Writers run MULTI INCR a INCR b EXEC while readers MGET both: no reader
/// ever sees one incremented without the other.
#[test]
fn exec_is_atomic_for_other_clients() {
    let s = Server::start();
    let port = s.port;
    s.client().cmd(&["MSET", "a", "0", "b", "0"]);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                for _ in 0..300 {
                    c.send(&["MULTI"]);
                    c.send(&["INCR", "a"]);
                    c.send(&["INCR", "b"]);
                    c.send(&["EXEC"]);
                    for _ in 0..3 {
                        c.read();
                    }
                    assert_eq!(c.read().items().len(), 2);
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut seen = 0;
                while !stop.load(Ordering::Relaxed) {
                    let v = c.cmd(&["MGET", "a", "b"]).items();
                    assert_eq!(v[0], v[1], "half a transaction was visible");
                    seen += 1;
                }
                seen
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    let mut c = s.client();
    assert_eq!(c.cmd(&["GET", "a"]), bulk("900"));
    assert_eq!(c.cmd(&["GET", "b"]), bulk("900"));
}

/// Optimistic locking: four clients each add 1 to a counter 100 times
/// with WATCH/GET/MULTI/SET/EXEC, retrying when EXEC is aborted. No
/// increment is lost, and some EXECs were aborted (the race happened).
#[test]
fn watch_races_lose_no_increment() {
    let s = Server::start();
    let port = s.port;
    s.client().cmd(&["SET", "counter", "0"]);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut aborted = 0;
                let mut done = 0;
                while done < 100 {
                    c.cmd(&["WATCH", "counter"]);
                    let v: i64 = c.cmd(&["GET", "counter"]).text().parse().unwrap();
                    c.cmd(&["MULTI"]);
                    c.cmd(&["SET", "counter", &(v + 1).to_string()]);
                    match c.cmd(&["EXEC"]) {
                        Reply::Nil => aborted += 1,
                        Reply::Array(_) => done += 1,
                        other => panic!("EXEC: {other:?}"),
                    }
                }
                aborted
            })
        })
        .collect();
    let aborted: i32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(s.client().cmd(&["GET", "counter"]), bulk("400"));
    assert!(aborted > 0, "no WATCH conflict happened");
}

/// Transactions of 200 SETs each, sent back to back while the server is
/// killed with SIGKILL at random moments (`appendfsync always`): after
/// each restart every transaction is there whole or not at all, and every
/// acknowledged one is there.
#[test]
fn kill9_keeps_a_transaction_whole_or_not_at_all() {
    let mut s = Server::with_args(&["--appendfsync", "always"]);
    let mut acked = 0u64;
    for round in 0..6 {
        let port = s.port;
        let writer = std::thread::spawn(move || {
            let mut c = Client::connect(port);
            let mut acked = Vec::new();
            for t in 0.. {
                let tx = round * 100_000 + t;
                let mut args = vec![Client::encode(&[b"MULTI"])];
                for i in 0..200 {
                    let key = format!("tx:{tx}:{i}");
                    args.push(Client::encode(&[b"SET", key.as_bytes(), b"v"]));
                }
                args.push(Client::encode(&[b"EXEC"]));
                if c.try_send(&args.concat()).is_err() {
                    break;
                }
                let mut ok = true;
                for _ in 0..202 {
                    if c.try_read().is_err() {
                        ok = false;
                        break;
                    }
                }
                if !ok {
                    break;
                }
                acked.push(tx);
            }
            acked
        });
        std::thread::sleep(Duration::from_millis(150 + fastrand::u64(0..400)));
        s.kill9();
        let acked_now = writer.join().unwrap();
        s.restart();
        let mut c = s.client();
        // Keys per transaction, of every round so far.
        let mut per_tx = std::collections::BTreeMap::<u64, usize>::new();
        for k in c.cmd(&["KEYS", "tx:*"]).items() {
            let k = k.text();
            let tx: u64 = k.split(':').nth(1).unwrap().parse().unwrap();
            *per_tx.entry(tx).or_default() += 1;
        }
        for (tx, n) in &per_tx {
            assert_eq!(*n, 200, "transaction {tx} is partly there after kill -9");
        }
        for tx in &acked_now {
            assert!(
                per_tx.contains_key(tx),
                "acknowledged transaction {tx} lost"
            );
        }
        acked += acked_now.len() as u64;
    }
    assert!(
        acked > 6,
        "too few transactions acknowledged to prove anything"
    );
}
