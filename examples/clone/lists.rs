//! List commands: LPUSH, RPUSH, LPOP and RPOP (with a count), LLEN, LRANGE, and the
//! blocking BLPOP and BRPOP, whose clients wait in `Conn::wait` (see `blocking.rs`) and
//! are served in the order they blocked. Replies, errors (`WRONGTYPE` across types) and
//! the timeout's parsing are Redis 7.0's.

use crate::blocking::{Served, Waiter};
use crate::commands::{int_arg, on};
use crate::long_double::{Error, LongDouble};
use crate::store::{db, live_mut, Entry, List, Shard, Store, WRONGTYPE};
use redcon::mux::Mux;
use redcon::resp::parse_int;
use redcon::{reply, Command, Conn, Wait};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// LPUSH (`left`) and RPUSH: the list's length after the push is the reply; the
/// clients blocked on the key are served right after, as Redis serves them after the
/// command.
fn push(store: &Store, conn: &mut Conn, cmd: Command, left: bool) {
    let (d, key) = (db(conn), &cmd[1]);
    let mut shard = store.shard(d, key);
    let e = match live_mut(&mut shard, key) {
        Some(e) if !e.is_list() => {
            drop(shard);
            return conn.write_error(WRONGTYPE);
        }
        Some(e) => e,
        None => shard.get_or_insert_with(key, || Entry {
            value: Vec::new(),
            list: Some(Box::default()),
            expires: None,
        }),
    };
    let list = e.list.as_mut().expect("a list entry");
    for v in cmd.args().skip(2) {
        if left {
            list.push_front(v.to_vec());
        } else {
            list.push_back(v.to_vec());
        }
    }
    let len = list.len();
    store.blocked.serve(d, key, list);
    remove_if_empty(&mut shard, key);
    drop(shard);
    conn.write_int(len as i64);
}

/// After a command put a value at `key` other than by pushing (RENAME, COPY): if it is
/// a list, the clients blocked on `key` are served from it, as Redis's
/// `signalKeyAsReady` does for any write. The caller holds `shard`, `key`'s shard.
pub(crate) fn serve_blocked_at(store: &Store, d: usize, shard: &mut Shard, key: &[u8]) {
    if !store.blocked.any() {
        return;
    }
    if let Some(list) = shard.get_mut(key).and_then(|e| e.list.as_deref_mut()) {
        store.blocked.serve(d, key, list);
        remove_if_empty(shard, key);
    }
}

/// Redis deletes a list once its last element is gone.
fn remove_if_empty(shard: &mut Shard, key: &[u8]) {
    if shard
        .get(key)
        .and_then(|e| e.list.as_ref())
        .is_some_and(|l| l.is_empty())
    {
        shard.remove(key);
    }
}

/// LPOP (`left`) and RPOP, with Redis 7.0's optional count.
fn pop(store: &Store, conn: &mut Conn, cmd: Command, left: bool) {
    if cmd.len() > 3 {
        let name = if left { "lpop" } else { "rpop" };
        return conn.write_error(reply::wrong_arity(name));
    }
    let count = match cmd.len() {
        3 => match parse_int(&cmd[2]) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return conn.write_error("ERR value is out of range, must be positive"),
        },
        _ => None,
    };
    let key = &cmd[1];
    let mut shard = store.shard(db(conn), key);
    let Some(e) = live_mut(&mut shard, key) else {
        drop(shard);
        return match count {
            Some(_) => conn.write_null_array(),
            None => conn.write_null(),
        };
    };
    let Some(list) = e.list.as_mut() else {
        drop(shard);
        return conn.write_error(WRONGTYPE);
    };
    let take = |list: &mut List| {
        if left {
            list.pop_front()
        } else {
            list.pop_back()
        }
    };
    match count {
        None => {
            let v = take(list).unwrap_or_default();
            remove_if_empty(&mut shard, key);
            drop(shard);
            conn.write_bulk(v);
        }
        Some(n) => {
            let n = n.min(list.len());
            let popped: Vec<Vec<u8>> = (0..n).filter_map(|_| take(list)).collect();
            remove_if_empty(&mut shard, key);
            drop(shard);
            conn.write_array(popped.len());
            for v in popped {
                conn.write_bulk(v);
            }
        }
    }
}

fn llen(store: &Store, conn: &mut Conn, cmd: Command) {
    match store.read(db(conn), &cmd[1], |e| e.list.as_ref().map(|l| l.len())) {
        Some(None) => conn.write_error(WRONGTYPE),
        n => conn.write_int(n.flatten().unwrap_or(0) as i64),
    }
}

fn lrange(store: &Store, conn: &mut Conn, cmd: Command) {
    let (Some(start), Some(end)) = (int_arg(conn, &cmd[2]), int_arg(conn, &cmd[3])) else {
        return;
    };
    let part = store.read(db(conn), &cmd[1], |e| {
        let list = e.list.as_ref()?;
        // Redis's addListRangeReply, step by step.
        let len = list.len() as i64;
        let start = if start < 0 { len + start } else { start }.max(0);
        let end = if end < 0 { len + end } else { end };
        if start > end || start >= len {
            return Some(Vec::new());
        }
        let end = end.min(len - 1);
        Some(
            list.range(start as usize..=end as usize)
                .cloned()
                .collect::<Vec<_>>(),
        )
    });
    match part {
        Some(None) => conn.write_error(WRONGTYPE),
        Some(Some(items)) => {
            conn.write_array(items.len());
            for v in items {
                conn.write_bulk(v);
            }
        }
        None => conn.write_array(0),
    }
}

