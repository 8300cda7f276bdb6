//! Redis Cluster's client-facing surface, so cluster-aware clients (redis-py's
//! `RedisCluster`, ioredis, node-redis, redis-rs, `redis-cli -c`) spread one keyspace
//! over several redcon servers: hash slots ([`key_slot`]), the [`Topology`] of nodes and
//! slots, routing before any handler runs (`-MOVED`, `-ASK`, `-CROSSSLOT`,
//! `-TRYAGAIN`, `-CLUSTERDOWN`, with Redis 7.0.15's texts and conditions), and the
//! `CLUSTER` command, `ASKING`, `READONLY` and `READWRITE`.
//!
//! The topology is given when the server starts ([`Server::cluster`](crate::Server::cluster))
//! and changes at run time in three ways:
//! - with Redis's own commands, as `redis-cli --cluster` sends them (`create`,
//!   `add-node`, `rebalance`, `reshard`, `del-node`): `CLUSTER MEET`, `ADDSLOTS[RANGE]`,
//!   `DELSLOTS[RANGE]`, `FLUSHSLOTS`, `FORGET`, `RESET`, `SET-CONFIG-EPOCH`,
//!   `BUMPEPOCH` and `SETSLOT`, with Redis 7.0.15's checks and errors;
//! - by views the nodes send each other: there is no cluster bus and no gossip, but a
//!   node whose view changed in a way others must learn (a node met, slots claimed, a
//!   slot's new owner) sends its whole view to every node it knows over an ordinary
//!   RESP connection; the receiver takes in new nodes and the sender's claims on slots
//!   where its configuration epoch is higher (newest wins, whatever the order of
//!   arrival). A peer that is down gets the newest view when it answers again (tried
//!   every [`PUSH_RETRY`]). Removals stay local, as in Redis (`FORGET` keeps a node out
//!   of the view for [`FORGET_FOR`]: send it to every node);
//! - in code, replaced whole with [`Cluster::set_topology`] by an operator or a control
//!   plane (not sent to other nodes).
//!
//! There is no failover and no replication. Routing reads the keys of each request
//! from the handler's command table ([`Handler::commands`](crate::Handler::commands)): a
//! handler without one has no keys, so everything it serves is local.
//!
//! ```
//! use redcon::cluster::{Cluster, Topology};
//! use redcon::mux::{Arity, Mux};
//! use redcon::Server;
//!
//! let nodes = ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"];
//! let cluster = Cluster::new(Topology::split(&nodes, 0, "127.0.0.1:7000")?);
//! let mut mux = Mux::new();
//! mux.handle("ping", Arity::AtLeast(1), |conn, _| conn.write_string("PONG"));
//! let server = Server::new(mux).addr("127.0.0.1:0").cluster(cluster.clone());
//! # drop(server);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod membership;
mod node;
mod relay;
mod reply;
mod route;
mod setslot;
mod slot;
mod spread;
mod topology;
mod view;

pub use node::{Node, Role};
pub use slot::{key_slot, SLOTS};
pub use topology::{Topology, TopologyBuilder, TopologyError};

pub use relay::{QUEUE_BYTES, QUEUE_MESSAGES, RETRY_AFTER};
pub(crate) use reply::is_push_config;
pub(crate) use route::{after_publish, before_handler};
pub use spread::{IO_TIMEOUT, PUSH_RETRY};

use crate::commands::{AclCategories, CommandSpec, Flags};
use crate::resp::{OwnedCommand, OwnedValue};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use view::View;

/// How long a node forgotten with `CLUSTER FORGET` stays out of this node's view even
/// if another node's view still names it (Redis's blacklist time), so that
/// `CLUSTER FORGET` sent to every node within this time removes it for good.
pub const FORGET_FOR: Duration = Duration::from_secs(60);

/// How many `CLUSTER MEET`s with nodes that did not answer are tried again at once, in
/// the background (one thread each); past that, a meeting is tried once.
pub const MEETINGS: usize = 16;

