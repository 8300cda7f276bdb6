#!/usr/bin/env python3
"""Live resharding under load, against one cluster: the scenario of compat/reshard.sh,
the same for a real redis-server cluster and for clone nodes. Prints `ok - ...` /
`not ok - ...` lines and writes the per-step figures to a JSON file.

    reshard_load.py --label L --nodes H:P,H:P,H:P --new H:P --source H:P --figures F
                    [--keys N] [--threads N] [--quiet-load SECONDS] [--bench-clients N]
    reshard_load.py --table LABEL=FIGURES...   (side by side; a missing file, from a
                                                run that stopped early, shows dashes)

--nodes are three masters holding every slot; --new is a fresh cluster-mode node that
knows only itself; --source a standalone redis-server to import from. The steps, all
under continuous traffic (redis-py RedisCluster threads checking every reply, and
`redis-benchmark --cluster` runs one after another):
  1. preload --keys keys; the load alone for --quiet-load seconds (the baseline);
  2. `redis-cli --cluster add-node NEW EXISTING`, until every node knows every other;
  3. `rebalance --cluster-use-empty-masters`: a quarter of the slots onto the new node;
  4. `reshard` 1,000 of its slots back to the first master;
  5. `reshard` its remaining slots to the second master, then `del-node`;
  6. `import` 10,000 keys from the standalone server; the load alone again;
and, after each topology change, until `redis-cli --cluster check` is clean and every
node agrees. At the end every key is read back with its last acknowledged value.

redis-py 8.1.0 cannot follow an ASK to a node it has not seen yet: it raises
AttributeError (getting a connection for the node it did not find). Real Redis sends
such ASKs while the new node receives its first slots. The load retries that command
and counts these retries apart: they are reported, not failures. Any other exception
a client sees is a failure.
"""

import argparse
import json
import random
import re
import subprocess
import sys
import threading
import time
from array import array

import redis
from redis.cluster import ClusterNode, RedisCluster
from report import Report, eq

SLOTS = 16384
IMPORT_KEYS = 10_000
BENCH_SIZE = 40  # redis-benchmark -d: its value, the same for every key and run
CHECK_TIMEOUT = 60.0  # seconds for a topology change to reach every node
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def hostport(addr):
    host, _, port = addr.rpartition(":")
    return host, int(port)


def plain(addr):
    host, port = hostport(addr)
    return redis.Redis(host=host, port=port, decode_responses=True)