/// A blocking timeout as Redis 7.0 reads it (getTimeoutFromObjectOrReply, in seconds):
/// a long double, times 1000, rounded up to milliseconds; 0 waits forever. `Ok(None)`
/// means no limit.
fn timeout(arg: &[u8]) -> Result<Option<Duration>, &'static str> {
    let ms = match LongDouble::parse(arg) {
        Ok(secs) => secs.millis(),
        // `inf` parses; its conversion overflows like any too-large value.
        Err(Error::Infinite) => None,
        Err(Error::Invalid) => return Err("ERR timeout is not a float or out of range"),
    };
    match ms {
        Some(0) => Ok(None),
        Some(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms as u64))),
        _ => Err("ERR timeout is negative"),
    }
}

/// Pops from the first non-empty list among `keys`; `Err` if one before it (or it) is
/// not a list, `Ok(None)` if all are empty or missing.
fn pop_first(store: &Store, d: usize, keys: &[&[u8]], left: bool) -> Result<Option<Served>, ()> {
    for key in keys {
        let mut shard = store.shard(d, key);
        let Some(e) = live_mut(&mut shard, key) else {
            continue;
        };
        let Some(list) = e.list.as_mut() else {
            return Err(());
        };
        let v = if left {
            list.pop_front()
        } else {
            list.pop_back()
        };
        if let Some(v) = v {
            remove_if_empty(&mut shard, key);
            return Ok(Some((key.to_vec(), v)));
        }
    }
    Ok(None)
}

fn write_served(conn: &mut Conn, (key, value): Served) {
    conn.write_array(2);
    conn.write_bulk(key);
    conn.write_bulk(value);
}

/// BLPOP (`left`) and BRPOP: pop at once if a list has an element; otherwise wait, in
/// line with the clients already blocked on the same keys, until a push serves this
/// one, the timeout passes (a null array), or the connection ends (no reply).
fn blocking_pop(store: &Store, conn: &mut Conn, cmd: Command, left: bool) {
    let limit = match timeout(&cmd[cmd.len() - 1]) {
        Ok(t) => t,
        Err(e) => return conn.write_error(e),
    };
    let d = db(conn);
    let keys: Vec<&[u8]> = cmd.args().skip(1).take(cmd.len() - 2).collect();
    match pop_first(store, d, &keys, left) {
        Err(()) => return conn.write_error(WRONGTYPE),
        Ok(Some(served)) => return write_served(conn, served),
        Ok(None) => {}
    }
    let waker = match conn.waker() {
        Ok(w) => w,
        Err(e) => return conn.write_error(format!("ERR cannot block: {e}")),
    };
    let me = Waiter::new(d, keys.iter().map(|k| k.to_vec()).collect(), left, waker);
    store.blocked.add(&me);
    // A push between the first look and the registration found no one to serve: look
    // again now that pushes will serve this client.
    // A key that turned into another type meanwhile is passed over: the client waits,
    // as Redis's does.
    if let Ok(Some(served)) = pop_first(store, d, &keys, left) {
        store.blocked.remove(&me);
        // A push may have served this client meanwhile too: that element goes back.
        if let Some(extra) = me.take() {
            give_back(store, d, extra, left);
        }
        return write_served(conn, served);
    }
    let deadline = limit.map(|t| Instant::now() + t);
    loop {
        if let Some(served) = me.take() {
            return write_served(conn, served);
        }
        let left_time = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        if left_time.is_some_and(|t| t.is_zero()) {
            store.blocked.remove(&me);
            return match me.take() {
                Some(served) => write_served(conn, served),
                None => conn.write_null_array(),
            };
        }
        match conn.wait(left_time) {
            Wait::Woken | Wait::TimedOut => continue,
            Wait::Cancelled(_) => {
                store.blocked.remove(&me);
                // Served as the connection ended: the element goes back where it was.
                if let Some(served) = me.take() {
                    give_back(store, d, served, left);
                }
                return;
            }
        }
    }
}

/// Puts an element popped for a client that can no longer take it back at the end it
/// came from (serving whoever is now blocked on the key).
fn give_back(store: &Store, d: usize, (key, value): Served, left: bool) {
    let mut shard = store.shard(d, &key);
    let e = match live_mut(&mut shard, &key) {
        Some(e) if !e.is_list() => return,
        Some(e) => e,
        None => shard.get_or_insert_with(&key, || Entry {
            value: Vec::new(),
            list: Some(Box::default()),
            expires: None,
        }),
    };
    let list = e.list.as_mut().expect("a list entry");
    if left {
        list.push_front(value);
    } else {
        list.push_back(value);
    }
    store.blocked.serve(d, &key, list);
    remove_if_empty(&mut shard, &key);
}

pub(crate) fn register(mux: &mut Mux, store: &Arc<Store>) {
    on(mux, store, "lpush", |s, c, cmd| push(s, c, cmd, true));
    on(mux, store, "rpush", |s, c, cmd| push(s, c, cmd, false));
    on(mux, store, "lpop", |s, c, cmd| pop(s, c, cmd, true));
    on(mux, store, "rpop", |s, c, cmd| pop(s, c, cmd, false));
    on(mux, store, "llen", llen);
    on(mux, store, "lrange", lrange);
    on(mux, store, "blpop", |s, c, cmd| {
        blocking_pop(s, c, cmd, true)
    });
    on(mux, store, "brpop", |s, c, cmd| {
        blocking_pop(s, c, cmd, false)
    });
}
