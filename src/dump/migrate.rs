//! The client side of `MIGRATE`, as Redis 7.0's `migrateCommand` behaves: one cached
//! connection per target (`host:port`, not reused after 10 seconds unused; with no
//! timer thread, such a connection is closed by the next call that meets it), `AUTH` and
//! `SELECT` only when needed, every `RESTORE` of a call written at once and each reply
//! read, and Redis's error texts. What to do with the source keys afterwards (delete
//! those the target took, unless `COPY`) is the caller's, from [`Migrated::restored`].

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A cached connection unused for this long is closed (`MIGRATE_SOCKET_CACHE_TTL`).
const CACHE_TTL: Duration = Duration::from_secs(10);
/// At most this many targets keep a cached connection (`MIGRATE_SOCKET_CACHE_ITEMS`).
const CACHE_ITEMS: usize = 64;
/// A reply line longer than this is not one `RESTORE`, `AUTH` or `SELECT` sends.
const MAX_REPLY_LINE: u64 = 64 * 1024;

/// The credentials `MIGRATE` sends first: `AUTH password` or `AUTH2 username password`.
///
/// ```
/// use redcon::dump::Auth;
/// let auth = Auth::User { username: b"mover".to_vec(), password: b"secret".to_vec() };
/// # let _ = (auth, Auth::Password(b"secret".to_vec()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `AUTH password` (the default user).
    Password(Vec<u8>),
    /// `AUTH username password`.
    User {
        /// The ACL user.
        username: Vec<u8>,
        /// Its password.
        password: Vec<u8>,
    },
}

// Passwords stay out of logs.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Password(_) => f.write_str("Auth::Password(..)"),
            Auth::User { .. } => f.write_str("Auth::User { .. }"),
        }
    }
}

/// How one `MIGRATE` call sends its keys.
///
/// ```
/// use redcon::dump::{Auth, MigrateOptions};
/// use std::time::Duration;
/// let options = MigrateOptions::new(0, Duration::from_millis(5000))
///     .replace(true)
///     .auth(Some(Auth::Password(b"secret".to_vec())));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    db: i64,
    timeout: Duration,
    replace: bool,
    asking: bool,
    auth: Option<Auth>,
}

impl MigrateOptions {
    /// Restore into database `db` of the target, waiting at most `timeout` for each
    /// connect, write and read (Redis's `timeout` argument; a zero timeout is 1 s, as
    /// Redis turns a non-positive one into 1000 ms).
    ///
    /// ```
    /// let options = redcon::dump::MigrateOptions::new(3, std::time::Duration::from_secs(1));
    /// # let _ = options;
    /// ```
    pub fn new(db: i64, timeout: Duration) -> MigrateOptions {
        let timeout = if timeout.is_zero() {
            Duration::from_secs(1)
        } else {
            timeout
        };
        MigrateOptions {
            db,
            timeout,
            replace: false,
            asking: false,
            auth: None,
        }
    }

    /// Send `REPLACE` with each `RESTORE`, so existing keys are overwritten.
    ///
    /// ```
    /// let options = redcon::dump::MigrateOptions::new(0, std::time::Duration::from_secs(1)).replace(true);
    /// # let _ = options;
    /// ```
    pub fn replace(mut self, replace: bool) -> MigrateOptions {
        self.replace = replace;
        self
    }

    /// Send `RESTORE-ASKING` instead of `RESTORE`, as a cluster node does, so that a
    /// target importing the keys' slot serves it.
    ///
    /// ```
    /// let options = redcon::dump::MigrateOptions::new(0, std::time::Duration::from_secs(1)).asking(true);
    /// # let _ = options;
    /// ```
    pub fn asking(mut self, asking: bool) -> MigrateOptions {
        self.asking = asking;
        self
    }

    /// Log in first with these credentials (none by default).
    ///
    /// ```
    /// use redcon::dump::{Auth, MigrateOptions};
    /// let options = MigrateOptions::new(0, std::time::Duration::from_secs(1))
    ///     .auth(Some(Auth::Password(b"secret".to_vec())));
    /// # let _ = options;
    /// ```
    pub fn auth(mut self, auth: Option<Auth>) -> MigrateOptions {
        self.auth = auth;
        self
    }
}

