//! The redirections that the compatibility run cannot compare with a real cluster
//! (neither side has a slot in migration there, and both serve every slot): `-ASK`,
//! `-TRYAGAIN` and `-CLUSTERDOWN`, over a real socket, with Redis 7.0.15's texts and
//! the conditions of its `getNodeByQuery`.

mod common;

use common::kv::{kv_mux as mux, Store};
use redcon::cluster::{Cluster, ClusterStore, Node, Topology};
use redcon::Server;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

type Map = Store;

struct Keys(Map);

impl ClusterStore for Keys {
    fn contains_key(&self, key: &[u8]) -> bool {
        self.0.lock().unwrap().contains_key(key)
    }
    fn count_keys_in_slot(&self, _: u16) -> u64 {
        0
    }
    fn keys_in_slot(&self, _: u16, _: usize) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// Starts one node of a two-node cluster (A: slots 0-8191, B: 8192-16383, as far as
/// `edit` assigns them) as `me`, with `map` as its keys: a connection to it, and its handle.
fn start(
    me: &str,
    other_port: u16,
    edit: impl FnOnce(redcon::cluster::TopologyBuilder) -> redcon::cluster::TopologyBuilder,
    map: Map,
) -> (TcpStream, redcon::ServerHandle) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (pa, pb) = if me == A {
        (port, other_port)
    } else {
        (other_port, port)
    };
    let nodes = vec![
        Node::master(A, "127.0.0.1", pa),
        Node::master(B, "127.0.0.1", pb),
    ];
    let topology = edit(Topology::builder(nodes, me)).build().unwrap();
    let handle = Server::new(mux(map.clone()))
        .listener(listener)
        .cluster(Cluster::with_store(topology, Keys(map)))
        .start()
        .unwrap();
    let conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    (conn, handle)
}

/// Sends a request and checks the reply bytes.
fn expect(conn: &mut TcpStream, args: &[&str], want: &str) {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.write_all(req.as_bytes()).unwrap();
    let mut got = vec![0; want.len()];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), want, "reply to {args:?}");
}

// Slot 3300: "b", "{b}x", "{b}y".
#[test]
fn ask_and_tryagain_while_a_slot_migrates() {
    // A owns slot 3300 and is migrating it to B (port 7001 here: only named, not used).
    let map = Map::default();
    map.lock().unwrap().insert(b"b".to_vec(), b"1".to_vec());
    let (mut a, ha) = start(
        A,
        7001,
        |t| {
            t.slots(0..=8191, A)
                .slots(8192..=16383, B)
                .migrating(3300, B)
        },
        map,
    );
    // A key still here is served; a missing one is asked for at the target.
    expect(&mut a, &["MGET", "b"], "*1\r\n$1\r\n1\r\n");
    expect(&mut a, &["MGET", "{b}x"], "-ASK 3300 127.0.0.1:7001\r\n");
    expect(
        &mut a,
        &["SET", "{b}x", "v"],
        "-ASK 3300 127.0.0.1:7001\r\n",
    );
    // Several keys, some here and some not: TRYAGAIN; all missing: ASK.
    expect(
        &mut a,
        &["MGET", "b", "{b}x"],
        "-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
    );
    expect(
        &mut a,
        &["MGET", "{b}x", "{b}y"],
        "-ASK 3300 127.0.0.1:7001\r\n",
    );
    // Other slots are unaffected.
    expect(&mut a, &["MGET", "foo"], "-MOVED 12182 127.0.0.1:7001\r\n");
    ha.shutdown();
}

#[test]
fn asking_admits_one_command_for_an_importing_slot() {
    // B imports slot 3300 from A, which still owns it.
    let map = Map::default();
    map.lock().unwrap().insert(b"{b}x".to_vec(), b"x".to_vec());
    let (mut b, hb) = start(
        B,
        7000,
        |t| {
            t.slots(0..=8191, A)
                .slots(8192..=16383, B)
                .importing(3300, A)
        },
        map,
    );
    expect(&mut b, &["MGET", "b"], "-MOVED 3300 127.0.0.1:7000\r\n");
    expect(&mut b, &["ASKING"], "+OK\r\n");
    expect(&mut b, &["MGET", "b"], "*1\r\n$-1\r\n");
    // ASKING lasts one command.
    expect(&mut b, &["MGET", "b"], "-MOVED 3300 127.0.0.1:7000\r\n");
    // With ASKING, several keys of which some are not imported yet: TRYAGAIN.
    expect(&mut b, &["ASKING"], "+OK\r\n");
    expect(
        &mut b,
        &["MGET", "{b}x", "b"],
        "-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
    );
    expect(&mut b, &["ASKING"], "+OK\r\n");
    expect(&mut b, &["SET", "b", "2"], "+OK\r\n");
    expect(&mut b, &["ASKING"], "+OK\r\n");
    expect(
        &mut b,
        &["MGET", "{b}x", "b"],
        "*2\r\n$1\r\nx\r\n$1\r\n2\r\n",
    );
    hb.shutdown();
}

#[test]
fn clusterdown_when_slots_are_not_served() {
    // Slots 8192-16383 have no owner.
    let (mut a, ha) = start(A, 7001, |t| t.slots(0..=8191, A), Map::default());
    expect(
        &mut a,
        &["MGET", "foo"],
        "-CLUSTERDOWN Hash slot not served\r\n",
    );
    // A served slot, but the cluster as a whole is down.
    expect(
        &mut a,
        &["MGET", "b"],
        "-CLUSTERDOWN The cluster is down\r\n",
    );
    // Without keys a command is served anyway.
    expect(&mut a, &["CLUSTER", "KEYSLOT", "b"], ":3300\r\n");
    ha.shutdown();
}