/// What cluster routing and `CLUSTER` need to know of the data, which the library does
/// not own: implemented by the application's store.
///
/// ```
/// use redcon::cluster::{key_slot, Cluster, ClusterStore, Topology};
/// use redcon::mux::{Arity, Mux};
/// use std::collections::BTreeSet;
/// use std::io::{Read, Write};
/// use std::sync::{Arc, RwLock};
///
/// #[derive(Clone, Default)]
/// struct Keys(Arc<RwLock<BTreeSet<Vec<u8>>>>);
///
/// impl ClusterStore for Keys {
///     fn contains_key(&self, key: &[u8]) -> bool {
///         self.0.read().unwrap().contains(key)
///     }
///     fn count_keys_in_slot(&self, slot: u16) -> u64 {
///         self.keys_in_slot(slot, usize::MAX).len() as u64
///     }
///     fn keys_in_slot(&self, slot: u16, count: usize) -> Vec<Vec<u8>> {
///         let keys = self.0.read().unwrap();
///         keys.iter().filter(|k| key_slot(k) == slot).take(count).cloned().collect()
///     }
/// }
///
/// let keys = Keys::default();
/// keys.0.write().unwrap().insert(b"user:1".to_vec());
/// let topology = Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?;
/// let server = redcon::Server::new(Mux::new())
///     .addr("127.0.0.1:0")
///     .cluster(Cluster::with_store(topology, keys))
///     .start()?;
/// // CLUSTER COUNTKEYSINSLOT asks the store.
/// let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
/// write!(c, "CLUSTER COUNTKEYSINSLOT {}\r\n", key_slot(b"user:1"))?;
/// let mut reply = [0u8; 4];
/// c.read_exact(&mut reply)?;
/// assert_eq!(&reply, b":1\r\n");
/// server.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ClusterStore: Send + Sync + 'static {
    /// Whether `key` exists here. Asked only for keys of a slot being migrated or
    /// imported, to decide between serving a request and `-ASK` / `-TRYAGAIN`.
    ///
    /// ```
    /// # use redcon::cluster::ClusterStore;
    /// struct One(Vec<u8>);
    /// impl ClusterStore for One {
    ///     fn contains_key(&self, key: &[u8]) -> bool {
    ///         key == self.0
    ///     }
    ///     # fn count_keys_in_slot(&self, _: u16) -> u64 { 1 }
    ///     # fn keys_in_slot(&self, _: u16, _: usize) -> Vec<Vec<u8>> { vec![self.0.clone()] }
    /// }
    /// assert!(One(b"k".to_vec()).contains_key(b"k"));
    /// ```
    fn contains_key(&self, key: &[u8]) -> bool;

    /// How many keys of `slot` this node holds (`CLUSTER COUNTKEYSINSLOT`).
    ///
    /// ```
    /// # use redcon::cluster::{key_slot, ClusterStore};
    /// struct One(Vec<u8>);
    /// impl ClusterStore for One {
    ///     # fn contains_key(&self, key: &[u8]) -> bool { key == self.0 }
    ///     fn count_keys_in_slot(&self, slot: u16) -> u64 {
    ///         u64::from(key_slot(&self.0) == slot)
    ///     }
    ///     # fn keys_in_slot(&self, _: u16, _: usize) -> Vec<Vec<u8>> { vec![self.0.clone()] }
    /// }
    /// assert_eq!(One(b"k".to_vec()).count_keys_in_slot(key_slot(b"k")), 1);
    /// ```
    fn count_keys_in_slot(&self, slot: u16) -> u64;

    /// Up to `count` keys of `slot` (`CLUSTER GETKEYSINSLOT`).
    ///
    /// ```
    /// # use redcon::cluster::{key_slot, ClusterStore};
    /// struct Many(Vec<Vec<u8>>);
    /// impl ClusterStore for Many {
    ///     # fn contains_key(&self, key: &[u8]) -> bool { self.0.iter().any(|k| k == key) }
    ///     # fn count_keys_in_slot(&self, slot: u16) -> u64 { self.keys_in_slot(slot, usize::MAX).len() as u64 }
    ///     fn keys_in_slot(&self, slot: u16, count: usize) -> Vec<Vec<u8>> {
    ///         self.0.iter().filter(|k| key_slot(k) == slot).take(count).cloned().collect()
    ///     }
    /// }
    /// // A hash tag puts both keys in one slot.
    /// let store = Many(vec![b"{u1}.name".to_vec(), b"{u1}.age".to_vec()]);
    /// assert_eq!(store.keys_in_slot(key_slot(b"u1"), 1), [b"{u1}.name"]);
    /// ```
    fn keys_in_slot(&self, slot: u16, count: usize) -> Vec<Vec<u8>>;

    /// Whether this node holds no key at all (`CLUSTER RESET` and `FLUSHSLOTS` refuse
    /// to run on a master that holds keys). By default, whether every slot counts 0
    /// keys: override it with something cheaper.
    ///
    /// ```
    /// # use redcon::cluster::ClusterStore;
    /// struct Keys(Vec<Vec<u8>>);
    /// impl ClusterStore for Keys {
    ///     # fn contains_key(&self, key: &[u8]) -> bool { self.0.iter().any(|k| k == key) }
    ///     # fn count_keys_in_slot(&self, _: u16) -> u64 { 0 }
    ///     # fn keys_in_slot(&self, _: u16, _: usize) -> Vec<Vec<u8>> { Vec::new() }
    ///     fn is_empty(&self) -> bool {
    ///         self.0.is_empty()
    ///     }
    /// }
    /// assert!(!Keys(vec![b"k".to_vec()]).is_empty());
    /// ```
    fn is_empty(&self) -> bool {
        (0..SLOTS as u16).all(|slot| self.count_keys_in_slot(slot) == 0)
    }
}

