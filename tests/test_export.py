"""``lfkit export``: ONNX graphs score clips as lfkit does, and unexportable models are refused cleanly.

Tiny models are trained here on clips made by lfkit's generator; the same
clips are scored by lfkit (``lfkit.scoring.score``, or the scorer's
``embed_batch`` for siamese embeddings) and by onnxruntime on the exported
graph, and the scores must agree within 1e-4.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx", reason="ONNX export needs the onnx extra (pip install 'lfkit[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="the ONNX export tests run graphs with onnxruntime (lfkit[onnx])")

from binary_helpers import invoke, make_set, one_error_line, train  # noqa: E402
from conftest import leftovers  # noqa: E402

from lfkit import features, io  # noqa: E402
from lfkit.config import FrontendConfig, OneClassConfig, SiameseConfig, SynthConfig, TrainConfig  # noqa: E402
from lfkit.export import export_model, frontend_path  # noqa: E402
from lfkit.inference import load_model  # noqa: E402
from lfkit.scoring import score  # noqa: E402

TOL = 1e-4
#: Every architecture train-binary builds a network for (the registry's 2-D and 1-D backbones).
BINARY_ARCHS = ("speccnn", "basiccnn", "lenet", "alexnet", "vgg16", "resnet", "inception", "wave1d")


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    return {"root": root, "train": make_set(root / "train", n=12), "test": make_set(root / "test", n=6, seed=7)}


def _lfkit_scores(model, folder, out, key="score"):
    """lfkit's records for every clip of ``folder``: (scores, waveforms (N, n) float32 as lfkit reads them)."""
    score([str(model)], [str(folder)], str(out))
    recs = [json.loads(x) for x in Path(out).read_text().splitlines() if x.strip()]
    Y = np.stack([io.read_audio(str(Path(folder) / r["path"]))[0] for r in recs]).astype(np.float32)
    if key != "score":
        return np.array([r[key] for r in recs]), np.array([r["score"] for r in recs]), Y
    return np.array([r["score"] for r in recs]), Y


def _run(onnx_path, feed):
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feed)))


