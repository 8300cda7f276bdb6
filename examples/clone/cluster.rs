//! The clone as one node of a Redis Cluster (`--cluster HOST:PORT,...`): the topology
//! from the address list, split as `redis-cli --cluster create` splits slots, and the
//! questions cluster routing asks of the store, answered from database 0.

use crate::store::Store;
use redcon::cluster::{ClusterStore, Topology};
use std::sync::Arc;

/// The store, as cluster routing sees it (a cluster has only database 0).
pub struct ClusterKeys(pub Arc<Store>);

impl ClusterStore for ClusterKeys {
    fn contains_key(&self, key: &[u8]) -> bool {
        self.0.exists(0, key)
    }

    fn count_keys_in_slot(&self, slot: u16) -> u64 {
        let mut n = 0;
        self.0.for_each_in_slot(0, slot, |_| {
            n += 1;
            true
        });
        n
    }

    fn is_empty(&self) -> bool {
        self.0.stored(0).0 == 0
    }

    fn keys_in_slot(&self, slot: u16, count: usize) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        self.0.for_each_in_slot(0, slot, |k| {
            if keys.len() < count {
                keys.push(k.to_vec());
            }
            keys.len() < count
        });
        keys
    }
}

/// The topology for `--cluster LIST [--cluster-replicas N]`, this node being `addr`.
pub fn topology(addr: &str, list: &str, replicas: usize) -> Result<Topology, String> {
    let addrs: Vec<&str> = list.split(',').map(str::trim).collect();
    Topology::split(&addrs, replicas, addr).map_err(|e| format!("--cluster: {e}"))
}
