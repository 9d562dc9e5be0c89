//! Server-wide counters for INFO stats. Connections add their counts once per
//! batch of commands, so the shared cache lines are touched rarely.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters since start.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Commands executed.
    pub commands_processed: AtomicU64,
    /// Error replies sent.
    pub error_replies: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
    /// TLS handshakes that failed or timed out.
    pub tls_handshake_failures: AtomicU64,
    /// Clients closed for exceeding the output buffer limits.
    pub output_limit_disconnections: AtomicU64,
    /// Clients closed for exceeding the query buffer limit.
    pub query_limit_disconnections: AtomicU64,
    /// Clients closed after `timeout` idle seconds.
    pub idle_disconnections: AtomicU64,
    /// Failed AUTH / HELLO AUTH.
    pub acl_denied_auth: AtomicU64,
    /// Commands refused by the ACL.
    pub acl_denied_cmd: AtomicU64,
    /// Keys refused by the ACL.
    pub acl_denied_key: AtomicU64,
    /// Channels refused by the ACL.
    pub acl_denied_channel: AtomicU64,
    /// Keys evicted under `maxmemory`.
    pub evicted_keys: AtomicU64,
    /// VADDs that took a plan made ahead (see `cmd::vectors::ahead`).
    pub vadd_planned_ahead: AtomicU64,
}

impl Stats {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Zeroes every counter (CONFIG RESETSTAT).
    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.rejected_connections,
            &self.commands_processed,
            &self.error_replies,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.tls_handshake_failures,
            &self.output_limit_disconnections,
            &self.query_limit_disconnections,
            &self.idle_disconnections,
            &self.acl_denied_auth,
            &self.acl_denied_cmd,
            &self.acl_denied_key,
            &self.acl_denied_channel,
            &self.evicted_keys,
            &self.vadd_planned_ahead,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Reads `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
