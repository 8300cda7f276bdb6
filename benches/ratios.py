#!/usr/bin/env python3
"""Prints criterion's results for the parse and write benches as a Markdown table:
throughput in bytes/s and commands (or replies)/s, and how many times faster redcon is
than the fastest other crate on the same corpus.

Run after `cargo bench -p redcon-benches`:
    python3 benches/ratios.py [target/criterion]
The item count of each benchmark is its criterion parameter (the number after the
slash in `parse/small-set-get/redcon/1000`)."""

import json
import os
import sys
from collections import defaultdict


def load(root):
    groups = defaultdict(list)
    for dirpath, _dirs, files in os.walk(root):
        if "benchmark.json" not in files or os.path.basename(dirpath) != "new":
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            meta = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        ns = est["median"]["point_estimate"]
        nbytes = (meta.get("throughput") or {}).get("Bytes", 0)
        items = int(meta.get("value_str") or 0)
        groups[meta["group_id"]].append((meta["function_id"], ns, nbytes, items))
    return groups


def main(root):
    groups = load(root)
    if not groups:
        sys.exit(f"no criterion results under {root}")
    print("| corpus | implementation | time/iter | GB/s | M items/s | redcon = x times this |")
    print("|---|---|---:|---:|---:|---:|")
    summary = []
    for group in sorted(groups):
        rows = sorted(groups[group], key=lambda r: r[1])
        ours = {name: ns for name, ns, _, _ in rows if name.startswith("redcon")}
        base = ours.get("redcon", min(ours.values(), default=None))
        others = [r for r in rows if not r[0].startswith("redcon")]
        for name, ns, nbytes, items in rows:
            ratio = f"{ns / base:.2f}" if base and not name.startswith("redcon") else ""
            print(
                f"| {group} | {name} | {ns / 1000:,.1f} µs | {nbytes / ns:.2f} "
                f"| {items / ns * 1000:.1f} | {ratio} |"
            )
        if base and others:
            best = others[0]
            summary.append((group, best[0], best[1] / base, rows[0][2] / base))
        elif base:
            summary.append((group, "none", None, rows[0][2] / base))
    print("\n| corpus | fastest other crate | redcon speed-up | redcon GB/s |")
    print("|---|---|---:|---:|")
    for group, best, ratio, gbs in summary:
        shown = f"{ratio:.2f}x" if ratio else "n/a"
        print(f"| {group} | {best} | {shown} | {gbs:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
