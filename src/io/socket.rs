//! [`Socket`]: one accepted stream, TCP or Unix, readable and writable through `&Socket`
//! so that a connection's reader, its writer and the server's shutdown path can share
//! one `Arc<Socket>` without duplicating the file descriptor.

use super::ListenAddr;
use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The address of a connection's peer.
///
/// ```no_run
/// use redcon::{handler_fn, PeerAddr};
/// redcon::listen_and_serve("127.0.0.1:6380", handler_fn(|conn, _cmd| {
///     // Only clients on this machine.
///     match conn.peer_addr() {
///         PeerAddr::Tcp(a) if a.ip().is_loopback() => conn.write_string("OK"),
///         PeerAddr::Unix(_) => conn.write_string("OK"),
///         _ => conn.write_error("ERR local clients only"),
///     }
/// }))?;
/// # Ok::<(), redcon::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAddr {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A Unix-socket peer; the path is `None` for the usual unnamed client socket.
    Unix(Option<PathBuf>),
}

impl fmt::Display for PeerAddr {
    /// Formats like Redis's `CLIENT LIST` `addr=` field: `ip:port` for TCP, the socket
    /// path (or `unix`) for Unix peers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Tcp(a) => write!(f, "{a}"),
            PeerAddr::Unix(Some(p)) => write!(f, "{}", p.display()),
            PeerAddr::Unix(None) => f.write_str("unix"),
        }
    }
}

/// Who is at the other end of a Unix socket, as the kernel recorded it when the peer
/// connected (`SO_PEERCRED`): trustworthy, unlike anything the client says. See
/// [`Conn::peer_credentials`](crate::Conn::peer_credentials).
///
/// ```
/// use redcon::PeerCredentials;
/// fn is_root(c: &PeerCredentials) -> bool {
///     c.uid == 0
/// }
/// # let _ = is_root;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerCredentials {
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
    /// The peer's process id.
    pub pid: i32,
}