/// One node's view of the cluster: the current [`Topology`], replaceable while the
/// server runs, and the [`ClusterStore`] routing asks about keys. Cheap to clone (one
/// shared value).
///
/// Reading it costs one atomic load per request: each connection keeps the topology
/// it last saw and fetches the new one only when [`set_topology`](Self::set_topology)
/// has replaced it.
///
/// ```
/// use redcon::cluster::{Cluster, Topology};
/// let cluster = Cluster::new(Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?);
/// let view = cluster.clone(); // e.g. for a control-plane thread
/// view.set_topology(Topology::split(&["127.0.0.1:7000", "127.0.0.1:7001"], 0, "127.0.0.1:7000")?);
/// assert_eq!(cluster.topology().nodes().len(), 2);
/// # Ok::<(), redcon::cluster::TopologyError>(())
/// ```
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    topology: RwLock<Arc<Topology>>,
    version: AtomicU64,
    store: Option<Box<dyn ClusterStore>>,
    /// Links to the other nodes, for `PUBLISH` and `SPUBLISH`.
    relay: relay::Relay,
    /// Links to the other nodes, for changes of this node's view.
    spread: spread::Spread,
    /// Nodes forgotten lately, until when.
    forgotten: Mutex<HashMap<String, Instant>>,
    /// Addresses a `CLUSTER MEET` is being tried again with, in the background.
    meetings: Mutex<std::collections::HashSet<std::net::SocketAddr>>,
}

