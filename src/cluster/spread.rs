//! How a change to this node's view of the cluster reaches the other nodes, without a
//! cluster bus: over ordinary RESP connections, one per peer (a *config link*).
//!
//! When a `CLUSTER` command changes what this node knows in a way others must learn (a
//! node met, slots added, a slot's new owner, a bumped epoch) — or when a view it
//! received taught it something — the node sends its whole view to every other node
//! it knows: `CLUSTER PUSH-CONFIG <current-epoch> <CLUSTER NODES text>`. The receiver
//! merges it by Redis's gossip rules (see the view module: a slot changes hands only to
//! a claim with a higher configuration epoch, so the newest wins whatever the order of
//! arrival) and answers with its own view, which the sender merges in turn. A node that
//! learns something new this way passes it on, so a change reaches every node that is
//! connected to the one that made it, directly or not.
//!
//! Each link keeps only the newest view not yet delivered: a peer that is down,
//! restarting or unreachable gets, once it answers again, the latest view rather than a
//! backlog. A link retries every [`PUSH_RETRY`] until it delivers or its peer is
//! forgotten; a peer that refuses a view (it does not know this node: it was reset, or
//! forgot it) is told nothing more until the next change. Sending never blocks the
//! command that made the change.
//!
//! `CLUSTER MEET` is the one synchronous exchange: the met node must accept a view from
//! a node it does not know yet, so the meeting node sends its view marked `MEET`, waits
//! for the answer (at most [`IO_TIMEOUT`] for each step), and merges it before replying.

use super::Inner;
use crate::resp::{parse_value, OwnedValue};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

/// How long a config link waits before trying again to deliver a view.
pub const PUSH_RETRY: Duration = Duration::from_secs(1);
/// Connect, write and read timeout of a config link (and of `CLUSTER MEET`'s exchange).
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest answer a config link reads: a view is a few kilobytes, but a peer that
/// answers with something else must not make this node allocate without bound.
const MAX_REPLY: usize = 16 << 20;

/// The config links of one node, by peer address.
pub(crate) struct Spread {
    links: Mutex<HashMap<String, Arc<Link>>>,
    cluster: Weak<Inner>,
}

/// What a link's thread has to deliver.
#[derive(Default)]
struct Link {
    state: Mutex<LinkState>,
    wake: Condvar,
}

#[derive(Default)]
struct LinkState {
    /// The newest view not yet delivered.
    latest: Option<Arc<[u8]>>,
    /// The peer was forgotten: the thread ends.
    closed: bool,
}

impl Spread {
    pub(crate) fn new(cluster: Weak<Inner>) -> Spread {
        Spread {
            links: Mutex::new(HashMap::new()),
            cluster,
        }
    }

    /// Hands `push` (an encoded `CLUSTER PUSH-CONFIG`) to the link of each of `peers`,
    /// replacing a view not delivered yet; opens links as needed. Never blocks.
    pub(crate) fn push(&self, peers: &[String], push: &Arc<[u8]>) {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        for peer in peers {
            let link = links.entry(peer.clone()).or_insert_with(|| {
                let link = Arc::new(Link::default());
                let (thread_link, peer, cluster) =
                    (link.clone(), peer.clone(), self.cluster.clone());
                let spawned = std::thread::Builder::new()
                    .name(format!("redcon-config-{peer}"))
                    .spawn(move || run(&peer, &thread_link, &cluster));
                if let Err(e) = spawned {
                    log::warn!("cluster config link: cannot start a thread: {e}");
                }
                link
            });
            let mut state = link.state.lock().unwrap_or_else(|e| e.into_inner());
            state.latest = Some(push.clone());
            link.wake.notify_one();
        }
    }

    /// Closes the links to peers not in `peers` (after a node was forgotten).
    pub(crate) fn retain(&self, peers: &[String]) {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links.retain(|addr, link| {
            let keep = peers.contains(addr);
            if !keep {
                link.state.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
                link.wake.notify_one();
            }
            keep
        });
    }
}

impl Drop for Spread {
    fn drop(&mut self) {
        self.retain(&[]);
    }
}

/// A link's thread: delivers the newest view, merges the answer, waits for the next.
fn run(peer: &str, link: &Link, cluster: &Weak<Inner>) {
    let mut conn: Option<Exchange> = None;
    let mut failures = 0u32;
    loop {
        let push = {
            let mut state = link.state.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if state.closed {
                    return;
                }
                if let Some(p) = &state.latest {
                    break p.clone();
                }
                state = link.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        };
        // The node is gone once its `Cluster` is dropped.
        let Some(inner) = cluster.upgrade() else {
            return;
        };
        let auth = inner.relay.auth_request();
        let fresh = || {
            Exchange::open(peer, auth.as_deref())
                .and_then(|mut c| c.send(&push).map(|answer| (c, answer)))
        };
        // A connection kept from an earlier view may have died with a restart of the
        // peer: then a new one at once, rather than after a retry's wait.
        let answer = match conn.take() {
            Some(mut c) => c.send(&push).map(|answer| (c, answer)).or_else(|_| fresh()),
            None => fresh(),
        };
        match answer {
            Ok((c, answer)) => {
                conn = Some(c);
                failures = 0;
                {
                    let mut state = link.state.lock().unwrap_or_else(|e| e.into_inner());
                    if state.latest.as_ref().is_some_and(|l| Arc::ptr_eq(l, &push)) {
                        state.latest = None;
                    }
                }
                // A refusal is final for this view: the peer does not know this node,
                // and saying it again will not change that.
                if let Err(e) = (super::Cluster { inner }).take_answer(&answer, false) {
                    // Also the normal course of a node joining: a peer may hear from it
                    // before it hears of it.
                    log::info!("cluster config link to {peer}: {e}");
                }
            }
            Err(e) => {
                // Not kept through the wait: the node may be dropped meanwhile.
                drop(inner);
                failures += 1;
                // One warning per outage, not one a second.
                if failures == 1 {
                    log::warn!("cluster config link to {peer}: {e}; retrying every {PUSH_RETRY:?}");
                }
                let state = link.state.lock().unwrap_or_else(|e| e.into_inner());
                if !state.closed {
                    let _ = link.wake.wait_timeout(state, PUSH_RETRY);
                }
            }
        }
    }
}

/// One connection to a peer for exchanging views.
pub(crate) struct Exchange {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Exchange {
    /// Connects to `peer` (`ip:port`) and logs in with `auth` (an encoded `AUTH`).
    pub(crate) fn open(peer: &str, auth: Option<&[u8]>) -> io::Result<Exchange> {
        let stream = super::connect_to_node(peer, IO_TIMEOUT)?;
        let mut c = Exchange {
            stream,
            buf: Vec::new(),
        };
        if let Some(auth) = auth
            && let OwnedValue::Error(text) = c.send(auth)?
        {
            return Err(io::Error::other(format!(
                "the peer refused the login: {}",
                String::from_utf8_lossy(&text)
            )));
        }
        Ok(c)
    }

    /// Sends one encoded command and reads its answer (an error reply included).
    pub(crate) fn send(&mut self, command: &[u8]) -> io::Result<OwnedValue> {
        self.stream.write_all(command)?;
        loop {
            if let Some((value, used)) = parse_value(&self.buf)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}")))?
            {
                let value = value.to_owned_value();
                self.buf.drain(..used);
                return Ok(value);
            }
            if self.buf.len() > MAX_REPLY {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "answer too long",
                ));
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}
