//! [`Topology`]: who serves which hash slot — the nodes (id, address, bus port, role),
//! the owner of each of the 16,384 slots, and the slots being migrated away or
//! imported — one immutable value that a [`Cluster`](super::Cluster) replaces as a
//! whole, so a request sees one topology or the next, never a mix.

use super::node::{node_id_for, Node, Role};
use super::slot::SLOTS;
use std::collections::HashMap;
use std::fmt;

/// Why a topology could not be built.
///
/// ```
/// use redcon::cluster::{Node, Topology, TopologyError};
/// let a = Node::master("a".repeat(40), "127.0.0.1", 7000);
/// let err = Topology::builder(vec![a], &"a".repeat(40)).slots(0..=16384, &"a".repeat(40)).build();
/// assert_eq!(err, Err(TopologyError::BadSlot(16384)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopologyError {
    /// A node id is not 40 hex characters, or appears twice.
    BadNodeId(String),
    /// A replica names a master that is not a master of this topology.
    UnknownMaster(String),
    /// No node has the id given for this node.
    UnknownSelf(String),
    /// A slot number is 16384 or more, or a range is reversed.
    BadSlot(usize),
    /// A slot was given to a node that is not a master of this topology.
    NotAMaster(String),
    /// An address is not `ip:port`.
    BadAddress(String),
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopologyError::BadNodeId(id) => write!(f, "bad or repeated node id {id:?}"),
            TopologyError::UnknownMaster(id) => write!(f, "replica of unknown master {id}"),
            TopologyError::UnknownSelf(id) => write!(f, "no node has this node's id {id}"),
            TopologyError::BadSlot(s) => write!(f, "bad slot {s}"),
            TopologyError::NotAMaster(id) => write!(f, "slots given to {id}, not a master"),
            TopologyError::BadAddress(a) => write!(f, "bad address {a:?} (not ip:port)"),
        }
    }
}

impl std::error::Error for TopologyError {}

/// Which node serves each hash slot, as seen by one node (`myself`).
///
/// ```
/// use redcon::cluster::{Node, Topology};
///
/// let a = Node::master("a".repeat(40), "127.0.0.1", 7000);
/// let b = Node::master("b".repeat(40), "127.0.0.1", 7001);
/// let t = Topology::builder(vec![a, b], &"a".repeat(40))
///     .slots(0..=8191, &"a".repeat(40))
///     .slots(8192..=16383, &"b".repeat(40))
///     .build()?;
/// assert_eq!(t.owner(100).map(|n| n.port), Some(7000));
/// assert!(t.is_mine(100) && !t.is_mine(9000));
/// assert!(t.all_slots_served());
/// # Ok::<(), redcon::cluster::TopologyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Topology {
    nodes: Vec<Node>,
    myself: usize,
    /// Per slot: index into `nodes` + 1, or 0 when no node serves it.
    owners: Vec<u16>,
    migrating: HashMap<u16, usize>,
    importing: HashMap<u16, usize>,
    /// The cluster's current epoch as this node knows it: never below any node's
    /// configuration epoch.
    epoch: u64,
    /// Each node's configuration epoch (a replica's is its master's), the version of its
    /// claim on its slots: when two nodes claim a slot, the higher one wins.
    config_epochs: Vec<u64>,
    /// How many slots have no owner, kept up to date by every edit: routing asks
    /// whether every slot is served on every request.
    unassigned: usize,
}

/// Builds a [`Topology`]; see [`Topology::builder`].
///
/// ```
/// use redcon::cluster::{Node, Topology};
/// let (a, b) = ("a".repeat(40), "b".repeat(40));
/// let nodes = vec![Node::master(&a, "127.0.0.1", 7000), Node::master(&b, "127.0.0.1", 7001)];
/// // Node a serves every slot and is moving slot 0 to b.
/// let t = Topology::builder(nodes, &a).slots(0..=16383, &a).migrating(0, &b).epoch(5).build()?;
/// assert_eq!(t.migrating_to(0).map(|n| n.port), Some(7001));
/// assert_eq!(t.epoch(), 5);
/// # Ok::<(), redcon::cluster::TopologyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TopologyBuilder {
    nodes: Vec<Node>,
    myself: String,
    assigned: Vec<(usize, usize, String)>,
    migrating: Vec<(usize, String)>,
    importing: Vec<(usize, String)>,
    epoch: u64,
    config_epochs: Vec<(String, u64)>,
}

