//! Binary safety and large values over a real socket: every byte value (CR and LF
//! included) in arguments and replies, and 1 MiB bulks in both directions — a reply
//! written with `Conn::write_bulk` (which sends large values straight from the caller's
//! slice) arrives intact and in order with the replies around it.

mod common;

use common::{bulk, connect, redis_conn, request, start};
use redcon::{Command, Conn};
use std::collections::HashMap;
use std::sync::Mutex;

const MIB: usize = 1024 * 1024;

/// Deterministic bytes that are not a repeating short pattern.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// `SET`/`GET` on a shared map, `BIG n` writes `pattern(n)` with `Conn::write_bulk`,
/// `LEN x` replies with the length of its argument, plus the basic commands.
fn handler() -> impl Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static {
    let map = Mutex::new(HashMap::<Vec<u8>, Vec<u8>>::new());
    move |conn: &mut Conn<'_>, cmd: Command<'_>| {
        if cmd.is("set") && cmd.len() == 3 {
            map.lock().unwrap().insert(cmd[1].to_vec(), cmd[2].to_vec());
            conn.write_string("OK");
        } else if cmd.is("get") && cmd.len() == 2 {
            match map.lock().unwrap().get(&cmd[1]) {
                Some(v) => conn.write_bulk(v),
                None => conn.write_null(),
            }
        } else if cmd.is("big") && cmd.len() == 2 {
            let n: usize = std::str::from_utf8(&cmd[1]).unwrap().parse().unwrap();
            conn.write_bulk(pattern(n));
        } else if cmd.is("len") && cmd.len() == 2 {
            conn.write_int(cmd[1].len() as i64);
        } else if !common::basic(conn, &cmd) {
            conn.write_error("ERR unknown");
        }
    }
}

fn all_bytes() -> Vec<u8> {
    (0..=255u8).collect()
}

#[test]
fn every_byte_value_round_trips_raw() {
    let server = start(handler());
    let mut c = connect(&server);
    let value = all_bytes();
    // A key with CR/LF and NUL inside too.
    let key = b"k\r\n\0\r\n";
    c.send(&request(&[&b"SET"[..], key, &value]));
    c.expect(b"+OK\r\n");
    c.send(&request(&[&b"GET"[..], key]));
    c.expect(&bulk(&value));
    c.send(&request(&[&b"ECHO"[..], b"\r\n"]));
    c.expect(b"$2\r\n\r\n\r\n");
    // A bulk made only of line ends, then a normal command: framing is by length.
    c.send(&request(&[&b"ECHO"[..], b"\r\n\r\n*1\r\n$4\r\nPING\r\n"]));
    c.expect(&bulk(b"\r\n\r\n*1\r\n$4\r\nPING\r\n"));
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    server.shutdown();
}

#[test]
fn every_byte_value_round_trips_through_redis_rs() {
    let server = start(handler());
    let mut con = redis_conn(&server, false);
    let value = all_bytes();
    let mut reversed = value.clone();
    reversed.reverse();
    redis::cmd("SET")
        .arg(&reversed[..])
        .arg(&value[..])
        .exec(&mut con)
        .unwrap();
    let got: Vec<u8> = redis::cmd("GET")
        .arg(&reversed[..])
        .query(&mut con)
        .unwrap();
    assert_eq!(got, value);
    server.shutdown();
}

#[test]
fn one_mib_reply_written_directly_arrives_intact_and_in_order() {
    let server = start(handler());
    let mut c = connect(&server);
    // Small replies before and after the large one share its batch.
    c.send(format!("ECHO a\r\nBIG {MIB}\r\nECHO b\r\nBIG 10\r\n").as_bytes());
    c.expect(b"$1\r\na\r\n");
    c.expect(format!("${MIB}\r\n").as_bytes());
    let data = c.read_n(MIB);
    assert!(data == pattern(MIB), "1 MiB reply corrupted");
    c.expect(b"\r\n$1\r\nb\r\n");
    c.expect(&bulk(&pattern(10)));
    // Several large replies in one pipeline.
    c.send(format!("BIG {MIB}\r\nBIG 70000\r\nPING\r\n").as_bytes());
    c.expect(&bulk(&pattern(MIB)));
    c.expect(&bulk(&pattern(70_000)));
    c.expect(b"+PONG\r\n");
    server.shutdown();
}

#[test]
fn one_mib_reply_after_hello_3_and_through_redis_rs() {
    let server = start(handler());
    let mut con = redis_conn(&server, true);
    let got: Vec<u8> = redis::cmd("BIG").arg(MIB).query(&mut con).unwrap();
    assert!(got == pattern(MIB));
    server.shutdown();
}

#[test]
fn one_mib_argument_arrives_intact() {
    let server = start(handler());
    let mut c = connect(&server);
    let value = pattern(MIB);
    c.send(&request(&[&b"SET"[..], b"big", &value]));
    c.expect(b"+OK\r\n");
    c.send(&request(&[&b"LEN"[..], &value]));
    c.expect(format!(":{MIB}\r\n").as_bytes());
    c.send(b"GET big\r\n");
    c.expect(&bulk(&value));
    server.shutdown();
}
