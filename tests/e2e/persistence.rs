//! Durability over restarts: what a client saw acknowledged is there after a
//! graceful stop and after `kill -9`; a torn WAL tail is repaired, a damaged
//! record in the middle stops the start with a clear error; a full disk
//! turns writes into `-MISCONF` errors that change nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::support::{Client, Reply, Server};

/// Everything a client can observe about the test keys, for comparison
/// before and after a restart.
pub(crate) fn observe(c: &mut Client) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    for db in ["0", "3"] {
        c.cmd(&["SELECT", db]);
        let mut keys: Vec<String> = c
            .cmd(&["KEYS", "*"])
            .items()
            .iter()
            .map(|k| k.text())
            .collect();
        keys.sort();
        for k in keys {
            let t = c.cmd(&["TYPE", &k]).text();
            let ttl = match c.cmd(&["PTTL", &k]) {
                Reply::Int(-1) => "none".to_string(),
                // Rounded so the time between the two observations does
                // not matter.
                Reply::Int(ms) => format!("~{}s", (ms + 30_000) / 60_000),
                other => format!("{other:?}"),
            };
            let value = if t == "string" {
                c.cmd(&["GET", &k]).text()
            } else {
                let mut v = format!(
                    "card={:?} dim={:?} info={:?}",
                    c.cmd(&["VCARD", &k]),
                    c.cmd(&["VDIM", &k]),
                    c.cmd(&["VINFO", &k]).items()[..4].to_vec()
                );
                let mut elems: Vec<String> = c
                    .cmd(&["VRANGE", &k, "-", "+"])
                    .items()
                    .iter()
                    .map(|e| e.text())
                    .collect();
                elems.sort();
                for e in &elems {
                    v.push_str(&format!(
                        " {e}:{:?}:{:?}",
                        c.cmd(&["VEMB", &k, e]),
                        c.cmd(&["VGETATTR", &k, e])
                    ));
                }
                if let Some(first) = elems.first() {
                    v.push_str(&format!(
                        " sim={:?}",
                        c.cmd(&["VSIM", &k, "ELE", first, "COUNT", "5", "WITHSCORES"])
                    ));
                    v.push_str(&format!(
                        " filtered={:?}",
                        c.cmd(&["VSIM", &k, "ELE", first, "COUNT", "5", "FILTER", ".n >= 0"])
                    ));
                }
                v
            };
            seen.insert(format!("{db}/{k}"), format!("{t} {ttl} {value}"));
        }
    }
    c.cmd(&["SELECT", "0"]);
    seen
}

