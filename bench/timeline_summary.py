#!/usr/bin/env python3
"""Summarises a `shardnet train --timeline FILE` trace: per rank, the mean time per step of each
phase, the share of the step spent waiting for the allreduce, and how much of each bucket's
allreduce ran while backward was still computing.   bench/timeline_summary.py FILE [--skip N]
The first N steps (default 5) are left out: warm-up and buffer sizing."""
import argparse
import collections
import json


def overlap(a, b):
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("trace")
    p.add_argument("--skip", type=int, default=5)
    args = p.parse_args()
    with open(args.trace) as f:
        events = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X" and e["args"]["step"] >= args.skip]
    by_rank = collections.defaultdict(list)
    for e in events:
        by_rank[e["pid"]].append(e)
    phases = ["data wait", "forward", "backward", "allreduce wait", "optimizer"]
    # A rank that finishes backward first also waits for the slowest one; the smallest wait over the
    # ranks in a step is the communication no rank could hide.
    waits = collections.defaultdict(dict)
    steps_us = collections.defaultdict(dict)
    for e in events:
        if e["name"] == "allreduce wait":
            waits[e["args"]["step"]][e["pid"]] = e["dur"]
        if e["name"] in phases:
            steps_us[e["args"]["step"]][e["pid"]] = steps_us[e["args"]["step"]].get(e["pid"], 0.0) + e["dur"]
    for rank in sorted(by_rank):
        evs = by_rank[rank]
        steps = {e["args"]["step"] for e in evs if e["name"] == "forward"}
        n = max(len(steps), 1)
        totals = collections.Counter()
        for e in evs:
            if e["name"] in phases:
                totals[e["name"]] += e["dur"]
        step_us = sum(totals[k] for k in phases)
        parts = ", ".join(f"{k} {totals[k] / n / 1e3:.2f} ms" for k in phases)
        print(f"rank {rank}: {n} steps, {step_us / n / 1e3:.2f} ms per step ({parts})")
        print(f"rank {rank}: allreduce wait {100.0 * totals['allreduce wait'] / max(step_us, 1):.2f}% of the step")
        backward = {e["args"]["step"]: (e["ts"], e["ts"] + e["dur"]) for e in evs if e["name"] == "backward"}
        buckets = collections.defaultdict(lambda: [0.0, 0.0, 0])
        for e in evs:
            if e["cat"] == "allreduce" and e["args"]["step"] in backward:
                span = (e["ts"], e["ts"] + e["dur"])
                b = buckets[e["name"]]
                b[0] += e["dur"]
                b[1] += overlap(span, backward[e["args"]["step"]])
                b[2] += 1
        for name, (dur, hidden, count) in sorted(buckets.items()):
            print(f"rank {rank}:   {name}: {dur / count / 1e3:.2f} ms, {100.0 * hidden / max(dur, 1e-9):.0f}% "
                  f"of it during backward")
    if len(by_rank) > 1 and waits:
        unhidden = sum(min(w.values()) for w in waits.values())
        step_total = sum(max(s.values()) for s in steps_us.values())
        print(f"all ranks: allreduce wait no rank could hide (per step, the smallest over ranks): "
              f"{unhidden / len(waits) / 1e3:.2f} ms = {100.0 * unhidden / max(step_total, 1):.2f}% of the step; "
              f"the rest of each rank's wait is waiting for a slower rank")


if __name__ == "__main__":
    main()
