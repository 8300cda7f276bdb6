#!/usr/bin/env python3
"""Operators' tools against a fresh clone: `redis-cli info`, `redis-cli --stat`,
`redis-cli monitor` (compared line for line with redis-server's), CLIENT KILL,
CLIENT LIST / CLIENT INFO (fields compared with redis-server's where deterministic), and
Debian's prometheus-redis-exporter, whose metrics must account exactly for the load
this script sends (commands, input bytes, connections), after subtracting what the
exporter's own scrapes cost (measured from two scrapes with no load between them).
Standard library only; prints `ok - ...` / `not ok - ...`.

    ops_check.py --clone-bin PATH [--redis HOST:PORT]
"""

import argparse
import re
import socket
import subprocess
import sys
import time
import urllib.request

from report import Report, eq


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, what):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start on port {port}")


def enc(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def send_load(port, conns, per_conn):
    """`conns` connections, each one pipelined write of `per_conn` SETs, read in full,
    then closed; returns the bytes sent."""
    sent = 0
    for c in range(conns):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        req = b"".join(enc("SET", f"k{c}:{i}", "v" * 10) for i in range(per_conn))
        s.sendall(req)
        sent += len(req)
        want, got = b"+OK\r\n" * per_conn, b""
        while len(got) < len(want):
            chunk = s.recv(65536)
            assert chunk, "closed early"
            got += chunk
        assert got == want
        s.close()
    return sent


def scrape(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    metrics = {}
    for line in text.splitlines():
        m = re.match(r"^(redis_[a-z_]+) ([-0-9.e+]+)$", line)
        if m:
            metrics[m.group(1)] = float(m.group(2))
    return metrics


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clone-bin", required=True)
    ap.add_argument("--redis", help="HOST:PORT of redis-server, to compare MONITOR with")
    args = ap.parse_args()
    r = Report()
    port, web = free_port(), free_port()
    clone = subprocess.Popen([args.clone_bin, "--addr", f"127.0.0.1:{port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    exporter = None
    try:
        wait_for_port(port, "clone")

        def cli_info():
            out = subprocess.run(["redis-cli", "-p", str(port), "info"], capture_output=True,
                                 text=True, timeout=10, check=True).stdout
            for field in ["# Server", "redis_version:7.0.15", "# Clients", "connected_clients:1",
                          "# Memory", "used_memory_human:", "# Stats",
                          "total_commands_processed:", "# CPU", "used_cpu_user:", "# Keyspace"]:
                assert field in out, f"{field!r} missing from:\n{out}"
        r.run("redis-cli info: Redis's sections and fields", cli_info)

        def cli_stat():
            for i in range(7):
                subprocess.run(["redis-cli", "-p", str(port), "set", f"stat{i}", "v"],
                               capture_output=True, timeout=10, check=True)
            p = subprocess.Popen(["stdbuf", "-oL", "redis-cli", "-p", str(port), "--stat",
                                  "-i", "0.2"], stdout=subprocess.PIPE, text=True)
            lines = []
            try:
                while len(lines) < 5:
                    line = p.stdout.readline()
                    assert line, "redis-cli --stat ended"
                    if re.match(r"^\d", line):
                        lines.append(line.split())
            finally:
                p.kill()
                p.wait()
            # keys, mem, clients, blocked, requests, (+delta), connections
            assert all(row[0] == "7" for row in lines), lines
            assert all(row[2] == "1" and row[3] == "0" for row in lines), lines
            # Each sample counts the previous INFO: +1 request per sample.
            assert [row[5] for row in lines[1:]] == ["(+1)"] * 4, lines
            # The start-up probe, INFO's client, the 7 SETs' clients and itself.
            assert all(row[6] == "10" for row in lines), lines
        r.run("redis-cli --stat: keys, clients, blocked, requests, connections", cli_stat)

        def client_kill():
            def conn():
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(enc("CLIENT", "ID"))
                return s, int(s.recv(100)[1:-2])

            def call(s, *args):
                s.sendall(enc(*args))
                return s.recv(1000)

            def closed(s):
                try:
                    return s.recv(100) == b""
                except ConnectionResetError:
                    return True

            killer, _ = conn()
            # By id, while the target is blocked in BLPOP.
            a, a_id = conn()
            a.sendall(enc("BLPOP", "nothing", "0"))
            time.sleep(0.1)
            eq(call(killer, "CLIENT", "KILL", "ID", a_id), b":1\r\n", "kill by id")
            assert closed(a), "the blocked client was not closed"
            # The old form, by address.
            b, _ = conn()
            addr = "127.0.0.1:%d" % b.getsockname()[1]
            eq(call(killer, "CLIENT", "KILL", addr), b"+OK\r\n", "kill by address")
            assert closed(b)
            eq(call(killer, "CLIENT", "KILL", addr), b"-ERR No such client\r\n", "again")
            # ADDR filter, and LADDR with SKIPME yes (every other client on the port).
            c, _ = conn()
            d, _ = conn()
            eq(call(killer, "CLIENT", "KILL", "ADDR", "127.0.0.1:%d" % c.getsockname()[1]),
               b":1\r\n", "ADDR")
            assert closed(c)
            eq(call(killer, "CLIENT", "KILL", "LADDR", "127.0.0.1:%d" % port), b":1\r\n", "LADDR")
            assert closed(d)
            eq(call(killer, "PING"), b"+PONG\r\n", "the killer lives")
            killer.close()
        r.run("CLIENT KILL: by id (a client blocked in BLPOP), by address, ADDR, LADDR",
              client_kill)

        def client_list_view(p):
            """CLIENT LIST and CLIENT INFO for the same set of clients: a named one that
            selected db 2 and ran SET last, a subscriber, a pattern subscriber, a
            monitor, one blocked in BLPOP, one on RESP3. Returns each role's fields (in
            order), plus replies whose bytes must match exactly."""
            def conn(*cmds):
                s = socket.create_connection(("127.0.0.1", p), timeout=10)
                for c in cmds:
                    s.sendall(enc(*c))
                    time.sleep(0.05)
                time.sleep(0.1)
                s.setblocking(False)
                try:
                    while s.recv(65536):
                        pass
                except BlockingIOError:
                    pass
                s.setblocking(True)
                return s

            def bulk(s, *args):
                s.sendall(enc(*args))
                data = b""
                while b"\r\n" not in data:
                    data += s.recv(65536)
                head, _, rest = data.partition(b"\r\n")
                if head[:1] not in b"$=":
                    return head
                n = int(head[1:])
                while len(rest) < n + 2:
                    rest += s.recv(65536)
                return head[:1] + rest[:n]

            roles = {
                "named": conn(("CLIENT", "SETNAME", "named"), ("SELECT", "2"),
                              ("SET", "clientlist:k", "v")),
                "sub": conn(("SUBSCRIBE", "ch1", "ch2")),
                "psub": conn(("PSUBSCRIBE", "p*")),
                "monitor": conn(("MONITOR",)),
                "blocked": conn(("BLPOP", "clientlist:nothing", "0")),
                "resp3": conn(("HELLO", "3"), ("PING",)),
            }
            lister = conn()
            try:
                by_port = {s.getsockname()[1]: role for role, s in roles.items()}
                by_port[lister.getsockname()[1]] = "lister"

                def parse(text):
                    out = {}
                    for line in text.decode().splitlines():
                        fields = [f.split("=", 1) for f in line.split(" ")]
                        port = int(dict(fields)["addr"].rsplit(":", 1)[1])
                        if port in by_port:
                            out[by_port[port]] = fields
                        else:
                            assert "laddr" in dict(fields)
                    return out

                listed = bulk(lister, "CLIENT", "LIST")
                assert listed[:1] == b"$", listed
                view = parse(listed[1:])
                info = bulk(roles["resp3"], "CLIENT", "INFO")
                # RESP3: a verbatim string, format txt.
                assert info[:5] == b"=txt:", info
                view["resp3-info"] = parse(info[5:])["resp3"]
                view["pubsub-type"] = sorted(parse(bulk(lister, "CLIENT", "LIST", "TYPE",
                                                        "pubsub")[1:]))
                blocked_id = dict(view["blocked"])["id"]
                twice = bulk(lister, "CLIENT", "LIST", "ID", blocked_id, "999999", blocked_id)
                view["by-id"] = [by_port[int(dict(f.split("=", 1) for f in l.split(" "))
                                             ["addr"].rsplit(":", 1)[1])]
                                 for l in twice[1:].decode().splitlines()]
                errors = [bulk(lister, *c) for c in [
                    ("CLIENT", "LIST", "TYPE", "foo"), ("CLIENT", "LIST", "ID", "x"),
                    ("CLIENT", "LIST", "ID"), ("CLIENT", "LIST", "TYPE", "normal", "ID", "1"),
                    ("CLIENT", "INFO", "x"), ("CLIENT", "LIST", "ID", "0")]]
                # CLIENT KILL's TYPE filter sees the same types: the two subscribers.
                errors.append(bulk(lister, "CLIENT", "KILL", "TYPE", "pubsub"))
                eq(errors[-1], b":2", "CLIENT KILL TYPE pubsub")
                return view, errors
            finally:
                for s in [*roles.values(), lister]:
                    s.close()

        # What redis-server and the clone must show alike; the rest (ids, addresses,
        # ages, buffer sizes) differ by nature.
        deterministic = ["name", "flags", "db", "sub", "psub", "ssub", "multi", "multi-mem",
                         "oll", "omem", "events", "cmd", "user", "redir", "resp"]

        def client_list():
            view, errors = client_list_view(port)
            eq([k for k, _ in view["named"]][:3], ["id", "addr", "laddr"], "first fields")
            got = {role: [(k, v) for k, v in fields if k in deterministic]
                   for role, fields in view.items() if role not in ("pubsub-type", "by-id")}
            eq(dict(got["named"])["cmd"], "set", "the named client's last command")
            eq(dict(got["blocked"])["flags"], "b", "blocked in BLPOP")
            eq(view["pubsub-type"], ["psub", "sub"], "TYPE pubsub")
            eq(view["by-id"], ["blocked", "blocked"], "ID, repeated and unknown")
            if args.redis:
                r_view, r_errors = client_list_view(int(args.redis.rsplit(":", 1)[1]))
                eq([[k for k, _ in f] for f in view.values() if isinstance(f[0], list)],
                   [[k for k, _ in f] for f in r_view.values() if isinstance(f[0], list)],
                   "field names and order, clone vs redis-server")
                r_got = {role: [(k, v) for k, v in fields if k in deterministic]
                         for role, fields in r_view.items()
                         if role not in ("pubsub-type", "by-id")}
                eq(got, r_got, "deterministic fields, clone vs redis-server")
                eq(view["pubsub-type"], r_view["pubsub-type"], "TYPE pubsub vs redis-server")
                eq(view["by-id"], r_view["by-id"], "ID vs redis-server")
                eq(errors, r_errors, "errors, clone vs redis-server")
        r.run("CLIENT LIST / CLIENT INFO: named, subscribed, monitor, blocked, RESP3 "
              "clients as redis-server shows them", client_list)

        def monitor_transcript(p):
            """redis-cli monitor's view of one pipelined burst, times and addresses
            normalised."""
            mon = subprocess.Popen(["stdbuf", "-oL", "redis-cli", "-p", str(p), "monitor"],
                                   stdout=subprocess.PIPE)
            try:
                assert mon.stdout.readline() == b"OK\n"
                burst = [("SET", f"key{i}", "v" * (i % 7)) for i in range(100)]
                burst += [("SET", b"bin\x00\x01\r\n\"\\\xff", b"\t\x07\x08 ")]
                burst += [("GET", f"key{i}") for i in range(100)]
                burst += [("NOSUCHCOMMAND", "x"), ("GET",), ("SELECT", "5"), ("ECHO", "in 5"),
                          ("SELECT", "0"), ("CONFIG", "GET", "save"), ("PING",)]
                s = socket.create_connection(("127.0.0.1", p), timeout=10)
                s.sendall(b"".join(enc(*c) for c in burst))
                time.sleep(0.3)
                s.close()
                want_lines = len(burst) - 3  # unknown, arity error, admin CONFIG: not shown
                lines = [mon.stdout.readline() for _ in range(want_lines)]
            finally:
                mon.kill()
                mon.wait()
            return [re.sub(rb"^\d+\.\d{6} \[(\d+) [^\]]+\]", rb"T [\1 ADDR]", l)
                    for l in lines]

        def monitor_burst():
            clone_lines = monitor_transcript(port)
            if args.redis:
                host, rport = args.redis.rsplit(":", 1)
                redis_lines = monitor_transcript(int(rport))
                eq(clone_lines, redis_lines, "monitor lines, clone vs redis-server")
            assert clone_lines[0] == b'T [0 ADDR] "SET" "key0" ""\n', clone_lines[0]
            assert clone_lines[-1] == b'T [0 ADDR] "PING"\n', clone_lines[-1]
        r.run("redis-cli monitor: a pipelined burst line for line as redis-server shows it",
              monitor_burst)

        def slow_monitor_dropped():
            m = socket.create_connection(("127.0.0.1", port), timeout=30)
            m.sendall(enc("MONITOR"))
            time.sleep(0.2)
            # A monitor that never reads: 100,000 lines (15 MB) overflow its queue and
            # the socket buffers.
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            for _ in range(20):
                s.sendall(b"".join(enc("SET", "k", "x" * 100) for _ in range(5000)))
                want, got = b"+OK\r\n" * 5000, b""
                while len(got) < len(want):
                    got += s.recv(65536)
            s.close()
            # It was cut off: reading drains what was sent, then ends.
            deadline = time.monotonic() + 10
            while True:
                assert time.monotonic() < deadline, "the slow monitor was not dropped"
                try:
                    if not m.recv(65536):
                        break
                except ConnectionResetError:
                    break
            m.close()
        r.run("MONITOR: a monitor that does not read is dropped, the others are served",
              slow_monitor_dropped)

        exporter = subprocess.Popen(
            ["prometheus-redis-exporter", "-redis.addr", f"redis://127.0.0.1:{port}",
             "-web.listen-address", f"127.0.0.1:{web}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(web, "prometheus-redis-exporter")

        def exporter_counts_the_load():
            s0 = scrape(web)
            eq(s0["redis_up"], 1.0, "redis_up")
            s1 = scrape(web)
            s2 = scrape(web)
            # What one scrape costs, once the exporter's connection is set up.
            cost = {k: s2[k] - s1[k] for k in
                    ["redis_commands_processed_total", "redis_net_input_bytes_total",
                     "redis_connections_received_total"]}
            sent = send_load(port, 4, 250)
            s3 = scrape(web)
            eq(s3["redis_commands_processed_total"] - s2["redis_commands_processed_total"],
               1000 + cost["redis_commands_processed_total"], "commands processed")
            eq(s3["redis_net_input_bytes_total"] - s2["redis_net_input_bytes_total"],
               sent + cost["redis_net_input_bytes_total"], "input bytes")
            eq(s3["redis_connections_received_total"] - s2["redis_connections_received_total"],
               4 + cost["redis_connections_received_total"], "connections received")
            assert (s3["redis_net_output_bytes_total"] - s2["redis_net_output_bytes_total"]
                    >= 1000 * len(b"+OK\r\n")), "output bytes"
            eq(s3["redis_blocked_clients"], 0.0, "blocked clients")
            # The load's last connection is noticed closing a moment after its replies.
            deadline = time.monotonic() + 10
            while scrape(web)["redis_connected_clients"] != 1.0:
                assert time.monotonic() < deadline, "connected clients never back to 1"
                time.sleep(0.05)
            assert s3["redis_memory_used_bytes"] > 0, "memory"
        r.run("prometheus-redis-exporter: commands, bytes and connections match the load",
              exporter_counts_the_load)

        def exporter_sees_blocked_clients():
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(enc("BLPOP", "nothing", "0"))
            deadline = time.monotonic() + 10
            while scrape(web)["redis_blocked_clients"] != 1.0:
                assert time.monotonic() < deadline, "blocked client never seen"
                time.sleep(0.05)
            s.close()
            while scrape(web)["redis_blocked_clients"] != 0.0:
                assert time.monotonic() < deadline, "blocked client never left"
                time.sleep(0.05)
        r.run("prometheus-redis-exporter: a client blocked in BLPOP is counted, then not",
              exporter_sees_blocked_clients)
    finally:
        for p in (exporter, clone):
            if p is not None:
                p.terminate()
                p.wait()
    return r.status()


if __name__ == "__main__":
    sys.exit(main())
