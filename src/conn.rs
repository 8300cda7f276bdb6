//! [`Conn`]: what a handler sees of one connection while it serves a command — the
//! reply buffer (through `Deref` to [`Writer`]), the negotiated protocol, the client's
//! address and id, typed per-connection state, the rest of the current pipeline, and
//! the controls to close or detach.
//!
//! The connection's state lives in [`ConnState`], owned by the connection thread; a
//! `Conn` is a short-lived view of it plus the unparsed bytes that follow the current
//! command. That split is what lets a handler hold `&mut Conn` and a [`Command`] that
//! borrows the read buffer at the same time.

use crate::commands::CommandTable;
use crate::detached::DetachedConn;
use crate::io::{PeerAddr, WriteHalf};
use crate::resp::{Limits, OwnedCommand, Parsed, Parser, Protocol, Writer};
use std::any::Any;
use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use crate::hello::ServerInfo;

/// Bulk replies at least this long are written straight from the caller's slice (after
/// the replies buffered before them, in one `writev`) instead of being copied into the
/// reply buffer first.
pub(crate) const DIRECT_WRITE_MIN: usize = 64 * 1024;

/// The reply buffer is written out early once it holds this much, so a pipeline of
/// large replies does not pile up in memory.
pub(crate) const FLUSH_AT: usize = 256 * 1024;

pub(crate) type DetachFn = Box<dyn FnOnce(DetachedConn) + Send + 'static>;

/// Per-connection state owned by the connection thread.
pub(crate) struct ConnState {
    pub(crate) id: u64,
    pub(crate) peer: PeerAddr,
    pub(crate) tls: bool,
    pub(crate) out: Writer,
    pub(crate) sink: WriteHalf,
    pub(crate) limits: Limits,
    pub(crate) context: Option<Box<dyn Any + Send>>,
    pub(crate) name: Option<Vec<u8>>,
    pub(crate) close: bool,
    pub(crate) detach: Option<DetachFn>,
    /// Bytes of the pipeline the handler took with [`Conn::take_pipeline`].
    pub(crate) taken: usize,
    /// A write the handler triggered (large bulk, early flush) failed.
    pub(crate) write_error: Option<io::Error>,
    /// What the built-in `HELLO` reports.
    pub(crate) info: Arc<ServerInfo>,
    /// Serialises this connection's flushes with its `ConnWriter`s (out-of-band writes
    /// from other threads). Set when a server starts the connection (and by
    /// [`Conn::writer`] or detaching for one served otherwise).
    pub(crate) write_lock: Option<Arc<Mutex<()>>>,
    /// Run before the connection loop writes a protocol error itself, so output
    /// queued elsewhere (a pub/sub writer thread) is written before the error, as
    /// Redis writes every earlier reply first.
    pub(crate) before_error: Option<BeforeError>,
    /// The handler's command table ([`Handler::commands`](crate::Handler::commands)),
    /// read once when the connection starts.
    pub(crate) commands: Option<Arc<CommandTable>>,
    /// Set in cluster mode: the topology this connection last saw, `ASKING`,
    /// `READONLY`.
    pub(crate) cluster: Option<crate::cluster::ClusterConn>,
    /// The pub/sub hub whose handler serves this connection (its address, as an
    /// identity only), so that [`PubSub::subscribe`](crate::pubsub::PubSub::subscribe)
    /// can tell whether it can act on it.
    pub(crate) pubsub_hub: Option<usize>,
    /// Subscriptions the handler asked for while serving the current command, carried
    /// out by the pub/sub handler once the command returns.
    pub(crate) subscribe_requests: Vec<crate::pubsub::Request>,
    /// How the server reaches this connection (kill, shutdown); `None` for the inert
    /// placeholder.
    pub(crate) ctl: Option<Arc<crate::clients::ClientCtl>>,
    /// Every live connection of the server ([`Conn::clients`]).
    pub(crate) clients: Option<crate::clients::Clients>,
    /// Made by the first [`Conn::waker`].
    pub(crate) wait_point: Option<crate::wait::WaitPoint>,
    /// Commands and bytes counted since they were last added to the server's.
    pub(crate) local: crate::stats::Local,
    /// The database MONITOR shows ([`Conn::set_db`]).
    pub(crate) db: u32,
    /// The client's address as MONITOR shows it, made on the first line fed.
    pub(crate) monitor_addr: Option<String>,
    /// Set when the server has access control: who the connection runs as.
    pub(crate) auth: Option<Box<crate::auth::check::ConnAuth>>,
    /// What `CLIENT LIST` will show next, before it is published.
    pub(crate) pending: crate::client_info::Pending,
}

/// See [`ConnState::before_error`].
pub(crate) type BeforeError = Arc<dyn Fn() + Send + Sync>;

impl ConnState {
    pub(crate) fn new(id: u64, peer: PeerAddr, tls: bool, sink: WriteHalf, limits: Limits) -> Self {
        ConnState {
            id,
            peer,
            tls,
            out: Writer::new(),
            sink,
            limits,
            context: None,
            name: None,
            close: false,
            detach: None,
            taken: 0,
            write_error: None,
            info: Arc::new(ServerInfo::default()),
            write_lock: None,
            before_error: None,
            commands: None,
            cluster: None,
            pubsub_hub: None,
            subscribe_requests: Vec::new(),
            ctl: None,
            clients: None,
            wait_point: None,
            local: crate::stats::Local::default(),
            db: 0,
            monitor_addr: None,
            auth: None,
            pending: crate::client_info::Pending::default(),
        }
    }

