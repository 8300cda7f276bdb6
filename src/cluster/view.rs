//! One node's view of the cluster as text, and how a node takes in another's: the
//! `CLUSTER NODES` lines (written here for that command too), read back into a [`View`],
//! and merged into a [`Topology`] by Redis's rules for what gossip carries — unknown
//! nodes are added, the sender's claim on a slot wins over the current owner's only
//! with a higher configuration epoch, epochs only go up, and two masters with the same
//! epoch are told apart by the one with the smaller id taking a new one.

use super::node::{Node, Role};
use super::slot::SLOTS;
use super::topology::Topology;
use std::time::{SystemTime, UNIX_EPOCH};

/// `CLUSTER NODES`: one line per node, `\n`-terminated, as Redis writes them.
pub(crate) fn nodes_text(t: &Topology) -> String {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let ranges = t.ranges();
    let mut out = String::new();
    for (i, node) in t.nodes().iter().enumerate() {
        let me = i == t.myself_index();
        let (role, master) = match &node.role {
            Role::Master => ("master", "-"),
            Role::Replica { master } => ("slave", master.as_str()),
        };
        let flags = if me {
            format!("myself,{role}")
        } else {
            role.to_string()
        };
        out.push_str(&format!(
            "{} {}:{}@{} {flags} {master} 0 {now_ms} {} connected",
            node.id,
            node.ip,
            node.port,
            node.bus_port,
            t.config_epoch(i)
        ));
        for (first, last, _) in ranges.iter().filter(|r| r.2 == i) {
            if first == last {
                out.push_str(&format!(" {first}"));
            } else {
                out.push_str(&format!(" {first}-{last}"));
            }
        }
        if me {
            let mut open: Vec<(u16, String)> = t
                .migrating_slots()
                .map(|(s, n)| (s, format!(" [{s}->-{}]", n.id)))
                .chain(
                    t.importing_slots()
                        .map(|(s, n)| (s, format!(" [{s}-<-{}]", n.id))),
                )
                .collect();
            open.sort();
            for (_, text) in open {
                out.push_str(&text);
            }
        }
        out.push('\n');
    }
    out
}

/// Another node's view, read from its `CLUSTER NODES` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    /// The sender's current epoch.
    pub(crate) epoch: u64,
    pub(crate) nodes: Vec<ViewNode>,
}

/// One line of a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ViewNode {
    pub(crate) node: Node,
    pub(crate) config_epoch: u64,
    /// The slot ranges it serves (open slots, `[...]`, are the sender's own business).
    pub(crate) slots: Vec<(u16, u16)>,
    /// The line of the sender itself (`myself` flag).
    pub(crate) sender: bool,
}

impl View {
    /// Reads `text` (`CLUSTER NODES` lines) sent with the sender's current `epoch`.
    /// Lines of nodes in a handshake or without an address are skipped, as gossip
    /// skips them.
    ///
    /// # Errors
    ///
    /// A line that is not a `CLUSTER NODES` line (its number, from 1).
    pub(crate) fn parse(epoch: u64, text: &str) -> Result<View, usize> {
        let mut nodes = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            match parse_line(line) {
                Some(Some(node)) => nodes.push(node),
                Some(None) => {}
                None => return Err(n + 1),
            }
        }
        Ok(View { epoch, nodes })
    }

    /// The sender's own line.
    pub(crate) fn sender(&self) -> Option<&ViewNode> {
        self.nodes.iter().find(|n| n.sender)
    }
}

/// One line; `Some(None)` for a node to skip.
fn parse_line(line: &str) -> Option<Option<ViewNode>> {
    let fields: Vec<&str> = line.split(' ').collect();
    if fields.len() < 8 {
        return None;
    }
    let id = fields[0];
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // ip:port@cport[,hostname]
    let addr = fields[1].split(',').next()?;
    let (ip_port, cport) = addr.split_once('@')?;
    let (ip, port) = ip_port.rsplit_once(':')?;
    let (port, bus_port) = (port.parse().ok()?, cport.parse().ok()?);
    let flags: Vec<&str> = fields[2].split(',').collect();
    if ip.is_empty() || flags.iter().any(|f| *f == "handshake" || *f == "noaddr") {
        return Some(None);
    }
    let role = if flags.contains(&"slave") {
        Role::Replica {
            master: fields[3].to_string(),
        }
    } else {
        Role::Master
    };
    let config_epoch = fields[6].parse().ok()?;
    let mut slots = Vec::new();
    for s in &fields[8..] {
        if s.starts_with('[') {
            continue;
        }
        let (first, last) = s.split_once('-').unwrap_or((s, s));
        let (first, last): (u16, u16) = (first.parse().ok()?, last.parse().ok()?);
        if first > last || usize::from(last) >= SLOTS {
            return None;
        }
        slots.push((first, last));
    }
    Some(Some(ViewNode {
        node: Node {
            id: id.to_string(),
            ip: ip.to_string(),
            port,
            bus_port,
            role,
        },
        config_epoch,
        slots,
        sender: flags.contains(&"myself"),
    }))
}

