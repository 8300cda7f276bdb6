//! `CLUSTER SETSLOT <slot> MIGRATING|IMPORTING|STABLE|NODE`: how an operator, a control
//! plane or `redis-cli --cluster` changes one slot in this node's view, with Redis
//! 7.0.15's checks, errors and their order. `MIGRATING`, `IMPORTING` and `STABLE` stay
//! with the node that receives them, as in Redis; a new owner (`NODE`) is news this node
//! then sends the others (see the spread module), as `redis-cli --cluster` also does by
//! sending `SETSLOT NODE` to every master.

use super::node::Role;
use super::slot::slot_arg;
use super::Cluster;
use crate::resp::Command;

/// Serves `CLUSTER SETSLOT` (arity already checked: at least 4 arguments).
/// `Ok` is `+OK`; `Err` holds the error reply.
pub(crate) fn setslot(cluster: &Cluster, cmd: &Command<'_>) -> Result<(), String> {
    let current = cluster.topology();
    if current.myself().role != Role::Master {
        return Err("ERR Please use SETSLOT only with masters.".into());
    }
    let slot = slot_arg(&cmd[2])?;
    let is = |word: &str| cmd[3].eq_ignore_ascii_case(word.as_bytes());
    // Keys are counted outside the topology lock: the store may take locks of its own.
    // Asked only where the answer matters (this node gives the slot away, or closes a
    // migration): a store may have to scan every key to count those of one slot, and
    // `redis-cli --cluster` sends `SETSLOT NODE` to every master for every slot moved.
    // If the slot became this node's between the look and the edit, the edit asks
    // for a second try, which counts.
    let matters = |t: &super::Topology| t.is_mine(slot) || t.migrating_to(slot).is_some();
    let mut spread = false;
    let mut count_anyway = false;
    loop {
        let counted = is("node") && cmd.len() == 5 && (count_anyway || matters(&current));
        let keys = if counted {
            cluster.store().map_or(0, |s| s.count_keys_in_slot(slot))
        } else {
            0
        };
        match edit(cluster, cmd, slot, keys, counted, &mut spread, &matters) {
            Err(None) if !count_anyway => count_anyway = true,
            Err(e) => return Err(e.unwrap_or_else(|| "ERR the slot changed meanwhile".into())),
            Ok(()) => break,
        }
    }
    if spread {
        cluster.spread_view();
    }
    Ok(())
}

/// The edit of `setslot`, given the keys counted (if `counted`). `Err(None)`: the
/// count was needed after all.
fn edit(
    cluster: &Cluster,
    cmd: &Command<'_>,
    slot: u16,
    keys: u64,
    counted: bool,
    spread: &mut bool,
    matters: &dyn Fn(&super::Topology) -> bool,
) -> Result<(), Option<String>> {
    let is = |word: &str| cmd[3].eq_ignore_ascii_case(word.as_bytes());
    cluster.update(|t| {
        if is("node") && cmd.len() == 5 && !counted && matters(t) {
            return Err(None);
        }
        apply(t, cmd, slot, keys, spread).map_err(Some)
    })
}