/// An accepted stream socket.
#[derive(Debug)]
pub(crate) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    pub(crate) fn peer_addr(&self) -> PeerAddr {
        match self {
            Socket::Tcp(s) => s
                .peer_addr()
                .map(PeerAddr::Tcp)
                .unwrap_or(PeerAddr::Tcp(SocketAddr::from(([0, 0, 0, 0], 0)))),
            Socket::Unix(s) => PeerAddr::Unix(
                s.peer_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(|p| p.to_path_buf())),
            ),
        }
    }

    /// This end's address: the TCP address the client connected to, or the path of the
    /// Unix socket (`None` for an unnamed one, as from `socketpair`).
    pub(crate) fn local_addr(&self) -> Option<ListenAddr> {
        match self {
            Socket::Tcp(s) => s.local_addr().ok().map(ListenAddr::Tcp),
            Socket::Unix(s) => s
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| ListenAddr::Unix(p.to_path_buf()))),
        }
    }

    /// The Unix-socket peer's credentials; `None` over TCP and off Linux.
    #[cfg(target_os = "linux")]
    pub(crate) fn peer_credentials(&self) -> Option<PeerCredentials> {
        use std::os::fd::AsRawFd;
        let Socket::Unix(s) = self else { return None };
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: SO_PEERCRED writes at most `len` bytes, the size of the live, writable
        // `ucred` the pointer points to, and stores the size written in `len`; the
        // descriptor is open for the call's length.
        let r = unsafe {
            libc::getsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        (r == 0 && len as usize == std::mem::size_of::<libc::ucred>()).then_some(PeerCredentials {
            uid: cred.uid,
            gid: cred.gid,
            pid: cred.pid,
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn peer_credentials(&self) -> Option<PeerCredentials> {
        None
    }

    /// The socket's descriptor, for `poll(2)`.
    pub(crate) fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) {
        // Errors here mean the socket is already gone, which is what we wanted.
        let _ = match self {
            Socket::Tcp(s) => s.shutdown(how),
            Socket::Unix(s) => s.shutdown(how),
        };
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_read_timeout(t),
            Socket::Unix(s) => s.set_read_timeout(t),
        }
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_write_timeout(t),
            Socket::Unix(s) => s.set_write_timeout(t),
        }
    }

    /// Reads and drops the input that has already arrived, without waiting for more,
    /// up to `max` bytes. The socket is left non-blocking: call this only on the way to
    /// closing it.
    ///
    /// Closing a TCP socket that still holds unread input makes the kernel reset the
    /// connection, and a reset throws away the replies still waiting in the send
    /// buffer: a client that pipelined more than the server read before closing (at
    /// shutdown, say) would lose the answers to the commands that were read.
    pub(crate) fn discard_input(&self, max: usize) {
        if self.set_nonblocking(true).is_err() {
            return;
        }
        // On the heap, not the stack: glibc reuses a finished thread's stack for the
        // next one, and every stack page touched here would stay resident in each idle
        // connection that inherits it.
        let mut scratch = vec![0u8; 8192];
        let mut left = max;
        let mut me = self;
        while left > 0 {
            match me.read(&mut scratch) {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }

    pub(crate) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_nonblocking(on),
            Socket::Unix(s) => s.set_nonblocking(on),
        }
    }

    pub(crate) fn set_nodelay(&self, on: bool) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_nodelay(on),
            Socket::Unix(_) => Ok(()),
        }
    }

    /// Waits until the peer has acknowledged every byte written to this TCP socket, or
    /// until `deadline`, reading and dropping whatever the peer still sends. The socket
    /// is left non-blocking: call this only on the way to closing it.
    ///
    /// Why: replies that were written are not yet received. Closing a TCP socket that
    /// has unread input, or that receives input after it closed — a pipelining client
    /// sends on — makes the kernel reset the connection and discard the replies still
    /// queued for the client. Once the client has acknowledged them, a reset can no
    /// longer take them away. Only Linux tells how much is unacknowledged; elsewhere,
    /// and for Unix sockets (whose writes land in the peer's queue at once), this
    /// returns at once.
    pub(crate) fn wait_until_received(&self, deadline: Instant) {
        if self.set_nonblocking(true).is_err() {
            return;
        }
        let mut dropped = [0u8; 4096];
        let mut me = self;
        loop {
            let more = matches!(me.read(&mut dropped), Ok(n) if n > 0);
            if Instant::now() >= deadline {
                return;
            }
            if more {
                continue;
            }
            if self.unacknowledged().unwrap_or(0) == 0 {
                return;
            }
            // Only while replies are in flight at shutdown: a short, bounded poll.
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Bytes written to a TCP socket that the peer has not acknowledged yet, and never
    /// will be once the connection is closed (the peer reset it: it had gone when the
    /// last replies reached it). The kernel's count stays as it was then, so without
    /// the state check a shutdown would wait its whole grace period for a client that
    /// left.
    #[cfg(target_os = "linux")]
    fn unacknowledged(&self) -> Option<usize> {
        use std::os::fd::AsRawFd;
        let Socket::Tcp(s) = self else { return None };
        let fd = s.as_raw_fd();
        // The first byte of `struct tcp_info` is the connection's state; the kernel
        // copies no more than it is asked for.
        let mut state: u8 = 0;
        let mut len = 1 as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` (1) bytes through the pointer, which
        // points to a live, writable u8, and stores the length written in `len`.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                &mut state as *mut u8 as *mut libc::c_void,
                &mut len,
            )
        };
        // TCP_CLOSE in the kernel's numbering (include/net/tcp_states.h).
        const TCP_CLOSE: u8 = 7;
        if r == 0 && len == 1 && state == TCP_CLOSE {
            return Some(0);
        }
        let mut n: libc::c_int = 0;
        // SAFETY: SIOCOUTQ (TIOCOUTQ's value) stores one c_int through the pointer, which
        // points to a live, writable c_int; the descriptor is open for the call's length.
        let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
        (r == 0).then(|| usize::try_from(n).unwrap_or(0))
    }

    #[cfg(not(target_os = "linux"))]
    fn unacknowledged(&self) -> Option<usize> {
        None
    }

    /// Writes all of `bufs` with as few syscalls as the kernel allows (one `writev`
    /// when the socket buffer has room).
    pub(crate) fn write_all_vectored(&self, bufs: &[&[u8]]) -> io::Result<()> {
        let mut me = self;
        if let [one] = bufs {
            // The common case, one reply buffer per batch: no vectors to build.
            return me.write_all(one);
        }
        let mut bufs: Vec<&[u8]> = bufs.iter().copied().filter(|b| !b.is_empty()).collect();
        while !bufs.is_empty() {
            let slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
            let mut n = match me.write_vectored(&slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            // Drop what was written: IoSlice::advance_slices needs a newer Rust.
            while n > 0 {
                if n >= bufs[0].len() {
                    n -= bufs[0].len();
                    bufs.remove(0);
                } else {
                    bufs[0] = &bufs[0][n..];
                    n = 0;
                }
            }
        }
        Ok(())
    }
}

impl Read for &Socket {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).read(buf),
            Socket::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Write for &Socket {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).write(buf),
            Socket::Unix(s) => (&*s).write(buf),
        }
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).write_vectored(bufs),
            Socket::Unix(s) => (&*s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
