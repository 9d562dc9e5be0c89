//! The lake is the database: a fresh server on an existing lake restores
//! everything; one writer at a time (a second one is refused, or takes
//! over with `--takeover yes` and fences the first); the WAL in the lake
//! (`--wal-storage object`) loses no acknowledged write when a node is
//! killed and replaced; read replicas follow the writer; commits write what
//! changed; compaction merges deltas; damaged WAL objects stop a start.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::persistence::{observe, write_everything};
use super::support::{Client, Reply, Server, Weed, info_field};

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

fn with(mut base: Vec<String>, more: &[&str]) -> Vec<String> {
    base.extend(more.iter().map(|s| s.to_string()));
    base
}

/// `--storage file://<dir>` for a lake on local disk shared by servers.
fn local_lake(dir: &tempfile::TempDir) -> Vec<String> {
    vec![
        "--storage".into(),
        format!("file://{}", dir.path().display()),
    ]
}

/// A table committed to the lake with INGEST, for the checks below.
fn ingest_table(c: &mut Client) {
    let csv = "id,name\n1,alpha\n2,beta\n3,gamma\n";
    let r = c.cmd(&["INGEST", "people", "FORMAT", "csv", "DATA", csv]);
    assert!(matches!(r, Reply::Array(_) | Reply::Map(_)), "{r:?}");
}

fn table_count(c: &mut Client) -> Reply {
    c.cmd(&["SQL", "SELECT count(*) AS n FROM people"])
}

/// A server started on an empty data directory pointed at an existing lake
/// restores all of it: keys of every database with their TTLs, vector sets
/// (graph loaded, same answers), tables.
fn fresh_node_restores_everything(storage: Vec<String>) {
    let mut a = Server::with_args(&strs(&storage));
    let mut c = a.client();
    write_everything(&mut c);
    ingest_table(&mut c);
    assert_eq!(c.cmd(&["SAVE"]), ok());
    // Changes after the commit: the next flush (shutdown) commits them.
    assert_eq!(c.cmd(&["SET", "late", "1"]), ok());
    let before = observe(&mut c);
    let rows = table_count(&mut c);
    drop(c);
    a.stop();
    // A replaced machine: a new data directory, the same lake.
    let b = Server::with_args(&strs(&storage));
    let mut c = b.client();
    assert_eq!(observe(&mut c), before, "a fresh node sees the whole lake");
    assert_eq!(table_count(&mut c), rows);
    assert_eq!(c.cmd(&["SET", "from-b", "1"]), ok(), "and is its writer");
}

#[test]
fn fresh_node_restores_the_lake_on_local_disk() {
    let lake = tempfile::tempdir().unwrap();
    fresh_node_restores_everything(local_lake(&lake));
}

#[test]
fn fresh_node_restores_the_lake_on_seaweedfs() {
    let weed = Weed::start();
    fresh_node_restores_everything(weed.storage_args("fresh"));
}

/// What a writer thread had acknowledged: keys with values, the last
/// counter value, vector elements.
#[derive(Default)]
struct Acked {
    keys: BTreeMap<String, String>,
    ttl_keys: Vec<String>,
    counter: i64,
    elements: Vec<String>,
}

/// Writes until `stop` (or an error: the server went away), recording
/// every acknowledged write.
fn write_until(port: u16, tag: &str, stop: &AtomicBool, acked: &Mutex<Acked>) {
    let Ok(mut c) = Client::try_connect(port) else {
        return;
    };
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let key = format!("{tag}:k{i}");
        let val = format!("v{i}");
        match c.try_cmd(&["SET", &key, &val]) {
            Ok(r) if r == ok() => {
                acked.lock().unwrap().keys.insert(key, val);
            }
            _ => return,
        }
        if i % 5 == 0 {
            let key = format!("{tag}:ttl{i}");
            match c.try_cmd(&["SET", &key, "t", "EX", "3600"]) {
                Ok(r) if r == ok() => acked.lock().unwrap().ttl_keys.push(key),
                _ => return,
            }
        }
        match c.try_cmd(&["INCR", "counter"]) {
            Ok(Reply::Int(n)) => acked.lock().unwrap().counter = n,
            _ => return,
        }
        if i % 3 == 0 {
            let e = format!("{tag}-e{i}");
            let x = format!("{}", (i % 97) as f32 / 97.0);
            let y = format!("{}", (i % 89) as f32 / 89.0);
            match c.try_cmd(&["VADD", "vs", "VALUES", "3", &x, &y, "1", &e]) {
                Ok(Reply::Int(_)) => acked.lock().unwrap().elements.push(e),
                _ => return,
            }
        }
    }
}

