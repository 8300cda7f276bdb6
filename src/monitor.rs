//! MONITOR in the core: every command any connection serves is streamed to the
//! monitoring clients in Redis's line format (`+<secs>.<usecs> [<db> <addr>] "cmd"
//! "arg" ...`, arguments escaped as Redis's `sdscatrepr` escapes them), from the
//! connection loop itself, so no handler composition can leave a command out.
//!
//! Nobody monitoring costs one relaxed load per command. A monitor's lines go through a
//! bounded queue that a thread of its own writes out; a monitor that stops reading
//! fills its queue and is dropped at once (its socket shut down), like a slow
//! subscriber, so it never slows the connections it watches.

use crate::clients::ClientCtl;
use crate::commands::{CommandTable, Flags};
use crate::resp::Command;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many lines a monitor may have waiting before it is dropped.
pub(crate) const QUEUE: usize = 16 * 1024;

/// One monitoring connection: where its lines go, and how to cut it off.
struct Monitor {
    id: u64,
    lines: Sender<Vec<u8>>,
    ctl: Arc<ClientCtl>,
}

/// The monitoring connections of a server.
#[derive(Default)]
pub(crate) struct Monitors {
    count: AtomicUsize,
    list: Mutex<Vec<Monitor>>,
}

impl std::fmt::Debug for Monitors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitors")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl Monitors {
    fn lock(&self) -> MutexGuard<'_, Vec<Monitor>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether anyone monitors: the only cost on the command path when nobody does.
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// Registers connection `id` as a monitor; its lines arrive on the receiver.
    pub(crate) fn add(&self, id: u64, ctl: Arc<ClientCtl>) -> Receiver<Vec<u8>> {
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let mut list = self.lock();
        list.push(Monitor { id, lines: tx, ctl });
        self.count.store(list.len(), Ordering::Relaxed);
        rx
    }

    /// Unregisters monitor `id` (it left); its receiver then sees the end.
    pub(crate) fn remove(&self, id: u64) {
        let mut list = self.lock();
        list.retain(|m| m.id != id);
        self.count.store(list.len(), Ordering::Relaxed);
    }

    /// Sends `line` to every monitor; one whose queue is full is dropped.
    fn send(&self, line: &[u8]) {
        let mut list = self.lock();
        list.retain(|m| match m.lines.try_send(line.to_vec()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                log::warn!("monitor {} dropped: it does not read its lines", m.id);
                m.ctl.kill();
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
        self.count.store(list.len(), Ordering::Relaxed);
    }
}

/// Whether Redis shows `cmd` to monitors: a known command with a valid arity, not
/// flagged admin or skip-monitor. Without a command table, every command is shown.
fn shown(table: Option<&CommandTable>, cmd: &Command<'_>) -> bool {
    // MONITOR is an admin command: never shown, even with no table to say so (a new
    // monitor would otherwise see its own request).
    if cmd.is("monitor") {
        return false;
    }
    let Some(table) = table else {
        return true;
    };
    match table.lookup(cmd) {
        Some(spec) => {
            spec.arity().accepts(cmd.len())
                && !spec
                    .command_flags()
                    .intersects(Flags::ADMIN | Flags::SKIP_MONITOR)
        }
        None => false,
    }
}

/// Feeds `cmd`, served by a connection of database `db` at `addr`, to the monitors
/// (if it is a command Redis shows).
pub(crate) fn feed(
    monitors: &Monitors,
    table: Option<&CommandTable>,
    db: u32,
    addr: &str,
    cmd: &Command<'_>,
) {
    if !shown(table, cmd) {
        return;
    }
    monitors.send(&line(db, addr, cmd));
}

/// The line Redis writes for a command: a status reply with the time, the database and
/// the client, then each argument quoted and escaped.
pub(crate) fn line(db: u32, addr: &str, cmd: &Command<'_>) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(64);
    let _ = write!(
        out,
        "+{}.{:06} [{db} {addr}]",
        now.as_secs(),
        now.subsec_micros()
    );
    // AUTH's password (and HELLO's AUTH pair) never reach a monitor.
    let redact_from = if cmd.is("auth") {
        1
    } else if cmd.is("hello") {
        cmd.args()
            .position(|a| a.eq_ignore_ascii_case(b"auth"))
            .map_or(usize::MAX, |i| i + 1)
    } else {
        usize::MAX
    };
    for (i, arg) in cmd.args().enumerate() {
        out.push(b' ');
        if i >= redact_from && (redact_from == 1 || i < redact_from + 2) {
            out.extend_from_slice(b"\"(redacted)\"");
        } else {
            repr(&mut out, arg);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Redis's sdscatrepr: the bytes in double quotes, with `\\ \" \n \r \t \a \b` escaped
/// and every other unprintable byte as `\xHH`.
fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(b'"');
}

/// Feeds a command the connection just served, if anyone monitors.
pub(crate) fn feed_conn(state: &mut crate::conn::ConnState, cmd: &Command<'_>) {
    let Some(clients) = state.clients.clone() else {
        return;
    };
    // Redis shows a Unix-socket client as `unix:<the server's socket path>`.
    let addr = state.monitor_addr.get_or_insert_with(|| match &state.peer {
        crate::PeerAddr::Tcp(a) => a.to_string(),
        crate::PeerAddr::Unix(_) => match state.sink.socket().and_then(|s| s.local_addr()) {
            Some(crate::ListenAddr::Unix(p)) => format!("unix:{}", p.display()),
            _ => "unix".to_string(),
        },
    });
    feed(
        clients.monitors(),
        state.commands.as_deref(),
        state.db,
        addr,
        cmd,
    );
}

/// Turns the connection into a monitor (see [`Conn::monitor`](crate::Conn::monitor)):
/// `+OK`, then every line until it leaves, sends `QUIT`, or falls behind.
pub(crate) fn start(conn: &mut crate::Conn<'_>) {
    let (Some(clients), Some(ctl)) = (conn.state.clients.clone(), conn.state.ctl.clone()) else {
        return conn.write_error("ERR MONITOR is not available on this connection");
    };
    let id = conn.state.id;
    ctl.details.set_flag(crate::client_info::FLAG_MONITOR, true);
    let lines = clients.monitors().add(id, ctl);
    conn.write_string("OK");
    conn.detach(move |d| serve(d, lines, clients, id));
}

/// A monitor's two halves: this thread writes its lines, in batches; another reads its
/// commands (`QUIT` ends it, others are ignored) and notices when it leaves.
fn serve(d: crate::DetachedConn, lines: Receiver<Vec<u8>>, clients: crate::Clients, id: u64) {
    let mut writer = d.writer();
    let reader = std::thread::Builder::new()
        .name("redcon-monitor".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut d = d;
            loop {
                match d.read_command() {
                    Ok(Some(cmd)) if cmd.is("quit") => {
                        d.write_string("OK");
                        // Out before the writer half is told to stop: it shuts the
                        // socket down when it does, and would cut the reply off.
                        let _ = d.flush();
                        break;
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            // Ends the writer's loop below too: its queue's sender is gone.
            clients.monitors().remove(id);
            let _ = d.close();
        });
    if reader.is_err() {
        writer.close();
        return;
    }
    let mut batch = Vec::new();
    while let Ok(first) = lines.recv() {
        batch.clear();
        batch.extend_from_slice(&first);
        while batch.len() < 64 * 1024
            && let Ok(more) = lines.try_recv()
        {
            batch.extend_from_slice(&more);
        }
        if writer.send_raw(&batch).is_err() {
            break;
        }
    }
    writer.close();
}
