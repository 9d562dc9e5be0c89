//! The server: shared state, listeners, the accept loop (connection limit,
//! accept backoff), the active-expiry task and graceful shutdown.
//!
//! Shutdown (SIGINT, SIGTERM or SHUTDOWN): listeners stop accepting, every
//! connection finishes the commands it has already received and sends their
//! replies, then closes; the server waits for them (bounded), then returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::OnceLock;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use vexlake_engine::sql::distributed::Cluster;
use vexlake_engine::sql::{SqlConfig, SqlEngine};
use vexlake_engine::storage::{Role, Storage, StorageStats};
use vexlake_engine::{Engine, EngineConfig};

use crate::client::ClientRegistry;
use crate::cmd::Conn;
use crate::config::Config;
use crate::connection;
use crate::error::CmdError;
use crate::stats::Stats;

/// How long shutdown waits for connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// State shared by all connections.
pub struct ServerState {
    /// Settings (CONFIG SET changes the ones that may change at run time).
    settings: parking_lot::RwLock<Config>,
    /// Keyspace notifications (`notify-keyspace-events`).
    pub notify: crate::notify::Notifier,
    /// `maxmemory` and its eviction policy.
    pub evictor: crate::evict::Evictor,
    /// Heap bytes when the state was created (MEMORY STATS).
    pub startup_memory: u64,
    /// Active expiry runs (DEBUG SET-ACTIVE-EXPIRE 0 stops it).
    pub active_expire: std::sync::atomic::AtomicBool,
    /// MONITOR connections.
    pub monitors: crate::monitor::Monitors,
    /// CLIENT TRACKING: tracking clients and the keys they read.
    pub tracking: crate::tracking::Tracking,
    /// CLIENT PAUSE: until when, and whether all commands wait (else
    /// writes only).
    pub pause: parking_lot::Mutex<Option<(Instant, bool)>>,
    /// A pause is set (checked before taking the lock on every command).
    pub pausing: std::sync::atomic::AtomicBool,
    /// The engine.
    pub engine: Arc<Engine>,
    /// SQL (DataFusion on its own runtime).
    pub sql: OnceLock<Arc<SqlEngine>>,
    /// Connected clients.
    pub clients: ClientRegistry,
    /// ACL users.
    pub acl: crate::acl::Acl,
    /// Counters.
    pub stats: Stats,
    /// Per-command statistics (INFO commandstats, latencystats, errorstats).
    pub cmdstats: crate::cmdstats::CommandStats,
    /// SLOWLOG.
    pub slowlog: crate::slowlog::SlowLog,
    /// Start time.
    pub started: Instant,
    /// Start time, Unix ms.
    pub started_unix_ms: u64,
    /// Random id of this run (INFO run_id).
    pub run_id: String,
    /// Path of the running binary.
    pub executable: String,
    /// (durable WAL sequence, WAL failed) after every fsync (`always`).
    pub durable: watch::Sender<(u64, bool)>,
    /// The object store, manifests and flushes (set by [`ServerState::open`]).
    pub storage: OnceLock<Arc<Storage>>,
    /// Wakes the flusher for a BGSAVE.
    pub bgsave: tokio::sync::Notify,
    /// WATCHed keys of all connections.
    pub watches: Arc<crate::watch::Watches>,
    /// The Lua interpreter and the loaded scripts.
    pub scripts: crate::script::Scripts,
    /// Pub/Sub subscriptions.
    pub pubsub: crate::pubsub::PubSub,
    /// Clients blocked on keys (BLPOP ...).
    pub blocking: crate::blocking::Blocking,
    /// The lock on `<dir>/lock`, held while the server runs.
    pub dir_lock: OnceLock<std::fs::File>,
    shutdown: watch::Sender<bool>,
}

