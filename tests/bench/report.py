#!/usr/bin/env python3
"""Benchmark results (DIR/*.json from summarize.py) -> DIR/REPORT.md + PNGs.

usage: report.py DIR

DIR/NOTES.md, when there is one, is appended as it is: the place for
hand-written sections (a before/after of a change, measured by hand),
which would otherwise be lost each time the report is made again.

Plots are drawn with gnuplot (pngcairo, or png when cairo is missing): one
per benchmark and unit; series whose x values are all numbers are lines
(median, with min..max bars), the others grouped bars. Series of offered
load are in the tables, not in the plots.
"""
import math
import glob
import json
import os
import subprocess
import sys

ORDER = ["overhead", "overhead_goal", "chain", "slowpath", "control", "reload", "bridge", "bridge_vlan", "router", "packetcapture",
         "transparent", "firewall", "nat", "lb"]
TITLES = {
    "overhead": "2. Framework overhead (paper Table III)",
    "overhead_goal": "2b. Framework overhead at XDP_DRV, 15 rounds of 3 s (the figure of the 1% goal)",
    "chain": "3. Chain overhead (paper Fig. 10)",
    "slowpath": "4. Slow path (paper Fig. 12)",
    "control": "5. Control plane",
    "reload": "6. Reload (paper \u00a7X-B)",
    "bridge": "7. Against the kernel's own path (paper Fig. 5)",
    "bridge_vlan": "7b. pcn-bridge: trunk tagging and flooding",
    "router": "8. Router against Linux IP forwarding",
    "packetcapture": "9. Packet capture (pcn-packetcapture) against tcpdump -w",
    "transparent": "10. A pass-through transparent cube on the forwarding path",
    "firewall": "11. Firewall (pcn-firewall) against iptables and nftables (paper Fig. 7)",
    "nat": "12. Source NAT (pcn-nat) against iptables SNAT",
    "lb": "13. Load balancers: pcn-lbrp and pcn-lbdsr against IPVS (paper Fig. 6; a substitute where the kernel has no ip_vs), Maglev",
}
XLABELS = {"chain": "tail calls in the chain (cubes or hops)", "control": "instances",
           "slowpath": "share of packets sent to the slow path", "overhead": "hook",
           "overhead_goal": "hook", "bridge_vlan": "hook, or ports the broadcast goes to",
           "firewall": "rules in the chain (the matching rule last)"}


def is_num(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def fmt(v):
    if not math.isfinite(v):
        return str(v)  # a run that delivered nothing: said, not a crash
    if v == int(v) and abs(v) >= 100:
        return "%d" % v
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 1:
        return "%.2f" % v
    return "%.4g" % v


def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script.encode(), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        sys.stderr.write("gnuplot failed: %s\n" % e)
        return False


def terminal():
    try:
        out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True).stderr
        return "pngcairo size 900,500" if b"pngcairo" in out else "png size 900,500"
    except OSError:
        return None


def esc(s):
    return s.replace('"', '\\"').replace("_", "\\\\_")


def plot_group(outdir, stem, title, unit, rows, numeric, term, xlabel):
    series = []
    xs = []
    for r in rows:
        if r["series"] not in series:
            series.append(r["series"])
        if r["x"] not in xs:
            xs.append(r["x"])
    if numeric:
        xs.sort(key=float)
    data = os.path.join(outdir, stem + ".dat")
    byk = {(r["series"], r["x"]): r for r in rows}
    with open(data, "w") as f:
        for x in xs:
            cols = [x.replace(" ", "_")]
            for s in series:
                r = byk.get((s, x))
                cols += ["%g %g %g" % (r["median"], r["min"], r["max"])] if r else ["? ? ?"]
            f.write(" ".join(cols) + "\n")
    png = stem + ".png"
    lines = ['set terminal %s' % term, 'set output "%s"' % os.path.join(outdir, png),
             'set title "%s"' % esc(title), 'set ylabel "%s (median, min..max)"' % esc(unit),
             'set datafile missing "?"', 'set key outside below', 'set grid ytics',
             'set yrange [0:*]', 'set xlabel "%s"' % esc(xlabel)]
    plots = []
    if numeric:
        vals = [float(x) for x in xs]
        if min(vals) > 0 and max(vals) / min(vals) >= 100:
            lines.append("set logscale x")
        for i, s in enumerate(series):
            c = 2 + 3 * i
            plots.append('"%s" using 1:%d:%d:%d with yerrorlines title "%s"' % (data, c, c + 1, c + 2, esc(s)))
    else:
        lines += ["set style data histogram", "set style histogram errorbars gap 1 lw 1",
                  "set style fill solid 0.6 border -1", "set xtics noenhanced"]
        for i, s in enumerate(series):
            c = 2 + 3 * i
            xt = ":xtic(1)" if i == 0 else ""
            plots.append('"%s" using %d:%d:%d%s title "%s"' % (data, c, c + 1, c + 2, xt, esc(s)))
    lines.append("plot " + ", ".join(plots))
    ok = gnuplot("\n".join(lines) + "\n")
    os.unlink(data)
    return png if ok else None