def cli(*args, timeout=600):
    """Runs redis-cli; returns its output without colours, raising if it failed."""
    done = subprocess.run(
        ["redis-cli", *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    out = ANSI.sub("", done.stdout + done.stderr)
    if done.returncode != 0:
        raise AssertionError(f"redis-cli {' '.join(args)} exited with {done.returncode}:\n{out[-2000:]}")
    return out


# --- The cluster as its nodes see it ---------------------------------------------------


def parse_slots(fields):
    """The slots of a CLUSTER NODES line's slot fields (ranges; [..] marks skipped)."""
    slots = set()
    for f in fields:
        if f.startswith("["):
            continue
        first, _, last = f.partition("-")
        slots.update(range(int(first), int(last or first) + 1))
    return slots


def nodes_view(addr):
    """CLUSTER NODES of one node: {id: {addr, flags, master, link, ranges}}, ranges being
    the slot fields as written (parse_slots reads them: polling stays cheap, and the
    load threads share this process's interpreter)."""
    view = {}
    for line in plain(addr).execute_command("CLUSTER", "NODES").splitlines():
        f = line.split()
        view[f[0]] = {
            "addr": f[1].split("@")[0],
            "flags": set(f[2].split(",")),
            "master": f[3],
            "link": f[7],
            "ranges": tuple(f[8:]),
        }
    return view


def owners(addr):
    """slot -> address of its owner, as the node at addr sees it."""
    own = {}
    for node in nodes_view(addr).values():
        for s in parse_slots(node["ranges"]):
            own[s] = node["addr"]
    return own


def myid(addr):
    return plain(addr).execute_command("CLUSTER", "MYID")


def settled(addrs, entry):
    """None when every node in addrs says cluster_state:ok, knows exactly those nodes
    (no handshake, no failure flags, links up), all agree on the slot owners, and
    `redis-cli --cluster check` is clean; else what is not yet so."""
    views = {}
    for a in addrs:
        state = plain(a).execute_command("CLUSTER", "INFO")
        if "cluster_state:ok" not in state:
            return f"{a}: cluster_state not ok"
        view = nodes_view(a)
        if sorted(n["addr"] for n in view.values()) != sorted(addrs):
            return f"{a} knows {sorted(n['addr'] for n in view.values())}"
        for n in view.values():
            bad = n["flags"] & {"handshake", "fail?", "fail", "noaddr"}
            if bad or n["link"] != "connected":
                return f"{a} sees {n['addr']} as {','.join(sorted(n['flags']))} {n['link']}"
        views[a] = sorted((n["addr"], n["ranges"]) for n in view.values())
    first = next(iter(views.values()))
    if any(v != first for v in views.values()):
        return "the nodes disagree on slot owners"
    out = cli("--cluster", "check", entry)
    if "[WARNING]" in out or "[ERR]" in out or "[OK] All 16384 slots covered." not in out:
        return "redis-cli --cluster check:\n" + out
    return None


def wait_settled(addrs, entry):
    """Polls settled() until it holds; raises with the last reason after a timeout."""
    end = time.monotonic() + CHECK_TIMEOUT
    while True:
        try:
            why = settled(addrs, entry)
        except redis.exceptions.RedisError as e:
            why = f"{type(e).__name__}: {e}"
        if why is None:
            return
        if time.monotonic() > end:
            raise AssertionError(f"not settled after {CHECK_TIMEOUT:.0f}s: {why}")
        time.sleep(0.1)


def keys_per_slot(entry):
    """slot -> number of keys, each slot counted on its owner (pipelined)."""
    own = owners(entry)
    counts = {}
    for addr in set(own.values()):
        slots = [s for s, a in own.items() if a == addr]
        p = plain(addr).pipeline(transaction=False)
        for s in slots:
            p.execute_command("CLUSTER", "COUNTKEYSINSLOT", s)
        counts.update(zip(slots, p.execute()))
    return counts


# --- The load -------------------------------------------------------------------------


def ask_to_unknown_node(e):
    """The redis-py 8.1.0 bug: an ASK to a node it does not know yet ends in an
    AttributeError on None (the node it looked up)."""
    return isinstance(e, AttributeError) and "NoneType" in str(e)


class Load:
    """Client threads, each with its own RedisCluster and its own keys: a write's value
    is recorded once acknowledged, a read must return the last recorded value."""

    def __init__(self, startup, keys, threads):
        self.startup = startup
        self.threads = threads
        self.per_thread = keys // threads
        self.stop = threading.Event()
        self.lock = threading.Lock()
        # Per thread: acknowledged values, and keys whose last write failed (either
        # value may then be stored).
        self.acked = [dict() for _ in range(threads)]
        self.unsure = [dict() for _ in range(threads)]
        self.ends = [array("d") for _ in range(threads)]  # when each operation ended
        self.lats = [array("d") for _ in range(threads)]  # its latency, seconds
        self.retry_times = [array("d") for _ in range(threads)]
        self.failures = []  # (time, message)
        self.mismatches = []
        self.workers = []

    def client(self):
        return RedisCluster(startup_nodes=[ClusterNode(*hostport(a)) for a in self.startup])

    def key(self, t, i):
        return f"load:{t}:{i}"

    def preload(self):
        rc = self.client()
        for t in range(self.threads):
            values = {self.key(t, i): f"v0:{t}:{i}" for i in range(self.per_thread)}
            items = list(values.items())
            for start in range(0, len(items), 5000):
                done = rc.mset_nonatomic(dict(items[start : start + 5000]))
                assert all(x is True for x in done), done
            self.acked[t] = values
        rc.close()

    def start(self):
        for t in range(self.threads):
            w = threading.Thread(target=self.run, args=(t,), daemon=True)
            w.start()
            self.workers.append(w)

    def finish(self):
        self.stop.set()
        for w in self.workers:
            w.join(timeout=60)

    def fail(self, msg):
        with self.lock:
            self.failures.append((time.monotonic(), msg))

    def call(self, t, fn):
        """fn() retried while it meets the redis-py ASK bug (for up to 30 s)."""
        give_up = time.monotonic() + 30
        while True:
            try:
                return fn()
            except AttributeError as e:
                if not ask_to_unknown_node(e) or time.monotonic() > give_up:
                    raise
                self.retry_times[t].append(time.monotonic())
                time.sleep(0.005)

    def run(self, t):
        rc = self.client()
        rng = random.Random(t)
        acked, unsure = self.acked[t], self.unsure[t]
        seq = 0
        while not self.stop.is_set():
            k = self.key(t, rng.randrange(self.per_thread))
            started = time.monotonic()
            try:
                if rng.random() < 0.5:
                    seq += 1
                    v = f"v{seq}:{t}:{k}"
                    try:
                        ok = self.call(t, lambda: rc.set(k, v))
                    except Exception:
                        unsure.setdefault(k, set()).add(v)
                        raise
                    if ok is not True:
                        raise AssertionError(f"SET {k} replied {ok!r}")
                    acked[k] = v
                    unsure.pop(k, None)
                else:
                    got = self.call(t, lambda: rc.get(k))
                    got = got.decode() if got is not None else None
                    if got != acked[k] and got not in unsure.get(k, ()):
                        with self.lock:
                            self.mismatches.append(f"GET {k}: {got!r}, acknowledged {acked[k]!r}")
            except Exception as e:  # noqa: BLE001 - every other exception is a failure
                self.fail(f"{type(e).__name__}: {e}")
                time.sleep(0.01)
                continue
            ended = time.monotonic()
            self.ends[t].append(ended)
            self.lats[t].append(ended - started)
        rc.close()

    def window(self, t0, t1):
        """Operations, p99 latency (ms), ASK retries and failures between t0 and t1."""
        lats = sorted(
            lat for t in range(self.threads) for end, lat in zip(self.ends[t], self.lats[t]) if t0 <= end <= t1
        )
        retries = sum(1 for t in range(self.threads) for x in self.retry_times[t] if t0 <= x <= t1)
        failures = sum(1 for x, _ in self.failures if t0 <= x <= t1)
        p99 = lats[min(len(lats) - 1, int(len(lats) * 0.99))] * 1000 if lats else None
        return {"ops": len(lats), "p99_ms": p99, "ask_retries": retries, "failures": failures}

    def read_back(self):
        """Every key against its last acknowledged value; the differences."""
        rc = self.client()
        wrong = []
        for t in range(self.threads):
            keys = list(self.acked[t])
            for start in range(0, len(keys), 5000):
                chunk = keys[start : start + 5000]
                for k, got in zip(chunk, rc.mget_nonatomic(chunk)):
                    got = got.decode() if got is not None else None
                    if got != self.acked[t][k] and got not in self.unsure[t].get(k, ()):
                        wrong.append(f"{k}: {got!r}, acknowledged {self.acked[t][k]!r}")
        rc.close()
        return wrong


class Benchmark:
    """`redis-benchmark --cluster -t set,get` runs, one after another until stopped. It
    learns the masters when it starts; a slot moving to a node it did not know ends the
    run ("could not find node with ID"), and the next run starts with the new layout.
    It does not follow ASK: such replies are errors to it (counted from -e output)."""

    def __init__(self, entry, clients):
        self.host, self.port = hostport(entry)
        self.clients = clients
        self.stop = threading.Event()
        self.runs = self.completed = self.unknown_node = 0
        self.other_exits = []
        self.errors = {}  # first word of a server error -> lines seen
        self.proc = None
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            self.proc = subprocess.Popen(
                ["redis-benchmark", "--cluster", "-h", self.host, "-p", str(self.port), "-t", "set,get",
                 "-d", str(BENCH_SIZE), "-r", "20000", "-c", str(self.clients), "-n", "100000", "-e", "-q"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            out, _ = self.proc.communicate()
            self.runs += 1
            for line in out.replace("\r", "\n").splitlines():
                if line.startswith("Error from server: "):
                    word = line.split()[3]
                    self.errors[word] = self.errors.get(word, 0) + 1
            if "could not find node with ID" in out:
                self.unknown_node += 1
            elif self.proc.returncode == 0:
                self.completed += 1
            elif not self.stop.is_set():
                self.other_exits.append(f"exit {self.proc.returncode}: {out[-500:]}")

    def start(self):
        self.thread.start()

    def finish(self):
        self.stop.set()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
        self.thread.join(timeout=30)


# --- The import's source data ----------------------------------------------------------


def import_value(i):
    """10,000 string values of the kinds RDB stores differently: short strings, integers
    (stored as integers), compressible strings over 20 bytes (LZF-compressed), random
    bytes (not compressible), and a few large compressible ones."""
    kind = i % 5
    if kind == 0:
        return f"short{i}".encode()
    if kind == 1:
        return str((i * 7919) % 2_000_003 - 1_000_000).encode()
    if kind == 2:
        return (f"payload {i} " + "abc" * (10 + i % 40)).encode()
    if kind == 3:
        return random.Random(i).randbytes(24 + i % 64)
    return (f"big {i} " * 2000).encode() if i % 1000 == 4 else f"{i}.5".encode()


def dump_encodings(r, keys):
    """How DUMP encodes each value (RDB string type 0, then the length byte's top bits
    tell an integer (0xc0-0xc2) or an LZF-compressed string (0xc3))."""
    p = r.pipeline(transaction=False)
    for k in keys:
        p.dump(k)
    kinds = {"int": 0, "lzf": 0, "plain": 0}
    for d in p.execute():
        b = d[1]
        kinds["int" if b in (0xC0, 0xC1, 0xC2) else "lzf" if b == 0xC3 else "plain"] += 1
    return kinds


# --- The scenario ------------------------------------------------------------------------


def scenario(args):
    report = Report()
    masters = args.nodes.split(",")
    entry, new = masters[0], args.new
    print(f"# redis-py {redis.__version__}, {cli('--version').strip()}; the {args.label} cluster {masters} + {new}")
    figures = {"label": args.label, "steps": [], "notes": []}
    load = Load(masters, args.keys, args.threads)
    bench = Benchmark(entry, args.bench_clients)
    ids = {}

    def check(label, fn):
        report.run(f"resharding [{args.label}] {label}", fn)
        return report.failures == 0

    def step(name, fn, nodes_after):
        """Runs a topology change under the load and records its figures: slots that
        changed owner, the keys they held before, time until the cluster is settled
        again, the clients' figures over that time."""
        before, counts = owners(entry), keys_per_slot(entry)
        t0 = time.monotonic()
        fn()
        wait_settled(nodes_after, entry)
        t1 = time.monotonic()
        after = owners(entry)
        moved = [s for s in range(SLOTS) if before.get(s) != after.get(s)]
        keys = sum(counts.get(s, 0) for s in moved)
        took = t1 - t0
        row = {"step": name, "slots": len(moved), "keys": keys, "seconds": took,
               "slots_per_s": len(moved) / took, "keys_per_s": keys / took, **load.window(t0, t1)}  # fmt: skip
        figures["steps"].append(row)
        return row

    def preload():
        for a in masters:
            plain(a).flushall()
        load.preload()
        eq(sum(plain(a).dbsize() for a in masters), args.keys // args.threads * args.threads)

    def start_traffic():
        load.start()
        bench.start()
        t0 = time.monotonic()
        time.sleep(args.quiet_load)
        alone = load.window(t0, time.monotonic())
        figures["steps"].append({"step": "load alone, before", "seconds": args.quiet_load, **alone})
        assert alone["ops"] > 0, "no client operation completed"

    def add_node():
        ids["new"] = myid(new)
        for i, a in enumerate(masters):
            ids[i] = myid(a)
        eq(nodes_view(new).keys(), {ids["new"]}, "the new node knows only itself")
        eq(nodes_view(new)[ids["new"]]["ranges"], (), "the new node's slots")
        step("add-node", lambda: cli("--cluster", "add-node", new, entry), masters + [new])
        eq(len(owners(new)), SLOTS, "slots the new node knows the owner of")

    def rebalance():
        row = step(
            "rebalance (onto the new node)",
            lambda: cli("--cluster", "rebalance", entry, "--cluster-use-empty-masters"),
            masters + [new],
        )
        got = sum(1 for a in owners(entry).values() if a == new)
        # An even share is 4,096; rebalance leaves each master within 2% of it.
        assert 3900 <= got <= 4300, f"the new node owns {got} slots"
        eq(row["slots"], got, "slots moved")

    def reshard_back():
        had = sum(1 for a in owners(entry).values() if a == masters[0])
        row = step(
            "reshard 1000 back",
            lambda: cli("--cluster", "reshard", entry, "--cluster-from", ids["new"], "--cluster-to", ids[0],
                        "--cluster-slots", "1000", "--cluster-yes"),  # fmt: skip
            masters + [new],
        )
        eq(row["slots"], 1000, "slots moved")
        eq(sum(1 for a in owners(entry).values() if a == masters[0]), had + 1000, "first master's slots")

    def empty_and_delete():
        left = sum(1 for a in owners(entry).values() if a == new)
        step(
            "reshard the rest away",
            lambda: cli("--cluster", "reshard", entry, "--cluster-from", ids["new"], "--cluster-to", ids[1],
                        "--cluster-slots", str(left), "--cluster-yes"),  # fmt: skip
            masters + [new],
        )
        eq(sum(1 for a in owners(entry).values() if a == new), 0, "the new node's slots")
        # Real Redis makes a master that lost its last slot a replica of the slots' new
        # owner; the clone keeps it a master without slots. Reported, not asserted.
        me = nodes_view(new)[ids["new"]]
        role = "replica" if "slave" in me["flags"] else "master"
        of = f" of {nodes_view(new)[me['master']]['addr']}" if role == "replica" else " without slots"
        figures["notes"].append(f"the emptied node became a {role}{of}")
        print(f"    the emptied node is now a {role}{of}")
        step("del-node", lambda: cli("--cluster", "del-node", entry, ids["new"]), masters)
        for a in masters:
            assert ids["new"] not in nodes_view(a), f"{a} still knows the removed node"

    def import_keys():
        src = redis.Redis(*hostport(args.source))
        src.flushall()
        values = {f"import:{i}": import_value(i) for i in range(IMPORT_KEYS)}
        p = src.pipeline(transaction=False)
        for k, v in values.items():
            p.set(k, v)
        p.execute()
        kinds = dump_encodings(src, list(values))
        print(f"    source values as DUMP encodes them: {kinds}")
        assert kinds["int"] > 1000 and kinds["lzf"] > 1000 and kinds["plain"] > 1000, kinds
        t0 = time.monotonic()
        out = cli("--cluster", "import", entry, "--cluster-from", args.source)
        took = time.monotonic() - t0
        assert f"Importing {IMPORT_KEYS} keys from DB 0" in out, out[-2000:]
        assert out.count(": OK") == IMPORT_KEYS, out[-2000:]
        figures["steps"].append({"step": "import (10,000 keys)", "slots": None, "keys": IMPORT_KEYS,
                                 "seconds": took, "slots_per_s": None, "keys_per_s": IMPORT_KEYS / took,
                                 **load.window(t0, t0 + took)})  # fmt: skip
        rc = RedisCluster(startup_nodes=[ClusterNode(*hostport(a)) for a in masters])
        keys = list(values)
        got = []
        for start in range(0, len(keys), 1000):
            got += rc.mget_nonatomic(keys[start : start + 1000])
        rc.close()
        wrong = [k for k, g in zip(keys, got) if g != values[k]]
        assert not wrong, f"{len(wrong)} imported keys differ, e.g. {wrong[:5]}"
        # Without --cluster-copy, redis-cli 7.0 MIGRATEs without COPY: the source
        # loses every key it sent.
        eq(src.dbsize(), 0, "keys left on the source")

    def stop_traffic():
        t0 = time.monotonic()
        time.sleep(args.quiet_load)
        alone = load.window(t0, time.monotonic())
        figures["steps"].append({"step": "load alone, after", "seconds": args.quiet_load, **alone})
        load.finish()
        bench.finish()
        total = load.window(0, time.monotonic())
        figures["load"] = total
        figures["benchmark"] = {"runs": bench.runs, "completed": bench.completed,
                                "ended_by_unknown_node": bench.unknown_node, "errors": bench.errors}  # fmt: skip
        print(f"    clients: {total['ops']} operations, {total['ask_retries']} retries after the redis-py ASK bug")

    def no_client_failures():
        first = [m for _, m in load.failures[:5]]
        eq(len(load.failures), 0, f"client operations failed, e.g. {first}")

    def reads_saw_acknowledged_writes():
        eq(load.mismatches[:5], [], "reads")

    def no_write_lost():
        wrong = load.read_back()
        assert not wrong, f"{len(wrong)} keys lost their acknowledged value, e.g. {wrong[:5]}"

    def benchmark_values():
        eq(bench.other_exits, [], "redis-benchmark runs that failed otherwise")
        assert bench.completed + bench.unknown_node > 0, "no redis-benchmark run ended"
        # The value redis-benchmark writes (the same every run): learnt from a run
        # against the standalone source.
        subprocess.run(["redis-benchmark", "-h", hostport(args.source)[0], "-p", str(hostport(args.source)[1]),
                        "-t", "set", "-d", str(BENCH_SIZE), "-n", "1", "-r", "1", "-q"],
                       capture_output=True, check=True)  # fmt: skip
        src = redis.Redis(*hostport(args.source))
        want = src.get(src.scan(0, match="key:*")[1][0])
        eq(len(want), BENCH_SIZE, "the value's size")
        src.flushall()
        rc = RedisCluster(startup_nodes=[ClusterNode(*hostport(a)) for a in masters])
        keys = [k for node in rc.get_primaries() for k in node.redis_connection.scan_iter(match="key:*", count=1000)]
        assert keys, "no redis-benchmark key in the cluster"
        got = []
        for start in range(0, len(keys), 1000):
            got += rc.mget_nonatomic(keys[start : start + 1000])
        rc.close()
        wrong = [k for k, g in zip(keys, got) if g != want]
        assert not wrong, f"{len(wrong)} of {len(keys)} redis-benchmark keys hold another value, e.g. {wrong[:3]}"
        print(f"    {len(keys)} redis-benchmark keys, each holding its {BENCH_SIZE}-byte value")

    steps = [
        (f"preload {args.keys} keys", preload),
        ("traffic running: RedisCluster threads and redis-benchmark --cluster", start_traffic),
        ("add-node: the new node joined, every node knows it, check clean", add_node),
        ("rebalance --cluster-use-empty-masters: a quarter of the slots on the new node, check clean", rebalance),
        ("reshard --cluster-slots 1000 back to the first master, check clean", reshard_back),
        ("the new node emptied by reshard and removed by del-node, check clean", empty_and_delete),
        ("import of 10,000 keys from a standalone redis-server, every value intact", import_keys),
    ]
    for label, fn in steps:
        if not check(label, fn):
            break
    if load.workers:
        check("traffic stopped", stop_traffic)
        check("no client operation failed (other than the counted ASK retries)", no_client_failures)
        check("every read returned the last acknowledged value", reads_saw_acknowledged_writes)
        check("no acknowledged write lost: every key read back at the end", no_write_lost)
        check("redis-benchmark's keys hold the value it writes", benchmark_values)
    with open(args.figures, "w") as f:
        json.dump(figures, f, indent=1)
    print_table([figures], [args.label])
    return report.status()


# --- The table ------------------------------------------------------------------------------


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(all_figures, labels):
    """One row per step, each cluster's figures side by side."""
    cols = [("slots", ",d"), ("keys", ",d"), ("seconds", ".1f"), ("slots_per_s", ",.0f"), ("keys_per_s", ",.0f"),
            ("ops", ",d"), ("p99_ms", ".1f"), ("ask_retries", ",d"), ("failures", ",d")]  # fmt: skip
    heads = ["slots", "keys", "s", "slots/s", "keys/s", "ops", "p99 ms", "ASK retry", "failed"]
    width = 10
    names = []
    for f in all_figures:
        for row in f["steps"] if f else []:
            if row["step"] not in names:
                names.append(row["step"])
    print("   " + f"{'step':<30}" + "".join(f" | {lab:^{width * len(cols)}}" for lab in labels))
    print("   " + " " * 30 + "".join(" | " + "".join(f"{h:>{width}}" for h in heads) for _ in labels))
    for name in names:
        line = f"   {name:<30}"
        for f in all_figures:
            row = next((r for r in (f or {}).get("steps", []) if r["step"] == name), {})
            line += " | " + "".join(f"{fmt(row.get(c), spec):>{width}}" for c, spec in cols)
        print(line)
    for f in all_figures:
        if f:
            for note in f["notes"]:
                print(f"   {f['label']}: {note}")
            if "benchmark" in f:
                b = f["benchmark"]
                errors = ", ".join(f"{n} {e}" for e, n in b["errors"].items()) or "none"
                print(f"   {f['label']}: redis-benchmark: {b['runs']} runs, {b['completed']} completed, "
                      f"{b['ended_by_unknown_node']} ended by a slot moving to a node it did not know; "
                      f"server errors (at most one a second is shown): {errors}")  # fmt: skip


def table(specs):
    all_figures, labels = [], []
    for spec in specs:
        label, _, p = spec.partition("=")
        labels.append(label)
        try:
            with open(p) as f:
                all_figures.append(json.load(f))
        except FileNotFoundError:
            all_figures.append(None)
    print_table(all_figures, labels)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", nargs="+")
    ap.add_argument("--label")
    ap.add_argument("--nodes")
    ap.add_argument("--new")
    ap.add_argument("--source")
    ap.add_argument("--figures")
    ap.add_argument("--keys", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--quiet-load", type=float, default=3.0)
    ap.add_argument("--bench-clients", type=int, default=4)
    args = ap.parse_args()
    if args.table:
        return table(args.table)
    return scenario(args)


if __name__ == "__main__":
    sys.exit(main())
