//! The API papercuts, each shown gone over real sockets: closures with inferred
//! parameter types, write methods taking arguments read from the connection, handlers
//! behind `Box`, `Arc` and `&'static` (one `Arc` serving TCP and TLS at once), the raw
//! bytes of a command, the connection's local address and a Unix peer's credentials,
//! a bulk reply streamed from a reader, and subscribing a client from the server's side.
//! Several of these would not compile before; the rest would fail.

mod common;

use common::{connect, start, Client, CloseLog, Reason};
use redcon::pubsub::PubSub;
use redcon::{
    handler_fn, CloseReason, Command, Conn, Handler, IntoHandler, ListenAddr, Server, ServerHandle,
};
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

/// Never run: it only has to compile. `|conn, cmd|` without types, straight into the
/// functions that serve.
#[allow(dead_code)]
fn closures_need_no_annotations() -> Result<(), redcon::Error> {
    redcon::listen_and_serve("127.0.0.1:0", handler_fn(|conn, _| conn.write_null()))?;
    redcon::listen_and_serve_unix(
        "/nowhere",
        handler_fn(|conn, cmd| conn.write_bulk(cmd.raw())),
    )?;
    let _ = PubSub::new().handler(handler_fn(|conn, _| conn.write_null()));
    // The annotated closure of before still works, directly.
    redcon::listen_and_serve("127.0.0.1:0", |conn: &mut Conn, _: Command| {
        conn.write_null()
    })
}

#[test]
fn closure_without_annotations_serves() {
    let server = start(handler_fn(|conn, cmd| {
        if cmd.is("ping") {
            conn.write_string("PONG");
        } else {
            conn.write_bulk(cmd.name());
        }
    }));
    let mut c = connect(&server);
    c.send(b"PING\r\nHELLO\r\nfoo\r\n");
    c.expect(b"+PONG\r\n");
    assert!(
        c.reply().starts_with(b"*14\r\n"),
        "built-in HELLO still answers"
    );
    c.expect(b"$3\r\nfoo\r\n");
    server.shutdown();
}

#[test]
fn writes_take_arguments_read_from_the_connection() {
    let server = start(handler_fn(|conn, cmd| {
        if cmd.is("detach") {
            conn.write_u64(conn.id());
            conn.detach(|mut d| {
                while let Ok(Some(_)) = d.read_command() {
                    d.write_u64(d.id());
                    d.write_bool(d.is_tls());
                    if d.flush().is_err() {
                        break;
                    }
                }
            });
        } else {
            conn.write_u64(conn.id());
            conn.write_int(conn.id() as i64 * 10);
            conn.write_bool(conn.is_tls());
            conn.write_array(conn.client_name().map_or(0, <[u8]>::len));
            conn.write_any(&conn.id());
        }
    }));
    let mut c = connect(&server);
    c.send(b"ID\r\n");
    c.expect(b":1\r\n:10\r\n:0\r\n*0\r\n:1\r\n");
    c.send(b"DETACH\r\nANY\r\n");
    c.expect(b":1\r\n:1\r\n:0\r\n");
    server.shutdown();
}

/// A handler that uses every hook, so a pointer that forwarded only `on_command` would
/// be caught: `on_accept` greets, `on_hello` answers itself, `commands` has a table,
/// `on_close` logs.
#[derive(Default)]
struct Hooks {
    closes: CloseLog,
}

impl Handler for Hooks {
    fn on_accept(&self, conn: &mut Conn<'_>) -> bool {
        conn.write_string("hi");
        true
    }

    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if cmd.is("tableless") {
            let has = conn.command_table().is_some();
            conn.write_bool(has);
        } else if !common::basic(conn, &cmd) {
            conn.write_error("ERR unknown");
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.closes.push(conn.id(), reason);
    }

    fn on_hello(&self, conn: &mut Conn<'_>, _: Command<'_>) {
        conn.write_string("my hello");
    }

    fn commands(&self) -> Option<Arc<redcon::commands::CommandTable>> {
        Some(Arc::new(redcon::commands::CommandTable::new()))
    }
}

/// Every hook of `Hooks` answers through whatever pointer `server` was given.
fn check_hooks(server: ServerHandle, closes: &CloseLog) {
    let mut c = connect(&server);
    c.expect(b"+hi\r\n");
    c.send(b"HELLO 3\r\nTABLELESS\r\nQUIT\r\n");
    c.expect(b"+my hello\r\n:1\r\n+OK\r\n");
    c.expect_eof();
    assert_eq!(closes.wait_for(1), vec![(1, Reason::Closed)]);
    server.shutdown();
}

#[test]
fn box_dyn_handler_is_a_handler() {
    let h = Hooks::default();
    let closes = h.closes.clone();
    let boxed: Box<dyn Handler> = Box::new(h);
    check_hooks(start(boxed), &closes);
}

#[test]
fn arc_handler_is_a_handler() {
    let h = Arc::new(Hooks::default());
    check_hooks(start(h.clone()), &h.closes);
}

