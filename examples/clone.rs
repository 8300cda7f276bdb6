//! A small Redis clone on redcon: strings with expiry, 16 databases, KEYS with Redis's
//! glob, CLIENT and HELLO, pub/sub (PUBLISH, SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE,
//! PUNSUBSCRIBE, in RESP2 and RESP3), and DETACH — every reply byte-identical to Redis 7
//! for the same input — plus a minimal INFO, which ioredis needs before anything else.
//!
//! ```text
//! cargo run --release --example clone -- [--addr HOST:PORT] [--unix PATH]
//!                                        [--tls-cert PEM --tls-key PEM]
//!                                        [--max-idle-threads N]
//! ```
//! Default address 127.0.0.1:6380. `--unix` serves a Unix socket instead of TCP; the
//! TLS flags serve TLS on `--addr`; `--max-idle-threads` sets how many connection
//! threads wait for a new client (0: no thread reuse, for comparisons). Logging goes
//! through `RUST_LOG`.

use redcon::mux::{Arity, Mux};
use redcon::pubsub::{PubSub, PubSubHandler};
use redcon::resp::parse_int;
use redcon::{reply, Command, Conn, Handler, Server};
use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DATABASES: usize = 16;
/// Keys are spread over shards so 500 clients on two cores rarely meet on one lock.
const SHARDS: usize = 64;
/// Values up to this size are copied into the reply while the shard is read-locked;
/// larger ones are cloned first, because a large reply may go straight to the socket
/// and a slow client must not hold a lock.
const COPY_UNDER_LOCK: usize = 16 * 1024;

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entry {
    /// Whether the entry has not expired. The clock is read only for entries that can
    /// expire: most have no expiry, and reading the clock is a noticeable share of a GET.
    fn live(&self) -> bool {
        self.expires.map_or(true, |t| t > Instant::now())
    }
}

/// The store's hash: a seeded multiply-and-fold over 8-byte words (the construction of
/// wyhash and foldhash), several times faster than SipHash on short keys. The seed is
/// random per process, which stops precomputed collisions; unlike SipHash it makes no
/// promise against an attacker who can probe the server adaptively, a fair trade for
/// an example and one a production store would weigh.
#[derive(Clone)]
struct FoldHash {
    seed: u64,
}

struct FoldHasher {
    state: u64,
}

/// The 128-bit product of `a` and `b`, folded to 64 bits.
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl BuildHasher for FoldHash {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher { state: self.seed }
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.state = fold_mul(self.state ^ u64::from_le_bytes(b), MIX);
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut b = [0u8; 8];
            b[..tail.len()].copy_from_slice(tail);
            // The tail's length goes in too, so "a" and "a\0" differ.
            let word = u64::from_le_bytes(b) ^ ((tail.len() as u64) << 59);
            self.state = fold_mul(self.state ^ word, MIX);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.state = fold_mul(self.state ^ n as u64, MIX);
    }

    fn finish(&self) -> u64 {
        fold_mul(self.state, MIX.rotate_left(32))
    }
}

type Shard = HashMap<Vec<u8>, Entry, FoldHash>;

/// One database: a sharded map. Reads (GET, EXISTS, MGET) share a shard's lock.
struct Db {
    shards: Vec<RwLock<Shard>>,
}

/// All databases, shared by every connection.
struct Store {
    dbs: Vec<Db>,
    hasher: FoldHash,
}

