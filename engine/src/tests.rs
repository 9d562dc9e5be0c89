//! Engine unit tests: keyspace rules checked with a manual clock.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;

use crate::keyspace::{ExpireCond, SetCond, SetOptions, SetTtl, Ttl, TtlChange};
use crate::{Clock, Engine, EngineConfig, EngineError};

fn engine() -> (Engine, Clock) {
    let clock = Clock::manual(1_000_000);
    let e = Engine::new(EngineConfig {
        clock: clock.clone(),
        ..EngineConfig::default()
    });
    (e, clock)
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[test]
fn set_get_with_ttl_expires_lazily() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    let opts = SetOptions {
        ttl: SetTtl::At(now + 100),
        ..Default::default()
    };
    db.set(b"k", b"v", opts, now).unwrap();
    assert_eq!(db.get(b"k", now).unwrap(), Some(b("v")));
    assert_eq!(db.ttl(b"k", now), Ttl::Ms(100));
    clock.advance(100);
    assert_eq!(db.get(b"k", clock.now_ms()).unwrap(), None);
    assert_eq!(db.len(), 0, "expired key reclaimed when met");
    assert_eq!(e.stats().expired, 1);
}

#[test]
fn active_expiry_reclaims_untouched_keys() {
    let (e, clock) = engine();
    let now = clock.now_ms();
    for i in 0..5000 {
        let ttl = if i % 2 == 0 {
            SetTtl::At(now + 10)
        } else {
            SetTtl::Clear
        };
        e.db(3)
            .set(
                format!("k{i}").as_bytes(),
                b"x",
                SetOptions {
                    ttl,
                    ..Default::default()
                },
                now,
            )
            .unwrap();
    }
    assert_eq!(e.db(3).volatile_len(), 2500);
    clock.advance(10);
    assert_eq!(e.active_expire_cycle(Duration::from_secs(5)), 2500);
    assert_eq!(e.db(3).len(), 2500);
    assert_eq!(e.db(3).volatile_len(), 0);
}

