//! `ServerHandle::shutdown` while clients are idle, busy in a slow command, and
//! detached: every command read before the shutdown gets its reply (even when the client
//! pipelined more than the server had read), `on_close` runs once per connection with
//! `ServerShutdown`, no new client is served afterwards, and `shutdown` returns the
//! number of connection threads it joined. Also handlers blocked in `Conn::wait` (woken,
//! disconnected, killed, shut down) and how `Clients::list` shows them.

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

/// `BLOCK` waits in `Conn::wait` with no timeout and reports how the wait ended (with
/// the connection's id) on a channel; `WAKE id` wakes that connection's waker, which
/// `BLOCK` registered in `wakers`. Every close reason is logged.
#[derive(Clone)]
struct Blocker {
    ended: Arc<Mutex<mpsc::Sender<(u64, redcon::Wait)>>>,
    blocked: Arc<Mutex<mpsc::Sender<u64>>>,
    wakers: Arc<Mutex<std::collections::HashMap<u64, redcon::Waker>>>,
    closes: CloseLog,
}

impl Handler for Blocker {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if cmd.is("block") {
            let waker = conn.waker().expect("waker");
            self.wakers.lock().unwrap().insert(conn.id(), waker);
            conn.write_string("BLOCKING");
            self.blocked.lock().unwrap().send(conn.id()).unwrap();
            let how = conn.wait(None);
            self.ended.lock().unwrap().send((conn.id(), how)).unwrap();
            if how == redcon::Wait::Woken {
                conn.write_string("WOKEN");
            }
        } else if cmd.is("wake") {
            let id: u64 = std::str::from_utf8(&cmd[1]).unwrap().parse().unwrap();
            self.wakers.lock().unwrap()[&id].wake();
            conn.write_string("OK");
        } else {
            common::basic(conn, &cmd);
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.closes.push(conn.id(), reason);
    }
}

/// The handler; the test's ends of its channels: a wait ended, a client blocked.
fn blocker() -> (
    Blocker,
    mpsc::Receiver<(u64, redcon::Wait)>,
    mpsc::Receiver<u64>,
) {
    let (ended_tx, ended) = mpsc::channel();
    let (blocked_tx, blocked) = mpsc::channel();
    let h = Blocker {
        ended: Arc::new(Mutex::new(ended_tx)),
        blocked: Arc::new(Mutex::new(blocked_tx)),
        wakers: Arc::default(),
        closes: CloseLog::default(),
    };
    (h, ended, blocked)
}

#[test]
fn a_blocked_handler_is_woken_by_its_waker_and_its_replies_so_far_arrive_first() {
    let (h, ended, blocked) = blocker();
    let server = common::start(h);
    let mut c = connect(&server);
    // The reply to PING is written before the wait, not held until the batch ends.
    c.send(b"PING\r\nBLOCK\r\n");
    c.expect(b"+PONG\r\n+BLOCKING\r\n");
    let id = blocked.recv_timeout(common::TIMEOUT).expect("blocked");
    let mut other = connect(&server);
    other.send(format!("WAKE {id}\r\n").as_bytes());
    other.expect(b"+OK\r\n");
    assert_eq!(
        ended.recv_timeout(common::TIMEOUT).expect("woken"),
        (id, redcon::Wait::Woken)
    );
    c.expect(b"+WOKEN\r\n");
    server.shutdown();
}

#[test]
fn a_blocked_handler_is_woken_when_its_client_disconnects() {
    let (h, ended, blocked) = blocker();
    let server = common::start(h.clone());
    let mut c = connect(&server);
    c.send(b"BLOCK\r\n");
    c.expect(b"+BLOCKING\r\n");
    let id = blocked.recv_timeout(common::TIMEOUT).expect("blocked");
    drop(c);
    assert_eq!(
        ended.recv_timeout(common::TIMEOUT).expect("wait ended"),
        (id, redcon::Wait::Cancelled(redcon::Cancel::ClientClosed))
    );
    // No longer counted once it left.
    common::wait_until("the client is forgotten", || server.clients() == 0);
    assert_eq!(h.closes.wait_for(1), vec![(id, Reason::ClientClosed)]);
    server.shutdown();
}

