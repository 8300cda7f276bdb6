//! Shared by the hostile-client and shutdown tests: a small key-value handler that
//! records every accept and close, raw-socket clients whose reads are all bounded by
//! timeouts, RESP reply reading, and this process's RSS and thread count (the server
//! runs in-process, so its memory is the test's memory).
#![allow(dead_code)] // each test binary uses a different part of this module

use redcon::resp::{parse_value, OwnedValue};
use redcon::{CloseReason, Command, Conn, Handler, Server, ServerHandle};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest any single read in these tests may block.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest reply `BIG n` will build, so a typo cannot exhaust memory.
const BIG_MAX: usize = 64 << 20;

/// What the handler saw, shared with the test.
#[derive(Default)]
pub struct State {
    pub store: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
    pub accepts: AtomicUsize,
    /// `(connection id, close reason)` for every `on_close`, in call order.
    pub closes: Mutex<Vec<(u64, String)>>,
    /// When each `on_close` ran, in the same order.
    pub close_times: Mutex<Vec<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test handler panics on purpose (PANIC); never let that poison the store.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    pub fn store(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Vec<u8>>> {
        lock(&self.store)
    }

    pub fn close_times(&self) -> Vec<Instant> {
        lock(&self.close_times).clone()
    }

    pub fn closes(&self) -> Vec<(u64, String)> {
        lock(&self.closes).clone()
    }

    /// How many closes had a reason whose `Debug` text starts with `prefix`.
    pub fn closes_with(&self, prefix: &str) -> usize {
        lock(&self.closes)
            .iter()
            .filter(|(_, r)| r.starts_with(prefix))
            .count()
    }
}

/// The test handler: `PING`, `ECHO x`, `SET k v`, `GET k`, `INCR k`, `BIG n` (an
/// n-byte bulk reply), `SLEEP ms`, and `PANIC` (writes half a reply, then panics).
pub struct Kv(pub Arc<State>);

fn parse_usize(b: &[u8]) -> Option<usize> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

impl Handler for Kv {
    fn on_accept(&self, _conn: &mut Conn<'_>) -> bool {
        self.0.accepts.fetch_add(1, Ordering::SeqCst);
        true
    }

    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        let name = cmd.name().to_ascii_lowercase();
        match (name.as_slice(), cmd.len()) {
            (b"ping", 1) => conn.write_string("PONG"),
            (b"echo", 2) => conn.write_bulk(&cmd[1]),
            (b"set", 3) => {
                self.0.store().insert(cmd[1].to_vec(), cmd[2].to_vec());
                conn.write_string("OK");
            }
            (b"get", 2) => match self.0.store().get(&cmd[1]) {
                Some(v) => conn.write_bulk(v),
                None => conn.write_null(),
            },
            (b"incr", 2) => {
                let mut store = self.0.store();
                let n = store
                    .get(&cmd[1])
                    .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok())
                    .unwrap_or(0)
                    + 1;
                store.insert(cmd[1].to_vec(), n.to_string().into_bytes());
                conn.write_int(n);
            }
            (b"big", 2) => match parse_usize(&cmd[1]).filter(|&n| n <= BIG_MAX) {
                Some(n) => conn.write_bulk(vec![b'x'; n]),
                None => conn.write_error("ERR bad size"),
            },
            (b"sleep", 2) => {
                let ms = parse_usize(&cmd[1]).unwrap_or(0).min(10_000);
                std::thread::sleep(Duration::from_millis(ms as u64));
                conn.write_string("OK");
            }
            (b"panic", _) => {
                conn.write_string("this half-written reply must never be sent");
                panic!("PANIC command");
            }
            _ => conn.write_error(redcon::reply::unknown_command(&cmd)),
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        lock(&self.0.closes).push((conn.id(), format!("{reason:?}")));
        lock(&self.0.close_times).push(Instant::now());
    }
}

