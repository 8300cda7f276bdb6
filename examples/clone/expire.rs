//! Time to live: the commands that set, read and remove a key's expiry (EXPIRE and
//! its three siblings, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST), and the deadline
//! arithmetic SET, SETEX and GETEX share with them, with Redis 7.0's checks and errors.

use crate::commands::{int_arg, on};
use crate::store::{db, from_unix_ms, live_mut, now_ms, to_unix_ms, Store};
use redcon::mux::Mux;
use redcon::{Command, Conn};
use std::sync::Arc;
use std::time::Instant;

/// How a command gives a time: in seconds or milliseconds, from now or as a Unix time.
#[derive(Clone, Copy)]
pub(crate) struct Unit {
    pub(crate) seconds: bool,
    pub(crate) absolute: bool,
}

impl Unit {
    /// The unit of SET's and GETEX's `EX`, `PX`, `EXAT`, `PXAT` (any case).
    pub(crate) fn of_option(opt: &[u8]) -> Unit {
        Unit {
            seconds: opt[0].eq_ignore_ascii_case(&b'e'),
            absolute: opt.len() == 4,
        }
    }
}

pub(crate) fn invalid_expire(name: &str) -> String {
    format!("ERR invalid expire time in '{name}' command")
}

/// The deadline of SET/SETEX/GETEX's time argument, as Redis's
/// getExpireMillisecondsOrReply checks it: an integer, above zero, that does not
/// overflow once in milliseconds; `name` is the command named in the error.
pub(crate) fn deadline(raw: &[u8], unit: Unit, name: &str) -> Result<Instant, String> {
    let n = parse(raw)?;
    let ms = if unit.seconds {
        n.checked_mul(1000)
    } else {
        Some(n)
    };
    let ms = ms
        .filter(|_| n > 0)
        .and_then(|ms| {
            if unit.absolute {
                Some(ms)
            } else {
                ms.checked_add(now_ms())
            }
        })
        .ok_or_else(|| invalid_expire(name))?;
    Ok(from_unix_ms(ms))
}

fn parse(raw: &[u8]) -> Result<i64, String> {
    redcon::resp::parse_int(raw).ok_or_else(|| redcon::reply::NOT_AN_INTEGER.to_string())
}

/// EXPIRE's NX / XX / GT / LT.
#[derive(Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_conditions(cmd: &Command) -> Result<Conditions, String> {
    let mut c = Conditions::default();
    for opt in cmd.args().skip(3) {
        let flag = match opt.to_ascii_lowercase().as_slice() {
            b"nx" => &mut c.nx,
            b"xx" => &mut c.xx,
            b"gt" => &mut c.gt,
            b"lt" => &mut c.lt,
            _ => {
                return Err(format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(opt)
                ))
            }
        };
        *flag = true;
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if c.gt && c.lt {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    Ok(c)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: Redis's expireGenericCommand, in its order
/// (options, then the time, then the key).
fn expire(store: &Store, conn: &mut Conn, cmd: Command, unit: Unit, name: &str) {
    let cond = match parse_conditions(&cmd) {
        Ok(c) => c,
        Err(e) => return conn.write_error(e),
    };
    let Some(n) = int_arg(conn, &cmd[2]) else {
        return;
    };
    // Negative times are allowed (the key goes at once); only overflow is an error.
    let base = if unit.absolute { 0 } else { now_ms() };
    let Some(when) = (if unit.seconds {
        n.checked_mul(1000)
    } else {
        Some(n)
    })
    .and_then(|ms| ms.checked_add(base)) else {
        return conn.write_error(invalid_expire(name));
    };
    let key = &cmd[1];
    let mut shard = store.shard(db(conn), key);
    let Some(e) = live_mut(&mut shard, key) else {
        drop(shard);
        return conn.write_int(0);
    };
    let current = e.expires.map(to_unix_ms);
    let refused = (cond.nx && current.is_some())
        || (cond.xx && current.is_none())
        || (cond.gt && current.is_none_or(|c| when <= c))
        || (cond.lt && current.is_some_and(|c| when >= c));
    if refused {
        drop(shard);
        return conn.write_int(0);
    }
    if when <= now_ms() {
        shard.remove(key);
    } else {
        e.expires = Some(from_unix_ms(when));
    }
    drop(shard);
    conn.write_int(1);
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for no key, -1 for no expiry.
fn ttl(store: &Store, conn: &mut Conn, key: &[u8], ms: bool, absolute: bool) {
    let Some(expires) = store.read(db(conn), key, |e| e.expires) else {
        return conn.write_int(-2);
    };
    let Some(t) = expires else {
        return conn.write_int(-1);
    };
    let at = to_unix_ms(t);
    let n = if absolute { at } else { (at - now_ms()).max(0) };
    conn.write_int(if ms { n } else { (n + 500) / 1000 });
}

pub(crate) fn register(mux: &mut Mux, store: &Arc<Store>) {
    on(mux, store, "expire", |s, c, cmd| {
        expire(
            s,
            c,
            cmd,
            Unit {
                seconds: true,
                absolute: false,
            },
            "expire",
        )
    });
    on(mux, store, "pexpire", |s, c, cmd| {
        expire(
            s,
            c,
            cmd,
            Unit {
                seconds: false,
                absolute: false,
            },
            "pexpire",
        )
    });
    on(mux, store, "expireat", |s, c, cmd| {
        expire(
            s,
            c,
            cmd,
            Unit {
                seconds: true,
                absolute: true,
            },
            "expireat",
        )
    });
    on(mux, store, "pexpireat", |s, c, cmd| {
        expire(
            s,
            c,
            cmd,
            Unit {
                seconds: false,
                absolute: true,
            },
            "pexpireat",
        )
    });
    on(mux, store, "ttl", |s, c, cmd| {
        ttl(s, c, &cmd[1], false, false)
    });
    on(mux, store, "pttl", |s, c, cmd| {
        ttl(s, c, &cmd[1], true, false)
    });
    on(mux, store, "expiretime", |s, c, cmd| {
        ttl(s, c, &cmd[1], false, true)
    });
    on(mux, store, "pexpiretime", |s, c, cmd| {
        ttl(s, c, &cmd[1], true, true)
    });
    on(mux, store, "persist", |s, c, cmd| {
        let mut shard = s.shard(db(c), &cmd[1]);
        let had = live_mut(&mut shard, &cmd[1]).is_some_and(|e| e.expires.take().is_some());
        drop(shard);
        c.write_int(i64::from(had));
    });
}
