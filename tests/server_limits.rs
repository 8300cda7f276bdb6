//! Who gets served, and for how long: the idle timeout closes a silent client
//! (`on_close` sees `IdleTimeout`) but not a detached one, the write timeout drops a
//! client that stopped reading, max clients refuses one more with Redis's error, and
//! `on_accept` can greet a client or turn it away with a message of its own.

mod common;

use common::{connect, tcp_addr, Basic, Reason};
use redcon::{CloseReason, Command, Conn, Handler, Server};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn idle_timeout_closes_a_silent_client() {
    let h = Basic::default();
    let idle = Duration::from_millis(400);
    let server = Server::new(h.clone())
        .addr("127.0.0.1:0")
        .idle_timeout(idle)
        .start()
        .unwrap();
    let mut c = connect(&server);
    // Activity keeps the connection open past the timeout...
    for _ in 0..5 {
        c.send(b"PING\r\n");
        c.expect(b"+PONG\r\n");
        std::thread::sleep(idle / 4);
    }
    // ...silence closes it.
    let quiet_since = Instant::now();
    c.expect_eof();
    let waited = quiet_since.elapsed();
    // The server's clock started before ours (it wrote the last reply), and the
    // client already slept a quarter of the timeout.
    assert!(waited >= idle / 2, "closed too early: {waited:?}");
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::IdleTimeout)]);
    server.shutdown();
}

#[test]
fn idle_timeout_does_not_apply_to_detached_connections() {
    let idle = Duration::from_millis(100);
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let handler = move |conn: &mut Conn<'_>, cmd: Command<'_>| {
        if cmd.is("detach") {
            conn.write_string("OK");
            let tx = tx.lock().unwrap().clone();
            conn.detach(move |mut d| {
                let first = d.read_command().map(|c| c.map(|c| c.name().to_vec()));
                tx.send(format!("{first:?}")).unwrap();
            });
        } else {
            common::basic(conn, &cmd);
        }
    };
    let server = Server::new(handler)
        .addr("127.0.0.1:0")
        .idle_timeout(idle)
        .start()
        .unwrap();
    let mut c = connect(&server);
    c.send(b"DETACH\r\n");
    c.expect(b"+OK\r\n");
    // Three idle timeouts of silence, then a command: the detached side still reads it.
    std::thread::sleep(idle * 3);
    c.send(b"PING\r\n");
    let first = rx.recv_timeout(common::TIMEOUT).unwrap();
    assert_eq!(first, "Ok(Some([80, 73, 78, 71]))");
    server.shutdown();
}

#[test]
fn write_timeout_drops_a_client_that_stopped_reading() {
    let closes = common::CloseLog::default();
    let log = closes.clone();
    struct Flood(common::CloseLog);
    impl Handler for Flood {
        fn on_command(&self, conn: &mut Conn<'_>, _cmd: Command<'_>) {
            // 64 MiB: more than both socket buffers of a loopback connection hold.
            conn.write_bulk(vec![b'x'; 64 << 20]);
        }
        fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
            self.0.push(conn.id(), reason);
        }
    }
    let server = Server::new(Flood(log))
        .addr("127.0.0.1:0")
        .write_timeout(Some(Duration::from_millis(200)))
        .start()
        .unwrap();
    let mut c = connect(&server);
    c.send(b"FLOOD\r\n");
    // Never read: the server gives up on the client.
    assert_eq!(closes.wait_for(1), vec![(1, Reason::WriteTimeout)]);
    common::wait_until("client forgotten", || server.clients() == 0);
    drop(c);
    server.shutdown();
}

