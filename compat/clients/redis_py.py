#!/usr/bin/env python3
"""redis-py scenarios: every reply asserted. Prints `ok - ...` / `not ok - ...` lines.

    redis_py.py --label clone --tcp 127.0.0.1:6380 --unix /tmp/s.sock --tls 127.0.0.1:6381 --ca cert.pem

Run against redis-server too (same flags) to show the assertions are Redis's answers.
"""

import argparse
import concurrent.futures
import sys
import threading
import time

import redis
from report import Report, eq

ALL_BYTES = bytes(range(256))
report = Report()


def scenario(fn):
    """Runs fn(make) and prints its result line."""

    def run(label, make):
        report.run(f"redis-py [{label}] {fn.__name__}", fn, make)

    run.__name__ = fn.__name__
    return run


def raises(fn, text):
    try:
        fn()
    except redis.ResponseError as e:
        eq(str(e), text)
    else:
        raise AssertionError(f"no error, wanted {text!r}")


def proto(r):
    """The protocol the connection negotiated with HELLO (None: no HELLO sent)."""
    conn = r.connection_pool.get_connection()
    try:
        meta = conn.handshake_metadata or {}
        return meta.get(b"proto", meta.get("proto"))
    finally:
        r.connection_pool.release(conn)


def basics(r):
    """SET / GET / a missing key / a pipeline: the issue's minimum."""
    r.flushall()
    eq(r.set("k", "v"), True)
    eq(r.get("k"), b"v")
    eq(r.get("missing"), None)
    p = r.pipeline(transaction=False)
    p.set("a", "1").get("a").get("nope").execute_command("INCR", "a").mget("a", "nope")
    eq(p.execute(), [True, b"1", None, 2, [b"2", None]])


@scenario
def default_settings(make):
    """Default settings: redis-py 8 opens with HELLO 3 and needs a good answer."""
    r = make()
    eq(r.ping(), True)
    eq(proto(r), 3)
    basics(r)
    r.close()


@scenario
def protocol_3(make):
    r = make(protocol=3)
    eq(proto(r), 3)
    basics(r)
    hello = r.execute_command("HELLO", 3)
    eq(hello[b"proto"] if b"proto" in hello else hello["proto"], 3)
    eq(r.client_getname(), None)
    eq(r.set("k", "v", nx=True), None)
    r.close()


@scenario
def protocol_2(make):
    r = make(protocol=2)
    eq(proto(r), None)  # protocol=2 sends no HELLO at all
    basics(r)
    r.close()


@scenario
def commands(make):
    r = make()
    r.flushall()
    eq(r.ping(), True)
    eq(r.echo("hello"), b"hello")
    eq(r.set("s", "1", nx=True), True)
    eq(r.set("s", "2", nx=True), None)
    eq(r.set("s", "3", xx=True), True)
    eq(r.set("nx", "3", xx=True), None)
    eq(r.set("s", "4", get=True), b"3")
    eq(r.set("e", "v", ex=100), True)
    eq(r.set("e", "w", px=100000, get=True), b"v")
    eq(r.set("e", "x", keepttl=True), True)
    eq(r.set("t", "v", px=50), True)
    time.sleep(0.15)
    eq(r.get("t"), None)
    eq(r.exists("s", "e", "t", "s"), 3)
    eq(r.delete("s", "e", "missing"), 2)
    eq(r.incr("n"), 1)
    eq(r.incr("n"), 2)
    eq(r.decr("n"), 1)
    eq(r.decr("m"), -1)
    eq(r.mset({"a": "1", "b": "2"}), True)
    eq(r.mget("a", "b", "c"), [b"1", b"2", None])
    eq(r.dbsize(), 4)
    eq(sorted(r.keys("*")), [b"a", b"b", b"m", b"n"])
    eq(sorted(r.keys("?")), [b"a", b"b", b"m", b"n"])
    eq(r.keys("zz*"), [])
    eq(r.set(ALL_BYTES, ALL_BYTES), True)
    eq(r.get(ALL_BYTES), ALL_BYTES)
    eq(r.set("crlf", b"a\r\nb"), True)
    eq(r.get("crlf"), b"a\r\nb")
    eq(r.client_setname("py-client"), True)
    eq(r.client_getname(), "py-client")
    assert isinstance(r.client_id(), int)
    raises(lambda: r.incr("crlf"), "value is not an integer or out of range")
    r.set("big", "9223372036854775807")
    raises(lambda: r.incr("big"), "increment or decrement would overflow")
    raises(lambda: r.execute_command("GET"), "wrong number of arguments for 'get' command")
    raises(lambda: r.execute_command("NOPE", "a"),
           "unknown command 'NOPE', with args beginning with: 'a' ")
    raises(lambda: r.set("k", "v", ex=0), "invalid expire time in 'set' command")
    raises(lambda: r.execute_command("SELECT", 16), "DB index is out of range")
    eq(r.flushdb(), True)
    eq(r.dbsize(), 0)
    r1 = make(db=1)
    eq(r1.set("only1", "x"), True)
    eq(r.get("only1"), None)
    eq(r1.get("only1"), b"x")
    eq(r.flushall(), True)
    eq(r1.dbsize(), 0)
    r.close()
    r1.close()