impl Cluster {
    /// A cluster view starting with `topology`, without a store: every key counts as
    /// absent during a migration, and `COUNTKEYSINSLOT` / `GETKEYSINSLOT` answer 0 and
    /// nothing.
    ///
    /// ```
    /// use redcon::cluster::{Cluster, Topology};
    /// let c = Cluster::new(Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?);
    /// assert_eq!(c.topology().myself().port, 7000);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn new(topology: Topology) -> Cluster {
        Cluster::build(topology, None)
    }

    fn build(topology: Topology, store: Option<Box<dyn ClusterStore>>) -> Cluster {
        Cluster {
            inner: Arc::new_cyclic(|inner| Inner {
                topology: RwLock::new(Arc::new(topology)),
                version: AtomicU64::new(1),
                store,
                relay: relay::Relay::default(),
                spread: spread::Spread::new(inner.clone()),
                forgotten: Mutex::new(HashMap::new()),
                meetings: Mutex::default(),
            }),
        }
    }

    /// The same, asking `store` about keys.
    ///
    /// ```
    /// use redcon::cluster::{Cluster, ClusterStore, Topology};
    /// struct Empty;
    /// impl ClusterStore for Empty {
    ///     fn contains_key(&self, _: &[u8]) -> bool { false }
    ///     fn count_keys_in_slot(&self, _: u16) -> u64 { 0 }
    ///     fn keys_in_slot(&self, _: u16, _: usize) -> Vec<Vec<u8>> { Vec::new() }
    /// }
    /// let t = Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?;
    /// let c = Cluster::with_store(t, Empty);
    /// # drop(c);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn with_store(topology: Topology, store: impl ClusterStore) -> Cluster {
        Cluster::build(topology, Some(Box::new(store)))
    }

    /// The current topology.
    ///
    /// ```
    /// use redcon::cluster::{Cluster, Topology};
    /// let c = Cluster::new(Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?);
    /// assert!(c.topology().all_slots_served());
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn topology(&self) -> Arc<Topology> {
        self.inner
            .topology
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the topology. Requests already routed keep the one they were routed
    /// with; every request after this returns sees the new one. The new topology is
    /// this node's alone: it is not sent to the other nodes (set it on each), and a
    /// view another node sends later is merged into it as into any other.
    ///
    /// ```
    /// use redcon::cluster::{Cluster, Topology};
    /// let addrs = ["127.0.0.1:7000", "127.0.0.1:7001"];
    /// let c = Cluster::new(Topology::split(&addrs[..1], 0, "127.0.0.1:7000")?);
    /// c.set_topology(Topology::split(&addrs, 0, "127.0.0.1:7000")?);
    /// assert_eq!(c.topology().nodes().len(), 2);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn set_topology(&self, topology: Topology) {
        let mut t = self
            .inner
            .topology
            .write()
            .unwrap_or_else(|e| e.into_inner());
        self.install(&mut t, topology);
        drop(t);
        self.close_stale_links();
    }

    /// Puts `next` in place of the topology `current` (held under the write lock) and
    /// tells the connections.
    fn install(&self, current: &mut Arc<Topology>, next: Topology) {
        *current = Arc::new(next);
        // Bumped under the lock, so a reader that sees the new version finds the new
        // topology.
        self.inner.version.fetch_add(1, Ordering::Release);
    }

    /// Edits the topology atomically: `edit` gets a copy of the current one, which
    /// replaces it if `edit` returns `Ok`. Concurrent edits are serialised, so none is
    /// lost.
    pub(crate) fn update<E>(
        &self,
        edit: impl FnOnce(&mut Topology) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut t = self
            .inner
            .topology
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let mut next = Topology::clone(&t);
        edit(&mut next)?;
        self.install(&mut t, next);
        Ok(())
    }

    /// How many `PUBLISH` / `SPUBLISH` messages forwarded to other nodes were lost so
    /// far (a peer down, unreachable or too slow; see the [module](self) docs for the
    /// rules).
    ///
    /// ```
    /// use redcon::cluster::{Cluster, Topology};
    /// let c = Cluster::new(Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?);
    /// assert_eq!(c.relay_dropped(), 0);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn relay_dropped(&self) -> u64 {
        self.inner.relay.dropped()
    }

    /// The credentials this node's publish links send (`AUTH [user] password`) to the
    /// other nodes before anything else, for clusters whose nodes require
    /// authentication. Links opened from then on use them.
    ///
    /// ```
    /// use redcon::cluster::{Cluster, Topology};
    /// let c = Cluster::new(Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?);
    /// c.set_link_auth(Some("cluster-link"), "a long secret");
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn set_link_auth(&self, user: Option<&str>, password: &str) {
        self.inner
            .relay
            .set_auth(user.map(str::as_bytes), password.as_bytes());
    }

    /// Sends this node's view to every other node it knows, after a change they must
    /// learn (see the spread module).
    pub(crate) fn spread_view(&self) {
        let t = self.topology();
        let push: Arc<[u8]> = Arc::from(push_command(&t, false));
        self.inner.spread.push(&peers(&t, Peers::All), &push);
    }

    /// Merges a view another node sent; whether this node's changed (it then passes it
    /// on). `meet`: the sender may be a node this one does not know yet.
    ///
    /// # Errors
    ///
    /// The error reply for a view from a node this one does not know (outside a
    /// meeting) or has just forgotten.
    pub(crate) fn take_view(&self, view: &View, meet: bool) -> Result<bool, String> {
        let Some(sender) = view.sender() else {
            return Err("ERR the view names no sender".into());
        };
        let id = &sender.node.id;
        if self.is_forgotten(id) {
            return Err(format!("ERR this node forgot {id}"));
        }
        if !meet && self.topology().index_of(id).is_none() {
            return Err(format!("ERR unknown sender {id}"));
        }
        let banned = |id: &str| self.is_forgotten(id);
        let changed = self
            .update(|t| {
                if view::merge(t, view, &banned) {
                    Ok(())
                } else {
                    Err(())
                }
            })
            .is_ok();
        if changed {
            self.spread_view();
        }
        Ok(changed)
    }

    /// Merges a peer's answer to a pushed view: `[current-epoch, CLUSTER NODES text]`.
    pub(crate) fn take_answer(&self, answer: &OwnedValue, meet: bool) -> Result<bool, String> {
        match answer {
            OwnedValue::Array(a) => match a.as_slice() {
                [OwnedValue::Integer(epoch), OwnedValue::Bulk(text)] => {
                    let text = std::str::from_utf8(text).map_err(|_| "a view not in UTF-8")?;
                    let view = View::parse(u64::try_from(*epoch).unwrap_or(0), text)
                        .map_err(|line| format!("line {line} of the view is not a node"))?;
                    self.take_view(&view, meet)
                }
                _ => Err("an answer that is not a view".into()),
            },
            OwnedValue::Error(e) => Err(format!("refused: {}", String::from_utf8_lossy(e))),
            _ => Err("an answer that is not a view".into()),
        }
    }

    /// Keeps `id` out of this node's view for [`FORGET_FOR`].
    pub(crate) fn ban(&self, id: &str) {
        let mut f = self
            .inner
            .forgotten
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        f.insert(id.to_string(), Instant::now() + FORGET_FOR);
    }

    fn is_forgotten(&self, id: &str) -> bool {
        let mut f = self
            .inner
            .forgotten
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        f.retain(|_, until| *until > now);
        f.contains_key(id)
    }

    /// Whether a background retry of `CLUSTER MEET` with `addr` may start: not if one
    /// is running for it, nor past [`MEETINGS`] at once (each is a thread).
    pub(crate) fn start_meeting(&self, addr: std::net::SocketAddr) -> bool {
        let mut m = self
            .inner
            .meetings
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        m.len() < MEETINGS && m.insert(addr)
    }

    /// The background retry with `addr` is over.
    pub(crate) fn end_meeting(&self, addr: std::net::SocketAddr) {
        let mut m = self
            .inner
            .meetings
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        m.remove(&addr);
    }

    /// Closes the links to nodes no longer in the topology.
    pub(crate) fn close_stale_links(&self) {
        let peers = peers(&self.topology(), Peers::All);
        self.inner.relay.retain(&peers);
        self.inner.spread.retain(&peers);
    }

    pub(crate) fn link_auth(&self) -> Option<Vec<u8>> {
        self.inner.relay.auth_request()
    }

    pub(crate) fn relay(&self, to: Peers, topology: &Topology, command: &[u8]) {
        self.inner.relay.send(&peers(topology, to), command);
    }

    /// The topology for a connection that last saw `cached`: refreshed only when it
    /// has been replaced since.
    pub(crate) fn refresh<'c>(&self, cached: &'c mut (u64, Arc<Topology>)) -> &'c Arc<Topology> {
        let now = self.inner.version.load(Ordering::Acquire);
        if now != cached.0 {
            let t = self
                .inner
                .topology
                .read()
                .unwrap_or_else(|e| e.into_inner());
            *cached = (self.inner.version.load(Ordering::Acquire), t.clone());
        }
        &cached.1
    }

    pub(crate) fn store(&self) -> Option<&dyn ClusterStore> {
        self.inner.store.as_deref()
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("topology", &self.topology())
            .field("store", &self.inner.store.is_some())
            .finish()
    }
}

