//! Per-connection details for `CLIENT LIST` and `CLIENT INFO`: what each connection
//! publishes for other threads ([`Details`], kept in its
//! [`ClientCtl`](crate::clients::ClientCtl)), the snapshot read from it
//! ([`ClientInfo`]), Redis 7.0's line format, and
//! [`Conn::client_info`](crate::Conn::client_info).
//!
//! The connection's thread owns the live values; it copies what changes to [`Details`]
//! once per read batch (the last command, the last interaction, buffer sizes), and at
//! once for rare changes (name, database, protocol, MONITOR, blocking). Numbers are
//! atomics; the few strings sit behind a lock that the owner takes only when one of
//! them changed, so serving a command never locks.

use crate::commands::CommandTable;
use crate::io::{ListenAddr, PeerAddr};
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Flag bits, named after Redis's `CLIENT LIST` letters.
pub(crate) const FLAG_MONITOR: u32 = 1; // O
pub(crate) const FLAG_PUBSUB: u32 = 1 << 1; // P
pub(crate) const FLAG_BLOCKED: u32 = 1 << 2; // b
pub(crate) const FLAG_UNIX: u32 = 1 << 3; // U
/// Served by a `DetachedConn` (Redis has no such client, hence no letter).
pub(crate) const FLAG_DETACHED: u32 = 1 << 4;

/// The strings of [`Details`], changed rarely.
#[derive(Debug, Default)]
struct Text {
    name: Vec<u8>,
    /// Redis's full command name (`client|list`); empty before the first command.
    cmd: String,
    user: String,
    /// `CLIENT SETINFO LIB-NAME` / `LIB-VER`.
    lib_name: Vec<u8>,
    lib_ver: Vec<u8>,
}

/// What one connection shares with other threads for `CLIENT LIST`.
#[derive(Debug)]
pub(crate) struct Details {
    created: Instant,
    /// Milliseconds from `created` to the last read that brought commands.
    last_interaction: AtomicU64,
    flags: AtomicU32,
    db: AtomicU32,
    resp: AtomicU8,
    /// Subscriptions: channels, patterns, shard channels.
    subs: [AtomicU32; 3],
    fd: AtomicU32,
    qbuf: AtomicU64,
    qbuf_cap: AtomicU64,
    out: AtomicU64,
    out_cap: AtomicU64,
    text: Mutex<Text>,
}

impl Details {
    pub(crate) fn new(fd: i32, unix: bool) -> Self {
        Details {
            created: Instant::now(),
            last_interaction: AtomicU64::new(0),
            flags: AtomicU32::new(if unix { FLAG_UNIX } else { 0 }),
            db: AtomicU32::new(0),
            resp: AtomicU8::new(2),
            subs: Default::default(),
            fd: AtomicU32::new(u32::try_from(fd).unwrap_or(0)),
            qbuf: AtomicU64::new(0),
            qbuf_cap: AtomicU64::new(0),
            out: AtomicU64::new(0),
            out_cap: AtomicU64::new(0),
            text: Mutex::new(Text {
                user: "default".to_string(),
                ..Text::default()
            }),
        }
    }