@scenario
def pipeline_10000(make):
    r = make()
    r.flushall()
    p = r.pipeline(transaction=False)
    want = []
    for i in range(2500):
        p.set(f"key:{i}", f"value:{i}")
        p.get(f"key:{i}")
        p.execute_command("INCR", "counter")
        p.get(f"missing:{i}")
        want += [True, f"value:{i}".encode(), i + 1, None]
    replies = p.execute()
    eq(len(replies), 10000)
    eq(replies, want)
    eq(r.dbsize(), 2501)
    r.close()


def read_messages(p, n, timeout=5.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        m = p.get_message(timeout=0.1)
        if m is not None:
            out.append(m)
    return out


def pubsub_with(make, **kw):
    r = make(**kw)
    r.flushall()
    p = r.pubsub()
    p.subscribe("news")
    p.psubscribe("sport.*", "h?llo")
    confirms = read_messages(p, 3)
    eq([(m["type"], m["channel"], m["data"]) for m in confirms],
       [("subscribe", b"news", 1), ("psubscribe", b"sport.*", 2), ("psubscribe", b"h?llo", 3)])
    eq(r.publish("news", "n1"), 1)
    eq(r.publish("sport.tennis", "s1"), 1)
    eq(r.publish("hello", ALL_BYTES), 1)
    eq(r.publish("nobody", "x"), 0)
    got = read_messages(p, 3)
    eq([(m["type"], m["pattern"], m["channel"], m["data"]) for m in got], [
        ("message", None, b"news", b"n1"),
        ("pmessage", b"sport.*", b"sport.tennis", b"s1"),
        ("pmessage", b"h?llo", b"hello", ALL_BYTES),
    ])
    p.unsubscribe("news")
    p.punsubscribe()
    bye = read_messages(p, 3)
    eq(sorted((m["type"], m["channel"]) for m in bye),
       [("punsubscribe", b"h?llo"), ("punsubscribe", b"sport.*"), ("unsubscribe", b"news")])
    eq(bye[-1]["data"], 0)
    eq(r.publish("news", "late"), 0)
    p.close()
    r.close()


@scenario
def pubsub_patterns(make):
    pubsub_with(make)


@scenario
def pubsub_patterns_resp2(make):
    pubsub_with(make, protocol=2)


@scenario
def thread_pool_100x100(make):
    r = make(max_connections=100)
    r.flushall()
    errors = []
    lock = threading.Lock()

    def worker(t):
        for i in range(100):
            key = f"t{t}:{i % 10}"
            op = i % 4
            if op == 0:
                eq(r.set(key, f"{t}-{i}"), True)
            elif op == 1:
                n = r.incr("shared")
                assert isinstance(n, int) and 1 <= n <= 2500, n
            elif op == 2:
                eq(r.get(f"none:{t}"), None)
            else:
                eq(r.echo(key), key.encode())

    def run(t):
        try:
            worker(t)
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append(f"thread {t}: {e!r}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        list(pool.map(run, range(100)))
    eq(errors, [])
    eq(int(r.get("shared")), 100 * 25)
    for t in range(100):
        eq(r.get(f"t{t}:0"), f"{t}-80".encode())
    r.close()


@scenario
def unix_socket(make):
    r = make(unix=True)
    eq(r.ping(), True)
    eq(proto(r), 3)
    basics(r)
    r.close()


@scenario
def tls(make):
    r = make(tls=True)
    eq(r.ping(), True)
    eq(proto(r), 3)
    basics(r)
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set(f"k{i}", "x" * 1000).get(f"k{i}")
    replies = p.execute()
    eq(replies, [True, b"x" * 1000] * 1000)
    r.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--tcp", required=True)
    ap.add_argument("--unix")
    ap.add_argument("--tls")
    ap.add_argument("--ca")
    a = ap.parse_args()
    host, port = a.tcp.rsplit(":", 1)

    def make(unix=False, tls=False, **kw):
        kw.setdefault("socket_timeout", 10)
        if unix:
            return redis.Redis(unix_socket_path=a.unix, **kw)
        if tls:
            thost, tport = a.tls.rsplit(":", 1)
            return redis.Redis(host=thost, port=int(tport), ssl=True, ssl_ca_certs=a.ca,
                               ssl_check_hostname=False, **kw)
        return redis.Redis(host=host, port=int(port), **kw)

    print(f"# redis-py {redis.__version__} against {a.label}")
    for s in (default_settings, protocol_3, protocol_2, commands, pipeline_10000,
              pubsub_patterns, pubsub_patterns_resp2, thread_pool_100x100):
        s(a.label, make)
    if a.unix:
        unix_socket(a.label, make)
    if a.tls:
        tls(a.label, make)
    return report.status()


if __name__ == "__main__":
    sys.exit(main())
