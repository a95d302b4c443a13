"""Write a balanced verification pairs CSV (``a,b,same``) for ``lfkit score/eval --pairs``.

Usage::

    python make_pairs.py ROOT/snr-30 [ROOT/snr-35 ...] -o ROOT/pairs-snr-30.csv [--seed 0]

Each input is an lfkit multi-class dataset folder (``labels.csv`` with ``path,label``).
For every clip, one "same" pair (another clip of its label) and one "different"
pair (a clip of another label) are drawn, so the file is balanced. Pairs never
cross datasets (each dataset is one SNR). Paths are written relative to the
output CSV, as ``lfkit`` expects. The draw for a dataset depends only on
``--seed`` and the dataset's folder name, so a dataset's pairs are the same in
every file that lists it (``pairs-all.csv`` is the union of the per-SNR files).
The CSV is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import zlib
from pathlib import Path


def dataset_pairs(folder: Path, out_dir: Path, seed: int) -> list[tuple[str, str, int]]:
    """Balanced (a, b, same) pairs of one dataset, paths relative to ``out_dir``."""
    with open(folder / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_label: dict[str, list[str]] = {}
    for r in rows:
        rel = os.path.relpath(folder / r["path"], out_dir)
        by_label.setdefault(r["label"], []).append(rel)
    labels = sorted(by_label)
    if len(labels) < 2 or any(len(v) < 2 for v in by_label.values()):
        raise SystemExit(f"{folder}: need at least two labels with two clips each")
    rng = random.Random(seed * 1_000_003 + zlib.crc32(folder.name.encode()))
    pairs = []
    for lab in labels:
        clips = by_label[lab]
        for i, a in enumerate(clips):
            b = rng.choice(clips[:i] + clips[i + 1:])
            pairs.append((a, b, 1))
            other = rng.choice([x for x in labels if x != lab])
            pairs.append((a, rng.choice(by_label[other]), 0))
    return pairs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+", help="multi-class dataset folders")
    ap.add_argument("-o", "--output", required=True, help="pairs CSV to write")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = Path(args.output)
    pairs = []
    for d in args.datasets:
        pairs += dataset_pairs(Path(d), out.parent, args.seed)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "same"])
        w.writerows(pairs)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
