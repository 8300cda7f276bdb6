//! Routing, before any handler runs: the cluster commands the server answers itself
//! (`CLUSTER ...`, `ASKING`, `READONLY`, `READWRITE`), and for every other command the
//! decision Redis 7.0.15's `getNodeByQuery` makes from the request's keys — serve it
//! here, or answer `-MOVED`, `-ASK`, `-CROSSSLOT`, `-TRYAGAIN` or `-CLUSTERDOWN`.

use super::reply;
use super::slot::key_slot;
use super::topology::{Role, Topology};
use super::{ClusterConn, ClusterStore};
use crate::commands::{CommandSpec, Flags};
use crate::conn::ConnState;
use crate::resp::Command;

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
    let topology = cc.cluster.refresh(&mut cc.cached).clone();
    match route(&topology, spec, cmd, asking, cc, cc.cluster.store()) {
        Ok(()) => false,
        Err(msg) => {
            out.write_error(msg);
            true
        }
    }
}

/// Redis's `getNodeByQuery` for one command: `Ok` to serve it here, `Err` with the
/// reply otherwise.
fn route(
    topology: &Topology,
    spec: &CommandSpec,
    cmd: &Command<'_>,
    asking: bool,
    conn: &ClusterConn,
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
    if (conn.readonly || pubsub_shard) && !is_write && replica_of_owner {
        return Ok(());
    }
    if owner != topology.myself_index() {
        return Err(format!("MOVED {slot} {}", topology.nodes()[owner].addr()));
    }
    Ok(())
}
