//! Reuse of connection threads, on real sockets: a thread whose client left serves the
//! next client (over TCP, TLS and Unix sockets), with nothing of the previous
//! connection (context, name, protocol) and with the stack size and scheduling policy
//! it was spawned with; a handler panic leaves the thread reusable, a panic that
//! escapes the connection retires it; no more threads wait than allowed, they exit
//! after the keep-alive, max clients counts clients and not waiting threads, zero idle
//! threads turns reuse off, and shutdown wakes and joins waiting threads at once.
//!
//! Every test takes [`serial`]: some count the server's connection threads, which
//! other tests' servers running at the same time would disturb.

mod common;

use common::{connect, Client, CloseLog, Reason};
use redcon::{CloseReason, Command, Conn, Handler, Protocol, Server, ServerHandle};
use std::io::{Read, Write};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// This process's connection threads (named `redcon-conn`), from `/proc/self/task`:
/// alive, serving or waiting for a client.
fn conn_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read(t.path().join("comm")).is_ok_and(|name| name == b"redcon-conn\n"))
        .count()
}

/// Waits until exactly `n` connection threads exist (a joined thread may stay listed
/// for a moment after its join returns).
#[track_caller]
fn wait_threads(n: usize) {
    common::wait_until(&format!("{n} connection threads"), || conn_threads() == n);
}

/// A context whose drop panics: the panic escapes the connection's run.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("context dropped");
    }
}

/// Reports what a connection's thread and state look like.
#[derive(Clone, Default)]
struct Probe {
    closes: CloseLog,
}

impl Handler for Probe {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if cmd.is("tid") {
            conn.write_bulk(format!("{:?}", thread::current().id()));
        } else if cmd.is("panic") {
            panic!("boom");
        } else if cmd.is("bomb") {
            conn.set_context(Bomb);
            conn.write_string("OK");
        } else if cmd.is("setctx") && cmd.len() == 2 {
            conn.set_context(cmd[1].to_vec());
            conn.write_string("OK");
        } else if cmd.is("getctx") {
            match conn.context::<Vec<u8>>().cloned() {
                Some(v) => conn.write_bulk(v),
                None => conn.write_null(),
            }
        } else if cmd.is("setname") && cmd.len() == 2 {
            let name = cmd[1].to_vec();
            conn.set_client_name(Some(&name));
            conn.write_string("OK");
        } else if cmd.is("getname") {
            match conn.client_name().map(<[u8]>::to_vec) {
                Some(v) => conn.write_bulk(v),
                None => conn.write_null(),
            }
        } else if cmd.is("proto") {
            let n = if conn.protocol() == Protocol::Resp3 {
                3
            } else {
                2
            };
            conn.write_u64(n);
        } else if let Some(reply) = sched::command(&cmd) {
            conn.write_raw(&reply);
        } else if !common::basic(conn, &cmd) {
            conn.write_error("ERR unknown");
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.closes.push(conn.id(), reason);
    }
}

fn start(configure: impl FnOnce(Server<Probe>) -> Server<Probe>) -> (ServerHandle, Probe) {
    let h = Probe::default();
    let server = configure(Server::new(h.clone()).addr("127.0.0.1:0"))
        .start()
        .expect("server starts");
    (server, h)
}

/// The raw reply to `cmd` (one line, CRLF included).
fn call<S: Read + Write>(c: &mut Client<S>, cmd: &[u8]) -> Vec<u8> {
    c.send(cmd);
    c.reply()
}

/// The id of the thread serving `c`, as the handler sees it.
fn tid<S: Read + Write>(c: &mut Client<S>) -> Vec<u8> {
    call(c, b"TID\r\n")
}

/// Waits until `n` threads wait for a client.
#[track_caller]
fn wait_idle(server: &ServerHandle, n: usize) {
    common::wait_until(&format!("{n} idle threads"), || server.idle_threads() == n);
}

