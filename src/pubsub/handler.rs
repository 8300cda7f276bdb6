//! [`PubSubHandler`], the handler that serves the pub/sub commands around the user's
//! own, and `Session`, the per-connection handler a subscribed connection is served
//! with after it detaches: its subscriptions, its writer thread, and Redis 7's rules for
//! what a subscribed client may run.

use super::commands::{confirm, introspect, introspect_name, publish, Route};
use super::queue::{Item, WriterThread};
use super::{Kind, PubSub, Request};
use crate::commands::CommandTable;
use crate::conn::{BeforeError, Conn};
use crate::detached::{ConnWriter, DetachedConn};
use crate::handler::{CloseReason, Handler, IntoHandler};
use crate::io::Socket;
use crate::reply;
use crate::resp::{Command, Protocol};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// Decides the error a RESP2 subscriber gets for a command it may not run: `Ok` with the
/// command's full lowercase name (`"get"`, `"client|id"`) for Redis's
/// `Can't execute '<name>'` error, or `Err` with the error Redis checks first (unknown
/// command, wrong number of arguments). See [`PubSubHandler::command_check`].
///
/// ```
/// use redcon::pubsub::CommandCheck;
/// use std::sync::Arc;
/// let check: Arc<CommandCheck> = Arc::new(|cmd| Ok(cmd.name().to_ascii_lowercase().escape_ascii().to_string()));
/// # drop(check);
/// ```
pub type CommandCheck = dyn Fn(&Command<'_>) -> Result<String, Vec<u8>> + Send + Sync;

/// The text after the command name in Redis 7's error for a command run in subscribed
/// mode.
const ONLY_ALLOWED: &str = "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
                            are allowed in this context";

/// Redis 7's error for a command run in RESP2 subscribed mode.
fn cant_execute(name: &[u8]) -> Vec<u8> {
    let mut msg = b"ERR Can't execute '".to_vec();
    msg.extend_from_slice(name);
    msg.extend_from_slice(ONLY_ALLOWED.as_bytes());
    msg
}

/// What the wrapper and every session share.
struct Ctx<H> {
    pubsub: PubSub,
    inner: Arc<H>,
    check: Option<Arc<CommandCheck>>,
    /// The wrapped handler's command table with this module's commands added.
    table: Option<Arc<CommandTable>>,
}

impl<H> Clone for Ctx<H> {
    fn clone(&self) -> Self {
        Ctx {
            pubsub: self.pubsub.clone(),
            inner: self.inner.clone(),
            check: self.check.clone(),
            table: self.table.clone(),
        }
    }
}

impl<H: Handler> Ctx<H> {
    /// Serves a command of a connection with no subscriptions. Returns the kind of a
    /// valid `(P)SUBSCRIBE`, which the caller must carry out.
    fn serve_unsubscribed(&self, conn: &mut Conn<'_>, cmd: Command<'_>) -> Option<Kind> {
        let route = match Route::of(&cmd) {
            None => {
                self.inner.on_command(conn, cmd);
                return None;
            }
            Some(r) if !r.arity_ok(cmd.len()) => {
                conn.write_error(reply::wrong_arity(r.word()));
                return None;
            }
            Some(r) => r,
        };
        match route {
            Route::Subscribe(kind) => return Some(kind),
            Route::Publish(kind) => {
                let n = publish(&self.pubsub, kind, &cmd);
                conn.write_int(n);
            }
            Route::Introspect => introspect(&self.pubsub, conn, &cmd),
            Route::Unsubscribe(_) => {
                // Nothing to leave: one confirmation per name (or one with a null name),
                // each with a count of 0, as Redis answers.
                let protocol = conn.protocol();
                let out = conn.buffer_mut();
                if cmd.len() == 1 {
                    confirm(out, protocol, route, None, 0);
                }
                for name in cmd.args().skip(1) {
                    confirm(out, protocol, route, Some(name), 0);
                }
            }
        }
        None
    }
}

/// A handler that serves Redis's pub/sub commands from a [`PubSub`] and passes every
/// other command to the handler it wraps. Make one with [`PubSub::handler`].
///
/// It serves, exactly as Redis 7 answers them:
///
/// - `PUBLISH channel message` → the number of receivers.
/// - `SUBSCRIBE ch...` / `PSUBSCRIBE pattern...`: one confirmation per name, each with
///   the client's total of channels plus patterns. The connection is then detached from
///   the server's loop and served by a per-connection handler with its own writer
///   thread (see the [module docs](crate::pubsub)).
/// - `UNSUBSCRIBE [ch...]` / `PUNSUBSCRIBE [pattern...]`: with no argument, leaves every
///   channel (or pattern); when nothing is left to leave, one confirmation with a null
///   name.
/// - A RESP2 client with subscriptions may only run `(P|S)SUBSCRIBE`,
///   `(P|S)UNSUBSCRIBE`, `PING` (answered `["pong", message]`), `QUIT` and `RESET`;
///   anything else gets `-ERR Can't execute '<name>': only (P|S)SUBSCRIBE / ...`. Once
///   it has left every channel and pattern it is an ordinary client again.
/// - A RESP3 client (after `HELLO 3`) receives confirmations and messages as `>` push
///   frames and may run any command meanwhile; the wrapped handler serves it. Its
///   replies keep their order relative to the messages.
/// - `RESET` while subscribed leaves every channel and pattern, switches back to RESP2,
///   clears the client name and answers `+RESET`. (Your per-connection context is
///   kept: handle `RESET` yourself for the rest.) `QUIT` answers `+OK` and closes.
///
/// The wrapped handler's `on_accept`, `on_hello` and `on_close` are called as usual,
/// `on_close` also for subscribed connections. If the wrapped handler detaches a
/// subscribed RESP3 connection, the connection first leaves its channels and patterns.
///
/// Limits: while a client is subscribed, replies to its own commands count against its
/// queue limit along with the messages (as Redis counts a pub/sub client's whole output
/// buffer); the server's write timeout still applies to each write, so a subscriber that
/// stops reading is disconnected by whichever comes first. A connection that has
/// subscribed once is no longer subject to the server's idle timeout, even after it
/// leaves every channel (Redis exempts pub/sub clients from its `timeout` too).
///
/// ```no_run
/// use redcon::mux::{Arity, Mux};
/// use redcon::pubsub::PubSub;
/// use redcon::{Command, Conn, Handler};
/// use std::sync::Arc;
///
/// let mut mux = Mux::new();
/// mux.handle("ping", Arity::AtLeast(1), |conn, _| conn.write_string("PONG"));
/// mux.handle("get", Arity::Exactly(2), |conn, _| conn.write_null());
/// let mux = Arc::new(mux);
///
/// let pubsub = PubSub::new();
/// let table = mux.clone();
/// let handler = pubsub
///     .handler(move |conn: &mut Conn, cmd: Command| mux.on_command(conn, cmd))
///     // Subscribed RESP2 clients get Redis's unknown-command and arity errors first.
///     .command_check(move |cmd| table.check(cmd).map(|name| name.into_owned()));
/// redcon::listen_and_serve("127.0.0.1:6380", handler)?;
/// # Ok::<(), redcon::Error>(())
/// ```
pub struct PubSubHandler<H> {
    ctx: Ctx<H>,
}

impl<H: Handler> PubSubHandler<H> {
    /// Wraps `inner`, serving pub/sub from `pubsub`. Same as [`PubSub::handler`].
    ///
    /// ```
    /// use redcon::pubsub::{PubSub, PubSubHandler};
    /// use redcon::{Command, Conn};
    /// let h = PubSubHandler::new(PubSub::new(), |conn: &mut Conn, _cmd: Command| {
    ///     conn.write_string("OK")
    /// });
    /// # drop(h);
    /// ```
    pub fn new<M>(pubsub: PubSub, inner: impl IntoHandler<M, Handler = H>) -> Self {
        let inner = inner.into_handler();
        let table = inner.commands().map(|inner_table| {
            let mut table = (*inner_table).clone();
            table.merge_missing(&super::command_specs().into_iter().collect());
            Arc::new(table)
        });
        PubSubHandler {
            ctx: Ctx {
                pubsub,
                inner: Arc::new(inner),
                check: None,
                table,
            },
        }
    }

    /// Tells the handler how the wrapped handler resolves commands, so that a RESP2
    /// subscriber sending a command it may not run gets the error Redis would send:
    /// `f` returns the command's full lowercase name (`Ok("client|id")`) for the
    /// `Can't execute '<name>'` error, or the error message to send instead
    /// (`Err(b"ERR unknown command ...")`, `Err(b"ERR wrong number of arguments ...")`),
    /// which Redis checks first. [`Mux::check`](crate::mux::Mux::check) is such a
    /// function.
    ///
    /// Without it, the wrapped handler's command table
    /// ([`Handler::commands`]) decides, as it would for a [`Mux`](crate::mux::Mux)
    /// without a fallback; a handler without a table gets
    /// `Can't execute '<its name in lowercase>'` for every such command.
    ///
    /// ```
    /// use redcon::pubsub::PubSub;
    /// use redcon::{Command, Conn};
    /// let h = PubSub::new()
    ///     .handler(|conn: &mut Conn, cmd: Command| conn.write_string("OK"))
    ///     .command_check(|cmd| {
    ///         if cmd.is("get") {
    ///             Ok("get".to_string())
    ///         } else {
    ///             Err(redcon::reply::unknown_command(cmd))
    ///         }
    ///     });
    /// # drop(h);
    /// ```
    pub fn command_check<F>(mut self, f: F) -> Self
    where
        F: Fn(&Command<'_>) -> Result<String, Vec<u8>> + Send + Sync + 'static,
    {
        self.ctx.check = Some(Arc::new(f));
        self
    }

    /// The wrapped handler.
    ///
    /// ```
    /// use redcon::mux::Mux;
    /// let h = redcon::pubsub::PubSub::new().handler(Mux::new());
    /// assert!(!h.inner().contains(b"get"));
    /// ```
    pub fn inner(&self) -> &H {
        &self.ctx.inner
    }

    /// The hub this handler serves.
    ///
    /// ```
    /// let h = redcon::pubsub::PubSub::new().handler(redcon::mux::Mux::new());
    /// assert_eq!(h.pubsub().publish("chan", "msg"), 0);
    /// ```
    pub fn pubsub(&self) -> &PubSub {
        &self.ctx.pubsub
    }

    /// Detaches the connection and serves it with a session that starts by subscribing
    /// to `requests`.
    fn start_session(&self, conn: &mut Conn<'_>, requests: Vec<Request>) {
        let ctx = self.ctx.clone();
        let id = conn.id();
        let socket = conn.state.sink.socket().cloned();
        let ctl = conn.state.ctl.clone();
        conn.detach(move |mut d: DetachedConn| {
            let session = Session {
                ctx,
                id,
                socket,
                out: d.writer(),
                state: Mutex::new(State {
                    subs: Subs::default(),
                    writer: None,
                    protocol: d.protocol(),
                }),
            };
            {
                let mut st = session.lock();
                let protocol = d.protocol();
                if !session.enter(&mut st, protocol) {
                    drop(st);
                    let _ = d.close();
                    return;
                }
                session.subscribe_all(&mut st, protocol, &requests);
                st.publish(ctl.as_deref().map(|c| &c.details));
                d.set_before_error(drain_before_error(&st));
            }
            // Serves until the client leaves (then `on_close` cleans up) or the wrapped
            // handler detaches it; dropping the session cleans up either way.
            d.serve(&session);
        });
    }
}

/// The subscriptions the wrapped handler asked for while serving the command that just
/// returned ([`PubSub::subscribe`]); none if that command closes or detaches the
/// connection, which then has no future to subscribe.
fn take_requests(conn: &mut Conn<'_>) -> Vec<Request> {
    let requests = std::mem::take(&mut conn.state.subscribe_requests);
    if conn.state.close || conn.state.detach.is_some() {
        return Vec::new();
    }
    requests
}

/// A `(P)SUBSCRIBE` command's names as subscription requests.
fn requests_of(kind: Kind, cmd: &Command<'_>) -> Vec<Request> {
    cmd.args().skip(1).map(|n| (kind, n.into())).collect()
}

impl<H: Handler> Handler for PubSubHandler<H> {
    fn on_accept(&self, conn: &mut Conn<'_>) -> bool {
        conn.state.pubsub_hub = Some(self.ctx.pubsub.identity());
        self.ctx.inner.on_accept(conn)
    }

    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        let requests = match self.ctx.serve_unsubscribed(conn, cmd) {
            Some(kind) => requests_of(kind, &cmd),
            None => take_requests(conn),
        };
        if !requests.is_empty() {
            self.start_session(conn, requests);
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.ctx.inner.on_close(conn, reason);
    }

    fn on_hello(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        self.ctx.inner.on_hello(conn, cmd);
    }

    /// The wrapped handler's table with the pub/sub commands added.
    fn commands(&self) -> Option<Arc<CommandTable>> {
        self.ctx.table.clone()
    }
}

impl<H> fmt::Debug for PubSubHandler<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PubSubHandler")
            .field("pubsub", &self.ctx.pubsub)
            .field("command_check", &self.ctx.check.is_some())
            .finish_non_exhaustive()
    }
}

