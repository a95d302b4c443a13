"""Compare a Raven detection table with the true events: begin/end errors, event precision and recall.

    python check_detections.py build/detections.txt build/truth.csv
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path


def main(argv=None) -> int:
    det_path, truth_path = (argv or sys.argv[1:])[:2]
    with open(det_path, newline="") as fh:
        det = [(Path(r["Begin Path"]).name, float(r["File Offset (s)"]),
                float(r["File Offset (s)"]) + float(r["End Time (s)"]) - float(r["Begin Time (s)"]))
               for r in csv.DictReader(fh, delimiter="\t")]
    with open(truth_path, newline="") as fh:
        truth = [(r["file"], float(r["begin_s"]), float(r["end_s"])) for r in csv.DictReader(fh)]
    hits, used, begin_err, end_err = 0, set(), [], []
    for f, b, e in truth:
        match = [k for k, (g, db, de) in enumerate(det) if g == f and db < e and de > b and k not in used]
        if match:
            k = min(match, key=lambda k: abs(det[k][1] - b))
            used.add(k)
            hits += 1
            begin_err.append(abs(det[k][1] - b))
            end_err.append(abs(det[k][2] - e))
    precision = len(used) / len(det) if det else float("nan")
    recall = hits / len(truth) if truth else float("nan")
    print(f"events: {len(truth)} true, {len(det)} detected; precision {precision:.2f}, recall {recall:.2f}")
    if begin_err:
        print(f"median |begin error| {statistics.median(begin_err):.3f} s, "
              f"median |end error| {statistics.median(end_err):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
