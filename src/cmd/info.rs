//! INFO [section ...]: the server's state as `name:value` lines in sections,
//! like Redis. Sections: server, clients, memory, persistence, stats,
//! replication, cpu, modules, commandstats, errorstats, latencystats,
//! cluster, keyspace, and VexLake's vectorsets and storage (`all`,
//! `everything` select them all; `default` all but commandstats and
//! latencystats).

use std::fmt::Write;
use vexlake_engine::sql::lake_store::ScanStats;
use vexlake_engine::storage::StorageStats;

use bytes::Bytes;

use super::connection::REDIS_COMPAT_VERSION;
use super::{CmdResult, Ctx};
use crate::server::ServerState;
use crate::stats::Stats;

const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
    "vectorsets",
    "storage",
];

/// Sections only `INFO all` / `everything` or their own name show.
const NOT_DEFAULT: &[&str] = &["commandstats", "latencystats"];

/// INFO [section ...].
pub fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.state.publish_client(ctx.conn);
    let wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = wanted
        .iter()
        .any(|w| matches!(w.as_str(), "all" | "everything"));
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let mut text = String::new();
    for section in SECTIONS {
        if all || (default && !NOT_DEFAULT.contains(section)) || wanted.iter().any(|w| w == section)
        {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            write_section(&mut text, section, ctx.state);
        }
    }
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