impl TopologyBuilder {
    /// Gives the slots `range` (inclusive) to the master with id `node`.
    ///
    /// ```
    /// use redcon::cluster::{Node, Topology};
    /// let id = "a".repeat(40);
    /// let t = Topology::builder(vec![Node::master(id.clone(), "127.0.0.1", 7000)], &id)
    ///     .slots(0..=16383, &id)
    ///     .build()?;
    /// assert!(t.all_slots_served());
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn slots(mut self, range: std::ops::RangeInclusive<usize>, node: &str) -> Self {
        self.assigned
            .push((*range.start(), *range.end(), node.to_string()));
        self
    }

    /// Marks `slot` (served by this node) as being migrated to the node `to`.
    ///
    /// ```
    /// use redcon::cluster::{Node, Topology};
    /// let (a, b) = ("a".repeat(40), "b".repeat(40));
    /// let t = Topology::builder(
    ///     vec![Node::master(a.clone(), "127.0.0.1", 7000), Node::master(b.clone(), "127.0.0.1", 7001)],
    ///     &a,
    /// )
    /// .slots(0..=16383, &a)
    /// .migrating(5, &b)
    /// .build()?;
    /// assert_eq!(t.migrating_to(5).map(|n| n.port), Some(7001));
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn migrating(mut self, slot: usize, to: &str) -> Self {
        self.migrating.push((slot, to.to_string()));
        self
    }

    /// Marks `slot` as being imported from the node `from`.
    ///
    /// ```
    /// use redcon::cluster::{Node, Topology};
    /// let (a, b) = ("a".repeat(40), "b".repeat(40));
    /// let t = Topology::builder(
    ///     vec![Node::master(a.clone(), "127.0.0.1", 7000), Node::master(b.clone(), "127.0.0.1", 7001)],
    ///     &b,
    /// )
    /// .slots(0..=16383, &a)
    /// .importing(5, &a)
    /// .build()?;
    /// assert_eq!(t.importing_from(5).map(|n| n.port), Some(7000));
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn importing(mut self, slot: usize, from: &str) -> Self {
        self.importing.push((slot, from.to_string()));
        self
    }

