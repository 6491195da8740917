"""Splits the live probe's cross-node latency into its steps, from /tmp/probe-trace.log
(written by easeld and easel-bench patched with live_probe_trace.patch)."""
import collections

events = collections.defaultdict(dict)
lines = [line.split() for line in open("/tmp/probe-trace.log")]
creator = {line[2]: line[0] for line in lines if line[1] == "commit"}
for pid, event, task, *stamps in lines:
    if event in ("woke", "read", "published") and pid == creator.get(task):
        continue  # the creating node's own listener; the subscriber is on the other node
    events[task][event] = int(stamps[0])

steps = [("commit", "woke"), ("woke", "read"), ("read", "published"), ("published", "send"),
         ("send", "counted"), ("counted", "arrive"), ("answered", "arrive"), ("commit", "answered")]
for start, end in steps:
    spans = sorted((e[end] - e[start]) / 1e6 for e in events.values() if start in e and end in e)
    if spans:
        print(f"{start:>10} -> {end:<8} n={len(spans)} p50={spans[len(spans) // 2]:.1f} "
              f"p90={spans[int(len(spans) * .9)]:.1f} max={spans[-1]:.1f} ms")
