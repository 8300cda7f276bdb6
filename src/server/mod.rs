//! [`Server`]: the builder and its options, the accept loop that gives each client its
//! own thread (a waiting one from the pool, or a new one), and [`ServerHandle`] to wait
//! for, inspect and shut down a running server. Also the Go-style free functions
//! [`listen_and_serve`] and friends.

mod access;
mod connection;
mod pool;
mod registry;

pub(crate) use connection::serve_to_end;
use pool::Client;
pub(crate) use registry::ClientSlot;
use registry::Shared;

use crate::clients::Clients;
use crate::cluster::Cluster;
use crate::commands::CommandTable;
use crate::error::Error;
use crate::handler::{CloseReason, Handler, IntoHandler};
use crate::hello::ServerInfo;
use crate::io::{ListenAddr, Listener, Socket, WriteHalf};
use crate::resp::Limits;
use std::fmt;
use std::io;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex};

/// Called with each error from `accept` (e.g. out of file descriptors). The server
/// goes on accepting after a short pause.
///
/// ```
/// use redcon::AcceptErrorFn;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// static FAILED: AtomicUsize = AtomicUsize::new(0);
/// let count: AcceptErrorFn = Arc::new(|e| {
///     log::warn!("accept failed: {e}");
///     FAILED.fetch_add(1, Ordering::Relaxed);
/// });
/// count(&std::io::Error::other("too many open files"));
/// assert_eq!(FAILED.load(Ordering::Relaxed), 1);
/// ```
pub type AcceptErrorFn = Arc<dyn Fn(&io::Error) + Send + Sync>;

/// Server options. Each default is documented on the builder method that sets it.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) max_clients: usize,
    pub(crate) max_idle_threads: usize,
    pub(crate) thread_keep_alive: Duration,
    pub(crate) stack_size: usize,
    pub(crate) read_buffer_size: usize,
    pub(crate) max_query_buffer: usize,
    pub(crate) limits: Limits,
    pub(crate) nodelay: bool,
    pub(crate) backlog: i32,
    pub(crate) shutdown_grace: Duration,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) tls_handshake_timeout: Duration,
    pub(crate) accept_error: Option<AcceptErrorFn>,
    pub(crate) info: Arc<ServerInfo>,
    /// Set in cluster mode.
    pub(crate) cluster: Option<Cluster>,
    /// The handler's command table (with the cluster commands in cluster mode), made
    /// when the first connection starts: the handler's table does not change while it
    /// serves.
    pub(crate) commands: OnceLock<Option<Arc<CommandTable>>>,
    /// Access control ([`Server::acl`] and the like); none by default.
    pub(crate) auth: Option<crate::auth::check::AuthConfig>,
    /// Protected mode ([`Server::protected_mode`]); off by default.
    pub(crate) protected_mode: bool,
    /// Log TLS clients in by their certificate ([`Server::tls_user_from_cn`]).
    #[cfg(feature = "tls")]
    pub(crate) tls_user_from_cn: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout: None,
            write_timeout: Some(Duration::from_secs(30)),
            max_clients: 10_000,
            max_idle_threads: 64,
            thread_keep_alive: Duration::from_secs(10),
            stack_size: 256 * 1024,
            read_buffer_size: 512,
            max_query_buffer: 1 << 30,
            limits: Limits::default(),
            nodelay: true,
            backlog: 4096,
            shutdown_grace: Duration::from_secs(5),
            #[cfg(feature = "tls")]
            tls: None,
            tls_handshake_timeout: Duration::from_secs(10),
            accept_error: None,
            info: Arc::new(ServerInfo::default()),
            cluster: None,
            commands: OnceLock::new(),
            auth: None,
            protected_mode: false,
            #[cfg(feature = "tls")]
            tls_user_from_cn: false,
        }
    }
}

enum Bind {
    None,
    Tcp(String),
    Unix(PathBuf),
    TcpListener(TcpListener),
    UnixListener(UnixListener),
}

