#!/usr/bin/env python3
"""The README's flow-time verdict table ("| claim | verdict now | ...") says, for claims (a)-(d),
the verdict the committed results/paper/flow/claims.json gives. Exits 1 naming each row that
differs (the table is written by hand when runs land; this keeps it honest)."""
import json
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
if bad:
    sys.exit("README verdict table differs from claims.json:\n  " + "\n  ".join(bad))
print(f"README verdict table agrees with {claims_path}: " + ", ".join(f"({k}) {v}" for k, v in sorted(claims.items())))
