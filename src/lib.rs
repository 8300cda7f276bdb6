//! redcon (crate docs to be written)
#![warn(missing_docs)]

mod conn;
mod detached;
pub mod mux;
mod error;
mod handler;
pub mod hello;
mod io;
pub mod reply;
pub mod resp;
mod server;

pub use conn::Conn;
pub use detached::{ConnWriter, DetachedConn};
pub use error::{Error, ProtocolError};
pub use handler::{CloseReason, Handler};
#[cfg(feature = "tls")]
pub use io::tls::load_tls_config;
pub use io::{ListenAddr, PeerAddr};
pub use resp::{Command, Protocol};
pub use server::{listen_and_serve, listen_and_serve_unix, AcceptErrorFn, Server, ServerHandle};
#[cfg(feature = "tls")]
pub use server::listen_and_serve_tls;
#[cfg(feature = "tls")]
pub use rustls;
