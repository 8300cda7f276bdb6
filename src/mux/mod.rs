//! [`Mux`]: a command router. Handlers are registered by name (and optionally by
//! subcommand, like `CLIENT GETNAME`) with a Redis-style arity; lookup ignores case and
//! allocates nothing; wrong arity and unknown commands get Redis 7's own errors before
//! any handler runs. A `Mux` is itself a [`Handler`].
//!
//! ```
//! use redcon::mux::{Arity, Mux};
//! use redcon::Server;
//! use std::io::{Read, Write};
//! use std::os::unix::net::UnixStream;
//!
//! let mut mux = Mux::new();
//! mux.handle("echo", Arity::Exactly(2), |conn, cmd| conn.write_bulk(&cmd[1]));
//! let (mut client, server_end) = UnixStream::pair()?;
//! client.write_all(b"eChO hi\r\nECHO\r\n")?;
//! client.shutdown(std::net::Shutdown::Write)?;
//! Server::new(mux).serve_connection(server_end);
//! let mut out = Vec::new();
//! client.read_to_end(&mut out)?;
//! assert_eq!(out, b"$2\r\nhi\r\n-ERR wrong number of arguments for 'echo' command\r\n");
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::commands::{
    command_specs, insert_node, resolve, serve_command, CommandSpec, CommandTable, Node, Resolved,
};
use crate::conn::Conn;
use crate::handler::{CloseReason, Handler};
use crate::names::NameTable;
use crate::reply;
use crate::resp::Command;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

pub use crate::commands::Arity;

/// A command handler function, as stored by the [`Mux`].
///
/// ```
/// use redcon::mux::CommandFn;
/// let f: CommandFn = Box::new(|conn, _cmd| conn.write_string("PONG"));
/// # drop(f);
/// ```
pub type CommandFn = Box<dyn Fn(&mut Conn<'_>, Command<'_>) + Send + Sync>;

/// A route: the command's description and its handler (`None` for a container that
/// only routes to its subcommands).
type Route = Node<Option<CommandFn>>;

/// A command router.
///
/// ```no_run
/// use redcon::mux::{Arity, Mux};
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
///
/// let db = Arc::new(Mutex::new(HashMap::<Vec<u8>, Vec<u8>>::new()));
/// let mut mux = Mux::new();
/// mux.handle("ping", Arity::AtLeast(1), |conn, _cmd| conn.write_string("PONG"));
/// let d = db.clone();
/// mux.handle("set", Arity::Exactly(3), move |conn, cmd| {
///     d.lock().unwrap().insert(cmd[1].to_vec(), cmd[2].to_vec());
///     conn.write_string("OK");
/// });
/// mux.handle("get", Arity::Exactly(2), move |conn, cmd| {
///     match db.lock().unwrap().get(&cmd[1]) {
///         Some(v) => conn.write_bulk(v),
///         None => conn.write_null(),
///     }
/// });
/// redcon::listen_and_serve("127.0.0.1:6380", mux)?;
/// # Ok::<(), redcon::Error>(())
/// ```
///
/// Every registration is also a description in the router's
/// [`command_table`](Mux::command_table), which answers `COMMAND` (unless a
/// `command` route is registered) and which the server core reads; describe commands
/// fully with [`Mux::command`].
pub struct Mux {
    routes: NameTable<Route>,
    table: Arc<CommandTable>,
    fallback: Option<CommandFn>,
}

/// How the router resolves a request.
enum Lookup<'m> {
    Route(&'m Route),
    /// The built-in `COMMAND`.
    Command,
    Fallback,
    Error(Vec<u8>),
}

impl Default for Mux {
    fn default() -> Self {
        let mut table: CommandTable = command_specs().into_iter().collect();
        table.insert(crate::hello::command_spec());
        Mux {
            routes: NameTable::default(),
            table: Arc::new(table),
            fallback: None,
        }
    }
}

