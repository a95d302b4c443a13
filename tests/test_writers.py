"""Record writers (``--format``): each read back the way its consuming program reads it, each resumable.

* csv: Python's csv module, the header in the stated column order;
* raven: a tab-separated table read by column name as Raven Pro does;
* audacity: the label-track grammar Audacity imports
  (``start<TAB>end<TAB>label`` and ``\\<TAB>low<TAB>high``).
"""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from binary_helpers import make_set
from lfkit import io
from lfkit.errors import ParameterError
from lfkit.evaluate import run_eval
from lfkit.scoring import score
from lfkit.streaming import partial_path
from lfkit.writers import CSV_COLUMNS, RAVEN_COLUMNS, WRITERS, make_writer, read_records

SR = 8000


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from lfkit.config import TrainConfig
    from lfkit.train import train_binary

    tmp = tmp_path_factory.mktemp("writers")
    data = make_set(tmp / "d", n=6, duration_s=2.0, snr="-10", sr=SR)
    model = tmp / "kt.pt"
    train_binary(str(data), str(model), "positive", TrainConfig(arch="knowntone"), tones="120,340,777")
    return model, data


def _score(setup, out, **kw):
    model, data = setup
    kw.setdefault("chunk_s", 1.0)
    kw.setdefault("chunk_hop_s", 0.5)
    assert score([str(model)], [str(data)], str(out), **kw) == 0
    return out


@pytest.fixture(scope="module")
def windows(setup, tmp_path_factory):
    out = _score(setup, tmp_path_factory.mktemp("w") / "w.jsonl")
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_registry_names_and_unknown_format():
    assert set(WRITERS) == {"jsonl", "csv", "raven", "audacity"}
    with pytest.raises(ParameterError, match="format='xml'.*jsonl, csv, raven, audacity"):
        make_writer("xml")


def test_csv_header_order_and_values(setup, windows, tmp_path):
    out = _score(setup, tmp_path / "s.csv", fmt="csv")
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = out.read_text().splitlines()[0].split(",")
    meta = [k for k in windows[0] if k not in CSV_COLUMNS]
    assert header == CSV_COLUMNS + meta + ["extra"] and out.read_text().count("path,model") == 1
    assert len(rows) == len(windows)
    for row, rec in zip(rows, windows):
        assert row["path"] == rec["path"] and float(row["score"]) == rec["score"]
        assert float(row["start"]) == rec["start"] and row["decision"] == str(rec["decision"]).lower()
        assert row["label"] == rec["label"] and row["probability"] == ""
    assert read_records(out) == windows  # csv reads back to the JSON Lines records, types included


def test_raven_table_as_raven_reads_it(setup, windows, tmp_path):
    out = _score(setup, tmp_path / "s.txt", fmt="raven")
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert list(rows[0]) == RAVEN_COLUMNS
    assert [int(r["Selection"]) for r in rows] == list(range(1, len(windows) + 1))
    assert {r["View"] for r in rows} == {"Spectrogram 1"} and {r["Channel"] for r in rows} == {"1"}
    offset, seen = 0.0, []
    for r, rec in zip(rows, windows):
        if rec["path"] not in seen:  # each file starts where the previous one ended (Raven's file sequence)
            if seen:
                offset += 2.0  # every clip is 2 s long
            seen.append(rec["path"])
        assert r["Begin Path"] == rec["path"] and r["Begin File"] == rec["path"].rsplit("/", 1)[1]
        assert float(r["File Offset (s)"]) == rec["start"]
        assert float(r["Begin Time (s)"]) == pytest.approx(offset + rec["start"], abs=1e-6)
        assert float(r["End Time (s)"]) == pytest.approx(offset + rec["end"], abs=1e-6)
        assert 0 <= float(r["Low Freq (Hz)"]) < float(r["High Freq (Hz)"])
        assert float(r["Score"]) == rec["score"]
    back = read_records(out)
    assert [(b["path"], b["start"], b["end"], b["score"]) for b in back] == [
        (w["path"], w["start"], w["end"], w["score"]) for w in windows]


_LABEL = re.compile(r"^(\d+\.\d+)\t(\d+\.\d+)\t([^\t\n]*)$")
_FREQ = re.compile(r"^\\\t(\d+\.\d+)\t(\d+\.\d+)$")


def test_audacity_labels_follow_the_grammar(setup, windows, tmp_path):
    out = _score(setup, tmp_path / "s.txt", fmt="audacity")
    lines = out.read_text().split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == 2 * len(windows)
    for lab, fr, rec in zip(lines[::2], lines[1::2], windows):
        m, f = _LABEL.match(lab), _FREQ.match(fr)
        assert m and f, (lab, fr)
        assert float(m.group(1)) == rec["start"] and float(m.group(2)) == rec["end"]
        assert m.group(3) == f"{rec['score']!r} {rec['path']}"
        assert float(f.group(1)) < float(f.group(2))
    back = read_records(out)
    assert [(b["path"], b["start"], b["score"]) for b in back] == [(w["path"], w["start"], w["score"]) for w in windows]


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_resume_finishes_a_cut_off_file_byte_for_byte(setup, tmp_path, fmt):
    full = _score(setup, tmp_path / f"full.{fmt}", fmt=fmt)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    partial_path(cut).write_bytes(data[: len(data) * 2 // 3 + 3])  # killed mid-line, two thirds through
    _score(setup, cut, fmt=fmt, resume=True)
    assert cut.read_bytes() == data and not partial_path(cut).exists()


def test_eval_reads_csv_like_jsonl(setup, tmp_path):
    _, data = setup
    j = _score(setup, tmp_path / "s.jsonl", chunk_s=None, chunk_hop_s=None)
    c = _score(setup, tmp_path / "s.csv", chunk_s=None, chunk_hop_s=None, fmt="csv")
    noext = tmp_path / "scores_table"
    noext.write_bytes(c.read_bytes())  # no extension: told apart by content
    a = run_eval(str(j), str(data / "labels.csv"))
    assert run_eval(str(c), str(data / "labels.csv")) == a == run_eval(str(noext), str(data / "labels.csv"))
    assert a["n"] == 6 and np.isfinite(a["auc"])


def test_csv_keeps_keys_the_header_lacks():
    w = make_writer("csv")
    data = w.encode([{"path": "a", "model": "m", "score": 1.0, "site": "x"}])
    data += w.encode([{"path": "b", "model": "m", "score": 0.5, "site": "y", "depth_m": "30"}])
    assert [r for r, _ in make_writer("csv").parse(data)] == [
        {"path": "a", "model": "m", "score": 1.0, "site": "x"},
        {"path": "b", "model": "m", "score": 0.5, "site": "y", "depth_m": "30"}]
    assert io.STDIO == "-"


@pytest.mark.parametrize("fmt, header", [("raven", RAVEN_COLUMNS), ("csv", CSV_COLUMNS + ["extra"]),
                                         ("audacity", None), ("jsonl", None)])
def test_no_record_left_a_table_still_has_its_header(setup, tmp_path, fmt, header):
    """Every window below --min-score: a Raven or CSV table is its header alone (it opens as an empty table)."""
    out = _score(setup, tmp_path / f"none.{fmt}", fmt=fmt, min_score=1e9)
    text = out.read_text()
    if header is None:
        assert text == ""
        return
    delimiter = "\t" if fmt == "raven" else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    assert reader.fieldnames == header and list(reader) == []
    assert text.count("\n") == 1
