#!/usr/bin/env python3
"""Unfinished runs' checkpoints, small enough to commit, so that a run longer than one sitting
goes on in the next sitting on another machine.

    scripts/ckpt-pack.py pack NAME.ckpt OUT.ckpt.gz    drops what the seed redraws (the training and
                                                       test data and the teacher: ~2/3 of the file),
                                                       after checking that `gn run` redraws it equal,
                                                       and gzips the rest (weights, step, records)
    scripts/ckpt-pack.py unpack IN.ckpt.gz NAME.ckpt   redraws the data and the teacher from the
                                                       seed and writes the whole checkpoint back
                                                       (DESIGN.md §5), through a temporary file

GN=/path/to/gn picks the binary (default target/release/gn). The redraw is `gn run --max-iter 0`
with the checkpoint's own config: the data, teacher and student are drawn from (seed, sizes, τ₀)
only, and every number is compared as the f64 it parses to, so an unpacked checkpoint resumes
bit for bit as the original would.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

REDRAWN = ("x_train", "y_train", "x_test", "y_test", "teacher")
FORMAT = "gn-checkpoint-v1-packed"


def gn():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("GN", os.path.join(root, "target", "release", "gn"))


def redraw(config):
    """The data and teacher that `gn run` draws for this config (a 0-step run's checkpoint)."""
    args = [gn(), "run", "--quiet", "--max-iter", "0"]
    for key in ("method", "activation", "tau0", "n", "m", "d", "m_teacher", "n_test", "seed"):
        args += ["--" + key.replace("_", "-"), str(config[key])]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fresh.ckpt")
        subprocess.run(args + ["--checkpoint", path], check=True, stdout=subprocess.DEVNULL)
        with open(path) as f:
            fresh = json.load(f)
    return {k: fresh[k] for k in REDRAWN}


def write_atomic(path, data, opener=open, mode="w"):
    tmp = path + ".tmp"
    with opener(tmp, mode) as f:
        f.write(data)
    os.replace(tmp, path)


def pack(src, out):
    with open(src) as f:
        ckpt = json.load(f)
    if ckpt.get("format") != "gn-checkpoint-v1":
        sys.exit(f"{src}: format {ckpt.get('format')!r}, expected 'gn-checkpoint-v1'")
    fresh = redraw(ckpt["config"])
    for k in REDRAWN:
        if fresh[k] != ckpt[k]:
            sys.exit(f"{src}: `gn run` redraws a different {k} from the seed; not packed")
    packed = {k: v for k, v in ckpt.items() if k not in REDRAWN}
    packed["format"] = FORMAT
    text = json.dumps(packed, separators=(",", ":")).encode()
    # mtime=0: the same checkpoint packs to the same bytes.
    write_atomic(out, gzip.compress(text, 9, mtime=0), mode="wb")
    print(f"{os.path.basename(out)}: step {ckpt['iteration']}, {len(text)} bytes before gzip")


def unpack(src, out):
    with gzip.open(src, "rt") as f:
        packed = json.load(f)
    if packed.get("format") != FORMAT:
        sys.exit(f"{src}: format {packed.get('format')!r}, expected {FORMAT!r}")
    ckpt = dict(packed)
    ckpt["format"] = "gn-checkpoint-v1"
    ckpt.update(redraw(packed["config"]))
    write_atomic(out, json.dumps(ckpt))
    print(f"{os.path.basename(out)}: step {ckpt['iteration']}")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("pack", "unpack"):
        sys.exit(__doc__)
    (pack if sys.argv[1] == "pack" else unpack)(sys.argv[2], sys.argv[3])
