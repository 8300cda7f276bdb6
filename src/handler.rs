//! The [`Handler`] trait: what a server does with each connection and command, and
//! [`CloseReason`], why a connection ended.

use crate::commands::CommandTable;
use crate::conn::Conn;
use crate::resp::{Command, ProtocolError};
use std::fmt;
use std::sync::Arc;

/// Why a connection ended, as passed to [`Handler::on_close`].
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
/// `Fn(&mut Conn, Command)` is a handler too:
///
/// ```no_run
/// use redcon::{Conn, Command};
/// redcon::listen_and_serve("127.0.0.1:6380", |conn: &mut Conn, cmd: Command| {
///     if cmd.is("ping") {
///         conn.write_string("PONG");
///     } else {
///         conn.write_error("ERR unknown command");
///     }
/// })?;
/// # Ok::<(), redcon::Error>(())
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Called once when a client connects, before anything is read. Return `false` to
    /// close the connection at once (without calling [`on_close`](Handler::on_close)).
    /// Anything written to `conn` here is sent before the connection closes or serves
    /// its first command.
    fn on_accept(&self, conn: &mut Conn<'_>) -> bool {
        let _ = conn;
        true
    }

    /// Called for each command, in order. Write the reply (or replies) to `conn`; they
    /// are sent together with the other replies of the same pipeline batch.
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>);

    /// Called once when a connection that was accepted ends (not for one that was
    /// detached: its [`DetachedConn`](crate::DetachedConn) belongs to you). Replies can no
    /// longer be sent.
    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        let _ = (conn, reason);
    }

    /// Called for `HELLO` commands. The default answers like Redis 7 (see
    /// [`hello::reply`](crate::hello::reply)) and switches the connection's protocol, so
    /// clients that open with `HELLO 3` work without any code of yours. Override it to
    /// handle `HELLO` yourself, e.g. to check `AUTH` credentials or report other server
    /// details.
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

impl<F> Handler for F
where
    F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
{
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        self(conn, cmd)
    }
}
