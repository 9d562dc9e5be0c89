//! The object store: restarts from committed versions on local disk and on
//! a real SeaweedFS, an object-store outage during writes and flushes, and
//! garbage collection. (One lake, many servers: `lake.rs`.)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::persistence::{observe, write_everything};
use super::support::{Client, Reply, Server, Weed, info_field};

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

/// Versions listed by VERSIONS, as maps of field -> reply.
fn versions(c: &mut Client) -> Vec<BTreeMap<String, Reply>> {
    c.cmd(&["VERSIONS", "COUNT", "1000"])
        .items()
        .iter()
        .map(|v| {
            v.items()
                .chunks(2)
                .map(|p| (p[0].text(), p[1].clone()))
                .collect()
        })
        .collect()
}

fn int(r: &Reply) -> i64 {
    match r {
        Reply::Int(i) => *i,
        other => panic!("not an int: {other:?}"),
    }
}

/// The chain is whole: versions N, N-1, ..., 1, each with parent one less.
fn assert_chain(vs: &[BTreeMap<String, Reply>]) {
    for (i, v) in vs.iter().enumerate() {
        let version = int(&v["version"]);
        assert_eq!(version as usize, vs.len() - i, "versions are contiguous");
        assert_eq!(int(&v["parent"]), version - 1, "parent of {version}");
    }
}

fn restart_cycle(args: &[String]) {
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let mut s = Server::with_args(&args);
    let mut c = s.client();
    write_everything(&mut c);
    assert_eq!(c.cmd(&["SAVE"]), ok());
    // Changes after the commit live only in the WAL until the next one.
    assert_eq!(c.cmd(&["SET", "after-save", "1"]), ok());
    assert_eq!(
        c.cmd(&[
            "VADD", "vs", "VALUES", "8", "0", "0", "1", "0", "0", "0", "0", "0", "post"
        ]),
        Reply::Int(1)
    );
    std::thread::sleep(Duration::from_millis(5));
    let before = observe(&mut c);
    drop(c);
    s.kill9();
    s.restart();
    let mut c = s.client();
    assert_eq!(observe(&mut c), before, "after kill -9: version + WAL tail");
    // The restart took the lake (acquire), then committed the replayed
    // tail (recover).
    let ops: Vec<Reply> = versions(&mut c)
        .iter()
        .map(|v| v["operation"].clone())
        .collect();
    let bulk = |s: &str| Reply::Bulk(s.as_bytes().to_vec());
    assert_eq!(
        ops,
        [
            bulk("recover"),
            bulk("acquire"),
            bulk("save"),
            bulk("acquire")
        ]
    );
    assert_eq!(
        info_field(&mut c, "persistence", "vexlake_manifest_version"),
        "4"
    );
    drop(c);
    // A graceful stop commits; the next start needs no WAL replay, and the
    // WAL segments it covers are gone.
    s.stop();
    s.restart();
    let mut c = s.client();
    assert_eq!(observe(&mut c), before, "after a graceful restart");
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_changes_since_last_save"),
        "0"
    );
    let vs = versions(&mut c);
    assert_chain(&vs);
    // Nothing was left to replay (no `recover` after the last `acquire`);
    // here the stop had nothing to commit either (the recover commit had
    // everything).
    assert_eq!(vs[0]["operation"], Reply::Bulk(b"acquire".to_vec()));
    assert_eq!(vs[1]["operation"], Reply::Bulk(b"recover".to_vec()));
    // The files alone are enough: without the WAL directory the data is there.
    drop(c);
    s.stop();
    std::fs::remove_dir_all(s.dir.path().join("wal")).unwrap();
    s.restart();
    let mut c = s.client();
    assert_eq!(observe(&mut c), before, "from the committed files only");
    assert_eq!(c.cmd(&["SET", "still", "writable"]), ok());
    drop(c);
    s.kill9();
    s.restart();
    assert_eq!(
        s.client().cmd(&["GET", "still"]),
        Reply::Bulk(b"writable".to_vec())
    );
}

#[test]
fn restart_from_committed_version_on_local_disk() {
    restart_cycle(&[]);
}

#[test]
fn restart_from_committed_version_on_seaweedfs() {
    let weed = Weed::start();
    restart_cycle(&weed.storage_args("restart"));
}