/// One connection's channels and patterns, each with the order it was subscribed in
/// (unsubscribing from all confirms in that order).
#[derive(Default)]
struct Subs {
    channels: HashMap<Box<[u8]>, u64>,
    patterns: HashMap<Box<[u8]>, u64>,
    shards: HashMap<Box<[u8]>, u64>,
    seq: u64,
}

impl Subs {
    /// The count a confirmation of `kind` reports, as Redis: channels plus patterns for
    /// those, shard channels alone for these.
    fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shards.len(),
            Kind::Channel | Kind::Pattern => self.channels.len() + self.patterns.len(),
        }
    }

    /// Every subscription: the connection stays in subscribed mode while it is not 0.
    fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shards.len()
    }

    fn set(&mut self, kind: Kind) -> &mut HashMap<Box<[u8]>, u64> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shards,
        }
    }

    /// Adds a name; `false` if it was there already.
    fn insert(&mut self, kind: Kind, name: &[u8]) -> bool {
        self.seq += 1;
        let seq = self.seq;
        let set = self.set(kind);
        if set.contains_key(name) {
            return false;
        }
        set.insert(name.into(), seq);
        true
    }

    fn remove(&mut self, kind: Kind, name: &[u8]) -> bool {
        self.set(kind).remove(name).is_some()
    }

    /// Every name of `kind`, oldest subscription first.
    fn all(&mut self, kind: Kind) -> Vec<Box<[u8]>> {
        let mut v: Vec<_> = self
            .set(kind)
            .iter()
            .map(|(k, s)| (*s, k.clone()))
            .collect();
        v.sort_unstable_by_key(|(s, _)| *s);
        v.into_iter().map(|(_, k)| k).collect()
    }
}

