//! Malformed requests over a real socket, answered as Redis 7 answers them (checked
//! against a real redis-server): replies to the good commands in the same write arrive
//! first, then `-ERR Protocol error: <text>`, then the server closes and `on_close` sees
//! the error. Also the limits that close without a reply (query buffer, HTTP).

mod common;

use common::{connect, start, Basic, Reason};
use redcon::{ProtocolError, Server};
use std::io::Write;

/// Sends `input` in one write; expects `replies`, then the connection closed with the
/// close reason `reason`.
#[track_caller]
fn check(input: &[u8], replies: &[u8], reason: Reason) {
    let h = Basic::default();
    let server = start(h.clone());
    let mut c = connect(&server);
    c.send(input);
    c.expect(replies);
    c.expect_eof();
    assert_eq!(h.closes.wait_for(1), vec![(1, reason)]);
    server.shutdown();
}

#[test]
fn invalid_bulk_length_after_good_commands() {
    check(
        b"*2\r\n$4\r\nECHO\r\n$1\r\na\r\nPING\r\n*1\r\n$-5\r\nPING\r\n",
        b"$1\r\na\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        Reason::Protocol(ProtocolError::InvalidBulkLength),
    );
}

#[test]
fn invalid_bulk_length_forms() {
    for bad in [
        &b"$-1"[..],
        b"$05",
        b"$x",
        b"$1x",
        b"$+1",
        b"$-0",
        b"$536870913",
    ] {
        let mut input = b"*1\r\n".to_vec();
        input.extend_from_slice(bad);
        input.extend_from_slice(b"\r\n");
        check(
            &input,
            b"-ERR Protocol error: invalid bulk length\r\n",
            Reason::Protocol(ProtocolError::InvalidBulkLength),
        );
    }
}

#[test]
fn invalid_multibulk_length() {
    check(
        b"ECHO a\r\n*x\r\n",
        b"$1\r\na\r\n-ERR Protocol error: invalid multibulk length\r\n",
        Reason::Protocol(ProtocolError::InvalidMultibulkLength),
    );
    check(
        b"*2147483648\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
        Reason::Protocol(ProtocolError::InvalidMultibulkLength),
    );
}

#[test]
fn expected_dollar() {
    check(
        b"ECHO a\r\n*1\r\nx\r\n",
        b"$1\r\na\r\n-ERR Protocol error: expected '$', got 'x'\r\n",
        Reason::Protocol(ProtocolError::ExpectedDollar(b'x')),
    );
}

#[test]
fn unbalanced_quotes() {
    check(
        b"PING\r\nECHO \"a\r\n",
        b"+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n",
        Reason::Protocol(ProtocolError::UnbalancedQuotes),
    );
}

#[test]
fn error_in_a_later_read_after_earlier_replies() {
    let h = Basic::default();
    let server = start(h.clone());
    let mut c = connect(&server);
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    // A command split over two writes, the second half malformed.
    c.send(b"*2\r\n$4\r\nECHO\r\n");
    c.send(b"$abc\r\n");
    c.expect(b"-ERR Protocol error: invalid bulk length\r\n");
    c.expect_eof();
    assert_eq!(
        h.closes.wait_for(1),
        vec![(1, Reason::Protocol(ProtocolError::InvalidBulkLength))]
    );
    server.shutdown();
}

#[test]
fn too_big_inline_request() {
    let h = Basic::default();
    let server = Server::new(h.clone())
        .addr("127.0.0.1:0")
        .max_inline_len(1024)
        .start()
        .unwrap();
    let mut c = connect(&server);
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    c.send(&[b'a'; 2000]);
    c.expect(b"-ERR Protocol error: too big inline request\r\n");
    c.expect_eof();
    assert_eq!(
        h.closes.wait_for(1),
        vec![(1, Reason::Protocol(ProtocolError::TooBigInlineRequest))]
    );
    server.shutdown();
}

#[test]
fn empty_requests_are_ignored_not_errors() {
    let server = start(Basic::default());
    let mut c = connect(&server);
    // Blank lines, *0 and *-1 get no reply and keep the connection open, as in Redis.
    c.send(b"\r\n   \r\n*0\r\n*-1\r\n*-5\r\nPING\r\n");
    c.expect(b"+PONG\r\n");
    server.shutdown();
}

#[test]
fn query_buffer_limit_closes_without_reply() {
    let h = Basic::default();
    let server = Server::new(h.clone())
        .addr("127.0.0.1:0")
        .max_query_buffer(64 * 1024)
        .start()
        .unwrap();
    let mut c = connect(&server);
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    // A 1 MB argument announced; 256 KiB of it sent: over the 64 KiB limit.
    let mut req = b"*2\r\n$4\r\nECHO\r\n$1000000\r\n".to_vec();
    req.extend_from_slice(&[b'z'; 256 * 1024]);
    // The server may close while we are still writing.
    let _ = c.stream.write_all(&req);
    c.expect_eof();
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::QueryBufferLimit)]);
    server.shutdown();
}

#[test]
fn http_is_refused_without_reply() {
    // Redis drops the connection at once and sends nothing, not even the replies to
    // commands before it in the same read.
    check(
        b"PING\r\nPOST / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"",
        Reason::CrossProtocol,
    );
    check(b"Host: example.com\r\n", b"", Reason::CrossProtocol);
    check(b"*1\r\n$4\r\npost\r\n", b"", Reason::CrossProtocol);
}