impl ServerState {
    /// State for `config` with a fresh engine; fails when the ACL file
    /// cannot be loaded.
    pub fn new(config: Config) -> Result<Self, String> {
        let acl = crate::acl::Acl::new(config.requirepass.as_deref(), config.aclfile.clone())?;
        config.encodings.apply();
        let engine = Arc::new(Engine::new(EngineConfig {
            databases: config.databases,
            max_string_len: config.proto_max_bulk_len as usize,
            // A replica never commits: nothing to track.
            track_changes: !config.replica_of_lake,
            ..EngineConfig::default()
        }));
        let run_id = (0..40)
            .map(|_| fastrand::alphanumeric().to_ascii_lowercase())
            .collect();
        let executable = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let scripts = crate::script::Scripts::new(config.busy_reply_threshold);
        let pubsub = crate::pubsub::PubSub::default();
        pubsub.set_limit(config.output_limit_pubsub);
        let evictor = crate::evict::Evictor::default();
        evictor.configure(&config);
        Ok(ServerState {
            tracking: Default::default(),
            blocking: Default::default(),
            monitors: Default::default(),
            active_expire: std::sync::atomic::AtomicBool::new(true),
            startup_memory: crate::memory::used() as u64,
            evictor,
            pause: parking_lot::Mutex::new(None),
            pausing: std::sync::atomic::AtomicBool::new(false),
            notify: crate::notify::Notifier::new(config.notify_keyspace_events),
            settings: parking_lot::RwLock::new(config),
            engine,
            sql: OnceLock::new(),
            clients: ClientRegistry::default(),
            acl,
            stats: Stats::default(),
            cmdstats: crate::cmdstats::CommandStats::default(),
            slowlog: crate::slowlog::SlowLog::default(),
            started: Instant::now(),
            started_unix_ms: vexlake_engine::storage::unix_ms(),
            run_id,
            executable,
            durable: watch::channel((0, false)).0,
            storage: OnceLock::new(),
            bgsave: tokio::sync::Notify::new(),
            watches: Arc::default(),
            scripts,
            pubsub,
            dir_lock: OnceLock::new(),
            shutdown: watch::channel(false).0,
        })
    }