/// Every acknowledged write is in the server at `port`.
fn assert_has(port: u16, acked: &Acked, what: &str) {
    let mut c = Client::connect(port);
    for (k, v) in &acked.keys {
        assert_eq!(
            c.cmd(&["GET", k]),
            Reply::Bulk(v.clone().into_bytes()),
            "{what}: {k}"
        );
    }
    for k in &acked.ttl_keys {
        assert!(
            matches!(c.cmd(&["TTL", k]), Reply::Int(t) if t > 3000),
            "{what}: ttl of {k}"
        );
    }
    if acked.counter > 0 {
        match c.cmd(&["GET", "counter"]) {
            Reply::Bulk(b) => {
                let n: i64 = String::from_utf8(b).unwrap().parse().unwrap();
                assert!(
                    n >= acked.counter,
                    "{what}: counter {n} < acknowledged {}",
                    acked.counter
                );
            }
            other => panic!("{what}: counter {other:?}"),
        }
    }
    for e in &acked.elements {
        assert_eq!(
            c.cmd(&["VISMEMBER", "vs", e]),
            Reply::Int(1),
            "{what}: element {e}"
        );
    }
}

/// With the WAL in the lake, a writer killed at a random moment and
/// replaced by a server on an empty directory loses no acknowledged write
/// (20 times, each replacement taking over while the next one writes).
#[test]
fn object_wal_replacement_loses_no_acknowledged_write() {
    let weed = Weed::start();
    let storage = with(
        weed.storage_args("nodes"),
        &[
            "--wal-storage",
            "object",
            "--takeover",
            "yes",
            "--flush-interval",
            "1",
        ],
    );
    let all = Mutex::new(Acked::default());
    let mut server = Server::with_args(&strs(&storage));
    let mut c = server.client();
    ingest_table(&mut c);
    let rows = table_count(&mut c);
    drop(c);
    for round in 0..20 {
        let stop = AtomicBool::new(false);
        let acked = Mutex::new(Acked::default());
        let port = server.port;
        std::thread::scope(|s| {
            s.spawn(|| write_until(port, &format!("r{round}"), &stop, &acked));
            std::thread::sleep(Duration::from_millis(100 + fastrand::u64(0..400)));
            server.kill9();
            stop.store(true, Ordering::Relaxed);
        });
        let mut acked = acked.into_inner().unwrap();
        {
            let mut all = all.lock().unwrap();
            all.keys.append(&mut acked.keys);
            all.ttl_keys.append(&mut acked.ttl_keys);
            all.elements.append(&mut acked.elements);
            all.counter = all.counter.max(acked.counter);
        }
        // The replacement: an empty data directory.
        server = Server::with_args(&strs(&storage));
        assert_has(server.port, &all.lock().unwrap(), &format!("round {round}"));
    }
    let mut c = server.client();
    assert_eq!(table_count(&mut c), rows);
    assert!(
        all.lock().unwrap().keys.len() > 100,
        "the writers made progress"
    );
}

/// Without the WAL in the lake, a replacement has everything up to the
/// last commit.
#[test]
fn local_wal_replacement_has_the_last_commit() {
    let lake = tempfile::tempdir().unwrap();
    let storage = with(local_lake(&lake), &["--takeover", "yes"]);
    let mut a = Server::with_args(&strs(&storage));
    let mut c = a.client();
    write_everything(&mut c);
    assert_eq!(c.cmd(&["SAVE"]), ok());
    let committed = observe(&mut c);
    assert_eq!(c.cmd(&["SET", "after-commit", "1"]), ok());
    drop(c);
    a.kill9();
    let b = Server::with_args(&strs(&storage));
    let mut c = b.client();
    assert_eq!(observe(&mut c), committed);
}