// A panicking command never leaves a shard half-written; keep serving.
fn write_lock(m: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

fn read_lock(m: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    fn new() -> Store {
        let hasher = FoldHash {
            seed: RandomState::new().hash_one(0u64),
        };
        Store {
            dbs: (0..DATABASES)
                .map(|_| Db {
                    shards: (0..SHARDS)
                        .map(|_| RwLock::new(HashMap::with_hasher(hasher.clone())))
                        .collect(),
                })
                .collect(),
            hasher,
        }
    }

    fn slot(&self, db: usize, key: &[u8]) -> &RwLock<Shard> {
        // The map hashes with the same function; the top bits pick the shard so the
        // map's buckets (low bits) stay independent of it.
        let i = (self.hasher.hash_one(key) >> 58) as usize % SHARDS;
        &self.dbs[db].shards[i]
    }

    /// The shard holding `key`, locked for writing.
    fn shard(&self, db: usize, key: &[u8]) -> RwLockWriteGuard<'_, Shard> {
        write_lock(self.slot(db, key))
    }

    /// Writes the live value of `key` as a bulk reply, or a null; removes an expired one.
    fn write_value(&self, conn: &mut Conn, db: usize, key: &[u8]) {
        let shard = read_lock(self.slot(db, key));
        let large = match shard.get(key) {
            Some(e) if e.live() && e.value.len() <= COPY_UNDER_LOCK => {
                return conn.write_bulk(&e.value);
            }
            Some(e) if e.live() => Some(e.value.clone()),
            Some(_) => None,
            None => return conn.write_null(),
        };
        drop(shard);
        match large {
            Some(v) => conn.write_bulk(v),
            None => {
                let mut shard = self.shard(db, key);
                if shard.get(key).is_some_and(|e| !e.live()) {
                    shard.remove(key);
                }
                drop(shard);
                conn.write_null()
            }
        }
    }

    fn del(&self, db: usize, key: &[u8]) -> bool {
        let mut shard = self.shard(db, key);
        matches!(shard.remove(key), Some(e) if e.live())
    }

    fn exists(&self, db: usize, key: &[u8]) -> bool {
        matches!(read_lock(self.slot(db, key)).get(key), Some(e) if e.live())
    }

    fn for_each_live(&self, db: usize, mut f: impl FnMut(&[u8])) {
        for shard in &self.dbs[db].shards {
            for (k, e) in read_lock(shard).iter() {
                if e.live() {
                    f(k);
                }
            }
        }
    }

    fn flush(&self, db: usize) {
        for shard in &self.dbs[db].shards {
            // A new map, not `clear()`: the old table's memory goes back too.
            *write_lock(shard) = HashMap::with_hasher(self.hasher.clone());
        }
    }
}

/// The connection's selected database (set by SELECT).
struct Selected(usize);

fn db(conn: &Conn) -> usize {
    conn.context::<Selected>().map_or(0, |s| s.0)
}

/// SET's options, parsed as Redis 7's parseExtendedStringArgumentsOrReply does.
#[derive(Default)]
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    expires: Option<Instant>,
}

fn parse_set_options(cmd: &Command) -> Result<SetOptions, &'static str> {
    let mut o = SetOptions::default();
    let mut expire: Option<(&[u8], &[u8])> = None;
    let mut i = 3;
    while i < cmd.len() {
        let a = &cmd[i];
        let next = cmd.get(i + 1);
        let is = |s: &str| a.eq_ignore_ascii_case(s.as_bytes());
        if is("nx") && !o.xx {
            o.nx = true;
        } else if is("xx") && !o.nx {
            o.xx = true;
        } else if is("get") {
            o.get = true;
        } else if is("keepttl") && expire.is_none() {
            o.keepttl = true;
        } else if (is("ex") || is("px") || is("exat") || is("pxat"))
            && !o.keepttl
            // Redis lets the same unit repeat (the last one wins), not two units.
            && expire.map_or(true, |(unit, _)| unit.eq_ignore_ascii_case(a))
            && next.is_some()
        {
            expire = Some((a, next.unwrap_or_default()));
            i += 1;
        } else {
            return Err(reply::SYNTAX_ERROR);
        }
        i += 1;
    }
    // Like Redis, the time is checked only once every option parsed.
    if let Some((unit, raw)) = expire {
        let n = parse_int(raw).ok_or(reply::NOT_AN_INTEGER)?;
        o.expires = Some(expiry(unit, n).ok_or("ERR invalid expire time in 'set' command")?);
    }
    Ok(o)
}

