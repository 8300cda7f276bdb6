#!/usr/bin/env python3
"""Keyspace behaviours that single request/reply cases cannot show, checked over raw
sockets (standard library only). Prints `ok - ...` / `not ok - ...` lines; exits
non-zero on a failure.

    keyspace_checks.py --label clone --addr 127.0.0.1:6380

- SCAN under churn: 20,000 keys stay in the database while other connections insert
  and delete 40,000 more (so the tables grow, shrink and rehash); full SCAN
  iterations with several COUNTs, with MATCH, must each return every one of the 20,000.
- Active expiry: 20,000 keys written with a 1 s TTL and never read again must leave
  the database on their own: INFO's Keyspace counts (which include expired keys not
  yet removed, in Redis as in the clone) must fall back to the 10 persistent keys.
  Without active expiry they stay at 20,010.
"""

import argparse
import socket
import sys
import threading
import time


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest if kind == b"+" else int(rest)
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind in (b"$", b"="):
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")

    def call(self, *args):
        self.sock.sendall(enc(*args))
        return self.reply()

    def pipeline(self, commands):
        self.sock.sendall(b"".join(enc(*c) for c in commands))
        return [self.reply() for _ in commands]


def full_scan(c, *opts):
    seen, cursor, calls = [], b"0", 0
    while True:
        cursor, keys = c.call("SCAN", cursor, *opts)
        seen.extend(keys)
        calls += 1
        if cursor == b"0":
            return seen, calls


def scan_under_churn(addr):
    c = Conn(addr)
    c.call("FLUSHALL")
    stable = {b"stable:%d" % i for i in range(20000)}
    for i in range(0, 20000, 1000):
        c.pipeline([("SET", b"stable:%d" % j, "v") for j in range(i, i + 1000)])
    stop = threading.Event()

    def churn(n):
        w = Conn(addr)
        i = 0
        while not stop.is_set() and i < 20000:
            batch = [("SET", b"churn:%d:%d" % (n, j), "x") for j in range(i, i + 500)]
            w.pipeline(batch)
            if i >= 5000:
                w.pipeline([("DEL", b"churn:%d:%d" % (n, j)) for j in range(i - 5000, i - 4500)])
            i += 500

    writers = [threading.Thread(target=churn, args=(n,)) for n in range(2)]
    for w in writers:
        w.start()
    try:
        for opts in [(), ("COUNT", "1"), ("COUNT", "100"), ("COUNT", "1000"), ("MATCH", "stable:*")]:
            seen, calls = full_scan(c, *opts)
            missing = stable - set(seen)
            assert not missing, f"SCAN {opts} missed {len(missing)} keys, e.g. {sorted(missing)[:3]}"
            if opts and opts[0] == "MATCH":
                assert all(k.startswith(b"stable:") for k in seen), "MATCH let other keys through"
    finally:
        stop.set()
        for w in writers:
            w.join()
    c.call("FLUSHALL")


def keyspace_counts(c):
    info = c.call("INFO", "keyspace").decode()
    for line in info.split("\r\n"):
        if line.startswith("db0:"):
            fields = dict(f.split("=") for f in line[4:].split(","))
            return int(fields["keys"]), int(fields["expires"])
    return 0, 0


def active_expiry(addr):
    c = Conn(addr)
    c.call("FLUSHALL")
    for i in range(0, 20000, 1000):
        c.pipeline([("SET", b"ttl:%d" % j, "v" * 100, "PX", "1000") for j in range(i, i + 1000)])
    c.pipeline([("SET", b"kept:%d" % j, "v") for j in range(10)])
    keys, expires = keyspace_counts(c)
    assert keys > 10 and expires > 0, f"just written: {keys} keys, {expires} volatile"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.25)
        keys, expires = keyspace_counts(c)
        if keys == 10:
            break
    assert (keys, expires) == (10, 0), f"10 s later INFO still counts {keys} keys, {expires} volatile"
    c.call("FLUSHALL")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--label", default="server")
    args = ap.parse_args()
    failed = 0
    for check in (scan_under_churn, active_expiry):
        name = check.__name__.replace("_", " ")
        started = time.monotonic()
        try:
            check(args.addr)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            failed += 1
            print(f"not ok - {args.label}: {name}: {e}")
        else:
            print(f"ok - {args.label}: {name} ({time.monotonic() - started:.1f} s)")
        sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
