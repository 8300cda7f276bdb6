//! The floor under any one-thread-per-client server on this machine: what the kernel
//! alone charges per request when a thread blocks in `read`, wakes, and `write`s its
//! replies. `benches/load.sh` runs it beside redis-server and the clone (as the servers
//! `floor` and, with `--reuse`, `floorreuse`).
//!
//! It is not a Redis server. It answers `+OK` to every `*` it reads, which is one reply
//! per request for redis-benchmark's `SET`/`GET` (their keys and values hold no `*`),
//! and redis-benchmark only counts replies; a read with no `*` at all (an inline `PING`,
//! as `benches/idle_memory.sh` sends) gets one `+PONG`. It parses nothing, stores
//! nothing and allocates nothing per request: one `read` per batch of input, one `write`
//! per batch of replies, exactly the system calls the clone makes. Whatever CPU per
//! request it uses is the part of the clone's figure that no change to the library can
//! remove while the shape stays one blocking thread per client. Likewise its memory per
//! idle connection (run with a 512-byte read buffer, the library's default) is what a
//! thread per client costs before any state of the library's.
//!
//! With `--reuse`, a thread whose client left waits up to 10 s for the next one, and the
//! acceptor hands a new client to the thread that waited least long before it spawns
//! one, as the library does: the floor for servers that reuse their threads, where a
//! connection per request (`-k 0`) would otherwise charge every request a thread's
//! creation and exit. Waiting threads block on a condition variable each, as the
//! library's do; unlike the library's, their number is not bounded.
//!
//! `cargo build --release -p redcon-benches --bin floor` builds it as
//! `target/release/floor`; run it with the address to listen on, optionally the read
//! buffer's size (default 64 KiB), and optionally `--reuse`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn serve(mut s: TcpStream, buffer: usize) {
    let _ = s.set_nodelay(true);
    let mut input = vec![0u8; buffer];
    // Grows to the largest batch of replies once; an idle connection's stays tiny.
    let mut out = Vec::new();
    loop {
        let n = match s.read(&mut input) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let requests = input[..n].iter().filter(|&&b| b == b'*').count();
        out.clear();
        for _ in 0..requests {
            out.extend_from_slice(b"+OK\r\n");
        }
        if requests == 0 {
            out.extend_from_slice(b"+PONG\r\n");
        }
        if s.write_all(&out).is_err() {
            return;
        }
    }
}

/// Where one waiting thread is handed its next client.
#[derive(Default)]
struct Seat {
    next: Mutex<Option<TcpStream>>,
    filled: Condvar,
}

/// The threads waiting for a client, the one that waited least long last.
type Waiting = Arc<Mutex<Vec<Arc<Seat>>>>;

const KEEP: Duration = Duration::from_secs(10);

/// Serves `s`, then (with `waiting`) each client handed to this thread until none
/// comes for [`KEEP`].
fn serve_all(mut s: TcpStream, buffer: usize, waiting: Option<Waiting>) {
    let seat = Arc::new(Seat::default());
    loop {
        serve(s, buffer);
        let Some(waiting) = &waiting else { return };
        waiting.lock().unwrap().push(seat.clone());
        let deadline = Instant::now() + KEEP;
        let mut next = seat.next.lock().unwrap();
        while next.is_none() && Instant::now() < deadline {
            next = seat
                .filled
                .wait_timeout(next, deadline - Instant::now())
                .unwrap()
                .0;
        }
        match next.take() {
            Some(n) => s = n,
            None => {
                drop(next);
                let mut w = waiting.lock().unwrap();
                match w.iter().position(|x| Arc::ptr_eq(x, &seat)) {
                    Some(i) => {
                        w.remove(i);
                        return;
                    }
                    // Taken out by the acceptor just now: its client is on the way.
                    None => {
                        drop(w);
                        let mut next = seat.next.lock().unwrap();
                        while next.is_none() {
                            next = seat.filled.wait(next).unwrap();
                        }
                        s = next.take().unwrap();
                    }
                }
            }
        }
    }
}

fn main() {
    let reuse = std::env::args().any(|a| a == "--reuse");
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let Some(addr) = args.next() else {
        eprintln!("usage: floor HOST:PORT [READ_BUFFER_BYTES] (benches/load.sh runs it)");
        std::process::exit(2);
    };
    let buffer = args
        .next()
        .and_then(|b| b.parse().ok())
        .unwrap_or(64 * 1024);
    let listener = match TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("floor: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let waiting = reuse.then(Waiting::default);
    for s in listener.incoming().flatten() {
        let seat = waiting.as_ref().and_then(|w| w.lock().unwrap().pop());
        if let Some(seat) = seat {
            *seat.next.lock().unwrap() = Some(s);
            seat.filled.notify_one();
            continue;
        }
        let waiting = waiting.clone();
        // The same small stacks as the library's connection threads.
        let _ = thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || serve_all(s, buffer, waiting));
    }
}
