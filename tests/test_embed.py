"""``lfkit embed``: (N, D) float32 NPY and its CSV for one-class and binary models,
one clip to standard output, long files in chunks, and refused usage."""

from __future__ import annotations

import csv
import io as _io

import numpy as np
import pytest

from lfkit.config import OneClassConfig, SynthConfig, TrainConfig
from lfkit.modelfile import load_model
from lfkit.oneclass import train_oneclass
from lfkit.synth import synthesize

DUR = 0.5


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("embed")
    cfg = SynthConfig(duration_s=DUR)
    synthesize(str(root / "pos"), cfg, snr="-10", seed=0, positive="120,340,777", n=12, positive_only=True)
    synthesize(str(root / "test"), cfg, snr="-10", seed=1, positive="120,340,777", n=6)
    synthesize(str(root / "long.wav"), SynthConfig(duration_s=1.6), snr="-10", seed=2, tones="120,340,777")
    models = {
        "raw": root / "raw.pt",
        "ocspeccnn": root / "oc.pt",
        "binary": root / "bin.pt",
    }
    train_oneclass(str(root / "pos"), str(models["raw"]), cfg=OneClassConfig(extractor="raw"))
    train_oneclass(str(root / "pos"), str(models["ocspeccnn"]),
                   cfg=OneClassConfig(epochs=1, n_surrogate=2, clips_per_class=4, batch_size=8))
    from lfkit.train import train_binary

    train_binary(str(root / "test"), str(models["binary"]), "positive", TrainConfig(epochs=1, batch_size=8))
    return root, models


def _dim(model_path) -> int:
    doc = load_model(model_path)
    if doc["arch"] is None:
        return doc["input"]["shape"][0]  # raw, time-averaged: one value per frequency row
    return int(doc["arch_kwargs"].get("embedding_dim", 64))


@pytest.mark.parametrize("kind", ["raw", "ocspeccnn", "binary"])
def test_dataset_gives_array_and_csv(kind, env, tmp_path, lfkit_fast):
    root, models = env
    out = tmp_path / "emb.npy"
    r = lfkit_fast("embed", models[kind], root / "test", "-o", out)
    assert r.returncode == 0, r.stderr
    E = np.load(out)
    assert E.dtype == np.float32 and E.shape == (6, _dim(models[kind])) and np.isfinite(E).all()
    rows = list(csv.DictReader(open(tmp_path / "emb.csv")))
    assert [int(x["row"]) for x in rows] == list(range(6))
    assert [x["label"] for x in rows] == ["positive"] * 3 + ["negative"] * 3
    assert rows[0]["path"].endswith("c00000.wav") and rows[0]["start"] == "" and "snr_db" in rows[0]


def test_oneclass_embedding_is_what_the_detector_sees(env, tmp_path, lfkit_fast):
    from lfkit.data import load_dataset
    from lfkit.detectors import Detector

    root, models = env
    out = tmp_path / "emb.npy"
    assert lfkit_fast("embed", models["ocspeccnn"], root / "test", "-o", out).returncode == 0
    det = Detector.from_state(load_model(models["ocspeccnn"])["extra"]["detector"])
    from lfkit.inference.scorers import OneClassScorer

    scorer = OneClassScorer(load_model(models["ocspeccnn"]))
    X = load_dataset(str(root / "test")).X
    want = [r["score"] for r in scorer.score_batch(X)]
    got = det.score_samples(np.load(out))
    if scorer.joint is not None:  # a joint model adds the classical half to the learned detector's score
        got = scorer.joint.score(X, got)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_one_clip_without_output_writes_npy_to_stdout(env, lfkit_fast):
    root, models = env
    r = lfkit_fast("embed", models["raw"], root / "test" / "c00000.wav")
    assert r.returncode == 0, r.stderr
    E = np.load(_io.BytesIO(r.stdout))
    assert E.shape == (1, _dim(models["raw"])) and E.dtype == np.float32


def test_stdin_clip(env, lfkit_fast):
    root, models = env
    r = lfkit_fast("embed", models["raw"], "-", input=(root / "test" / "c00001.wav").read_bytes())
    assert r.returncode == 0, r.stderr
    assert np.load(_io.BytesIO(r.stdout)).shape == (1, _dim(models["raw"]))


def test_long_file_is_embedded_in_chunks(env, tmp_path, lfkit_fast):
    root, models = env
    out = tmp_path / "emb.npy"
    r = lfkit_fast("embed", models["ocspeccnn"], root / "long.wav", "-o", out, "--chunk", "0.5", "--chunk-hop", "0.25")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / "emb.csv")))
    n = 1 + int((1.6 - 0.5) // 0.25)
    assert np.load(out).shape[0] == len(rows) == n
    assert [float(x["start"]) for x in rows] == pytest.approx([0.25 * i for i in range(n)])
    assert float(rows[0]["end"]) == pytest.approx(0.5)


def test_several_inputs_need_an_output(env, lfkit_fast):
    root, models = env
    r = lfkit_fast("embed", models["raw"], root / "test")
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.decode().strip() == (
        "lfkit embed: error: output: several inputs give an array and a CSV; name them with -o emb.npy")


def test_not_a_model_and_bad_inputs(env, tmp_path, lfkit_fast):
    root, models = env
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    r = lfkit_fast("embed", junk, root / "test", "-o", tmp_path / "e.npy")
    assert r.returncode == 1 and "not a readable lfkit model" in r.stderr.decode()
    r = lfkit_fast("embed", models["raw"], tmp_path / "missing.wav", "-o", tmp_path / "e.npy")
    assert r.returncode == 1 and "no such file" in r.stderr.decode()
    assert not (tmp_path / "e.npy").exists()


def test_siamese_models_embed_too(env, tmp_path, lfkit_fast):
    root, _ = env
    multi = tmp_path / "multi"
    synthesize(str(multi), SynthConfig(duration_s=DUR), snr="-10", seed=3, classes=5, n=4)
    model = tmp_path / "si.pt"
    r = lfkit_fast("train-siamese", multi, "-o", model, "--epochs", "1", "--batch-size", "4", "--embedding-dim", "16")
    if r.returncode != 0 and b"No such command" in r.stderr:
        pytest.skip("this lfkit has no train-siamese")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "emb.npy"
    r = lfkit_fast("embed", model, multi, "-o", out)
    assert r.returncode == 0, r.stderr
    dim = load_model(model)["extra"]["embedding_dim"]  # 16 learned, plus the joint's spectrum rows
    assert dim > 16 and np.load(out).shape == (20, dim)