/// A TCP connection to another node (`ip:port`), for a link: connected, written and
/// read with `timeout`, without Nagle's delay (links send small requests and wait for
/// their answers).
pub(crate) fn connect_to_node(
    peer: &str,
    timeout: Duration,
) -> std::io::Result<std::net::TcpStream> {
    use std::net::ToSocketAddrs;
    let addr = peer
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
    let stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_read_timeout(Some(timeout))?;
    Ok(stream)
}

/// `CLUSTER PUSH-CONFIG <current-epoch> <CLUSTER NODES text> [MEET]`, encoded: this
/// node's view for another node.
pub(crate) fn push_command(t: &Topology, meet: bool) -> Vec<u8> {
    let mut args: Vec<Vec<u8>> = vec![
        b"CLUSTER".to_vec(),
        b"PUSH-CONFIG".to_vec(),
        t.epoch().to_string().into_bytes(),
        view::nodes_text(t).into_bytes(),
    ];
    if meet {
        args.push(b"MEET".to_vec());
    }
    OwnedCommand::new(args).to_resp()
}

/// Which other nodes a published message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peers {
    /// Every other node (`PUBLISH`).
    All,
    /// This master's replicas (`SPUBLISH`: the shard).
    Replicas,
}

/// The addresses of `to` in `topology`, as seen by its `myself`.
fn peers(topology: &Topology, to: Peers) -> Vec<String> {
    let me = topology.myself_index();
    match to {
        Peers::All => topology
            .nodes()
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != me)
            .map(|(_, n)| n.addr())
            .collect(),
        Peers::Replicas => topology.replicas_of(me).map(Node::addr).collect(),
    }
}