#[test]
fn static_reference_is_a_handler() {
    let h: &'static Hooks = Box::leak(Box::default());
    check_hooks(start(h), &h.closes);
}

#[test]
fn boxed_closure_is_a_handler() {
    // The Mux's boxed command function: `Box<dyn Fn(&mut Conn, Command) + Send + Sync>`.
    let f: redcon::mux::CommandFn = Box::new(|conn, _| conn.write_string("boxed"));
    let server = start(f);
    let mut c = connect(&server);
    c.send(b"X\r\n");
    c.expect(b"+boxed\r\n");
    server.shutdown();
}

/// Generic code can take anything a server takes.
fn start_twice<M>(h: impl IntoHandler<M>) -> (ServerHandle, ServerHandle) {
    let h = Arc::new(h.into_handler());
    (start(h.clone()), start(h))
}

#[test]
fn into_handler_in_generic_code() {
    let (a, b) = start_twice(|conn: &mut Conn, _: Command| conn.write_u64(conn.id()));
    for server in [a, b] {
        let mut c = connect(&server);
        c.send(b"X\r\n");
        c.expect(b":1\r\n");
        server.shutdown();
    }
}

#[cfg(feature = "tls")]
#[test]
fn one_arc_handler_serves_tcp_and_tls_at_once() {
    use common::tls::{tls_client, CERT, KEY};
    let h = Arc::new(Hooks::default());
    let config = redcon::load_tls_config(CERT, KEY).expect("test certificate loads");
    let tls = Server::new(h.clone())
        .addr("127.0.0.1:0")
        .tls(config)
        .start()
        .unwrap();
    let tcp = start(h.clone());
    let mut t = tls_client(&tls, "localhost");
    let mut c = connect(&tcp);
    t.expect(b"+hi\r\n");
    c.expect(b"+hi\r\n");
    // Both connections are open at once, each served by the same value.
    t.send(b"PING\r\n");
    c.send(b"PING\r\n");
    t.expect(b"+PONG\r\n");
    c.expect(b"+PONG\r\n");
    t.send(b"QUIT\r\n");
    c.send(b"QUIT\r\n");
    t.expect(b"+OK\r\n");
    c.expect(b"+OK\r\n");
    assert_eq!(h.closes.wait_for(2).len(), 2);
    tls.shutdown();
    tcp.shutdown();
}

#[test]
fn raw_is_the_request_as_sent() {
    let server = start(handler_fn(|conn, cmd| conn.write_bulk(cmd.raw())));
    let mut c = connect(&server);
    c.send(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n  get  'a b'\r\n\r\nping\n");
    c.expect(b"$22\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n\r\n");
    c.expect(b"$14\r\n  get  'a b'\r\n\r\n");
    c.expect(b"$5\r\nping\n\r\n");
    server.shutdown();
}

/// Answers `WHERE` with the connection's local address, `WHO` with the peer's
/// credentials as `uid gid pid` (or null).
fn where_and_who(conn: &mut Conn<'_>, cmd: Command<'_>) {
    if cmd.is("where") {
        let addr = conn.local_addr().map(|a| a.to_string());
        conn.write_any(&addr);
    } else {
        let who = conn
            .peer_credentials()
            .map(|c| format!("{} {} {}", c.uid, c.gid, c.pid));
        conn.write_any(&who);
    }
}

fn unix_client(path: &std::path::Path) -> Client<UnixStream> {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    Client::new(s)
}

#[test]
fn local_addr_over_tcp_and_unix() {
    let server = start(where_and_who);
    let mut c = connect(&server);
    c.send(b"WHERE\r\nWHO\r\n");
    let addr = server.local_addr().to_string();
    c.expect(format!("${}\r\n{addr}\r\n$-1\r\n", addr.len()).as_bytes());
    server.shutdown();

    let path = common::socket_path("papercuts-where");
    let server = Server::new(where_and_who).unix(&path).start().unwrap();
    assert_eq!(server.local_addr(), &ListenAddr::Unix(path.clone()));
    let mut c = unix_client(&path);
    c.send(b"WHERE\r\n");
    let p = path.display().to_string();
    c.expect(format!("${}\r\n{p}\r\n", p.len()).as_bytes());
    server.shutdown();
}

#[cfg(target_os = "linux")]
#[test]
fn peer_credentials_over_a_unix_socket_are_this_process() {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to this process's effective uid and gid.
    let me = std::fs::metadata("/proc/self").unwrap();
    let path = common::socket_path("papercuts-who");
    let server = Server::new(where_and_who).unix(&path).start().unwrap();
    let mut c = unix_client(&path);
    c.send(b"WHO\r\n");
    let who = format!("{} {} {}", me.uid(), me.gid(), std::process::id());
    c.expect(format!("${}\r\n{who}\r\n", who.len()).as_bytes());
    server.shutdown();
}

/// `len` bytes of a repeating pattern, produced as read: nothing held in memory.
struct Pattern {
    left: u64,
    at: u8,
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for b in &mut buf[..n] {
            *b = b'a' + self.at % 26;
            self.at = self.at.wrapping_add(1);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

const TEN_MIB: u64 = 10 << 20;

#[derive(Default)]
struct Files {
    closes: CloseLog,
}

impl Handler for Files {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if cmd.is("big") {
            conn.write_string("before");
            let r = conn.write_bulk_from(
                Pattern {
                    left: TEN_MIB,
                    at: 0,
                },
                TEN_MIB,
            );
            assert!(r.is_ok(), "{r:?}");
            conn.write_string("after");
        } else if cmd.is("short") {
            // Promises 1000 bytes, has 500.
            let r = conn.write_bulk_from(Pattern { left: 500, at: 0 }, 1000);
            assert_eq!(r.map_err(|e| e.kind()), Err(io::ErrorKind::UnexpectedEof));
            conn.write_string("never sent");
        } else if !common::basic(conn, &cmd) {
            conn.write_error("ERR unknown");
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.closes.push(conn.id(), reason);
    }
}

#[test]
fn write_bulk_from_streams_ten_mib() {
    let server = start(Files::default());
    let mut c = connect(&server);
    c.send(b"PING\r\nBIG\r\nPING\r\n");
    c.expect(b"+PONG\r\n+before\r\n");
    c.expect(format!("${TEN_MIB}\r\n").as_bytes());
    let body = c.read_n(TEN_MIB as usize);
    let mut expected = Vec::new();
    Pattern {
        left: TEN_MIB,
        at: 0,
    }
    .read_to_end(&mut expected)
    .unwrap();
    assert!(body == expected, "the streamed body differs");
    c.expect(b"\r\n+after\r\n+PONG\r\n");
    server.shutdown();
}

#[test]
fn write_bulk_from_a_short_reader_closes_the_connection() {
    let h = Arc::new(Files::default());
    let server = start(h.clone());
    let mut c = connect(&server);
    c.send(b"PING\r\nSHORT\r\nPING\r\n");
    c.expect(b"+PONG\r\n$1000\r\n");
    // The 500 bytes there were, then the end: nothing that could be taken for the rest
    // of the reply or for another one.
    assert_eq!(c.read_to_eof().len(), 500);
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::Io)]);
    server.shutdown();
}

