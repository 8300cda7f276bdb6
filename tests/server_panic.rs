//! Panic isolation: a handler that panics closes only the connection it was serving
//! (earlier replies are still sent, the panicking command's half-written reply is not),
//! `on_close` sees `Panic` with the message, other clients are unaffected, and the
//! server keeps accepting. Panics in `on_accept` and `on_close` are contained too.

mod common;

use common::{connect, start, CloseLog, Reason};
use redcon::{CloseReason, Command, Conn, Handler};

#[derive(Clone, Default)]
struct Fragile {
    closes: CloseLog,
}

impl Handler for Fragile {
    fn on_accept(&self, conn: &mut Conn<'_>) -> bool {
        if conn.id() == 3 {
            panic!("on_accept blew up");
        }
        true
    }

    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if cmd.is("panic") {
            // Part of a reply, then the panic: the part must not reach the client.
            conn.write_array(2);
            conn.write_bulk("half");
            panic!("boom");
        } else if cmd.is("panicclose") {
            conn.write_string("OK");
            conn.close();
        } else {
            common::basic(conn, &cmd);
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.closes.push(conn.id(), reason);
        if matches!(reason, CloseReason::Closed) {
            panic!("on_close blew up");
        }
    }
}

#[test]
fn a_panic_closes_only_its_connection() {
    let h = Fragile::default();
    let server = start(h.clone());
    let mut bystander = connect(&server);
    bystander.send(b"PING\r\n");
    bystander.expect(b"+PONG\r\n");

    let mut victim = connect(&server);
    victim.send(b"ECHO before\r\nPANIC\r\nECHO after\r\n");
    victim.expect(b"$6\r\nbefore\r\n");
    victim.expect_eof();
    assert_eq!(
        h.closes.wait_for(1),
        vec![(2, Reason::Panic("boom".into()))]
    );

    // The other client is unaffected...
    bystander.send(b"ECHO still-here\r\n");
    bystander.expect(b"$10\r\nstill-here\r\n");
    // ...a panic in on_accept only refuses that client (id 3)...
    let mut refused = connect(&server);
    refused.expect_eof();
    // ...and the server keeps accepting.
    let mut newcomer = connect(&server);
    newcomer.send(b"ID\r\n");
    newcomer.expect(b":4\r\n");
    common::wait_until("two clients left", || server.clients() == 2);
    server.shutdown();
}

#[test]
fn a_panic_in_on_close_is_contained() {
    let h = Fragile::default();
    let server = start(h.clone());
    let mut c = connect(&server);
    c.send(b"PANICCLOSE\r\n");
    c.expect(b"+OK\r\n");
    c.expect_eof();
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::Closed)]);
    common::wait_until("client forgotten", || server.clients() == 0);
    // The thread whose on_close panicked goes on to serve the next client.
    common::wait_until("the thread waits", || server.idle_threads() == 1);
    let mut next = connect(&server);
    next.send(b"PING\r\n");
    next.expect(b"+PONG\r\n");
    assert_eq!(server.shutdown(), 1);
}
