//! A small Redis clone on redcon: the string commands everyday clients send (counters,
//! ranges, INCRBYFLOAT in Redis's long double arithmetic), expiry (lazy and active) with
//! the EXPIRE family, 16 databases, KEYS and SCAN with Redis's glob, RENAME and COPY,
//! CONFIG GET, CLIENT and HELLO, pub/sub (PUBLISH, SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE,
//! PUNSUBSCRIBE, in RESP2 and RESP3), and DETACH — every reply byte-identical to Redis 7
//! for the same input — plus a minimal INFO, which ioredis needs before anything else.
//! The README lists every command and the few documented differences.
//!
//! ```text
//! cargo run --release --example clone -- [--addr HOST:PORT] [--unix PATH]
//!                                        [--tls-cert PEM --tls-key PEM]
//!                                        [--cluster HOST:PORT,... [--cluster-replicas N]]
//!                                        [--max-idle-threads N]
//! ```
//! Default address 127.0.0.1:6380. `--unix` serves a Unix socket instead of TCP; the
//! TLS flags serve TLS on `--addr`; `--cluster` makes it one node of a Redis Cluster
//! whose masters are the listed addresses (this node is `--addr`); `--max-idle-threads`
//! sets how many connection threads wait for a new client (0: no thread reuse, for
//! comparisons). Logging goes through `RUST_LOG`. SIGINT, SIGTERM and `SHUTDOWN` stop it
//! gracefully (exit status 0).

mod active_expire;
mod blocking;
mod cluster;
mod commands;
mod expire;
mod keyspace;
mod lists;
mod long_double;
mod scan;
mod server_cmds;
mod specs;
mod stop;
mod store;
mod strings;

use cluster::ClusterKeys;
use commands::build_mux;
use redcon::cluster::Cluster;
use redcon::commands::{CommandSpec, CommandTable};
use redcon::mux::Mux;
use redcon::pubsub::PubSub;
use redcon::{reply, Command, Conn, Handler, Server};
use std::sync::Arc;
use store::Store;

/// The clone's handler: the command table, plus DETACH, which hands the connection to
/// a `DetachedConn` that goes on serving the same table (with pub/sub).
struct Clone {
    mux: Arc<Mux>,
    pubsub: PubSub,
}

impl Handler for Clone {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if cmd.is("detach") {
            if cmd.len() != 1 {
                return conn.write_error(reply::wrong_arity("detach"));
            }
            conn.write_string("OK");
            // The server's own handler, so DETACH itself keeps working too.
            let this = Clone {
                mux: self.mux.clone(),
                pubsub: self.pubsub.clone(),
            };
            let handler = self.pubsub.handler(this);
            conn.detach(move |d| {
                std::thread::spawn(move || d.serve(&handler));
            });
            return;
        }
        self.mux.on_command(conn, cmd)
    }

    fn commands(&self) -> Option<Arc<CommandTable>> {
        self.mux.commands()
    }
}

struct Args {
    addr: String,
    unix: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    cluster: Option<String>,
    cluster_replicas: usize,
    /// `Server::max_idle_threads`; the library's default when not given.
    max_idle_threads: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        addr: "127.0.0.1:6380".into(),
        unix: None,
        tls_cert: None,
        tls_key: None,
        cluster: None,
        cluster_replicas: 0,
        max_idle_threads: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => a.addr = value()?,
            "--unix" => a.unix = Some(value()?),
            "--tls-cert" => a.tls_cert = Some(value()?),
            "--tls-key" => a.tls_key = Some(value()?),
            "--cluster" => a.cluster = Some(value()?),
            "--max-idle-threads" => {
                let v = value()?;
                let n = v
                    .parse()
                    .map_err(|_| format!("--max-idle-threads {v}: not a number"))?;
                a.max_idle_threads = Some(n);
            }
            "--cluster-replicas" => {
                a.cluster_replicas = value()?
                    .parse()
                    .map_err(|_| "--cluster-replicas needs a number".to_string())?
            }
            "-h" | "--help" => {
                return Err("usage: clone [--addr HOST:PORT] [--unix PATH] \
                            [--tls-cert PEM --tls-key PEM] \
                            [--cluster HOST:PORT,HOST:PORT,... [--cluster-replicas N]] \
                            [--max-idle-threads N]"
                    .into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.tls_cert.is_some() != a.tls_key.is_some() {
        return Err("--tls-cert and --tls-key go together".into());
    }
    Ok(a)
}

/// Serves TLS with the PEM files given; exits if they cannot be loaded.
#[cfg(feature = "tls")]
fn with_tls<H: Handler>(server: Server<H>, cert: &str, key: &str) -> Server<H> {
    match redcon::load_tls_config(cert, key) {
        Ok(cfg) => server.tls(cfg),
        Err(e) => {
            eprintln!("cannot load TLS certificate/key: {e}");
            std::process::exit(1);
        }
    }
}

/// Built without the `tls` feature: TLS flags are an error.
#[cfg(not(feature = "tls"))]
fn with_tls<H: Handler>(_: Server<H>, _: &str, _: &str) -> Server<H> {
    eprintln!("this build has no TLS support (the `tls` feature is off)");
    std::process::exit(2);
}

fn main() {
    env_logger::init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let store = Arc::new(Store::new());
    let cluster = match &args.cluster {
        Some(list) => match cluster::topology(&args.addr, list, args.cluster_replicas) {
            Ok(t) => Some(Cluster::with_store(t, ClusterKeys(store.clone()))),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    active_expire::start(store.clone());
    let mut mux = build_mux(store);
    let (stop, stops) = stop::channel_pair();
    stop::register(&mut mux, stop.clone());
    // The clone's own command, not Redis's: described so COMMAND lists it.
    mux.describe(
        CommandSpec::new("detach", 1)
            .summary("Hand the connection to a detached connection that serves it on")
            .group("connection"),
    );
    let mux = Arc::new(mux);
    let pubsub = PubSub::new();
    let clone = Clone {
        mux: mux.clone(),
        pubsub: pubsub.clone(),
    };
    // PUBLISH, (P)SUBSCRIBE and (P)UNSUBSCRIBE around the clone's own commands.
    let handler = pubsub.handler(clone);
    let mut server = Server::new(handler);
    if let Some(c) = cluster {
        server = server.cluster(c);
    }
    let mut scheme = "redis";
    let where_ = match &args.unix {
        Some(path) => {
            server = server.unix(path);
            path.clone()
        }
        None => {
            server = server.addr(args.addr.clone());
            args.addr.clone()
        }
    };
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        server = with_tls(server, cert, key);
        scheme = "rediss";
    }
    if let Some(n) = args.max_idle_threads {
        server = server.max_idle_threads(n);
    }
    let handle = match server.start() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("cannot listen on {where_}: {e}");
            std::process::exit(1);
        }
    };
    let shown = if args.unix.is_some() {
        format!("unix:{}", handle.local_addr())
    } else {
        format!("{scheme}://{}", handle.local_addr())
    };
    println!("listening on {shown}");
    // Until SIGINT, SIGTERM or SHUTDOWN; then a graceful stop and exit status 0.
    stop::serve_until_stopped(handle, stop, stops);
}
