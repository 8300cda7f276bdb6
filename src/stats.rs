//! The server's statistics: [`Stats`], a snapshot of counters kept without a lock on
//! the command path. Each connection counts its commands and bytes in plain fields of
//! its own state and adds them to the shared atomics once per read (once per pipeline
//! batch, not per command: the commands and bytes read before the batch's replies are
//! written, the bytes written right after), with relaxed ordering: a counter is a sum, nothing is
//! ordered by it. The instantaneous rates are sampled as Redis samples them (the
//! average over the last 16 samples, at least 100 ms apart), but only when someone
//! reads them, so an idle server spends nothing on statistics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What a connection counted since it last added to the shared counters.
#[derive(Debug, Default)]
pub(crate) struct Local {
    pub(crate) commands: u64,
    pub(crate) net_in: u64,
    pub(crate) net_out: u64,
}

/// How many samples the instantaneous rates average, and how far apart at least.
const SAMPLES: usize = 16;
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// The shared counters of one server.
#[derive(Debug)]
pub(crate) struct Counters {
    started: Instant,
    pub(crate) connections_received: AtomicU64,
    pub(crate) rejected_connections: AtomicU64,
    /// Refused by protected mode (`-DENIED`).
    pub(crate) rejected_protected_mode: AtomicU64,
    /// Closed because the TLS handshake failed or did not finish in time.
    pub(crate) rejected_tls_handshake: AtomicU64,
    commands: AtomicU64,
    net_in: AtomicU64,
    net_out: AtomicU64,
    pub(crate) protocol_errors: AtomicU64,
    pub(crate) blocked: AtomicUsize,
    pub(crate) connected: AtomicUsize,
    pub(crate) max_clients: AtomicUsize,
    pub(crate) tcp_port: OnceLock<u16>,
    /// (when, commands, bytes in, bytes out), oldest first.
    samples: Mutex<Vec<(Instant, u64, u64, u64)>>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            started: Instant::now(),
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            rejected_protected_mode: AtomicU64::new(0),
            rejected_tls_handshake: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            net_in: AtomicU64::new(0),
            net_out: AtomicU64::new(0),
            protocol_errors: AtomicU64::new(0),
            blocked: AtomicUsize::new(0),
            connected: AtomicUsize::new(0),
            max_clients: AtomicUsize::new(0),
            tcp_port: OnceLock::new(),
            samples: Mutex::new(Vec::with_capacity(SAMPLES + 1)),
        }
    }
}

impl Counters {
    /// Adds what a connection counted, and clears it.
    #[inline]
    pub(crate) fn publish(&self, local: &mut Local) {
        if local.commands != 0 {
            self.commands.fetch_add(local.commands, Ordering::Relaxed);
        }
        if local.net_in != 0 {
            self.net_in.fetch_add(local.net_in, Ordering::Relaxed);
        }
        if local.net_out != 0 {
            self.net_out.fetch_add(local.net_out, Ordering::Relaxed);
        }
        *local = Local::default();
    }

    /// A snapshot, taking a rate sample if the last is old enough.
    pub(crate) fn snapshot(&self) -> Stats {
        let now = Instant::now();
        let commands = self.commands.load(Ordering::Relaxed);
        let net_in = self.net_in.load(Ordering::Relaxed);
        let net_out = self.net_out.load(Ordering::Relaxed);
        let (ops, kin, kout) = {
            let mut s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
            if s.last()
                .is_none_or(|l| now.duration_since(l.0) >= SAMPLE_EVERY)
            {
                s.push((now, commands, net_in, net_out));
                if s.len() > SAMPLES {
                    s.remove(0);
                }
            }
            rates(&s)
        };
        let uptime = now.duration_since(self.started);
        Stats {
            uptime,
            connections_received: self.connections_received.load(Ordering::Relaxed),
            connected_clients: self.connected.load(Ordering::Relaxed),
            blocked_clients: self.blocked.load(Ordering::Relaxed),
            rejected_connections: self.rejected_connections.load(Ordering::Relaxed),
            rejected_protected_mode: self.rejected_protected_mode.load(Ordering::Relaxed),
            rejected_tls_handshake: self.rejected_tls_handshake.load(Ordering::Relaxed),
            commands_processed: commands,
            net_input_bytes: net_in,
            net_output_bytes: net_out,
            protocol_errors: self.protocol_errors.load(Ordering::Relaxed),
            instantaneous_ops_per_sec: ops,
            instantaneous_input_kbps: kin,
            instantaneous_output_kbps: kout,
            max_clients: self.max_clients.load(Ordering::Relaxed),
            tcp_port: self.tcp_port.get().copied().unwrap_or(0),
        }
    }
}

