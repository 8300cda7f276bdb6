//! The connection loop, one per thread: read once → serve every complete command already
//! buffered → write all their replies at once → read again. Also the connection's
//! start (TLS handshake, max clients, `on_accept`) and end (`on_close` or detach).

use super::registry::{ClientSlot, Shared};
use crate::cluster::ClusterConn;
use crate::commands::CommandTable;
use crate::conn::{Conn, ConnState, FLUSH_AT};
use crate::detached::DetachedConn;
use crate::error::ProtocolError;
use crate::handler::{CloseReason, Handler};
use crate::io::{PeerAddr, ReadHalf, Socket, WriteHalf};
use crate::resp::{Command, Limits, ReadError, Reader};
use std::any::Any;
use std::io;
use std::net::Shutdown;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How serving a connection ended.
enum Outcome {
    Close(CloseReason),
    Detach,
}

/// Runs one connection to its end, on its own thread.
///
/// The connection's set-up, its close and its detach are separate functions that are
/// never inlined here: their locals (TLS session set-up, logging, the detached
/// connection) would otherwise sit in the frames that stay on the stack for the whole
/// connection, and an idle connection's memory is mostly the stack pages it touched.
///
/// `peer` is the client's address if the caller knows it already (from `accept`);
/// otherwise it is looked up.
pub(crate) fn run<H: Handler>(
    shared: &Shared,
    handler: &H,
    socket: Arc<Socket>,
    peer: Option<PeerAddr>,
    slot: ClientSlot,
) -> Option<CloseReason> {
    let mut started = start(shared, handler, &socket, peer, &slot);
    drop(socket);
    // Borrowed in place: moving the state and reader out would copy them into more
    // stack slots that stay for the connection's life.
    let (state, reader) = started.as_mut()?;
    finish(handler, state, reader, slot)
}

/// TLS handshake, socket options, the max-clients check and `on_accept`; `None` if the
/// connection was refused or failed.
#[inline(never)]
fn start<H: Handler>(
    shared: &Shared,
    handler: &H,
    socket: &Arc<Socket>,
    peer: Option<PeerAddr>,
    slot: &ClientSlot,
) -> Option<(ConnState, Reader<ReadHalf>)> {
    let cfg = &shared.config;
    let _ = socket.set_nodelay(cfg.nodelay);
    let _ = socket.set_write_timeout(cfg.write_timeout);
    let Some((read_half, sink)) = open_transport(shared, socket) else {
        socket.shutdown(Shutdown::Both);
        return None;
    };
    let tls = !matches!(sink, WriteHalf::Plain(_) | WriteHalf::Closed);
    // A new socket has no read timeout; the TLS handshake leaves one set.
    if cfg.idle_timeout.is_some() || tls {
        let _ = socket.set_read_timeout(cfg.idle_timeout);
    }
    let peer = peer.unwrap_or_else(|| socket.peer_addr());
    let mut state = ConnState::new(slot.id, peer, tls, sink, cfg.limits);
    state.ctl = Some(slot.ctl.clone());
    // Other threads may write to this connection (`Clients::writer`): its flushes and
    // theirs share one lock.
    let write_lock = Arc::new(std::sync::Mutex::new(()));
    slot.ctl.set_writer(state.sink.clone(), write_lock.clone());
    state.write_lock = Some(write_lock);
    state.clients = Some(shared.live.clone());
    state.info = cfg.info.clone();
    state.commands = cfg
        .commands
        .get_or_init(|| command_table(handler, cfg.cluster.is_some(), cfg.auth.as_ref()))
        .clone();
    state.cluster = cfg.cluster.clone().map(ClusterConn::new);
    state.auth =
        crate::auth::check::start(cfg.auth.as_ref(), state.commands.as_ref(), Some(socket));
    #[cfg(feature = "tls")]
    if cfg.tls_user_from_cn && tls {
        crate::auth::check::login_by_certificate(&mut state);
    }
    log::debug!("accepted client {} from {}", state.id, state.peer);

    if slot.over_limit {
        let counters = shared.live.counters();
        counters
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        state.out.write_error("ERR max number of clients reached");
        let _ = state.flush_with(&[]);
        state.sink.close_after_replies();
        log::debug!("client {} refused: max clients reached", state.id);
        return None;
    }
    if cfg.protected_mode && crate::auth::check::protected_refusal(&mut state) {
        shared
            .live
            .counters()
            .rejected_protected_mode
            .fetch_add(1, Ordering::Relaxed);
        let _ = state.flush_with(&[]);
        state.sink.close_after_replies();
        log::debug!("client {} refused: protected mode", state.id);
        return None;
    }
    let accepted = catch_unwind(AssertUnwindSafe(|| {
        handler.on_accept(&mut Conn::new(&mut state, &[]))
    }));
    if !matches!(accepted, Ok(true)) {
        let _ = state.flush_with(&[]);
        state.sink.close_after_replies();
        log::debug!("client {} refused by on_accept", state.id);
        return None;
    }

    let mut reader = Reader::with_limits(
        read_half,
        cfg.limits,
        cfg.read_buffer_size,
        cfg.max_query_buffer,
    );
    reader.set_unauthenticated(crate::auth::check::limited(&state));
    // Listed from the start with its buffer sizes and user.
    state.publish_details(0, reader.capacity());
    Some((state, reader))
}