impl Mux {
    /// An empty router: every command is unknown but the built-in `COMMAND` (answered
    /// from the router's table) and `HELLO` (answered by the server).
    ///
    /// ```
    /// let mux = redcon::mux::Mux::new();
    /// assert!(mux.command_table().get("command").is_some());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `name` (any case) to `f` when the argument count fits `arity`; otherwise
    /// the client gets `-ERR wrong number of arguments for '<name>' command`.
    /// Registering a name again replaces it. The command is described with no flags
    /// and no keys; use [`command`](Self::command) to describe it fully.
    ///
    /// ```
    /// use redcon::mux::{Arity, Mux};
    /// let mut mux = Mux::new();
    /// mux.handle("echo", Arity::Exactly(2), |conn, cmd| conn.write_bulk(&cmd[1]));
    /// assert!(mux.contains(b"ECHO"));
    /// ```
    pub fn handle<F>(&mut self, name: &str, arity: Arity, f: F) -> &mut Self
    where
        F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
    {
        self.command(CommandSpec::new(name, arity), f)
    }

    /// Routes subcommand `sub` of `name` (`CLIENT GETNAME`) to `f`. `arity` counts the
    /// whole command (`CLIENT GETNAME` is `Exactly(2)`). The container itself needs at
    /// least two arguments; an unknown subcommand gets Redis's
    /// `-ERR unknown subcommand 'X'. Try NAME HELP.`
    ///
    /// ```
    /// use redcon::mux::{Arity, Mux};
    /// let mut mux = Mux::new();
    /// mux.handle_subcommand("client", "id", Arity::Exactly(2), |conn, _| {
    ///     let id = conn.id();
    ///     conn.write_u64(id)
    /// });
    /// assert!(mux.command_table().get("client|id").is_some());
    /// ```
    pub fn handle_subcommand<F>(&mut self, name: &str, sub: &str, arity: Arity, f: F) -> &mut Self
    where
        F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
    {
        self.command(CommandSpec::new(&format!("{name}|{sub}"), arity), f)
    }