/// SeaweedFS goes away while a flush runs and while clients write: writes
/// are still acknowledged (the WAL has them), SAVE fails with an error,
/// INFO shows it, the flusher retries, and once the store is back nothing
/// is lost.
#[test]
fn seaweedfs_outage_during_flush_loses_nothing() {
    let mut weed = Weed::start();
    let mut args = weed.storage_args("outage");
    args.extend(["--flush-interval".to_string(), "1".to_string()]);
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let mut s = Server::with_args(&args);
    let mut c = s.client();
    // Enough data that a flush takes a moment.
    let blob: Vec<u8> = (0..64 * 4).map(|i| (i * 7 % 251) as u8).collect();
    for chunk in 0..20 {
        let mut args: Vec<Vec<u8>> = vec![
            b"VADDBATCH".to_vec(),
            b"big".to_vec(),
            b"FP32".to_vec(),
            b"64".to_vec(),
            b"ELEMENTS".to_vec(),
        ];
        for i in 0..200 {
            args.push(format!("e{chunk}-{i}").into_bytes());
            let mut v = blob.clone();
            v[0] = (chunk * 13 + i) as u8;
            v[5] = i as u8;
            args.push(v);
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        assert_eq!(c.cmd_bin(&refs), Reply::Int(200));
    }
    for i in 0..100 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), &i.to_string()]), ok());
    }
    // The store dies right as a background flush starts.
    c.cmd(&["BGSAVE", "SCHEDULE"]);
    weed.stop();
    for i in 100..200 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), &i.to_string()]), ok());
    }
    let e = c.cmd(&["SAVE"]);
    assert!(
        matches!(&e, Reply::Error(m) if m.starts_with("ERR storage error")),
        "{e:?}"
    );
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
        "err"
    );
    assert!(!info_field(&mut c, "persistence", "vexlake_last_flush_error").is_empty());
    assert_eq!(c.cmd(&["GET", "k150"]), Reply::Bulk(b"150".to_vec()));
    weed.start_again();
    // The flusher retries with backoff and succeeds once the store is back.
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(&mut c, "persistence", "rdb_last_bgsave_status") != "ok" {
        assert!(Instant::now() < deadline, "the flusher did not recover");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(c.cmd(&["SET", "k200", "200"]), ok());
    let vsim_before = c.cmd(&["VSIM", "big", "ELE", "e3-7", "COUNT", "5"]);
    drop(c);
    s.kill9();
    s.restart();
    let mut c = s.client();
    for i in 0..=200 {
        assert_eq!(
            c.cmd(&["GET", &format!("k{i}")]),
            Reply::Bulk(i.to_string().into_bytes()),
            "k{i}"
        );
    }
    assert_eq!(c.cmd(&["VCARD", "big"]), Reply::Int(4000));
    assert_eq!(
        c.cmd(&["VSIM", "big", "ELE", "e3-7", "COUNT", "5"]),
        vsim_before
    );
}

/// GC keeps the newest `retain-versions` manifests, deletes the files only
/// older versions used and orphans of failed commits, and leaves files it
/// did not write alone.
#[test]
fn gc_keeps_retained_versions_and_removes_unreferenced_files() {
    let mut s = Server::with_args(&[
        "--retain-versions",
        "3",
        "--gc-grace-seconds",
        "0",
        "--compact-deltas",
        "2",
    ]);
    let store = s.dir.path().join("store");
    let orphan = store.join("kv/0000000000001-00000000deadbeef.parquet");
    let foreign = store.join("kv/notes.txt");
    std::fs::create_dir_all(store.join("kv")).unwrap();
    std::fs::write(&orphan, b"half a commit").unwrap();
    std::fs::write(&foreign, b"not ours").unwrap();
    let mut c = s.client();
    for i in 0..8 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), ok());
        assert_eq!(
            c.cmd(&[
                "VADD",
                "vs",
                "VALUES",
                "2",
                &i.to_string(),
                "1",
                &format!("e{i}")
            ]),
            Reply::Int(1)
        );
        assert_eq!(c.cmd(&["SAVE"]), ok());
    }
    let manifests: Vec<_> = std::fs::read_dir(store.join("_metadata"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(manifests.len(), 3, "{manifests:?}");
    assert!(!orphan.exists(), "orphan deleted");
    assert!(foreign.exists(), "files VexLake did not write are kept");
    // Exactly the files the three kept versions name remain.
    let mut named = std::collections::BTreeSet::new();
    for m in &manifests {
        let text = std::fs::read_to_string(store.join("_metadata").join(m)).unwrap();
        for part in text.split("\"path\": \"").skip(1) {
            named.insert(part.split('"').next().unwrap().to_string());
        }
    }
    let on_disk: std::collections::BTreeSet<String> = ["kv", "vsets"]
        .iter()
        .flat_map(|d| walk(&store.join(d)))
        .filter(|p| !p.ends_with("notes.txt"))
        .map(|p| {
            p.strip_prefix(&format!("{}/", store.display()))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(on_disk, named);
    let deleted: u64 = info_field(&mut c, "persistence", "vexlake_gc_deleted_files")
        .parse()
        .unwrap();
    assert!(deleted >= 5 + 5, "{deleted}");
    drop(c);
    s.kill9();
    s.restart();
    let mut c = s.client();
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(9));
    assert_eq!(c.cmd(&["VCARD", "vs"]), Reply::Int(8));
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}