/// Starts a server on a free local port with the test handler and the given options.
pub fn start(configure: impl FnOnce(Server<Kv>) -> Server<Kv>) -> (ServerHandle, Arc<State>) {
    let state = Arc::new(State::default());
    let server = configure(Server::new(Kv(state.clone())).addr("127.0.0.1:0"));
    let handle = server.start().expect("start the server");
    (handle, state)
}

/// The server's TCP address as `host:port`.
pub fn addr(handle: &ServerHandle) -> String {
    handle.local_addr().to_string()
}

/// A TCP connection with bounded reads and writes.
pub fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT))
        .expect("read timeout");
    s.set_write_timeout(Some(READ_TIMEOUT))
        .expect("write timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// A command as a RESP multibulk request.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    redcon::resp::OwnedCommand::new(args).to_resp()
}

/// A raw client that reads whole replies.
pub struct Client {
    pub stream: TcpStream,
    /// Unparsed reply bytes are `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
}

impl Client {
    pub fn connect(addr: &str) -> Client {
        Client::from_stream(connect(addr))
    }

    pub fn from_stream(stream: TcpStream) -> Client {
        Client {
            stream,
            buf: Vec::new(),
            start: 0,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// The next reply; `None` at end of stream (or reset) with nothing buffered.
    ///
    /// # Panics
    /// On a read timeout, malformed reply, or a stream that ends mid-reply.
    pub fn try_reply(&mut self) -> Option<OwnedValue> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let unparsed = &self.buf[self.start..];
            if let Some((v, used)) = parse_value(unparsed).expect("well-formed reply") {
                let v = v.to_owned_value();
                self.start += used;
                return Some(v);
            }
            // Compact only when reading more, so a long pipeline of replies is not
            // shifted once per reply.
            self.buf.drain(..self.start);
            self.start = 0;
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("reading a reply: {e}"),
            }
        }
        assert!(
            self.buf.is_empty(),
            "stream ended inside a reply: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        None
    }

    pub fn reply(&mut self) -> OwnedValue {
        self.try_reply().expect("a reply before end of stream")
    }

    /// Sends one command and returns its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> OwnedValue {
        self.send(&encode(args));
        self.reply()
    }

    /// `PING` round trip time.
    pub fn ping_latency(&mut self) -> Duration {
        let t = Instant::now();
        assert_eq!(
            self.call(&[b"PING"]),
            OwnedValue::SimpleString(b"PONG".to_vec())
        );
        t.elapsed()
    }
}

/// Reads until the peer closes; returns what arrived. A reset counts as closed.
///
/// # Panics
/// If the stream is still open after `within`.
pub fn read_to_close(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "connection still open after {within:?}");
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return out,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                panic!("connection still open after {within:?}")
            }
            Err(e) => panic!("reading until close: {e}"),
        }
    }
}

/// Whether the peer has closed the stream (end of stream or reset) — checked without
/// blocking for long.
pub fn is_closed(stream: &TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(1)))
        .expect("read timeout");
    let mut b = [0u8; 1];
    match stream.peek(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
        ),
    }
}

/// Resets the connection when dropped: SO_LINGER 0 makes `close` send RST.
pub fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    let _ = stream.shutdown(Shutdown::Read);
    drop(stream);
}

/// Polls `f` every 10 ms until it holds or `within` passes; returns whether it held.
pub fn wait_until(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Held by tests that measure process-wide figures (threads, RSS), so the other tests
/// of the same binary do not run beside them.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    lock(&SERIAL)
}

fn status_field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
}

/// This process's resident memory, in KiB.
pub fn rss_kib() -> u64 {
    status_field("VmRSS:")
}

/// This process's thread count.
pub fn threads() -> u64 {
    status_field("Threads:")
}

/// Latency figures for printing: (median, 99th percentile, max).
pub fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    assert!(!samples.is_empty(), "no latency samples");
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), at(1.0))
}