/// Merges `view` into `t`; whether `t` changed. `banned` names nodes this one forgot a
/// moment ago (`CLUSTER FORGET`), which a view must not bring back.
pub(crate) fn merge(t: &mut Topology, view: &View, banned: &dyn Fn(&str) -> bool) -> bool {
    let mut changed = false;
    let me = t.myself_index();
    let my_id = t.myself().id.clone();
    // Nodes: masters first, so replicas find theirs.
    for masters in [true, false] {
        for vn in &view.nodes {
            let id = &vn.node.id;
            if (vn.node.role == Role::Master) != masters
                || *id == my_id
                || t.index_of(id).is_some()
                || banned(id)
            {
                continue;
            }
            if let Role::Replica { master } = &vn.node.role
                && t.index_of(master)
                    .is_none_or(|m| t.nodes()[m].role != Role::Master)
            {
                continue;
            }
            t.add_node(vn.node.clone(), vn.config_epoch);
            changed = true;
        }
    }
    // Slots: only the sender's own claims count, as in Redis, where a node's slots
    // come from its own messages. Passing on what a node heard of a third one would
    // let a stale report outlive the news (and a change sent to one node only spread
    // where Redis keeps it local). Judged against the epochs known before this view
    // raised any.
    if let Some(sender) = view.sender() {
        changed |= take_claims(t, sender);
    }
    for vn in &view.nodes {
        if let Some(x) = t.index_of(&vn.node.id)
            && x != me
            && vn.node.role == Role::Master
            && t.nodes()[x].role == Role::Master
            && vn.config_epoch > t.config_epoch(x)
        {
            t.set_config_epoch(x, vn.config_epoch);
            changed = true;
        }
    }
    if view.epoch > t.epoch() {
        t.raise_epoch(view.epoch);
        changed = true;
    }
    // Two masters with one configuration epoch: the one with the smaller id moves on
    // (Redis's clusterHandleConfigEpochCollision).
    if let Some(sender) = view.sender()
        && sender.node.role == Role::Master
        && t.myself().role == Role::Master
        && sender.config_epoch == t.config_epoch(me)
        && my_id < sender.node.id
        && t.bump_my_epoch()
    {
        changed = true;
    }
    changed
}