/// The handler's command table, with the cluster commands added in cluster mode and
/// those of access control (`AUTH`, `ACL`) when it is on.
fn command_table<H: Handler>(
    handler: &H,
    cluster: bool,
    auth: Option<&crate::auth::check::AuthConfig>,
) -> Option<Arc<CommandTable>> {
    let table = handler.commands();
    // Access control adds its commands to a table, but makes none: without one, the
    // handler answers unknown commands itself.
    if !cluster && (auth.is_none() || table.is_none()) {
        return table;
    }
    let mut merged = table.map(|t| (*t).clone()).unwrap_or_default();
    if cluster {
        merged.merge_missing(&crate::cluster::command_specs().into_iter().collect());
    }
    if let Some(auth) = auth {
        merged.merge_missing(
            &crate::auth::command_specs(auth.acl.is_some())
                .into_iter()
                .collect(),
        );
    }
    Some(Arc::new(merged))
}

/// Serves a connection until it closes (then calls `on_close`) or detaches (then runs
/// the detach function). Used by the connection thread and by
/// [`DetachedConn::serve`].
pub(crate) fn serve_to_end<H: Handler + ?Sized>(
    handler: &H,
    mut state: ConnState,
    mut reader: Reader<ReadHalf>,
    slot: ClientSlot,
) -> Option<CloseReason> {
    finish(handler, &mut state, &mut reader, slot)
}

/// Serves until the connection closes or detaches, then ends it accordingly.
fn finish<H: Handler + ?Sized>(
    handler: &H,
    state: &mut ConnState,
    reader: &mut Reader<ReadHalf>,
    slot: ClientSlot,
) -> Option<CloseReason> {
    match serve(handler, slot.shared(), state, reader) {
        Outcome::Close(reason) => {
            let reason = killed_or(state, reason);
            close(handler, slot.shared(), state, reason)
        }
        Outcome::Detach => {
            detach(state, reader, slot);
            None
        }
    }
}

/// Ends a connection: closes it, then calls `on_close`.
#[inline(never)]
fn close<H: Handler + ?Sized>(
    handler: &H,
    shared: &Shared,
    state: &mut ConnState,
    reason: CloseReason,
) -> Option<CloseReason> {
    log::debug!("client {} closed: {}", state.id, reason);
    if let CloseReason::Panic(msg) = &reason {
        log::warn!("handler panicked serving client {}: {}", state.id, msg);
    }
    // Close before on_close so a slow on_close cannot hold the client.
    match shared.shutdown_deadline() {
        // Every reply to a command read before the shutdown must arrive.
        Some(deadline) if matches!(reason, CloseReason::ServerShutdown) => {
            state.sink.close_when_received(deadline)
        }
        // The client ended its stream and every byte of it was read: there is no
        // input to drop first, and closing cannot reset the connection. (Saves three
        // system calls of every connection that the client closes.)
        _ if matches!(reason, CloseReason::ClientClosed) => state.sink.close(),
        _ => state.sink.close_after_replies(),
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        handler.on_close(&mut Conn::new(state, &[]), &reason)
    }));
    Some(reason)
}

/// Hands a connection to the function its handler passed to `Conn::detach`.
#[inline(never)]
fn detach(state: &mut ConnState, reader: &mut Reader<ReadHalf>, slot: ClientSlot) {
    let Some(f) = state.detach.take() else {
        return;
    };
    // A detached connection has no idle timeout: pub/sub clients idle by design.
    if let Some(s) = state.sink.socket() {
        let _ = s.set_read_timeout(None);
    }
    log::debug!("client {} detached", state.id);
    // The batch that detached it ends here: CLIENT LIST shows its last command.
    state.publish_details(reader.buffered().len(), reader.capacity());
    if let Some(d) = state.details() {
        d.set_flag(crate::client_info::FLAG_DETACHED, true);
    }
    // Take both out, leaving inert values behind for the caller to drop.
    let state = std::mem::replace(state, ConnState::placeholder());
    let closed = Reader::with_limits(ReadHalf::Closed, Limits::default(), 0, 0);
    let reader = std::mem::replace(reader, closed);
    let conn = DetachedConn::new(state, reader, slot);
    if let Err(p) = catch_unwind(AssertUnwindSafe(move || f(conn))) {
        log::warn!(
            "detached connection handler panicked: {}",
            panic_message(&*p)
        );
    }
}

