//! The built-in `HELLO` command, as Redis 7 answers it: protocol switch (`HELLO 2`,
//! `HELLO 3`), the `AUTH` and `SETNAME` options, and the server-information reply — a
//! map in RESP3, a flat array in RESP2.
//!
//! Modern clients (redis-py 8, node-redis 6) open every connection with `HELLO 3` and
//! give up on an error, so a server must answer it to be usable at all; the server
//! routes `HELLO` here unless the handler overrides
//! [`Handler::on_hello`](crate::Handler::on_hello).
//!
//! ```
//! use redcon::{handler_fn, Server};
//! use std::io::{Read, Write};
//! use std::os::unix::net::UnixStream;
//!
//! let (mut client, server_end) = UnixStream::pair()?;
//! client.write_all(b"HELLO 3\r\nNULL\r\n")?;
//! client.shutdown(std::net::Shutdown::Write)?;
//! // The handler never sees HELLO; its replies are RESP3 afterwards.
//! Server::new(handler_fn(|conn, _cmd| conn.write_null())).serve_connection(server_end);
//! let mut out = Vec::new();
//! client.read_to_end(&mut out)?;
//! assert!(out.starts_with(b"%7\r\n$6\r\nserver\r\n"));
//! assert!(out.ends_with(b"_\r\n"));
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::commands::{AclCategories, CommandSpec, Flags};
use crate::conn::Conn;
use crate::resp::{Command, Protocol};

/// The `server` and `version` fields of the `HELLO` reply; set them with
/// [`Server::server_info`](crate::Server::server_info).
///
/// ```
/// let info = redcon::hello::ServerInfo::default();
/// assert_eq!(info.server, "redis");
/// assert_eq!(info.version, redcon::hello::REDIS_VERSION);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// The `server` field. Default: `"redis"`.
    pub server: String,
    /// The `version` field. Default: the Redis version whose behaviour redcon follows.
    pub version: String,
}

/// The Redis version reported by default.
///
/// ```
/// assert!(redcon::hello::REDIS_VERSION.starts_with("7."));
/// ```
pub const REDIS_VERSION: &str = "7.0.15";

impl Default for ServerInfo {
    fn default() -> Self {
        ServerInfo {
            server: "redis".into(),
            version: REDIS_VERSION.into(),
        }
    }
}

/// How Redis 7.0.15 describes `HELLO`; in every [`Mux`](crate::mux::Mux)'s table.
///
/// ```
/// let spec = redcon::hello::command_spec();
/// assert_eq!(spec.arity().redis_value(), -1);
/// assert!(spec.command_flags().contains(redcon::commands::Flags::NO_AUTH));
/// ```
pub fn command_spec() -> CommandSpec {
    CommandSpec::new("hello", -1)
        .flags(
            Flags::NOSCRIPT
                | Flags::LOADING
                | Flags::STALE
                | Flags::FAST
                | Flags::NO_AUTH
                | Flags::ALLOW_BUSY,
        )
        .acl(AclCategories::CONNECTION)
        .summary("Handshake with Redis")
        .since("6.0.0")
        .group("connection")
        .complexity("O(1)")
}

