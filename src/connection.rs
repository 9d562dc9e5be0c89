//! One client connection: read bytes, parse every complete command in the
//! buffer, execute them in order, send all their replies in one write
//! (pipelining costs one syscall per batch), repeat.
//!
//! A malformed request gets `-ERR Protocol error: ...` after the replies to
//! the commands before it, and the connection is closed. On shutdown, the
//! commands already received are answered before closing.
//!
//! A blocking command (BLPOP ...) that finds nothing makes the connection
//! wait (see [`crate::blocking`]): the replies before it are sent, then it
//! runs again each time one of its keys is signalled, until it is served,
//! times out, is unblocked by CLIENT UNBLOCK, or the client goes away.
//! Commands received meanwhile stay in the buffer until it is done.
//!
//! A run of pipelined VADDs into one key is parsed ahead and their graph
//! searches run side by side before the first executes (see
//! [`crate::cmd::vectors::ahead`]); they then execute in order as usual.
//!
//! A long pipeline of slow commands (VADDs) gives its thread up every
//! [`EXEC_SLICE`] of work, so other connections on the same worker (a
//! VSIM during a bulk load) wait milliseconds, not the whole batch.
//!
//! While replies wait for a slow reader, the connection reads no further
//! commands, so its pending output stays near [`FLUSH_AT`] plus one reply.
//! `client-output-buffer-limit normal <hard> <soft> <seconds>` closes a
//! client whose pending replies exceed `hard`, or exceed `soft` for
//! `seconds`; `timeout` closes a client idle that long. The same code serves
//! plain TCP and TLS streams.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vexlake_protocol::{Limits, Parsed, Protocol, ProtocolError, ReplyBuf, RequestParser};

use vexlake_engine::wal::FsyncPolicy;

use crate::client::ClientHandle;
use crate::cmd::{self, Conn, vectors};
use crate::pubsub::Push;
use crate::server::ServerState;
use crate::stats::Stats;
use tokio::sync::mpsc::UnboundedReceiver;

/// Replies are written out when this many bytes are waiting, even in the
/// middle of a batch, so a huge pipeline does not buffer without bound.
const FLUSH_AT: usize = 64 * 1024;
/// Time a connection executes pipelined commands before it lets the
/// worker thread run other connections.
const EXEC_SLICE: Duration = Duration::from_millis(2);
/// Read buffer growth step.
const READ_CHUNK: usize = 16 * 1024;
/// Most extra capacity reserved at once for a large announced argument.
const MAX_RESERVE: usize = 4 * 1024 * 1024;

/// Serves one connection until it closes, errs, or the server shuts down.
pub async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    mut socket: S,
    state: Arc<ServerState>,
    handle: Arc<ClientHandle>,
) {
    let mut conn = Conn::new(handle, &state.acl);
    let mut pushes = conn.push_rx.take().expect("a new connection has its queue");
    serve(&mut socket, &state, &mut conn, &mut pushes).await;
    // However the connection ended, its subscriptions and tracking end
    // with it.
    let subs = std::mem::take(&mut conn.subs);
    state.pubsub.remove_client(conn.handle.id, &subs);
    if conn.tracking.is_some() {
        state.tracking.disable(conn.handle.id);
    }
    if conn.monitoring {
        state.monitors.remove(conn.handle.id);
    }
}

