"""train-binary's late fusion with a linear probe (lfkit.fusion): weighed on validation, applied by the scorer."""

from __future__ import annotations

import numpy as np
import pytest

from lfkit.errors import DataError
from lfkit.fusion import WEIGHTS, choose_weight, fit_probe
from lfkit.inference.heads import check_probe, fused_logit, probe_logit


def _rows(n=80, F=20, T=6, seed=0, shift=1.5):
    """Spectrograms whose time average differs in row 7 between the classes."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.standard_normal((n, F, T))
    X[y == 1, 7, :] += shift
    return X.astype(np.float32), y


def test_probe_learns_the_row_that_differs_and_scores_held_out_clips():
    X, y = _rows(seed=0)
    probe = fit_probe(X, y, seed=0)
    assert int(np.argmax(np.abs(probe["coef"]))) == 7 and probe["coef"][7] > 0  # higher = more like the target
    Xt, yt = _rows(seed=1)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(yt, probe_logit(Xt, probe)) > 0.95
    # the logit is the standardised time average against the coefficients, as written
    F = Xt.astype(float).mean(axis=2)
    assert np.allclose(probe_logit(Xt, probe), ((F - probe["mean"]) / probe["scale"]) @ probe["coef"] + probe["intercept"])


def test_weight_goes_to_the_part_that_separates_the_validation_clips():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    good = y * 1.0 + rng.standard_normal(60) * 0.8  # AUC 0.90: any share of noise costs ranking
    noise = rng.standard_normal(60)
    assert choose_weight(good, noise, y)["weight"] == 0.0  # the network alone
    assert choose_weight(noise, good, y)["weight"] == 1.0  # the probe alone
    both = choose_weight(y * 5.0 + rng.standard_normal(60), 10 * y + rng.standard_normal(60), y)
    assert both["val_auc"] == [1.0] * len(WEIGHTS) and both["weight"] == 0.5  # a tie: the even mix


def test_gains_weigh_equal_scales_and_fuse_as_stated():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 20)
    z_net, z_probe = rng.standard_normal(40) * 4.0 + y, rng.standard_normal(40) + 2 * y
    c = choose_weight(z_net, z_probe, y)
    w = c["weight"]
    assert c["cnn_gain"] == pytest.approx(1 - w)
    assert c["probe_gain"] == pytest.approx(w * z_net.std() / z_probe.std())
    X, _ = _rows(n=40)
    probe = {**fit_probe(X, y), **c}
    expect = c["cnn_gain"] * z_net + c["probe_gain"] * probe_logit(X, probe)
    assert np.allclose(fused_logit(z_net, X, probe), expect)
    assert np.array_equal(fused_logit(z_net.astype(np.float32), X, None), z_net.astype(np.float32).astype(float))


def test_a_damaged_probe_is_refused_naming_the_model():
    X, y = _rows(n=40)
    probe = {**fit_probe(X, y), **choose_weight(y + 0.1, y + 0.2, y)}
    assert check_probe(probe, 20, "m") is probe
    with pytest.raises(DataError, match="m: damaged binary model"):
        check_probe(probe, 21, "m")  # other frequency rows than the input
    with pytest.raises(DataError, match="m: damaged binary model"):
        check_probe({k: v for k, v in probe.items() if k != "coef"}, 20, "m")
    with pytest.raises(DataError, match="m: damaged binary model"):
        check_probe({**probe, "probe_gain": float("nan")}, 20, "m")


@pytest.fixture(scope="module")
def sh(tmp_path_factory):
    from binary_helpers import shared

    return shared(tmp_path_factory)


def test_model_stores_the_probe_and_the_scorer_fuses_it(sh, tmp_path):
    """The scores are sigmoid(cnn_gain * network logit + probe_gain * probe logit); --no-probe: the network alone."""
    import torch

    from lfkit.config import AugmentConfig, TrainConfig
    from lfkit.data import load_dataset
    from lfkit.inference.scorers import make_scorer
    from lfkit.modelfile import load_model
    from lfkit.models import create_model
    from lfkit.train import train_binary

    off = AugmentConfig(kinds=())
    for probe, name in ((True, "p.pt"), (False, "n.pt")):
        train_binary(str(sh.data), str(tmp_path / name), "positive", TrainConfig(epochs=1, batch_size=8, probe=probe),
                     augment=off)
    doc = load_model(tmp_path / "p.pt")
    stored = doc["extra"]["probe"]
    assert stored["weight"] in WEIGHTS and doc["training"]["probe"]["weight"] == stored["weight"]
    assert len(doc["training"]["probe"]["val_auc"]) == len(WEIGHTS)
    ds = load_dataset(str(sh.data))
    net = create_model(doc["arch"], **doc["arch_kwargs"])
    net.load_state_dict({k: torch.from_numpy(v) for k, v in doc["state_dict"].items()})
    with torch.no_grad():
        z = net.eval()(torch.as_tensor(ds.X).unsqueeze(1)).double()[:, 0].numpy()
    fused = stored["cnn_gain"] * z + stored["probe_gain"] * probe_logit(ds.X, stored)
    score = np.array([r["score"] for r in make_scorer(doc).score_batch(ds.X)])
    assert np.allclose(score, 1 / (1 + np.exp(-fused)), atol=1e-6)
    plain = load_model(tmp_path / "n.pt")
    assert "probe" not in (plain["extra"] or {}) and "probe" not in plain["training"]
    assert plain["state_dict"].keys() == doc["state_dict"].keys()  # the probe leaves the network's training alone
    assert all(np.array_equal(plain["state_dict"][k], doc["state_dict"][k]) for k in doc["state_dict"])
