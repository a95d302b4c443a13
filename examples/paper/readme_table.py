"""Write Table 1 of ``results/table1.json`` into the top-level README, between markers.

The README's paper table is generated, never pasted::

    python readme_table.py                     # rewrite the block in ../../README.md
    python readme_table.py --check             # exit 1 if the README disagrees with results/

The block lies between ``<!-- table1:begin -->`` and ``<!-- table1:end -->``
(both on lines of their own). The README is rewritten under a temporary name
and renamed; nothing outside the block changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

import markdown_blocks as MB  # noqa: E402  (the README block rules every block writer shares)

BEGIN, END = "<!-- table1:begin -->", "<!-- table1:end -->"


def _cell(s: dict) -> str:
    if s["mean"] is None:
        return "n/a"
    return f"{s['mean']:.2f} [{s['lo']:.2f}, {s['hi']:.2f}]"


def render(doc: dict) -> str:
    """The block's Markdown (without the markers) from a ``table1.json`` document."""
    snrs = [str(s) for s in doc["snrs_db"]]
    keys = snrs + ["all"]
    rows = doc["rows"]
    head = " | ".join(f"{s} dB" for s in snrs)
    n = rows[0]["n"] if rows else {}
    seeds = doc["seeds"]
    out = [f"Binary classification (Table 1), `{doc['profile']}` profile: mean over {len(seeds)} seeds "
           f"(each with its own training and test sets) and [95% bootstrap interval over seeds and clips]; "
           f"{n.get(snrs[0], '?')} test clips per SNR cell ({len(seeds)} seeds together). "
           "Written by `examples/paper/readme_table.py` from `examples/paper/results/table1.json`.", "",
           "**AUC**", "",
           f"| row | paper AUC | {head} | all |", "|---|---:|" + "---:|" * len(keys)]
    for r in rows:
        paper = "" if r["paper"] is None else f"{r['paper']['auc']:.2f}"
        out.append(f"| {r['name']} | {paper} | " + " | ".join(_cell(r["auc"][k]) for k in keys) + " |")
    out += ["", "**Accuracy** at the threshold stored in the model (picked on its validation split)", "",
            f"| row | paper accuracy | {head} | all |", "|---|---:|" + "---:|" * len(keys)]
    for r in rows:
        paper = "" if r["paper"] is None else f"{r['paper']['accuracy']:.2f}"
        out.append(f"| {r['name']} | {paper} | " + " | ".join(_cell(r["accuracy"][k]) for k in keys) + " |")
    return "\n".join(out) + "\n"


def split_readme(text: str, where: str = "README") -> tuple[str, str, str]:
    """``(before, block, after)`` of ``text`` around the marked block; SystemExit if the markers are off."""
    return MB.split_block(text, BEGIN, END, where, "readme_table.py")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(HERE / "results" / "table1.json"))
    ap.add_argument("--readme", default=str(HERE.parents[1] / "README.md"))
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when they differ")
    args = ap.parse_args(argv)
    readme = Path(args.readme)
    text = readme.read_text(encoding="utf-8")
    before, block, after = split_readme(text, str(readme))
    want = render(json.loads(Path(args.results).read_text()))
    if args.check:
        if block != want:
            print(f"{readme}: the Table 1 block differs from {args.results}; run examples/paper/readme_table.py")
            return 1
        return 0
    MB.rewrite(readme, text, before + want + after)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