/// The connection's loop (see the module doc).
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut S,
    state: &Arc<ServerState>,
    conn: &mut Conn,
    pushes: &mut UnboundedReceiver<Push>,
) {
    let mut parser = RequestParser::new(Limits {
        max_bulk_len: state.config().proto_max_bulk_len,
    });
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = ReplyBuf::new(Protocol::Resp2);
    let mut shutdown = state.shutdown_signal();
    let query_limit = state.config().client_query_buffer_limit as usize;
    let mut min_len = 1;
    // Commands parsed ahead of a run of VADDs; executed before any other.
    let mut ahead = Ahead::new();

    loop {
        // Execute every complete command already received.
        let mut close = false;
        if rbuf.len() >= min_len || !ahead.is_empty() {
            let mut slice = Instant::now();
            loop {
                let fresh = ahead.is_empty();
                let next = match ahead.pop_front() {
                    Some(parsed) => parsed.map(Parsed::Command),
                    None => parser.parse(&mut rbuf, conn.authenticated),
                };
                match next {
                    Ok(Parsed::Command(args)) => {
                        if fresh
                            && conn.authenticated
                            && conn.multi.is_none()
                            && vectors::ahead::is_vadd(&args)
                        {
                            plan_ahead(state, conn, &mut parser, &mut rbuf, &args, &mut ahead);
                        }
                        cmd::execute(state, conn, &mut out, &args);
                        if ahead.is_empty() {
                            conn.plans_ahead.clear();
                        }
                        if let Some(block) = conn.blocked.take()
                            && !wait_blocked(socket, state, conn, &mut out, &mut rbuf, block, &args)
                                .await
                        {
                            return;
                        }
                        // Invalidations this command caused for its own
                        // client follow its reply, before the next one's
                        // (as in Redis).
                        drain_pushes(conn, &mut out, pushes);
                        if conn.close {
                            close = true;
                            break;
                        }
                        if out.len() >= FLUSH_AT
                            && (!durable(state, conn).await
                                || write_out(socket, &mut out, state, conn).await.is_err())
                        {
                            return;
                        }
                        if slice.elapsed() >= EXEC_SLICE {
                            tokio::task::yield_now().await;
                            slice = Instant::now();
                        }
                    }
                    Ok(Parsed::Incomplete { min_len: need }) => {
                        min_len = need;
                        break;
                    }
                    Err(e) => {
                        tracing::debug!(client = conn.handle.id, error = %e, "protocol error; closing");
                        conn.errors += 1;
                        out.error(&format!("ERR {e}"));
                        close = true;
                        break;
                    }
                }
            }
        }
        publish(state, conn, &rbuf);
        if !durable(state, conn).await {
            // Not acknowledged: close without the replies.
            return;
        }
        if write_out(socket, &mut out, state, conn).await.is_err() || close {
            let _ = socket.shutdown().await;
            return;
        }
        if rbuf.len() > query_limit {
            Stats::add(&state.stats.query_limit_disconnections, 1);
            tracing::warn!(
                client = conn.handle.id,
                "closing client that reached max query buffer length"
            );
            return;
        }
        if *shutdown.borrow() {
            return;
        }
        // Room for the next read; large announced arguments get it up front.
        let want = min_len
            .saturating_sub(rbuf.len())
            .clamp(READ_CHUNK, MAX_RESERVE);
        if rbuf.capacity() - rbuf.len() < want / 2 {
            rbuf.reserve(want);
        }
        // Subscribers are not closed for idleness (as in Redis).
        let timeout = state.config().timeout;
        let idle = (timeout > 0 && !conn.subs.any()).then(|| Duration::from_secs(timeout));
        let idle_deadline = async {
            match idle {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let read = tokio::select! {
            r = socket.read_buf(&mut rbuf) => r,
            Some(m) = pushes.recv() => {
                // Messages for a subscriber: sent with the next write.
                conn.mailbox.taken(&m);
                crate::cmd::pubsub::write_push(&mut out, &m, conn.subs.any());
                drain_pushes(conn, &mut out, pushes);
                continue;
            }
            _ = conn.mailbox.kill.notified() => {
                output_limit_closed(state, "pubsub");
                return;
            }
            _ = conn.handle.kill.notified() => return,
            _ = shutdown.wait_for(|v| *v) => return,
            _ = idle_deadline => {
                Stats::add(&state.stats.idle_disconnections, 1);
                tracing::debug!(client = conn.handle.id, "closing idle client (timeout)");
                return;
            }
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(n) => Stats::add(&state.stats.net_input_bytes, n as u64),
        }
    }
}

/// Commands parsed but not yet executed (or the protocol error that ends
/// them).
type Ahead = VecDeque<Result<Vec<Bytes>, ProtocolError>>;

/// `first` is a VADD: parses the commands after it that are already
/// received, up to the end of its run of VADDs into the same key (and the
/// one command that ends it), and plans the run (see
/// [`vectors::ahead`]).
fn plan_ahead(
    state: &ServerState,
    conn: &mut Conn,
    parser: &mut RequestParser,
    rbuf: &mut BytesMut,
    first: &[Bytes],
    ahead: &mut Ahead,
) {
    while ahead.len() + 1 < vectors::ahead::MAX_RUN {
        match parser.parse(rbuf, conn.authenticated) {
            Ok(Parsed::Command(args)) => {
                let more = vectors::ahead::continues(first, &args);
                ahead.push_back(Ok(args));
                if !more {
                    break;
                }
            }
            Ok(Parsed::Incomplete { .. }) => break,
            Err(e) => {
                ahead.push_back(Err(e));
                break;
            }
        }
    }
    let run: Vec<&[Bytes]> = std::iter::once(first)
        .chain(ahead.iter().filter_map(|a| a.as_deref().ok()))
        .filter(|a| vectors::ahead::continues(first, a))
        .collect();
    vectors::ahead::plan(state, conn, &run);
}

/// Waits for a blocked command (see the module doc); false when the
/// connection must close.
async fn wait_blocked<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut S,
    state: &Arc<ServerState>,
    conn: &mut Conn,
    out: &mut ReplyBuf,
    rbuf: &mut BytesMut,
    block: crate::blocking::Block,
    args: &[bytes::Bytes],
) -> bool {
    if !durable(state, conn).await || write_out(socket, out, state, conn).await.is_err() {
        return false;
    }
    let id = conn.handle.id;
    let ticket = state.blocking.block(id, conn.db, &block.keys);
    // A push between the command's try and the queueing is not missed:
    // try once more right away.
    ticket.wake.notify_one();
    let mut shutdown = state.shutdown_signal();
    let timed_out = |out: &mut ReplyBuf| {
        if block.null_array {
            out.null_array();
        } else {
            out.null();
        }
    };
    let keep = loop {
        let deadline = async {
            match block.deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticket.wake.notified() => {
                if let Some(error) = ticket.unblock.lock().take() {
                    if error {
                        out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
                    } else {
                        timed_out(out);
                    }
                    break true;
                }
                conn.resuming = true;
                cmd::execute(state, conn, out, block.args.as_deref().unwrap_or(args));
                conn.resuming = false;
                if conn.blocked.take().is_none() {
                    break true;
                }
            }
            _ = deadline => {
                timed_out(out);
                break true;
            }
            r = socket.read_buf(rbuf) => match r {
                // Later commands wait in the buffer.
                Ok(n) if n > 0 => Stats::add(&state.stats.net_input_bytes, n as u64),
                _ => break false,
            },
            _ = conn.handle.kill.notified() => break false,
            _ = shutdown.wait_for(|v| *v) => break false,
        }
    };
    state.blocking.leave(id);
    keep
}

/// Moves the messages already queued for this client into its output
/// (up to the flush size; the rest follow with the next write).
fn drain_pushes(conn: &mut Conn, out: &mut ReplyBuf, pushes: &mut UnboundedReceiver<Push>) {
    while out.len() < FLUSH_AT {
        match pushes.try_recv() {
            Ok(m) => {
                conn.mailbox.taken(&m);
                crate::cmd::pubsub::write_push(out, &m, conn.subs.any());
            }
            Err(_) => break,
        }
    }
}

/// Waits until the writes of this batch are durable (`appendfsync always`:
/// the WAL's group-commit thread fsyncs for every waiting connection at
/// once). False when the fsync failed: the replies must not be sent.
async fn durable(state: &ServerState, conn: &mut Conn) -> bool {
    if !std::mem::take(&mut conn.wrote) {
        return true;
    }
    let Some(wal) = state.engine.wal() else {
        return true;
    };
    if wal.policy() != FsyncPolicy::Always {
        return true;
    }
    let target = wal.written_seq();
    let mut rx = state.durable.subscribe();
    if rx.borrow().0 >= target {
        return true;
    }
    wal.request_sync();
    match rx.wait_for(|&(seq, failed)| seq >= target || failed).await {
        Ok(v) => v.0 >= target,
        Err(_) => false,
    }
}

/// Sends the pending replies, enforcing the output buffer limits: more
/// than `hard` bytes pending closes the client at once; more than `soft`
/// not all sent within `soft_seconds` (the client is not reading) closes
/// it too.
async fn write_out<S: AsyncWrite + Unpin>(
    socket: &mut S,
    out: &mut ReplyBuf,
    state: &ServerState,
    conn: &Conn,
) -> std::io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let subscriber = conn.subs.any();
    let limit = if subscriber {
        state.config().output_limit_pubsub
    } else {
        state.config().output_limit
    };
    let class = if subscriber { "pubsub" } else { "normal" };
    let over = |what: &str| {
        tracing::warn!(pending = out.len(), "{what} limit");
        output_limit_closed(state, class);
        std::io::Error::other("output buffer limit")
    };
    if limit.hard > 0 && out.len() as u64 > limit.hard {
        return Err(over("hard"));
    }
    let bytes = out.bytes();
    let mut sent = 0;
    // Replies over the soft limit start its clock, which runs until they
    // are all sent, even once the kernel has taken all but a few KB of
    // them: this connection runs no further command while it waits, where
    // Redis would keep adding their replies to a buffer already over it.
    let deadline = (limit.soft > 0 && bytes.len() as u64 > limit.soft)
        .then(|| Instant::now() + Duration::from_secs(limit.soft_seconds));
    while sent < bytes.len() {
        let soft_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        // A subscriber whose queued messages pass the limit is closed even
        // while this write waits for it.
        let n = tokio::select! {
            r = socket.write(&bytes[sent..]) => r?,
            _ = soft_deadline => return Err(over("soft")),
            _ = conn.mailbox.kill.notified() => {
                output_limit_closed(state, "pubsub");
                return Err(std::io::Error::other("output buffer limit"));
            }
            _ = conn.handle.kill.notified() => {
                return Err(std::io::Error::other("killed by CLIENT KILL"));
            }
        };
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        sent += n;
    }
    socket.flush().await?;
    Stats::add(&state.stats.net_output_bytes, out.len() as u64);
    out.clear();
    Ok(())
}

/// Counts and logs a client closed for its output buffer limit.
fn output_limit_closed(state: &ServerState, class: &str) {
    Stats::add(&state.stats.output_limit_disconnections, 1);
    tracing::warn!("closing client that exceeded the {class} output buffer limit");
}

/// Publishes per-batch counters and client state.
fn publish(state: &ServerState, conn: &mut Conn, rbuf: &BytesMut) {
    if conn.commands == 0 {
        return;
    }
    Stats::add(&state.stats.commands_processed, conn.commands);
    Stats::add(&state.stats.error_replies, conn.errors);
    conn.commands = 0;
    conn.errors = 0;
    state.publish_client(conn);
    let mut m = conn.handle.meta.lock();
    m.qbuf = rbuf.len();
    m.rbs = rbuf.capacity();
}
