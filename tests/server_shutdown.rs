//! `ServerHandle::shutdown` while clients are idle, busy in a slow command, and
//! detached: every command read before the shutdown gets its reply (even when the client
//! pipelined more than the server had read), `on_close` runs once per connection with
//! `ServerShutdown`, no new client is served afterwards, and `shutdown` returns the
//! number of connection threads it joined.

mod common;

use common::{connect, tcp_addr, CloseLog, Reason};
use redcon::{CloseReason, Command, Conn, Handler, Server};
use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// `SLOW` tells the test it started, then waits for the test's go-ahead before
/// replying. `BIG n` replies with n bytes. `DETACH` detaches into a loop that reads
/// until end of stream. Counts the `PING`s it answers.
#[derive(Clone)]
struct Slow {
    started: Arc<Mutex<mpsc::Sender<()>>>,
    go: Arc<Mutex<mpsc::Receiver<()>>>,
    closes: CloseLog,
    detached_ended: Arc<Mutex<mpsc::Sender<()>>>,
    pings: Arc<AtomicUsize>,
}

impl Handler for Slow {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if cmd.is("slow") {
            self.started.lock().unwrap().send(()).unwrap();
            self.go
                .lock()
                .unwrap()
                .recv_timeout(common::TIMEOUT)
                .expect("go-ahead");
            conn.write_string("SLOW DONE");
        } else if cmd.is("big") {
            let n: usize = std::str::from_utf8(&cmd[1]).unwrap().parse().unwrap();
            conn.write_bulk(vec![b'x'; n]);
        } else if cmd.is("detach") {
            conn.write_string("OK");
            let ended = self.detached_ended.lock().unwrap().clone();
            conn.detach(move |mut d| {
                while let Ok(Some(_)) = d.read_command() {}
                ended.send(()).unwrap();
            });
        } else {
            if cmd.is("ping") {
                self.pings.fetch_add(1, Ordering::SeqCst);
            }
            common::basic(conn, &cmd);
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.closes.push(conn.id(), reason);
    }
}

/// The handler, and the test's ends of its channels: `SLOW` started, go-ahead for
/// `SLOW`, detached loop ended.
fn slow() -> (
    Slow,
    mpsc::Receiver<()>,
    mpsc::Sender<()>,
    mpsc::Receiver<()>,
) {
    let (started_tx, started) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    let (ended_tx, detached_ended) = mpsc::channel();
    let h = Slow {
        started: Arc::new(Mutex::new(started_tx)),
        go: Arc::new(Mutex::new(go_rx)),
        closes: CloseLog::default(),
        detached_ended: Arc::new(Mutex::new(ended_tx)),
        pings: Arc::default(),
    };
    (h, started, go, detached_ended)
}

#[test]
fn shutdown_finishes_read_commands_and_closes_everyone() {
    let (h, started, go, detached_ended) = slow();
    let server = Server::new(h.clone()).addr("127.0.0.1:0").start().unwrap();
    let addr = tcp_addr(&server);

    // Two idle clients, one detached, one busy.
    let mut idle: Vec<_> = (0..2).map(|_| connect(&server)).collect();
    for c in &mut idle {
        c.send(b"PING\r\n");
        c.expect(b"+PONG\r\n");
    }
    let mut detached = connect(&server);
    detached.send(b"DETACH\r\n");
    detached.expect(b"+OK\r\n");
    let mut busy = connect(&server);
    // Both commands arrive in one read, before the shutdown.
    busy.send(b"SLOW\r\nECHO after-slow\r\n");
    started.recv_timeout(common::TIMEOUT).unwrap();
    assert_eq!(server.clients(), 4);

    let stopper = thread::spawn(move || server.shutdown());
    // Idle clients are woken without polling: they see end of stream at once, while
    // the busy one is still inside SLOW.
    for c in &mut idle {
        c.expect_eof();
    }
    detached.expect_eof();
    detached_ended.recv_timeout(common::TIMEOUT).unwrap();
    // Let SLOW finish: its reply and the reply to the command after it still arrive.
    go.send(()).unwrap();
    busy.expect(b"+SLOW DONE\r\n$10\r\nafter-slow\r\n");
    busy.expect_eof();

    let joined = stopper.join().unwrap();
    assert_eq!(joined, 4, "one thread per connection");
    // on_close ran exactly once for each attached connection (not the detached one).
    let mut closes = h.closes.snapshot();
    closes.sort_by_key(|c| c.0);
    assert_eq!(
        closes,
        vec![
            (1, Reason::ServerShutdown),
            (2, Reason::ServerShutdown),
            (4, Reason::ServerShutdown),
        ]
    );
    // Nobody is served any more.
    assert!(!served(addr), "a client was served after shutdown");
}