/// A second server started as writer on a lake with a live writer is
/// refused with a message saying how to take over; with `--takeover yes`
/// it becomes the writer and fences the first, whose writes are then
/// refused with -READONLY. Every write the first acknowledged (WAL in the
/// lake) is in the second, and the version chain is contiguous.
fn takeover(storage: Vec<String>) {
    let storage = with(storage, &["--wal-storage", "object"]);
    let a = Server::with_args(&strs(&storage));
    let mut ca = a.client();
    assert_eq!(ca.cmd(&["SET", "before", "a"]), ok());
    assert_eq!(ca.cmd(&["SAVE"]), ok());
    let refused = Server::start_expecting_failure(&strs(&storage));
    assert!(
        refused.contains("live writer") && refused.contains("--takeover yes"),
        "{refused}"
    );
    // A keeps writing while B takes over.
    let stop = AtomicBool::new(false);
    let acked = Mutex::new(Acked::default());
    let b = std::thread::scope(|s| {
        s.spawn(|| write_until(a.port, "a", &stop, &acked));
        std::thread::sleep(Duration::from_millis(300));
        let b = Server::with_args(&strs(&with(storage.clone(), &["--takeover", "yes"])));
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        b
    });
    // A is fenced: its writes are refused (at once with the object WAL's
    // fence, at the latest after its next heartbeat).
    // A write caught by the fence itself is not acknowledged: its
    // connection is closed without a reply.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match ca.try_cmd(&["SET", "after", "a"]) {
            Ok(Reply::Error(e)) if e.starts_with("READONLY") => break,
            Ok(_) => {}
            Err(_) => ca = a.client(),
        }
        assert!(Instant::now() < deadline, "the old writer was not fenced");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(info_field(&mut ca, "replication", "lake_fenced"), "1");
    assert!(matches!(ca.cmd(&["SAVE"]), Reply::Error(e) if e.starts_with("READONLY")));
    assert_eq!(
        ca.cmd(&["GET", "before"]),
        Reply::Bulk(b"a".to_vec()),
        "reads still work"
    );
    let acked = acked.into_inner().unwrap();
    assert!(!acked.keys.is_empty());
    assert_has(b.port, &acked, "after the takeover");
    let mut cb = b.client();
    assert_eq!(cb.cmd(&["GET", "before"]), Reply::Bulk(b"a".to_vec()));
    assert_eq!(cb.cmd(&["SET", "b", "1"]), ok());
    assert_eq!(cb.cmd(&["SAVE"]), ok());
    let vs = cb.cmd(&["VERSIONS", "COUNT", "1000"]).items();
    let mut epochs = Vec::new();
    for (i, v) in vs.iter().enumerate() {
        let version = match v.get("version") {
            Some(Reply::Int(n)) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(version as usize, vs.len() - i, "versions are contiguous");
        assert_eq!(v.get("parent"), Some(Reply::Int(version - 1)));
        if let Some(Reply::Int(e)) = v.get("epoch") {
            epochs.push(e);
        }
    }
    assert!(
        epochs.windows(2).all(|w| w[0] >= w[1]),
        "epochs never go back: {epochs:?}"
    );
    assert_eq!(
        info_field(&mut cb, "replication", "lake_epoch"),
        epochs[0].to_string()
    );
}

#[test]
fn second_writer_is_refused_or_takes_over_on_local_disk() {
    let lake = tempfile::tempdir().unwrap();
    takeover(local_lake(&lake));
}

#[test]
fn second_writer_is_refused_or_takes_over_on_seaweedfs() {
    let weed = Weed::start();
    takeover(weed.storage_args("takeover"));
}

