//! A small Redis clone on redcon: the string commands everyday clients send (counters,
//! ranges, INCRBYFLOAT in Redis's long double arithmetic), expiry (lazy and active) with
//! the EXPIRE family, 16 databases, KEYS and SCAN with Redis's glob, RENAME and COPY,
//! CONFIG GET, CLIENT and HELLO, DUMP / RESTORE / MIGRATE (to and from redis-server),
//! pub/sub (PUBLISH, SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE,
//! PUNSUBSCRIBE, in RESP2 and RESP3), and DETACH — every reply byte-identical to Redis 7
//! for the same input — plus a minimal INFO, which ioredis needs before anything else.
//! The README lists every command and the few documented differences.
//!
//! ```text
//! cargo run --release --example clone -- [--addr HOST:PORT] [--unix PATH]
//!                                        [--tls-cert PEM --tls-key PEM
//!                                         [--tls-ca-cert PEM] [--tls-auth-clients yes|no|optional]]
//!                                        [--cluster HOST:PORT,... [--cluster-replicas N] | --cluster-empty]
//!                                        [--max-idle-threads N]
//!                                        [--requirepass PASS] [--aclfile PATH]
//!                                        [--protected-mode yes|no]
//! ```
//! Default address 127.0.0.1:6380. `--unix` serves a Unix socket instead of TCP; the
//! TLS flags serve TLS on `--addr`; `--cluster` makes it one node of a Redis Cluster
//! whose masters are the listed addresses (this node is `--addr`); `--cluster-empty`
//! makes it a cluster node that knows only itself and serves no slot, as a fresh
//! `redis-server --cluster-enabled yes`, for `redis-cli --cluster add-node` (or
//! `create`) to take in; `--max-idle-threads`
//! sets how many connection threads wait for a new client (0: no thread reuse, for
//! comparisons). `--tls-ca-cert` asks TLS clients for a certificate signed by that CA
//! (`--tls-auth-clients`, default yes, as Redis), and a certificate logs its client in
//! as the ACL user its common name names. `--requirepass` and `--aclfile` turn on access control as Redis's
//! options of the same names (the ACL file in Redis's syntax, written back by `ACL
//! SAVE`); `--protected-mode` (default yes) refuses clients from other hosts while the
//! default user has no password. Logging goes through `RUST_LOG`. SIGINT, SIGTERM and
//! `SHUTDOWN` stop it gracefully (exit status 0).

mod active_expire;
mod blocking;
mod client_list;
mod cluster;
mod commands;
mod expire;
mod keyspace;
mod lists;
mod long_double;
mod migrate;
mod scan;
mod server_cmds;
mod shard;
#[path = "../signals.rs"]
mod signals;
mod specs;
mod stop;
mod store;
mod strings;

use cluster::ClusterKeys;
use commands::build_mux;
use redcon::auth::Acl;
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
    /// `--tls-ca-cert`: ask TLS clients for a certificate signed by this CA.
    tls_ca: Option<String>,
    /// `--tls-auth-clients`: yes (the default, as Redis), no or optional.
    tls_auth_clients: String,
    cluster: Option<String>,
    cluster_replicas: usize,
    /// `--cluster-empty`: a cluster node alone, without slots.
    cluster_empty: bool,
    /// `Server::max_idle_threads`; the library's default when not given.
    max_idle_threads: Option<usize>,
    requirepass: Option<String>,
    aclfile: Option<String>,
    protected_mode: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        addr: "127.0.0.1:6380".into(),
        unix: None,
        tls_cert: None,
        tls_key: None,
        tls_ca: None,
        tls_auth_clients: "yes".into(),
        cluster: None,
        cluster_replicas: 0,
        cluster_empty: false,
        max_idle_threads: None,
        requirepass: None,
        aclfile: None,
        protected_mode: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => a.addr = value()?,
            "--unix" => a.unix = Some(value()?),
            "--tls-cert" => a.tls_cert = Some(value()?),
            "--tls-key" => a.tls_key = Some(value()?),
            "--tls-ca-cert" => a.tls_ca = Some(value()?),
            "--tls-auth-clients" => {
                a.tls_auth_clients = value()?.to_ascii_lowercase();
                if !["yes", "no", "optional"].contains(&a.tls_auth_clients.as_str()) {
                    return Err("--tls-auth-clients: yes, no or optional".into());
                }
            }
            "--cluster" => a.cluster = Some(value()?),
            "--cluster-empty" => a.cluster_empty = true,
            "--requirepass" => a.requirepass = Some(value()?),
            "--aclfile" => a.aclfile = Some(value()?),
            "--protected-mode" => {
                a.protected_mode = match value()?.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    v => return Err(format!("--protected-mode {v}: yes or no")),
                }
            }
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
                            [--tls-cert PEM --tls-key PEM [--tls-ca-cert PEM] \
                            [--tls-auth-clients yes|no|optional]] \
                            [--cluster HOST:PORT,HOST:PORT,... [--cluster-replicas N] | --cluster-empty] \
                            [--max-idle-threads N] [--requirepass PASS] [--aclfile PATH] \
                            [--protected-mode yes|no]"
                    .into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.cluster_empty && a.cluster.is_some() {
        return Err("--cluster and --cluster-empty exclude each other".into());
    }
    if a.tls_cert.is_some() != a.tls_key.is_some() {
        return Err("--tls-cert and --tls-key go together".into());
    }
    Ok(a)
}