    /// Routes the command `spec` describes (a subcommand when named `container|sub`)
    /// to `f`, and adds the description to the router's table: the arity is checked
    /// before `f` runs, and `COMMAND INFO`, key extraction, cluster routing and access
    /// control read the rest. Registering a name again replaces it.
    ///
    /// ```
    /// use redcon::commands::{AclCategories, CommandSpec, Flags};
    /// use redcon::mux::Mux;
    /// let mut mux = Mux::new();
    /// mux.command(
    ///     CommandSpec::new("mget", -2)
    ///         .flags(Flags::READONLY | Flags::FAST)
    ///         .acl(AclCategories::STRING)
    ///         .keys(1, -1, 1),
    ///     |conn, cmd| {
    ///         conn.write_array(cmd.len() - 1);
    ///         for _ in 1..cmd.len() {
    ///             conn.write_null();
    ///         }
    ///     },
    /// );
    /// assert_eq!(mux.command_table().get("mget").unwrap().first_last_step(), (1, -1, 1));
    /// ```
    pub fn command<F>(&mut self, spec: CommandSpec, f: F) -> &mut Self
    where
        F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.table).insert(spec.clone());
        insert_node(&mut self.routes, spec, Some(Box::new(f)), || None);
        self
    }

    /// Adds a description to the router's table without a route: for commands that
    /// something else answers (a wrapping handler, the server itself), so that
    /// `COMMAND` lists them and the core can read their keys and flags.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, Flags};
    /// let mut mux = redcon::mux::Mux::new();
    /// mux.describe(CommandSpec::new("subscribe", -2).flags(Flags::PUBSUB));
    /// assert!(mux.command_table().get("subscribe").is_some());
    /// assert!(!mux.contains(b"subscribe"));
    /// ```
    pub fn describe(&mut self, spec: CommandSpec) -> &mut Self {
        Arc::make_mut(&mut self.table).insert(spec);
        self
    }

    /// The descriptions of every registered (or described) command, plus the
    /// built-in `COMMAND` and `HELLO`.
    ///
    /// ```
    /// let mux = redcon::mux::Mux::new();
    /// assert_eq!(mux.command_table().len(), 2); // command, hello
    /// ```
    pub fn command_table(&self) -> &CommandTable {
        &self.table
    }

    /// Handles commands that match no route. Default: Redis 7's
    /// `-ERR unknown command '<name>', with args beginning with: ...`.
    ///
    /// ```
    /// let mut mux = redcon::mux::Mux::new();
    /// mux.fallback(|conn, _cmd| conn.write_error("ERR not here"));
    /// ```
    pub fn fallback<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
    {
        self.fallback = Some(Box::new(f));
        self
    }

    /// Whether a command of this name (any case) is registered.
    ///
    /// ```
    /// use redcon::mux::{Arity, Mux};
    /// let mut mux = Mux::new();
    /// mux.handle("get", Arity::Exactly(2), |conn, _| conn.write_null());
    /// assert!(mux.contains(b"GET") && !mux.contains(b"set"));
    /// ```
    pub fn contains(&self, name: &[u8]) -> bool {
        self.routes.get(name).is_some()
    }

    /// How `cmd` resolves, without running anything: `Ok` with the full lowercase name
    /// of the route it would run (`"get"`, `"client|getname"`), or of the command itself
    /// when it would go to the [`fallback`](Self::fallback); `Err` with the error
    /// message [`on_command`](Handler::on_command) would reply instead (unknown command
    /// or subcommand, wrong number of arguments).
    ///
    /// Redis checks these before anything else, e.g. before refusing a command to a
    /// subscribed client (see [`PubSubHandler::command_check`](crate::pubsub::PubSubHandler::command_check)).
    ///
    /// ```
    /// use redcon::mux::{Arity, Mux};
    /// use redcon::resp::{Parsed, Parser};
    ///
    /// let mut mux = Mux::new();
    /// mux.handle("get", Arity::Exactly(2), |conn, _| conn.write_null());
    /// let mut p = Parser::new();
    /// let Parsed::Command { command, .. } = p.parse(b"GET k\r\n").unwrap() else { panic!() };
    /// assert_eq!(mux.check(&command).unwrap(), "get");
    /// let Parsed::Command { command, .. } = p.parse(b"GET\r\n").unwrap() else { panic!() };
    /// assert_eq!(
    ///     mux.check(&command).unwrap_err(),
    ///     b"ERR wrong number of arguments for 'get' command".to_vec()
    /// );
    /// ```
    pub fn check(&self, cmd: &Command<'_>) -> Result<Cow<'_, str>, Vec<u8>> {
        match self.lookup(cmd) {
            Lookup::Route(route) => Ok(Cow::Borrowed(route.spec.name())),
            Lookup::Command => self
                .table
                .resolve(cmd)
                .map(|spec| Cow::Owned(spec.name().to_string())),
            Lookup::Fallback => Ok(Cow::Owned(
                String::from_utf8_lossy(cmd.name()).to_ascii_lowercase(),
            )),
            Lookup::Error(msg) => Err(msg),
        }
    }

    /// Resolves a command like Redis's `processCommand`.
    fn lookup(&self, cmd: &Command<'_>) -> Lookup<'_> {
        match resolve(&self.routes, cmd, |r| r.value.is_some()) {
            Resolved::Found(route) => Lookup::Route(route),
            Resolved::Error(msg) => Lookup::Error(msg),
            Resolved::Unknown if cmd.is("command") => Lookup::Command,
            Resolved::Unknown if self.fallback.is_some() => Lookup::Fallback,
            Resolved::Unknown => Lookup::Error(reply::unknown_command(cmd)),
        }
    }
}

impl Mux {
    /// A command no route matches: the built-in `COMMAND`, the fallback, or Redis's
    /// unknown-command error. Kept out of the per-command path.
    #[cold]
    fn unrouted(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        match self.lookup(&cmd) {
            Lookup::Command => {
                // The outermost handler's table (it may describe more than this
                // router, e.g. pub/sub commands), else this router's.
                let table = conn.command_table().unwrap_or_else(|| self.table.clone());
                serve_command(conn, cmd, &table);
            }
            Lookup::Fallback => {
                if let Some(f) = &self.fallback {
                    f(conn, cmd);
                }
            }
            Lookup::Error(msg) => conn.write_error(msg),
            Lookup::Route(_) => {}
        }
    }
}

impl Handler for Mux {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        // One resolution and one match on the common path: a route found.
        match resolve(&self.routes, &cmd, |r| r.value.is_some()) {
            Resolved::Found(route) => match &route.value {
                Some(h) => h(conn, cmd),
                None => conn.write_error(reply::wrong_arity(route.spec.name())),
            },
            Resolved::Error(msg) => conn.write_error(msg),
            Resolved::Unknown => self.unrouted(conn, cmd),
        }
    }

    /// A registered `hello` route wins; otherwise the built-in `HELLO`.
    fn on_hello(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if self.contains(b"hello") {
            self.on_command(conn, cmd);
        } else {
            crate::hello::reply(conn, cmd);
        }
    }

    fn on_close(&self, _conn: &mut Conn<'_>, _reason: &CloseReason) {}

    fn commands(&self) -> Option<Arc<CommandTable>> {
        Some(self.table.clone())
    }
}

impl fmt::Debug for Mux {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = crate::commands::sorted(&self.routes)
            .into_iter()
            .map(|r| r.spec.name())
            .collect();
        f.debug_struct("Mux").field("commands", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::ConnState;
    use crate::io::{PeerAddr, WriteHalf};
    use crate::resp::{Limits, Parsed, Parser};

    /// Runs `line` (an inline request) through `mux` and returns the reply bytes.
    fn run(mux: &Mux, line: &str) -> Vec<u8> {
        let mut parser = Parser::new();
        let input = format!("{line}\r\n");
        let Ok(Parsed::Command { command, .. }) = parser.parse(input.as_bytes()) else {
            panic!("test input must parse: {line}");
        };
        let mut state = ConnState::new(
            1,
            PeerAddr::Unix(None),
            false,
            WriteHalf::Closed,
            Limits::default(),
        );
        mux.on_command(&mut Conn::new(&mut state, &[]), command);
        state.out.as_bytes().to_vec()
    }

    fn sample() -> Mux {
        let mut mux = Mux::new();
        mux.handle("get", Arity::Exactly(2), |c, cmd| c.write_bulk(&cmd[1]));
        mux.handle("del", Arity::AtLeast(2), |c, cmd| {
            c.write_int(cmd.len() as i64 - 1)
        });
        mux.handle_subcommand("client", "getname", Arity::Exactly(2), |c, _| {
            c.write_null()
        });
        mux.handle_subcommand("client", "setname", Arity::Exactly(3), |c, _| {
            c.write_string("OK")
        });
        mux
    }

    #[test]
    fn routes_any_case() {
        let mux = sample();
        assert_eq!(run(&mux, "GET k"), b"$1\r\nk\r\n");
        assert_eq!(run(&mux, "gEt k"), b"$1\r\nk\r\n");
        assert_eq!(run(&mux, "del a b c"), b":3\r\n");
    }

    #[test]
    fn wrong_arity_uses_the_lowercase_full_name() {
        let mux = sample();
        assert_eq!(
            run(&mux, "GET"),
            b"-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(
            run(&mux, "GET a b"),
            b"-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(
            run(&mux, "DEL"),
            b"-ERR wrong number of arguments for 'del' command\r\n"
        );
    }

    #[test]
    fn subcommands_like_redis() {
        let mux = sample();
        assert_eq!(run(&mux, "client getname"), b"$-1\r\n");
        assert_eq!(run(&mux, "CLIENT SETNAME x"), b"+OK\r\n");
        assert_eq!(
            run(&mux, "client"),
            b"-ERR wrong number of arguments for 'client' command\r\n"
        );
        assert_eq!(
            run(&mux, "client getname x"),
            b"-ERR wrong number of arguments for 'client|getname' command\r\n"
        );
        assert_eq!(
            run(&mux, "client bogus"),
            b"-ERR unknown subcommand 'bogus'. Try CLIENT HELP.\r\n"
        );
    }

    #[test]
    fn unknown_command_and_fallback() {
        let mut mux = sample();
        assert_eq!(
            run(&mux, "nope a b"),
            b"-ERR unknown command 'nope', with args beginning with: 'a' 'b' \r\n"
        );
        // Names longer than any route are unknown, not an allocation.
        let long = "x".repeat(1000);
        assert!(run(&mux, &long).starts_with(b"-ERR unknown command 'xxx"));
        mux.fallback(|c, _| c.write_string("FALLBACK"));
        assert_eq!(run(&mux, "nope"), b"+FALLBACK\r\n");
        assert_eq!(run(&mux, "get k"), b"$1\r\nk\r\n");
    }

    #[test]
    fn arity_from_redis_convention() {
        assert!(Arity::redis(2).accepts(2));
        assert!(!Arity::redis(2).accepts(3));
        assert!(Arity::redis(-2).accepts(5));
        assert!(!Arity::redis(-2).accepts(1));
    }
}
