//! The floor under any one-thread-per-client server on this machine: what the kernel
//! alone charges per request when a thread blocks in `read`, wakes, and `write`s its
//! replies. `benches/load.sh` runs it beside redis-server and the clone (server `floor`).
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
//! `cargo build --release -p redcon-benches --bin floor` builds it as
//! `target/release/floor`; run it with the address to listen on and optionally the read
//! buffer's size (default 64 KiB).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

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

fn main() {
    let mut args = std::env::args().skip(1);
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
    for s in listener.incoming().flatten() {
        // The same small stacks as the library's connection threads.
        let _ = thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || serve(s, buffer));
    }
}
