//! Shutdown under load: 200 clients pipelining SET / GET / INCR when `shutdown()` is
//! called. Every command the server applied got its reply (the store and the replies
//! agree exactly, per client), nothing arrives half-written, `on_close` runs once per
//! connection, `shutdown()` joins every connection thread (and says how many), and it
//! returns in bounded time even when clients never read or never close.

mod common_hostile;

use common_hostile::{encode, start, threads, wait_until, Client};
use redcon::resp::OwnedValue;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const CLIENTS: usize = 200;
const PER_BATCH: usize = 20;
const GRACE: Duration = Duration::from_secs(10);

/// What one client saw: (SET replies, GET replies, INCR replies), each checked in order.
type Seen = (u64, u64, u64);

struct CloseOnDrop(TcpStream);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

/// Sends batches of `SET c{i}:{j} j`, `GET c{i}:{j}`, `INCR n{i}` until its writes
/// fail, at most two batches ahead of the replies `seen` (as a pipelining client keeps
/// a window, rather than flooding: 200 clients flooding one handler lock starve some
/// of them for seconds on a loaded machine, which is the handler's fairness, not what
/// this test is about).
fn writer(mut s: TcpStream, i: usize, stop: Arc<AtomicBool>, seen: Arc<AtomicU64>) {
    let counter = format!("n{i}");
    let mut j = 0u64;
    let window = 2 * 3 * PER_BATCH as u64;
    while !stop.load(Ordering::Relaxed) {
        if 3 * j > seen.load(Ordering::Relaxed) + window {
            thread::sleep(Duration::from_millis(1));
            continue;
        }
        let mut batch = Vec::new();
        for _ in 0..PER_BATCH {
            let key = format!("c{i}:{j}");
            let val = j.to_string();
            batch.extend(encode(&[b"SET", key.as_bytes(), val.as_bytes()]));
            batch.extend(encode(&[b"GET", key.as_bytes()]));
            batch.extend(encode(&[b"INCR", counter.as_bytes()]));
            j += 1;
        }
        if s.write_all(&batch).is_err() {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Reads replies until the server closes, checking each against the command order and
/// counting them in `seen`. `started` counts the clients that had a first reply.
fn reader(s: TcpStream, i: usize, started: Arc<AtomicUsize>, seen: Arc<AtomicU64>) -> Seen {
    let mut c = Client::from_stream(s);
    // Like a real client: at the end of the stream, close (the writer then fails too).
    let _close_at_end = CloseOnDrop(c.stream.try_clone().expect("clone"));
    let (mut sets, mut gets, mut incrs) = (0u64, 0u64, 0u64);
    // Replies come in command order: SET j, GET j, INCR (= j + 1).
    while let Some(v) = c.try_reply() {
        if sets + gets + incrs == 0 {
            started.fetch_add(1, Ordering::Relaxed);
        }
        seen.fetch_add(1, Ordering::Relaxed);
        match (sets + gets + incrs) % 3 {
            0 => {
                assert_eq!(v, OwnedValue::SimpleString(b"OK".to_vec()), "client {i}");
                sets += 1;
            }
            1 => {
                let want = (sets - 1).to_string().into_bytes();
                assert_eq!(v, OwnedValue::Bulk(want), "client {i}");
                gets += 1;
            }
            _ => {
                assert_eq!(v, OwnedValue::Integer(incrs as i64 + 1), "client {i}");
                incrs += 1;
            }
        }
    }
    (sets, gets, incrs)
}

#[test]
fn shutdown_under_load_loses_no_reply() {
    let _serial = common_hostile::serial();
    let threads_before = threads();
    let (handle, state) = start(|s| s.shutdown_grace(GRACE));
    let addr = common_hostile::addr(&handle);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for i in 0..CLIENTS {
        let s = common_hostile::connect(&addr);
        let w = s.try_clone().expect("clone");
        let (started, seen) = (started.clone(), Arc::new(AtomicU64::new(0)));
        let seen_by_writer = seen.clone();
        readers.push(thread::spawn(move || reader(s, i, started, seen)));
        let stop = stop.clone();
        writers.push(thread::spawn(move || writer(w, i, stop, seen_by_writer)));
    }
    assert!(wait_until(Duration::from_secs(5), || handle.clients() == CLIENTS));
    // Shut down in the thick of it: once every client has had replies (not after a
    // fixed delay, which on a loaded machine some clients' first turn outlasted), and
    // a moment more so most are mid-batch.
    assert!(
        wait_until(Duration::from_secs(8), || {
            started.load(Ordering::Relaxed) == CLIENTS
        }),
        "{} of {CLIENTS} clients had a reply",
        started.load(Ordering::Relaxed)
    );
    thread::sleep(Duration::from_millis(200));

    let t = Instant::now();
    let joined = handle.shutdown();
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<Seen> = readers
        .into_iter()
        .map(|r| r.join().expect("a client saw a bad reply"))
        .collect();
    for w in writers {
        w.join().expect("writer");
    }

    let store = state.store();
    let mut total = 0;
    for (i, &(sets, gets, incrs)) in seen.iter().enumerate() {
        // What the server applied, from the store: SETs by key count, INCRs by counter.
        let applied_sets = store
            .keys()
            .filter(|k| k.starts_with(format!("c{i}:").as_bytes()))
            .count() as u64;
        let applied_incrs: u64 = store
            .get(format!("n{i}").as_bytes())
            .map_or(0, |v| String::from_utf8_lossy(v).parse().expect("counter"));
        assert_eq!(applied_sets, sets, "client {i}: SETs applied vs answered");
        assert_eq!(
            applied_incrs, incrs,
            "client {i}: INCRs applied vs answered"
        );
        // A GET between them was answered if the INCR after it was.
        assert!(
            gets == incrs || gets == incrs + 1,
            "client {i}: {gets} GETs"
        );
        assert!(sets > 0, "client {i} got nothing done");
        total += sets + gets + incrs;
    }
    drop(store);

    let times = state.close_times();
    let first = times.iter().min().map(|x| x.duration_since(t));
    let last = times.iter().max().map(|x| x.duration_since(t));
    println!("on_close ran from {first:?} to {last:?} after shutdown() was called");
    let closes = state.closes();
    let ids: HashSet<u64> = closes.iter().map(|(id, _)| *id).collect();
    assert_eq!(closes.len(), CLIENTS, "on_close calls");
    assert_eq!(ids.len(), CLIENTS, "on_close ran twice for a connection");
    assert_eq!(
        state.closes_with("ServerShutdown"),
        CLIENTS,
        "{:?}",
        closes.iter().find(|(_, r)| r != "ServerShutdown")
    );
    assert_eq!(joined, CLIENTS, "threads joined");
    assert!(took < GRACE, "shutdown took {took:?}");
    assert!(wait_until(Duration::from_secs(5), || threads() <= threads_before + 1));
    println!(
        "shutdown under load: {total} replies to {CLIENTS} clients, all matching the \
         store; shutdown() took {took:?} and joined {joined} threads; threads back to {}",
        threads()
    );
}

#[test]
fn shutdown_is_bounded_when_clients_never_read_or_close() {
    let _serial = common_hostile::serial();
    let grace = Duration::from_millis(500);
    // No write timeout: only the shutdown grace can free a blocked writer.
    let (handle, state) = start(|s| s.shutdown_grace(grace).write_timeout(None));
    let addr = common_hostile::addr(&handle);

    // Never reads: 64 MiB of replies asked for, the server is blocked writing them.
    let mut stuck = common_hostile::connect(&addr);
    let mut asks = Vec::new();
    for _ in 0..64 {
        asks.extend(encode(&[b"BIG", b"1048576"]));
    }
    stuck.write_all(&asks).expect("ask");
    // Never closes: idle, and halfway through a command.
    let idle = Client::connect(&addr);
    let mut half = common_hostile::connect(&addr);
    half.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk").expect("half");
    // In a slow command when the shutdown comes: its reply still goes out.
    let mut slow = Client::connect(&addr);
    slow.send(&encode(&[b"SLEEP", b"300"]));
    assert!(wait_until(Duration::from_secs(5), || handle.clients() == 4));
    thread::sleep(Duration::from_millis(200));

    let t = Instant::now();
    let joined = handle.shutdown();
    let took = t.elapsed();
    println!("shutdown with a client that never reads: {took:?}, joined {joined}");
    assert!(
        took < grace + Duration::from_secs(2),
        "shutdown took {took:?}"
    );
    assert_eq!(joined, 4);
    assert_eq!(slow.reply(), OwnedValue::SimpleString(b"OK".to_vec()));
    assert_eq!(slow.try_reply(), None);
    let mut rest = Vec::new();
    let _ = half.read_to_end(&mut rest);
    assert!(rest.is_empty());
    let closes = state.closes();
    assert_eq!(closes.len(), 4, "{closes:?}");
    assert_eq!(
        closes
            .iter()
            .map(|(id, _)| id)
            .collect::<HashSet<_>>()
            .len(),
        4
    );
    assert!(state.store().is_empty());
    drop((stuck, idle));
}

/// The case that used to lose replies: a client that reads slowly (so replies queue in
/// the server's socket) and keeps sending. Closing such a socket outright makes TCP
/// reset it and drop the queued replies; the server must let them drain first.
#[test]
fn shutdown_delivers_queued_replies_to_a_slow_reader_that_keeps_sending() {
    for round in 0..3 {
        let (handle, state) = start(|s| s.shutdown_grace(GRACE));
        let addr = common_hostile::addr(&handle);
        let s = common_hostile::connect(&addr);
        let mut w = s.try_clone().expect("clone");
        let writer = thread::spawn(move || {
            let mut batch = Vec::new();
            for _ in 0..100 {
                batch.extend(encode(&[b"INCR", b"n"]));
                batch.extend(encode(&[b"BIG", b"2000"]));
            }
            while w.write_all(&batch).is_ok() {}
        });
        let reader = thread::spawn(move || {
            let mut c = Client::from_stream(s);
            let _close_at_end = CloseOnDrop(c.stream.try_clone().expect("clone"));
            let (mut last, mut k) = (0, 0u64);
            while let Some(v) = c.try_reply() {
                if let OwnedValue::Integer(n) = v {
                    assert_eq!(n, last + 1, "INCR replies out of order");
                    last = n;
                }
                k += 1;
                if k % 200 == 0 {
                    thread::sleep(Duration::from_millis(2));
                }
            }
            last
        });
        thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        assert_eq!(handle.shutdown(), 1);
        let took = t.elapsed();
        let answered = reader.join().expect("reader");
        writer.join().expect("writer");
        let applied: i64 = String::from_utf8_lossy(&state.store()[&b"n"[..]])
            .parse()
            .expect("counter");
        println!("slow reader, round {round}: {applied} INCRs applied, {answered} answered; shutdown {took:?}");
        assert_eq!(applied, answered);
        assert!(took < GRACE);
    }
}
