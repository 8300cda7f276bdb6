//! The cluster commands the server answers itself, in Redis 7.0.15's reply shapes
//! (RESP2 and RESP3): `CLUSTER SLOTS | SHARDS | NODES | INFO | MYID | KEYSLOT |
//! COUNTKEYSINSLOT | GETKEYSINSLOT | HELP`, `ASKING`, `READONLY` and `READWRITE`; and
//! the dispatch of `SETSLOT` (the setslot module) and of the subcommands that change
//! the cluster's shape (the membership module).

use super::node::Role;
use super::slot::{key_slot, SLOTS};
use super::topology::Topology;
use super::{command_specs, ClusterConn};
use crate::commands::CommandTable;
use crate::reply::NOT_AN_INTEGER;
use crate::resp::{parse_int, Command, Writer};
use std::sync::OnceLock;

/// Whether the request is one this module answers.
pub(crate) fn is_cluster_command(cmd: &Command<'_>) -> bool {
    cmd.is("cluster") || cmd.is("asking") || cmd.is("readonly") || cmd.is("readwrite")
}

/// Whether the request is the hidden `CLUSTER PUSH-CONFIG`, which access control
/// judges as `CLUSTER SETSLOT` (it changes the topology as much).
pub(crate) fn is_push_config(cmd: &Command<'_>) -> bool {
    cmd.len() >= 2 && cmd.is("cluster") && cmd[1].eq_ignore_ascii_case(b"push-config")
}

/// The descriptions of the commands answered here, for resolving subcommands and arity
/// with Redis's errors.
fn table() -> &'static CommandTable {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    TABLE.get_or_init(|| command_specs().into_iter().collect())
}

/// `CLUSTER HELP`: Redis 7.0.15's lines for the subcommands served here, in its order.
const HELP: &[&str] = &[
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "HELP",
    "    Prints this help.",
];

/// Answers a cluster command.
pub(crate) fn serve(cc: &mut ClusterConn, w: &mut Writer, cmd: &Command<'_>) {
    // Not a Redis command, so not in the table: another redcon node's publish link
    // announcing itself (see the relay module).
    if cmd.len() == 2 && cmd.is("cluster") && cmd[1].eq_ignore_ascii_case(b"publish-link") {
        cc.publish_link = true;
        return w.write_string("OK");
    }
    // Nor this: another node's view of the cluster (see the spread module).
    if is_push_config(cmd) {
        return super::membership::push_config(&cc.cluster, w, cmd);
    }
    let spec = match table().resolve(cmd) {
        Ok(spec) => spec,
        Err(msg) => return w.write_error(msg),
    };
    let topology = cc.cluster.refresh(&mut cc.cached).clone();
    match spec.name() {
        "asking" => {
            cc.asking = true;
            w.write_string("OK");
        }
        "readonly" => {
            cc.readonly = true;
            w.write_string("OK");
        }
        "readwrite" => {
            cc.readonly = false;
            w.write_string("OK");
        }
        "cluster|slots" => slots(w, &topology),
        "cluster|shards" => shards(w, &topology),
        "cluster|nodes" => w.write_verbatim("txt", super::view::nodes_text(&topology)),
        "cluster|info" => w.write_verbatim("txt", info(&topology)),
        "cluster|myid" => w.write_bulk(&topology.myself().id),
        name if super::membership::serves(name) => {
            super::membership::serve(&cc.cluster, w, name, cmd)
        }
        "cluster|setslot" => match super::setslot::setslot(&cc.cluster, cmd) {
            Ok(()) => w.write_string("OK"),
            Err(msg) => w.write_error(msg),
        },
        "cluster|keyslot" => w.write_int(i64::from(key_slot(&cmd[2]))),
        "cluster|countkeysinslot" => match parse_int(&cmd[2]) {
            None => w.write_error(NOT_AN_INTEGER),
            Some(slot) if !(0..SLOTS as i64).contains(&slot) => w.write_error("ERR Invalid slot"),
            Some(slot) => {
                let n = cc
                    .cluster
                    .store()
                    .map_or(0, |s| s.count_keys_in_slot(slot as u16));
                w.write_int(i64::try_from(n).unwrap_or(i64::MAX));
            }
        },
        "cluster|getkeysinslot" => match (parse_int(&cmd[2]), parse_int(&cmd[3])) {
            (None, _) | (_, None) => w.write_error(NOT_AN_INTEGER),
            (Some(slot), Some(count)) if count < 0 || !(0..SLOTS as i64).contains(&slot) => {
                w.write_error("ERR Invalid slot or number of keys")
            }
            (Some(slot), Some(count)) => {
                let keys = cc.cluster.store().map_or_else(Vec::new, |s| {
                    s.keys_in_slot(slot as u16, usize::try_from(count).unwrap_or(usize::MAX))
                });
                w.write_array(keys.len());
                for k in keys {
                    w.write_bulk(k);
                }
            }
        },
        _ => {
            w.write_array(HELP.len());
            for line in HELP {
                w.write_string(line);
            }
        }
    }
}

