//! Moving keys between servers: DUMP, RESTORE and RESTORE-ASKING over the library's
//! payload codec (strings and lists), and MIGRATE over its client side, with Redis
//! 7.0's options, checks and replies.

use crate::commands::{int_arg, on};
use crate::store::{db, from_unix_ms, live_mut, now_ms, to_unix_ms, Entry, List, Store};
use redcon::dump::{self, Auth, MigrateOptions, Migrator, Restore, Value};
use redcon::mux::Mux;
use redcon::resp::parse_int;
use redcon::{reply, Command, Conn};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BUSYKEY: &str = "BUSYKEY Target key name already exists.";

pub(crate) fn register(mux: &mut Mux, store: &Arc<Store>) {
    on(mux, store, "dump", dump_command);
    on(mux, store, "restore", restore);
    on(mux, store, "restore-asking", restore);
    let migrator = Arc::new(Migrator::new());
    let s = store.clone();
    mux.command(crate::specs::spec("migrate"), move |conn, cmd| {
        migrate(&s, &migrator, conn, cmd)
    });
}

/// The payload of an entry.
fn payload_of(e: &Entry) -> Vec<u8> {
    match &e.list {
        Some(list) => dump::encode_list(list.iter()),
        None => dump::encode_string(&e.value),
    }
}

fn dump_command(store: &Store, conn: &mut Conn, cmd: Command) {
    match store.read(db(conn), &cmd[1], payload_of) {
        None => conn.write_null(),
        Some(payload) => conn.write_bulk(payload),
    }
}

/// RESTORE's options after the payload.
#[derive(Default)]
struct RestoreOptions {
    replace: bool,
    absttl: bool,
    /// IDLETIME and FREQ are checked as Redis checks them and then unused: the clone
    /// keeps no LRU clock or LFU counter.
    idle: Option<i64>,
    freq: Option<i64>,
}

