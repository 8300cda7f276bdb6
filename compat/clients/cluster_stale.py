#!/usr/bin/env python3
"""A clone node with a stale topology, then the push that fixes it.

Without a cluster bus a node knows only what it was started with and what it is told.
Node 3's view is made stale, as if it had been restarted from an old configuration: in
its view only, its slots 10923-11022 belong to node 1 (CLUSTER SETSLOT ... NODE sent
to node 3 alone). Then:
  - node 3 answers MOVED to node 1 for those slots while node 1 answers MOVED to node 3:
    a redirection loop, and redis-py's RedisCluster gives up on those keys;
  - the correct owner is pushed to node 3 (CLUSTER SETSLOT ... NODE, one per slot,
    pipelined, as `redis-cli --cluster` pushes slot owners);
  - RedisCluster then reads and writes keys of every one of those slots, and the three
    nodes' CLUSTER SLOTS agree.
compat/cluster.sh runs every cluster client again after this, against the same nodes.

    cluster_stale.py HOST:PORT,HOST:PORT,HOST:PORT
"""

import sys

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from report import Report, eq

ADDRS = sys.argv[1].split(",")
NODES = [(a.rpartition(":")[0], int(a.rpartition(":")[2])) for a in ADDRS]
STALE = range(10923, 11023)
report = Report()


def check(name, fn):
    report.run(f"stale topology: {name}", fn)


plain = [redis.Redis(host=h, port=p) for h, p in NODES]
ids = [c.execute_command("CLUSTER", "MYID").decode() for c in plain]
# One key per stale slot.
keys = {}
i = 0
while len(keys) < len(STALE):
    k = f"stale:{i}"
    if key_slot(k.encode()) in STALE:
        keys.setdefault(key_slot(k.encode()), k)
    i += 1


def setslot_all(node, owner):
    p = node.pipeline(transaction=False)
    for slot in STALE:
        p.execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[owner])
    eq(p.execute(), [b"OK"] * len(STALE))


def make_node3_stale():
    # A node gives a slot away only when it holds no key of it.
    for slot in STALE:
        for k in plain[2].execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000):
            plain[2].delete(k)
    setslot_all(plain[2], 0)


def stale_node_answers_moved():
    slot, k = next(iter(keys.items()))
    for node, to in ((2, 0), (0, 2)):
        try:
            plain[node].get(k)
        except redis.exceptions.MovedError as e:
            eq((e.slot_id, e.host, e.port), (slot, *NODES[to]))
        else:
            raise AssertionError(f"node {node + 1} served {k}")


def clients_cannot_reach_the_stale_slots():
    rc = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in NODES])
    k = next(iter(keys.values()))
    try:
        rc.set(k, "x")
    except (redis.exceptions.RedisClusterException, redis.exceptions.ClusterError) as e:
        print(f"    RedisCluster gave up: {type(e).__name__}: {e}")
    else:
        raise AssertionError("a write to a slot in a redirection loop succeeded")
    finally:
        rc.close()


def push_the_topology():
    setslot_all(plain[2], 2)


def clients_succeed_after_the_push():
    rc = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in NODES])
    p = rc.pipeline()
    for slot, k in keys.items():
        p.set(k, f"v{slot}")
    eq(p.execute(), [True] * len(keys))
    for slot, k in keys.items():
        eq(rc.get(k), f"v{slot}".encode())
    eq(plain[2].dbsize() >= len(keys), True)
    views = [sorted(map(str, c.execute_command("CLUSTER", "SLOTS"))) for c in plain]
    eq(views[0], views[1])
    eq(views[0], views[2])
    for k in keys.values():
        rc.delete(k)
    rc.close()


check("node 3 given a stale view of slots 10923-11022", make_node3_stale)
check("the stale node answers MOVED to the old owner, the owner back to it", stale_node_answers_moved)
check("RedisCluster cannot reach those slots while node 3 is stale", clients_cannot_reach_the_stale_slots)
check("the owner pushed to node 3 with CLUSTER SETSLOT NODE", push_the_topology)
check("RedisCluster reads and writes every slot again; the nodes agree", clients_succeed_after_the_push)
sys.exit(report.status())