/// Whether a new client at `addr` gets an answer to PING.
fn served(addr: std::net::SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let _ = std::io::Write::write_all(&mut s, b"PING\r\n");
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n > 0)
}

#[test]
fn shutdown_with_no_clients_returns_zero() {
    let server = common::start(common::Basic::default());
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn shutdown_counts_threads_of_clients_that_already_left() {
    let h = common::Basic::default();
    // No thread reuse: each client leaves a thread of its own behind to be joined.
    let server = Server::new(h.clone())
        .addr("127.0.0.1:0")
        .max_idle_threads(0)
        .start()
        .unwrap();
    for _ in 0..3 {
        let mut c = connect(&server);
        c.send(b"QUIT\r\n");
        c.expect(b"+OK\r\n");
        c.expect_eof();
    }
    h.closes.wait_for(3);
    assert_eq!(server.shutdown(), 3);
    // Those clients were closed by QUIT, not by the shutdown.
    assert!(h.closes.snapshot().iter().all(|c| c.1 == Reason::Closed));
}

#[test]
fn shutdown_cuts_off_a_client_that_does_not_read_after_the_grace_period() {
    let h = common::Basic::default();
    let server = Server::new(h.clone())
        .addr("127.0.0.1:0")
        .shutdown_grace(Duration::from_millis(200))
        .start()
        .unwrap();
    let mut c = connect(&server);
    // A 64 MiB reply the client never reads: the server's write blocks.
    let big = "x".repeat(1 << 20);
    let mut req = Vec::new();
    for _ in 0..64 {
        req.extend_from_slice(&common::request(&["ECHO", &big]));
    }
    let mut w = c.stream.try_clone().unwrap();
    thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut w, &req);
    });
    // Wait until the server is stuck writing (it has read at least one command).
    let first = c.read_n(16);
    assert!(first.starts_with(b"$1048576\r\n"));
    let joined = server.shutdown();
    assert_eq!(joined, 1);
    assert_eq!(h.closes.wait_for(1).len(), 1);
}

#[test]
fn shutdown_replies_reach_a_client_that_pipelined_more_than_was_read() {
    let (h, started, go, _) = slow();
    let server = common::start(h.clone());
    let mut idle = connect(&server);
    idle.send(b"PING\r\n");
    idle.expect(b"+PONG\r\n");
    // Far more than one read of the server's 4 KiB buffer: most of it is still unread in
    // the socket when the server closes, and the replies to what was read (300 KB, more
    // than the client's socket takes before it reads) must survive that.
    let mut busy = connect(&server);
    let mut req = b"SLOW\r\nBIG 300000\r\n".to_vec();
    req.extend_from_slice(&b"PING\r\n".repeat(5000));
    busy.send(&req);
    started.recv_timeout(common::TIMEOUT).unwrap();
    let stopper = thread::spawn(move || server.shutdown());
    // The shutdown has begun once the idle client is woken.
    idle.expect_eof();
    go.send(()).unwrap();
    // Read only after the server closed the connection.
    h.closes.wait_for(2);
    let pings = h.pings.load(Ordering::SeqCst) - 1;
    assert!(pings < 5000, "the whole pipeline was read: nothing tested");
    let mut expected = b"+SLOW DONE\r\n".to_vec();
    expected.extend_from_slice(&common::bulk(&[b'x'; 300_000]));
    expected.extend_from_slice(&b"+PONG\r\n".repeat(pings));
    busy.expect(&expected);
    busy.expect_eof();
    assert_eq!(stopper.join().unwrap(), 2);
}

#[test]
fn shutdown_does_not_wait_for_a_client_that_is_gone() {
    let (h, started, go, _) = slow();
    let server = Server::new(h.clone())
        .addr("127.0.0.1:0")
        .shutdown_grace(Duration::from_secs(30))
        .start()
        .unwrap();
    let mut idle = connect(&server);
    idle.send(b"PING\r\n");
    idle.expect(b"+PONG\r\n");
    let mut c = connect(&server);
    c.send(b"SLOW\r\n");
    started.recv_timeout(common::TIMEOUT).unwrap();
    // The client leaves while its command runs: the reply, written after the shutdown
    // began, is answered with a reset, and will never be acknowledged.
    drop(c);
    let t = std::time::Instant::now();
    let stopper = thread::spawn(move || server.shutdown());
    // The shutdown has begun once the idle client is woken.
    idle.expect_eof();
    go.send(()).unwrap();
    assert_eq!(stopper.join().unwrap(), 2);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
}