pub(crate) fn write_everything(c: &mut Client) {
    let ok = Reply::Simple("OK".into());
    assert_eq!(c.cmd(&["SET", "plain", "v1"]), ok);
    assert_eq!(c.cmd(&["SET", "ttl", "v2", "EX", "3600"]), ok);
    assert_eq!(c.cmd(&["SET", "gone", "x", "PX", "1"]), ok);
    assert_eq!(c.cmd(&["SET", "counter", "10"]), ok);
    assert_eq!(c.cmd(&["INCRBY", "counter", "5"]), Reply::Int(15));
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "float", "1.5"]),
        Reply::Bulk(b"1.5".to_vec())
    );
    assert_eq!(c.cmd(&["APPEND", "ttl", "+more"]), Reply::Int(7));
    assert_eq!(c.cmd(&["SETRANGE", "plain", "5", "xyz"]), Reply::Int(8));
    assert_eq!(c.cmd(&["MSET", "m1", "a", "m2", "b", "m3", "c"]), ok);
    assert_eq!(c.cmd(&["DEL", "m2"]), Reply::Int(1));
    assert_eq!(c.cmd(&["RENAME", "m3", "renamed"]), ok);
    assert_eq!(c.cmd(&["EXPIRE", "m1", "7200"]), Reply::Int(1));
    assert_eq!(c.cmd(&["SET", "p", "1", "EX", "100"]), ok);
    assert_eq!(c.cmd(&["PERSIST", "p"]), Reply::Int(1));
    assert_eq!(c.cmd(&["GETDEL", "float"]), Reply::Bulk(b"1.5".to_vec()));
    assert_eq!(
        c.cmd(&["GETEX", "plain", "EX", "1800"]),
        Reply::Bulk(b"v1\0\0\0xyz".to_vec())
    );
    assert_eq!(c.cmd(&["SETNX", "plain", "no"]), Reply::Int(0));
    // Database 3: written, flushed, written again.
    assert_eq!(c.cmd(&["SELECT", "3"]), ok);
    assert_eq!(c.cmd(&["SET", "lost", "1"]), ok);
    assert_eq!(c.cmd(&["FLUSHDB"]), ok);
    assert_eq!(c.cmd(&["SET", "in3", "three"]), ok);
    assert_eq!(c.cmd(&["SELECT", "0"]), ok);
    // Vector sets.
    let mut rng = 12345u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        format!("{:.4}", (rng % 2000) as f64 / 1000.0 - 1.0)
    };
    for i in 0..120 {
        let attrs = format!("{{\"n\":{i}}}");
        let vals: Vec<String> = (0..8).map(|_| next()).collect();
        let mut args = vec!["VADD", "vs", "VALUES", "8"];
        args.extend(vals.iter().map(|s| s.as_str()));
        let name = format!("e{i}");
        args.extend([name.as_str(), "SETATTR", attrs.as_str()]);
        assert_eq!(c.cmd(&args), Reply::Int(1));
    }
    let batch_vals: Vec<String> = (0..16).map(|_| next()).collect();
    let mut batch = vec!["VADDBATCH", "vs", "VALUES", "8", "ELEMENTS", "b1"];
    batch.extend(batch_vals[..8].iter().map(|s| s.as_str()));
    batch.push("b2");
    batch.extend(batch_vals[8..].iter().map(|s| s.as_str()));
    assert_eq!(c.cmd(&batch), Reply::Int(2));
    for i in (0..120).step_by(7) {
        assert_eq!(c.cmd(&["VREM", "vs", &format!("e{i}")]), Reply::Int(1));
    }
    assert_eq!(
        c.cmd(&["VSETATTR", "vs", "e1", "{\"n\":100,\"tag\":\"x\"}"]),
        Reply::Int(1)
    );
    assert_eq!(c.cmd(&["VSETATTR", "vs", "e2", ""]), Reply::Int(1));
    // An update of an existing element replaces its vector.
    assert_eq!(
        c.cmd(&[
            "VADD", "vs", "VALUES", "8", "1", "0", "0", "0", "0", "0", "0", "0", "e3"
        ]),
        Reply::Int(0)
    );
    // REDUCE (random projection fixed per set), NOQUANT, METRIC L2.
    for i in 0..10 {
        let v: Vec<String> = (0..6).map(|_| next()).collect();
        let mut args = vec!["VADD", "reduced", "REDUCE", "3", "VALUES", "6"];
        args.extend(v.iter().map(|s| s.as_str()));
        let name = format!("r{i}");
        args.extend([name.as_str(), "NOQUANT"]);
        assert_eq!(c.cmd(&args), Reply::Int(1));
        let mut args = vec!["VADD", "l2set", "VALUES", "2", "0", "0"];
        let x = format!("{i}");
        args[4] = &x;
        args.extend([name.as_str(), "METRIC", "L2", "BIN"]);
        let r = c.cmd(&args);
        assert!(matches!(r, Reply::Error(_)), "BIN needs COSINE: {r:?}");
        args.truncate(args.len() - 1);
        assert_eq!(c.cmd(&args), Reply::Int(1));
    }
    // A set emptied by VREM disappears; a renamed set keeps its elements;
    // a set deleted and created again starts empty.
    assert_eq!(
        c.cmd(&["VADD", "tmp", "VALUES", "2", "1", "1", "only"]),
        Reply::Int(1)
    );
    assert_eq!(c.cmd(&["VREM", "tmp", "only"]), Reply::Int(1));
    assert_eq!(
        c.cmd(&["VADD", "old", "VALUES", "2", "1", "2", "a"]),
        Reply::Int(1)
    );
    assert_eq!(c.cmd(&["RENAME", "old", "new"]), ok);
    assert_eq!(
        c.cmd(&["VADD", "new", "VALUES", "2", "2", "1", "b"]),
        Reply::Int(1)
    );
    assert_eq!(
        c.cmd(&["VADD", "again", "VALUES", "2", "1", "2", "a"]),
        Reply::Int(1)
    );
    assert_eq!(c.cmd(&["DEL", "again"]), Reply::Int(1));
    assert_eq!(
        c.cmd(&["VADD", "again", "VALUES", "2", "5", "5", "z"]),
        Reply::Int(1)
    );
    assert_eq!(c.cmd(&["EXPIRE", "new", "3600"]), Reply::Int(1));
}

