#!/usr/bin/env python3
"""redis-py's RedisCluster at its defaults (RESP3 in redis-py 8) against a three-node
cluster: every reply asserted. Prints `ok - ...` / `not ok - ...` lines.

    cluster_py.py LABEL HOST:PORT,HOST:PORT,HOST:PORT

Nodes are in list order, node N serving the Nth third of the slots. Run against a
real redis-server cluster too, to show the assertions are Redis's answers.
"""

import sys
import time

import redis
from redis.cluster import ClusterNode, LoadBalancingStrategy, RedisCluster
from report import Report, eq

LABEL, ADDRS = sys.argv[1], sys.argv[2].split(",")
NODES = [(a.rpartition(":")[0], int(a.rpartition(":")[2])) for a in ADDRS]
SPLIT = [(0, 5460), (5461, 10922), (10923, 16383)]
report = Report()


def scenario(fn):
    report.run(f"redis-py RedisCluster [{LABEL}] {fn.__name__}", fn)
    return fn


def client(**kw):
    return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in NODES], **kw)


print(f"# redis-py {redis.__version__} RedisCluster against the {LABEL} cluster")
rc = client()
rc.flushall(target_nodes=RedisCluster.PRIMARIES)


@scenario
def discovers_the_cluster():
    """The slot map from CLUSTER SLOTS: three primaries, each with its third."""
    eq(sorted((n.host, n.port) for n in rc.get_primaries()), sorted(NODES))
    for (first, last), (host, port) in zip(SPLIT, NODES):
        for slot in (first, (first + last) // 2, last):
            node = rc.nodes_manager.get_node_from_slot(slot)
            eq((node.host, node.port), (host, port))
    pool = rc.get_default_node().redis_connection.connection_pool
    conn = pool.get_connection()
    try:
        meta = conn.handshake_metadata or {}
        eq((meta.get(b"proto"), meta.get(b"mode")), (3, b"cluster"))  # HELLO 3 sent
    finally:
        pool.release(conn)


@scenario
def ten_thousand_keys():
    """10,000 keys over every node: set in pipelines of 1,000 (redis-py splits each by
    node), read back in pipelines; the first 500 also one command at a time."""
    for start in range(0, 10_000, 1000):
        p = rc.pipeline()
        for i in range(start, start + 1000):
            p.set(f"key:{i}", f"value:{i}")
        eq(p.execute(), [True] * 1000)
    for start in range(0, 10_000, 1000):
        p = rc.pipeline()
        for i in range(start, start + 1000):
            p.get(f"key:{i}")
        eq(p.execute(), [f"value:{i}".encode() for i in range(start, start + 1000)])
    for i in range(500):
        eq(rc.get(f"key:{i}"), f"value:{i}".encode())
        assert rc.set(f"key:{i}", f"value:{i}") is True
    counts = [rc.dbsize(target_nodes=rc.get_node(h, p)) for h, p in NODES]
    eq(sum(counts), 10_000)
    assert all(c > 3000 for c in counts), counts


@scenario
def mget_nonatomic():
    keys = [f"key:{i}" for i in range(10_000)] + ["missing:1", "missing:2"]
    got = rc.mget_nonatomic(keys)
    eq(got[:10_000], [f"value:{i}".encode() for i in range(10_000)])
    eq(got[10_000:], [None, None])
    done = rc.mset_nonatomic({f"m:{i}": str(i) for i in range(500)})
    assert done and all(x is True for x in done), done
    eq(rc.mget_nonatomic([f"m:{i}" for i in range(500)]), [str(i).encode() for i in range(500)])


@scenario
def hash_tagged_multi_key():
    tagged = {f"{{user:42}}:{f}": f"v{f}" for f in ("a", "b", "c")}
    eq(rc.keyslot("{user:42}:a"), rc.keyslot("user:42"))
    eq(rc.mset(tagged), True)
    eq(rc.mget(list(tagged)), [v.encode() for v in tagged.values()])
    eq(rc.exists(*tagged), 3)
    eq(rc.delete(*tagged), 3)
    # Keys of different slots in one command: redis-py refuses before sending...
    try:
        rc.mget("a", "b")
    except redis.exceptions.RedisClusterException as e:
        assert "same key slot" in str(e), e
    else:
        raise AssertionError("mget across slots was sent")
    # ...and the server answers CROSSSLOT when it is sent anyway.
    node1 = rc.get_node(*NODES[0]).redis_connection
    try:
        node1.execute_command("MGET", "b", "bar")
    except redis.exceptions.ClusterCrossSlotError as e:  # redis-py drops the code
        eq(str(e), "Keys in request don't hash to the same slot")
    else:
        raise AssertionError("no CROSSSLOT")


@scenario
def moved_to_a_plain_client():
    """A plain (non-cluster) client to node 1 sees Redis's MOVED for node 3's key."""
    node1 = rc.get_node(*NODES[0]).redis_connection
    host, port = NODES[2]
    try:
        node1.get("foo")
    except redis.exceptions.MovedError as e:  # redis-py drops the code
        eq((e.slot_id, e.host, e.port), (12182, host, port))
    else:
        raise AssertionError("no MOVED")
    # One startup node is enough: redis-py follows and learns the rest.
    one = RedisCluster(host=NODES[1][0], port=NODES[1][1])
    eq(one.set("foo", "bar"), True)
    eq(one.get("foo"), b"bar")
    eq(len(one.get_primaries()), 3)
    one.close()


@scenario
def pipelines():
    p = rc.pipeline()
    for i in range(2000):
        p.set(f"p:{i}", i)
    eq(p.execute(), [True] * 2000)
    p = rc.pipeline()
    for i in range(2000):
        p.get(f"p:{i}")
        p.execute_command("INCR", f"p:{i}")
    got = p.execute()
    eq(got[0::2], [str(i).encode() for i in range(2000)])
    eq(got[1::2], [i + 1 for i in range(2000)])
    with rc.pipeline() as p:
        p.set("{t}a", 1).set("{t}b", 2).get("{t}a").get("{t}b").delete("{t}a")
        eq(p.execute(), [True, True, b"1", b"2", 1])


@scenario
def readonly_and_cluster_commands():
    want = {f"{h}:{p}": True for h, p in NODES}
    eq(rc.readonly(target_nodes=RedisCluster.PRIMARIES), want)
    eq(rc.readwrite(target_nodes=RedisCluster.PRIMARIES), want)
    ro = client(load_balancing_strategy=LoadBalancingStrategy.ROUND_ROBIN)  # sends READONLY
    eq(ro.get("foo"), b"bar")
    ro.close()
    eq(rc.cluster_keyslot("foo"), 12182)
    info = rc.cluster_info(target_nodes=rc.get_node(*NODES[0]))
    eq((info["cluster_state"], info["cluster_known_nodes"], info["cluster_size"]), ("ok", "3", "3"))
    node3 = rc.get_node(*NODES[2])
    eq(rc.cluster_countkeysinslot(12182), 1)
    eq(rc.cluster_get_keys_in_slot(12182, 10), ["foo"])  # redis-py decodes these
    eq(len(rc.cluster_slots(target_nodes=node3)), 3)
    eq(len(rc.cluster_shards(target_nodes=node3)), 3)
    nodes = rc.cluster_nodes()
    eq(sorted(v["slots"][0] for v in nodes.values()), [["0", "5460"], ["10923", "16383"], ["5461", "10922"]])
    myids = {rc.cluster_myid(rc.get_node(h, p)) for h, p in NODES}
    eq(len(myids), 3)


def wait_message(get, want_type, deadline=5.0):
    """The next message of `want_type` from `get(timeout=...)` within the deadline."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        m = get(timeout=0.2)
        if m is not None and m["type"] == want_type:
            return m
    raise AssertionError(f"no {want_type} message within {deadline}s")


@scenario
def sharded_pubsub():
    """SSUBSCRIBE through RedisCluster's pub/sub (routed to the channel's node),
    SPUBLISH through RedisCluster: the shard's subscriber gets it; SUNSUBSCRIBE."""
    channel = "orders:{42}"
    p = rc.pubsub()
    p.ssubscribe(channel)
    m = wait_message(p.get_sharded_message, "ssubscribe")
    eq((m["channel"], m["data"]), (channel.encode(), 1))
    eq(rc.spublish(channel, "paid"), 1)
    m = wait_message(p.get_sharded_message, "smessage")
    eq((m["channel"], m["data"]), (channel.encode(), b"paid"))
    # SPUBLISH on a node that does not serve the slot is redirected.
    owner = rc.nodes_manager.get_node_from_slot(rc.keyslot(channel))
    other = next(rc.get_node(h, port) for h, port in NODES if (h, port) != (owner.host, owner.port))
    try:
        other.redis_connection.execute_command("SPUBLISH", channel, "x")
    except redis.exceptions.MovedError as e:
        eq((e.host, e.port), (owner.host, owner.port))
    else:
        raise AssertionError("SPUBLISH on another node was not redirected")
    p.sunsubscribe(channel)
    m = wait_message(p.get_sharded_message, "sunsubscribe")
    eq(m["channel"], channel.encode())
    p.close()


@scenario
def publish_reaches_every_node():
    """A classic PUBLISH on one node reaches subscribers on all three (the reply counts
    the node's own subscribers, as Redis's does in a cluster)."""
    subs = []
    for h, port in NODES:
        s = redis.Redis(host=h, port=port).pubsub()
        s.subscribe("news")
        wait_message(s.get_message, "subscribe")
        subs.append(s)
    node1 = rc.get_node(*NODES[0]).redis_connection
    eq(node1.publish("news", "one"), 1)
    node3 = rc.get_node(*NODES[2]).redis_connection
    eq(node3.publish("news", "two"), 1)
    # Messages from one node arrive in publish order; from two nodes, in either.
    for s in subs:
        got = [wait_message(s.get_message, "message") for _ in range(2)]
        eq(sorted((m["channel"], m["data"]) for m in got), [(b"news", b"one"), (b"news", b"two")])
        s.close()


rc.close()
sys.exit(report.status())
