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

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use vexlake_engine::journal::{Replayer, recover};
use vexlake_engine::wal::{FsyncPolicy, WalConfig};
use vexlake_engine::{Engine, EngineConfig};

use crate::client::ClientRegistry;
use crate::cmd::Conn;
use crate::config::{AppendFsync, Config};
use crate::connection;
use crate::stats::Stats;

/// How long shutdown waits for connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// A new WAL segment starts at this size.
const WAL_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// State shared by all connections.
pub struct ServerState {
    /// Settings.
    pub config: Config,
    /// The engine.
    pub engine: Engine,
    /// Connected clients.
    pub clients: ClientRegistry,
    /// Counters.
    pub stats: Stats,
    /// Start time.
    pub started: Instant,
    /// Random id of this run (INFO run_id).
    pub run_id: String,
    /// Path of the running binary.
    pub executable: String,
    /// (durable WAL sequence, WAL failed) after every fsync (`always`).
    pub durable: watch::Sender<(u64, bool)>,
    shutdown: watch::Sender<bool>,
}

impl ServerState {
    /// State for `config` with a fresh engine.
    pub fn new(config: Config) -> Self {
        let engine = Engine::new(EngineConfig {
            databases: config.databases,
            max_string_len: config.proto_max_bulk_len as usize,
            ..EngineConfig::default()
        });
        let run_id = (0..40)
            .map(|_| fastrand::alphanumeric().to_ascii_lowercase())
            .collect();
        let executable = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        ServerState {
            config,
            engine,
            clients: ClientRegistry::default(),
            stats: Stats::default(),
            started: Instant::now(),
            run_id,
            executable,
            durable: watch::channel((0, false)).0,
            shutdown: watch::channel(false).0,
        }
    }

    /// Replays the WAL in `<dir>/wal` into the engine and starts logging to
    /// it; connections then wait for its fsyncs before acknowledging writes.
    pub fn recover(&self) -> Result<(), String> {
        let start = Instant::now();
        let fsync = match self.config.appendfsync {
            AppendFsync::Always => FsyncPolicy::Always,
            AppendFsync::Everysec => FsyncPolicy::Everysec,
            AppendFsync::No => FsyncPolicy::No,
        };
        let dir = self.config.dir.join("wal");
        let mut replayer = Replayer::new(&self.engine);
        let wal = recover(
            &self.engine,
            &mut replayer,
            WalConfig {
                dir: dir.clone(),
                fsync,
                segment_bytes: WAL_SEGMENT_BYTES,
                start_after: 0,
            },
        )
        .map_err(|e| format!("cannot recover the WAL in {}: {e}", dir.display()))?;
        let tx = self.durable.clone();
        tx.send_replace((wal.durable_seq(), false));
        wal.set_listener(Box::new(move |seq, failed| {
            tx.send_replace((seq, failed));
        }));
        tracing::info!(
            records = replayer.applied,
            ms = start.elapsed().as_millis() as u64,
            "recovered from the WAL in {}",
            dir.display()
        );
        Ok(())
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
    }
}

/// Binds the configured addresses, then serves until SIGINT/SIGTERM or SHUTDOWN.
pub async fn serve(config: Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", config.dir.display()))?;
    let mut listeners = Vec::new();
    for addr in &config.bind {
        let target = format!("{}:{}", addr.trim_start_matches('-'), config.port);
        let l = TcpListener::bind(&target)
            .await
            .map_err(|e| format!("cannot listen on {target}: {e}"))?;
        listeners.push(l);
    }
    let addrs: Vec<String> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .collect();
    let state = Arc::new(ServerState::new(config));
    state.recover()?;
    tracing::info!(
        "VexLake {} ready: listening on {}, data directory {}",
        env!("CARGO_PKG_VERSION"),
        addrs.join(", "),
        state.config.dir.display()
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

/// Serves `listeners` until `shutdown` resolves or a client sends SHUTDOWN.
pub async fn run(
    listeners: Vec<TcpListener>,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()>,
) {
    for l in listeners {
        tokio::spawn(accept_loop(l, state.clone()));
    }
    tokio::spawn(active_expiry(state.clone()));
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
    tracing::info!("VexLake is now ready to exit, bye bye");
}

async fn accept_loop(listener: TcpListener, state: Arc<ServerState>) {
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
                if state.clients.connected() >= state.config.maxclients {
                    Stats::add(&state.stats.rejected_connections, 1);
                    tokio::spawn(reject(socket));
                    continue;
                }
                let state = state.clone();
                tokio::spawn(async move { start_connection(socket, peer, state).await });
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

async fn reject(mut socket: TcpStream) {
    let _ = socket
        .write_all(b"-ERR max number of clients reached\r\n")
        .await;
    let _ = socket.shutdown().await;
}

async fn start_connection(socket: TcpStream, peer: SocketAddr, state: Arc<ServerState>) {
    let _ = socket.set_nodelay(true);
    let laddr = socket.local_addr().unwrap_or(peer);
    #[cfg(unix)]
    let fd = std::os::fd::AsRawFd::as_raw_fd(&socket) as i64;
    #[cfg(not(unix))]
    let fd = -1;
    let handle = state.clients.register(peer, laddr, fd);
    let id = handle.id;
    connection::handle(socket, state.clone(), handle).await;
    state.clients.unregister(id);
}

/// Active expiry: every 100 ms, remove keys whose TTL has passed (bounded
/// work per cycle, so a mass expiry cannot stall commands).
async fn active_expiry(state: Arc<ServerState>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = state.shutdown_signal();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
        state.engine.active_expire_cycle(Duration::from_millis(25));
    }
}