/// Sets up plain or TLS reading and writing; `None` if the TLS handshake failed.
fn open_transport(shared: &Shared, socket: &Arc<Socket>) -> Option<(ReadHalf, WriteHalf)> {
    #[cfg(feature = "tls")]
    if let Some(tls) = &shared.config.tls {
        use crate::io::tls::{TlsReader, TlsShared};
        let session = match TlsShared::new(tls.clone()) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("cannot create TLS session: {e}");
                return None;
            }
        };
        let mut reader = TlsReader::new(session.clone(), socket.clone());
        if let Err(e) = reader.handshake(shared.config.tls_handshake_timeout) {
            log::debug!("TLS handshake failed: {e}");
            shared
                .live
                .counters()
                .rejected_tls_handshake
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        return Some((
            ReadHalf::Tls(Box::new(reader)),
            WriteHalf::Tls(session, socket.clone()),
        ));
    }
    let _ = shared;
    Some((
        ReadHalf::Plain(socket.clone()),
        WriteHalf::Plain(socket.clone()),
    ))
}

/// Writes the batch's replies, its counts added to the server's first (once per read,
/// not per command): a client that has its replies and then asks `INFO`, on any
/// connection, finds its commands counted, as in Redis, which counts a command before
/// it replies. The bytes written are added right after.
fn flush_counted(shared: &Shared, state: &mut ConnState) -> io::Result<()> {
    let counters = shared.live.counters();
    counters.publish(&mut state.local);
    let written = state.flush_with(&[]);
    counters.publish(&mut state.local);
    written
}

fn serve<H: Handler + ?Sized>(
    handler: &H,
    shared: &Shared,
    state: &mut ConnState,
    reader: &mut Reader<ReadHalf>,
) -> Outcome {
    loop {
        // Serve every complete command already buffered: one pipeline batch.
        loop {
            let (cmd, rest) = match reader.next_buffered() {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(e) => {
                    write_protocol_error(state, &e);
                    return Outcome::Close(CloseReason::Protocol(e));
                }
            };
            state.local.commands += 1;
            state.pending.note(&cmd, state.commands.as_deref());
            if !hold_if_paused(state, &cmd) {
                // Killed while held: the command never runs.
                return Outcome::Close(CloseReason::Killed);
            }
            let served = dispatch(handler, state, cmd, rest);
            if matches!(served, Dispatch::Served) {
                feed_monitors(state, &cmd);
            }
            // AUTH and RESET change which request limits apply to what follows.
            if state.auth.is_some() {
                reader.set_unauthenticated(crate::auth::check::limited(state));
            }
            match served {
                Dispatch::Served | Dispatch::Answered => {}
                Dispatch::CrossProtocol => {
                    // Redis sends nothing at all, not even the replies to the commands
                    // before it in the same read: drop what this batch wrote.
                    state.out.clear();
                    return Outcome::Close(CloseReason::CrossProtocol);
                }
                Dispatch::Panicked(msg) => {
                    let _ = state.flush_with(&[]);
                    return Outcome::Close(CloseReason::Panic(msg));
                }
            }
            if state.taken > 0 {
                reader.consume(state.taken);
                state.taken = 0;
            }
            if let Some(e) = state.write_error.take() {
                return Outcome::Close(write_failure(e));
            }
            if state.close {
                return match flush_counted(shared, state) {
                    Ok(()) => Outcome::Close(CloseReason::Closed),
                    Err(e) => Outcome::Close(write_failure(e)),
                };
            }
            if state.detach.is_some() {
                return match flush_counted(shared, state) {
                    Ok(()) => Outcome::Detach,
                    Err(e) => Outcome::Close(write_failure(e)),
                };
            }
            if state.out.len() >= FLUSH_AT
                && let Err(e) = state.flush_with(&[])
            {
                return Outcome::Close(write_failure(e));
            }
        }
        // One write for the whole batch.
        if let Err(e) = flush_counted(shared, state) {
            return Outcome::Close(write_failure(e));
        }
        if shared.is_shutting_down() {
            return Outcome::Close(CloseReason::ServerShutdown);
        }
        // The details CLIENT LIST shows, once per read like the counts.
        state.publish_details(reader.buffered().len(), reader.capacity());
        match reader.fill_buf() {
            Ok(0) if shared.is_shutting_down() => {
                return Outcome::Close(CloseReason::ServerShutdown)
            }
            Ok(0) => return Outcome::Close(CloseReason::ClientClosed),
            Ok(n) => state.local.net_in += n as u64,
            Err(ReadError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Outcome::Close(CloseReason::IdleTimeout)
            }
            Err(_) if shared.is_shutting_down() => {
                return Outcome::Close(CloseReason::ServerShutdown)
            }
            Err(ReadError::Io(e)) => return Outcome::Close(CloseReason::Io(e)),
            Err(ReadError::QueryBufferLimit) => {
                return Outcome::Close(CloseReason::QueryBufferLimit)
            }
            Err(ReadError::Protocol(e)) => {
                write_protocol_error(state, &e);
                return Outcome::Close(CloseReason::Protocol(e));
            }
            #[allow(unreachable_patterns)]
            Err(e) => return Outcome::Close(CloseReason::Io(io::Error::other(format!("{e:?}")))),
        }
    }
}

