//! Publish/subscribe as Redis 7 does it: [`PubSub`] is the registry of channels,
//! patterns and shard channels and the `publish` entry point; [`PubSubHandler`] wraps
//! your handler so that `SUBSCRIBE`, `PSUBSCRIBE`, `UNSUBSCRIBE`, `PUNSUBSCRIBE`,
//! `PUBLISH`, the sharded `SSUBSCRIBE`, `SUNSUBSCRIBE`, `SPUBLISH` and `PUBSUB CHANNELS |
//! NUMSUB | NUMPAT | SHARDCHANNELS | SHARDNUMSUB` behave as in Redis 7, byte for byte,
//! in RESP2 and RESP3. In a cluster, shard channels are routed by their hash slot like
//! keys.
//!
//! ```
//! use redcon::mux::Mux;
//! use redcon::pubsub::PubSub;
//! use redcon::Server;
//! use std::io::{Read, Write};
//!
//! let pubsub = PubSub::new();
//! let server = Server::new(pubsub.handler(Mux::new())).addr("127.0.0.1:0").start()?;
//! let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
//! c.write_all(b"SSUBSCRIBE orders\r\n")?;
//! let mut confirm = [0u8; 37];
//! c.read_exact(&mut confirm)?;
//! assert_eq!(&confirm, b"*3\r\n$10\r\nssubscribe\r\n$6\r\norders\r\n:1\r\n");
//! assert_eq!(pubsub.spublish("orders", "paid"), 1);
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! How it is built, and why:
//!
//! - A client's first `(P)SUBSCRIBE` detaches its connection
//!   ([`Conn::detach`](crate::Conn::detach)) and serves it on, on the same thread, with a
//!   per-connection handler that knows its subscriptions. Clients that never subscribe
//!   pay nothing.
//! - Each subscriber gets a writer thread and a queue. `publish` only pushes onto the
//!   queues of the matching subscribers (a few atomic operations each, never a socket
//!   call), so a slow subscriber cannot slow a publisher or anyone else. The writer
//!   drains whatever is queued into one write.
//! - A queue that grows past its limit (messages or bytes, like Redis's
//!   `client-output-buffer-limit pubsub`) disconnects that subscriber; nobody else
//!   notices. Within the limit nothing is lost and every subscriber sees each
//!   publisher's messages in publish order.
//! - While subscribed, replies to the client's own commands go through the same queue,
//!   so they keep their place among the messages exactly as in Redis: a `PING` answered
//!   after a message was published arrives after that message.
//! - The registry is behind a read-write lock held only while queuing (publishers share
//!   it) or while changing subscriptions; never during socket I/O. Subscribing queues
//!   the confirmation and registers under one lock, so a message published after the
//!   client saw the confirmation is always delivered, and none arrives before it;
//!   unsubscribing likewise.

mod commands;
mod handler;
mod queue;

pub use commands::command_specs;
pub use handler::{CommandCheck, PubSubHandler};

use crate::conn::Conn;
use crate::handler::{Handler, IntoHandler};
use crate::resp::{append_array_len, append_bulk};
use queue::{Limits, Subscriber};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Default limit on the messages (and replies) queued for one subscriber.
///
/// ```
/// use redcon::pubsub::{PubSub, DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_MESSAGES};
/// // Twice the default message allowance, the default byte limit.
/// let pubsub = PubSub::with_queue_limits(2 * DEFAULT_QUEUE_MESSAGES, DEFAULT_QUEUE_BYTES);
/// # drop(pubsub);
/// ```
pub const DEFAULT_QUEUE_MESSAGES: usize = 100_000;

/// Default limit on the bytes queued for one subscriber: Redis's default hard
/// `client-output-buffer-limit` for pub/sub clients, 32 MiB.
///
/// ```
/// assert_eq!(redcon::pubsub::DEFAULT_QUEUE_BYTES, 32 << 20);
/// ```
pub const DEFAULT_QUEUE_BYTES: usize = 32 * 1024 * 1024;

