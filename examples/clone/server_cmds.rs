//! Connection and server commands: PING, ECHO, QUIT, CLIENT's subcommands, INFO,
//! CONFIG GET / SET / HELP and TIME.

use crate::commands::write_opt;
use crate::specs::spec;
use crate::store::{Store, DATABASES};
use redcon::mux::Mux;
use redcon::{reply, Command, Conn};
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

/// INFO: the fields clients read, and the Keyspace section as Redis writes it. Its key
/// counts include expired keys not yet removed, as Redis's do, which is how active
/// expiry can be observed from outside.
fn info(store: &Store, conn: &mut Conn, cmd: Command) {
    let wants = |section: &str| {
        cmd.len() == 1
            || cmd.args().skip(1).any(|a| {
                a.eq_ignore_ascii_case(section.as_bytes())
                    || [&b"all"[..], b"everything", b"default"]
                        .iter()
                        .any(|all| a.eq_ignore_ascii_case(all))
            })
    };
    let mut sections = Vec::new();
    let cluster = conn.cluster().is_some();
    if wants("server") {
        let mode = if cluster { "cluster" } else { "standalone" };
        sections.push(format!(
            "# Server\r\nredis_version:{}\r\nredis_mode:{mode}\r\n",
            redcon::hello::REDIS_VERSION
        ));
    }
    if wants("persistence") {
        sections.push("# Persistence\r\nloading:0\r\n".to_string());
    }
    if wants("keyspace") {
        let mut s = "# Keyspace\r\n".to_string();
        for d in 0..DATABASES {
            let (keys, expires) = store.stored(d);
            if keys > 0 {
                s += &format!("db{d}:keys={keys},expires={expires},avg_ttl=0\r\n");
            }
        }
        sections.push(s);
    }
    // Cluster clients (ioredis) and tools read this section.
    if cluster && wants("cluster") {
        sections.push("# Cluster\r\ncluster_enabled:1\r\n".to_string());
    }
    conn.write_verbatim("txt", sections.join("\r\n"));
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
}