/// When a key set with `EX|PX|EXAT|PXAT n` expires; `None` for a time Redis rejects.
fn expiry(unit: &[u8], n: i64) -> Option<Instant> {
    if n <= 0 {
        return None;
    }
    let ms: i64 = if unit.eq_ignore_ascii_case(b"ex") || unit.eq_ignore_ascii_case(b"exat") {
        n.checked_mul(1000)?
    } else {
        n
    };
    let now = Instant::now();
    if unit.len() == 2 {
        return now.checked_add(Duration::from_millis(ms as u64));
    }
    // Absolute Unix times: convert to an Instant relative to now.
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as i64;
    match ms.checked_sub(unix_ms) {
        Some(d) if d > 0 => now.checked_add(Duration::from_millis(d as u64)),
        _ => Some(now), // already in the past: expires at once
    }
}

fn set(store: &Store, conn: &mut Conn, cmd: Command) {
    let o = match parse_set_options(&cmd) {
        Ok(o) => o,
        Err(e) => return conn.write_error(e),
    };
    let (key, value) = (&cmd[1], &cmd[2]);
    let mut shard = store.shard(db(conn), key);
    // One lookup: an existing entry, live or expired, is overwritten in place, which
    // reuses the key and the value's allocation.
    let old_value = match shard.get_mut(key) {
        Some(e) => {
            let live = e.live();
            if (o.nx && live) || (o.xx && !live) {
                let old_value = (o.get && live).then(|| e.value.clone());
                drop(shard);
                return write_opt(conn, old_value);
            }
            e.expires = o.expires.or(e.expires.filter(|_| o.keepttl && live));
            if o.get && live {
                Some(std::mem::replace(&mut e.value, value.to_vec()))
            } else {
                e.value.clear();
                e.value.extend_from_slice(value);
                None
            }
        }
        // XX on a missing key: nothing is set, and there was no old value.
        None if o.xx => {
            drop(shard);
            return conn.write_null();
        }
        None => {
            shard.insert(
                key.to_vec(),
                Entry {
                    value: value.to_vec(),
                    expires: o.expires,
                },
            );
            None
        }
    };
    drop(shard);
    if o.get {
        write_opt(conn, old_value);
    } else {
        conn.write_string("OK");
    }
}

fn write_opt(conn: &mut Conn, v: Option<Vec<u8>>) {
    match v {
        Some(v) => conn.write_bulk(v),
        None => conn.write_null(),
    }
}

fn incr_by(store: &Store, conn: &mut Conn, key: &[u8], by: i64) {
    let mut shard = store.shard(db(conn), key);
    let (current, expires) = match shard.get(key).filter(|e| e.live()) {
        Some(e) => match parse_int(&e.value) {
            Some(n) => (n, e.expires),
            None => return conn.write_error(reply::NOT_AN_INTEGER),
        },
        None => (0, None),
    };
    let Some(n) = current.checked_add(by) else {
        return conn.write_error(reply::OVERFLOW);
    };
    shard.insert(
        key.to_vec(),
        Entry {
            value: n.to_string().into_bytes(),
            expires,
        },
    );
    drop(shard);
    conn.write_int(n);
}

