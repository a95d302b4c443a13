"""``lfkit eval``: metrics equal scikit-learn's on the same numbers, groups,
unmatched clips counted and reported, the ROC plot, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from binary_helpers import invoke, one_error_line
from lfkit.evaluate import evaluate, run_eval


def _write_set(folder, rows):
    """A labels.csv naming (empty) files, and score records for them: rows of (name, label, snr, score)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["path,label,snr_db"]
    for name, label, snr, _ in rows:
        (folder / name).write_bytes(b"")
        lines.append(f"{name},{label},{snr}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return [{"path": str(folder / name), "model": "m", "score": s, "threshold": 0.5, "target": "positive"}
            for name, _, _, s in rows if s is not None]


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def numbers(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    y = rng.integers(0, 2, n)
    s = np.round(np.clip(0.5 + 0.25 * (y - 0.5) + rng.normal(0, 0.2, n), 0, 1), 1)  # ties on purpose
    snr = rng.choice([-30, -20], n)
    rows = [(f"c{i:03d}.wav", "positive" if y[i] else "negative", int(snr[i]), float(s[i])) for i in range(n)]
    recs = _write_set(tmp_path / "d", rows)
    return y, s, snr, recs, tmp_path / "d"


def _sk(y, s, t):
    pred = (s >= t).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return {
        "auc": skm.roc_auc_score(y, s),
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, zero_division=0),
        "recall": skm.recall_score(y, pred, zero_division=0),
        "f1": skm.f1_score(y, pred, zero_division=0),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


def _check_against_sklearn(m, y, s, t):
    ref = _sk(y, s, t)
    for k in ("auc", "accuracy", "precision", "recall", "f1"):
        assert m[k] == pytest.approx(ref[k], abs=1e-12), k
    assert m["confusion"] == ref["confusion"]
    assert m["n"] == len(y) and m["n_positive"] == int(y.sum())
    # sklearn's max_fpr AUC is McClish-standardised; undo that to get the plain partial area / max_fpr
    mc = skm.roc_auc_score(y, s, max_fpr=0.1)
    lo, hi = 0.1 ** 2 / 2, 0.1
    assert m["pauc"] == pytest.approx((lo + (2 * mc - 1) * (hi - lo)) / 0.1, abs=1e-9)
    # EER: where FPR meets FNR on sklearn's ROC curve, both linearly interpolated between the two
    # points that bracket the crossing (there the two rates are equal: the EER, exactly)
    fpr, tpr, _ = skm.roc_curve(y, s)
    fnr = 1 - tpr
    i = int(np.flatnonzero(fnr - fpr <= 0)[0])
    d0, d1 = fnr[i - 1] - fpr[i - 1], fnr[i] - fpr[i]
    t = d0 / (d0 - d1)
    eer = fpr[i - 1] + t * (fpr[i] - fpr[i - 1])
    assert eer == pytest.approx(fnr[i - 1] + t * (fnr[i] - fnr[i - 1]), abs=1e-12)
    assert m["eer"] == pytest.approx(eer, abs=1e-12)


@pytest.mark.parametrize("threshold", [None, 0.3, 0.65])
def test_metrics_equal_sklearn(numbers, threshold):
    y, s, _, recs, d = numbers
    from lfkit.io import read_labels

    rows, _ = read_labels(d)
    for r in rows:
        r["path"] = r["_file"]
    m = evaluate(recs, rows, threshold=threshold)
    t = 0.5 if threshold is None else threshold
    assert m["threshold"] == t and m["positive"] == "positive"
    _check_against_sklearn(m, y, s, t)
    assert m["unscored"] == 0 and m["unlabelled"] == 0


def test_by_snr_groups_through_the_cli(numbers, tmp_path):
    y, s, snr, recs, d = numbers
    scores = _jsonl(tmp_path / "s.jsonl", recs)
    rc, out, err = invoke("eval", scores, "--labels", d / "labels.csv", "--by", "snr_db")
    assert rc == 0, err
    m = json.loads(out)
    _check_against_sklearn(m, y, s, 0.5)
    assert list(m["by"]["snr_db"]) == ["-30", "-20"]
    for g in (-30, -20):
        _check_against_sklearn(m["by"]["snr_db"][str(g)], y[snr == g], s[snr == g], 0.5)


def test_unscored_and_unlabelled_are_counted_and_reported(numbers, tmp_path):
    y, s, _, recs, d = numbers
    kept = recs[5:] + [{"path": str(tmp_path / "stray.wav"), "score": 0.9}, {"path": str(tmp_path / "x.wav"), "score": 0.1}]
    scores = _jsonl(tmp_path / "s.jsonl", kept)
    out = tmp_path / "m.json"
    rc, stdout, err = invoke("eval", scores, "--labels", d, "-o", out)
    assert rc == 0 and stdout == b""
    m = json.loads(out.read_text())
    assert m["unscored"] == 5 and m["unlabelled"] == 2 and m["n"] == len(y) - 5
    assert "5 labelled clip(s) have no score" in err and "2 scored clip(s) have no label" in err
    _check_against_sklearn(m, y[5:], s[5:], 0.5)


def test_relative_record_paths_join_labels(numbers, tmp_path, monkeypatch):
    y, s, _, recs, d = numbers
    monkeypatch.chdir(tmp_path)
    rel = [dict(r, path="d/" + r["path"].rsplit("/", 1)[1]) for r in recs]
    scores = _jsonl(tmp_path / "s.jsonl", rel)
    m = run_eval(str(scores), str(d / "labels.csv"), output=str(tmp_path / "m.json"))
    assert m["unlabelled"] == 0 and m["unscored"] == 0 and m["n"] == len(y)


def test_chunked_records_reduce_to_the_file_maximum(tmp_path):
    recs = _write_set(tmp_path / "d", [("a.wav", "positive", 0, None), ("b.wav", "negative", 0, None)])
    a, b = str(tmp_path / "d" / "a.wav"), str(tmp_path / "d" / "b.wav")
    recs = [{"path": a, "score": 0.2, "start": 0, "end": 1}, {"path": a, "score": 0.9, "start": 1, "end": 2},
            {"path": b, "score": 0.6, "start": 0, "end": 1}, {"path": b, "score": 0.1, "start": 1, "end": 2}]
    m = run_eval(str(_jsonl(tmp_path / "s.jsonl", recs)), str(tmp_path / "d"), positive="positive",
                 output=str(tmp_path / "m.json"))
    assert m["n"] == 2 and m["auc"] == 1.0
    assert m["confusion"] == {"tn": 0, "fp": 1, "fn": 0, "tp": 1}


def test_pauc_of_a_hand_made_case(tmp_path):
    # 3 positives, 10 negatives; descending: P(.9) N(.85) P(.8) N... P(.2)
    # ROC: tpr 1/3 over FPR [0, 0.1], then jumps to 2/3 at FPR 0.1 -> pAUC = (0.1 * 1/3) / 0.1 = 1/3
    negs = [0.85, 0.7, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25]
    rows = [("p1.wav", "positive", 0, 0.9), ("p2.wav", "positive", 0, 0.8), ("p3.wav", "positive", 0, 0.2)]
    rows += [(f"n{i}.wav", "negative", 0, v) for i, v in enumerate(negs)]
    recs = _write_set(tmp_path / "d", rows)
    m = run_eval(str(_jsonl(tmp_path / "s.jsonl", recs)), str(tmp_path / "d"), output=str(tmp_path / "m.json"))
    assert m["pauc"] == pytest.approx(1 / 3)
    assert m["auc"] == pytest.approx((10 + 9 + 0) / 30)
    perfect = [dict(r, score=1.0 if r["path"].rsplit("/", 1)[1].startswith("p") else 0.0) for r in recs]
    assert run_eval(str(_jsonl(tmp_path / "p.jsonl", perfect)), str(tmp_path / "d"), output=str(tmp_path / "m.json"))["pauc"] == 1.0


def test_roc_plot_is_a_png(numbers, tmp_path):
    pytest.importorskip("matplotlib")
    _, _, _, recs, d = numbers
    png = tmp_path / "roc.png"
    rc, out, err = invoke("eval", _jsonl(tmp_path / "s.jsonl", recs), "--labels", d, "--plot", png)
    assert rc == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(out)["n"] == 80


def test_labels_inside_records(tmp_path):
    recs = [{"path": f"c{i}", "score": v, "label": lab} for i, (v, lab) in
            enumerate([(0.9, "positive"), (0.1, "negative"), (0.7, "positive"), (0.8, "negative"), (0.5, None)])]
    m = run_eval(str(_jsonl(tmp_path / "s.jsonl", recs)), None, output=str(tmp_path / "m.json"))
    assert m["n"] == 4 and m["unlabelled"] == 1
    assert m["auc"] == pytest.approx(skm.roc_auc_score([1, 0, 1, 0], [0.9, 0.1, 0.7, 0.8]))


@pytest.mark.parametrize("case, code, words", [
    ("absent_positive", 2, "positive='whale'"),
    ("no_match", 1, "no score record matched"),
    ("not_json", 1, "line 1 is not JSON"),
    ("no_labels_file", 1, "no labels.csv"),
])
def test_bad_input_exit_codes(numbers, tmp_path, case, code, words):
    _, _, _, recs, d = numbers
    scores = _jsonl(tmp_path / "s.jsonl", recs)
    args = ["eval", scores, "--labels", d]
    if case == "absent_positive":
        args += ["--positive", "whale"]
    elif case == "no_match":
        scores.write_text(json.dumps({"path": "/nowhere.wav", "score": 0.5}) + "\n")
    elif case == "not_json":
        scores.write_text("{oops\n")
    else:
        args[3] = tmp_path / "nothing"
    rc, out, err = invoke(*args)
    assert rc == code and out == b""
    assert words in one_error_line(err, "eval")
