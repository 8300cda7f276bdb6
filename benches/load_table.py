#!/usr/bin/env python3
"""Turns the raw results of benches/load.sh into a Markdown table: medians over the
rounds for each server, and the ratio of every other server's figure to redis-server's."""

import csv
import statistics
import sys
from collections import defaultdict

SHAPES = {
    "a": "-P 1 -c 50",
    "b": "-P 16 -c 50",
    "c": "-P 512 -c 512",
    "d": "-P 1 -c 1",
    "e": "-P 1 -c 50 -k 0",
    "tb": "TLS -P 16 -c 50",
    "te": "TLS -P 1 -c 50 -k 0",
}

BASELINE = "redis"


def main(path):
    figures = defaultdict(list)  # (shape, metric, server) -> values
    order = []
    servers = []
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            shape, server, test = row["shape"], row["server"], row["test"]
            if server not in servers:
                servers.append(server)
            for metric, key in (("req/s", "rps"), ("p50 ms", "p50_ms"), ("p99 ms", "p99_ms")):
                name = f"{test} {metric}"
                figures[(shape, name, server)].append(float(row[key]))
                if (shape, name) not in order:
                    order.append((shape, name))
            # One CPU figure per run, repeated on each test's row: count it once.
            if test == "SET":
                figures[(shape, "CPU us/req", server)].append(float(row["cpu_us_per_req"]))
                if (shape, "CPU us/req") not in order:
                    order.append((shape, "CPU us/req"))
    others = [s for s in servers if s != BASELINE]
    rounds = max(len(v) for v in figures.values())
    print(f"Medians over {rounds} rounds; each ratio is that server's figure / redis-server's.\n")
    head = "| shape | figure | redis-server |" + "".join(f" {s} | {s} / redis |" for s in others)
    print(head)
    print("|---|---|---:|" + "---:|---:|" * len(others))
    for shape, name in sorted(order, key=lambda k: (k[0], order.index(k))):
        base = figures.get((shape, name, BASELINE))
        if not base:
            continue
        bm = statistics.median(base)
        row = f"| {shape} `{SHAPES.get(shape, '')}` | {name} | {bm:,.3f} |"
        for s in others:
            v = figures.get((shape, name, s))
            if v:
                m = statistics.median(v)
                ratio = f"{m / bm:.2f}" if bm else "n/a"
                row += f" {m:,.3f} | {ratio} |"
            else:
                row += " | |"
        print(row)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/load/raw.tsv")
