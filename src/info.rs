//! [`Info`]: Redis's `INFO` reply built from a server's [`Stats`] — the `Server`,
//! `Clients`, `Memory` (the process's resident size, from the OS), `Stats`, `CPU` and
//! `Keyspace` sections with Redis 7's field names, so that `redis-cli --stat`,
//! `redis-cli info` and exporters read a redcon server as they read Redis — plus any
//! field or section a handler adds (its keyspace, persistence, replication).

use crate::Stats;
use std::fmt::{self, Display, Write};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Redis's sections in the order `INFO` writes them, with the name each is asked for
/// by, and whether a plain `INFO` (or `INFO default`) includes it.
const ORDER: &[(&str, &str, bool)] = &[
    ("server", "Server", true),
    ("clients", "Clients", true),
    ("memory", "Memory", true),
    ("persistence", "Persistence", true),
    ("stats", "Stats", true),
    ("replication", "Replication", true),
    ("cpu", "CPU", true),
    ("modules", "Modules", false),
    ("errorstats", "Errorstats", true),
    ("cluster", "Cluster", true),
    ("keyspace", "Keyspace", true),
];

/// Redis's `INFO` text, section by section. Start from a server's statistics with
/// [`Info::new`], add what only the handler knows with [`field`](Self::field) and
/// [`keyspace`](Self::keyspace), and [`render`](Self::render) the sections a client
/// asked for (write the result with `write_verbatim("txt", ...)`, as Redis does).
///
/// ```
/// use redcon::info::Info;
/// use redcon::{Command, Conn, Server};
///
/// let server = Server::new(|conn: &mut Conn, cmd: Command| {
///     let mut info = Info::new(&conn.stats());
///     info.keyspace(0, 42, 3, 0);
///     let wanted: Vec<&[u8]> = cmd.args().skip(1).collect();
///     conn.write_verbatim("txt", info.render(&wanted));
/// })
/// .addr("127.0.0.1:0")
/// .start()?;
/// # use std::io::{Read, Write};
/// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
/// c.write_all(b"INFO keyspace\r\n")?;
/// let want = b"$45\r\n# Keyspace\r\ndb0:keys=42,expires=3,avg_ttl=0\r\n\r\n";
/// let mut reply = vec![0u8; want.len()];
/// c.read_exact(&mut reply)?;
/// assert_eq!(reply, want);
/// server.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Info {
    /// In Redis's order, then added ones.
    sections: Vec<Section>,
}

/// A section: the name it is asked for by (lower case), its header, its fields.
type Section = (String, String, Vec<(String, String)>);