/// Read replicas follow a writer whose WAL is in the lake: a write is
/// visible on them within a second; writes to them get -READONLY; INFO
/// shows role:slave; they keep following across the writer's restart.
#[test]
fn replicas_follow_the_writer() {
    let weed = Weed::start();
    let storage = with(weed.storage_args("replicas"), &["--wal-storage", "object"]);
    let mut w = Server::with_args(&strs(&storage));
    let mut cw = w.client();
    assert_eq!(cw.cmd(&["SET", "k0", "v0"]), ok());
    assert_eq!(
        cw.cmd(&["VADD", "vs", "VALUES", "2", "1", "0", "a"]),
        Reply::Int(1)
    );
    ingest_table(&mut cw);
    let replica_args = with(storage.clone(), &["--replica-of-lake", "yes"]);
    let r1 = Server::with_args(&strs(&replica_args));
    let r2 = Server::with_args(&strs(&replica_args));
    let mut c1 = r1.client();
    let mut c2 = r2.client();
    let visible = |c: &mut Client, key: &str, want: &str| {
        let start = Instant::now();
        while c.cmd(&["GET", key]) != Reply::Bulk(want.as_bytes().to_vec()) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{key} never reached the replica"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        start.elapsed()
    };
    visible(&mut c1, "k0", "v0");
    let mut lags = Vec::new();
    for i in 1..=20 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        assert_eq!(cw.cmd(&["SET", &k, &v]), ok());
        lags.push(visible(&mut c1, &k, &v));
        visible(&mut c2, &k, &v);
    }
    lags.sort();
    assert!(
        lags[10] < Duration::from_secs(1),
        "median lag {:?}",
        lags[10]
    );
    assert!(lags[19] < Duration::from_secs(5), "max lag {:?}", lags[19]);
    for c in [&mut c1, &mut c2] {
        assert_eq!(
            c.cmd(&["SET", "x", "1"]),
            Reply::Error("READONLY You can't write against a read only replica.".into())
        );
        assert!(
            matches!(c.cmd(&["VADD", "vs", "VALUES", "2", "0", "1", "b"]), Reply::Error(e) if e.starts_with("READONLY"))
        );
        assert!(
            matches!(c.cmd(&["INGEST", "t", "FORMAT", "csv", "DATA", "a\n1\n"]), Reply::Error(e) if e.starts_with("READONLY"))
        );
        assert!(matches!(c.cmd(&["SAVE"]), Reply::Error(e) if e.starts_with("READONLY")));
        for write in [
            "CREATE TABLE r AS SELECT 1 AS x",
            "INSERT INTO people VALUES (5, 'e')",
            "DELETE FROM people",
            "DROP TABLE people",
            "ALTER TABLE people ADD COLUMN z INT",
        ] {
            assert_eq!(
                c.cmd(&["SQL", write]),
                Reply::Error("READONLY You can't write against a read only replica.".into()),
                "{write}"
            );
        }
        assert_eq!(info_field(c, "replication", "role"), "slave");
        assert_eq!(info_field(c, "replication", "master_link_status"), "up");
        assert_eq!(c.cmd(&["VCARD", "vs"]), Reply::Int(1));
        assert_eq!(table_count(c), table_count(&mut cw));
        assert_eq!(c.cmd(&["GET", "x"]), Reply::Nil);
    }
    // A table written by SQL on the writer is read by the replicas from
    // the bucket.
    let created = cw.cmd(&[
        "SQL",
        "CREATE TABLE sq AS SELECT value AS v FROM range(0, 1000)",
    ]);
    assert_eq!(
        created,
        Reply::Array(vec![
            Reply::Array(vec![Reply::Bulk(b"count".to_vec())]),
            Reply::Array(vec![Reply::Int(1000)])
        ])
    );
    for c in [&mut c1, &mut c2] {
        assert_eq!(
            c.cmd(&["SQL", "SELECT sum(v) AS s FROM sq"]),
            Reply::Array(vec![
                Reply::Array(vec![Reply::Bulk(b"s".to_vec())]),
                Reply::Array(vec![Reply::Int(499500)])
            ])
        );
    }
    // Function libraries follow too (a WAL record of their own).
    let lib = "#!lua name=rlib\nredis.register_function{function_name='rget', callback=function(k) return redis.call('GET', k[1]) end, flags={'no-writes'}}";
    assert_eq!(
        cw.cmd(&["FUNCTION", "LOAD", lib]),
        Reply::Bulk(b"rlib".to_vec())
    );
    for c in [&mut c1, &mut c2] {
        let start = Instant::now();
        while c.cmd(&["FCALL_RO", "rget", "1", "k0"]) != Reply::Bulk(b"v0".to_vec()) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the library never reached the replica"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            matches!(c.cmd(&["FUNCTION", "DELETE", "rlib"]), Reply::Error(e) if e.starts_with("READONLY"))
        );
    }
    // The writer restarts (a new epoch, a fence in the WAL chain): the
    // replicas keep following.
    drop(cw);
    w.stop();
    w.restart();
    let mut cw = w.client();
    assert_eq!(cw.cmd(&["SET", "after-restart", "yes"]), ok());
    assert_eq!(
        cw.cmd(&["VADD", "vs", "VALUES", "2", "0", "1", "b"]),
        Reply::Int(1)
    );
    assert_eq!(cw.cmd(&["SET", "last", "1"]), ok());
    for c in [&mut c1, &mut c2] {
        visible(c, "after-restart", "yes");
        visible(c, "last", "1");
        assert_eq!(c.cmd(&["VCARD", "vs"]), Reply::Int(2));
    }
}