fn build_mux(store: Arc<Store>) -> Mux {
    let mut mux = Mux::new();
    mux.handle("ping", Arity::AtLeast(1), |conn, cmd| match cmd.len() {
        1 => conn.write_string("PONG"),
        2 => conn.write_bulk(&cmd[1]),
        _ => conn.write_error(reply::wrong_arity("ping")),
    });
    mux.handle("echo", Arity::Exactly(2), |conn, cmd| {
        conn.write_bulk(&cmd[1])
    });
    let s = store.clone();
    mux.handle("set", Arity::AtLeast(3), move |conn, cmd| {
        set(&s, conn, cmd)
    });
    let s = store.clone();
    mux.handle("get", Arity::Exactly(2), move |conn, cmd| {
        s.write_value(conn, db(conn), &cmd[1])
    });
    let s = store.clone();
    mux.handle("del", Arity::AtLeast(2), move |conn, cmd| {
        let d = db(conn);
        let n = cmd.args().skip(1).filter(|k| s.del(d, k)).count();
        conn.write_int(n as i64);
    });
    let s = store.clone();
    mux.handle("exists", Arity::AtLeast(2), move |conn, cmd| {
        let d = db(conn);
        let n = cmd.args().skip(1).filter(|k| s.exists(d, k)).count();
        conn.write_int(n as i64);
    });
    let s = store.clone();
    mux.handle("incr", Arity::Exactly(2), move |conn, cmd| {
        incr_by(&s, conn, &cmd[1], 1)
    });
    let s = store.clone();
    mux.handle("decr", Arity::Exactly(2), move |conn, cmd| {
        incr_by(&s, conn, &cmd[1], -1)
    });
    let s = store.clone();
    mux.handle("mset", Arity::AtLeast(3), move |conn, cmd| {
        if cmd.len() % 2 == 0 {
            return conn.write_error(reply::wrong_arity("mset"));
        }
        let d = db(conn);
        let mut args = cmd.args().skip(1);
        while let (Some(k), Some(v)) = (args.next(), args.next()) {
            s.shard(d, k).insert(
                k.to_vec(),
                Entry {
                    value: v.to_vec(),
                    expires: None,
                },
            );
        }
        conn.write_string("OK");
    });
    let s = store.clone();
    mux.handle("mget", Arity::AtLeast(2), move |conn, cmd| {
        let d = db(conn);
        conn.write_array(cmd.len() - 1);
        for k in cmd.args().skip(1) {
            s.write_value(conn, d, k);
        }
    });
    let s = store.clone();
    mux.handle("dbsize", Arity::Exactly(1), move |conn, _| {
        let mut n = 0i64;
        s.for_each_live(db(conn), |_| n += 1);
        conn.write_int(n);
    });
    for name in ["flushdb", "flushall"] {
        let s = store.clone();
        let all = name == "flushall";
        mux.handle(name, Arity::AtLeast(1), move |conn, cmd| {
            let ok = match cmd.len() {
                1 => true,
                2 => cmd[1].eq_ignore_ascii_case(b"sync") || cmd[1].eq_ignore_ascii_case(b"async"),
                _ => false,
            };
            if !ok {
                return conn.write_error(reply::SYNTAX_ERROR);
            }
            if all {
                (0..DATABASES).for_each(|d| s.flush(d));
            } else {
                s.flush(db(conn));
            }
            conn.write_string("OK");
        });
    }
    let s = store.clone();
    mux.handle("keys", Arity::Exactly(2), move |conn, cmd| {
        let mut keys = Vec::new();
        // Redis takes the pattern `*` as every key without asking the matcher, which
        // would not match the empty key.
        let all = &cmd[1] == b"*";
        s.for_each_live(db(conn), |k| {
            if all || redcon::glob_match(&cmd[1], k) {
                keys.push(k.to_vec());
            }
        });
        conn.write_array(keys.len());
        for k in keys {
            conn.write_bulk(k);
        }
    });
    mux.handle("select", Arity::Exactly(2), |conn, cmd| {
        match parse_int(&cmd[1]) {
            None => conn.write_error(reply::NOT_AN_INTEGER),
            Some(n) if n < 0 || n >= DATABASES as i64 => {
                conn.write_error("ERR DB index is out of range")
            }
            Some(n) => {
                conn.set_context(Selected(n as usize));
                conn.write_string("OK");
            }
        }
    });
    mux.handle("quit", Arity::AtLeast(1), |conn, _| {
        conn.write_string("OK");
        conn.close();
    });
    mux.handle("command", Arity::AtLeast(1), |conn, _| conn.write_array(0));
    // ioredis sends INFO as a ready check before anything else and drops the
    // connection on an error: answer with the fields clients read (sections ignored).
    mux.handle("info", Arity::AtLeast(1), |conn, _| {
        let text = format!(
            "# Server\r\nredis_version:{}\r\nredis_mode:standalone\r\n\r\n\
             # Persistence\r\nloading:0\r\n",
            redcon::hello::REDIS_VERSION
        );
        conn.write_verbatim("txt", text);
    });
    mux.handle_subcommand("client", "setname", Arity::Exactly(3), |conn, cmd| {
        let name = &cmd[2];
        if !reply::valid_client_name(name) {
            return conn.write_error(reply::INVALID_CLIENT_NAME);
        }
        conn.set_client_name(if name.is_empty() { None } else { Some(name) });
        conn.write_string("OK");
    });
    mux.handle_subcommand("client", "getname", Arity::Exactly(2), |conn, _| {
        let name = conn.client_name().map(<[u8]>::to_vec);
        write_opt(conn, name);
    });
    mux.handle_subcommand("client", "id", Arity::Exactly(2), |conn, _| {
        let id = conn.id();
        conn.write_u64(id);
    });
    mux.handle_subcommand("client", "setinfo", Arity::Exactly(4), |conn, cmd| {
        let attr = &cmd[2];
        if attr.eq_ignore_ascii_case(b"lib-name") || attr.eq_ignore_ascii_case(b"lib-ver") {
            conn.write_string("OK");
        } else {
            let mut msg = b"ERR Unrecognized option '".to_vec();
            msg.extend_from_slice(attr);
            msg.push(b'\'');
            conn.write_error(msg);
        }
    });
    mux
}

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
            let handler = with_pubsub(&self.pubsub, this, &self.mux);
            conn.detach(move |d| {
                std::thread::spawn(move || d.serve(&handler));
            });
            return;
        }
        self.mux.on_command(conn, cmd)
    }
}

