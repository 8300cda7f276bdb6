#!/usr/bin/env python3
"""Differential wire tests: the same bytes go to redis-server and to the clone, and the
reply bytes (and whether the connection is left open) must be identical.

Cases are data, one file per group under compat/cases/ (see compat/cases/README.md for
the format). This script needs only the Python standard library.

    conformance.py --redis 127.0.0.1:6379 --clone 127.0.0.1:6380 [--group NAME] [-v]

Each case prints `ok - group/name` or `not ok - group/name` with both transcripts; the
last line is `conformance: N passed, M failed`. Exit status 1 if any case failed.
"""

import argparse
import ast
import errno
import os
import re
import select
import socket
import sys
import time

CASES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")

# ---------------------------------------------------------------------------
# The case expression language: Python literal syntax, evaluated by walking the AST so
# a case file can build bytes but cannot run code.


def to_bytes(v):
    """str is taken byte for byte (latin-1) so "\\xff" is the byte 255."""
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("latin-1")
    if isinstance(v, int):
        return str(v).encode()
    raise ValueError(f"not bytes: {v!r}")


def cmd(*args):
    """A multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = to_bytes(a)
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def allbytes():
    """Every byte value 0..255 once."""
    return bytes(range(256))


def to(conn, data):
    """A step on connection `conn` (1-based) of a multi-connection case."""
    return ("step", int(conn), to_bytes(data))


def pause(ms):
    """A step that only waits, for expiry cases."""
    return ("pause", int(ms), b"")


def split(data):
    """Each byte of data as its own argument (use with `*`)."""
    return [bytes([b]) for b in to_bytes(data)]


def pairs(data):
    """Each byte of data twice, as a key and its value (use with `*`)."""
    return [bytes([b]) for b in to_bytes(data) for _ in range(2)]


FUNCTIONS = {
    "cmd": cmd,
    "allbytes": allbytes,
    "to": to,
    "pause": pause,
    "split": split,
    "pairs": pairs,
}


def evaluate(src):
    return _eval(ast.parse(src.strip(), mode="eval").body)


def _eval(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (bytes, str, int)):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Add):
            if isinstance(left, list) or isinstance(right, list):
                return list(left) + list(right)
            return to_bytes(left) + to_bytes(right)
        if isinstance(left, int):
            left, right = right, left
        if not isinstance(right, int) or right > 4 * 1024 * 1024:
            raise ValueError("repeat count must be an integer up to 4 MiB")
        return to_bytes(left) * right
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e) for e in node.elts]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and not node.keywords
    ):
        args = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.extend(_eval(a.value))
            else:
                args.append(_eval(a))
        return FUNCTIONS[node.func.id](*args)
    raise ValueError(f"unsupported expression: {ast.dump(node)[:80]}")


# ---------------------------------------------------------------------------
# Cases


class Case:
    def __init__(self, group, name, flags, send, expect, where):
        self.group, self.name, self.where = group, name, where
        self.flags = flags
        self.chunks = int(flags.get("chunks", 0))
        self.wait = int(flags["wait"]) if "wait" in flags else None
        self.needs = flags.get("needs")
        body = evaluate(send)
        if isinstance(body, list):
            self.steps = [s if isinstance(s, tuple) else ("step", 1, to_bytes(s)) for s in body]
        else:
            self.steps = [("step", 1, to_bytes(body))]
        self.expect = None
        if expect is not None:
            e = evaluate(expect)
            self.expect = [to_bytes(x) for x in e] if isinstance(e, list) else [to_bytes(e)]
            if len(self.expect) != len([s for s in self.steps if s[0] == "step"]):
                raise ValueError("expect needs one bytes value per step")
        self.expect_state = "closed" if "closes" in flags else "open"


def parse_flags(text, extra=()):
    flags = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        k, _, v = part.partition("=")
        flags[k.strip()] = v.strip() if _ else True
    known = {"chunks", "wait", "sort", "anyint", "needs", "closes", *extra}
    unknown = set(flags) - known
    if unknown:
        raise ValueError(f"unknown flags {sorted(unknown)}")
    return flags


def load_cases(group_filter=None, cases_dir=CASES_DIR, extra_flags=()):
    """The cases of cases_dir; extra_flags are flags another runner understands."""
    cases = []
    for fname in sorted(os.listdir(cases_dir)):
        if not fname.endswith(".cases"):
            continue
        group = fname[: -len(".cases")]
        if group_filter and group not in group_filter:
            continue
        path = os.path.join(cases_dir, fname)
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                fields = [p.strip() for p in line.split(" | ")]
                if len(fields) not in (3, 4):
                    sys.exit(f"{fname}:{lineno}: want 'name | flags | send [| expect]'")
                try:
                    cases.append(
                        Case(
                            group,
                            fields[0],
                            parse_flags(fields[1], extra_flags),
                            fields[2],
                            fields[3] if len(fields) == 4 else None,
                            f"{fname}:{lineno}",
                        )
                    )
                except (ValueError, SyntaxError, TypeError) as e:
                    sys.exit(f"{fname}:{lineno}: {e}")
    names = [(c.group, c.name) for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        sys.exit(f"duplicate case names: {sorted(dup)}")
    return cases


# ---------------------------------------------------------------------------
# Talking to a server

READ_TIMEOUT = 5.0


def connect(addr):
    host, _, port = addr.rpartition(":")
    s = socket.create_connection((host, int(port)), timeout=READ_TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def send(sock, data, chunks):
    try:
        if chunks <= 0:
            sock.sendall(data)
            return
        for i in range(0, len(data), chunks):
            sock.sendall(data[i : i + chunks])
            # Without a pause the kernel would merge the writes again.
            time.sleep(0.0005)
    except (BrokenPipeError, ConnectionResetError):
        pass


def read_until(sock, done, deadline):
    """Reads until done(buf) holds, end of file, or the deadline. Returns (buf, state)."""
    buf = b""
    while True:
        if done is not None and done(buf):
            return buf, "open"
        left = deadline - time.monotonic()
        if left <= 0:
            return buf, ("timeout" if done is not None else "open")
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            return buf, "closed"
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.EPIPE):
                return buf, "closed"
            raise
        if not chunk:
            return buf, "closed"
        buf += chunk


def sentinel_tail(token):
    return b"$%d\r\n%s\r\n" % (len(token), token)


# In RESP2 subscribed mode PING answers [pong, token].
SUB_PONG = b"*2\r\n$4\r\npong\r\n"


# The command whose reply marks the end of a step's replies. PING serves every group
# but access control, where a connection may not have logged in: there an unknown
# command (answered before authentication and permissions) marks the end.
MARKER = {"name": "ping"}


def marker(token):
    """The request and the reply that end a step: (bytes to send, reply tail)."""
    if MARKER["name"] == "ping":
        return cmd("PING", token), sentinel_tail(token)
    name = b"marker-" + token
    return cmd(name), b"-ERR unknown command '%s', with args beginning with: \r\n" % name


def run_case(addr, case, control):
    """Runs a case against one server: a transcript of (conn, reply bytes, state)."""
    control.sendall(cmd("FLUSHALL"))
    flushed, _ = read_until(control, lambda b: b.endswith(b"\r\n"), time.monotonic() + READ_TIMEOUT)
    if flushed != b"+OK\r\n":
        raise RuntimeError(f"FLUSHALL on {addr} answered {flushed!r}")
    conns = {}
    states = {}
    transcript = []
    try:
        for n, (kind, c, data) in enumerate(case.steps):
            if kind == "pause":
                time.sleep(c / 1000)
                continue
            if c not in conns:
                conns[c] = connect(addr)
                states[c] = "open"
            sock = conns[c]
            if states[c] != "open":
                transcript.append((c, b"", states[c]))
                continue
            send(sock, data, case.chunks)
            if case.wait is not None:
                buf, state = read_until(sock, None, time.monotonic() + case.wait / 1000)
            else:
                token = b"sentinel-%d" % n
                request, tail = marker(token)
                send(sock, request, 0)
                buf, state = read_until(
                    sock, lambda b: b.endswith(tail), time.monotonic() + READ_TIMEOUT
                )
                if state == "open":
                    buf = buf[: -len(tail)]
                    if buf.endswith(SUB_PONG):
                        buf = buf[: -len(SUB_PONG)]
            states[c] = state
            transcript.append((c, buf, state))
    finally:
        for c, s in conns.items():
            if states.get(c) == "open" and case.wait is None:
                # QUIT and wait for the close: the server has then dropped this client's
                # subscriptions, which a later case's PUBLISH would otherwise count (a
                # threaded server notices a plain close a moment later).
                send(s, cmd("QUIT"), 0)
                read_until(s, None, time.monotonic() + 1.0)
            s.close()
    return transcript


# ---------------------------------------------------------------------------
# Normalisation: only what identifies the server.

HELLO_FIELDS = [
    (re.compile(rb"(\$6\r\nserver\r\n)\$\d+\r\n[^\r]*\r\n"), rb"\1<server>"),
    (re.compile(rb"(\$7\r\nversion\r\n)\$\d+\r\n[^\r]*\r\n"), rb"\1<version>"),
    (re.compile(rb"(\$2\r\nid\r\n):\d+\r\n"), rb"\1<id>"),
]


def frames(buf):
    """Splits a reply stream into top-level frames: [(raw bytes, [element raw bytes])]."""
    out = []
    pos = 0
    while pos < len(buf):
        end, elems = _frame(buf, pos)
        if end is None:
            out.append((buf[pos:], []))
            break
        out.append((buf[pos:end], elems))
        pos = end
    return out


def _line(buf, pos):
    nl = buf.find(b"\r\n", pos)
    return (None, None) if nl < 0 else (buf[pos + 1 : nl], nl + 2)


def _frame(buf, pos):
    """End of the frame at pos and its direct elements' raw bytes, or (None, None)."""
    if pos >= len(buf):
        return None, None
    t = buf[pos : pos + 1]
    head, after = _line(buf, pos)
    if head is None:
        return None, None
    if t in b"$=!" and head != b"-1" and head.lstrip(b"-").isdigit():
        end = after + int(head) + 2
        return (end, []) if end <= len(buf) else (None, None)
    if t in b"*~>%|" and head != b"-1" and head.isdigit():
        count = int(head) * (2 if t in b"%|" else 1)
        elems = []
        p = after
        for _ in range(count):
            e, _ = _frame(buf, p)
            if e is None:
                return None, None
            elems.append(buf[p:e])
            p = e
        return p, elems
    return after, []