fn write_section(t: &mut String, section: &str, s: &ServerState) {
    let title = format!("{}{}", section[..1].to_ascii_uppercase(), &section[1..]);
    let _ = write!(t, "# {title}\r\n");
    let mut kv = |k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(t, "{k}:{v}\r\n");
    };
    match section {
        "server" => {
            let uptime = s.started.elapsed().as_secs();
            kv("redis_version", &REDIS_COMPAT_VERSION);
            kv("vexlake_version", &env!("CARGO_PKG_VERSION"));
            kv("redis_mode", &"standalone");
            kv(
                "os",
                &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            );
            kv("arch_bits", &(usize::BITS));
            kv("multiplexing_api", &"tokio");
            kv("process_id", &std::process::id());
            kv("run_id", &s.run_id);
            kv("tcp_port", &s.config().port);
            kv("tls_port", &s.config().tls_port);
            kv("server_time_usec", &(s.engine.now_ms() * 1000));
            kv("uptime_in_seconds", &uptime);
            kv("uptime_in_days", &(uptime / 86400));
            kv("executable", &s.executable);
            kv(
                "config_file",
                &s.config()
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
        }
        "clients" => {
            kv("connected_clients", &s.clients.connected());
            kv("maxclients", &s.config().maxclients);
            kv("blocked_clients", &s.blocking.blocked());
        }
        "memory" => {
            let rss = rss_bytes();
            let used = crate::memory::used() as u64;
            let c = s.config();
            kv("used_memory", &used);
            kv("used_memory_human", &human(used));
            kv("used_memory_rss", &rss);
            kv("used_memory_rss_human", &human(rss));
            kv("maxmemory", &c.maxmemory);
            kv("maxmemory_human", &human(c.maxmemory));
            kv("maxmemory_policy", &c.maxmemory_policy.name());
            kv("mem_allocator", &"system");
        }
        "persistence" => {
            kv("loading", &0);
            kv("async_loading", &0);
            let st = s.storage_stats();
            let get = |f: fn(&StorageStats) -> &std::sync::atomic::AtomicU64| {
                st.map_or(0, |st| StorageStats::get(f(st)))
            };
            let committed = get(|x| &x.committed_seq);
            let written = s.engine.wal().map_or(0, |w| w.written_seq());
            kv(
                "rdb_changes_since_last_save",
                &written.saturating_sub(committed),
            );
            let running =
                st.is_some_and(|x| x.in_progress.load(std::sync::atomic::Ordering::Relaxed));
            kv("rdb_bgsave_in_progress", &u8::from(running));
            let last = get(|x| &x.last_commit_ms);
            let last = if last > 0 { last } else { s.started_unix_ms };
            kv("rdb_last_save_time", &(last / 1000));
            let flush_error = st.and_then(|x| x.last_error.lock().clone());
            kv(
                "rdb_last_bgsave_status",
                &if flush_error.is_some() { "err" } else { "ok" },
            );
            kv(
                "vexlake_storage",
                &s.storage
                    .get()
                    .map_or(String::new(), |x| x.store().url().to_string()),
            );
            kv("vexlake_manifest_version", &get(|x| &x.version));
            kv("vexlake_committed_wal_seq", &committed);
            kv("vexlake_flushes", &get(|x| &x.flushes));
            kv("vexlake_flush_failures", &get(|x| &x.failures));
            kv("vexlake_commit_conflicts", &get(|x| &x.conflicts));
            kv("vexlake_gc_deleted_files", &get(|x| &x.gc_deleted));
            kv("vexlake_last_flush_ms", &get(|x| &x.last_flush_ms));
            kv("vexlake_last_flush_error", &flush_error.unwrap_or_default());
            let (active, rows, read, total) = st.map_or((0, 0, 0, 0), |x| x.ingest.current());
            kv("vexlake_ingests_in_progress", &active);
            kv("vexlake_ingest_rows_in_progress", &rows);
            kv("vexlake_ingest_bytes_read", &read);
            kv("vexlake_ingest_bytes_total", &total);
            kv("vexlake_ingests", &get(|x| &x.ingest.done));
            kv("vexlake_ingested_rows", &get(|x| &x.ingest.rows_done));
            let wal = s.engine.wal();
            kv("aof_enabled", &u8::from(wal.is_some()));
            let failed = wal.and_then(|w| w.failure());
            kv(
                "aof_last_write_status",
                &if failed.is_some() { "err" } else { "ok" },
            );
            if let Some(w) = wal {
                kv("aof_current_size", &w.size_bytes());
                kv("wal_written_seq", &w.written_seq());
                kv("wal_durable_seq", &w.durable_seq());
                kv("wal_fsyncs", &w.fsyncs());
            }
            kv("wal_last_error", &failed.unwrap_or_default());
        }
        "stats" => {
            let ks = s.engine.stats();
            kv(
                "total_connections_received",
                &Stats::get(&s.stats.connections_received),
            );
            kv(
                "total_commands_processed",
                &Stats::get(&s.stats.commands_processed),
            );
            kv(
                "total_net_input_bytes",
                &Stats::get(&s.stats.net_input_bytes),
            );
            kv(
                "total_net_output_bytes",
                &Stats::get(&s.stats.net_output_bytes),
            );
            kv(
                "rejected_connections",
                &Stats::get(&s.stats.rejected_connections),
            );
            kv("expired_keys", &ks.expired);
            kv("expired_subkeys", &ks.expired_fields);
            kv("evicted_keys", &Stats::get(&s.stats.evicted_keys));
            kv("keyspace_hits", &ks.hits);
            kv("keyspace_misses", &ks.misses);
            kv("total_error_replies", &Stats::get(&s.stats.error_replies));
            let st = &s.stats;
            kv(
                "client_query_buffer_limit_disconnections",
                &Stats::get(&st.query_limit_disconnections),
            );
            kv(
                "client_output_buffer_limit_disconnections",
                &Stats::get(&st.output_limit_disconnections),
            );
            kv("acl_access_denied_auth", &Stats::get(&st.acl_denied_auth));
            kv("acl_access_denied_cmd", &Stats::get(&st.acl_denied_cmd));
            kv("acl_access_denied_key", &Stats::get(&st.acl_denied_key));
            kv(
                "acl_access_denied_channel",
                &Stats::get(&st.acl_denied_channel),
            );
            kv(
                "vexlake_idle_disconnections",
                &Stats::get(&st.idle_disconnections),
            );
            kv(
                "vexlake_tls_handshake_failures",
                &Stats::get(&st.tls_handshake_failures),
            );
        }
        "vectorsets" => {
            let now = s.engine.now_ms();
            let mut lines = Vec::new();
            let (mut sets, mut elements, mut bytes) = (0usize, 0usize, 0usize);
            for db in 0..s.engine.databases() {
                let found = s.engine.db(db).vector_sets(now);
                if found.is_empty() {
                    continue;
                }
                let (mut n, mut mem) = (0usize, 0usize);
                for (_, set) in &found {
                    let g = set.read();
                    n += g.len();
                    mem += g.memory_bytes();
                }
                lines.push((db, found.len(), n, mem));
                sets += found.len();
                elements += n;
                bytes += mem;
            }
            kv("vectorsets", &sets);
            kv("vectorset_elements", &elements);
            kv("vectorset_memory_bytes", &bytes);
            kv("vectorset_memory_human", &human(bytes as u64));
            kv(
                "vadd_planned_ahead",
                &Stats::get(&s.stats.vadd_planned_ahead),
            );
            for (db, n_sets, n, mem) in lines {
                kv(
                    &format!("db{db}"),
                    &format!("sets={n_sets},elements={n},memory_bytes={mem}"),
                );
            }
        }
        "storage" => {
            let storage = s.storage.get();
            kv(
                "storage_url",
                &storage.map_or(String::new(), |x| x.store().url().to_string()),
            );
            let st = s.storage_stats();
            let get = |f: fn(&StorageStats) -> &std::sync::atomic::AtomicU64| {
                st.map_or(0, |st| StorageStats::get(f(st)))
            };
            kv("manifest_version", &get(|x| &x.version));
            let m = storage.and_then(|x| x.newest_known());
            let (mut tables, mut rows, mut files, mut bytes) = (0u64, 0u64, 0u64, 0u64);
            let (mut kv_files, mut vset_files) = (0u64, 0u64);
            if let Some(m) = &m {
                for t in m.tables.values() {
                    tables += 1;
                    rows += t.rows;
                    files += t.files.len() as u64;
                    bytes += t.files.iter().map(|f| f.size).sum::<u64>();
                }
                kv_files += m.kv.len() as u64;
                bytes += m.kv.iter().map(|f| f.file.size).sum::<u64>();
                for v in &m.vsets {
                    vset_files += v.files().count() as u64;
                    bytes += v.bytes();
                }
            }
            kv(
                "manifest_known_version",
                &m.as_ref().map_or(0, |m| m.version),
            );
            kv("tables", &tables);
            kv("table_rows", &rows);
            kv("table_files", &files);
            kv("kv_files", &kv_files);
            kv("vectorset_files", &vset_files);
            kv("committed_bytes", &bytes);
            kv("committed_human", &human(bytes));
            kv("flushes", &get(|x| &x.flushes));
            kv("flush_failures", &get(|x| &x.failures));
            kv("last_flush_ms", &get(|x| &x.last_flush_ms));
            kv("flush_ms_total", &get(|x| &x.flush_ms_total));
            kv("commit_conflicts", &get(|x| &x.conflicts));
            kv("gc_deleted_files", &get(|x| &x.gc_deleted));
            kv("bytes_written", &get(|x| &x.bytes_written));
            kv("last_commit_bytes", &get(|x| &x.last_commit_bytes));
            kv("compactions", &get(|x| &x.compactions));
            // What SQL read from the store, and from its range cache.
            let scan = s.sql.get().map(|q| q.scan_stats());
            let read = |f: fn(&ScanStats) -> &std::sync::atomic::AtomicU64| {
                scan.map_or(0, |st| ScanStats::get(f(st)))
            };
            kv("sql_store_requests", &read(|x| &x.requests));
            kv("sql_store_bytes", &read(|x| &x.bytes));
            kv("sql_cache_hits", &read(|x| &x.cache_hits));
            kv("sql_cache_hit_bytes", &read(|x| &x.cache_hit_bytes));
            kv("sql_engine", &s.config().sql_engine);
            kv(
                "sql_remote_queries",
                &s.sql.get().map_or(0, |q| q.remote_queries()),
            );
            kv("retain_versions", &s.config().retain_versions);
            kv(
                "wal_storage",
                &if s.config().wal_objects {
                    "object"
                } else {
                    "local"
                },
            );
            if let Some(w) = s.engine.wal() {
                kv("wal_bytes_appended", &w.appended_bytes());
                kv("wal_fsyncs", &w.fsyncs());
                kv("wal_fsync_usec_total", &w.fsync_micros());
            }
        }
        "replication" => write_replication(&mut kv, s),
        "cpu" => {
            let (user, sys) = cpu_seconds();
            kv("used_cpu_sys", &format!("{sys:.6}"));
            kv("used_cpu_user", &format!("{user:.6}"));
        }
        "commandstats" => {
            for (e, st) in s.cmdstats.used() {
                let per_call = if st.calls > 0 {
                    st.usec as f64 / st.calls as f64
                } else {
                    0.0
                };
                kv(
                    &format!("cmdstat_{}", e.name),
                    &format!(
                        "calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                        st.calls, st.usec, st.rejected, st.failed
                    ),
                );
            }
        }
        "errorstats" => {
            for (code, n) in s.cmdstats.errors() {
                kv(&format!("errorstat_{code}"), &format!("count={n}"));
            }
        }
        "latencystats" => {
            for (e, _) in s.cmdstats.used() {
                if let Some(p) = e.percentiles(&[50.0, 99.0, 99.9]) {
                    kv(
                        &format!("latency_percentiles_usec_{}", e.name),
                        &format!("p50={:.3},p99={:.3},p99.9={:.3}", p[0], p[1], p[2]),
                    );
                }
            }
        }
        "cluster" => kv("cluster_enabled", &0),
        "keyspace" => {
            for i in 0..s.engine.databases() {
                let db = s.engine.db(i);
                let keys = db.len();
                if keys > 0 {
                    kv(
                        &format!("db{i}"),
                        &format!(
                            "keys={keys},expires={},avg_ttl=0,subexpiry=0",
                            db.volatile_len()
                        ),
                    );
                }
            }
        }
        _ => {}
    }
}

