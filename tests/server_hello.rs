//! The built-in `HELLO` over a real socket, byte for byte as Redis 7.0 answers (the
//! expected replies were taken from a real redis-server with only the client id
//! changed): `HELLO`, `HELLO 2`, `HELLO 3`, `HELLO 1`, `HELLO abc`, `HELLO 3 SETNAME x`
//! and its errors, and clients that open with `HELLO 3`. The `auth` module: access
//! control (`AUTH`, `HELLO ... AUTH`, ACL users, protected mode) on every command path.

#[path = "server_hello/auth.rs"]
mod auth;
mod common;

use common::{connect, redis_conn, start};
use redcon::{Command, Conn, Protocol};

/// Redis's HELLO reply for protocol `proto` and client id `id`.
fn hello_reply(proto: u8, id: u64) -> Vec<u8> {
    let head: &[u8] = if proto == 3 { b"%7\r\n" } else { b"*14\r\n" };
    let mut out = head.to_vec();
    out.extend_from_slice(
        format!(
            "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
             $5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
             $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
        )
        .as_bytes(),
    );
    out
}

/// `NAME` replies with the client name (or null), `PROTO` with the protocol number,
/// `NULL` with a null, plus the basic commands.
fn handler(conn: &mut Conn<'_>, cmd: Command<'_>) {
    if cmd.is("name") {
        match conn.client_name().map(<[u8]>::to_vec) {
            Some(n) => conn.write_bulk(n),
            None => conn.write_null(),
        }
    } else if cmd.is("proto") {
        let p = match conn.protocol() {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        };
        conn.write_int(p);
    } else if cmd.is("null") {
        conn.write_null();
    } else if cmd.is("client") {
        // redis-rs sends CLIENT SETINFO on connect and ignores the answer.
        conn.write_string("OK");
    } else if !common::basic(conn, &cmd) {
        conn.write_error(redcon::reply::unknown_command(&cmd));
    }
}

#[test]
fn hello_without_argument_keeps_resp2() {
    let server = start(handler);
    let mut c = connect(&server);
    c.send(b"HELLO\r\n");
    c.expect(&hello_reply(2, 1));
    c.send(b"NULL\r\n");
    c.expect(b"$-1\r\n");
    server.shutdown();
}

#[test]
fn hello_3_then_hello_2_switch_protocols() {
    let server = start(handler);
    let mut c = connect(&server);
    c.send(b"HELLO 3\r\nNULL\r\nPROTO\r\n");
    c.expect(&hello_reply(3, 1));
    c.expect(b"_\r\n:3\r\n");
    // HELLO with no argument now stays on RESP3.
    c.send(b"HELLO\r\n");
    c.expect(&hello_reply(3, 1));
    c.send(b"hello 2\r\nNULL\r\n");
    c.expect(&hello_reply(2, 1));
    c.expect(b"$-1\r\n");
    server.shutdown();
}

#[test]
fn unsupported_and_malformed_versions() {
    let server = start(handler);
    let mut c = connect(&server);
    c.send(b"HELLO 1\r\nHELLO 4\r\nHELLO -1\r\nPROTO\r\n");
    c.expect(
        b"-NOPROTO unsupported protocol version\r\n"
            .repeat(3)
            .as_slice(),
    );
    c.expect(b":2\r\n");
    c.send(b"HELLO abc\r\nHELLO 3.0\r\nPROTO\r\n");
    c.expect(
        b"-ERR Protocol version is not an integer or out of range\r\n"
            .repeat(2)
            .as_slice(),
    );
    c.expect(b":2\r\n");
    // A failed HELLO after HELLO 3 leaves RESP3 in place.
    c.send(b"HELLO 3\r\n");
    c.expect(&hello_reply(3, 1));
    c.send(b"HELLO 1\r\nPROTO\r\n");
    c.expect(b"-NOPROTO unsupported protocol version\r\n:3\r\n");
    server.shutdown();
}

#[test]
fn hello_3_setname_sets_the_name() {
    let server = start(handler);
    let mut c = connect(&server);
    c.send(b"NAME\r\nHELLO 3 SETNAME x\r\nNAME\r\n");
    c.expect(b"$-1\r\n");
    c.expect(&hello_reply(3, 1));
    c.expect(b"$1\r\nx\r\n");
    // Option names are case-insensitive; AUTH for the default user is accepted.
    c.send(b"hello 2 auth default secret setname worker-7\r\nNAME\r\n");
    c.expect(&hello_reply(2, 1));
    c.expect(b"$8\r\nworker-7\r\n");
    server.shutdown();
}

#[test]
fn hello_option_errors() {
    let server = start(handler);
    let mut c = connect(&server);
    c.send(b"HELLO 3 SETNAME\r\n");
    c.expect(b"-ERR Syntax error in HELLO option 'SETNAME'\r\n");
    c.send(b"HELLO 3 FOO bar\r\n");
    c.expect(b"-ERR Syntax error in HELLO option 'FOO'\r\n");
    c.send(b"HELLO 3 AUTH someone pass\r\n");
    c.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.send(b"HELLO 3 SETNAME \"a b\"\r\n");
    c.expect(b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    // None of the failed HELLOs changed the protocol or the name.
    c.send(b"PROTO\r\nNAME\r\n");
    c.expect(b":2\r\n$-1\r\n");
    server.shutdown();
}

#[test]
fn redis_rs_opens_with_hello_3() {
    let server = start(handler);
    let mut con = redis_conn(&server, true);
    let proto: i64 = redis::cmd("PROTO").query(&mut con).unwrap();
    assert_eq!(proto, 3);
    let null: redis::Value = redis::cmd("NULL").query(&mut con).unwrap();
    assert_eq!(null, redis::Value::Nil);
    let mut resp2 = redis_conn(&server, false);
    let proto: i64 = redis::cmd("PROTO").query(&mut resp2).unwrap();
    assert_eq!(proto, 2);
    server.shutdown();
}