/// A subscription asked for with [`PubSub::subscribe`] or [`PubSub::psubscribe`].
pub(crate) type Request = (Kind, Box<[u8]>);

/// Subscribers by channel, by pattern or by shard channel.
type Table = HashMap<Box<[u8]>, Vec<Arc<Subscriber>>>;

#[derive(Default)]
struct Registry {
    channels: Table,
    patterns: Table,
    /// Shard channels (`SSUBSCRIBE`): a namespace of their own, as in Redis.
    shards: Table,
}

/// Whether a subscription is to a channel, a pattern or a shard channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Registry {
    fn table(&mut self, kind: Kind) -> &mut Table {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shards,
        }
    }

    fn table_ref(&self, kind: Kind) -> &Table {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shards,
        }
    }

    fn add(&mut self, kind: Kind, name: &[u8], sub: &Arc<Subscriber>) {
        self.table(kind)
            .entry(name.into())
            .or_default()
            .push(sub.clone());
    }

    fn remove(&mut self, kind: Kind, name: &[u8], sub: &Arc<Subscriber>) {
        let table = self.table(kind);
        if let Some(subs) = table.get_mut(name) {
            if let Some(i) = subs.iter().position(|s| Arc::ptr_eq(s, sub)) {
                subs.swap_remove(i);
            }
            if subs.is_empty() {
                table.remove(name);
            }
        }
    }
}

struct Shared {
    registry: RwLock<Registry>,
    limits: Limits,
}

/// A pub/sub hub: channels, patterns and their subscribers. Cheap to clone (it is an
/// `Arc` inside); every clone is the same hub.
///
/// Serve it with [`handler`](Self::handler), which wraps your own handler, and publish
/// from anywhere with [`publish`](Self::publish) — a command handler, another thread, a
/// timer.
///
/// ```
/// use redcon::pubsub::PubSub;
/// use redcon::{Command, Conn, Server};
/// use std::io::{Read, Write};
///
/// let pubsub = PubSub::new();
/// let handler = pubsub.handler(|conn: &mut Conn, cmd: Command| {
///     conn.write_error(redcon::reply::unknown_command(&cmd))
/// });
/// let server = Server::new(handler).addr("127.0.0.1:0").start()?;
///
/// let mut sub = std::net::TcpStream::connect(server.local_addr().to_string())?;
/// sub.write_all(b"SUBSCRIBE news\r\n")?;
/// let mut confirm = [0u8; 33];
/// sub.read_exact(&mut confirm)?;
/// assert_eq!(&confirm, b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
///
/// // The confirmation arrived, so the subscription is in place.
/// assert_eq!(pubsub.publish("news", "hello"), 1);
/// let mut msg = [0u8; 38];
/// sub.read_exact(&mut msg)?;
/// assert_eq!(&msg, b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
/// server.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PubSub {
    shared: Arc<Shared>,
}

impl PubSub {
    /// A hub whose subscribers may each have [`DEFAULT_QUEUE_MESSAGES`] messages or
    /// [`DEFAULT_QUEUE_BYTES`] bytes queued before they are disconnected.
    ///
    /// ```
    /// let pubsub = redcon::pubsub::PubSub::new();
    /// assert_eq!(pubsub.publish("nobody", "listens"), 0);
    /// ```
    pub fn new() -> PubSub {
        PubSub::with_queue_limits(DEFAULT_QUEUE_MESSAGES, DEFAULT_QUEUE_BYTES)
    }

    /// A hub whose subscribers are disconnected once more than `messages` messages are
    /// queued for them (replies to their own commands count too); the byte limit stays
    /// [`DEFAULT_QUEUE_BYTES`].
    ///
    /// ```
    /// let pubsub = redcon::pubsub::PubSub::with_queue_limit(1_000);
    /// # drop(pubsub);
    /// ```
    pub fn with_queue_limit(messages: usize) -> PubSub {
        PubSub::with_queue_limits(messages, DEFAULT_QUEUE_BYTES)
    }

