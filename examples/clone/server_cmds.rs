//! Connection and server commands: PING, ECHO, QUIT, CLIENT's subcommands, INFO,
//! CONFIG GET / SET / HELP and TIME.

use crate::commands::write_opt;
use crate::specs::spec;
use crate::store::{Store, DATABASES};
use redcon::info::Info;
use redcon::mux::Mux;
use redcon::resp::parse_int;
use redcon::{reply, ClientInfo, Command, Conn, PauseMode};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The configuration CONFIG GET reports: the parameters clients and tools read, each
/// with the value that is true of the clone (no persistence, no memory limit, 16
/// databases, active expiry ten times a second), which are also Redis's defaults for
/// a server started without saving.
const CONFIG: &[(&str, &str)] = &[
    ("save", ""),
    ("appendonly", "no"),
    ("appendfsync", "everysec"),
    ("databases", "16"),
    ("maxmemory", "0"),
    ("maxmemory-policy", "noeviction"),
    ("timeout", "0"),
    ("hz", "10"),
    ("cluster-enabled", "no"),
    ("notify-keyspace-events", ""),
    ("replica-read-only", "yes"),
    ("slave-read-only", "yes"),
    ("proto-max-bulk-len", "536870912"),
];

/// CONFIG GET: the parameters matching any of the patterns, each once; a pattern
/// without glob characters is an exact (case-insensitive) name and is echoed as given,
/// as Redis does.
fn config_get(conn: &mut Conn, cmd: Command) {
    let mut found: Vec<(Vec<u8>, &str)> = Vec::new();
    for pattern in cmd.args().skip(2) {
        let glob = pattern.iter().any(|b| b"[*?".contains(b));
        for &(name, value) in CONFIG {
            let hit = if glob {
                redcon::glob_match_nocase(pattern, name.as_bytes())
            } else {
                pattern.eq_ignore_ascii_case(name.as_bytes())
            };
            if hit
                && !found
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            {
                let shown = if glob { name.as_bytes() } else { pattern };
                found.push((shown.to_vec(), value));
            }
        }
    }
    conn.write_map(found.len());
    for (name, value) in found {
        conn.write_bulk(name);
        conn.write_bulk(value);
    }
}

/// CONFIG SET: the clone's configuration is fixed. Setting a parameter to the value it
/// has succeeds (tools that turn persistence off with `CONFIG SET save ""` go on); any
/// other value gets the error Redis gives for a parameter that cannot change at run
/// time, and an unknown parameter Redis's own error.
fn config_set(conn: &mut Conn, cmd: Command) {
    // Fewer than two arguments is the router's arity error; an odd count is this.
    if cmd.len() % 2 == 1 {
        return conn.write_error(reply::SYNTAX_ERROR);
    }
    let mut args = cmd.args().skip(2);
    while let (Some(name), Some(value)) = (args.next(), args.next()) {
        let current = CONFIG
            .iter()
            .find(|(n, _)| name.eq_ignore_ascii_case(n.as_bytes()));
        let shown = String::from_utf8_lossy(name);
        match current {
            Some((_, v)) if value.eq_ignore_ascii_case(v.as_bytes()) => {}
            Some(_) => {
                return conn.write_error(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{shown}') - can't set immutable config"
                ))
            }
            None => {
                return conn.write_error(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{shown}'"
                ))
            }
        }
    }
    conn.write_string("OK");
}

const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

/// INFO: the library's sections (server, clients, memory, stats, CPU: what
/// `redis-cli --stat`, `redis-cli info` and exporters read), with what only the clone
/// knows added: its persistence (none), its mode, and the Keyspace section as Redis
/// writes it. Key counts include expired keys not yet removed, as Redis's do, which is
/// how active expiry can be observed from outside.
fn info(store: &Store, conn: &mut Conn, cmd: Command) {
    let mut info = Info::new(&conn.stats());
    let cluster = conn.cluster().is_some();
    if cluster {
        info.field("server", "redis_mode", "cluster");
        // Cluster clients (ioredis) and tools read this section.
        info.field("cluster", "cluster_enabled", 1);
    }
    info.field("persistence", "loading", 0);
    for d in 0..DATABASES {
        let (keys, expires) = store.stored(d);
        if keys > 0 {
            info.keyspace(d, keys as u64, expires as u64, 0);
        }
    }
    let wanted: Vec<&[u8]> = cmd.args().skip(1).collect();
    conn.write_verbatim("txt", info.render(&wanted));
}