/// Answers a `HELLO` command exactly as Redis 7 does with no password set, switching
/// the connection's protocol and name as asked.
///
/// - `HELLO` (no argument) keeps the protocol; `HELLO 2` / `HELLO 3` switch first, so
///   the reply is already in the new protocol.
/// - Other versions → `-NOPROTO unsupported protocol version`; a version that is not an
///   integer → `-ERR Protocol version is not an integer or out of range`.
/// - `AUTH <user> <pass>`: accepted for the `default` user, as Redis with no
///   `requirepass`; any other user → `-WRONGPASS ...`. A server with access control
///   ([`Server::acl`](crate::Server::acl), [`Server::requirepass`](crate::Server::requirepass))
///   checks the credentials in its core before `on_hello` runs.
/// - `SETNAME <name>` sets the client name; an option without its value →
///   `-ERR Syntax error in HELLO option '<opt>'`.
///
/// A handler that overrides `on_hello` can still call this for the default behaviour.
///
/// ```
/// use redcon::{Command, Conn, Handler};
///
/// /// Logs each HELLO, then answers it as usual.
/// struct Logged;
/// impl Handler for Logged {
///     fn on_command(&self, conn: &mut Conn, _cmd: Command) {
///         conn.write_string("OK");
///     }
///     fn on_hello(&self, conn: &mut Conn, cmd: Command) {
///         log::info!("client {} says HELLO", conn.id());
///         redcon::hello::reply(conn, cmd);
///     }
/// }
/// # let _ = Logged;
/// ```
pub fn reply(conn: &mut Conn<'_>, cmd: Command<'_>) {
    let args = match parse(&cmd) {
        Ok(args) => args,
        Err(msg) => return conn.write_error(msg),
    };
    // With access control on, the core has checked the credentials already.
    if let Some((user, _)) = args.auth
        && conn.state.auth.is_none()
        && !user.eq_ignore_ascii_case(b"default")
    {
        conn.write_error("WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    let protocol = args.protocol.unwrap_or(conn.protocol());
    let name = args.name;
    if let Some(name) = name {
        if !crate::reply::valid_client_name(name) {
            conn.write_error(crate::reply::INVALID_CLIENT_NAME);
            return;
        }
        conn.set_client_name(if name.is_empty() { None } else { Some(name) });
    }
    conn.set_protocol(protocol);
    let info = conn.state.info.clone();
    let id = conn.id();
    let (mode, role) = match conn.cluster() {
        Some(c) => match c.topology().myself().role {
            crate::cluster::Role::Master => ("cluster", "master"),
            crate::cluster::Role::Replica { .. } => ("cluster", "replica"),
        },
        None => ("standalone", "master"),
    };
    conn.write_map(7);
    conn.write_bulk("server");
    conn.write_bulk(&info.server);
    conn.write_bulk("version");
    conn.write_bulk(&info.version);
    conn.write_bulk("proto");
    conn.write_int(if protocol == Protocol::Resp3 { 3 } else { 2 });
    conn.write_bulk("id");
    conn.write_u64(id);
    conn.write_bulk("mode");
    conn.write_bulk(mode);
    conn.write_bulk("role");
    conn.write_bulk(role);
    conn.write_bulk("modules");
    conn.write_array(0);
}

/// A `HELLO` request's arguments.
pub(crate) struct HelloArgs<'a> {
    pub(crate) protocol: Option<Protocol>,
    pub(crate) auth: Option<(&'a [u8], &'a [u8])>,
    pub(crate) name: Option<&'a [u8]>,
}

/// Parses `HELLO [protover [AUTH user pass] [SETNAME name]]`; `Err` with Redis's error
/// (without the leading `-`) for a bad version or option.
pub(crate) fn parse<'a>(cmd: &Command<'a>) -> Result<HelloArgs<'a>, Vec<u8>> {
    let mut args = HelloArgs {
        protocol: None,
        auth: None,
        name: None,
    };
    if let Some(ver) = cmd.get(1) {
        args.protocol = match crate::resp::parse_int(ver) {
            Some(2) => Some(Protocol::Resp2),
            Some(3) => Some(Protocol::Resp3),
            Some(_) => return Err(b"NOPROTO unsupported protocol version".to_vec()),
            None => return Err(b"ERR Protocol version is not an integer or out of range".to_vec()),
        };
    }
    let mut i = 2;
    while i < cmd.len() {
        let opt = &cmd[i];
        let more = cmd.len() - 1 - i;
        let arg = |n: usize| cmd.get(n).unwrap_or_default();
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            args.auth = Some((arg(i + 1), arg(i + 2)));
            i += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            args.name = Some(arg(i + 1));
            i += 2;
        } else {
            let mut msg = b"ERR Syntax error in HELLO option '".to_vec();
            msg.extend_from_slice(opt);
            msg.push(b'\'');
            return Err(msg);
        }
    }
    Ok(args)
}