/// Serves PUBLISH, (P)SUBSCRIBE and (P)UNSUBSCRIBE from `pubsub` around `inner`. A
/// subscribed RESP2 client that sends another command gets Redis's unknown-command or
/// arity error if the table has one for it, else Redis's "Can't execute" error.
fn with_pubsub<H: Handler>(pubsub: &PubSub, inner: H, mux: &Arc<Mux>) -> PubSubHandler<H> {
    let mux = mux.clone();
    pubsub.handler(inner).command_check(move |cmd| {
        if cmd.is("detach") {
            return match cmd.len() {
                1 => Ok("detach".into()),
                _ => Err(reply::wrong_arity("detach").into_bytes()),
            };
        }
        mux.check(cmd).map(Cow::into_owned)
    })
}

struct Args {
    addr: String,
    unix: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    /// `Server::max_idle_threads`; the library's default when not given.
    max_idle_threads: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        addr: "127.0.0.1:6380".into(),
        unix: None,
        tls_cert: None,
        tls_key: None,
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
            "--max-idle-threads" => {
                let v = value()?;
                let n = v
                    .parse()
                    .map_err(|_| format!("--max-idle-threads {v}: not a number"))?;
                a.max_idle_threads = Some(n);
            }
            "-h" | "--help" => {
                return Err("usage: clone [--addr HOST:PORT] [--unix PATH] \
                            [--tls-cert PEM --tls-key PEM] [--max-idle-threads N]"
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
    let mux = Arc::new(build_mux(store));
    let pubsub = PubSub::new();
    let clone = Clone {
        mux: mux.clone(),
        pubsub: pubsub.clone(),
    };
    let handler = with_pubsub(&pubsub, clone, &mux);
    let mut server = Server::new(handler);
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
    handle.wait();
}
