//! The [`Handler`] trait: what a server does with each connection and command, and
//! [`CloseReason`], why a connection ended.

use crate::commands::CommandTable;
use crate::conn::Conn;
use crate::resp::{Command, ProtocolError};
use std::fmt;
use std::sync::Arc;

/// Why a connection ended, as passed to [`Handler::on_close`].
///
/// ```
/// use redcon::{CloseReason, Command, Conn, Handler};
/// struct Audit;
/// impl Handler for Audit {
///     fn on_command(&self, conn: &mut Conn, _cmd: Command) {
///         conn.write_string("OK");
///     }
///     fn on_close(&self, conn: &mut Conn, reason: &CloseReason) {
///         if let CloseReason::Panic(msg) = reason {
///             log::error!("client {}: handler panicked: {msg}", conn.id());
///         }
///     }
/// }
/// # let _ = Audit;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed its end.
    ClientClosed,
    /// The handler called [`Conn::close`] (e.g. for `QUIT`).
    Closed,
    /// The client sent a malformed request; the server replied
    /// `-ERR Protocol error: ...` and closed.
    Protocol(ProtocolError),
    /// The client's unparsed input grew past the query buffer limit; closed without a
    /// reply, as Redis does.
    QueryBufferLimit,
    /// A command named `POST` or `Host:` arrived (in any position, inline or multibulk):
    /// a browser being used for a cross-protocol attack. Closed without sending the
    /// batch's replies, as Redis does.
    CrossProtocol,
    /// Reading or writing the socket failed (reset, broken pipe, TLS failure...).
    Io(std::io::Error),
    /// A write did not complete within the write timeout: the client stopped reading.
    WriteTimeout,
    /// The handler panicked while serving a command; holds the panic message.
    Panic(String),
    /// Nothing arrived within the idle timeout.
    IdleTimeout,
    /// The server is shutting down.
    ServerShutdown,
    /// The connection was ended with [`Clients::kill`](crate::Clients::kill) (a
    /// `CLIENT KILL`).
    Killed,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::ClientClosed => f.write_str("client closed the connection"),
            CloseReason::Closed => f.write_str("closed by the handler"),
            CloseReason::Protocol(e) => write!(f, "protocol error: {e}"),
            CloseReason::QueryBufferLimit => f.write_str("query buffer limit reached"),
            CloseReason::CrossProtocol => f.write_str("cross-protocol request (HTTP) refused"),
            CloseReason::Io(e) => write!(f, "I/O error: {e}"),
            CloseReason::WriteTimeout => f.write_str("write timeout: client stopped reading"),
            CloseReason::Panic(m) => write!(f, "handler panicked: {m}"),
            CloseReason::IdleTimeout => f.write_str("idle timeout"),
            CloseReason::ServerShutdown => f.write_str("server shutdown"),
            CloseReason::Killed => f.write_str("killed"),
        }
    }
}

