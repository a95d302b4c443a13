"""Joint scores never below their classical half, the siamese open-set threshold, the ETA, enrollment notices.

The one-class case is built to need the joint: the learned part is an
untrained OC-SpecCNN (or pure noise), while the whitened mean spectrum
separates the target (tones at -10 dB) from negatives sharing some of its
lines. Weights are picked on held-out data, smallest first among ties, so the
joint score cannot fall below the classical one there.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import assert_clean_failure
from lfkit.config import OneClassConfig, SiameseConfig, SynthConfig
from lfkit.data import load_dataset
from lfkit.eta import format_eta, with_eta
from lfkit.joint import (ClassicalFeatures, JointOneClass, choose_weight, classical_embedding,
                         fit_oneclass_joint, join_embeddings)
from lfkit.metrics import roc_auc
from lfkit.oneclass import net_embed, build_detector
from lfkit.siamese_joint import choose_siamese_weight, enrol_trials, open_set_threshold
from lfkit.synth import synthesize

TONES = "120,340,777"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("joint")
    cfg = SynthConfig(duration_s=0.5)
    synthesize(str(root / "pos"), cfg, snr="-12:-8", seed=0, positive=TONES, n=30, positive_only=True)
    synthesize(str(root / "neg"), cfg, snr="-10", seed=5, positive=TONES, n=16)
    synthesize(str(root / "test"), cfg, snr="-10", seed=11, positive=TONES, n=24)
    pos = load_dataset(str(root / "pos")).X
    neg_ds = load_dataset(str(root / "neg"))
    neg = neg_ds.X[np.array([lab != "positive" for lab in neg_ds.labels])]
    t = load_dataset(str(root / "test"))
    return {"pos": pos, "neg": neg, "test": t.X, "y": np.array([lab == "positive" for lab in t.labels], int),
            "root": root}


def _noise_embed(X):
    """Features that know nothing about the clip: a seeded draw per clip index."""
    return np.random.default_rng(len(X)).standard_normal((len(X), 8))


def _untrained_embed(shape):
    import torch

    from lfkit.models import create_model

    torch.manual_seed(0)
    net = create_model("ocspeccnn", n_outputs=4, freq_bins=max(16, -(-shape[0] // 4)))
    return lambda X: net_embed(net, X, "cpu")


@pytest.mark.parametrize("learned", ["untrained ocspeccnn", "noise"])
def test_joint_score_is_never_below_its_classical_half(learned, data):
    pos, neg, X, y = data["pos"], data["neg"], data["test"], data["y"]
    embed = _noise_embed if learned == "noise" else _untrained_embed(pos.shape[1:])
    cfg = OneClassConfig()
    fit, dev = np.arange(24), np.arange(24, 30)
    det_l = build_detector(cfg).fit(embed(pos))
    joint = fit_oneclass_joint(embed, lambda: build_detector(cfg), pos[fit], pos[dev], neg, pos, det_l)
    s_c, _ = joint.parts(X, det_l.score_samples(embed(X)))
    auc_joint = roc_auc(y, joint.score(X, det_l.score_samples(embed(X))))
    auc_classical = roc_auc(y, s_c)
    assert auc_classical >= 0.95  # the classical half separates
    assert auc_joint >= auc_classical
    assert joint.weight == 0.0 and joint.dev_auc[0.0] == 1.0
    again = JointOneClass.from_state(joint.to_state())  # what the model file holds scores the same
    assert np.allclose(again.score(X, det_l.score_samples(embed(X))), joint.score(X, det_l.score_samples(embed(X))))


def test_weight_goes_to_the_part_that_separates_held_out_data():
    rng = np.random.default_rng(0)
    good_pos, good_neg = rng.normal(2, 1, 50), rng.normal(-2, 1, 50)
    noise_pos, noise_neg = rng.normal(0, 1, 50), rng.normal(0, 1, 50)
    w, aucs = choose_weight((noise_pos, good_pos), (noise_neg, good_neg))
    assert w >= 0.75 and aucs[w] == max(aucs.values()) and aucs[w] > aucs[0.0] + 0.3
    w, aucs = choose_weight((good_pos, noise_pos), (good_neg, noise_neg))
    assert w <= 0.25 and aucs[w] == max(aucs.values()) and aucs[w] > aucs[1.0] + 0.3
    w, aucs = choose_weight((good_pos, good_pos), (good_neg, good_neg))  # a tie: the classical half
    assert w == 0.0 and len(set(aucs.values())) == 1


def test_classical_features_keep_the_band_or_reduce_a_wide_one():
    rng = np.random.default_rng(1)
    narrow = ClassicalFeatures().fit(rng.standard_normal((12, 93, 10)))
    assert narrow.transform(rng.standard_normal((3, 93, 10))).shape == (3, 93)
    wide = ClassicalFeatures().fit(rng.standard_normal((12, 300, 10)))
    assert wide.transform(rng.standard_normal((3, 300, 10))).shape == (3, 12)  # 11 components + the residual


def _identities(n_ids=6, n_clips=6, n_freq=40, seed=0):
    """Spectrograms whose identity is one line at its own bin: the whitened mean spectrum tells them apart."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for c in range(n_ids):
        for _ in range(n_clips):
            S = rng.standard_normal((n_freq, 12))
            S[3 + 5 * c] += 3.0
            X.append(S)
            y.append(c)
    return np.array(X, np.float32), np.array(y)