def _check_binary(sets, model, tmp_path):
    out = tmp_path / "m.onnx"
    info = export_model(model, out)
    assert info["frontend_in_graph"] and info["frontend_json"] is None and not frontend_path(out).exists()
    ref, Y = _lfkit_scores(model, sets["test"], tmp_path / "s.jsonl")
    got = _run(out, {"waveform": Y})
    assert got["score"].shape == (len(Y),)
    np.testing.assert_allclose(got["score"], ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(1 / (1 + np.exp(-got["logit"].astype(float))), ref, rtol=0, atol=TOL)
    return got


@pytest.mark.parametrize("arch", BINARY_ARCHS)
def test_binary_network_scores_equal_lfkit(sets, tmp_path, arch):
    model = tmp_path / f"{arch}.pt"
    train(sets["train"], model, arch=arch, epochs=1)
    _check_binary(sets, model, tmp_path)


def test_probe_fusion_scores_equal_lfkit(sets, tmp_path):
    """A binary model fused with its linear probe (lfkit.fusion), at a weight that gives both parts a say."""
    from lfkit.inference.modelfile import read_raw, write_raw

    model = tmp_path / "p.pt"
    train(sets["train"], model, epochs=1, probe=True)
    doc = read_raw(model)
    assert "probe" in doc["extra"]
    doc["extra"]["probe"].update(cnn_gain=0.5, probe_gain=0.7)
    forced = tmp_path / "forced.pt"
    write_raw(doc, forced)
    _check_binary(sets, forced, tmp_path)


@pytest.mark.parametrize("kind,norm,sr", [("linear", "standard", None), ("mel", "none", None),
                                          ("logmel", "standard", None), ("mfcc", "none", None), ("log", "none", None),
                                          ("log", "standard", 16000)])
def test_every_graph_front_end_scores_equal_lfkit(sets, tmp_path, kind, norm, sr):
    """Each kind the graph computes; with ``sr`` the model resamples, and the graph reads audio at its rate."""
    from lfkit.train import train_binary

    model = tmp_path / "m.pt"
    changes = {"kind": kind, "norm": norm, "n_mels": 24, "n_mfcc": 12, "fmax": 2000.0}
    if sr:
        changes.update(sr=sr, n_fft=1024, hop_length=256)
    train_binary(str(sets["train"]), str(model), "positive", TrainConfig(arch="speccnn", epochs=1, batch_size=8),
                 frontend_changes=changes)
    doc = load_model(model)
    assert doc["frontend"].kind == kind
    if not sr:
        _check_binary(sets, model, tmp_path)
        return
    assert doc["input"]["sr"] == sr
    out = tmp_path / "m.onnx"
    export_model(model, out)
    ref, Y = _lfkit_scores(model, sets["test"], tmp_path / "s.jsonl")  # lfkit resamples the 44.1 kHz clips
    Y = features.resample(Y, 44100, sr).astype(np.float32)
    np.testing.assert_allclose(_run(out, {"waveform": Y})["score"], ref, rtol=0, atol=TOL)


def test_front_end_in_graph_equals_spectrogram_batch_for_a_loud_tone():
    """The graph's front end alone against lfkit's on a tone 80 dB above the floor (top_db clips it)."""
    import torch

    from lfkit.onnx_graph import FrontEnd

    sr, n = 8000, 6000
    t = np.arange(n) / sr
    rng = np.random.default_rng(0)
    Y = np.stack([np.sin(2 * np.pi * 440 * t) + 1e-6 * rng.standard_normal(n), 0.1 * rng.standard_normal(n)])
    Y = Y.astype(np.float32)
    for kind in ("logmel", "log", "mfcc"):
        fe = FrontendConfig(kind=kind, n_fft=512, hop_length=128, fmax=None, n_mels=32, n_mfcc=13)
        want = features.spectrogram_batch(Y, sr, fe)
        got = FrontEnd(fe, sr, n)(torch.from_numpy(Y)).numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-3)


def test_ensemble_scores_its_mean_probability(sets, tmp_path):
    model = tmp_path / "ens.pt"
    train(sets["train"], model, arch="speccnn", epochs=1, ensemble=2)
    assert len(load_model(model)["extra"]["ensemble"]) == 1
    _check_binary(sets, model, tmp_path)


@pytest.mark.parametrize("kind", ["pcen", "whiten"])
def test_stateful_front_end_goes_beside_the_graph_as_json(sets, tmp_path, kind):
    from lfkit.train import train_binary

    model = tmp_path / "pcen.pt"
    train_binary(str(sets["train"]), str(model), "positive", TrainConfig(arch="speccnn", epochs=1, batch_size=8),
                 frontend_changes={"kind": kind, "n_mels": 24})
    out = tmp_path / "pcen.onnx"
    info = export_model(model, out)
    side = tmp_path / "pcen.frontend.json"
    assert not info["frontend_in_graph"] and info["frontend_json"] == str(side) and info["input"]["name"] == "spectrogram"
    fe = FrontendConfig.from_json(side.read_text())
    assert fe.kind == kind and fe.sr == 44100
    ref, Y = _lfkit_scores(model, sets["test"], tmp_path / "s.jsonl")
    got = _run(out, {"spectrogram": features.spectrogram_batch(Y, fe.sr, fe)})
    np.testing.assert_allclose(got["score"], ref, rtol=0, atol=TOL)


@pytest.fixture(scope="module")
def positives(tmp_path_factory):
    from lfkit.synth import synthesize

    root = tmp_path_factory.mktemp("export_oc")
    synthesize(str(root / "pos"), SynthConfig(duration_s=0.5), snr="-12:-8", seed=0, positive="120,340,777", n=24,
               positive_only=True)
    return root / "pos"


