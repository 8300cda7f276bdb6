//! A key-value server built on `Mux`: commands are registered by name with a
//! Redis-style arity, so wrong argument counts and unknown commands get Redis 7's own
//! errors before any handler runs.
//!
//! ```text
//! cargo run --example mux            # then: redis-cli -p 6381 set k v
//! cargo run --example mux -- 127.0.0.1:7000   # another address
//! ```

mod signals;

use redcon::mux::{Arity, Mux};
use redcon::Server;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

fn main() -> Result<(), redcon::Error> {
    env_logger::init();
    let db: Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>> = Arc::default();
    let mut mux = Mux::new();
    mux.handle("ping", Arity::AtLeast(1), |conn, cmd| match cmd.len() {
        1 => conn.write_string("PONG"),
        2 => conn.write_bulk(&cmd[1]),
        _ => conn.write_error(redcon::reply::wrong_arity("ping")),
    });
    let d = db.clone();
    mux.handle("set", Arity::Exactly(3), move |conn, cmd| {
        let mut map = d.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(cmd[1].to_vec(), cmd[2].to_vec());
        conn.write_string("OK");
    });
    let d = db.clone();
    mux.handle("get", Arity::Exactly(2), move |conn, cmd| {
        let map = d.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&cmd[1]) {
            Some(v) => conn.write_bulk(v),
            None => conn.write_null(),
        }
    });
    mux.handle_subcommand("client", "id", Arity::Exactly(2), |conn, _| {
        let id = conn.id();
        conn.write_u64(id);
    });
    mux.handle("quit", Arity::AtLeast(1), |conn, _| {
        conn.write_string("OK");
        conn.close();
    });
    // Another address as the first argument: `cargo run --example mux -- 127.0.0.1:7000`.
    let addr = std::env::args().nth(1);
    let addr = addr.as_deref().unwrap_or("127.0.0.1:6381");
    let handle = Server::new(mux).addr(addr).start()?;
    println!("listening on {}", handle.local_addr());
    // Ctrl-C or SIGTERM: answer what was read, run every on_close, exit 0.
    signals::serve_until_signal(handle);
    Ok(())
}