/// A subscribed connection's mutable state. Only its connection thread touches it; the
/// mutex is there because a handler must be `Sync`.
struct State {
    subs: Subs,
    /// Running while the connection has at least one subscription.
    writer: Option<WriterThread>,
    /// The protocol the writer encodes messages in.
    protocol: Protocol,
}

impl State {
    /// Shows the subscription counts in `CLIENT LIST`.
    fn publish(&self, details: Option<&crate::client_info::Details>) {
        if let Some(d) = details {
            let s = &self.subs;
            d.set_subscriptions(s.channels.len(), s.patterns.len(), s.shards.len());
        }
    }

    /// Leaves every channel and pattern without confirmations and stops the writer once
    /// it has written everything queued.
    fn leave(&mut self, pubsub: &PubSub) {
        if let Some(w) = &self.writer {
            let mut reg = pubsub.write();
            for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
                for (name, _) in self.subs.set(kind).drain() {
                    reg.remove(kind, &name, &w.sub);
                }
            }
        }
        self.subs = Subs::default();
        // Not under the registry lock: this waits for the writer to finish writing.
        if let Some(w) = self.writer.take() {
            w.stop();
        }
    }
}

/// While the connection is subscribed, a protocol error must wait for the replies its
/// writer thread still has queued: Redis sends them first.
fn drain_before_error(st: &State) -> Option<BeforeError> {
    let sub = st.writer.as_ref()?.sub.clone();
    Some(Arc::new(move || sub.barrier()))
}