pub(crate) fn register(mux: &mut Mux, store: &Arc<Store>) {
    mux.command(spec("ping"), |conn, cmd| match cmd.len() {
        1 => conn.write_string("PONG"),
        2 => conn.write_bulk(&cmd[1]),
        _ => conn.write_error(reply::wrong_arity("ping")),
    });
    mux.command(spec("echo"), |conn, cmd| conn.write_bulk(&cmd[1]));
    mux.command(spec("quit"), |conn, _| {
        conn.write_string("OK");
        conn.close();
    });
    // Back to a new connection's state: database 0, RESP2, no name; the server core
    // has already logged the connection back in as the default user.
    mux.command(spec("reset"), |conn, _| {
        let _ = conn.take_context::<crate::store::Selected>();
        conn.set_protocol(redcon::Protocol::Resp2);
        conn.set_client_name(None);
        conn.write_string("RESET");
    });
    mux.command(spec("time"), |conn, _| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        conn.write_array(2);
        conn.write_bulk(now.as_secs().to_string());
        conn.write_bulk(now.subsec_micros().to_string());
    });
    // ioredis sends INFO as a ready check before anything else and drops the
    // connection on an error.
    crate::commands::on(mux, store, "info", info);
    mux.command(spec("config|get"), config_get);
    mux.command(spec("config|set"), config_set);
    mux.command(spec("config|help"), |conn, _| {
        conn.write_array(CONFIG_HELP.len());
        for line in CONFIG_HELP {
            conn.write_string(line);
        }
    });
    mux.describe(spec("config"));
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
        if attr.eq_ignore_ascii_case(b"lib-name") {
            conn.set_client_lib(Some(&cmd[3]), None);
            conn.write_string("OK");
        } else if attr.eq_ignore_ascii_case(b"lib-ver") {
            conn.set_client_lib(None, Some(&cmd[3]));
            conn.write_string("OK");
        } else {
            let mut msg = b"ERR Unrecognized option '".to_vec();
            msg.extend_from_slice(attr);
            msg.push(b'\'');
            conn.write_error(msg);
        }
    });
    mux.command(spec("client|list"), crate::client_list::list);
    mux.command(spec("client|info"), crate::client_list::info);
    mux.command(spec("client|kill"), client_kill);
    mux.command(spec("client|pause"), client_pause);
    mux.command(spec("client|unpause"), |conn, _| {
        conn.clients().unpause();
        conn.write_string("OK");
    });
    // The clone evicts nothing: the flag is accepted and changes nothing.
    mux.command(spec("client|no-evict"), |conn, cmd| {
        if cmd[2].eq_ignore_ascii_case(b"on") || cmd[2].eq_ignore_ascii_case(b"off") {
            conn.write_string("OK");
        } else {
            conn.write_error(reply::SYNTAX_ERROR);
        }
    });
    // Redis 7.2's NO-TOUCH: the clone keeps no LRU/LFU, so it changes nothing either.
    mux.command(spec("client|no-touch"), |conn, cmd| {
        if cmd[2].eq_ignore_ascii_case(b"on") || cmd[2].eq_ignore_ascii_case(b"off") {
            conn.write_string("OK");
        } else {
            conn.write_error(reply::SYNTAX_ERROR);
        }
    });
    // The library's MONITOR: every command served is streamed to this client.
    mux.command(spec("monitor"), |conn, _| conn.monitor());
    mux.describe(spec("client"));
}

