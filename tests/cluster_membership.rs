//! How nodes join, claim slots and leave, over real sockets: `CLUSTER MEET` takes a new
//! node into every view, `ADDSLOTS` claims reach the other nodes, a slot's new owner
//! reaches the nodes nobody told (also one that was down when it happened), `FORGET`
//! keeps a node out even when another node's view still names it, and `RESET` starts a
//! node over. The differential cases in `compat/cases/cluster/membership.cases` compare
//! the replies with a real Redis cluster; these tests check what happens between nodes.

mod common;

use common::kv::{kv_mux, loopback_listeners, SlotKeys, Store};
use common::{redis_conn_to, wait_until, wait_until_within, TIMEOUT};
use redcon::cluster::{key_slot, Cluster, Topology, PUSH_RETRY};
use redcon::{Server, ServerHandle};
use std::net::TcpListener;

/// One in-process node.
struct Node {
    handle: ServerHandle,
    cluster: Cluster,
    store: Store,
    addr: String,
}

impl Node {
    fn start(listener: TcpListener, topology: Topology) -> Node {
        let addr = listener.local_addr().unwrap().to_string();
        let store = Store::default();
        let cluster = Cluster::with_store(topology, SlotKeys(store.clone()));
        let handle = Server::new(kv_mux(store.clone()))
            .listener(listener)
            .cluster(cluster.clone())
            .start()
            .unwrap();
        Node {
            handle,
            cluster,
            store,
            addr,
        }
    }

    fn id(&self) -> String {
        self.cluster.topology().myself().id.clone()
    }

    /// Sends a command; the reply, an error reply as `Err` with its text.
    fn run(&self, args: &[&str]) -> Result<redis::Value, String> {
        let mut c = redis_conn_to(&format!("redis://{}", self.addr), TIMEOUT);
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<redis::Value>(&mut c).map_err(|e| {
            // redis-rs splits "ERR text" into a code and a detail.
            match (e.code(), e.detail()) {
                (Some(code), Some(detail)) => format!("{code} {detail}"),
                _ => e.to_string(),
            }
        })
    }

    fn text(&self, args: &[&str]) -> String {
        match self.run(args) {
            Ok(redis::Value::BulkString(b)) => String::from_utf8(b).unwrap(),
            Ok(redis::Value::SimpleString(s)) => s,
            Ok(redis::Value::VerbatimString { text, .. }) => text,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    /// `CLUSTER NODES` as (id, address, flags, epoch, slots) per line, sorted.
    fn view(&self) -> Vec<(String, String, String)> {
        let mut lines: Vec<(String, String, String)> = self
            .text(&["CLUSTER", "NODES"])
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                let addr = f[1].split('@').next().unwrap().to_string();
                (f[0].to_string(), addr, f[8..].join(" "))
            })
            .collect();
        lines.sort();
        lines
    }

    /// Where this node sends a client for `key`: itself (`None`) or a `MOVED` address.
    fn route(&self, key: &str) -> Option<String> {
        match self.run(&["GET", key]) {
            Ok(_) => None,
            Err(e) => {
                let want = format!("MOVED {} ", key_slot(key.as_bytes()));
                assert!(e.starts_with(&want), "GET {key}: {e}");
                Some(e[want.len()..].to_string())
            }
        }
    }

    fn info(&self, field: &str) -> String {
        let info = self.text(&["CLUSTER", "INFO"]);
        let line = info.lines().find(|l| l.starts_with(field)).unwrap();
        line[field.len() + 1..].to_string()
    }
}

/// `n` nodes started together with `--cluster`'s split.
fn cluster_of(n: usize) -> Vec<Node> {
    let (listeners, addrs) = loopback_listeners(n);
    let list: Vec<&str> = addrs.iter().map(String::as_str).collect();
    listeners
        .into_iter()
        .zip(&addrs)
        .map(|(l, me)| Node::start(l, Topology::split(&list, 0, me).unwrap()))
        .collect()
}

/// A node that knows only itself and has no slot.
fn alone() -> Node {
    let (mut listeners, addrs) = loopback_listeners(1);
    Node::start(listeners.remove(0), Topology::alone(&addrs[0]).unwrap())
}