/// Answers a malformed request with Redis's protocol error. Replies to the good
/// commands before it go first, as in Redis, including any a pub/sub writer thread
/// still has queued.
fn write_protocol_error(state: &mut ConnState, e: &ProtocolError) {
    if let Some(c) = &state.clients {
        c.counters().protocol_errors.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(drain) = state.before_error.take() {
        drain();
    }
    state.out.write_raw(&e.reply());
    let _ = state.flush_with(&[]);
}

enum Dispatch {
    /// The handler served it.
    Served,
    /// The core answered it before the handler (access control, cluster routing):
    /// not shown to monitors, as Redis shows only the commands it runs.
    Answered,
    CrossProtocol,
    Panicked(String),
}

/// Passes one command to the handler (`HELLO` to `on_hello`), refusing HTTP and
/// containing a panic: the half-written reply of a command that panicked is dropped.
fn dispatch<H: Handler + ?Sized>(
    handler: &H,
    state: &mut ConnState,
    cmd: Command<'_>,
    rest: &[u8],
) -> Dispatch {
    // Redis treats these as a browser being tricked into talking to it.
    if cmd.is("post") || cmd.is("host:") {
        return Dispatch::CrossProtocol;
    }
    // Authentication and permissions, before anything else sees the command.
    if state.auth.is_some() && crate::auth::check::before_handler(state, &cmd) {
        return Dispatch::Answered;
    }
    // Cluster routing and the cluster commands, before any handler.
    if state.cluster.is_some() && crate::cluster::before_handler(state, &cmd) {
        return Dispatch::Answered;
    }
    let is_hello = cmd.is("hello");
    let relayed = state.cluster.is_some() && (cmd.is("publish") || cmd.is("spublish"));
    let mark = state.out.len();
    let served = catch_unwind(AssertUnwindSafe(|| {
        let mut conn = Conn::new(state, rest);
        if is_hello {
            handler.on_hello(&mut conn, cmd);
        } else {
            handler.on_command(&mut conn, cmd);
        }
    }));
    match served {
        Ok(()) => {
            if relayed {
                crate::cluster::after_publish(state, &cmd, mark);
            }
            Dispatch::Served
        }
        Err(p) => {
            state.out.buffer_mut().truncate(mark);
            Dispatch::Panicked(panic_message(&*p))
        }
    }
}

/// CLIENT PAUSE, before the command is served: holds it while a pause concerns it
/// (one relaxed load when nothing is paused); `false` if the connection was killed
/// meanwhile. Replies written so far go out first, as Redis sends them.
#[inline]
fn hold_if_paused(state: &mut ConnState, cmd: &Command<'_>) -> bool {
    if let Some(c) = &state.clients
        && c.pause_state().active()
    {
        let c = c.clone();
        let _ = state.flush_with(&[]);
        let blocked = &c.counters().blocked;
        blocked.fetch_add(1, Ordering::Relaxed);
        let ctl = state.ctl.clone();
        let ended = move || ctl.as_ref().is_some_and(|c| c.killed());
        let go_on = c.pause_state().hold(state.commands.as_deref(), cmd, &ended);
        blocked.fetch_sub(1, Ordering::Relaxed);
        return go_on;
    }
    true
}

/// MONITOR's feed, after the command was served: one relaxed load when nobody
/// monitors.
#[inline]
fn feed_monitors(state: &mut ConnState, cmd: &Command<'_>) {
    if let Some(c) = &state.clients
        && c.monitors().active()
    {
        crate::monitor::feed_conn(state, cmd);
    }
}

/// A connection that was killed reports that, whatever its read or write then saw.
fn killed_or(state: &ConnState, reason: CloseReason) -> CloseReason {
    if state.ctl.as_ref().is_some_and(|c| c.killed()) {
        CloseReason::Killed
    } else {
        reason
    }
}

/// A write that timed out means the client stopped reading.
fn write_failure(e: io::Error) -> CloseReason {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => CloseReason::WriteTimeout,
        _ => CloseReason::Io(e),
    }
}

pub(crate) fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
