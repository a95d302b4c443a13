"""The one-class regime: ``lfkit train-oneclass`` with every extractor and detector,
score direction, threshold rate, the model file, ``eval`` on its output, and bad input.

Tiny sets made with lfkit's own generator: 0.5 s clips at -10 dB per tone,
where the target's three lines are plain, so a few epochs already separate it.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from lfkit.config import OneClassConfig, SynthConfig
from lfkit.detectors import Detector, detector_names
from lfkit.errors import DataError, ParameterError
from lfkit.metrics import roc_auc
from lfkit.modelfile import load_model
from lfkit.inference.scorers import OneClassScorer
from lfkit.oneclass import RawExtractor, extractor_names, train_oneclass
from lfkit.scoring import score
from lfkit.surrogate import bin_frequencies, estimate_tones, surrogate_waveforms
from lfkit.synth import synthesize

TONES = "120,340,777"
DUR = 0.5
#: Tiny learned-extractor settings: 2 epochs, 3 surrogate classes of 8 clips.
TINY = dict(epochs=2, n_surrogate=3, clips_per_class=8, batch_size=16)


def _synth(folder, n, snr="-10", seed=0, positive_only=False):
    synthesize(str(folder), SynthConfig(duration_s=DUR), snr=snr, seed=seed, positive=TONES, n=n,
               positive_only=positive_only)
    return folder


def _records(path):
    return [json.loads(x) for x in open(path).read().splitlines() if x.strip()]


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("oneclass")
    return {
        "pos": _synth(root / "pos", 30, snr="-12:-8", positive_only=True),
        "small": _synth(root / "small", 8, positive_only=True, seed=3),
        "test": _synth(root / "test", 24, seed=11),
        "root": root,
    }


@pytest.fixture(scope="module")
def models(sets):
    root = sets["root"]
    out = {}
    for ext in ("raw", "ocspeccnn"):
        out[ext] = root / f"{ext}.pt"
        out[ext + "_summary"] = train_oneclass(str(sets["pos"]), str(out[ext]), cfg=OneClassConfig(extractor=ext, **TINY))
    return out


def _auc(records):
    y = np.array([r["label"] == "positive" for r in records], dtype=int)
    return roc_auc(y, np.array([r["score"] for r in records]))


@pytest.mark.parametrize("ext", ["raw", "ocspeccnn"])
def test_positives_score_higher_than_negatives(ext, sets, models, tmp_path):
    out = tmp_path / "s.jsonl"
    assert score([str(models[ext])], [str(sets["test"])], str(out)) == 0
    recs = _records(out)
    assert len(recs) == 24
    pos = [r["score"] for r in recs if r["label"] == "positive"]
    neg = [r["score"] for r in recs if r["label"] == "negative"]
    assert np.mean(pos) > np.mean(neg)
    assert _auc(recs) >= (0.95 if ext == "raw" else 0.75)
    assert all(r["target"] == "positive" and isinstance(r["decision"], bool) for r in recs)


@pytest.mark.parametrize("ext", ["raw", "ocspeccnn"])
def test_threshold_puts_about_nu_of_the_training_positives_below(ext, sets, models, tmp_path):
    doc = load_model(models[ext])
    part = doc["extra"]["joint"] if ext != "raw" else doc["extra"]["detector"]  # learned extractors: joint score
    assert doc["threshold"] == pytest.approx(part["threshold"])
    out = tmp_path / "s.jsonl"
    score([str(models[ext])], [str(sets["pos"])], str(out))
    below = np.mean([not r["decision"] for r in _records(out)])
    assert abs(below - 0.08) <= 0.07  # 30 clips: the 8 % quantile leaves 2 or 3 below
    assert models[ext + "_summary"]["below_threshold"] == pytest.approx(below, abs=0.04)  # float32 paths may flip one


def test_eval_reads_the_oneclass_scores(sets, models, tmp_path, lfkit_fast):
    out = tmp_path / "s.jsonl"
    r = lfkit_fast("score", models["raw"], sets["test"], "-o", out)
    assert r.returncode == 0, r.stderr
    r = lfkit_fast("eval", out)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["n"] == 24 and res["auc"] >= 0.95 and res["positive"] == "positive"


@pytest.mark.parametrize("ext", [e for e in extractor_names()])
def test_every_extractor_trains_and_scores(ext, sets, tmp_path):
    model = tmp_path / "m.pt"
    cfg = OneClassConfig(extractor=ext, epochs=1, n_surrogate=2, clips_per_class=4, batch_size=8)
    summary = train_oneclass(str(sets["small"]), str(model), cfg=cfg)
    doc = load_model(model)
    assert doc["regime"] == "oneclass" and doc["arch"] == (None if ext == "raw" else ext)
    assert summary["n_positive"] == 8
    out = tmp_path / "s.jsonl"
    assert score([str(model)], [str(sets["small"])], str(out)) == 0
    s = np.array([r["score"] for r in _records(out)])
    assert s.shape == (8,) and np.isfinite(s).all()


@pytest.mark.parametrize("det", detector_names())
def test_every_detector_fits_scores_and_round_trips(det, sets, tmp_path):
    model = tmp_path / "m.pt"
    cfg = OneClassConfig(extractor="raw", detector=det, n_components=3)
    train_oneclass(str(sets["pos"]), str(model), cfg=cfg)
    doc = load_model(model)
    assert doc["extra"]["detector"]["detector"] == det
    scorer = OneClassScorer(doc)
    from lfkit.data import load_dataset

    ds = load_dataset(str(sets["test"]))
    recs = scorer.score_batch(ds.X)
    again = OneClassScorer(load_model(model)).score_batch(ds.X)
    assert [r["score"] for r in recs] == [r["score"] for r in again]
    y = np.array([lab == "positive" for lab in ds.labels], dtype=int)
    assert roc_auc(y, np.array([r["score"] for r in recs])) >= 0.9
    if det == "gmm":
        p = np.array([r["probability"] for r in recs])
        assert ((p >= 0) & (p <= 1)).all() and p[y == 1].mean() > p[y == 0].mean()
    else:
        assert "probability" not in recs[0]


@pytest.mark.parametrize("reduce", ["mean", "pca", "none"])
def test_raw_reductions(reduce, sets):
    from lfkit.data import load_dataset

    X = load_dataset(str(sets["pos"])).X
    ext = RawExtractor(reduce).fit(X)
    Z = ext.transform(X)
    want = {"mean": X.shape[1], "pca": min(32, len(X) - 1), "none": X.shape[1] * X.shape[2]}[reduce]
    assert Z.shape == (len(X), want) and Z.dtype == np.float32
    back = RawExtractor.from_state(ext.to_state()).transform(X)
    np.testing.assert_allclose(back, Z)


def test_estimated_tones_are_the_targets(sets):
    from lfkit.config import FrontendConfig
    from lfkit.data import load_dataset

    ds = load_dataset(str(sets["pos"]))
    tones = estimate_tones(ds.X, bin_frequencies(FrontendConfig(), 44100))
    assert len(tones) == 3
    for got, want in zip(tones, (120, 340, 777)):
        assert abs(got - want) <= 44100 / 4096  # within one FFT bin


def test_surrogates_are_deterministic_and_labelled():
    Y1, y1 = surrogate_waveforms([120.0, 340.0], 3, 2, 8000, 4000, seed=5)
    Y2, y2 = surrogate_waveforms([120.0, 340.0], 3, 2, 8000, 4000, seed=5)
    assert Y1.shape == (6, 4000) and np.array_equal(Y1, Y2) and list(y1) == [0, 0, 1, 1, 2, 2]


def test_same_seed_same_model(sets, tmp_path):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    cfg = OneClassConfig(extractor="ocspeccnn", epochs=1, n_surrogate=2, clips_per_class=4, batch_size=8)
    for p in (a, b):
        train_oneclass(str(sets["small"]), str(p), cfg=cfg)
    da, db = load_model(a), load_model(b)
    assert all(np.array_equal(da["state_dict"][k], db["state_dict"][k]) for k in da["state_dict"])
    assert np.array_equal(da["extra"]["detector"]["support_vectors"], db["extra"]["detector"]["support_vectors"])


def test_other_labels_are_ignored_with_a_notice(sets, tmp_path, lfkit_fast):
    model = tmp_path / "m.pt"
    r = lfkit_fast("train-oneclass", sets["test"], "-o", model, "--extractor", "raw")
    assert r.returncode == 0, r.stderr
    assert b"12 clip(s) labelled negative ignored" in r.stderr
    assert load_model(model)["training"]["n_positive"] == 12


def test_aux_classes_join_the_surrogates(sets, tmp_path):
    aux = tmp_path / "aux"
    synthesize(str(aux), SynthConfig(duration_s=DUR), snr="-10", seed=4, classes=3, n=6)
    model = tmp_path / "m.pt"
    s = train_oneclass(str(sets["small"]), str(model), aux=str(aux),
                       cfg=OneClassConfig(epochs=1, batch_size=8, surrogates="aux"))
    doc = load_model(model)
    assert doc["extra"]["extractor"]["classes"] == ["target", "sig00", "sig01", "sig02"]
    assert s["aux"] == str(aux) and s["surrogate"]["aux_classes"] == 3
    train_oneclass(str(sets["small"]), str(model), aux=str(aux), cfg=OneClassConfig(epochs=1, batch_size=8, **{
        "n_surrogate": 2, "clips_per_class": 4, "surrogates": "shift,tones"}))
    classes = load_model(model)["extra"]["extractor"]["classes"]
    assert classes[0] == "target" and classes[1].startswith("shift") and classes[2] == "tones00"
    assert classes[3:] == ["sig00", "sig01", "sig02"]


# ------------------------------------------------------------------ refused model files


def _tamper(src, dst, change):
    from lfkit.modelfile import read_raw, write_raw

    doc = read_raw(src)
    change(doc["extra"]["detector"])
    write_raw(doc, dst)


@pytest.mark.parametrize("change", [
    lambda d: d.__setitem__("detector", "evil"),
    lambda d: d.pop("support_vectors"),
    lambda d: d.__setitem__("support_vectors", np.zeros((3, 2))),
    lambda d: d.__setitem__("state_version", 99),
], ids=["name", "missing", "shape", "version"])
def test_tampered_detector_state_is_refused(change, models, sets, tmp_path, lfkit_fast):
    bad = tmp_path / "bad.pt"
    _tamper(models["raw"], bad, change)
    r = lfkit_fast("score", bad, sets["test"])
    assert r.returncode == 1 and r.stdout == b""
    line = r.stderr.decode().strip()
    assert line.startswith("lfkit score: error: bad: refused: detector state"), line


def test_pickled_code_in_a_model_is_refused(tmp_path, lfkit_fast, sets):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    bad = tmp_path / "evil.pt"
    torch.save({"format": "lfkit-model", "x": Evil()}, bad, pickle_module=pickle)
    r = lfkit_fast("score", bad, sets["test"])
    assert r.returncode == 1 and b"pwned" not in r.stdout and b"refused to load" in r.stderr


# ------------------------------------------------------------------ bad input


def _fails(lfkit_fast, tmp_path, *args, code, needle):
    model = tmp_path / "m.pt"
    r = lfkit_fast("train-oneclass", *args, "-o", model)
    err = r.stderr.decode()
    assert r.returncode == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lfkit train-oneclass: error: "), err
    assert needle in lines[0], lines[0]
    assert not model.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_fewer_positives_than_the_mixture_needs(sets, tmp_path, lfkit_fast):
    _fails(lfkit_fast, tmp_path, sets["small"], "--extractor", "raw", "--detector", "gmm", code=1,
           needle="8 'positive' clip(s); gmm with n_components=18")


def test_too_few_positives_for_any_detector(tmp_path, lfkit_fast):
    d = _synth(tmp_path / "d", 3, positive_only=True)
    _fails(lfkit_fast, tmp_path, d, "--extractor", "raw", code=1, needle="needs at least 5")


def test_identical_clips_give_constant_features(sets, tmp_path, lfkit_fast):
    d = tmp_path / "same"
    d.mkdir()
    rows = ["path,label"]
    for i in range(8):
        shutil.copy(sets["small"] / "c00000.wav", d / f"c{i}.wav")
        rows.append(f"c{i}.wav,positive")
    (d / "labels.csv").write_text("\n".join(rows) + "\n")
    _fails(lfkit_fast, tmp_path, d, "--extractor", "raw", code=1, needle="features are constant")


def test_nan_features_are_refused(tmp_path, lfkit_fast):
    d = tmp_path / "spec"
    d.mkdir()
    rng = np.random.default_rng(0)
    rows = ["path,label"]
    for i in range(8):
        S = rng.standard_normal((40, 10)).astype(np.float32)
        if i == 3:
            S[5, 5] = np.nan
        np.save(d / f"s{i}.npy", S)
        rows.append(f"s{i}.npy,positive")
    (d / "labels.csv").write_text("\n".join(rows) + "\n")
    _fails(lfkit_fast, tmp_path, d, "--extractor", "raw", code=1, needle="NaN")


@pytest.mark.parametrize("nu", ["0", "-0.1", "1.5", "nan"])
def test_nu_outside_zero_one(nu, sets, tmp_path, lfkit_fast):
    _fails(lfkit_fast, tmp_path, sets["small"], "--extractor", "raw", "--nu", nu, code=2, needle="nu=")


def test_nu_of_one_is_refused_before_any_work_and_just_below_trains(sets, tmp_path, lfkit_fast):
    """scikit-learn's one-class SVM accepts nu=1 but its fit fails (every point a bounded support vector):
    refused up front, naming nu, even before the data is read; 0.99 still trains."""
    from lfkit.detectors import create_detector

    _fails(lfkit_fast, tmp_path, tmp_path / "no-such-data", "--nu", "1", code=2,
           needle="nu=1.0 must be in (0, 1): at 1 every training clip is a bounded support vector")
    with pytest.raises(ParameterError, match=r"nu=1\.0 must be in \(0, 1\)"):
        create_detector("ocsvm", nu=1.0).fit(np.random.default_rng(0).normal(size=(20, 4)))
    r = lfkit_fast("train-oneclass", sets["small"], "--extractor", "raw", "--nu", "0.99", "-o", tmp_path / "m.pt")
    assert r.returncode == 0, r.stderr.decode()
    assert load_model(tmp_path / "m.pt")["training"]["config"]["nu"] == 0.99


@pytest.mark.parametrize("flag,value,needle", [
    ("--detector", "svdd", "detector='svdd' is not known; choose one of: ocsvm, gmm, iforest"),
    ("--extractor", "wave1d", "extractor='wave1d' is not known; choose one of: ocspeccnn, raw"),
    ("--reduce", "max", "reduce='max' is not known"),
    ("--positive", "whale", "positive='whale' is not a label"),
])
def test_unknown_names(flag, value, needle, sets, tmp_path, lfkit_fast):
    _fails(lfkit_fast, tmp_path, sets["small"], flag, value, code=2, needle=needle)


def test_library_errors_are_typed(sets, tmp_path):
    with pytest.raises(ParameterError):
        OneClassConfig(nu=0)
    with pytest.raises(DataError):
        train_oneclass(str(sets["small"]), str(tmp_path / "m.pt"), cfg=OneClassConfig(extractor="raw", detector="gmm"))
    assert not (tmp_path / "m.pt").exists()
    with pytest.raises(DataError):
        Detector.from_state({"detector": "ocsvm"})


def test_joint_weight_is_chosen_against_surrogates_of_the_held_out_positives(sets, tmp_path, monkeypatch):
    """The development surrogates are made from the held-out fifth, never from the positives the parts are
    fitted on (those are in-sample for every part): the clips handed to dev_negatives are exactly the held-out
    positives the joint weight is chosen on, and none of the fitted ones."""
    import lfkit.joint as joint_mod
    import lfkit.oneclass_sets as sets_mod

    seen = {}
    real_neg, real_joint = sets_mod.dev_negatives, joint_mod.fit_oneclass_joint

    def neg_spy(ds, X_pos, *args, **kw):
        seen["surrogate_sources"] = np.array(X_pos)
        return real_neg(ds, X_pos, *args, **kw)

    def joint_spy(embed, build, X_fit, X_dev, *args, **kw):
        seen["fit"], seen["dev"] = np.array(X_fit), np.array(X_dev)
        return real_joint(embed, build, X_fit, X_dev, *args, **kw)

    monkeypatch.setattr(sets_mod, "dev_negatives", neg_spy)
    monkeypatch.setattr(joint_mod, "fit_oneclass_joint", joint_spy)
    train_oneclass(str(sets["pos"]), str(tmp_path / "m.pt"), cfg=OneClassConfig(extractor="ocspeccnn", **TINY))
    src, fit, dev = seen["surrogate_sources"], seen["fit"], seen["dev"]
    assert 0 < len(dev) < len(fit) and np.array_equal(src, dev)
    assert not any(np.array_equal(a, b) for a in src for b in fit)