/// A Redis-protocol server: a handler, an address, and options.
///
/// Build it with [`Server::new`], choose where it listens ([`addr`](Self::addr),
/// [`unix`](Self::unix), or an already-bound listener), set options, then either
/// [`serve`](Self::serve) (blocks) or [`start`](Self::start) (returns a
/// [`ServerHandle`]).
///
/// ```
/// use redcon::{Command, Conn, Server};
/// use std::time::Duration;
///
/// let handle = Server::new(|conn: &mut Conn, cmd: Command| {
///     if cmd.is("ping") {
///         conn.write_string("PONG")
///     } else {
///         conn.write_error("ERR unknown command")
///     }
/// })
/// .addr("127.0.0.1:0") // any free port
/// .idle_timeout(Duration::from_secs(300))
/// .start()?;
///
/// // A client talks to it...
/// use std::io::{Read, Write};
/// let mut client = std::net::TcpStream::connect(handle.local_addr().to_string())?;
/// client.write_all(b"PING\r\n")?;
/// let mut reply = [0u8; 7];
/// client.read_exact(&mut reply)?;
/// assert_eq!(&reply, b"+PONG\r\n");
///
/// handle.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Server<H: Handler> {
    handler: Arc<H>,
    bind: Bind,
    config: Config,
    ready: Option<Sender<ListenAddr>>,
}

impl<H: Handler> Server<H> {
    /// A server for `handler` (a [`Handler`], or a closure: see
    /// [`IntoHandler`](crate::IntoHandler)), with Redis's defaults and no address yet.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _cmd| conn.write_null()));
    /// # drop(server);
    /// ```
    pub fn new<M>(handler: impl IntoHandler<M, Handler = H>) -> Self {
        Server {
            handler: Arc::new(handler.into_handler()),
            bind: Bind::None,
            config: Config::default(),
            ready: None,
        }
    }

    /// Listens on a TCP address, `host:port` (anything `ToSocketAddrs` resolves; port 0
    /// picks a free port).
    ///
    /// ```no_run
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("0.0.0.0:6380");
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn addr(mut self, addr: impl Into<String>) -> Self {
        self.bind = Bind::Tcp(addr.into());
        self
    }

    /// Listens on a Unix socket at `path`. A stale socket file from an earlier run is
    /// replaced; the file is removed when the server stops.
    ///
    /// ```no_run
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .unix("redcon.sock");
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unix(mut self, path: impl Into<PathBuf>) -> Self {
        self.bind = Bind::Unix(path.into());
        self
    }