    /// A hub whose subscribers are disconnected once more than `messages` messages or
    /// more than `bytes` bytes (encoded) are queued for them and not yet written to
    /// their socket — Redis's `client-output-buffer-limit pubsub <bytes>` hard limit.
    ///
    /// ```
    /// // At most 10 000 messages or 8 MiB per subscriber.
    /// let pubsub = redcon::pubsub::PubSub::with_queue_limits(10_000, 8 << 20);
    /// # drop(pubsub);
    /// ```
    pub fn with_queue_limits(messages: usize, bytes: usize) -> PubSub {
        PubSub {
            shared: Arc::new(Shared {
                registry: RwLock::new(Registry::default()),
                limits: Limits { messages, bytes },
            }),
        }
    }

    /// Wraps `inner` in a handler that serves the pub/sub commands from this hub and
    /// passes every other command to `inner`; see [`PubSubHandler`].
    ///
    /// ```no_run
    /// use redcon::mux::{Arity, Mux};
    /// use redcon::pubsub::PubSub;
    ///
    /// let mut mux = Mux::new();
    /// mux.handle("ping", Arity::AtLeast(1), |conn, _| conn.write_string("PONG"));
    /// let pubsub = PubSub::new();
    /// redcon::listen_and_serve("127.0.0.1:6380", pubsub.handler(mux))?;
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn handler<M, H: Handler>(
        &self,
        inner: impl IntoHandler<M, Handler = H>,
    ) -> PubSubHandler<H> {
        PubSubHandler::new(self.clone(), inner)
    }

    /// Publishes `message` on `channel`: queues it for every subscriber of the channel
    /// (as `message`) and for every subscription to a pattern that matches the channel
    /// (as `pmessage`, once per matching pattern, as Redis does). Never blocks on a
    /// subscriber's socket.
    ///
    /// Returns the number of receivers as Redis's `PUBLISH` counts them: the channel's
    /// subscribers plus the matching pattern subscriptions. A subscriber whose queue
    /// overflows with this message is disconnected, and still counted, as in Redis
    /// (which counts it and closes it asynchronously).
    ///
    /// ```
    /// let pubsub = redcon::pubsub::PubSub::new();
    /// assert_eq!(pubsub.publish(b"chan", b"payload"), 0);
    /// ```
    pub fn publish(&self, channel: impl AsRef<[u8]>, message: impl AsRef<[u8]>) -> usize {
        let (channel, message) = (channel.as_ref(), message.as_ref());
        let reg = self.read();
        let mut receivers = 0;
        if let Some(subs) = reg.channels.get(channel) {
            let frame = message_frame(None, channel, message);
            for s in subs {
                s.push_message(&frame);
            }
            receivers += subs.len();
        }
        for (pattern, subs) in &reg.patterns {
            if crate::glob_match(pattern, channel) {
                let frame = message_frame(Some(pattern), channel, message);
                for s in subs {
                    s.push_message(&frame);
                }
                receivers += subs.len();
            }
        }
        receivers
    }

    /// Publishes `message` on the shard channel `channel` (Redis's `SPUBLISH`): only
    /// `SSUBSCRIBE` subscribers receive it, as `smessage`. Returns how many did.
    ///
    /// ```
    /// let pubsub = redcon::pubsub::PubSub::new();
    /// assert_eq!(pubsub.spublish("orders:{42}", "paid"), 0);
    /// ```
    pub fn spublish(&self, channel: impl AsRef<[u8]>, message: impl AsRef<[u8]>) -> usize {
        let (channel, message) = (channel.as_ref(), message.as_ref());
        let reg = self.read();
        let Some(subs) = reg.shards.get(channel) else {
            return 0;
        };
        let frame = frame(b"smessage", None, channel, message);
        for s in subs {
            s.push_message(&frame);
        }
        subs.len()
    }