    /// An inert state that owns nothing, left behind when a `DetachedConn` hands its
    /// real state to [`serve`](crate::DetachedConn::serve).
    pub(crate) fn placeholder() -> Self {
        let mut s = ConnState::new(
            0,
            PeerAddr::Unix(None),
            false,
            WriteHalf::Closed,
            Limits::default(),
        );
        s.close = true;
        s
    }

    /// Writes the buffered replies (and `extra` after them) to the socket.
    pub(crate) fn flush_with(&mut self, extra: &[&[u8]]) -> io::Result<()> {
        // Serialised with out-of-band writers (`ConnWriter`s, `Clients::writer`): one
        // uncontended lock per flush. Taken out of the state for the write, rather than
        // cloned, so the flush costs no reference-count traffic.
        let lock = self.write_lock.take();
        let guard = lock
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()));
        let res = self.write_unlocked(extra);
        drop(guard);
        self.write_lock = lock;
        res
    }

    /// [`flush_with`](Self::flush_with) for a caller that holds the write lock (a
    /// reply written in several parts, which no other writer may split).
    pub(crate) fn write_unlocked(&mut self, extra: &[&[u8]]) -> io::Result<()> {
        if let Some(e) = self.write_error.take() {
            return Err(e);
        }
        self.local.net_out +=
            (self.out.len() + extra.iter().map(|e| e.len()).sum::<usize>()) as u64;
        let res = match extra {
            [] if self.out.is_empty() => Ok(()),
            [] => self.sink.write_all(&[self.out.as_bytes()]),
            [a] => self.sink.write_all(&[self.out.as_bytes(), a]),
            [a, b] => self.sink.write_all(&[self.out.as_bytes(), a, b]),
            _ => {
                let mut all = vec![self.out.as_bytes()];
                all.extend_from_slice(extra);
                self.sink.write_all(&all)
            }
        };
        // Only the bytes: a RESP2 attribute being dropped spans flushes.
        self.out.buffer_mut().clear();
        res
    }

    /// Records a failed write so the connection loop closes the connection.
    pub(crate) fn note_write(&mut self, res: io::Result<()>) {
        if let Err(e) = res {
            self.write_error.get_or_insert(e);
            self.close = true;
        }
    }
}

