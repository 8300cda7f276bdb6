//! Fuzz target: a whole connection through the real connection loop. The fuzz input is
//! what a client sends, written in chunks into one end of a Unix socket pair while
//! `Server::serve_connection` serves the other end on its own thread with a small
//! handler (strings, a map reply, `QUIT`, `HELLO`, and `DETACH` into an echo loop). The
//! client then shuts its write side and reads every reply, with a timeout.
//!
//! Checked: no panic anywhere (a handler panic would abort under libFuzzer, and the
//! handler has none of its own), no hang (the replies end within the timeout and the
//! server thread finishes), memory bounded (the handler's map is capped; libFuzzer's
//! `-rss_limit_mb` watches the rest), every reply well-formed with none cut short, and
//! exactly one reply per command the whole-buffer parser finds — up to and including
//! `QUIT` or a protocol error (answered, then the end). `POST`/`Host:` drop the replies
//! of the read they arrived in, which depends on the chunking, so after one the count
//! is only an upper bound.
//!
//! Input layout: byte 0's low 3 bits give how many chunk-size bytes follow (1 to 8),
//! its high 5 bits the server's initial read buffer size; those bytes give successive
//! write sizes (1 to 256 bytes, cycling); the rest is what the client sends. Keep
//! `-max_len` well below 64 KiB, for the reason given in `parse_command`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redcon::resp::{parse_value, Parsed, Parser, ReadError};
use redcon::{Command, Conn, DetachedConn, Handler, Server};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

/// The longest a connection may take to answer everything.
const HANG: Duration = Duration::from_secs(5);
/// Keys the handler keeps at most, so memory stays bounded whatever is sent.
const MAX_KEYS: usize = 64;

#[derive(Default)]
struct Small {
    map: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

impl Handler for Small {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let name = cmd.name().to_ascii_lowercase();
        match (name.as_slice(), cmd.len()) {
            (b"ping", 1) => conn.write_string("PONG"),
            (b"ping", 2) | (b"echo", 2) => conn.write_bulk(&cmd[1]),
            (b"set", 3) => {
                if map.len() >= MAX_KEYS {
                    map.clear();
                }
                map.insert(cmd[1].to_vec(), cmd[2].to_vec());
                conn.write_string("OK");
            }
            (b"get", 2) => match map.get(&cmd[1]) {
                Some(v) => conn.write_bulk(v),
                None => conn.write_null(),
            },
            (b"del", 2) => conn.write_int(i64::from(map.remove(&cmd[1]).is_some())),
            (b"map", _) => {
                // A map: `%n` after HELLO 3, a flat array before it.
                conn.write_map(cmd.len() - 1);
                for a in cmd.args().skip(1) {
                    conn.write_bulk(a);
                    conn.write_int(a.len() as i64);
                }
            }
            (b"quit", _) => {
                conn.write_string("OK");
                conn.close();
            }
            (b"detach", _) => {
                conn.write_string("OK");
                conn.detach(echo_names);
            }
            _ => conn.write_error(redcon::reply::unknown_command(&cmd)),
        }
    }
}

/// After `DETACH`: every command is answered with its name, a protocol error with its
/// error, until the client's end of stream.
fn echo_names(mut d: DetachedConn) {
    loop {
        match d.read_command() {
            Ok(Some(cmd)) => {
                let name = cmd.name().to_vec();
                d.write_bulk(name);
            }
            Ok(None) => return,
            Err(ReadError::Protocol(e)) => {
                d.write_raw(&e.reply());
                let _ = d.flush();
                return;
            }
            Err(_) => return,
        }
        if d.flush().is_err() {
            return;
        }
    }
}

/// How many replies the connection owes for `data`, from the whole-buffer parser;
/// `exact` is false once a cross-protocol command makes it an upper bound.
fn expected_replies(data: &[u8]) -> (usize, bool) {
    let mut parser = Parser::new();
    let mut rest = data;
    let mut replies = 0;
    let mut detached = false;
    loop {
        match parser.parse(rest) {
            Ok(Parsed::Command { command, consumed }) => {
                rest = rest.get(consumed..).unwrap_or_default();
                if detached {
                    replies += 1;
                    continue;
                }
                if command.is("post") || command.is("host:") {
                    return (replies, false);
                }
                replies += 1;
                if command.is("quit") {
                    return (replies, true);
                }
                detached = command.is("detach");
            }
            Ok(Parsed::Incomplete { .. }) => return (replies, true),
            Err(_) => return (replies + 1, true),
        }
    }
}

/// Reads until end of stream, failing on a hang.
fn read_all(client: &mut UnixStream) -> Vec<u8> {
    let deadline = Instant::now() + HANG;
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the connection did not end within {HANG:?}");
        client.set_read_timeout(Some(left)).expect("read timeout");
        match client.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the connection did not end within {HANG:?}")
            }
            // The server closed with our input unread.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("reading replies: {e}"),
        }
    }
}

fuzz_target!(|input: &[u8]| {
    static IGNORE_SIGPIPE: Once = Once::new();
    // libFuzzer's main is not Rust's, so SIGPIPE still kills the process when a write
    // meets a closed socket (the server closes after QUIT while we still send).
    IGNORE_SIGPIPE.call_once(|| {
        // SAFETY: setting a signal's disposition to "ignore" has no preconditions.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
    });

    let Some((&head, rest)) = input.split_first() else {
        return;
    };
    let n_sizes = (usize::from(head & 7) + 1).min(rest.len());
    let (sizes, data) = rest.split_at(n_sizes);
    let read_buffer = 64 + usize::from(head >> 3) * 64;
    let (expected, exact) = expected_replies(data);

    let (mut client, server_end) = UnixStream::pair().expect("socket pair");
    let server = Server::new(Small::default()).read_buffer_size(read_buffer);
    let serving = thread::spawn(move || server.serve_connection(server_end));
    let mut writer = client.try_clone().expect("clone");
    let data_owned = data.to_vec();
    let sizes_owned = sizes.to_vec();
    let writing = thread::spawn(move || {
        let mut rest = &data_owned[..];
        let mut i = 0;
        while !rest.is_empty() {
            let size = sizes_owned
                .get(i % sizes_owned.len().max(1))
                .map_or(1, |&s| usize::from(s) + 1);
            let (now, later) = rest.split_at(size.min(rest.len()));
            if writer.write_all(now).is_err() {
                break; // the server closed (QUIT, protocol error, HTTP)
            }
            rest = later;
            i += 1;
        }
        let _ = writer.shutdown(Shutdown::Write);
    });

    let replies = read_all(&mut client);
    writing.join().expect("writer thread");
    serving.join().expect("server thread");

    let mut at = 0;
    let mut count = 0;
    while at < replies.len() {
        match parse_value(&replies[at..]) {
            Ok(Some((_, used))) => {
                at += used;
                count += 1;
            }
            Ok(None) => panic!("a reply was cut short: {:?}", &replies[at..]),
            Err(e) => panic!("malformed reply {e:?}: {:?}", &replies[at..]),
        }
    }
    if exact {
        assert_eq!(count, expected, "replies: {:?}", String::from_utf8_lossy(&replies));
    } else {
        assert!(count <= expected, "{count} replies, at most {expected} expected");
    }
});