    /// Serves on a TCP listener you bound yourself.
    ///
    /// ```no_run
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .listener(std::net::TcpListener::bind("127.0.0.1:0")?);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.bind = Bind::TcpListener(listener);
        self
    }

    /// Serves on a Unix listener you bound yourself.
    ///
    /// ```no_run
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .unix_listener(std::os::unix::net::UnixListener::bind("own.sock")?);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unix_listener(mut self, listener: UnixListener) -> Self {
        self.bind = Bind::UnixListener(listener);
        self
    }

    /// Serves TLS with this rustls configuration (see
    /// [`load_tls_config`](crate::load_tls_config) to build one from PEM files). Every
    /// connection on the listener must then speak TLS.
    ///
    /// ```no_run
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .tls(redcon::load_tls_config("cert.pem", "key.pem")?);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.config.tls = Some(config);
        self
    }

    /// Serves as one node of a Redis Cluster: requests whose keys belong to slots this
    /// node does not serve get Redis's redirections before the handler sees them, and
    /// the server answers `CLUSTER`, `ASKING`, `READONLY` and `READWRITE` itself; `HELLO`
    /// reports `mode: cluster`. Keys come from the handler's command table
    /// ([`Handler::commands`]). Default: not a cluster node.
    ///
    /// ```
    /// use redcon::cluster::{Cluster, Topology};
    /// let t = Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?;
    /// let server = redcon::Server::new(redcon::mux::Mux::new()).cluster(Cluster::new(t));
    /// # drop(server);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn cluster(mut self, cluster: Cluster) -> Self {
        self.config.cluster = Some(cluster);
        self
    }

    /// How long a TLS client may take to complete its handshake. Default: 10 s.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .tls_handshake_timeout(std::time::Duration::from_secs(3));
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.tls_handshake_timeout = timeout;
        self
    }

    /// Closes connections that send nothing for this long. Default: none (Redis's
    /// `timeout 0`). A blocked read with a timeout costs no CPU while it waits.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .idle_timeout(std::time::Duration::from_secs(300));
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = Some(timeout);
        self
    }

    /// Drops a client whose replies cannot be written for this long (it stopped reading
    /// and its socket buffer is full), instead of holding its thread and memory forever.
    /// `None` waits forever. Default: 30 s.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .write_timeout(Some(std::time::Duration::from_secs(10)));
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.write_timeout = timeout;
        self
    }

    /// The most clients connected at once, detached ones included; one more is answered
    /// `-ERR max number of clients reached` and closed (over TLS too, once its handshake
    /// is done). While 64 such refusals are already under way, further clients are
    /// closed at once without a thread (plain ones still get the error, TLS ones
    /// nothing), so a flood of connections or of stalled TLS handshakes cannot pile up
    /// threads. Default: 10,000 (as Redis).
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .max_clients(1_000);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_clients(mut self, n: usize) -> Self {
        self.config.max_clients = n;
        self
    }

    /// How many connection threads may wait at once for a new client after theirs left.
    /// A new client is handed to a waiting thread before a thread is spawned for it,
    /// which saves most of what a short-lived connection costs the server; a thread
    /// still serves one client at a time, and waiting costs no CPU. A thread that finds
    /// this many already waiting exits. `0` turns reuse off: every thread exits with its
    /// connection. Default: 64.
    ///
    /// A reused thread keeps its stack size and the scheduling policy it inherited from
    /// the thread that started the server (one whose handler changed its own policy,
    /// priority or nice value is not reused), and nothing of the library's state from
    /// its previous connection; thread-locals of the handler's own stay with the thread.
    ///
    /// ```
    /// use redcon::{Command, Conn, Server};
    /// use std::io::{Read, Write};
    /// use std::time::Duration;
    ///
    /// let handle = Server::new(|conn: &mut Conn, _: Command| conn.write_string("PONG"))
    ///     .addr("127.0.0.1:0")
    ///     .max_idle_threads(8)
    ///     .thread_keep_alive(Duration::from_secs(30))
    ///     .start()?;
    /// let mut client = std::net::TcpStream::connect(handle.local_addr().to_string())?;
    /// client.write_all(b"PING\r\n")?;
    /// client.read_exact(&mut [0u8; 7])?;
    /// drop(client);
    /// // The client left; its thread now waits for the next one.
    /// while handle.idle_threads() == 0 {
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// assert_eq!(handle.idle_threads(), 1);
    /// handle.shutdown(); // wakes the waiting thread and joins it
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_idle_threads(mut self, n: usize) -> Self {
        self.config.max_idle_threads = n;
        self
    }

    /// How long a connection thread whose client left waits for the next client before
    /// it exits (see [`max_idle_threads`](Self::max_idle_threads)), so the number of
    /// threads returns to what the connected clients need this long after a burst.
    /// `Duration::MAX` keeps waiting threads until shutdown. Default: 10 s.
    ///
    /// ```
    /// use redcon::{Command, Conn, Server};
    /// use std::time::Duration;
    ///
    /// let handle = Server::new(|conn: &mut Conn, _: Command| conn.write_string("PONG"))
    ///     .addr("127.0.0.1:0")
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .start()?;
    /// drop(std::net::TcpStream::connect(handle.local_addr().to_string())?);
    /// // Whether or not the thread is still waiting, it is gone 100 ms after the client.
    /// std::thread::sleep(Duration::from_millis(500));
    /// assert_eq!(handle.idle_threads(), 0);
    /// handle.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn thread_keep_alive(mut self, keep: Duration) -> Self {
        self.config.thread_keep_alive = keep;
        self
    }

    /// Stack size of each connection thread. Only the pages a thread touches use
    /// memory. Default: 256 KiB.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .stack_size(512 * 1024);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.config.stack_size = bytes;
        self
    }

    /// Initial size of a connection's read buffer (allocated on the first read, grown on
    /// demand, shrunk back after a large command). Default: 512 bytes, so an idle client
    /// that sent only small commands holds little memory; a busy one grows its buffer
    /// in a few reads and keeps it.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .read_buffer_size(16 * 1024);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.config.read_buffer_size = bytes.max(64);
        self
    }

    /// Most unparsed input a client may have buffered before it is disconnected without
    /// a reply (Redis's `client-query-buffer-limit`). Default: 1 GiB.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .max_query_buffer(64 << 20);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_query_buffer(mut self, bytes: usize) -> Self {
        self.config.max_query_buffer = bytes;
        self
    }

    /// Largest bulk argument accepted (Redis's `proto-max-bulk-len`); a larger `$len` is a
    /// protocol error. Default: 512 MiB.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .max_bulk_len(16 << 20);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_bulk_len(mut self, bytes: usize) -> Self {
        self.config.limits.max_bulk_len = bytes;
        self
    }

    /// Longest inline request line, and longest `*`/`$` header. Default: 64 KiB.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .max_inline_len(4096);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_inline_len(mut self, bytes: usize) -> Self {
        self.config.limits.max_inline_len = bytes;
        self
    }

    /// Largest argument count accepted in one multibulk request. Default: `i32::MAX` (as
    /// Redis 7).
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .max_multibulk_len(1 << 20);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_multibulk_len(mut self, n: usize) -> Self {
        self.config.limits.max_multibulk_len = n;
        self
    }

    /// Sets `TCP_NODELAY` on accepted TCP connections. Default: on.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .nodelay(false);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn nodelay(mut self, on: bool) -> Self {
        self.config.nodelay = on;
        self
    }

    /// Listen backlog for a listener the server binds itself (the kernel caps it at
    /// `net.core.somaxconn`). Default: 4096. Redis uses 511, but accepting here costs a
    /// thread spawn per client once no thread is waiting for one, so a burst of
    /// connections needs a deeper queue: a full one drops the client's SYN, and the
    /// client waits a second to retry.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .backlog(511);
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn backlog(mut self, n: i32) -> Self {
        self.config.backlog = n;
        self
    }

    /// How long [`ServerHandle::shutdown`] lets connections finish their last replies,
    /// and their clients receive them, before it forces the sockets closed. Default: 5 s.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .shutdown_grace(std::time::Duration::from_millis(500));
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// Called with each `accept` error. Default: log a warning.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .on_accept_error(|e| eprintln!("accept: {e}"));
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_accept_error(mut self, f: impl Fn(&io::Error) + Send + Sync + 'static) -> Self {
        self.config.accept_error = Some(Arc::new(f));
        self
    }

    /// The `server` and `version` fields of the built-in `HELLO` reply. Default:
    /// `"redis"` and the Redis version whose behaviour redcon follows, so clients that
    /// gate features on the version enable them.
    ///
    /// ```
    /// let s = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .server_info("myserver", "1.0.0");
    /// # drop(s);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_info(mut self, server: impl Into<String>, version: impl Into<String>) -> Self {
        self.config.info = Arc::new(ServerInfo {
            server: server.into(),
            version: version.into(),
        });
        self
    }

    /// Sends the listening address on `tx` once the server accepts connections (useful
    /// with the blocking [`serve`](Self::serve) run on another thread).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .notify_ready(tx);
    /// std::thread::spawn(move || server.serve());
    /// let addr = rx.recv()?; // the address it listens on, port included
    /// # let _ = addr;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn notify_ready(mut self, tx: Sender<ListenAddr>) -> Self {
        self.ready = Some(tx);
        self
    }

    fn bind(&mut self) -> Result<Listener, Error> {
        let backlog = self.config.backlog;
        Ok(match std::mem::replace(&mut self.bind, Bind::None) {
            Bind::None => return Err(Error::NoAddress),
            Bind::Tcp(a) => Listener::bind_tcp(&a, backlog)?,
            Bind::Unix(p) => Listener::bind_unix(&p, backlog)?,
            Bind::TcpListener(l) => Listener::from_tcp(l),
            Bind::UnixListener(l) => Listener::from_unix(l)?,
        })
    }

    /// Binds and serves on the calling thread until the process ends.
    ///
    /// # Errors
    /// [`Error::NoAddress`] if no address was set; [`Error::Io`] if binding fails.
    ///
    /// ```no_run
    /// redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_string("PONG")))
    ///     .addr("127.0.0.1:6380")
    ///     .serve()?;
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn serve(self) -> Result<(), Error> {
        self.start()?.wait();
        Ok(())
    }

    /// Binds, then serves on a background thread. The returned handle gives the bound
    /// address, a ready signal, and [`shutdown`](ServerHandle::shutdown).
    ///
    /// # Errors
    /// [`Error::NoAddress`] if no address was set; [`Error::Io`] if binding or spawning
    /// the accept thread fails.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// println!("listening on {}", server.local_addr());
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn start(mut self) -> Result<ServerHandle, Error> {
        let listener = self.bind()?;
        let local_addr = listener.local_addr()?;
        let shared = Shared::new(self.config.clone());
        if let ListenAddr::Tcp(a) = &local_addr {
            let _ = shared.live.counters().tcp_port.set(a.port());
        }
        let ready = Arc::new(Ready::default());
        let handler = self.handler.clone();
        let user_ready = self.ready.take();
        let addr = local_addr.clone();
        let ready_tx = ready.clone();
        let acceptor = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("redcon-accept".into())
                .spawn(move || {
                    ready_tx.set();
                    if let Some(tx) = user_ready {
                        let _ = tx.send(addr);
                    }
                    accept_loop(&listener, &shared, &handler);
                })?
        };
        Ok(ServerHandle {
            shared,
            local_addr,
            acceptor: Some(acceptor),
            ready,
        })
    }
}