@pytest.mark.parametrize("detector,joint", [("ocsvm", False), ("gmm", False), ("ocsvm", True)])
def test_oneclass_detector_head_scores_equal_lfkit(sets, positives, tmp_path, detector, joint):
    """The detector on the learned embedding; joint: with the classical half (186 rows: its PCA too)."""
    from lfkit.oneclass import train_oneclass

    model = tmp_path / f"{detector}.pt"
    cfg = OneClassConfig(extractor="ocspeccnn", detector=detector, joint=joint, epochs=1, n_surrogate=3,
                         clips_per_class=6, batch_size=16, n_components=3)
    train_oneclass(str(positives), str(model), cfg=cfg, frontend_changes={"fmax": 2000.0} if joint else None)
    extra = load_model(model)["extra"]
    assert (extra.get("joint") is not None) == joint
    if joint:
        assert len(extra["joint"]["classical"]["components"]) > 0
    out = tmp_path / "oc.onnx"
    export_model(model, out)
    ref, Y = _lfkit_scores(model, sets["test"], tmp_path / "s.jsonl")
    got = _run(out, {"waveform": Y})
    assert got["score"].dtype == np.float64 and got["embedding"].shape[0] == len(Y)
    # A gmm log-likelihood of a clip far from the target runs to -1e4 and beyond, where float32 networks
    # (torch's and onnxruntime's convolutions round differently) agree to ~1e-7 relative, not 1e-4 absolute:
    # 1e-4 absolute, or one part in a million of the score where that is larger.
    np.testing.assert_allclose(got["score"], ref, rtol=1e-6 if detector == "gmm" else 0, atol=TOL)
    assert np.ptp(ref) > 10 * TOL  # the clips score differently: equality is not a constant's
    if detector == "gmm":  # calibrated on the surrogate negatives: the probability lfkit reports, too
        prob, _, _ = _lfkit_scores(model, sets["test"], tmp_path / "p.jsonl", "probability")
        np.testing.assert_allclose(got["probability"], prob, rtol=0, atol=TOL)


def test_gmm_probability_is_numpy_interp_at_and_between_its_thresholds():
    import torch

    from lfkit.onnx_graph import DetectorHead

    state = {"detector": "gmm", "state_version": 1, "params": {"n_components": 1}, "mean": np.zeros(2),
             "scale": np.ones(2), "threshold": 0.0, "weights": np.ones(1), "means": np.zeros((1, 2)),
             "precisions": np.ones(1), "calibrated": True, "X_thresholds": np.array([-5.0, -2.0, -2.0, 1.0]),
             "y_thresholds": np.array([0.0, 0.3, 0.6, 1.0])}
    head = DetectorHead(state)
    s = np.array([-9.0, -5.0, -3.5, -2.0, -1.999, 0.0, 1.0, 4.0])
    got = head.probability(torch.from_numpy(s)).numpy()
    np.testing.assert_allclose(got, np.interp(s, state["X_thresholds"], state["y_thresholds"]), atol=1e-12)


@pytest.mark.parametrize("joint", [False, True])
def test_siamese_embedding_equals_lfkit(tmp_path, joint):
    from lfkit.inference import make_scorer
    from lfkit.siamese_train import train_siamese
    from lfkit.synth import synthesize

    synthesize(str(tmp_path / "multi"), SynthConfig(duration_s=0.5), snr="-5", seed=0, classes=3, n=4)
    model = tmp_path / "si.pt"
    train_siamese(str(tmp_path / "multi"), str(model),
                  SiameseConfig(epochs=1, batch_size=4, clips_per_class=3, embedding_dim=8, joint=joint))
    assert (load_model(model)["extra"].get("joint_weight") is not None) == joint
    out = tmp_path / "si.onnx"
    assert export_model(model, out)["outputs"] == ["embedding"]
    doc = load_model(model)
    clips = sorted((tmp_path / "multi").rglob("*.wav"))[:6]
    Y = np.stack([io.read_audio(str(p))[0] for p in clips]).astype(np.float32)
    want = make_scorer(doc).embed_batch(features.spectrogram_batch(Y, doc["input"]["sr"], doc["frontend"]))
    got = _run(out, {"waveform": Y})["embedding"]
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_graph_metadata_names_sign_rate_and_threshold(sets, tmp_path):
    import onnx

    model = tmp_path / "m.pt"
    train(sets["train"], model, epochs=1)
    export_model(model, tmp_path / "m.onnx")
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    doc = load_model(model)
    assert meta["regime"] == "binary" and int(meta["sr"]) == 44100 and int(meta["n_samples"]) == 22050
    assert json.loads(meta["threshold"]) == pytest.approx(doc["threshold"])
    assert FrontendConfig.from_json(meta["frontend"]).kind == doc["frontend"].kind
    assert json.loads(meta["outputs"]) == ["score", "logit"]