    fn text(&self) -> MutexGuard<'_, Text> {
        // Nothing panics while holding this lock; never let poisoning spread anyway.
        self.text.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_flag(&self, flag: u32, on: bool) {
        if on {
            self.flags.fetch_or(flag, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!flag, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_db(&self, db: u32) {
        self.db.store(db, Ordering::Relaxed);
    }

    pub(crate) fn set_resp(&self, resp: u8) {
        self.resp.store(resp, Ordering::Relaxed);
    }

    /// The protocol version (2 or 3).
    pub(crate) fn resp(&self) -> u8 {
        self.resp.load(Ordering::Relaxed)
    }

    pub(crate) fn set_name(&self, name: Option<&[u8]>) {
        let mut t = self.text();
        t.name.clear();
        t.name.extend_from_slice(name.unwrap_or_default());
    }

    /// The client library's name or version (`CLIENT SETINFO`); `None` leaves it.
    pub(crate) fn set_lib(&self, name: Option<&[u8]>, ver: Option<&[u8]>) {
        let mut t = self.text();
        if let Some(n) = name {
            t.lib_name = n.to_vec();
        }
        if let Some(v) = ver {
            t.lib_ver = v.to_vec();
        }
    }

    /// Channels, patterns and shard channels subscribed; a client with any is a
    /// pub/sub client (flag `P`, `TYPE pubsub`), as in Redis.
    pub(crate) fn set_subscriptions(&self, channels: usize, patterns: usize, shard: usize) {
        let counts = [channels, patterns, shard];
        for (slot, n) in self.subs.iter().zip(counts) {
            slot.store(u32::try_from(n).unwrap_or(u32::MAX), Ordering::Relaxed);
        }
        self.set_flag(FLAG_PUBSUB, counts.iter().any(|&n| n > 0));
    }

    /// Publishes what a read batch changed; takes the lock only if a string changed.
    pub(crate) fn publish(&self, batch: &Batch<'_>) {
        let ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        if batch.interacted {
            self.last_interaction.store(ms, Ordering::Relaxed);
        }
        self.qbuf.store(batch.qbuf as u64, Ordering::Relaxed);
        self.qbuf_cap
            .store(batch.qbuf_cap as u64, Ordering::Relaxed);
        self.out.store(batch.out as u64, Ordering::Relaxed);
        self.out_cap.store(batch.out_cap as u64, Ordering::Relaxed);
        if batch.cmd.is_empty() && batch.user.is_none() {
            return;
        }
        let mut t = self.text();
        if !batch.cmd.is_empty() && t.cmd != batch.cmd {
            t.cmd.clear();
            t.cmd.push_str(batch.cmd);
        }
        if let Some(u) = batch.user
            && t.user != u
        {
            t.user.clear();
            t.user.push_str(u);
        }
    }

    /// A snapshot, with the addresses the caller knows.
    pub(crate) fn snapshot(
        &self,
        id: u64,
        addr: &PeerAddr,
        laddr: Option<&ListenAddr>,
    ) -> ClientInfo {
        let flags = self.flags.load(Ordering::Relaxed);
        let unix_path = laddr.map(|l| l.to_string()).unwrap_or_default();
        let (addr, laddr) = if flags & FLAG_UNIX != 0 {
            // Redis shows a Unix socket client as the socket's path and port 0.
            (format!("{unix_path}:0"), format!("{unix_path}:0"))
        } else {
            (addr.to_string(), unix_path)
        };
        let now = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_interaction.load(Ordering::Relaxed);
        let t = self.text();
        ClientInfo {
            id,
            addr,
            laddr,
            fd: self.fd.load(Ordering::Relaxed),
            name: t.name.clone(),
            age: now / 1000,
            idle: now.saturating_sub(last) / 1000,
            flags,
            db: self.db.load(Ordering::Relaxed),
            sub: self.subs[0].load(Ordering::Relaxed),
            psub: self.subs[1].load(Ordering::Relaxed),
            ssub: self.subs[2].load(Ordering::Relaxed),
            qbuf: self.qbuf.load(Ordering::Relaxed),
            qbuf_cap: self.qbuf_cap.load(Ordering::Relaxed),
            out: self.out.load(Ordering::Relaxed),
            out_cap: self.out_cap.load(Ordering::Relaxed),
            cmd: t.cmd.clone(),
            user: t.user.clone(),
            resp: self.resp.load(Ordering::Relaxed),
            lib_name: t.lib_name.clone(),
            lib_ver: t.lib_ver.clone(),
        }
    }
}

/// What a connection publishes after a read batch (see [`Details::publish`]).
pub(crate) struct Batch<'a> {
    /// Whether the batch brought commands (Redis's last interaction).
    pub(crate) interacted: bool,
    /// The last command's full name, or empty to keep the one published.
    pub(crate) cmd: &'a str,
    pub(crate) user: Option<&'a str>,
    pub(crate) qbuf: usize,
    pub(crate) qbuf_cap: usize,
    pub(crate) out: usize,
    pub(crate) out_cap: usize,
}

/// The kinds of client `CLIENT LIST TYPE` selects, as Redis names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    /// Every client that is not one of the others (MONITOR clients included).
    Normal,
    /// A replica; a redcon server has none.
    Replica,
    /// A client subscribed to a channel, pattern or shard channel.
    PubSub,
    /// A replication master; a redcon server has none.
    Master,
}

impl ClientType {
    /// Parses Redis's names, in any case: `normal`, `replica` (or `slave`), `pubsub`,
    /// `master`.
    ///
    /// ```
    /// use redcon::ClientType;
    /// assert_eq!(ClientType::parse(b"PubSub"), Some(ClientType::PubSub));
    /// assert_eq!(ClientType::parse(b"slave"), Some(ClientType::Replica));
    /// assert_eq!(ClientType::parse(b"foo"), None);
    /// ```
    pub fn parse(name: &[u8]) -> Option<ClientType> {
        [
            (&b"normal"[..], ClientType::Normal),
            (b"replica", ClientType::Replica),
            (b"slave", ClientType::Replica),
            (b"pubsub", ClientType::PubSub),
            (b"master", ClientType::Master),
        ]
        .into_iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map(|(_, t)| t)
    }
}

/// One connection as `CLIENT LIST` and `CLIENT INFO` show it: a snapshot from
/// [`Clients::list`](crate::Clients::list) or
/// [`Conn::client_info`](crate::Conn::client_info). Its [`Display`](fmt::Display) is
/// Redis 7.0's line (without the newline).
///
/// ```
/// use redcon::{handler_fn, Server};
/// use std::io::{BufRead, BufReader, Write};
/// let server = Server::new(handler_fn(|conn, _| {
///     let line = conn.client_info().to_string();
///     conn.write_bulk(line);
/// }))
/// .addr("127.0.0.1:0")
/// .start()?;
/// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
/// c.write_all(b"CLIENT INFO\r\n")?;
/// let mut r = BufReader::new(c);
/// let (mut len, mut line) = (String::new(), String::new());
/// r.read_line(&mut len)?;
/// r.read_line(&mut line)?;
/// assert!(line.starts_with("id="));
/// assert!(line.contains(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 "));
/// assert!(line.contains(" cmd=client user=default redir=-1 resp=2"));
/// server.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    id: u64,
    addr: String,
    laddr: String,
    fd: u32,
    name: Vec<u8>,
    age: u64,
    idle: u64,
    flags: u32,
    db: u32,
    sub: u32,
    psub: u32,
    ssub: u32,
    qbuf: u64,
    qbuf_cap: u64,
    out: u64,
    out_cap: u64,
    cmd: String,
    user: String,
    resp: u8,
    lib_name: Vec<u8>,
    lib_ver: Vec<u8>,
}