#[test]
fn sequential_clients_are_served_by_one_thread() {
    let _serial = serial();
    let (server, h) = start(|s| s);
    let mut seen = Vec::new();
    for i in 1..=5u64 {
        let mut c = connect(&server);
        assert_eq!(call(&mut c, b"ID\r\n"), format!(":{i}\r\n").into_bytes());
        seen.push(tid(&mut c));
        drop(c);
        h.closes.wait_for(i as usize);
        wait_idle(&server, 1);
    }
    assert!(
        seen.iter().all(|t| *t == seen[0]),
        "threads: {:?}",
        seen.iter().map(|t| common::show(t)).collect::<Vec<_>>()
    );
    assert_eq!(server.clients(), 0, "a waiting thread is not a client");
    assert_eq!(server.shutdown(), 1);
}

#[test]
fn nothing_of_a_connection_reaches_the_next_on_the_same_thread() {
    let _serial = serial();
    let (server, _) = start(|s| s);
    let mut first = connect(&server);
    let thread = tid(&mut first);
    let hello = call(&mut first, b"HELLO 3\r\n");
    assert!(hello.starts_with(b"%"), "{}", common::show(&hello));
    assert_eq!(call(&mut first, b"SETCTX secret\r\n"), b"+OK\r\n");
    assert_eq!(call(&mut first, b"SETNAME first\r\n"), b"+OK\r\n");
    assert_eq!(call(&mut first, b"PROTO\r\n"), b":3\r\n");
    // A large request grows the read buffer.
    let big = common::request(&["ECHO", &"x".repeat(1 << 20)]);
    first.send(&big);
    assert_eq!(first.reply().len(), (1 << 20) + 12);
    drop(first);
    wait_idle(&server, 1);

    let mut next = connect(&server);
    assert_eq!(tid(&mut next), thread, "the thread was not reused");
    assert_eq!(call(&mut next, b"PROTO\r\n"), b":2\r\n");
    assert_eq!(call(&mut next, b"GETCTX\r\n"), b"$-1\r\n");
    assert_eq!(call(&mut next, b"GETNAME\r\n"), b"$-1\r\n");
    assert_eq!(call(&mut next, b"PING\r\n"), b"+PONG\r\n");
    drop(next);
    server.shutdown();
}

#[test]
fn a_handler_panic_leaves_its_thread_reusable() {
    let _serial = serial();
    let (server, h) = start(|s| s);
    let mut victim = connect(&server);
    let thread = tid(&mut victim);
    victim.send(b"PANIC\r\n");
    victim.expect_eof();
    assert_eq!(
        h.closes.wait_for(1),
        vec![(1, Reason::Panic("boom".into()))]
    );
    wait_idle(&server, 1);

    let mut next = connect(&server);
    assert_eq!(tid(&mut next), thread, "the thread was not reused");
    assert_eq!(call(&mut next, b"ECHO fine\r\n"), b"$4\r\nfine\r\n");
    drop(next);
    assert_eq!(server.shutdown(), 1);
}

#[test]
fn a_panic_that_escapes_the_connection_retires_its_thread() {
    let _serial = serial();
    let (server, h) = start(|s| s);
    let mut c = connect(&server);
    let thread = tid(&mut c);
    assert_eq!(call(&mut c, b"BOMB\r\n"), b"+OK\r\n");
    drop(c);
    h.closes.wait_for(1);
    // The context's drop panics after on_close: the thread unwinds and ends.
    common::wait_until("the client is forgotten", || server.clients() == 0);

    let mut next = connect(&server);
    assert_ne!(tid(&mut next), thread, "an unwound thread was reused");
    assert_eq!(call(&mut next, b"PING\r\n"), b"+PONG\r\n");
    drop(next);
    wait_idle(&server, 1);
    assert_eq!(server.shutdown(), 2);
}