def test_siamese_weight_falls_to_the_spectrum_when_the_embedding_knows_nothing():
    X, y = _identities()
    E = np.random.default_rng(2).standard_normal((len(X), 16))
    w, table = choose_siamese_weight(E, classical_embedding(X), y)
    assert w == 0.0 and table[0.0][0] == 1.0 and table[1.0][0] < 0.6
    J = join_embeddings(E, classical_embedding(X), 0.25)
    assert J.shape == (len(X), 16 + 40) and np.allclose(np.linalg.norm(J, axis=1), 1.0, atol=1e-5)
    assert np.allclose(J[:, :16] / np.linalg.norm(J[:, :16], axis=1, keepdims=True),
                       E / np.linalg.norm(E, axis=1, keepdims=True), atol=1e-5)


def test_open_set_threshold_and_its_false_accept_rate():
    X, y = _identities()
    E = classical_embedding(X)
    S, truth = enrol_trials(E, y)
    assert S.shape == (18, 6) and (truth.sum(axis=1) == 1).all()  # 3 probes per identity, 6 centroids
    o = open_set_threshold(E, y)
    impostor = S[truth == 0]
    assert o["false_accept_rate"] == pytest.approx(np.mean(impostor >= o["threshold"]))
    assert o["false_accept_rate"] <= 0.05 and o["false_reject_rate"] <= 0.05
    assert o["n_genuine"] == 18 and o["n_impostor"] == 90
    assert open_set_threshold(E[:6], y[:6])["threshold"] is None  # one identity: nothing to calibrate


def test_eta_is_mean_epoch_time_times_epochs_left():
    seen = []
    hooks = with_eta({"on_epoch": seen.append}, epochs=10)
    hooks["on_epoch"]({"epoch": 1, "seconds": 4.0})
    hooks["on_epoch"]({"epoch": 2, "seconds": 2.0})
    assert [r["eta_s"] for r in seen] == [36.0, 24.0]
    assert format_eta(83.2) == "1:23" and format_eta(3725) == "1:02:05"


# ----------------------------------------------------------------------------- siamese end to end


@pytest.fixture(scope="module")
def siamese(tmp_path_factory):
    from lfkit.siamese_train import train_siamese

    root = tmp_path_factory.mktemp("sj")
    synthesize(str(root / "multi"), SynthConfig(duration_s=0.5), snr="-5", seed=0, classes=5, n=6)
    notes = []
    summary = train_siamese(str(root / "multi"), str(root / "m.pt"),
                            SiameseConfig(epochs=1, batch_size=4, clips_per_class=3, embedding_dim=8), notice=notes.append)
    return {"root": root, "summary": summary, "notes": notes}


