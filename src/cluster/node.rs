//! A cluster [`Node`] (id, addresses, [`Role`]) and how node ids are made: derived from
//! the address list for nodes started together, random for a node that joins later.

use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// A node's role.
///
/// ```
/// use redcon::cluster::{Node, Role};
/// let m = Node::master("a".repeat(40), "127.0.0.1", 7000);
/// let r = Node::replica("b".repeat(40), "127.0.0.1", 7001, &m.id);
/// assert_eq!(m.role, Role::Master);
/// assert_eq!(r.role, Role::Replica { master: m.id.clone() });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Serves slots.
    Master,
    /// Replicates the master with this id (and may serve its reads to `READONLY`
    /// clients).
    Replica {
        /// The master's node id.
        master: String,
    },
}

/// One node of the cluster.
///
/// ```
/// use redcon::cluster::{Node, Role};
/// // A node announced on another bus port than Redis's default.
/// let n = Node { bus_port: 16000, ..Node::master("a".repeat(40), "10.0.0.5", 6379) };
/// assert_eq!((n.addr(), n.bus_port, n.role), ("10.0.0.5:6379".to_string(), 16000, Role::Master));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The node id: 40 lowercase hex characters.
    pub id: String,
    /// The address clients connect to (an IP, as Redis announces it).
    pub ip: String,
    /// The client port.
    pub port: u16,
    /// The cluster bus port Redis would use (reported in `CLUSTER NODES`; redcon has
    /// no bus). Redis's default is the client port + 10000.
    pub bus_port: u16,
    /// Master or replica.
    pub role: Role,
}

impl Node {
    /// A master at `ip:port` with the given id and the default bus port.
    ///
    /// ```
    /// use redcon::cluster::Node;
    /// let n = Node::master("a".repeat(40), "127.0.0.1", 7000);
    /// assert_eq!(n.bus_port, 17000);
    /// ```
    pub fn master(id: impl Into<String>, ip: impl Into<String>, port: u16) -> Node {
        Node {
            id: id.into(),
            ip: ip.into(),
            port,
            bus_port: port.wrapping_add(10000),
            role: Role::Master,
        }
    }

    /// A replica of `master` (its id) at `ip:port`.
    ///
    /// ```
    /// use redcon::cluster::{Node, Role};
    /// let r = Node::replica("b".repeat(40), "127.0.0.1", 7003, "a".repeat(40));
    /// assert!(matches!(r.role, Role::Replica { .. }));
    /// ```
    pub fn replica(
        id: impl Into<String>,
        ip: impl Into<String>,
        port: u16,
        master: impl Into<String>,
    ) -> Node {
        Node {
            role: Role::Replica {
                master: master.into(),
            },
            ..Node::master(id, ip, port)
        }
    }

    /// `ip:port`, as redirections name a node.
    ///
    /// ```
    /// use redcon::cluster::Node;
    /// assert_eq!(Node::master("a".repeat(40), "10.0.0.1", 7000).addr(), "10.0.0.1:7000");
    /// ```
    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }
}

/// A 40-hex node id for `addr`, derived from the whole address list so every node
/// started with the same list computes the same ids (FNV-1a with three seeds, then
/// mixed: stable across Rust versions, unlike `std`'s hasher).
pub(crate) fn node_id_for(all: &[&str], addr: &str) -> String {
    let mut out = String::with_capacity(48);
    for seed in [
        0xcbf2_9ce4_8422_2325u64,
        0x8422_2325_cbf2_9ce4,
        0x9e37_79b9_7f4a_7c15,
    ] {
        let mut h = seed;
        for b in all.join(",").bytes().chain([0u8]).chain(addr.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // splitmix64's finaliser: neighbouring addresses get unrelated ids.
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(40);
    out
}

/// A fresh random node id, as Redis gives a node that starts without a configuration
/// (or is reset hard): 40 hex characters from the process's random hash seeds, the time
/// and a counter, so two calls never repeat.
pub(crate) fn random_node_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = String::with_capacity(48);
    for part in 0..3u8 {
        // Each `RandomState` is seeded from the OS's randomness.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(n);
        h.write_u8(part);
        h.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(40);
    out
}
