//! String commands: SET and its variants (SETNX, SETEX, PSETEX, GETSET, MSET, MSETNX),
//! reads (GET, MGET, STRLEN, GETRANGE, GETDEL, GETEX), in-place changes (APPEND,
//! SETRANGE) and counters (INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT).

use crate::commands::{int_arg, on, write_opt};
use crate::expire::{deadline, Unit};
use crate::long_double::{Error, LongDouble};
use crate::store::{db, live_mut, Entry, Store, WRONGTYPE};
use redcon::mux::Mux;
use redcon::resp::parse_int;
use redcon::{reply, Command, Conn};
use std::sync::Arc;
use std::time::Instant;

/// Redis's largest string (`proto-max-bulk-len`), which APPEND and SETRANGE enforce.
const MAX_STRING: usize = 512 * 1024 * 1024;
const TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// Which command's options Redis's parseExtendedStringArgumentsOrReply is reading.
#[derive(PartialEq)]
enum Kind {
    Set,
    GetEx,
}

/// SET's and GETEX's options. The time is kept raw: SET checks it right after parsing,
/// GETEX only once it found the key, as Redis does.
#[derive(Default)]
struct Options<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(Unit, &'a [u8])>,
}

fn parse_options<'a>(cmd: &'a Command, kind: Kind) -> Result<Options<'a>, &'static str> {
    let set = kind == Kind::Set;
    let mut o = Options::default();
    let mut unit_name: &[u8] = b"";
    let mut i = if set { 3 } else { 2 };
    while i < cmd.len() {
        let a = &cmd[i];
        let next = cmd.get(i + 1);
        let is = |s: &str| a.eq_ignore_ascii_case(s.as_bytes());
        if set && is("nx") && !o.xx {
            o.nx = true;
        } else if set && is("xx") && !o.nx {
            o.xx = true;
        } else if set && is("get") {
            o.get = true;
        } else if set && is("keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if !set && is("persist") && o.expire.is_none() {
            o.persist = true;
        } else if (is("ex") || is("px") || is("exat") || is("pxat"))
            && !o.keepttl
            && !o.persist
            // Redis lets the same unit repeat (the last one wins), not two units.
            && (o.expire.is_none() || unit_name.eq_ignore_ascii_case(a))
            && next.is_some()
        {
            unit_name = a;
            o.expire = Some((Unit::of_option(a), next.unwrap_or_default()));
            i += 1;
        } else {
            return Err(reply::SYNTAX_ERROR);
        }
        i += 1;
    }
    Ok(o)
}

fn new_entry(value: &[u8], expires: Option<Instant>) -> Entry {
    Entry::string(value.to_vec(), expires)
}