/// CLIENT PAUSE timeout [WRITE|ALL], checked in Redis 7.0's order (mode, then
/// timeout in milliseconds); the library holds the commands.
fn client_pause(conn: &mut Conn, cmd: Command) {
    if cmd.len() > 4 {
        // The subcommand as the client wrote it, as Redis echoes it.
        let sub = String::from_utf8_lossy(&cmd[1]);
        return conn.write_error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try CLIENT HELP."
        ));
    }
    let mode = match cmd.get(3) {
        None => PauseMode::All,
        Some(m) if m.eq_ignore_ascii_case(b"write") => PauseMode::Write,
        Some(m) if m.eq_ignore_ascii_case(b"all") => PauseMode::All,
        Some(_) => return conn.write_error("ERR CLIENT PAUSE mode must be WRITE or ALL"),
    };
    match parse_int(&cmd[2]) {
        None => conn.write_error("ERR timeout is not an integer or out of range"),
        Some(ms) if ms < 0 => conn.write_error("ERR timeout is negative"),
        Some(ms) => {
            conn.clients()
                .pause(std::time::Duration::from_millis(ms as u64), mode);
            conn.write_string("OK");
        }
    }
}

/// CLIENT KILL: the old form (`CLIENT KILL addr:port`, `+OK` or `No such client`) and
/// the filters of Redis 7.0 (`ID`, `ADDR`, `LADDR`, `USER`, `SKIPME`, `TYPE`), answered
/// with the number killed. The clone has only the default user and no replicas or
/// masters, so `USER default` matches every client and `TYPE` tells normal clients from
/// subscribers. A connection that kills itself gets its reply first, as in Redis.
fn client_kill(conn: &mut Conn, cmd: Command) {
    let clients = conn.clients();
    let me = conn.id();
    let kill = |conn: &mut Conn, id: u64| {
        if id == me {
            conn.close();
        } else {
            clients.kill(id);
        }
    };
    let live = clients.list();
    if cmd.len() == 3 {
        let found = live
            .iter()
            .find(|c| c.addr().as_bytes() == &cmd[2])
            .map(ClientInfo::id);
        return match found {
            Some(id) => {
                conn.write_string("OK");
                kill(conn, id);
            }
            None => conn.write_error("ERR No such client"),
        };
    }
    if cmd.len() % 2 == 1 {
        return conn.write_error(reply::SYNTAX_ERROR);
    }
    let (mut id, mut addr, mut laddr, mut skipme, mut kind) = (None, None, None, true, None);
    let mut args = cmd.args().skip(2);
    while let (Some(name), Some(value)) = (args.next(), args.next()) {
        match name.to_ascii_lowercase().as_slice() {
            b"id" => match parse_int(value) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return conn.write_error("ERR client-id should be greater than 0"),
            },
            b"type" => match crate::client_list::client_type(conn, value) {
                Some(t) => kind = Some(t),
                None => return,
            },
            b"addr" => addr = Some(value.to_vec()),
            b"laddr" => laddr = Some(value.to_vec()),
            b"user" => {
                if value != b"default" {
                    let shown = String::from_utf8_lossy(value);
                    return conn.write_error(format!("ERR No such user '{shown}'"));
                }
            }
            b"skipme" => match value.to_ascii_lowercase().as_slice() {
                b"yes" => skipme = true,
                b"no" => skipme = false,
                _ => return conn.write_error(reply::SYNTAX_ERROR),
            },
            _ => return conn.write_error(reply::SYNTAX_ERROR),
        }
    }
    let matches = |c: &ClientInfo| {
        kind.is_none_or(|k| k == c.client_type())
            && id.is_none_or(|i| i == c.id())
            && !(skipme && c.id() == me)
            && addr
                .as_ref()
                .is_none_or(|a| c.addr().as_bytes() == a.as_slice())
            && laddr
                .as_ref()
                .is_none_or(|a| c.laddr().as_bytes() == a.as_slice())
    };
    let targets: Vec<u64> = live
        .iter()
        .filter(|c| matches(c))
        .map(ClientInfo::id)
        .collect();
    conn.write_int(targets.len() as i64);
    for t in targets {
        kill(conn, t);
    }
}
