//! Commands over keys whatever their value: existence and removal (EXISTS, TOUCH, DEL,
//! UNLINK), TYPE, moving and copying (RENAME, RENAMENX, COPY), enumeration (KEYS,
//! SCAN, RANDOMKEY, DBSIZE), FLUSHDB / FLUSHALL, and SELECT.

use crate::commands::{int_arg, on, write_opt};
use crate::scan::scan;
use crate::store::{db, live_mut, read_lock, Entry, Selected, Store, DATABASES, SHARDS};
use redcon::mux::Mux;
use redcon::resp::parse_int;
use redcon::{reply, Command, Conn};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

/// The value's type as TYPE and SCAN's TYPE name it.
fn type_name(e: &Entry) -> &'static str {
    if e.is_list() {
        "list"
    } else {
        "string"
    }
}

/// A database index argument: an integer (else Redis's integer error) within range.
fn db_index(conn: &mut Conn, arg: &[u8]) -> Option<usize> {
    let n = int_arg(conn, arg)?;
    if (0..DATABASES as i64).contains(&n) {
        Some(n as usize)
    } else {
        conn.write_error("ERR DB index is out of range");
        None
    }
}

/// RENAME and RENAMENX (`nx`).
fn rename(store: &Store, conn: &mut Conn, cmd: Command, nx: bool) {
    let d = db(conn);
    let (src, dst) = (&cmd[1], &cmd[2]);
    let mut pair = store.pair((d, src), (d, dst));
    let reply: Result<bool, &str> = if live_mut(pair.first(), src).is_none() {
        Err("ERR no such key")
    } else if src == dst || (nx && live_mut(pair.second(), dst).is_some()) {
        // The same key is left as it is: RENAME answers OK, RENAMENX 0.
        Ok(false)
    } else {
        let e = pair.first().remove(src).expect("checked live above");
        pair.second().insert(dst.to_vec(), e);
        crate::lists::serve_blocked_at(store, d, pair.second(), dst);
        Ok(true)
    };
    drop(pair);
    match reply {
        Err(e) => conn.write_error(e),
        Ok(done) if nx => conn.write_int(i64::from(done)),
        Ok(_) => conn.write_string("OK"),
    }
}

/// COPY source destination [DB n] [REPLACE], with Redis 7.0's checks in its order.
fn copy(store: &Store, conn: &mut Conn, cmd: Command) {
    let src_db = db(conn);
    let (mut dst_db, mut replace) = (src_db, false);
    let mut i = 3;
    while i < cmd.len() {
        if cmd[i].eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if cmd[i].eq_ignore_ascii_case(b"db") && i + 1 < cmd.len() {
            let Some(n) = db_index(conn, &cmd[i + 1]) else {
                return;
            };
            dst_db = n;
            i += 1;
        } else {
            return conn.write_error(reply::SYNTAX_ERROR);
        }
        i += 1;
    }
    let (src, dst) = (&cmd[1], &cmd[2]);
    if src_db == dst_db && src == dst {
        return conn.write_error("ERR source and destination objects are the same");
    }
    let mut pair = store.pair((src_db, src), (dst_db, dst));
    let copied = match live_mut(pair.first(), src) {
        Some(e) => {
            let e = Entry {
                value: e.value.clone(),
                list: e.list.clone(),
                expires: e.expires,
            };
            let free = replace || live_mut(pair.second(), dst).is_none();
            if free {
                pair.second().insert(dst.to_vec(), e);
                crate::lists::serve_blocked_at(store, dst_db, pair.second(), dst);
            }
            free
        }
        None => false,
    };
    drop(pair);
    conn.write_int(i64::from(copied));
}

/// A live key chosen at random, or `None` when the database has none.
fn random_key(store: &Store, d: usize) -> Option<Vec<u8>> {
    let r = RandomState::new().hash_one(std::time::Instant::now()) as usize;
    for n in 0..SHARDS {
        let shard = read_lock(store.shard_at(d, (r + n) % SHARDS));
        if shard.is_empty() {
            continue;
        }
        // From a random place in the shard, the first live key (most are).
        let at = (r >> 8) % shard.len();
        let mut entries = shard.iter().skip(at).chain(shard.iter().take(at));
        if let Some((k, _)) = entries.find(|(_, e)| e.live()) {
            return Some(k.clone());
        }
    }
    None
}

/// Redis's parseScanCursorOrReply: strtoul's syntax (a sign allowed, no leading space,
/// the empty string is 0), refused on overflow.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if arg.is_empty() {
        return Some(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?;
    Some(if neg { n.wrapping_neg() } else { n })
}

