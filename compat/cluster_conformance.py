#!/usr/bin/env python3
"""Differential wire tests of the cluster surface: the same bytes go to a real
three-node redis-server cluster and to three clone nodes, and the reply bytes must be
identical once what identifies a node is normalised.

Cases are data under compat/cases/cluster/, in the format of compat/cases/README.md,
with one addition: connection N of a case talks to node N (1, 2 or 3; 4 is node 1
again), so a one-step case talks to node 1 and `[to(2, ...)]` to node 2. Nodes are
numbered in list order on both sides, which gives both clusters the same slot split.
Before each case every node of both clusters is flushed.

Normalised in every reply, on both sides, before comparing (the reply is parsed and
written again, so bulk lengths follow the normalised text):
  - node ids: the id of node N (its CLUSTER MYID) reads <id-N>;
  - ports: node N's port reads <port-N>, as an integer or inside text; cluster bus
    ports (`@PORT` in CLUSTER NODES) read @<bus>;
  - CLUSTER NODES ping-sent and pong-received times read <ping> <pong> (Redis writes
    its own pong time in seconds, the clone in milliseconds);
  - HELLO's server, version and id, as conformance.py does.
Cases name a node's id with nodeid(N): a 40-byte placeholder that each side replaces
with node N's real id before sending (same length, so bulk lengths stay right). An
argument nodeport(N) becomes node N's port (its bulk length adjusted).
Configuration epochs are compared as they are: `redis-cli --cluster create` gives
node N epoch N, and so does the clone.

Flags besides conformance.py's:
  nodes  sort the lines of each CLUSTER NODES text (Redis writes them in dict order);
  info   drop the per-type bus message counters (cluster_stats_messages_<type>_sent and
         _received) from CLUSTER INFO text and read the totals as <n>: the clone has
         no cluster bus and shows only the totals, 0 (see differences.cases).
`sort` sorts the elements of top-level arrays after normalising (CLUSTER SHARDS,
whose order is Redis's dict order).

    cluster_conformance.py --redis H:P,H:P,H:P --clone H:P,H:P,H:P [--group NAME] [-v]
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conformance as cf  # noqa: E402

CASES_DIR = os.path.join(cf.CASES_DIR, "cluster")


def nodeid(n):
    """Node N's id, replaced per side in run_case."""
    return (b"<node-id-%d>" % n).ljust(40, b"-")


cf.FUNCTIONS["nodeid"] = nodeid


def nodeport(n):
    """Node N's port, as a whole argument (MIGRATE's target), replaced per side in
    run_case together with its bulk length."""
    return b"<node-port-%d>" % n


def with_ports(data, addrs):
    """`data` with each nodeport(N) argument (and its bulk length) made node N's port."""
    for i, addr in enumerate(addrs, 1):
        ph, port = nodeport(i), addr.rsplit(":", 1)[1].encode()
        data = data.replace(b"$%d\r\n%s\r\n" % (len(ph), ph), b"$%d\r\n%s\r\n" % (len(port), port))
    return data


cf.FUNCTIONS["nodeport"] = nodeport
EXTRA_FLAGS = ("nodes", "info")

# ---------------------------------------------------------------------------
# RESP parsed to a tree and written again.


def parse(buf, pos=0):
    """(node, end) for the value at pos, or (None, None) if incomplete. A node is
    (type byte, header, payload): payload is bytes for strings, a list for aggregates."""
    if pos >= len(buf):
        return None, None
    t = buf[pos : pos + 1]
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None, None
    head = buf[pos + 1 : nl]
    after = nl + 2
    if t in b"$=!" and head.lstrip(b"-").isdigit() and not head.startswith(b"-"):
        end = after + int(head)
        if end + 2 > len(buf):
            return None, None
        return (t, None, buf[after:end]), end + 2
    if t in b"*~>%|" and head.isdigit():
        count = int(head) * (2 if t in b"%|" else 1)
        items = []
        p = after
        for _ in range(count):
            item, p = parse(buf, p)
            if item is None:
                return None, None
            items.append(item)
        return (t, None, items), p
    return (t, head, None), after  # simple string, error, integer, null, ...


def write(node):
    t, head, payload = node
    if head is not None:
        return t + head + b"\r\n"
    if isinstance(payload, list):
        n = len(payload) // (2 if t in b"%|" else 1)
        return t + b"%d\r\n" % n + b"".join(write(x) for x in payload)
    return t + b"%d\r\n" % len(payload) + payload + b"\r\n"


def replies(buf):
    """The top-level values of a reply stream; an unparsable tail is kept raw."""
    out, pos = [], 0
    while pos < len(buf):
        node, end = parse(buf, pos)
        if node is None:
            out.append((b"raw", buf[pos:], None))
            break
        out.append(node)
        pos = end
    return out


# ---------------------------------------------------------------------------
# Normalisation