    /// Subscribes the client of `conn` to `channel` from the server's side, as if it had
    /// sent `SUBSCRIBE channel` (Go redcon's `PubSub.Subscribe(conn, channel)`): once the
    /// command being served returns, the client receives its replies to it, then the
    /// `subscribe` confirmation Redis sends, then every message published on the
    /// channel. Call it from a handler wrapped by this hub's [`handler`](Self::handler),
    /// in [`on_command`](crate::Handler::on_command).
    ///
    /// Returns `false`, and does nothing, if `conn` is not served by a handler of this
    /// hub.
    ///
    /// ```
    /// use redcon::pubsub::PubSub;
    /// use redcon::{Command, Conn, Server};
    /// use std::io::{Read, Write};
    ///
    /// let pubsub = PubSub::new();
    /// let hub = pubsub.clone();
    /// // JOIN <room>: the client is subscribed without knowing pub/sub commands.
    /// let handler = pubsub.handler(move |conn: &mut Conn, cmd: Command| {
    ///     if cmd.is("join") && cmd.len() == 2 {
    ///         hub.subscribe(conn, &cmd[1]);
    ///     } else {
    ///         conn.write_error(redcon::reply::unknown_command(&cmd));
    ///     }
    /// });
    /// let server = Server::new(handler).addr("127.0.0.1:0").start()?;
    /// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// c.write_all(b"JOIN lobby\r\n")?;
    /// let mut confirm = [0u8; 34];
    /// c.read_exact(&mut confirm)?;
    /// assert_eq!(&confirm, b"*3\r\n$9\r\nsubscribe\r\n$5\r\nlobby\r\n:1\r\n");
    /// assert_eq!(pubsub.publish("lobby", "hi"), 1);
    /// server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe(&self, conn: &mut Conn<'_>, channel: impl AsRef<[u8]>) -> bool {
        self.request(conn, Kind::Channel, channel.as_ref())
    }

    /// Subscribes the client of `conn` to the channels matching `pattern`, as if it had
    /// sent `PSUBSCRIBE pattern`; see [`subscribe`](Self::subscribe).
    ///
    /// ```
    /// use redcon::pubsub::PubSub;
    /// use redcon::{Command, Conn};
    /// let pubsub = PubSub::new();
    /// let hub = pubsub.clone();
    /// let handler = pubsub.handler(move |conn: &mut Conn, cmd: Command| {
    ///     if cmd.is("follow") && cmd.len() == 2 {
    ///         let mut pattern = cmd[1].to_vec();
    ///         pattern.extend_from_slice(b".*");
    ///         hub.psubscribe(conn, pattern);
    ///     }
    /// });
    /// # drop(handler);
    /// ```
    pub fn psubscribe(&self, conn: &mut Conn<'_>, pattern: impl AsRef<[u8]>) -> bool {
        self.request(conn, Kind::Pattern, pattern.as_ref())
    }

    fn request(&self, conn: &mut Conn<'_>, kind: Kind, name: &[u8]) -> bool {
        if conn.state.pubsub_hub != Some(self.identity()) {
            return false;
        }
        conn.state.subscribe_requests.push((kind, name.into()));
        true
    }

    /// Tells this hub apart from others; stable for as long as any clone lives.
    fn identity(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// The number of subscribers of `channel` (pattern subscriptions not counted), as
    /// Redis's `PUBSUB NUMSUB`.
    ///
    /// ```
    /// assert_eq!(redcon::pubsub::PubSub::new().numsub("chan"), 0);
    /// ```
    pub fn numsub(&self, channel: impl AsRef<[u8]>) -> usize {
        self.subscribers(Kind::Channel, channel.as_ref())
    }

    /// The number of subscribers of the shard channel `channel`, as Redis's
    /// `PUBSUB SHARDNUMSUB`.
    ///
    /// ```
    /// assert_eq!(redcon::pubsub::PubSub::new().shardnumsub("chan"), 0);
    /// ```
    pub fn shardnumsub(&self, channel: impl AsRef<[u8]>) -> usize {
        self.subscribers(Kind::Shard, channel.as_ref())
    }

    fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.read().table_ref(kind).get(name).map_or(0, Vec::len)
    }

    /// The number of distinct patterns subscribed to by anyone, as Redis's
    /// `PUBSUB NUMPAT`.
    ///
    /// ```
    /// assert_eq!(redcon::pubsub::PubSub::new().numpat(), 0);
    /// ```
    pub fn numpat(&self) -> usize {
        self.read().patterns.len()
    }

    /// The channels with at least one subscriber, those matching `pattern` if given, as
    /// Redis's `PUBSUB CHANNELS [pattern]`. In no particular order.
    ///
    /// ```
    /// assert!(redcon::pubsub::PubSub::new().channels(Some(b"news.*")).is_empty());
    /// ```
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.active(Kind::Channel, pattern)
    }

    /// The shard channels with at least one subscriber, those matching `pattern` if
    /// given, as Redis's `PUBSUB SHARDCHANNELS [pattern]`. In no particular order.
    ///
    /// ```
    /// assert!(redcon::pubsub::PubSub::new().shardchannels(None).is_empty());
    /// ```
    pub fn shardchannels(&self, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.active(Kind::Shard, pattern)
    }

    fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.read()
            .table_ref(kind)
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::glob_match(p, c)))
            .map(|c| c.to_vec())
            .collect()
    }

    fn limits(&self) -> Limits {
        self.shared.limits
    }

    fn read(&self) -> RwLockReadGuard<'_, Registry> {
        // A panic never leaves the registry half-changed in a way that matters here:
        // each change is one insert or remove.
        self.shared
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.shared
            .registry
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub::new()
    }
}