fn restart_round_trip(kill: bool) {
    let mut s = Server::start();
    let mut c = s.client();
    write_everything(&mut c);
    std::thread::sleep(Duration::from_millis(5)); // let "gone" expire
    let before = observe(&mut c);
    assert!(before.contains_key("0/vs") && before.contains_key("3/in3"));
    assert!(!before.contains_key("0/gone") && !before.contains_key("0/tmp"));
    assert!(!before.contains_key("3/lost"));
    drop(c);
    if kill {
        s.kill9();
    } else {
        s.stop();
    }
    s.restart();
    let after = observe(&mut s.client());
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k} differs after restart");
    }
    assert_eq!(before.len(), after.len());
    // And the restarted server keeps logging: a second restart too.
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["SET", "second", "life"]),
        Reply::Simple("OK".into())
    );
    assert_eq!(
        c.cmd(&[
            "VADD", "vs", "VALUES", "8", "0", "1", "0", "0", "0", "0", "0", "0", "late"
        ]),
        Reply::Int(1)
    );
    drop(c);
    s.kill9();
    s.restart();
    let mut c = s.client();
    assert_eq!(c.cmd(&["GET", "second"]), Reply::Bulk(b"life".to_vec()));
    assert_eq!(c.cmd(&["VISMEMBER", "vs", "late"]), Reply::Int(1));
    assert_eq!(c.cmd(&["GET", "renamed"]), Reply::Bulk(b"c".to_vec()));
}

#[test]
fn graceful_restart_keeps_keys_ttls_and_vector_sets() {
    restart_round_trip(false);
}

#[test]
fn kill9_restart_keeps_keys_ttls_and_vector_sets() {
    restart_round_trip(true);
}

/// A writer sends commands as fast as it can while another client asks for
/// BGSAVE commits all the time (so restarts load a committed version and
/// replay the WAL after it, with vector sets changing during the flush); the
/// server is killed with SIGKILL at random moments, 24 times. Every
/// acknowledged write must be there after the restart; MSET of two keys is
/// all-or-nothing even when the kill lands in the middle of it.
#[test]
fn kill9_at_random_moments_loses_no_acknowledged_write() {
    let mut s = Server::start();
    let mut acked_pairs: Vec<u64> = Vec::new();
    let mut acked_incrs: i64 = 0;
    let mut acked_vadds: Vec<u64> = Vec::new();
    let mut next_id = 0u64;
    let mut bgsaves = 0;
    let mut rng = fastrand::Rng::with_seed(2026);
    for round in 0..24 {
        let port = s.port;
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            let start = next_id;
            std::thread::spawn(move || {
                let mut pairs = Vec::new();
                let mut incrs = 0i64;
                let mut vadds = Vec::new();
                let Ok(mut c) = Client::try_connect(port) else {
                    return (pairs, incrs, vadds, start);
                };
                let mut id = start;
                while !stop.load(Ordering::Relaxed) {
                    id += 1;
                    let (a, b, v) = (format!("a{id}"), format!("b{id}"), id.to_string());
                    match c.try_cmd(&["MSET", &a, &v, &b, &v]) {
                        Ok(Reply::Simple(_)) => pairs.push(id),
                        _ => break,
                    }
                    match c.try_cmd(&["INCR", "counter"]) {
                        Ok(Reply::Int(_)) => incrs += 1,
                        _ => break,
                    }
                    if id.is_multiple_of(4) {
                        let x = (id % 97) as f64;
                        let (x, y) = (format!("{x}"), format!("{}", id % 89));
                        match c.try_cmd(&["VADD", "vs", "VALUES", "2", &x, &y, &v]) {
                            Ok(Reply::Int(_)) => vadds.push(id),
                            _ => break,
                        }
                    }
                }
                (pairs, incrs, vadds, id)
            })
        };
        let saver = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut commits = 0;
                if let Ok(mut c) = Client::try_connect(port) {
                    while !stop.load(Ordering::Relaxed) {
                        match c.try_cmd(&["BGSAVE"]) {
                            Ok(Reply::Simple(_)) => commits += 1,
                            Ok(_) => {}
                            Err(_) => break,
                        }
                        std::thread::sleep(Duration::from_millis(15));
                    }
                }
                commits
            })
        };
        std::thread::sleep(Duration::from_millis(rng.u64(10..120)));
        s.kill9();
        stop.store(true, Ordering::Relaxed);
        let (pairs, incrs, vadds, last) = writer.join().unwrap();
        bgsaves += saver.join().unwrap();
        acked_pairs.extend(pairs);
        acked_incrs += incrs;
        acked_vadds.extend(vadds);
        // The command in flight at the kill may or may not have landed.
        let in_flight = last;
        next_id = last + 1;
        s.restart();
        let mut c = s.client();
        for &id in acked_pairs.iter().rev().take(300) {
            let got = c.cmd(&["MGET", &format!("a{id}"), &format!("b{id}")]);
            let v = Reply::Bulk(id.to_string().into_bytes());
            assert_eq!(
                got,
                Reply::Array(vec![v.clone(), v]),
                "round {round}: pair {id} lost"
            );
        }
        let got = c.cmd(&["MGET", &format!("a{in_flight}"), &format!("b{in_flight}")]);
        let items = got.items();
        assert_eq!(
            items[0] == Reply::Nil,
            items[1] == Reply::Nil,
            "round {round}: half an MSET: {got:?}"
        );
        let counter = match c.cmd(&["GET", "counter"]) {
            Reply::Bulk(b) => String::from_utf8(b).unwrap().parse::<i64>().unwrap(),
            Reply::Nil => 0,
            other => panic!("{other:?}"),
        };
        // Each round may add one INCR that landed without its reply.
        assert!(
            counter >= acked_incrs && counter <= acked_incrs + round + 1,
            "round {round}: counter {counter}, acknowledged {acked_incrs}"
        );
        acked_incrs = counter;
        for &id in acked_vadds.iter().rev().take(100) {
            assert_eq!(
                c.cmd(&["VISMEMBER", "vs", &id.to_string()]),
                Reply::Int(1),
                "round {round}: VADD {id} lost"
            );
        }
    }
    // Everything, once more, at the end.
    let mut c = s.client();
    for &id in &acked_pairs {
        assert_eq!(
            c.cmd(&["EXISTS", &format!("a{id}"), &format!("b{id}")]),
            Reply::Int(2),
            "pair {id} lost"
        );
    }
    if let Reply::Int(card) = c.cmd(&["VCARD", "vs"]) {
        assert!(card as usize >= acked_vadds.len());
    }
    assert!(acked_pairs.len() > 100, "the writer made progress");
    assert!(
        bgsaves > 24,
        "commits happened during the writes ({bgsaves})"
    );
    let versions = c.cmd(&["VERSIONS", "COUNT", "1"]).items();
    assert_eq!(versions.len(), 1, "versions were committed");
}

