//! Helpers shared by the `server_*` integration tests: starting a server on a free port,
//! a raw client that checks replies byte for byte, a RESP framer independent of the
//! crate's own parser, and a log of `on_close` calls to wait on.
//!
//! Every client socket gets a read timeout, so a test that waits for bytes that never
//! come fails instead of hanging.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

pub mod kv;
#[cfg(feature = "tls")]
pub mod tls;

use redcon::{
    CloseReason, Command, Conn, Handler, IntoHandler, ListenAddr, ProtocolError, Server,
    ServerHandle,
};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for anything before failing.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Starts `handler` (a handler or a closure) on 127.0.0.1 with a free port.
pub fn start<M>(handler: impl IntoHandler<M>) -> ServerHandle {
    Server::new(handler)
        .addr("127.0.0.1:0")
        .start()
        .expect("server starts")
}

/// The TCP address a server listens on.
pub fn tcp_addr(handle: &ServerHandle) -> SocketAddr {
    match handle.local_addr() {
        ListenAddr::Tcp(a) => *a,
        other => panic!("not a TCP server: {other}"),
    }
}

/// A `redis://` URL for the server (RESP2 unless `resp3`).
pub fn redis_url(handle: &ServerHandle, resp3: bool) -> String {
    let a = tcp_addr(handle);
    if resp3 {
        format!("redis://{a}/?protocol=resp3")
    } else {
        format!("redis://{a}/")
    }
}

/// A redis-rs connection to the server, with read and write timeouts.
pub fn redis_conn(handle: &ServerHandle, resp3: bool) -> redis::Connection {
    redis_conn_to(&redis_url(handle, resp3), TIMEOUT)
}

/// A redis-rs connection to `url` (any scheme redis-rs takes), with `timeout` for
/// connecting, reading and writing.
pub fn redis_conn_to(url: &str, timeout: Duration) -> redis::Connection {
    let client = redis::Client::open(url).expect("valid url");
    let conn = client
        .get_connection_with_timeout(timeout)
        .expect("redis-rs connects");
    conn.set_read_timeout(Some(timeout)).expect("timeout");
    conn.set_write_timeout(Some(timeout)).expect("timeout");
    conn
}

/// A raw TCP client to the server.
pub fn connect(handle: &ServerHandle) -> Client<TcpStream> {
    let s = TcpStream::connect(tcp_addr(handle)).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    s.set_write_timeout(Some(TIMEOUT)).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    Client::new(s)
}

/// A socket path in the temp directory, unique to this process and `name`, with no
/// file at it yet.
pub fn socket_path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("redcon-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// Bytes shown with escapes, for assertion messages.
pub fn show(bytes: &[u8]) -> String {
    if bytes.len() > 400 {
        format!("{}... ({} bytes)", bytes[..400].escape_ascii(), bytes.len())
    } else {
        bytes.escape_ascii().to_string()
    }
}

/// A client that speaks raw bytes and checks replies exactly.
pub struct Client<S> {
    pub stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Client<S> {
    pub fn new(stream: S) -> Self {
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes `bytes` in one `write_all`.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
        self.stream.flush().expect("flush");
    }

    /// Reads more bytes into the buffer; `false` at end of stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            // The server closed with unread input (RST) or a TLS peer closed abruptly.
            Err(e) if is_disconnect(&e) => false,
            Err(e) => panic!(
                "read failed ({e}) with {} bytes buffered: {}",
                self.buf.len(),
                show(&self.buf)
            ),
        }
    }

    /// Reads exactly `n` bytes.
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            if !self.fill() {
                panic!(
                    "connection closed after {} of {n} bytes: {}",
                    self.buf.len(),
                    show(&self.buf)
                );
            }
        }
        self.buf.drain(..n).collect()
    }

    /// Reads `expected.len()` bytes and checks they are exactly `expected`.
    #[track_caller]
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_n(expected.len());
        assert!(
            got == expected,
            "reply mismatch\n  expected: {}\n       got: {}",
            show(expected),
            show(&got)
        );
    }

    /// Reads one complete RESP value (an attribute together with the value it
    /// annotates) and returns its raw bytes.
    pub fn reply(&mut self) -> Vec<u8> {
        loop {
            match resp_len(&self.buf) {
                Ok(Some(n)) => return self.buf.drain(..n).collect(),
                Ok(None) => {
                    if !self.fill() {
                        panic!("connection closed inside a reply: {}", show(&self.buf));
                    }
                }
                Err(()) => panic!("not RESP: {}", show(&self.buf)),
            }
        }
    }

    /// Reads until the server closes; returns everything that arrived.
    pub fn read_to_eof(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// Reads until the server closes or exactly `reply` has arrived, whichever comes
    /// first; returns what arrived.
    pub fn read_to_eof_or(&mut self, reply: &[u8]) -> Vec<u8> {
        while self.buf != reply && self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// Checks that the server closes the connection without sending anything more.
    #[track_caller]
    pub fn expect_eof(&mut self) {
        let rest = self.read_to_eof();
        assert!(
            rest.is_empty(),
            "expected end of stream, got {}",
            show(&rest)
        );
    }
}

/// Whether an I/O error means the peer went away.
pub fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// The length of the complete RESP2/RESP3 value at the front of `buf`: `Ok(None)` if it
/// is incomplete, `Err` if it is not RESP. Written independently of the crate's reply
/// parser so the tests do not check the crate with itself.
pub fn resp_len(buf: &[u8]) -> Result<Option<usize>, ()> {
    let Some(nl) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let (&kind, line) = buf[..nl].split_first().ok_or(())?;
    let head = nl + 2;
    let num = || -> Result<i64, ()> {
        std::str::from_utf8(line)
            .map_err(|_| ())?
            .parse()
            .map_err(|_| ())
    };
    // Counts of nested values to follow.
    let children = match kind {
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => return Ok(Some(head)),
        b'$' | b'!' | b'=' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some(head));
            }
            let end = head + n as usize + 2;
            return Ok((buf.len() >= end).then_some(end));
        }
        b'*' | b'~' | b'>' => num()?,
        b'%' => num()?.checked_mul(2).ok_or(())?,
        // An attribute's pairs, then the value it annotates.
        b'|' => num()?.checked_mul(2).ok_or(())? + 1,
        _ => return Err(()),
    };
    let mut at = head;
    for _ in 0..children.max(0) {
        match resp_len(&buf[at..])? {
            Some(n) => at += n,
            None => return Ok(None),
        }
    }
    Ok(Some(at))
}

