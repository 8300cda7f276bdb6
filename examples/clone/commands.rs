//! The clone's commands: each registered with its description (from `specs.rs`) and
//! its implementation over the [`Store`].

use crate::specs::spec;
use crate::store::{db, Entry, Selected, Store, DATABASES};
use redcon::mux::Mux;
use redcon::resp::parse_int;
use redcon::{reply, Command, Conn};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

pub fn build_mux(store: Arc<Store>) -> Mux {
    let mut mux = Mux::new();
    mux.command(spec("ping"), |conn, cmd| match cmd.len() {
        1 => conn.write_string("PONG"),
        2 => conn.write_bulk(&cmd[1]),
        _ => conn.write_error(reply::wrong_arity("ping")),
    });
    mux.command(spec("echo"), |conn, cmd| conn.write_bulk(&cmd[1]));
    let s = store.clone();
    mux.command(spec("set"), move |conn, cmd| set(&s, conn, cmd));
    let s = store.clone();
    mux.command(spec("get"), move |conn, cmd| {
        s.write_value(conn, db(conn), &cmd[1])
    });
    let s = store.clone();
    mux.command(spec("del"), move |conn, cmd| {
        let d = db(conn);
        let n = cmd.args().skip(1).filter(|k| s.del(d, k)).count();
        conn.write_int(n as i64);
    });
    let s = store.clone();
    mux.command(spec("exists"), move |conn, cmd| {
        let d = db(conn);
        let n = cmd.args().skip(1).filter(|k| s.exists(d, k)).count();
        conn.write_int(n as i64);
    });
    let s = store.clone();
    mux.command(spec("incr"), move |conn, cmd| incr_by(&s, conn, &cmd[1], 1));
    let s = store.clone();
    mux.command(spec("decr"), move |conn, cmd| {
        incr_by(&s, conn, &cmd[1], -1)
    });
    let s = store.clone();
    mux.command(spec("mset"), move |conn, cmd| {
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
    mux.command(spec("mget"), move |conn, cmd| {
        let d = db(conn);
        conn.write_array(cmd.len() - 1);
        for k in cmd.args().skip(1) {
            s.write_value(conn, d, k);
        }
    });
    let s = store.clone();
    mux.command(spec("dbsize"), move |conn, _| {
        let mut n = 0i64;
        s.for_each_live(db(conn), |_| n += 1);
        conn.write_int(n);
    });
    for name in ["flushdb", "flushall"] {
        let s = store.clone();
        let all = name == "flushall";
        mux.command(spec(name), move |conn, cmd| {
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
    mux.command(spec("keys"), move |conn, cmd| {
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
    mux.command(spec("select"), |conn, cmd| match parse_int(&cmd[1]) {
        None => conn.write_error(reply::NOT_AN_INTEGER),
        Some(n) if n != 0 && conn.cluster().is_some() => {
            conn.write_error("ERR SELECT is not allowed in cluster mode")
        }
        Some(n) if n < 0 || n >= DATABASES as i64 => {
            conn.write_error("ERR DB index is out of range")
        }
        Some(n) => {
            conn.set_context(Selected(n as usize));
            conn.write_string("OK");
        }
    });
    mux.command(spec("quit"), |conn, _| {
        conn.write_string("OK");
        conn.close();
    });
    // ioredis sends INFO as a ready check before anything else and drops the
    // connection on an error: answer with the fields clients read (sections ignored).
    mux.command(spec("info"), |conn, _| {
        let mode = if conn.cluster().is_some() {
            "cluster"
        } else {
            "standalone"
        };
        let mut text = format!(
            "# Server\r\nredis_version:{}\r\nredis_mode:{mode}\r\n\r\n\
             # Persistence\r\nloading:0\r\n",
            redcon::hello::REDIS_VERSION
        );
        // Cluster clients (ioredis) and tools read this section.
        if conn.cluster().is_some() {
            text.push_str("\r\n# Cluster\r\ncluster_enabled:1\r\n");
        }
        conn.write_verbatim("txt", text);
    });
    mux.command(spec("client|setname"), |conn, cmd| {
        let name = &cmd[2];
        if !reply::valid_client_name(name) {
            return conn.write_error(reply::INVALID_CLIENT_NAME);
        }
        conn.set_client_name(if name.is_empty() { None } else { Some(name) });
        conn.write_string("OK");
    });
    mux.command(spec("client|getname"), |conn, _| {
        let name = conn.client_name().map(<[u8]>::to_vec);
        write_opt(conn, name);
    });
    mux.command(spec("client|id"), |conn, _| {
        let id = conn.id();
        conn.write_u64(id);
    });
    mux.command(spec("client|setinfo"), |conn, cmd| {
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
    mux.describe(spec("client"));
    mux
}