/// The accessors [`Conn`] and [`DetachedConn`] share: both keep their [`ConnState`] in a
/// field named `state` (a reference in one, a value in the other; the bodies read the
/// same either way). Also generates the forwarded `write_*` methods.
///
/// `$head` and `$tail` wrap each method's example: `$head` opens the code block and a
/// hidden `fn check(conn: &mut Type) {`, the example's body follows, then a hidden
/// `EXPECTED` (the bytes the body writes), and `$tail` runs `check` on a real
/// connection and compares what the client receives.
macro_rules! shared_conn_methods {
    ($head:literal, $tail:literal) => {
        /// The connection's id: unique within the server, increasing from 1 in accept order
        /// (like Redis's `CLIENT ID`).
        ///
        #[doc = $head]
        /// assert!(conn.id() >= 1);
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn id(&self) -> u64 {
            self.state.id
        }

        /// The client's address: a TCP peer, or a Unix-socket peer.
        ///
        #[doc = $head]
        /// // The client connected over TCP, from this machine.
        /// let redcon::PeerAddr::Tcp(addr) = conn.peer_addr() else { panic!() };
        /// assert!(addr.ip().is_loopback());
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn peer_addr(&self) -> &PeerAddr {
            &self.state.peer
        }

        /// The address this end of the connection has: the server's TCP address the client
        /// reached (useful with several listeners, or one bound to `0.0.0.0`), or the
        /// server's Unix socket path. `None` for an unnamed Unix socket, or once the
        /// connection has been handed on.
        ///
        #[doc = $head]
        /// let Some(redcon::ListenAddr::Tcp(addr)) = conn.local_addr() else { panic!() };
        /// assert!(addr.ip().is_loopback());
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn local_addr(&self) -> Option<crate::ListenAddr> {
            self.state.sink.socket()?.local_addr()
        }

        /// The credentials of the process at the other end of a Unix-socket connection
        /// (its uid, gid and pid, as the kernel recorded them when it connected), for
        /// trusting local clients by who they are. `None` over TCP, on systems other than
        /// Linux, or once the connection has been handed on.
        ///
        #[doc = $head]
        /// // Only Unix-socket peers have credentials.
        /// assert!(conn.peer_credentials().is_none());
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn peer_credentials(&self) -> Option<crate::PeerCredentials> {
            self.state.sink.socket()?.peer_credentials()
        }

        /// The ACL user the connection runs as: `"default"` until it logs in as another
        /// (`AUTH user pass`, `HELLO 3 AUTH user pass`, or its TLS client certificate),
        /// and on a server without access control.
        ///
        #[doc = $head]
        /// assert_eq!(conn.user(), "default");
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn user(&self) -> &str {
            self.state
                .auth
                .as_ref()
                .map_or("default", |a| a.user.as_str())
        }

        /// The certificate chain the client presented in the TLS handshake (its own
        /// first), when the server asks for one
        /// ([`load_tls_config_with_client_auth`](crate::load_tls_config_with_client_auth));
        /// `None` without TLS or without a certificate.
        ///
        #[doc = $head]
        /// // A plain connection: no certificate.
        /// assert!(conn.peer_certificates().is_none());
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        #[cfg(feature = "tls")]
        #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
        pub fn peer_certificates(&self) -> Option<Vec<rustls::pki_types::CertificateDer<'static>>> {
            self.state.sink.peer_certificates()
        }

        /// Whether the connection is over TLS.
        ///
        #[doc = $head]
        /// assert!(!conn.is_tls());
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn is_tls(&self) -> bool {
            self.state.tls
        }

        /// The protocol replies are encoded in: RESP2 until the client sends `HELLO 3`.
        ///
        #[doc = $head]
        /// use redcon::Protocol;
        /// // No `HELLO 3` yet.
        /// assert_eq!(conn.protocol(), Protocol::Resp2);
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn protocol(&self) -> Protocol {
            self.state.out.protocol()
        }

        /// Switches the protocol for every reply written from now on (the built-in `HELLO`
        /// does this).
        ///
        #[doc = $head]
        /// use redcon::Protocol;
        /// conn.set_protocol(Protocol::Resp3);
        /// assert_eq!(conn.protocol(), Protocol::Resp3);
        /// conn.write_null(); // `_` in RESP3
        /// # }
        /// # const EXPECTED: &[u8] = b"_\r\n";
        #[doc = $tail]
        pub fn set_protocol(&mut self, protocol: Protocol) {
            self.state.out.set_protocol(protocol);
            if let Some(d) = self.state.details() {
                d.set_resp(if protocol == $crate::Protocol::Resp3 {
                    3
                } else {
                    2
                });
            }
        }

        /// The name the client gave itself (`CLIENT SETNAME`, `HELLO ... SETNAME`), if any.
        ///
        #[doc = $head]
        /// assert_eq!(conn.client_name(), None);
        /// conn.set_client_name(Some(b"worker-1"));
        /// assert_eq!(conn.client_name(), Some(&b"worker-1"[..]));
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn client_name(&self) -> Option<&[u8]> {
            self.state.name.as_deref()
        }

        /// Sets or clears (with `None`) the client's name.
        ///
        #[doc = $head]
        /// conn.set_client_name(Some(b"worker-1"));
        /// conn.set_client_name(None);
        /// assert_eq!(conn.client_name(), None);
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn set_client_name(&mut self, name: Option<&[u8]>) {
            self.state.name = name.map(<[u8]>::to_vec);
            if let Some(d) = self.state.details() {
                d.set_name(name);
            }
        }

        /// Records the client library's name and/or version (`CLIENT SETINFO LIB-NAME`
        /// / `LIB-VER`; `None` leaves one as it is), shown by
        /// [`ClientInfo::lib_name`](crate::ClientInfo::lib_name) and
        /// [`lib_ver`](crate::ClientInfo::lib_ver). Nothing happens for a connection
        /// that no server started (no client list to show it in).
        ///
        #[doc = $head]
        /// conn.set_client_lib(Some(b"redis-py"), Some(b"5.0.1"));
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn set_client_lib(&mut self, name: Option<&[u8]>, ver: Option<&[u8]>) {
            if let Some(d) = self.state.details() {
                d.set_lib(name, ver);
            }
        }

        /// Stores a value of any type as this connection's user state, replacing any
        /// previous one.
        ///
        #[doc = $head]
        /// struct Session { user: String }
        /// conn.set_context(Session { user: "ann".into() });
        /// assert_eq!(conn.context::<Session>().unwrap().user, "ann");
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn set_context<T: Any + Send>(&mut self, value: T) {
            self.state.context = Some(Box::new(value));
        }

        /// The connection's user state, if one of type `T` was set.
        ///
        #[doc = $head]
        /// conn.set_context(7u32);
        /// assert_eq!(conn.context::<u32>(), Some(&7));
        /// // Another type finds nothing.
        /// assert!(conn.context::<String>().is_none());
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn context<T: Any + Send>(&self) -> Option<&T> {
            self.state.context.as_ref()?.downcast_ref()
        }

        /// The connection's user state, mutably, if one of type `T` was set.
        ///
        #[doc = $head]
        /// conn.set_context(Vec::<String>::new());
        /// conn.context_mut::<Vec<String>>().unwrap().push("seen".into());
        /// assert_eq!(conn.context::<Vec<String>>().unwrap().len(), 1);
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn context_mut<T: Any + Send>(&mut self) -> Option<&mut T> {
            self.state.context.as_mut()?.downcast_mut()
        }

        /// The command table of the server's handler
        /// ([`Handler::commands`](crate::Handler::commands)), if it has one: what
        /// `COMMAND` answers from.
        ///
        #[doc = $head]
        /// // This server's handler (a closure) has no command table.
        /// assert!(conn.command_table().is_none());
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn command_table(&self) -> Option<Arc<crate::commands::CommandTable>> {
            self.state.commands.clone()
        }

        /// The server's cluster view, when it serves as a cluster node
        /// ([`Server::cluster`](crate::Server::cluster)): for handlers that answer
        /// differently in cluster mode (`SELECT`, `INFO`).
        ///
        #[doc = $head]
        /// // Not a cluster node.
        /// assert!(conn.cluster().is_none());
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn cluster(&self) -> Option<&crate::cluster::Cluster> {
            self.state.cluster.as_ref().map(|c| &c.cluster)
        }

        /// Removes and returns the user state if it is of type `T`.
        ///
        #[doc = $head]
        /// conn.set_context(String::from("state"));
        /// assert_eq!(conn.take_context::<u64>(), None); // wrong type: left in place
        /// assert_eq!(conn.take_context::<String>().as_deref(), Some("state"));
        /// assert!(conn.context::<String>().is_none());
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn take_context<T: Any + Send>(&mut self) -> Option<T> {
            match self.state.context.take()?.downcast::<T>() {
                Ok(b) => Some(*b),
                Err(other) => {
                    self.state.context = Some(other);
                    None
                }
            }
        }

        /// A handle that wakes this connection's [`wait`](Self::wait) from any thread;
        /// see [`Waker`](crate::Waker). Every waker of a connection wakes the same wait.
        ///
        /// # Errors
        /// The socket pair a connection's wakers write to could not be made (out of
        /// file descriptors).
        ///
        #[doc = $head]
        /// let waker = conn.waker().expect("out of file descriptors");
        /// waker.wake();
        /// assert_eq!(conn.wait(None), redcon::Wait::Woken);
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn waker(&mut self) -> std::io::Result<$crate::Waker> {
            if self.state.wait_point.is_none() {
                self.state.wait_point = Some($crate::wait::WaitPoint::new()?);
            }
            Ok(self
                .state
                .wait_point
                .as_ref()
                .map($crate::wait::WaitPoint::waker)
                .expect("made above"))
        }

        /// Blocks this connection's thread until one of its [`Waker`](crate::Waker)s
        /// wakes it, `timeout` passes (`None`: no limit), or the connection ends: the
        /// client closes it, it is killed ([`Clients::kill`](crate::Clients::kill)), or
        /// the server shuts down. The last three return
        /// [`Wait::Cancelled`](crate::Wait::Cancelled) at once, with no polling, so a
        /// handler blocked here never holds up
        /// [`ServerHandle::shutdown`](crate::ServerHandle::shutdown). Input the client
        /// pipelines meanwhile stays buffered for the commands after this one; the
        /// replies written before the wait are sent first.
        ///
        /// The usual shape, for a `BLPOP`-like command: under your lock, check the
        /// condition; if false, register [`waker`](Self::waker) where the event will be
        /// signalled, unlock, `wait`, and check again on [`Wait::Woken`](crate::Wait::Woken).
        ///
        #[doc = $head]
        /// use redcon::Wait;
        /// use std::time::Duration;
        /// // Nobody wakes it: the timeout passes.
        /// assert_eq!(conn.wait(Some(Duration::from_millis(1))), Wait::TimedOut);
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn wait(&mut self, timeout: Option<std::time::Duration>) -> $crate::Wait {
            // The replies before this command (and the pipeline's so far) go out first,
            // as Redis sends them before the client blocks.
            let flushed = self.state.flush_with(&[]);
            if flushed.is_err() {
                self.state.note_write(flushed);
                return $crate::Wait::Cancelled($crate::Cancel::ClientClosed);
            }
            // CLIENT LIST shows the client blocked (flag `b`) while it waits, with
            // the command that blocked it.
            let cap = self.state.pending.read_capacity();
            self.state.publish_details(0, cap);
            let details = self.state.details();
            if let Some(d) = details {
                d.set_flag($crate::client_info::FLAG_BLOCKED, true);
            }
            let woke = $crate::wait::wait(
                self.state.wait_point.as_ref(),
                self.state.sink.socket().map(|s| &**s),
                self.state.ctl.as_deref(),
                self.state.clients.as_ref().map(|c| c.counters()),
                timeout,
            );
            if let Some(d) = details {
                d.set_flag($crate::client_info::FLAG_BLOCKED, false);
            }
            woke
        }

        /// Every live connection of this server, to list or
        /// [`kill`](crate::Clients::kill) them (a `CLIENT KILL` command).
        ///
        #[doc = $head]
        /// let clients = conn.clients();
        /// assert!(clients.ids().contains(&conn.id()));
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn clients(&self) -> $crate::Clients {
            self.state.clients.clone().unwrap_or_default()
        }

        /// A snapshot of the server's statistics (see [`Stats`](crate::Stats)), for an
        /// `INFO` command (with [`Info`](crate::info::Info)).
        ///
        #[doc = $head]
        /// let stats = conn.stats();
        /// assert_eq!(stats.connected_clients, 1); // this one
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn stats(&self) -> $crate::Stats {
            self.state
                .clients
                .as_ref()
                .map($crate::Clients::stats)
                .unwrap_or_default()
        }

        /// The database this connection has selected, as the server's MONITOR lines
        /// show it; 0 until [`set_db`](Self::set_db).
        ///
        #[doc = $head]
        /// assert_eq!(conn.db(), 0);
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn db(&self) -> u32 {
            self.state.db
        }

        /// Tells the server which database this connection selected (a `SELECT`), for
        /// the MONITOR lines of its commands; the handler keeps the database itself.
        ///
        #[doc = $head]
        /// conn.set_db(3);
        /// assert_eq!(conn.db(), 3);
        /// # }
        /// # const EXPECTED: &[u8] = b"";
        #[doc = $tail]
        pub fn set_db(&mut self, db: u32) {
            self.state.db = db;
            if let Some(d) = self.state.details() {
                d.set_db(db);
            }
        }

        $crate::conn::forward_value_writes!($head, $tail);
    };
}
pub(crate) use shared_conn_methods;

