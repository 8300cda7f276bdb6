#!/usr/bin/env python3
"""MIGRATE between live servers: from redis-server to the clone, from the clone to
redis-server and to another clone process, and from redis-server to redis-server (which
shows the expectations are Redis's own). Prints `ok - ...` / `not ok - ...`.

    migrate_check.py --clone-bin target/release/examples/clone

Starts its own servers: two redis-servers and two clones without a password, and one of
each with one (the AUTH targets); then three clones as one cluster, between which
`redis-cli --cluster reshard` moves slots and into which `redis-cli --cluster import`
copies a redis-server's keys. Each scenario runs for every source and target pair and
checks MIGRATE's reply, byte for byte, and what both servers hold afterwards.
"""

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

import redis
from report import Report, eq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from conformance import cmd as enc  # noqa: E402  (a multibulk request)

PASSWORD = "migrate-secret"
BUSYKEY = b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, password=None):
    for _ in range(200):
        try:
            redis.Redis(port=port, password=password).ping()
            return
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on port {port}")




class Server:
    """A server under test: its port, its password, and a redis-py client."""

    def __init__(self, name, port, password=None):
        self.name, self.port, self.password = name, port, password
        self.r = redis.Redis(port=port, password=password)

    def raw(self, *args):
        """The exact reply line of a command answered with one line (MIGRATE's)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            if self.password:
                s.sendall(enc("AUTH", self.password))
                assert s.recv(64) == b"+OK\r\n"
            s.sendall(enc(*args))
            buf = b""
            while not buf.endswith(b"\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
            return buf

    def migrate(self, target, key, *options, db=0, timeout=5000):
        return self.raw("MIGRATE", "127.0.0.1", target.port, key, db, timeout, *options)


def run_cli(*args):
    """redis-cli's output; a failure raises."""
    done = subprocess.run(["redis-cli", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"redis-cli {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def pipe_to_owners(nodes, pairs):
    """SETs each key on the node that owns its slot (asking each node: MOVED says no)."""
    for k, v in pairs.items():
        for n in nodes:
            try:
                n.set(k, v)
                break
            except redis.exceptions.MovedError:
                pass


def scenarios(src, dst, dst_auth, down_port):
    """(label, function) for each scenario from src to dst (dst_auth: a target of the
    same kind that wants PASSWORD)."""
    s, d = src.r, dst.r

    def fresh():
        s.flushall()
        d.flushall()
        dst_auth.r.flushall()

    def single_key():
        fresh()
        s.set("k", "v")
        eq(src.migrate(dst, "k"), b"+OK\r\n", "reply")
        eq(s.exists("k"), 0, "source key gone")
        eq(d.get("k"), b"v", "target value")
        eq(d.ttl("k"), -1, "no expiry on the target")

    def several_keys():
        fresh()
        s.mset({"a": "1", "b": "two", "c": "-70000"})
        eq(src.migrate(dst, "", "KEYS", "a", "missing", "b", "c"), b"+OK\r\n", "reply")
        eq(s.exists("a", "b", "c"), 0, "source keys gone")
        eq(d.mget("a", "b", "c", "missing"), [b"1", b"two", b"-70000", None], "target values")

    def nokey():
        fresh()
        eq(src.migrate(dst, "", "KEYS", "x", "y"), b"+NOKEY\r\n", "reply")

    def copy():
        fresh()
        s.set("k", "v")
        eq(src.migrate(dst, "k", "COPY"), b"+OK\r\n", "reply")
        eq(s.get("k"), b"v", "source key kept")
        eq(d.get("k"), b"v", "target value")

    def replace():
        fresh()
        s.set("k", "new")
        d.set("k", "old", ex=100)
        eq(src.migrate(dst, "k", "REPLACE"), b"+OK\r\n", "reply")
        eq(d.get("k"), b"new", "target value replaced")
        eq(d.ttl("k"), -1, "the old expiry went with the old value")
        eq(s.exists("k"), 0, "source key gone")

    def busykey():
        fresh()
        s.set("k", "new")
        d.set("k", "old")
        eq(src.migrate(dst, "k"), BUSYKEY, "reply")
        eq(s.get("k"), b"new", "source key kept")
        eq(d.get("k"), b"old", "target value untouched")

    def busykey_among_several():
        fresh()
        s.mset({"a": "1", "b": "2", "c": "3"})
        d.set("b", "old")
        eq(src.migrate(dst, "", "KEYS", "a", "b", "c"), BUSYKEY, "reply")
        eq(s.exists("a"), 0, "a acknowledged, so deleted")
        eq(s.get("b"), b"2", "b refused, so kept")
        eq(s.exists("c"), 0, "c acknowledged, so deleted")
        eq(d.mget("a", "b", "c"), [b"1", b"old", b"3"], "target values")

    def compressible():
        # Over 20 bytes and repetitive: redis-server sends it LZF-compressed.
        fresh()
        value = b"hello world, " * 40
        s.set("k", value)
        eq(src.migrate(dst, "k"), b"+OK\r\n", "reply")
        eq(d.get("k"), value, "target value")
        eq(s.exists("k"), 0, "source key gone")

    def large_binary():
        # A 32-bit RDB length, every byte value, a binary key.
        fresh()
        rnd = random.Random(11)
        value = bytes(rnd.randrange(256) for _ in range(70000))
        key = b"bin\x00\r\n\xff"
        s.set(key, value)
        eq(src.migrate(dst, key), b"+OK\r\n", "reply")
        eq(d.get(key), value, "target value")

    def lists():
        # A small list, a multi-node one of incompressible elements, and one whose
        # nodes redis-server LZF-compresses.
        fresh()
        rnd = random.Random(13)
        small = [b"a", b"-5", b"300"]
        large = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200))) for _ in range(2000)]
        repetitive = [b"element"] * 500
        s.rpush("small", *small)
        s.rpush("large", *large)
        s.rpush("repetitive", *repetitive)
        s.pexpire("large", 60000)
        eq(src.migrate(dst, "", "KEYS", "small", "large", "repetitive"), b"+OK\r\n", "reply")
        eq(d.lrange("small", 0, -1), small, "small list")
        eq(d.lrange("large", 0, -1), large, "large list")
        eq(d.lrange("repetitive", 0, -1), repetitive, "repetitive list")
        left = d.pttl("large")
        assert 59000 <= left <= 60000, f"target PTTL {left}"
        eq(s.exists("small", "large", "repetitive"), 0, "source keys gone")

    def ttl():
        fresh()
        s.set("k", "v", px=60000)
        eq(src.migrate(dst, "k"), b"+OK\r\n", "reply")
        left = d.pttl("k")
        assert 59000 <= left <= 60000, f"target PTTL {left}, want within a second of 60000"
        eq(s.exists("k"), 0, "source key gone")

    def other_db():
        # A database other than the last one used on the cached connection: MIGRATE
        # must SELECT it, then SELECT 0 again for the next call.
        fresh()
        s.set("a", "1")
        s.set("b", "2")
        eq(src.migrate(dst, "a", db=3), b"+OK\r\n", "reply to db 3")
        eq(src.migrate(dst, "b", db=0), b"+OK\r\n", "reply to db 0")
        eq(redis.Redis(port=dst.port, db=3).get("a"), b"1", "a in db 3")
        eq(d.get("b"), b"2", "b in db 0")
        eq(redis.Redis(port=dst.port, db=3).exists("b"), 0, "b not in db 3")

    def bad_db():
        fresh()
        s.set("k", "v")
        reply = src.migrate(dst, "k", db=99)
        eq(reply, b"-ERR Target instance replied with error: ERR DB index is out of range\r\n", "reply")
        eq(s.get("k"), b"v", "source key kept")

    def auth():
        fresh()
        a = dst_auth.r
        s.set("k1", "v1")
        s.set("k2", "v2")
        eq(src.migrate(dst_auth, "k1", "AUTH", PASSWORD), b"+OK\r\n", "AUTH reply")
        eq(src.migrate(dst_auth, "k2", "AUTH2", "default", PASSWORD), b"+OK\r\n", "AUTH2 reply")
        eq(a.mget("k1", "k2"), [b"v1", b"v2"], "target values")
        eq(s.exists("k1", "k2"), 0, "source keys gone")

    def auth_refused():
        fresh()
        s.set("k", "v")
        reply = src.migrate(dst_auth, "k", "AUTH", "wrong")
        assert reply.startswith(b"-ERR Target instance replied with error: WRONGPASS"), reply
        eq(s.get("k"), b"v", "source key kept")
        eq(dst_auth.r.exists("k"), 0, "nothing restored")
        reply = src.migrate(dst_auth, "k")
        assert reply.startswith(b"-ERR Target instance replied with error: NOAUTH"), reply
        eq(s.get("k"), b"v", "source key kept")

    def target_down():
        fresh()
        s.set("k", "v")
        eq(src.raw("MIGRATE", "127.0.0.1", down_port, "k", 0, 1000),
           b"-IOERR error or timeout writing to target instance\r\n", "reply")
        eq(s.get("k"), b"v", "source key kept")

    return [
        ("single key", single_key),
        ("KEYS with several, one missing", several_keys),
        ("NOKEY", nokey),
        ("COPY", copy),
        ("REPLACE", replace),
        ("BUSYKEY", busykey),
        ("BUSYKEY among several", busykey_among_several),
        ("a value redis-server LZF-compresses", compressible),
        ("70000 binary bytes, binary key", large_binary),
        ("TTL", ttl),
        ("lists", lists),
        ("SELECT on the cached connection", other_db),
        ("a database the target lacks", bad_db),
        # Refusals first: the connection that AUTH then logs in stays cached (and
        # logged in) for 10 seconds, as in Redis.
        ("wrong and missing password", auth_refused),
        ("AUTH and AUTH2", auth),
        ("target down", target_down),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clone-bin", required=True)
    args = ap.parse_args()
    report = Report()
    procs = []
    work = tempfile.mkdtemp(prefix="migrate-check-")

    def start_redis(port, password=None):
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--logfile", os.path.join(work, f"redis-{port}.log")]
        if password:
            cmd += ["--requirepass", password]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL))
        wait_for(port, password)

    def start_clone(port, *flags, password=None):
        cmd = [args.clone_bin, "--addr", f"127.0.0.1:{port}", *flags]
        if password:
            cmd += ["--requirepass", password]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(port, password)

    try:
        ports = {name: free_port() for name in ["redis", "redis2", "redis-auth", "clone", "clone2", "clone-auth"]}
        start_redis(ports["redis"])
        start_redis(ports["redis2"])
        start_redis(ports["redis-auth"], PASSWORD)
        start_clone(ports["clone"])
        start_clone(ports["clone2"])
        start_clone(ports["clone-auth"], password=PASSWORD)
        servers = {name: Server(name, port, PASSWORD if name.endswith("-auth") else None)
                   for name, port in ports.items()}
        down_port = free_port()
        pairs = [
            ("redis", "redis2", "redis-auth"),
            ("redis", "clone", "clone-auth"),
            ("clone", "redis", "redis-auth"),
            ("clone", "clone2", "clone-auth"),
        ]
        for src, dst, dst_auth in pairs:
            for label, fn in scenarios(servers[src], servers[dst], servers[dst_auth], down_port):
                report.run(f"MIGRATE {src} -> {dst}: {label}", fn)

        def dumps_match():
            # Incompressible values of each RDB length size: the same payload bytes.
            rnd = random.Random(5)
            r, c = servers["redis"].r, servers["clone"].r
            for n in [0, 1, 63, 64, 16383, 16384, 70000]:
                value = bytes(rnd.randrange(256) for _ in range(n))
                r.set("k", value)
                c.set("k", value)
                eq(c.dump("k"), r.dump("k"), f"DUMP of {n} random bytes")

        report.run("DUMP of incompressible values: clone = redis-server", dumps_match)

        def list_dumps_match():
            # Lists pushed at the tail, of incompressible elements: Redis cuts the same
            # 8 KiB nodes and stores them uncompressed, so the payloads are the same.
            rnd = random.Random(9)
            r, c = servers["redis"].r, servers["clone"].r
            for n, longest in [(3, 10), (100, 100), (3000, 100), (40, 5000)]:
                items = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, longest)))
                         for _ in range(n)]
                for server in (r, c):
                    server.delete("l")
                    server.rpush("l", *items)
                eq(c.dump("l"), r.dump("l"), f"DUMP of a list of {n} random elements")

        report.run("DUMP of lists of incompressible elements: clone = redis-server", list_dumps_match)

        # What MIGRATE is for: redis-cli's cluster tools moving keys between clone
        # cluster nodes, and importing a redis-server's keys into a clone cluster.
        cluster_ports = [free_port() for _ in range(3)]
        nodes = ",".join(f"127.0.0.1:{p}" for p in cluster_ports)
        for p in cluster_ports:
            start_clone(p, "--cluster", nodes)
        cluster = [redis.Redis(port=p) for p in cluster_ports]
        first = f"127.0.0.1:{cluster_ports[0]}"

        def value(n, k):
            return n.lrange(k, 0, -1) if n.type(k) == b"list" else n.get(k)

        def cluster_keys():
            return {k: value(n, k) for n in cluster for k in n.keys("*")}

        def reshard():
            written = {f"key:{i}".encode(): f"value-{i}".encode() for i in range(2000)}
            pipe_to_owners(cluster, written)
            before = [n.dbsize() for n in cluster]
            ids = [n.execute_command("CLUSTER", "MYID") for n in cluster]
            run_cli("--cluster", "reshard", first, "--cluster-from", ids[0].decode(),
                    "--cluster-to", ids[1].decode(), "--cluster-slots", "500", "--cluster-yes")
            after = [n.dbsize() for n in cluster]
            assert after[0] < before[0] and after[1] > before[1], f"{before} -> {after}"
            eq(sum(after), 2000, "keys in the cluster")
            eq(cluster_keys(), written, "every key once, with its value")
            for slot in range(500):
                eq(cluster[0].execute_command("CLUSTER", "COUNTKEYSINSLOT", slot), 0, f"slot {slot} left node 1")
            check = run_cli("--cluster", "check", first)
            assert "All nodes agree about slots configuration" in check, check
            assert "All 16384 slots covered" in check, check

        def import_from_redis():
            for n in cluster:
                n.flushall()
            r = servers["redis"].r
            r.flushall()
            for i in range(300):
                r.set(f"imp:{i}", f"v{i}")
            r.rpush("implist", "a", "b", "c")
            r.set("impttl", "x", ex=500)
            run_cli("--cluster", "import", first, "--cluster-from",
                    f"127.0.0.1:{servers['redis'].port}", "--cluster-copy")
            got = cluster_keys()
            eq(len(got), 302, "keys imported")
            eq(got[b"imp:7"], b"v7", "a value")
            eq(got[b"implist"], [b"a", b"b", b"c"], "the list")
            ttl_owner = next(n for n in cluster if n.keys("impttl"))
            assert 498 <= ttl_owner.ttl("impttl") <= 500, ttl_owner.ttl("impttl")
            eq(r.dbsize(), 302, "the source keeps its keys (--cluster-copy)")

        report.run("redis-cli --cluster reshard of 500 slots between clone nodes", reshard)
        report.run("redis-cli --cluster import from redis-server into a clone cluster", import_from_redis)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
    sys.exit(report.status())


if __name__ == "__main__":
    main()
