//! Sockets, with no protocol knowledge: one [`Socket`] type over TCP and Unix streams,
//! one [`Listener`] over their listeners, and the TLS session shared by a connection's
//! reader and writer.

#[cfg(feature = "tls")]
pub(crate) mod client_cert;
mod listener;
mod socket;
#[cfg(feature = "tls")]
pub(crate) mod tls;
mod transport;

pub use listener::ListenAddr;
pub(crate) use listener::Listener;
pub(crate) use socket::Socket;
pub use socket::{PeerAddr, PeerCredentials};
pub(crate) use transport::{ReadHalf, WriteHalf};
