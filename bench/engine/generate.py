#!/usr/bin/env python3
"""Writes a benchmark workflow of N stages: a layered DAG of built-in `noop` stages.

Each stage after the first layer reads the outputs of up to two stages of the
previous layer, so the graph has real fan-in and fan-out.
Usage: generate.py N OUT.yaml
"""
import sys

n, out = int(sys.argv[1]), sys.argv[2]
width = max(1, int(n ** 0.5))
lines = ["workflow: bench-%d" % n, "params:", "  seed: 1", "stages:"]
for i in range(n):
    layer, col = divmod(i, width)
    lines.append("  s%04d:" % i)
    lines.append("    uses: noop")
    lines.append("    params: {value: %d, seed: \"${params.seed}\"}" % i)
    if layer > 0:
        ups = sorted({(layer - 1) * width + col, (layer - 1) * width + (col + 1) % width})
        ins = ", ".join("in%d: s%04d.out" % (k, u) for k, u in enumerate(ups) if u < n)
        lines.append("    inputs: {%s}" % ins)
open(out, "w").write("\n".join(lines) + "\n")