def test_siamese_model_stores_the_weight_threshold_and_false_accept_rate(siamese):
    from lfkit.modelfile import load_model
    from lfkit.inference.scorers import SiameseScorer

    doc = load_model(siamese["root"] / "m.pt")
    w = doc["extra"]["joint_weight"]
    assert w in (0.0, 0.25, 0.5, 0.75, 1.0) and w == siamese["summary"]["joint_weight"]
    o = siamese["summary"]["open_set"]
    assert doc["threshold"] == pytest.approx(o["threshold"]) and 0 <= o["false_accept_rate"] <= 1
    assert any("false-accept rate" in n for n in siamese["notes"])
    ds = load_dataset(str(siamese["root"] / "multi"))
    E = SiameseScorer(doc).embed_batch(ds.X[:4])
    assert E.shape == (4, doc["extra"]["embedding_dim"]) == (4, 8 + ds.X.shape[1])


def _enrol_folder(root, name, rows):
    d = root / name
    d.mkdir()
    (d / "labels.csv").write_text("path,label\n" + "".join(f"{p},{lab}\n" for p, lab in rows))
    return d


def test_one_clip_per_identity_enrols_with_a_notice(siamese, lfkit_fast):
    root = siamese["root"]
    src = root / "multi"
    rows = [r.split(",")[:2] for r in (src / "labels.csv").read_text().splitlines()[1:]]
    firsts = {}
    for p, lab in rows:
        firsts.setdefault(lab, str(src / p))
    d = _enrol_folder(root, "one_each", [(p, lab) for lab, p in firsts.items()])
    r = lfkit_fast("score", root / "m.pt", "--enroll", d, src, "-o", root / "id.jsonl")
    assert r.returncode == 0, r.stderr
    assert b"have one reference clip" in r.stderr and b"approximate" in r.stderr
    recs = [json.loads(x) for x in (root / "id.jsonl").read_text().splitlines()]
    assert len(recs) == len(rows) and set(recs[0]["scores"]) == set(firsts)


def test_enrolment_identities_whose_clips_are_nowhere_are_refused(siamese, lfkit_fast, tmp_path):
    d = _enrol_folder(tmp_path, "ghosts", [("gone1.wav", "ghost"), ("gone2.wav", "ghost")])
    out = tmp_path / "id.jsonl"
    r = lfkit_fast("score", siamese["root"] / "m.pt", "--enroll", d, siamese["root"] / "multi", "-o", out)
    line = assert_clean_failure(r, "score", (1,))
    assert "gone1.wav" in line
    assert not out.exists()


def test_vary_clips_is_seeded_and_its_parts_are_what_they_claim():
    import torch

    from lfkit.siamese_train import vary_clips

    X = torch.as_tensor(np.random.default_rng(0).standard_normal((6, 1, 20, 8)), dtype=torch.float32)
    a = vary_clips(X, np.random.default_rng(3))
    b = vary_clips(X, np.random.default_rng(3))
    assert a.shape == X.shape and torch.equal(a, b) and not torch.equal(a, X)
    same = vary_clips(X, np.random.default_rng(3), jitter_bins=0, tilt=0.0, contrast=0.0)
    assert torch.allclose(same, X)
    tilted = vary_clips(torch.zeros_like(X), np.random.default_rng(4), jitter_bins=0, contrast=0.0)
    d = tilted[:, 0, 1:, 0] - tilted[:, 0, :-1, 0]  # a straight line across the band, the same in every frame
    assert torch.allclose(d, d[:, :1].expand_as(d), atol=1e-6) and torch.allclose(tilted[..., 0], tilted[..., -1])


def test_train_siamese_takes_aux_identities(siamese, tmp_path):
    from lfkit.siamese_train import train_siamese

    synthesize(str(tmp_path / "aux"), SynthConfig(duration_s=0.5), snr="-5", seed=9, classes=2, n=6)
    notes = []
    s = train_siamese(str(siamese["root"] / "multi"), str(tmp_path / "m.pt"), aux=str(tmp_path / "aux"),
                      cfg=SiameseConfig(epochs=1, batch_size=4, clips_per_class=3, embedding_dim=8), notice=notes.append)
    assert s["n_train"] == 30 + 12
    assert s["n_classes"] == 5  # the aux set's sig00, sig01 carry the data's names: the same identities
    assert any("sig00, sig01 also in the data" in n for n in notes)