#[test]
fn waiting_threads_are_bounded_and_leave_after_the_keep_alive() {
    let _serial = serial();
    let keep = Duration::from_millis(300);
    wait_threads(0);
    let (server, _) = start(|s| s.max_idle_threads(2).thread_keep_alive(keep));
    let mut clients: Vec<_> = (0..5).map(|_| connect(&server)).collect();
    let mut tids: Vec<_> = clients.iter_mut().map(tid).collect();
    tids.sort();
    tids.dedup();
    assert_eq!(tids.len(), 5, "five clients at once, five threads");
    assert_eq!(conn_threads(), 5);

    let left = Instant::now();
    clients.clear();
    // Two threads wait; the three that found the pool full exit at once.
    wait_threads(2);
    assert_eq!(server.idle_threads(), 2);
    assert_eq!(server.clients(), 0);
    // After the keep-alive, the waiting ones exit too.
    wait_threads(0);
    assert!(left.elapsed() >= keep, "threads left before the keep-alive");
    assert_eq!(server.idle_threads(), 0);

    // The next client gets a new thread, and the pool works as before.
    let mut c = connect(&server);
    assert_eq!(call(&mut c, b"PING\r\n"), b"+PONG\r\n");
    drop(c);
    wait_idle(&server, 1);
    assert_eq!(server.shutdown(), 6);
    wait_threads(0);
}

#[test]
fn max_clients_counts_clients_not_waiting_threads() {
    let _serial = serial();
    let (server, _) = start(|s| s.max_clients(2).max_idle_threads(8));
    // Both served at once, so that each has a thread of its own.
    let mut first: Vec<_> = (0..2).map(|_| connect(&server)).collect();
    for c in &mut first {
        assert_eq!(call(c, b"PING\r\n"), b"+PONG\r\n");
    }
    drop(first);
    wait_idle(&server, 2);
    assert_eq!(server.clients(), 0);

    // Two waiting threads and two new clients: both are served, on those threads.
    let mut second: Vec<_> = (0..2).map(|_| connect(&server)).collect();
    for c in &mut second {
        assert_eq!(call(c, b"PING\r\n"), b"+PONG\r\n");
    }
    assert_eq!(server.idle_threads(), 0);
    // A third client at once is over the limit.
    let mut extra = connect(&server);
    let refused = extra.read_to_eof();
    assert_eq!(refused, b"-ERR max number of clients reached\r\n");
    common::wait_until("the refused client is forgotten", || server.clients() == 2);
    drop(second);
    server.shutdown();
}

#[test]
fn zero_idle_threads_turns_reuse_off() {
    let _serial = serial();
    wait_threads(0);
    let (server, h) = start(|s| s.max_idle_threads(0));
    let mut seen = Vec::new();
    for i in 1..=3 {
        let mut c = connect(&server);
        seen.push(tid(&mut c));
        drop(c);
        h.closes.wait_for(i);
        wait_threads(0);
        assert_eq!(server.idle_threads(), 0);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "a thread was reused");
    assert_eq!(server.shutdown(), 3);
}

#[test]
fn shutdown_wakes_and_joins_waiting_threads_at_once() {
    let _serial = serial();
    let grace = Duration::from_secs(5);
    wait_threads(0);
    let (server, _) = start(|s| {
        s.thread_keep_alive(Duration::from_secs(3600))
            .shutdown_grace(grace)
    });
    let mut clients: Vec<_> = (0..3).map(|_| connect(&server)).collect();
    for c in &mut clients {
        assert_eq!(call(c, b"PING\r\n"), b"+PONG\r\n");
    }
    clients.clear();
    wait_idle(&server, 3);
    // One more client stays connected through the shutdown.
    let mut stays = connect(&server);
    assert_eq!(call(&mut stays, b"PING\r\n"), b"+PONG\r\n");
    assert_eq!(server.idle_threads(), 2);

    let started = Instant::now();
    let joined = server.shutdown();
    let took = started.elapsed();
    stays.expect_eof();
    assert_eq!(joined, 3);
    assert!(took < grace, "shutdown took {took:?}");
    wait_threads(0);
}