#[test]
fn max_clients_refuses_one_more() {
    let h = Basic::default();
    let server = Server::new(h.clone())
        .addr("127.0.0.1:0")
        .max_clients(2)
        .start()
        .unwrap();
    let mut a = connect(&server);
    let mut b = connect(&server);
    for c in [&mut a, &mut b] {
        c.send(b"PING\r\n");
        c.expect(b"+PONG\r\n");
    }
    let mut third = connect(&server);
    third.expect(b"-ERR max number of clients reached\r\n");
    third.expect_eof();
    // A refused client never reached the handler.
    assert!(h.closes.snapshot().is_empty());
    common::wait_until("refused client forgotten", || server.clients() == 2);
    // Once a client leaves, there is room again.
    drop(a);
    h.closes.wait_for(1);
    common::wait_until("room again", || server.clients() == 1);
    let mut fourth = connect(&server);
    fourth.send(b"PING\r\n");
    fourth.expect(b"+PONG\r\n");
    b.send(b"PING\r\n");
    b.expect(b"+PONG\r\n");
    server.shutdown();
}

/// Refuses every second client with a message, greets the others.
#[derive(Clone, Default)]
struct Picky {
    accepted: Arc<AtomicUsize>,
    inner: Basic,
}

impl Handler for Picky {
    fn on_accept(&self, conn: &mut Conn<'_>) -> bool {
        if conn.id().is_multiple_of(2) {
            conn.write_error("ERR go away");
            return false;
        }
        self.accepted.fetch_add(1, Ordering::SeqCst);
        conn.write_string("WELCOME");
        true
    }

    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        self.inner.on_command(conn, cmd);
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.inner.on_close(conn, reason);
    }
}

#[test]
fn on_accept_can_deny_with_a_message() {
    let h = Picky::default();
    let server = common::start(h.clone());
    // Connect one at a time so ids follow connection order.
    let mut first = connect(&server);
    // The greeting comes first, before any command is served.
    first.expect(b"+WELCOME\r\n");
    first.send(b"PING\r\n");
    first.expect(b"+PONG\r\n");
    let mut second = connect(&server);
    second.expect(b"-ERR go away\r\n");
    second.expect_eof();
    let mut third = connect(&server);
    third.send(b"ID\r\n");
    third.expect(b"+WELCOME\r\n:3\r\n");
    assert_eq!(h.accepted.load(Ordering::SeqCst), 2);
    // A denied client is not counted and gets no on_close.
    common::wait_until("denied client forgotten", || server.clients() == 2);
    drop(first);
    drop(third);
    let mut closes = h.inner.closes.wait_for(2);
    closes.sort_by_key(|c| c.0);
    assert_eq!(
        closes,
        vec![(1, Reason::ClientClosed), (3, Reason::ClientClosed)]
    );
    server.shutdown();
}

#[test]
fn a_denied_client_that_sent_commands_gets_no_replies() {
    let h = Picky::default();
    let server = common::start(h);
    let mut first = connect(&server);
    first.expect(b"+WELCOME\r\n");
    // The second client pipelines commands before the server decides.
    let mut second = std::net::TcpStream::connect(tcp_addr(&server)).unwrap();
    second.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    std::io::Write::write_all(&mut second, b"PING\r\nPING\r\n").unwrap();
    let mut second = common::Client::new(second);
    second.expect(b"-ERR go away\r\n");
    second.expect_eof();
    drop(first);
    server.shutdown();
}

#[test]
fn max_clients_burst_serves_the_first_clients_accepted() {
    // Clients that connect at the same moment: the first `max` accepted are served and
    // the rest refused, however their connection threads happen to be scheduled.
    for _ in 0..10 {
        let server = Server::new(Basic::default())
            .addr("127.0.0.1:0")
            .max_clients(2)
            .start()
            .unwrap();
        let mut clients: Vec<_> = (0..4).map(|_| connect(&server)).collect();
        let replies: Vec<_> = clients
            .iter_mut()
            .map(|c| {
                c.send(b"PING\r\n");
                String::from_utf8_lossy(&c.read_to_eof_or(b"+PONG\r\n")).into_owned()
            })
            .collect();
        assert_eq!(
            replies,
            [
                "+PONG\r\n",
                "+PONG\r\n",
                "-ERR max number of clients reached\r\n",
                "-ERR max number of clients reached\r\n",
            ]
        );
        server.shutdown();
    }
}