/// An already-connected stream for [`Server::serve_connection`].
///
/// ```
/// use redcon::Stream;
/// use std::os::unix::net::UnixStream;
/// let (a, _b) = UnixStream::pair()?;
/// assert!(matches!(Stream::from(a), Stream::Unix(_)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub enum Stream {
    /// A TCP connection.
    Tcp(std::net::TcpStream),
    /// A Unix-socket connection.
    Unix(std::os::unix::net::UnixStream),
}

impl From<std::net::TcpStream> for Stream {
    fn from(s: std::net::TcpStream) -> Self {
        Stream::Tcp(s)
    }
}

impl From<std::os::unix::net::UnixStream> for Stream {
    fn from(s: std::os::unix::net::UnixStream) -> Self {
        Stream::Unix(s)
    }
}

impl<H: Handler> Server<H> {
    /// Serves one already-connected stream on the calling thread, with this server's
    /// handler and options (TLS included), until it ends; returns why it ended, or
    /// `None` if it was refused (TLS handshake, `on_accept`) or detached. For sockets
    /// accepted elsewhere (inetd-style activation, a listener you manage) and for
    /// driving the real connection loop in tests:
    ///
    /// ```
    /// use redcon::{CloseReason, Command, Conn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"PING\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// let server = Server::new(|c: &mut Conn, _: Command| c.write_string("PONG"));
    /// let reason = server.serve_connection(server_end);
    /// assert!(matches!(reason, Some(CloseReason::ClientClosed)));
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b"+PONG\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_connection(self, stream: impl Into<Stream>) -> Option<CloseReason> {
        let socket = Arc::new(match stream.into() {
            Stream::Tcp(s) => Socket::Tcp(s),
            Stream::Unix(s) => Socket::Unix(s),
        });
        let shared = Shared::new(self.config);
        let slot = shared.register(&socket)?;
        connection::run(&shared, &*self.handler, socket, None, slot)
    }
}