#[test]
fn unix_socket_clients_reuse_threads() {
    let _serial = serial();
    let path = common::socket_path("reuse");
    let server = Server::new(Probe::default()).unix(&path).start().unwrap();
    let unix = || {
        let s = std::os::unix::net::UnixStream::connect(&path).expect("connect");
        s.set_read_timeout(Some(common::TIMEOUT)).unwrap();
        Client::new(s)
    };
    let mut first = unix();
    let thread = tid(&mut first);
    drop(first);
    wait_idle(&server, 1);
    let mut next = unix();
    assert_eq!(tid(&mut next), thread);
    assert_eq!(call(&mut next, b"PING\r\n"), b"+PONG\r\n");
    drop(next);
    assert_eq!(server.shutdown(), 1);
}

#[cfg(feature = "tls")]
#[test]
fn tls_clients_reuse_threads_with_a_new_session_each() {
    let _serial = serial();
    let config = redcon::load_tls_config(common::tls::CERT, common::tls::KEY).expect("certificate");
    let (server, h) = start(|s| s.tls(config));
    let mut seen = Vec::new();
    for i in 1..=3 {
        let mut c = common::tls::tls_client(&server, "localhost");
        seen.push(tid(&mut c));
        assert_eq!(call(&mut c, b"SETCTX tls\r\n"), b"+OK\r\n");
        assert_eq!(call(&mut c, b"QUIT\r\n"), b"+OK\r\n");
        c.expect_eof();
        h.closes.wait_for(i);
        wait_idle(&server, 1);
    }
    assert!(
        seen.iter().all(|t| *t == seen[0]),
        "the thread was not reused"
    );
    // A plain client on the TLS port fails its handshake; the thread survives that too.
    let mut plain = connect(&server);
    plain.send(b"PING\r\n");
    plain.read_to_eof();
    wait_idle(&server, 1);
    let mut c = common::tls::tls_client(&server, "localhost");
    assert_eq!(tid(&mut c), seen[0]);
    assert_eq!(call(&mut c, b"GETCTX\r\n"), b"$-1\r\n");
    drop(c);
    assert_eq!(server.shutdown(), 1);
}

/// Per-thread settings, read and changed by the handler: `STACK` (the thread's stack
/// size), `STACKTOP` (the highest address of its stack), `DEEP` (touches at least 64 KiB of
/// stack), `SCHED` (its scheduling policy) and `SCHEDOTHER` (moves it to `SCHED_OTHER`).
#[cfg(target_os = "linux")]
mod sched {
    use redcon::Command;

    pub fn command(cmd: &Command<'_>) -> Option<Vec<u8>> {
        let n = if cmd.is("stack") {
            stack().1
        } else if cmd.is("stacktop") {
            stack().0 + stack().1
        } else if cmd.is("deep") {
            deep(16)
        } else if cmd.is("sched") {
            // SAFETY: no pointers; pid 0 is the calling thread.
            unsafe { libc::sched_getscheduler(0) as usize }
        } else if cmd.is("schedother") {
            set_policy(libc::SCHED_OTHER);
            0
        } else {
            return None;
        };
        Some(format!(":{n}\r\n").into_bytes())
    }

    /// Sets the calling thread's scheduling policy (priority 0).
    pub fn set_policy(policy: libc::c_int) {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param; pid 0 is the calling thread.
        let r = unsafe { libc::sched_setscheduler(0, policy, &param) };
        assert_eq!(
            r,
            0,
            "sched_setscheduler: {}",
            std::io::Error::last_os_error()
        );
    }

    /// The calling thread's stack: lowest address and size.
    fn stack() -> (usize, usize) {
        // SAFETY: `attr` is initialised by pthread_getattr_np before it is read, and
        // destroyed after.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            assert_eq!(libc::pthread_getattr_np(libc::pthread_self(), &mut attr), 0);
            let mut addr = std::ptr::null_mut();
            let mut size = 0;
            assert_eq!(libc::pthread_attr_getstack(&attr, &mut addr, &mut size), 0);
            libc::pthread_attr_destroy(&mut attr);
            (addr as usize, size)
        }
    }

    /// Touches `depth` frames of 4 KiB each.
    #[inline(never)]
    fn deep(depth: usize) -> usize {
        let page = std::hint::black_box([depth as u8; 4096]);
        if depth == 0 {
            return 0;
        }
        deep(depth - 1) + usize::from(page[100])
    }

    /// Resident KiB of the memory mapping that holds `addr` (from /proc/self/smaps).
    pub fn resident_kib(addr: usize) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            let range = line.split(' ').next().unwrap_or("");
            if let Some((a, b)) = range.split_once('-')
                && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                inside = (a..b).contains(&addr);
                continue;
            }
            if inside && let Some(kib) = line.strip_prefix("Rss:") {
                return kib.trim().trim_end_matches(" kB").parse().unwrap();
            }
        }
        panic!("no mapping holds {addr:#x}");
    }
}