/// What a server does with its connections.
///
/// One handler serves every connection, each on its own thread, so it is shared
/// (`&self`) and must be `Send + Sync`; keep shared state behind a `Mutex` or atomics,
/// and per-connection state in [`Conn::set_context`].
///
/// Only [`on_command`](Handler::on_command) is required. A closure
/// `Fn(&mut Conn, Command)` serves as one wherever a server takes a handler (see
/// [`IntoHandler`]); [`handler_fn`] makes it one with its parameter types inferred:
///
/// ```no_run
/// redcon::listen_and_serve(
///     "127.0.0.1:6380",
///     redcon::handler_fn(|conn, cmd| {
///         if cmd.is("ping") {
///             conn.write_string("PONG");
///         } else {
///             conn.write_error("ERR unknown command");
///         }
///     }),
/// )?;
/// # Ok::<(), redcon::Error>(())
/// ```
///
/// Handlers behind a pointer are handlers too: one handler value can serve several servers
/// (an `Arc` shared by a TCP and a TLS server), be chosen at run time
/// (`Box<dyn Handler>`), or live for the whole program (`&'static`, from `Box::leak` or
/// a `static`). Every method is forwarded, so the pointer behaves exactly as the
/// handler it points to.
///
/// ```
/// use redcon::{Command, Conn, Handler, Server};
/// use std::sync::Arc;
///
/// struct Pong;
/// impl Handler for Pong {
///     fn on_command(&self, conn: &mut Conn, _cmd: Command) {
///         conn.write_string("PONG");
///     }
/// }
///
/// let shared = Arc::new(Pong);
/// let a = Server::new(shared.clone()).addr("127.0.0.1:0").start()?;
/// let b = Server::new(shared).addr("127.0.0.1:0").start()?;
/// let boxed: Box<dyn Handler> = Box::new(Pong);
/// let c = Server::new(boxed).addr("127.0.0.1:0").start()?;
/// static PONG: Pong = Pong;
/// let d = Server::new(&PONG).addr("127.0.0.1:0").start()?;
/// for s in [a, b, c, d] {
///     s.shutdown();
/// }
/// # Ok::<(), redcon::Error>(())
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Called once when a client connects, before anything is read. Return `false` to
    /// close the connection at once (without calling [`on_close`](Handler::on_close)).
    /// Anything written to `conn` here is sent before the connection closes or serves
    /// its first command.
    ///
    /// ```
    /// use redcon::{Command, Conn, Handler, Server};
    /// use std::io::Read;
    ///
    /// struct Greeter;
    /// impl Handler for Greeter {
    ///     fn on_accept(&self, conn: &mut Conn) -> bool {
    ///         conn.write_string("WELCOME");
    ///         true
    ///     }
    ///     fn on_command(&self, conn: &mut Conn, _cmd: Command) {
    ///         conn.write_null();
    ///     }
    /// }
    /// let server = Server::new(Greeter).addr("127.0.0.1:0").start()?;
    /// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// let mut hello = [0u8; 10];
    /// c.read_exact(&mut hello)?;
    /// assert_eq!(&hello, b"+WELCOME\r\n");
    /// server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_accept(&self, conn: &mut Conn<'_>) -> bool {
        let _ = conn;
        true
    }

    /// Called for each command, in order. Write the reply (or replies) to `conn`; they
    /// are sent together with the other replies of the same pipeline batch.
    ///
    /// ```
    /// use redcon::{Command, Conn, Handler};
    ///
    /// struct Echo;
    /// impl Handler for Echo {
    ///     fn on_command(&self, conn: &mut Conn, cmd: Command) {
    ///         match cmd.get(1) {
    ///             Some(arg) => conn.write_bulk(arg),
    ///             None => conn.write_error("ERR nothing to echo"),
    ///         }
    ///     }
    /// }
    /// # drop(Echo);
    /// ```
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>);

    /// Called once when a connection that was accepted ends (not for one that was
    /// detached: its [`DetachedConn`](crate::DetachedConn) belongs to you). Replies can no
    /// longer be sent.
    ///
    /// ```
    /// use redcon::{CloseReason, Command, Conn, Handler};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// #[derive(Default)]
    /// struct Counted(AtomicUsize);
    /// impl Handler for Counted {
    ///     fn on_command(&self, conn: &mut Conn, _cmd: Command) {
    ///         conn.write_string("OK");
    ///     }
    ///     fn on_close(&self, _conn: &mut Conn, reason: &CloseReason) {
    ///         if !matches!(reason, CloseReason::ServerShutdown) {
    ///             self.0.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     }
    /// }
    /// # drop(Counted::default());
    /// ```
    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        let _ = (conn, reason);
    }

    /// Called for `HELLO` commands. The default answers like Redis 7 (see
    /// [`hello::reply`](crate::hello::reply)) and switches the connection's protocol, so
    /// clients that open with `HELLO 3` work without any code of yours. Override it to
    /// handle `HELLO` yourself, e.g. to check `AUTH` credentials or report other server
    /// details.
    ///
    /// ```
    /// use redcon::{Command, Conn, Handler};
    ///
    /// /// Speaks RESP2 only: `HELLO 3` is refused as by a Redis 5 server.
    /// struct Resp2Only;
    /// impl Handler for Resp2Only {
    ///     fn on_command(&self, conn: &mut Conn, _cmd: Command) {
    ///         conn.write_null();
    ///     }
    ///     fn on_hello(&self, conn: &mut Conn, cmd: Command) {
    ///         if cmd.get(1).is_some_and(|v| v != b"2") {
    ///             conn.write_error("NOPROTO unsupported protocol version");
    ///         } else {
    ///             redcon::hello::reply(conn, cmd);
    ///         }
    ///     }
    /// }
    /// # drop(Resp2Only);
    /// ```
    fn on_hello(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        crate::hello::reply(conn, cmd);
    }

    /// The descriptions of the commands this handler answers, if it has them (a
    /// [`Mux`](crate::mux::Mux) does). The server reads it once per connection: it is
    /// what `COMMAND` answers from ([`Conn::command_table`]) and what the checks that
    /// run before a handler (key routing, access control) consult. A handler that
    /// wraps another should return the inner one's, with its own commands added.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// use redcon::{Command, Conn, Handler};
    /// use std::sync::Arc;
    ///
    /// struct Echo(Arc<CommandTable>);
    /// impl Handler for Echo {
    ///     fn on_command(&self, conn: &mut Conn, cmd: Command) {
    ///         conn.write_bulk(&cmd[1]);
    ///     }
    ///     fn commands(&self) -> Option<Arc<CommandTable>> {
    ///         Some(self.0.clone())
    ///     }
    /// }
    /// let mut table = CommandTable::new();
    /// table.insert(CommandSpec::new("echo", 2));
    /// assert!(Echo(Arc::new(table)).commands().is_some());
    /// ```
    fn commands(&self) -> Option<Arc<CommandTable>> {
        None
    }
}