impl<H: Handler> fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").finish_non_exhaustive()
    }
}

fn accept_loop<H: Handler>(listener: &Listener, shared: &Arc<Shared>, handler: &Arc<H>) {
    loop {
        let (socket, peer) = match listener.accept() {
            Ok((s, peer)) => (Arc::new(s), peer),
            Err(_) if shared.is_shutting_down() => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                match &shared.config.accept_error {
                    Some(f) => f(&e),
                    None => log::warn!("accept failed: {e}"),
                }
                // Out of file descriptors or similar: pause instead of spinning.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if shared.is_shutting_down() {
            return;
        }
        if shared.clients() >= shared.config.max_clients.saturating_add(REFUSALS_IN_FLIGHT) {
            let counters = shared.live.counters();
            counters
                .connections_received
                .fetch_add(1, Ordering::Relaxed);
            counters
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            refuse(&socket, &shared.config);
            continue;
        }
        let Some(slot) = shared.register(&socket) else {
            return;
        };
        let client = match shared.pool.hand_off(Client { socket, peer, slot }) {
            Ok(()) => continue,
            Err(client) => client,
        };
        let id = client.slot.id;
        shared.thread_started();
        let spawned = {
            let shared = shared.clone();
            let handler = handler.clone();
            // Not named after its client: it may serve several, one after another.
            thread::Builder::new()
                .name("redcon-conn".into())
                .stack_size(shared.config.stack_size)
                .spawn(move || {
                    let done = ThreadDone(shared.clone());
                    shared.pool.serve(client, |c| {
                        connection::run(&shared, &*handler, c.socket, Some(c.peer), c.slot);
                    });
                    drop(done);
                })
        };
        match spawned {
            Ok(t) => shared.add_thread(t),
            Err(e) => {
                shared.thread_finished();
                log::warn!("cannot spawn a thread for client {id}: {e}");
            }
        }
    }
}