/// Takes the slots `sender` claims where its configuration epoch beats the current
/// owner's (or nobody owns them); whether any changed hands. Must run before the
/// view's epochs are taken in: claims are judged against what was known.
fn take_claims(t: &mut Topology, sender: &ViewNode) -> bool {
    let me = t.myself_index();
    let Some(x) = t.index_of(&sender.node.id) else {
        return false;
    };
    // This node knows its own slots better than anyone.
    if x == me || sender.node.role != Role::Master || t.nodes()[x].role != Role::Master {
        return false;
    }
    let (mut taken, mut lost) = (0usize, 0usize);
    for &(first, last) in &sender.slots {
        for slot in first..=last {
            if t.importing_from(slot).is_some() {
                continue;
            }
            let wins = match t.owner_index(slot) {
                Some(y) if y == x => false,
                Some(y) => sender.config_epoch > t.config_epoch(y),
                None => true,
            };
            if wins {
                lost += usize::from(t.owner_index(slot) == Some(me));
                taken += 1;
                t.set_owner(slot, Some(x));
            }
        }
    }
    if lost > 0 {
        log::info!(
            "cluster: {lost} of this node's slots now belong to {} (configuration epoch {})",
            sender.node.id,
            sender.config_epoch
        );
    }
    taken > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(me: &str) -> Topology {
        let addrs = ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"];
        Topology::split(&addrs, 0, me).unwrap()
    }

    fn view_of(t: &Topology) -> View {
        View::parse(t.epoch(), &nodes_text(t)).unwrap()
    }

    fn alone(id: &str, port: u16) -> Topology {
        Topology::builder(vec![Node::master(id, "127.0.0.1", port)], id)
            .config_epoch(id, 0)
            .build()
            .unwrap()
    }

    #[test]
    fn text_round_trips() {
        let t = split("127.0.0.1:7001");
        let v = view_of(&t);
        assert_eq!(v.nodes.len(), 3);
        assert_eq!(v.sender().map(|n| n.node.port), Some(7001));
        assert_eq!(v.nodes[0].slots, [(0, 5460)]);
        assert_eq!(v.nodes[2].config_epoch, 3);
        assert_eq!(View::parse(0, "x y\n"), Err(1));
    }

    #[test]
    fn a_new_node_learns_the_cluster_and_the_cluster_learns_it() {
        let mut new = alone(&"f".repeat(40), 7003);
        let mut old = split("127.0.0.1:7000");
        assert!(merge(&mut new, &view_of(&old), &|_| false));
        assert_eq!(new.nodes().len(), 4);
        // The other nodes' slots come from themselves.
        assert_eq!(new.owner(0).map(|n| n.port), Some(7000));
        assert!(new.owner(6000).is_none());
        assert!(merge(&mut new, &view_of(&split("127.0.0.1:7001")), &|_| {
            false
        }));
        assert!(merge(&mut new, &view_of(&split("127.0.0.1:7002")), &|_| {
            false
        }));
        assert!(new.all_slots_served());
        assert_eq!(new.owner(6000).map(|n| n.port), Some(7001));
        assert!(merge(&mut old, &view_of(&new), &|_| false));
        assert_eq!(old.nodes().len(), 4);
        // Nothing new the second time.
        assert!(!merge(&mut old, &view_of(&new), &|_| false));
        // A forgotten node is not brought back.
        let mut other = split("127.0.0.1:7002");
        assert!(!merge(&mut other, &view_of(&new), &|id| id == "f".repeat(40)));
        assert_eq!(other.nodes().len(), 3);
    }

    #[test]
    fn the_higher_configuration_epoch_wins_a_slot() {
        let mut a = split("127.0.0.1:7000");
        let mut b = split("127.0.0.1:7001");
        let ids: Vec<String> = a.nodes().iter().map(|n| n.id.clone()).collect();
        // b takes slot 0 from a and bumps its epoch, as SETSLOT NODE after an import.
        b.set_owner(0, Some(1));
        assert!(b.bump_my_epoch());
        assert_eq!(b.config_epoch(1), 4);
        assert!(merge(&mut a, &view_of(&b), &|_| false));
        assert_eq!(a.owner(0).map(|n| n.id.clone()), Some(ids[1].clone()));
        assert_eq!((a.config_epoch(1), a.epoch()), (4, 4));
        // a's stale claim (epoch 1) does not take it back.
        let stale = split("127.0.0.1:7000");
        assert!(!merge(&mut b, &view_of(&stale), &|_| false));
        assert_eq!(b.owner(0).map(|n| n.port), Some(7001));
        // Nor does c's stale report of a's slots reach c's peers: only c's own count.
        let mut c = split("127.0.0.1:7002");
        let mut a_again = a.clone();
        assert!(!merge(&mut a_again, &view_of(&c), &|_| false));
        assert_eq!(a_again.owner(0).map(|n| n.port), Some(7001));
        assert!(merge(&mut c, &view_of(&b), &|_| false));
        assert_eq!(c.owner(0).map(|n| n.port), Some(7001));
    }

    #[test]
    fn equal_epochs_are_told_apart_by_the_smaller_id() {
        let (small, big) = ("1".repeat(40), "2".repeat(40));
        let mut a = alone(&small, 7000);
        let b = alone(&big, 7001);
        assert!(merge(&mut a, &view_of(&b), &|_| false));
        assert_eq!(a.config_epoch(a.myself_index()), 1);
        let mut b2 = alone(&big, 7001);
        merge(&mut b2, &view_of(&alone(&small, 7000)), &|_| false);
        assert_eq!(b2.config_epoch(b2.myself_index()), 0);
    }
}