/// One key to restore on the target.
///
/// ```
/// use redcon::dump::{encode_string, Restore};
/// // No expiry (ttl 0), as RESTORE reads it.
/// let r = Restore { key: b"k".to_vec(), ttl_ms: 0, payload: encode_string(b"v") };
/// # let _ = r;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    /// The key's name.
    pub key: Vec<u8>,
    /// Milliseconds the key has left to live, 0 for no expiry.
    pub ttl_ms: u64,
    /// The value's DUMP payload ([`encode_string`](super::encode_string)).
    pub payload: Vec<u8>,
}

/// Why a `MIGRATE` failed, displayed as Redis's error reply.
///
/// ```
/// use redcon::dump::MigrateError;
/// assert_eq!(
///     MigrateError::Connect.to_string(),
///     "IOERR error or timeout connecting to the client"
/// );
/// assert_eq!(
///     MigrateError::Target("BUSYKEY Target key name already exists.".into()).to_string(),
///     "ERR Target instance replied with error: BUSYKEY Target key name already exists."
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrateError {
    /// The target could not be reached in time.
    Connect,
    /// Writing the commands failed or timed out.
    Write,
    /// A reply did not come in time, or the connection ended.
    Read,
    /// The target answered `AUTH`, `SELECT` or a `RESTORE` with this error (the first
    /// one; its text without the leading `-`).
    Target(String),
}

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateError::Connect => f.write_str("IOERR error or timeout connecting to the client"),
            MigrateError::Write => f.write_str("IOERR error or timeout writing to target instance"),
            MigrateError::Read => f.write_str("IOERR error or timeout reading to target instance"),
            MigrateError::Target(text) => {
                write!(f, "ERR Target instance replied with error: {text}")
            }
        }
    }
}

impl std::error::Error for MigrateError {}

/// What a [`Migrator::migrate`] call did: which keys the target restored (the caller
/// deletes those, unless copying) and the error to reply, if any. A failure can follow
/// some successes (the target refused one key of several, or the connection broke
/// midway), so both are given.
///
/// ```
/// use redcon::dump::Migrated;
/// let m = Migrated { restored: vec![true, false], error: None };
/// assert_eq!(m.restored.iter().filter(|r| **r).count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// One entry per key given, in order: whether the target acknowledged its `RESTORE`.
    pub restored: Vec<bool>,
    /// The error to reply instead of `+OK`.
    pub error: Option<MigrateError>,
}

/// A connection to a target, with what `MIGRATE` remembers about it.
struct Link {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    /// The database the last successful call selected; `None` forces a `SELECT`.
    db: Option<i64>,
    last_use: Instant,
}

/// How one attempt ended, when it did not hand back a result.
enum Attempt {
    Done(Migrated),
    /// A socket error before anything was acknowledged: worth one more try on a new
    /// connection (a cached one may have been closed by the target), unless it was
    /// a timeout.
    Retry {
        error: MigrateError,
        timed_out: bool,
    },
}

/// The client side of `MIGRATE`, with its cache of target connections. One per server,
/// shared by the connections that run `MIGRATE`.
///
/// ```
/// use redcon::dump::{encode_string, MigrateOptions, Migrator, Restore};
/// use redcon::{handler_fn, Server};
/// use std::time::Duration;
///
/// // A target that accepts everything.
/// let target = Server::new(handler_fn(|conn, _cmd| conn.write_string("OK")))
///     .addr("127.0.0.1:0")
///     .start()?;
/// let port = target.local_addr().to_string().rsplit(':').next().unwrap().to_string();
///
/// let migrator = Migrator::new();
/// let keys = [Restore { key: b"k".to_vec(), ttl_ms: 0, payload: encode_string(b"v") }];
/// let options = MigrateOptions::new(0, Duration::from_secs(1));
/// let done = migrator.migrate("127.0.0.1", &port, &options, &keys);
/// assert_eq!(done.restored, [true]);
/// assert_eq!(done.error, None);
/// target.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct Migrator {
    links: Mutex<HashMap<String, Link>>,
}

impl fmt::Debug for Migrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migrator").finish_non_exhaustive()
    }
}

impl Migrator {
    /// A migrator with no cached connections.
    ///
    /// ```
    /// let migrator = redcon::dump::Migrator::new();
    /// # let _ = migrator;
    /// ```
    pub fn new() -> Migrator {
        Migrator::default()
    }

