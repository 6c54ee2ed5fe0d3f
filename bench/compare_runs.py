#!/usr/bin/env python3
"""Runs Google Benchmark binaries in alternation and prints each benchmark's
spread across runs: on a shared 2-vCPU guest a single run moves by up to
±30 %, and alternating a "before" and an "after" binary exposes both to the
same slow and fast periods.

    bench/compare_runs.py --filter 'beam_search_text<.*recycled' --runs 6 \\
        /tmp/before/strategies_bench build/bench/strategies_bench

Each run is `--benchmark_repetitions=5`; the value per run is the median
repetition's `us_per_round` counter if the benchmark reports one, else its
`ns_per_particle_round`, else its real time. Printed: the min, median and max
of the runs' values, per benchmark and binary, in run order of the binaries.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def one_run(binary, pattern, repetitions):
    out = subprocess.run(
        [binary, f"--benchmark_filter={pattern}", f"--benchmark_repetitions={repetitions}",
         "--benchmark_report_aggregates_only=true", "--benchmark_format=json"],
        capture_output=True, text=True, check=True).stdout
    out = out[out.index("{"):]  # the machine line (report.hpp) comes first
    values = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        if "us_per_round" in b:
            values[(b["run_name"], "us_per_round")] = b["us_per_round"]
        elif "ns_per_particle_round" in b:
            # An inverted rate counter: the JSON holds seconds per particle-round
            # (the console's "27.3ns" is Google Benchmark's SI formatting of it).
            values[(b["run_name"], "ns_per_particle_round")] = b["ns_per_particle_round"] * 1e9
        else:
            values[(b["run_name"], b.get("time_unit", "ns"))] = b["real_time"]
    return values


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--filter", required=True, help="--benchmark_filter regex")
    p.add_argument("--runs", type=int, default=3, help="alternations (default 3)")
    p.add_argument("--repetitions", type=int, default=5)
    p.add_argument("binaries", nargs="+")
    a = p.parse_args()
    seen = {}
    for r in range(a.runs):
        for b in a.binaries:
            for (name, unit), v in one_run(b, a.filter, a.repetitions).items():
                seen.setdefault((name, unit), {}).setdefault(b, []).append(v)
        print(f"run {r + 1}/{a.runs} done", file=sys.stderr)
    for (name, unit), by_binary in sorted(seen.items()):
        print(f"{name}  [{unit}]")
        for b in a.binaries:
            v = by_binary.get(b, [])
            if v:
                print(f"  {os.path.relpath(b):48s} min {min(v):10.3f}  median {statistics.median(v):10.3f}"
                      f"  max {max(v):10.3f}  ({len(v)} runs)")


if __name__ == "__main__":
    main()
