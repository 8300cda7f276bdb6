//! [`Listener`]: one type over a TCP or Unix listening socket, created with a listen
//! backlog larger than the standard library's fixed 128 (so thousands of clients can
//! connect at once), and woken out of a blocking `accept` by a self-connection.

use super::{PeerAddr, Socket};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket as RawSocket, Type};

/// Where a server listens.
///
/// ```
/// use redcon::{handler_fn, ListenAddr, Server};
/// let server = Server::new(handler_fn(|conn, _| conn.write_null()))
///     .addr("127.0.0.1:0")
///     .start()?;
/// let ListenAddr::Tcp(addr) = server.local_addr() else { unreachable!() };
/// assert_ne!(addr.port(), 0);
/// server.shutdown();
/// # Ok::<(), redcon::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl std::fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenAddr::Tcp(a) => write!(f, "{a}"),
            ListenAddr::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    /// The path is removed again when the listener is dropped, if we created it.
    Unix(UnixListener, PathBuf, bool),
}

impl Listener {
    /// Binds the first address `addr` resolves to, with the given backlog.
    pub(crate) fn bind_tcp(addr: &str, backlog: i32) -> io::Result<Listener> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match Self::bind_tcp_one(a, backlog) {
                Ok(l) => return Ok(Listener::Tcp(l)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
        }))
    }

    fn bind_tcp_one(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
        let s = RawSocket::new(Domain::for_address(addr), Type::STREAM, None)?;
        s.set_reuse_address(true)?;
        s.bind(&addr.into())?;
        s.listen(backlog)?;
        Ok(s.into())
    }

    /// Binds a Unix socket at `path`, replacing a stale socket file left by a previous run.
    pub(crate) fn bind_unix(path: &Path, backlog: i32) -> io::Result<Listener> {
        if path.exists() && UnixStream::connect(path).is_err() {
            // Nobody answers there: a leftover from a process that did not clean up.
            let _ = std::fs::remove_file(path);
        }
        let s = RawSocket::new(Domain::UNIX, Type::STREAM, None)?;
        s.bind(&SockAddr::unix(path)?)?;
        s.listen(backlog)?;
        Ok(Listener::Unix(s.into(), path.to_path_buf(), true))
    }

    pub(crate) fn from_tcp(l: TcpListener) -> Listener {
        Listener::Tcp(l)
    }

    pub(crate) fn from_unix(l: UnixListener) -> io::Result<Listener> {
        let path = l
            .local_addr()?
            .as_pathname()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(Listener::Unix(l, path, false))
    }

    /// The next client, and its address as `accept` reports it (so the connection need
    /// not look it up again).
    pub(crate) fn accept(&self) -> io::Result<(Socket, PeerAddr)> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, a)| (Socket::Tcp(s), PeerAddr::Tcp(a))),
            Listener::Unix(l, _, _) => l.accept().map(|(s, a)| {
                let path = a.as_pathname().map(|p| p.to_path_buf());
                (Socket::Unix(s), PeerAddr::Unix(path))
            }),
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<ListenAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().map(ListenAddr::Tcp),
            Listener::Unix(_, p, _) => Ok(ListenAddr::Unix(p.clone())),
        }
    }

    /// Unblocks a thread sitting in [`accept`](Self::accept) by connecting to ourselves.
    pub(crate) fn wake(addr: &ListenAddr) {
        match addr {
            ListenAddr::Tcp(a) => {
                let mut a = *a;
                if a.ip().is_unspecified() {
                    a.set_ip(match a {
                        SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                        SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
                    });
                }
                let _ = TcpStream::connect_timeout(&a, std::time::Duration::from_secs(1));
            }
            ListenAddr::Unix(p) => {
                let _ = UnixStream::connect(p);
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path, true) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}
