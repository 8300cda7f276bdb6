//! Helpers for the pub/sub tests: a small command table to wrap, servers on free ports,
//! a raw client that checks bytes exactly, and the RESP frames Redis 7 sends.

// Each test module uses its own subset.
#![allow(dead_code)]

use redcon::mux::{Arity, Mux};
use redcon::pubsub::{PubSub, PubSubHandler};
use redcon::{Handler, Server, ServerHandle};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

/// How long a test waits for anything before failing.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A few Redis commands, enough for clients to connect and for subscribed-mode checks.
pub fn table() -> Mux {
    let mut mux = Mux::new();
    mux.handle("ping", Arity::AtLeast(1), |conn, cmd| match cmd.len() {
        1 => conn.write_string("PONG"),
        2 => conn.write_bulk(&cmd[1]),
        _ => conn.write_error(redcon::reply::wrong_arity("ping")),
    });
    mux.handle("echo", Arity::Exactly(2), |conn, cmd| {
        conn.write_bulk(&cmd[1])
    });
    mux.handle("get", Arity::Exactly(2), |conn, _| conn.write_null());
    mux.handle("set", Arity::AtLeast(3), |conn, _| conn.write_string("OK"));
    mux.handle("quit", Arity::AtLeast(1), |conn, _| {
        conn.write_string("OK");
        conn.close();
    });
    mux.handle_subcommand("client", "id", Arity::Exactly(2), |conn, _| {
        let id = conn.id();
        conn.write_u64(id);
    });
    mux.handle_subcommand("client", "setname", Arity::Exactly(3), |conn, cmd| {
        let name = cmd[2].to_vec();
        conn.set_client_name(Some(&name));
        conn.write_string("OK")
    });
    mux.handle_subcommand("client", "getname", Arity::Exactly(2), |conn, _| match conn
        .client_name()
        .map(<[u8]>::to_vec)
    {
        Some(n) => conn.write_bulk(n),
        None => conn.write_null(),
    });
    mux.handle_subcommand("client", "setinfo", Arity::Exactly(4), |conn, _| {
        conn.write_string("OK")
    });
    mux
}

/// The table as a handler of its own, so it can be shared with the command check.
pub struct Table(pub Arc<Mux>);

impl Handler for Table {
    fn on_command(&self, conn: &mut redcon::Conn<'_>, cmd: redcon::Command<'_>) {
        self.0.on_command(conn, cmd)
    }

    fn on_hello(&self, conn: &mut redcon::Conn<'_>, cmd: redcon::Command<'_>) {
        self.0.on_hello(conn, cmd)
    }
}

/// `table()` served with pub/sub from `pubsub`, with Redis's error precedence.
pub fn handler(pubsub: &PubSub) -> PubSubHandler<Table> {
    let mux = Arc::new(table());
    let check = mux.clone();
    pubsub
        .handler(Table(mux))
        .command_check(move |cmd| check.check(cmd).map(|n| n.into_owned()))
}

/// Serves `handler(pubsub)` on 127.0.0.1 with a free port.
pub fn start(pubsub: &PubSub) -> ServerHandle {
    Server::new(handler(pubsub))
        .addr("127.0.0.1:0")
        .start()
        .expect("server starts")
}

pub use crate::server_common::{redis_url as url, show};

/// A redis-rs connection to `url` with [`TIMEOUT`].
pub fn redis_conn(url: &str) -> redis::Connection {
    crate::server_common::redis_conn_to(url, TIMEOUT)
}

/// `PUBLISH channel message` through redis-rs.
pub fn publish(conn: &mut redis::Connection, channel: &str, message: &str) -> i64 {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(message)
        .query(conn)
        .expect("PUBLISH answers")
}

/// Waits (polling) until `f` holds.
///
/// # Panics
/// If it does not within [`TIMEOUT`].
#[track_caller]
pub fn wait_until(what: &str, f: impl Fn() -> bool) {
    crate::server_common::wait_until_within(what, TIMEOUT, f);
}

/// A raw client over any stream: sends bytes, checks the exact bytes that come back.
pub struct Raw<S> {
    pub stream: S,
}

/// A raw TCP client with timeouts.
pub fn tcp(handle: &ServerHandle) -> Raw<TcpStream> {
    let s = TcpStream::connect(handle.local_addr().to_string()).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    s.set_write_timeout(Some(TIMEOUT)).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    Raw { stream: s }
}