def normalise(buf, case):
    for rx, repl in HELLO_FIELDS:
        buf = rx.sub(repl, buf)
    if "sort" in case.flags or "anyint" in case.flags:
        parts = []
        for raw, elems in frames(buf):
            if "sort" in case.flags and raw[:1] in b"*~" and elems:
                raw = raw[: len(raw) - sum(map(len, elems))] + b"".join(sorted(elems))
            if "anyint" in case.flags and raw[:1] == b":":
                raw = b":<int>\r\n"
            parts.append(raw)
        buf = b"".join(parts)
    return buf


def normalised(transcript, case):
    return [(c, normalise(b, case), s) for c, b, s in transcript]


# ---------------------------------------------------------------------------


def show(transcript):
    return "\n".join(f"      [conn {c}] {b!r} ({s})" for c, b, s in transcript)


def check(case, redis_transcript, clone_transcript):
    """None if the case passes, else a description of the difference. The arguments
    give each server's normalised transcript when called; redis-server is asked only
    for cases it answers (not documented differences)."""
    got = clone_transcript()
    if case.expect is not None:
        steps = [s for s in case.steps if s[0] == "step"]
        want = [
            (c, e, case.expect_state if i == len(steps) - 1 else "open")
            for i, ((_, c, _), e) in enumerate(zip(steps, case.expect))
        ]
        if got != want:
            return f"    expected (documented difference):\n{show(want)}\n    clone:\n{show(got)}"
        return None
    r = redis_transcript()
    if r != got:
        return f"    redis:\n{show(r)}\n    clone:\n{show(got)}"
    if any(s == "timeout" for _, _, s in r):
        return f"    both timed out (bad case?):\n{show(r)}"
    if ("closes" in case.flags) != (r[-1][2] == "closed"):
        return f"    the case's 'closes' flag disagrees with redis-server:\n{show(r)}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--redis", required=True, help="HOST:PORT of redis-server")
    ap.add_argument("--clone", required=True, help="HOST:PORT of the clone")
    ap.add_argument("--group", action="append", help="run only these groups")
    ap.add_argument("-v", "--verbose", action="store_true", help="show passing transcripts")
    ap.add_argument("--cases", default=CASES_DIR, help="the directory of the .cases files")
    ap.add_argument("--auth", help="the default user's password (access-control cases)")
    args = ap.parse_args()

    cases = load_cases(args.group, args.cases)
    if args.auth is not None:
        MARKER["name"] = "unknown"

    def control(addr):
        s = connect(addr)
        if args.auth is not None:
            s.sendall(cmd("AUTH", args.auth))
            ok, _ = read_until(s, lambda b: b.endswith(b"\r\n"), time.monotonic() + READ_TIMEOUT)
            if ok != b"+OK\r\n":
                raise RuntimeError(f"AUTH on {addr} answered {ok!r}")
        return s

    ctl = {a: control(a) for a in (args.redis, args.clone)}
    passed = failed = 0
    per_group = {}
    pending = []
    started = time.monotonic()
    for case in cases:
        try:
            # A documented difference is checked against its expected answer alone.
            redis_t = None if case.expect else run_case(args.redis, case, ctl[args.redis])
            clone_t = run_case(args.clone, case, ctl[args.clone])
            problem = check(
                case,
                lambda: normalised(redis_t, case),
                lambda: normalised(clone_t, case),
            )
        except (OSError, RuntimeError) as e:
            problem = f"    error: {e}"
            # A dead control connection would fail every later case: reopen it.
            for a in ctl:
                ctl[a].close()
                ctl[a] = control(a)
        g = per_group.setdefault(case.group, [0, 0])
        label = f"{case.group}/{case.name}"
        if problem is None:
            passed += 1
            g[0] += 1
            print(f"ok - {label}")
            if args.verbose:
                print(show(normalised(clone_t, case)))
        else:
            failed += 1
            g[1] += 1
            note = f" (needs {case.needs} in the clone)" if case.needs else ""
            print(f"not ok - {label}{note}  [{case.where}]")
            print(problem)
            if case.needs:
                pending.append(label)
    print()
    for group, (p, f) in sorted(per_group.items()):
        print(f"  {group:<12} {p + f:4d} cases, {f} failed")
    if pending:
        print(f"  {len(pending)} failures are in cases that need unfinished clone features")
    print(f"  {time.monotonic() - started:.1f}s")
    print(f"conformance: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
