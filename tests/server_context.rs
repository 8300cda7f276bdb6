//! Typed per-connection state (`Conn::set_context` and friends) over real connections:
//! each connection has its own, a lookup with the wrong type finds nothing, `on_close`
//! still sees it, and it follows the connection when it is detached.

mod common;

use common::{connect, start};
use redcon::{CloseReason, Command, Conn, Handler};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// A per-connection counter.
#[derive(Debug, PartialEq)]
struct Counter(i64);

/// Each closed connection's id and the counter it had then.
type AtClose = Arc<Mutex<Vec<(u64, Option<i64>)>>>;

#[derive(Clone)]
struct Ctx {
    /// The counter each connection had when it closed.
    at_close: AtClose,
    /// The counter a detached connection still sees.
    detached: Arc<Mutex<mpsc::Sender<Option<i64>>>>,
}

impl Handler for Ctx {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if cmd.is("incr") {
            if conn.context::<Counter>().is_none() {
                conn.set_context(Counter(0));
            }
            let c = conn.context_mut::<Counter>().unwrap();
            c.0 += 1;
            let n = c.0;
            conn.write_int(n);
        } else if cmd.is("get") {
            match conn.context::<Counter>() {
                Some(c) => {
                    let n = c.0;
                    conn.write_int(n);
                }
                None => conn.write_null(),
            }
        } else if cmd.is("getstring") {
            // The context holds a Counter, not a String.
            match conn.context::<String>() {
                Some(s) => {
                    let s = s.clone();
                    conn.write_bulk(s);
                }
                None => conn.write_null(),
            }
        } else if cmd.is("take") {
            // Taking with the wrong type leaves the context in place.
            assert!(conn.take_context::<String>().is_none());
            match conn.take_context::<Counter>() {
                Some(c) => conn.write_int(c.0),
                None => conn.write_null(),
            }
        } else if cmd.is("setname") {
            conn.set_context(String::from_utf8_lossy(&cmd[1]).into_owned());
            conn.write_string("OK");
        } else if cmd.is("detach") {
            conn.write_string("OK");
            let tx = self.detached.lock().unwrap().clone();
            conn.detach(move |d| {
                tx.send(d.context::<Counter>().map(|c| c.0)).unwrap();
            });
        } else {
            common::basic(conn, &cmd);
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, _reason: &CloseReason) {
        let n = conn.context::<Counter>().map(|c| c.0);
        self.at_close.lock().unwrap().push((conn.id(), n));
    }
}

fn ctx() -> (Ctx, mpsc::Receiver<Option<i64>>) {
    let (tx, rx) = mpsc::channel();
    (
        Ctx {
            at_close: Arc::default(),
            detached: Arc::new(Mutex::new(tx)),
        },
        rx,
    )
}

#[test]
fn each_connection_has_its_own_typed_context() {
    let (h, _rx) = ctx();
    let server = start(h.clone());
    let mut a = connect(&server);
    let mut b = connect(&server);
    a.send(b"GET\r\n");
    a.expect(b"$-1\r\n");
    a.send(b"INCR\r\nINCR\r\nINCR\r\n");
    a.expect(b":1\r\n:2\r\n:3\r\n");
    b.send(b"INCR\r\n");
    b.expect(b":1\r\n");
    a.send(b"GET\r\nGETSTRING\r\n");
    a.expect(b":3\r\n$-1\r\n");
    // Take it out: the next INCR starts again.
    a.send(b"TAKE\r\nGET\r\nINCR\r\n");
    a.expect(b":3\r\n$-1\r\n:1\r\n");
    // Replacing it with another type.
    b.send(b"SETNAME bob\r\nGETSTRING\r\nGET\r\n");
    b.expect(b"+OK\r\n$3\r\nbob\r\n$-1\r\n");
    server.shutdown();
}

#[test]
fn on_close_sees_the_context() {
    let (h, _rx) = ctx();
    let server = start(h.clone());
    let mut a = connect(&server);
    a.send(b"INCR\r\nINCR\r\nQUIT\r\n");
    a.expect(b":1\r\n:2\r\n+OK\r\n");
    a.expect_eof();
    let mut b = connect(&server);
    b.send(b"PING\r\n");
    b.expect(b"+PONG\r\n");
    drop(b);
    common::wait_until("two closes", || h.at_close.lock().unwrap().len() == 2);
    let mut log = h.at_close.lock().unwrap().clone();
    log.sort();
    assert_eq!(log, vec![(1, Some(2)), (2, None)]);
    server.shutdown();
}

#[test]
fn context_follows_a_detached_connection() {
    let (h, rx) = ctx();
    let server = start(h);
    let mut a = connect(&server);
    a.send(b"INCR\r\nINCR\r\nDETACH\r\n");
    a.expect(b":1\r\n:2\r\n+OK\r\n");
    assert_eq!(rx.recv_timeout(common::TIMEOUT).unwrap(), Some(2));
    // The detach function returned and dropped the connection: it closes.
    a.expect_eof();
    server.shutdown();
}