/// Serves TLS with the PEM files given (asking clients for a certificate signed by the
/// CA, if one is given, as Redis's `tls-auth-clients`; a client's certificate then
/// logs it in as the ACL user its CN names); exits if they cannot be loaded.
#[cfg(feature = "tls")]
fn with_tls<H: Handler>(server: Server<H>, cert: &str, key: &str, args: &Args) -> Server<H> {
    use redcon::TlsClientAuth;
    let mode = match args.tls_auth_clients.as_str() {
        "optional" => Some(TlsClientAuth::Optional),
        "no" => None,
        _ => Some(TlsClientAuth::Required),
    };
    let loaded = match (&args.tls_ca, mode) {
        (Some(ca), Some(mode)) => {
            redcon::load_tls_config_with_client_auth(cert, key, ca, mode).map(|cfg| (cfg, true))
        }
        _ => redcon::load_tls_config(cert, key).map(|cfg| (cfg, false)),
    };
    match loaded {
        Ok((cfg, certs)) => server.tls(cfg).tls_user_from_cn(certs),
        Err(e) => {
            eprintln!("cannot load TLS certificate/key: {e}");
            std::process::exit(1);
        }
    }
}

/// Built without the `tls` feature: TLS flags are an error.
#[cfg(not(feature = "tls"))]
fn with_tls<H: Handler>(_: Server<H>, _: &str, _: &str, _: &Args) -> Server<H> {
    eprintln!("this build has no TLS support (the `tls` feature is off)");
    std::process::exit(2);
}

/// The ACL the access-control flags ask for (none without them); exits if the ACL
/// file is refused, as Redis does.
fn access_control(args: &Args, table: Option<Arc<CommandTable>>) -> Option<Acl> {
    if args.requirepass.is_none() && args.aclfile.is_none() {
        return None;
    }
    let mut acl = Acl::new();
    if let Some(table) = table {
        acl = acl.with_commands(table);
    }
    if let Some(path) = &args.aclfile {
        if let Err(e) = acl.load_file(path) {
            eprintln!("cannot load the ACL file: {e}");
            std::process::exit(1);
        }
    }
    if let Some(pass) = &args.requirepass {
        acl.set_requirepass(pass);
    }
    Some(acl)
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
    let topology = match (&args.cluster, args.cluster_empty) {
        (Some(list), _) => Some(cluster::topology(&args.addr, list, args.cluster_replicas)),
        (None, true) => {
            Some(redcon::cluster::Topology::alone(&args.addr).map_err(|e| format!("--addr: {e}")))
        }
        (None, false) => None,
    }
    .transpose()
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    // A cluster node's store keeps an index of each slot's keys.
    let store = Arc::new(Store::new(topology.is_some()));
    let cluster = topology.map(|t| {
        let c = Cluster::with_store(t, ClusterKeys(store.clone()));
        // The links to the other nodes (forwarded PUBLISH, views of the cluster) log in
        // as the default user, with the password every node is started with.
        if let Some(pass) = &args.requirepass {
            c.set_link_auth(None, pass);
        }
        c
    });
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
    let table = handler.commands();
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
        server = with_tls(server, cert, key, &args);
        scheme = "rediss";
    }
    if let Some(n) = args.max_idle_threads {
        server = server.max_idle_threads(n);
    }
    if let Some(acl) = access_control(&args, table) {
        server = server.acl(acl);
    }
    server = server.protected_mode(args.protected_mode);
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
