//! The Prometheus endpoint (`--metrics-addr host:port`, off by default),
//! through the `metrics` crate and its Prometheus exporter.
//!
//! Recorded as they happen: commands and their latency per command
//! (`vexlake_command_duration_seconds{cmd}`, a histogram), failed and
//! rejected commands, error replies by kind, SQL queries and INGESTs with
//! their durations. Sampled every second from the server's own counters:
//! clients, memory, keys per database, network bytes, WAL bytes and fsyncs
//! (count and total µs), flushes/commits (count, total and last duration), GC, ACL
//! refusals. Sampled every 10 s (they walk the keyspace): elements per
//! vector set. Without `--metrics-addr` no recorder is installed and the
//! macros do nothing.

use std::sync::Arc;
use std::time::Duration;

use metrics::{counter, gauge};
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::server::ServerState;
use crate::stats::Stats;
use vexlake_engine::storage::StorageStats;

/// Histogram buckets, seconds: 10 µs .. 60 s.
const BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Binds `addr`, installs the recorder and serves `/metrics` on the current
/// runtime; then samples `state` until shutdown.
pub fn start(addr: &str, state: Arc<ServerState>) -> Result<(), String> {
    let sock: std::net::SocketAddr = addr
        .parse()
        .map_err(|_| format!("'metrics-addr' must be host:port, not '{addr}'"))?;
    let (recorder, exporter) = PrometheusBuilder::new()
        .with_http_listener(sock)
        .set_buckets(BUCKETS)
        .map_err(|e| format!("metrics: {e}"))?
        .build()
        .map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
    metrics::set_global_recorder(recorder).map_err(|e| format!("metrics: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = exporter.await {
            tracing::error!(error = ?e, "metrics endpoint stopped");
        }
    });
    state.cmdstats.enable_metrics();
    tokio::spawn(sample(state));
    Ok(())
}

/// Copies the server's counters into gauges and counters once a second.
async fn sample(state: Arc<ServerState>) {
    let mut shutdown = state.shutdown_signal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
        sample_once(&state, n.is_multiple_of(10));
        n += 1;
    }
}

fn sample_once(s: &ServerState, vector_sets: bool) {
    let st = &s.stats;
    gauge!("vexlake_connected_clients").set(s.clients.connected() as f64);
    gauge!("vexlake_memory_rss_bytes").set(crate::cmd::info::rss_bytes() as f64);
    gauge!("vexlake_uptime_seconds").set(s.started.elapsed().as_secs_f64());
    counter!("vexlake_connections_received_total").absolute(Stats::get(&st.connections_received));
    counter!("vexlake_connections_rejected_total").absolute(Stats::get(&st.rejected_connections));
    counter!("vexlake_net_input_bytes_total").absolute(Stats::get(&st.net_input_bytes));
    counter!("vexlake_net_output_bytes_total").absolute(Stats::get(&st.net_output_bytes));
    for (kind, c) in [
        ("auth", &st.acl_denied_auth),
        ("command", &st.acl_denied_cmd),
        ("key", &st.acl_denied_key),
        ("channel", &st.acl_denied_channel),
    ] {
        counter!("vexlake_acl_denied_total", "reason" => kind).absolute(Stats::get(c));
    }
    for (kind, c) in [
        ("output_buffer_limit", &st.output_limit_disconnections),
        ("query_buffer_limit", &st.query_limit_disconnections),
        ("idle_timeout", &st.idle_disconnections),
        ("tls_handshake", &st.tls_handshake_failures),
    ] {
        counter!("vexlake_client_disconnections_total", "reason" => kind).absolute(Stats::get(c));
    }
    let now = s.engine.now_ms();
    for db in 0..s.engine.databases() {
        let d = s.engine.db(db);
        if !d.is_empty() {
            gauge!("vexlake_keys", "db" => db.to_string()).set(d.len() as f64);
        }
        if vector_sets {
            for (key, set) in d.vector_sets(now) {
                let n = set.read().len();
                gauge!(
                    "vexlake_vectorset_elements",
                    "db" => db.to_string(),
                    "key" => String::from_utf8_lossy(&key).into_owned()
                )
                .set(n as f64);
            }
        }
    }
    if let Some(w) = s.engine.wal() {
        counter!("vexlake_wal_bytes_total").absolute(w.appended_bytes());
        counter!("vexlake_wal_fsyncs_total").absolute(w.fsyncs());
        counter!("vexlake_wal_fsync_microseconds_total").absolute(w.fsync_micros());
        gauge!("vexlake_wal_failed").set(f64::from(u8::from(w.failure().is_some())));
    }
    if let Some(x) = s.storage_stats() {
        let get = StorageStats::get;
        counter!("vexlake_flushes_total").absolute(get(&x.flushes));
        counter!("vexlake_flush_failures_total").absolute(get(&x.failures));
        counter!("vexlake_commit_conflicts_total").absolute(get(&x.conflicts));
        counter!("vexlake_gc_deleted_files_total").absolute(get(&x.gc_deleted));
        gauge!("vexlake_manifest_version").set(get(&x.version) as f64);
        gauge!("vexlake_last_flush_seconds").set(get(&x.last_flush_ms) as f64 / 1000.0);
        counter!("vexlake_flush_milliseconds_total").absolute(get(&x.flush_ms_total));
        counter!("vexlake_ingests_total").absolute(get(&x.ingest.done));
        counter!("vexlake_ingested_rows_total").absolute(get(&x.ingest.rows_done));
    }
}

/// Records one SQL query or INGEST: its duration in the histogram `hist`
/// and its outcome in the counter `count{result="ok"|"error"}`. No-op
/// without a recorder.
pub fn timed(hist: &'static str, count: &'static str, started: std::time::Instant, ok: bool) {
    metrics::histogram!(hist).record(started.elapsed().as_secs_f64());
    counter!(count, "result" => if ok { "ok" } else { "error" }).increment(1);
}