impl ClientInfo {
    /// The connection's id ([`Conn::id`](crate::Conn::id)).
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.id(), server.clients_handle().ids()[0]);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The client's address, as `addr=` shows it (`ip:port`, or `path:0` over Unix).
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.addr(), c.local_addr()?.to_string());
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn addr(&self) -> &str {
        &self.addr
    }
    /// The server's address the client reached, as `laddr=` shows it.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.laddr(), server.local_addr().to_string());
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn laddr(&self) -> &str {
        &self.laddr
    }
    /// The connection's name (`CLIENT SETNAME`); empty if unnamed.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(info.name().is_empty()); // no CLIENT SETNAME
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn name(&self) -> &[u8] {
        &self.name
    }
    /// Seconds since the connection was accepted.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(info.age() < 60);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn age(&self) -> u64 {
        self.age
    }
    /// Seconds since the client last sent a command.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(info.idle() < 60);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn idle(&self) -> u64 {
        self.idle
    }
    /// Redis's flag letters: `O` monitor, `P` pub/sub, `b` blocked, `U` Unix socket,
    /// `N` for none.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.flags(), "N");
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flags(&self) -> String {
        let mut s = String::new();
        for (bit, letter) in [
            (FLAG_MONITOR, 'O'),
            (FLAG_PUBSUB, 'P'),
            (FLAG_BLOCKED, 'b'),
            (FLAG_UNIX, 'U'),
        ] {
            if self.flags & bit != 0 {
                s.push(letter);
            }
        }
        if s.is_empty() {
            s.push('N');
        }
        s
    }
    /// Whether the client is in MONITOR mode.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(!info.is_monitor());
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_monitor(&self) -> bool {
        self.flags & FLAG_MONITOR != 0
    }
    /// Whether the connection was detached ([`Conn::detach`](crate::Conn::detach): a
    /// pub/sub subscriber, or a handler's own protocol). Redis 7.0's line has no letter
    /// for it, so [`flags`](Self::flags) leaves it out.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(!info.is_detached());
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_detached(&self) -> bool {
        self.flags & FLAG_DETACHED != 0
    }
    /// Whether the client is blocked in [`Conn::wait`](crate::Conn::wait).
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(!info.is_blocked());
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_blocked(&self) -> bool {
        self.flags & FLAG_BLOCKED != 0
    }
    /// The database selected ([`Conn::set_db`](crate::Conn::set_db)).
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.db(), 0);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn db(&self) -> u32 {
        self.db
    }
    /// Channels subscribed.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.sub(), 0);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sub(&self) -> u32 {
        self.sub
    }
    /// Patterns subscribed.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.psub(), 0);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn psub(&self) -> u32 {
        self.psub
    }
    /// Shard channels subscribed.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.ssub(), 0);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ssub(&self) -> u32 {
        self.ssub
    }
    /// Bytes received and not yet served.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(info.qbuf() < 1 << 20);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn qbuf(&self) -> u64 {
        self.qbuf
    }
    /// Bytes of replies not yet written.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(info.output_len() < 1 << 20);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn output_len(&self) -> u64 {
        self.out
    }
    /// The last command's full name as Redis shows it (`get`, `client|list`), or
    /// `None` before the first command.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(matches!(info.cmd(), None | Some("ping"))); // once its batch is published
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cmd(&self) -> Option<&str> {
        (!self.cmd.is_empty()).then_some(self.cmd.as_str())
    }
    /// The user the connection runs as.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.user(), "default");
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn user(&self) -> &str {
        &self.user
    }
    /// The protocol version (2 or 3).
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.resp(), 2);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resp(&self) -> u8 {
        self.resp
    }
    /// The client library's name, as `CLIENT SETINFO LIB-NAME` gave it (through
    /// [`Conn::set_client_lib`](crate::Conn::set_client_lib)); empty if never given.
    /// Redis 7.0's line has no field for it, so [`Display`](fmt::Display) leaves it
    /// out.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(info.lib_name().is_empty()); // no CLIENT SETINFO
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lib_name(&self) -> &[u8] {
        &self.lib_name
    }
    /// The client library's version (`CLIENT SETINFO LIB-VER`); empty if never given.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert!(info.lib_ver().is_empty());
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lib_ver(&self) -> &[u8] {
        &self.lib_ver
    }
    /// The client's kind, for `CLIENT LIST TYPE`.
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = redcon::Server::new(redcon::handler_fn(|c, _| c.write_string("OK")))
    /// #     .addr("127.0.0.1:0")
    /// #     .start()?;
    /// # let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// # c.write_all(b"PING\r\n")?;
    /// # c.read_exact(&mut [0u8; 5])?;
    /// # let info = server.clients_handle().list().remove(0);
    /// assert_eq!(info.client_type(), redcon::ClientType::Normal);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client_type(&self) -> ClientType {
        if self.flags & FLAG_PUBSUB != 0 {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }
}