fn set(store: &Store, conn: &mut Conn, cmd: Command) {
    let o = match parse_options(&cmd, Kind::Set) {
        Ok(o) => o,
        Err(e) => return conn.write_error(e),
    };
    let expires = match o.expire.map(|(unit, raw)| deadline(raw, unit, "set")) {
        Some(Err(e)) => return conn.write_error(e),
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let (key, value) = (&cmd[1], &cmd[2]);
    let mut shard = store.shard(db(conn), key);
    // One lookup: an existing entry, live or expired, is overwritten in place, which
    // reuses the key and the value's allocation.
    let old_value = match shard.get_mut(key) {
        Some(e) => {
            let live = e.live();
            // SET ... GET reads the old value first: a list is the wrong type.
            if o.get && live && e.is_list() {
                drop(shard);
                return conn.write_error(WRONGTYPE);
            }
            if (o.nx && live) || (o.xx && !live) {
                let old_value = (o.get && live).then(|| e.value.clone());
                drop(shard);
                return write_opt(conn, old_value);
            }
            e.expires = expires.or(e.expires.filter(|_| o.keepttl && live));
            e.list = None;
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
            shard.insert(key.to_vec(), new_entry(value, expires));
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

/// SETEX and PSETEX: SET with a relative time first.
fn setex(store: &Store, conn: &mut Conn, cmd: Command, seconds: bool, name: &str) {
    let unit = Unit {
        seconds,
        absolute: false,
    };
    match deadline(&cmd[2], unit, name) {
        Ok(t) => {
            let e = new_entry(&cmd[3], Some(t));
            store.shard(db(conn), &cmd[1]).insert(cmd[1].to_vec(), e);
            conn.write_string("OK");
        }
        Err(e) => conn.write_error(e),
    }
}

fn getex(store: &Store, conn: &mut Conn, cmd: Command) {
    let o = match parse_options(&cmd, Kind::GetEx) {
        Ok(o) => o,
        Err(e) => return conn.write_error(e),
    };
    let key = &cmd[1];
    let mut shard = store.shard(db(conn), key);
    let Some(e) = live_mut(&mut shard, key) else {
        drop(shard);
        return conn.write_null();
    };
    if e.is_list() {
        drop(shard);
        return conn.write_error(WRONGTYPE);
    }
    let expires = match o.expire.map(|(unit, raw)| deadline(raw, unit, "getex")) {
        Some(Err(err)) => {
            drop(shard);
            return conn.write_error(err);
        }
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let value = e.value.clone();
    if let Some(t) = expires {
        if t <= Instant::now() {
            shard.remove(key);
        } else {
            e.expires = Some(t);
        }
    } else if o.persist {
        e.expires = None;
    }
    drop(shard);
    conn.write_bulk(value);
}

/// Adds `by` to the integer at `key` (0 if missing), keeping its expiry.
fn incr_by(store: &Store, conn: &mut Conn, key: &[u8], by: i64) {
    let mut shard = store.shard(db(conn), key);
    let (current, expires) = match live_mut(&mut shard, key) {
        Some(e) if e.is_list() => return conn.write_error(WRONGTYPE),
        Some(e) => match parse_int(&e.value) {
            Some(n) => (n, e.expires),
            None => return conn.write_error(reply::NOT_AN_INTEGER),
        },
        None => (0, None),
    };
    let Some(n) = current.checked_add(by) else {
        return conn.write_error(reply::OVERFLOW);
    };
    shard.insert(key.to_vec(), new_entry(n.to_string().as_bytes(), expires));
    drop(shard);
    conn.write_int(n);
}

/// INCRBYFLOAT: the sum in long double arithmetic, stored as Redis prints it; the
/// key keeps its expiry.
fn incrbyfloat(store: &Store, conn: &mut Conn, cmd: Command) {
    let key = &cmd[1];
    let mut shard = store.shard(db(conn), key);
    let (current, expires) = match live_mut(&mut shard, key) {
        Some(e) if e.is_list() => {
            drop(shard);
            return conn.write_error(WRONGTYPE);
        }
        Some(e) => (LongDouble::parse(&e.value), e.expires),
        None => (LongDouble::parse(b"0"), None),
    };
    // Redis reads the stored value first, then the increment; both fail alike.
    let sum = match (current, LongDouble::parse(&cmd[2])) {
        (Err(Error::Invalid), _) | (_, Err(Error::Invalid)) => {
            drop(shard);
            return conn.write_error("ERR value is not a valid float");
        }
        (Ok(a), Ok(b)) => a.add(b),
        _ => Err(Error::Infinite),
    };
    let Ok(sum) = sum else {
        drop(shard);
        return conn.write_error("ERR increment would produce NaN or Infinity");
    };
    let text = sum.to_human();
    shard.insert(key.to_vec(), new_entry(text.as_bytes(), expires));
    drop(shard);
    conn.write_bulk(text);
}

fn getrange(store: &Store, conn: &mut Conn, cmd: Command) {
    let (Some(start), Some(end)) = (int_arg(conn, &cmd[2]), int_arg(conn, &cmd[3])) else {
        return;
    };
    let part = store.read(db(conn), &cmd[1], |e| {
        if e.is_list() {
            return None;
        }
        let len = e.value.len() as i64;
        // Redis's getrangeCommand, step by step.
        if start < 0 && end < 0 && start > end {
            return Some(Vec::new());
        }
        let start = if start < 0 { len + start } else { start }.max(0);
        let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
        if start > end || len == 0 {
            return Some(Vec::new());
        }
        Some(e.value[start as usize..=end as usize].to_vec())
    });
    match part {
        Some(None) => conn.write_error(WRONGTYPE),
        Some(Some(p)) => conn.write_bulk(p),
        None => conn.write_bulk(b""),
    }
}

fn setrange(store: &Store, conn: &mut Conn, cmd: Command) {
    let Some(offset) = int_arg(conn, &cmd[2]) else {
        return;
    };
    if offset < 0 {
        return conn.write_error("ERR offset is out of range");
    }
    let (key, part) = (&cmd[1], &cmd[3]);
    let too_long = (offset as u64).saturating_add(part.len() as u64) > MAX_STRING as u64;
    let mut shard = store.shard(db(conn), key);
    let len = match live_mut(&mut shard, key) {
        Some(e) if e.is_list() => {
            drop(shard);
            return conn.write_error(WRONGTYPE);
        }
        None if part.is_empty() => 0,
        Some(e) if part.is_empty() => e.value.len(),
        _ if too_long => {
            drop(shard);
            return conn.write_error(TOO_LONG);
        }
        found => {
            let e = match found {
                Some(e) => e,
                None => shard.get_or_insert_with(key, || new_entry(b"", None)),
            };
            let end = offset as usize + part.len();
            if e.value.len() < end {
                e.value.resize(end, 0);
            }
            e.value[offset as usize..end].copy_from_slice(part);
            e.value.len()
        }
    };
    drop(shard);
    conn.write_int(len as i64);
}

fn append(store: &Store, conn: &mut Conn, cmd: Command) {
    let (key, tail) = (&cmd[1], &cmd[2]);
    let mut shard = store.shard(db(conn), key);
    let len = match live_mut(&mut shard, key) {
        Some(e) if e.is_list() => {
            drop(shard);
            return conn.write_error(WRONGTYPE);
        }
        Some(e) if e.value.len() + tail.len() > MAX_STRING => {
            drop(shard);
            return conn.write_error(TOO_LONG);
        }
        Some(e) => {
            e.value.extend_from_slice(tail);
            e.value.len()
        }
        None => {
            shard.insert(key.to_vec(), new_entry(tail, None));
            tail.len()
        }
    };
    drop(shard);
    conn.write_int(len as i64);
}

fn msetnx(store: &Store, conn: &mut Conn, cmd: Command) {
    if cmd.len().is_multiple_of(2) {
        return conn.write_error(reply::wrong_arity("msetnx"));
    }
    let keys: Vec<&[u8]> = cmd.args().skip(1).step_by(2).collect();
    // Every shard involved stays locked from the check to the last write: all or none.
    let mut locked = store.lock_keys(db(conn), &keys);
    if keys.iter().any(|k| live_mut(locked.shard(k), k).is_some()) {
        drop(locked);
        return conn.write_int(0);
    }
    let mut args = cmd.args().skip(1);
    while let (Some(k), Some(v)) = (args.next(), args.next()) {
        locked.shard(k).insert(k.to_vec(), new_entry(v, None));
    }
    drop(locked);
    conn.write_int(1);
}

pub(crate) fn register(mux: &mut Mux, store: &Arc<Store>) {
    on(mux, store, "set", set);
    on(mux, store, "get", |s, c, cmd| {
        s.write_value(c, db(c), &cmd[1], true)
    });
    on(mux, store, "mget", |s, c, cmd| {
        let d = db(c);
        c.write_array(cmd.len() - 1);
        for k in cmd.args().skip(1) {
            s.write_value(c, d, k, false);
        }
    });
    on(mux, store, "mset", |s, c, cmd| {
        if cmd.len() % 2 == 0 {
            return c.write_error(reply::wrong_arity("mset"));
        }
        let d = db(c);
        let mut args = cmd.args().skip(1);
        while let (Some(k), Some(v)) = (args.next(), args.next()) {
            s.shard(d, k).insert(k.to_vec(), new_entry(v, None));
        }
        c.write_string("OK");
    });
    on(mux, store, "msetnx", msetnx);
    on(mux, store, "setnx", |s, c, cmd| {
        let mut shard = s.shard(db(c), &cmd[1]);
        let new = live_mut(&mut shard, &cmd[1]).is_none();
        if new {
            shard.insert(cmd[1].to_vec(), new_entry(&cmd[2], None));
        }
        drop(shard);
        c.write_int(i64::from(new));
    });
    on(mux, store, "setex", |s, c, cmd| {
        setex(s, c, cmd, true, "setex")
    });
    on(mux, store, "psetex", |s, c, cmd| {
        setex(s, c, cmd, false, "psetex")
    });
    on(mux, store, "getset", |s, c, cmd| {
        let mut shard = s.shard(db(c), &cmd[1]);
        if live_mut(&mut shard, &cmd[1]).is_some_and(|e| e.is_list()) {
            drop(shard);
            return c.write_error(WRONGTYPE);
        }
        let old = live_mut(&mut shard, &cmd[1]).map(|e| std::mem::take(&mut e.value));
        // Like SET, GETSET drops the key's expiry.
        shard.insert(cmd[1].to_vec(), new_entry(&cmd[2], None));
        drop(shard);
        write_opt(c, old);
    });
    on(mux, store, "getdel", |s, c, cmd| {
        let mut shard = s.shard(db(c), &cmd[1]);
        if live_mut(&mut shard, &cmd[1]).is_some_and(|e| e.is_list()) {
            drop(shard);
            return c.write_error(WRONGTYPE);
        }
        let old = live_mut(&mut shard, &cmd[1]).is_some();
        let old = old
            .then(|| shard.remove(&cmd[1]))
            .flatten()
            .map(|e| e.value);
        drop(shard);
        write_opt(c, old);
    });
    on(mux, store, "getex", getex);
    on(mux, store, "strlen", |s, c, cmd| {
        match s.read(db(c), &cmd[1], |e| (!e.is_list()).then_some(e.value.len())) {
            Some(None) => c.write_error(WRONGTYPE),
            n => c.write_int(n.flatten().unwrap_or(0) as i64),
        }
    });
    on(mux, store, "getrange", getrange);
    on(mux, store, "setrange", setrange);
    on(mux, store, "append", append);
    on(mux, store, "incr", |s, c, cmd| incr_by(s, c, &cmd[1], 1));
    on(mux, store, "decr", |s, c, cmd| incr_by(s, c, &cmd[1], -1));
    on(mux, store, "incrby", |s, c, cmd| {
        if let Some(n) = int_arg(c, &cmd[2]) {
            incr_by(s, c, &cmd[1], n);
        }
    });
    on(mux, store, "incrbyfloat", incrbyfloat);
    on(mux, store, "decrby", |s, c, cmd| {
        match int_arg(c, &cmd[2]) {
            Some(i64::MIN) => c.write_error("ERR decrement would overflow"),
            Some(n) => incr_by(s, c, &cmd[1], -n),
            None => {}
        }
    });
}