#[cfg(not(target_os = "linux"))]
mod sched {
    pub fn command(_: &redcon::Command<'_>) -> Option<Vec<u8>> {
        None
    }
}

#[cfg(target_os = "linux")]
#[test]
fn reused_threads_keep_their_stack_size_and_inherited_scheduling() {
    let _serial = serial();
    let stack = 512 * 1024;
    // Started from a SCHED_BATCH thread: every connection thread inherits its policy.
    let (server, h) = thread::spawn(move || {
        sched::set_policy(libc::SCHED_BATCH);
        start(|s| s.stack_size(stack))
    })
    .join()
    .unwrap();
    let batch = format!(":{}\r\n", libc::SCHED_BATCH).into_bytes();

    let mut first = connect(&server);
    let thread = tid(&mut first);
    let size = call(&mut first, b"STACK\r\n");
    assert_eq!(call(&mut first, b"SCHED\r\n"), batch);
    drop(first);
    h.closes.wait_for(1);
    wait_idle(&server, 1);

    let mut second = connect(&server);
    assert_eq!(tid(&mut second), thread, "the thread was not reused");
    assert_eq!(call(&mut second, b"STACK\r\n"), size);
    assert_eq!(call(&mut second, b"SCHED\r\n"), batch);
    // This handler moves its thread back to SCHED_OTHER: that thread must not serve
    // anyone else, who would inherit the change.
    assert_eq!(call(&mut second, b"SCHEDOTHER\r\n"), b":0\r\n");
    drop(second);
    h.closes.wait_for(2);
    common::wait_until("the changed thread exits", || server.clients() == 0);

    let mut third = connect(&server);
    assert_ne!(
        tid(&mut third),
        thread,
        "a thread with changed scheduling was reused"
    );
    assert_eq!(call(&mut third, b"SCHED\r\n"), batch);
    // A new thread may get a larger stack than asked for: the C library hands out a
    // cached stack of an exited thread if it is large enough.
    for reply in [size, call(&mut third, b"STACK\r\n")] {
        let reported: usize = std::str::from_utf8(&reply[1..reply.len() - 2])
            .unwrap()
            .parse()
            .unwrap();
        assert!(reported >= stack, "stack of {reported} bytes");
    }
    drop(third);
    server.shutdown();
}

#[cfg(target_os = "linux")]
#[test]
fn a_waiting_thread_gives_back_the_stack_a_deep_connection_touched() {
    let _serial = serial();
    let (server, h) = start(|s| s);
    let mut c = connect(&server);
    let top = call(&mut c, b"STACKTOP\r\n");
    let top: usize = std::str::from_utf8(&top[1..top.len() - 2])
        .unwrap()
        .parse()
        .unwrap();
    // An address inside the stack, near its top.
    let inside = top - 1024;
    let shallow = sched::resident_kib(inside);
    assert!(call(&mut c, b"DEEP\r\n").starts_with(b":"));
    let deep = sched::resident_kib(inside);
    assert!(deep >= shallow + 64, "{shallow} KiB, then {deep} KiB");
    drop(c);
    h.closes.wait_for(1);
    wait_idle(&server, 1);
    let waiting = sched::resident_kib(inside);
    assert!(
        waiting <= shallow + 16,
        "{shallow} KiB before, {waiting} KiB waiting"
    );
    server.shutdown();
}