fn scan_command(store: &Store, conn: &mut Conn, cmd: Command) {
    let Some(cursor) = parse_cursor(&cmd[1]) else {
        return conn.write_error("ERR invalid cursor");
    };
    let (mut count, mut pattern, mut type_filter) = (10usize, None, None);
    let mut i = 2;
    while i < cmd.len() {
        let (opt, value) = (&cmd[i], cmd.get(i + 1));
        match value {
            Some(v) if opt.eq_ignore_ascii_case(b"count") => match parse_int(v) {
                None => return conn.write_error(reply::NOT_AN_INTEGER),
                Some(n) if n < 1 => return conn.write_error(reply::SYNTAX_ERROR),
                Some(n) => count = n as usize,
            },
            // `*` matches every key, the empty one included, without the matcher.
            Some(v) if opt.eq_ignore_ascii_case(b"match") => pattern = (v != b"*").then_some(v),
            Some(v) if opt.eq_ignore_ascii_case(b"type") => type_filter = Some(v),
            _ => return conn.write_error(reply::SYNTAX_ERROR),
        }
        i += 2;
    }
    let d = db(conn);
    let (next, mut keys) = scan(store, d, cursor, count);
    keys.retain(|k| pattern.is_none_or(|p| redcon::glob_match(p, k)));
    if let Some(t) = type_filter {
        keys.retain(|k| {
            store
                .read(d, k, |e| t.eq_ignore_ascii_case(type_name(e).as_bytes()))
                .unwrap_or(false)
        });
    }
    conn.write_array(2);
    conn.write_bulk(next.to_string());
    conn.write_array(keys.len());
    for k in keys {
        conn.write_bulk(k);
    }
}

pub(crate) fn register(mux: &mut Mux, store: &Arc<Store>) {
    for name in ["del", "unlink"] {
        on(mux, store, name, |s, c, cmd| {
            let d = db(c);
            let n = cmd.args().skip(1).filter(|k| s.del(d, k)).count();
            c.write_int(n as i64);
        });
    }
    for name in ["exists", "touch"] {
        on(mux, store, name, |s, c, cmd| {
            let d = db(c);
            let n = cmd.args().skip(1).filter(|k| s.exists(d, k)).count();
            c.write_int(n as i64);
        });
    }
    on(mux, store, "type", |s, c, cmd| {
        let t = s.read(db(c), &cmd[1], type_name).unwrap_or("none");
        c.write_string(t);
    });
    on(mux, store, "rename", |s, c, cmd| rename(s, c, cmd, false));
    on(mux, store, "renamenx", |s, c, cmd| rename(s, c, cmd, true));
    on(mux, store, "copy", copy);
    on(mux, store, "randomkey", |s, c, _| {
        let k = random_key(s, db(c));
        write_opt(c, k);
    });
    on(mux, store, "scan", scan_command);
    on(mux, store, "dbsize", |s, c, _| {
        let mut n = 0i64;
        s.for_each_live(db(c), |_| n += 1);
        c.write_int(n);
    });
    for name in ["flushdb", "flushall"] {
        on(mux, store, name, |s, c, cmd| {
            let ok = match cmd.len() {
                1 => true,
                2 => cmd[1].eq_ignore_ascii_case(b"sync") || cmd[1].eq_ignore_ascii_case(b"async"),
                _ => false,
            };
            if !ok {
                return c.write_error(reply::SYNTAX_ERROR);
            }
            if cmd.is("flushall") {
                (0..DATABASES).for_each(|d| s.flush(d));
            } else {
                s.flush(db(c));
            }
            c.write_string("OK");
        });
    }
    on(mux, store, "keys", |s, c, cmd| {
        let mut keys = Vec::new();
        // Redis takes the pattern `*` as every key without asking the matcher, which
        // would not match the empty key.
        let all = &cmd[1] == b"*";
        s.for_each_live(db(c), |k| {
            if all || redcon::glob_match(&cmd[1], k) {
                keys.push(k.to_vec());
            }
        });
        c.write_array(keys.len());
        for k in keys {
            c.write_bulk(k);
        }
    });
    mux.command(crate::specs::spec("select"), |c, cmd| {
        // A cluster has database 0 only; Redis checks this after parsing the number.
        if c.cluster().is_some() && parse_int(&cmd[1]).is_some_and(|n| n != 0) {
            return c.write_error("ERR SELECT is not allowed in cluster mode");
        }
        if let Some(n) = db_index(c, &cmd[1]) {
            c.set_context(Selected(n));
            // MONITOR's lines show the database.
            c.set_db(n as u32);
            c.write_string("OK");
        }
    });
}
