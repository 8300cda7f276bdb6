//! [`Clients`]: the live connections of one server, reachable from any thread — how
//! many there are, their ids, and [`kill`](Clients::kill), which ends one at once.
//!
//! Each connection has a [`ClientCtl`]: its socket and why it is being ended. Ending a
//! connection from outside never polls: the socket is shut down from the caller's
//! thread, which wakes the connection's thread wherever it blocks on that socket (a
//! `read`, a `write`, or a [`Conn::wait`](crate::Conn::wait) in a handler). The reason
//! is stored first so the woken thread can tell a kill from a shutdown from a client
//! that left.
//!
//! The map's lock is taken when a connection starts and ends, and by the calls here;
//! never per command.

use crate::detached::ConnWriter;
use crate::io::{ListenAddr, PeerAddr, Socket, WriteHalf};
use crate::resp::Protocol;
use crate::stats::Counters;
use std::collections::HashMap;
use std::fmt;
use std::net::Shutdown;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Nothing asked this connection to end.
const RUNNING: u8 = 0;
/// [`Clients::kill`] ended it.
const KILLED: u8 = 1;
/// The server is shutting down.
const SHUTDOWN: u8 = 2;

/// Why a connection is being ended from outside its own thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    Killed,
    Shutdown,
}

/// One live connection, as the rest of the server reaches it.
#[derive(Debug)]
pub(crate) struct ClientCtl {
    pub(crate) socket: Arc<Socket>,
    ending: AtomicU8,
    /// What an out-of-band writer needs: the connection's write half and the lock its
    /// own flushes take. Set when the connection starts.
    writer: OnceLock<(WriteHalf, Arc<Mutex<()>>)>,
    /// What `CLIENT LIST` shows of it, published by its thread.
    pub(crate) details: crate::client_info::Details,
}

impl ClientCtl {
    /// Why the connection is being ended from outside, if it is.
    pub(crate) fn ending(&self) -> Option<Ending> {
        match self.ending.load(Ordering::Acquire) {
            KILLED => Some(Ending::Killed),
            SHUTDOWN => Some(Ending::Shutdown),
            _ => None,
        }
    }

    /// Whether [`Clients::kill`] ended it (not a shutdown).
    pub(crate) fn killed(&self) -> bool {
        self.ending() == Some(Ending::Killed)
    }

    /// Ends the connection as [`Clients::kill`] does.
    pub(crate) fn kill(&self) {
        self.end(KILLED, Shutdown::Both);
    }

    /// Makes the connection writable from other threads ([`Clients::writer`]).
    pub(crate) fn set_writer(&self, sink: WriteHalf, lock: Arc<Mutex<()>>) {
        let _ = self.writer.set((sink, lock));
    }

    fn writer(&self) -> Option<ConnWriter> {
        let (sink, lock) = self.writer.get()?;
        // The protocol CLIENT LIST shows (`resp=`), kept current by `set_protocol`.
        let protocol = if self.details.resp() == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        Some(ConnWriter::new(protocol, sink.clone(), lock.clone()))
    }

    /// A snapshot for `CLIENT LIST`.
    pub(crate) fn info(&self, id: u64) -> crate::ClientInfo {
        self.details.snapshot(
            id,
            &self.socket.peer_addr(),
            self.socket.local_addr().as_ref(),
        )
    }

    /// Records the reason (the first one stays), then wakes the connection's thread.
    fn end(&self, why: u8, how: Shutdown) {
        let _ = self
            .ending
            .compare_exchange(RUNNING, why, Ordering::AcqRel, Ordering::Acquire);
        self.socket.shutdown(how);
    }
}

/// The live connections of a server: a cheap handle (cloning shares the same set),
/// usable from any thread. Get it from
/// [`ServerHandle::clients_handle`](crate::ServerHandle::clients_handle), or inside a
/// handler from [`Conn::clients`](crate::Conn::clients) (for a `CLIENT KILL` command).
///
/// ```
/// use redcon::{handler_fn, Server};
/// use std::io::Read;
/// let server = Server::new(handler_fn(|conn, _| conn.write_null()))
///     .addr("127.0.0.1:0")
///     .start()?;
/// let clients = server.clients_handle();
/// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
/// while clients.ids().is_empty() {
///     std::thread::yield_now(); // the server registers the client as it accepts it
/// }
/// let id = clients.ids()[0];
/// assert!(clients.kill(id));
/// assert_eq!(c.read(&mut [0u8; 16])?, 0); // closed at once
/// server.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Clients {
    map: Arc<Mutex<HashMap<u64, Arc<ClientCtl>>>>,
    /// The server's statistics, reachable wherever its connections are.
    counters: Arc<Counters>,
    /// The connections in MONITOR mode.
    monitors: Arc<crate::monitor::Monitors>,
    /// CLIENT PAUSE.
    pause: Arc<crate::pause::Pause>,
}