fn meet(node: &Node, other: &Node) {
    let (ip, port) = other.addr.rsplit_once(':').unwrap();
    assert_eq!(
        node.run(&["CLUSTER", "MEET", ip, port]),
        Ok(redis::Value::Okay)
    );
}

/// Waits until every node has the same view (ids, addresses and slots).
#[track_caller]
fn wait_for_agreement(nodes: &[&Node], size: usize) {
    wait_until("every node to agree", || {
        let first = nodes[0].view();
        first.len() == size && nodes.iter().all(|n| n.view() == first)
    });
}

fn shutdown(nodes: impl IntoIterator<Item = Node>) {
    for n in nodes {
        n.handle.shutdown();
    }
}

#[test]
fn meet_takes_a_new_node_into_every_view() {
    let old = cluster_of(3);
    let new = alone();
    assert_eq!(new.info("cluster_state"), "fail");
    assert_eq!(new.info("cluster_known_nodes"), "1");
    meet(&new, &old[0]);
    let all: Vec<&Node> = old.iter().chain([&new]).collect();
    // Nodes 1 and 2 were not part of the meeting: they learn from node 0 or the new one.
    wait_for_agreement(&all, 4);
    assert_eq!(new.info("cluster_state"), "ok");
    assert_eq!(new.route("foo"), Some(old[2].addr.clone()));
    // Meeting again, or meeting oneself, changes nothing.
    meet(&new, &old[1]);
    meet(&new, &new);
    wait_for_agreement(&all, 4);
    shutdown(old.into_iter().chain([new]));
}

#[test]
fn a_meeting_with_a_node_not_up_yet_happens_when_it_is() {
    let (mut listeners, addrs) = loopback_listeners(2);
    let later = listeners.pop().unwrap();
    let (ip, port) = addrs[1].rsplit_once(':').unwrap();
    drop(later);
    let new = Node::start(listeners.remove(0), Topology::alone(&addrs[0]).unwrap());
    // Redis answers OK to a valid address whatever happens next.
    assert_eq!(
        new.run(&["CLUSTER", "MEET", ip, port]),
        Ok(redis::Value::Okay)
    );
    assert_eq!(new.view().len(), 1);
    let other = Node::start(
        TcpListener::bind(&addrs[1]).unwrap(),
        Topology::alone(&addrs[1]).unwrap(),
    );
    wait_until_within("the meeting", PUSH_RETRY * 4, || new.view().len() == 2);
    wait_for_agreement(&[&new, &other], 2);
    shutdown([new, other]);
}

#[test]
fn nodes_on_ipv6_meet_and_learn_from_each_other() {
    // Redis names them `::1:port`, without brackets, and so do the links.
    let start = || {
        let listener = TcpListener::bind("[::1]:0").unwrap();
        let me = format!("::1:{}", listener.local_addr().unwrap().port());
        Node::start(listener, Topology::alone(&me).unwrap())
    };
    let (a, b) = (start(), start());
    let ok = Ok(redis::Value::Okay);
    assert_eq!(b.run(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]), ok);
    let port = b.cluster.topology().myself().port.to_string();
    assert_eq!(a.run(&["CLUSTER", "MEET", "::1", &port]), ok);
    // a learns b's slots from the meeting; b learns of a, whose view then reaches it
    // over a config link to `::1:port`.
    wait_for_agreement(&[&a, &b], 2);
    assert_eq!(a.route("foo"), Some(format!("::1:{port}")));
    assert!(b.run(&["CLUSTER", "BUMPEPOCH"]).is_ok());
    wait_until("b's new epoch to reach a", || {
        a.info("cluster_current_epoch") == b.info("cluster_current_epoch")
    });
    shutdown([a, b]);
}

