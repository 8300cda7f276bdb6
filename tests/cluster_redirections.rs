//! The redirections that the compatibility run cannot compare with a real cluster
//! (neither side has a slot in migration there, and both serve every slot): `-ASK`,
//! `-TRYAGAIN` and `-CLUSTERDOWN`, over a real socket, with Redis 7.0.15's texts and
//! the conditions of its `getNodeByQuery`; and what happens between nodes: `PUBLISH`
//! and `SPUBLISH` forwarded to the other nodes (and lost, counted, when one is down),
//! and a slot moved with `CLUSTER SETSLOT ... NODE` pushed to a stale node.

mod common;

use common::kv::{kv_mux as mux, Store};
use redcon::cluster::{Cluster, Node, Topology};
use redcon::Server;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

type Map = Store;
use common::kv::SlotKeys as Keys;

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

/// A cluster of `n` in-process nodes with pub/sub on free loopback ports (in order,
/// with `replicas` replicas per master as `--cluster-replicas` deals them): their
/// handles, and each node's `Cluster` view. `setup` may change node `i`'s server and
/// cluster view before it starts.
fn pubsub_nodes_with(
    n: usize,
    replicas: usize,
    setup: impl Fn(usize, Server<PubSubMux>, &Cluster) -> Server<PubSubMux>,
) -> Vec<(redcon::ServerHandle, Cluster)> {
    let (listeners, addrs) = common::kv::loopback_listeners(n);
    let list: Vec<&str> = addrs.iter().map(String::as_str).collect();
    listeners
        .into_iter()
        .zip(&addrs)
        .enumerate()
        .map(|(i, (l, me))| {
            let map = Map::default();
            let topology = Topology::split(&list, replicas, me).unwrap();
            let cluster = Cluster::with_store(topology, Keys(map.clone()));
            let pubsub = redcon::pubsub::PubSub::new();
            let server = Server::new(pubsub.handler(mux(map)))
                .listener(l)
                .cluster(cluster.clone());
            let handle = setup(i, server, &cluster).start().unwrap();
            (handle, cluster)
        })
        .collect()
}

type PubSubMux = redcon::pubsub::PubSubHandler<redcon::mux::Mux>;

fn pubsub_nodes(n: usize, replicas: usize) -> Vec<(redcon::ServerHandle, Cluster)> {
    pubsub_nodes_with(n, replicas, |_, server, _| server)
}

fn connect_to(h: &redcon::ServerHandle) -> TcpStream {
    let c = TcpStream::connect(h.local_addr().to_string()).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    c
}

#[test]
fn publish_reaches_subscribers_on_every_node() {
    let nodes = pubsub_nodes(3, 0);
    let mut subs: Vec<TcpStream> = nodes.iter().map(|(h, _)| connect_to(h)).collect();
    for s in &mut subs {
        expect(
            s,
            &["SUBSCRIBE", "news"],
            "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
        );
    }
    let mut publisher = connect_to(&nodes[1].0);
    // The reply counts this node's receivers only, as Redis's does in a cluster.
    for n in 1..=3 {
        expect(
            &mut publisher,
            &["PUBLISH", "news", &format!("m{n}")],
            ":1\r\n",
        );
    }
    // Every node's subscriber gets the three messages, in publish order.
    for s in &mut subs {
        let mut want = String::new();
        for n in 1..=3 {
            want.push_str(&format!(
                "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nm{n}\r\n"
            ));
        }
        let mut got = vec![0; want.len()];
        s.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), want);
    }
    // A refused publish (wrong arity) is not forwarded: nothing more arrives.
    expect(
        &mut publisher,
        &["PUBLISH", "news"],
        "-ERR wrong number of arguments for 'publish' command\r\n",
    );
    expect(&mut publisher, &["PUBLISH", "news", "last"], ":1\r\n");
    let want = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$4\r\nlast\r\n";
    for s in &mut subs {
        let mut got = vec![0; want.len()];
        s.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), want);
    }
    for (h, c) in nodes {
        assert_eq!(c.relay_dropped(), 0);
        h.shutdown();
    }
}

#[test]
fn spublish_reaches_the_shard_replicas() {
    // Two masters and their replicas: node 0 masters, node 2 replicates it.
    let nodes = pubsub_nodes(4, 1);
    let slot_owner_of = |channel: &str| {
        let t = nodes[0].1.topology();
        let owner = t
            .owner(redcon::cluster::key_slot(channel.as_bytes()))
            .unwrap()
            .clone();
        nodes
            .iter()
            .position(|(h, _)| h.local_addr().to_string() == owner.addr())
            .unwrap()
    };
    // A channel of the first master's slots ("b" is slot 3300).
    assert_eq!(slot_owner_of("b"), 0);
    let mut replica_sub = connect_to(&nodes[2].0);
    replica_sub.write_all(b"SSUBSCRIBE b\r\n").unwrap();
    let confirm = "*3\r\n$10\r\nssubscribe\r\n$1\r\nb\r\n:1\r\n";
    let mut got = vec![0; confirm.len()];
    replica_sub.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), confirm);
    let mut publisher = connect_to(&nodes[0].0);
    expect(&mut publisher, &["SPUBLISH", "b", "hello"], ":0\r\n");
    let want = "*3\r\n$8\r\nsmessage\r\n$1\r\nb\r\n$5\r\nhello\r\n";
    let mut got = vec![0; want.len()];
    replica_sub.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), want);
    for (h, _) in nodes {
        h.shutdown();
    }
}

