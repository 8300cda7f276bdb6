//! Blocking inside a handler without hanging the server: [`Waker`], [`Wait`] and
//! [`Cancel`], behind [`Conn::waker`](crate::Conn::waker) and
//! [`Conn::wait`](crate::Conn::wait).
//!
//! A thread per client means a handler may simply block (a `BLPOP`, a long poll), but a
//! plain condition variable cannot see the client leave, a `CLIENT KILL`, or the
//! server shutting down, so a blocked handler would hold its thread (and `shutdown`)
//! forever. Here a waiting connection sleeps in one `poll(2)` on two descriptors: its
//! own socket, and a socket pair that a [`Waker`] writes one byte to. Every way a
//! connection is ended from outside already shuts its socket down (kill shuts it both
//! ways, shutdown for reading), and a client that leaves closes it, so each of them
//! wakes the `poll` with no timer and no polling loop; the reason recorded before the
//! socket was shut says which it was.

use crate::clients::{ClientCtl, Ending};
use crate::io::Socket;
use crate::stats::Counters;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wakes one waiting connection from any thread: hand a clone to whatever will make
/// the awaited condition true (a push onto a list, a message), and call
/// [`wake`](Self::wake) then. A wake that comes before the wait is kept, so none is
/// lost between checking the condition and starting to wait.
///
/// ```
/// use redcon::{Command, Conn, Server, Wait};
/// use std::io::{Read, Write};
/// use std::time::Duration;
///
/// let server = Server::new(|conn: &mut Conn, _cmd: Command| {
///     let waker = conn.waker().expect("socket pair");
///     std::thread::spawn(move || waker.wake()); // the event, on another thread
///     match conn.wait(Some(Duration::from_secs(10))) {
///         Wait::Woken => conn.write_string("woken"),
///         Wait::TimedOut => conn.write_null(),
///         Wait::Cancelled(_) => {} // the client is gone: nothing to answer
///     }
/// })
/// .addr("127.0.0.1:0")
/// .start()?;
/// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
/// c.write_all(b"WAIT\r\n")?;
/// let mut reply = [0u8; 8];
/// c.read_exact(&mut reply)?;
/// assert_eq!(&reply, b"+woken\r\n");
/// server.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Waker {
    tx: Arc<UnixStream>,
}

impl Waker {
    /// Wakes the connection if it is waiting, or makes its next wait return at once.
    /// Never blocks; cheap enough to call on every event.
    ///
    /// ```
    /// # use redcon::{handler_fn, Server, Wait};
    /// # use std::io::{Read, Write};
    /// # use std::time::Duration;
    /// # let server = Server::new(handler_fn(|conn, _| {
    /// let waker = conn.waker().expect("socket pair");
    /// waker.wake();
    /// waker.wake(); // wakes once: the two are one pending wake
    /// assert_eq!(conn.wait(Some(Duration::ZERO)), Wait::Woken);
    /// assert_eq!(conn.wait(Some(Duration::ZERO)), Wait::TimedOut);
    /// # conn.write_string("OK");
    /// # })).addr("127.0.0.1:0").start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"X\r\n")?;
    /// # let mut r = [0u8; 5];
    /// # c.read_exact(&mut r)?;
    /// # assert_eq!(&r, b"+OK\r\n");
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wake(&self) {
        // Non-blocking: a full buffer already holds a pending wake.
        let _ = (&*self.tx).write(&[1]);
    }
}

/// How [`Conn::wait`](crate::Conn::wait) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A [`Waker`] of this connection was woken (now or before the wait began). Check
    /// the condition again: a wake can be left over from an earlier wait.
    Woken,
    /// The timeout passed.
    TimedOut,
    /// The connection is ending: return from the handler without waiting any more.
    /// Anything written to it may never arrive.
    Cancelled(Cancel),
}

/// Why a wait was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cancel {
    /// The client closed the connection (or its sending half).
    ClientClosed,
    /// The connection was ended with [`Clients::kill`](crate::Clients::kill).
    Killed,
    /// The server is shutting down.
    ServerShutdown,
}

/// A connection's receiving end of its wakers, made on the first
/// [`Conn::waker`](crate::Conn::waker).
#[derive(Debug)]
pub(crate) struct WaitPoint {
    rx: UnixStream,
    waker: Waker,
}