    /// Restores `keys` on the server at `host`:`port` (the port as `MIGRATE` received
    /// it; one that is not a port number fails to connect, as in Redis), reusing the
    /// cached connection to it if there is one. As Redis, an attempt that fails on the
    /// socket before any key was acknowledged is retried once on a new connection,
    /// unless it timed out.
    ///
    /// # Errors
    ///
    /// In [`Migrated::error`]: [`MigrateError::Connect`] for a target that does not
    /// resolve or answer in time, [`MigrateError::Write`] for one that refuses the
    /// connection or a failed write, [`MigrateError::Read`] for a reply that does not
    /// come (the connection is then closed), [`MigrateError::Target`] for the first
    /// error the target answered.
    ///
    /// ```
    /// use redcon::dump::{encode_string, MigrateError, MigrateOptions, Migrator, Restore};
    /// use std::time::Duration;
    /// // Nothing listens on a port that was just freed: Redis reports the refusal as
    /// // a write error, and so does this.
    /// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port().to_string();
    /// let keys = [Restore { key: b"k".to_vec(), ttl_ms: 0, payload: encode_string(b"v") }];
    /// let options = MigrateOptions::new(0, Duration::from_millis(200));
    /// let migrator = Migrator::new();
    /// let done = migrator.migrate("127.0.0.1", &port, &options, &keys);
    /// assert_eq!(done.error, Some(MigrateError::Write));
    /// assert_eq!(done.restored, [false]);
    /// // A port that cannot be one: no connection is attempted.
    /// let done = migrator.migrate("127.0.0.1", "-1", &options, &keys);
    /// assert_eq!(done.error, Some(MigrateError::Connect));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn migrate(
        &self,
        host: &str,
        port: &str,
        options: &MigrateOptions,
        keys: &[Restore],
    ) -> Migrated {
        let name = format!("{host}:{port}");
        let mut may_retry = true;
        loop {
            let link = match self.take_link(&name, host, port, options.timeout) {
                Ok(link) => link,
                Err(error) => {
                    return Migrated {
                        restored: vec![false; keys.len()],
                        error: Some(error),
                    }
                }
            };
            match self.attempt(&name, link, options, keys) {
                Attempt::Done(done) => return done,
                Attempt::Retry { timed_out, .. } if may_retry && !timed_out => {
                    may_retry = false;
                }
                Attempt::Retry { error, .. } => {
                    return Migrated {
                        restored: vec![false; keys.len()],
                        error: Some(error),
                    }
                }
            }
        }
    }

    /// The cached connection to `name` (unless unused too long), or a new one.
    ///
    /// A refused connection is reported as a write error: Redis connects without
    /// waiting for the handshake's outcome and learns of the refusal when it writes,
    /// so that is the error it replies. A name that does not resolve, or a target that
    /// does not answer in time, is a connect error.
    fn take_link(
        &self,
        name: &str,
        host: &str,
        port: &str,
        timeout: Duration,
    ) -> Result<Link, MigrateError> {
        let cached = self.lock().remove(name);
        if let Some(link) = cached.filter(|l| l.last_use.elapsed() < CACHE_TTL) {
            return Ok(link);
        }
        // A negative port does not resolve; a larger one wraps to 16 bits, as the C
        // library's name lookup converts it.
        let port = atoi(port);
        if port < 0 {
            return Err(MigrateError::Connect);
        }
        let port = port as u16;
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|_| MigrateError::Connect)?;
        let mut error = MigrateError::Connect;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    let reader = stream.try_clone().map_err(|_| MigrateError::Connect)?;
                    return Ok(Link {
                        writer: stream,
                        reader: BufReader::new(reader),
                        db: None,
                        last_use: Instant::now(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    error = MigrateError::Write;
                }
                Err(_) => {}
            }
        }
        Err(error)
    }

    /// Puts a connection back in the cache, closing the least recently used one if
    /// the cache is full.
    fn keep(&self, name: &str, mut link: Link) {
        link.last_use = Instant::now();
        let mut links = self.lock();
        links.retain(|_, l| l.last_use.elapsed() < CACHE_TTL);
        if links.len() >= CACHE_ITEMS {
            let oldest = links
                .iter()
                .min_by_key(|(_, l)| l.last_use)
                .map(|(n, _)| n.clone());
            if let Some(oldest) = oldest {
                links.remove(&oldest);
            }
        }
        links.insert(name.to_string(), link);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Link>> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One try over `link`: write everything, then read each reply.
    fn attempt(
        &self,
        name: &str,
        mut link: Link,
        options: &MigrateOptions,
        keys: &[Restore],
    ) -> Attempt {
        let select = link.db != Some(options.db);
        let request = request(options, select, keys);
        let timeout = Some(options.timeout);
        let configured = link.writer.set_write_timeout(timeout).is_ok()
            && link.writer.set_read_timeout(timeout).is_ok();
        if !configured {
            return Attempt::Retry {
                error: MigrateError::Write,
                timed_out: false,
            };
        }
        if let Err(e) = link.writer.write_all(&request) {
            return Attempt::Retry {
                error: MigrateError::Write,
                timed_out: is_timeout(&e),
            };
        }
        // The replies to AUTH and SELECT come first; an error in either is reported
        // (as the target's error) once the RESTORE replies are read.
        let mut first_error: Option<String> = None;
        let preamble = usize::from(options.auth.is_some()) + usize::from(select);
        for _ in 0..preamble {
            match read_line(&mut link.reader) {
                Ok(line) => {
                    if let Some(text) = line.strip_prefix('-') {
                        first_error.get_or_insert_with(|| text.to_string());
                    }
                }
                Err(e) => {
                    return Attempt::Retry {
                        error: MigrateError::Read,
                        timed_out: is_timeout(&e),
                    }
                }
            }
        }
        // With AUTH or SELECT refused, the RESTOREs ran unauthenticated or in the
        // wrong database: none of them counts, as in Redis.
        let preamble_failed = first_error.is_some();
        let mut restored = vec![false; keys.len()];
        let mut socket_error = None;
        for (i, done) in restored.iter_mut().enumerate() {
            match read_line(&mut link.reader) {
                Ok(line) => match line.strip_prefix('-') {
                    Some(text) => {
                        first_error.get_or_insert_with(|| text.to_string());
                    }
                    None => *done = !preamble_failed,
                },
                Err(e) => {
                    socket_error = Some((i, is_timeout(&e)));
                    break;
                }
            }
        }
        if let Some((read, timed_out)) = socket_error {
            if read == 0 && first_error.is_none() {
                return Attempt::Retry {
                    error: MigrateError::Read,
                    timed_out,
                };
            }
            return Attempt::Done(Migrated {
                restored,
                error: Some(first_error.map_or(MigrateError::Read, MigrateError::Target)),
            });
        }
        // After an error the selected database is no longer known.
        link.db = if first_error.is_none() {
            Some(options.db)
        } else {
            None
        };
        self.keep(name, link);
        Attempt::Done(Migrated {
            restored,
            error: first_error.map(MigrateError::Target),
        })
    }
}

