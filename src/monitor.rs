//! MONITOR: every command any client runs is sent to the monitoring
//! connections as a status line, in Redis's format:
//! `+1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`. Admin commands
//! and AUTH/HELLO are not shown (as in Redis, which also hides them).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::pubsub::{Mailbox, Push};

/// The monitoring connections.
#[derive(Debug, Default)]
pub struct Monitors {
    any: AtomicBool,
    list: Mutex<Vec<(u64, Arc<Mailbox>)>>,
}

impl Monitors {
    /// Whether anyone monitors (checked on every command).
    #[inline]
    pub fn active(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// Connection `id` starts monitoring.
    pub fn add(&self, id: u64, mailbox: Arc<Mailbox>) {
        let mut l = self.list.lock();
        if !l.iter().any(|(i, _)| *i == id) {
            l.push((id, mailbox));
        }
        self.any.store(true, Ordering::Relaxed);
    }

    /// Connection `id` stops (RESET, close).
    pub fn remove(&self, id: u64) {
        let mut l = self.list.lock();
        l.retain(|(i, _)| *i != id);
        self.any.store(!l.is_empty(), Ordering::Relaxed);
    }

    /// Sends the line for `args`, run on database `db` by `who` (the
    /// client's address, or `lua`).
    pub fn feed(&self, db: usize, who: &str, args: &[Bytes]) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = format!("{}.{:06} [{db} {who}]", now.as_secs(), now.subsec_micros());
        for a in args {
            line.push(' ');
            quote_into(&mut line, a);
        }
        let line = Bytes::from(line);
        for (_, mb) in self.list.lock().iter() {
            mb.send(Push::Monitor(line.clone()));
        }
    }
}

/// Redis's `sdscatrepr`: a double-quoted string with escapes.
fn quote_into(out: &mut String, s: &[u8]) {
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_like_redis() {
        let mut s = String::new();
        super::quote_into(&mut s, b"a \"b\"\n\x01");
        assert_eq!(s, r#""a \"b\"\n\x01""#);
    }
}