#[test]
fn a_blocked_client_that_is_killed_is_closed_at_once_and_its_wait_says_so() {
    let (h, ended, blocked) = blocker();
    let server = common::start(h.clone());
    let mut c = connect(&server);
    let mut idle = connect(&server);
    c.send(b"BLOCK\r\n");
    c.expect(b"+BLOCKING\r\n");
    let id = blocked.recv_timeout(common::TIMEOUT).expect("blocked");
    let clients = server.clients_handle();
    assert_eq!(clients.ids().len(), 2);
    assert!(clients.kill(id));
    assert_eq!(
        ended.recv_timeout(common::TIMEOUT).expect("wait ended"),
        (id, redcon::Wait::Cancelled(redcon::Cancel::Killed))
    );
    c.expect_eof();
    common::wait_until("the killed client is forgotten", || {
        clients.ids().len() == 1 && !clients.ids().contains(&id)
    });
    assert_eq!(h.closes.wait_for(1), vec![(id, Reason::Killed)]);
    // Killing an idle client, blocked in `read`, closes it at once too.
    let idle_id = clients.ids()[0];
    assert!(clients.kill(idle_id));
    idle.expect_eof();
    assert_eq!(h.closes.wait_for(2)[1], (idle_id, Reason::Killed));
    common::wait_until("no client left", || clients.ids().is_empty());
    assert!(!clients.kill(idle_id));
    server.shutdown();
}

/// Redis 7.0.15's `CLIENT LIST` fields, in its order.
const CLIENT_LIST_FIELDS: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
];

#[test]
fn client_list_shows_a_blocked_client_and_each_clients_last_command() {
    let (h, ended, blocked) = blocker();
    let server = common::start(h);
    let clients = server.clients_handle();
    let mut c = connect(&server);
    c.send(b"PING\r\nBLOCK\r\n");
    c.expect(b"+PONG\r\n+BLOCKING\r\n");
    let blocked_id = blocked.recv_timeout(common::TIMEOUT).expect("blocked");
    let mut other = connect(&server);
    other.send(b"ECHO hi\r\n");
    other.expect(b"$2\r\nhi\r\n");
    // Each is listed as it was once its read batch was published (after the reply
    // went out) or it started waiting (after it told the test).
    common::wait_until("both clients' details published", || {
        let l = clients.list();
        l.len() == 2 && l[0].is_blocked() && l[1].cmd() == Some("echo")
    });
    let list = clients.list();
    let (b, o) = (&list[0], &list[1]);
    assert_eq!(b.id(), blocked_id);
    assert!(b.is_blocked());
    assert_eq!((b.flags().as_str(), b.cmd()), ("b", Some("block")));
    assert_eq!((o.flags().as_str(), o.cmd()), ("N", Some("echo")));
    assert_eq!(o.addr(), other.stream.local_addr().unwrap().to_string());
    assert_eq!(o.laddr(), server.local_addr().to_string());
    let line = o.to_string();
    let keys: Vec<&str> = line
        .split(' ')
        .map(|f| f.split('=').next().unwrap_or(""))
        .collect();
    assert_eq!(keys, CLIENT_LIST_FIELDS, "{line}");
    assert!(line.contains(" name= "), "{line}");
    assert!(
        line.ends_with(" events=r cmd=echo user=default redir=-1 resp=2"),
        "{line}"
    );
    // Woken, it is no longer blocked.
    other.send(format!("WAKE {blocked_id}\r\n").as_bytes());
    other.expect(b"+OK\r\n");
    ended.recv_timeout(common::TIMEOUT).expect("woken");
    c.expect(b"+WOKEN\r\n");
    assert!(!clients
        .info(blocked_id)
        .expect("still connected")
        .is_blocked());
    // Gone, it is no longer listed.
    drop(c);
    common::wait_until("the client is unlisted", || {
        clients.info(blocked_id).is_none()
    });
    server.shutdown();
}

