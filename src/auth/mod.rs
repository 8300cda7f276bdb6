//! Access control, enforced in the connection core before any handler sees a command:
//! `AUTH`, `HELLO ... AUTH`, `-NOAUTH` until a client authenticates, `-NOPERM` for what
//! its user may not run, Redis's tighter request limits for clients that have not
//! authenticated yet, and protected mode.
//!
//! Credentials and permissions come from an [`Authenticator`]: the built-in [`Acl`]
//! (Redis's ACL users, rules and file format, with the `ACL` command), or one of your
//! own that checks passwords elsewhere. Give it to the server with
//! [`Server::acl`](crate::Server::acl), [`Server::requirepass`](crate::Server::requirepass)
//! or [`Server::authenticator`](crate::Server::authenticator).
//!
//! Because the check runs in the core, every way a command can reach a handler is
//! covered: the normal loop, a pub/sub session, a connection served again with
//! [`DetachedConn::serve`](crate::DetachedConn::serve), and cluster routing (which runs
//! after it, so an unauthenticated client learns nothing of the slot map). A handler that
//! detaches a connection and reads commands itself with
//! [`DetachedConn::read_command`](crate::DetachedConn::read_command) owns that protocol:
//! the connection's user ([`DetachedConn::user`](crate::DetachedConn::user)) is still
//! known there.
//!
//! ```
//! use redcon::{handler_fn, Server};
//! use std::io::{Read, Write};
//! use std::os::unix::net::UnixStream;
//!
//! let (mut client, server_end) = UnixStream::pair()?;
//! client.write_all(b"GET k\r\nAUTH wrong\r\nAUTH s3cret\r\nGET k\r\n")?;
//! client.shutdown(std::net::Shutdown::Write)?;
//! Server::new(handler_fn(|conn, _cmd| conn.write_string(conn.user().to_string())))
//!     .requirepass("s3cret")
//!     .serve_connection(server_end);
//! let mut out = String::new();
//! client.read_to_string(&mut out)?;
//! assert_eq!(
//!     out,
//!     "-NOAUTH Authentication required.\r\n\
//!      -WRONGPASS invalid username-password pair or user is disabled.\r\n\
//!      +OK\r\n\
//!      +default\r\n"
//! );
//! # Ok::<(), std::io::Error>(())
//! ```

mod acl;
mod acl_cmd;
pub(crate) mod check;
mod selector;
mod specs;
mod user;

pub use acl::{Acl, AclError};
pub(crate) use specs::command_specs;

use crate::commands::CommandSpec;
use crate::resp::Command;

/// Why an authorized user may not run a command; the core answers each with Redis's
/// `-NOPERM` text.
///
/// ```
/// use redcon::auth::Denial;
/// assert_eq!(
///     Denial::Command.message("config|set"),
///     "NOPERM this user has no permissions to run the 'config|set' command"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// The command (or subcommand) itself.
    Command,
    /// The key at this argument index.
    Key(usize),
    /// The channel (or pattern) at this argument index.
    Channel(usize),
    /// The connection's user no longer exists (deleted, or the ACL was reloaded
    /// without it): the connection is closed, as Redis disconnects such clients.
    UserGone,
}

impl Denial {
    /// Redis's error reply (without the leading `-`) for a command named `name` (its
    /// full lowercase name, `"get"` or `"config|set"`).
    ///
    /// ```
    /// use redcon::auth::Denial;
    /// assert!(Denial::Key(1).message("get").ends_with("one of the keys used as arguments"));
    /// ```
    pub fn message(self, name: &str) -> String {
        match self {
            Denial::Command | Denial::UserGone => {
                format!("NOPERM this user has no permissions to run the '{name}' command")
            }
            Denial::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
            Denial::Channel(_) => "NOPERM this user has no permissions to access one of the \
                                   channels used as arguments"
                .into(),
        }
    }

    /// The `reason` field of an `ACL LOG` entry.
    fn reason(self) -> &'static str {
        match self {
            Denial::Command | Denial::UserGone => "command",
            Denial::Key(_) => "key",
            Denial::Channel(_) => "channel",
        }
    }
}

/// A refusal the core reports to [`Authenticator::record`]: a failed `AUTH` or a denied
/// command. The built-in [`Acl`] keeps these as Redis's `ACL LOG`.
///
/// ```
/// let r = redcon::auth::Refusal {
///     reason: "auth",
///     object: "AUTH".into(),
///     username: "default".into(),
///     client_info: "id=1 addr=127.0.0.1:50000".into(),
/// };
/// assert_eq!(r.reason, "auth");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `"auth"`, `"command"`, `"key"` or `"channel"`, as `ACL LOG` says.
    pub reason: &'static str,
    /// The command's name (`"config|set"`), the key or channel refused, or for `"auth"`
    /// the command as typed (`AUTH`, `HELLO`).
    pub object: String,
    /// The user the connection ran as (or tried to log in as).
    pub username: String,
    /// A description of the client (`id=... addr=... laddr=... name=... user=...`).
    pub client_info: String,
}

