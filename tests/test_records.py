"""The one record builder: key order, best chunk, decision, metadata, ``-``; and that it is the only one."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from lfkit import io
from lfkit.records import best_chunk, best_per_path, clip_metadata, decide, make_record, record_path

ROOT = Path(__file__).resolve().parents[1]


def test_make_record_key_order_and_values(tmp_path):
    clip = io.Clip(path="a.wav", _file=str(tmp_path / "a.wav"), label="positive", snr_db="-10")
    rec = make_record(clip, "m", score=0.75, probability=0.7, extra={"score": 9.0, "logit": 1.1}, start=0.1234567,
                      end=1.0000004, threshold=0.5, target="positive", metadata=clip_metadata(clip))
    assert list(rec) == ["path", "model", "score", "probability", "logit", "start", "end", "threshold", "decision",
                         "target", "label", "snr_db"]
    assert rec["path"] == os.path.abspath(tmp_path / "a.wav") and rec["score"] == 0.75  # extra never overrides
    assert (rec["start"], rec["end"], rec["decision"]) == (0.123457, 1.0, True)
    assert make_record(io.Clip(path="-", _file="-"), "m", score=1.0)["path"] == "-"
    assert record_path({"_file": "-"}) == "-"


def test_decide_is_score_at_or_above_threshold():
    assert decide({"score": 0.5}, 0.5) == {"score": 0.5, "threshold": 0.5, "decision": True}
    assert decide({"score": 0.49}, 0.5)["decision"] is False
    assert decide({"score": 0.49}, None) == {"score": 0.49}


def test_best_chunk_spans_the_file_and_keeps_the_winner():
    recs = [{"path": "p", "score": s, "start": t, "end": t + 1.0} for t, s in [(0.0, 0.1), (0.5, 0.9), (1.0, 0.3)]]
    (top,) = best_chunk(recs)
    assert top == {"path": "p", "score": 0.9, "start": 0.0, "end": 2.0, "n_chunks": 3, "best_start": 0.5,
                   "best_end": 1.5}
    assert best_chunk(recs[:1]) == recs[:1] and best_chunk([{"score": 1}, {"score": 2}]) == [{"score": 1}, {"score": 2}]
    assert best_per_path(recs + [{"path": "q", "score": 0.2}]) == [recs[1], {"path": "q", "score": 0.2}]


def test_one_record_builder_in_the_tree():
    """The rules live in records.py alone: no other module sets a decision or best-chunk keys itself."""
    files = subprocess.run(["git", "ls-files", "lfkit/*.py", "lfkit/**/*.py"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    patterns = [r'\["decision"\]\s*=\s*bool\(', r'\["best_start"\]', r'n_chunks=len\(', r'k != "path"\}',
                r"os\.path\.abspath\(clip\["]
    offenders = [(f, p) for f in files if not f.endswith("records.py") for p in patterns
                 if re.search(p, (ROOT / f).read_text())]
    assert offenders == []