/// The port as C's `atoi` reads it (Redis passes MIGRATE's port argument through it):
/// leading blanks, an optional sign, then digits up to the first other byte; 0 when
/// there are none.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// Whether an I/O error is the socket timeout expiring.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// One reply line without its CRLF. The end of the stream, or a line too long to be a
/// status or error reply, is an error.
fn read_line(reader: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = Vec::new();
    reader.take(MAX_REPLY_LINE).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// The commands of one attempt, in RESP: AUTH, SELECT, then a RESTORE per key.
fn request(options: &MigrateOptions, select: bool, keys: &[Restore]) -> Vec<u8> {
    let mut out = Vec::with_capacity(keys.iter().map(|k| k.payload.len() + 64).sum());
    match &options.auth {
        Some(Auth::Password(password)) => write_command(&mut out, &[b"AUTH", password]),
        Some(Auth::User { username, password }) => {
            write_command(&mut out, &[b"AUTH", username, password])
        }
        None => {}
    }
    if select {
        write_command(&mut out, &[b"SELECT", options.db.to_string().as_bytes()]);
    }
    let restore: &[u8] = if options.asking {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    for k in keys {
        let ttl = k.ttl_ms.to_string();
        let mut args = vec![restore, &k.key, ttl.as_bytes(), &k.payload];
        if options.replace {
            args.push(b"REPLACE");
        }
        write_command(&mut out, &args);
    }
    out
}

fn write_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    crate::resp::append_request(out, args.iter().copied());
}
