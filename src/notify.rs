//! Keyspace notifications (`notify-keyspace-events`): after a command
//! changes a key, a message on `__keyspace@<db>__:<key>` (the event name)
//! and on `__keyevent@<db>__:<event>` (the key), for the classes switched
//! on, as Redis publishes them. Expiry (`x`) comes from the engine's
//! expiry hook, eviction (`e`) from the evictor.

use std::sync::atomic::{AtomicU32, Ordering};

use bytes::{BufMut, Bytes, BytesMut};

/// `K`: `__keyspace@<db>__:<key>` messages.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: `__keyevent@<db>__:<event>` messages.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted-set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: keys removed because their TTL passed.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: keys evicted under `maxmemory`.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: key misses (not part of `A`).
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module key types (vector sets: VADD, VREM, VSETATTR).
pub const MODULE: u32 = 1 << 13;
/// `n`: new keys (not part of `A`).
pub const NEW: u32 = 1 << 14;
/// `o`: overwritten keys (not part of `A`).
pub const OVERWRITTEN: u32 = 1 << 15;
/// `c`: keys whose type changed (not part of `A`).
pub const TYPE_CHANGED: u32 = 1 << 16;
/// `a`: array commands.
pub const ARRAY: u32 = 1 << 23;
/// `A`: every class but `m`, `n`, `o` and `c`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE | ARRAY;

/// Class letters in the order Redis prints them (after `A` or the classes).
const CLASSES: &[(char, u32)] = &[
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
    ('a', ARRAY),
    ('n', NEW),
    ('o', OVERWRITTEN),
    ('c', TYPE_CHANGED),
];

/// Parses a `notify-keyspace-events` string (`""` = off); `None` for an
/// unknown letter.
pub fn parse(classes: &str) -> Option<u32> {
    let mut flags = 0;
    for c in classes.chars() {
        flags |= match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            _ => CLASSES.iter().find(|(l, _)| *l == c)?.1,
        };
    }
    Some(flags)
}

/// The string CONFIG GET shows for `flags` (Redis's canonical order).
pub fn format(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
        for &(l, f) in &CLASSES[11..] {
            if flags & f != 0 {
                s.push(l);
            }
        }
    } else {
        for &(l, f) in CLASSES {
            if flags & f != 0 {
                s.push(l);
            }
        }
    }
    for (l, f) in [('K', KEYSPACE), ('E', KEYEVENT), ('m', KEY_MISS)] {
        if flags & f != 0 {
            s.push(l);
        }
    }
    s
}

/// The classes switched on, read on every change.
#[derive(Debug, Default)]
pub struct Notifier {
    flags: AtomicU32,
}

impl Notifier {
    /// With `flags` switched on.
    pub fn new(flags: u32) -> Self {
        Notifier {
            flags: AtomicU32::new(flags),
        }
    }

    /// Switches to `flags` (CONFIG SET notify-keyspace-events).
    pub fn set(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    /// Whether an event of `class` is published (its class is on, and `K`
    /// or `E` is).
    #[inline]
    pub fn wants(&self, class: u32) -> bool {
        let f = self.flags.load(Ordering::Relaxed);
        f & class != 0 && f & (KEYSPACE | KEYEVENT) != 0
    }

    /// Publishes `event` on `key` of database `db` through `pubsub`, on the
    /// channels the flags ask for.
    pub fn publish(
        &self,
        pubsub: &crate::pubsub::PubSub,
        class: u32,
        event: &str,
        key: &[u8],
        db: usize,
    ) {
        let f = self.flags.load(Ordering::Relaxed);
        if f & class == 0 {
            return;
        }
        if f & KEYSPACE != 0 {
            let channel = channel("__keyspace@", db, key);
            pubsub.publish(&channel, &Bytes::copy_from_slice(event.as_bytes()));
        }
        if f & KEYEVENT != 0 {
            let channel = channel("__keyevent@", db, event.as_bytes());
            pubsub.publish(&channel, &Bytes::copy_from_slice(key));
        }
    }
}

fn channel(prefix: &str, db: usize, tail: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(prefix.len() + 8 + tail.len());
    b.put_slice(prefix.as_bytes());
    b.put_slice(db.to_string().as_bytes());
    b.put_slice(b"__:");
    b.put_slice(tail);
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_in_redis_order() {
        assert_eq!(parse(""), Some(0));
        assert_eq!(parse("Z"), None);
        assert_eq!(format(parse("KEA").unwrap()), "AKE");
        assert_eq!(format(parse("Ex$g").unwrap()), "g$xE");
        assert_eq!(format(parse("AKEnm").unwrap()), "AnKEm");
        assert_eq!(format(parse("gl$shzxetdaK").unwrap()), "AK");
    }

    #[test]
    fn nothing_is_published_without_k_or_e() {
        let n = Notifier::new(parse("g$").unwrap());
        assert!(!n.wants(GENERIC));
        n.set(parse("Kg").unwrap());
        assert!(n.wants(GENERIC) && !n.wants(STRING));
    }
}