/// A replica of a writer with a local WAL sees commits (it reloads each
/// newer version); one paused past GC retention reloads the newest version.
#[test]
fn replica_catches_up_from_versions() {
    let lake = tempfile::tempdir().unwrap();
    let storage = with(
        local_lake(&lake),
        &["--retain-versions", "2", "--gc-grace-seconds", "0"],
    );
    let w = Server::with_args(&strs(&storage));
    let mut cw = w.client();
    assert_eq!(cw.cmd(&["SET", "a", "1"]), ok());
    assert_eq!(cw.cmd(&["SAVE"]), ok());
    let r = Server::with_args(&strs(&with(storage.clone(), &["--replica-of-lake", "yes"])));
    let mut cr = r.client();
    assert_eq!(cr.cmd(&["GET", "a"]), Reply::Bulk(b"1".to_vec()));
    assert_eq!(cw.cmd(&["SET", "b", "2"]), ok());
    assert_eq!(cr.cmd(&["GET", "b"]), Reply::Nil, "not committed yet");
    assert_eq!(cw.cmd(&["SAVE"]), ok());
    let until = |c: &mut Client, k: &str, want: Reply| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.cmd(&["GET", k]) != want {
            assert!(Instant::now() < deadline, "{k} did not reach the replica");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    until(&mut cr, "b", Reply::Bulk(b"2".to_vec()));
    // Pause the replica while the writer commits many times (GC deletes
    // the versions and files it knew), then let it go on.
    r.signal("STOP");
    for i in 0..6 {
        assert_eq!(cw.cmd(&["SET", &format!("p{i}"), "x"]), ok());
        assert_eq!(cw.cmd(&["DEL", "a"]), Reply::Int(i64::from(i == 0)));
        assert_eq!(cw.cmd(&["SAVE"]), ok());
    }
    r.signal("CONT");
    until(&mut cr, "p5", Reply::Bulk(b"x".to_vec()));
    assert_eq!(cr.cmd(&["GET", "a"]), Reply::Nil);
    assert_eq!(cr.cmd(&["DBSIZE"]), cw.cmd(&["DBSIZE"]));
}

/// A commit writes what changed, not the dataset: 1,000,000 keys, then 1 %
/// of them changed between two commits.
#[test]
fn commit_bytes_follow_the_change() {
    let s = Server::with_args(&["--flush-interval", "3600"]);
    let mut c = s.client();
    let batch = 10_000;
    for chunk in 0..100 {
        let mut buf = Vec::new();
        for i in chunk * batch..(chunk + 1) * batch {
            let i = i as u64;
            buf.extend(Client::encode(&[
                b"SET",
                format!("key:{i:07}").as_bytes(),
                format!("value-{i}-{}", i * 7919 % 100_003).as_bytes(),
            ]));
        }
        c.send_raw(&buf);
        for _ in 0..batch {
            assert_eq!(c.read(), ok());
        }
    }
    assert_eq!(c.cmd(&["SAVE"]), ok());
    let full: u64 = info_field(&mut c, "storage", "last_commit_bytes")
        .parse()
        .unwrap();
    let mut buf = Vec::new();
    for i in (0..1_000_000).step_by(100) {
        buf.extend(Client::encode(&[
            b"SET",
            format!("key:{i:07}").as_bytes(),
            b"changed",
        ]));
    }
    c.send_raw(&buf);
    for _ in 0..10_000 {
        assert_eq!(c.read(), ok());
    }
    assert_eq!(c.cmd(&["SAVE"]), ok());
    let delta: u64 = info_field(&mut c, "storage", "last_commit_bytes")
        .parse()
        .unwrap();
    assert!(
        full > 10_000_000,
        "the first commit holds the dataset: {full} bytes"
    );
    assert!(
        delta * 20 < full,
        "a 1 % change wrote {delta} bytes against {full} for the dataset"
    );
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(1_000_000));
    assert_eq!(
        c.cmd(&["GET", "key:0000100"]),
        Reply::Bulk(b"changed".to_vec())
    );
}