/// One connection's cluster state: the topology it last saw, its `ASKING` and
/// `READONLY` flags, and whether it is another node's publish link.
pub(crate) struct ClusterConn {
    pub(crate) cluster: Cluster,
    pub(crate) cached: (u64, Arc<Topology>),
    pub(crate) asking: bool,
    pub(crate) readonly: bool,
    /// Set by `CLUSTER PUBLISH-LINK`: messages published here came from another node
    /// and are delivered locally only.
    pub(crate) publish_link: bool,
}

impl ClusterConn {
    pub(crate) fn new(cluster: Cluster) -> ClusterConn {
        let cached = (0, cluster.topology());
        ClusterConn {
            cluster,
            cached,
            asking: false,
            readonly: false,
            publish_link: false,
        }
    }
}

/// How Redis 7.0.15 describes the cluster commands the server answers itself
/// (`CLUSTER` and the subcommands it serves, `ASKING`, `READONLY`, `READWRITE`); added
/// to the command table of a server in cluster mode.
///
/// ```
/// let specs = redcon::cluster::command_specs();
/// assert!(specs.iter().any(|s| s.name() == "cluster|slots"));
/// ```
pub fn command_specs() -> Vec<CommandSpec> {
    let s = CommandSpec::new;
    let sub = |name: &str, arity: i32, summary: &str, complexity: &str| {
        s(name, arity)
            .flags(Flags::STALE)
            .summary(summary)
            .since("3.0.0")
            .group("cluster")
            .complexity(complexity)
    };
    let conn = |name: &str, summary: &str| {
        s(name, 1)
            .flags(Flags::LOADING | Flags::STALE | Flags::FAST)
            .acl(AclCategories::CONNECTION)
            .summary(summary)
            .since("3.0.0")
            .group("cluster")
            .complexity("O(1)")
    };
    let per_node = "O(N) where N is the total number of Cluster nodes";
    // The subcommands that change the cluster's shape: administrative, as in Redis.
    let admin = |name: &str, arity: i32, summary: &str, complexity: &str| {
        sub(name, arity, summary, complexity)
            .flags(Flags::NO_ASYNC_LOADING | Flags::ADMIN | Flags::STALE)
    };
    let ranges = "O(N) where N is the total number of the slots between the start slot and end slot arguments.";
    vec![
        s("cluster", -2)
            .summary("A container for cluster commands")
            .since("3.0.0")
            .group("cluster")
            .complexity("Depends on subcommand."),
        sub(
            "cluster|slots",
            2,
            "Get array of Cluster slot to node mappings",
            per_node,
        )
        .tip("nondeterministic_output"),
        sub(
            "cluster|shards",
            2,
            "Get array of cluster slots to node mappings",
            "O(N) where N is the total number of cluster nodes",
        )
        .since("7.0.0")
        .tip("nondeterministic_output"),
        sub(
            "cluster|nodes",
            2,
            "Get Cluster config for the node",
            per_node,
        )
        .tip("nondeterministic_output"),
        sub(
            "cluster|info",
            2,
            "Provides info about Redis Cluster node state",
            "O(1)",
        )
        .tip("nondeterministic_output"),
        sub("cluster|myid", 2, "Return the node id", "O(1)"),
        admin(
            "cluster|setslot",
            -4,
            "Bind a hash slot to a specific node",
            "O(1)",
        ),
        admin("cluster|meet", -4, "Force a node cluster to handshake with another node", "O(1)"),
        admin(
            "cluster|addslots",
            -3,
            "Assign new hash slots to receiving node",
            "O(N) where N is the total number of hash slot arguments",
        ),
        admin(
            "cluster|addslotsrange",
            -4,
            "Assign new hash slots to receiving node",
            ranges,
        )
        .since("7.0.0"),
        admin(
            "cluster|delslots",
            -3,
            "Set hash slots as unbound in receiving node",
            "O(N) where N is the total number of hash slot arguments",
        ),
        admin(
            "cluster|delslotsrange",
            -4,
            "Set hash slots as unbound in receiving node",
            ranges,
        )
        .since("7.0.0"),
        admin("cluster|flushslots", 2, "Delete a node's own slots information", "O(1)"),
        admin("cluster|forget", 3, "Remove a node from the nodes table", "O(1)"),
        sub(
            "cluster|reset",
            -2,
            "Reset a Redis Cluster node",
            "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.",
        )
        .flags(Flags::ADMIN | Flags::NOSCRIPT | Flags::STALE),
        admin(
            "cluster|set-config-epoch",
            3,
            "Set the configuration epoch in a new node",
            "O(1)",
        ),
        admin("cluster|bumpepoch", 2, "Advance the cluster config epoch", "O(1)")
            .tip("nondeterministic_output"),
        sub(
            "cluster|keyslot",
            3,
            "Returns the hash slot of the specified key",
            "O(N) where N is the number of bytes in the key",
        ),
        sub(
            "cluster|countkeysinslot",
            3,
            "Return the number of local keys in the specified hash slot",
            "O(1)",
        ),
        sub(
            "cluster|getkeysinslot",
            4,
            "Return local key names in the specified hash slot",
            "O(log(N)) where N is the number of requested keys",
        )
        .tip("nondeterministic_output"),
        sub(
            "cluster|help",
            2,
            "Show helpful text about the different subcommands",
            "O(1)",
        )
        .flags(Flags::LOADING)
        .since("5.0.0"),
        s("asking", 1)
            .flags(Flags::FAST)
            .acl(AclCategories::CONNECTION)
            .summary("Sent by cluster clients after an -ASK redirect")
            .since("3.0.0")
            .group("cluster")
            .complexity("O(1)"),
        conn(
            "readonly",
            "Enables read queries for a connection to a cluster replica node",
        ),
        conn(
            "readwrite",
            "Disables read queries for a connection to a cluster replica node",
        ),
    ]
}