#[test]
fn set_conditions_keepttl_and_get() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    let nx = SetOptions {
        cond: SetCond::IfMissing,
        ..Default::default()
    };
    let xx = SetOptions {
        cond: SetCond::IfExists,
        ..Default::default()
    };
    assert!(!db.set(b"k", b"1", xx, now).unwrap().written);
    assert!(db.set(b"k", b"1", nx, now).unwrap().written);
    assert!(!db.set(b"k", b"2", nx, now).unwrap().written);
    db.set(
        b"k",
        b"3",
        SetOptions {
            ttl: SetTtl::At(now + 5000),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let got = db
        .set(
            b"k",
            b"4",
            SetOptions {
                ttl: SetTtl::Keep,
                get: true,
                ..Default::default()
            },
            now,
        )
        .unwrap();
    assert_eq!(got.old, Some(b("3")));
    assert_eq!(db.ttl(b"k", now), Ttl::Ms(5000));
    db.set(b"k", b"5", SetOptions::default(), now).unwrap();
    assert_eq!(
        db.ttl(b"k", now),
        Ttl::Persistent,
        "plain SET clears the TTL"
    );
    // A deadline in the past stores nothing.
    db.set(
        b"p",
        b"x",
        SetOptions {
            ttl: SetTtl::At(now - 1),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    assert_eq!(db.get(b"p", now).unwrap(), None);
}

#[test]
fn counters_and_their_errors() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    assert_eq!(db.incr_by(b"n", 5, now), Ok(5));
    assert_eq!(db.incr_by(b"n", -7, now), Ok(-2));
    db.set(
        b"big",
        i64::MAX.to_string().as_bytes(),
        SetOptions::default(),
        now,
    )
    .unwrap();
    assert_eq!(db.incr_by(b"big", 1, now), Err(EngineError::Overflow));
    assert_eq!(
        db.get(b"big", now).unwrap(),
        Some(b(&i64::MAX.to_string())),
        "unchanged after error"
    );
    for bad in ["abc", " 1", "1.5", "01", ""] {
        db.set(b"s", bad.as_bytes(), SetOptions::default(), now)
            .unwrap();
        assert_eq!(
            db.incr_by(b"s", 1, now),
            Err(EngineError::NotInteger),
            "{bad:?}"
        );
    }
    db.set(b"f", b"10.5", SetOptions::default(), now).unwrap();
    assert_eq!(db.incr_by_float(b"f", 0.1, now), Ok(b("10.6")));
    db.set(b"f", b"5.0e3", SetOptions::default(), now).unwrap();
    assert_eq!(db.incr_by_float(b"f", 200.0, now), Ok(b("5200")));
    assert_eq!(
        db.incr_by_float(b"f", f64::INFINITY, now),
        Err(EngineError::NanOrInfinity)
    );
    db.set(b"f", b"x", SetOptions::default(), now).unwrap();
    assert_eq!(db.incr_by_float(b"f", 1.0, now), Err(EngineError::NotFloat));
}

#[test]
fn incr_keeps_ttl() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    db.set(
        b"n",
        b"1",
        SetOptions {
            ttl: SetTtl::At(now + 1000),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    db.incr_by(b"n", 1, now).unwrap();
    db.append(b"n", b"0", 100, now).unwrap();
    assert_eq!(db.get(b"n", now).unwrap(), Some(b("20")));
    assert_eq!(db.ttl(b"n", now), Ttl::Ms(1000));
}

#[test]
fn ranges() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    db.set(b"s", b"This is a string", SetOptions::default(), now)
        .unwrap();
    assert_eq!(db.getrange(b"s", 0, 3, now).unwrap(), b("This"));
    assert_eq!(db.getrange(b"s", -3, -1, now).unwrap(), b("ing"));
    assert_eq!(
        db.getrange(b"s", 0, -1, now).unwrap(),
        b("This is a string")
    );
    assert_eq!(db.getrange(b"s", 10, 100, now).unwrap(), b("string"));
    assert_eq!(db.getrange(b"s", 5, 3, now).unwrap(), b(""));
    assert_eq!(db.getrange(b"s", -1, -5, now).unwrap(), b(""));
    assert_eq!(db.getrange(b"missing", 0, -1, now).unwrap(), b(""));
    assert_eq!(db.setrange(b"s", 10, b"Redis", 100, now), Ok(16));
    assert_eq!(db.get(b"s", now).unwrap(), Some(b("This is a Redisg")));
    assert_eq!(db.setrange(b"z", 3, b"ab", 100, now), Ok(5));
    assert_eq!(
        db.get(b"z", now).unwrap(),
        Some(Bytes::from_static(b"\0\0\0ab"))
    );
    assert_eq!(db.setrange(b"none", 5, b"", 100, now), Ok(0));
    assert_eq!(
        db.key_type(b"none", now),
        None,
        "empty SETRANGE creates nothing"
    );
    assert_eq!(
        db.setrange(b"z", 99, b"ab", 100, now),
        Err(EngineError::StringTooLong)
    );
    assert_eq!(
        db.append(b"z", &[0; 96], 100, now),
        Err(EngineError::StringTooLong)
    );
    assert_eq!(db.strlen(b"z", now), Ok(5));
}

#[test]
fn expire_conditions() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    db.set(b"k", b"v", SetOptions::default(), now).unwrap();
    assert!(!db.expire(b"k", now + 100, ExpireCond::Xx, now).unwrap());
    assert!(
        !db.expire(b"k", now + 100, ExpireCond::Gt, now).unwrap(),
        "no TTL is infinite for GT"
    );
    assert!(
        db.expire(b"k", now + 100, ExpireCond::Lt, now).unwrap(),
        "no TTL is infinite for LT"
    );
    assert!(!db.expire(b"k", now + 200, ExpireCond::Nx, now).unwrap());
    assert!(db.expire(b"k", now + 200, ExpireCond::Gt, now).unwrap());
    assert!(!db.expire(b"k", now + 150, ExpireCond::Gt, now).unwrap());
    assert_eq!(db.ttl(b"k", now), Ttl::Ms(200));
    assert!(db.persist(b"k", now).unwrap());
    assert!(!db.persist(b"k", now).unwrap());
    assert!(
        db.expire(b"k", now, ExpireCond::Always, now).unwrap(),
        "a past deadline deletes"
    );
    assert_eq!(db.ttl(b"k", now), Ttl::Missing);
    assert!(
        !db.expire(b"nokey", now + 1, ExpireCond::Always, now)
            .unwrap()
    );
}

#[test]
fn getex_and_getdel() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    db.set(b"k", b"v", SetOptions::default(), now).unwrap();
    assert_eq!(
        db.getex(b"k", Some(TtlChange::At(now + 50)), now).unwrap(),
        Some(b("v"))
    );
    assert_eq!(db.ttl(b"k", now), Ttl::Ms(50));
    db.getex(b"k", Some(TtlChange::Persist), now).unwrap();
    assert_eq!(db.ttl(b"k", now), Ttl::Persistent);
    assert_eq!(db.getdel(b"k", now).unwrap(), Some(b("v")));
    assert_eq!(db.getdel(b"k", now).unwrap(), None);
}

