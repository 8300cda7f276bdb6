//! A small key-value server over TLS: PING, ECHO, SET, GET, QUIT.
//!
//! ```text
//! cargo run --example tls -- [PORT] [CERT.pem KEY.pem]
//! redis-cli --tls --cacert examples/tls/cert.pem -p PORT
//! ```
//! By default it listens on 127.0.0.1:6380 with the self-signed test certificate in
//! `examples/tls/` (valid for `localhost` and `127.0.0.1`). That key is public: never
//! use it for anything real. See `examples/tls/README.md` to make your own.

mod signals;

use redcon::{Command, Conn, Server};
use std::collections::HashMap;
use std::sync::Mutex;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tls");

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = args.first().map_or("6380", String::as_str);
    // `shown` is the certificate path as a user in the crate's directory would type it.
    let (cert, key, shown) = match &args[..] {
        [_, cert, key] => (cert.clone(), key.clone(), cert.clone()),
        _ => (
            format!("{DIR}/cert.pem"),
            format!("{DIR}/key.pem"),
            "examples/tls/cert.pem".to_string(),
        ),
    };
    let config = match redcon::load_tls_config(&cert, &key) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot load {cert} / {key}: {e}");
            std::process::exit(1);
        }
    };

    let store = Mutex::new(HashMap::<Vec<u8>, Vec<u8>>::new());
    let handler = move |conn: &mut Conn, cmd: Command| {
        // A poisoned lock only means another client's command panicked mid-way.
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        match (cmd.name().to_ascii_lowercase().as_slice(), cmd.len()) {
            (b"ping", 1) => conn.write_string("PONG"),
            (b"ping", 2) | (b"echo", 2) => conn.write_bulk(&cmd[1]),
            (b"set", 3) => {
                store.insert(cmd[1].to_vec(), cmd[2].to_vec());
                conn.write_string("OK");
            }
            (b"get", 2) => match store.get(&cmd[1]) {
                Some(v) => conn.write_bulk(v),
                None => conn.write_null(),
            },
            (b"quit", _) => {
                conn.write_string("OK");
                conn.close();
            }
            (b"ping" | b"echo" | b"set" | b"get", _) => {
                let name = String::from_utf8_lossy(cmd.name()).to_lowercase();
                conn.write_error(redcon::reply::wrong_arity(&name));
            }
            _ => conn.write_error(redcon::reply::unknown_command(&cmd)),
        }
    };

    let server = match Server::new(handler)
        .addr(format!("127.0.0.1:{port}"))
        .tls(config)
        .start()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on port {port}: {e}");
            std::process::exit(1);
        }
    };
    let port = match server.local_addr() {
        redcon::ListenAddr::Tcp(a) => a.port(),
        redcon::ListenAddr::Unix(_) => unreachable!("listening on TCP"),
    };
    println!("TLS server on 127.0.0.1:{port} with {shown}");
    println!("connect:  redis-cli --tls --cacert {shown} -p {port}");
    println!("your own certificate (self-signed, 10 years, for localhost):");
    println!(
        "  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \\\n    \
         -days 3650 -subj /CN=localhost \\\n    \
         -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \\\n    \
         -addext basicConstraints=critical,CA:FALSE \\\n    \
         -keyout key.pem -out cert.pem"
    );
    println!("  cargo run --example tls -- {port} cert.pem key.pem");
    // Ctrl-C or SIGTERM: answer what was read, run every on_close, exit 0.
    signals::serve_until_signal(server);
}