#[test]
fn publish_with_a_peer_down_answers_at_once_and_counts_the_loss() {
    let mut nodes = pubsub_nodes(3, 0);
    // Node 2 goes away; nodes 0 and 1 still list it.
    let (down, _) = nodes.pop().unwrap();
    down.shutdown();
    let mut sub = connect_to(&nodes[1].0);
    expect(
        &mut sub,
        &["SUBSCRIBE", "news"],
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    );
    let mut publisher = connect_to(&nodes[0].0);
    for _ in 0..100 {
        expect(&mut publisher, &["PUBLISH", "news", "x"], ":0\r\n");
    }
    // The live peer got all of them; the messages for the node that is down are lost
    // and counted.
    let want = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\nx\r\n".repeat(100);
    let mut got = vec![0; want.len()];
    sub.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), want);
    let start = std::time::Instant::now();
    while nodes[0].1.relay_dropped() < 100 && start.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(nodes[0].1.relay_dropped(), 100);
    for (h, _) in nodes {
        h.shutdown();
    }
}

#[test]
fn setslot_pushed_over_the_wire_reroutes_a_stale_node() {
    let nodes = pubsub_nodes(3, 0);
    let ids: Vec<String> = nodes[0]
        .1
        .topology()
        .nodes()
        .iter()
        .map(|n| n.id.clone())
        .collect();
    let addr = |i: usize| nodes[i].0.local_addr().to_string();
    let mut c: Vec<TcpStream> = nodes.iter().map(|(h, _)| connect_to(h)).collect();
    // Slot 3300 ("b") moves from node 0 to node 2; node 2 is not told yet.
    for i in [0, 1] {
        expect(
            &mut c[i],
            &["CLUSTER", "SETSLOT", "3300", "NODE", &ids[2]],
            "+OK\r\n",
        );
    }
    expect(
        &mut c[0],
        &["GET", "b"],
        &format!("-MOVED 3300 {}\r\n", addr(2)),
    );
    expect(
        &mut c[1],
        &["GET", "b"],
        &format!("-MOVED 3300 {}\r\n", addr(2)),
    );
    // The stale node sends clients back to the old owner: a loop until it is told.
    expect(
        &mut c[2],
        &["GET", "b"],
        &format!("-MOVED 3300 {}\r\n", addr(0)),
    );
    expect(
        &mut c[2],
        &["CLUSTER", "SETSLOT", "3300", "NODE", &ids[2]],
        "+OK\r\n",
    );
    expect(&mut c[2], &["SET", "b", "1"], "+OK\r\n");
    expect(&mut c[2], &["GET", "b"], "$1\r\n1\r\n");
    // Holding a key of the slot, node 2 refuses to give it away.
    expect(
        &mut c[2],
        &["CLUSTER", "SETSLOT", "3300", "NODE", &ids[0]],
        "-ERR Can't assign hashslot 3300 to a different node while I still hold keys for this hash slot.\r\n",
    );
    for (h, _) in nodes {
        h.shutdown();
    }
}

#[test]
fn publish_links_log_in_where_nodes_require_a_password() {
    // Node 0's links know the password; node 1's do not.
    let nodes = pubsub_nodes_with(2, 0, |i, server, cluster| {
        if i == 0 {
            cluster.set_link_auth(None, "s3cret");
        }
        server.requirepass("s3cret")
    });
    let mut subs: Vec<TcpStream> = nodes.iter().map(|(h, _)| connect_to(h)).collect();
    for s in &mut subs {
        expect(s, &["AUTH", "s3cret"], "+OK\r\n");
        expect(
            s,
            &["SUBSCRIBE", "news"],
            "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
        );
    }
    let mut p0 = connect_to(&nodes[0].0);
    expect(&mut p0, &["AUTH", "s3cret"], "+OK\r\n");
    expect(&mut p0, &["PUBLISH", "news", "from0"], ":1\r\n");
    let message = |text: &str| format!("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\n{text}\r\n");
    let read = |s: &mut TcpStream, want: &str| {
        let mut got = vec![0; want.len()];
        s.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), want);
    };
    // Node 0's subscriber locally, node 1's through the authenticated link.
    read(&mut subs[0], &message("from0"));
    read(&mut subs[1], &message("from0"));
    // Node 1's link is refused (NOAUTH): its message is lost and counted, not delivered
    // unauthenticated.
    let mut p1 = connect_to(&nodes[1].0);
    expect(&mut p1, &["AUTH", "s3cret"], "+OK\r\n");
    expect(&mut p1, &["PUBLISH", "news", "from1"], ":1\r\n");
    let start = std::time::Instant::now();
    while nodes[1].1.relay_dropped() < 1 && start.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(nodes[1].1.relay_dropped(), 1);
    read(&mut subs[1], &message("from1"));
    // Node 0's subscriber has had nothing from node 1: the next thing it reads is
    // node 0's own next message.
    expect(&mut p0, &["PUBLISH", "news", "again"], ":1\r\n");
    read(&mut subs[0], &message("again"));
    for (h, _) in nodes {
        h.shutdown();
    }
}
