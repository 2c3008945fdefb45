#!/usr/bin/env python3
"""One benchmark's figures (TSV from lib.sh) -> JSON with min/median/max.

usage: summarize.py NAME FILE.tsv RUNS > NAME.json
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        src = os.environ.get("CM_SRC", ".")
        commit = subprocess.run(["git", "-C", src, "describe", "--always"],
                                capture_output=True, text=True).stdout.strip()
        # Dirty means code: the results a run of run-all.sh has written so
        # far (this directory) are not.
        changed = subprocess.run(["git", "-C", src, "status", "--porcelain", "--untracked-files=no", "--", ".",
                                  ":(exclude)tests/bench/results"], capture_output=True, text=True).stdout.strip()
        if commit and changed:
            commit += "-dirty"
    except OSError:
        commit = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(), "commit": commit,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def main():
    name, path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    order, groups, notes = [], {}, []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "note":
                notes.append(parts[1])
            elif parts[0] == "rec" and len(parts) == 5 and parts[4] != "":
                key = (parts[1], parts[2], parts[3])
                if key not in groups:
                    order.append(key)
                    groups[key] = []
                groups[key].append(float(parts[4]))
    results = []
    for key in order:
        v = groups[key]
        results.append({"series": key[0], "x": key[1], "unit": key[2], "runs": v,
                        "min": min(v), "median": statistics.median(v), "max": max(v)})
    out = {"benchmark": name, "machine": machine(), "runs_per_figure": runs,
           "results": results, "notes": notes}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