impl Info {
    /// The standard sections, filled from `stats` and the process (its id, resident
    /// memory and CPU time, from the OS).
    ///
    /// ```
    /// let info = redcon::info::Info::new(&redcon::Stats::default());
    /// assert!(info.render(&[b"clients"]).contains("connected_clients:0\r\n"));
    /// ```
    pub fn new(stats: &Stats) -> Info {
        let mut info = Info::default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        let up = stats.uptime.as_secs();
        info.field("server", "redis_version", crate::hello::REDIS_VERSION)
            .field("server", "redis_mode", "standalone")
            .field("server", "os", os())
            .field("server", "arch_bits", usize::BITS)
            .field("server", "process_id", std::process::id())
            .field("server", "run_id", run_id())
            .field("server", "tcp_port", stats.tcp_port)
            .field("server", "server_time_usec", now)
            .field("server", "uptime_in_seconds", up)
            .field("server", "uptime_in_days", up / 86_400)
            .field(
                "server",
                "executable",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
        info.field("clients", "connected_clients", stats.connected_clients)
            .field("clients", "maxclients", stats.max_clients)
            .field("clients", "blocked_clients", stats.blocked_clients);
        let rss = resident_bytes();
        // No allocator statistics here: the resident size is the memory used.
        info.field("memory", "used_memory", rss)
            .field("memory", "used_memory_human", human(rss))
            .field("memory", "used_memory_rss", rss)
            .field("memory", "used_memory_rss_human", human(rss));
        info.field(
            "stats",
            "total_connections_received",
            stats.connections_received,
        )
        .field(
            "stats",
            "total_commands_processed",
            stats.commands_processed,
        )
        .field(
            "stats",
            "instantaneous_ops_per_sec",
            stats.instantaneous_ops_per_sec,
        )
        .field("stats", "total_net_input_bytes", stats.net_input_bytes)
        .field("stats", "total_net_output_bytes", stats.net_output_bytes)
        .field(
            "stats",
            "instantaneous_input_kbps",
            format!("{:.2}", stats.instantaneous_input_kbps),
        )
        .field(
            "stats",
            "instantaneous_output_kbps",
            format!("{:.2}", stats.instantaneous_output_kbps),
        )
        .field("stats", "rejected_connections", stats.rejected_connections);
        let (user, sys, cuser, csys) = cpu_times();
        info.field("cpu", "used_cpu_sys", sys)
            .field("cpu", "used_cpu_user", user)
            .field("cpu", "used_cpu_sys_children", csys)
            .field("cpu", "used_cpu_user_children", cuser);
        info.section("keyspace");
        info
    }

    /// Sets field `name` of `section` (case-insensitive, as `INFO` asks for it) to
    /// `value`, replacing a field of the same name; a new section is placed where
    /// Redis places it, or after the others if Redis has no such section.
    ///
    /// ```
    /// let mut info = redcon::info::Info::default();
    /// info.field("persistence", "loading", 0).field("server", "redis_mode", "cluster");
    /// assert_eq!(
    ///     info.render(&[]),
    ///     "# Server\r\nredis_mode:cluster\r\n\r\n# Persistence\r\nloading:0\r\n"
    /// );
    /// ```
    pub fn field(&mut self, section: &str, name: &str, value: impl Display) -> &mut Self {
        let at = self.index(section);
        let fields = &mut self.sections[at].2;
        let value = value.to_string();
        match fields.iter_mut().find(|f| f.0 == name) {
            Some(f) => f.1 = value,
            None => fields.push((name.to_string(), value)),
        }
        self
    }

    /// Adds `section` with no fields if it is not there (Redis writes `# Keyspace`
    /// even when no database has keys; [`Info::new`] adds that one).
    ///
    /// ```
    /// let mut info = redcon::info::Info::default();
    /// info.section("replication");
    /// assert_eq!(info.render(&[b"replication"]), "# Replication\r\n");
    /// ```
    pub fn section(&mut self, section: &str) -> &mut Self {
        self.index(section);
        self
    }

    /// Where `section` is, added in Redis's order if it was not.
    fn index(&mut self, section: &str) -> usize {
        let key = section.to_ascii_lowercase();
        match self.sections.iter().position(|s| s.0 == key) {
            Some(i) => i,
            None => {
                let rank = |k: &str| ORDER.iter().position(|o| o.0 == k).unwrap_or(ORDER.len());
                let mine = rank(&key);
                let at = self
                    .sections
                    .iter()
                    .position(|s| rank(&s.0) > mine)
                    .unwrap_or(self.sections.len());
                let header = ORDER
                    .iter()
                    .find(|o| o.0 == key)
                    .map_or_else(|| capitalised(section), |o| o.1.to_string());
                self.sections.insert(at, (key, header, Vec::new()));
                at
            }
        }
    }

    /// Adds database `db`'s line to the `Keyspace` section as Redis writes it
    /// (`db0:keys=1,expires=0,avg_ttl=0`); Redis lists only databases with keys.
    ///
    /// ```
    /// let mut info = redcon::info::Info::default();
    /// info.keyspace(3, 10, 2, 1500);
    /// assert_eq!(info.render(&[b"keyspace"]), "# Keyspace\r\ndb3:keys=10,expires=2,avg_ttl=1500\r\n");
    /// ```
    pub fn keyspace(&mut self, db: usize, keys: u64, expires: u64, avg_ttl: u64) -> &mut Self {
        self.field(
            "keyspace",
            &format!("db{db}"),
            format_args!("keys={keys},expires={expires},avg_ttl={avg_ttl}"),
        )
    }

    /// The text of `INFO` with these arguments: none or `default` for Redis's default
    /// sections, `all` for all but `modules`, `everything` for all, or section names
    /// (case-insensitive); unknown names add nothing. Every section present is written
    /// (`# Keyspace` even when empty), sections separated by an empty line.
    ///
    /// ```
    /// let mut info = redcon::info::Info::default();
    /// info.field("server", "redis_version", "7.0.15").field("clients", "connected_clients", 1);
    /// assert_eq!(info.render(&[b"CLIENTS"]), "# Clients\r\nconnected_clients:1\r\n");
    /// assert_eq!(info.render(&[b"nosuch"]), "");
    /// ```
    pub fn render(&self, args: &[&[u8]]) -> String {
        let wanted = |key: &str| {
            let default = ORDER.iter().find(|o| o.0 == key).is_none_or(|o| o.2);
            if args.is_empty() {
                return default;
            }
            args.iter().any(|a| {
                a.eq_ignore_ascii_case(key.as_bytes())
                    || a.eq_ignore_ascii_case(b"everything")
                    || (a.eq_ignore_ascii_case(b"all") && key != "modules")
                    || (a.eq_ignore_ascii_case(b"default") && default)
            })
        };
        let mut out = String::new();
        for (key, header, fields) in &self.sections {
            if !wanted(key) {
                continue;
            }
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            let _ = write!(out, "# {header}\r\n");
            for (name, value) in fields {
                let _ = write!(out, "{name}:{value}\r\n");
            }
        }
        out
    }
}

impl fmt::Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&[]))
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Redis's bytesToHuman: `512B`, `1.50K`, `2.00M`, `1.00G`.
fn human(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    match n {
        0..1024 => format!("{n}B"),
        1024..1_048_576 => format!("{:.2}K", f / K),
        1_048_576..1_073_741_824 => format!("{:.2}M", f / (K * K)),
        _ if f < K * K * K * K => format!("{:.2}G", f / (K * K * K)),
        _ => format!("{:.2}T", f / (K * K * K * K)),
    }
}

/// A 40-hex-digit id, random per process, as Redis's `run_id`.
fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use std::hash::BuildHasher;
        let s = std::collections::hash_map::RandomState::new();
        (0..3)
            .map(|i| format!("{:016x}", s.hash_one((i, std::process::id()))))
            .collect::<String>()[..40]
            .to_string()
    })
}

/// `uname -srm`, as Redis's `os` field.
fn os() -> String {
    // SAFETY: `utsname` is plain bytes, valid all zero; uname(2) fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

/// The process's resident set size in bytes; 0 where the OS does not say.
fn resident_bytes() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        pages * u64::try_from(page).unwrap_or(4096)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// User and system CPU time of the process and of its waited-for children, as Redis
/// prints them (`seconds.microseconds`).
fn cpu_times() -> (String, String, String, String) {
    let get = |who| {
        // SAFETY: `rusage` is plain integers, valid all zero; getrusage fills it.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a valid, writable rusage.
        unsafe { libc::getrusage(who, &mut r) };
        let t = |tv: libc::timeval| format!("{}.{:06}", tv.tv_sec, tv.tv_usec);
        (t(r.ru_utime), t(r.ru_stime))
    };
    let (user, sys) = get(libc::RUSAGE_SELF);
    let (cuser, csys) = get(libc::RUSAGE_CHILDREN);
    (user, sys, cuser, csys)
}