/// Inherent copies of the [`Writer`] methods whose arguments are values, for [`Conn`]
/// and [`DetachedConn`]. They are reachable through `DerefMut` as well, but a method
/// found through `DerefMut` borrows the whole connection mutably before its arguments
/// are evaluated, so `conn.write_u64(conn.id())` would not compile; an inherent method
/// takes a two-phase borrow, and it does. One list, so the two types stay alike.
macro_rules! forward_writes {
    ($head:literal, $tail:literal;
     $($name:ident($($arg:ident: $ty:ty),*) => $body:literal, $expected:literal;)*) => {$(
        #[doc = concat!("Same as [`Writer::", stringify!($name), "`](crate::resp::Writer::",
            stringify!($name), "); callable with arguments read from the connection itself,")]
        /// as in `conn.write_u64(conn.id())`. What it writes before `HELLO 3` (RESP2):
        ///
        #[doc = $head]
        #[doc = $body]
        /// # }
        #[doc = concat!("# const EXPECTED: &[u8] = ", stringify!($expected), ";")]
        #[doc = $tail]
        #[inline]
        pub fn $name(&mut self $(, $arg: $ty)*) {
            self.state.out.$name($($arg),*)
        }
    )*};
}
pub(crate) use forward_writes;

/// The list both [`Conn`] and [`DetachedConn`] forward ([`Conn`] has its own
/// `write_bulk`, which writes large values straight to the socket).
macro_rules! forward_value_writes {
    ($head:literal, $tail:literal) => {
        $crate::conn::forward_writes! {
            $head, $tail;
            write_string(s: impl AsRef<[u8]>) => "conn.write_string(\"OK\");", b"+OK\r\n";
            write_error(msg: impl AsRef<[u8]>) => "conn.write_error(\"ERR no such key\");", b"-ERR no such key\r\n";
            write_int(n: i64) => "conn.write_int(-7);", b":-7\r\n";
            write_i64(n: i64) => "conn.write_i64(i64::MIN);", b":-9223372036854775808\r\n";
            write_u64(n: u64) => "conn.write_u64(conn.id());", b":1\r\n";
            write_bulk_string(s: &str) => "conn.write_bulk_string(\"héllo\");", b"$6\r\nh\xc3\xa9llo\r\n";
            write_array(n: usize) => "conn.write_array(2);\nconn.write_int(1);\nconn.write_string(\"two\");", b"*2\r\n:1\r\n+two\r\n";
            write_null() => "conn.write_null();", b"$-1\r\n";
            write_null_array() => "conn.write_null_array();", b"*-1\r\n";
            write_bool(b: bool) => "conn.write_bool(true);", b":1\r\n";
            write_double(d: f64) => "conn.write_double(1.5);", b"$3\r\n1.5\r\n";
            write_big_number(digits: impl AsRef<[u8]>) => "conn.write_big_number(\"12345678901234567890\");", b"$20\r\n12345678901234567890\r\n";
            write_verbatim(format: &str, data: impl AsRef<[u8]>) => "conn.write_verbatim(\"txt\", \"hi\");", b"$2\r\nhi\r\n";
            write_blob_error(data: impl AsRef<[u8]>) => "conn.write_blob_error(\"ERR bad\");", b"-ERR bad\r\n";
            write_map(n: usize) => "conn.write_map(1);\nconn.write_string(\"k\");\nconn.write_int(1);", b"*2\r\n+k\r\n:1\r\n";
            write_set(n: usize) => "conn.write_set(1);\nconn.write_string(\"m\");", b"*1\r\n+m\r\n";
            write_attribute(n: usize) => "conn.write_attribute(1); // RESP2 drops the attribute...\nconn.write_string(\"ttl\");\nconn.write_int(3);\nconn.write_string(\"OK\"); // ...and keeps the reply", b"+OK\r\n";
            write_push(n: usize) => "conn.write_push(2);\nconn.write_bulk(\"message\");\nconn.write_bulk(\"hi\");", b"*2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n";
        }

        /// Same as [`Writer::write_any`](crate::resp::Writer::write_any); callable with
        /// arguments read from the connection itself, as in
        /// `conn.write_any(&conn.id())`.
        ///
        #[doc = $head]
        /// conn.write_any(&Some(vec![1, 2]));
        /// # }
        /// # const EXPECTED: &[u8] = b"*2\r\n:1\r\n:2\r\n";
        #[doc = $tail]
        #[inline]
        pub fn write_any<T: $crate::resp::ToResp + ?Sized>(&mut self, value: &T) {
            self.state.out.write_any(value)
        }
    };
}
pub(crate) use forward_value_writes;

