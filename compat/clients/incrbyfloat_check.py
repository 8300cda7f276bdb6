#!/usr/bin/env python3
"""INCRBYFLOAT on thousands of generated values, against redis-server: the clone must
print every sum with the same digits (Redis adds in 80-bit long double and prints with
%.17Lf). Standard library only; prints `ok - ...` / `not ok - ...`.

    incrbyfloat_check.py --redis 127.0.0.1:6379 --clone 127.0.0.1:6380 [--count 20000]
"""

import argparse
import random
import socket
import sys

from keyspace_checks import enc


def replies(addr, commands):
    """The raw reply bytes of each command (each reply is one line or one bulk)."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall(b"".join(enc(*c) for c in commands))
    buf, out = b"", []
    while len(out) < len(commands):
        while True:
            end = buf.find(b"\r\n")
            if end < 0:
                break
            if buf[:1] == b"$" and int(buf[1:end]) >= 0:
                total = end + 2 + int(buf[1:end]) + 2
                if len(buf) < total:
                    break
            else:
                total = end + 2
            out.append(buf[:total])
            buf = buf[total:]
        if len(out) < len(commands):
            chunk = s.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
    s.close()
    return out


def number(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randint(-10**6, 10**6))
    if kind == 1:
        return "%.*f" % (rng.randrange(1, 8), rng.uniform(-1000, 1000))
    if kind == 2:
        return "%.*e" % (rng.randrange(1, 20), rng.uniform(-10, 10) * 10 ** rng.randrange(-40, 40))
    if kind == 3:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 30)))
        return rng.choice(["", "-"]) + digits[:3] + "." + digits[3:]
    if kind == 4:
        return repr(rng.uniform(-1e6, 1e6))
    return "%de%d" % (rng.randint(-99999, 99999), rng.randrange(-25, 25))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis", required=True)
    ap.add_argument("--clone", required=True)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    commands = [("FLUSHALL",)]
    for i in range(args.count):
        key = "f%d" % (i % 50)
        if rng.randrange(4) == 0:
            commands.append(("SET", key, number(rng)))
        commands.append(("INCRBYFLOAT", key, number(rng)))
    want, got = replies(args.redis, commands), replies(args.clone, commands)
    bad = [(c, w, g) for c, w, g in zip(commands, want, got) if w != g]
    if bad:
        print(f"not ok - incrbyfloat: {len(bad)} of {len(commands)} replies differ")
        for c, w, g in bad[:10]:
            print(f"    {c}: redis {w!r}, clone {g!r}")
        sys.exit(1)
    print(f"ok - incrbyfloat: {len(commands)} replies identical")


if __name__ == "__main__":
    main()