impl WaitPoint {
    pub(crate) fn new() -> io::Result<WaitPoint> {
        let (rx, tx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        Ok(WaitPoint {
            rx,
            waker: Waker { tx: Arc::new(tx) },
        })
    }

    pub(crate) fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Takes every pending wake; whether there was one.
    fn drain(&self) -> bool {
        let mut buf = [0u8; 64];
        let mut woken = false;
        while let Ok(n @ 1..) = (&self.rx).read(&mut buf) {
            woken = true;
            if n < buf.len() {
                break;
            }
        }
        woken
    }
}

/// The cancellation matching why the connection is ending; a socket that reports a
/// hang-up with no reason recorded means the client left.
fn cancel_reason(ctl: Option<&ClientCtl>) -> Cancel {
    match ctl.and_then(ClientCtl::ending) {
        Some(Ending::Killed) => Cancel::Killed,
        Some(Ending::Shutdown) => Cancel::ServerShutdown,
        None => Cancel::ClientClosed,
    }
}

/// The events that mean the peer is gone or the socket was shut down. Hang-ups and
/// errors are always reported; Linux also reports a peer that shut its sending half
/// (and a local `shutdown(SHUT_RD)`) as `POLLRDHUP`, without reporting ordinary input,
/// which a client may pipeline while it waits.
#[cfg(any(target_os = "linux", target_os = "android"))]
const GONE: libc::c_short = libc::POLLRDHUP;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const GONE: libc::c_short = 0;

/// Waits for a wake on `point` (if there is one), for the socket to report the
/// connection ending, or for `timeout` (`None`: no limit).
pub(crate) fn wait(
    point: Option<&WaitPoint>,
    socket: Option<&Socket>,
    ctl: Option<&ClientCtl>,
    counters: Option<&Counters>,
    timeout: Option<Duration>,
) -> Wait {
    // Counted as blocked (INFO's blocked_clients) while it waits.
    if let Some(c) = counters {
        c.blocked.fetch_add(1, Ordering::Relaxed);
    }
    let how = wait_on(point, socket, ctl, timeout);
    if let Some(c) = counters {
        c.blocked.fetch_sub(1, Ordering::Relaxed);
    }
    how
}

fn wait_on(
    point: Option<&WaitPoint>,
    socket: Option<&Socket>,
    ctl: Option<&ClientCtl>,
    timeout: Option<Duration>,
) -> Wait {
    if ctl.and_then(ClientCtl::ending).is_some() {
        return Wait::Cancelled(cancel_reason(ctl));
    }
    // The connection was handed on or closed: nothing could ever end the wait.
    let Some(socket) = socket else {
        return Wait::Cancelled(Cancel::ClientClosed);
    };
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    let mut fds = [
        libc::pollfd {
            fd: socket.as_raw_fd(),
            events: GONE,
            revents: 0,
        },
        libc::pollfd {
            fd: point.map_or(-1, |p| p.rx.as_raw_fd()),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        let ms: libc::c_int = match deadline {
            None | Some(None) => -1,
            Some(Some(at)) => {
                let left = at.saturating_duration_since(Instant::now());
                // Rounded up, so a wait never returns early and spins.
                let ms = left.as_nanos().div_ceil(1_000_000);
                ms.min(libc::c_int::MAX as u128) as libc::c_int
            }
        };
        // SAFETY: `fds` is a live, writable array of two `pollfd`s, its length passed
        // as the count; a negative descriptor is ignored by poll(2).
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // Cannot wait (out of memory in the kernel): treat as a timeout rather
            // than spin.
            return Wait::TimedOut;
        }
        // An ending connection wins over a wake: its reply would go nowhere.
        if fds[0].revents != 0 {
            return Wait::Cancelled(cancel_reason(ctl));
        }
        if fds[1].revents != 0 && point.is_some_and(WaitPoint::drain) {
            return Wait::Woken;
        }
        if n == 0 && ms >= 0 && matches!(deadline, Some(Some(at)) if Instant::now() >= at) {
            return Wait::TimedOut;
        }
        if ms == 0 {
            return Wait::TimedOut;
        }
    }
}