impl fmt::Display for ClientInfo {
    /// Redis 7.0.15's `CLIENT LIST` line, fields in its order. The memory fields are
    /// this server's buffers: the read buffer for `qbuf`/`rbs`; the reply buffer, one
    /// block like Redis's fixed one, for `obl` (its reply list, `oll`/`omem`, has no
    /// counterpart); both in `tot-mem`. Transactions are the handler's: `multi=-1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let free = self.qbuf_cap.saturating_sub(self.qbuf);
        let tot = self.qbuf_cap + self.out_cap;
        write!(
            f,
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} \
             psub={} ssub={} multi=-1 qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} \
             rbp={} obl={} oll=0 omem=0 tot-mem={} events={} cmd={} user={} redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(&self.name),
            self.age,
            self.idle,
            self.flags(),
            self.db,
            self.sub,
            self.psub,
            self.ssub,
            self.qbuf,
            free,
            self.qbuf_cap,
            self.qbuf_cap,
            self.out,
            tot,
            if self.out > 0 { "rw" } else { "r" },
            self.cmd().unwrap_or("NULL"),
            self.user,
            self.resp,
        )
    }
}

/// The connection thread's side: the last command seen, and the strings last
/// published, so a batch locks only when one of them changed.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// The last command's name and first argument, lowercase.
    arg0: Vec<u8>,
    arg1: Vec<u8>,
    /// The name and argument `cmd` was resolved from: a batch of the same command
    /// resolves nothing again.
    resolved: (Vec<u8>, Vec<u8>),
    cmd: String,
    user: String,
    /// Commands noted since the last publish.
    noted: bool,
    /// Whether `arg0` names a container command (its `arg1` is then kept).
    container: bool,
    /// The read buffer's size at the last publish.
    read_capacity: usize,
}

/// Subcommand names are short; a longer first argument is not one.
const MAX_SUBCOMMAND: usize = 64;

