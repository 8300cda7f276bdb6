//! Redis 7's error replies that every command server needs, worded byte for byte as
//! Redis words them, so a handler or the [`Mux`](crate) router can answer like Redis.
//!
//! ```
//! use redcon::{handler_fn, Server};
//! use std::io::{Read, Write};
//! use std::os::unix::net::UnixStream;
//!
//! let (mut client, server_end) = UnixStream::pair()?;
//! client.write_all(b"GET\r\nFLY away\r\n")?;
//! client.shutdown(std::net::Shutdown::Write)?;
//! Server::new(handler_fn(|conn, cmd| match cmd.name().to_ascii_lowercase().as_slice() {
//!     b"get" if cmd.len() != 2 => conn.write_error(redcon::reply::wrong_arity("get")),
//!     b"get" => conn.write_null(),
//!     _ => conn.write_error(redcon::reply::unknown_command(&cmd)),
//! }))
//! .serve_connection(server_end);
//! let mut out = Vec::new();
//! client.read_to_end(&mut out)?;
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "-ERR wrong number of arguments for 'get' command\r\n\
//!      -ERR unknown command 'FLY', with args beginning with: 'away' \r\n"
//! );
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::resp::Command;

/// Redis's `CLIENT SETNAME` / `HELLO SETNAME` error for a name with spaces or
/// non-printable bytes.
///
/// ```
/// # let name = b"has space";
/// # let mut out = Vec::new();
/// if !redcon::reply::valid_client_name(name) {
///     out.push(redcon::reply::INVALID_CLIENT_NAME);
/// }
/// # assert_eq!(out.len(), 1);
/// ```
pub const INVALID_CLIENT_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";

/// Whether `name` is a valid client name: every byte printable ASCII other than space
/// (`'!'..='~'`), as Redis's `clientSetName` requires. The empty name (which clears the
/// name) is valid.
///
/// ```
/// assert!(redcon::reply::valid_client_name(b"worker-1"));
/// assert!(!redcon::reply::valid_client_name(b"has space"));
/// ```
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// C's `%.*s`: a string stops at its first NUL byte, and at `max` bytes.
fn c_str(bytes: &[u8], max: usize) -> &[u8] {
    let end = memchr::memchr(0, bytes).unwrap_or(bytes.len()).min(max);
    &bytes[..end]
}

/// The unknown-command error message for `cmd`, as Redis 7 writes it (without the
/// leading `-`): `ERR unknown command 'name', with args beginning with: 'a' 'b' `.
///
/// Like Redis, the name is cut at 128 bytes, arguments are added while the list is
/// under 128 bytes (each cut to what is left), and every string stops at a NUL byte
/// (Redis formats them as C strings). CR and LF become spaces when the error is
/// written.
///
/// ```
/// use redcon::resp::{Parsed, Parser};
/// let mut p = Parser::new();
/// let Parsed::Command { command, .. } = p.parse(b"FOO a b\r\n").unwrap() else { panic!() };
/// assert_eq!(
///     redcon::reply::unknown_command(&command),
///     b"ERR unknown command 'FOO', with args beginning with: 'a' 'b' ".to_vec()
/// );
/// ```
pub fn unknown_command(cmd: &Command<'_>) -> Vec<u8> {
    let mut args = Vec::new();
    for arg in cmd.args().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(c_str(arg, room));
        args.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(c_str(cmd.name(), 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&args);
    msg
}

/// The wrong-arity error message for a command (without the leading `-`):
/// `ERR wrong number of arguments for 'get' command`. Pass the full lowercase name,
/// `"client|getname"` for a subcommand.
///
/// ```
/// assert_eq!(
///     redcon::reply::wrong_arity("get"),
///     "ERR wrong number of arguments for 'get' command"
/// );
/// ```
pub fn wrong_arity(full_name: &str) -> String {
    format!("ERR wrong number of arguments for '{full_name}' command")
}

/// Redis's error for a subcommand given more or fewer arguments than its own code
/// takes (past the arity its description declares): `ERR unknown subcommand or wrong
/// number of arguments for 'SUB'. Try CONTAINER HELP.`, `sub` as the client spelled it.
///
/// ```
/// assert_eq!(
///     redcon::reply::subcommand_syntax_error("PUBSUB", b"channels"),
///     b"ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.".to_vec()
/// );
/// ```
pub fn subcommand_syntax_error(container: &str, sub: &[u8]) -> Vec<u8> {
    let mut msg = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    msg.extend_from_slice(sub);
    msg.extend_from_slice(format!("'. Try {container} HELP.").as_bytes());
    msg
}

/// `ERR syntax error`.
///
/// ```
/// assert!(redcon::reply::SYNTAX_ERROR.starts_with("ERR ") && redcon::reply::SYNTAX_ERROR.contains("syntax error"));
/// ```
pub const SYNTAX_ERROR: &str = "ERR syntax error";

/// `ERR value is not an integer or out of range`.
///
/// ```
/// assert!(redcon::reply::NOT_AN_INTEGER.starts_with("ERR ") && redcon::reply::NOT_AN_INTEGER.contains("not an integer"));
/// ```
pub const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";

/// `ERR increment or decrement would overflow`.
///
/// ```
/// assert!(redcon::reply::OVERFLOW.starts_with("ERR ") && redcon::reply::OVERFLOW.contains("would overflow"));
/// ```
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
