#!/usr/bin/env python3
"""An independent reading of the committed paper-flow runs: claims (a), (b), (c) and (d).

Reads the run files (`*.json`, or `*.json.gz` as committed: config, records, summary) of a
paper-flow results folder with nothing but the Python standard library, decides claims (a), (b),
(c) and (d) from the rules the README states, and compares its verdicts with the `gn report --json`
file committed beside them. It shares no code with the Rust analysis (`src/analysis/`); it
exists to catch that code disagreeing with its own description.

Rules (README, "The paper in flow time"):
- GD's runs: method gd, no refit probe, flow-time limit t = 2e7. A GD run stands for GD at the
  horizon if it converged, or stopped at its step limit at flow time >= 2e7. Diverged runs and
  runs stopped short are left out of the means.
- GN's runs: method gn at lr = 10, no refit probe, no flow-time limit; only converged ones count.
- The grid: GD and GN at N = 100 (seeds 1-5), 500 (seeds 1-3), 1000 (seed 1).
- Means are over the seeds where both count (GN converged, GD at the horizon).
- (a) over every (tau0, N, seed) of the grid (tau0 in 0.01, 0.1, 0.5, 1, 5, 10, 100) where both
  a GN and a GD run are in: GN converged, and GD either did not converge (horizon, step limit or
  divergence) or took more steps than GN.
- (b) at tau0 = 0.01: for every N, the mean final test loss of GD is below GN's.
- (c) at tau0 = 100: for every N, max(GN, GD) <= 1.25 * min(GN, GD) of the mean test losses.
- (d) on GN's runs with the refit probe (method gn, refit, flow-time limit t = 5000) at
  tau0 in {0.01, 0.1}, lr in {0.1, 1, 10}, N = 500, seeds 1-3: part 1, every run at the
  smallest lr has a record during training (after iteration 0, before the last record) whose
  refit test loss is at most half the model's test loss at that record and at most half the
  random-features test loss; part 2, per tau0, the mean final test loss at the smallest lr is
  below that at the largest, over the seeds that have both (diverged runs left out).
- Until every run of the claim's grid is in the folder the claim is "incomplete".

Usage: scripts/check-claims.py [RESULTS_DIR]   (default results/paper/flow)
Exit status 0 if the verdicts agree with claims.json, 1 if not.
"""
import glob
import gzip
import json
import math
import os
import sys

HORIZON = 2e7
SEEDS = {100: [1, 2, 3, 4, 5], 500: [1, 2, 3], 1000: [1]}
TAU0 = [0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 100.0]
CLOSE = 1.25


def load(folder):
    runs = []
    paths = glob.glob(os.path.join(folder, "runs", "*.json"))
    paths += glob.glob(os.path.join(folder, "runs", "*.json.gz"))
    for path in sorted(paths):
        with (gzip.open if path.endswith(".gz") else open)(path, "rt") as f:
            run = json.load(f)
        if "config" in run and "summary" in run:
            runs.append(run)
    return runs


def is_gd(c):
    return c["method"] == "gd" and not c.get("refit") and c.get("max_flow_time") == HORIZON


def is_gn(c):
    return (c["method"] == "gn" and not c.get("refit") and c.get("max_flow_time") is None
            and c["lr"] == 10.0)


def at_horizon(run):
    s = run["summary"]
    if s["status"] == "converged":
        return True
    t = s.get("flow_time", run["config"]["lr"] * s["iterations"])
    return s["status"] == "max_iter" and t >= HORIZON * (1 - 1e-9)


def mean(xs):
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return sum(xs) / len(xs) if xs else None


def claim(runs, tau0, smallest):
    """(holds or None, found, expected, per-N lines) for claim (b) (smallest) or (c)."""
    cell = [r for r in runs if r["config"]["tau0"] == tau0 and r["config"]["m"] == 5000
            and r["config"]["activation"] == "silu"]
    expected = found = 0
    verdicts, lines = [], []
    for n, seeds in SEEDS.items():
        gd = [r for r in cell if is_gd(r["config"]) and r["config"]["n"] == n
              and r["config"]["seed"] in seeds]
        gn = [r for r in cell if is_gn(r["config"]) and r["config"]["n"] == n
              and r["config"]["seed"] in seeds]
        expected += 2 * len(seeds)
        found += len({r["config"]["seed"] for r in gd}) + len({r["config"]["seed"] for r in gn})
        gn_seeds = {r["config"]["seed"] for r in gn if r["summary"]["status"] == "converged"}
        gd_seeds = {r["config"]["seed"] for r in gd if at_horizon(r)}
        both = gn_seeds & gd_seeds
        lg = mean(r["summary"].get("final_test_loss") for r in gn
                  if r["summary"]["status"] == "converged" and r["config"]["seed"] in both)
        ld = mean(r["summary"].get("final_test_loss") for r in gd
                  if at_horizon(r) and r["config"]["seed"] in both)
        ok = None
        if lg is not None and ld is not None:
            ok = ld < lg if smallest else max(lg, ld) <= CLOSE * min(lg, ld)
            verdicts.append(ok)
        lines.append(f"  N={n}: GN {lg}, GD {ld} over seeds {sorted(both)}"
                     f" ({len(gn)} GN, {len(gd)} GD runs) -> {ok}")
    holds = all(verdicts) if verdicts else None
    return holds, found, expected, lines


