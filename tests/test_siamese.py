"""Tests of the siamese regime: losses and mining, the class-disjoint split,
training (loss falls, seeded), enrollment and pairs scoring, eval, reuse of
``lfkit embed`` output, and every bad input the issue names.

The ConvLSTM cell itself is tested in tests/test_models.py."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import assert_clean_failure, run_lfkit
from lfkit.config import SiameseConfig
from lfkit.errors import DataError, ParameterError
from lfkit.siamese import evaluate_pairs, similarity
from lfkit.siamese_train import (class_split, contrastive_loss, fit_siamese, pk_batches, shift_identities,
                                 triplet_loss, twin_identities)

# ---------------------------------------------------------------------------- units


def test_similarity_is_one_at_zero_and_falls_with_distance():
    s = similarity([0.0, 0.5, 1.0, 3.0])
    assert s[0] == 1.0 and s[2] == 0.5
    assert np.all(np.diff(s) < 0)


def test_contrastive_loss_matches_hand_computation():
    E = torch.tensor([[0.0, 0.0], [0.3, 0.4], [0.0, 2.0]])  # d01 = 0.5, d02 = 2, d12 = sqrt(0.09 + 2.56)
    y = torch.tensor([0, 0, 1])
    d12 = float(np.hypot(0.3, 1.6))
    pos = 0.5 ** 2
    neg = (max(0.0, 1.0 - 2.0) ** 2 + max(0.0, 1.0 - d12) ** 2) / 2
    assert float(contrastive_loss(E, y, margin=1.0)) == pytest.approx((pos + neg) / 2, abs=1e-6)
    far = torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [5.0, 0.0]])
    assert float(contrastive_loss(far, torch.tensor([0, 0, 1, 1]), margin=1.0)) == pytest.approx(0.0, abs=1e-5)


def test_triplet_mining_hard_and_semihard_differ_as_defined():
    # anchor 0 at x=0; positive at x=1 (d_ap = 1); negatives at x=0.5 (harder than the positive) and x=1.2.
    E = torch.tensor([[0.0], [1.0], [0.5], [1.2]])
    y = torch.tensor([0, 0, 1, 1])
    hard = triplet_loss(E, y, margin=0.5, mining="hard")
    semi = triplet_loss(E, y, margin=0.5, mining="semihard")
    # anchor 0: hard -> n at 0.5: 1 - 0.5 + 0.5 = 1.0; semi-hard -> n at 1.2: 1 - 1.2 + 0.5 = 0.3
    D = torch.cdist(E, E)
    per_anchor_hard = [max(0.0, float(D[a, p] - D[a][y != y[a]].min() + 0.5)) for a, p in ((0, 1), (1, 0), (2, 3), (3, 2))]
    assert float(hard) == pytest.approx(np.mean(per_anchor_hard), abs=1e-5)
    assert float(semi) < float(hard)
    E.requires_grad_(True)
    triplet_loss(E, y, 0.5, "semihard").backward()
    assert torch.isfinite(E.grad).all() and E.grad.abs().sum() > 0


def test_class_split_holds_out_whole_identities():
    labels = np.repeat([f"s{k}" for k in range(10)], 5)
    tr, va, disjoint = class_split(labels, 0.2, seed=3)
    assert disjoint
    assert set(labels[tr]).isdisjoint(labels[va])
    assert len(set(labels[va])) == 2 and len(tr) + len(va) == 50
    again = class_split(labels, 0.2, seed=3)
    assert np.array_equal(tr, again[0])
    tr3, va3, disjoint3 = class_split(np.repeat(["a", "b", "c"], 4), 0.25, seed=0)
    assert not disjoint3 and len(va3) == 3  # too few identities: clips of each are held out instead


def test_pk_batches_draw_p_identities_of_k_clips():
    y = np.repeat(np.arange(6), 5)
    rng = np.random.default_rng(0)
    for idx in pk_batches(y, 4, 3, 5, rng):
        ids, counts = np.unique(y[idx], return_counts=True)
        assert len(ids) == 4 and set(counts) == {3}


def test_shift_identities_rolls_each_identity_by_one_seeded_shift():
    rng = np.random.default_rng(1)
    X = torch.as_tensor(rng.normal(size=(9, 1, 24, 5)).astype(np.float32))
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    out, shifts = shift_identities(X, y, 6, np.random.default_rng(7))
    assert out.shape == X.shape and out.dtype == X.dtype
    assert set(shifts) == {0, 1, 2} and all(-6 <= k <= 6 for k in shifts.values())
    for i, c in enumerate(y):  # clip i is clip i rolled by its identity's shift along frequency
        assert torch.equal(out[i], torch.roll(X[i], shifts[c], dims=-2))
    assert len(set(shifts.values())) == 3 and not torch.equal(out, X)  # distinct shifts per identity
    again, shifts2 = shift_identities(X, y, 6, np.random.default_rng(7))
    assert shifts2 == shifts and torch.equal(again, out)
    # a tone line moves to its shifted bin
    line = torch.zeros(2, 1, 24, 5)
    line[:, 0, 3] = 1.0
    moved, s = shift_identities(line, np.array([5, 5]), 30, np.random.default_rng(0))
    assert -11 <= s[5] <= 11  # clipped to (n_freq - 1) // 2
    assert torch.all(moved[:, 0].sum(-1).argmax(-1) == (3 + s[5]) % 24)


def test_twin_identities_split_each_identity_into_two():
    y = np.array([3, 3, 3, 3, 0, 0, 0, 0, 1, 1])
    t = twin_identities(y)
    assert list(t[:4]) == [3, 3, 7, 7] and list(t[4:8]) == [0, 0, 4, 4]
    assert list(t[8:]) == [1, 1]  # two clips: kept whole, or a twin would have no positive pair


def test_augment_none_and_shift_train_differently_and_bad_values_are_refused():
    from lfkit.models import create_model

    X, labels = _tiny()

    def losses(augment):
        torch.manual_seed(0)
        net = create_model("sispeccnn", embedding_dim=8, normalize=True, hidden_channels=4, freq_bins=12)
        cfg = SiameseConfig(epochs=1, batch_size=4, clips_per_class=4, val_fraction=0.5, augment=augment)
        return [r["loss"] for r in fit_siamese(net, X, labels, cfg)[0]]

    assert losses("shift") == losses("shift") != losses("none")
    assert losses("twins") not in (losses("shift"), losses("none"))
    with pytest.raises(ParameterError, match="augment='flip'"):
        SiameseConfig(augment="flip")
    with pytest.raises(ParameterError, match="max_shift_bins"):
        SiameseConfig(max_shift_bins=0)


def _tiny(n_classes=4, n=6, seed=0, frames=12, n_freq=24):
    """Spectrogram-like arrays: each identity has its own set of bright rows, in noise."""
    rng = np.random.default_rng(seed)
    X, labels = [], []
    for c in range(n_classes):
        rows = rng.choice(n_freq, 3, replace=False)
        for _ in range(n):
            S = rng.normal(size=(n_freq, frames)).astype(np.float32)
            S[rows] += 2.5
            X.append(S)
            labels.append(f"id{c}")
    return np.stack(X), labels


def test_sispeccnn_learns_and_training_is_seeded():
    from lfkit.models import create_model

    X, labels = _tiny()
    cfg = SiameseConfig(epochs=4, batch_size=4, clips_per_class=3, lr=3e-3, val_fraction=0.5)

    def run():
        torch.manual_seed(0)
        net = create_model("sispeccnn", embedding_dim=16, normalize=True, hidden_channels=8, freq_bins=12)
        return net, fit_siamese(net, X, labels, cfg)

    net, (history, best) = run()
    assert history[-1]["loss"] < history[0]["loss"]
    assert best["disjoint"] and 0 < best["val_threshold"] <= 1
    assert best == max(history, key=lambda r: (r["val_auc"], -r["val_eer"])) | {"disjoint": True}
    net2, (history2, _) = run()
    assert [r["loss"] for r in history] == [r["loss"] for r in history2]
    for (k, a), b in zip(net.state_dict().items(), net2.state_dict().values()):
        assert torch.equal(a, b), k


def test_evaluate_pairs_joins_in_either_order_and_counts(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "pairs.csv").write_text("a,b,same\nx.wav,y.wav,1\nx.wav,z.wav,0\ny.wav,z.wav,0\n")
    recs = [{"a": str(tmp_path / "x.wav"), "b": str(tmp_path / "y.wav"), "score": 0.9, "threshold": 0.5},
            {"a": str(tmp_path / "z.wav"), "b": str(tmp_path / "x.wav"), "score": 0.2, "threshold": 0.5},
            {"a": str(tmp_path / "q.wav"), "b": str(tmp_path / "x.wav"), "score": 0.2, "threshold": 0.5}]
    out = evaluate_pairs(recs, str(tmp_path / "pairs.csv"))
    assert out["n"] == 2 and out["auc"] == 1.0 and out["accuracy"] == 1.0
    assert out["unscored"] == 1 and out["unlabelled"] == 1 and out["n_same"] == 1
    (tmp_path / "nosame.csv").write_text("a,b\nx.wav,y.wav\n")
    with pytest.raises(DataError, match="same"):
        evaluate_pairs(recs, str(tmp_path / "nosame.csv"))


def test_bad_config_values_name_the_parameter():
    with pytest.raises(ParameterError, match="loss='hinge'"):
        SiameseConfig(loss="hinge")
    with pytest.raises(ParameterError, match="margin"):
        SiameseConfig(margin=0)


# ---------------------------------------------------------------------------- the pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """synth (4 training identities, 3 new ones) -> train-siamese; read-only."""
    d = tmp_path_factory.mktemp("siamese")
    assert run_lfkit("synth", "-o", d / "train", "--classes", "4", "--n", "6", "--duration", "0.5", "--snr", "-10",
                     "--seed", "0").returncode == 0
    sigs = {"newA": [150.0, 420.0], "newB": [260.0, 610.0, 880.0], "newC": [90.0, 700.0]}
    (d / "sigs.json").write_text(json.dumps(sigs))
    for name, seed in (("enroll", 1), ("test", 2)):
        assert run_lfkit("synth", "-o", d / name, "--signatures", d / "sigs.json", "--n", "3", "--duration", "0.5",
                         "--snr", "-10", "--seed", seed).returncode == 0
    p = run_lfkit("train-siamese", d / "train", "-o", d / "m.pt", "--epochs", "3", "--log", d / "log.jsonl")
    assert p.returncode == 0, p.stderr.decode()
    assert b"epoch   3" in p.stderr and p.stdout == b""
    rows = list(csv.DictReader(open(d / "test" / "labels.csv")))
    with open(d / "test" / "pairs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "same"])
        for a, b in itertools.combinations(rows, 2):
            w.writerow([a["path"], b["path"], int(a["label"] == b["label"])])
    return d


def _jsonl(path):
    return [json.loads(line) for line in open(path)]


def test_model_file_stores_threshold_similarity_and_history(pipeline):
    from lfkit.modelfile import load_model

    doc = load_model(pipeline / "m.pt")
    assert doc["regime"] == "siamese" and doc["arch"] == "sispeccnn"
    assert doc["extra"]["similarity"] == "1/(1+d)" and doc["extra"]["normalize"] is True
    assert 0 < doc["threshold"] <= 1
    assert doc["threshold"] == pytest.approx(doc["training"]["open_set"]["threshold"])  # held-out identities
    assert sorted(doc["classes"]) == ["sig00", "sig01", "sig02", "sig03"]
    assert len(_jsonl(pipeline / "log.jsonl")) == 3


def test_enroll_records_and_identification_eval(pipeline):
    d = pipeline
    p = run_lfkit("score", d / "m.pt", "--enroll", d / "enroll", d / "test", "-o", d / "enr.jsonl")
    assert p.returncode == 0, p.stderr.decode()
    recs = _jsonl(d / "enr.jsonl")
    assert len(recs) == 9
    for r in recs:
        assert set(r["scores"]) == {"newA", "newB", "newC"}
        assert r["score"] == max(r["scores"].values())
        assert r["decision"] == (r["score"] >= r["threshold"])
        assert r["match"] == (max(r["scores"], key=r["scores"].get) if r["decision"] else "unknown")
    ev = run_lfkit("eval", d / "enr.jsonl", "--labels", d / "test")
    assert ev.returncode == 0, ev.stderr.decode()
    out = json.loads(ev.stdout)
    assert 0 <= out["top1"] <= out["map@3"] <= 1 and out["open_set"]["n_known"] == 9
    top1 = np.mean([max(r["scores"], key=r["scores"].get) == r["label"] for r in recs])
    assert out["top1"] == pytest.approx(top1)
    # threshold 1.01 is above every similarity: every clip is unknown (open set)
    p = run_lfkit("score", d / "m.pt", "--enroll", d / "enroll", d / "test", "--threshold", "1.01")
    assert {r["match"] for r in map(json.loads, p.stdout.decode().splitlines())} == {"unknown"}


def test_embed_output_is_accepted_as_references(pipeline):
    d = pipeline
    assert run_lfkit("embed", d / "m.pt", d / "enroll", "-o", d / "emb.npy").returncode == 0
    a = run_lfkit("score", d / "m.pt", "--enroll", d / "enroll", d / "test")
    b = run_lfkit("score", d / "m.pt", "--enroll", d / "emb.npy", d / "test")
    assert b.returncode == 0, b.stderr.decode()
    ra, rb = (list(map(json.loads, x.stdout.decode().splitlines())) for x in (a, b))
    for x, y in zip(ra, rb):
        assert x["match"] == y["match"]
        assert x["scores"] == pytest.approx(y["scores"], abs=1e-5)


def test_pairs_score_and_verification_eval(pipeline):
    d = pipeline
    p = run_lfkit("score", d / "m.pt", "--pairs", d / "test" / "pairs.csv", "-o", d / "pairs.jsonl")
    assert p.returncode == 0, p.stderr.decode()
    recs = _jsonl(d / "pairs.jsonl")
    assert len(recs) == 36
    assert all(0 < r["score"] <= 1 and r["decision"] == (r["score"] >= r["threshold"]) for r in recs)
    ev = run_lfkit("eval", d / "pairs.jsonl", "--pairs", d / "test" / "pairs.csv")
    assert ev.returncode == 0, ev.stderr.decode()
    out = json.loads(ev.stdout)
    assert out["n"] == 36 and out["n_same"] == 9 and out["unscored"] == 0
    # the metrics of these 36 scores against pairs.csv's 'same', computed here with scikit-learn
    import sklearn.metrics as skm

    same = {frozenset((Path(r["a"]).name, Path(r["b"]).name)): int(r["same"])
            for r in csv.DictReader(open(d / "test" / "pairs.csv"))}
    y = np.array([same[frozenset((Path(r["a"]).name, Path(r["b"]).name))] for r in recs])
    s = np.array([r["score"] for r in recs])
    assert y.sum() == 9
    assert out["auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert out["accuracy"] == pytest.approx(np.mean((s >= recs[0]["threshold"]) == y), abs=1e-12)
    fpr, tpr, _ = skm.roc_curve(y, s)  # the EER lies where FPR and FNR cross, between these two bounds
    assert np.max(np.minimum(fpr, 1 - tpr)) - 1e-12 <= out["eer"] <= np.min(np.maximum(fpr, 1 - tpr)) + 1e-12


# ---------------------------------------------------------------------------- bad input


def test_one_class_dataset_is_refused(tmp_path):
    assert run_lfkit("synth", "-o", tmp_path / "one", "--positive", "300", "--positive-only", "--n", "4",
                     "--duration", "0.2").returncode == 0
    msg = assert_clean_failure(run_lfkit("train-siamese", tmp_path / "one", "-o", tmp_path / "m.pt"), "train-siamese", (1,))
    assert "at least 2 classes" in msg
    assert not (tmp_path / "m.pt").exists()


def test_class_with_one_clip_is_refused(pipeline, tmp_path):
    shutil.copytree(pipeline / "train", tmp_path / "t")
    rows = list(csv.DictReader(open(tmp_path / "t" / "labels.csv")))
    rows[0]["label"] = "lonely"
    with open(tmp_path / "t" / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    msg = assert_clean_failure(run_lfkit("train-siamese", tmp_path / "t", "-o", tmp_path / "m.pt"), "train-siamese", (1,))
    assert "'lonely'" in msg and "one clip" in msg


def test_enrollment_folder_without_labels_is_refused(pipeline, tmp_path):
    (tmp_path / "refs").mkdir()
    shutil.copy(pipeline / "enroll" / "c00000.wav", tmp_path / "refs")
    p = run_lfkit("score", pipeline / "m.pt", "--enroll", tmp_path / "refs", pipeline / "test")
    assert "no labels.csv" in assert_clean_failure(p, "score", (1,))


def test_pairs_naming_missing_files_are_reported_and_the_rest_scored(pipeline, tmp_path):
    shutil.copytree(pipeline / "test", tmp_path / "t")
    with open(tmp_path / "t" / "pairs.csv", "a") as fh:
        fh.write("c00000.wav,gone.wav,0\n")
    p = run_lfkit("score", pipeline / "m.pt", "--pairs", tmp_path / "t" / "pairs.csv", "-o", tmp_path / "p.jsonl")
    assert p.returncode == 1
    err = p.stderr.decode().splitlines()
    assert len(err) == 1 and err[0].startswith("lfkit score: error: ") and "gone.wav" in err[0]
    assert len(_jsonl(tmp_path / "p.jsonl")) == 36


def test_embedding_of_another_dimension_is_refused(pipeline, tmp_path):
    np.save(tmp_path / "emb.npy", np.zeros((3, 7), np.float32))
    (tmp_path / "emb.csv").write_text("row,path,start,end,label\n0,a,,,x\n1,b,,,y\n2,c,,,z\n")
    p = run_lfkit("score", pipeline / "m.pt", "--enroll", tmp_path / "emb.npy", pipeline / "test")
    msg = assert_clean_failure(p, "score", (1,))
    from lfkit.modelfile import load_model

    dim = load_model(pipeline / "m.pt")["extra"]["embedding_dim"]  # learned 64 + the joint's spectrum rows
    assert "dimension 7" in msg and f"model's is {dim}" in msg


def test_siamese_model_needs_references_and_bad_flags_exit_2(pipeline):
    p = run_lfkit("score", pipeline / "m.pt", pipeline / "test")
    assert "--enroll" in assert_clean_failure(p, "score", (2,))
    p = run_lfkit("train-siamese", pipeline / "train", "-o", pipeline / "x.pt", "--loss", "hinge")
    assert "loss='hinge'" in assert_clean_failure(p, "train-siamese", (2,))
    assert run_lfkit("train-siamese", "--help").returncode == 0