/// `JOIN <channel>` subscribes the client from the server's side; `PJOIN <pattern>`
/// likewise for a pattern; `JOINED?` tells whether the hub accepted a request.
fn joiner(pubsub: &PubSub) -> impl Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static {
    let hub = pubsub.clone();
    move |conn, cmd| {
        if cmd.is("join") && cmd.len() == 2 {
            conn.write_string("joining");
            hub.subscribe(conn, &cmd[1]);
        } else if cmd.is("pjoin") && cmd.len() == 2 {
            hub.psubscribe(conn, &cmd[1]);
        } else if cmd.is("joined?") {
            let ok = hub.subscribe(conn, "x");
            conn.write_bool(ok);
        } else if !common::basic(conn, &cmd) {
            conn.write_error("ERR unknown");
        }
    }
}

#[test]
fn server_side_subscribe_receives_publish() {
    let pubsub = PubSub::new();
    let server = start(pubsub.handler(joiner(&pubsub)));
    let mut c = connect(&server);
    c.send(b"JOIN news\r\nPING\r\n");
    // The command's own reply, the confirmation as Redis sends it, then a subscribed
    // client's PING answer.
    c.expect(b"+joining\r\n*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    c.expect(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(pubsub.publish("news", "hello"), 1);
    c.expect(b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    c.send(b"UNSUBSCRIBE\r\n");
    c.expect(b"*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n");
    // Left every channel: an ordinary client again, and it can join again.
    c.send(b"JOIN again\r\n");
    c.expect(b"+joining\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nagain\r\n:1\r\n");
    assert_eq!(pubsub.publish("again", "x"), 1);
    c.expect(b"*3\r\n$7\r\nmessage\r\n$5\r\nagain\r\n$1\r\nx\r\n");
    server.shutdown();
}

#[test]
fn server_side_subscribe_while_subscribed_over_resp3() {
    let pubsub = PubSub::new();
    let server = start(pubsub.handler(joiner(&pubsub)));
    let mut c = connect(&server);
    c.send(b"HELLO 3\r\n");
    c.reply();
    c.send(b"SUBSCRIBE a\r\nPJOIN n*\r\n");
    c.expect(b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
    c.expect(b">3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n");
    assert_eq!(pubsub.publish("news", "m"), 1);
    c.expect(b">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$1\r\nm\r\n");
    server.shutdown();
}

#[test]
fn server_side_subscribe_needs_the_hubs_handler() {
    let pubsub = PubSub::new();
    // Served without the hub's handler, and by another hub's: refused, nothing changes.
    let plain = start(joiner(&pubsub));
    let other = PubSub::new();
    let wrong = start(other.handler(joiner(&pubsub)));
    for server in [plain, wrong] {
        let mut c = connect(&server);
        c.send(b"JOINED?\r\nPING\r\n");
        c.expect(b":0\r\n+PONG\r\n");
        server.shutdown();
    }
    assert_eq!(pubsub.numsub("x"), 0);
}
