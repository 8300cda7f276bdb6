//! TLS over a [`Socket`] with rustls, built so that one thread can block reading while
//! another writes: the raw socket is read *outside* any lock, and the bytes are fed into
//! the shared rustls session under a short lock; a writer encrypts under that same short
//! lock and then writes the raw socket while holding only a separate write lock, which
//! keeps TLS records in order.

use super::Socket;
use crate::error::Error;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

/// Raw TLS bytes read from the socket per call: one maximum-size TLS record and its
/// header, so a full record usually arrives in one read.
const RAW_CHUNK: usize = 16 * 1024 + 512;

/// Loads a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1) into a
/// rustls [`ServerConfig`] using the `ring` provider and rustls's safe default protocol
/// versions (TLS 1.2 and 1.3), without client authentication.
///
/// # Errors
/// [`Error::Pem`] when a file cannot be read or holds no certificate or key;
/// [`Error::Tls`] when rustls rejects the pair (e.g. the key does not match).
///
/// ```no_run
/// let config = redcon::load_tls_config("cert.pem", "key.pem")?;
/// # Ok::<(), redcon::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub fn load_tls_config(
    cert_chain_pem: impl AsRef<Path>,
    private_key_pem: impl AsRef<Path>,
) -> Result<Arc<ServerConfig>, Error> {
    let certs = CertificateDer::pem_file_iter(cert_chain_pem.as_ref())
        .map_err(Error::Pem)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::Pem)?;
    if certs.is_empty() {
        return Err(Error::Pem(rustls::pki_types::pem::Error::NoItemsFound));
    }
    let key = PrivateKeyDer::from_pem_file(private_key_pem.as_ref()).map_err(Error::Pem)?;
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(Error::Tls)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(Error::Tls)?;
    Ok(Arc::new(config))
}

/// What the reader and the writer of one TLS connection share.
#[derive(Debug)]
pub(crate) struct TlsShared {
    session: Mutex<ServerConnection>,
    /// Held across "encrypt, then write the socket" so records go out in order. The
    /// vector is the reusable ciphertext buffer.
    write: Mutex<Vec<u8>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere never leaves the session half-updated in a way we care about:
    // rustls's own state is consistent between calls. Never propagate poisoning.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TlsShared {
    pub(crate) fn new(config: Arc<ServerConfig>) -> Result<Arc<TlsShared>, rustls::Error> {
        let mut session = ServerConnection::new(config)?;
        // We always drain what we encrypt right away; no need for rustls to refuse writes.
        session.set_buffer_limit(None);
        Ok(Arc::new(TlsShared {
            session: Mutex::new(session),
            write: Mutex::new(Vec::new()),
        }))
    }

    /// Encrypts `plain` (may be empty: then only pending handshake/alert records go out)
    /// and writes the records to the socket.
    pub(crate) fn write_all(&self, socket: &Socket, plain: &[&[u8]]) -> io::Result<()> {
        let mut out = lock(&self.write);
        {
            let mut s = lock(&self.session);
            for p in plain {
                s.writer().write_all(p)?;
            }
            while s.wants_write() {
                s.write_tls(&mut *out)?;
            }
        }
        let res = (&mut &*socket).write_all(&out);
        out.clear();
        if out.capacity() > 64 * 1024 {
            out.shrink_to(RAW_CHUNK);
        }
        res
    }

    /// The certificate chain the client presented, if any.
    pub(crate) fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        let s = lock(&self.session);
        let certs = s.peer_certificates()?;
        Some(certs.iter().map(|c| c.clone().into_owned()).collect())
    }

    /// Queues a close_notify alert and sends it.
    pub(crate) fn close(&self, socket: &Socket) {
        lock(&self.session).send_close_notify();
        let _ = self.write_all(socket, &[]);
    }
}

/// The reading side of a TLS connection.
#[derive(Debug)]
pub(crate) struct TlsReader {
    pub(crate) shared: Arc<TlsShared>,
    pub(crate) socket: Arc<Socket>,
    raw: Vec<u8>,
    raw_start: usize,
    raw_end: usize,
}

impl TlsReader {
    pub(crate) fn new(shared: Arc<TlsShared>, socket: Arc<Socket>) -> TlsReader {
        TlsReader {
            shared,
            socket,
            raw: Vec::new(),
            raw_start: 0,
            raw_end: 0,
        }
    }

    /// Feeds buffered raw bytes to the session, or reads more from the socket when none
    /// are buffered. Returns `Ok(false)` at end of stream.
    fn pump(&mut self) -> io::Result<bool> {
        if self.raw_start == self.raw_end {
            if self.raw.is_empty() {
                self.raw = vec![0; RAW_CHUNK];
            }
            // The blocking read happens with no lock held.
            let n = (&*self.socket).read(&mut self.raw)?;
            if n == 0 {
                return Ok(false);
            }
            self.raw_start = 0;
            self.raw_end = n;
        }
        let wants_write = {
            let mut s = lock(&self.shared.session);
            let mut slice = &self.raw[self.raw_start..self.raw_end];
            let before = slice.len();
            let fed = s.read_tls(&mut slice);
            self.raw_start += before - slice.len();
            fed?;
            if let Err(e) = s.process_new_packets() {
                drop(s);
                // Tell the peer why (rustls queued an alert), then fail.
                let _ = self.shared.write_all(&self.socket, &[]);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            s.wants_write()
        };
        if wants_write {
            self.shared.write_all(&self.socket, &[])?;
        }
        Ok(true)
    }

    /// Drives the handshake to completion within `timeout` in all: each read waits only
    /// for what is left of it, so a client sending a byte at a time cannot stretch the
    /// handshake (and hold its thread) past the timeout. Leaves a read timeout set.
    pub(crate) fn handshake(&mut self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        while lock(&self.shared.session).is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.socket.set_read_timeout(Some(left))?;
            if !self.pump()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }
}

impl Read for TlsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match lock(&self.shared.session).reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if !self.pump()? {
                return Ok(0);
            }
        }
    }
}