/// A `CloseReason` reduced to something comparable and cloneable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    ClientClosed,
    Closed,
    Protocol(ProtocolError),
    QueryBufferLimit,
    CrossProtocol,
    Io,
    WriteTimeout,
    Panic(String),
    IdleTimeout,
    ServerShutdown,
    Killed,
}

impl From<&CloseReason> for Reason {
    fn from(r: &CloseReason) -> Self {
        match r {
            CloseReason::ClientClosed => Reason::ClientClosed,
            CloseReason::Closed => Reason::Closed,
            CloseReason::Protocol(e) => Reason::Protocol(*e),
            CloseReason::QueryBufferLimit => Reason::QueryBufferLimit,
            CloseReason::CrossProtocol => Reason::CrossProtocol,
            CloseReason::Io(_) => Reason::Io,
            CloseReason::WriteTimeout => Reason::WriteTimeout,
            CloseReason::Panic(m) => Reason::Panic(m.clone()),
            CloseReason::IdleTimeout => Reason::IdleTimeout,
            CloseReason::ServerShutdown => Reason::ServerShutdown,
            CloseReason::Killed => Reason::Killed,
            other => panic!("unexpected close reason {other:?}"),
        }
    }
}

/// The logged closes: connection id and reason.
type Log = Mutex<Vec<(u64, Reason)>>;

/// Every `on_close` call: the connection id and the reason, in call order.
#[derive(Clone, Default)]
pub struct CloseLog(Arc<(Log, Condvar)>);

impl CloseLog {
    pub fn push(&self, id: u64, reason: &CloseReason) {
        let (m, cv) = &*self.0;
        m.lock().unwrap().push((id, reason.into()));
        cv.notify_all();
    }

    /// What has been logged so far.
    pub fn snapshot(&self) -> Vec<(u64, Reason)> {
        self.0 .0.lock().unwrap().clone()
    }

    /// Waits until at least `n` closes are logged, then returns them all.
    #[track_caller]
    pub fn wait_for(&self, n: usize) -> Vec<(u64, Reason)> {
        let (m, cv) = &*self.0;
        let deadline = Instant::now() + TIMEOUT;
        let mut log = m.lock().unwrap();
        while log.len() < n {
            let now = Instant::now();
            assert!(now < deadline, "waited for {n} closes, got {:?}", *log);
            log = cv.wait_timeout(log, deadline - now).unwrap().0;
        }
        log.clone()
    }

    /// The reason logged for connection `id`, waiting for it.
    #[track_caller]
    pub fn wait_reason(&self, id: u64) -> Reason {
        let (m, cv) = &*self.0;
        let deadline = Instant::now() + TIMEOUT;
        let mut log = m.lock().unwrap();
        loop {
            if let Some((_, r)) = log.iter().find(|(i, _)| *i == id) {
                return r.clone();
            }
            let now = Instant::now();
            assert!(now < deadline, "no close for client {id}: {:?}", *log);
            log = cv.wait_timeout(log, deadline - now).unwrap().0;
        }
    }
}

/// The commands most tests need: `PING`, `ECHO x`, `QUIT`, and `ID` (the connection's
/// id). Returns `false` for anything else, so callers can add their own.
pub fn basic(conn: &mut Conn<'_>, cmd: &Command<'_>) -> bool {
    if cmd.is("ping") {
        conn.write_string("PONG");
    } else if cmd.is("echo") && cmd.len() == 2 {
        conn.write_bulk(&cmd[1]);
    } else if cmd.is("quit") {
        conn.write_string("OK");
        conn.close();
    } else if cmd.is("id") {
        let id = conn.id();
        conn.write_u64(id);
    } else {
        return false;
    }
    true
}

/// A handler serving [`basic`] commands (anything else gets an error) that logs every
/// `on_close`.
#[derive(Clone, Default)]
pub struct Basic {
    pub closes: CloseLog,
}

impl Handler for Basic {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if !basic(conn, &cmd) {
            conn.write_error(redcon::reply::unknown_command(&cmd));
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.closes.push(conn.id(), reason);
    }
}

/// Waits until `f` holds, checking every few milliseconds.
#[track_caller]
pub fn wait_until(what: &str, f: impl FnMut() -> bool) {
    wait_until_within(what, TIMEOUT, f);
}

/// Waits until `f` holds, at most `timeout`, checking every few milliseconds.
#[track_caller]
pub fn wait_until_within(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A RESP multibulk request for `args`.
pub fn request<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The RESP bulk string reply for `data`.
pub fn bulk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}
