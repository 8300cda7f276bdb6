//! The `CLUSTER` commands that change which nodes make up the cluster and which slots a
//! node claims — `MEET`, `ADDSLOTS[RANGE]`, `DELSLOTS[RANGE]`, `FLUSHSLOTS`, `FORGET`,
//! `RESET`, `SET-CONFIG-EPOCH`, `BUMPEPOCH` — with Redis 7.0.15's checks and error texts,
//! and the hidden `PUSH-CONFIG` by which nodes exchange their views (see the spread
//! module for how a change travels).
//!
//! As in Redis, what reaches the other nodes is what gossip would carry: nodes met and
//! slots claimed (`MEET`, `ADDSLOTS`, a bumped epoch). Removing is local: `DELSLOTS`,
//! `FLUSHSLOTS`, `FORGET` and `RESET` change only the node that receives them, so they
//! are sent to every node that must know (as `redis-cli --cluster del-node` sends
//! `FORGET` to each).

use super::node::{random_node_id, Role};
use super::slot::slot_arg;
use super::spread::{Exchange, PUSH_RETRY};
use super::view::{nodes_text, View};
use super::{push_command, Cluster, SLOTS};
use crate::resp::{parse_int, Command, Writer};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Whether `name` (`cluster|...`) is served here.
pub(crate) fn serves(name: &str) -> bool {
    matches!(
        name,
        "cluster|meet"
            | "cluster|addslots"
            | "cluster|addslotsrange"
            | "cluster|delslots"
            | "cluster|delslotsrange"
            | "cluster|flushslots"
            | "cluster|forget"
            | "cluster|reset"
            | "cluster|set-config-epoch"
            | "cluster|bumpepoch"
    )
}

/// Serves the command `name` (arity already checked).
pub(crate) fn serve(cluster: &Cluster, w: &mut Writer, name: &str, cmd: &Command<'_>) {
    // Redis checks these two counts in the subcommand itself, past the table's minimum.
    let too_many = match name {
        "cluster|meet" => cmd.len() > 5,
        "cluster|reset" => cmd.len() > 3,
        _ => false,
    };
    if too_many {
        return w.write_error(crate::reply::subcommand_syntax_error("CLUSTER", &cmd[1]));
    }
    let done = match name {
        "cluster|meet" => meet(cluster, cmd),
        "cluster|addslots"
        | "cluster|addslotsrange"
        | "cluster|delslots"
        | "cluster|delslotsrange" => slots(cluster, cmd, name),
        "cluster|flushslots" => flushslots(cluster),
        "cluster|forget" => forget(cluster, &cmd[2]),
        "cluster|reset" => reset(cluster, cmd),
        "cluster|set-config-epoch" => set_config_epoch(cluster, &cmd[2]),
        _ => {
            // BUMPEPOCH: a status with the epoch, whether it moved or not.
            let mut bumped = false;
            let _ = cluster.update(|t| {
                bumped = t.bump_my_epoch();
                if bumped {
                    Ok(())
                } else {
                    Err(())
                }
            });
            if bumped {
                cluster.spread_view();
            }
            let t = cluster.topology();
            let word = if bumped { "BUMPED" } else { "STILL" };
            return w.write_string(format!("{word} {}", t.config_epoch(t.myself_index())));
        }
    };
    match done {
        Ok(()) => w.write_string("OK"),
        Err(msg) => w.write_error(msg),
    }
}

/// `ADDSLOTS`, `DELSLOTS` and their `...RANGE` forms (`name`, as the table names it).
/// All or nothing: the first problem, in Redis's order, is the answer and nothing
/// changes.
fn slots(cluster: &Cluster, cmd: &Command<'_>, name: &str) -> Result<(), String> {
    let del = name.starts_with("cluster|del");
    let args: Vec<&[u8]> = (2..cmd.len()).map(|i| &cmd[i]).collect();
    let mut wanted: Vec<(u16, u16)> = Vec::new();
    if name.ends_with("range") {
        if args.len() % 2 == 1 {
            return Err(crate::reply::wrong_arity(name));
        }
        for pair in args.chunks(2) {
            let (first, last) = (slot_arg(pair[0])?, slot_arg(pair[1])?);
            if first > last {
                return Err(format!(
                    "ERR start slot number {first} is greater than end slot number {last}"
                ));
            }
            wanted.push((first, last));
        }
    } else {
        // Every argument is read before any is checked against the slot table.
        for a in &args {
            let s = slot_arg(a)?;
            wanted.push((s, s));
        }
    }
    cluster.update(|t| {
        let me = t.myself_index();
        let mut seen = vec![false; SLOTS];
        for &(first, last) in &wanted {
            for slot in first..=last {
                let owned = t.owner_index(slot).is_some();
                if del && !owned {
                    return Err(format!("ERR Slot {slot} is already unassigned"));
                }
                if !del && owned {
                    return Err(format!("ERR Slot {slot} is already busy"));
                }
                if std::mem::replace(&mut seen[usize::from(slot)], true) {
                    return Err(format!("ERR Slot {slot} specified multiple times"));
                }
            }
        }
        for &(first, last) in &wanted {
            for slot in first..=last {
                // Now the owner (or no one's), so no longer importing.
                t.set_importing(slot, None);
                t.set_owner(slot, (!del).then_some(me));
            }
        }
        Ok(())
    })?;
    if !del {
        cluster.spread_view();
    }
    Ok(())
}

