//! Serving on a Unix socket: raw clients and redis-rs connect by path, the peer address
//! is a Unix one, a stale socket file from an earlier run is replaced, and the socket
//! file is removed when the server stops.

mod common;

use common::{socket_path, Basic, Client, Reason};
use redcon::{Command, Conn, ListenAddr, PeerAddr, Server};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

fn client(path: &Path) -> Client<UnixStream> {
    let s = UnixStream::connect(path).expect("connect");
    s.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    s.set_write_timeout(Some(common::TIMEOUT)).unwrap();
    Client::new(s)
}

fn handler(conn: &mut Conn<'_>, cmd: Command<'_>) {
    if cmd.is("peer") {
        let unix = matches!(conn.peer_addr(), PeerAddr::Unix(_));
        let tls = conn.is_tls();
        conn.write_array(2);
        conn.write_bool(unix);
        conn.write_bool(tls);
    } else if !common::basic(conn, &cmd) {
        conn.write_error("ERR unknown");
    }
}

#[test]
fn serves_on_a_unix_socket() {
    let path = socket_path("serve");
    let h = Basic::default();
    let server = Server::new(h.clone()).unix(&path).start().unwrap();
    assert_eq!(server.local_addr(), &ListenAddr::Unix(path.clone()));
    let mut c = client(&path);
    c.send(b"PING\r\nECHO unix\r\n");
    c.expect(b"+PONG\r\n$4\r\nunix\r\n");
    c.send(b"QUIT\r\n");
    c.expect(b"+OK\r\n");
    c.expect_eof();
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::Closed)]);
    server.shutdown();
    assert!(!path.exists(), "socket file removed at shutdown");
}

#[test]
fn peer_address_is_unix() {
    let path = socket_path("peer");
    let server = Server::new(handler).unix(&path).start().unwrap();
    let mut c = client(&path);
    c.send(b"PEER\r\n");
    c.expect(b"*2\r\n:1\r\n:0\r\n");
    server.shutdown();
}

#[test]
fn redis_rs_over_a_unix_socket() {
    let path = socket_path("redis-rs");
    let server = Server::new(handler).unix(&path).start().unwrap();
    for resp3 in ["", "?protocol=resp3"] {
        let url = format!("redis+unix://{}{resp3}", path.display());
        let client = redis::Client::open(url).unwrap();
        let mut con = client.get_connection_with_timeout(common::TIMEOUT).unwrap();
        con.set_read_timeout(Some(common::TIMEOUT)).unwrap();
        let echo: String = redis::cmd("ECHO").arg("over unix").query(&mut con).unwrap();
        assert_eq!(echo, "over unix");
    }
    server.shutdown();
}

#[test]
fn stale_socket_file_is_replaced() {
    let path = socket_path("stale");
    // A socket file nobody listens on any more, as a crashed process leaves behind.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = Server::new(handler).unix(&path).start().unwrap();
    let mut c = client(&path);
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    server.shutdown();
}

#[test]
fn serves_on_a_listener_bound_by_the_caller() {
    let path = socket_path("own-listener");
    let listener = UnixListener::bind(&path).unwrap();
    let server = Server::new(handler)
        .unix_listener(listener)
        .start()
        .unwrap();
    let mut c = client(&path);
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    server.shutdown();
    // A listener we bound ourselves: its file is ours to remove.
    assert!(path.exists());
    std::fs::remove_file(&path).unwrap();
}