/// Applies the action to `t`; the error reply if it cannot.
fn apply(
    t: &mut super::Topology,
    cmd: &Command<'_>,
    slot: u16,
    keys: u64,
    spread: &mut bool,
) -> Result<(), String> {
    let is = |word: &str| cmd[3].eq_ignore_ascii_case(word.as_bytes());
    {
        let me = t.myself_index();
        let node = |id: &[u8], unknown: &str| -> Result<usize, String> {
            let i = std::str::from_utf8(id)
                .ok()
                .and_then(|id| t.index_of(id))
                .ok_or_else(|| format!("ERR {unknown} {}", String::from_utf8_lossy(id)))?;
            match t.nodes()[i].role {
                Role::Master => Ok(i),
                Role::Replica { .. } => Err("ERR Target node is not a master".into()),
            }
        };
        if is("migrating") && cmd.len() == 5 {
            if !t.is_mine(slot) {
                return Err(format!("ERR I'm not the owner of hash slot {slot}"));
            }
            let to = node(&cmd[4], "I don't know about node")?;
            t.set_migrating(slot, Some(to));
        } else if is("importing") && cmd.len() == 5 {
            if t.is_mine(slot) {
                return Err(format!("ERR I'm already the owner of hash slot {slot}"));
            }
            let from = node(&cmd[4], "I don't know about node")?;
            t.set_importing(slot, Some(from));
        } else if is("stable") && cmd.len() == 4 {
            t.set_migrating(slot, None);
            t.set_importing(slot, None);
        } else if is("node") && cmd.len() == 5 {
            let to = node(&cmd[4], "Unknown node")?;
            if t.is_mine(slot) && to != me && keys != 0 {
                return Err(format!(
                    "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
                ));
            }
            if keys == 0 {
                t.set_migrating(slot, None);
            }
            // A new owner is news for the other nodes.
            *spread = t.owner_index(slot) != Some(to);
            t.set_owner(slot, Some(to));
            // Closing an import: Redis bumps this node's epoch without consensus, so
            // its claim wins over the old owner's.
            if to == me && t.importing_from(slot).is_some() {
                *spread |= t.bump_my_epoch();
                t.set_importing(slot, None);
            }
        } else {
            return Err(
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Topology;
    use crate::resp::{Parsed, Parser};

    fn run(cluster: &Cluster, line: &str) -> Result<(), String> {
        let mut p = Parser::new();
        let input = format!("{line}\r\n");
        let Ok(Parsed::Command { command, .. }) = p.parse(input.as_bytes()) else {
            panic!("not a command: {line}");
        };
        setslot(cluster, &command)
    }

    fn owner_port(t: &Topology, slot: u16) -> Option<u16> {
        t.owner(slot).map(|n| n.port)
    }

    fn three(me: &str) -> Cluster {
        let addrs = ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"];
        Cluster::new(Topology::split(&addrs, 0, me).unwrap())
    }

    #[test]
    fn node_moves_a_slot_and_migrating_importing_stable_mark_it() {
        let a = three("127.0.0.1:7000");
        let ids: Vec<String> = a.topology().nodes().iter().map(|n| n.id.clone()).collect();
        assert_eq!(
            run(&a, &format!("CLUSTER SETSLOT 0 MIGRATING {}", ids[2])),
            Ok(())
        );
        assert_eq!(a.topology().migrating_to(0).map(|n| n.port), Some(7002));
        assert_eq!(run(&a, "CLUSTER SETSLOT 0 STABLE"), Ok(()));
        assert!(a.topology().migrating_to(0).is_none());
        assert_eq!(
            run(&a, &format!("cluster setslot 0 node {}", ids[2])),
            Ok(())
        );
        assert_eq!(owner_port(&a.topology(), 0), Some(7002));
        assert_eq!(
            run(&a, &format!("CLUSTER SETSLOT 0 IMPORTING {}", ids[2])),
            Ok(())
        );
        let epoch = a.topology().epoch();
        assert_eq!(
            run(&a, &format!("CLUSTER SETSLOT 0 NODE {}", ids[0])),
            Ok(())
        );
        assert!(a.topology().importing_from(0).is_none());
        assert_eq!(a.topology().epoch(), epoch + 1);
    }

    #[test]
    fn errors_are_redis_texts() {
        let a = three("127.0.0.1:7000");
        let other = a.topology().nodes()[1].id.clone();
        let cases = [
            (
                "CLUSTER SETSLOT x NODE a".to_string(),
                "ERR Invalid or out of range slot",
            ),
            (
                "CLUSTER SETSLOT 16384 STABLE".into(),
                "ERR Invalid or out of range slot",
            ),
            (
                format!("CLUSTER SETSLOT 6000 MIGRATING {other}"),
                "ERR I'm not the owner of hash slot 6000",
            ),
            (
                format!("CLUSTER SETSLOT 0 IMPORTING {other}"),
                "ERR I'm already the owner of hash slot 0",
            ),
            (
                "CLUSTER SETSLOT 0 MIGRATING nobody".into(),
                "ERR I don't know about node nobody",
            ),
            (
                "CLUSTER SETSLOT 0 NODE nobody".into(),
                "ERR Unknown node nobody",
            ),
            (
                "CLUSTER SETSLOT 0 STABLE x".into(),
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
            ),
            (
                "CLUSTER SETSLOT 0 BOGUS".into(),
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(run(&a, &line), Err(want.to_string()), "{line}");
        }
        let replica = Cluster::new(
            Topology::split(&["127.0.0.1:7000", "127.0.0.1:7001"], 1, "127.0.0.1:7001").unwrap(),
        );
        assert_eq!(
            run(&replica, "CLUSTER SETSLOT 0 STABLE"),
            Err("ERR Please use SETSLOT only with masters.".into())
        );
    }
}