fn wal_segments(s: &Server) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(s.dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    v.sort();
    v
}

#[test]
fn torn_tail_is_repaired_and_corrupted_middle_stops_the_start() {
    let mut s = Server::start();
    let mut c = s.client();
    for i in 0..50 {
        c.cmd(&["SET", &format!("k{i}"), &"x".repeat(100)]);
    }
    drop(c);
    s.kill9();
    // A crash in the middle of a write leaves half a record at the end.
    let seg = wal_segments(&s).pop().unwrap();
    let mut data = std::fs::read(&seg).unwrap();
    let good = data.len();
    data.extend_from_slice(&[40, 0, 0, 0, 1, 2, 3, 4, 51, 0]);
    std::fs::write(&seg, &data).unwrap();
    s.restart();
    let mut c = s.client();
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(50));
    assert_eq!(std::fs::metadata(&seg).unwrap().len() as usize, good);
    assert_eq!(c.cmd(&["SET", "after", "1"]), Reply::Simple("OK".into()));
    drop(c);
    s.kill9();
    // A flipped byte inside an early record is not a torn tail.
    let mut data = std::fs::read(&seg).unwrap();
    data[200] ^= 0x55;
    std::fs::write(&seg, &data).unwrap();
    let err = s.restart_expecting_failure();
    assert!(err.contains("WAL corrupted"), "{err}");
    assert!(err.contains(&seg.display().to_string()), "{err}");
}

/// With the WAL's file size limited (`ulimit -f`), writes fail: each gets a
/// `-MISCONF` error and changes nothing; reads keep working; after a
/// restart without the limit every acknowledged write is there.
#[test]
fn full_disk_gives_misconf_and_changes_nothing() {
    // Ignored signals stay ignored across exec: SIGXFSZ must not kill it.
    let mut s = Server::with_wrapper("trap '' XFSZ; ulimit -f 64", &[]);
    let mut c = s.client();
    let mut acked = 0;
    let mut refused = None;
    for i in 0..10_000 {
        match c.cmd(&["SET", &format!("k{i}"), &"v".repeat(200)]) {
            Reply::Simple(_) => acked += 1,
            Reply::Error(e) => {
                refused = Some((i, e));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let (i, e) = refused.expect("the size limit was reached");
    assert!(
        e.starts_with("MISCONF Errors writing to the AOF file:"),
        "{e}"
    );
    assert_eq!(c.cmd(&["EXISTS", &format!("k{i}")]), Reply::Int(0));
    assert_eq!(c.cmd(&["GET", "k0"]), Reply::Bulk(b"v".repeat(200)));
    let big = "w".repeat(300);
    let e = c.cmd(&["SET", "k0", &big]);
    assert!(
        matches!(&e, Reply::Error(m) if m.starts_with("MISCONF")),
        "{e:?}"
    );
    assert_eq!(c.cmd(&["GET", "k0"]), Reply::Bulk(b"v".repeat(200)));
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(acked));
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    drop(c);
    s.kill9();
    s.wrapper = None;
    s.restart();
    let mut c = s.client();
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(acked));
    assert_eq!(c.cmd(&["GET", "k0"]), Reply::Bulk(b"v".repeat(200)));
    assert_eq!(c.cmd(&["SET", "k0", "changed"]), Reply::Simple("OK".into()));
}