/// INFO replication: Redis's fields for the role (a replica of the lake is
/// `role:slave` with the lake as its master), and the lake's position.
fn write_replication(kv: &mut dyn FnMut(&str, &dyn std::fmt::Display), s: &ServerState) {
    let Some(storage) = s.storage.get() else {
        kv("role", &"master");
        kv("connected_slaves", &0);
        return;
    };
    let st = &storage.stats;
    let url = storage.store().url().to_string();
    if storage.role() == vexlake_engine::storage::Role::Replica {
        let synced = StorageStats::get(&st.synced_at_ms);
        let ago_ms = vexlake_engine::storage::unix_ms().saturating_sub(synced);
        kv("role", &"slave");
        kv("master_host", &url);
        kv("master_port", &0);
        kv(
            "master_link_status",
            &if synced > 0 && ago_ms < 5_000 {
                "up"
            } else {
                "down"
            },
        );
        kv("master_last_io_seconds_ago", &(ago_ms / 1000));
        kv("master_sync_in_progress", &0);
        kv(
            "slave_read_repl_offset",
            &StorageStats::get(&st.committed_seq),
        );
        kv("slave_repl_offset", &StorageStats::get(&st.committed_seq));
        kv("slave_priority", &100);
        kv("slave_read_only", &1);
        kv("connected_slaves", &0);
        kv("lake_version", &StorageStats::get(&st.version));
        kv("lake_epoch", &StorageStats::get(&st.epoch));
        kv("lake_position", &StorageStats::get(&st.committed_seq));
        kv("lake_lag_ms", &ago_ms);
        kv(
            "lake_objects_applied",
            &StorageStats::get(&st.objects_applied),
        );
        kv("lake_reloads", &StorageStats::get(&st.reloads));
    } else {
        let fenced = storage.fenced();
        kv("role", &"master");
        kv("connected_slaves", &0);
        kv(
            "master_repl_offset",
            &s.engine.wal().map_or(0, |w| w.written_seq()),
        );
        kv("lake_url", &url);
        kv("lake_writer_id", &storage.config().writer_id);
        kv("lake_epoch", &storage.epoch());
        kv("lake_version", &StorageStats::get(&st.version));
        kv("lake_position", &StorageStats::get(&st.committed_seq));
        kv("lake_fenced", &u8::from(fenced.is_some()));
        if let Some(why) = fenced {
            kv("lake_fenced_reason", &why);
        }
    }
}

/// Resident set size of this process, from /proc (0 where unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (tick(11), tick(12))
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}K", b / 1024.0)
    }
}
