//! Pub/sub across nodes: a classic `PUBLISH` reaches the subscribers of every node, and a
//! `SPUBLISH` those of its shard's replicas, as in Redis — without a cluster bus.
//!
//! The node that serves the command forwards it to each other node over an ordinary RESP
//! connection (a *link*, one per peer, opened on first use and announced with
//! `CLUSTER PUBLISH-LINK` so the peer delivers what arrives on it locally and forwards
//! nothing further). The publisher never waits: it hands the encoded command to each
//! link's bounded queue and returns; a link thread writes the queue out in batches and
//! reads the replies back.
//!
//! What is lost, on purpose, rather than blocking publishers or growing without bound:
//! messages for a peer whose queue is full (more than [`QUEUE_MESSAGES`] messages or
//! [`QUEUE_BYTES`] bytes waiting: the peer is slow or down), and the messages queued or
//! in flight when a link fails (the peer is down or restarting). A link that cannot
//! connect discards what arrives for it for [`RETRY_AFTER`], then tries again. Each loss
//! is counted ([`Cluster::relay_dropped`](super::Cluster::relay_dropped)) and logged.
//! Delivery is at most once, in order per publishing node.
//!
//! Where the nodes require authentication, each link first sends `AUTH` with the
//! credentials given to [`Cluster::set_link_auth`](super::Cluster::set_link_auth); a
//! link whose `AUTH` or announcement is refused fails like an unreachable one.

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Messages a link queues before it drops new ones.
pub const QUEUE_MESSAGES: usize = 4096;
/// Bytes a link queues before it drops new messages.
pub const QUEUE_BYTES: usize = 16 << 20;
/// How long a link that could not connect drops messages before it tries again.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Connect, write and read timeout of a link's socket.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Commands a link writes before it reads their replies.
const BATCH: usize = 256;

/// The command a link opens with; the receiving node then serves `PUBLISH` and
/// `SPUBLISH` from that connection locally only.
pub(crate) const LINK_HELLO: &[u8] = b"*2\r\n$7\r\nCLUSTER\r\n$12\r\nPUBLISH-LINK\r\n";

/// The links of one node, by peer address.
#[derive(Default)]
pub(crate) struct Relay {
    links: Mutex<HashMap<String, Link>>,
    dropped: Arc<AtomicU64>,
    /// The `AUTH` request links open with, if any.
    auth: Arc<RwLock<Option<Vec<u8>>>>,
}

struct Link {
    queue: Sender<Arc<[u8]>>,
    queued_bytes: Arc<AtomicUsize>,
}

impl Relay {
    /// Queues `command` (encoded RESP) for each of `peers` (`ip:port`), opening links as
    /// needed and closing those to addresses no longer given. Never blocks.
    pub(crate) fn send(&self, peers: &[String], command: &[u8]) {
        if peers.is_empty() {
            return;
        }
        let command: Arc<[u8]> = Arc::from(command);
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        for peer in peers {
            let link = links.entry(peer.clone()).or_insert_with(|| {
                Link::open(peer.clone(), self.dropped.clone(), self.auth.clone())
            });
            link.push(command.clone(), &self.dropped);
        }
    }