#[test]
fn claims_made_apart_make_one_cluster_once_the_nodes_meet() {
    let (a, b) = (alone(), alone());
    let ok = Ok(redis::Value::Okay);
    assert_eq!(a.run(&["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]), ok);
    assert_eq!(b.run(&["CLUSTER", "ADDSLOTS", "8192"]), ok);
    assert_eq!(b.run(&["CLUSTER", "ADDSLOTSRANGE", "8193", "16383"]), ok);
    assert_eq!(a.run(&["CLUSTER", "SET-CONFIG-EPOCH", "1"]), ok);
    assert_eq!(b.run(&["CLUSTER", "SET-CONFIG-EPOCH", "2"]), ok);
    meet(&a, &b);
    wait_for_agreement(&[&a, &b], 2);
    for n in [&a, &b] {
        assert_eq!(n.info("cluster_state"), "ok");
        assert_eq!(n.info("cluster_current_epoch"), "2");
    }
    // "foo" is slot 12182: b's, whichever node is asked.
    assert_eq!(a.route("foo"), Some(b.addr.clone()));
    assert_eq!(b.route("foo"), None);
    assert_eq!(
        a.run(&["CLUSTER", "SET-CONFIG-EPOCH", "5"]),
        Err("ERR The user can assign a config epoch only when the node does not know any other node.".into())
    );
    // DELSLOTS is local, as in Redis: a forgets b owns 9000 until b claims it again.
    assert_eq!(a.run(&["CLUSTER", "DELSLOTS", "9000"]), ok);
    assert_eq!(a.info("cluster_slots_assigned"), "16383");
    assert_eq!(b.info("cluster_slots_assigned"), "16384");
    shutdown([a, b]);
}

/// Moves slot 3300 (key "b") from node 0 to node 1 the way `redis-cli --cluster`
/// starts to: importing on node 1, then `SETSLOT NODE` told to node 1 only.
fn move_slot_telling_only_the_target(nodes: &[Node]) {
    let ok = Ok(redis::Value::Okay);
    let (from, to) = (nodes[0].id(), nodes[1].id());
    assert_eq!(
        nodes[1].run(&["CLUSTER", "SETSLOT", "3300", "IMPORTING", &from]),
        ok
    );
    assert_eq!(
        nodes[1].run(&["CLUSTER", "SETSLOT", "3300", "NODE", &to]),
        ok
    );
    // Closing an import bumps the importer's epoch above every other.
    assert_eq!(nodes[1].info("cluster_my_epoch"), "4");
}

#[test]
fn a_new_owner_reaches_the_nodes_nobody_told() {
    let nodes = cluster_of(3);
    assert_eq!(nodes[2].route("b"), Some(nodes[0].addr.clone()));
    move_slot_telling_only_the_target(&nodes);
    wait_until("the old owner and the bystander to learn", || {
        nodes[0].route("b") == Some(nodes[1].addr.clone())
            && nodes[2].route("b") == Some(nodes[1].addr.clone())
    });
    assert_eq!(nodes[1].route("b"), None);
    wait_for_agreement(&nodes.iter().collect::<Vec<_>>(), 3);
    shutdown(nodes);
}

#[test]
fn a_node_down_at_the_time_gets_the_change_when_it_is_back() {
    let mut nodes = cluster_of(3);
    let down = nodes.pop().unwrap();
    let (addr, stale) = (down.addr.clone(), down.cluster.topology());
    down.handle.shutdown();
    move_slot_telling_only_the_target(&nodes);
    wait_until("node 0 to learn", || {
        nodes[0].route("b") == Some(nodes[1].addr.clone())
    });
    // The node comes back as it was (a restart with its old configuration): it still
    // sends "b" to node 0 until the view it missed arrives, within a retry or two.
    let back = Node::start(TcpListener::bind(&addr).unwrap(), Topology::clone(&stale));
    wait_until_within("the node back to learn", PUSH_RETRY * 4, || {
        back.route("b") == Some(nodes[1].addr.clone())
    });
    nodes.push(back);
    wait_for_agreement(&nodes.iter().collect::<Vec<_>>(), 3);
    shutdown(nodes);
}

#[test]
fn forget_keeps_a_node_out_and_reset_starts_it_over() {
    let old = cluster_of(3);
    let new = alone();
    meet(&new, &old[0]);
    let all: Vec<&Node> = old.iter().chain([&new]).collect();
    wait_for_agreement(&all, 4);
    let gone = new.id();
    for n in &old {
        assert_eq!(n.run(&["CLUSTER", "FORGET", &gone]), Ok(redis::Value::Okay));
    }
    wait_for_agreement(&old.iter().collect::<Vec<_>>(), 3);
    // The forgotten node still knows the others and tells them about itself: refused.
    let view = new.text(&["CLUSTER", "NODES"]);
    let epoch = new.info("cluster_current_epoch");
    assert_eq!(
        old[1].run(&["CLUSTER", "PUSH-CONFIG", &epoch, &view]),
        Err(format!("ERR this node forgot {gone}"))
    );
    // Nor does a view from a node that still lists it bring it back.
    let stale_view = new.text(&["CLUSTER", "NODES"]).replace("myself,", "");
    let sender_view = old[0].text(&["CLUSTER", "NODES"]);
    let mixed = format!(
        "{sender_view}{}",
        stale_view.lines().find(|l| l.starts_with(&gone)).unwrap()
    );
    let _ = old[1].run(&["CLUSTER", "PUSH-CONFIG", &epoch, &mixed]);
    assert_eq!(old[1].view().len(), 3);
    assert_eq!(
        old[0].run(&["CLUSTER", "FORGET", &gone]),
        Err(format!("ERR Unknown node {gone}"))
    );
    assert_eq!(
        old[0].run(&["CLUSTER", "FORGET", &old[0].id()]),
        Err("ERR I tried hard but I can't forget myself...".into())
    );
    // RESET: a soft one keeps the id and the epoch; a hard one takes a new id.
    assert_eq!(
        new.run(&["CLUSTER", "RESET", "SOFT"]),
        Ok(redis::Value::Okay)
    );
    assert_eq!((new.view().len(), new.id()), (1, gone.clone()));
    assert_eq!(
        new.run(&["CLUSTER", "RESET", "HARD"]),
        Ok(redis::Value::Okay)
    );
    assert_ne!(new.id(), gone);
    assert_eq!(new.info("cluster_current_epoch"), "0");
    // A master holding keys refuses.
    new.store
        .lock()
        .unwrap()
        .insert(b"k".to_vec(), b"v".to_vec());
    assert_eq!(
        new.run(&["CLUSTER", "RESET"]),
        Err("ERR CLUSTER RESET can't be called with master nodes containing keys".into())
    );
    shutdown(old.into_iter().chain([new]));
}

#[test]
fn a_view_from_a_stranger_is_refused_outside_a_meeting() {
    let nodes = cluster_of(2);
    let stranger = alone();
    let view = stranger.text(&["CLUSTER", "NODES"]);
    assert_eq!(
        nodes[0].run(&["CLUSTER", "PUSH-CONFIG", "0", &view]),
        Err(format!("ERR unknown sender {}", stranger.id()))
    );
    assert_eq!(
        nodes[0].run(&["CLUSTER", "PUSH-CONFIG", "0", "not a view"]),
        Err("ERR line 1 of the view is not a node".into())
    );
    assert_eq!(nodes[0].view().len(), 2);
    shutdown(nodes.into_iter().chain([stranger]));
}

#[test]
fn pushing_a_view_needs_the_rights_of_setslot() {
    let (mut listeners, addrs) = loopback_listeners(1);
    let acl = redcon::auth::Acl::new();
    acl.set_user("default", "on nopass ~* &* +@all -@admin")
        .unwrap();
    let handle = Server::new(kv_mux(Store::default()))
        .listener(listeners.remove(0))
        .cluster(Cluster::new(Topology::alone(&addrs[0]).unwrap()))
        .acl(acl)
        .start()
        .unwrap();
    let mut c = redis_conn_to(&format!("redis://{}", addrs[0]), TIMEOUT);
    let err = redis::cmd("CLUSTER")
        .arg("PUSH-CONFIG")
        .arg("0")
        .arg("x")
        .query::<redis::Value>(&mut c)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOPERM"), "{err}");
    handle.shutdown();
}