/// At most this many clients over max clients are refused at once, each on a thread of
/// its own (a TLS client must finish its handshake to read why); see [`refuse`].
const REFUSALS_IN_FLIGHT: usize = 64;

/// Turns a client away on the accept thread, with no thread or TLS handshake spent on
/// it, when max clients is reached and [`REFUSALS_IN_FLIGHT`] refusals are already
/// under way: a flood of connections, or of TLS handshakes that never finish, then
/// costs a bounded number of threads. A plain client is still told why; a TLS client,
/// which cannot read plain text, is closed (as Redis does with every TLS refusal).
fn refuse(socket: &Arc<Socket>, config: &Config) {
    #[cfg(feature = "tls")]
    let plain = config.tls.is_none();
    #[cfg(not(feature = "tls"))]
    let plain = {
        let _ = config;
        true
    };
    let sink = WriteHalf::Plain(socket.clone());
    if plain {
        // A new socket's send buffer is empty, so this never blocks; make sure anyway.
        let _ = socket.set_nonblocking(true);
        let _ = sink.write_all(&[b"-ERR max number of clients reached\r\n"]);
    }
    sink.close_after_replies();
    log::debug!("client refused at once: max clients reached");
}

/// Tells the registry a connection thread ended, even if it unwound.
struct ThreadDone(Arc<Shared>);

impl Drop for ThreadDone {
    fn drop(&mut self) {
        self.0.thread_finished();
    }
}

/// A running server, from [`Server::start`].
///
/// Dropping the handle leaves the server running; call [`shutdown`](Self::shutdown) to
/// stop it.
///
/// ```
/// use redcon::{handler_fn, Server};
/// use std::io::{Read, Write};
/// let handle = Server::new(handler_fn(|conn, _| conn.write_string("PONG")))
///     .addr("127.0.0.1:0")
///     .start()?;
/// let mut c = std::net::TcpStream::connect(handle.local_addr().to_string())?;
/// c.write_all(b"PING\r\n")?;
/// let mut reply = [0u8; 7];
/// c.read_exact(&mut reply)?;
/// assert_eq!(&reply, b"+PONG\r\n");
/// handle.shutdown(); // the client's connection is closed too
/// assert_eq!(c.read(&mut reply)?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ServerHandle {
    shared: Arc<Shared>,
    local_addr: ListenAddr,
    acceptor: Option<JoinHandle<()>>,
    ready: Arc<Ready>,
}

/// Set once the accept loop runs; std types only, so nothing of a dependency shows in
/// [`ServerHandle`]'s API.
#[derive(Default)]
struct Ready {
    done: Mutex<bool>,
    cv: Condvar,
}

impl Ready {
    fn set(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }

    fn wait(&self, timeout: Duration) -> bool {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        let (done, _) = self
            .cv
            .wait_timeout_while(done, timeout, |d| !*d)
            .unwrap_or_else(|e| e.into_inner());
        *done
    }
}