#[test]
fn multi_key_ops() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    let pairs: Vec<(Bytes, Bytes)> = (0..100)
        .map(|i| (b(&format!("k{i}")), b(&i.to_string())))
        .collect();
    assert!(
        db.mset(&pairs, SetCond::Always, SetTtl::Clear, now)
            .unwrap()
    );
    assert!(
        !db.mset(
            &[(b("new"), b("1")), (b("k5"), b("x"))],
            SetCond::IfMissing,
            SetTtl::Clear,
            now
        )
        .unwrap(),
        "MSETNX all or nothing"
    );
    assert_eq!(db.get(b"new", now).unwrap(), None);
    let keys: Vec<Bytes> = vec![b("k1"), b("nope"), b("k99")];
    assert_eq!(db.mget(&keys, now), vec![Some(b("1")), None, Some(b("99"))]);
    assert_eq!(db.exists(&[b("k1"), b("k1"), b("nope")], now), 2);
    assert_eq!(db.del(&[b("k1"), b("k1"), b("nope")], now).unwrap(), 1);
    assert_eq!(db.len(), 99);
    assert_eq!(db.keys(b"k9*", now).len(), 11);
}

#[test]
fn rename_keeps_ttl_and_replaces() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    db.set(
        b"a",
        b"1",
        SetOptions {
            ttl: SetTtl::At(now + 500),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    db.set(b"b", b"2", SetOptions::default(), now).unwrap();
    assert_eq!(db.rename(b"a", b"b", true, now), Ok(false));
    assert_eq!(db.rename(b"a", b"b", false, now), Ok(true));
    assert_eq!(db.get(b"b", now).unwrap(), Some(b("1")));
    assert_eq!(db.ttl(b"b", now), Ttl::Ms(500));
    assert_eq!(
        db.rename(b"a", b"c", false, now),
        Err(EngineError::NoSuchKey)
    );
    assert_eq!(db.rename(b"b", b"b", false, now), Ok(true));
    assert_eq!(db.rename(b"b", b"b", true, now), Ok(false));
}

#[test]
fn scan_returns_every_key_present_throughout() {
    let (e, clock) = engine();
    let db = e.db(0);
    let now = clock.now_ms();
    for i in 0..3000 {
        db.set(
            format!("keep{i}").as_bytes(),
            b"v",
            SetOptions::default(),
            now,
        )
        .unwrap();
        db.set(
            format!("drop{i}").as_bytes(),
            b"v",
            SetOptions::default(),
            now,
        )
        .unwrap();
    }
    let mut seen = HashSet::new();
    let mut cursor = 0;
    let mut round = 0;
    loop {
        let (next, keys) = db.scan(cursor, Some(b"keep*"), 10, None, now);
        seen.extend(keys);
        // Churn while scanning: delete and add other keys.
        db.del(&[b(&format!("drop{round}"))], now).unwrap();
        db.set(
            format!("new{round}").as_bytes(),
            b"v",
            SetOptions::default(),
            now,
        )
        .unwrap();
        round += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 3000);
    assert!(
        round > 100,
        "COUNT bounds the work per call ({round} calls)"
    );
    let (_, typed) = db.scan(0, None, 100_000, Some(b"vectorset"), now);
    assert!(typed.is_empty());
}

#[test]
fn random_key_and_flush() {
    let (e, clock) = engine();
    let now = clock.now_ms();
    assert_eq!(e.db(1).random_key(now), None);
    e.db(1)
        .set(b"only", b"v", SetOptions::default(), now)
        .unwrap();
    assert_eq!(e.db(1).random_key(now), Some(b("only")));
    assert_eq!(e.db(0).len(), 0, "databases are separate");
    e.flush_all().unwrap();
    assert_eq!(e.db(1).len(), 0);
}

/// The changes taken for an incremental commit: exactly the keys written,
/// removed, renamed or re-expired since the last take, with their current
/// state; a failed commit hands them back; FLUSHDB makes the next take full.
#[test]
fn changes_follow_writes_not_the_dataset() {
    use crate::keyspace::Value;
    let (e, clock) = engine();
    let now = clock.now_ms();
    let db = e.db(0);
    for i in 0..1000 {
        db.put(format!("k{i}").as_bytes(), Value::Str(b("v")), None, now);
    }
    e.db(2).put(b"other", Value::Str(b("x")), None, now);
    let first = e.take_changes(&[]);
    assert_eq!(first.upserts.len(), 1001);
    assert!(e.take_changes(&[]).is_empty(), "taken once");
    db.set(b"k1", b"new", SetOptions::default(), now).unwrap();
    db.del(&[b("k2"), b("missing")], now).unwrap();
    db.rename(b"k3", b"k3b", false, now).unwrap();
    db.expire(b"k4", now + 5000, ExpireCond::Always, now)
        .unwrap();
    db.set(b"k5", b"gone", SetOptions::default(), now).unwrap();
    db.del(&[b("k5")], now).unwrap();
    db.set(b"k6", b"back", SetOptions::default(), now).unwrap();
    db.del(&[b("k6")], now).unwrap();
    db.set(b"k6", b"again", SetOptions::default(), now).unwrap();
    let c = e.take_changes(&[]);
    let up: HashSet<(Bytes, Bytes, Option<u64>)> = c
        .upserts
        .iter()
        .map(|(_, k, v, t)| match v {
            Value::Str(v) => (k.clone(), v.clone(), *t),
            other => panic!("not a string: {other:?}"),
        })
        .collect();
    let want: HashSet<(Bytes, Bytes, Option<u64>)> = [
        (b("k1"), b("new"), None),
        (b("k3b"), b("v"), None),
        (b("k4"), b("v"), Some(now + 5000)),
        (b("k6"), b("again"), None),
    ]
    .into_iter()
    .collect();
    assert_eq!(up, want);
    let removed: HashSet<Bytes> = c.removed.iter().map(|(_, k)| k.clone()).collect();
    assert_eq!(removed, [b("k2"), b("k3"), b("k5")].into_iter().collect());
    assert!(!c.full);
    // A failed commit gives them back: the next take has them again.
    e.give_back(&c);
    let again = e.take_changes(&[]);
    assert_eq!(again.upserts.len(), 4);
    assert_eq!(again.removed.len(), 3);
    // FLUSHDB: the next take lists every key (a new base).
    e.db(2).flush().unwrap();
    db.set(b"after", b"1", SetOptions::default(), now).unwrap();
    let full = e.take_changes(&[]);
    assert!(full.full);
    assert_eq!(
        full.upserts.len(),
        999,
        "998 of k0..k999 (k2, k5 deleted), and after"
    );
    assert!(full.removed.is_empty());
    assert!(!e.take_changes(&[]).full);
}

#[test]
fn active_expiry_removes_due_hash_fields_and_tells_the_hook() {
    use crate::keyspace::{Edit, Expired};
    use std::sync::{Arc, Mutex};
    let (e, clock) = engine();
    let heard: Arc<Mutex<Vec<(usize, Bytes, Expired)>>> = Arc::default();
    let h = heard.clone();
    e.on_expired(Arc::new(move |db, k: &[u8], what| {
        h.lock()
            .unwrap()
            .push((db, Bytes::copy_from_slice(k), what));
    }));
    let now = clock.now_ms();
    let db = e.db(2);
    for key in ["part", "all"] {
        let mut edits = Vec::new();
        for i in 0..10 {
            let f = Bytes::from(format!("f{i}"));
            edits.push(Edit::HSet {
                field: f.clone(),
                value: b("v"),
            });
            // In "part" the even fields expire; in "all" every field does,
            // the later ones first set far away and then brought closer.
            if key == "all" || i % 2 == 0 {
                edits.push(Edit::HExpire {
                    field: f.clone(),
                    at: Some(now + if key == "all" && i > 4 { 10_000 } else { 50 }),
                });
            }
            if key == "all" && i > 4 {
                edits.push(Edit::HExpire {
                    field: f,
                    at: Some(now + 60),
                });
            }
        }
        db.edit(key.as_bytes(), now, |_| Ok(((), edits))).unwrap();
    }
    clock.advance(49);
    assert_eq!(e.active_expire_cycle(Duration::from_secs(5)), 0);
    clock.advance(1);
    e.active_expire_cycle(Duration::from_secs(5));
    // No lookup ran: the sweep alone removed the fields.
    assert_eq!(e.stats().expired_fields, 5 + 5);
    clock.advance(10);
    e.active_expire_cycle(Duration::from_secs(5));
    assert_eq!(e.stats().expired_fields, 5 + 10);
    assert_eq!(db.len(), 1, "the hash whose fields all expired is gone");
    let mut heard = heard.lock().unwrap().clone();
    heard.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        heard,
        vec![
            (2, b("all"), Expired::Fields { emptied: false }),
            (2, b("all"), Expired::Fields { emptied: true }),
            (2, b("part"), Expired::Fields { emptied: false }),
        ]
    );
    let left = db.view(b"part", clock.now_ms(), |v| {
        crate::keyspace::Value::as_hash(v).unwrap().unwrap().len()
    });
    assert_eq!(left, 5);
}