def main():
    outdir = sys.argv[1]
    docs = {}
    for p in glob.glob(os.path.join(outdir, "*.json")):
        with open(p) as f:
            d = json.load(f)
        docs[d["benchmark"]] = d
    names = [n for n in ORDER if n in docs] + sorted(n for n in docs if n not in ORDER)
    if not names:
        sys.exit("no results in " + outdir)
    for old in glob.glob(os.path.join(outdir, "*.png")):
        os.unlink(old)
    term = terminal()
    m = docs[names[0]]["machine"]
    out = ["# Cubemesh benchmarks", "",
           "Machine: %s, %s cores; kernel %s. Each section says when it was run, on which "
           "commit, and of how many runs each figure is the median (with min and max); "
           "each baseline was measured in the same run, on the same topology. Produced by "
           "`tests/bench/run-all.sh`; the numbers are in the JSON files next to this "
           "report; what they say, and how to read them, is in `tests/bench/README.md`." %
           (m["cpu"], m["cores"], m["kernel"]), ""]
    for n in names:
        d = docs[n]
        dm = d["machine"]
        out += ["## " + TITLES.get(n, n), "",
                "Run %s on commit %s%s; median of %s runs." %
                (dm["date"], dm.get("commit", "?"),
                 " (-dirty: the tree held uncommitted work)" if dm.get("commit", "").endswith("-dirty") else "",
                 d["runs_per_figure"]), ""]
        if d["results"]:
            out += ["| series | x | median | min | max | unit |", "|---|---|---:|---:|---:|---|"]
            for r in d["results"]:
                out.append("| %s | %s | %s | %s | %s | %s |" % (r["series"], r["x"], fmt(r["median"]),
                                                          fmt(r["min"]), fmt(r["max"]), r["unit"]))
            out.append("")
        for note in d["notes"]:
            out.append("- " + note)
        if d["notes"]:
            out.append("")
        if term:
            units = []
            for r in d["results"]:
                if r["unit"] not in units:
                    units.append(r["unit"])
            for u in units:
                rows = [r for r in d["results"] if r["unit"] == u and "(offered)" not in r["series"]]
                groups = {}
                for r in rows:
                    groups.setdefault(r["series"], []).append(r)
                num = [r for s, g in groups.items() for r in g
                       if all(is_num(x["x"]) for x in g) and len(g) > 1]
                cat = [r for r in rows if r not in num]
                for kind, part in (("lines", num), ("bars", cat)):
                    if not part:
                        continue
                    stem = "%s-%s-%s" % (n, "".join(c if c.isalnum() else "_" for c in u), kind)
                    png = plot_group(outdir, stem, "%s: %s" % (n, u), u, part, kind == "lines", term,
                                     XLABELS.get(n, ""))
                    if png:
                        out += ["![%s %s](%s)" % (n, u, png), ""]
    notes = os.path.join(outdir, "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as f:
            out += ["", f.read().rstrip("\n")]
    with open(os.path.join(outdir, "REPORT.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote " + os.path.join(outdir, "REPORT.md"))


if __name__ == "__main__":
    main()