/// String-key deltas are merged into a new base in the background (a
/// version of its own) while writes go on; nothing is lost.
#[test]
fn compaction_merges_deltas() {
    let mut s = Server::with_args(&["--compact-deltas", "3", "--flush-interval", "3600"]);
    let mut c = s.client();
    for round in 0..8 {
        for i in 0..50 {
            let k = format!("k{i}");
            assert_eq!(c.cmd(&["SET", &k, &format!("{round}")]), ok());
        }
        assert_eq!(c.cmd(&["DEL", &format!("k{round}")]), Reply::Int(1));
        assert_eq!(
            c.cmd(&["SET", &format!("ttl{round}"), "x", "PX", "1"]),
            ok()
        );
        assert_eq!(c.cmd(&["SAVE"]), ok());
        // The flusher starts compaction after its own commits; BGSAVE
        // goes through it.
        c.cmd(&["BGSAVE", "SCHEDULE"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(&mut c, "storage", "compactions") == "0" {
        assert!(Instant::now() < deadline, "no compaction ran");
        assert_eq!(c.cmd(&["SET", "poke", "1"]), ok());
        c.cmd(&["BGSAVE", "SCHEDULE"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let vs = c.cmd(&["VERSIONS", "COUNT", "100"]).items();
    assert!(
        vs.iter()
            .any(|v| v.get("operation") == Some(Reply::Bulk(b"compact".to_vec())))
    );
    let kv_files: u64 = info_field(&mut c, "storage", "kv_files").parse().unwrap();
    assert!(kv_files <= 4, "{kv_files} kv files after compaction");
    let before = observe(&mut c);
    drop(c);
    s.kill9();
    s.restart();
    let mut c = s.client();
    assert_eq!(observe(&mut c), before);
    assert_eq!(
        c.cmd(&["GET", "k7"]),
        Reply::Nil,
        "deleted in the last round"
    );
    assert_eq!(c.cmd(&["GET", "k20"]), Reply::Bulk(b"7".to_vec()));
}

/// A damaged WAL object, or one missing in the middle of the chain, stops
/// the start with an error naming it (acknowledged writes may be in it).
#[test]
fn damaged_or_missing_wal_objects_stop_the_start() {
    let lake = tempfile::tempdir().unwrap();
    let storage = with(
        local_lake(&lake),
        &[
            "--wal-storage",
            "object",
            "--takeover",
            "yes",
            "--flush-interval",
            "3600",
        ],
    );
    let mut s = Server::with_args(&strs(&storage));
    let mut c = s.client();
    for i in 0..5 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), ok());
    }
    drop(c);
    s.kill9();
    let wal = lake.path().join("wal");
    let mut objects: Vec<_> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    objects.sort();
    assert!(objects.len() >= 4, "{objects:?}");
    // Flip a byte in the second-to-last object.
    let victim = objects[objects.len() - 2].clone();
    let original = std::fs::read(&victim).unwrap();
    let mut bad = original.clone();
    bad[40] ^= 0x55;
    std::fs::write(&victim, &bad).unwrap();
    let err = s.restart_expecting_failure();
    let name = victim.file_name().unwrap().to_string_lossy().to_string();
    assert!(err.contains(&name) && err.contains("damaged"), "{err}");
    // Missing in the middle.
    std::fs::remove_file(&victim).unwrap();
    let err = s.restart_expecting_failure();
    assert!(err.contains(&name) && err.contains("missing"), "{err}");
    // Put back, everything is there.
    std::fs::write(&victim, &original).unwrap();
    s.restart();
    let mut c = s.client();
    for i in 0..5 {
        assert_eq!(
            c.cmd(&["GET", &format!("k{i}")]),
            Reply::Bulk(b"v".to_vec())
        );
    }
}

/// SeaweedFS goes away while clients write with the WAL in the lake:
/// writes are refused (never acknowledged without being stored), and
/// after it is back every acknowledged write survives a node replacement.
#[test]
fn store_outage_with_object_wal_acknowledges_nothing_undurable() {
    let mut weed = Weed::start();
    let storage = with(
        weed.storage_args("outage-wal"),
        &["--wal-storage", "object", "--takeover", "yes"],
    );
    let mut s = Server::with_args(&strs(&storage));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut c = s.client();
    for i in 0..50 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), ok());
        acked.lock().unwrap().push(format!("k{i}"));
    }
    weed.stop();
    let mut refused = 0;
    for i in 50..60 {
        let mut c = Client::connect(s.port);
        match c.try_cmd(&["SET", &format!("k{i}"), "v"]) {
            Ok(r) if r == ok() => acked.lock().unwrap().push(format!("k{i}")),
            _ => refused += 1,
        }
    }
    assert!(
        refused > 0,
        "writes were acknowledged while the store was down"
    );
    weed.start_again();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut c = loop {
        let mut c = Client::connect(s.port);
        if c.try_cmd(&["SET", "back", "1"]).is_ok_and(|r| r == ok()) {
            break c;
        }
        assert!(Instant::now() < deadline, "writes never worked again");
        std::thread::sleep(Duration::from_millis(500));
    };
    acked.lock().unwrap().push("back".into());
    for i in 60..70 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), ok());
        acked.lock().unwrap().push(format!("k{i}"));
    }
    drop(c);
    s.kill9();
    let s2 = Server::with_args(&strs(&storage));
    let mut c = s2.client();
    for k in acked.lock().unwrap().iter() {
        assert_ne!(c.cmd(&["GET", k]), Reply::Nil, "{k}");
    }
}