/// RESTORE's options, in Redis 7.0's order of checks: IDLETIME and FREQ exclude each
/// other (the second is a syntax error), their values are checked as they are met.
fn restore_options(cmd: &Command) -> Result<RestoreOptions, &'static str> {
    let mut o = RestoreOptions::default();
    let mut i = 4;
    while i < cmd.len() {
        let arg = &cmd[i];
        let has_value = i + 1 < cmd.len();
        if arg.eq_ignore_ascii_case(b"replace") {
            o.replace = true;
        } else if arg.eq_ignore_ascii_case(b"absttl") {
            o.absttl = true;
        } else if arg.eq_ignore_ascii_case(b"idletime") && has_value && o.freq.is_none() {
            let n = parse_int(&cmd[i + 1]).ok_or(reply::NOT_AN_INTEGER)?;
            if n < 0 {
                return Err("ERR Invalid IDLETIME value, must be >= 0");
            }
            o.idle = Some(n);
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"freq") && has_value && o.idle.is_none() {
            let n = parse_int(&cmd[i + 1]).ok_or(reply::NOT_AN_INTEGER)?;
            if !(0..=255).contains(&n) {
                return Err("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            o.freq = Some(n);
            i += 1;
        } else {
            return Err(reply::SYNTAX_ERROR);
        }
        i += 1;
    }
    Ok(o)
}

/// RESTORE and RESTORE-ASKING key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
fn restore(store: &Store, conn: &mut Conn, cmd: Command) {
    let options = match restore_options(&cmd) {
        Ok(o) => o,
        Err(e) => return conn.write_error(e),
    };
    let d = db(conn);
    let key = &cmd[1];
    // One write lock from the existence check to the insertion, so no other client's
    // key can appear in between (Redis runs the whole command at once).
    let mut shard = store.shard(d, key);
    if !options.replace && live_mut(&mut shard, key).is_some() {
        drop(shard);
        return conn.write_error(BUSYKEY);
    }
    let ttl = match parse_int(&cmd[2]) {
        None => {
            drop(shard);
            return conn.write_error(reply::NOT_AN_INTEGER);
        }
        Some(t) if t < 0 => {
            drop(shard);
            return conn.write_error("ERR Invalid TTL value, must be >= 0");
        }
        Some(t) => t,
    };
    let (value, list) = match dump::decode(&cmd[3]) {
        Ok(Value::String(v)) => (v, None),
        Ok(Value::List(items)) => (Vec::new(), Some(Box::new(List::from(items)))),
        // A type the codec learns after this clone was written.
        Ok(_) => {
            drop(shard);
            return conn.write_error("ERR Bad data format");
        }
        Err(e) => {
            drop(shard);
            return conn.write_error(e.to_string());
        }
    };
    if options.replace {
        shard.remove(key.as_ref());
    }
    // ttl 0 is no expiry; otherwise an absolute Unix time in ms (ABSTTL) or one from
    // now. A time already past leaves the key absent (deleted, with REPLACE), as Redis.
    let expires = match ttl {
        0 => None,
        t if options.absttl => Some(t),
        t => Some(t.saturating_add(now_ms())),
    };
    if expires.is_some_and(|at| at <= now_ms()) {
        drop(shard);
        return conn.write_string("OK");
    }
    let is_list = list.is_some();
    let expires = expires.map(from_unix_ms);
    let entry = Entry {
        value,
        list,
        expires,
    };
    shard.insert(key.to_vec(), entry);
    if is_list {
        // Clients blocked in BLPOP on this key get its first elements.
        crate::lists::serve_blocked_at(store, d, &mut shard, key);
    }
    drop(shard);
    conn.write_string("OK");
}

/// MIGRATE's arguments after the database and timeout.
struct MigrateArgs {
    copy: bool,
    replace: bool,
    auth: Option<Auth>,
    /// Where the keys start, and how many there are.
    first_key: usize,
    keys: usize,
}

/// Parses MIGRATE's options as Redis 7.0 does, in its order: unknown options are a
/// syntax error (AUTH and AUTH2 without their values too), KEYS with a non-empty key
/// argument its own error.
fn migrate_args(cmd: &Command) -> Result<MigrateArgs, String> {
    let mut a = MigrateArgs {
        copy: false,
        replace: false,
        auth: None,
        first_key: 3,
        keys: 1,
    };
    let mut i = 6;
    while i < cmd.len() {
        let more = cmd.len() - 1 - i;
        let arg = &cmd[i];
        if arg.eq_ignore_ascii_case(b"copy") {
            a.copy = true;
        } else if arg.eq_ignore_ascii_case(b"replace") {
            a.replace = true;
        } else if arg.eq_ignore_ascii_case(b"auth") && more >= 1 {
            a.auth = Some(Auth::Password(cmd[i + 1].to_vec()));
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"auth2") && more >= 2 {
            a.auth = Some(Auth::User {
                username: cmd[i + 1].to_vec(),
                password: cmd[i + 2].to_vec(),
            });
            i += 2;
        } else if arg.eq_ignore_ascii_case(b"keys") {
            if !cmd[3].is_empty() {
                return Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string".into());
            }
            a.first_key = i + 1;
            a.keys = cmd.len() - i - 1;
            break;
        } else {
            return Err(reply::SYNTAX_ERROR.into());
        }
        i += 1;
    }
    Ok(a)
}

/// A key to send: its name, its payload (also what recognises the value when deleting)
/// and its expiry.
struct Outgoing {
    key: Vec<u8>,
    payload: Vec<u8>,
    expires: Option<Instant>,
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key ...].
fn migrate(store: &Store, migrator: &Migrator, conn: &mut Conn, cmd: Command) {
    let args = match migrate_args(&cmd) {
        Ok(a) => a,
        Err(e) => return conn.write_error(e),
    };
    let Some(timeout) = int_arg(conn, &cmd[5]) else {
        return;
    };
    let Some(target_db) = int_arg(conn, &cmd[4]) else {
        return;
    };
    // Redis turns a timeout that is not positive into one second.
    let timeout = if timeout <= 0 { 1000 } else { timeout };
    let d = db(conn);
    let mut outgoing = Vec::with_capacity(args.keys);
    for key in cmd.args().skip(args.first_key).take(args.keys) {
        if let Some((payload, expires)) = store.read(d, key, |e| (payload_of(e), e.expires)) {
            outgoing.push(Outgoing {
                key: key.to_vec(),
                payload,
                expires,
            });
        }
    }
    if outgoing.is_empty() {
        return conn.write_string("NOKEY");
    }
    // The time left, in ms, as Redis sends it: a key that expired since it was looked
    // up is skipped; one with under a millisecond left goes with 1.
    let now = now_ms();
    outgoing.retain(|o| o.expires.is_none_or(|t| to_unix_ms(t) >= now));
    let restores: Vec<Restore> = outgoing
        .into_iter()
        .map(|o| Restore {
            ttl_ms: o.expires.map_or(0, |t| (to_unix_ms(t) - now).max(1) as u64),
            key: o.key,
            payload: o.payload,
        })
        .collect();
    let options = MigrateOptions::new(target_db, Duration::from_millis(timeout as u64))
        .replace(args.replace)
        .asking(conn.cluster().is_some())
        .auth(args.auth);
    let host = String::from_utf8_lossy(&cmd[1]).into_owned();
    let port = String::from_utf8_lossy(&cmd[2]).into_owned();
    let done = migrator.migrate(&host, &port, &options, &restores);
    if !args.copy {
        for (o, _) in restores.iter().zip(&done.restored).filter(|(_, r)| **r) {
            // Only the value that was sent: another client may have written the key
            // while MIGRATE waited on the network, and that newer value stays.
            let mut shard = store.shard(d, &o.key);
            if live_mut(&mut shard, &o.key).is_some_and(|e| payload_of(e) == o.payload) {
                shard.remove(&o.key);
            }
        }
    }
    match done.error {
        Some(e) => conn.write_error(e.to_string()),
        None => conn.write_string("OK"),
    }
}
