//! Client-side caching (CLIENT TRACKING), as in Redis.
//!
//! Default mode: the keys a tracking client reads (read-only commands)
//! are remembered with the client's id; the next change to such a key
//! (a write by anyone, expiry, eviction) sends the client one `invalidate`
//! message with the key and forgets the pair. BCAST mode: nothing is
//! remembered; every change to a key under one of the client's prefixes
//! (all keys without prefixes) is sent. OPTIN/OPTOUT: reads are
//! remembered only after `CLIENT CACHING yes` / unless `CLIENT CACHING no`.
//! NOLOOP: a client is not told about its own writes. FLUSHDB/FLUSHALL
//! send an invalidation with a null key list to every tracking client.
//!
//! Messages go to the client's [`Mailbox`] (or to the REDIRECT client's):
//! a RESP3 connection writes `>2 invalidate [keys]`; a RESP2 connection
//! subscribed to `__redis__:invalidate` gets them as Pub/Sub messages on
//! that channel; other RESP2 connections get nothing (as in Redis). When
//! the REDIRECT client is gone, the tracking client gets a
//! `tracking-redir-broken` push (RESP3) instead of each invalidation. Keys
//! are tracked by name across databases, as Redis does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::pubsub::{Mailbox, Push};

/// The channel RESP2 clients subscribe to for redirected invalidations.
pub const CHANNEL: &[u8] = b"__redis__:invalidate";

/// A client's tracking settings (CLIENT TRACKING ON ...).
#[derive(Debug, Clone, Default)]
pub struct Mode {
    /// REDIRECT target id (0 = none).
    pub redirect: u64,
    /// BCAST prefixes (`Some(empty)` = every key); `None` = default mode.
    pub bcast: Option<Vec<Bytes>>,
    /// OPTIN.
    pub optin: bool,
    /// OPTOUT.
    pub optout: bool,
    /// NOLOOP.
    pub noloop: bool,
}

#[derive(Debug)]
struct Client {
    /// Where its invalidations go (its own mailbox or the redirect's).
    target: Arc<Mailbox>,
    /// Its own mailbox (told when the redirect is gone).
    own: Arc<Mailbox>,
    mode: Mode,
}

