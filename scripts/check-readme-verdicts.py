#!/usr/bin/env python3
"""The README's flow-time verdict table ("| claim | verdict now | ...") says, for claims (a)-(d),
the verdict the committed results/paper/flow/claims.json gives; and its table of the paper-flow
parts ("| part | command ... | runs in | run time, summed | ...") gives, for each part, the number
of its run files in the runs/ folder beside claims.json and their summed wall time (in hours, to
the one decimal shown), and the sentence "K of the 236 runs are in" (or "All 236 runs are in")
their total. Exits 1 naming each row that differs (the tables are written by hand when runs land;
this keeps them honest)."""
import gzip
import json
import os
import re
import sys

readme = sys.argv[1] if len(sys.argv) > 1 else "README.md"
claims_path = sys.argv[2] if len(sys.argv) > 2 else "results/paper/flow/claims.json"
claims = {c["id"]: c["verdict"] for c in json.load(open(claims_path)) if c.get("verdict") is not None}
lines = open(readme, encoding="utf-8").read().splitlines()
try:
    start = next(i for i, l in enumerate(lines) if l.startswith("| claim | verdict now |"))
except StopIteration:
    sys.exit(f"{readme}: no table headed '| claim | verdict now |'")
rows = {}
for line in lines[start + 2:]:
    if not line.startswith("|"):
        break
    cells = [c.strip() for c in line.strip("|").split("|")]
    m = re.match(r"\((\w)\)", cells[0])
    if m:
        rows[m.group(1)] = cells[1].replace("*", "")
bad = [f"({k}): README '{rows.get(k)}', claims.json '{v}'" for k, v in sorted(claims.items()) if rows.get(k) != v]


def part(name):
    """The paper-flow part a run file belongs to, from its name."""
    if "-refit-" in name:
        return "hidden"
    if "-t20000000" in name:
        return "horizon"
    if "-t200000" in name:
        return "study"
    return "gn"


runs_dir = os.path.join(os.path.dirname(claims_path) or ".", "runs")
count, hours = {}, {}
for f in os.listdir(runs_dir):
    if f.endswith(".json.gz") or f.endswith(".json"):
        opener = gzip.open if f.endswith(".gz") else open
        with opener(os.path.join(runs_dir, f), "rt") as fh:
            wall = json.load(fh)["summary"].get("wall_s") or 0.0
        k = part(f)
        count[k] = count.get(k, 0) + 1
        hours[k] = hours.get(k, 0.0) + wall / 3600
try:
    pstart = next(i for i, l in enumerate(lines) if l.strip().startswith("| part | command"))
except StopIteration:
    sys.exit(f"{readme}: no table headed '| part | command'")
seen = set()
for line in lines[pstart + 2:]:
    line = line.strip()
    if not line.startswith("|"):
        break
    cells = [c.strip() for c in line.strip("|").split("|")]
    m = re.search(r"--part (\w+)", cells[1])
    if not m:
        bad.append(f"parts table: no --part in '{cells[1]}'")
        continue
    k = m.group(1)
    seen.add(k)
    n_in = int(cells[2].split(" of ")[0])
    if n_in != count.get(k, 0):
        bad.append(f"parts table, {k}: README {n_in} runs in, {runs_dir} has {count.get(k, 0)}")
    h = float(cells[3].removesuffix(" h"))
    if abs(h - hours.get(k, 0.0)) > 0.051:
        bad.append(f"parts table, {k}: README {h} h, the run files sum to {hours.get(k, 0.0):.2f} h")
for k in sorted(set(count) - seen):
    bad.append(f"parts table: no row for --part {k}")
total = sum(count.values())
m = re.search(r"(\d+) of the 236 runs are in|[Aa]ll (236) runs are in", " ".join(lines))
said = next((g for g in m.groups() if g), None) if m else None
if said is None or int(said) != total:
    bad.append(f"'K of the 236 runs are in': README {said or 'missing'}, {runs_dir} has {total}")
if bad:
    sys.exit("README differs from the committed results:\n  " + "\n  ".join(bad))
print(f"README verdict table agrees with {claims_path}: " + ", ".join(f"({k}) {v}" for k, v in sorted(claims.items()))
      + f"; parts table and count agree with {runs_dir}: " + ", ".join(f"{k} {count[k]} ({hours[k]:.1f} h)" for k in sorted(count)))
