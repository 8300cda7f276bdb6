//! A tiny key-value command set over a shared map, each command described with its
//! keys, for the cluster tests (routing reads the keys from the descriptions).

use redcon::cluster::{key_slot, ClusterStore};
use redcon::commands::{CommandSpec, Flags};
use redcon::mux::Mux;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// The map a node's commands read and write.
pub type Store = Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>;

/// A node's commands, described with their keys so cluster routing can find them.
pub fn kv_mux(store: Store) -> Mux {
    let mut mux = Mux::new();
    mux.command(
        CommandSpec::new("ping", -1).flags(Flags::FAST),
        |conn, _| conn.write_string("PONG"),
    );
    let s = store.clone();
    mux.command(
        CommandSpec::new("set", -3)
            .flags(Flags::WRITE)
            .keys(1, 1, 1),
        move |conn, cmd| {
            s.lock().unwrap().insert(cmd[1].to_vec(), cmd[2].to_vec());
            conn.write_string("OK");
        },
    );
    let s = store.clone();
    mux.command(
        CommandSpec::new("get", 2)
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1),
        move |conn, cmd| match s.lock().unwrap().get(&cmd[1][..]) {
            Some(v) => conn.write_bulk(v),
            None => conn.write_null(),
        },
    );
    let s = store.clone();
    mux.command(
        CommandSpec::new("mget", -2)
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, -1, 1),
        move |conn, cmd| {
            let values: Vec<Option<Vec<u8>>> = {
                let map = s.lock().unwrap();
                (1..cmd.len())
                    .map(|i| map.get(&cmd[i][..]).cloned())
                    .collect()
            };
            conn.write_array(values.len());
            for v in values {
                match v {
                    Some(v) => conn.write_bulk(v),
                    None => conn.write_null(),
                }
            }
        },
    );
    let s = store;
    mux.command(
        CommandSpec::new("dbsize", 1).flags(Flags::READONLY | Flags::FAST),
        move |conn, _| {
            let n = s.lock().unwrap().len();
            conn.write_int(n as i64);
        },
    );
    mux
}

/// `n` listeners on free loopback ports, and their `ip:port` addresses: the nodes of
/// an in-process cluster need every address before any of them starts.
pub fn loopback_listeners(n: usize) -> (Vec<TcpListener>, Vec<String>) {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let addrs = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    (listeners, addrs)
}

/// The map as cluster routing and `CLUSTER COUNTKEYSINSLOT` / `GETKEYSINSLOT` see it.
pub struct SlotKeys(pub Store);

impl ClusterStore for SlotKeys {
    fn contains_key(&self, key: &[u8]) -> bool {
        self.0.lock().unwrap().contains_key(key)
    }
    fn count_keys_in_slot(&self, slot: u16) -> u64 {
        self.keys_in_slot(slot, usize::MAX).len() as u64
    }
    fn keys_in_slot(&self, slot: u16, count: usize) -> Vec<Vec<u8>> {
        let map = self.0.lock().unwrap();
        let keys = map.keys().filter(|k| key_slot(k) == slot);
        keys.take(count).cloned().collect()
    }
    fn is_empty(&self) -> bool {
        self.0.lock().unwrap().is_empty()
    }
}