/// One client connection, as seen by a [`Handler`](crate::Handler).
///
/// Every `write_*` method of [`Writer`] is available on `Conn` (it dereferences to
/// the connection's reply buffer) and encodes for the connection's negotiated protocol:
/// after `HELLO 3`, [`write_null`](Writer::write_null) writes `_`, before it `$-1`.
/// Replies are buffered and sent together once every command already received has been
/// served: one `write` per pipeline batch.
///
/// ```no_run
/// use redcon::{Command, Conn};
///
/// struct Counter(u64);
///
/// redcon::listen_and_serve("127.0.0.1:6380", |conn: &mut Conn, cmd: Command| {
///     if conn.context::<Counter>().is_none() {
///         conn.set_context(Counter(0));
///     }
///     let n = {
///         let c = conn.context_mut::<Counter>().expect("set above");
///         c.0 += 1;
///         c.0
///     };
///     match cmd.name().to_ascii_lowercase().as_slice() {
///         b"count" => conn.write_u64(n),
///         b"quit" => {
///             conn.write_string("OK");
///             conn.close();
///         }
///         _ => conn.write_null(),
///     }
/// })?;
/// # Ok::<(), redcon::Error>(())
/// ```
pub struct Conn<'a> {
    pub(crate) state: &'a mut ConnState,
    pub(crate) rest: &'a [u8],
}