impl ServerHandle {
    /// The address the server listens on (with the real port when bound to port 0).
    ///
    /// ```
    /// use redcon::{handler_fn, ListenAddr, Server};
    /// let handle = Server::new(handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// let ListenAddr::Tcp(addr) = handle.local_addr() else { panic!() };
    /// assert_ne!(addr.port(), 0); // the port the system picked
    /// handle.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn local_addr(&self) -> &ListenAddr {
        &self.local_addr
    }

    /// Waits, at most `timeout`, until the accept loop is running; `true` once it is.
    /// The listener is bound before [`Server::start`] returns, so clients may connect
    /// even earlier; this tells another thread that the server is up.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// assert!(server.wait_ready(Duration::from_secs(10)));
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        self.ready.wait(timeout)
    }

    /// The number of connected clients, detached ones included.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// assert_eq!(server.clients(), 0);
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn clients(&self) -> usize {
        self.shared.clients()
    }

    /// Every live connection: list their ids, or [`kill`](Clients::kill) one.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// let clients = server.clients_handle(); // usable from any thread
    /// assert!(clients.ids().is_empty());
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn clients_handle(&self) -> Clients {
        self.shared.live.clone()
    }

    /// A snapshot of the server's statistics (see [`Stats`](crate::Stats)); render
    /// them as Redis's `INFO` with [`Info`](crate::info::Info).
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// let stats = server.stats();
    /// assert_eq!(stats.commands_processed, 0);
    /// assert_eq!(stats.max_clients, 10_000);
    /// server.shutdown();
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn stats(&self) -> crate::Stats {
        self.shared.live.stats()
    }

    /// The number of connection threads waiting for a new client (see
    /// [`Server::max_idle_threads`]); they are not counted in [`clients`](Self::clients).
    pub fn idle_threads(&self) -> usize {
        self.shared.pool.idle()
    }

    /// Blocks until the server stops (only a [`shutdown`](Self::shutdown) from a clone
    /// of the shared state stops it, so in practice: forever).
    ///
    /// ```no_run
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:6380")
    ///     .start()?;
    /// server.wait(); // serves until the process ends
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn wait(mut self) {
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }

    /// Stops the server: no new connections are accepted; every connection is woken
    /// (its blocked read ends) without polling; each finishes the commands it has
    /// already read, sends their replies, waits until the client has received them (so
    /// that closing cannot make TCP discard them), and calls
    /// [`on_close`](crate::Handler::on_close) with
    /// [`CloseReason::ServerShutdown`](crate::CloseReason::ServerShutdown); then every
    /// connection thread is joined, the threads waiting for a new client (woken at
    /// once) included. Clients that do not let their replies be written are cut off
    /// after the shutdown grace period, so this returns in bounded time.
    ///
    /// Returns how many connection threads were joined.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null()))
    ///     .addr("127.0.0.1:0")
    ///     .start()?;
    /// assert_eq!(server.shutdown(), 0); // no client was connected
    /// # Ok::<(), redcon::Error>(())
    /// ```
    pub fn shutdown(mut self) -> usize {
        self.shared.begin_shutdown();
        Listener::wake(&self.local_addr);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
        self.shared.finish_shutdown()
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// Serves `handler` on a TCP address with default options; blocks. The Rust twin of
/// Go redcon's `ListenAndServe`.
///
/// # Errors
/// Binding the address failed.
///
/// ```no_run
/// redcon::listen_and_serve("127.0.0.1:6380", |conn: &mut redcon::Conn, _cmd: redcon::Command| {
///     conn.write_string("OK");
/// })?;
/// # Ok::<(), redcon::Error>(())
/// ```
pub fn listen_and_serve<M>(addr: &str, handler: impl IntoHandler<M>) -> Result<(), Error> {
    Server::new(handler.into_handler()).addr(addr).serve()
}

/// Serves `handler` over TLS on a TCP address; blocks.
///
/// # Errors
/// Binding the address failed.
///
/// ```no_run
/// use redcon::{handler_fn, load_tls_config};
/// let config = load_tls_config("cert.pem", "key.pem")?;
/// redcon::listen_and_serve_tls("0.0.0.0:6380", handler_fn(|conn, _| conn.write_string("PONG")), config)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
#[cfg(feature = "tls")]
pub fn listen_and_serve_tls<M>(
    addr: &str,
    handler: impl IntoHandler<M>,
    config: Arc<rustls::ServerConfig>,
) -> Result<(), Error> {
    Server::new(handler.into_handler())
        .addr(addr)
        .tls(config)
        .serve()
}

/// Serves `handler` on a Unix socket at `path`; blocks.
///
/// # Errors
/// Binding the socket failed.
///
/// ```no_run
/// use redcon::handler_fn;
/// // redis-cli -s /tmp/redcon.sock ping
/// redcon::listen_and_serve_unix("/tmp/redcon.sock", handler_fn(|conn, _| conn.write_string("PONG")))?;
/// # Ok::<(), redcon::Error>(())
/// ```
pub fn listen_and_serve_unix<M>(
    path: impl Into<PathBuf>,
    handler: impl IntoHandler<M>,
) -> Result<(), Error> {
    Server::new(handler.into_handler()).unix(path).serve()
}