/// A restart after `kill -9` re-inserts at most `flush-vector-inserts`
/// logged VADDs: the flusher commits once that many are uncommitted.
#[test]
fn vector_inserts_bound_the_wal_tail() {
    let mut s = Server::with_args(&["--flush-vector-inserts", "500", "--flush-interval", "3600"]);
    let mut c = s.client();
    for i in 0..2000 {
        let x = format!("{}", (i % 101) as f32);
        let y = format!("{}", (i % 7) as f32);
        assert_eq!(
            c.cmd(&["VADD", "vs", "VALUES", "3", &x, &y, "1", &format!("e{i}")]),
            Reply::Int(1)
        );
    }
    std::thread::sleep(Duration::from_millis(600));
    let vs = c.cmd(&["VERSIONS", "COUNT", "1"]).items();
    let committed = match vs[0].get("wal_position") {
        Some(Reply::Int(n)) => n,
        other => panic!("{other:?}"),
    };
    let written: i64 = info_field(&mut c, "replication", "master_repl_offset")
        .parse()
        .unwrap();
    assert!(
        written - committed <= 1000,
        "{} records uncommitted",
        written - committed
    );
    drop(c);
    s.kill9();
    s.restart();
    assert_eq!(s.client().cmd(&["VCARD", "vs"]), Reply::Int(2000));
}