impl<'a> Conn<'a> {
    pub(crate) fn new(state: &'a mut ConnState, rest: &'a [u8]) -> Self {
        Conn { state, rest }
    }

    // The accessors' examples run in the body of `check`, called from a handler (`Conn`)
    // or on the detached connection (`DetachedConn`); the client expects `EXPECTED` and
    // then `+OK`.
    shared_conn_methods!(
        "```\n# use redcon::{handler_fn, Conn, Server};\n# use std::io::{Read, Write};\n# fn check(conn: &mut Conn) {",
        "# let server = Server::new(handler_fn(|conn, _cmd| {\n#     check(conn);\n#     conn.write_string(\"OK\");\n#     conn.close();\n# })).addr(\"127.0.0.1:0\").start()?;\n# let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;\n# c.write_all(b\"PING\\r\\n\")?;\n# let mut got = Vec::new();\n# c.read_to_end(&mut got)?;\n# let want = [EXPECTED, b\"+OK\\r\\n\"].concat();\n# assert_eq!(got.escape_ascii().to_string(), want.escape_ascii().to_string());\n# server.shutdown();\n# Ok::<(), Box<dyn std::error::Error>>(())\n```"
    );

    /// Makes this connection a monitor, as Redis's `MONITOR`: it is answered `+OK`,
    /// then receives a line for every command any connection of the server serves from
    /// now on (`+1700000000.123456 [0 127.0.0.1:50000] "SET" "k" "v"`, arguments
    /// escaped as Redis escapes them; with a command table, unknown commands, arity
    /// errors and admin commands are left out, as Redis leaves them out), until it
    /// leaves or sends `QUIT`. A monitor that stops reading is dropped once 16,384
    /// lines wait for it, so it never slows the others. Nobody monitoring costs one
    /// atomic load per command.
    ///
    /// ```
    /// use redcon::{Command, Conn, Server};
    /// use std::io::{BufRead, BufReader, Write};
    ///
    /// let server = Server::new(|conn: &mut Conn, cmd: Command| {
    ///     if cmd.is("monitor") {
    ///         conn.monitor();
    ///     } else {
    ///         conn.write_string("OK");
    ///     }
    /// })
    /// .addr("127.0.0.1:0")
    /// .start()?;
    /// let addr = server.local_addr().to_string();
    /// let mut watcher = BufReader::new(std::net::TcpStream::connect(&addr)?);
    /// watcher.get_mut().write_all(b"MONITOR\r\n")?;
    /// let mut line = String::new();
    /// watcher.read_line(&mut line)?;
    /// assert_eq!(line, "+OK\r\n");
    /// let mut c = std::net::TcpStream::connect(&addr)?;
    /// c.write_all(b"SET k \"a b\"\r\n")?;
    /// line.clear();
    /// watcher.read_line(&mut line)?;
    /// assert!(line.ends_with(&format!(" [0 {}] \"SET\" \"k\" \"a b\"\r\n", c.local_addr()?)));
    /// server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn monitor(&mut self) {
        crate::monitor::start(self);
    }

    /// Closes the connection once this command returns. Replies written so far,
    /// including to this command, are sent first; commands after it in the pipeline are
    /// not served.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"QUIT\r\nPING\r\n")?;
    /// Server::new(handler_fn(|conn, cmd| {
    ///     if cmd.is("quit") {
    ///         conn.write_string("OK");
    ///         conn.close();
    ///     } else {
    ///         conn.write_string("PONG");
    ///     }
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b"+OK\r\n"); // the PING after QUIT is not served
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&mut self) {
        self.state.close = true;
    }

    /// A handle that writes to this connection from any thread while it goes on being
    /// served: hand it to the code that produces pushes for this client (invalidation
    /// messages, keyspace notifications). Each
    /// [`ConnWriter::flush`](crate::ConnWriter::flush) goes out whole and at once: never
    /// inside one of the connection's own replies, but ahead of replies the connection
    /// has buffered and not yet flushed. It encodes for the protocol the
    /// connection has now. [`Clients::writer`](crate::Clients::writer) gives the
    /// same for a connection by id.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"HELLO 3\r\nTRACK\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     let mut w = conn.writer();
    ///     conn.write_string("OK");
    ///     // Another thread pushes while the connection is served.
    ///     std::thread::spawn(move || {
    ///         w.write_push(2);
    ///         w.write_bulk("invalidate");
    ///         w.write_bulk("k");
    ///         w.flush()
    ///     })
    ///     .join()
    ///     .unwrap()
    ///     .unwrap();
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// // The push went out at once, ahead of the replies to HELLO and TRACK, which
    /// // were still buffered (both commands came in one read).
    /// assert!(out.starts_with(b">2\r\n$10\r\ninvalidate\r\n$1\r\nk\r\n%7\r\n"));
    /// assert!(out.ends_with(b"+OK\r\n"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn writer(&mut self) -> crate::ConnWriter {
        let lock = self
            .state
            .write_lock
            .get_or_insert_with(|| Arc::new(Mutex::new(())))
            .clone();
        crate::ConnWriter::new(self.state.out.protocol(), self.state.sink.clone(), lock)
    }

    /// Hands the connection over to `f` once this command returns: the replies written
    /// so far are flushed, then `f` receives a [`DetachedConn`] that owns the socket,
    /// the bytes already read and not yet served, and this connection's protocol, name
    /// and context. `f` runs on the connection's thread; it may move the `DetachedConn`
    /// to another thread. The server's handler sees no more commands and no
    /// [`on_close`](crate::Handler::on_close) for this connection.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"MONITOR\r\nGET a\r\nGET b\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     conn.write_string("OK");
    ///     conn.detach(|mut d| {
    ///         // Our own loop from here on: the commands already received come first.
    ///         while let Ok(Some(cmd)) = d.read_command() {
    ///             let line = format!("saw {}", cmd.len());
    ///             d.write_string(line);
    ///         }
    ///     });
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b"+OK\r\n+saw 2\r\n+saw 2\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn detach<F>(&mut self, f: F)
    where
        F: FnOnce(DetachedConn) + Send + 'static,
    {
        self.state.detach = Some(Box::new(f));
    }

    /// The commands already received after the current one (the rest of the pipeline),
    /// copied, without consuming them: they are still served one by one afterwards. Stops
    /// at the first incomplete or malformed command.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"PENDING\r\nPING\r\nPING\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// Server::new(handler_fn(|conn, cmd| {
    ///     if cmd.is("pending") {
    ///         let n = conn.peek_pipeline().len();
    ///         conn.write_any(&n);
    ///     } else {
    ///         conn.write_string("PONG");
    ///     }
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b":2\r\n+PONG\r\n+PONG\r\n"); // the two PINGs are still served
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek_pipeline(&self) -> Vec<OwnedCommand> {
        self.scan_pipeline().0
    }

    /// Takes the commands already received after the current one, so the handler can
    /// serve them as a batch; they are not passed to
    /// [`on_command`](crate::Handler::on_command) again. Stops at the first incomplete or
    /// malformed command (which the connection then handles as usual).
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"BATCH\r\nSET a 1\r\nSET b 2\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// Server::new(handler_fn(|conn, cmd| {
    ///     if cmd.is("batch") {
    ///         // One reply for the batch; the SETs are not served one by one.
    ///         let batch = conn.take_pipeline();
    ///         assert!(batch.iter().all(|c| c.is("set")));
    ///         conn.write_any(&batch.len());
    ///     } else {
    ///         conn.write_error("ERR outside a batch");
    ///     }
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b":2\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_pipeline(&mut self) -> Vec<OwnedCommand> {
        let (cmds, used) = self.scan_pipeline();
        self.rest = &self.rest[used..];
        self.state.taken += used;
        cmds
    }

    fn scan_pipeline(&self) -> (Vec<OwnedCommand>, usize) {
        let mut parser = Parser::with_limits(self.state.limits);
        let mut cmds = Vec::new();
        let mut used = 0;
        while let Ok(Parsed::Command { command, consumed }) = parser.parse(&self.rest[used..]) {
            cmds.push(command.to_owned_command());
            used += consumed;
        }
        (cmds, used)
    }

    /// Writes a bulk string reply. Large values (64 KiB and more) are written to the
    /// socket straight from `data`, after the replies buffered before them, instead of
    /// being copied into the reply buffer.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"GET small\r\nGET big\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// let big = vec![b'x'; 100_000]; // written from this slice, not copied
    /// Server::new(handler_fn(move |conn, cmd| {
    ///     if &cmd[1] == b"big" { conn.write_bulk(&big) } else { conn.write_bulk("v") }
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert!(out.starts_with(b"$1\r\nv\r\n$100000\r\nxxx"));
    /// assert_eq!(out.len(), 7 + 9 + 100_000 + 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_bulk(&mut self, data: impl AsRef<[u8]>) {
        let data = data.as_ref();
        if data.len() < DIRECT_WRITE_MIN || self.state.out.is_discarding() {
            self.state.out.write_bulk(data);
            return;
        }
        crate::resp::append_bulk_header(self.state.out.buffer_mut(), data.len());
        let res = self.state.flush_with(&[data, b"\r\n"]);
        self.state.note_write(res);
    }

    /// Writes a bulk string reply of `len` bytes read from `reader`, streamed to the
    /// socket in chunks instead of held in memory: for serving a large file or blob.
    /// The replies written before it are sent first; the ones after it follow as usual.
    ///
    /// # Errors
    /// Reading `reader` failed or it ended before `len` bytes, or writing the socket
    /// failed. The client has then received part of a reply that can never be
    /// completed, so the connection is closed after this command, and nothing written
    /// after this call is sent.
    ///
    /// ```no_run
    /// use redcon::{Command, Conn};
    /// use std::fs::File;
    ///
    /// redcon::listen_and_serve("127.0.0.1:6380", redcon::handler_fn(|conn, cmd| {
    ///     // GETFILE: the whole of a file, whatever its size.
    ///     let sent = File::open("/etc/hostname").and_then(|f| {
    ///         let len = f.metadata()?.len();
    ///         conn.write_bulk_from(f, len)
    ///     });
    ///     if let Err(e) = sent {
    ///         log::warn!("{} failed: {e}", cmd.name().escape_ascii());
    ///     }
    /// }))?;
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn write_bulk_from(&mut self, mut reader: impl io::Read, len: u64) -> io::Result<()> {
        let res = self.stream_bulk(&mut reader, len);
        if let Err(e) = &res {
            // Part of the reply may be out: nothing else can follow it on this stream.
            self.state
                .note_write(Err(io::Error::new(e.kind(), e.to_string())));
        }
        res
    }

    fn stream_bulk(&mut self, reader: &mut dyn io::Read, len: u64) -> io::Result<()> {
        let size = usize::try_from(len).map_err(|_| io::ErrorKind::InvalidInput)?;
        if self.state.out.is_discarding() {
            // The reply is being dropped (see `Writer::is_discarding`): consume the
            // reader all the same, so the caller sees the same outcome.
            let n = io::copy(&mut io::Read::take(reader, len), &mut io::sink())?;
            return if n == len {
                Ok(())
            } else {
                Err(short_read(n, len))
            };
        }
        crate::resp::append_bulk_header(self.state.out.buffer_mut(), size);
        // The bulk goes out in several writes: hold the write lock for all of them, so
        // no out-of-band write lands inside it.
        let lock = self.state.write_lock.take();
        let guard = lock
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()));
        let res = self.stream_chunks(reader, len, size);
        drop(guard);
        self.state.write_lock = lock;
        res
    }

    fn stream_chunks(
        &mut self,
        reader: &mut dyn io::Read,
        len: u64,
        size: usize,
    ) -> io::Result<()> {
        self.state.write_unlocked(&[])?;
        // On the heap: a connection thread's stack is small.
        let mut chunk = vec![0u8; (DIRECT_WRITE_MIN).min(size.max(1))];
        let mut left = len;
        while left > 0 {
            let want = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match reader.read(&mut chunk[..want]) {
                Ok(0) => return Err(short_read(len - left, len)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.state.write_unlocked(&[&chunk[..n]])?;
            left -= n as u64;
        }
        self.state.write_unlocked(&[b"\r\n"])
    }

    /// Sends the replies written so far now, instead of at the end of the pipeline
    /// batch. Rarely needed: the server flushes after each batch, and whenever the
    /// buffer grows large.
    ///
    /// # Errors
    /// The socket write failed; the connection will be closed after this command.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"SLOWCMD\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     // Let the client see the first part before the slow work.
    ///     conn.write_push(2);
    ///     conn.write_bulk("progress");
    ///     conn.write_bulk("started");
    ///     conn.flush().expect("client gone");
    ///     std::thread::sleep(std::time::Duration::from_millis(10));
    ///     conn.write_string("done");
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b"*2\r\n$8\r\nprogress\r\n$7\r\nstarted\r\n+done\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn flush(&mut self) -> io::Result<()> {
        let res = self.state.flush_with(&[]);
        match res {
            Ok(()) => Ok(()),
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.state.note_write(Err(e));
                Err(copy)
            }
        }
    }
}

/// The error for a reader that ended before the length it promised.
fn short_read(got: u64, len: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("bulk reply source ended after {got} of {len} bytes"),
    )
}

impl Deref for Conn<'_> {
    type Target = Writer;

    fn deref(&self) -> &Writer {
        &self.state.out
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.state.out
    }
}

impl fmt::Debug for Conn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("id", &self.state.id)
            .field("peer", &self.state.peer)
            .field("protocol", &self.protocol())
            .finish_non_exhaustive()
    }
}
