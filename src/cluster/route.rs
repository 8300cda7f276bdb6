//! Routing, before any handler runs: the cluster commands the server answers itself
//! (`CLUSTER ...`, `ASKING`, `READONLY`, `READWRITE`), and for every other command the
//! decision Redis 7.0.15's `getNodeByQuery` makes from the request's keys — serve it
//! here, or answer `-MOVED`, `-ASK`, `-CROSSSLOT`, `-TRYAGAIN` or `-CLUSTERDOWN`.

use super::node::Role;
use super::reply;
use super::slot::key_slot;
use super::topology::Topology;
use super::{ClusterStore, Peers};
use crate::commands::{CommandSpec, Flags};
use crate::conn::ConnState;
use crate::resp::{Command, OwnedCommand};

const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
const TRYAGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";
const DOWN: &str = "CLUSTERDOWN The cluster is down";
const UNBOUND: &str = "CLUSTERDOWN Hash slot not served";

/// Runs the cluster step for one request of a connection in cluster mode. Returns
/// `true` when the request was answered here (a cluster command, or a redirection or
/// error), so the handler must not see it.
pub(crate) fn before_handler(state: &mut ConnState, cmd: &Command<'_>) -> bool {
    let ConnState {
        cluster,
        commands,
        out,
        ..
    } = state;
    let Some(cc) = cluster.as_mut() else {
        return false;
    };
    if reply::is_cluster_command(cmd) {
        if !cmd.is("asking") {
            cc.asking = false;
        }
        reply::serve(cc, out, cmd);
        return true;
    }
    // ASKING admits exactly the next command.
    let asking = std::mem::take(&mut cc.asking);
    let Some(spec) = commands.as_deref().and_then(|t| t.lookup(cmd)) else {
        return false; // unknown: the handler answers it as Redis would, unrouted
    };
    if !spec.arity().accepts(cmd.len()) {
        return false; // Redis reports wrong arity before redirecting
    }
    // Borrowed, not cloned: an `Arc` clone per request is an atomic on a counter
    // every connection's thread shares.
    let readonly = cc.readonly;
    let topology = cc.cluster.refresh(&mut cc.cached);
    match route(topology, spec, cmd, asking, readonly, cc.cluster.store()) {
        Ok(()) => false,
        Err(msg) => {
            out.write_error(msg);
            true
        }
    }
}

/// After the handler served `PUBLISH` or `SPUBLISH` (its reply starts at `mark` in the
/// reply buffer): forwards the message to the other nodes as Redis's cluster bus
/// would — `PUBLISH` to every node, `SPUBLISH` from a master to its replicas — unless
/// the handler refused it or it came over another node's link.
pub(crate) fn after_publish(state: &ConnState, cmd: &Command<'_>, mark: usize) {
    let Some(cc) = state.cluster.as_ref() else {
        return;
    };
    // A reply already flushed (a pipeline past the flush threshold) was not an error:
    // errors are written last.
    if cc.publish_link || state.out.as_bytes().get(mark) == Some(&b'-') {
        return;
    }
    let to = if cmd.is("spublish") {
        Peers::Replicas
    } else {
        Peers::All
    };
    let command = OwnedCommand::new(cmd.args()).to_resp();
    cc.cluster.relay(to, &cc.cluster.topology(), &command);
}