impl<S: Read + Write> Raw<S> {
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
        self.stream.flush().expect("flush");
    }

    /// Reads exactly `expected.len()` bytes and checks they are `expected`, comparing
    /// as they arrive so a long stream fails at its first wrong byte.
    pub fn expect(&mut self, expected: &[u8]) {
        let mut buf = vec![0u8; 64 * 1024];
        let mut at = 0;
        while at < expected.len() {
            let want = (expected.len() - at).min(buf.len());
            let n = match self.stream.read(&mut buf[..want]) {
                Ok(0) => panic!("end of stream after {at} of {} bytes", expected.len()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("read failed after {at} of {} bytes: {e}", expected.len()),
            };
            if buf[..n] != expected[at..at + n] {
                panic!(
                    "at byte {at}: got {:?}, expected {:?}",
                    show(&buf[..n]),
                    show(&expected[at..(at + n + 40).min(expected.len())])
                );
            }
            at += n;
        }
    }

    /// Reads exactly `buf.len()` bytes.
    pub fn read_exact(&mut self, buf: &mut [u8]) {
        self.stream.read_exact(buf).expect("read");
    }

    /// Reads until what arrived ends with `suffix` (e.g. the end of a `HELLO` reply).
    pub fn skip_past(&mut self, suffix: &[u8]) {
        let mut seen = Vec::new();
        let mut one = [0u8; 1];
        while !seen.ends_with(suffix) {
            self.read_exact(&mut one);
            seen.push(one[0]);
        }
    }

    /// Checks that the next frames are `frames` in some order.
    pub fn expect_any_order(&mut self, frames: &[Vec<u8>; 2]) {
        let mut got = vec![0u8; frames[0].len() + frames[1].len()];
        self.read_exact(&mut got);
        let ab = [&frames[0][..], &frames[1][..]].concat();
        let ba = [&frames[1][..], &frames[0][..]].concat();
        assert!(got == ab || got == ba, "unexpected {}", show(&got));
    }

    /// Sends `request` and checks the reply.
    pub fn roundtrip(&mut self, request: &[u8], expected: &[u8]) {
        self.send(request);
        self.expect(expected);
    }

    /// Reads until the server closes; returns what arrived (a reset counts as closed).
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return all,
                Ok(n) => all.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!("the server did not close the connection: {e}")
                }
                Err(_) => return all,
            }
        }
    }
}

fn bulk(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// A `message` frame: `*3` in RESP2, `>3` in RESP3.
pub fn message(resp3: bool, channel: &str, payload: &str) -> Vec<u8> {
    let mut out = if resp3 { b">3\r\n" } else { b"*3\r\n" }.to_vec();
    bulk(&mut out, b"message");
    bulk(&mut out, channel.as_bytes());
    bulk(&mut out, payload.as_bytes());
    out
}

/// A `pmessage` frame.
pub fn pmessage(resp3: bool, pattern: &str, channel: &str, payload: &str) -> Vec<u8> {
    let mut out = if resp3 { b">4\r\n" } else { b"*4\r\n" }.to_vec();
    bulk(&mut out, b"pmessage");
    bulk(&mut out, pattern.as_bytes());
    bulk(&mut out, channel.as_bytes());
    bulk(&mut out, payload.as_bytes());
    out
}

/// A (un)subscribe confirmation; `name` `None` is the null name.
pub fn confirm(resp3: bool, kind: &str, name: Option<&str>, count: i64) -> Vec<u8> {
    let mut out = if resp3 { b">3\r\n" } else { b"*3\r\n" }.to_vec();
    bulk(&mut out, kind.as_bytes());
    match (name, resp3) {
        (Some(n), _) => bulk(&mut out, n.as_bytes()),
        (None, true) => out.extend_from_slice(b"_\r\n"),
        (None, false) => out.extend_from_slice(b"$-1\r\n"),
    }
    out.extend_from_slice(format!(":{count}\r\n").as_bytes());
    out
}

/// Redis 7's refusal of a command in RESP2 subscribed mode.
pub fn cant_execute(name: &str) -> Vec<u8> {
    format!(
        "-ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
         RESET are allowed in this context\r\n"
    )
    .into_bytes()
}
