//! Typed errors shared by the layers: [`ProtocolError`] carries Redis's own texts for
//! malformed requests, so a server can answer `-ERR Protocol error: <text>` exactly as
//! Redis 7 does.

use std::fmt;

/// A request that Redis 7 would reject with `-ERR Protocol error: ...`.
///
/// [`Display`](fmt::Display) prints the text that follows `Protocol error: ` in Redis's
/// reply, byte for byte.
///
/// ```
/// use redcon::ProtocolError;
/// assert_eq!(ProtocolError::InvalidBulkLength.to_string(), "invalid bulk length");
/// assert_eq!(ProtocolError::ExpectedDollar(b'x').to_string(), "expected '$', got 'x'");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The count after `*` is not a number Redis accepts, or is above `i32::MAX` (or the
    /// configured maximum).
    InvalidMultibulkLength,
    /// The length after `$` is malformed, negative, or above the maximum bulk length.
    InvalidBulkLength,
    /// An inline request had no newline within the maximum inline length (64 KiB).
    TooBigInlineRequest,
    /// A multibulk element did not start with `$`; holds the byte found instead.
    ExpectedDollar(u8),
    /// An inline request had an unterminated quote, or a closing quote followed by
    /// something other than whitespace.
    UnbalancedQuotes,
    /// No `\r` within the maximum inline length after `*`.
    TooBigMbulkCountString,
    /// No `\r` within the maximum inline length after `$`.
    TooBigBulkCountString,
    /// A client that must still authenticate declared more than 10 elements.
    UnauthenticatedMultibulkLength,
    /// A client that must still authenticate declared a bulk longer than 16 KiB.
    UnauthenticatedBulkLength,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::TooBigInlineRequest => f.write_str("too big inline request"),
            ProtocolError::ExpectedDollar(b) => {
                // Redis prints the byte with %c, so it goes out raw.
                write!(f, "expected '$', got '{}'", char::from(*b))
            }
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            ProtocolError::TooBigMbulkCountString => f.write_str("too big mbulk count string"),
            ProtocolError::TooBigBulkCountString => f.write_str("too big bulk count string"),
            ProtocolError::UnauthenticatedMultibulkLength => {
                f.write_str("unauthenticated multibulk length")
            }
            ProtocolError::UnauthenticatedBulkLength => f.write_str("unauthenticated bulk length"),
        }
    }
}

impl std::error::Error for ProtocolError {}

impl ProtocolError {
    /// The whole error reply Redis sends for this error, `-ERR Protocol error: <text>\r\n`.
    ///
    /// ```
    /// use redcon::ProtocolError;
    /// assert_eq!(
    ///     ProtocolError::InvalidMultibulkLength.reply(),
    ///     b"-ERR Protocol error: invalid multibulk length\r\n".to_vec()
    /// );
    /// ```
    pub fn reply(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(b"-ERR Protocol error: ");
        match self {
            // Keep the raw byte: Display would turn a byte >= 0x80 into two UTF-8 bytes.
            ProtocolError::ExpectedDollar(b) => {
                out.extend_from_slice(b"expected '$', got '");
                // Redis's addReplyErrorFormat turns CR and LF into spaces.
                out.push(if *b == b'\r' || *b == b'\n' { b' ' } else { *b });
                out.push(b'\'');
            }
            other => out.extend_from_slice(other.to_string().as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// Errors from starting or running a [`Server`](crate::Server), and from loading TLS
/// material.
///
/// ```
/// // A server with nowhere to listen does not start.
/// let r = redcon::Server::new(redcon::handler_fn(|conn, _| conn.write_null())).start();
/// assert!(matches!(r, Err(redcon::Error::NoAddress)));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A socket operation failed (bind, accept, spawn of a connection thread...).
    Io(std::io::Error),
    /// The server was built without an address or listener to serve on.
    NoAddress,
    /// rustls rejected the TLS configuration or a session could not be created.
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    #[cfg(feature = "tls")]
    Tls(rustls::Error),
    /// A PEM file could not be read or held no usable item.
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    #[cfg(feature = "tls")]
    Pem(rustls::pki_types::pem::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::NoAddress => f.write_str("no address or listener to serve on"),
            #[cfg(feature = "tls")]
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            #[cfg(feature = "tls")]
            Error::Pem(e) => write!(f, "PEM error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::NoAddress => None,
            #[cfg(feature = "tls")]
            Error::Tls(e) => Some(e),
            #[cfg(feature = "tls")]
            Error::Pem(e) => Some(e),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}