impl Client {
    fn tell(&self, m: Push) {
        if self.mode.redirect != 0 && self.target.is_gone() {
            self.own.send(Push::RedirBroken(self.mode.redirect));
        } else {
            self.target.send(m);
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Default mode: key → ids of the clients that read it.
    keys: HashMap<Bytes, HashSet<u64>>,
    clients: HashMap<u64, Client>,
    /// Ids of the BCAST clients.
    bcast: Vec<u64>,
}

/// Every tracking client and the keys they read.
#[derive(Debug, Default)]
pub struct Tracking {
    /// Some client tracks (a fast check on every command).
    any: AtomicBool,
    inner: Mutex<Inner>,
}

impl Tracking {
    /// Whether any client tracks.
    #[inline]
    pub fn active(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// Turns tracking on for client `id` (or changes its prefixes);
    /// `own` is its mailbox, `target` where invalidations go.
    pub fn enable(&self, id: u64, own: Arc<Mailbox>, target: Arc<Mailbox>, mode: Mode) {
        let mut inner = self.inner.lock();
        let bcast = mode.bcast.is_some();
        let merged = match (inner.clients.remove(&id), &mode.bcast) {
            (Some(old), Some(new)) => {
                // Prefixes add up while tracking stays on (Redis).
                let mut p = old.mode.bcast.unwrap_or_default();
                p.extend(new.iter().cloned());
                Mode {
                    bcast: Some(p),
                    ..mode
                }
            }
            _ => mode,
        };
        inner.clients.insert(
            id,
            Client {
                target,
                own,
                mode: merged,
            },
        );
        inner.bcast.retain(|&c| c != id);
        if bcast {
            inner.bcast.push(id);
        }
        self.any.store(true, Ordering::Relaxed);
    }

    /// Turns tracking off for client `id` (CLIENT TRACKING OFF, RESET,
    /// disconnect). Its remembered keys are dropped lazily.
    pub fn disable(&self, id: u64) {
        let mut inner = self.inner.lock();
        if inner.clients.remove(&id).is_some() {
            inner.bcast.retain(|&c| c != id);
        }
        if inner.clients.is_empty() {
            inner.keys.clear();
            self.any.store(false, Ordering::Relaxed);
        }
    }

    /// The prefixes of a BCAST client (CLIENT TRACKINGINFO).
    pub fn prefixes(&self, id: u64) -> Vec<Bytes> {
        let inner = self.inner.lock();
        inner
            .clients
            .get(&id)
            .and_then(|c| c.mode.bcast.clone())
            .unwrap_or_default()
    }

    /// Client `id` (default mode) read `keys`.
    pub fn remember<'a>(&self, id: u64, keys: impl IntoIterator<Item = &'a [u8]>) {
        let mut inner = self.inner.lock();
        for k in keys {
            inner
                .keys
                .entry(Bytes::copy_from_slice(k))
                .or_default()
                .insert(id);
        }
    }

    /// `key` changed (written by client `writer`, or by nobody for expiry
    /// and eviction): tells every client that read it, and every BCAST
    /// client with a matching prefix.
    pub fn invalidate(&self, key: &[u8], writer: Option<u64>) {
        let mut inner = self.inner.lock();
        let readers = inner.keys.remove(key).unwrap_or_default();
        let inner = &*inner;
        let send = |id: u64| {
            if let Some(c) = inner.clients.get(&id)
                && !(c.mode.noloop && writer == Some(id))
            {
                c.tell(Push::Invalidate(Some(vec![Bytes::copy_from_slice(key)])));
            }
        };
        for id in readers {
            // A reader that turned BCAST on since is told by the loop below.
            if inner
                .clients
                .get(&id)
                .is_some_and(|c| c.mode.bcast.is_none())
            {
                send(id);
            }
        }
        for &id in &inner.bcast {
            let matches = inner.clients.get(&id).is_some_and(|c| {
                c.mode
                    .bcast
                    .as_ref()
                    .is_some_and(|p| p.is_empty() || p.iter().any(|p| key.starts_with(p)))
            });
            if matches {
                send(id);
            }
        }
    }

    /// FLUSHDB / FLUSHALL: every tracking client drops its whole cache.
    pub fn flush(&self) {
        let mut inner = self.inner.lock();
        inner.keys.clear();
        for c in inner.clients.values() {
            c.tell(Push::Invalidate(None));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Push>) -> Vec<Option<Vec<Bytes>>> {
        let mut out = Vec::new();
        while let Ok(Push::Invalidate(k)) = rx.try_recv() {
            out.push(k);
        }
        out
    }

    #[test]
    fn default_mode_tells_once_and_bcast_by_prefix() {
        let t = Tracking::default();
        let (a, mut ra) = Mailbox::new();
        let (b, mut rb) = Mailbox::new();
        t.enable(1, a.clone(), a, Mode::default());
        t.enable(
            2,
            b.clone(),
            b,
            Mode {
                bcast: Some(vec![Bytes::from_static(b"user:")]),
                noloop: true,
                ..Mode::default()
            },
        );
        t.remember(1, [&b"k"[..]]);
        t.invalidate(b"k", None);
        t.invalidate(b"k", None);
        assert_eq!(drain(&mut ra), vec![Some(vec![Bytes::from_static(b"k")])]);
        t.invalidate(b"user:1", Some(2));
        t.invalidate(b"user:2", Some(1));
        t.invalidate(b"other", Some(1));
        assert_eq!(
            drain(&mut rb),
            vec![Some(vec![Bytes::from_static(b"user:2")])]
        );
        t.flush();
        assert_eq!(drain(&mut ra), vec![None]);
        t.disable(1);
        t.disable(2);
        assert!(!t.active());
    }
}