/// Commands per second and KiB per second in and out between the oldest and newest
/// samples.
fn rates(s: &[(Instant, u64, u64, u64)]) -> (u64, f64, f64) {
    let (Some(first), Some(last)) = (s.first(), s.last()) else {
        return (0, 0.0, 0.0);
    };
    let secs = last.0.duration_since(first.0).as_secs_f64();
    if secs <= 0.0 {
        return (0, 0.0, 0.0);
    }
    let per = |a: u64, b: u64| (b - a) as f64 / secs;
    (
        per(first.1, last.1).round() as u64,
        per(first.2, last.2) / 1024.0,
        per(first.3, last.3) / 1024.0,
    )
}

/// A snapshot of a server's statistics, from
/// [`ServerHandle::stats`](crate::ServerHandle::stats) or, inside a handler,
/// [`Conn::stats`](crate::Conn::stats). The names follow Redis's `INFO` fields; render
/// them as Redis does with [`Info`](crate::info::Info).
///
/// ```
/// use redcon::{handler_fn, Server};
/// use std::io::{Read, Write};
/// let server = Server::new(handler_fn(|conn, _| conn.write_string("PONG")))
///     .addr("127.0.0.1:0")
///     .start()?;
/// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
/// c.write_all(b"PING\r\nPING\r\n")?;
/// let mut reply = [0u8; 14];
/// c.read_exact(&mut reply)?;
/// drop(c);
/// // A batch is counted before its replies are written...
/// let stats = server.stats();
/// assert_eq!(stats.connections_received, 1);
/// assert_eq!((stats.commands_processed, stats.net_input_bytes), (2, 12));
/// // ...and the bytes a write sent right after it.
/// while server.stats().net_output_bytes < 14 {
///     std::thread::yield_now();
/// }
/// assert_eq!(server.stats().net_output_bytes, 14);
/// server.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Time since the server started.
    pub uptime: Duration,
    /// Connections accepted, refused ones included (`total_connections_received`).
    pub connections_received: u64,
    /// Clients connected now, detached ones included (`connected_clients`).
    pub connected_clients: usize,
    /// Connections waiting in [`Conn::wait`](crate::Conn::wait) now
    /// (`blocked_clients`).
    pub blocked_clients: usize,
    /// Connections refused because max clients was reached (`rejected_connections`).
    pub rejected_connections: u64,
    /// Connections refused by protected mode (`-DENIED`, then closed). Not in Redis's
    /// `INFO`.
    pub rejected_protected_mode: u64,
    /// TLS connections closed because the handshake failed or did not finish within
    /// the handshake timeout. Not in Redis's `INFO`.
    pub rejected_tls_handshake: u64,
    /// Commands passed to the handler (`total_commands_processed`).
    pub commands_processed: u64,
    /// Bytes read from clients (`total_net_input_bytes`).
    pub net_input_bytes: u64,
    /// Bytes written to clients (`total_net_output_bytes`).
    pub net_output_bytes: u64,
    /// Connections closed for a malformed request.
    pub protocol_errors: u64,
    /// Commands per second, averaged over the last samples
    /// (`instantaneous_ops_per_sec`). Sampled when statistics are read, at most every
    /// 100 ms: read them regularly (as `redis-cli --stat` and exporters do) for a
    /// current figure.
    pub instantaneous_ops_per_sec: u64,
    /// KiB per second read, sampled the same way (`instantaneous_input_kbps`).
    pub instantaneous_input_kbps: f64,
    /// KiB per second written, sampled the same way (`instantaneous_output_kbps`).
    pub instantaneous_output_kbps: f64,
    /// The max clients setting (`maxclients`).
    pub max_clients: usize,
    /// The TCP port the server listens on; 0 for a Unix socket (`tcp_port`).
    pub tcp_port: u16,
}
