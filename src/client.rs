//! The registry of connected clients: ids, and what CLIENT LIST / CLIENT INFO
//! report about each. A connection publishes its state here once per batch
//! of commands, not per command, so the registry stays off the hot path.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// What a connection last published about itself.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    /// CLIENT SETNAME.
    pub name: String,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: String,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: String,
    /// Selected database.
    pub db: usize,
    /// 2 or 3.
    pub resp: i64,
    /// Full name of the last command (`client|list`).
    pub last_cmd: &'static str,
    /// When the last command ran.
    pub last_active: Option<Instant>,
    /// Unparsed input bytes and read buffer capacity.
    pub qbuf: usize,
    /// Read buffer capacity.
    pub rbs: usize,
    /// Authenticated user.
    pub user: String,
    /// Subscribed to a channel or pattern.
    pub pubsub: bool,
}

/// One connected client.
#[derive(Debug)]
pub struct ClientHandle {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// Socket descriptor.
    pub fd: i64,
    /// Connect time.
    pub created: Instant,
    /// Published state.
    pub meta: Mutex<ClientMeta>,
    /// CLIENT KILL: the connection closes when woken.
    pub kill: Notify,
    /// Messages pushed to this connection (Pub/Sub, tracking).
    pub mailbox: Arc<crate::pubsub::Mailbox>,
    /// The receiving end, taken by the connection.
    pub pushes: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<crate::pubsub::Push>>>,
}

impl ClientHandle {
    /// The CLIENT LIST line for this client (without the newline).
    pub fn info_line(&self) -> String {
        let m = self.meta.lock().clone();
        let now = Instant::now();
        let age = now.duration_since(self.created).as_secs();
        let idle = m
            .last_active
            .map_or(age, |t| now.duration_since(t).as_secs());
        let cmd = if m.last_cmd.is_empty() {
            "NULL"
        } else {
            m.last_cmd
        };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags=N db={} sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp=0 obl=0 oll=0 omem=0 tot-mem={} events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            m.name,
            age,
            idle,
            m.db,
            m.qbuf,
            m.rbs.saturating_sub(m.qbuf),
            m.rbs,
            m.rbs,
            cmd,
            m.user,
            m.resp,
            m.lib_name,
            m.lib_ver,
        )
    }
}

/// All connected clients.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    connected: AtomicUsize,
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    all_gone: Notify,
}

impl ClientRegistry {
    /// Registers a new connection and returns its handle.
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr, fd: i64) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (mailbox, pushes) = crate::pubsub::Mailbox::new();
        let handle = Arc::new(ClientHandle {
            mailbox,
            pushes: Mutex::new(Some(pushes)),
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            meta: Mutex::new(ClientMeta {
                resp: 2,
                user: "default".into(),
                ..ClientMeta::default()
            }),
            kill: Notify::new(),
        });
        self.clients.lock().insert(id, handle.clone());
        self.connected.fetch_add(1, Ordering::Relaxed);
        handle
    }

    /// Removes a closed connection.
    pub fn unregister(&self, id: u64) {
        if self.clients.lock().remove(&id).is_some()
            && self.connected.fetch_sub(1, Ordering::Relaxed) == 1
        {
            self.all_gone.notify_waiters();
        }
    }

    /// Number of connected clients.
    pub fn connected(&self) -> usize {
        self.connected.load(Ordering::Relaxed)
    }

    /// The client with id `id`.
    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.clients.lock().get(&id).cloned()
    }

    /// Handles of all clients, by id.
    pub fn snapshot(&self) -> Vec<Arc<ClientHandle>> {
        self.clients.lock().values().cloned().collect()
    }

    /// Waits until no client is connected.
    pub async fn wait_all_gone(&self) {
        loop {
            let notified = self.all_gone.notified();
            if self.connected() == 0 {
                return;
            }
            notified.await;
        }
    }
}