/// Where credentials and permissions come from. The core calls it for `AUTH` and
/// `HELLO ... AUTH`, and before every command of a connection. Implement it to keep
/// users in your own database; [`Acl`] is Redis's model.
///
/// ```
/// use redcon::auth::Authenticator;
/// use redcon::{handler_fn, Server};
///
/// /// One account, checked against a value kept elsewhere.
/// struct Single { user: String, password: String }
///
/// impl Authenticator for Single {
///     fn auth_required(&self) -> bool {
///         true
///     }
///     fn authenticate(&self, user: &str, password: &[u8]) -> bool {
///         // A real implementation compares digests in constant time.
///         user == self.user && password == self.password.as_bytes()
///     }
/// }
///
/// let server = Server::new(handler_fn(|conn, _| conn.write_string("OK")))
///     .authenticator(Single { user: "app".into(), password: "pw".into() });
/// # drop(server);
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Whether a client must authenticate before running commands (Redis: the
    /// `default` user has a password, or is off). Read when a connection starts, and
    /// again while it has not authenticated.
    fn auth_required(&self) -> bool;

    /// Whether the `default` user has no password, so that `AUTH <password>` (one
    /// argument) answers Redis's "called without any password configured" error.
    /// Default: `!auth_required()`.
    ///
    /// ```
    /// # use redcon::auth::Authenticator;
    /// struct Open;
    /// impl Authenticator for Open {
    ///     fn auth_required(&self) -> bool { false }
    ///     fn authenticate(&self, _: &str, _: &[u8]) -> bool { true }
    /// }
    /// assert!(Open.default_user_nopass());
    /// ```
    fn default_user_nopass(&self) -> bool {
        !self.auth_required()
    }

    /// Whether `user` may log in with `password` (`AUTH`, `HELLO ... AUTH`). `AUTH
    /// <password>` asks for the user `default`.
    fn authenticate(&self, user: &str, password: &[u8]) -> bool;

    /// Whether `user` may run `cmd`, described by `spec` when the server's command
    /// table knows it. Called for every command of an authenticated connection, after
    /// the unknown-command and arity checks. Default: everything is allowed.
    ///
    /// # Errors
    /// The [`Denial`] the client is told about.
    ///
    /// ```
    /// # use redcon::auth::{Authenticator, Denial};
    /// # use redcon::resp::{Parsed, Parser};
    /// struct ReadOnly;
    /// impl Authenticator for ReadOnly {
    ///     fn auth_required(&self) -> bool { false }
    ///     fn authenticate(&self, _: &str, _: &[u8]) -> bool { true }
    ///     fn authorize(
    ///         &self,
    ///         _user: &str,
    ///         cmd: &redcon::Command<'_>,
    ///         _spec: Option<&redcon::commands::CommandSpec>,
    ///     ) -> Result<(), Denial> {
    ///         if cmd.is("get") { Ok(()) } else { Err(Denial::Command) }
    ///     }
    /// }
    /// let mut p = Parser::new();
    /// let Ok(Parsed::Command { command, .. }) = p.parse(b"SET k v\r\n") else { panic!() };
    /// assert_eq!(ReadOnly.authorize("default", &command, None), Err(Denial::Command));
    /// ```
    fn authorize(
        &self,
        user: &str,
        cmd: &Command<'_>,
        spec: Option<&CommandSpec>,
    ) -> Result<(), Denial> {
        let _ = (user, cmd, spec);
        Ok(())
    }

    /// Whether `user` exists and is enabled, for logging a client in without a
    /// password (by the name in its TLS client certificate). Default: `false`.
    ///
    /// ```
    /// # use redcon::auth::Authenticator;
    /// # struct Open;
    /// # impl Authenticator for Open {
    /// #     fn auth_required(&self) -> bool { false }
    /// #     fn authenticate(&self, _: &str, _: &[u8]) -> bool { true }
    /// # }
    /// assert!(!Open.user_enabled("anyone"));
    /// ```
    fn user_enabled(&self, user: &str) -> bool {
        let _ = user;
        false
    }

    /// Told of every refusal (failed login, denied command), for auditing. Default:
    /// nothing.
    ///
    /// ```
    /// # use redcon::auth::{Authenticator, Refusal};
    /// # struct Open;
    /// # impl Authenticator for Open {
    /// #     fn auth_required(&self) -> bool { false }
    /// #     fn authenticate(&self, _: &str, _: &[u8]) -> bool { true }
    /// # }
    /// Open.record(Refusal {
    ///     reason: "auth",
    ///     object: "AUTH".into(),
    ///     username: "x".into(),
    ///     client_info: String::new(),
    /// });
    /// ```
    fn record(&self, refusal: Refusal) {
        let _ = refusal;
    }
}