    /// The current settings (held briefly: CONFIG SET waits for readers).
    pub fn config(&self) -> parking_lot::RwLockReadGuard<'_, Config> {
        self.settings.read()
    }

    /// Publishes keyspace notification `event` for `key` of database `db`
    /// when its class is switched on and anyone subscribes.
    pub fn notify_key(&self, class: u32, event: &str, key: &[u8], db: usize) {
        if self.notify.wants(class) && self.pubsub.any_subscriber() {
            self.notify.publish(&self.pubsub, class, event, key, db);
        }
    }

    /// Whether a CLIENT PAUSE holds commands (all of them, or writes when
    /// `write` is set) now.
    pub fn paused(&self, write: bool) -> bool {
        if !self.pausing.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        let mut p = self.pause.lock();
        match *p {
            Some((until, _)) if Instant::now() >= until => {
                *p = None;
                self.pausing
                    .store(false, std::sync::atomic::Ordering::Relaxed);
                false
            }
            Some((_, all)) => all || write,
            None => false,
        }
    }

    /// Sets or clears the CLIENT PAUSE state.
    pub fn set_pause(&self, pause: Option<(Instant, bool)>) {
        let mut p = self.pause.lock();
        *p = pause;
        self.pausing
            .store(pause.is_some(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Replaces the settings (CONFIG SET, after validation).
    pub fn replace_config(&self, config: Config) {
        config.encodings.apply();
        *self.settings.write() = config;
    }

    /// Opens the lake (as its writer, or as a replica), loads its state,
    /// and starts the SQL engine; `advertise` is where clients reach this
    /// server.
    pub async fn open(self: &Arc<Self>, advertise: &str) -> Result<(), String> {
        crate::lake::open(self, advertise).await?;
        let sql = SqlEngine::new(SqlConfig {
            memory_limit: self.config().sql_memory_limit as usize,
            timeout: Duration::from_secs(self.config().sql_timeout),
            spill_dir: Some(self.config().dir.join("tmp").join("sql")),
            cache_size: self.config().sql_cache_size as usize,
            cluster: match self.config().sql_engine.as_str() {
                "local" => None,
                url => Some(Cluster::parse(url)?),
            },
        })
        .map_err(|e| format!("cannot start the SQL engine: {e}"))?;
        let _ = self.sql.set(Arc::new(sql));
        Ok(())
    }

    /// Refuses a write on a server that does not write to the lake: a
    /// replica gets Redis's `-READONLY`, a writer fenced by a newer one the
    /// same with the reason.
    pub fn check_writable(&self) -> Result<(), CmdError> {
        let Some(storage) = self.storage.get() else {
            return Ok(());
        };
        if storage.role() == Role::Replica {
            return Err(crate::error::readonly(None));
        }
        if let Some(why) = storage.fenced() {
            return Err(crate::error::readonly(Some(&why)));
        }
        if let Some(wal) = self.engine.wal()
            && wal.is_fenced()
        {
            let why = wal.failure().unwrap_or_default();
            storage.set_fenced(why.clone());
            return Err(crate::error::readonly(Some(&why)));
        }
        Ok(())
    }

    /// Storage counters (INFO persistence).
    pub fn storage_stats(&self) -> Option<&StorageStats> {
        self.storage.get().map(|s| &s.stats)
    }

    /// Asks the server to shut down gracefully.
    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// A receiver that changes to `true` when shutdown starts.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Copies a connection's state into the registry (for CLIENT LIST/INFO).
    pub fn publish_client(&self, conn: &Conn) {
        let mut m = conn.handle.meta.lock();
        m.db = conn.db;
        m.last_cmd = conn.last_cmd;
        m.last_active = Some(Instant::now());
        m.pubsub = conn.subs.any();
        if m.user != conn.user.name {
            m.user.clone_from(&conn.user.name);
        }
    }
}

/// Binds the configured addresses, then serves until SIGINT/SIGTERM or SHUTDOWN.
pub async fn serve(config: Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", config.dir.display()))?;
    // Scratch files of ingests cut short by a crash.
    let _ = std::fs::remove_dir_all(config.dir.join("tmp"));
    let tls = match config.tls_port {
        0 => None,
        _ => Some(crate::tls::acceptor(&config)?),
    };
    let mut listeners = Vec::new();
    for (port, tls) in [(config.port, None), (config.tls_port, tls)] {
        if port == 0 {
            continue;
        }
        for addr in &config.bind {
            let target = format!("{}:{}", addr.trim_start_matches('-'), port);
            let l = TcpListener::bind(&target)
                .await
                .map_err(|e| format!("cannot listen on {target}: {e}"))?;
            listeners.push(Listener {
                tcp: l,
                tls: tls.clone(),
            });
        }
    }
    let addrs: Vec<String> = listeners
        .iter()
        .filter_map(|l| {
            let a = l.tcp.local_addr().ok()?;
            Some(format!(
                "{a}{}",
                if l.tls.is_some() { " (TLS)" } else { "" }
            ))
        })
        .collect();
    let state = Arc::new(ServerState::new(config)?);
    let weak = Arc::downgrade(&state);
    state
        .engine
        .on_expired(Arc::new(move |db, key: &[u8], what| {
            if let Some(s) = weak.upgrade() {
                match what {
                    vexlake_engine::keyspace::Expired::Key => {
                        s.notify_key(crate::notify::EXPIRED, "expired", key, db);
                    }
                    vexlake_engine::keyspace::Expired::Fields { emptied } => {
                        s.notify_key(crate::notify::HASH, "hexpired", key, db);
                        if emptied {
                            s.notify_key(crate::notify::GENERIC, "del", key, db);
                        }
                    }
                }
                if s.tracking.active() {
                    s.tracking.invalidate(key, None);
                }
            }
        }));
    state.open(addrs.first().map_or("", |a| a.as_str())).await?;
    if let Some(addr) = state.config().metrics_addr.clone() {
        crate::metrics::start(&addr, state.clone())?;
        tracing::info!("Prometheus metrics on http://{addr}/metrics");
    }
    tracing::info!(
        "VexLake {} ready: listening on {}, data directory {}",
        env!("CARGO_PKG_VERSION"),
        addrs.join(", "),
        state.config().dir.display()
    );
    run(listeners, state, os_signal()).await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn os_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// A bound port: plain RESP, or TLS when `tls` is set.
pub struct Listener {
    /// The socket.
    pub tcp: TcpListener,
    /// Handshakes connections of the TLS port.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Serves `listeners` until `shutdown` resolves or a client sends SHUTDOWN.
pub async fn run(
    listeners: Vec<Listener>,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()>,
) {
    for l in listeners {
        tokio::spawn(accept_loop(l, state.clone()));
    }
    tokio::spawn(active_expiry(state.clone()));
    tokio::spawn(flusher(state.clone()));
    tokio::spawn(table_compactor(state.clone()));
    let mut requested = state.shutdown_signal();
    tokio::select! {
        _ = shutdown => tracing::info!("signal received, shutting down"),
        _ = requested.wait_for(|v| *v) => {}
    }
    state.request_shutdown();
    let pending = state.clients.connected();
    if pending > 0 {
        tracing::info!(clients = pending, "waiting for connections to finish");
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, state.clients.wait_all_gone())
        .await
        .is_err()
    {
        tracing::warn!(
            clients = state.clients.connected(),
            "connections still open after the grace period"
        );
    }
    if let Some(wal) = state.engine.wal()
        && let Err(e) = wal.sync_all()
    {
        tracing::error!(error = %e, "final WAL fsync failed");
    }
    // A last commit makes the next start a load without WAL replay; if it
    // fails, the WAL still has everything. A replica or a fenced writer
    // commits nothing.
    if let Some(storage) = state.storage.get()
        && storage.may_commit().is_ok()
        && let Err(e) = storage.flush(&state.engine, "shutdown", false).await
    {
        tracing::warn!(error = %e, "final flush failed; the WAL keeps the data");
    }
    if let Some(storage) = state.storage.get()
        && let Err(e) = storage.release_heartbeat().await
    {
        tracing::warn!(error = %e, "could not release the writer lease");
    }
    tracing::info!("VexLake is now ready to exit, bye bye");
}

/// Redis's reply to a non-loopback client in protected mode, naming
/// VexLake's own remedies.
const PROTECTED: &[u8] = b"-DENIED VexLake is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers, either 1) set a password for the default user (--requirepass, or an ACL file with --aclfile), or 2) restart the server with '--protected-mode no', after making sure it is not reachable from the internet.\r\n";

/// Whether protected mode refuses a client from `peer`: it is on, the
/// default user has no password, and the client is not on a loopback
/// address (IPv4-mapped IPv6 loopback counts as loopback).
pub fn protected_refuses(
    protected_mode: bool,
    default_nopass: bool,
    peer: std::net::IpAddr,
) -> bool {
    let loopback = match peer {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        ip => ip.is_loopback(),
    };
    protected_mode && default_nopass && !loopback
}

/// How long a TLS client may take for its handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

async fn accept_loop(listener: Listener, state: Arc<ServerState>) {
    let Listener { tcp: listener, tls } = listener;
    let mut shutdown = state.shutdown_signal();
    let mut backoff = Duration::from_millis(1);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.wait_for(|v| *v) => return,
        };
        match accepted {
            Ok((socket, peer)) => {
                backoff = Duration::from_millis(1);
                Stats::add(&state.stats.connections_received, 1);
                if state.clients.connected() >= state.config().maxclients {
                    Stats::add(&state.stats.rejected_connections, 1);
                    tokio::spawn(reject(socket, b"-ERR max number of clients reached\r\n"));
                    continue;
                }
                if protected_refuses(
                    state.config().protected_mode,
                    state.acl.default_user().nopass,
                    peer.ip(),
                ) {
                    Stats::add(&state.stats.rejected_connections, 1);
                    tracing::warn!(%peer, "protected mode: refused a non-loopback client");
                    tokio::spawn(reject(socket, PROTECTED));
                    continue;
                }
                let state = state.clone();
                let tls = tls.clone();
                tokio::spawn(async move { start_connection(socket, peer, state, tls).await });
            }
            Err(e) => {
                // Out of descriptors and similar: wait instead of spinning.
                tracing::warn!(error = %e, "accept failed; retrying in {:?}", backoff);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

async fn reject(mut socket: TcpStream, reply: &'static [u8]) {
    let _ = socket.write_all(reply).await;
    let _ = socket.shutdown().await;
}

async fn start_connection(
    socket: TcpStream,
    peer: SocketAddr,
    state: Arc<ServerState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let _ = socket.set_nodelay(true);
    let laddr = socket.local_addr().unwrap_or(peer);
    #[cfg(unix)]
    let fd = std::os::fd::AsRawFd::as_raw_fd(&socket) as i64;
    #[cfg(not(unix))]
    let fd = -1;
    let handle = state.clients.register(peer, laddr, fd);
    let id = handle.id;
    match tls {
        None => connection::handle(socket, state.clone(), handle).await,
        Some(acceptor) => {
            match tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(socket)).await {
                Ok(Ok(stream)) => connection::handle(stream, state.clone(), handle).await,
                Ok(Err(e)) => {
                    Stats::add(&state.stats.tls_handshake_failures, 1);
                    tracing::warn!(%peer, error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    Stats::add(&state.stats.tls_handshake_failures, 1);
                    tracing::warn!(%peer, "TLS handshake timed out");
                }
            }
        }
    }
    state.clients.unregister(id);
}

/// Flushes to the object store when `flush-size` WAL bytes or
/// `flush-vector-inserts` vector inserts are uncommitted (the latter bounds
/// the graph inserts a restart replays), when `flush-interval` passed with
/// changes, or on BGSAVE. A failed flush is retried with exponential
/// backoff (1 s .. 60 s); the WAL keeps every acknowledged write meanwhile,
/// and INFO persistence shows the error. After a commit, string keys are
/// compacted in the background once they have `compact-deltas` deltas.
async fn flusher(state: Arc<ServerState>) {
    let Some(storage) = state.storage.get().cloned() else {
        return;
    };
    if storage.role() == Role::Replica {
        return;
    }
    let interval = Duration::from_secs(state.config().flush_interval);
    let mut shutdown = state.shutdown_signal();
    let mut last = Instant::now();
    let mut bytes_at_last = state.engine.wal().map_or(0, |w| w.appended_bytes());
    let mut inserts_at_last = state.engine.wal().map_or(0, |w| w.vector_inserts());
    let mut backoff = Duration::from_secs(1);
    let mut retry_at = Instant::now();
    loop {
        let requested = tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => false,
            _ = state.bgsave.notified() => true,
            _ = shutdown.wait_for(|v| *v) => return,
        };
        let Some(wal) = state.engine.wal() else {
            continue;
        };
        if storage.fenced().is_some() {
            continue;
        }
        let uncommitted = wal.written_seq() > StorageStats::get(&storage.stats.committed_seq);
        let big = wal.appended_bytes() - bytes_at_last >= state.config().flush_size;
        let max_inserts = state.config().flush_vector_inserts;
        let inserts = max_inserts > 0 && wal.vector_inserts() - inserts_at_last >= max_inserts;
        let due = requested || (uncommitted && (big || inserts || last.elapsed() >= interval));
        if !due || (!requested && Instant::now() < retry_at) {
            continue;
        }
        let bytes = wal.appended_bytes();
        let inserted = wal.vector_inserts();
        let op = if requested { "bgsave" } else { "flush" };
        match storage.flush(&state.engine, op, requested).await {
            Ok(_) => {
                last = Instant::now();
                bytes_at_last = bytes;
                inserts_at_last = inserted;
                backoff = Duration::from_secs(1);
                if storage.kv_needs_compaction().await {
                    let storage = storage.clone();
                    tokio::spawn(async move {
                        if let Err(e) = storage.compact_kv().await {
                            tracing::warn!(error = %e, "compaction failed; the next commit retries it");
                        }
                    });
                }
            }
            Err(e) => {
                tracing::error!(error = %e, retry_in = ?backoff, "flush failed");
                retry_at = Instant::now() + backoff;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// Table compaction: every 5 s, small files of tables are merged into
/// files of `table-target-file-size` (engine/src/sql/compact.rs), each
/// merge a commit of its own. Not on a replica, nor on a fenced writer.
async fn table_compactor(state: Arc<ServerState>) {
    let (Some(storage), Some(sql)) = (state.storage.get().cloned(), state.sql.get().cloned())
    else {
        return;
    };
    if storage.role() == Role::Replica {
        return;
    }
    let mut shutdown = state.shutdown_signal();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
        if storage.fenced().is_some() {
            continue;
        }
        let target = state.config().table_target_file_size;
        if let Err(e) = sql.compact_tables(storage.clone(), target).await {
            tracing::warn!(error = %e, "table compaction failed; the next round retries");
        }
    }
}

/// Active expiry: every 100 ms, remove keys whose TTL has passed (bounded
/// work per cycle, so a mass expiry cannot stall commands). Not while a
/// CLIENT PAUSE holds writes (the data set must not change).
async fn active_expiry(state: Arc<ServerState>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = state.shutdown_signal();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
        vexlake_engine::keyspace::access::tick();
        if !state.paused(true)
            && state
                .active_expire
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            state.engine.active_expire_cycle(Duration::from_millis(25));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::protected_refuses;

    #[test]
    fn protected_mode_refuses_only_remote_clients_without_a_password() {
        let ip = |s: &str| s.parse().unwrap();
        for local in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(!protected_refuses(true, true, ip(local)), "{local}");
        }
        for remote in ["10.0.0.5", "192.168.1.2", "2001:db8::1", "::ffff:10.0.0.5"] {
            assert!(protected_refuses(true, true, ip(remote)), "{remote}");
            assert!(
                !protected_refuses(false, true, ip(remote)),
                "protected-mode no"
            );
            assert!(
                !protected_refuses(true, false, ip(remote)),
                "a password is set"
            );
        }
    }
}
