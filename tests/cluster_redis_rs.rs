//! redis-rs's `ClusterClient` against three in-process redcon servers forming one
//! cluster (slots split as `redis-cli --cluster create` splits them): the client reads
//! `CLUSTER SLOTS`, follows `-MOVED` when it starts from one node, and sets and reads
//! back a key in every one of the 16384 slots; each key is stored on the node that
//! owns its slot.

mod common;

use common::kv::{kv_mux as mux, Store};
use redcon::cluster::{key_slot, Cluster, Topology, SLOTS};
use redcon::Server;
use redis::cluster::{cluster_pipe, ClusterClient};
use redis::Commands;
use std::net::TcpListener;

/// One key for each slot: `k<N>` for the smallest N that lands there.
fn key_per_slot() -> Vec<String> {
    let mut keys = vec![String::new(); SLOTS];
    let mut missing = SLOTS;
    let mut n = 0u64;
    while missing > 0 {
        let key = format!("k{n}");
        let slot = usize::from(key_slot(key.as_bytes()));
        if keys[slot].is_empty() {
            keys[slot] = key;
            missing -= 1;
        }
        n += 1;
    }
    keys
}

#[test]
fn redis_rs_cluster_client_sets_and_gets_a_key_in_every_slot() {
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let addrs: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    let addr_refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let stores: Vec<Store> = (0..3).map(|_| Store::default()).collect();
    let mut handles = Vec::new();
    for ((listener, addr), store) in listeners.into_iter().zip(&addrs).zip(&stores) {
        let topology = Topology::split(&addr_refs, 0, addr).unwrap();
        let server = Server::new(mux(store.clone()))
            .listener(listener)
            .cluster(Cluster::new(topology));
        handles.push(server.start().unwrap());
    }

    // Starting from one node only: the client learns the others from CLUSTER SLOTS.
    let client = ClusterClient::new(vec![format!("redis://{}/", addrs[1])]).unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = con.set("foo", "bar").unwrap();
    let got: String = con.get("foo").unwrap();
    assert_eq!(got, "bar");

    // A key in every slot, one command at a time for every 64th slot, and all of them
    // in cluster pipelines (split by node by the client).
    let keys = key_per_slot();
    for (slot, key) in keys.iter().enumerate().step_by(64) {
        let value = format!("v{slot}");
        let _: () = con.set(key, &value).unwrap();
        let got: String = con.get(key).unwrap();
        assert_eq!(got, value, "slot {slot}");
    }
    let mut pipe = cluster_pipe();
    for (slot, key) in keys.iter().enumerate() {
        pipe.set(key, format!("p{slot}")).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let mut pipe = cluster_pipe();
    for key in &keys {
        pipe.get(key);
    }
    let got: Vec<String> = pipe.query(&mut con).unwrap();
    let want: Vec<String> = (0..keys.len()).map(|s| format!("p{s}")).collect();
    assert_eq!(got, want);

    // Multi-key commands within one slot (hash tags) go to that slot's node.
    let _: () = con.set("{user:1}.a", "1").unwrap();
    let _: () = con.set("{user:1}.b", "2").unwrap();
    let got: Vec<Option<String>> = con
        .mget(&["{user:1}.a", "{user:1}.b", "{user:1}.c"])
        .unwrap();
    assert_eq!(got, vec![Some("1".into()), Some("2".into()), None]);

    // Every key is on the node that owns its slot, as `redis-cli --cluster create`
    // splits: 0-5460, 5461-10922, 10923-16383.
    let ranges = [(0u16, 5460u16), (5461, 10922), (10923, 16383)];
    let mut total = 0;
    for (store, (first, last)) in stores.iter().zip(ranges) {
        let map = store.lock().unwrap();
        assert!(map.len() > 5000, "{} keys", map.len());
        for key in map.keys() {
            let slot = key_slot(key);
            assert!(
                (first..=last).contains(&slot),
                "slot {slot} on the node of {first}-{last}"
            );
        }
        total += map.len();
    }
    assert_eq!(total, keys.len() + 3);

    drop(con);
    for h in handles {
        h.shutdown();
    }
}