    /// The configuration epoch (newest wins when topologies are exchanged). Default 0.
    ///
    /// ```
    /// use redcon::cluster::{Node, Topology};
    /// let id = "a".repeat(40);
    /// let t = Topology::builder(vec![Node::master(id.clone(), "127.0.0.1", 7000)], &id)
    ///     .epoch(7)
    ///     .build()?;
    /// assert_eq!(t.epoch(), 7);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn epoch(mut self, epoch: u64) -> Self {
        self.epoch = epoch;
        self
    }

    /// The configuration epoch of the master `node` (its id): the version of its claim
    /// on its slots, which decides between two claims on one slot when nodes exchange
    /// their views. By default a master's is its position in the node list plus one;
    /// a replica always has its master's.
    ///
    /// ```
    /// use redcon::cluster::{Node, Topology};
    /// let id = "a".repeat(40);
    /// // A node that starts alone, as `redis-server --cluster-enabled yes` does.
    /// let t = Topology::builder(vec![Node::master(id.clone(), "127.0.0.1", 7000)], &id)
    ///     .config_epoch(&id, 0)
    ///     .build()?;
    /// assert_eq!((t.config_epoch(0), t.epoch()), (0, 0));
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn config_epoch(mut self, node: &str, epoch: u64) -> Self {
        self.config_epochs.push((node.to_string(), epoch));
        self
    }

    /// Checks and builds the topology.
    ///
    /// # Errors
    ///
    /// A [`TopologyError`]: an id that is not 40 hex characters or is repeated, a
    /// replica of an unknown master, no node with this node's id, a slot out of range,
    /// or slots given to a node that is not a master.
    ///
    /// ```
    /// use redcon::cluster::{Node, Topology, TopologyError};
    /// let bad = Topology::builder(vec![Node::master("xyz", "127.0.0.1", 7000)], "xyz").build();
    /// assert!(matches!(bad, Err(TopologyError::BadNodeId(_))));
    /// ```
    pub fn build(self) -> Result<Topology, TopologyError> {
        let mut index = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let valid = n.id.len() == 40 && n.id.bytes().all(|b| b.is_ascii_hexdigit());
            if !valid || index.insert(n.id.clone(), i).is_some() {
                return Err(TopologyError::BadNodeId(n.id.clone()));
            }
        }
        for n in &self.nodes {
            if let Role::Replica { master } = &n.role {
                match index.get(master) {
                    Some(&m) if self.nodes[m].role == Role::Master => {}
                    _ => return Err(TopologyError::UnknownMaster(master.clone())),
                }
            }
        }
        let myself = *index
            .get(&self.myself)
            .ok_or_else(|| TopologyError::UnknownSelf(self.myself.clone()))?;
        let master = |id: &str| match index.get(id) {
            Some(&i) if self.nodes[i].role == Role::Master => Ok(i),
            _ => Err(TopologyError::NotAMaster(id.to_string())),
        };
        let mut owners = vec![0u16; SLOTS];
        for (start, end, id) in &self.assigned {
            if *start > *end || *end >= SLOTS {
                return Err(TopologyError::BadSlot(*end.max(start)));
            }
            let i = master(id)?;
            owners[*start..=*end].fill(i as u16 + 1);
        }
        let open = |list: &[(usize, String)]| -> Result<HashMap<u16, usize>, TopologyError> {
            let mut out = HashMap::new();
            for (slot, id) in list {
                if *slot >= SLOTS {
                    return Err(TopologyError::BadSlot(*slot));
                }
                let i = *index
                    .get(id)
                    .ok_or_else(|| TopologyError::BadNodeId(id.clone()))?;
                out.insert(*slot as u16, i);
            }
            Ok(out)
        };
        let migrating = open(&self.migrating)?;
        let importing = open(&self.importing)?;
        let unassigned = owners.iter().filter(|&&o| o == 0).count();
        let mut config_epochs: Vec<u64> = (1..=self.nodes.len() as u64).collect();
        for (id, epoch) in &self.config_epochs {
            config_epochs[master(id)?] = *epoch;
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if let Role::Replica { master } = &n.role {
                config_epochs[i] = config_epochs[index[master]];
            }
        }
        let epoch = config_epochs.iter().copied().fold(self.epoch, u64::max);
        Ok(Topology {
            unassigned,
            nodes: self.nodes,
            myself,
            owners,
            migrating,
            importing,
            epoch,
            config_epochs,
        })
    }
}

impl Topology {
    /// Starts a topology of `nodes`, seen by the node whose id is `myself`.
    ///
    /// ```
    /// use redcon::cluster::{Node, Topology};
    /// let id = "a".repeat(40);
    /// let t = Topology::builder(vec![Node::master(id.clone(), "127.0.0.1", 7000)], &id).build()?;
    /// assert!(!t.all_slots_served());
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn builder(nodes: Vec<Node>, myself: &str) -> TopologyBuilder {
        TopologyBuilder {
            nodes,
            myself: myself.to_string(),
            assigned: Vec::new(),
            migrating: Vec::new(),
            importing: Vec::new(),
            epoch: 0,
            config_epochs: Vec::new(),
        }
    }

