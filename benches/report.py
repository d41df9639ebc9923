#!/usr/bin/env python3
"""Turn criterion's results into the ratio tables of BENCHMARKS.md.

Usage (after `cargo bench`):  python3 benches/report.py [--chart] [target/criterion]

For every criterion group it prints goro's mean time, the best peer's mean time and the
ratio goro / best peer (below 1.0: goro is faster). A group's goro entry is the function
whose id starts with "goro"; every other function in the group is a peer.

If target/go-bench.json exists (written by benches/go, see BENCHMARKS.md), the same
workloads in Go get their own column and ratio.

With --chart it prints, instead of the tables, a text bar chart of the ratios (one bar per
workload, the 1.0 line marked), the form the README shows.
"""
import json
import os
import re
import sys

SECTIONS = [
    ("executor", r"^(spawn_many_local|spawn_many_remote|yield_many|ping_pong|chained_spawn)$"),
    ("channel (async)", r"^(seq|spsc|mpsc|mpmc)_"),
    ("channel (blocking)", r"^blocking_(seq|spsc|mpsc|mpmc)_"),
    ("select", r"^select_"),
    ("sync", r"^(mutex|rwmutex|waitgroup|semaphore|sync_)"),
    ("time", r"^(timer_churn|sleep_many|time_)"),
]


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def load(root):
    """group -> {function -> mean ns}, from every `.../new/estimates.json` under root."""
    groups = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if os.path.basename(dirpath) != "new" or "estimates.json" not in filenames:
            continue
        with open(os.path.join(dirpath, "estimates.json")) as f:
            mean = json.load(f)["mean"]["point_estimate"]
        bench = os.path.join(dirpath, "benchmark.json")
        if not os.path.isfile(bench):
            continue
        with open(bench) as f:
            b = json.load(f)
        group = b.get("group_id")
        func = b.get("function_id") or b.get("value_str")
        if b.get("function_id") and b.get("value_str"):
            group = f"{group} ({b['value_str']})"
        if group and func:
            groups.setdefault(group, {})[func] = mean
    return dict(sorted(groups.items()))


def chart(groups):
    """A fixed-width bar chart of goro / best peer per workload, 1.0 marked with `|`."""
    width, top = 40, 2.0  # 40 columns span ratios 0 .. 2.0; longer bars are cut with `>`
    lines = []
    for title, pattern in SECTIONS:
        rows = []
        for g, funcs in groups.items():
            if not re.search(pattern, g) or "goro" not in funcs:
                continue
            peers = {k: v for k, v in funcs.items() if not k.startswith("goro")}
            if not peers:
                continue
            best = min(peers, key=peers.get)
            ratio = funcs["goro"] / peers[best]
            n = min(width, round(ratio / top * width))
            bar = list("#" * n + " " * (width - n))
            mark = round(1.0 / top * width)
            if bar[mark - 1] == " ":
                bar[mark - 1] = "|"
            cut = ">" if ratio > top else " "
            rows.append(f"{g:<34} {''.join(bar)}{cut} {ratio:.2f}  vs {best}")
        if rows:
            lines.append(f"{title}")
            lines.extend(rows)
            lines.append("")
    print("goro time / best peer's time (shorter is faster; | marks 1.0)\n")
    print("\n".join(lines).rstrip())


def main():
    args = [a for a in sys.argv[1:] if a != "--chart"]
    root = args[0] if args else "target/criterion"
    if not os.path.isdir(root):
        sys.exit(f"report: no criterion results in {root}: run `cargo bench` first")
    groups = load(root)
    if "--chart" in sys.argv[1:]:
        chart(groups)
        return
    go = {}
    go_path = os.path.join(os.path.dirname(root.rstrip("/")) or ".", "go-bench.json")
    if os.path.isfile(go_path):
        with open(go_path) as f:
            go = json.load(f)
    done = set()
    for title, pattern in SECTIONS + [("other", r".")]:
        rows = []
        for g, funcs in groups.items():
            if g in done or not re.search(pattern, g):
                continue
            done.add(g)
            goro = {k: v for k, v in funcs.items() if k.startswith("goro")}
            peers = {k: v for k, v in funcs.items() if not k.startswith("goro")}
            for gname, gval in goro.items():
                go_cols = ""
                if go:
                    if g in go and gname == "goro":
                        go_cols = f" {fmt(go[g])} | {gval / go[g]:.2f} |"
                    else:
                        go_cols = " — | — |"
                if peers:
                    best = min(peers, key=peers.get)
                    rows.append(
                        f"| {g}{'' if gname == 'goro' else ' (' + gname + ')'} | {fmt(gval)} | "
                        f"{best} {fmt(peers[best])} | **{gval / peers[best]:.2f}** |{go_cols}"
                    )
                else:
                    rows.append(f"| {g} ({gname}) | {fmt(gval)} | — | — |{go_cols}")
        if rows:
            print(f"\n### {title}\n")
            if go:
                print("| workload | goro | best peer | goro / best | Go | goro / Go |")
                print("|---|---|---|---|---|---|")
            else:
                print("| workload | goro | best peer | goro / best |")
                print("|---|---|---|---|")
            print("\n".join(rows))


if __name__ == "__main__":
    main()