class Side:
    """What identifies the nodes of one cluster: their ids and ports, in list order."""

    def __init__(self, addrs):
        self.addrs = addrs
        self.ports = [int(a.rpartition(":")[2]) for a in addrs]
        self.ids = []
        for a in addrs:
            s = cf.connect(a)
            s.sendall(cf.cmd("CLUSTER", "MYID"))
            buf, _ = cf.read_until(
                s, lambda b: b.count(b"\r\n") >= 2, time.monotonic() + cf.READ_TIMEOUT
            )
            s.close()
            node, _ = parse(buf)
            if node is None or node[0] != b"$":
                raise RuntimeError(f"CLUSTER MYID on {a} answered {buf!r}")
            self.ids.append(node[2])

    def text(self, s, case):
        for i, node_id in enumerate(self.ids, 1):
            s = s.replace(node_id, b"<id-%d>" % i)
        s = re.sub(rb"@\d+", b"@<bus>", s)
        for i, port in enumerate(self.ports, 1):
            s = re.sub(rb"(?<![0-9])%d(?![0-9])" % port, b"<port-%d>" % i, s)
        # CLUSTER NODES: id addr flags master ping-sent pong-recv epoch link slots...
        s = re.sub(
            rb"(?m)^(<id-\d> \S+ \S+ \S+) \d+ \d+ ",
            rb"\1 <ping> <pong> ",
            s,
        )
        if "nodes" in case.flags and b"\n" in s:
            end = b"\n" if s.endswith(b"\n") else b""
            s = b"\n".join(sorted(s[: len(s) - len(end)].split(b"\n"))) + end
        if "info" in case.flags:
            s = re.sub(rb"cluster_stats_messages_[a-z-]+_(sent|received):\d+\r\n", b"", s)
            s = re.sub(rb"(cluster_stats_messages_(sent|received)):\d+", rb"\1:<n>", s)
        return s

    def node(self, n, case):
        t, head, payload = n
        if t == b"raw":
            return n
        if isinstance(payload, list):
            return (t, head, [self.node(x, case) for x in payload])
        if t == b":" and int(head) in self.ports:
            return (t, b"<port-%d>" % (self.ports.index(int(head)) + 1), None)
        if head is not None:
            return (t, self.text(head, case), None) if t in b"+-" else n
        if t == b"=":  # verbatim: the format ("txt:") stays as it is
            return (t, None, payload[:4] + self.text(payload[4:], case))
        return (t, None, self.text(payload, case))

    def normalise(self, buf, case):
        out = []
        for n in replies(buf):
            n = self.node(n, case)
            if "sort" in case.flags and n[0] in (b"*", b"~") and isinstance(n[2], list):
                n = (n[0], None, sorted(n[2], key=write))
            if "anyint" in case.flags and n[0] == b":":
                n = (b":", b"<int>", None)
            out.append(n[1] if n[0] == b"raw" else write(n))
        buf = b"".join(out)
        for rx, repl in cf.HELLO_FIELDS:
            buf = rx.sub(repl, buf)
        return buf

    def transcript(self, t, case):
        return [(c, self.normalise(b, case), s) for c, b, s in t]


# ---------------------------------------------------------------------------
# Running a case on one cluster


def run_case(side, case, controls):
    for ctl in controls:
        ctl.sendall(cf.cmd("FLUSHALL"))
        got, _ = cf.read_until(
            ctl, lambda b: b.endswith(b"\r\n"), time.monotonic() + cf.READ_TIMEOUT
        )
        if got != b"+OK\r\n":
            raise RuntimeError(f"FLUSHALL answered {got!r}")
    conns, states, transcript = {}, {}, []
    try:
        for n, (kind, c, data) in enumerate(case.steps):
            if kind == "pause":
                time.sleep(c / 1000)
                continue
            if c not in conns:
                conns[c] = cf.connect(side.addrs[(c - 1) % len(side.addrs)])
                states[c] = "open"
            sock = conns[c]
            for i, node_id in enumerate(side.ids, 1):
                data = data.replace(nodeid(i), node_id)
            data = with_ports(data, side.addrs)
            if states[c] != "open":
                transcript.append((c, b"", states[c]))
                continue
            cf.send(sock, data, case.chunks)
            if case.wait is not None:
                buf, state = cf.read_until(sock, None, time.monotonic() + case.wait / 1000)
            else:
                tail = cf.sentinel_tail(b"sentinel-%d" % n)
                cf.send(sock, cf.cmd("PING", b"sentinel-%d" % n), 0)
                buf, state = cf.read_until(
                    sock, lambda b: b.endswith(tail), time.monotonic() + cf.READ_TIMEOUT
                )
                if state == "open":
                    buf = buf[: -len(tail)]
            states[c] = state
            transcript.append((c, buf, state))
    finally:
        for s in conns.values():
            s.close()
    return transcript


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--redis", required=True, help="H:P,H:P,H:P of the redis-server cluster")
    ap.add_argument("--clone", required=True, help="H:P,H:P,H:P of the clone nodes")
    ap.add_argument("--group", action="append", help="run only these groups")
    ap.add_argument("-v", "--verbose", action="store_true", help="show passing transcripts")
    args = ap.parse_args()

    cases = cf.load_cases(args.group, CASES_DIR, EXTRA_FLAGS)
    redis = Side(args.redis.split(","))
    clone = Side(args.clone.split(","))
    if len(redis.addrs) != len(clone.addrs):
        sys.exit("both clusters need the same number of nodes")
    ctl = {id(side): [cf.connect(a) for a in side.addrs] for side in (redis, clone)}
    passed = failed = 0
    started = time.monotonic()
    for case in cases:
        try:
            redis_t = None if case.expect else run_case(redis, case, ctl[id(redis)])
            clone_t = run_case(clone, case, ctl[id(clone)])
            problem = cf.check(
                case,
                lambda: redis.transcript(redis_t, case),
                lambda: clone.transcript(clone_t, case),
            )
        except (OSError, RuntimeError) as e:
            problem = f"    error: {e}"
            for side in (redis, clone):
                for s in ctl[id(side)]:
                    s.close()
                ctl[id(side)] = [cf.connect(a) for a in side.addrs]
        label = f"cluster/{case.group}/{case.name}"
        if problem is None:
            passed += 1
            print(f"ok - {label}")
            if args.verbose:
                print(cf.show(clone.transcript(clone_t, case)))
        else:
            failed += 1
            print(f"not ok - {label}  [{case.where}]")
            print(problem)
    print(f"  {time.monotonic() - started:.1f}s")
    print(f"cluster conformance: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