impl Clients {
    pub(crate) fn pause_state(&self) -> &crate::pause::Pause {
        &self.pause
    }

    /// Holds commands before their handlers run, as Redis's `CLIENT PAUSE`: every
    /// command ([`PauseMode::All`](crate::PauseMode::All)) or those the command table
    /// flags `write` ([`PauseMode::Write`](crate::PauseMode::Write)), until `timeout`
    /// passes or [`unpause`](Self::unpause). A pause in force is extended to the later
    /// end and the stricter mode. Replies to earlier commands are sent before a
    /// connection is held; shutdown ends a pause.
    ///
    /// ```
    /// use redcon::{handler_fn, PauseMode, Server};
    /// use std::io::{Read, Write};
    /// use std::time::{Duration, Instant};
    /// let server = Server::new(handler_fn(|conn, _| conn.write_string("OK")))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// let started = Instant::now(); // before the pause, so it measures all of it
    /// server.clients_handle().pause(Duration::from_millis(200), PauseMode::All);
    /// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// c.write_all(b"PING\r\n")?;
    /// let mut reply = [0u8; 5];
    /// c.read_exact(&mut reply)?; // held until the pause ends
    /// assert!(started.elapsed() >= Duration::from_millis(200));
    /// server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pause(&self, timeout: std::time::Duration, mode: crate::PauseMode) {
        self.pause.pause(timeout, mode);
    }

    /// Ends a pause: every held command runs.
    ///
    /// ```
    /// use redcon::PauseMode;
    /// use std::time::Duration;
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// let clients = server.clients_handle();
    /// clients.pause(Duration::from_secs(60), PauseMode::Write);
    /// clients.unpause();
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn unpause(&self) {
        self.pause.unpause();
    }

    pub(crate) fn monitors(&self) -> &crate::monitor::Monitors {
        &self.monitors
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// A snapshot of the server's statistics (the same as
    /// [`ServerHandle::stats`](crate::ServerHandle::stats)).
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// assert_eq!(server.clients_handle().stats().connected_clients, 0);
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn stats(&self) -> crate::Stats {
        self.counters.snapshot()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<ClientCtl>>> {
        // Nothing panics while holding this lock; never let poisoning spread anyway.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn insert(&self, id: u64, socket: Arc<Socket>) -> Arc<ClientCtl> {
        let details = crate::client_info::Details::new(
            socket.as_raw_fd(),
            matches!(*socket, Socket::Unix(_)),
        );
        let ctl = Arc::new(ClientCtl {
            socket,
            ending: AtomicU8::new(RUNNING),
            writer: OnceLock::new(),
            details,
        });
        self.lock().insert(id, ctl.clone());
        ctl
    }

    pub(crate) fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Marks every connection as ending for shutdown and shuts each socket `how`.
    pub(crate) fn end_all(&self, how: Shutdown) {
        for c in self.lock().values() {
            c.end(SHUTDOWN, how);
        }
    }

    /// A handle that writes to the connection with this id from any thread, while it is
    /// served as usual: a RESP3 push (an invalidation message, a keyspace notification)
    /// or any out-of-band reply. Each [`ConnWriter::flush`] goes out whole, never inside
    /// one of the connection's own replies, and [`ConnWriter::close`] closes the
    /// connection. The writer encodes for the protocol the connection had when it was
    /// made (RESP3 after `HELLO 3`). `None` if no such connection is live.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    ///
    /// let server = Server::new(handler_fn(|conn, _| conn.write_string("OK")))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// c.write_all(b"PING\r\n")?;
    /// let mut ok = [0u8; 5];
    /// c.read_exact(&mut ok)?; // now the server knows the client
    /// let clients = server.clients_handle();
    /// let mut w = clients.writer(clients.ids()[0]).expect("live");
    /// w.write_push(2);
    /// w.write_bulk("invalidate");
    /// w.write_bulk("user:1");
    /// w.flush()?;
    /// let mut push = [0u8; 33];
    /// c.read_exact(&mut push)?;
    /// // A RESP2 client gets the push as an array.
    /// assert_eq!(&push, b"*2\r\n$10\r\ninvalidate\r\n$6\r\nuser:1\r\n");
    /// server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer(&self, id: u64) -> Option<ConnWriter> {
        let ctl = self.lock().get(&id)?.clone();
        ctl.writer()
    }

    /// Ends the connection with this id at once, whatever it is doing: blocked reading,
    /// writing, or waiting in a handler ([`Conn::wait`](crate::Conn::wait) returns
    /// [`Wait::Cancelled`](crate::Wait::Cancelled) with
    /// [`Cancel::Killed`](crate::Cancel::Killed)). Its
    /// [`on_close`](crate::Handler::on_close) sees
    /// [`CloseReason::Killed`](crate::CloseReason::Killed). Replies not yet written
    /// are dropped, as Redis drops them. Returns whether such a connection was live.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// assert!(!server.clients_handle().kill(12345)); // no such client
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn kill(&self, id: u64) -> bool {
        let Some(c) = self.lock().get(&id).cloned() else {
            return false;
        };
        // Outside the lock: a shutdown(2) is quick, but there is no need to hold
        // every accept and close behind it.
        c.end(KILLED, Shutdown::Both);
        // A connection held by CLIENT PAUSE ends now too, not when the pause does.
        if self.pause.active() {
            self.pause.wake_all();
        }
        true
    }

    /// The address of the client at the other end of connection `id`, if it is live.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// let c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// let clients = server.clients_handle();
    /// while clients.ids().is_empty() {
    ///     std::thread::yield_now();
    /// }
    /// let addr = clients.peer_addr(clients.ids()[0]);
    /// assert_eq!(addr, Some(redcon::PeerAddr::Tcp(c.local_addr()?)));
    /// server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_addr(&self, id: u64) -> Option<PeerAddr> {
        let c = self.lock().get(&id).cloned()?;
        Some(c.socket.peer_addr())
    }

    /// The server's address that connection `id` reached (its TCP address, or the Unix
    /// socket's path), if it is live and the address is known.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// let _c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// let clients = server.clients_handle();
    /// while clients.ids().is_empty() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(clients.local_addr(clients.ids()[0]).as_ref(), Some(server.local_addr()));
    /// server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_addr(&self, id: u64) -> Option<ListenAddr> {
        let c = self.lock().get(&id).cloned()?;
        c.socket.local_addr()
    }

    /// A snapshot of every live connection, in increasing id order, for `CLIENT LIST`
    /// (its [`Display`](std::fmt::Display) is Redis's line). A connection publishes
    /// its details once per read batch, so a busy one may be a batch behind; inside a
    /// handler, [`Conn::client_info`](crate::Conn::client_info) first brings the
    /// caller's own up to date. A connection being ended (killed, or the server
    /// shutting down) is left out.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// let _c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// let clients = server.clients_handle();
    /// while clients.list().is_empty() {
    ///     std::thread::yield_now();
    /// }
    /// let info = &clients.list()[0];
    /// assert_eq!(info.flags(), "N");
    /// assert_eq!(info.cmd(), None); // no command yet
    /// assert!(info.to_string().ends_with(" cmd=NULL user=default redir=-1 resp=2"));
    /// server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn list(&self) -> Vec<crate::ClientInfo> {
        // A connection being ended is no longer listed, as Redis frees a killed client
        // at once: a second `CLIENT KILL` of the same address finds nothing.
        let mut live: Vec<(u64, Arc<ClientCtl>)> = self
            .lock()
            .iter()
            .filter(|(_, c)| c.ending().is_none())
            .map(|(id, c)| (*id, c.clone()))
            .collect();
        live.sort_unstable_by_key(|(id, _)| *id);
        // Outside the map's lock: the addresses are system calls.
        live.iter().map(|(id, c)| c.info(*id)).collect()
    }

    /// The connection with this id, as [`list`](Self::list) shows it, if it is live
    /// and not being ended.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// assert!(server.clients_handle().info(1).is_none());
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn info(&self, id: u64) -> Option<crate::ClientInfo> {
        let c = self.lock().get(&id).cloned()?;
        c.ending().is_none().then(|| c.info(id))
    }

    /// The ids of the live connections, in increasing order (accept order).
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// assert!(server.clients_handle().ids().is_empty());
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.lock().keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients")
            .field("live", &self.lock().len())
            .finish()
    }
}