    /// The masters at `addrs` (`ip:port`), slots split in list order exactly as
    /// `redis-cli --cluster create` splits them. With `replicas` > 0 the first
    /// `len / (replicas + 1)` addresses are masters and the rest their replicas, dealt
    /// to the masters in turn.
    /// Node ids are derived from the address list, so every node computes the same
    /// ones. `myself` is this node's `ip:port`.
    ///
    /// # Errors
    ///
    /// [`TopologyError::UnknownSelf`] if `myself` is not in the list; a
    /// [`TopologyError::BadSlot`] for an address without a valid port.
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let addrs = ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"];
    /// let t = Topology::split(&addrs, 0, "127.0.0.1:7001")?;
    /// assert_eq!(t.owner(5460).map(|n| n.port), Some(7000));
    /// assert_eq!(t.owner(5461).map(|n| n.port), Some(7001));
    /// assert_eq!(t.owner(16383).map(|n| n.port), Some(7002));
    /// assert_eq!(t.myself().port, 7001);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn split(addrs: &[&str], replicas: usize, myself: &str) -> Result<Topology, TopologyError> {
        let parsed: Vec<(String, u16)> = addrs
            .iter()
            .map(|a| parse_addr(a))
            .collect::<Result<_, TopologyError>>()?;
        let ids: Vec<String> = addrs.iter().map(|a| node_id_for(addrs, a)).collect();
        let masters = if replicas == 0 {
            addrs.len()
        } else {
            addrs.len() / (replicas + 1)
        }
        .max(1)
        .min(addrs.len());
        let mut nodes: Vec<Node> = (0..masters)
            .map(|i| Node::master(ids[i].clone(), parsed[i].0.clone(), parsed[i].1))
            .collect();
        // Replicas are dealt to masters in turn from the addresses after the masters.
        for (k, i) in (masters..addrs.len()).enumerate() {
            let m = k % masters;
            nodes.push(Node::replica(
                ids[i].clone(),
                parsed[i].0.clone(),
                parsed[i].1,
                ids[m].clone(),
            ));
        }
        let me = addrs
            .iter()
            .position(|a| *a == myself)
            .ok_or_else(|| TopologyError::UnknownSelf(myself.to_string()))?;
        let mut b = Topology::builder(nodes, &ids[me]);
        for (i, (first, last)) in create_split(masters).into_iter().enumerate() {
            b = b.slots(first..=last, &ids[i]);
        }
        b.build()
    }

    /// A node that knows only itself (at `addr`, `ip:port`) and serves no slot, with a
    /// fresh random id and epochs 0: the state of a new `redis-server
    /// --cluster-enabled yes`, ready for `CLUSTER MEET` / `redis-cli --cluster add-node`.
    ///
    /// # Errors
    ///
    /// [`TopologyError::BadAddress`] if `addr` is not `ip:port`.
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let t = Topology::alone("127.0.0.1:7003")?;
    /// assert_eq!((t.nodes().len(), t.epoch()), (1, 0));
    /// assert!(t.owner(0).is_none() && !t.all_slots_served());
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn alone(addr: &str) -> Result<Topology, TopologyError> {
        let (ip, port) = parse_addr(addr)?;
        let id = super::node::random_node_id();
        Topology::builder(vec![Node::master(id.clone(), ip, port)], &id)
            .config_epoch(&id, 0)
            .build()
    }

    /// The node that serves `slot`, if any.
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let t = Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?;
    /// assert_eq!(t.owner(0).map(|n| n.port), Some(7000));
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn owner(&self, slot: u16) -> Option<&Node> {
        let i = *self.owners.get(usize::from(slot))?;
        (i != 0).then(|| &self.nodes[usize::from(i) - 1])
    }

    /// Whether this node serves `slot`.
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let t = Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?;
    /// assert!(t.is_mine(42));
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn is_mine(&self, slot: u16) -> bool {
        self.owners.get(usize::from(slot)).copied() == Some(self.myself as u16 + 1)
    }

    pub(crate) fn owner_index(&self, slot: u16) -> Option<usize> {
        match self.owners.get(usize::from(slot)) {
            Some(&i) if i != 0 => Some(usize::from(i) - 1),
            _ => None,
        }
    }

    pub(crate) fn myself_index(&self) -> usize {
        self.myself
    }

    /// This node.
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let t = Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?;
    /// assert_eq!(t.myself().port, 7000);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn myself(&self) -> &Node {
        &self.nodes[self.myself]
    }

    /// Every node, masters and replicas.
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let t = Topology::split(&["127.0.0.1:7000", "127.0.0.1:7001"], 1, "127.0.0.1:7000")?;
    /// assert_eq!(t.nodes().len(), 2);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node `slot` is being migrated to, if this node is migrating it.
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let t = Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?;
    /// assert!(t.migrating_to(0).is_none());
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn migrating_to(&self, slot: u16) -> Option<&Node> {
        self.migrating.get(&slot).map(|&i| &self.nodes[i])
    }

    /// The node `slot` is being imported from, if this node is importing it.
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let t = Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?;
    /// assert!(t.importing_from(0).is_none());
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn importing_from(&self, slot: u16) -> Option<&Node> {
        self.importing.get(&slot).map(|&i| &self.nodes[i])
    }

    /// The cluster's current epoch as this node knows it (`cluster_current_epoch`):
    /// never below any node's [configuration epoch](Self::config_epoch).
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let addrs = ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"];
    /// assert_eq!(Topology::split(&addrs, 0, "127.0.0.1:7000")?.epoch(), 3);
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The configuration epoch of `nodes()[node]` (0 past the end): the version of a
    /// master's claim on its slots (a replica shows its master's), as `CLUSTER NODES`
    /// reports it. When nodes exchange their views, the claim with the higher one wins.
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// let addrs = ["127.0.0.1:7000", "127.0.0.1:7001"];
    /// let t = Topology::split(&addrs, 0, "127.0.0.1:7000")?;
    /// assert_eq!((t.config_epoch(0), t.config_epoch(1)), (1, 2));
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn config_epoch(&self, node: usize) -> u64 {
        self.config_epochs.get(node).copied().unwrap_or(0)
    }

    /// Whether every slot has a master (Redis's `cluster_state:ok` with full coverage
    /// required).
    ///
    /// ```
    /// use redcon::cluster::Topology;
    /// assert!(Topology::split(&["127.0.0.1:7000"], 0, "127.0.0.1:7000")?.all_slots_served());
    /// # Ok::<(), redcon::cluster::TopologyError>(())
    /// ```
    pub fn all_slots_served(&self) -> bool {
        self.unassigned == 0
    }

    /// The slot ranges each node index serves, in slot order: `(first, last, node)`.
    pub(crate) fn ranges(&self) -> Vec<(u16, u16, usize)> {
        let mut out: Vec<(u16, u16, usize)> = Vec::new();
        for (slot, &o) in self.owners.iter().enumerate() {
            if o == 0 {
                continue;
            }
            let node = usize::from(o) - 1;
            match out.last_mut() {
                Some((_, last, n)) if *n == node && usize::from(*last) + 1 == slot => {
                    *last = slot as u16
                }
                _ => out.push((slot as u16, slot as u16, node)),
            }
        }
        out
    }

    /// The replicas of the node at index `master`.
    pub(crate) fn replicas_of(&self, master: usize) -> impl Iterator<Item = &Node> {
        let id = &self.nodes[master].id;
        self.nodes
            .iter()
            .filter(move |n| matches!(&n.role, Role::Replica { master } if master == id))
    }

    pub(crate) fn index_of(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    pub(crate) fn migrating_slots(&self) -> impl Iterator<Item = (u16, &Node)> {
        self.migrating.iter().map(|(&s, &i)| (s, &self.nodes[i]))
    }

    pub(crate) fn importing_slots(&self) -> impl Iterator<Item = (u16, &Node)> {
        self.importing.iter().map(|(&s, &i)| (s, &self.nodes[i]))
    }

    // Edits, for the `CLUSTER` commands that change this node's view; made on a copy
    // that then replaces the topology whole (`Cluster::update`).

    /// Gives `slot` to the master at `node`, or to nobody.
    pub(crate) fn set_owner(&mut self, slot: u16, node: Option<usize>) {
        let owner = &mut self.owners[usize::from(slot)];
        let was_unassigned = *owner == 0;
        *owner = node.map_or(0, |i| i as u16 + 1);
        match (was_unassigned, *owner == 0) {
            (true, false) => self.unassigned -= 1,
            (false, true) => self.unassigned += 1,
            _ => {}
        }
    }

    pub(crate) fn set_migrating(&mut self, slot: u16, to: Option<usize>) {
        match to {
            Some(i) => self.migrating.insert(slot, i),
            None => self.migrating.remove(&slot),
        };
    }

    pub(crate) fn set_importing(&mut self, slot: u16, from: Option<usize>) {
        match from {
            Some(i) => self.importing.insert(slot, i),
            None => self.importing.remove(&slot),
        };
    }

    /// Redis's `clusterBumpConfigEpochWithoutConsensus`: unless this node's
    /// configuration epoch is already the highest (and not 0), the current
    /// epoch goes up by one and becomes this node's. Whether it did.
    pub(crate) fn bump_my_epoch(&mut self) -> bool {
        let me = self.myself;
        let max = self
            .config_epochs
            .iter()
            .copied()
            .fold(self.epoch, u64::max);
        if self.config_epochs[me] != 0 && self.config_epochs[me] == max {
            return false;
        }
        self.epoch = max + 1;
        self.set_config_epoch(me, self.epoch);
        true
    }

    /// Sets a master's configuration epoch (and its replicas'), raising the current
    /// epoch to it if lower.
    pub(crate) fn set_config_epoch(&mut self, node: usize, epoch: u64) {
        let id = self.nodes[node].id.clone();
        for (i, n) in self.nodes.iter().enumerate() {
            let replica_of_node = matches!(&n.role, Role::Replica { master } if *master == id);
            if i == node || replica_of_node {
                self.config_epochs[i] = epoch;
            }
        }
        self.epoch = self.epoch.max(epoch);
    }

    /// Raises the current epoch to `epoch` if lower.
    pub(crate) fn raise_epoch(&mut self, epoch: u64) {
        self.epoch = self.epoch.max(epoch);
    }

    /// Adds a node this one did not know, with its configuration epoch; its index.
    pub(crate) fn add_node(&mut self, node: Node, config_epoch: u64) -> usize {
        self.nodes.push(node);
        self.config_epochs.push(config_epoch);
        self.epoch = self.epoch.max(config_epoch);
        self.nodes.len() - 1
    }

    /// Forgets `nodes()[node]` (never this node itself): its slots become unassigned,
    /// open slots naming it close, and its replicas become masters without slots.
    pub(crate) fn remove_node(&mut self, node: usize) {
        assert_ne!(node, self.myself, "a node cannot forget itself");
        let gone = self.nodes.remove(node);
        self.config_epochs.remove(node);
        for n in &mut self.nodes {
            if matches!(&n.role, Role::Replica { master } if *master == gone.id) {
                n.role = Role::Master;
            }
        }
        // Indices past the removed node move down by one (owners count from 1).
        let shift = |i: usize| if i > node { i - 1 } else { i };
        let removed = node as u16 + 1;
        for o in &mut self.owners {
            if *o == removed {
                *o = 0;
            } else if *o > removed {
                *o -= 1;
            }
        }
        for open in [&mut self.migrating, &mut self.importing] {
            open.retain(|_, i| *i != node);
            for i in open.values_mut() {
                *i = shift(*i);
            }
        }
        self.myself = shift(self.myself);
        self.unassigned = self.owners.iter().filter(|&&o| o == 0).count();
    }

    /// Redis's `CLUSTER RESET`: this node forgets every other node, its slots and its
    /// open slots, and becomes a master; a hard reset also takes `new_id` and sets the
    /// epochs to 0.
    pub(crate) fn reset(&mut self, hard: Option<String>) {
        let mut me = self.nodes[self.myself].clone();
        me.role = Role::Master;
        let mut my_epoch = self.config_epochs[self.myself];
        if let Some(id) = hard {
            me.id = id;
            my_epoch = 0;
            self.epoch = 0;
        }
        self.nodes = vec![me];
        self.config_epochs = vec![my_epoch];
        self.myself = 0;
        self.owners.fill(0);
        self.migrating.clear();
        self.importing.clear();
        self.unassigned = SLOTS;
    }
}