// The pointer impls documented on `Handler`; one body for the three pointer types.
macro_rules! forward_handler {
    ($($ptr:ty),*) => {$(
        impl<H: Handler + ?Sized> Handler for $ptr {
            fn on_accept(&self, conn: &mut Conn<'_>) -> bool {
                (**self).on_accept(conn)
            }
            fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
                (**self).on_command(conn, cmd)
            }
            fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
                (**self).on_close(conn, reason)
            }
            fn on_hello(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
                (**self).on_hello(conn, cmd)
            }
            fn commands(&self) -> Option<Arc<CommandTable>> {
                (**self).commands()
            }
        }
    )*};
}
forward_handler!(Box<H>, Arc<H>, &'static H);

/// A closure as a [`Handler`]: what [`handler_fn`] returns, and what a closure passed to
/// [`Server::new`](crate::Server::new) and the `listen_and_serve` functions becomes.
///
/// It is a wrapper, rather than every closure being a handler itself, so that
/// `Box<H>` and `&'static H` can be handlers for any `H` (a boxed closure is a closure
/// too, and the two rules would overlap).
///
/// ```
/// use redcon::{handler_fn, Handler, HandlerFn};
/// let h = handler_fn(|conn, _cmd| conn.write_string("OK"));
/// fn is_handler(_: &impl Handler) {}
/// is_handler(&h);
/// # let _: &HandlerFn<_> = &h;
/// ```
#[derive(Clone, Copy)]
pub struct HandlerFn<F>(F);

impl<F> fmt::Debug for HandlerFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerFn").finish_non_exhaustive()
    }
}

impl<F> Handler for HandlerFn<F>
where
    F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
{
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        (self.0)(conn, cmd)
    }
}

/// Makes a closure a [`Handler`], with its parameter types inferred: `|conn, cmd|`
/// needs no annotations here, because the closure's signature is this function's own
/// bound. (A closure passed straight to [`Server::new`](crate::Server::new) works too,
/// but there its parameters need their types written out.)
///
/// ```no_run
/// redcon::listen_and_serve(
///     "127.0.0.1:6380",
///     redcon::handler_fn(|conn, cmd| {
///         if cmd.is("ping") {
///             conn.write_string("PONG");
///         } else {
///             conn.write_error(redcon::reply::unknown_command(&cmd));
///         }
///     }),
/// )?;
/// # Ok::<(), redcon::Error>(())
/// ```
pub fn handler_fn<F>(f: F) -> HandlerFn<F>
where
    F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
{
    HandlerFn(f)
}

/// What [`Server::new`](crate::Server::new), the `listen_and_serve` functions and
/// [`PubSub::handler`](crate::pubsub::PubSub::handler) accept: a [`Handler`], or a
/// closure `Fn(&mut Conn, Command)` (made one with [`HandlerFn`]).
///
/// `Marker` only tells the two apart ([`IsHandler`] or [`IsClosure`]); the compiler
/// infers it, so it never needs writing.
///
/// ```
/// use redcon::{Command, Conn, IntoHandler, Server};
///
/// fn serve_on_any_port<M>(h: impl IntoHandler<M>) -> redcon::ServerHandle {
///     Server::new(h.into_handler()).addr("127.0.0.1:0").start().unwrap()
/// }
/// serve_on_any_port(|conn: &mut Conn, _: Command| conn.write_string("OK")).shutdown();
/// serve_on_any_port(redcon::mux::Mux::new()).shutdown();
/// ```
pub trait IntoHandler<Marker> {
    /// The handler this becomes.
    type Handler: Handler;

    /// Converts into the handler.
    ///
    /// ```
    /// use redcon::{Command, Conn, Handler, IntoHandler};
    /// let h = (|conn: &mut Conn, _: Command| conn.write_null()).into_handler();
    /// assert!(h.commands().is_none());
    /// ```
    fn into_handler(self) -> Self::Handler;
}

/// The [`IntoHandler`] marker for a value that is a [`Handler`] already.
///
/// ```
/// use redcon::{IntoHandler, IsHandler};
/// let mux = <redcon::mux::Mux as IntoHandler<IsHandler>>::into_handler(redcon::mux::Mux::new());
/// # drop(mux);
/// ```
#[derive(Debug)]
pub enum IsHandler {}

/// The [`IntoHandler`] marker for a closure `Fn(&mut Conn, Command)`.
///
/// ```
/// use redcon::{Command, Conn, IntoHandler, IsClosure};
/// let f = |conn: &mut Conn, _: Command| conn.write_null();
/// let h = IntoHandler::<IsClosure>::into_handler(f);
/// # drop(h);
/// ```
#[derive(Debug)]
pub enum IsClosure {}

impl<H: Handler> IntoHandler<IsHandler> for H {
    type Handler = H;

    fn into_handler(self) -> H {
        self
    }
}

impl<F> IntoHandler<IsClosure> for F
where
    F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
{
    type Handler = HandlerFn<F>;

    fn into_handler(self) -> HandlerFn<F> {
        HandlerFn(self)
    }
}
