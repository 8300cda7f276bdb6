//! A connection's two halves: [`ReadHalf`] (what the connection thread, or a detached
//! connection's reader, reads from) and [`WriteHalf`] (cheap to clone, so a second thread
//! can write replies while the first is blocked reading). Plain sockets share one
//! `Arc<Socket>`; TLS connections share the rustls session as well.

use super::Socket;
use std::io::{self, Read};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Instant;

#[cfg(feature = "tls")]
use super::tls::{TlsReader, TlsShared};

/// Most unread input dropped when closing gracefully; a client still sending past this
/// gets a reset, as it would without the draining.
const DISCARD_AT_CLOSE: usize = 16 << 20;

#[derive(Debug)]
pub(crate) enum ReadHalf {
    /// Reads nothing: what is left in a value whose halves moved elsewhere.
    Closed,
    Plain(Arc<Socket>),
    #[cfg(feature = "tls")]
    Tls(Box<TlsReader>),
}

impl Read for ReadHalf {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ReadHalf::Closed => Ok(0),
            ReadHalf::Plain(s) => (&**s).read(buf),
            #[cfg(feature = "tls")]
            ReadHalf::Tls(t) => t.read(buf),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum WriteHalf {
    /// Writes nowhere: what is left in a value whose halves moved elsewhere.
    Closed,
    Plain(Arc<Socket>),
    #[cfg(feature = "tls")]
    Tls(Arc<TlsShared>, Arc<Socket>),
}

impl WriteHalf {
    pub(crate) fn socket(&self) -> Option<&Arc<Socket>> {
        match self {
            WriteHalf::Closed => None,
            WriteHalf::Plain(s) => Some(s),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(_, s) => Some(s),
        }
    }

    /// The certificate chain a TLS client presented.
    #[cfg(feature = "tls")]
    pub(crate) fn peer_certificates(
        &self,
    ) -> Option<Vec<rustls::pki_types::CertificateDer<'static>>> {
        match self {
            WriteHalf::Tls(t, _) => t.peer_certificates(),
            _ => None,
        }
    }

    /// Writes every buffer in order; one `writev` for plain sockets when the kernel takes
    /// it all.
    pub(crate) fn write_all(&self, bufs: &[&[u8]]) -> io::Result<()> {
        match self {
            WriteHalf::Closed => Err(io::ErrorKind::NotConnected.into()),
            WriteHalf::Plain(s) => s.write_all_vectored(bufs),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(t, s) => t.write_all(s, bufs),
        }
    }

    /// Ends the connection from the thread that reads it, once its last replies are
    /// written: a TLS close_notify, then end of stream after the replies already
    /// queued, then the input that has already arrived is dropped (see
    /// [`Socket::discard_input`]) so that closing does not reset the connection and
    /// lose those replies; finally the socket is shut both ways, as by
    /// [`close`](Self::close).
    pub(crate) fn close_after_replies(&self) {
        self.close_gracefully(None);
    }

    /// At server shutdown: as [`close_after_replies`](Self::close_after_replies), but
    /// first waits (until `deadline` at most) for the client to have received every
    /// reply, dropping what it still sends; see [`Socket::wait_until_received`]. A
    /// client that goes on sending would otherwise get the connection reset, and with
    /// it the replies it had not received yet.
    pub(crate) fn close_when_received(&self, deadline: Instant) {
        self.close_gracefully(Some(deadline));
    }

    fn close_gracefully(&self, wait_until: Option<Instant>) {
        #[cfg(feature = "tls")]
        if let WriteHalf::Tls(t, s) = self {
            t.close(s);
        }
        if let Some(s) = self.socket() {
            if let Some(deadline) = wait_until {
                s.wait_until_received(deadline);
            }
            s.shutdown(Shutdown::Write);
            s.discard_input(DISCARD_AT_CLOSE);
            s.shutdown(Shutdown::Both);
        }
    }

    /// Ends the connection: a TLS close_notify first, then shuts the socket both ways so
    /// the peer sees end-of-stream even while another handle to the socket lives on.
    pub(crate) fn close(&self) {
        #[cfg(feature = "tls")]
        if let WriteHalf::Tls(t, s) = self {
            t.close(s);
        }
        if let Some(s) = self.socket() {
            s.shutdown(Shutdown::Both);
        }
    }
}