/// `CLUSTER SLOTS`: per slot range, `[start, end, [ip, port, id, {}], replica...]`.
fn slots(w: &mut Writer, t: &Topology) {
    let ranges = t.ranges();
    w.write_array(ranges.len());
    for (first, last, owner) in ranges {
        let replicas: Vec<_> = t.replicas_of(owner).collect();
        w.write_array(3 + replicas.len());
        w.write_int(i64::from(first));
        w.write_int(i64::from(last));
        for node in std::iter::once(&t.nodes()[owner]).chain(replicas) {
            w.write_array(4);
            w.write_bulk(&node.ip);
            w.write_int(i64::from(node.port));
            w.write_bulk(&node.id);
            // Redis 7's map of extra networking metadata: empty here.
            w.write_map(0);
        }
    }
}

/// `CLUSTER SHARDS`: per master, its slot ranges and its nodes (itself, then its
/// replicas).
fn shards(w: &mut Writer, t: &Topology) {
    let ranges = t.ranges();
    let masters: Vec<usize> = (0..t.nodes().len())
        .filter(|&i| t.nodes()[i].role == Role::Master)
        .collect();
    w.write_array(masters.len());
    for m in masters {
        let mine: Vec<_> = ranges.iter().filter(|r| r.2 == m).collect();
        w.write_map(2);
        w.write_bulk("slots");
        w.write_array(mine.len() * 2);
        for (first, last, _) in mine {
            w.write_int(i64::from(*first));
            w.write_int(i64::from(*last));
        }
        w.write_bulk("nodes");
        let nodes: Vec<_> = std::iter::once(&t.nodes()[m])
            .chain(t.replicas_of(m))
            .collect();
        w.write_array(nodes.len());
        for node in nodes {
            w.write_map(7);
            w.write_bulk("id");
            w.write_bulk(&node.id);
            w.write_bulk("port");
            w.write_int(i64::from(node.port));
            w.write_bulk("ip");
            w.write_bulk(&node.ip);
            w.write_bulk("endpoint");
            w.write_bulk(&node.ip);
            w.write_bulk("role");
            w.write_bulk(match node.role {
                Role::Master => "master",
                Role::Replica { .. } => "replica",
            });
            w.write_bulk("replication-offset");
            w.write_int(0);
            w.write_bulk("health");
            w.write_bulk("online");
        }
    }
}

/// `CLUSTER INFO`. There is no cluster bus, so no bus messages are counted.
fn info(t: &Topology) -> String {
    let assigned = t
        .ranges()
        .iter()
        .map(|(f, l, _)| usize::from(l - f) + 1)
        .sum::<usize>();
    let size = {
        let mut owners: Vec<usize> = t.ranges().iter().map(|r| r.2).collect();
        owners.sort_unstable();
        owners.dedup();
        owners.len()
    };
    let state = if t.all_slots_served() { "ok" } else { "fail" };
    format!(
        "cluster_state:{state}\r\n\
         cluster_slots_assigned:{assigned}\r\n\
         cluster_slots_ok:{assigned}\r\n\
         cluster_slots_pfail:0\r\n\
         cluster_slots_fail:0\r\n\
         cluster_known_nodes:{}\r\n\
         cluster_size:{size}\r\n\
         cluster_current_epoch:{}\r\n\
         cluster_my_epoch:{}\r\n\
         cluster_stats_messages_sent:0\r\n\
         cluster_stats_messages_received:0\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n",
        t.nodes().len(),
        t.epoch(),
        t.config_epoch(t.myself_index()),
    )
}