    /// Closes the links to peers not in `peers` (after a topology change).
    pub(crate) fn retain(&self, peers: &[String]) {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links.retain(|addr, _| peers.contains(addr));
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The encoded `AUTH` request links open with, if any (config links use it too).
    pub(crate) fn auth_request(&self) -> Option<Vec<u8>> {
        self.auth.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets the credentials links authenticate with from their next connection on.
    pub(crate) fn set_auth(&self, user: Option<&[u8]>, password: &[u8]) {
        let mut args: Vec<&[u8]> = vec![b"AUTH"];
        args.extend(user);
        args.push(password);
        let request = crate::resp::OwnedCommand::new(args).to_resp();
        *self.auth.write().unwrap_or_else(|e| e.into_inner()) = Some(request);
    }
}

impl Link {
    fn open(peer: String, dropped: Arc<AtomicU64>, auth: Arc<RwLock<Option<Vec<u8>>>>) -> Link {
        let (tx, rx) = bounded(QUEUE_MESSAGES);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let bytes = queued_bytes.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("redcon-relay-{peer}"))
            .spawn(move || run(&peer, &rx, &bytes, &dropped, &auth));
        if let Err(e) = spawned {
            log::warn!("cluster relay: cannot start a link thread: {e}");
        }
        Link {
            queue: tx,
            queued_bytes,
        }
    }

    fn push(&self, command: Arc<[u8]>, dropped: &AtomicU64) {
        let len = command.len();
        if self.queued_bytes.fetch_add(len, Ordering::AcqRel) + len > QUEUE_BYTES {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.queue.try_send(command) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A link's thread: until its queue is dropped, connects, writes batches, reads their
/// replies; on any failure drops what it holds and reconnects after [`RETRY_AFTER`].
fn run(
    peer: &str,
    rx: &Receiver<Arc<[u8]>>,
    queued: &AtomicUsize,
    dropped: &AtomicU64,
    auth: &RwLock<Option<Vec<u8>>>,
) {
    let mut conn: Option<Connection> = None;
    let mut down_until: Option<Instant> = None;
    let mut batch: Vec<Arc<[u8]>> = Vec::with_capacity(BATCH);
    loop {
        // Wake now and then while idle so a closed queue is noticed.
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(first) => batch.push(first),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let bytes: usize = batch.iter().map(|c| c.len()).sum();
        queued.fetch_sub(bytes, Ordering::AcqRel);
        if down_until.is_some_and(|t| Instant::now() < t) {
            lose(peer, &mut batch, dropped, "unreachable");
            continue;
        }
        if conn.is_none() {
            let auth = auth.read().unwrap_or_else(|e| e.into_inner()).clone();
            match Connection::open(peer, auth.as_deref()) {
                Ok(c) => {
                    conn = Some(c);
                    down_until = None;
                }
                Err(e) => {
                    log::warn!("cluster relay to {peer}: cannot connect: {e}");
                    down_until = Some(Instant::now() + RETRY_AFTER);
                    lose(peer, &mut batch, dropped, "unreachable");
                    continue;
                }
            }
        }
        if let Some(c) = conn.as_mut()
            && let Err(e) = c.send(&batch)
        {
            log::warn!("cluster relay to {peer}: {e}");
            conn = None;
            lose(peer, &mut batch, dropped, "link failed");
            continue;
        }
        batch.clear();
    }
}

fn lose(peer: &str, batch: &mut Vec<Arc<[u8]>>, dropped: &AtomicU64, why: &str) {
    log::debug!(
        "cluster relay to {peer}: {why}, {} message(s) lost",
        batch.len()
    );
    dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
    batch.clear();
}

/// A link's socket.
struct Connection {
    stream: TcpStream,
    replies: BufReader<TcpStream>,
    line: Vec<u8>,
}

impl Connection {
    fn open(peer: &str, auth: Option<&[u8]>) -> io::Result<Connection> {
        let stream = super::connect_to_node(peer, IO_TIMEOUT)?;
        let mut c = Connection {
            replies: BufReader::new(stream.try_clone()?),
            stream,
            line: Vec::new(),
        };
        let mut hello = auth.unwrap_or_default().to_vec();
        hello.extend_from_slice(LINK_HELLO);
        c.stream.write_all(&hello)?;
        c.expect_replies(1 + usize::from(auth.is_some()))?;
        Ok(c)
    }

    /// Writes the batch in one go and reads one reply per command.
    fn send(&mut self, batch: &[Arc<[u8]>]) -> io::Result<()> {
        let mut out = Vec::with_capacity(batch.iter().map(|c| c.len()).sum());
        for c in batch {
            out.extend_from_slice(c);
        }
        self.stream.write_all(&out)?;
        self.expect_replies(batch.len())
    }

    /// Reads `n` single-line replies (`:n` for a publish, `+OK` for the hello); an
    /// error reply means the peer does not take forwarded messages (an older or
    /// non-redcon node), which fails the link.
    fn expect_replies(&mut self, n: usize) -> io::Result<()> {
        for _ in 0..n {
            self.line.clear();
            let read = self.replies.read_until(b'\n', &mut self.line)?;
            if read == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if self.line.first() == Some(&b'-') {
                let text = String::from_utf8_lossy(&self.line).trim_end().to_string();
                return Err(io::Error::other(format!("the peer refused: {text}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    /// A peer that answers every command with `:1` and reports what it read.
    fn peer() -> (String, std::sync::mpsc::Receiver<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            loop {
                let n = match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let data = buf[..n].to_vec();
                // One reply per command: count the arrays that start a command.
                let commands = data.windows(2).filter(|w| w == b"*2" || w == b"*3").count();
                let _ = s.write_all(&b":1\r\n".repeat(commands));
                let _ = tx.send(data);
            }
        });
        (addr, rx)
    }

    /// What the peer read, until it contains `needle` (or 5 s passed).
    fn read_until(rx: &std::sync::mpsc::Receiver<Vec<u8>>, needle: &str) -> String {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !String::from_utf8_lossy(&seen).contains(needle) && Instant::now() < deadline {
            if let Ok(d) = rx.recv_timeout(Duration::from_millis(100)) {
                seen.extend(d);
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    }

    #[test]
    fn forwards_in_order_after_the_link_hello() {
        let (addr, rx) = peer();
        let relay = Relay::default();
        relay.send(
            std::slice::from_ref(&addr),
            b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\n1\r\n",
        );
        relay.send(
            std::slice::from_ref(&addr),
            b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\n2\r\n",
        );
        let text = read_until(&rx, "$1\r\n2\r\n");
        assert!(
            text.starts_with("*2\r\n$7\r\nCLUSTER\r\n$12\r\nPUBLISH-LINK\r\n"),
            "{text:?}"
        );
        let one = text.find("$1\r\n1\r\n").expect("first message");
        let two = text.find("$1\r\n2\r\n").expect("second message");
        assert!(one < two);
        assert_eq!(relay.dropped(), 0);
    }

    #[test]
    fn links_authenticate_first_when_told_to() {
        let (addr, rx) = peer();
        let relay = Relay::default();
        relay.set_auth(Some(b"relay"), b"secret");
        relay.send(
            std::slice::from_ref(&addr),
            b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\n1\r\n",
        );
        let text = read_until(&rx, "PUBLISH");
        let auth = "*3\r\n$4\r\nAUTH\r\n$5\r\nrelay\r\n$6\r\nsecret\r\n";
        assert!(text.starts_with(auth), "{text:?}");
        assert!(
            text[auth.len()..].starts_with("*2\r\n$7\r\nCLUSTER\r\n"),
            "{text:?}"
        );
    }

    #[test]
    fn an_unreachable_peer_costs_the_publisher_nothing_and_counts_losses() {
        // A port nobody listens on.
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let relay = Relay::default();
        let started = Instant::now();
        for _ in 0..10_000 {
            relay.send(
                std::slice::from_ref(&addr),
                b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\nx\r\n",
            );
        }
        // Queueing never waits for the link (a connect attempt alone would take longer
        // than this whole loop on a loaded machine only if sends blocked on it).
        let queued = started.elapsed();
        let deadline = Instant::now() + Duration::from_secs(10);
        while relay.dropped() < 10_000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(relay.dropped(), 10_000, "queued in {queued:?}");
    }

    #[test]
    fn a_full_queue_drops_new_messages() {
        let dropped = AtomicU64::new(0);
        // A link whose thread never runs: nothing is taken off its queue.
        let (tx, _rx) = bounded(QUEUE_MESSAGES);
        let link = Link {
            queue: tx,
            queued_bytes: Arc::new(AtomicUsize::new(0)),
        };
        let small: Arc<[u8]> = Arc::from(&b"x"[..]);
        for _ in 0..QUEUE_MESSAGES + 10 {
            link.push(small.clone(), &dropped);
        }
        assert_eq!(dropped.load(Ordering::Relaxed), 10);
        let big: Arc<[u8]> = Arc::from(vec![0u8; QUEUE_BYTES].into_boxed_slice());
        link.push(big, &dropped);
        assert_eq!(dropped.load(Ordering::Relaxed), 11);
    }
}