/// Redis's `getNodeByQuery` for one command: `Ok` to serve it here, `Err` with the
/// reply otherwise.
fn route(
    topology: &Topology,
    spec: &CommandSpec,
    cmd: &Command<'_>,
    asking: bool,
    readonly: bool,
    store: Option<&dyn ClusterStore>,
) -> Result<(), String> {
    let mut first: Option<(&[u8], u16, usize)> = None;
    let (mut migrating, mut importing, mut multiple) = (false, false, false);
    let (mut missing, mut existing) = (0usize, 0usize);
    for key in spec.routing_keys(cmd) {
        let slot = key_slot(key);
        match first {
            None => {
                let Some(owner) = topology.owner_index(slot) else {
                    return Err(UNBOUND.into());
                };
                if owner == topology.myself_index() && topology.migrating_to(slot).is_some() {
                    migrating = true;
                } else if topology.importing_from(slot).is_some() {
                    importing = true;
                }
                first = Some((key, slot, owner));
            }
            Some((first_key, first_slot, _)) => {
                if slot != first_slot {
                    return Err(CROSSSLOT.into());
                }
                multiple |= key != first_key;
            }
        }
        if migrating || importing {
            if store.is_some_and(|s| s.contains_key(key)) {
                existing += 1;
            } else {
                missing += 1;
            }
        }
    }
    let Some((_, slot, owner)) = first else {
        return Ok(()); // no keys: served anywhere
    };
    if !topology.all_slots_served() {
        return Err(DOWN.into());
    }
    if migrating && missing > 0 {
        if existing > 0 {
            return Err(TRYAGAIN.into());
        }
        let to = topology
            .migrating_to(slot)
            .map(|n| n.addr())
            .unwrap_or_default();
        return Err(format!("ASK {slot} {to}"));
    }
    if importing && (asking || spec.command_flags().contains(Flags::ASKING)) {
        if multiple && missing > 0 {
            return Err(TRYAGAIN.into());
        }
        return Ok(());
    }
    let myself = topology.myself();
    let pubsub_shard = spec.command_flags().contains(Flags::PUBSUB);
    let is_write = spec.command_flags().contains(Flags::WRITE);
    let replica_of_owner = matches!(&myself.role, Role::Replica { master }
        if *master == topology.nodes()[owner].id);
    if (readonly || pubsub_shard) && !is_write && replica_of_owner {
        return Ok(());
    }
    if owner != topology.myself_index() {
        return Err(format!("MOVED {slot} {}", topology.nodes()[owner].addr()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{Node, Topology};
    use crate::commands::{CommandSpec, Flags, KeySpec};
    use crate::resp::{Parsed, Parser};
    use std::collections::HashSet;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const R: &str = "cccccccccccccccccccccccccccccccccccccccc";

    /// Keys present in the store, for the migration cases.
    struct Present(HashSet<Vec<u8>>);

    impl ClusterStore for Present {
        fn contains_key(&self, key: &[u8]) -> bool {
            self.0.contains(key)
        }
        fn count_keys_in_slot(&self, _: u16) -> u64 {
            0
        }
        fn keys_in_slot(&self, _: u16, _: usize) -> Vec<Vec<u8>> {
            Vec::new()
        }
    }

    fn nodes() -> Vec<Node> {
        vec![
            Node::master(A, "127.0.0.1", 7000),
            Node::master(B, "127.0.0.1", 7001),
            Node::replica(R, "127.0.0.1", 7002, A),
        ]
    }

    /// `foo` is slot 12182, `bar` 5061: A serves 0-8191, B the rest.
    fn split(me: &str) -> crate::cluster::TopologyBuilder {
        Topology::builder(nodes(), me)
            .slots(0..=8191, A)
            .slots(8192..=16383, B)
    }

    fn get() -> CommandSpec {
        CommandSpec::new("get", 2)
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
    }

    fn mget() -> CommandSpec {
        CommandSpec::new("mget", -2)
            .flags(Flags::READONLY)
            .keys(1, -1, 1)
    }

    fn set() -> CommandSpec {
        CommandSpec::new("set", -3)
            .flags(Flags::WRITE)
            .keys(1, 1, 1)
    }

    fn run(
        t: Topology,
        spec: &CommandSpec,
        line: &str,
        asking: bool,
        readonly: bool,
        present: &[&str],
    ) -> Result<(), String> {
        let store = Present(present.iter().map(|k| k.as_bytes().to_vec()).collect());
        let mut p = Parser::new();
        let input = format!("{line}\r\n");
        let Ok(Parsed::Command { command, .. }) = p.parse(input.as_bytes()) else {
            panic!("bad input")
        };
        route(&t, spec, &command, asking, readonly, Some(&store))
    }

    #[test]
    fn moved_crossslot_and_local() {
        let t = split(A).build().unwrap();
        assert_eq!(run(t.clone(), &get(), "GET bar", false, false, &[]), Ok(()));
        assert_eq!(
            run(t.clone(), &get(), "GET foo", false, false, &[]),
            Err("MOVED 12182 127.0.0.1:7001".into())
        );
        assert_eq!(
            run(t.clone(), &mget(), "MGET bar foo", false, false, &[]),
            Err(CROSSSLOT.into())
        );
        // Hash tags put keys in one slot; the same key twice is one key.
        assert_eq!(
            run(
                t.clone(),
                &mget(),
                "MGET {bar}1 {bar}2 bar",
                false,
                false,
                &[]
            ),
            Ok(())
        );
        // Keyless commands are served anywhere.
        let ping = CommandSpec::new("ping", -1);
        assert_eq!(run(t, &ping, "PING", false, false, &[]), Ok(()));
    }

    #[test]
    fn unserved_slot_and_cluster_down() {
        let t = Topology::builder(nodes(), A)
            .slots(0..=8191, A)
            .build()
            .unwrap();
        // The first key's slot has no owner: that is checked before the state.
        assert_eq!(
            run(t.clone(), &get(), "GET foo", false, false, &[]),
            Err(UNBOUND.into())
        );
        // A served slot while some other slot is not: the cluster is down.
        assert_eq!(
            run(t, &get(), "GET bar", false, false, &[]),
            Err(DOWN.into())
        );
    }

    #[test]
    fn migrating_asks_for_missing_keys() {
        // A migrates bar's slot (5061) to B.
        let t = split(A).migrating(5061, B).build().unwrap();
        assert_eq!(
            run(t.clone(), &get(), "GET bar", false, false, &["bar"]),
            Ok(())
        );
        assert_eq!(
            run(t.clone(), &get(), "GET bar", false, false, &[]),
            Err("ASK 5061 127.0.0.1:7001".into())
        );
        // Some keys here, some gone: TRYAGAIN.
        assert_eq!(
            run(
                t.clone(),
                &mget(),
                "MGET {bar}1 {bar}2",
                false,
                false,
                &["{bar}1"]
            ),
            Err(TRYAGAIN.into())
        );
        // All gone: ASK.
        assert!(run(t, &mget(), "MGET {bar}1 {bar}2", false, false, &[])
            .unwrap_err()
            .starts_with("ASK 5061 "));
    }

    #[test]
    fn importing_needs_asking() {
        // B imports bar's slot (served by A) from A.
        let t = split(B).importing(5061, A).build().unwrap();
        assert_eq!(
            run(t.clone(), &get(), "GET bar", false, false, &[]),
            Err("MOVED 5061 127.0.0.1:7000".into())
        );
        assert_eq!(run(t.clone(), &get(), "GET bar", true, false, &[]), Ok(()));
        // Several keys, some not imported yet: TRYAGAIN even after ASKING.
        assert_eq!(
            run(
                t.clone(),
                &mget(),
                "MGET {bar}1 {bar}2",
                true,
                false,
                &["{bar}1"]
            ),
            Err(TRYAGAIN.into())
        );
        assert_eq!(
            run(
                t,
                &mget(),
                "MGET {bar}1 {bar}2",
                true,
                false,
                &["{bar}1", "{bar}2"]
            ),
            Ok(())
        );
    }

    #[test]
    fn readonly_replica_serves_reads_of_its_master() {
        let t = split(R).build().unwrap();
        assert_eq!(
            run(t.clone(), &get(), "GET bar", false, false, &[]),
            Err("MOVED 5061 127.0.0.1:7000".into())
        );
        assert_eq!(run(t.clone(), &get(), "GET bar", false, true, &[]), Ok(()));
        // Not writes, and not slots of another master.
        assert_eq!(
            run(t.clone(), &set(), "SET bar v", false, true, &[]),
            Err("MOVED 5061 127.0.0.1:7000".into())
        );
        assert_eq!(
            run(t, &get(), "GET foo", false, true, &[]),
            Err("MOVED 12182 127.0.0.1:7001".into())
        );
    }

    #[test]
    fn channels_of_sharded_pubsub_route_by_slot() {
        let spublish = CommandSpec::new("spublish", 3)
            .flags(Flags::PUBSUB)
            .key_spec(KeySpec::range(1, 0, 1).flags(crate::commands::KeyFlags::NOT_KEY));
        let t = split(A).build().unwrap();
        assert_eq!(
            run(t.clone(), &spublish, "SPUBLISH foo m", false, false, &[]),
            Err("MOVED 12182 127.0.0.1:7001".into())
        );
        assert_eq!(
            run(t, &spublish, "SPUBLISH bar m", false, false, &[]),
            Ok(())
        );
    }
}
