//! How connections end, seen from both sides: `QUIT` (the reply arrives, then end of
//! stream), `Conn::close` in the middle of a pipeline (earlier replies arrive, even with
//! much unread input behind, and later commands are never served), and the
//! `CloseReason` that `on_close` receives for each, including a client that simply goes
//! away.

mod common;

use common::{connect, redis_conn, start, Basic, CloseLog, Reason};
use redcon::{CloseReason, Command, Conn, Handler};
use std::sync::{Arc, Mutex};

#[test]
fn quit_replies_then_closes() {
    let h = Basic::default();
    let server = start(h.clone());
    let mut c = connect(&server);
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    c.send(b"QUIT\r\n");
    c.expect(b"+OK\r\n");
    c.expect_eof();
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::Closed)]);
    server.shutdown();
}

#[test]
fn quit_through_redis_rs() {
    let h = Basic::default();
    let server = start(h.clone());
    let mut con = redis_conn(&server, false);
    let id: u64 = redis::cmd("ID").query(&mut con).unwrap();
    let ok: String = redis::cmd("QUIT").query(&mut con).unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(h.closes.wait_reason(id), Reason::Closed);
    server.shutdown();
}

/// Records every command it serves; `CLOSE` replies `+BYE` and closes.
#[derive(Clone, Default)]
struct Recorder {
    served: Arc<Mutex<Vec<String>>>,
    closes: CloseLog,
}

impl Handler for Recorder {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        let line: Vec<String> = cmd
            .args()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        self.served.lock().unwrap().push(line.join(" "));
        if cmd.is("close") {
            conn.write_string("BYE");
            conn.close();
        } else if cmd.is("big") {
            conn.write_bulk(vec![b'x'; 300_000]);
        } else {
            common::basic(conn, &cmd);
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.closes.push(conn.id(), reason);
    }
}

#[test]
fn close_mid_pipeline_sends_earlier_replies_and_drops_the_rest() {
    let h = Recorder::default();
    let server = start(h.clone());
    let mut c = connect(&server);
    // One write, so all five commands are buffered together.
    c.send(b"ECHO 1\r\nECHO 2\r\nCLOSE\r\nECHO 3\r\nECHO 4\r\n");
    c.expect(b"$1\r\n1\r\n$1\r\n2\r\n+BYE\r\n");
    c.expect_eof();
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::Closed)]);
    assert_eq!(*h.served.lock().unwrap(), ["ECHO 1", "ECHO 2", "CLOSE"]);
    server.shutdown();
}

#[test]
fn close_with_unread_input_behind_still_delivers_the_replies() {
    let h = Recorder::default();
    let server = start(h.clone());
    let mut c = connect(&server);
    // 60 KB of commands after CLOSE: more than the server reads at once, so the socket
    // still holds unread input when it closes. Closing such a socket resets the
    // connection unless the server drops that input first, and a reset would throw
    // away the 300 KB reply still in the server's send buffer.
    let mut req = b"BIG\r\nCLOSE\r\n".to_vec();
    req.extend_from_slice(&b"PING\r\n".repeat(10_000));
    c.send(&req);
    // Read only after the server closed the connection.
    h.closes.wait_for(1);
    let mut expected = common::bulk(&[b'x'; 300_000]);
    expected.extend_from_slice(b"+BYE\r\n");
    c.expect(&expected);
    c.expect_eof();
    assert_eq!(h.served.lock().unwrap().len(), 2);
    server.shutdown();
}

#[test]
fn client_closing_gives_client_closed() {
    let h = Basic::default();
    let server = start(h.clone());
    let mut c = connect(&server);
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    drop(c);
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::ClientClosed)]);
    // Closing with a half-sent command is still the client's doing.
    let mut c = connect(&server);
    c.send(b"*2\r\n$4\r\nECHO\r\n$5\r\nab");
    drop(c);
    assert_eq!(h.closes.wait_reason(2), Reason::ClientClosed);
    // on_close ran once per connection.
    assert_eq!(h.closes.snapshot().len(), 2);
    // One thread per connection, or one thread reused by the second client.
    assert!(matches!(server.shutdown(), 1 | 2));
}

#[test]
fn client_half_close_still_gets_its_replies() {
    let h = Basic::default();
    let server = start(h.clone());
    let mut c = connect(&server);
    // The client sends its last commands and shuts its writing side: everything it sent
    // is answered before the server sees end of stream.
    c.send(b"ECHO last\r\nPING\r\n");
    c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    c.expect(b"$4\r\nlast\r\n+PONG\r\n");
    c.expect_eof();
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::ClientClosed)]);
    server.shutdown();
}