/// The handler a detached subscriber is served with.
struct Session<H> {
    ctx: Ctx<H>,
    id: u64,
    socket: Option<Arc<Socket>>,
    /// Cloned for each writer thread.
    out: ConnWriter,
    state: Mutex<State>,
}

impl<H: Handler> Session<H> {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in the wrapped handler is contained by the server; the state itself is
        // only changed here, never left half-done by it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the writer thread (entering subscribed mode). `false` if no thread could
    /// be started: the connection is then closed.
    fn enter(&self, st: &mut State, protocol: Protocol) -> bool {
        if st.writer.is_some() {
            return true;
        }
        let limits = self.ctx.pubsub.limits();
        match WriterThread::start(
            self.id,
            self.out.clone(),
            self.socket.clone(),
            protocol,
            limits,
        ) {
            Ok(w) => {
                st.writer = Some(w);
                st.protocol = protocol;
                true
            }
            Err(e) => {
                log::warn!("client {}: cannot start a pub/sub writer: {e}", self.id);
                false
            }
        }
    }

    /// Subscribes and queues the confirmations, under one registry lock: no message
    /// published on these names can be queued before their confirmation, and once the
    /// client has seen a confirmation every later message reaches it.
    fn subscribe<'n>(
        &self,
        st: &mut State,
        protocol: Protocol,
        kind: Kind,
        names: impl Iterator<Item = &'n [u8]>,
    ) {
        let Some(sub) = st.writer.as_ref().map(|w| w.sub.clone()) else {
            return;
        };
        let route = Route::Subscribe(kind);
        let mut out = Vec::new();
        let mut reg = self.ctx.pubsub.write();
        for name in names {
            if st.subs.insert(kind, name) {
                reg.add(kind, name, &sub);
            }
            confirm(&mut out, protocol, route, Some(name), st.subs.count(kind));
        }
        sub.push_reply(out);
    }

    /// [`subscribe`](Self::subscribe) for each request, in order.
    fn subscribe_all(&self, st: &mut State, protocol: Protocol, requests: &[Request]) {
        for (kind, name) in requests {
            self.subscribe(st, protocol, *kind, std::iter::once(&name[..]));
        }
    }

    /// Subscribes a connection served by this session, entering subscribed mode first if
    /// it has left it: the replies already written to `conn` are queued ahead of the
    /// confirmations, so they keep their order. Closes the connection if no writer
    /// thread can be started.
    fn subscribe_now(&self, st: &mut State, conn: &mut Conn<'_>, requests: &[Request]) {
        let earlier = conn.buffer_mut().split_off(0);
        let protocol = conn.protocol();
        if self.enter(st, protocol) {
            if let Some(w) = &st.writer {
                w.sub.push_reply(earlier);
            }
            self.subscribe_all(st, protocol, requests);
        } else {
            conn.buffer_mut().extend_from_slice(&earlier);
            conn.close();
        }
    }

    /// Unsubscribes from the names in `cmd` (all of `kind` if none) and queues the
    /// confirmations, under one registry lock: every message queued before is written
    /// before them, none after. Leaves subscribed mode when nothing is left.
    fn unsubscribe(&self, st: &mut State, conn: &mut Conn<'_>, kind: Kind, cmd: &Command<'_>) {
        let protocol = conn.protocol();
        let route = Route::Unsubscribe(kind);
        let all;
        let names: Vec<&[u8]> = if cmd.len() == 1 {
            all = st.subs.all(kind);
            all.iter().map(|n| &n[..]).collect()
        } else {
            cmd.args().skip(1).collect()
        };
        let mut out = Vec::new();
        if names.is_empty() {
            confirm(&mut out, protocol, route, None, st.subs.count(kind));
        }
        let sub = st.writer.as_ref().map(|w| w.sub.clone());
        match sub {
            Some(sub) => {
                let mut reg = self.ctx.pubsub.write();
                for name in names {
                    if st.subs.remove(kind, name) {
                        reg.remove(kind, name, &sub);
                    }
                    confirm(&mut out, protocol, route, Some(name), st.subs.count(kind));
                }
                sub.push_reply(out);
            }
            None => {
                for name in names {
                    confirm(&mut out, protocol, route, Some(name), st.subs.count(kind));
                }
                conn.buffer_mut().extend_from_slice(&out);
            }
        }
        if st.subs.total() == 0 {
            // Not under the registry lock: this waits for the writer to finish writing.
            if let Some(w) = st.writer.take() {
                w.stop();
            }
        }
    }

    fn leave(&self, st: &mut State) {
        st.leave(&self.ctx.pubsub);
    }

    /// Serves a command of a subscribed connection. What it writes to `conn` is queued
    /// by [`after`](Self::after).
    fn subscribed(&self, st: &mut State, conn: &mut Conn<'_>, cmd: Command<'_>) {
        let resp2 = conn.protocol() == Protocol::Resp2;
        match Route::of(&cmd) {
            Some(r) if !r.arity_ok(cmd.len()) => conn.write_error(reply::wrong_arity(r.word())),
            Some(Route::Subscribe(kind)) => {
                let protocol = conn.protocol();
                self.subscribe(st, protocol, kind, cmd.args().skip(1));
            }
            Some(Route::Unsubscribe(kind)) => self.unsubscribe(st, conn, kind, &cmd),
            Some(Route::Publish(kind)) if !resp2 => {
                let n = publish(&self.ctx.pubsub, kind, &cmd);
                conn.write_int(n);
            }
            Some(r @ Route::Publish(_)) => self.refuse(conn, &cmd, Some(r.word())),
            Some(Route::Introspect) if !resp2 => introspect(&self.ctx.pubsub, conn, &cmd),
            Some(Route::Introspect) => match introspect_name(&cmd) {
                Ok(name) => self.refuse(conn, &cmd, Some(name)),
                Err(msg) => conn.write_error(msg),
            },
            None if cmd.is("ping") && resp2 => {
                if cmd.len() > 2 {
                    return conn.write_error(reply::wrong_arity("ping"));
                }
                conn.write_array(2);
                conn.write_bulk("pong");
                conn.write_bulk(cmd.get(1).unwrap_or_default());
            }
            None if cmd.is("quit") => {
                conn.write_string("OK");
                conn.close();
            }
            None if cmd.is("reset") => {
                if cmd.len() != 1 {
                    return conn.write_error(reply::wrong_arity("reset"));
                }
                self.leave(st);
                conn.set_protocol(Protocol::Resp2);
                conn.set_client_name(None);
                conn.write_string("RESET");
            }
            None if !resp2 => {
                self.before_inner(st);
                self.ctx.inner.on_command(conn, cmd);
            }
            None => self.refuse(conn, &cmd, None),
        }
    }

    /// Answers a command a RESP2 subscriber may not run, as Redis does: the wrapped
    /// handler's unknown-command or arity error first, if it has one (`own` names a
    /// command of this module, which needs no check).
    fn refuse(&self, conn: &mut Conn<'_>, cmd: &Command<'_>, own: Option<&str>) {
        let name = match (own, &self.ctx.check) {
            (Some(own), _) => own.as_bytes().to_vec(),
            (None, Some(check)) => match check(cmd) {
                Ok(name) => name.into_bytes(),
                Err(msg) => return conn.write_error(msg),
            },
            // The server's table: the wrapped handler's, plus what the server answers
            // itself (AUTH with access control on, the cluster commands).
            (None, None) => match conn
                .state
                .commands
                .clone()
                .or_else(|| self.ctx.table.clone())
            {
                Some(table) => match table.resolve(cmd) {
                    Ok(spec) => spec.name().as_bytes().to_vec(),
                    Err(msg) => return conn.write_error(msg),
                },
                None => cmd.name().to_ascii_lowercase(),
            },
        };
        conn.write_error(cant_execute(&name));
    }

    /// The wrapped handler may write a large reply straight to the socket (or flush),
    /// bypassing the queue: make sure what is queued goes first.
    fn before_inner(&self, st: &State) {
        if let Some(w) = &st.writer
            && w.sub.has_pending()
        {
            w.barrier();
        }
    }

    /// After every command: tell the writer about a protocol switch, queue what the
    /// command wrote, and leave subscribed mode (writing everything queued) if the
    /// connection is about to close or be detached by the wrapped handler.
    fn after(&self, st: &mut State, conn: &mut Conn<'_>) {
        let protocol = conn.protocol();
        if protocol != st.protocol {
            if let Some(w) = &st.writer {
                w.sub.push_control(Item::Protocol(protocol));
            }
            st.protocol = protocol;
        }
        if st.writer.is_some() != conn.state.before_error.is_some() {
            conn.state.before_error = drain_before_error(st);
        }
        st.publish(conn.state.details());
        let Some(w) = &st.writer else {
            return;
        };
        let written = conn.buffer_mut().split_off(0);
        w.sub.push_reply(written);
        if conn.state.close || conn.state.detach.is_some() {
            self.leave(st);
        }
    }
}