/// Whether the store holds no key (Redis refuses some commands on a master with data).
fn store_is_empty(cluster: &Cluster) -> bool {
    cluster.store().is_none_or(|s| s.is_empty())
}

fn flushslots(cluster: &Cluster) -> Result<(), String> {
    if !store_is_empty(cluster) {
        return Err("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.".into());
    }
    cluster.update(|t| {
        let me = t.myself_index();
        for slot in 0..SLOTS as u16 {
            if t.owner_index(slot) == Some(me) {
                t.set_owner(slot, None);
            }
        }
        Ok(())
    })
}

fn forget(cluster: &Cluster, id: &[u8]) -> Result<(), String> {
    let unknown = || format!("ERR Unknown node {}", String::from_utf8_lossy(id));
    let id = std::str::from_utf8(id).map_err(|_| unknown())?;
    cluster.update(|t| {
        let n = t.index_of(id).ok_or_else(unknown)?;
        if n == t.myself_index() {
            return Err("ERR I tried hard but I can't forget myself...".to_string());
        }
        if matches!(&t.myself().role, Role::Replica { master } if master == id) {
            return Err("ERR Can't forget my master!".into());
        }
        cluster.ban(id);
        t.remove_node(n);
        Ok(())
    })?;
    cluster.close_stale_links();
    Ok(())
}

fn reset(cluster: &Cluster, cmd: &Command<'_>) -> Result<(), String> {
    let hard = match cmd.get(2) {
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"hard") => true,
        Some(a) if a.eq_ignore_ascii_case(b"soft") => false,
        Some(_) => return Err(crate::reply::SYNTAX_ERROR.into()),
    };
    if cluster.topology().myself().role == Role::Master && !store_is_empty(cluster) {
        return Err("ERR CLUSTER RESET can't be called with master nodes containing keys".into());
    }
    cluster.update(|t| {
        t.reset(hard.then(random_node_id));
        Ok::<(), String>(())
    })?;
    cluster.close_stale_links();
    Ok(())
}

fn set_config_epoch(cluster: &Cluster, arg: &[u8]) -> Result<(), String> {
    let epoch = parse_int(arg).ok_or(crate::reply::NOT_AN_INTEGER)?;
    if epoch < 0 {
        return Err(format!("ERR Invalid config epoch specified: {epoch}"));
    }
    cluster.update(|t| {
        if t.nodes().len() > 1 {
            return Err("ERR The user can assign a config epoch only when the node does not know any other node.".to_string());
        }
        let me = t.myself_index();
        if t.config_epoch(me) != 0 {
            return Err("ERR Node config epoch is already non-zero".into());
        }
        t.set_config_epoch(me, epoch as u64);
        Ok(())
    })
}