#[test]
fn shutdown_wakes_500_blocked_handlers_instead_of_waiting_for_the_grace_period() {
    const N: usize = 500;
    let (h, ended, blocked) = blocker();
    // A grace period longer than the test's patience: only waking the waits can
    // finish the shutdown in time.
    let server = Server::new(h.clone())
        .addr("127.0.0.1:0")
        .shutdown_grace(Duration::from_secs(600))
        .start()
        .expect("start");
    let mut clients: Vec<_> = (0..N).map(|_| connect(&server)).collect();
    for c in &mut clients {
        c.send(b"BLOCK\r\n");
    }
    for _ in 0..N {
        blocked.recv_timeout(common::TIMEOUT).expect("blocked");
    }
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || done_tx.send(server.shutdown()).unwrap());
    let joined = done
        .recv_timeout(common::TIMEOUT * 3)
        .expect("shutdown returned");
    assert!(joined >= 1);
    let ends: Vec<_> = ended.try_iter().collect();
    assert_eq!(ends.len(), N);
    assert!(ends
        .iter()
        .all(|(_, w)| *w == redcon::Wait::Cancelled(redcon::Cancel::ServerShutdown)));
    let reasons = h.closes.snapshot();
    assert_eq!(reasons.len(), N);
    assert!(reasons.iter().all(|(_, r)| *r == Reason::ServerShutdown));
    for c in &mut clients {
        c.expect(b"+BLOCKING\r\n");
        c.expect_eof();
    }
}

#[test]
fn shutdown_ends_a_client_pause_and_the_held_commands_are_answered() {
    let server = Server::new(common::Basic::default())
        .addr("127.0.0.1:0")
        .shutdown_grace(Duration::from_secs(600))
        .start()
        .expect("start");
    let clients = server.clients_handle();
    let mut c = connect(&server);
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    clients.pause(Duration::from_secs(600), redcon::PauseMode::All);
    c.send(b"PING\r\n");
    common::wait_until("the PING is held", || server.stats().blocked_clients == 1);
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || done_tx.send(server.shutdown()).unwrap());
    done.recv_timeout(common::TIMEOUT)
        .expect("shutdown returned");
    c.expect(b"+PONG\r\n");
    c.expect_eof();
}

#[test]
fn a_client_killed_while_held_by_a_pause_is_closed_at_once_and_its_command_never_runs() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let server = Server::new(redcon::handler_fn(move |conn, _| {
        count.fetch_add(1, Ordering::SeqCst);
        conn.write_string("OK")
    }))
    .addr("127.0.0.1:0")
    .start()
    .expect("start");
    let clients = server.clients_handle();
    let mut c = connect(&server);
    c.send(b"X\r\n");
    c.expect(b"+OK\r\n");
    let id = clients.ids()[0];
    clients.pause(Duration::from_secs(600), redcon::PauseMode::All);
    c.send(b"X\r\n");
    common::wait_until("the command is held", || {
        server.stats().blocked_clients == 1
    });
    assert!(clients.kill(id));
    c.expect_eof();
    // Its thread is gone too, not parked until the pause ends.
    common::wait_until("the connection is gone", || {
        server.stats().connected_clients == 0 && server.stats().blocked_clients == 0
    });
    assert_eq!(served.load(Ordering::SeqCst), 1, "the held command ran");
    clients.unpause();
    server.shutdown();
}

#[test]
fn client_info_keeps_the_library_name_and_version_a_client_gave() {
    let server = common::start(redcon::handler_fn(|conn, cmd| {
        if cmd.is("setinfo") {
            let (name, ver) = (cmd.get(1), cmd.get(2));
            conn.set_client_lib(name, ver);
        }
        conn.write_string("OK");
    }));
    let clients = server.clients_handle();
    let mut c = connect(&server);
    c.send(b"SETINFO redis-py 5.0.1\r\n");
    c.expect(b"+OK\r\n");
    let id = clients.ids()[0];
    let info = clients.info(id).expect("connected");
    assert_eq!(
        (info.lib_name(), info.lib_ver()),
        (&b"redis-py"[..], &b"5.0.1"[..])
    );
    // Not part of Redis 7.0's line.
    assert!(!info.to_string().contains("redis-py"));
    server.shutdown();
}