# ----------------------------------------------------------------------------- refused


@pytest.mark.parametrize("arch", ["logreg", "knowntone"])
def test_models_without_a_network_are_refused_and_nothing_is_written(sets, tmp_path, arch):
    model = tmp_path / f"{arch}.pt"
    train(sets["train"], model, arch=arch, epochs=1)
    out = tmp_path / "m.onnx"
    code, stdout, stderr = invoke("export", model, "-o", out)
    line = one_error_line(stderr, "export")
    assert code == 2 and stdout == b"" and "cannot be exported to ONNX" in line
    assert not out.exists() and not frontend_path(out).exists() and leftovers(tmp_path) == []


def test_iforest_and_raw_extractor_are_refused(positives, tmp_path):
    from lfkit.oneclass import train_oneclass

    cases = {"iforest": OneClassConfig(extractor="ocspeccnn", detector="iforest", joint=False, epochs=1,
                                       n_surrogate=3, clips_per_class=6, batch_size=16),
             "raw": OneClassConfig(extractor="raw", detector="ocsvm")}
    for name, cfg in cases.items():
        model = tmp_path / f"{name}.pt"
        train_oneclass(str(positives), str(model), cfg=cfg)
        out = tmp_path / f"{name}.onnx"
        out.write_bytes(b"the user's own file")
        code, _, stderr = invoke("export", model, "-o", out)
        line = one_error_line(stderr, "export")
        assert code == 2 and ("iforest" in line if name == "iforest" else "no network" in line), line
        assert out.read_bytes() == b"the user's own file" and leftovers(tmp_path) == []


def test_output_that_is_the_model_is_refused(sets, tmp_path):
    model = tmp_path / "m.pt"
    train(sets["train"], model, epochs=1)
    before = model.read_bytes()
    code, _, stderr = invoke("export", model, "-o", model)
    assert code == 2 and "model" in one_error_line(stderr, "export")
    assert model.read_bytes() == before
    code, _, stderr = invoke("export", model, "-o", tmp_path / "m.onnx", "--opset", "9")
    assert code == 2 and "opset=9" in one_error_line(stderr, "export") and not (tmp_path / "m.onnx").exists()


def test_cli_writes_the_graph_atomically_over_an_old_export(sets, tmp_path):
    model = tmp_path / "m.pt"
    train(sets["train"], model, epochs=1)
    out = tmp_path / "m.onnx"
    assert invoke("export", model, "-o", out, "--opset", "14")[0] == 0  # an older export, lfkit's own
    older = out.read_bytes()
    code, stdout, stderr = invoke("export", model, "-o", out)
    assert code == 0 and stdout == b"" and stderr == "", stderr
    assert out.read_bytes() != older and leftovers(tmp_path) == []
    ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    user = tmp_path / "mine.onnx"  # a file lfkit did not write is never replaced
    user.write_bytes(b"the user's own graph")
    code, _, stderr = invoke("export", model, "-o", user)
    assert code == 2 and "exists and lfkit did not write it" in stderr
    assert user.read_bytes() == b"the user's own graph" and leftovers(tmp_path) == []