/// Rewrites version `v` of the lake in `store` as a format-1 manifest
/// (each writer id gets a copy of the keys and sets) and deletes every
/// newer version: a lake as servers before format 2 left it.
fn downgrade_to_format_1(store: &std::path::Path, writers: &[&str]) {
    let meta = store.join("_metadata");
    let mut versions: Vec<_> = std::fs::read_dir(&meta)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    versions.sort();
    let newest = versions.pop().unwrap();
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&newest).unwrap()).unwrap();
    let kv: Vec<serde_json::Value> = m["kv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| serde_json::json!({"path": f["path"], "size": f["size"], "rows": f["rows"]}))
        .collect();
    assert_eq!(kv.len(), 1, "one base file");
    let vsets: Vec<serde_json::Value> = m["vsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert!(v["deltas"].as_array().unwrap().is_empty());
            let mut v = v.clone();
            let base = v["base"].clone();
            let o = v.as_object_mut().unwrap();
            o.remove("base");
            o.remove("deltas");
            o.insert("data".into(), base["data"].clone());
            o.insert("index".into(), base["index"].clone());
            v
        })
        .collect();
    let mut entries = serde_json::Map::new();
    for w in writers {
        entries.insert(
            w.to_string(),
            serde_json::json!({"wal_position": m["wal"]["position"], "kv": kv, "vsets": vsets}),
        );
    }
    let v1 = serde_json::json!({
        "format_version": 1, "version": m["version"], "parent": m["parent"],
        "timestamp_ms": m["timestamp_ms"], "operation": "flush",
        "committed_by": writers[0], "writers": entries, "tables": m["tables"],
    });
    std::fs::write(&newest, serde_json::to_vec_pretty(&v1).unwrap()).unwrap();
}

/// A lake in format 1 is upgraded by the first writer started on it: the
/// only writer entry becomes the lake. With several entries the start is
/// refused with a message naming `--lake-upgrade-writer`, which then picks
/// one. A replica on a format-1 lake is refused.
#[test]
fn format_1_lakes_are_upgraded() {
    for writers in [&["w-old"][..], &["w-one", "w-two"][..]] {
        let lake = tempfile::tempdir().unwrap();
        let storage = local_lake(&lake);
        let mut a = Server::with_args(&strs(&storage));
        let mut c = a.client();
        write_everything(&mut c);
        ingest_table(&mut c);
        assert_eq!(c.cmd(&["SAVE"]), ok());
        let before = observe(&mut c);
        let rows = table_count(&mut c);
        drop(c);
        a.kill9();
        downgrade_to_format_1(lake.path(), writers);
        let refused = Server::start_expecting_failure(&strs(&with(
            storage.clone(),
            &["--replica-of-lake", "yes"],
        )));
        assert!(refused.contains("format 1"), "{refused}");
        let args = if writers.len() > 1 {
            let refused = Server::start_expecting_failure(&strs(&storage));
            assert!(
                refused.contains("--lake-upgrade-writer") && refused.contains("w-two"),
                "{refused}"
            );
            with(storage.clone(), &["--lake-upgrade-writer", "w-two"])
        } else {
            storage.clone()
        };
        let b = Server::with_args(&strs(&args));
        let mut c = b.client();
        assert_eq!(observe(&mut c), before, "{writers:?}");
        assert_eq!(table_count(&mut c), rows);
        let ops: Vec<Reply> = c
            .cmd(&["VERSIONS", "COUNT", "2"])
            .items()
            .iter()
            .map(|v| v.get("operation").unwrap())
            .collect();
        assert_eq!(ops[0], Reply::Bulk(b"upgrade".to_vec()));
    }
}
