//! redis-rs's `ClusterClient` against three in-process redcon servers forming one
//! cluster (slots split as `redis-cli --cluster create` splits them): the client reads
//! `CLUSTER SLOTS`, follows `-MOVED` when it starts from one node, and sets and reads
//! back a key in every one of the 16384 slots; each key is stored on the node that
//! owns its slot. And a node with a stale topology: the client fails on the slot it
//! is wrong about, and succeeds once the owner is pushed to it.

mod common;

use common::kv::{kv_mux as mux, Store};
use redcon::cluster::{key_slot, Cluster, Topology, SLOTS};
use redcon::Server;
use redis::cluster::{cluster_pipe, ClusterClient};
use redis::Commands;
use std::io::{Read, Write};
use std::net::TcpStream;

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

/// Three nodes on their own ports: their addresses, stores, cluster views and handles.
fn three_nodes() -> (
    Vec<String>,
    Vec<Store>,
    Vec<Cluster>,
    Vec<redcon::ServerHandle>,
) {
    let (listeners, addrs) = common::kv::loopback_listeners(3);
    let addr_refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let stores: Vec<Store> = (0..3).map(|_| Store::default()).collect();
    let (mut clusters, mut handles) = (Vec::new(), Vec::new());
    for ((listener, addr), store) in listeners.into_iter().zip(&addrs).zip(&stores) {
        let cluster = Cluster::new(Topology::split(&addr_refs, 0, addr).unwrap());
        let server = Server::new(mux(store.clone()))
            .listener(listener)
            .cluster(cluster.clone());
        handles.push(server.start().unwrap());
        clusters.push(cluster);
    }
    (addrs, stores, clusters, handles)
}

#[test]
fn redis_rs_cluster_client_sets_and_gets_a_key_in_every_slot() {
    let (addrs, stores, _, handles) = three_nodes();

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

/// Sends `CLUSTER SETSLOT <slot> NODE <id>` to `addr` and checks the `+OK`.
fn push_slot_owner(addr: &str, slot: u16, id: &str) {
    let mut c = TcpStream::connect(addr).unwrap();
    let req = format!(
        "*5\r\n$7\r\nCLUSTER\r\n$7\r\nSETSLOT\r\n${}\r\n{slot}\r\n$4\r\nNODE\r\n$40\r\n{id}\r\n",
        slot.to_string().len()
    );
    c.write_all(req.as_bytes()).unwrap();
    let mut ok = [0u8; 5];
    c.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");
}

#[test]
fn redis_rs_recovers_once_a_stale_node_is_pushed_the_topology() {
    let (addrs, stores, clusters, handles) = three_nodes();
    let ids: Vec<String> = clusters[0]
        .topology()
        .nodes()
        .iter()
        .map(|n| n.id.clone())
        .collect();
    // "foo" is slot 12182, node 3's. Node 3's view goes stale: node 1 owns it there.
    push_slot_owner(&addrs[2], 12182, &ids[0]);
    let client = ClusterClient::builder(vec![format!("redis://{}/", addrs[0])])
        .retries(2)
        .min_retry_wait(10)
        .max_retry_wait(50)
        .build()
        .unwrap();
    let mut con = client.get_connection().unwrap();
    // Node 1 sends the client to node 3, node 3 back to node 1.
    let stale: redis::RedisResult<()> = con.set("foo", "bar");
    assert!(stale.is_err(), "a write in a redirection loop succeeded");
    let _: () = con.set("other", "x").unwrap(); // the other slots are fine
    push_slot_owner(&addrs[2], 12182, &ids[2]);
    let _: () = con.set("foo", "bar").unwrap();
    let got: String = con.get("foo").unwrap();
    assert_eq!(got, "bar");
    assert_eq!(
        stores[2]
            .lock()
            .unwrap()
            .get(&b"foo"[..])
            .map(Vec::as_slice),
        Some(&b"bar"[..])
    );
    drop(con);
    for h in handles {
        h.shutdown();
    }
}