/// `CLUSTER MEET ip port [bus-port]`: sends this node's view to the node at the
/// address, which takes this node in and answers with its own view, merged here. As in
/// Redis the answer is `+OK` for any valid address, even one that does not answer: that
/// is logged, and tried again every [`PUSH_RETRY`] for [`MEET_FOR`] (at most
/// [`MEETINGS`](super::MEETINGS) addresses at once).
fn meet(cluster: &Cluster, cmd: &Command<'_>) -> Result<(), String> {
    let text = |a: &[u8]| String::from_utf8_lossy(a).into_owned();
    let port = parse_int(&cmd[3])
        .ok_or_else(|| format!("ERR Invalid TCP base port specified: {}", text(&cmd[3])))?;
    let bus_port = match cmd.get(4) {
        Some(a) => parse_int(a)
            .ok_or_else(|| format!("ERR Invalid TCP bus port specified: {}", text(a)))?,
        None => port + 10000,
    };
    let invalid = || {
        format!(
            "ERR Invalid node address specified: {}:{}",
            text(&cmd[2]),
            text(&cmd[3])
        )
    };
    let ip: IpAddr = text(&cmd[2]).parse().map_err(|_| invalid())?;
    let valid = |p: i64| (1..=65535).contains(&p);
    if !valid(port) || !valid(bus_port) {
        return Err(invalid());
    }
    let addr = SocketAddr::new(ip, port as u16);
    let me = cluster.topology().myself().clone();
    if me.port == addr.port() && me.ip.parse() == Ok(ip) {
        return Ok(());
    }
    let Err(e) = meet_once(cluster, addr) else {
        return Ok(());
    };
    // As Redis keeps a node in handshake: try again for a while, in the background
    // (once per address, and a bounded number at once).
    if !cluster.start_meeting(addr) {
        log::warn!("CLUSTER MEET {addr}: {e}; already being tried, or too many are");
        return Ok(());
    }
    log::warn!("CLUSTER MEET {addr}: {e}; trying again for {MEET_FOR:?}");
    let retrying = cluster.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("redcon-meet-{addr}"))
        .spawn(move || {
            let until = Instant::now() + MEET_FOR;
            let mut met = false;
            while !met && Instant::now() < until {
                std::thread::sleep(PUSH_RETRY);
                match meet_once(&retrying, addr) {
                    Ok(()) => met = true,
                    Err(e) => log::debug!("CLUSTER MEET {addr}: {e}"),
                }
            }
            retrying.end_meeting(addr);
            if met {
                log::info!("CLUSTER MEET {addr}: met");
            } else {
                log::warn!("CLUSTER MEET {addr}: gave up");
            }
        });
    if let Err(e) = spawned {
        cluster.end_meeting(addr);
        log::warn!("CLUSTER MEET {addr}: cannot start a thread: {e}");
    }
    Ok(())
}

/// How long a `CLUSTER MEET` whose node did not answer is tried again (Redis drops a
/// node still in handshake after its node timeout, 15 seconds by default).
const MEET_FOR: Duration = Duration::from_secs(15);

/// One exchange of views with the node met at `addr`.
fn meet_once(cluster: &Cluster, addr: SocketAddr) -> Result<(), String> {
    let push = push_command(&cluster.topology(), true);
    let answer = Exchange::open(&addr.to_string(), cluster.link_auth().as_deref())
        .and_then(|mut link| link.send(&push))
        .map_err(|e| e.to_string())?;
    cluster.take_answer(&answer, true).map(|_| ())
}

/// The hidden `CLUSTER PUSH-CONFIG <current-epoch> <CLUSTER NODES text> [MEET]`:
/// another node's view, merged; the answer is this node's view.
pub(crate) fn push_config(cluster: &Cluster, w: &mut Writer, cmd: &Command<'_>) {
    let meet = match cmd.get(4) {
        None if cmd.len() == 4 => false,
        Some(a) if cmd.len() == 5 && a.eq_ignore_ascii_case(b"meet") => true,
        _ => return w.write_error(crate::reply::SYNTAX_ERROR),
    };
    let Some(epoch) = parse_int(&cmd[2]).and_then(|e| u64::try_from(e).ok()) else {
        return w.write_error("ERR Invalid epoch");
    };
    let Ok(text) = std::str::from_utf8(&cmd[3]) else {
        return w.write_error("ERR the view is not UTF-8");
    };
    let view = match View::parse(epoch, text) {
        Ok(v) => v,
        Err(line) => return w.write_error(format!("ERR line {line} of the view is not a node")),
    };
    if let Err(msg) = cluster.take_view(&view, meet) {
        return w.write_error(msg);
    }
    let t = cluster.topology();
    w.write_array(2);
    w.write_int(i64::try_from(t.epoch()).unwrap_or(i64::MAX));
    w.write_bulk(nodes_text(&t));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{Topology, MEETINGS};

    #[test]
    fn background_meetings_are_one_per_address_and_bounded() {
        let c = Cluster::new(Topology::alone("127.0.0.1:7000").unwrap());
        let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        assert!(c.start_meeting(addr(1)));
        assert!(!c.start_meeting(addr(1)), "one retry per address");
        for port in 2..=MEETINGS as u16 {
            assert!(c.start_meeting(addr(port)));
        }
        assert!(
            !c.start_meeting(addr(9999)),
            "no more than MEETINGS at once"
        );
        c.end_meeting(addr(1));
        assert!(c.start_meeting(addr(9999)));
    }
}