impl Pending {
    /// Notes a command about to be served, no lock. A pipeline repeats its commands'
    /// names, so the name is copied (lowercase) only when it changes, and whether it is
    /// a container (whose first argument names a subcommand, kept then) looked up only
    /// then: a repeated command costs one short case-insensitive comparison.
    #[inline]
    pub(crate) fn note(&mut self, cmd: &crate::Command<'_>, table: Option<&CommandTable>) {
        self.noted = true;
        let name = &cmd[0];
        if !self.arg0.eq_ignore_ascii_case(name) {
            self.arg0.clear();
            self.arg0.extend_from_slice(name);
            self.arg0.make_ascii_lowercase();
            self.container = table.is_some_and(|t| t.has_subcommands(&self.arg0));
        }
        if self.container {
            self.arg1.clear();
            if cmd.len() > 1 && cmd[1].len() <= MAX_SUBCOMMAND {
                self.arg1.extend_from_slice(&cmd[1]);
                self.arg1.make_ascii_lowercase();
            }
        } else if !self.arg1.is_empty() {
            self.arg1.clear();
        }
    }

    /// The read buffer's size at the last publish.
    pub(crate) fn read_capacity(&self) -> usize {
        self.read_capacity
    }

    /// Publishes to `details`: the last command's full name (`container|sub` when
    /// [`note`](Self::note) found the command to be a container, and kept its first
    /// argument), the user, the buffer sizes.
    pub(crate) fn publish(&mut self, details: &Details, user: &str, sizes: [usize; 4]) {
        self.read_capacity = sizes[1];
        let interacted = std::mem::take(&mut self.noted);
        let mut cmd_changed = false;
        if interacted && (self.resolved.0 != self.arg0 || self.resolved.1 != self.arg1) {
            self.resolved.0.clone_from(&self.arg0);
            self.resolved.1.clone_from(&self.arg1);
            // `note` keeps a first argument only for a container command.
            let mut full = String::from_utf8_lossy(&self.arg0).into_owned();
            if !self.arg1.is_empty() {
                full.push('|');
                full.push_str(&String::from_utf8_lossy(&self.arg1));
            }
            if full != self.cmd {
                self.cmd = full;
                cmd_changed = true;
            }
        }
        let user_changed = user != self.user;
        if user_changed {
            self.user = user.to_string();
        }
        details.publish(&Batch {
            interacted,
            cmd: if cmd_changed { &self.cmd } else { "" },
            user: user_changed.then_some(self.user.as_str()),
            qbuf: sizes[0],
            qbuf_cap: sizes[1],
            out: sizes[2],
            out_cap: sizes[3],
        });
    }
}

impl crate::conn::ConnState {
    /// Publishes this connection's `CLIENT LIST` details; `qbuf` is what was read and
    /// not yet served, `qbuf_cap` the read buffer's size.
    pub(crate) fn publish_details(&mut self, qbuf: usize, qbuf_cap: usize) {
        let Some(ctl) = &self.ctl else { return };
        let user = self.auth.as_ref().map_or("default", |a| a.user.as_str());
        let sizes = [qbuf, qbuf_cap, self.out.len(), self.out.buffer_capacity()];
        self.pending.publish(&ctl.details, user, sizes);
    }

    /// The details `CLIENT LIST` shows, for flags and values changed outside a batch.
    pub(crate) fn details(&self) -> Option<&crate::client_info::Details> {
        self.ctl.as_deref().map(|c| &c.details)
    }
}

impl crate::Conn<'_> {
    /// This connection as `CLIENT INFO` shows it (its [`Display`](std::fmt::Display)
    /// is Redis's line), current up to the command being served: `cmd` is this
    /// command, as in Redis. It also publishes those details, so a
    /// [`Clients::list`](crate::Clients::list) that follows shows this connection
    /// current too.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// let server = Server::new(handler_fn(|conn, _| {
    ///     conn.set_client_name(Some(b"worker"));
    ///     let info = conn.client_info();
    ///     assert_eq!(info.name(), b"worker");
    ///     assert_eq!(info.cmd(), Some("whoami"));
    ///     conn.write_u64(info.id());
    /// }))
    /// .addr("127.0.0.1:0")
    /// .start()?;
    /// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
    /// c.write_all(b"WHOAMI\r\n")?;
    /// let mut reply = [0u8; 4];
    /// c.read_exact(&mut reply)?;
    /// assert_eq!(&reply, b":1\r\n");
    /// server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client_info(&mut self) -> crate::ClientInfo {
        let qbuf = self.rest.len();
        let cap = self.state.pending.read_capacity();
        self.state.publish_details(qbuf, cap);
        match &self.state.ctl {
            Some(ctl) => ctl.info(self.state.id),
            // A connection served without a server (the inert placeholder) has no
            // published details: show what it has.
            None => crate::client_info::Details::new(-1, false).snapshot(
                self.state.id,
                &self.state.peer,
                None,
            ),
        }
    }
}
