//! The protocol layer: bytes in, commands and values out, replies back to bytes.
//!
//! Nothing here does I/O on sockets or spawns threads, so proxies, tests and tools can
//! use it on its own:
//!
//! - [`Parser`] turns a byte buffer into [`Command`]s (multibulk and inline), borrowing
//!   the arguments from the buffer.
//! - [`Reader`] manages that buffer over any [`std::io::Read`].
//! - [`Writer`] and the `append_*` functions encode RESP2 and RESP3 replies.
//! - [`Value`] and [`parse_value`] read any RESP2/RESP3 reply.
//!
//! ```
//! use redcon::resp::{parse_value, Parsed, Parser, Writer};
//! // A request in...
//! let mut parser = Parser::new();
//! let Ok(Parsed::Command { command, .. }) = parser.parse(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n") else {
//!     panic!()
//! };
//! // ...a reply out...
//! let mut w = Writer::new();
//! w.write_bulk(&command[1]);
//! assert_eq!(w.as_bytes(), b"$2\r\nhi\r\n");
//! // ...and read back, as a client would.
//! let (reply, _) = parse_value(w.as_bytes()).unwrap().unwrap();
//! assert_eq!(reply.as_bytes(), Some(&b"hi"[..]));
//! ```

mod command;
mod inline;
mod number;
mod parse;
mod reader;
mod to_resp;
mod value;
mod write;

pub use crate::error::ProtocolError;
pub(crate) use command::append_request;
pub use command::{Args, Command, OwnedCommand};
pub use number::parse_int;
pub use parse::{Limits, Parsed, Parser};
pub use reader::{ReadError, Reader};
pub use to_resp::{Bulk, ErrorReply, NullArray, Status, ToResp};
pub use value::{
    parse_value, parse_value_with_depth, OwnedValue, Value, ValueError, DEFAULT_MAX_DEPTH,
};
pub use write::*;
