//! [`Mux`]: a command router. Handlers are registered by name (and optionally by
//! subcommand, like `CLIENT GETNAME`) with a Redis-style arity; lookup ignores case and
//! allocates nothing; wrong arity and unknown commands get Redis 7's own errors before
//! any handler runs. A `Mux` is itself a [`Handler`].

use crate::conn::Conn;
use crate::handler::{CloseReason, Handler};
use crate::reply;
use crate::resp::Command;
use std::borrow::Cow;
use std::fmt;
use table::NameTable;

mod table;

/// How many arguments (the command name included) a command takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exactly(usize),
    /// This many or more.
    AtLeast(usize),
}

impl Arity {
    /// From Redis's convention: `n > 0` means exactly `n`, `n < 0` at least `-n`.
    ///
    /// ```
    /// use redcon::mux::Arity;
    /// assert_eq!(Arity::redis(2), Arity::Exactly(2));
    /// assert_eq!(Arity::redis(-3), Arity::AtLeast(3));
    /// ```
    pub fn redis(n: i32) -> Arity {
        if n >= 0 {
            Arity::Exactly(n as usize)
        } else {
            Arity::AtLeast(n.unsigned_abs() as usize)
        }
    }

    /// Whether `argc` arguments satisfy this arity.
    pub fn accepts(self, argc: usize) -> bool {
        match self {
            Arity::Exactly(n) => argc == n,
            Arity::AtLeast(n) => argc >= n,
        }
    }
}

/// A command handler function, as stored by the [`Mux`].
pub type CommandFn = Box<dyn Fn(&mut Conn<'_>, Command<'_>) + Send + Sync>;

type Routes = NameTable<Route>;

struct Route {
    /// Lowercase full name for errors: `get`, or `client|getname`.
    full_name: String,
    /// The name as registered, for `Try X HELP.` messages.
    upper_name: String,
    arity: Arity,
    handler: Option<CommandFn>,
    subcommands: Routes,
}

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
#[derive(Default)]
pub struct Mux {
    routes: Routes,
    fallback: Option<CommandFn>,
}

impl Mux {
    /// An empty router: every command is unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `name` (any case) to `f` when the argument count fits `arity`; otherwise
    /// the client gets `-ERR wrong number of arguments for '<name>' command`.
    /// Registering a name again replaces it.
    pub fn handle<F>(&mut self, name: &str, arity: Arity, f: F) -> &mut Self
    where
        F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
    {
        let route = self.container(name, arity);
        route.handler = Some(Box::new(f));
        self
    }

    /// Routes subcommand `sub` of `name` (`CLIENT GETNAME`) to `f`. `arity` counts the
    /// whole command (`CLIENT GETNAME` is `Exactly(2)`). The container itself needs at
    /// least two arguments; an unknown subcommand gets Redis's
    /// `-ERR unknown subcommand 'X'. Try NAME HELP.`
    pub fn handle_subcommand<F>(&mut self, name: &str, sub: &str, arity: Arity, f: F) -> &mut Self
    where
        F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
    {
        let container = self.container(name, Arity::AtLeast(2));
        let full_name = format!("{}|{}", container.full_name, sub.to_ascii_lowercase());
        container.subcommands.insert(
            sub,
            Route {
                full_name,
                upper_name: sub.to_ascii_uppercase(),
                arity,
                handler: Some(Box::new(f)),
                subcommands: Routes::default(),
            },
        );
        self
    }

    fn container(&mut self, name: &str, arity: Arity) -> &mut Route {
        let route = self.routes.get_or_insert_with(name, || Route {
            full_name: name.to_ascii_lowercase(),
            upper_name: name.to_ascii_uppercase(),
            arity,
            handler: None,
            subcommands: Routes::default(),
        });
        route.arity = arity;
        route
    }

    /// Handles commands that match no route. Default: Redis 7's
    /// `-ERR unknown command '<name>', with args beginning with: ...`.
    pub fn fallback<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static,
    {
        self.fallback = Some(Box::new(f));
        self
    }

    /// Whether a command of this name (any case) is registered.
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
        match self.lookup(cmd)? {
            Some(route) => Ok(Cow::Borrowed(route.full_name.as_str())),
            None => Ok(Cow::Owned(
                String::from_utf8_lossy(cmd.name()).to_ascii_lowercase(),
            )),
        }
    }

    /// Resolves a command like Redis's `processCommand`: the route to run, `None` for
    /// the fallback, or the error reply (unknown command or subcommand, wrong arity).
    fn lookup(&self, cmd: &Command<'_>) -> Result<Option<&Route>, Vec<u8>> {
        let route = match self.routes.get(cmd.name()) {
            Some(r) => r,
            None if self.fallback.is_some() => return Ok(None),
            None => return Err(reply::unknown_command(cmd)),
        };
        if route.subcommands.is_empty() {
            if !route.arity.accepts(cmd.len()) {
                return Err(reply::wrong_arity(&route.full_name).into_bytes());
            }
            return Ok(Some(route));
        }
        if cmd.len() < 2 {
            return Err(reply::wrong_arity(&route.full_name).into_bytes());
        }
        let sub = match route.subcommands.get(&cmd[1]) {
            Some(s) => s,
            None if route.handler.is_some() && route.arity.accepts(cmd.len()) => {
                return Ok(Some(route))
            }
            None => {
                let mut msg = b"ERR unknown subcommand '".to_vec();
                msg.extend_from_slice(&cmd[1][..cmd[1].len().min(128)]);
                msg.extend_from_slice(format!("'. Try {} HELP.", route.upper_name).as_bytes());
                return Err(msg);
            }
        };
        if !sub.arity.accepts(cmd.len()) {
            return Err(reply::wrong_arity(&sub.full_name).into_bytes());
        }
        Ok(Some(sub))
    }

    /// Resolves `cmd`, writing the error or running the fallback itself; returns the
    /// route to run on success.
    fn resolve<'m>(&'m self, conn: &mut Conn<'_>, cmd: &Command<'_>) -> Option<&'m Route> {
        match self.lookup(cmd) {
            Ok(Some(route)) => Some(route),
            Ok(None) => {
                if let Some(f) = &self.fallback {
                    f(conn, *cmd);
                }
                None
            }
            Err(msg) => {
                conn.write_error(msg);
                None
            }
        }
    }
}

impl Handler for Mux {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if let Some(route) = self.resolve(conn, &cmd) {
            if let Some(h) = &route.handler {
                h(conn, cmd);
            }
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
}

impl fmt::Debug for Mux {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.routes.values().map(|r| r.full_name.as_str()).collect();
        names.sort_unstable();
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