impl<H: Handler> Handler for Session<H> {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        let mut st = self.lock();
        if st.writer.is_some() {
            self.subscribed(&mut st, conn, cmd);
        } else if let Some(kind) = self.ctx.serve_unsubscribed(conn, cmd) {
            // Subscribing again after having left: replies to the commands before this
            // one in the pipeline are still in the buffer and must go out first.
            self.subscribe_now(&mut st, conn, &requests_of(kind, &cmd));
        }
        let requests = take_requests(conn);
        if !requests.is_empty() {
            self.subscribe_now(&mut st, conn, &requests);
        }
        self.after(&mut st, conn);
    }

    fn on_hello(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        let mut st = self.lock();
        if st.writer.is_some() && conn.protocol() == Protocol::Resp2 {
            conn.write_error(cant_execute(b"hello"));
        } else {
            self.before_inner(&st);
            self.ctx.inner.on_hello(conn, cmd);
        }
        self.after(&mut st, conn);
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.leave(&mut self.lock());
        self.ctx.inner.on_close(conn, reason);
    }

    fn commands(&self) -> Option<Arc<CommandTable>> {
        self.ctx.table.clone()
    }
}

impl<H> Drop for Session<H> {
    fn drop(&mut self) {
        // Normally `on_close` has cleaned up; this covers a connection detached by the
        // wrapped handler, or a panic. Registry entries must never outlive it.
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        st.leave(&self.ctx.pubsub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmations_match_redis() {
        let mut out = Vec::new();
        let sub = Route::Subscribe(Kind::Channel);
        confirm(&mut out, Protocol::Resp2, sub, Some(b"x"), 1);
        assert_eq!(out, b"*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n");
        out.clear();
        let unsub = Route::Unsubscribe(Kind::Channel);
        confirm(&mut out, Protocol::Resp2, unsub, None, 0);
        assert_eq!(out, b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
        out.clear();
        let punsub = Route::Unsubscribe(Kind::Pattern);
        confirm(&mut out, Protocol::Resp3, punsub, None, 2);
        assert_eq!(out, b">3\r\n$12\r\npunsubscribe\r\n_\r\n:2\r\n");
        out.clear();
        let ssub = Route::Subscribe(Kind::Shard);
        confirm(&mut out, Protocol::Resp2, ssub, Some(b"s"), 1);
        assert_eq!(out, b"*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n");
    }

    #[test]
    fn routes_and_arity() {
        use crate::resp::{Parsed, Parser};
        let mut p = Parser::new();
        let Ok(Parsed::Command { command, .. }) = p.parse(b"PSubscribe a*\r\n") else {
            panic!("parses")
        };
        let r = Route::of(&command);
        assert_eq!(r, Some(Route::Subscribe(Kind::Pattern)));
        assert!(r.is_some_and(|r| r.arity_ok(2) && !r.arity_ok(1)));
        let publish = Route::Publish(Kind::Channel);
        assert!(publish.arity_ok(3) && !publish.arity_ok(4));
        assert!(Route::Unsubscribe(Kind::Channel).arity_ok(1));
    }

    #[test]
    fn subs_count_and_order() {
        let mut s = Subs::default();
        assert!(s.insert(Kind::Channel, b"b"));
        assert!(s.insert(Kind::Channel, b"a"));
        assert!(!s.insert(Kind::Channel, b"b"));
        assert!(s.insert(Kind::Pattern, b"b"));
        assert!(s.insert(Kind::Shard, b"b"));
        // Channels and patterns count together; shard channels apart, as in Redis.
        assert_eq!(s.count(Kind::Channel), 3);
        assert_eq!(s.count(Kind::Shard), 1);
        assert_eq!(s.total(), 4);
        assert_eq!(s.all(Kind::Channel), vec![b"b"[..].into(), b"a"[..].into()]);
        assert!(s.remove(Kind::Channel, b"b"));
        assert!(!s.remove(Kind::Channel, b"b"));
        assert_eq!(s.count(Kind::Pattern), 2);
    }
}
