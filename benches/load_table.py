#!/usr/bin/env python3
"""Turns the raw results of benches/load.sh into a Markdown table: medians over the
rounds for each server, and the ratio clone/redis of every figure. When the floor
server ran too (FLOOR=1), two more columns: its figures and their ratio to redis."""

import csv
import statistics
import sys
from collections import defaultdict

SHAPES = {
    "a": "-P 1 -c 50",
    "b": "-P 16 -c 50",
    "c": "-P 512 -c 512",
    "d": "-P 1 -c 1",
}


def main(path):
    figures = defaultdict(list)  # (shape, metric, server) -> values
    order = []
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            shape, server, test = row["shape"], row["server"], row["test"]
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
    rounds = max(len(v) for v in figures.values())
    floor = any(server == "floor" for (_, _, server) in figures)
    print(f"Medians over {rounds} rounds; ratio = clone / redis.\n")
    if floor:
        print("| shape | figure | redis-server | clone | ratio | floor | floor / redis |")
        print("|---|---|---:|---:|---:|---:|---:|")
    else:
        print("| shape | figure | redis-server | clone | ratio |")
        print("|---|---|---:|---:|---:|")
    for shape, name in sorted(order, key=lambda k: (k[0], order.index(k))):
        r = figures.get((shape, name, "redis"))
        c = figures.get((shape, name, "clone"))
        if not r or not c:
            continue
        rm, cm = statistics.median(r), statistics.median(c)
        ratio = f"{cm / rm:.2f}" if rm else "n/a"
        label = f"{shape} `{SHAPES.get(shape, '')}`"
        row = f"| {label} | {name} | {rm:,.3f} | {cm:,.3f} | {ratio} |"
        if floor:
            f = figures.get((shape, name, "floor"))
            if f and rm:
                fm = statistics.median(f)
                row += f" {fm:,.3f} | {fm / rm:.2f} |"
            else:
                row += " | |"
        print(row)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/load/raw.tsv")