impl fmt::Debug for PubSub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reg = self.read();
        f.debug_struct("PubSub")
            .field("channels", &reg.channels.len())
            .field("patterns", &reg.patterns.len())
            .field("shard_channels", &reg.shards.len())
            .field("queue_messages", &self.shared.limits.messages)
            .field("queue_bytes", &self.shared.limits.bytes)
            .finish()
    }
}

/// Encodes a published message once for all its receivers, as a RESP2 array:
/// `message <channel> <payload>`, or `pmessage <pattern> <channel> <payload>`.
fn message_frame(pattern: Option<&[u8]>, channel: &[u8], message: &[u8]) -> Arc<[u8]> {
    match pattern {
        Some(_) => frame(b"pmessage", pattern, channel, message),
        None => frame(b"message", None, channel, message),
    }
}

/// `[kind, pattern?, channel, payload]` as a RESP2 array (the writer turns it into a
/// push in RESP3).
fn frame(kind: &[u8], pattern: Option<&[u8]>, channel: &[u8], message: &[u8]) -> Arc<[u8]> {
    let extra = pattern.map_or(0, <[u8]>::len);
    let mut out = Vec::with_capacity(64 + extra + channel.len() + message.len());
    append_array_len(&mut out, if pattern.is_some() { 4 } else { 3 });
    append_bulk(&mut out, kind);
    if let Some(p) = pattern {
        append_bulk(&mut out, p);
    }
    append_bulk(&mut out, channel);
    append_bulk(&mut out, message);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_frames_match_redis() {
        assert_eq!(
            &*message_frame(None, b"x", b"hello"),
            b"*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$5\r\nhello\r\n"
        );
        assert_eq!(
            &*frame(b"smessage", None, b"x", b"m"),
            b"*3\r\n$8\r\nsmessage\r\n$1\r\nx\r\n$1\r\nm\r\n"
        );
        assert_eq!(
            &*message_frame(Some(b"x*"), b"xy", b""),
            b"*4\r\n$8\r\npmessage\r\n$2\r\nx*\r\n$2\r\nxy\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn nobody_subscribed() {
        let ps = PubSub::default();
        assert_eq!(ps.publish("a", "b"), 0);
        assert_eq!(ps.numsub("a"), 0);
        assert_eq!(ps.numpat(), 0);
        assert!(ps.channels(None).is_empty());
    }
}