impl fmt::Debug for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topology")
            .field("myself", &self.myself().addr())
            .field("nodes", &self.nodes.len())
            .field("ranges", &self.ranges())
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// `ip:port` split.
fn parse_addr(addr: &str) -> Result<(String, u16), TopologyError> {
    let bad = || TopologyError::BadAddress(addr.to_string());
    let (ip, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    Ok((ip.to_string(), port))
}

/// The slot ranges `redis-cli --cluster create` gives `masters` masters: per =
/// 16384 / n as a float; each master ends at lround(cursor + per - 1), the last at
/// 16383.
fn create_split(masters: usize) -> Vec<(usize, usize)> {
    let per = SLOTS as f64 / masters as f64;
    let mut cursor = 0.0f64;
    let mut first = 0usize;
    let mut out = Vec::with_capacity(masters);
    for i in 0..masters {
        let last = if i == masters - 1 {
            SLOTS - 1
        } else {
            (cursor + per - 1.0).round() as usize
        };
        out.push((first, last));
        first = last + 1;
        cursor += per;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_split_like_redis_cli() {
        assert_eq!(
            create_split(3),
            vec![(0, 5460), (5461, 10922), (10923, 16383)]
        );
        assert_eq!(create_split(1), vec![(0, 16383)]);
        assert_eq!(create_split(2), vec![(0, 8191), (8192, 16383)]);
        // Four masters, as redis-cli splits them.
        assert_eq!(
            create_split(4),
            vec![(0, 4095), (4096, 8191), (8192, 12287), (12288, 16383)]
        );
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let addrs = ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"];
        let a = Topology::split(&addrs, 0, "127.0.0.1:7000").unwrap();
        let b = Topology::split(&addrs, 0, "127.0.0.1:7002").unwrap();
        assert_eq!(a.nodes(), b.nodes());
        let mut ids: Vec<_> = a.nodes().iter().map(|n| n.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3);
        assert!(ids.iter().all(|i| i.len() == 40));
    }

    #[test]
    fn replicas_are_dealt_from_the_end() {
        let addrs = [
            "127.0.0.1:7000",
            "127.0.0.1:7001",
            "127.0.0.1:7002",
            "127.0.0.1:7003",
        ];
        let t = Topology::split(&addrs, 1, "127.0.0.1:7003").unwrap();
        let masters: Vec<_> = t
            .nodes()
            .iter()
            .filter(|n| n.role == Role::Master)
            .map(|n| n.port)
            .collect();
        assert_eq!(masters, [7000, 7001]);
        assert_eq!(t.replicas_of(0).map(|n| n.port).collect::<Vec<_>>(), [7002]);
        assert_eq!(t.replicas_of(1).map(|n| n.port).collect::<Vec<_>>(), [7003]);
        assert_eq!(t.ranges(), vec![(0, 8191, 0), (8192, 16383, 1)]);
    }

    #[test]
    fn builder_checks() {
        let a = "a".repeat(40);
        let n = || vec![Node::master(a.clone(), "127.0.0.1", 7000)];
        assert!(matches!(
            Topology::builder(n(), &a).slots(0..=16384, &a).build(),
            Err(TopologyError::BadSlot(16384))
        ));
        assert!(matches!(
            Topology::builder(n(), &"b".repeat(40)).build(),
            Err(TopologyError::UnknownSelf(_))
        ));
        let t = Topology::builder(n(), &a)
            .slots(0..=99, &a)
            .build()
            .unwrap();
        assert!(!t.all_slots_served());
        assert_eq!(t.ranges(), vec![(0, 99, 0)]);
        assert!(t.owner(100).is_none());
    }
}
