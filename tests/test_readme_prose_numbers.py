"""Numbers the README states in prose, outside the generated blocks, equal the committed results files.

The benchmark tables are written by scripts (``tests/test_readme_benchmarks.py``,
``tests/test_readme_numbers.py``); these sentences are prose around them, so
they are checked here instead: a rerun that moves a number fails this test
until the sentence is updated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme() -> str:
    return re.sub(r"\s+", " ", (ROOT / "README.md").read_text(encoding="utf-8"))


def _mean(cell):
    return cell["mean"] if isinstance(cell, dict) else cell


def test_table1_prose_matches_table1_json():
    doc = json.loads((ROOT / "examples" / "paper" / "results" / "table1.json").read_text())
    rows = doc["rows"]
    networks = [r for r in rows if "reference" not in r["name"]]
    short = [r for r in networks if r["auc"]["-10"]["mean"] < 0.90]
    assert [r["name"] for r in short] == ["Basic CNN"]
    text = _readme()
    assert f"every network but Basic CNN ({short[0]['auc']['-10']['mean']:.2f}) reaches AUC 0.90 at -10 dB" in text
    gaps = [_mean(r["accuracy_best"]["all"]) - r["accuracy"]["all"]["mean"] for r in rows]
    assert max(gaps) <= 0.05
    assert f"within 0.05 of the best threshold's for every row ({min(gaps):.2f}-{max(gaps):.3f} below it)" in text


def test_detections_prose_matches_detections_json():
    doc = json.loads((ROOT / "benchmarks" / "results" / "detections.json").read_text())
    by = {(r["model"], r["hours"]): r for r in doc["rows"]}
    cnn, kt = by[("speccnn", 10.0)], by[("knowntone", 10.0)]
    text = _readme()
    assert (f"peak memory {kt['peak_rss_mb']:.0f} MB (known-tone) and {cnn['peak_rss_mb']:.0f} MB (Spec-CNN) "
            "for a 10-hour file") in text
    assert (f"event precision and recall {cnn['precision']:.2f} / {cnn['recall']:.2f} on "
            f"{cnn['true_events']:,} events, median begin / end error {cnn['begin_err_median_s']:.2f} / "
            f"{cnn['end_err_median_s']:.2f} s (p90 {cnn['begin_err_p90_s']:.2f} / {cnn['end_err_p90_s']:.2f} s") in text
    assert f"{cnn['audio_h_per_wall_s']:.3f} hours of audio per wall second" in text
    assert (f"finds every event (recall {kt['recall']:.2f}) but splits some and takes decoys (precision "
            f"{kt['precision']:.2f}, median end error {kt['end_err_median_s']:.2f} s)") in text


def test_dask_prose_matches_scale_md():
    """The Dask section's cost paragraph quotes benchmarks/results/scale.md (bench_scale.py's tables)."""
    md = (ROOT / "benchmarks" / "results" / "scale.md").read_text()
    reading, network = map(int, re.search(r"of which reading (\d+) clips/s and the network (\d+) clips/s", md).groups())
    w1 = re.search(r"^\| 1 \| ([\d.]+) \| ([\d.]+) \|$", md, re.M).groups()
    client_floor = re.search(r"^\| 128 \| [\d.]+ \| ([\d.]+) \|$", md, re.M).group(1)
    local = {m.group(1): m.group(2) for m in re.finditer(r"\| `lfkit score model.pt DIR (--workers 2|--scheduler local:2)` "
                                                         r"\| ([\d.]+) \|", md)}
    startup = re.search(r"start-up ([\d.]+) s apart", md).group(1)
    text = _readme()
    assert (f"one worker reads and transforms {reading} clips/s and the network scores {network:,} clips/s on one "
            f"core") in text
    assert f"about {float(w1[0]):.1f} CPU-hours end to end" in text
    assert f"about {float(w1[1]):.1f} h with one reading worker and never less than about {float(client_floor):.1f} h" \
        in text
    assert (f"{local['--workers 2']} s against {local['--scheduler local:2']} s for `--scheduler local:2` on the "
            f"2,000 clips, of which {startup} s is the local cluster's start-up") in text