def claim_a(runs):
    """(holds or None, found, expected, lines) for claim (a)."""
    grid = [(t, n, s) for t in TAU0 for n, seeds in SEEDS.items() for s in seeds]
    cell = {}
    for r in runs:
        c = r["config"]
        if c["m"] != 5000 or c["activation"] != "silu":
            continue
        kind = "gd" if is_gd(c) else "gn" if is_gn(c) else None
        key = (c["tau0"], c["n"], c["seed"])
        if kind and key in grid:
            cell[key + (kind,)] = r["summary"]
    pairs, lines = 0, []
    for t, n, s in grid:
        gn, gd = cell.get((t, n, s, "gn")), cell.get((t, n, s, "gd"))
        if gn is None or gd is None:
            continue
        pairs += 1
        first = gn["status"] == "converged" and (
            gd["status"] != "converged" or gn["iterations"] < gd["iterations"])
        if not first:
            lines.append(f"  tau0={t} N={n} seed {s}: GN {gn['status']} after {gn['iterations']},"
                         f" GD {gd['status']} after {gd['iterations']} -> False")
    bad = len(lines)
    lines.insert(0, f"  {pairs} GN/GD pairs, {bad} where GN was not first")
    holds = (bad == 0) if pairs else None
    return holds, len(cell), 2 * len(grid), lines


HIDDEN = {"tau0": [0.01, 0.1], "lr": [0.1, 1.0, 10.0], "n": 500, "seeds": [1, 2, 3], "t": 5000.0}
WELL_BELOW = 0.5


def claim_d(runs):
    """(holds or None, found, expected, lines) for claim (d)."""
    h = HIDDEN
    probed = [r for r in runs if r["config"]["method"] == "gn" and r["config"].get("refit")
              and r["config"].get("max_flow_time") == h["t"] and r["config"]["n"] == h["n"]
              and r["config"]["m"] == 5000 and r["config"]["tau0"] in h["tau0"]
              and r["config"]["lr"] in h["lr"] and r["config"]["seed"] in h["seeds"]]
    have = {(r["config"]["tau0"], r["config"]["lr"], r["config"]["seed"]): r for r in probed}
    expected = len(h["tau0"]) * len(h["lr"]) * len(h["seeds"])
    lo, hi = min(h["lr"]), max(h["lr"])
    verdicts, lines = [], []
    for (tau0, lr, seed), r in sorted(have.items()):
        if lr != lo:
            continue
        recs = r["records"][:-1]
        rf = r["summary"].get("rf_test_loss")
        rf = math.inf if rf is None else rf
        good = [x for x in recs if x["iter"] > 0 and x.get("refit_test_loss") is not None
                and x.get("test_loss") is not None
                and x["refit_test_loss"] <= WELL_BELOW * x["test_loss"]
                and x["refit_test_loss"] <= WELL_BELOW * rf]
        verdicts.append(bool(good))
        first = good[0] if good else None
        lines.append(f"  part 1, tau0={tau0} lr={lr} seed {seed}: "
                     + (f"first such record at iteration {first['iter']}: refit "
                        f"{first['refit_test_loss']:.3e}, model {first['test_loss']:.3e}, "
                        f"random features {rf:.3e}" if first else "no such record") + f" -> {bool(good)}")
    for tau0 in h["tau0"]:
        def final(lr, seed):
            r = have.get((tau0, lr, seed))
            if r is None or r["summary"]["status"] == "diverged":
                return None
            x = r["summary"].get("final_test_loss")
            return x if x is not None and math.isfinite(x) else None
        both = [s for s in h["seeds"] if final(lo, s) is not None and final(hi, s) is not None]
        if not both:
            continue
        a, b = mean(final(lo, s) for s in both), mean(final(hi, s) for s in both)
        verdicts.append(a < b)
        lines.append(f"  part 2, tau0={tau0}: lr={lo} {a:.4e}, lr={hi} {b:.4e} over seeds {both}"
                     f" -> {a < b}")
    holds = all(verdicts) if verdicts else None
    return holds, len(have), expected, lines


def verdict_text(holds, found, expected):
    if found < expected:
        return f"incomplete: {found} of {expected} runs"
    return {True: "holds", False: "fails", None: "undecided"}[holds]


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "results/paper/flow"
    runs = load(folder)
    with open(os.path.join(folder, "claims.json")) as f:
        committed = {c["id"]: c for c in json.load(f) if c.get("id") in ("a", "b", "c", "d")}
    agree = True
    checks = (("a", lambda: claim_a(runs)), ("b", lambda: claim(runs, 0.01, True)),
              ("c", lambda: claim(runs, 100.0, False)), ("d", lambda: claim_d(runs)))
    for cid, decide in checks:
        holds, found, expected, lines = decide()
        mine = verdict_text(holds, found, expected)
        theirs = committed[cid]["verdict"]
        same = mine == theirs
        agree &= same
        print(f"({cid}) independent: {mine}; claims.json: {theirs}"
              f" -> {'agree' if same else 'DISAGREE'}")
        print("\n".join(lines))
    print(f"{len(runs)} run files read from {folder}/runs")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
