#!/usr/bin/env python3
"""Markdown table from two kernels_numeric_bench JSON outputs (default build, -march=native
build): per kernel, ns/element (median) at each level of the default build, the -march=native
build at its own level, default/native, and ratios to the scalar twin and the streaming
baseline of the same run. Usage: kernels_isa_table.py default.json native.json [type N]"""
import json
import re
import sys


def medians(path):
    runs = json.load(open(path))["benchmarks"]
    out = {}
    for b in runs:
        if b.get("aggregate_name") != "median":
            continue
        out[b["run_name"]] = b["ns_per_elem"] * 1e9 if b["ns_per_elem"] < 1e-3 else b["ns_per_elem"]
    return out


def main():
    default, native = medians(sys.argv[1]), medians(sys.argv[2])
    tn = sys.argv[3] if len(sys.argv) > 3 else "double"
    n = sys.argv[4] if len(sys.argv) > 4 else "1000000"
    key = lambda name, level="": f"{name}<{tn}>/{n}" + (f"@{level}" if level else "")
    order = ["scalar", "sse2", "neon", "avx2", "avx512"]
    levels = sorted({m.group(1) for k in default for m in [re.search(r"@(\w+)$", k)] if m}, key=order.index)
    base_d, base_n = default[key("baseline_stream_sum")], native[key("baseline_stream_sum")]
    names = [re.sub(r"<.*", "", k) for k in default if k.endswith(f"<{tn}>/{n}")]
    head = ["kernel"] + [f"default @{l}" for l in levels] + ["default (best)", "-march=native",
                                                          "default / native", "x scalar twin", "x floor"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in names:
        if name.startswith("scalar::") or name.startswith("extreme:scalar::") or name == "baseline_stream_sum":
            continue
        d, nat = default.get(key(name)), native.get(key(name))
        if d is None or nat is None:
            continue
        twin_name = name.replace("extreme:", "extreme:scalar::") if name.startswith("extreme:") else "scalar::" + name
        twin = default.get(key(twin_name))
        cells = [f"`{name}`"] + [f"{default[key(name, l)]:.3g}" if key(name, l) in default else "" for l in levels]
        cells += [f"{d:.3g}", f"{nat:.3g}", f"{d / nat:.2f}", f"{twin / d:.1f}x" if twin else "", f"{d / base_d:.1f}x"]
        print("| " + " | ".join(cells) + " |")
    print(f"\nstreaming baseline: default {base_d:.3g} ns, -march=native {base_n:.3g} ns per element")


if __name__ == "__main__":
    main()
